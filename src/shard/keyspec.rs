//! Where a command's keys are in its argument vector: the key specs the command table declares, and the search
//! for a concrete command line's keys. The runtime needs them to route a call and to check it against the key
//! locks; COMMAND GETKEYS reports them (`cmd::table::key_indexes`, which adds Redis's errors).

use bytes::Bytes;

/// How to find a command's keys in its argument vector (`args[0]` is the command name).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySpec {
    /// The command takes no keys.
    None,
    /// Redis's first/last/step; last < 0 counts from the end (-1 = last argument).
    Range { first: i32, last: i32, step: i32 },
    /// A numkeys argument at index `at`, then that many keys starting right after it (LMPOP at 1, BLMPOP at 2).
    NumKeys { at: usize },
    /// XREAD/XREADGROUP: the keys are the first half of the arguments after the first STREAMS at or after `from`.
    Streams { from: usize },
    /// Shard channels (SSUBSCRIBE, SPUBLISH): positioned like keys from `first` to `last`, but not keys.
    Channels { first: i32, last: i32 },
}

/// No keys.
pub const NO_KEYS: KeySpec = KeySpec::None;

/// One key, at `at`.
pub const fn key(at: i32) -> KeySpec {
    KeySpec::Range { first: at, last: at, step: 1 }
}

/// Keys from `first` to `last` (negative: from the end) every `step` arguments.
pub const fn range(first: i32, last: i32, step: i32) -> KeySpec {
    KeySpec::Range { first, last, step }
}

/// A count of keys at `at`, the keys after it.
pub const fn numkeys(at: usize) -> KeySpec {
    KeySpec::NumKeys { at }
}

/// The keys of a STREAMS clause searched from `from`.
pub const fn streams(from: usize) -> KeySpec {
    KeySpec::Streams { from }
}

/// Shard channels from `first` to `last`.
pub const fn channels(first: i32, last: i32) -> KeySpec {
    KeySpec::Channels { first, last }
}

impl KeySpec {
    /// Whether finding the keys needs the arguments' values (Redis's `movablekeys`).
    pub fn is_movable(self) -> bool {
        matches!(self, KeySpec::NumKeys { .. } | KeySpec::Streams { .. })
    }

    /// The legacy first/last/step triple COMMAND INFO reports: 0, 0, 0 where keys move or there are none.
    pub fn legacy_range(self) -> (i32, i32, i32) {
        match self {
            KeySpec::Range { first, last, step } => (first, last, step),
            KeySpec::Channels { first, last } => (first, last, 1),
            KeySpec::None | KeySpec::NumKeys { .. } | KeySpec::Streams { .. } => (0, 0, 0),
        }
    }
}

impl KeySpec {
    /// The positions of the keys in `args` (`args[0]` is the command name), or `None` when they cannot be found
    /// (too few arguments, a bad numkeys, no STREAMS). Redis's quirks are kept: a numkeys argument is read like
    /// C's `atoi` (`"2abc"` counts as 2), and an odd number of arguments after STREAMS yields the first half,
    /// rounded down.
    pub fn find(self, args: &[Bytes]) -> Option<Vec<usize>> {
        match self {
            KeySpec::None | KeySpec::Channels { .. } => None,
            KeySpec::Range { first, last, step } => range_keys(args.len(), first, last, step),
            KeySpec::NumKeys { at } => numkeys_keys(args, at),
            KeySpec::Streams { from } => streams_keys(args, from).or_else(|| streams_keys_by_options(args)),
        }
    }
}

/// The key positions of a first/last/step key spec in `nargs` arguments (`last < 0` counts from the end).
pub fn range_positions(first: i32, last: i32, step: i32, nargs: usize) -> impl Iterator<Item = usize> {
    let n = nargs as i32;
    let last = if last < 0 { n + last } else { last.min(n - 1) };
    (first..=last).step_by(step.max(1) as usize).map(|i| i as usize)
}

fn range_keys(argc: usize, first: i32, last: i32, step: i32) -> Option<Vec<usize>> {
    let argc = i64::try_from(argc).ok()?;
    let first = i64::from(first);
    let last = if last >= 0 { i64::from(last) } else { argc + i64::from(last) };
    if first < 1 || step < 1 || first >= argc || last >= argc || last < first {
        return None;
    }
    let step = usize::try_from(step).ok()?;
    Some((first as usize..=last as usize).step_by(step).collect())
}

fn numkeys_keys(args: &[Bytes], at: usize) -> Option<Vec<usize>> {
    let first = at + 1;
    let n = crate::text::atoi(args.get(at)?);
    let available = args.len().saturating_sub(first);
    if n < 1 || n > available as i64 {
        return None;
    }
    Some((first..first + n as usize).collect())
}

/// The key-spec way: the first `STREAMS` at or after `start`, then the first
/// half of what follows.
fn streams_keys(args: &[Bytes], start: usize) -> Option<Vec<usize>> {
    let pos = (start..args.len()).find(|&i| args[i].eq_ignore_ascii_case(b"streams"))?;
    let first = pos + 1;
    let half = (args.len() - first) / 2;
    if half == 0 {
        return None;
    }
    Some((first..first + half).collect())
}

/// Redis's fallback for XREAD/XREADGROUP when the key spec fails: walk the
/// options to find `STREAMS`, then demand an even, non-zero remainder.
fn streams_keys_by_options(args: &[Bytes]) -> Option<Vec<usize>> {
    let mut i = 1;
    let mut pos = None;
    while i < args.len() {
        let a = &args[i][..];
        if a.eq_ignore_ascii_case(b"block") || a.eq_ignore_ascii_case(b"count") {
            i += 1;
        } else if a.eq_ignore_ascii_case(b"group") {
            i += 2;
        } else if a.eq_ignore_ascii_case(b"streams") {
            pos = Some(i);
            break;
        } else if !a.eq_ignore_ascii_case(b"noack") {
            break;
        }
        i += 1;
    }
    let first = pos? + 1;
    let rest = args.len() - first;
    if rest == 0 || !rest.is_multiple_of(2) {
        return None;
    }
    Some((first..first + rest / 2).collect())
}
