//! A consumer group: where it has read to, its consumers, and its pending-entries list (PEL).
//!
//! Memory is what this layout is for. Redis keeps every pending entry twice, in the group's PEL rax and in the
//! owning consumer's rax, about 84 bytes an entry. Here each pending entry is one 32-byte [`Record`] (ID,
//! delivery time, delivery count, owner), stored once, and a consumer's view of its entries is the group PEL
//! filtered by owner.
//!
//! The PEL is a `BTreeMap` of *chunks*: sorted runs of up to [`CHUNK`] records, each keyed by a lower bound of
//! the IDs it may hold. XREADGROUP `>` delivers IDs in increasing order, so a new ID usually goes at the end of the
//! last chunk, and a full last chunk is followed by a fresh one: chunks filled that way are full, and the PEL costs
//! 32 bytes an entry plus well under one byte of map. XACK usually removes the oldest entries, which empties chunks
//! from the front (cheaply: chunks are `VecDeque`s) until they are dropped.
//!
//! Invariants:
//! - every chunk holds 1..=[`CHUNK`] records with strictly increasing IDs, in a buffer of at most [`CHUNK`]
//!   records' capacity (an empty chunk is dropped at once);
//! - a chunk's key is at most its first ID, and all its IDs are below the next chunk's key: the chunk whose key
//!   is the greatest one `<= id` is the only place `id` can be (an ID below every key is in no chunk). A removal
//!   therefore never re-keys a chunk; only an insertion below the first key does;
//! - `pel_len` is the number of records, and each live consumer's `pending` is the number of records it owns;
//!   every record's owner is a live consumer;
//! - `names` maps exactly the live consumers' names to their slots in `consumers`; `free` lists exactly the
//!   empty slots.
//!
//! Costs: a removal that leaves a chunk at most half full merges it into a neighbour when both fit in three
//! quarters of a chunk. Acks that thin out chunks without emptying them (say every other entry) can still leave
//! chunks half full, about 64 bytes an entry, and an adversarial pattern about 2.7 times the record size (chunks
//! alternately half and just over a quarter full); appends and oldest-first acks, the common case, keep chunks
//! full. An insertion into a full chunk (an out-of-order ID: XCLAIM FORCE) splits it in halves.
//! Listing one consumer's entries (`pending_of`) scans the group PEL from the start ID and skips other owners; it
//! stops once all of the consumer's entries have been seen. That is slower than Redis's per-consumer rax when a
//! consumer owns few of many entries, and is the price of storing each entry once.

use super::StreamId;
use bytes::Bytes;
use std::collections::{BTreeMap, VecDeque};
use std::mem::size_of;
use std::ops::Bound::{Excluded, Unbounded};

/// Most records in one chunk: 4 KiB of records, so per-chunk costs (a map slot, an allocation) vanish per entry
/// while an insertion or removal inside a chunk moves little memory. A power of two, so doubling growth lands on it.
const CHUNK: usize = 128;

/// A removal that leaves a chunk with at most this many records tries to merge it into a neighbour.
const MERGE_BELOW: usize = CHUNK / 2;

/// Two chunks are merged only when they fit in this many records together: the slack keeps a merged chunk from
/// being split again by the next insertion (a split leaves two halves that do not merge back).
const MERGE_MAX: usize = CHUNK * 3 / 4;

/// A consumer's handle inside its group (stable while the consumer exists).
///
/// Handles are slots in the group's consumer table: a deleted consumer's slot is reused by the next consumer
/// created, so a handle must not be kept past its consumer's deletion.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ConsumerId(pub u32);

/// A consumer of a group.
#[derive(Debug, Clone)]
pub struct Consumer {
    pub name: Bytes,
    /// Last time (Unix ms) the consumer attempted an interaction (read, claim...): XINFO CONSUMERS `idle`.
    pub seen_time: u64,
    /// Last time (Unix ms) an interaction succeeded (entries read or claimed); None = never: `inactive` -1.
    pub active_time: Option<u64>,
    pending: usize,
}

impl Consumer {
    /// Entries of the group's PEL owned by this consumer.
    pub fn pending(&self) -> usize {
        self.pending
    }
}

/// One entry of the PEL as read.
#[derive(Clone, Copy, Debug)]
pub struct PendingRef<'a> {
    pub id: StreamId,
    pub consumer: ConsumerId,
    pub consumer_name: &'a Bytes,
    /// Unix ms of the last delivery.
    pub delivery_time: u64,
    pub delivery_count: u64,
}

