//! A chained hash table used as the keyspace of one shard.
//!
//! Single-threaded, no locking. We keep our own table (rather than `HashMap`) because the
//! keyspace needs three things std does not give us:
//!
//! * **SCAN guarantees** (Redis `dictScan`): the cursor walks buckets in reverse-binary order
//!   over a power-of-two table, so every element present for the whole scan is returned at
//!   least once even if the table grows or shrinks between calls (elements may repeat).
//! * **O(1)-expected random sampling** (RANDOMKEY, active expiry): pick a random non-empty
//!   bucket, then a random node of its chain.
//! * **Stable node ids**: nodes live in a slab and are addressed by `u32` index; an id stays
//!   valid (and names the same key) across resizes and across other insertions/removals until
//!   that node itself is removed. Freed slots are reused by later insertions.
//!
//! Invariants:
//! * `buckets.len()` is 0 (nothing allocated yet) or a power of two `>= MIN_BUCKETS`.
//! * Every occupied slab slot is linked into exactly one chain: bucket `hash & mask`.
//! * `free` lists exactly the vacant slab slots; `len` counts the occupied ones.
//! * Load factor: after every operation `len <= buckets` (grow by doubling when exceeded) and,
//!   unless at `MIN_BUCKETS`, `len >= buckets / 8` (shrink by halving when below). Resizes are
//!   done all at once; the hash is stored in the node so keys are never rehashed.

use std::fmt;

use ahash::RandomState;

/// Index of a node in the slab. Stable for the node's lifetime.
pub type NodeId = u32;

/// Marks an empty bucket / end of chain.
const NIL: u32 = u32::MAX;
/// Smallest allocated table; the table is never shrunk below this (only `clear` frees it).
const MIN_BUCKETS: usize = 16;

/// Longest key stored inside its node.
const INLINE_KEY: usize = 22;

/// A key as the table stores it: inside the node when short, as keys mostly are (an allocation of its own would
/// cost more than the key), else in a boxed slice. Keys are copied in, so none pins a connection's read buffer.
enum Key {
    Inline { len: u8, data: [u8; INLINE_KEY] },
    Heap(Box<[u8]>),
}

impl Key {
    fn new(b: &[u8]) -> Key {
        if b.len() <= INLINE_KEY {
            let mut data = [0; INLINE_KEY];
            data[..b.len()].copy_from_slice(b);
            Key::Inline { len: b.len() as u8, data }
        } else {
            Key::Heap(b.into())
        }
    }

    #[inline]
    fn as_bytes(&self) -> &[u8] {
        match self {
            Key::Inline { len, data } => &data[..*len as usize],
            Key::Heap(b) => b,
        }
    }
}

struct Node<V> {
    key: Key,
    value: V,
    /// Hash of `key` (32 bits: enough to index any table of `u32` node ids), kept so resizing never rehashes and
    /// lookups compare it first.
    hash: u32,
    /// Next node in the same bucket chain, or `NIL`.
    next: u32,
}

/// Chained hash table keyed by byte strings; see the module docs for the invariants.
pub struct Dict<V> {
    /// Chain heads, `NIL` = empty. Length 0 or a power of two.
    buckets: Vec<u32>,
    /// Node slab; `None` = vacant slot (listed in `free`).
    nodes: Vec<Option<Node<V>>>,
    /// Vacant slab slots, reused LIFO.
    free: Vec<u32>,
    len: usize,
    /// Random per-dict seed: keys are attacker-controlled, so the hash must not be predictable.
    hasher: RandomState,
}

impl<V> Default for Dict<V> {
    fn default() -> Self {
        Self::new()
    }
}

impl<V: fmt::Debug> fmt::Debug for Dict<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter().map(|(_, k, v)| (k, v))).finish()
    }
}

