//! The list value: a deque of byte-packed nodes (our own take on Redis's quicklist of listpacks).
//!
//! Users keep millions of short messages in lists, so memory per element matters as much as speed. A
//! `VecDeque<Vec<u8>>` would cost 24 bytes of header plus an allocation (16+ bytes) per element; packing
//! elements into ~8 KiB byte buffers brings the overhead down to 2 bytes per small element, like Redis.
//!
//! Element encoding inside a node: `header ++ data ++ backlen`, where
//! - `header` is the LEB128 varint of a tagged value: `len << 1` for a string of `len` bytes, which follow as
//!   `data`; `zigzag(n) << 1 | 1` for an integer `n`, which has no data bytes. Only canonical decimal integers
//!   are integers (those Redis's listpack stores as integers: no leading zero, no '+', no "-0", fits an i64), so
//!   an element reads back byte for byte and every value has exactly one encoding: LREM and the LINSERT pivot
//!   compare decoded elements without formatting integers ("7" never matches "007");
//! - `backlen` is the LEB128 varint of the element's forward size (header and data) with its bytes reversed, so
//!   that the last element of a node can be found from the end without scanning (reading backwards, the last
//!   byte carries the low 7 bits and a "more to the left" flag).
//!
//! A 1-byte string costs 3 bytes, a 32-byte one 34. An integer costs 2 bytes in -32..=31, 3 in -4096..=4095,
//! 4 up to 2^19 in magnitude (all 5-digit numbers), one more per 7 bits beyond, and 11 bytes from about 2^61.
//! Redis's listpack is as small or larger everywhere except 32..=127 (2 bytes there, 3 here) and magnitudes from
//! about 2^61 (10 bytes there). The tag bit costs strings of 64..=127 bytes and of 8..16 KiB a byte (two at the
//! top of those ranges) over an untagged length, which still leaves them no larger than in a listpack.
//!
//! Invariants:
//! - `len` is the sum of the nodes' `count`s; every node holds at least one element (empty nodes are freed at
//!   once), and an empty list owns no heap memory at all.
//! - a node's live bytes are `buf[start..]`, an exact concatenation of `count` encoded elements; `buf[..start]` is
//!   front headroom (space for `push_front` or bytes left behind by `pop_front`), `capacity - len` back headroom.
//! - a node's live payload is at most `NODE_BYTES`, except a node holding exactly one element whose encoding is
//!   larger than that (such a node is exactly that element, with `start == 0`, and nothing is ever added to it).
//! - a node's buffer capacity is at most `max(NODE_BYTES, its live payload)`: buffers grow geometrically but are
//!   clamped to what `NODE_BYTES` needs, and shrink back when at most a quarter of them is live.
//! - `start` fits in `u32`: it is non-zero only in buffers of at most `NODE_BYTES` bytes.

use std::collections::VecDeque;
use std::fmt;
use std::ops::Deref;

use bytes::Bytes;

use crate::proto::reply::fmt_i64;

/// Most payload bytes in one node (Redis's `list-max-listpack-size -2`): large enough that per-node costs
/// vanish per element, small enough that an insert or a scan inside one node stays cheap.
pub const NODE_BYTES: usize = 8192;

/// Smallest buffer we allocate for a new node: below this, malloc rounds up anyway, and the first few pushes
/// then need no reallocation.
const MIN_CAP: usize = 16;

/// Buffers at most this large are never shrunk: reallocating them would save too little to pay for itself.
const SHRINK_MIN_CAP: usize = 64;

/// Copying out a popped element larger than this costs more than handing over its node's buffer.
const ZERO_COPY_MIN: usize = 1024;

/// Bytes taken by the LEB128 encoding of `n`.
#[inline]
fn varint_len(mut n: usize) -> usize {
    let mut l = 1;
    while n >= 0x80 {
        n >>= 7;
        l += 1;
    }
    l
}

/// Writes the LEB128 encoding of `n` into `out`, returning its length.
#[inline]
fn write_varint(out: &mut [u8], mut n: u64) -> usize {
    let mut i = 0;
    loop {
        let b = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out[i] = b;
            return i + 1;
        }
        out[i] = b | 0x80;
        i += 1;
    }
}

/// Reads the LEB128 value starting at `off`: `(value, bytes read)`.
#[inline]
fn read_varint(buf: &[u8], off: usize) -> (u64, usize) {
    let mut v = 0u64;
    let mut shift = 0;
    let mut i = off;
    loop {
        let b = buf[i];
        i += 1;
        v |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return (v, i - off);
        }
        shift += 7;
    }
}

/// Header tag bit of an integer element.
const INT_TAG: u8 = 1;

/// Maps small magnitudes of either sign to small unsigned values: 0, -1, 1, -2, ... → 0, 1, 2, 3, ...
#[inline]
fn zigzag(n: i64) -> u64 {
    ((n << 1) ^ (n >> 63)) as u64
}

#[inline]
fn unzigzag(z: u64) -> i64 {
    ((z >> 1) as i64) ^ -((z & 1) as i64)
}

/// Writes the header of an element: the LEB128 encoding of the tagged value `payload << 1 | tag`. An integer's
/// zigzag form uses all 64 bits of `payload`, so the tagged value may need 65 bits: the first byte carries the tag
/// and the low 6 payload bits, and the rest of the payload follows as an ordinary LEB128 (at most 9 bytes).
/// Returns the header's length, at most 10.
#[inline]
fn write_header(out: &mut [u8; 10], payload: u64, tag: u8) -> usize {
    let first = ((payload & 0x3f) as u8) << 1 | tag;
    let rest = payload >> 6;
    if rest == 0 {
        out[0] = first;
        return 1;
    }
    out[0] = first | 0x80;
    1 + write_varint(&mut out[1..], rest)
}

/// Reads the header at `off`: `(payload, is_int, data_start)`.
#[inline]
fn read_header(buf: &[u8], off: usize) -> (u64, bool, usize) {
    let b = buf[off];
    let low = u64::from((b & 0x7f) >> 1);
    let is_int = b & INT_TAG != 0;
    if b < 0x80 {
        return (low, is_int, off + 1);
    }
    let (rest, n) = read_varint(buf, off + 1);
    (low | rest << 6, is_int, off + 1 + n)
}

/// An element's value as stored: a canonical decimal integer, or any other byte string. Every value has exactly
/// one form, so two elements are equal exactly when their `Item`s are.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Item<'a> {
    Str(&'a [u8]),
    Int(i64),
}

impl<'a> Item<'a> {
    /// How `v` is stored: as an integer exactly when it reads back byte for byte (no leading zeros, no '+', no
    /// "-0", fits an i64), as Redis's listpack decides. Cheap for the usual non-numeric element.
    #[inline]
    fn of(v: &'a [u8]) -> Item<'a> {
        match v.first() {
            Some(b'-' | b'0'..=b'9') if v.len() <= 20 => match super::parse_canonical_int(v) {
                Some(n) => Item::Int(n),
                None => Item::Str(v),
            },
            _ => Item::Str(v),
        }
    }

    /// The element's encoding, ready to be written.
    #[inline]
    fn pack(self) -> Packed<'a> {
        let (payload, tag, data) = match self {
            Item::Str(v) => (v.len() as u64, 0, v),
            Item::Int(n) => (zigzag(n), INT_TAG, &[][..]),
        };
        let mut head = [0u8; 10];
        let head_len = write_header(&mut head, payload, tag);
        let size = head_len + data.len();
        Packed { head, head_len, data, len: size + varint_len(size) }
    }

    /// The element's bytes, copied (an integer is formatted).
    fn to_bytes(self) -> Bytes {
        match self {
            Item::Str(v) => Bytes::copy_from_slice(v),
            Item::Int(n) => Bytes::copy_from_slice(&Digits::new(n)),
        }
    }