/// One pending entry, the only copy of it. 32 bytes: the point of the whole layout.
///
/// `delivery_count` is a `u32` that saturates at `u32::MAX` (Redis keeps 64 bits). Four billion deliveries of one
/// entry do not happen; only XCLAIM RETRYCOUNT / XCLAIM FORCE with a count of 2^32 or more reads back differently,
/// clamped.
#[derive(Clone, Copy, Debug)]
struct Record {
    id: StreamId,
    delivery_time: u64,
    delivery_count: u32,
    /// The owner's slot (`ConsumerId.0`).
    consumer: u32,
}

const _: () = assert!(size_of::<Record>() == 32);

/// A sorted run of records (see the module invariants). A deque, so acking the oldest entry moves nothing.
type Chunk = VecDeque<Record>;

/// A delivery count as stored: saturated to 32 bits.
fn clamp_count(count: u64) -> u32 {
    u32::try_from(count).unwrap_or(u32::MAX)
}

/// Makes room for one more record in a chunk that is not full, doubling its buffer up to [`CHUNK`] records (not
/// past it, as `VecDeque`'s own growth could after a merge left an odd capacity).
fn reserve_one(chunk: &mut Chunk) {
    debug_assert!(chunk.len() < CHUNK);
    if chunk.len() == chunk.capacity() {
        chunk.reserve_exact((chunk.capacity() * 2).clamp(4, CHUNK) - chunk.len());
    }
}

/// Estimated heap bytes of a `BTreeMap` of `len` entries of `entry` bytes each: nodes of 11 slots, about 8 in
/// use on average, plus a node header.
fn btree_bytes(len: usize, entry: usize) -> usize {
    len.div_ceil(8) * (16 + 11 * entry)
}

/// A consumer group of a stream.
#[derive(Clone)]
pub struct Group {
    /// The last ID delivered to the group (`>` reads after it).
    pub last_id: StreamId,
    /// The group's logical read counter (XINFO GROUPS `entries-read`); None when it cannot be known.
    pub entries_read: Option<u64>,
    /// The PEL: chunks keyed by a lower bound of their IDs (see the module invariants).
    pel: BTreeMap<StreamId, Chunk>,
    /// Records in `pel`.
    pel_len: usize,
    /// Consumers by slot; `None` is a free slot.
    consumers: Vec<Option<Consumer>>,
    /// The free slots of `consumers`, reused before the table grows.
    free: Vec<u32>,
    /// Consumers by name: lookups, and the name order XINFO CONSUMERS and XPENDING list them in.
    names: BTreeMap<Bytes, ConsumerId>,
}

impl Group {
    pub fn new(last_id: StreamId, entries_read: Option<u64>) -> Group {
        Group {
            last_id,
            entries_read,
            pel: BTreeMap::new(),
            pel_len: 0,
            consumers: Vec::new(),
            free: Vec::new(),
            names: BTreeMap::new(),
        }
    }

    pub fn consumer(&self, name: &[u8]) -> Option<&Consumer> {
        self.consumer_id(name).map(|c| self.consumer_by_id(c))
    }

    pub fn consumer_id(&self, name: &[u8]) -> Option<ConsumerId> {
        self.names.get(name).copied()
    }

    /// The consumer behind a handle; panics when the consumer was deleted.
    pub fn consumer_by_id(&self, c: ConsumerId) -> &Consumer {
        self.consumers[c.0 as usize].as_ref().expect("handle of a deleted consumer")
    }

    /// The consumer behind a handle; panics when the consumer was deleted.
    pub fn consumer_by_id_mut(&mut self, c: ConsumerId) -> &mut Consumer {
        self.consumers[c.0 as usize].as_mut().expect("handle of a deleted consumer")
    }

    /// Creates a consumer (seen now, never active); None when one of that name exists.
    pub fn create_consumer(&mut self, name: &[u8], now: u64) -> Option<ConsumerId> {
        if self.names.contains_key(name) {
            return None;
        }
        let name = Bytes::copy_from_slice(name);
        let consumer = Consumer { name: name.clone(), seen_time: now, active_time: None, pending: 0 };
        let slot = match self.free.pop() {
            Some(slot) => {
                self.consumers[slot as usize] = Some(consumer);
                slot
            }
            None => {
                let slot = u32::try_from(self.consumers.len()).expect("2^32 consumers in one group");
                self.consumers.push(Some(consumer));
                slot
            }
        };
        self.names.insert(name, ConsumerId(slot));
        Some(ConsumerId(slot))
    }

