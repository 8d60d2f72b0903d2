//! One database of one shard: the keys, their values and their expiry. Pure data, no I/O; commands in `cmd/`
//! operate on it and it is unit-tested directly.
//!
//! Invariants:
//! - a key with a TTL has `Entry::expire_at != 0` and its node id sits at `expiring[Entry::ttl_pos]`;
//!   a key without one has `expire_at == 0` and `ttl_pos == NO_TTL`.
//! - a key whose `expire_at` has passed is never returned by a lookup: it is deleted on access (lazy expiry),
//!   and the active cycle samples `expiring` to reclaim keys nobody touches.

pub mod dict;
pub mod list;
pub mod long_double;
pub mod stream;

use bytes::Bytes;
use dict::{Dict, NodeId};

/// Marks an entry without a TTL.
const NO_TTL: u32 = u32::MAX;

/// A value. Strings that are canonical decimal integers are kept as `Int` (Redis's "int" encoding): 8 bytes and no
/// allocation, which counters and job ids are. Other strings of up to `SHORT_MAX` bytes live inside the entry
/// (`Short`), longer ones in an allocation of their own (`Str`); `Value::string` and `Value::text` choose. Strings
/// that APPEND or SETRANGE built are `Raw`, as Redis reports them (`OBJECT ENCODING` "raw" whatever their length).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str(Bytes),
    Short(Short),
    Raw(Bytes),
    Int(i64),
    /// Boxed so that every entry stays as small as a string entry.
    List(Box<list::List>),
    /// Boxed for the same reason.
    Stream(Box<stream::Stream>),
}

/// Longest string stored inside its entry: as many bytes as fit beside a length byte in the room a `Bytes` takes,
/// so that `Value` stays 40 bytes.
pub const SHORT_MAX: usize = 38;

/// A string of at most `SHORT_MAX` bytes, stored inline.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Short {
    len: u8,
    data: [u8; SHORT_MAX],
}

impl Short {
    pub fn new(b: &[u8]) -> Option<Short> {
        let mut data = [0; SHORT_MAX];
        data.get_mut(..b.len())?.copy_from_slice(b);
        Some(Short { len: b.len() as u8, data })
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.data[..self.len as usize]
    }
}

impl std::fmt::Debug for Short {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Short({:?})", String::from_utf8_lossy(self.as_bytes()))
    }
}

const _: () = assert!(std::mem::size_of::<Value>() == 40);

impl Value {
    /// A string value from client bytes: an integer when it reads back identically, inline when short, else
    /// copied into its own allocation (an argument shares the connection's read buffer, which a stored value must
    /// not keep alive).
    pub fn string(data: &[u8]) -> Value {
        match parse_canonical_int(data) {
            Some(n) => Value::Int(n),
            None => match Short::new(data) {
                Some(s) => Value::Short(s),
                None => Value::Str(Bytes::copy_from_slice(data)),
            },
        }
    }

    /// A string never stored as an integer (INCRBYFLOAT's result, as Redis keeps it): inline when short.
    pub fn text(b: Bytes) -> Value {
        match Short::new(&b) {
            Some(s) => Value::Short(s),
            None => Value::Str(b),
        }
    }

    /// The bytes of a string value (integers formatted), or None for other types.
    pub fn string_bytes(&self) -> Option<std::borrow::Cow<'_, [u8]>> {
        match self {
            Value::Str(b) | Value::Raw(b) => Some(std::borrow::Cow::Borrowed(&b[..])),
            Value::Short(s) => Some(std::borrow::Cow::Borrowed(s.as_bytes())),
            Value::Int(n) => Some(std::borrow::Cow::Owned(n.to_string().into_bytes())),
            Value::List(_) | Value::Stream(_) => None,
        }
    }

    /// How many clients blocked on this key could be served from it now (elements of a list).
    pub fn ready_units(&self) -> usize {
        match self {
            Value::List(l) => l.len(),
            // Whether a stream serves a waiter depends on the waiter (`Op::ready` decides).
            Value::Stream(_) => 1,
            _ => 0,
        }
    }

    pub fn is_string(&self) -> bool {
        matches!(self, Value::Str(_) | Value::Short(_) | Value::Raw(_) | Value::Int(_))
    }

    /// The `TYPE` name.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) | Value::Short(_) | Value::Raw(_) | Value::Int(_) => "string",
            Value::List(_) => "list",
            Value::Stream(_) => "stream",
        }
    }

    /// The `OBJECT ENCODING` name, with Redis's thresholds.
    pub fn encoding(&self) -> &'static str {
        match self {
            Value::Int(_) => "int",
            Value::Short(_) => "embstr",
            Value::Str(b) if b.len() <= 44 => "embstr",
            Value::Str(_) | Value::Raw(_) => "raw",
            // Redis 7.4's rule (listpack until 8 KiB, back at 4 KiB), tracked by the list itself.
            Value::List(l) if l.is_listpack() => "listpack",
            Value::List(_) => "quicklist",
            Value::Stream(_) => "stream",
        }
    }

    /// Approximate bytes this value owns, for MEMORY USAGE and INFO memory.
    pub fn heap_size(&self) -> usize {
        match self {
            Value::Int(_) | Value::Short(_) => 0,
            Value::Str(b) | Value::Raw(b) => b.len(),
            Value::List(l) => l.heap_size(),
            Value::Stream(s) => std::mem::size_of::<stream::Stream>() + s.heap_size(),
        }
    }
}