    /// Size of this element in Redis's listpack format (encoding, data, back-length), to mirror its
    /// listpack/quicklist decisions.
    fn lp_len(self) -> usize {
        let enc = match self {
            Item::Int(0..=127) => 1,
            Item::Int(-4096..=4095) => 2,
            Item::Int(-32768..=32767) => 3,
            Item::Int(-8_388_608..=8_388_607) => 4,
            Item::Int(n) if i32::try_from(n).is_ok() => 5,
            Item::Int(_) => 9,
            Item::Str(v) if v.len() < 64 => 1 + v.len(),
            Item::Str(v) if v.len() < 4096 => 2 + v.len(),
            Item::Str(v) => 5 + v.len(),
        };
        let backlen = match enc {
            0..=127 => 1,
            128..=16383 => 2,
            16384..=2_097_151 => 3,
            2_097_152..=268_435_455 => 4,
            _ => 5,
        };
        enc + backlen
    }
}

/// An element encoded for writing into a node: header, data (none for an integer), then the back-length.
struct Packed<'a> {
    head: [u8; 10],
    head_len: usize,
    data: &'a [u8],
    /// Total encoded size.
    len: usize,
}

impl Packed<'_> {
    /// The back-length: the forward size (header and data) as a LEB128, to be stored reversed.
    #[inline]
    fn backlen(&self) -> ([u8; 10], usize) {
        let mut back = [0u8; 10];
        let n = write_varint(&mut back, (self.head_len + self.data.len()) as u64);
        (back, n)
    }

    /// Writes the encoding into `out`, which must be exactly `self.len` bytes.
    fn write(&self, out: &mut [u8]) {
        let (h, d) = (self.head_len, self.data.len());
        out[..h].copy_from_slice(&self.head[..h]);
        out[h..h + d].copy_from_slice(self.data);
        let (back, n) = self.backlen();
        for (o, &b) in out[h + d..].iter_mut().zip(back[..n].iter().rev()) {
            *o = b;
        }
    }

    /// Appends the encoding to `out` (without zero-filling first, unlike `write` on a resized Vec).
    #[inline]
    fn append(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.head[..self.head_len]);
        out.extend_from_slice(self.data);
        let (back, n) = self.backlen();
        out.extend(back[..n].iter().rev());
    }
}

/// Decodes the element starting at `off`: `(item, next_element_offset)`.
#[inline]
fn read_fwd(buf: &[u8], off: usize) -> (Item<'_>, usize) {
    let (payload, is_int, ds) = read_header(buf, off);
    let (item, de) = if is_int {
        (Item::Int(unzigzag(payload)), ds)
    } else {
        let de = ds + payload as usize;
        (Item::Str(&buf[ds..de]), de)
    };
    (item, de + varint_len(de - off))
}

/// Start of the element ending at `end` (exclusive), read from its back-length.
#[inline]
fn read_back(buf: &[u8], end: usize) -> usize {
    let b = buf[end - 1];
    if b < 0x80 {
        return end - 1 - b as usize;
    }
    let mut size = 0usize;
    let mut shift = 0;
    let mut i = end;
    loop {
        i -= 1;
        let b = buf[i];
        size |= ((b & 0x7f) as usize) << shift;
        if b & 0x80 == 0 {
            return i - size;
        }
        shift += 7;
    }
}

/// One packed run of elements. 32 bytes, so the node table costs well under 1% of the payload it indexes.
struct Node {
    /// `buf[start..]` are the encoded elements; `buf[..start]` is headroom for cheap `push_front`.
    buf: Vec<u8>,
    /// Offset of the first element. `u32` keeps the node at 32 bytes; see the module invariants.
    start: u32,
    /// Number of elements, kept so that indexing can skip whole nodes.
    count: u32,
}

impl Node {
    /// A node holding just `p`. The buffer is exact-sized (or `MIN_CAP`) so a one-element list stays small;
    /// when the element is pushed at the front, the spare room is put before it, where later pushes go.
    fn with_elem(p: &Packed, at_front: bool) -> Node {
        let e = p.len;
        let cap = if e >= NODE_BYTES { e } else { e.max(MIN_CAP) };
        let start = if at_front { cap - e } else { 0 };
        let mut buf = Vec::with_capacity(cap);
        buf.resize(start, 0);
        p.append(&mut buf);
        Node { buf, start: start as u32, count: 1 }
    }

    /// A node holding an already-encoded run of `count` elements, in an exact-sized buffer.
    fn from_payload(payload: &[u8], count: usize) -> Node {
        let mut buf = Vec::with_capacity(payload.len().max(MIN_CAP));
        buf.extend_from_slice(payload);
        Node { buf, start: 0, count: count as u32 }
    }

    #[inline]
    fn start(&self) -> usize {
        self.start as usize
    }

    #[inline]
    fn count(&self) -> usize {
        self.count as usize
    }

    /// Bytes of encoded elements.
    #[inline]
    fn live(&self) -> usize {
        self.buf.len() - self.start()
    }

    #[inline]
    fn payload(&self) -> &[u8] {
        &self.buf[self.start()..]
    }

    /// Whether an element of encoded size `e` may be added without breaking the size bound.
    #[inline]
    fn fits(&self, e: usize) -> bool {
        self.live() + e <= NODE_BYTES
    }

    /// Offset of element `i` (< count), scanning from whichever end of the node is nearer.
    fn offset_of(&self, i: usize) -> usize {
        let count = self.count();
        debug_assert!(i < count);
        if i <= count / 2 {
            let mut off = self.start();
            for _ in 0..i {
                off = read_fwd(&self.buf, off).1;
            }
            off
        } else {
            let mut end = self.buf.len();
            for _ in 0..count - i {
                end = read_back(&self.buf, end);
            }
            end
        }
    }