    /// Finds or creates a consumer, and marks it seen now; `true` when it was created.
    pub fn seen_consumer(&mut self, name: &[u8], now: u64) -> (ConsumerId, bool) {
        match self.consumer_id(name) {
            Some(c) => {
                self.consumer_by_id_mut(c).seen_time = now;
                (c, false)
            }
            None => (self.create_consumer(name, now).expect("absent consumer"), true),
        }
    }

    /// Deletes a consumer and drops its entries from the PEL; returns how many it had, None when there was no
    /// such consumer.
    ///
    /// Entries are stored once, so this rebuilds the whole PEL (merging chunks it thins out) when the consumer
    /// owned any; Redis walks the consumer's own rax instead.
    pub fn delete_consumer(&mut self, name: &[u8]) -> Option<usize> {
        let c = self.names.remove(name)?;
        let consumer = self.consumers[c.0 as usize].take().expect("named consumer is live");
        self.free.push(c.0);
        if consumer.pending > 0 {
            for (key, mut chunk) in std::mem::take(&mut self.pel) {
                chunk.retain(|r| r.consumer != c.0);
                if chunk.is_empty() {
                    continue;
                }
                if let Some(mut last) = self.pel.last_entry() {
                    let last = last.get_mut();
                    if (last.len() <= MERGE_BELOW || chunk.len() <= MERGE_BELOW)
                        && last.len() + chunk.len() <= MERGE_MAX
                    {
                        last.reserve_exact(chunk.len());
                        last.append(&mut chunk);
                        continue;
                    }
                }
                self.pel.insert(key, chunk);
            }
            self.pel_len -= consumer.pending;
        }
        Some(consumer.pending)
    }