/// splitmix64 step: a tiny, good-enough PRNG driven by the caller's seed.
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Asks the CPU to start loading the cache line at `p` (no effect on other architectures).
#[inline(always)]
fn prefetch_line(p: *const u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is a hint; it never faults, whatever the address.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(p as *const i8)
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

impl<V> Dict<V> {
    /// An empty dict; no memory is allocated until the first insert.
    pub fn new() -> Self {
        Dict { buckets: Vec::new(), nodes: Vec::new(), free: Vec::new(), len: 0, hasher: RandomState::new() }
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when there are no elements.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Number of buckets in the table (0 before the first insert / after `clear`).
    pub fn bucket_count(&self) -> usize {
        self.buckets.len()
    }

    fn hash(&self, key: &[u8]) -> u32 {
        self.hasher.hash_one(key) as u32
    }

    /// `buckets.len() - 1`; only meaningful when the table is allocated.
    fn mask(&self) -> u64 {
        self.buckets.len() as u64 - 1
    }

    fn node(&self, id: NodeId) -> &Node<V> {
        match self.nodes.get(id as usize) {
            Some(Some(n)) => n,
            _ => panic!("dict: node id {id} is not in use"),
        }
    }

    fn node_mut(&mut self, id: NodeId) -> &mut Node<V> {
        match self.nodes.get_mut(id as usize) {
            Some(Some(n)) => n,
            _ => panic!("dict: node id {id} is not in use"),
        }
    }

    fn find_hashed(&self, key: &[u8], hash: u32) -> Option<NodeId> {
        if self.buckets.is_empty() {
            return None;
        }
        let mut cur = self.buckets[(hash as u64 & self.mask()) as usize];
        while cur != NIL {
            let n = self.node(cur);
            if n.hash == hash && n.key.as_bytes() == key {
                return Some(cur);
            }
            cur = n.next;
        }
        None
    }

    /// Starts loading what a lookup of `key` will touch, one level per `stage`: 0 its bucket, 1 the first node
    /// of its chain, 2 that node's key bytes and whatever `value_data` points to. A pipeline of lookups on a large keyspace is a chain of cache misses
    /// per command; issuing stage 0 for every command of the pipeline, then stage 1, then 2, overlaps them. Each
    /// stage only reads what an earlier stage asked for; it is a hint and never changes anything.
    #[inline]
    pub fn prefetch(&self, key: &[u8], stage: u8, value_data: impl FnOnce(&V) -> Option<*const u8>) {
        if self.buckets.is_empty() {
            return;
        }
        let b = &self.buckets[(self.hash(key) as u64 & self.mask()) as usize];
        if stage == 0 {
            prefetch_line(b as *const u32 as *const u8);
            return;
        }
        let Some(Some(n)) = self.nodes.get(*b as usize) else { return };
        if stage == 1 {
            // A node is not line-aligned: it usually straddles two cache lines.
            let p = n as *const Node<V> as *const u8;
            prefetch_line(p);
            prefetch_line(p.wrapping_add(std::mem::size_of::<Option<Node<V>>>() - 1));
        } else {
            // (A short key is inside the node, which stage 1 fetched.)
            if let Key::Heap(k) = &n.key {
                prefetch_line(k.as_ptr());
            }
            if let Some(p) = value_data(&n.value) {
                prefetch_line(p);
            }
            // The key may be further down the chain (about one lookup in three at full load).
            if let Some(Some(next)) = self.nodes.get(n.next as usize) {
                prefetch_line(next as *const Node<V> as *const u8);
            }
        }
    }

    /// The id of `key`'s node, if present.
    pub fn find(&self, key: &[u8]) -> Option<NodeId> {
        self.find_hashed(key, self.hash(key))
    }

    /// True if `key` is present.
    pub fn contains_key(&self, key: &[u8]) -> bool {
        self.find(key).is_some()
    }

    /// The value stored under `key`.
    pub fn get(&self, key: &[u8]) -> Option<&V> {
        self.find(key).map(|id| &self.node(id).value)
    }

    /// Mutable access to the value stored under `key`.
    pub fn get_mut(&mut self, key: &[u8]) -> Option<&mut V> {
        let id = self.find(key)?;
        Some(&mut self.node_mut(id).value)
    }

    /// The key of a live node. Panics if `id` is free or out of range.
    pub fn key(&self, id: NodeId) -> &[u8] {
        self.node(id).key.as_bytes()
    }

    /// The value of a live node. Panics if `id` is free or out of range.
    pub fn value(&self, id: NodeId) -> &V {
        &self.node(id).value
    }

    /// Mutable value of a live node. Panics if `id` is free or out of range.
    pub fn value_mut(&mut self, id: NodeId) -> &mut V {
        &mut self.node_mut(id).value
    }

    /// Inserts (copying the key) or replaces; returns (id, previous value). A replaced value keeps its node id.
    pub fn insert(&mut self, key: &[u8], value: V) -> (NodeId, Option<V>) {
        let hash = self.hash(key);
        if let Some(id) = self.find_hashed(key, hash) {
            let old = std::mem::replace(&mut self.node_mut(id).value, value);
            return (id, Some(old));
        }
        if self.buckets.is_empty() {
            self.buckets = vec![NIL; MIN_BUCKETS];
        }
        let b = (hash as u64 & self.mask()) as usize;
        let node = Node { key: Key::new(key), value, hash, next: self.buckets[b] };
        let id = match self.free.pop() {
            Some(id) => {
                self.nodes[id as usize] = Some(node);
                id
            }
            None => {
                let id = u32::try_from(self.nodes.len())
                    .ok()
                    .filter(|&i| i != NIL)
                    .expect("dict: more than u32::MAX - 1 nodes");
                self.nodes.push(Some(node));
                id
            }
        };
        self.buckets[b] = id;
        self.len += 1;
        if self.len > self.buckets.len() {
            self.resize(self.buckets.len() * 2);
        }
        (id, None)
    }

    /// Removes `key`, returning its value.
    pub fn remove(&mut self, key: &[u8]) -> Option<V> {
        let id = self.find(key)?;
        Some(self.remove_id(id))
    }

    /// Removes the live node `id`; its slot becomes free for reuse. Panics if `id` is free.
    pub fn remove_id(&mut self, id: NodeId) -> V {
        let (hash, next) = {
            let n = self.node(id);
            (n.hash, n.next)
        };
        let b = (hash as u64 & self.mask()) as usize;
        if self.buckets[b] == id {
            self.buckets[b] = next;
        } else {
            let mut cur = self.buckets[b];
            loop {
                // The node is live, so it is in this chain; reaching NIL is a broken invariant.
                let n = self.node_mut(cur);
                if n.next == id {
                    n.next = next;
                    break;
                }
                cur = n.next;
            }
        }
        let node = self.nodes[id as usize].take().expect("checked live above");
        self.free.push(id);
        self.len -= 1;
        self.maybe_shrink();
        node.value
    }

    fn maybe_shrink(&mut self) {
        let mut target = self.buckets.len();
        while target > MIN_BUCKETS && self.len < target / 8 {
            target /= 2;
        }
        if target != self.buckets.len() {
            self.resize(target);
        }
    }

    /// Rebuilds the chains over `new_size` buckets (a power of two). Nodes do not move in the
    /// slab, so ids are unaffected; stored hashes mean no key is rehashed.
    fn resize(&mut self, new_size: usize) {
        debug_assert!(new_size.is_power_of_two() && new_size >= MIN_BUCKETS);
        let old = std::mem::replace(&mut self.buckets, vec![NIL; new_size]);
        let mask = new_size as u64 - 1;
        for head in old {
            let mut cur = head;
            while cur != NIL {
                let n = self.nodes[cur as usize].as_mut().expect("chained node is live");
                let next = n.next;
                let b = (n.hash as u64 & mask) as usize;
                n.next = self.buckets[b];
                self.buckets[b] = cur;
                cur = next;
            }
        }
    }

    /// One SCAN step: visits every element of the bucket(s) the cursor names (Redis dictScan
    /// semantics, reverse-binary increment of the cursor over the current mask), calls f for
    /// each, returns the next cursor; 0 = done.
    ///
    /// Why reverse binary: when the table doubles, bucket `i` splits into `i` and
    /// `i | old_size`, which are adjacent in reverse-binary order past the cursor; when it
    /// halves, the buckets already visited map onto buckets whose reversed index is below the
    /// cursor. Either way nothing present for the whole scan is skipped (shrinks may repeat).
    pub fn scan(&self, cursor: u64, mut f: impl FnMut(NodeId, &[u8], &V)) -> u64 {
        if self.buckets.is_empty() {
            return 0;
        }
        let mask = self.mask();
        let mut cur = self.buckets[(cursor & mask) as usize];
        while cur != NIL {
            let n = self.node(cur);
            f(cur, n.key.as_bytes(), &n.value);
            cur = n.next;
        }
        // Set the unmasked bits so the increment of the reversed cursor carries through them.
        let mut v = cursor | !mask;
        v = v.reverse_bits();
        v = v.wrapping_add(1);
        v.reverse_bits()
    }

    /// A uniformly-ish random element (pick random non-empty bucket, then random node in its
    /// chain); None when empty. Expected O(1): the load factor is kept at or above 1/8.
    pub fn random(&self, seed: u64) -> Option<NodeId> {
        if self.len == 0 {
            return None;
        }
        let mut rng = seed;
        let mask = self.mask();
        let mut b = (splitmix64(&mut rng) & mask) as usize;
        let mut tries = 0;
        // Bounded random probing, then a linear walk so termination never depends on luck.
        while self.buckets[b] == NIL {
            tries += 1;
            b = if tries < 128 { (splitmix64(&mut rng) & mask) as usize } else { (b + 1) & mask as usize };
        }
        let mut chain_len = 0u64;
        let mut cur = self.buckets[b];
        while cur != NIL {
            chain_len += 1;
            cur = self.node(cur).next;
        }
        let mut skip = splitmix64(&mut rng) % chain_len;
        cur = self.buckets[b];
        while skip > 0 {
            cur = self.node(cur).next;
            skip -= 1;
        }
        Some(cur)
    }

    /// All elements in slab (id) order. Not a SCAN: must not be interleaved with mutation
    /// (the borrow checker enforces that).
    pub fn iter(&self) -> impl Iterator<Item = (NodeId, &[u8], &V)> {
        self.nodes
            .iter()
            .enumerate()
            .filter_map(|(i, slot)| slot.as_ref().map(|n| (i as NodeId, n.key.as_bytes(), &n.value)))
    }

    /// Removes everything and releases the table and slab memory. All ids become invalid.
    pub fn clear(&mut self) {
        self.buckets = Vec::new();
        self.nodes = Vec::new();
        self.free = Vec::new();
        self.len = 0;
    }

    /// Approximate heap bytes owned by the table itself (buckets + node slab capacity + free
    /// list), for INFO memory. Excludes key payloads and whatever `V` owns on the heap.
    pub fn overhead_bytes(&self) -> usize {
        self.buckets.capacity() * std::mem::size_of::<u32>()
            + self.nodes.capacity() * std::mem::size_of::<Option<Node<V>>>()
            + self.free.capacity() * std::mem::size_of::<u32>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{HashMap, HashSet};

    fn k(i: usize) -> Vec<u8> {
        format!("key:{i}").into_bytes()
    }

    #[test]
    fn prefetch_is_only_a_hint() {
        let mut d: Dict<usize> = Dict::new();
        for stage in 0..3 {
            d.prefetch(b"absent", stage, |_| None); // no table yet
        }
        for i in 0..1000 {
            d.insert(&k(i), i);
        }
        for i in (0..1000).step_by(3) {
            d.remove(&k(i));
        }
        let mut asked = 0;
        for stage in 0..3 {
            for i in 0..1100 {
                d.prefetch(&k(i), stage, |v| {
                    asked += 1;
                    Some(v as *const usize as *const u8)
                });
            }
        }
        // Stage 2 asks for the value of each non-empty chain's first node, and nothing changed.
        assert!(asked > 0 && asked <= 1100);
        assert_eq!(d.len(), 666);
        assert!((0..1000).all(|i| d.get(&k(i)) == if i % 3 == 0 { None } else { Some(&i) }));
    }

    /// Runs a full scan, calling `between` after each step (to mutate the dict mid-scan).
    fn scan_all(d: &mut Dict<usize>, mut between: impl FnMut(&mut Dict<usize>, usize)) -> HashSet<Vec<u8>> {
        let mut seen = HashSet::new();
        let mut cursor = 0;
        let mut step = 0;
        loop {
            cursor = d.scan(cursor, |_, key, _| {
                seen.insert(key.to_vec());
            });
            if cursor == 0 {
                return seen;
            }
            between(d, step);
            step += 1;
            assert!(step < 1_000_000, "scan does not terminate");
        }
    }

    #[test]
    fn insert_get_replace_remove() {
        let mut d = Dict::new();
        assert!(d.is_empty());
        assert_eq!(d.get(b"a"), None);
        assert_eq!(d.remove(b"a"), None);
        let (id, old) = d.insert(b"a", 1);
        assert_eq!(old, None);
        assert_eq!(d.len(), 1);
        assert_eq!(d.get(b"a"), Some(&1));
        assert_eq!(d.find(b"a"), Some(id));
        assert_eq!(d.key(id), b"a");
        assert_eq!(*d.value(id), 1);

        let (id2, old) = d.insert(b"a", 2);
        assert_eq!((id2, old), (id, Some(1)));
        assert_eq!(d.len(), 1);
        *d.get_mut(b"a").unwrap() += 10;
        *d.value_mut(id) += 100;
        assert_eq!(d.get(b"a"), Some(&112));
        assert!(d.get_mut(b"zz").is_none());

        assert_eq!(d.remove(b"a"), Some(112));
        assert!(d.is_empty());
        assert_eq!(d.find(b"a"), None);
        assert!(!d.contains_key(b"a"));
    }

    #[test]
    fn short_keys_inline_long_keys_boxed() {
        let mut d = Dict::new();
        let long = vec![b'x'; INLINE_KEY + 1];
        let (short_id, _) = d.insert(&long[..INLINE_KEY], 1);
        let (long_id, _) = d.insert(&long, 2);
        let (empty_id, _) = d.insert(b"", 3);
        assert!(matches!(d.node(short_id).key, Key::Inline { .. }));
        assert!(matches!(d.node(long_id).key, Key::Heap(_)));
        assert_eq!((d.key(short_id), d.key(long_id), d.key(empty_id)), (&long[..INLINE_KEY], &long[..], &b""[..]));
        assert_eq!((d.get(&long[..INLINE_KEY]), d.get(&long), d.get(b"")), (Some(&1), Some(&2), Some(&3)));
    }

    #[test]
    fn many_keys_match_model() {
        let mut d = Dict::new();
        let mut model = HashMap::new();
        let mut rng = 7u64;
        for _ in 0..50_000 {
            let r = splitmix64(&mut rng);
            let key = k((r % 3000) as usize);
            match (r >> 32) % 3 {
                0 | 1 => {
                    let (_, old) = d.insert(&key, r);
                    assert_eq!(old, model.insert(key, r));
                }
                _ => assert_eq!(d.remove(&key), model.remove(&key)),
            }
            assert_eq!(d.len(), model.len());
        }
        for (key, v) in &model {
            assert_eq!(d.get(key), Some(v));
        }
        assert_eq!(d.iter().count(), model.len());
        for (id, key, v) in d.iter() {
            assert_eq!(model.get(key), Some(v));
            assert_eq!(d.find(key), Some(id));
        }
    }

    #[test]
    fn load_factor_bounds() {
        let mut d = Dict::new();
        assert_eq!(d.bucket_count(), 0);
        for i in 0..10_000 {
            d.insert(&k(i), i);
            assert!(d.len() <= d.bucket_count());
        }
        assert_eq!(d.bucket_count(), 16384);
        for i in 0..10_000 {
            d.remove(&k(i));
            assert!(d.bucket_count() == MIN_BUCKETS || d.len() >= d.bucket_count() / 8);
        }
        assert_eq!(d.bucket_count(), MIN_BUCKETS);
    }

    #[test]
    fn ids_stable_across_resizes_and_removals() {
        let mut d = Dict::new();
        let ids: Vec<NodeId> = (0..1000).map(|i| d.insert(&k(i), i).0).collect();
        // Remove every other key, which shrinks nothing yet; then grow a lot, then shrink.
        for i in (0..1000).step_by(2) {
            d.remove(&k(i));
        }
        for i in 1000..20_000 {
            d.insert(&k(i), i);
        }
        for i in 1000..20_000 {
            d.remove(&k(i));
        }
        for i in (1..1000).step_by(2) {
            let id = ids[i];
            assert_eq!(d.key(id), &k(i));
            assert_eq!(*d.value(id), i);
            assert_eq!(d.find(&k(i)), Some(id));
        }
        // remove_id unlinks from anywhere in a chain.
        for i in (1..1000).step_by(2) {
            assert_eq!(d.remove_id(ids[i]), i);
        }
        assert!(d.is_empty());
        assert_eq!(d.bucket_count(), MIN_BUCKETS);
    }

    #[test]
    fn free_list_reuse() {
        let mut d = Dict::new();
        let ids: Vec<NodeId> = (0..100).map(|i| d.insert(&k(i), i).0).collect();
        let slab = d.nodes.len();
        let freed: HashSet<NodeId> = (0..50).map(|i| ids[i]).collect();
        for i in 0..50 {
            d.remove(&k(i));
        }
        let reused: HashSet<NodeId> = (100..150).map(|i| d.insert(&k(i), i).0).collect();
        assert_eq!(reused, freed);
        assert_eq!(d.nodes.len(), slab);
        d.insert(&k(1000), 1000);
        assert_eq!(d.nodes.len(), slab + 1);
    }

    #[test]
    #[should_panic]
    fn key_of_free_id_panics() {
        let mut d = Dict::new();
        let (id, _) = d.insert(&k(1), 1);
        d.remove(&k(1));
        d.key(id);
    }

    #[test]
    fn scan_empty_and_stable() {
        let mut d: Dict<usize> = Dict::new();
        assert_eq!(d.scan(0, |_, _, _| panic!("empty")), 0);
        for i in 0..5000 {
            d.insert(&k(i), i);
        }
        let mut count = 0;
        let seen = {
            let mut cursor = 0;
            let mut seen = HashSet::new();
            loop {
                cursor = d.scan(cursor, |id, key, v| {
                    assert_eq!(d.key(id), key);
                    assert_eq!(key, &k(*v));
                    seen.insert(key.to_vec());
                    count += 1;
                });
                if cursor == 0 {
                    break seen;
                }
            }
        };
        // Without mutation every element is returned exactly once.
        assert_eq!(seen.len(), 5000);
        assert_eq!(count, 5000);
    }

    #[test]
    fn scan_survives_growth() {
        let mut d = Dict::new();
        for i in 0..1000 {
            d.insert(&k(i), i);
        }
        let mut next = 1000;
        // Growth must stop at some point or the scan never ends (as in Redis).
        let seen = scan_all(&mut d, |d, _| {
            for _ in 0..50 {
                if next < 40_000 {
                    d.insert(&k(next), next);
                    next += 1;
                }
            }
        });
        assert!(d.bucket_count() >= 16 * 1024, "table should have grown a lot");
        for i in 0..1000 {
            assert!(seen.contains(&k(i)), "missed key {i}");
        }
    }

    #[test]
    fn scan_survives_shrink() {
        let mut d = Dict::new();
        for i in 0..20_000 {
            d.insert(&k(i), i);
        }
        let start = d.bucket_count();
        // Keys 0..200 stay; the rest drain away mid-scan.
        let mut next = 20_000;
        let seen = scan_all(&mut d, |d, _| {
            for _ in 0..400 {
                if next > 200 {
                    next -= 1;
                    d.remove(&k(next));
                }
            }
        });
        assert!(d.bucket_count() < start / 16, "table should have shrunk a lot");
        for i in 0..200 {
            assert!(seen.contains(&k(i)), "missed key {i}");
        }
    }

    #[test]
    fn scan_survives_grow_and_shrink_cycles() {
        let mut d = Dict::new();
        for i in 0..300 {
            d.insert(&k(i), i);
        }
        // Between steps, churn temporary keys so the table repeatedly grows and shrinks,
        // also removing some stable keys (those need not be seen).
        let mut rng = 42u64;
        let mut temp: Vec<usize> = Vec::new();
        let mut next = 1_000_000;
        let mut removed_stable = HashSet::new();
        let mut sizes = HashSet::new();
        let seen = scan_all(&mut d, |d, step| {
            sizes.insert(d.bucket_count());
            if (step / 4) % 2 == 0 {
                for _ in 0..(splitmix64(&mut rng) % 2000) {
                    d.insert(&k(next), next);
                    temp.push(next);
                    next += 1;
                }
            } else {
                for t in temp.drain(..) {
                    d.remove(&k(t));
                }
            }
            if step % 3 == 0 {
                let victim = (splitmix64(&mut rng) % 300) as usize;
                if d.remove(&k(victim)).is_some() {
                    removed_stable.insert(victim);
                }
            }
        });
        assert!(sizes.len() >= 3, "expected several table sizes, got {sizes:?}");
        for i in 0..300 {
            if !removed_stable.contains(&i) {
                assert!(seen.contains(&k(i)), "missed key {i}");
            }
        }
    }

    #[test]
    fn scan_arbitrary_cursor_terminates() {
        let mut d = Dict::new();
        for i in 0..100 {
            d.insert(&k(i), i);
        }
        let mut cursor = u64::MAX - 12345;
        let mut steps = 0;
        loop {
            cursor = d.scan(cursor, |_, _, _| {});
            steps += 1;
            if cursor == 0 {
                break;
            }
            assert!(steps <= d.bucket_count());
        }
    }

    #[test]
    fn random_small_and_large() {
        let mut d: Dict<usize> = Dict::new();
        assert_eq!(d.random(1), None);
        let (id, _) = d.insert(&k(0), 0);
        for s in 0..100 {
            assert_eq!(d.random(s), Some(id));
        }
        // Small table: every key turns up.
        for i in 1..10 {
            d.insert(&k(i), i);
        }
        let hit: HashSet<NodeId> = (0..2000).filter_map(|s| d.random(s)).collect();
        assert_eq!(hit.len(), 10);

        // Large table: spread out, and still works at minimum load after shrinking.
        for i in 10..100_000 {
            d.insert(&k(i), i);
        }
        let hit: HashSet<NodeId> = (0..10_000).filter_map(|s| d.random(s)).collect();
        assert!(hit.len() > 9000, "only {} distinct", hit.len());
        for i in 0..100_000 {
            if i % 1000 != 0 {
                d.remove(&k(i));
            }
        }
        let hit: HashSet<NodeId> = (0..20_000).filter_map(|s| d.random(s)).collect();
        assert_eq!(hit.len(), 100);
        for id in hit {
            assert_eq!(d.key(id), &k(*d.value(id)));
        }
    }

    #[test]
    fn clear_resets() {
        let mut d = Dict::new();
        for i in 0..1000 {
            d.insert(&k(i), i);
        }
        assert!(d.overhead_bytes() > 0);
        d.clear();
        assert!(d.is_empty());
        assert_eq!(d.iter().count(), 0);
        assert_eq!(d.random(3), None);
        assert_eq!(d.get(&k(1)), None);
        assert_eq!(d.scan(0, |_, _, _| panic!("empty")), 0);
        assert_eq!(d.overhead_bytes(), 0);
        let (id, _) = d.insert(&k(5), 5);
        assert_eq!(id, 0);
        assert_eq!(d.get(&k(5)), Some(&5));
    }

    #[test]
    fn node_stays_small() {
        // Key (24) + u32 hash + u32 next (+ V); Option uses Key's niche.
        assert_eq!(std::mem::size_of::<Option<Node<()>>>(), 32);
        assert_eq!(std::mem::size_of::<Option<Node<u64>>>(), 40);
    }
}
