//! The entries of a stream, packed into nodes keyed by their first ID (our own take on Redis's radix tree of
//! listpacks).
//!
//! Streams used as job queues hold millions of small entries that mostly repeat the same field names, so an entry
//! is stored as a few bytes of ID delta plus its values, and the names once per node. Nodes sit in a
//! `BTreeMap` keyed by their *master ID*, the ID of the first entry ever appended to them; an ID is found in the
//! node with the greatest key at most that ID, in O(log nodes + node size).
//!
//! Node layout: `buf = header ++ entry*`, every length and number a LEB128 varint.
//! - `header` is the node's *master fields*, the field names of its first entry: `count ++ (len ++ bytes)*`.
//!   It stays when that entry is deleted, so later entries may keep referring to it.
//! - an entry is `flags ++ ms_delta ++ seq ++ fields`. `flags` holds `DELETED` and `SAME_FIELDS`. `ms_delta` is
//!   the ID's ms minus the master's; `seq` is the sequence minus the master's when `ms_delta` is 0, and the raw
//!   sequence otherwise (both are then exact for any u64). `fields` is the values alone, `(len ++ bytes)*`, when
//!   the names equal the master fields in order (`SAME_FIELDS`), else `count ++ (len ++ name ++ len ++ value)*`.
//!
//! A two-pair entry with 16-byte values and the master's names, a few ms after the master, costs 37 bytes
//! (44 in a Redis listpack, which adds a back-length to every element and a count to every entry). There is no
//! back-link here: reverse iteration decodes a node forward once, collecting offsets, which is cheap because nodes
//! are small. `max_bytes` is measured on this encoding, so byte-limited nodes hold a few more entries than Redis's;
//! entry-limited nodes split exactly where Redis's do.
//!
//! Invariants:
//! - every entry of a node has an ID at least the node's key and at most `last`, and below the next node's key;
//!   `last` is the last ID ever appended to the node, deleted or not (Redis's last listpack entry, which MINID
//!   trimming looks at);
//! - a node has at least one live entry (a node whose last live entry goes is dropped), and fewer deleted entries
//!   than live ones: reaching as many rewrites it without them, so deletions pin at most half a node;
//! - `added` counts every entry ever appended to the node, including those since compacted away, so a node fills
//!   up after `max_entries` appends exactly as a Redis listpack does (whose deleted entries stay in place), and
//!   approximate trimming keeps the same lengths as Redis;
//! - only the last node takes appends; every other node's buffer is exact-sized (shrunk when it is closed or
//!   rewritten), and the last node's grows by half at a time, never past `max_bytes` unless one entry needs more;
//! - `len` is the sum of the nodes' `live`.

use std::collections::{btree_map, BTreeMap};
use std::fmt;

use super::StreamId;
use bytes::Bytes;

/// How full a node may grow before a new one is started: Redis's `stream-node-max-entries` (counting entries
/// deleted but still in the node) and `stream-node-max-bytes` (0 = no limit for either).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NodeLimits {
    pub max_entries: usize,
    pub max_bytes: usize,
}

impl Default for NodeLimits {
    fn default() -> Self {
        NodeLimits { max_entries: 100, max_bytes: 4096 }
    }
}

/// What a trim keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrimTo {
    /// At most this many entries.
    MaxLen(usize),
    /// No entry with an ID below this one.
    MinId(StreamId),
}

/// Entry flag: deleted by XDEL or an exact trim, still in the buffer until the node is rewritten.
const DELETED: u8 = 1;

/// Entry flag: the field names are the node's master fields, so only the values are stored.
const SAME_FIELDS: u8 = 2;

/// Node size cap when `max_bytes` is 0, as Redis's `STREAM_LISTPACK_MAX_SIZE`: keeps one node's scan bounded and
/// its counters within `u32`.
const MAX_NODE_BYTES: usize = 1 << 30;

/// Smallest step a growing node's buffer takes: below this, malloc rounds up anyway.
const MIN_GROW: usize = 64;

/// Bytes taken by the LEB128 encoding of `n`.
#[inline]
fn varint_len(mut n: u64) -> usize {
    let mut l = 1;
    while n >= 0x80 {
        n >>= 7;
        l += 1;
    }
    l
}

#[inline]
fn put_varint(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// Reads the LEB128 value at `*off` and moves `*off` past it.
#[inline]
fn read_varint(buf: &[u8], off: &mut usize) -> u64 {
    let mut v = 0u64;
    let mut shift = 0;
    loop {
        let b = buf[*off];
        *off += 1;
        v |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return v;
        }
        shift += 7;
    }
}

/// Reads a length-prefixed string at `*off` and moves `*off` past it.
#[inline]
fn read_str<'a>(buf: &'a [u8], off: &mut usize) -> &'a [u8] {
    let len = read_varint(buf, off) as usize;
    let s = &buf[*off..*off + len];
    *off += len;
    s
}

#[inline]
fn str_len(s: &[u8]) -> usize {
    varint_len(s.len() as u64) + s.len()
}

#[inline]
fn put_str(out: &mut Vec<u8>, s: &[u8]) {
    put_varint(out, s.len() as u64);
    out.extend_from_slice(s);
}

/// The two ID numbers stored for `id` in a node whose master is `master` (see the module comment).
#[inline]
fn id_delta(id: StreamId, master: StreamId) -> (u64, u64) {
    let ms = id.ms - master.ms;
    (ms, if ms == 0 { id.seq - master.seq } else { id.seq })
}

/// Encoded size of an entry; `fields` is the flat name/value list.
fn entry_size(id: StreamId, master: StreamId, fields: &[Bytes], same: bool) -> usize {
    let (ms, seq) = id_delta(id, master);
    let mut size = 1 + varint_len(ms) + varint_len(seq);
    if same {
        size += fields.iter().skip(1).step_by(2).map(|v| str_len(v)).sum::<usize>();
    } else {
        size += varint_len((fields.len() / 2) as u64) + fields.iter().map(|f| str_len(f)).sum::<usize>();
    }
    size
}