/// A string that Redis would store with the "int" encoding: canonical decimal, fits i64, at most 20 characters.
pub fn parse_canonical_int(data: &[u8]) -> Option<i64> {
    if data.len() > 20 {
        return None;
    }
    crate::text::parse_i64(data)
}

/// A key's value with its expiry and access clock.
#[derive(Debug)]
pub struct Entry {
    pub value: Value,
    /// Absolute expiry in Unix milliseconds; 0 = persistent.
    pub expire_at: u64,
    ttl_pos: u32,
    /// Last access, in seconds since the shard's clock epoch (OBJECT IDLETIME).
    pub access: u32,
}

/// One numbered database (SELECT n) of one shard.
#[derive(Default)]
pub struct Db {
    dict: Dict<Entry>,
    /// Node ids of the keys that have a TTL, for the active expiry cycle's sampling.
    expiring: Vec<NodeId>,
    /// Keys removed because their TTL passed, since start (INFO stats expired_keys).
    pub expired_count: u64,
    /// Set while a CLIENT NO-TOUCH client's command runs: lookups leave access times alone.
    pub no_touch: bool,
}

/// The current wall-clock time in Unix milliseconds.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// Seconds clock for access times; wraps after 136 years.
pub fn access_clock(now_ms: u64) -> u32 {
    (now_ms / 1000) as u32
}

impl Db {
    pub fn len(&self) -> usize {
        self.dict.len()
    }

    pub fn is_empty(&self) -> bool {
        self.dict.is_empty()
    }

    pub fn expires_len(&self) -> usize {
        self.expiring.len()
    }

    /// Finds a live key, deleting it first if its TTL has passed.
    /// See `Dict::prefetch`.
    #[inline]
    pub fn prefetch(&self, key: &[u8], stage: u8) {
        self.dict.prefetch(key, stage, |e| match &e.value {
            Value::Str(b) | Value::Raw(b) => Some(b.as_ptr()),
            _ => None,
        })
    }

    pub fn find(&mut self, key: &[u8], now: u64) -> Option<NodeId> {
        let id = self.dict.find(key)?;
        let exp = self.dict.value(id).expire_at;
        if exp != 0 && exp <= now {
            self.remove_id(id);
            self.expired_count += 1;
            return None;
        }
        Some(id)
    }

    /// A live key's entry, touching its access time unless `touch` is false (CLIENT NO-TOUCH, OBJECT).
    pub fn get_mut(&mut self, key: &[u8], now: u64) -> Option<&mut Entry> {
        let id = self.find(key, now)?;
        let e = self.dict.value_mut(id);
        if !self.no_touch {
            e.access = access_clock(now);
        }
        Some(e)
    }

    /// TOUCH: updates a live key's access time even for a CLIENT NO-TOUCH client, as Redis does.
    pub fn touch(&mut self, key: &[u8], now: u64) -> bool {
        let Some(id) = self.find(key, now) else { return false };
        self.dict.value_mut(id).access = access_clock(now);
        true
    }

    /// A live key's entry without touching its access time.
    pub fn peek(&mut self, key: &[u8], now: u64) -> Option<&Entry> {
        let id = self.find(key, now)?;
        Some(self.dict.value(id))
    }

    pub fn entry(&self, id: NodeId) -> &Entry {
        self.dict.value(id)
    }

    pub fn entry_mut(&mut self, id: NodeId) -> &mut Entry {
        self.dict.value_mut(id)
    }

    pub fn key(&self, id: NodeId) -> &[u8] {
        self.dict.key(id)
    }

    pub fn contains(&mut self, key: &[u8], now: u64) -> bool {
        self.find(key, now).is_some()
    }

    /// Whether `key` is live (present and not past its TTL), without deleting it if it is not. WATCH asks this
    /// where looking must not change anything (FLUSHDB and SWAPDB deciding which watched keys they touch).
    pub fn is_live(&self, key: &[u8], now: u64) -> bool {
        self.dict.get(key).is_some_and(|e| e.expire_at == 0 || e.expire_at > now)
    }