    /// The consumers in name order.
    pub fn consumers(&self) -> impl Iterator<Item = &Consumer> + '_ {
        self.names.values().map(move |&c| self.consumer_by_id(c))
    }

    pub fn consumer_count(&self) -> usize {
        self.names.len()
    }

    /// Entries in the PEL.
    pub fn pending_len(&self) -> usize {
        self.pel_len
    }

    pub fn pending(&self, id: StreamId) -> Option<PendingRef<'_>> {
        let (_, chunk) = self.pel.range(..=id).next_back()?;
        let i = chunk.binary_search_by(|r| r.id.cmp(&id)).ok()?;
        Some(self.pending_ref(&chunk[i]))
    }

    /// The PEL entry with the smallest ID (XPENDING's summary), None when nothing is pending.
    pub fn pending_first(&self) -> Option<PendingRef<'_>> {
        let (_, chunk) = self.pel.first_key_value()?;
        chunk.front().map(|r| self.pending_ref(r))
    }

    /// The PEL entry with the greatest ID (XPENDING's summary), None when nothing is pending.
    pub fn pending_last(&self) -> Option<PendingRef<'_>> {
        let (_, chunk) = self.pel.last_key_value()?;
        chunk.back().map(|r| self.pending_ref(r))
    }

    /// PEL entries with `start <= id <= end`, ascending.
    pub fn pending_range(&self, start: StreamId, end: StreamId) -> impl Iterator<Item = PendingRef<'_>> + '_ {
        self.records(start, end).map(move |r| self.pending_ref(r))
    }

    /// A consumer's PEL entries with `id >= start`, ascending.
    ///
    /// Scans the group's PEL from `start`, skipping other consumers' entries, and stops after the consumer's last
    /// one. A deleted consumer has none.
    pub fn pending_of(&self, c: ConsumerId, start: StreamId) -> impl Iterator<Item = PendingRef<'_>> + '_ {
        let owned = self.consumers.get(c.0 as usize).and_then(Option::as_ref).map_or(0, |c| c.pending);
        self.records(start, StreamId::MAX)
            .filter(move |r| r.consumer == c.0)
            .take(owned)
            .map(move |r| self.pending_ref(r))
    }

    /// Records a delivery of `id` to `c` at `now`: a new PEL entry with count 1, or an existing one moved to `c`
    /// with its count incremented (saturating, see [`Record`]) and its time set.
    ///
    /// Consumer times (`seen_time`, `active_time`) are the caller's to update.
    pub fn deliver(&mut self, id: StreamId, c: ConsumerId, now: u64) {
        self.consumer_by_id_mut(c).pending += 1;
        match self.record_mut(id) {
            Some(r) => {
                let previous = std::mem::replace(&mut r.consumer, c.0);
                r.delivery_time = now;
                r.delivery_count = r.delivery_count.saturating_add(1);
                self.consumers[previous as usize].as_mut().expect("owner is live").pending -= 1;
            }
            None => self.add(Record { id, delivery_time: now, delivery_count: 1, consumer: c.0 }),
        }
    }

    /// Gives an existing PEL entry to `c` with the given delivery time and count (XCLAIM); false when `id` is not
    /// pending. Creates nothing.
    ///
    /// A count of 2^32 or more is stored as `u32::MAX` (see [`Record`]).
    pub fn assign(&mut self, id: StreamId, c: ConsumerId, time: u64, count: u64) -> bool {
        self.consumer_by_id(c); // a deleted consumer's handle panics here, before anything changes
        let Some(r) = self.record_mut(id) else { return false };
        let previous = std::mem::replace(&mut r.consumer, c.0);
        r.delivery_time = time;
        r.delivery_count = clamp_count(count);
        self.consumers[previous as usize].as_mut().expect("owner is live").pending -= 1;
        self.consumer_by_id_mut(c).pending += 1;
        true
    }

    /// Adds a PEL entry owned by `c` (XCLAIM FORCE of an ID not pending); replaces an existing one.
    ///
    /// A count of 2^32 or more is stored as `u32::MAX` (see [`Record`]).
    pub fn insert(&mut self, id: StreamId, c: ConsumerId, time: u64, count: u64) {
        if !self.assign(id, c, time, count) {
            self.consumer_by_id_mut(c).pending += 1;
            self.add(Record { id, delivery_time: time, delivery_count: clamp_count(count), consumer: c.0 });
        }
    }

    /// Removes a PEL entry (XACK, or an entry deleted from the stream); false when it was not pending.
    pub fn ack(&mut self, id: StreamId) -> bool {
        let Some((&key, chunk)) = self.pel.range_mut(..=id).next_back() else { return false };
        let Ok(i) = chunk.binary_search_by(|r| r.id.cmp(&id)) else { return false };
        let r = chunk.remove(i).expect("found index");
        let left = chunk.len();
        self.pel_len -= 1;
        self.consumers[r.consumer as usize].as_mut().expect("owner is live").pending -= 1;
        if left == 0 {
            self.pel.remove(&key);
        } else if left <= MERGE_BELOW {
            self.try_merge(key, left);
        }
        true
    }

    /// Heap bytes owned, for MEMORY USAGE: chunk buffers, an estimate of the maps' nodes, the consumer table and
    /// the consumer names (each stored once, shared by the table and the name map).
    pub fn heap_size(&self) -> usize {
        let chunks: usize = self.pel.values().map(|c| c.capacity() * size_of::<Record>()).sum();
        let names: usize = self.names.keys().map(Bytes::len).sum();
        chunks
            + btree_bytes(self.pel.len(), size_of::<StreamId>() + size_of::<Chunk>())
            + self.consumers.capacity() * size_of::<Option<Consumer>>()
            + self.free.capacity() * size_of::<u32>()
            + btree_bytes(self.names.len(), size_of::<Bytes>() + size_of::<ConsumerId>())
            + names
    }

    /// The records with `start <= id <= end`, ascending.
    fn records(&self, start: StreamId, end: StreamId) -> impl Iterator<Item = &Record> + '_ {
        let from = self.pel.range(..=start).next_back().map_or(StreamId::MIN, |(&key, _)| key);
        let mut chunks = self.pel.range(from..);
        let head = chunks.next().map(|(_, chunk)| chunk.range(chunk.partition_point(|r| r.id < start)..));
        head.into_iter().flatten().chain(chunks.flat_map(|(_, chunk)| chunk.iter())).take_while(move |r| r.id <= end)
    }

    fn record_mut(&mut self, id: StreamId) -> Option<&mut Record> {
        let (_, chunk) = self.pel.range_mut(..=id).next_back()?;
        let i = chunk.binary_search_by(|r| r.id.cmp(&id)).ok()?;
        chunk.get_mut(i)
    }

    fn pending_ref<'a>(&'a self, r: &Record) -> PendingRef<'a> {
        let owner = self.consumers[r.consumer as usize].as_ref().expect("owner is live");
        PendingRef {
            id: r.id,
            consumer: ConsumerId(r.consumer),
            consumer_name: &owner.name,
            delivery_time: r.delivery_time,
            delivery_count: r.delivery_count.into(),
        }
    }

    /// Adds a record whose ID is not pending (the caller counts it for its owner).
    fn add(&mut self, r: Record) {
        self.pel_len += 1;
        // The common case first: an ID above every pending one goes at the end of the last chunk, or starts a new
        // chunk (full-sized: appends are streaming in) behind a full one.
        if let Some(last) = self.pel.values_mut().next_back() {
            if last.back().is_some_and(|b| b.id < r.id) {
                if last.len() < CHUNK {
                    reserve_one(last);
                    last.push_back(r);
                } else {
                    let mut chunk = Chunk::with_capacity(CHUNK);
                    chunk.push_back(r);
                    self.pel.insert(r.id, chunk);
                }
                return;
            }
        }
        let key = match self.pel.range(..=r.id).next_back() {
            Some((&key, _)) => key,
            // Below every key: the first chunk is re-keyed to cover it, or the PEL was empty.
            None => match self.pel.pop_first() {
                Some((_, chunk)) => {
                    self.pel.insert(r.id, chunk);
                    r.id
                }
                None => {
                    self.pel.insert(r.id, Chunk::from([r]));
                    return;
                }
            },
        };
        let chunk = self.pel.get_mut(&key).expect("key just found");
        let i = chunk.partition_point(|x| x.id < r.id);
        if chunk.len() < CHUNK {
            reserve_one(chunk);
            chunk.insert(i, r);
            return;
        }
        // A full chunk splits in halves; the record goes into the half that covers it. Its index in the right half
        // is never 0, so the right half's key (its first ID) stays right.
        let mut right = chunk.split_off(CHUNK / 2);
        if i <= CHUNK / 2 {
            chunk.insert(i, r);
        } else {
            reserve_one(&mut right);
            right.insert(i - CHUNK / 2, r);
        }
        self.pel.insert(right[0].id, right);
    }

    /// Merges the chunk at `key`, now holding `len` records, into a neighbour when the two fit in [`MERGE_MAX`].
    fn try_merge(&mut self, key: StreamId, len: usize) {
        let prev = self.pel.range(..key).next_back().map(|(&k, c)| (k, c.len()));
        if let Some((prev, prev_len)) = prev {
            if prev_len + len <= MERGE_MAX {
                return self.merge(prev, key);
            }
        }
        let next = self.pel.range((Excluded(key), Unbounded)).next().map(|(&k, c)| (k, c.len()));
        if let Some((next, next_len)) = next {
            if next_len + len <= MERGE_MAX {
                self.merge(key, next);
            }
        }
    }

    /// Appends the chunk at `later` to its predecessor at `earlier`, which then covers both ranges.
    fn merge(&mut self, earlier: StreamId, later: StreamId) {
        let mut moved = self.pel.remove(&later).expect("chunk to merge");
        let into = self.pel.get_mut(&earlier).expect("chunk to merge into");
        into.reserve_exact(moved.len());
        into.append(&mut moved);
    }

    /// Checks every module invariant; panics on violation. For tests.
    #[cfg(test)]
    fn check(&self) {
        let mut counts = vec![0usize; self.consumers.len()];
        let mut total = 0;
        let mut prev: Option<StreamId> = None;
        let keys: Vec<StreamId> = self.pel.keys().copied().collect();
        for (n, (key, chunk)) in self.pel.iter().enumerate() {
            assert!(!chunk.is_empty() && chunk.len() <= CHUNK, "chunk len {}", chunk.len());
            assert!(chunk.capacity() <= CHUNK, "chunk capacity {}", chunk.capacity());
            assert!(*key <= chunk[0].id, "key above first ID");
            if let Some(next) = keys.get(n + 1) {
                assert!(chunk.back().unwrap().id < *next, "ID at or past the next key");
            }
            for r in chunk {
                assert!(prev.is_none_or(|p| p < r.id), "IDs not increasing");
                prev = Some(r.id);
                counts[r.consumer as usize] += 1;
                total += 1;
            }
        }
        assert_eq!(total, self.pel_len);
        for (slot, consumer) in self.consumers.iter().enumerate() {
            match consumer {
                Some(c) => {
                    assert_eq!(c.pending, counts[slot], "pending count of {:?}", c.name);
                    assert_eq!(self.names.get(&c.name), Some(&ConsumerId(slot as u32)));
                }
                None => {
                    assert_eq!(counts[slot], 0, "records owned by a free slot");
                    assert!(self.free.contains(&(slot as u32)));
                }
            }
        }
        assert_eq!(self.names.len() + self.free.len(), self.consumers.len());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A seeded xorshift64 generator: the same sequence on every run.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    /// What a group should hold: ID → (owner, time, count), and each consumer's pending count.
    #[derive(Default)]
    struct Model {
        pel: BTreeMap<StreamId, (Bytes, u64, u64)>,
        consumers: BTreeMap<Bytes, usize>,
    }

    impl Model {
        fn set(&mut self, id: StreamId, owner: &Bytes, time: u64, count: u64) {
            if let Some((old, ..)) = self.pel.insert(id, (owner.clone(), time, count)) {
                *self.consumers.get_mut(&old).unwrap() -= 1;
            }
            *self.consumers.get_mut(owner).unwrap() += 1;
        }
    }

    type Row = (StreamId, Bytes, u64, u64);

    fn rows<'a>(it: impl Iterator<Item = PendingRef<'a>>) -> Vec<Row> {
        it.map(|p| (p.id, p.consumer_name.clone(), p.delivery_time, p.delivery_count)).collect()
    }

    fn model_rows<'a>(it: impl Iterator<Item = (&'a StreamId, &'a (Bytes, u64, u64))>) -> Vec<Row> {
        it.map(|(id, (c, t, n))| (*id, c.clone(), *t, *n)).collect()
    }

    fn random_id(rng: &mut Rng, top: u64) -> StreamId {
        StreamId::new(rng.below(top + 2), rng.below(3))
    }

    fn compare(g: &Group, m: &Model, rng: &mut Rng, top: u64, full: bool) {
        g.check();
        assert_eq!(g.pending_len(), m.pel.len());
        assert_eq!(g.consumer_count(), m.consumers.len());
        let listed: Vec<(Bytes, usize)> = g.consumers().map(|c| (c.name.clone(), c.pending())).collect();
        let expected: Vec<(Bytes, usize)> = m.consumers.iter().map(|(n, c)| (n.clone(), *c)).collect();
        assert_eq!(listed, expected);

        let (a, b) = (random_id(rng, top), random_id(rng, top));
        let want = if a <= b { model_rows(m.pel.range(a..=b)) } else { Vec::new() };
        assert_eq!(rows(g.pending_range(a, b)), want, "range {a}..={b}");

        let id = random_id(rng, top);
        assert_eq!(rows(g.pending(id).into_iter()), model_rows(m.pel.get_key_value(&id).into_iter()));
        assert_eq!(rows(g.pending_first().into_iter()), model_rows(m.pel.iter().next().into_iter()));
        assert_eq!(rows(g.pending_last().into_iter()), model_rows(m.pel.iter().next_back().into_iter()));

        let names: Vec<&Bytes> = m.consumers.keys().collect();
        let checked: Vec<&Bytes> =
            if full || names.is_empty() { names } else { vec![names[rng.below(names.len() as u64) as usize]] };
        for name in checked {
            let c = g.consumer_id(name).unwrap();
            let start = if full { StreamId::MIN } else { random_id(rng, top) };
            let want = model_rows(m.pel.range(start..).filter(|(_, (owner, ..))| owner == name));
            assert_eq!(rows(g.pending_of(c, start)), want, "pending_of {name:?} from {start}");
        }
        if full {
            assert_eq!(rows(g.pending_range(StreamId::MIN, StreamId::MAX)), model_rows(m.pel.iter()));
        }
    }

    #[test]
    fn matches_a_model_under_random_operations() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let mut g = Group::new(StreamId::MIN, Some(0));
        let mut m = Model::default();
        let mut next_name = 0u32;
        let mut top = 0u64; // the greatest ms delivered in order so far
        let mut now = 1_000u64;
        for step in 0..40_000u32 {
            now += rng.below(3);
            // Mostly grow for the first half, mostly shrink in the second, so the PEL rises and drains.
            let op = match rng.below(1000) {
                op @ 13..=469 if step >= 25_000 => 700 + op % 299,
                op => op,
            };
            if m.consumers.is_empty() || op < 10 {
                let name = Bytes::from(format!("c{}", next_name % 40));
                next_name += 1;
                let created = g.create_consumer(&name, now);
                assert_eq!(created.is_some(), !m.consumers.contains_key(&name));
                if created.is_some() {
                    m.consumers.insert(name.clone(), 0);
                    assert_eq!(g.consumer(&name).unwrap().seen_time, now);
                    assert_eq!(g.consumer(&name).unwrap().active_time, None);
                }
                let (c, made) = g.seen_consumer(&name, now + 1);
                assert!(!made);
                assert_eq!(g.consumer_by_id(c).seen_time, now + 1);
                compare(&g, &m, &mut rng, top, false);
                continue;
            }
            let names: Vec<Bytes> = m.consumers.keys().cloned().collect();
            let name = names[rng.below(names.len() as u64) as usize].clone();
            let c = g.consumer_id(&name).unwrap();
            let pending: Vec<StreamId> = m.pel.keys().copied().collect();
            let existing = |rng: &mut Rng| pending.get(rng.below(pending.len().max(1) as u64) as usize).copied();
            match op {
                10..=12 => {
                    // Delete a consumer, rarely one that owns much.
                    let had = m.consumers.remove(&name).unwrap();
                    m.pel.retain(|_, (owner, ..)| *owner != name);
                    assert_eq!(g.delete_consumer(&name), Some(had));
                    assert_eq!(g.delete_consumer(&name), None);
                    assert!(g.consumer(&name).is_none());
                }
                13..=469 => {
                    // XREADGROUP `>`: increasing IDs.
                    top += rng.below(2);
                    let id = StreamId::new(top, rng.below(1 << 20));
                    let id = if m.pel.keys().next_back().is_some_and(|&last| last >= id) {
                        m.pel.keys().next_back().unwrap().next().unwrap()
                    } else {
                        id
                    };
                    top = top.max(id.ms);
                    g.deliver(id, c, now);
                    m.set(id, &name, now, 1);
                }
                470..=569 => {
                    // Re-delivery (XREADGROUP history, XCLAIM), or a delivery of any ID, pending or not.
                    let id = if op % 2 == 0 { existing(&mut rng) } else { Some(random_id(&mut rng, top)) };
                    if let Some(id) = id {
                        g.deliver(id, c, now);
                        let count = m.pel.get(&id).map_or(1, |(_, _, n)| (n + 1).min(u32::MAX as u64));
                        m.set(id, &name, now, count);
                    }
                }
                570..=649 => {
                    // XCLAIM of an ID that may or may not be pending; sometimes a huge retry count.
                    let id = if op % 2 == 0 { existing(&mut rng) } else { Some(random_id(&mut rng, top)) };
                    if let Some(id) = id {
                        let count = if rng.below(8) == 0 { u64::MAX - rng.below(3) } else { rng.below(10) };
                        let was = m.pel.contains_key(&id);
                        assert_eq!(g.assign(id, c, now - 5, count), was);
                        if was {
                            m.set(id, &name, now - 5, count.min(u32::MAX as u64));
                        }
                    }
                }
                650..=699 => {
                    // XCLAIM FORCE.
                    let id = if op % 2 == 0 { existing(&mut rng) } else { Some(random_id(&mut rng, top)) };
                    if let Some(id) = id {
                        let count = rng.below(5);
                        g.insert(id, c, now - 7, count);
                        m.set(id, &name, now - 7, count);
                    }
                }
                700..=998 => {
                    // XACK of the oldest entries in order, or of random ones.
                    let id = match rng.below(3) {
                        0 => pending.first().copied(),
                        1 => existing(&mut rng),
                        _ => Some(random_id(&mut rng, top)),
                    };
                    if let Some(id) = id {
                        let owner = m.pel.remove(&id);
                        assert_eq!(g.ack(id), owner.is_some());
                        if let Some((owner, ..)) = owner {
                            *m.consumers.get_mut(&owner).unwrap() -= 1;
                        }
                    }
                }
                _ => {
                    // XACK of a run of IDs, as a client acking a batch does.
                    let n = rng.below(150) as usize;
                    let from = pending.len().saturating_sub(n).min(rng.below(pending.len() as u64 + 1) as usize);
                    for id in pending.iter().skip(from).take(n) {
                        let (owner, ..) = m.pel.remove(id).unwrap();
                        *m.consumers.get_mut(&owner).unwrap() -= 1;
                        assert!(g.ack(*id));
                    }
                }
            }
            compare(&g, &m, &mut rng, top, step % 97 == 0);
        }
        compare(&g, &m, &mut rng, top, true);
        for name in m.consumers.keys() {
            g.delete_consumer(name).unwrap();
        }
        assert_eq!(g.pending_len(), 0);
        assert_eq!(g.consumer_count(), 0);
        g.check();
    }

    #[test]
    fn consumer_slots_are_reused() {
        let mut g = Group::new(StreamId::MIN, None);
        let a = g.create_consumer(b"a", 1).unwrap();
        let b = g.create_consumer(b"b", 1).unwrap();
        assert_eq!(g.create_consumer(b"a", 2), None);
        g.deliver(StreamId::new(1, 0), a, 5);
        g.deliver(StreamId::new(2, 0), b, 5);
        g.deliver(StreamId::new(1, 0), b, 6);
        let p = g.pending(StreamId::new(1, 0)).unwrap();
        assert_eq!((p.consumer, p.delivery_time, p.delivery_count), (b, 6, 2));
        assert_eq!(g.delete_consumer(b"a"), Some(0));
        assert_eq!(g.delete_consumer(b"b"), Some(2));
        assert_eq!(g.pending_len(), 0);
        let c = g.create_consumer(b"c", 3).unwrap();
        assert!(c == a || c == b);
        assert_eq!(g.consumers().map(|c| &c.name[..]).collect::<Vec<_>>(), [b"c"]);
        g.check();
    }

    #[test]
    fn a_million_appended_entries_cost_at_most_40_bytes_each() {
        const N: u64 = 1_000_000;
        let mut g = Group::new(StreamId::MIN, None);
        let cs: Vec<ConsumerId> =
            (0..4).map(|i| g.create_consumer(format!("consumer-{i}").as_bytes(), 0).unwrap()).collect();
        for i in 0..N {
            g.deliver(StreamId::new(1_700_000_000_000 + i / 3, i % 3), cs[(i % 4) as usize], i);
        }
        g.check();
        let per_entry = g.heap_size() as f64 / N as f64;
        println!("heap {} bytes, {per_entry:.2} bytes per pending entry", g.heap_size());
        assert!(per_entry <= 40.0, "{per_entry} bytes per pending entry");

        let ids: Vec<StreamId> = g.pending_range(StreamId::MIN, StreamId::MAX).map(|p| p.id).collect();
        assert_eq!(ids.len(), N as usize);
        for id in ids.iter().step_by(2) {
            assert!(g.ack(*id));
        }
        g.check();
        assert_eq!(g.pending_len(), N as usize / 2);
        // Entries i with odd i remain: consumers 1 and 3 own them all.
        let counts: Vec<usize> = cs.iter().map(|&c| g.consumer_by_id(c).pending()).collect();
        assert_eq!(counts, [0, N as usize / 4, 0, N as usize / 4]);
        assert_eq!(g.pending_of(cs[0], StreamId::MIN).count(), 0);
        assert!(g.pending_of(cs[1], StreamId::MIN).map(|p| p.id).eq(ids.iter().skip(1).step_by(4).copied()));
        assert!(g.pending_range(StreamId::MIN, StreamId::MAX).map(|p| p.id).eq(ids.iter().skip(1).step_by(2).copied()));
        println!("after acking every other: {:.2} bytes per pending entry", g.heap_size() as f64 / (N / 2) as f64);

        // Acking the rest oldest first frees every chunk.
        for id in ids.iter().skip(1).step_by(2) {
            assert!(g.ack(*id));
        }
        g.check();
        assert_eq!(g.pending_len(), 0);
        assert!(g.pending_first().is_none() && g.pending_last().is_none());
        assert!(g.heap_size() < 1024, "heap {} with nothing pending", g.heap_size());
    }
}
