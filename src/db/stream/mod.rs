//! The stream value: entries in packed nodes (`entries`), consumer groups with their pending entries (`group`),
//! and the bookkeeping Redis keeps beside them (last ID, entries added, max deleted ID).
//!
//! Invariants:
//! - every entry's ID is at most `last_id`, and `last_id` only grows (XSETID may move it only to an ID at
//!   least the top entry's);
//! - `entries_added` counts every entry ever added (XADD), trimmed and deleted ones included;
//! - `max_deleted_id` is the largest ID deleted by XDEL (trims do not count, as in Redis).

pub mod entries;
pub mod group;

pub use entries::{EntryRef, NodeLimits, TrimTo};
pub use group::{Consumer, ConsumerId, Group, PendingRef};

use bytes::Bytes;
use std::collections::BTreeMap;

/// A stream entry ID: milliseconds and a sequence number.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Debug)]
pub struct StreamId {
    pub ms: u64,
    pub seq: u64,
}

impl StreamId {
    pub const MIN: StreamId = StreamId { ms: 0, seq: 0 };
    pub const MAX: StreamId = StreamId { ms: u64::MAX, seq: u64::MAX };

    pub const fn new(ms: u64, seq: u64) -> StreamId {
        StreamId { ms, seq }
    }

    /// The next ID up; None at the maximum.
    pub fn next(self) -> Option<StreamId> {
        match self.seq.checked_add(1) {
            Some(seq) => Some(StreamId { ms: self.ms, seq }),
            None => self.ms.checked_add(1).map(|ms| StreamId { ms, seq: 0 }),
        }
    }

    /// The next ID down; None at the minimum.
    pub fn prev(self) -> Option<StreamId> {
        match self.seq.checked_sub(1) {
            Some(seq) => Some(StreamId { ms: self.ms, seq }),
            None => self.ms.checked_sub(1).map(|ms| StreamId { ms, seq: u64::MAX }),
        }
    }

    /// Parses `ms` or `ms-seq` (plain decimal digits, as Redis's strict unsigned parse accepts them); a missing
    /// sequence is `missing_seq`.
    pub fn parse(arg: &[u8], missing_seq: u64) -> Option<StreamId> {
        let (ms, seq) = match arg.iter().position(|&b| b == b'-') {
            Some(dash) => (&arg[..dash], Some(&arg[dash + 1..])),
            None => (arg, None),
        };
        let ms = parse_u64(ms)?;
        let seq = match seq {
            Some(s) => parse_u64(s)?,
            None => missing_seq,
        };
        Some(StreamId { ms, seq })
    }

    /// Formats as `ms-seq` into `buf`, returning the bytes written.
    pub fn format<'b>(&self, buf: &'b mut [u8; 41]) -> &'b [u8] {
        let mut at = 0;
        for (i, n) in [self.ms, self.seq].into_iter().enumerate() {
            if i == 1 {
                buf[at] = b'-';
                at += 1;
            }
            let mut digits = [0u8; 20];
            let mut len = 0;
            let mut n = n;
            loop {
                digits[len] = b'0' + (n % 10) as u8;
                len += 1;
                n /= 10;
                if n == 0 {
                    break;
                }
            }
            for d in digits[..len].iter().rev() {
                buf[at] = *d;
                at += 1;
            }
        }
        &buf[..at]
    }
}

impl std::fmt::Display for StreamId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

/// Redis's `string2ull` as the stream ID parser uses it: decimal digits fitting in u64, which its `strtoull`
/// fallback also accepts after leading blanks and a `+`.
fn parse_u64(s: &[u8]) -> Option<u64> {
    let blanks = s.iter().take_while(|b| matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')).count();
    let s = &s[blanks..];
    let s = s.strip_prefix(b"+").unwrap_or(s);
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    let mut n: u64 = 0;
    for &b in s {
        if !b.is_ascii_digit() {
            return None;
        }
        n = n.checked_mul(10)?.checked_add((b - b'0') as u64)?;
    }
    Some(n)
}

/// A stream: its entries, its groups (in name order, as XINFO GROUPS lists them) and its counters.
#[derive(Default, Clone)]
pub struct Stream {
    pub entries: entries::Entries,
    pub groups: BTreeMap<Bytes, Group>,
    /// The largest ID ever added (or set by XSETID).
    pub last_id: StreamId,
    /// Every entry ever added.
    pub entries_added: u64,
    /// The largest ID deleted by XDEL.
    pub max_deleted_id: StreamId,
}

/// How XADD asks for an ID.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdRequest {
    /// `*`: the clock's milliseconds, or the next sequence after the last ID.
    Auto,
    /// `<ms>-*`: these milliseconds, with the next sequence free in them.
    Ms(u64),
    /// `<ms>-<seq>`.
    Exact(StreamId),
}