fn put_entry(out: &mut Vec<u8>, id: StreamId, master: StreamId, fields: &[Bytes], same: bool) {
    let (ms, seq) = id_delta(id, master);
    out.push(if same { SAME_FIELDS } else { 0 });
    put_varint(out, ms);
    put_varint(out, seq);
    if same {
        fields.iter().skip(1).step_by(2).for_each(|v| put_str(out, v));
    } else {
        put_varint(out, (fields.len() / 2) as u64);
        fields.iter().for_each(|f| put_str(out, f));
    }
}

/// One packed run of entries; its master ID is its key in the map.
#[derive(Clone)]
struct Node {
    /// The master fields, then the entries (see the module comment).
    buf: Vec<u8>,
    /// The last ID appended, deleted or not.
    last: StreamId,
    /// Entries not deleted.
    live: u32,
    /// Entries flagged deleted and still in `buf`.
    deleted: u32,
    /// Entries ever appended, for the `max_entries` limit.
    added: u32,
}

/// An entry's place in a node, as decoded by a `Cursor`.
#[derive(Clone, Copy)]
struct Raw {
    /// Offset of its flags byte.
    at: usize,
    flags: u8,
    id: StreamId,
    /// Offset of its fields (the values, or the pair count when it has its own names).
    body: usize,
    /// Offset just past it.
    end: usize,
}

impl Raw {
    #[inline]
    fn live(&self) -> bool {
        self.flags & DELETED == 0
    }
}

/// Walks a node's entries forward, deleted ones included.
#[derive(Clone)]
struct Cursor<'a> {
    buf: &'a [u8],
    master: StreamId,
    /// Number of master fields: how many values a `SAME_FIELDS` entry has.
    master_n: usize,
    /// Offset of the next entry.
    off: usize,
}

impl<'a> Cursor<'a> {
    /// Decodes the entry at `at`.
    fn decode(&self, at: usize) -> Raw {
        let buf = self.buf;
        let flags = buf[at];
        let mut off = at + 1;
        let ms = read_varint(buf, &mut off);
        let seq = read_varint(buf, &mut off);
        let id = if ms == 0 {
            StreamId { ms: self.master.ms, seq: self.master.seq + seq }
        } else {
            StreamId { ms: self.master.ms + ms, seq }
        };
        let body = off;
        let strings = if flags & SAME_FIELDS != 0 { self.master_n } else { 2 * read_varint(buf, &mut off) as usize };
        for _ in 0..strings {
            let len = read_varint(buf, &mut off) as usize;
            off += len;
        }
        Raw { at, flags, id, body, end: off }
    }

    fn entry(&self, raw: Raw) -> EntryRef<'a> {
        EntryRef { id: raw.id, buf: self.buf, body: raw.body, same: raw.flags & SAME_FIELDS != 0 }
    }
}

impl Iterator for Cursor<'_> {
    type Item = Raw;

    fn next(&mut self) -> Option<Raw> {
        if self.off >= self.buf.len() {
            return None;
        }
        let raw = self.decode(self.off);
        self.off = raw.end;
        Some(raw)
    }
}

impl Node {
    /// A node whose master is `id`, holding just that entry, in an exact-sized buffer.
    fn new(id: StreamId, fields: &[Bytes]) -> Node {
        let names = fields.iter().step_by(2);
        let head = varint_len((fields.len() / 2) as u64) + names.clone().map(|f| str_len(f)).sum::<usize>();
        let mut buf = Vec::with_capacity(head + entry_size(id, id, fields, true));
        put_varint(&mut buf, (fields.len() / 2) as u64);
        names.for_each(|f| put_str(&mut buf, f));
        put_entry(&mut buf, id, id, fields, true);
        Node { buf, last: id, live: 1, deleted: 0, added: 1 }
    }

    /// A cursor at the first entry; `master` is this node's key.
    fn cursor(&self, master: StreamId) -> Cursor<'_> {
        let mut off = 0;
        let master_n = read_varint(&self.buf, &mut off) as usize;
        for _ in 0..master_n {
            read_str(&self.buf, &mut off);
        }
        Cursor { buf: &self.buf, master, master_n, off }
    }

    /// Whether `fields` has exactly the master fields' names, in order.
    fn same_as_master(&self, fields: &[Bytes]) -> bool {
        let mut off = 0;
        if read_varint(&self.buf, &mut off) as usize != fields.len() / 2 {
            return false;
        }
        fields.iter().step_by(2).all(|f| read_str(&self.buf, &mut off) == &f[..])
    }

    /// Appends an entry of encoded size `size`, growing the buffer by half (at least `MIN_GROW`) but never past
    /// `max_bytes` unless the entry itself needs it.
    fn append(&mut self, id: StreamId, master: StreamId, fields: &[Bytes], same: bool, size: usize, max_bytes: usize) {
        let need = self.buf.len() + size;
        if need > self.buf.capacity() {
            let grown = (self.buf.capacity() + (self.buf.capacity() / 2).max(MIN_GROW)).min(max_bytes);
            self.buf.reserve_exact(grown.max(need) - self.buf.len());
        }
        put_entry(&mut self.buf, id, master, fields, same);
        self.last = id;
        self.live += 1;
        self.added += 1;
    }

    /// Flags the entry at `at` deleted; it must be live.
    fn mark_deleted(&mut self, at: usize) {
        self.buf[at] |= DELETED;
        self.live -= 1;
        self.deleted += 1;
    }

    /// Rewrites the buffer without the deleted entries, exact-sized. The master fields stay: the remaining
    /// entries may refer to them, and their ID deltas stay relative to the unchanged key.
    fn compact(&mut self, master: StreamId) {
        let cursor = self.cursor(master);
        let head = cursor.off;
        let size = head + cursor.clone().filter(Raw::live).map(|r| r.end - r.at).sum::<usize>();
        let mut buf = Vec::with_capacity(size);
        buf.extend_from_slice(&self.buf[..head]);
        for r in cursor.filter(Raw::live) {
            buf.extend_from_slice(&self.buf[r.at..r.end]);
        }
        self.buf = buf;
        self.deleted = 0;
    }
}