    /// The element starting at `off`.
    #[inline]
    fn item_at(&self, off: usize) -> Item<'_> {
        read_fwd(&self.buf, off).0
    }

    /// Ensures `e` free bytes at the front (or the back) of the live bytes, keeping pushes amortized O(1):
    /// - compact (slide the live bytes inside the buffer) when it cannot grow any more, or when the free room
    ///   (typically a dead prefix left by pops) is at least a quarter of the live bytes: the copy of `live`
    ///   bytes then buys `live / 4` bytes of pushes, and a queue living in one node stays within ~1.5x its
    ///   size instead of growing. A quarter of the spare room stays on the other side so that pushes
    ///   alternating between ends do not ping-pong;
    /// - otherwise reallocate to 1.5x what is needed, clamped to `NODE_BYTES` (a full node is then exactly
    ///   `NODE_BYTES`), putting the new room on the side that needs it: headroom in front proportional to the
    ///   node's size for `push_front`, and plain `realloc` growth at the back for `push_back`. 1.5x rather than
    ///   2x because the slack of a partly filled buffer is what small lists pay per element.
    ///
    /// The caller guarantees `live + e <= NODE_BYTES`.
    fn make_room(&mut self, e: usize, at_front: bool) {
        let start = self.start();
        let len = self.buf.len();
        let cap = self.buf.capacity();
        let (side, other) = if at_front { (start, cap - len) } else { (cap - len, start) };
        if side >= e {
            return;
        }
        let live = len - start;
        let need = live + e;
        debug_assert!(need <= NODE_BYTES);
        let free = cap - live;
        let slide = free >= e && (cap >= NODE_BYTES || (free - e) * 4 >= live);
        let new_cap = if slide { cap } else { (need + need / 2).min(NODE_BYTES).max(need) };
        let spare = new_cap - need;
        let other_keep = if slide { spare / 4 } else { other.min(spare / 2) };
        let front = if at_front { e + spare - other_keep } else { other_keep };
        self.relayout(new_cap, front, slide);
    }

    /// Moves the live bytes to offset `front` of a buffer of capacity `new_cap` (the same buffer when `in_place`).
    fn relayout(&mut self, new_cap: usize, front: usize, in_place: bool) {
        let start = self.start();
        let live = self.live();
        if in_place {
            let new_len = front + live;
            if new_len > self.buf.len() {
                self.buf.resize(new_len, 0);
            }
            self.buf.copy_within(start..start + live, front);
            self.buf.truncate(new_len);
        } else if front == start && new_cap > self.buf.capacity() {
            // Plain growth at the back: let realloc extend the block in place when it can.
            self.buf.reserve_exact(new_cap - self.buf.len());
        } else {
            let mut nb = Vec::with_capacity(new_cap);
            nb.resize(front, 0);
            nb.extend_from_slice(&self.buf[start..]);
            self.buf = nb;
        }
        self.start = front as u32;
    }

    /// Gives memory back once at most a quarter of the buffer is live (after pops, removals, trims). The new
    /// buffer is twice the live bytes, the spare split between both ends; the 4x hysteresis against growth
    /// keeps this amortized O(1).
    fn maybe_shrink(&mut self) {
        let cap = self.buf.capacity();
        let live = self.live();
        if cap > SHRINK_MIN_CAP && live * 4 <= cap {
            let new_cap = (live * 2).max(MIN_CAP);
            self.relayout(new_cap, (new_cap - live) / 2, false);
        }
    }

    fn push_back(&mut self, p: &Packed) {
        self.make_room(p.len, false);
        p.append(&mut self.buf);
        self.count += 1;
    }

    fn push_front(&mut self, p: &Packed) {
        self.make_room(p.len, true);
        let s = self.start() - p.len;
        p.write(&mut self.buf[s..s + p.len]);
        self.start = s as u32;
        self.count += 1;
    }

    /// Replaces the `old` bytes at `off` by `new` bytes of room, shifting the rest of the node; returns the
    /// (possibly moved) offset of that room. The caller writes it and fixes `count`, and guarantees the
    /// result fits `NODE_BYTES`.
    fn splice(&mut self, off: usize, old: usize, new: usize) -> usize {
        let rel = off - self.start();
        if new > old {
            self.make_room(new - old, false);
        }
        let off = self.start() + rel;
        let old_len = self.buf.len();
        if new > old {
            self.buf.resize(old_len + (new - old), 0);
        }
        self.buf.copy_within(off + old..old_len, off + new);
        if new < old {
            self.buf.truncate(old_len - (old - new));
        }
        off
    }

    /// Removes elements equal to `v`: ignores the first `skip` matches, then removes up to `limit`. Compacts in
    /// place with one pass; returns how many were removed.
    fn remove_matches(&mut self, v: Item, skip: usize, limit: usize) -> usize {
        let end = self.buf.len();
        let mut r = self.start();
        let mut w = r;
        let mut seen = 0;
        let mut removed = 0;
        while r < end && removed < limit {
            let (item, next) = read_fwd(&self.buf, r);
            let mut drop = false;
            if item == v {
                seen += 1;
                drop = seen > skip;
            }
            if drop {
                removed += 1;
            } else {
                if w != r {
                    self.buf.copy_within(r..next, w);
                }
                w += next - r;
            }
            r = next;
        }
        if removed > 0 {
            self.buf.copy_within(r..end, w);
            self.buf.truncate(w + (end - r));
            self.count -= removed as u32;
        }
        removed
    }

    fn count_matches(&self, v: Item) -> usize {
        let mut off = self.start();
        let mut n = 0;
        while off < self.buf.len() {
            let (item, next) = read_fwd(&self.buf, off);
            if item == v {
                n += 1;
            }
            off = next;
        }
        n
    }

    /// The element starting at `off` as the node is being dropped: a large string takes over the node's buffer
    /// instead of being copied, when that buffer is not much bigger than the string.
    fn into_bytes(self, off: usize) -> Bytes {
        let (payload, is_int, ds) = read_header(&self.buf, off);
        if is_int {
            return Item::Int(unzigzag(payload)).to_bytes();
        }
        let n = payload as usize;
        let de = ds + n;
        if n >= ZERO_COPY_MIN && n * 2 >= self.buf.capacity() {
            Bytes::from(self.buf).slice(ds..de)
        } else {
            Bytes::copy_from_slice(&self.buf[ds..de])
        }
    }
}

impl Clone for Node {
    /// Copies only the live bytes, into an exact-sized buffer.
    fn clone(&self) -> Node {
        Node::from_payload(self.payload(), self.count())
    }
}

/// Bytes of a listpack's header and end marker.
const LP_HEADER: usize = 7;

/// A Redis list value: a deque of packed nodes. See the module docs for the layout and invariants.
#[derive(Default)]
pub struct List {
    nodes: VecDeque<Node>,
    len: usize,
    /// Size this list would have as one Redis listpack (entries in Redis's encoding, without the 7-byte header),
    /// kept so OBJECT ENCODING can answer as Redis 7.4 does without a scan.
    lp_bytes: usize,
    /// Whether Redis would hold this list as a quicklist by now (see `is_listpack`).
    quicklist: bool,
}

impl List {
    pub fn new() -> Self {
        List { nodes: VecDeque::new(), len: 0, lp_bytes: 0, quicklist: false }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Removes every element and frees all memory.
    pub fn clear(&mut self) {
        self.nodes = VecDeque::new();
        self.len = 0;
        self.lp_bytes = 0;
        self.quicklist = false;
    }

    /// Whether Redis 7.4 would report this list as a `listpack`: it converts to a quicklist when the listpack
    /// would pass list-max-listpack-size (-2: 8 KiB), and back only when a removal leaves a single node of at
    /// most half that.
    pub fn is_listpack(&self) -> bool {
        !self.quicklist
    }

    /// Keeps the listpack-size figure up to date as elements come and go.
    fn account(&mut self, added: usize, removed: usize) {
        self.lp_bytes = self.lp_bytes + added - removed;
    }

    /// Called before adding elements of `raw_bytes` in all: Redis converts a listpack that would pass the limit
    /// into a quicklist before it adds (judging by the raw sizes, as it does).
    pub fn before_growth(&mut self, raw_bytes: usize) {
        if !self.quicklist && LP_HEADER + self.lp_bytes + raw_bytes > NODE_BYTES {
            self.quicklist = true;
        }
    }

    /// Called after removing elements: Redis turns a quicklist of one node back into a listpack once it is at most
    /// half the limit (the hysteresis keeps a list near the limit from flipping on every push and pop).
    pub fn after_shrink(&mut self) {
        if self.quicklist && self.nodes.len() <= 1 && LP_HEADER + self.lp_bytes <= NODE_BYTES / 2 {
            self.quicklist = false;
        }
    }

    /// Adds a node at `at`; the first node gets a table of exactly one slot (std's minimum non-zero capacity is
    /// 4, which would be 96 wasted bytes for the very common one-node list).
    fn insert_node(&mut self, at: usize, node: Node) {
        if self.nodes.capacity() == 0 {
            self.nodes.reserve_exact(1);
        }
        self.nodes.insert(at, node);
    }

    /// Releases the node table when the list empties, and shrinks it when mostly unused.
    fn after_node_removal(&mut self) {
        if self.nodes.is_empty() {
            self.nodes = VecDeque::new();
        } else if self.nodes.capacity() > 8 && self.nodes.len() * 4 <= self.nodes.capacity() {
            self.nodes.shrink_to(self.nodes.len() * 2);
        }
    }

    /// Puts back elements popped from one end (`head`: the front), given in the order they were popped, so the
    /// list is as it was before the pop: the last popped goes back first.
    pub fn unpop<V: AsRef<[u8]>>(&mut self, popped: &[V], head: bool) {
        self.before_growth(popped.iter().map(|v| v.as_ref().len()).sum());
        for v in popped.iter().rev() {
            if head {
                self.push_front(v.as_ref());
            } else {
                self.push_back(v.as_ref());
            }
        }
    }

    pub fn push_front(&mut self, v: &[u8]) {
        let item = Item::of(v);
        self.account(item.lp_len(), 0);
        let p = item.pack();
        match self.nodes.front_mut() {
            Some(n) if n.fits(p.len) => n.push_front(&p),
            _ => self.insert_node(0, Node::with_elem(&p, true)),
        }
        self.len += 1;
    }

    pub fn push_back(&mut self, v: &[u8]) {
        let item = Item::of(v);
        self.account(item.lp_len(), 0);
        let p = item.pack();
        match self.nodes.back_mut() {
            Some(n) if n.fits(p.len) => n.push_back(&p),
            _ => {
                let at = self.nodes.len();
                self.insert_node(at, Node::with_elem(&p, false))
            }
        }
        self.len += 1;
    }

    pub fn pop_front(&mut self) -> Option<Bytes> {
        let node = self.nodes.front_mut()?;
        let start = node.start();
        let (item, next) = read_fwd(&node.buf, start);
        self.len -= 1;
        let lp = item.lp_len();
        let out = if node.count == 1 {
            let node = self.nodes.pop_front().expect("front node exists");
            self.after_node_removal();
            node.into_bytes(start)
        } else {
            let out = item.to_bytes();
            node.start = next as u32;
            node.count -= 1;
            node.maybe_shrink();
            out
        };
        self.account(0, lp);
        Some(out)
    }

    pub fn pop_back(&mut self) -> Option<Bytes> {
        let node = self.nodes.back_mut()?;
        let start = read_back(&node.buf, node.buf.len());
        let item = node.item_at(start);
        self.len -= 1;
        let lp = item.lp_len();
        let out = if node.count == 1 {
            let node = self.nodes.pop_back().expect("back node exists");
            self.after_node_removal();
            node.into_bytes(start)
        } else {
            let out = item.to_bytes();
            node.buf.truncate(start);
            node.count -= 1;
            node.maybe_shrink();
            out
        };
        self.account(0, lp);
        Some(out)
    }

    pub fn front(&self) -> Option<Elem<'_>> {
        let n = self.nodes.front()?;
        Some(n.item_at(n.start()).into())
    }