/// Why XADD cannot add an entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddError {
    /// The ID is not above the stream's last ID.
    NotAbove,
    /// The last ID is the maximum: no ID is left.
    Exhausted,
}

impl Stream {
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// The ID XADD would give a new entry, as Redis's `streamAppendItem` chooses it.
    pub fn next_id(&self, req: IdRequest, now_ms: u64) -> Result<StreamId, AddError> {
        if self.last_id == StreamId::MAX {
            return Err(AddError::Exhausted);
        }
        let id = match req {
            IdRequest::Auto if now_ms > self.last_id.ms => StreamId::new(now_ms, 0),
            IdRequest::Auto => self.last_id.next().ok_or(AddError::Exhausted)?,
            IdRequest::Ms(ms) if ms == self.last_id.ms => {
                if self.last_id.seq == u64::MAX {
                    return Err(AddError::NotAbove);
                }
                StreamId::new(ms, self.last_id.seq + 1)
            }
            IdRequest::Ms(ms) => StreamId::new(ms, 0),
            IdRequest::Exact(id) => id,
        };
        if id <= self.last_id {
            return Err(AddError::NotAbove);
        }
        Ok(id)
    }

    /// Appends an entry with an ID from `next_id`.
    pub fn add(&mut self, id: StreamId, fields: &[Bytes], limits: NodeLimits) {
        self.entries.push(id, fields, limits);
        self.last_id = id;
        self.entries_added += 1;
    }

    /// XDEL of one ID: true when an entry was deleted.
    pub fn delete(&mut self, id: StreamId) -> bool {
        let deleted = self.entries.delete(id);
        if deleted && id > self.max_deleted_id {
            self.max_deleted_id = id;
        }
        deleted
    }

    /// Whether a group still needs an entry: not yet delivered to some group, or pending in one (Redis 8.2's
    /// ACKED rule). A stream without groups references nothing.
    pub fn referenced(&self, id: StreamId) -> bool {
        self.groups.values().any(|g| g.last_id < id || g.pending(id).is_some())
    }

    /// Drops an ID from every group's PEL (Redis 8.2's DELREF).
    pub fn drop_references(&mut self, id: StreamId) {
        for g in self.groups.values_mut() {
            g.ack(id);
        }
    }

    /// The first live entry's ID, 0-0 when empty (Redis's `first_id`).
    pub fn first_id(&self) -> StreamId {
        self.entries.first().map_or(StreamId::MIN, |e| e.id)
    }

    /// The last live entry's ID, 0-0 when empty.
    pub fn last_entry_id(&self) -> StreamId {
        self.entries.last_id().unwrap_or(StreamId::MIN)
    }

    /// Whether an XDEL may have left a gap at or after `start` (Redis's `streamRangeHasTombstones` to the end).
    pub fn has_tombstones_from(&self, start: StreamId) -> bool {
        !self.is_empty() && self.max_deleted_id != StreamId::MIN && start <= self.max_deleted_id
    }

    /// How many entries were added up to and including `id`, when that can be known (Redis's
    /// `streamEstimateDistanceFromFirstEverEntry`).
    pub fn entries_up_to(&self, id: StreamId) -> Option<u64> {
        if self.entries_added == 0 {
            return Some(0);
        }
        if self.is_empty() && id <= self.last_id {
            return Some(self.entries_added);
        }
        if id != StreamId::MIN && id < self.max_deleted_id {
            return None;
        }
        match id.cmp(&self.last_id) {
            std::cmp::Ordering::Equal => return Some(self.entries_added),
            std::cmp::Ordering::Greater => return None,
            std::cmp::Ordering::Less => {}
        }
        let first = self.first_id();
        if self.max_deleted_id == StreamId::MIN || self.max_deleted_id < first {
            let before_first = self.entries_added.saturating_sub(self.len() as u64);
            match id.cmp(&first) {
                std::cmp::Ordering::Less => return Some(before_first),
                std::cmp::Ordering::Equal => return Some(before_first + 1),
                std::cmp::Ordering::Greater => {}
            }
        }
        None
    }