/// The live entries of one stream, in ID order.
#[derive(Default, Clone)]
pub struct Entries {
    /// Nodes by master ID.
    nodes: BTreeMap<StreamId, Node>,
    /// Live entries in all nodes.
    len: usize,
}

/// One entry as read from a node: its ID and its field/value pairs, decoded lazily.
#[derive(Clone, Copy)]
pub struct EntryRef<'a> {
    pub id: StreamId,
    /// The node's buffer: the master fields are at its start.
    buf: &'a [u8],
    /// Offset of the entry's fields.
    body: usize,
    /// Whether the names are the master fields.
    same: bool,
}

impl<'a> EntryRef<'a> {
    /// Number of field/value pairs.
    pub fn pairs(&self) -> usize {
        let mut off = if self.same { 0 } else { self.body };
        read_varint(self.buf, &mut off) as usize
    }

    /// The field/value pairs in the order they were added.
    pub fn fields(&self) -> impl Iterator<Item = (&'a [u8], &'a [u8])> + 'a {
        let mut off = if self.same { 0 } else { self.body };
        let left = read_varint(self.buf, &mut off) as usize;
        let values = if self.same { self.body } else { off };
        Fields { buf: self.buf, names: off, values, left, same: self.same }
    }
}

impl fmt::Debug for EntryRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {{", self.id)?;
        for (i, (name, value)) in self.fields().enumerate() {
            let sep = if i == 0 { " " } else { ", " };
            write!(f, "{sep}\"{}\": \"{}\"", name.escape_ascii(), value.escape_ascii())?;
        }
        write!(f, " }}")
    }
}

/// The pairs of one entry. With the master's names, `names` walks the node header and `values` the entry's
/// values; otherwise `values` walks the entry's own names and values in turn, and `names` is unused.
struct Fields<'a> {
    buf: &'a [u8],
    names: usize,
    values: usize,
    left: usize,
    same: bool,
}

impl<'a> Iterator for Fields<'a> {
    type Item = (&'a [u8], &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        if self.same {
            let name = read_str(self.buf, &mut self.names);
            Some((name, read_str(self.buf, &mut self.values)))
        } else {
            let name = read_str(self.buf, &mut self.values);
            Some((name, read_str(self.buf, &mut self.values)))
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

/// Ascending iteration over `start..=end`.
struct Range<'a> {
    nodes: btree_map::Range<'a, StreamId, Node>,
    cur: Option<Cursor<'a>>,
    start: StreamId,
    end: StreamId,
}

impl<'a> Iterator for Range<'a> {
    type Item = EntryRef<'a>;

    fn next(&mut self) -> Option<EntryRef<'a>> {
        loop {
            if let Some(cur) = &mut self.cur {
                match cur.next() {
                    Some(raw) if raw.id > self.end => {
                        self.cur = None;
                        self.nodes = Default::default();
                        return None;
                    }
                    Some(raw) if raw.live() && raw.id >= self.start => return Some(cur.entry(raw)),
                    Some(_) => continue,
                    None => self.cur = None,
                }
            }
            let (&master, node) = self.nodes.next()?;
            if node.last >= self.start {
                self.cur = Some(node.cursor(master));
            }
        }
    }
}

/// Descending iteration over `start..=end`: each node is decoded forward once, collecting the offsets of the
/// entries in range, which are then handed out last first.
struct RevRange<'a> {
    nodes: btree_map::Range<'a, StreamId, Node>,
    cur: Option<Cursor<'a>>,
    /// Offsets in `cur`'s node still to hand out, the next one last.
    offsets: Vec<usize>,
    start: StreamId,
    end: StreamId,
}

impl<'a> Iterator for RevRange<'a> {
    type Item = EntryRef<'a>;

    fn next(&mut self) -> Option<EntryRef<'a>> {
        loop {
            if let (Some(cur), Some(at)) = (&self.cur, self.offsets.pop()) {
                return Some(cur.entry(cur.decode(at)));
            }
            let (&master, node) = self.nodes.next_back()?;
            if node.last < self.start {
                // Every earlier node is below `start` too.
                self.nodes = Default::default();
                return None;
            }
            let cur = node.cursor(master);
            let (start, end) = (self.start, self.end);
            let in_range = cur.clone().take_while(|r| r.id <= end).filter(|r| r.live() && r.id >= start);
            self.offsets.extend(in_range.map(|r| r.at));
            self.cur = Some(cur);
        }
    }
}

impl Entries {
    /// Live entries.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends an entry. `fields` is the flat list `field, value, field, value...` (at least one pair); `id` is
    /// greater than every ID ever pushed (the caller checks).
    pub fn push(&mut self, id: StreamId, fields: &[Bytes], limits: NodeLimits) {
        debug_assert!(fields.len() >= 2 && fields.len().is_multiple_of(2), "odd or empty field list");
        let max_bytes = if limits.max_bytes == 0 { MAX_NODE_BYTES } else { limits.max_bytes.min(MAX_NODE_BYTES) };
        let max_entries = if limits.max_entries == 0 { u32::MAX as usize } else { limits.max_entries };
        self.len += 1;
        if let Some(mut tail) = self.nodes.last_entry() {
            let master = *tail.key();
            let node = tail.get_mut();
            debug_assert!(id > node.last, "push of {id} after {}", node.last);
            if (node.added as usize) < max_entries {
                let same = node.same_as_master(fields);
                let size = entry_size(id, master, fields, same);
                if node.buf.len() + size <= max_bytes {
                    node.append(id, master, fields, same, size, max_bytes);
                    if node.added as usize >= max_entries {
                        node.buf.shrink_to_fit();
                    }
                    return;
                }
            }
            // The tail is closed for good: drop its spare room.
            node.buf.shrink_to_fit();
        }
        self.nodes.insert(id, Node::new(id, fields));
    }

