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

/// Redis's `string2ull` as the stream ID parser uses it: decimal digits only, no sign, fits in u64.
fn parse_u64(s: &[u8]) -> Option<u64> {
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
#[derive(Default)]
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

impl Stream {
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Heap bytes owned, for MEMORY USAGE.
    pub fn heap_size(&self) -> usize {
        self.entries.heap_size() + self.groups.iter().map(|(k, g)| k.len() + g.heap_size()).sum::<usize>()
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
        for bad in [&b""[..], b"-", b"5-", b"-3", b"+5", b"5-+3", b"a", b"18446744073709551616", b"1-2-3"] {
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