    pub fn back(&self) -> Option<Elem<'_>> {
        let n = self.nodes.back()?;
        Some(n.item_at(read_back(&n.buf, n.buf.len())).into())
    }

    /// `(node, index within node)` of element `index < len`, skipping whole nodes from the nearer end.
    fn locate(&self, index: usize) -> (usize, usize) {
        debug_assert!(index < self.len);
        if index < self.len / 2 {
            let mut i = index;
            for (ni, n) in self.nodes.iter().enumerate() {
                if i < n.count() {
                    return (ni, i);
                }
                i -= n.count();
            }
        } else {
            let mut back = self.len - 1 - index;
            for (ni, n) in self.nodes.iter().enumerate().rev() {
                if back < n.count() {
                    return (ni, n.count() - 1 - back);
                }
                back -= n.count();
            }
        }
        unreachable!("index {index} < len {} but not found in nodes", self.len)
    }

    /// index 0..len from the head
    pub fn get(&self, index: usize) -> Option<Elem<'_>> {
        if index >= self.len {
            return None;
        }
        let (ni, i) = self.locate(index);
        let n = &self.nodes[ni];
        Some(n.item_at(n.offset_of(i)).into())
    }

    /// Replaces element `index` (LSET); false if out of range. An encoding of the same size is overwritten in
    /// place.
    pub fn set(&mut self, index: usize, v: &[u8]) -> bool {
        if index >= self.len {
            return false;
        }
        self.before_growth(v.len());
        let item = Item::of(v);
        let p = item.pack();
        let e = p.len;
        let (ni, i) = self.locate(index);
        let node = &mut self.nodes[ni];
        let off = node.offset_of(i);
        let (old_item, next) = read_fwd(&node.buf, off);
        let old_lp = old_item.lp_len();
        let old = next - off;
        if old == e {
            p.write(&mut node.buf[off..next]);
        } else if node.count == 1 {
            *node = Node::with_elem(&p, false);
            self.merge_around(ni);
        } else if node.live() - old + e <= NODE_BYTES {
            let off = node.splice(off, old, e);
            p.write(&mut node.buf[off..off + e]);
            node.maybe_shrink();
        } else {
            // Too big for this node: take the old element out, then insert as LINSERT would (splitting).
            let rel = off - node.start();
            node.splice(off, old, 0);
            node.count -= 1;
            self.len -= 1;
            self.insert_at(ni, i, rel, &p);
        }
        self.account(item.lp_len(), old_lp);
        true
    }

    /// Iterates elements from `start` (inclusive) towards the tail; nothing when `start >= len`.
    pub fn iter_from(&self, start: usize) -> Iter<'_> {
        if start >= self.len {
            return Iter { nodes: &self.nodes, node: 0, off: 0, remaining: 0 };
        }
        let (ni, i) = self.locate(start);
        Iter { nodes: &self.nodes, node: ni, off: self.nodes[ni].offset_of(i), remaining: self.len - start }
    }

    /// Iterates elements from `start` (inclusive) towards the head; nothing when `start >= len`.
    pub fn iter_rev_from(&self, start: usize) -> RevIter<'_> {
        if start >= self.len {
            return RevIter { nodes: &self.nodes, node: 0, end: 0, remaining: 0 };
        }
        let (ni, i) = self.locate(start);
        let n = &self.nodes[ni];
        let end = if i + 1 == n.count() { n.buf.len() } else { read_fwd(&n.buf, n.offset_of(i)).1 };
        RevIter { nodes: &self.nodes, node: ni, end, remaining: start + 1 }
    }

    pub fn iter(&self) -> Iter<'_> {
        let off = self.nodes.front().map_or(0, Node::start);
        Iter { nodes: &self.nodes, node: 0, off, remaining: self.len }
    }

    /// Inserts `p` at byte offset `rel` (relative to the node's first element) of node `ni`, which is before
    /// its element `k` (`k == count` for the end). Grows the node in place when it fits; otherwise tries the
    /// neighbour at a node boundary, then splits the node at the insertion point (as Redis's quicklist does) and
    /// merges small pieces back with their neighbours.
    fn insert_at(&mut self, ni: usize, k: usize, rel: usize, p: &Packed) {
        let e = p.len;
        self.len += 1;
        let node = &mut self.nodes[ni];
        let live = node.live();
        if node.fits(e) {
            if rel == 0 {
                node.push_front(p);
            } else if rel == live {
                node.push_back(p);
            } else {
                let off = node.splice(node.start() + rel, 0, e);
                p.write(&mut node.buf[off..off + e]);
                node.count += 1;
            }
            return;
        }
        if rel == 0 {
            match ni.checked_sub(1) {
                Some(prev) if self.nodes[prev].fits(e) => self.nodes[prev].push_back(p),
                _ => self.insert_node(ni, Node::with_elem(p, true)),
            }
            return;
        }
        if rel == live {
            match self.nodes.get_mut(ni + 1) {
                Some(n) if n.fits(e) => n.push_front(p),
                _ => self.insert_node(ni + 1, Node::with_elem(p, false)),
            }
            return;
        }
        // Split: `node` keeps the first k elements, `right` gets the rest.
        let split = node.start() + rel;
        let mut right = Node::from_payload(&node.buf[split..], node.count() - k);
        node.buf.truncate(split);
        node.count = k as u32;
        if node.fits(e) {
            node.push_back(p);
            node.maybe_shrink();
            self.insert_node(ni + 1, right);
        } else {
            node.maybe_shrink();
            if right.fits(e) {
                right.push_front(p);
                self.insert_node(ni + 1, right);
            } else {
                self.insert_node(ni + 1, right);
                self.insert_node(ni + 1, Node::with_elem(p, false));
            }
        }
        // Merge the right piece forward first so that indexes at or before ni + 1 stay valid.
        self.try_merge(ni + 1);
        self.merge_around(ni);
    }

    /// Tries to merge node `ni` with its neighbours (after it has shrunk).
    fn merge_around(&mut self, ni: usize) {
        self.try_merge(ni);
        if ni > 0 {
            self.try_merge(ni - 1);
        }
    }

    /// Merges nodes `a` and `a + 1` into index `a` when their payloads fit one node, copying the smaller into
    /// the larger; returns whether it did. Keeps nodes full after removals and splits.
    fn try_merge(&mut self, a: usize) -> bool {
        if a + 1 >= self.nodes.len() {
            return false;
        }
        let (l, r) = (self.nodes[a].live(), self.nodes[a + 1].live());
        if l + r > NODE_BYTES {
            return false;
        }
        if l >= r {
            let right = self.nodes.remove(a + 1).expect("node a + 1 exists");
            let left = &mut self.nodes[a];
            left.make_room(r, false);
            left.buf.extend_from_slice(right.payload());
            left.count += right.count;
        } else {
            let left = self.nodes.remove(a).expect("node a exists");
            let right = &mut self.nodes[a];
            right.make_room(l, true);
            let s = right.start() - l;
            right.buf[s..s + l].copy_from_slice(left.payload());
            right.start = s as u32;
            right.count += left.count;
        }
        true
    }

    /// Inserts v before (or after) the first element equal to pivot; returns false if pivot is absent.
    pub fn insert_at_pivot(&mut self, pivot: &[u8], v: &[u8], after: bool) -> bool {
        // Redis converts before looking for the pivot, so a missing pivot can still make it a quicklist.
        self.before_growth(v.len());
        let pivot = Item::of(pivot);
        let mut found = None;
        'nodes: for (ni, n) in self.nodes.iter().enumerate() {
            let mut off = n.start();
            let mut k = 0;
            while off < n.buf.len() {
                let (item, next) = read_fwd(&n.buf, off);
                if item == pivot {
                    found = Some(if after { (ni, k + 1, next - n.start()) } else { (ni, k, off - n.start()) });
                    break 'nodes;
                }
                off = next;
                k += 1;
            }
        }
        match found {
            Some((ni, k, rel)) => {
                let item = Item::of(v);
                self.insert_at(ni, k, rel, &item.pack());
                self.account(item.lp_len(), 0);
                true
            }
            None => false,
        }
    }

    /// LREM semantics: count > 0 removes the first `count` equal elements from the head, count < 0 from the tail,
    /// 0 all; returns how many were removed. Each touched node is compacted in one pass, freed when emptied, and
    /// merged with an adjacent node when both fit in one.
    pub fn remove(&mut self, v: &[u8], count: i64) -> usize {
        let v = Item::of(v);
        let removed = self.remove_raw(v, count);
        self.account(0, removed * v.lp_len());
        self.after_shrink();
        removed
    }

    fn remove_raw(&mut self, v: Item, count: i64) -> usize {
        let limit = if count == 0 { usize::MAX } else { usize::try_from(count.unsigned_abs()).unwrap_or(usize::MAX) };
        let mut removed = 0;
        // Range of nodes that lost elements.
        let (mut first, mut last) = (usize::MAX, 0);
        let mut note = |i: usize| {
            first = first.min(i);
            last = last.max(i);
        };
        if count >= 0 {
            for i in 0..self.nodes.len() {
                if removed == limit {
                    break;
                }
                let got = self.nodes[i].remove_matches(v, 0, limit - removed);
                if got > 0 {
                    removed += got;
                    note(i);
                }
            }
        } else {
            for i in (0..self.nodes.len()).rev() {
                if removed == limit {
                    break;
                }
                let n = &mut self.nodes[i];
                let m = n.count_matches(v);
                let take = m.min(limit - removed);
                if take > 0 {
                    n.remove_matches(v, m - take, take);
                    removed += take;
                    note(i);
                }
            }
        }
        if removed > 0 {
            self.len -= removed;
            let hi = (last + 1).min(self.nodes.len() - 1);
            self.compact_nodes(first.saturating_sub(1), hi);
        }
        removed
    }

    /// Drops the empty nodes of `nodes[lo..=hi]` and merges adjacent ones whose payloads fit one node, in one
    /// pass and with one shift of the nodes after `hi` (removing nodes one by one would make LREM over a long
    /// list quadratic). Then gives surplus buffer memory back.
    fn compact_nodes(&mut self, lo: usize, hi: usize) {
        let mut w = lo;
        for r in lo..=hi {
            if self.nodes[r].count == 0 {
                continue;
            }
            if w > lo && self.nodes[w - 1].live() + self.nodes[r].live() <= NODE_BYTES {
                let src = std::mem::replace(&mut self.nodes[r], Node { buf: Vec::new(), start: 0, count: 0 });
                let dst = &mut self.nodes[w - 1];
                dst.make_room(src.live(), false);
                dst.buf.extend_from_slice(src.payload());
                dst.count += src.count;
                continue;
            }
            self.nodes.swap(w, r);
            w += 1;
        }
        self.nodes.drain(w..=hi);
        for n in self.nodes.range_mut(lo..w) {
            n.maybe_shrink();
        }
        self.after_node_removal();
    }

    /// Keeps only elements start..=end (already-clamped, valid indexes); LTRIM. For robustness an empty range
    /// (`start > end` or `start >= len`) clears the list and `end` past the tail is clamped.
    pub fn retain_range(&mut self, start: usize, end: usize) {
        if start > end || start >= self.len {
            self.clear();
            return;
        }
        let end = end.min(self.len - 1);
        let dropped: usize = self.iter().items().take(start).map(Item::lp_len).sum::<usize>()
            + self.iter_from(end + 1).items().map(Item::lp_len).sum::<usize>();
        let mut drop_back = self.len - 1 - end;
        while drop_back > 0 {
            let last = self.nodes.back_mut().expect("elements remain");
            let c = last.count();
            if c <= drop_back {
                self.nodes.pop_back();
                drop_back -= c;
            } else {
                let off = last.offset_of(c - drop_back);
                last.buf.truncate(off);
                last.count -= drop_back as u32;
                last.maybe_shrink();
                drop_back = 0;
            }
        }
        let mut drop_front = start;
        while drop_front > 0 {
            let first = self.nodes.front_mut().expect("elements remain");
            let c = first.count();
            if c <= drop_front {
                self.nodes.pop_front();
                drop_front -= c;
            } else {
                first.start = first.offset_of(drop_front) as u32;
                first.count -= drop_front as u32;
                first.maybe_shrink();
                drop_front = 0;
            }
        }
        self.len = end - start + 1;
        if self.nodes.len() == 2 {
            self.try_merge(0);
        }
        self.after_node_removal();
        self.account(0, dropped);
        self.after_shrink();
    }

    /// Approximate heap bytes owned (nodes' buffer capacities + node table), for MEMORY USAGE.
    pub fn heap_size(&self) -> usize {
        self.nodes.capacity() * std::mem::size_of::<Node>() + self.nodes.iter().map(|n| n.buf.capacity()).sum::<usize>()
    }

    /// Number of nodes (for OBJECT ENCODING: "listpack" when 1 node under 128 elements and small, else "quicklist").
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// Encoded bytes of all elements (payload only, without headroom), e.g. for encoding thresholds.
    pub fn payload_bytes(&self) -> usize {
        self.nodes.iter().map(Node::live).sum()
    }

    /// Checks every module invariant; panics on violation. For tests.
    #[cfg(test)]
    fn check(&self) {
        let mut total = 0;
        for n in &self.nodes {
            assert!(n.count > 0, "empty node kept");
            let mut off = n.start();
            let mut k = 0;
            while off < n.buf.len() {
                let (item, next) = read_fwd(&n.buf, off);
                if let Item::Str(v) = item {
                    assert!(super::parse_canonical_int(v).is_none(), "canonical integer {v:?} stored as a string");
                }
                off = next;
                k += 1;
            }
            assert_eq!(off, n.buf.len(), "elements overrun the buffer");
            assert_eq!(k, n.count(), "node count");
            if n.count > 1 || n.live() <= NODE_BYTES {
                assert!(n.live() <= NODE_BYTES, "node payload {} > NODE_BYTES", n.live());
                assert!(n.buf.capacity() <= NODE_BYTES, "node capacity {} > NODE_BYTES", n.buf.capacity());
            } else {
                assert_eq!(n.start, 0);
            }
            total += n.count();
        }
        assert_eq!(total, self.len);
        if self.len == 0 {
            assert_eq!(self.nodes.capacity(), 0, "empty list keeps a node table");
        }
    }
}