    /// The node that would hold `id`, with its key.
    fn node_of(&self, id: StreamId) -> Option<(StreamId, &Node)> {
        self.nodes.range(..=id).next_back().map(|(&k, n)| (k, n)).filter(|(_, n)| n.last >= id)
    }

    /// The live entry with this ID.
    pub fn get(&self, id: StreamId) -> Option<EntryRef<'_>> {
        let (master, node) = self.node_of(id)?;
        let cur = node.cursor(master);
        let raw = cur.clone().take_while(|r| r.id <= id).find(|r| r.id == id && r.live())?;
        Some(cur.entry(raw))
    }

    /// The nodes that may hold IDs in `start..=end`: from the one holding `start` (or the first) on, none past
    /// `end`; nothing when `start > end`.
    fn nodes_for(&self, start: StreamId, end: StreamId) -> btree_map::Range<'_, StreamId, Node> {
        if start > end {
            return Default::default();
        }
        let from = self.nodes.range(..=start).next_back().map_or(StreamId::MIN, |(&k, _)| k);
        self.nodes.range(from..=end)
    }

    /// Live entries with `start <= id <= end`, ascending.
    pub fn range(&self, start: StreamId, end: StreamId) -> impl Iterator<Item = EntryRef<'_>> + '_ {
        Range { nodes: self.nodes_for(start, end), cur: None, start, end }
    }

    /// Live entries with `start <= id <= end`, descending (from `end`).
    pub fn range_rev(&self, start: StreamId, end: StreamId) -> impl Iterator<Item = EntryRef<'_>> + '_ {
        RevRange { nodes: self.nodes_for(start, end), cur: None, offsets: Vec::new(), start, end }
    }

    pub fn first(&self) -> Option<EntryRef<'_>> {
        self.range(StreamId::MIN, StreamId::MAX).next()
    }

    pub fn last(&self) -> Option<EntryRef<'_>> {
        self.range_rev(StreamId::MIN, StreamId::MAX).next()
    }

    /// The last live entry's ID. While nothing left the tail node that is the node's last ID, known without
    /// decoding anything: readers ask on every read and every wake.
    pub fn last_id(&self) -> Option<StreamId> {
        let (_, tail) = self.nodes.last_key_value()?;
        if tail.live == tail.added {
            return Some(tail.last);
        }
        self.last().map(|e| e.id)
    }

    /// Deletes a live entry; false when there is none with this ID.
    pub fn delete(&mut self, id: StreamId) -> bool {
        let Some((master, node)) = self.node_of(id) else { return false };
        let found = node.cursor(master).take_while(|r| r.id <= id).find(|r| r.id == id && r.live());
        let Some(raw) = found else { return false };
        let node = self.nodes.get_mut(&master).expect("node just found");
        node.mark_deleted(raw.at);
        self.len -= 1;
        self.tidy(master);
        true
    }

    /// Restores the node invariants after entries of the node keyed `master` were flagged deleted: drops it
    /// when none is live, rewrites it when as many are deleted as live.
    fn tidy(&mut self, master: StreamId) {
        let node = self.nodes.get_mut(&master).expect("node to tidy");
        if node.live == 0 {
            self.nodes.remove(&master);
        } else if node.deleted >= node.live {
            node.compact(master);
        }
    }

    /// Removes entries from the front until `to` holds, as Redis's XTRIM/XADD trimming does, and returns how many
    /// it removed. `approx` (`~`) removes whole nodes only, and stops at the first node it cannot remove whole;
    /// `limit` (0 = none) caps the entries removed, counted by node (a node that would pass it is kept).
    ///
    /// This is Redis 7.4's `streamTrim` step for step, so that `~` trims leave the same lengths: the limit is
    /// checked against each node's live count before anything else (Redis only accepts a limit with `~`), and
    /// MINID removes a node whole when its last ID ever appended is below the threshold.
    pub fn trim(&mut self, to: TrimTo, approx: bool, limit: usize) -> usize {
        let mut removed = 0;
        while let Some(mut first) = self.nodes.first_entry() {
            if let TrimTo::MaxLen(max) = to {
                if self.len <= max {
                    break;
                }
            }
            let master = *first.key();
            let node = first.get_mut();
            let live = node.live as usize;
            if limit != 0 && removed + live > limit {
                break;
            }
            let whole = match to {
                TrimTo::MaxLen(max) => self.len - live >= max,
                TrimTo::MinId(min) => node.last < min,
            };
            if whole {
                first.remove();
                self.len -= live;
                removed += live;
                continue;
            }
            if approx {
                break;
            }
            // Flag entries from the front of this node until the condition holds; it holds within the node.
            let mut flag = Vec::new();
            for raw in node.cursor(master) {
                let done = match to {
                    TrimTo::MaxLen(max) => self.len - flag.len() <= max,
                    TrimTo::MinId(min) => raw.id >= min,
                };
                if done {
                    break;
                }
                if raw.live() {
                    flag.push(raw.at);
                }
            }
            for &at in &flag {
                node.mark_deleted(at);
            }
            self.len -= flag.len();
            removed += flag.len();
            self.tidy(master);
            break;
        }
        removed
    }

    /// Number of nodes (XINFO STREAM's radix-tree-keys).
    pub fn nodes(&self) -> usize {
        self.nodes.len()
    }

    /// Heap bytes owned, for MEMORY USAGE: the node buffers, plus the map's share per node, estimated as its key
    /// and value at two thirds occupancy of the B-tree's leaves plus a word of leaf header.
    pub fn heap_size(&self) -> usize {
        let per_node = (std::mem::size_of::<StreamId>() + std::mem::size_of::<Node>()) * 3 / 2 + 8;
        self.nodes.values().map(|n| n.buf.capacity() + per_node).sum()
    }

    /// Checks every module invariant; panics on violation. For tests.
    #[cfg(test)]
    fn check(&self) {
        let mut total = 0;
        let mut prev_last: Option<StreamId> = None;
        let tail = self.nodes.keys().next_back().copied();
        for (&master, node) in &self.nodes {
            if let Some(p) = prev_last {
                assert!(p < master, "node {master} starts at or before the previous node's last {p}");
            }
            let (mut live, mut deleted, mut prev) = (0, 0, None);
            let mut cur = node.cursor(master);
            for raw in cur.by_ref() {
                assert!(
                    raw.id >= master && raw.id <= node.last,
                    "entry {} outside node {master}..={}",
                    raw.id,
                    node.last
                );
                assert!(prev.is_none_or(|p| p < raw.id), "entries out of order at {}", raw.id);
                prev = Some(raw.id);
                if raw.live() {
                    live += 1;
                } else {
                    deleted += 1;
                }
            }
            assert_eq!(cur.off, node.buf.len(), "entries overrun the buffer");
            assert_eq!((live, deleted), (node.live, node.deleted), "node {master} counters");
            assert!(live > 0, "empty node {master} kept");
            assert!(deleted < live, "node {master}: {deleted} deleted, {live} live");
            assert!(node.added >= live + deleted);
            if Some(master) != tail {
                assert_eq!(node.buf.capacity(), node.buf.len(), "closed node {master} keeps spare room");
            }
            total += live as usize;
            prev_last = Some(node.last);
        }
        assert_eq!(total, self.len, "len");
    }
}

