//! A consumer group: where it has read to, its consumers, and its pending-entries list (PEL).
//!
//! TODO(group helper): describe the PEL layout and its invariants here.

use super::StreamId;
use bytes::Bytes;

/// A consumer's handle inside its group (stable while the consumer exists).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ConsumerId(pub u32);

/// A consumer of a group.
#[derive(Debug)]
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

/// A consumer group of a stream.
pub struct Group {
    /// The last ID delivered to the group (`>` reads after it).
    pub last_id: StreamId,
    /// The group's logical read counter (XINFO GROUPS `entries-read`); None when it cannot be known.
    pub entries_read: Option<u64>,
}

impl Group {
    pub fn new(last_id: StreamId, entries_read: Option<u64>) -> Group {
        let _ = (last_id, entries_read);
        todo!()
    }

    pub fn consumer(&self, name: &[u8]) -> Option<&Consumer> {
        let _ = name;
        todo!()
    }

    pub fn consumer_id(&self, name: &[u8]) -> Option<ConsumerId> {
        let _ = name;
        todo!()
    }

    pub fn consumer_by_id(&self, c: ConsumerId) -> &Consumer {
        let _ = c;
        todo!()
    }

    pub fn consumer_by_id_mut(&mut self, c: ConsumerId) -> &mut Consumer {
        let _ = c;
        todo!()
    }

    /// Creates a consumer (seen now, never active); None when one of that name exists.
    pub fn create_consumer(&mut self, name: &[u8], now: u64) -> Option<ConsumerId> {
        let _ = (name, now);
        todo!()
    }

    /// Finds or creates a consumer, and marks it seen now; `true` when it was created.
    pub fn seen_consumer(&mut self, name: &[u8], now: u64) -> (ConsumerId, bool) {
        let _ = (name, now);
        todo!()
    }

    /// Deletes a consumer and drops its entries from the PEL; returns how many it had, None when there was no
    /// such consumer.
    pub fn delete_consumer(&mut self, name: &[u8]) -> Option<usize> {
        let _ = name;
        todo!()
    }

    /// The consumers in name order.
    pub fn consumers(&self) -> impl Iterator<Item = &Consumer> + '_ {
        std::iter::empty()
    }

    pub fn consumer_count(&self) -> usize {
        todo!()
    }

    /// Entries in the PEL.
    pub fn pending_len(&self) -> usize {
        todo!()
    }

    pub fn pending(&self, id: StreamId) -> Option<PendingRef<'_>> {
        let _ = id;
        todo!()
    }

    /// PEL entries with `start <= id <= end`, ascending.
    pub fn pending_range(&self, start: StreamId, end: StreamId) -> impl Iterator<Item = PendingRef<'_>> + '_ {
        let _ = (start, end);
        std::iter::empty()
    }

    /// A consumer's PEL entries with `id >= start`, ascending.
    pub fn pending_of(&self, c: ConsumerId, start: StreamId) -> impl Iterator<Item = PendingRef<'_>> + '_ {
        let _ = (c, start);
        std::iter::empty()
    }

    /// Records a delivery of `id` to `c` at `now`: a new PEL entry with count 1, or an existing one moved to `c`
    /// with its count incremented and its time set.
    pub fn deliver(&mut self, id: StreamId, c: ConsumerId, now: u64) {
        let _ = (id, c, now);
        todo!()
    }

    /// Gives an existing PEL entry to `c` with the given delivery time and count (XCLAIM); false when `id` is not
    /// pending. Creates nothing.
    pub fn assign(&mut self, id: StreamId, c: ConsumerId, time: u64, count: u64) -> bool {
        let _ = (id, c, time, count);
        todo!()
    }

    /// Adds a PEL entry owned by `c` (XCLAIM FORCE of an ID not pending); replaces an existing one.
    pub fn insert(&mut self, id: StreamId, c: ConsumerId, time: u64, count: u64) {
        let _ = (id, c, time, count);
        todo!()
    }

    /// Removes a PEL entry (XACK, or an entry deleted from the stream); false when it was not pending.
    pub fn ack(&mut self, id: StreamId) -> bool {
        let _ = id;
        todo!()
    }

    /// Heap bytes owned, for MEMORY USAGE.
    pub fn heap_size(&self) -> usize {
        todo!()
    }
}