impl Clone for List {
    /// A deep copy (COPY) with exact-sized buffers.
    fn clone(&self) -> List {
        let mut nodes = VecDeque::with_capacity(self.nodes.len());
        nodes.extend(self.nodes.iter().cloned());
        List { nodes, len: self.len, lp_bytes: self.lp_bytes, quicklist: self.quicklist }
    }
}

impl fmt::Debug for List {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("List").field("len", &self.len).field("nodes", &self.nodes.len()).finish()
    }
}

/// An element read from a [`List`]. A string is borrowed from its node; an integer is stored as a number, so its
/// decimal digits are formatted here, inline, and callers get bytes (through `Deref`) without an allocation.
#[derive(Clone, Copy)]
pub enum Elem<'a> {
    Str(&'a [u8]),
    Int(Digits),
}

impl<'a> From<Item<'a>> for Elem<'a> {
    #[inline]
    fn from(item: Item<'a>) -> Elem<'a> {
        match item {
            Item::Str(v) => Elem::Str(v),
            Item::Int(n) => Elem::Int(Digits::new(n)),
        }
    }
}

impl Deref for Elem<'_> {
    type Target = [u8];

    #[inline]
    fn deref(&self) -> &[u8] {
        match self {
            Elem::Str(v) => v,
            Elem::Int(d) => d,
        }
    }
}