impl fmt::Debug for Entries {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Entries").field("len", &self.len).field("nodes", &self.nodes.len()).finish()
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

    type Pairs = Vec<(Vec<u8>, Vec<u8>)>;

    /// What the entries should hold: every live entry with its pairs.
    type Model = BTreeMap<StreamId, Pairs>;

    fn id(ms: u64, seq: u64) -> StreamId {
        StreamId::new(ms, seq)
    }

    fn flat(pairs: &Pairs) -> Vec<Bytes> {
        pairs.iter().flat_map(|(f, v)| [Bytes::copy_from_slice(f), Bytes::copy_from_slice(v)]).collect()
    }

    fn owned(e: EntryRef<'_>) -> (StreamId, Pairs) {
        assert_eq!(e.pairs(), e.fields().count(), "pairs() of {}", e.id);
        (e.id, e.fields().map(|(f, v)| (f.to_vec(), v.to_vec())).collect())
    }

    fn two_pairs(a: &[u8], b: &[u8]) -> Vec<Bytes> {
        vec![Bytes::from_static(b"f1"), Bytes::copy_from_slice(a), Bytes::from_static(b"f2"), Bytes::copy_from_slice(b)]
    }

    /// Every entry, both ways, against the model, and the invariants.
    fn assert_same(e: &Entries, model: &Model) {
        e.check();
        assert_eq!(e.len(), model.len());
        let got: Vec<_> = e.range(StreamId::MIN, StreamId::MAX).map(owned).collect();
        let want: Vec<_> = model.iter().map(|(k, v)| (*k, v.clone())).collect();
        assert_eq!(got, want);
        let got_rev: Vec<_> = e.range_rev(StreamId::MIN, StreamId::MAX).map(owned).collect();
        assert_eq!(got_rev, want.into_iter().rev().collect::<Vec<_>>());
        assert_eq!(e.first().map(|x| x.id), model.keys().next().copied());
        assert_eq!(e.last().map(|x| x.id), model.keys().next_back().copied());
        assert_eq!(e.last_id(), model.keys().next_back().copied());
    }

    /// An ID above `last`, with the gaps streams see: the next ms, the next sequence, sequences at the top of
    /// u64, jumps of up to 2^40 ms and, rarely, to the last ms there is. The first ID is `first_ms` or a little
    /// above. None when `last` is the maximum.
    fn next_id(rng: &mut Rng, last: Option<StreamId>, first_ms: u64) -> Option<StreamId> {
        let Some(last) = last else { return Some(id(first_ms + rng.below(1000) as u64, rng.next() % 3)) };
        let seq = match rng.below(8) {
            0 => u64::MAX,
            1 => rng.next() % 1000,
            _ => 0,
        };
        let candidate = match rng.below(20) {
            0..=9 => last.ms.checked_add(1 + rng.below(3) as u64).map(|ms| id(ms, seq)),
            10..=15 => last.next(),
            16 => last.ms.checked_add(1 + rng.next() % (1 << 40)).map(|ms| id(ms, seq)),
            17 => (last.seq < u64::MAX - 3).then(|| id(last.ms, u64::MAX - rng.below(3) as u64)),
            18 if rng.below(5000) == 0 => {
                Some(id(u64::MAX - rng.below(2) as u64, rng.next() % 2)).filter(|&x| x > last)
            }
            _ => last.ms.checked_add(1).map(|ms| id(ms, u64::MAX)),
        };
        candidate.or_else(|| last.next())
    }

    fn gen_value(rng: &mut Rng) -> Vec<u8> {
        let len = match rng.below(10) {
            0 => 0,
            1 => 100 + rng.below(200),
            _ => rng.below(20),
        };
        (0..len).map(|_| rng.next() as u8).collect()
    }