    /// A live key's expiry (0 = persistent), without touching or deleting anything; `None` when not live.
    pub fn live_expiry(&self, key: &[u8], now: u64) -> Option<u64> {
        self.dict.get(key).filter(|e| e.expire_at == 0 || e.expire_at > now).map(|e| e.expire_at)
    }

    /// Stores `value` under `key` with the given expiry (0 = none), replacing any previous value and TTL.
    pub fn set(&mut self, key: &[u8], value: Value, expire_at: u64, now: u64) -> NodeId {
        let entry = Entry { value, expire_at: 0, ttl_pos: NO_TTL, access: access_clock(now) };
        let id = match self.dict.find(key) {
            Some(id) => {
                let old = std::mem::replace(self.dict.value_mut(id), entry);
                if old.ttl_pos != NO_TTL {
                    self.unindex_ttl(old.ttl_pos);
                }
                id
            }
            None => self.dict.insert(key, entry).0,
        };
        if expire_at != 0 {
            self.set_expire(id, expire_at);
        }
        id
    }

    /// Replaces a key's value, keeping its TTL (SET KEEPTTL, APPEND, INCR...).
    pub fn set_keep_ttl(&mut self, key: &[u8], value: Value, now: u64) -> NodeId {
        let id = self.find(key, now);
        self.replace_or_set(id, key, value, now)
    }

    /// Replaces the value of the live key `id` (already found by the caller, so no second lookup) keeping its TTL,
    /// or, with no id, stores `key` afresh.
    pub fn replace_or_set(&mut self, id: Option<NodeId>, key: &[u8], value: Value, now: u64) -> NodeId {
        match id {
            Some(id) => {
                let e = self.dict.value_mut(id);
                e.value = value;
                e.access = access_clock(now);
                id
            }
            None => self.set(key, value, 0, now),
        }
    }

    /// Sets or clears (`at == 0`) the expiry of a live key.
    pub fn set_expire(&mut self, id: NodeId, at: u64) {
        let pos = self.dict.value(id).ttl_pos;
        if at == 0 {
            if pos != NO_TTL {
                self.unindex_ttl(pos);
                let e = self.dict.value_mut(id);
                e.ttl_pos = NO_TTL;
                e.expire_at = 0;
            }
            return;
        }
        if pos == NO_TTL {
            self.dict.value_mut(id).ttl_pos = self.expiring.len() as u32;
            self.expiring.push(id);
        }
        self.dict.value_mut(id).expire_at = at;
    }

    fn unindex_ttl(&mut self, pos: u32) {
        let pos = pos as usize;
        self.expiring.swap_remove(pos);
        if let Some(&moved) = self.expiring.get(pos) {
            self.dict.value_mut(moved).ttl_pos = pos as u32;
        }
    }

    /// Removes a key whether or not it has expired; returns its entry.
    pub fn remove(&mut self, key: &[u8]) -> Option<Entry> {
        let id = self.dict.find(key)?;
        Some(self.remove_id(id))
    }

    /// Removes a live key; false if absent or expired.
    pub fn delete(&mut self, key: &[u8], now: u64) -> bool {
        match self.find(key, now) {
            Some(id) => {
                self.remove_id(id);
                true
            }
            None => false,
        }
    }

    pub fn remove_id(&mut self, id: NodeId) -> Entry {
        let pos = self.dict.value(id).ttl_pos;
        if pos != NO_TTL {
            self.unindex_ttl(pos);
        }
        let mut e = self.dict.remove_id(id);
        e.ttl_pos = NO_TTL;
        e
    }

    /// Re-inserts an entry taken from elsewhere (RENAME, MOVE, COPY), with its TTL.
    pub fn insert_entry(&mut self, key: &[u8], value: Value, expire_at: u64, now: u64) {
        self.set(key, value, expire_at, now);
    }

    pub fn clear(&mut self) {
        self.dict.clear();
        self.expiring.clear();
    }

    /// One SCAN step over this database (see `Dict::scan`); expired keys are skipped, not reported.
    pub fn scan(&self, cursor: u64, now: u64, mut f: impl FnMut(&[u8], &Entry)) -> u64 {
        self.dict.scan(cursor, |_, k, e| {
            if e.expire_at == 0 || e.expire_at > now {
                f(k, e)
            }
        })
    }