impl PartialEq for Elem<'_> {
    /// Equal bytes: a canonical integer and a string never are, as the string would have been stored as one.
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl fmt::Debug for Elem<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(self))
    }
}

/// The decimal form of an integer element (at most 20 characters, for `i64::MIN`), right-aligned in place.
#[derive(Clone, Copy)]
pub struct Digits {
    buf: [u8; 20],
    start: u8,
}

impl Digits {
    fn new(n: i64) -> Digits {
        let mut buf = [0u8; 20];
        let start = buf.len() - fmt_i64(&mut buf, n).len();
        Digits { buf, start: start as u8 }
    }
}

impl Deref for Digits {
    type Target = [u8];

    #[inline]
    fn deref(&self) -> &[u8] {
        &self.buf[self.start as usize..]
    }
}

/// Forward iterator over a [`List`], from [`List::iter`] or [`List::iter_from`]. Exact-sized, so LRANGE can
/// write the array header before the elements.
pub struct Iter<'a> {
    nodes: &'a VecDeque<Node>,
    node: usize,
    off: usize,
    remaining: usize,
}

impl<'a> Iter<'a> {
    fn next_item(&mut self) -> Option<Item<'a>> {
        if self.remaining == 0 {
            return None;
        }
        let nodes: &'a VecDeque<Node> = self.nodes;
        let mut n = &nodes[self.node];
        if self.off >= n.buf.len() {
            self.node += 1;
            n = &nodes[self.node];
            self.off = n.start();
        }
        let (item, next) = read_fwd(&n.buf, self.off);
        self.off = next;
        self.remaining -= 1;
        Some(item)
    }

    /// The remaining elements as stored (integers not formatted).
    fn items(mut self) -> impl Iterator<Item = Item<'a>> {
        std::iter::from_fn(move || self.next_item())
    }
}

impl<'a> Iterator for Iter<'a> {
    type Item = Elem<'a>;

    #[inline]
    fn next(&mut self) -> Option<Elem<'a>> {
        self.next_item().map(Elem::from)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl ExactSizeIterator for Iter<'_> {}

/// Backward iterator over a [`List`], from [`List::iter_rev_from`]. Exact-sized.
pub struct RevIter<'a> {
    nodes: &'a VecDeque<Node>,
    node: usize,
    /// End (exclusive) of the next element to yield in `nodes[node]`.
    end: usize,
    remaining: usize,
}

impl<'a> Iterator for RevIter<'a> {
    type Item = Elem<'a>;

    fn next(&mut self) -> Option<Elem<'a>> {
        if self.remaining == 0 {
            return None;
        }
        let nodes: &'a VecDeque<Node> = self.nodes;
        let mut n = &nodes[self.node];
        if self.end <= n.start() {
            self.node -= 1;
            n = &nodes[self.node];
            self.end = n.buf.len();
        }
        self.end = read_back(&n.buf, self.end);
        self.remaining -= 1;
        Some(n.item_at(self.end).into())
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl ExactSizeIterator for RevIter<'_> {}

impl PartialEq for List {
    fn eq(&self, other: &Self) -> bool {
        self.len == other.len && self.iter().items().eq(other.iter().items())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// xorshift64*: deterministic, dependency-free randomness for model tests.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    /// Canonical integers (stored as numbers), including both ends of i64 and the 1/2/3-byte header edges.
    const INTS: &[&str] = &[
        "0",
        "-1",
        "7",
        "31",
        "-32",
        "32",
        "127",
        "128",
        "4095",
        "-4096",
        "12345",
        "-99999",
        "-9223372036854775808",
        "9223372036854775807",
    ];

    /// Strings that look like integers but do not read back byte for byte (or do not fit an i64).
    const NOT_INTS: &[&str] = &[
        "007",
        "+5",
        "-0",
        " 1",
        "1 ",
        "9223372036854775808",
        "-9223372036854775809",
        "-",
        "00",
        "1e3",
        "0x10",
        "-007",
        "18446744073709551616",
    ];

    fn value(rng: &mut Rng, big: bool) -> Vec<u8> {
        let len = match rng.below(100) {
            0..=9 => 0,
            10..=34 => 1,
            35..=59 => 100,
            60..=64 => return INTS[rng.below(INTS.len())].into(),
            65..=69 => return NOT_INTS[rng.below(NOT_INTS.len())].into(),
            70..=73 if big => 20_000,
            74 if big => NODE_BYTES - 4,
            75..=84 => {
                // Any magnitude, sometimes with a leading zero that keeps it a string.
                let n = (rng.next() as i64) >> rng.below(64);
                let zero = if rng.below(8) == 0 { "0" } else { "" };
                return format!("{zero}{n}").into_bytes();
            }
            _ => rng.below(300),
        };
        let b = rng.next() as u8;
        (0..len).map(|i| b.wrapping_add(i as u8)).collect()
    }

    fn assert_same(l: &List, m: &VecDeque<Vec<u8>>) {
        l.check();
        assert_eq!(l.len(), m.len());
        assert!(l.iter().map(|e| e.to_vec()).eq(m.iter().cloned()), "contents differ");
        assert_eq!(l.front().as_deref(), m.front().map(|v| &v[..]));
        assert_eq!(l.back().as_deref(), m.back().map(|v| &v[..]));
    }

    /// Encoded size of `v` in a node.
    fn enc_len(v: &[u8]) -> usize {
        Item::of(v).pack().len
    }

    #[test]
    fn unpop_restores_what_was_popped() {
        let mut l = List::default();
        let mut m = VecDeque::new();
        for i in 0..3000u32 {
            let v: Vec<u8> = (0..i % 50).map(|j| (i + j) as u8).collect();
            l.push_back(&v);
            m.push_back(v);
        }
        for head in [true, false] {
            let popped: Vec<Bytes> =
                (0..1500).map(|_| if head { l.pop_front() } else { l.pop_back() }.expect("an element")).collect();
            l.unpop(&popped, head);
            assert_same(&l, &m);
        }
    }

    #[test]
    fn encoding_roundtrip_and_sizes() {
        // Strings: header `len << 1`, data, back-length of the forward size.
        let x = |n| vec![b'x'; n];
        for (len, size) in [(0, 2), (1, 3), (32, 34), (63, 65), (64, 67), (125, 128), (126, 130), (8191, 8195)] {
            assert_eq!(enc_len(&x(len)), size, "string of {len} bytes");
        }
        // Integers: no data bytes; zigzag puts small magnitudes of either sign in the fewest bytes.
        let ints: &[(i64, usize)] = &[
            (0, 2),
            (7, 2),
            (-1, 2),
            (31, 2),
            (-32, 2),
            (32, 3),
            (127, 3),
            (4095, 3),
            (-4096, 3),
            (4096, 4),
            (12345, 4),
            (-99_999, 4),
            ((1 << 19) - 1, 4),
            (1 << 19, 5),
            ((1 << 61) - 1, 10),
            (-(1 << 61), 10),
            (1 << 61, 11),
            (i64::MAX, 11),
            (i64::MIN, 11),
        ];
        for &(n, size) in ints {
            assert_eq!(Item::of(n.to_string().as_bytes()), Item::Int(n));
            assert_eq!(enc_len(n.to_string().as_bytes()), size, "integer {n}");
        }
        for v in NOT_INTS {
            assert_eq!(Item::of(v.as_bytes()), Item::Str(v.as_bytes()), "{v:?} is not canonical");
        }
        // Every shape reads back forwards and backwards, including 10-byte headers and multi-byte back-lengths.
        let long: Vec<Vec<u8>> = [127, 128, 16383, 16384, 20_000, 3_000_000].into_iter().map(x).collect();
        let values = INTS.iter().chain(NOT_INTS).map(|v| v.as_bytes()).chain(long.iter().map(|v| &v[..]));
        for v in values.chain([&b""[..], b"x"]) {
            let item = Item::of(v);
            let p = item.pack();
            let mut buf = vec![9u8; 3];
            p.append(&mut buf);
            assert_eq!(buf.len(), 3 + p.len);
            assert_eq!(read_fwd(&buf, 3), (item, buf.len()));
            assert_eq!(read_back(&buf, buf.len()), 3);
            let mut w = vec![0u8; p.len];
            p.write(&mut w);
            assert_eq!(&w[..], &buf[3..]);
            assert_eq!(&*Elem::from(item), v);
            assert_eq!(item.to_bytes(), v);
        }
    }

    #[test]
    fn as_compact_as_redis_listpack() {
        // Redis keeps "7" in 2 bytes and a 5-digit id in 4: so do we, without node slack in the way.
        let mut l = List::new();
        for _ in 0..1000 {
            l.push_back(b"7");
        }
        assert_eq!(l.payload_bytes(), 2000);
        // Plus at most the 1.5x growth slack of a partly filled buffer.
        assert!(l.heap_size() <= 3000 + 64, "heap {}", l.heap_size());
        let mut l = List::new();
        for id in 10_000..11_000 {
            l.push_front(id.to_string().as_bytes());
        }
        assert_eq!(l.payload_bytes(), 4000);
        // Across every magnitude, no larger than a listpack entry but for the two documented ranges.
        for k in 0..63 {
            for n in [1i64 << k, (1i64 << k) - 1, -(1i64 << k), 1 - (1i64 << k)] {
                let item = Item::Int(n);
                let extra = usize::from((32..=127).contains(&n) || !(-(1 << 61)..1 << 61).contains(&n));
                assert!(item.pack().len <= item.lp_len() + extra, "{n}: {} vs {}", item.pack().len, item.lp_len());
            }
        }
        for len in (0..20_000).step_by(7).chain([63, 64, 127, 128, 4095, 4096, 16383, 16384]) {
            let v = vec![b'x'; len];
            assert!(enc_len(&v) <= Item::Str(&v).lp_len(), "string of {len} bytes");
        }
    }

    #[test]
    fn push_pop_matches_model() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let mut l = List::new();
        let mut m: VecDeque<Vec<u8>> = VecDeque::new();
        for step in 0..200_000 {
            // Alternate growth and drain phases so lists get long (many nodes) and empty out again.
            let push_pct = if (step / 5_000) % 2 == 0 { 65 } else { 35 };
            let big = rng.below(100) < 5;
            match rng.below(100) {
                x if x < push_pct => {
                    let v = value(&mut rng, big);
                    if rng.below(2) == 0 {
                        l.push_front(&v);
                        m.push_front(v);
                    } else {
                        l.push_back(&v);
                        m.push_back(v);
                    }
                }
                x if x % 2 == 0 => assert_eq!(l.pop_front().as_deref(), m.pop_front().as_deref()),
                _ => assert_eq!(l.pop_back().as_deref(), m.pop_back().as_deref()),
            }
            assert_eq!(l.len(), m.len());
            assert_eq!(l.front().as_deref(), m.front().map(|v| &v[..]));
            assert_eq!(l.back().as_deref(), m.back().map(|v| &v[..]));
            if step % 997 == 0 {
                assert_same(&l, &m);
            }
        }
        assert_same(&l, &m);
        while let Some(v) = m.pop_back() {
            assert_eq!(l.pop_back().as_deref(), Some(&v[..]));
        }
        assert_eq!(l.pop_back(), None);
        assert_eq!(l.pop_front(), None);
        assert_same(&l, &m);
        assert_eq!(l.heap_size(), 0);
    }