    /// Mostly the same names (so most entries share their node's master fields), sometimes other names, orders
    /// and counts, with empty names and repeated names now and then.
    fn gen_pairs(rng: &mut Rng) -> Pairs {
        const NAMES: &[&[u8]] = &[b"f1", b"f2", b"", b"name", b"a-longer-field-name"];
        let names: Vec<&[u8]> = match rng.below(8) {
            0..=3 => vec![b"f1", b"f2"],
            4 => vec![b"f1"],
            5 => vec![b"f2", b"f1"],
            _ => (0..1 + rng.below(4)).map(|_| NAMES[rng.below(NAMES.len())]).collect(),
        };
        names.into_iter().map(|n| (n.to_vec(), gen_value(rng))).collect()
    }

    /// An ID to look up or trim at: existing ones and their neighbours, the ends, or anything.
    fn gen_bound(rng: &mut Rng, model: &Model) -> StreamId {
        let pick = |rng: &mut Rng| model.keys().nth(rng.below(model.len().max(1))).copied();
        let near = |rng: &mut Rng| {
            let (lo, hi) = (model.keys().next()?.ms.saturating_sub(2), model.keys().next_back()?.ms.saturating_add(2));
            Some(id(lo + rng.next() % (hi - lo).saturating_add(1).max(1), rng.next() % 3))
        };
        let got = match rng.below(10) {
            0..=3 => pick(rng),
            4 => pick(rng).and_then(StreamId::prev),
            5 => pick(rng).and_then(StreamId::next),
            6 => Some(StreamId::MIN),
            7 => Some(StreamId::MAX),
            8 => near(rng),
            _ => Some(id(rng.next(), rng.next())),
        };
        got.unwrap_or(id(rng.next() % 100, 0))
    }

    /// A MAXLEN threshold: mostly a trim of up to an eighth, now and then anything.
    fn trim_len(rng: &mut Rng, model: &Model) -> usize {
        match rng.below(8) {
            0 => rng.below(model.len() + 3),
            _ => (model.len() + 2).saturating_sub(rng.below(model.len() / 8 + 3)),
        }
    }

    /// A MINID threshold: mostly within the oldest eighth, now and then anything.
    fn trim_id(rng: &mut Rng, model: &Model) -> StreamId {
        match model.keys().nth(rng.below(model.len() / 8 + 1)) {
            Some(&k) if rng.below(8) != 0 => [Some(k), k.next(), k.prev()][rng.below(3)].unwrap_or(k),
            _ => gen_bound(rng, model),
        }
    }

    /// Node metadata, first node first: what an approximate trim may touch only as wholes.
    fn node_list(e: &Entries) -> Vec<(StreamId, usize, StreamId)> {
        e.nodes.iter().map(|(&k, n)| (k, n.live as usize, n.last)).collect()
    }

    /// How many entries an approximate trim removes by the rules of Redis's `streamTrim`, from the nodes alone.
    fn approx_removes(nodes: &[(StreamId, usize, StreamId)], mut len: usize, to: TrimTo, limit: usize) -> usize {
        let mut removed = 0;
        for &(_, live, last) in nodes {
            if matches!(to, TrimTo::MaxLen(max) if len <= max) || (limit != 0 && removed + live > limit) {
                break;
            }
            let whole = match to {
                TrimTo::MaxLen(max) => len - live >= max,
                TrimTo::MinId(min) => last < min,
            };
            if !whole {
                break;
            }
            len -= live;
            removed += live;
        }
        removed
    }

    fn run_model(limits: NodeLimits, seed: u64, ops: usize) {
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
        let mut e = Entries::default();
        let mut model = Model::new();
        let mut last = None;
        // One run in six starts near the top of the ID space, and there runs out of IDs.
        let first_ms = if seed.is_multiple_of(6) { u64::MAX - 5000 } else { 0 };
        for step in 0..ops {
            // Alternate phases of growth and of mixed work, so that streams span many nodes of every size.
            let growing = (step / 1000) % 2 == 0;
            let what = if growing && rng.below(4) != 0 { 0 } else { rng.below(100) };
            let ctx = format!("limits {limits:?} seed {seed} step {step} op {what}");
            match what {
                0..=49 => {
                    let Some(next) = next_id(&mut rng, last, first_ms) else { continue };
                    let pairs = gen_pairs(&mut rng);
                    e.push(next, &flat(&pairs), limits);
                    model.insert(next, pairs);
                    last = Some(next);
                }
                50..=59 if !model.is_empty() => {
                    let k = *model.keys().nth(rng.below(model.len())).unwrap();
                    assert!(e.delete(k), "{ctx}: delete {k}");
                    model.remove(&k);
                }
                50..=63 => {
                    let k = gen_bound(&mut rng, &model);
                    assert_eq!(e.delete(k), model.remove(&k).is_some(), "{ctx}: delete {k}");
                }
                64..=67 => {
                    let max = trim_len(&mut rng, &model);
                    let want = model.len().saturating_sub(max);
                    assert_eq!(e.trim(TrimTo::MaxLen(max), false, 0), want, "{ctx}: MAXLEN {max}");
                    (0..want).for_each(|_| drop(model.pop_first()));
                }
                68..=70 => {
                    let min = trim_id(&mut rng, &model);
                    let want = model.range(..min).count();
                    assert_eq!(e.trim(TrimTo::MinId(min), false, 0), want, "{ctx}: MINID {min}");
                    model = model.split_off(&min);
                }
                71..=77 => {
                    let to = if rng.below(2) == 0 {
                        TrimTo::MaxLen(trim_len(&mut rng, &model))
                    } else {
                        TrimTo::MinId(trim_id(&mut rng, &model))
                    };
                    // Exact trims with a limit (which Redis's parser refuses) only need to stay consistent.
                    let exact = what >= 76;
                    let limit = if !exact && rng.below(2) == 0 { 0 } else { 1 + rng.below(300) };
                    let before = node_list(&e);
                    let removed = e.trim(to, !exact, limit);
                    (0..removed).for_each(|_| drop(model.pop_first()));
                    if !exact {
                        assert_eq!(removed, approx_removes(&before, e.len() + removed, to, limit), "{ctx}: ~ {to:?}");
                        let after = node_list(&e);
                        assert_eq!(after[..], before[before.len() - after.len()..], "{ctx}: ~ {to:?} cut into a node");
                    }
                }
                _ => {
                    let (a, b) = (gen_bound(&mut rng, &model), gen_bound(&mut rng, &model));
                    let got = e.get(a).map(owned);
                    assert_eq!(got, model.get(&a).map(|p| (a, p.clone())), "{ctx}: get {a}");
                    let take = if rng.below(3) == 0 { rng.below(5) } else { usize::MAX };
                    let want: Vec<_> =
                        if a <= b { model.range(a..=b).take(take).map(|(k, _)| *k).collect() } else { Vec::new() };
                    let got: Vec<_> = e.range(a, b).take(take).map(|x| x.id).collect();
                    assert_eq!(got, want, "{ctx}: range {a} {b}");
                    let want: Vec<_> = if a <= b {
                        model.range(a..=b).rev().take(take).map(|(k, _)| *k).collect()
                    } else {
                        Vec::new()
                    };
                    let got: Vec<_> = e.range_rev(a, b).take(take).map(|x| x.id).collect();
                    assert_eq!(got, want, "{ctx}: range_rev {a} {b}");
                }
            }
            assert_eq!(e.len(), model.len(), "{ctx}");
            e.check();
            if step % 50 == 0 {
                assert_same(&e, &model);
            }
        }
        assert_same(&e, &model);
    }