    /// One SCAN step that also deletes the expired keys it passes, as Redis's SCAN does (they leave DBSIZE).
    /// `f` sees the live keys; returns the next cursor and how many keys the step visited, expired ones included
    /// (Redis counts those against COUNT too).
    pub fn scan_reclaim(&mut self, cursor: u64, now: u64, mut f: impl FnMut(&[u8], &Entry)) -> (u64, usize) {
        let mut visited = 0;
        let mut expired = Vec::new();
        let next = self.dict.scan(cursor, |id, k, e| {
            visited += 1;
            if e.expire_at == 0 || e.expire_at > now {
                f(k, e)
            } else {
                expired.push(id);
            }
        });
        // Removing after the step may shrink the table; the reverse-binary cursor stays valid across that.
        for id in expired {
            self.remove_id(id);
            self.expired_count += 1;
        }
        (next, visited)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &Entry)> {
        self.dict.iter().map(|(_, k, e)| (k, e))
    }

    /// A random live key, deleting the expired keys it picks on the way, as Redis's RANDOMKEY does on a primary:
    /// every miss removes a key, so the walk ends with a live key or an empty database.
    pub fn random_key(&mut self, seed: u64, now: u64) -> Option<Bytes> {
        let mut seed = seed;
        loop {
            let id = self.dict.random(seed)?;
            let e = self.dict.value(id);
            if e.expire_at == 0 || e.expire_at > now {
                return Some(Bytes::copy_from_slice(self.dict.key(id)));
            }
            self.remove_id(id);
            self.expired_count += 1;
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        }
    }

    /// One pass of active expiry: samples up to `samples` keys with a TTL, deletes the expired ones, and returns
    /// (sampled, expired) so the caller can decide whether to go on (Redis repeats while > 25% were expired).
    pub fn expire_sample(&mut self, samples: usize, seed: u64, now: u64) -> (usize, usize) {
        let mut seed = seed | 1;
        let mut sampled = 0;
        let mut expired = 0;
        while sampled < samples && !self.expiring.is_empty() {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let id = self.expiring[(seed % self.expiring.len() as u64) as usize];
            sampled += 1;
            if self.dict.value(id).expire_at <= now {
                self.remove_id(id);
                self.expired_count += 1;
                expired += 1;
            }
        }
        (sampled, expired)
    }

    /// Approximate memory of this database: table overhead plus keys and values.
    pub fn approx_memory(&self) -> usize {
        self.dict.overhead_bytes() + self.expiring.capacity() * 4
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_index_follows_keys() {
        let mut db = Db::default();
        db.set(b"a", Value::Int(1), 100, 0);
        db.set(b"b", Value::Int(2), 200, 0);
        db.set(b"c", Value::Int(3), 0, 0);
        assert_eq!(db.expires_len(), 2);
        db.set(b"a", Value::Int(4), 0, 0);
        assert_eq!(db.expires_len(), 1);
        assert!(db.find(b"b", 150).is_some());
        assert!(db.find(b"b", 250).is_none());
        assert_eq!(db.expires_len(), 0);
        assert_eq!(db.len(), 2);
        assert_eq!(db.expired_count, 1);
    }

    #[test]
    fn active_expiry_reclaims() {
        let mut db = Db::default();
        for i in 0..1000 {
            db.set(format!("k{i}").as_bytes(), Value::Int(i), if i % 2 == 0 { 10 } else { 0 }, 0);
        }
        let mut rounds = 0;
        while db.expires_len() > 0 && rounds < 10_000 {
            db.expire_sample(20, rounds + 7, 20);
            rounds += 1;
        }
        assert_eq!(db.len(), 500);
    }

    #[test]
    fn scan_reclaims_expired_and_random_key_skips_them() {
        let mut db = Db::default();
        for i in 0..100 {
            db.set(format!("k{i}").as_bytes(), Value::Int(i), if i < 90 { 10 } else { 0 }, 0);
        }
        let (mut cursor, mut seen) = (0, 0);
        // Deleting shrinks the table mid-scan, so live keys may come back twice (as Redis allows).
        let mut live = std::collections::HashSet::new();
        loop {
            let (next, visited) = db.scan_reclaim(cursor, 20, |k, _| {
                live.insert(k.to_vec());
            });
            seen += visited;
            cursor = next;
            if cursor == 0 {
                break;
            }
        }
        assert!(seen >= 100);
        assert_eq!(live.len(), 10);
        assert_eq!(db.len(), 10);
        assert_eq!(db.expired_count, 90);
        let mut only_expired = Db::default();
        for i in 0..50 {
            only_expired.set(format!("x{i}").as_bytes(), Value::Int(i), 10, 0);
        }
        assert_eq!(only_expired.random_key(7, 20), None);
        assert!(only_expired.is_empty());
        assert!(db.random_key(7, 20).is_some_and(|k| k.starts_with(b"k9")));
    }

    #[test]
    fn int_encoding() {
        assert_eq!(Value::string(b"123"), Value::Int(123));
        assert_eq!(Value::string(b"0123").encoding(), "embstr");
        assert_eq!(Value::string(&[b'x'; 45]).encoding(), "raw");
    }
}
