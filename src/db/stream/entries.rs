//! The entries of a stream, packed into nodes keyed by their first ID (our own take on Redis's radix tree of
//! listpacks).
//!
//! TODO(entries helper): describe the node layout and its invariants here (see the task's notes).

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

/// The live entries of one stream, in ID order.
#[derive(Default)]
pub struct Entries {}

/// One entry as read from a node: its ID and its field/value pairs, decoded lazily.
#[derive(Clone, Copy)]
pub struct EntryRef<'a> {
    pub id: StreamId,
    _node: std::marker::PhantomData<&'a ()>,
}

impl<'a> EntryRef<'a> {
    /// Number of field/value pairs.
    pub fn pairs(&self) -> usize {
        todo!()
    }

    /// The field/value pairs in the order they were added.
    pub fn fields(&self) -> impl Iterator<Item = (&'a [u8], &'a [u8])> + 'a {
        std::iter::empty()
    }
}

impl Entries {
    /// Live entries.
    pub fn len(&self) -> usize {
        todo!()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends an entry. `fields` is the flat list `field, value, field, value...` (at least one pair); `id` is
    /// greater than every ID ever pushed (the caller checks).
    pub fn push(&mut self, id: StreamId, fields: &[Bytes], limits: NodeLimits) {
        let _ = (id, fields, limits);
        todo!()
    }

    /// The live entry with this ID.
    pub fn get(&self, id: StreamId) -> Option<EntryRef<'_>> {
        let _ = id;
        todo!()
    }

    /// Live entries with `start <= id <= end`, ascending.
    pub fn range(&self, start: StreamId, end: StreamId) -> impl Iterator<Item = EntryRef<'_>> + '_ {
        let _ = (start, end);
        std::iter::empty()
    }

    /// Live entries with `start <= id <= end`, descending (from `end`).
    pub fn range_rev(&self, start: StreamId, end: StreamId) -> impl Iterator<Item = EntryRef<'_>> + '_ {
        let _ = (start, end);
        std::iter::empty()
    }

    pub fn first(&self) -> Option<EntryRef<'_>> {
        self.range(StreamId::MIN, StreamId::MAX).next()
    }

    pub fn last(&self) -> Option<EntryRef<'_>> {
        self.range_rev(StreamId::MIN, StreamId::MAX).next()
    }

    /// Deletes a live entry; false when there is none with this ID.
    pub fn delete(&mut self, id: StreamId) -> bool {
        let _ = id;
        todo!()
    }

    /// Removes entries from the front until `to` holds, as Redis's XTRIM/XADD trimming does, and returns how many
    /// it removed. `approx` (`~`) removes whole nodes only, and stops at the first node it cannot remove whole;
    /// `limit` (0 = none) caps the entries removed, counted by node (a node that would pass it is kept).
    pub fn trim(&mut self, to: TrimTo, approx: bool, limit: usize) -> usize {
        let _ = (to, approx, limit);
        todo!()
    }

    /// Number of nodes (XINFO STREAM's radix-tree-keys).
    pub fn nodes(&self) -> usize {
        todo!()
    }

    /// Heap bytes owned, for MEMORY USAGE.
    pub fn heap_size(&self) -> usize {
        todo!()
    }
}