    #[test]
    fn matches_a_model() {
        let limits = [
            NodeLimits { max_entries: 3, max_bytes: 64 },
            NodeLimits { max_entries: 3, max_bytes: 0 },
            NodeLimits { max_entries: 0, max_bytes: 64 },
            NodeLimits { max_entries: 1, max_bytes: 0 },
            NodeLimits::default(),
            NodeLimits { max_entries: 0, max_bytes: 0 },
        ];
        for limits in limits {
            for seed in 1..=6 {
                run_model(limits, seed, 6000);
            }
        }
    }

    /// The figures of Redis's own tests ("XADD with LIMIT consecutive calls", "XTRIM with ~ MAXLEN can propagate
    /// correctly"), with `stream-node-max-entries 10`.
    #[test]
    fn trims_like_redis() {
        let limits = NodeLimits { max_entries: 10, max_bytes: 0 };
        let hundred = || {
            let mut e = Entries::default();
            for ms in 1..=100 {
                e.push(id(ms, 0), &two_pairs(b"x", b"y"), limits);
            }
            assert_eq!(e.nodes(), 10);
            e
        };
        let mut e = hundred();
        assert_eq!(e.trim(TrimTo::MaxLen(55), true, 30), 30);
        assert_eq!((e.len(), e.first().unwrap().id), (70, id(31, 0)));
        assert_eq!(e.trim(TrimTo::MaxLen(55), true, 30), 10);
        assert_eq!(e.len(), 60);
        let mut e = hundred();
        assert_eq!(e.trim(TrimTo::MaxLen(55), true, 0), 40);
        assert_eq!(e.len(), 60);
        let mut e = hundred();
        assert_eq!(e.trim(TrimTo::MaxLen(55), false, 0), 45);
        assert_eq!((e.len(), e.first().unwrap().id), (55, id(46, 0)));
        e.check();
        // A node holding deleted entries still counts them: it is full after 10 appends, as a listpack is.
        let mut e = Entries::default();
        for ms in 1..=8 {
            e.push(id(ms, 0), &two_pairs(b"x", b"y"), limits);
        }
        for ms in 1..=6 {
            assert!(e.delete(id(ms, 0)));
        }
        for ms in 9..=11 {
            e.push(id(ms, 0), &two_pairs(b"x", b"y"), limits);
        }
        assert_eq!(e.nodes(), 2);
        // MINID removes a node whole only when its last ID, deleted or not, is below the threshold.
        let mut e = Entries::default();
        for ms in 1..=20 {
            e.push(id(ms, 0), &two_pairs(b"x", b"y"), limits);
        }
        assert!(e.delete(id(10, 0)));
        assert_eq!(e.trim(TrimTo::MinId(id(10, 0)), true, 0), 0);
        assert_eq!(e.trim(TrimTo::MinId(id(10, 1)), true, 0), 9);
        assert_eq!(e.trim(TrimTo::MinId(id(15, 0)), false, 0), 4);
        assert_eq!(e.first().unwrap().id, id(15, 0));
        e.check();
    }

    #[test]
    fn entry_encoding_is_compact() {
        let fields = two_pairs(&[7; 16], &[8; 16]);
        assert_eq!(entry_size(id(101, 0), id(100, 0), &fields, true), 37);
        assert_eq!(entry_size(id(100, 1), id(100, 0), &fields, true), 37);
        let mut e = Entries::default();
        e.push(id(100, 0), &fields, NodeLimits::default());
        let one = e.nodes.values().next().unwrap().buf.len();
        e.push(id(101, 0), &fields, NodeLimits::default());
        assert_eq!(e.nodes.values().next().unwrap().buf.len() - one, 37);
    }