    #[test]
    fn single_end_queues_and_stacks() {
        // RPUSH/LPOP, LPUSH/RPOP, LPUSH/LPOP, RPUSH/RPOP at steady sizes around node boundaries.
        for steady in [1, 10, 200, 241, 500, 3000] {
            for mode in 0..4 {
                let mut l = List::new();
                let mut m = VecDeque::new();
                for i in 0..steady * 3 + 2000 {
                    let v = (i as u32).to_le_bytes().repeat(8);
                    if mode < 2 || i < steady || i % 2 == 0 {
                        if mode % 2 == 0 {
                            l.push_back(&v);
                            m.push_back(v);
                        } else {
                            l.push_front(&v);
                            m.push_front(v);
                        }
                    }
                    if m.len() > steady {
                        let (a, b) = match mode {
                            0 | 3 => (l.pop_front(), m.pop_front()),
                            _ => (l.pop_back(), m.pop_back()),
                        };
                        assert_eq!(a.as_deref(), b.as_deref());
                    }
                }
                assert_same(&l, &m);
                assert!(
                    l.heap_size() <= (m.len() * 34 * 2).max(200),
                    "steady {steady} mode {mode}: {l:?} heap {} caps {:?}",
                    l.heap_size(),
                    l.nodes.iter().map(|n| (n.start, n.buf.len(), n.buf.capacity())).collect::<Vec<_>>()
                );
            }
        }
    }

    #[test]
    fn random_access_ops_match_model() {
        let mut rng = Rng(12345);
        for round in 0..40 {
            let mut l = List::new();
            let mut m: VecDeque<Vec<u8>> = VecDeque::new();
            // A small alphabet so that pivots and LREM targets are found; some large values force splits. Integers
            // sit beside look-alikes that are strings ("7" and "007" are different values).
            let alpha: Vec<Vec<u8>> = (0..6)
                .map(|i| match i {
                    0 => vec![],
                    1 => vec![b'a'],
                    2 => vec![b'b'; 40],
                    3 => vec![b'c'; 300],
                    4 => vec![b'd'; 5000],
                    _ => vec![b'e'; 9000],
                })
                .chain(
                    ["7", "007", "-0", "0", "12345", "+5", "-9223372036854775808", "9223372036854775807"]
                        .map(Vec::from),
                )
                .chain(["9223372036854775808", "-9223372036854775809"].map(Vec::from))
                .collect();
            let pick = |rng: &mut Rng| -> Vec<u8> {
                let i = rng.below(100);
                let i = if i < 25 {
                    1
                } else if i < 45 {
                    2
                } else if i < 55 {
                    0
                } else if i < 63 {
                    3
                } else if i < 66 {
                    4
                } else if i < 67 {
                    5
                } else {
                    6 + (i - 67) % (alpha.len() - 6)
                };
                alpha[i].clone()
            };
            let n0 = [0, 1, 50, 700, 3000][round % 5];
            for _ in 0..n0 {
                let v = pick(&mut rng);
                l.push_back(&v);
                m.push_back(v);
            }
            for _ in 0..400 {
                match rng.below(10) {
                    0 | 1 => {
                        let v = pick(&mut rng);
                        let idx = rng.below(m.len() + 1);
                        assert_eq!(l.set(idx, &v), idx < m.len());
                        if idx < m.len() {
                            m[idx] = v;
                        }
                    }
                    2 | 3 => {
                        let pivot = pick(&mut rng);
                        let v = pick(&mut rng);
                        let after = rng.below(2) == 0;
                        let pos = m.iter().position(|x| *x == pivot);
                        assert_eq!(l.insert_at_pivot(&pivot, &v, after), pos.is_some());
                        if let Some(p) = pos {
                            m.insert(p + after as usize, v);
                        }
                    }
                    4 => {
                        let v = pick(&mut rng);
                        let count = rng.below(7) as i64 - 3;
                        let mut expect = 0;
                        let limit = if count == 0 { usize::MAX } else { count.unsigned_abs() as usize };
                        if count >= 0 {
                            let mut i = 0;
                            while i < m.len() {
                                if expect < limit && m[i] == v {
                                    m.remove(i);
                                    expect += 1;
                                } else {
                                    i += 1;
                                }
                            }
                        } else {
                            let mut i = m.len();
                            while i > 0 && expect < limit {
                                i -= 1;
                                if m[i] == v {
                                    m.remove(i);
                                    expect += 1;
                                }
                            }
                        }
                        assert_eq!(l.remove(&v, count), expect);
                    }
                    5 if rng.below(4) == 0 && !m.is_empty() => {
                        let a = rng.below(m.len());
                        let b = a + rng.below(m.len() - a);
                        l.retain_range(a, b);
                        m.truncate(b + 1);
                        m.drain(..a);
                    }
                    6 => {
                        let v = pick(&mut rng);
                        l.push_front(&v);
                        m.push_front(v);
                    }
                    7 => {
                        // LPOS compares elements' bytes.
                        let v = pick(&mut rng);
                        assert_eq!(l.iter().position(|e| *e == v[..]), m.iter().position(|x| *x == v));
                        let rev = l.iter_rev_from(m.len().saturating_sub(1)).position(|e| *e == v[..]);
                        assert_eq!(rev, m.iter().rev().position(|x| *x == v));
                    }
                    _ => {
                        let idx = rng.below(m.len() + 2);
                        assert_eq!(l.get(idx).as_deref(), m.get(idx).map(|v| &v[..]));
                    }
                }
                l.check();
                assert_eq!(l.len(), m.len());
            }
            assert_same(&l, &m);
            for (i, v) in m.iter().enumerate() {
                assert_eq!(l.get(i).as_deref(), Some(&v[..]));
            }
            let c = l.clone();
            assert_same(&c, &m);
            assert!(c == l);
            assert!(c.heap_size() <= l.heap_size());
        }
    }