    /// Moves a group past an entry it was just given (`>` reads), keeping its read counter as Redis does: counted
    /// on while nothing was deleted ahead of the group, estimated otherwise.
    pub fn advance_group(&mut self, name: &[u8], id: StreamId) {
        let Some(g) = self.groups.get(name) else { return };
        if id <= g.last_id {
            return;
        }
        let counted = g.entries_read.is_some() && g.last_id >= self.first_id() && !self.has_tombstones_from(g.last_id);
        let estimate = if counted || self.entries_added == 0 { None } else { Some(self.entries_up_to(id)) };
        let g = self.groups.get_mut(name).expect("looked up above");
        if counted {
            g.entries_read = g.entries_read.map(|n| n + 1);
        } else if let Some(e) = estimate {
            g.entries_read = e;
        }
        g.last_id = id;
    }

    /// XINFO GROUPS `lag`: entries added after the group's last delivered one, when that can be known.
    pub fn lag(&self, g: &Group) -> Option<u64> {
        if self.entries_added == 0 || self.is_empty() {
            return Some(0);
        }
        let first = self.first_id();
        if g.last_id < first && self.max_deleted_id < first {
            return Some(self.len() as u64);
        }
        if let Some(read) = g.entries_read {
            if !self.has_tombstones_from(g.last_id) {
                return Some(self.entries_added.saturating_sub(read));
            }
        }
        self.entries_up_to(g.last_id).map(|read| self.entries_added.saturating_sub(read))
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Heap bytes owned, for MEMORY USAGE.
    pub fn heap_size(&self) -> usize {
        self.entries.heap_size() + self.groups.iter().map(|(k, g)| k.len() + g.heap_size()).sum::<usize>()
    }
}

impl std::fmt::Debug for Stream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stream").field("len", &self.len()).field("last_id", &self.last_id).finish()
    }
}

/// Streams are equal when they hold the same entries and counters and groups of the same names at the same
/// positions (what a test comparing two copies wants to know).
impl PartialEq for Stream {
    fn eq(&self, other: &Self) -> bool {
        type Entry<'a> = (StreamId, Vec<(&'a [u8], &'a [u8])>);
        fn entries(s: &Stream) -> Vec<Entry<'_>> {
            s.entries.range(StreamId::MIN, StreamId::MAX).map(|e| (e.id, e.fields().collect())).collect()
        }
        self.last_id == other.last_id
            && self.entries_added == other.entries_added
            && self.max_deleted_id == other.max_deleted_id
            && self.groups.iter().map(|(k, g)| (k, g.last_id)).eq(other.groups.iter().map(|(k, g)| (k, g.last_id)))
            && entries(self) == entries(other)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse_and_format() {
        assert_eq!(StreamId::parse(b"5", 0), Some(StreamId::new(5, 0)));
        assert_eq!(StreamId::parse(b"5", u64::MAX), Some(StreamId::new(5, u64::MAX)));
        assert_eq!(StreamId::parse(b"5-3", 0), Some(StreamId::new(5, 3)));
        assert_eq!(StreamId::parse(b" +5", 0), Some(StreamId::new(5, 0)));
        for bad in [&b""[..], b"-", b"5-", b"-3", b"+", b"5- ", b"a", b"18446744073709551616", b"1-2-3"] {
            assert_eq!(StreamId::parse(bad, 0), None, "{:?}", String::from_utf8_lossy(bad));
        }
        let mut buf = [0; 41];
        assert_eq!(StreamId::MAX.format(&mut buf), b"18446744073709551615-18446744073709551615");
        assert_eq!(StreamId::new(0, 0).format(&mut buf), b"0-0");
        assert_eq!(StreamId::new(0, 0).next(), Some(StreamId::new(0, 1)));
        assert_eq!(StreamId::new(1, u64::MAX).next(), Some(StreamId::new(2, 0)));
        assert_eq!(StreamId::MAX.next(), None);
        assert_eq!(StreamId::new(2, 0).prev(), Some(StreamId::new(1, u64::MAX)));
        assert_eq!(StreamId::MIN.prev(), None);
    }
}