    #[test]
    fn memory_per_entry() {
        const N: u64 = 100_000;
        let mut e = Entries::default();
        for i in 0..N {
            let v = format!("{i:016}");
            e.push(id(1_700_000_000_000 + i, 0), &two_pairs(v.as_bytes(), v.as_bytes()), NodeLimits::default());
        }
        e.check();
        let full = e.heap_size();
        println!("{} bytes per entry, {} nodes", full as f64 / N as f64, e.nodes());
        assert!(full <= 45 * N as usize, "{full} bytes for {N} entries");
        for i in (0..N).step_by(2) {
            assert!(e.delete(id(1_700_000_000_000 + i, 0)));
        }
        e.check();
        let half = e.heap_size();
        println!("{} bytes per entry after deleting half", half as f64 / (N / 2) as f64);
        assert!(half * 3 <= full * 2, "{half} bytes left of {full}");
        assert_eq!(e.get(id(1_700_000_000_001, 0)).map(|x| x.pairs()), Some(2));
    }

    #[test]
    fn edges() {
        let limits = NodeLimits::default();
        let mut e = Entries::default();
        e.push(id(1, 0), &two_pairs(b"", b"v"), limits);
        e.push(id(2, 0), &[Bytes::new(), Bytes::new()], limits);
        let big = Bytes::from(vec![b'x'; 100 * 1024]);
        e.push(id(3, 0), &[Bytes::from_static(b"big"), big.clone()], limits);
        e.push(id(4, 0), &two_pairs(b"a", b"b"), limits);
        assert_eq!(e.nodes(), 3, "the big entry gets a node of its own");
        assert_eq!(owned(e.get(id(1, 0)).unwrap()).1, vec![(b"f1".to_vec(), vec![]), (b"f2".to_vec(), b"v".to_vec())]);
        assert_eq!(owned(e.get(id(2, 0)).unwrap()).1, vec![(vec![], vec![])]);
        assert_eq!(e.get(id(3, 0)).unwrap().fields().next().unwrap().1, &big[..]);
        assert_eq!(e.range_rev(id(2, 0), id(3, 0)).map(|x| x.id).collect::<Vec<_>>(), [id(3, 0), id(2, 0)]);
        e.check();

        // The top of the ID space.
        let mut e = Entries::default();
        let top =
            [id(u64::MAX - 1, u64::MAX), id(u64::MAX, 0), id(u64::MAX, 1), id(u64::MAX, u64::MAX - 1), StreamId::MAX];
        for x in top {
            e.push(x, &two_pairs(b"a", b"b"), limits);
        }
        assert_eq!(e.range(StreamId::MIN, StreamId::MAX).map(|x| x.id).collect::<Vec<_>>(), top);
        assert_eq!(e.get(StreamId::MAX).unwrap().id, StreamId::MAX);
        assert!(e.get(id(u64::MAX, 2)).is_none());
        assert_eq!(e.range(StreamId::MAX, StreamId::MAX).count(), 1);
        assert_eq!(e.range(id(5, 0), id(4, 0)).count(), 0);
        assert_eq!(e.range_rev(id(5, 0), id(4, 0)).count(), 0);
        assert!(e.delete(StreamId::MAX));
        assert_eq!(e.last().unwrap().id, id(u64::MAX, u64::MAX - 1));
        assert_eq!(e.trim(TrimTo::MinId(id(u64::MAX, 1)), false, 0), 2);
        assert_eq!(e.first().unwrap().id, id(u64::MAX, 1));
        e.check();

        // Nothing past the last entry.
        let mut e = Entries::default();
        e.push(id(5, 0), &two_pairs(b"a", b"b"), limits);
        assert_eq!(e.range(id(6, 0), StreamId::MAX).count(), 0);
        assert_eq!(e.range_rev(id(6, 0), StreamId::MAX).count(), 0);
        assert_eq!(e.range_rev(StreamId::MIN, id(4, 0)).count(), 0);
    }

    #[test]
    fn pushes_after_the_tail_is_deleted() {
        let limits = NodeLimits { max_entries: 4, max_bytes: 0 };
        let mut e = Entries::default();
        for ms in 1..=6 {
            e.push(id(ms, 0), &two_pairs(b"a", b"b"), limits);
        }
        assert!(e.delete(id(6, 0)) && e.delete(id(5, 0)));
        assert_eq!(e.nodes(), 1);
        e.push(id(7, 0), &two_pairs(b"c", b"d"), limits);
        assert_eq!(e.range(StreamId::MIN, StreamId::MAX).map(|x| x.id.ms).collect::<Vec<_>>(), [1, 2, 3, 4, 7]);
        for ms in [1, 2, 3, 4, 7] {
            assert!(e.delete(id(ms, 0)));
        }
        assert!(e.is_empty() && e.nodes() == 0 && e.heap_size() == 0);
        e.push(id(8, 0), &two_pairs(b"e", b"f"), limits);
        assert_eq!(e.first().unwrap().id, id(8, 0));
        e.check();
    }

    #[test]
    fn deleting_the_master_entry_keeps_its_fields() {
        let limits = NodeLimits::default();
        let mut e = Entries::default();
        for ms in 1..=4 {
            e.push(id(ms, 0), &two_pairs(b"a", format!("{ms}").as_bytes()), limits);
        }
        assert!(e.delete(id(1, 0)) && e.delete(id(2, 0)));
        assert_eq!(e.nodes.values().next().unwrap().deleted, 0, "rewritten once half is deleted");
        e.push(id(5, 0), &two_pairs(b"a", b"5"), limits);
        let got: Vec<_> = e.range(StreamId::MIN, StreamId::MAX).map(owned).collect();
        assert_eq!(got.len(), 3);
        assert_eq!(got[2].1, vec![(b"f1".to_vec(), b"a".to_vec()), (b"f2".to_vec(), b"5".to_vec())]);
        assert_eq!(format!("{:?}", e.get(id(3, 0)).unwrap()), r#"3-0 { "f1": "a", "f2": "3" }"#);
        e.check();
    }
}