    #[test]
    fn set_same_size_and_resize() {
        let mut l = List::new();
        for i in 0..1000u32 {
            l.push_back(format!("v{i:05}").as_bytes());
        }
        assert!(l.set(500, b"X0500!"));
        assert_eq!(l.get(500).as_deref(), Some(&b"X0500!"[..]));
        assert!(l.set(0, &[b'z'; 10_000]));
        assert!(l.set(999, b""));
        assert!(!l.set(1000, b"nope"));
        assert_eq!(l.get(0).map(|e| e.len()), Some(10_000));
        assert_eq!(l.get(999).as_deref(), Some(&b""[..]));
        assert!(l.set(0, b"small"));
        l.check();
        assert_eq!(l.get(1).as_deref(), Some(&b"v00001"[..]));
        // Integers and strings of the same encoded size (3 bytes, then 2) replace each other in place.
        assert!(l.set(2, b"127"));
        assert!(l.set(2, b"x"));
        assert!(l.set(2, b"-4096"));
        assert!(l.set(3, b""));
        assert!(l.set(3, b"-1"));
        l.check();
        let got: Vec<Vec<u8>> = l.iter_from(1).take(4).map(|e| e.to_vec()).collect();
        assert_eq!(got, [&b"v00001"[..], b"-4096", b"-1", b"v00004"]);
    }

    #[test]
    fn retain_range_edges() {
        let mk = || {
            let mut l = List::new();
            for i in 0..5000u32 {
                l.push_back(&i.to_be_bytes());
            }
            l
        };
        let nums = |l: &List| l.iter().map(|b| u32::from_be_bytes(b[..].try_into().unwrap())).collect::<Vec<_>>();
        for (a, b) in [(0, 4999), (0, 0), (4999, 4999), (1, 4998), (1234, 3456), (10, 5_000_000)] {
            let mut l = mk();
            l.retain_range(a, b);
            l.check();
            let b = b.min(4999);
            assert_eq!(nums(&l), (a as u32..=b as u32).collect::<Vec<_>>());
        }
        let mut l = mk();
        l.retain_range(3, 2);
        assert!(l.is_empty());
        assert_eq!(l.heap_size(), 0);
        let mut l = mk();
        l.retain_range(5000, 6000);
        assert!(l.is_empty());
        l.check();
    }

    #[test]
    fn iterators_from_every_index() {
        let mut l = List::new();
        let mut m = Vec::new();
        let mut rng = Rng(777);
        for i in 0..3000usize {
            let v = match rng.below(6) {
                5 => INTS[i % INTS.len()].into(),
                k => vec![i as u8; [0, 1, 33, 300, 9000][k]],
            };
            if i % 3 == 0 {
                l.push_front(&v);
                m.insert(0, v);
            } else {
                l.push_back(&v);
                m.push(v);
            }
        }
        assert!(l.node_count() > 10);
        for s in (0..m.len()).step_by(7).chain([m.len() - 1]) {
            let it = l.iter_from(s);
            assert_eq!(it.len(), m.len() - s);
            assert!(it.map(|e| e.to_vec()).eq(m[s..].iter().cloned()), "iter_from({s})");
            let rit = l.iter_rev_from(s);
            assert_eq!(rit.len(), s + 1);
            assert!(rit.map(|e| e.to_vec()).eq(m[..=s].iter().rev().cloned()), "iter_rev_from({s})");
        }
        assert_eq!(l.iter_from(m.len()).next(), None);
        assert_eq!(l.iter_rev_from(m.len()).next(), None);
        assert_eq!(List::new().iter().next(), None);
        assert_eq!(List::new().iter_rev_from(0).next(), None);
    }

    #[test]
    fn node_size_bound_and_big_elements() {
        let mut l = List::new();
        for i in 0..10_000u32 {
            l.push_back(&i.to_le_bytes());
            l.push_front(&[b'x'; 100]);
        }
        l.check();
        for n in &l.nodes {
            assert!(n.live() <= NODE_BYTES && n.buf.capacity() <= NODE_BYTES);
        }
        // A big element gets a node of its own, sized exactly, and comes back without a copy.
        let big = vec![b'B'; 20_000];
        l.push_back(&big);
        assert_eq!(l.nodes.back().unwrap().buf.capacity(), enc_len(&big));
        l.push_back(b"after");
        assert_eq!(l.pop_back().as_deref(), Some(&b"after"[..]));
        let ptr = l.back().unwrap().as_ptr();
        let got = l.pop_back().unwrap();
        assert_eq!(got.as_ptr(), ptr, "large pop should hand over the buffer");
        assert_eq!(got, big);
        l.check();
    }

    #[test]
    fn small_lists_are_small() {
        let mut l = List::new();
        l.push_back(b"x");
        assert!(l.heap_size() < 64, "one 1-byte element: {}", l.heap_size());
        let mut l = List::new();
        l.push_front(&[1u8; 32]);
        assert!(l.heap_size() < 80, "one 32-byte element: {}", l.heap_size());
        assert_eq!(l.node_count(), 1);
        assert_eq!(format!("{l:?}"), "List { len: 1, nodes: 1 }");
        #[cfg(target_pointer_width = "64")]
        assert_eq!(std::mem::size_of::<Node>(), 32);
    }

    #[test]
    fn remove_keeps_nodes_packed_and_is_linear() {
        let mut l = List::new();
        for i in 0..300_000u32 {
            l.push_back(if i % 2 == 0 { b"keep-me-please" } else { b"x" });
        }
        let nodes_before = l.node_count();
        assert_eq!(l.remove(b"keep-me-please", 0), 150_000);
        l.check();
        // 19 bytes per pair became 3: the survivors are merged into about a sixth as many nodes.
        assert!(l.node_count() * 5 <= nodes_before, "{} -> {} nodes", nodes_before, l.node_count());
        assert!(l.heap_size() <= 150_000 * 3 * 5 / 4, "heap {}", l.heap_size());
        assert_eq!(l.remove(b"x", -1), 1);
        assert_eq!(l.remove(b"x", 2), 2);
        assert_eq!(l.remove(b"x", 0), 149_997);
        assert!(l.is_empty());
        l.check();
        assert_eq!(l.heap_size(), 0);
    }

    fn bytes_per_elem(size: usize, front: bool) -> f64 {
        let mut l = List::new();
        let v = vec![b'm'; size];
        for _ in 0..1_000_000 {
            if front {
                l.push_front(&v);
            } else {
                l.push_back(&v);
            }
        }
        l.check();
        l.heap_size() as f64 / l.len() as f64
    }

    #[test]
    fn memory_per_element() {
        for front in [false, true] {
            let b32 = bytes_per_elem(32, front);
            assert!(b32 <= 40.0, "32-byte values: {b32} bytes/element (front: {front})");
            let b1 = bytes_per_elem(1, front);
            assert!(b1 <= 4.5, "1-byte values: {b1} bytes/element (front: {front})");
        }
        // A queue drained from the head gives memory back as it goes.
        let mut l = List::new();
        for _ in 0..100_000 {
            l.push_back(&[0u8; 32]);
        }
        for _ in 0..99_990 {
            l.pop_front();
        }
        assert!(l.heap_size() < 2048, "drained queue keeps {} bytes", l.heap_size());
    }
}
