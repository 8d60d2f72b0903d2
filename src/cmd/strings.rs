//! String commands. Values are `Value::Int` for canonical integers, `Value::Short` (inline) or `Value::Str` (an
//! allocation of their own) for other strings, and `Value::Raw` for strings APPEND and SETRANGE built.
//! Everything runs on the key's shard; MGET, MSET and MSETNX spanning shards are coordinated by the connection under
//! key locks so that no reader ever sees half of an MSET.
//!
//! The hot paths (GET, SET, INCR) look their key up once: they work on the entry's node id from `Db::find` rather
//! than calling a lookup and then a setter that looks the key up again.

use super::args::{self, is};
use super::spec::*;
use super::{Ctx, Handler, LocalFuture, Session};
use crate::db::{access_clock, Db, Value};
use crate::proto::{errors, Out};
use crate::shard::Shard;
use bytes::{Bytes, BytesMut};

/// This family's commands, one line each (`spec` describes the fields), and their documentation text.
#[rustfmt::skip]
pub const FAMILY: Family = Family {
    docs: include_str!("docs/strings.txt"),
    specs: &[
        spec("get", 2, READONLY | FAST, key(1), Handler::Shard(get)),
        spec("set", -3, WRITE | DENYOOM, key(1), Handler::Shard(set)),
        spec("setnx", 3, WRITE | DENYOOM | FAST, key(1), Handler::Shard(setnx)),
        spec("setex", 4, WRITE | DENYOOM, key(1), Handler::Shard(setex)),
        spec("psetex", 4, WRITE | DENYOOM, key(1), Handler::Shard(psetex)),
        spec("mget", -2, READONLY | FAST, range(1, -1, 1), Handler::Keys(mget, mget_cross)),
        spec("mset", -3, WRITE | DENYOOM, range(1, -1, 2), Handler::Keys(mset, mset_cross)),
        spec("msetnx", -3, WRITE | DENYOOM, range(1, -1, 2), Handler::Keys(msetnx, msetnx_cross)),
        spec("getset", 3, WRITE | DENYOOM | FAST, key(1), Handler::Shard(getset)),
        spec("getdel", 2, WRITE | FAST, key(1), Handler::Shard(getdel)),
        spec("getex", -2, WRITE | FAST, key(1), Handler::Shard(getex)),
        spec("incr", 2, WRITE | DENYOOM | FAST, key(1), Handler::Shard(incr)),
        spec("decr", 2, WRITE | DENYOOM | FAST, key(1), Handler::Shard(decr)),
        spec("incrby", 3, WRITE | DENYOOM | FAST, key(1), Handler::Shard(incrby)),
        spec("decrby", 3, WRITE | DENYOOM | FAST, key(1), Handler::Shard(decrby)),
        spec("incrbyfloat", 3, WRITE | DENYOOM | FAST, key(1), Handler::Shard(incrbyfloat)),
        spec("append", 3, WRITE | DENYOOM | FAST, key(1), Handler::Shard(append)),
        spec("strlen", 2, READONLY | FAST, key(1), Handler::Shard(strlen)),
        spec("getrange", 4, READONLY, key(1), Handler::Shard(getrange)),
        spec("setrange", 4, WRITE | DENYOOM, key(1), Handler::Shard(setrange)),
    ],
};

/// Writes a string value as a bulk reply.
pub fn reply_value(out: &mut Out, v: &Value) {
    if let Value::Int(n) = v {
        out.bulk_int(*n)
    } else if let Value::Str(b) | Value::Raw(b) = v {
        out.bulk(b)
    } else if let Value::Short(s) = v {
        out.bulk(s.as_bytes())
    } else {
        out.error(errors::WRONGTYPE)
    }
}

/// A string value's bytes, an integer formatted into `tmp`; None for a value of another type. (Written with
/// `if let` so that new value types need no arm here.)
fn str_bytes<'a>(v: &'a Value, tmp: &'a mut [u8; 20]) -> Option<&'a [u8]> {
    if let Value::Str(b) | Value::Raw(b) = v {
        Some(b)
    } else if let Value::Short(s) = v {
        Some(s.as_bytes())
    } else if let Value::Int(n) = v {
        Some(crate::proto::reply::fmt_i64(tmp, *n))
    } else {
        None
    }
}

/// The database a command works on and its reply writer, borrowed apart so a reply can be written straight from a
/// stored value without cloning it.
fn parts<'c, 'a>(ctx: &'c mut Ctx<'a>) -> (&'c mut Db, &'c mut Out<'a>, u64) {
    let Ctx { shard, db, out, now, .. } = ctx;
    (&mut shard.dbs[*db], out, *now)
}

/// Counts a read lookup in INFO's keyspace_hits / keyspace_misses, as Redis's lookupKeyRead does.
fn count_read(shard: &mut Shard, hit: bool) {
    if hit {
        shard.stats.keyspace_hits += 1;
    } else {
        shard.stats.keyspace_misses += 1;
    }
}

/// Looks a key up for reading (one hash lookup), counting keyspace hits and misses.
fn read<'a>(shard: &'a mut Shard, db: usize, key: &[u8], now: u64) -> Option<&'a Value> {
    let Shard { dbs, stats, .. } = shard;
    match dbs[db].get_mut(key, now) {
        Some(e) => {
            stats.keyspace_hits += 1;
            Some(&e.value)
        }
        None => {
            stats.keyspace_misses += 1;
            None
        }
    }
}

/// Finds a live key for a read-then-write command (GETSET, GETDEL, GETEX, SET ... GET), counting the read.
fn find_read(ctx: &mut Ctx, key: &[u8]) -> Option<crate::db::dict::NodeId> {
    let now = ctx.now;
    let id = ctx.db().find(key, now);
    count_read(ctx.shard, id.is_some());
    id
}

fn get(ctx: &mut Ctx, args: &[Bytes]) {
    match read(ctx.shard, ctx.db, &args[1], ctx.now) {
        None => ctx.out.null(),
        Some(v) if v.is_string() => reply_value(&mut ctx.out, v),
        Some(_) => ctx.out.error(errors::WRONGTYPE),
    }
}

/// The expiry option of SET or GETEX: which one was given and its still unparsed value. Redis checks the value only
/// after every option has parsed, and the last of repeated options wins (`SET k v EX abc EX 10` succeeds).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum ExpireOpt {
    Ex,
    Px,
    ExAt,
    PxAt,
}

/// What SET and GETEX share of their options, parsed as Redis's parseExtendedStringArgumentsOrReply does.
#[derive(Default)]
struct StringOpts<'a> {
    nx: bool,
    xx: bool,
    get: bool,
    keepttl: bool,
    persist: bool,
    expire: Option<(ExpireOpt, &'a [u8])>,
}

impl<'a> StringOpts<'a> {
    /// Parses `args` (the options only); `set` selects SET's options, otherwise GETEX's. Errors are syntax errors.
    fn parse(args: &'a [Bytes], set: bool) -> Result<Self, &'static str> {
        let mut o = StringOpts::default();
        let mut i = 0;
        while i < args.len() {
            let a = &args[i][..];
            let next = args.get(i + 1);
            let unit = if is(a, "EX") {
                Some(ExpireOpt::Ex)
            } else if is(a, "PX") {
                Some(ExpireOpt::Px)
            } else if is(a, "EXAT") {
                Some(ExpireOpt::ExAt)
            } else if is(a, "PXAT") {
                Some(ExpireOpt::PxAt)
            } else {
                None
            };
            if let Some(unit) = unit {
                let same_or_none = o.expire.is_none_or(|(u, _)| u == unit);
                match next {
                    Some(v) if same_or_none && !o.keepttl && !o.persist => {
                        o.expire = Some((unit, &v[..]));
                        i += 2;
                        continue;
                    }
                    _ => return Err(errors::SYNTAX),
                }
            }
            if set && is(a, "NX") && !o.xx {
                o.nx = true;
            } else if set && is(a, "XX") && !o.nx {
                o.xx = true;
            } else if set && is(a, "GET") {
                o.get = true;
            } else if set && is(a, "KEEPTTL") && o.expire.is_none() {
                o.keepttl = true;
            } else if !set && is(a, "PERSIST") && o.expire.is_none() {
                o.persist = true;
            } else {
                return Err(errors::SYNTAX);
            }
            i += 1;
        }
        Ok(o)
    }

    /// The absolute expiry in Unix milliseconds, if one was given, with Redis's checks and error texts.
    fn expire_at(&self, now: u64, cmd: &str) -> Result<Option<u64>, String> {
        let Some((unit, v)) = self.expire else {
            return Ok(None);
        };
        let ms = matches!(unit, ExpireOpt::Px | ExpireOpt::PxAt);
        let abs = matches!(unit, ExpireOpt::ExAt | ExpireOpt::PxAt);
        expire_at(v, ms, abs, now, cmd).map(Some)
    }
}

/// Turns an EX/PX/EXAT/PXAT argument into absolute milliseconds, with Redis's checks and error texts.
fn expire_at(arg: &[u8], unit_ms: bool, absolute: bool, now: u64, cmd: &str) -> Result<u64, String> {
    let v = args::int(arg).map_err(str::to_string)?;
    if v <= 0 || (!unit_ms && v > i64::MAX / 1000) {
        return Err(errors::invalid_expire(cmd));
    }
    let ms = if unit_ms { v } else { v * 1000 };
    if absolute {
        return Ok(ms as u64);
    }
    if ms > i64::MAX - now as i64 {
        return Err(errors::invalid_expire(cmd));
    }
    Ok(now + ms as u64)
}

/// `SET key value [NX | XX] [GET] [EX s | PX ms | EXAT ts | PXAT ts-ms | KEEPTTL]`
fn set(ctx: &mut Ctx, args: &[Bytes]) {
    if args.len() == 3 {
        // The common case: one lookup that replaces or inserts, dropping any TTL.
        let now = ctx.now;
        ctx.db().set(&args[1], Value::string(&args[2]), 0, now);
        ctx.modified(&args[1]);
        return ctx.out.ok();
    }
    let opts = match StringOpts::parse(&args[3..], true) {
        Ok(o) => o,
        Err(e) => return ctx.out.error(e),
    };
    let at = match opts.expire_at(ctx.now, "set") {
        Ok(at) => at,
        Err(e) => return ctx.out.error(&e),
    };
    let key = &args[1];
    let now = ctx.now;
    let id = if opts.get { find_read(ctx, key) } else { ctx.db().find(key, now) };
    let (db, out, now) = parts(ctx);
    if opts.get {
        if let Some(id) = id {
            if !db.entry(id).value.is_string() {
                return out.error(errors::WRONGTYPE);
            }
        }
    }
    if (opts.nx && id.is_some()) || (opts.xx && id.is_none()) {
        return match (opts.get, id) {
            (true, Some(id)) => reply_value(out, &db.entry(id).value),
            _ => out.null(),
        };
    }
    let value = Value::string(&args[2]);
    let old = match id {
        Some(id) => {
            let e = db.entry_mut(id);
            e.access = access_clock(now);
            let old = std::mem::replace(&mut e.value, value);
            match at {
                Some(at) if at <= now => {
                    db.remove_id(id);
                }
                Some(at) => db.set_expire(id, at),
                None if opts.keepttl => {}
                None => db.set_expire(id, 0),
            }
            Some(old)
        }
        None => {
            match at {
                Some(at) if at <= now => {}
                at => {
                    db.set(key, value, at.unwrap_or(0), now);
                }
            }
            None
        }
    };
    ctx.modified(key);
    match (opts.get, old) {
        (false, _) => ctx.out.ok(),
        (true, Some(v)) => reply_value(&mut ctx.out, &v),
        (true, None) => ctx.out.null(),
    }
}

fn setnx(ctx: &mut Ctx, args: &[Bytes]) {
    let now = ctx.now;
    let db = ctx.db();
    if db.contains(&args[1], now) {
        return ctx.out.int(0);
    }
    db.set(&args[1], Value::string(&args[2]), 0, now);
    ctx.modified(&args[1]);
    ctx.out.int(1)
}

fn setex_generic(ctx: &mut Ctx, args: &[Bytes], unit_ms: bool, name: &str) {
    let at = match expire_at(&args[2], unit_ms, false, ctx.now, name) {
        Ok(at) => at,
        Err(e) => return ctx.out.error(&e),
    };
    let now = ctx.now;
    ctx.db().set(&args[1], Value::string(&args[3]), at, now);
    ctx.modified(&args[1]);
    ctx.out.ok()
}

fn setex(ctx: &mut Ctx, args: &[Bytes]) {
    setex_generic(ctx, args, false, "setex")
}

fn psetex(ctx: &mut Ctx, args: &[Bytes]) {
    setex_generic(ctx, args, true, "psetex")
}

/// `GETSET key value`: SET ... GET without options, so the TTL goes too.
fn getset(ctx: &mut Ctx, args: &[Bytes]) {
    let id = find_read(ctx, &args[1]);
    let (db, out, now) = parts(ctx);
    let Some(id) = id else {
        db.set(&args[1], Value::string(&args[2]), 0, now);
        ctx.modified(&args[1]);
        return ctx.out.null();
    };
    if !db.entry(id).value.is_string() {
        return out.error(errors::WRONGTYPE);
    }
    let e = db.entry_mut(id);
    e.access = access_clock(now);
    let old = std::mem::replace(&mut e.value, Value::string(&args[2]));
    db.set_expire(id, 0);
    ctx.modified(&args[1]);
    reply_value(&mut ctx.out, &old)
}

fn getdel(ctx: &mut Ctx, args: &[Bytes]) {
    let id = find_read(ctx, &args[1]);
    let (db, out, _) = parts(ctx);
    let Some(id) = id else {
        return out.null();
    };
    if !db.entry(id).value.is_string() {
        return out.error(errors::WRONGTYPE);
    }
    let e = db.remove_id(id);
    ctx.modified(&args[1]);
    reply_value(&mut ctx.out, &e.value)
}

/// `GETEX key [EX s | PX ms | EXAT ts | PXAT ts-ms | PERSIST]`. As in Redis, a missing key answers nil before the
/// expiry value is checked.
fn getex(ctx: &mut Ctx, args: &[Bytes]) {
    let opts = match StringOpts::parse(&args[2..], false) {
        Ok(o) => o,
        Err(e) => return ctx.out.error(e),
    };
    let id = find_read(ctx, &args[1]);
    let (db, out, now) = parts(ctx);
    let Some(id) = id else {
        return out.null();
    };
    if !db.entry(id).value.is_string() {
        return out.error(errors::WRONGTYPE);
    }
    let at = match opts.expire_at(now, "getex") {
        Ok(at) => at,
        Err(e) => return out.error(&e),
    };
    reply_value(out, &db.entry(id).value);
    let changed = match at {
        Some(at) if at <= now => {
            db.remove_id(id);
            true
        }
        Some(at) => {
            db.set_expire(id, at);
            true
        }
        None if opts.persist && db.entry(id).expire_at != 0 => {
            db.set_expire(id, 0);
            true
        }
        None => false,
    };
    if changed {
        ctx.modified(&args[1]);
    }
}

/// The integer a string value holds for INCR and friends.
fn int_of(v: &Value) -> Result<i64, &'static str> {
    if let Value::Int(n) = v {
        return Ok(*n);
    }
    let mut tmp = [0u8; 20];
    let b = str_bytes(v, &mut tmp).ok_or(errors::WRONGTYPE)?;
    crate::text::parse_i64(b).ok_or(errors::NOT_INTEGER)
}

/// INCR, DECR, INCRBY, DECRBY: one lookup, the new integer written in place keeping the TTL.
fn incr_by(ctx: &mut Ctx, key: &[u8], by: i64) {
    let (db, out, now) = parts(ctx);
    let Some(id) = db.find(key, now) else {
        db.set(key, Value::Int(by), 0, now);
        ctx.modified(key);
        return ctx.out.int(by);
    };
    let e = db.entry_mut(id);
    let new = match int_of(&e.value).map(|cur| cur.checked_add(by)) {
        Ok(Some(n)) => n,
        Ok(None) => return out.error(errors::OVERFLOW),
        Err(err) => return out.error(err),
    };
    e.value = Value::Int(new);
    e.access = access_clock(now);
    ctx.modified(key);
    ctx.out.int(new)
}

fn incr(ctx: &mut Ctx, args: &[Bytes]) {
    incr_by(ctx, &args[1], 1)
}

fn decr(ctx: &mut Ctx, args: &[Bytes]) {
    incr_by(ctx, &args[1], -1)
}

fn incrby(ctx: &mut Ctx, args: &[Bytes]) {
    match args::int(&args[2]) {
        Ok(by) => incr_by(ctx, &args[1], by),
        Err(e) => ctx.out.error(e),
    }
}

fn decrby(ctx: &mut Ctx, args: &[Bytes]) {
    match args::int(&args[2]) {
        Ok(i64::MIN) => ctx.out.error("ERR decrement would overflow"),
        Ok(by) => incr_by(ctx, &args[1], -by),
        Err(e) => ctx.out.error(e),
    }
}

/// `INCRBYFLOAT key increment`, computed as Redis computes it (see `long_double`). The result is stored as the
/// string it replies, never int-encoded (Redis reports "embstr" for `INCRBYFLOAT k 1`).
fn incrbyfloat(ctx: &mut Ctx, args: &[Bytes]) {
    let (db, out, now) = parts(ctx);
    let id = db.find(&args[1], now);
    let mut tmp = [0u8; 20];
    let cur = match id.map(|id| &db.entry(id).value) {
        None => Some(crate::db::long_double::Num::ZERO),
        Some(Value::Int(n)) => Some(crate::db::long_double::Num::from_i64(*n)),
        Some(v) => match str_bytes(v, &mut tmp) {
            Some(b) => crate::db::long_double::Num::parse(b),
            None => return out.error(errors::WRONGTYPE),
        },
    };
    let (Some(cur), Some(by)) = (cur, crate::db::long_double::Num::parse(&args[2])) else {
        return out.error(errors::NOT_FLOAT);
    };
    let Some(text) = cur.checked_add(by).map(crate::db::long_double::Num::format) else {
        return out.error(errors::INCR_NAN);
    };
    out.bulk(text.as_bytes());
    let value = Value::text(Bytes::from(text));
    db.replace_or_set(id, &args[1], value, now);
    ctx.modified(&args[1]);
}

/// The largest string SETRANGE and APPEND may build (proto-max-bulk-len).
fn max_string(ctx: &Ctx) -> u64 {
    ctx.shard.server.live.proto_max_bulk_len.load(std::sync::atomic::Ordering::Relaxed)
}

/// A string value's bytes ready to be grown in place: the stored buffer itself when nothing else shares it, so
/// that APPEND in a loop is amortised O(1) per call like Redis's sds, not a copy of the whole string each time.
fn take_mut(v: &mut Value) -> BytesMut {
    if let Value::Str(b) | Value::Raw(b) = v {
        let b = std::mem::take(b);
        return b.try_into_mut().unwrap_or_else(|b| BytesMut::from(&b[..]));
    }
    let mut tmp = [0u8; 20];
    BytesMut::from(str_bytes(v, &mut tmp).unwrap_or_default())
}

/// The length of a string value, without formatting integers.
fn string_len(v: &Value) -> usize {
    let mut tmp = [0u8; 20];
    str_bytes(v, &mut tmp).map_or(0, |b| b.len())
}

fn append(ctx: &mut Ctx, args: &[Bytes]) {
    let limit = max_string(ctx);
    let (db, out, now) = parts(ctx);
    let Some(id) = db.find(&args[1], now) else {
        db.set(&args[1], Value::string(&args[2]), 0, now);
        ctx.modified(&args[1]);
        return ctx.out.int(args[2].len() as i64);
    };
    let e = db.entry_mut(id);
    if !e.value.is_string() {
        return out.error(errors::WRONGTYPE);
    }
    if (string_len(&e.value) + args[2].len()) as u64 > limit {
        return out.error(errors::STRING_TOO_LONG);
    }
    let mut buf = take_mut(&mut e.value);
    buf.extend_from_slice(&args[2]);
    let len = buf.len();
    e.value = Value::Raw(buf.freeze());
    e.access = access_clock(now);
    ctx.modified(&args[1]);
    ctx.out.int(len as i64)
}

fn strlen(ctx: &mut Ctx, args: &[Bytes]) {
    match read(ctx.shard, ctx.db, &args[1], ctx.now) {
        None => ctx.out.int(0),
        Some(v) if v.is_string() => {
            let n = string_len(v);
            ctx.out.int(n as i64)
        }
        Some(_) => ctx.out.error(errors::WRONGTYPE),
    }
}

fn getrange(ctx: &mut Ctx, args: &[Bytes]) {
    let (start, end) = match (args::int(&args[2]), args::int(&args[3])) {
        (Ok(s), Ok(e)) => (s, e),
        (Err(e), _) | (_, Err(e)) => return ctx.out.error(e),
    };
    let Ctx { shard, db, out, now, .. } = ctx;
    let mut tmp = [0u8; 20];
    let bytes = match read(shard, *db, &args[1], *now).map(|v| str_bytes(v, &mut tmp)) {
        None => return out.bulk(b""),
        Some(Some(b)) => b,
        Some(None) => return out.error(errors::WRONGTYPE),
    };
    let len = bytes.len() as i64;
    if start < 0 && end < 0 && start > end {
        return out.bulk(b"");
    }
    let s = if start < 0 { len + start } else { start }.max(0);
    let e = if end < 0 { len + end } else { end }.max(0).min(len - 1);
    if s > e || len == 0 {
        return out.bulk(b"");
    }
    out.bulk(&bytes[s as usize..=e as usize])
}

/// `SETRANGE key offset value`. Checks in Redis's order: offset, type, empty value (replies the length without
/// creating the key), then the size limit.
fn setrange(ctx: &mut Ctx, args: &[Bytes]) {
    let offset = match args::int(&args[2]) {
        Ok(o) if o < 0 => return ctx.out.error(errors::OFFSET_RANGE),
        Ok(o) => o as u64,
        Err(e) => return ctx.out.error(e),
    };
    let patch = &args[3];
    let limit = max_string(ctx);
    let (db, out, now) = parts(ctx);
    let id = db.find(&args[1], now);
    if let Some(id) = id {
        if !db.entry(id).value.is_string() {
            return out.error(errors::WRONGTYPE);
        }
    }
    if patch.is_empty() {
        return out.int(id.map_or(0, |id| string_len(&db.entry(id).value)) as i64);
    }
    if offset.saturating_add(patch.len() as u64) > limit {
        return out.error(errors::STRING_TOO_LONG);
    }
    let end = offset as usize + patch.len();
    let mut buf = match id {
        Some(id) => take_mut(&mut db.entry_mut(id).value),
        None => BytesMut::new(),
    };
    if buf.len() < end {
        buf.resize(end, 0);
    }
    buf[offset as usize..end].copy_from_slice(patch);
    let len = buf.len();
    let value = Value::Raw(buf.freeze());
    db.replace_or_set(id, &args[1], value, now);
    ctx.modified(&args[1]);
    ctx.out.int(len as i64)
}

fn mget(ctx: &mut Ctx, args: &[Bytes]) {
    ctx.out.array(args.len() - 1);
    for key in &args[1..] {
        match read(ctx.shard, ctx.db, key, ctx.now).filter(|v| v.is_string()) {
            Some(v) => reply_value(&mut ctx.out, v),
            None => ctx.out.null(),
        }
    }
}

fn check_pairs(s: &mut Session, args: &[Bytes], name: &str) -> bool {
    if args.len().is_multiple_of(2) {
        s.reply().error(&errors::wrong_arity(name));
        return false;
    }
    true
}

fn mset(ctx: &mut Ctx, args: &[Bytes]) {
    if args.len().is_multiple_of(2) {
        return ctx.out.error(&errors::wrong_arity("mset"));
    }
    let db = ctx.db;
    set_pairs(ctx.shard, db, args[1..].chunks(2).map(|p| (&p[0], &p[1])), ctx.now);
    ctx.out.ok()
}

fn msetnx(ctx: &mut Ctx, args: &[Bytes]) {
    if args.len().is_multiple_of(2) {
        return ctx.out.error(&errors::wrong_arity("msetnx"));
    }
    let now = ctx.now;
    let db = ctx.db();
    if args[1..].chunks(2).any(|p| db.contains(&p[0], now)) {
        return ctx.out.int(0);
    }
    let db = ctx.db;
    set_pairs(ctx.shard, db, args[1..].chunks(2).map(|p| (&p[0], &p[1])), now);
    ctx.out.int(1)
}

type KeyGroups = Vec<(usize, Vec<Bytes>)>;
type PairGroups = Vec<(usize, Vec<(Bytes, Bytes)>)>;

/// Key/value pairs grouped by owning shard, in ascending shard order, with the keys to lock.
fn pairs_by_shard(s: &Session, args: &[Bytes]) -> (KeyGroups, PairGroups) {
    let groups = s.shards.group_keys(args[1..].iter().step_by(2));
    let mut parts: PairGroups = groups.iter().map(|(sh, _)| (*sh, Vec::new())).collect();
    for pair in args[1..].chunks(2) {
        let sh = crate::shard::slot::key_shard(&pair[0], s.nshards());
        let part = parts.iter_mut().find(|(p, _)| *p == sh).expect("grouped");
        part.1.push((pair[0].clone(), pair[1].clone()));
    }
    (groups, parts)
}

/// MSET's writes, on one shard, through the write path.
fn set_pairs<'a>(shard: &mut Shard, db: usize, pairs: impl IntoIterator<Item = (&'a Bytes, &'a Bytes)>, now: u64) {
    for (k, v) in pairs {
        shard.dbs[db].set(k, Value::string(v), 0, now);
        shard.modified(db, k);
    }
}

/// MSET's writes of one shard's part of a request spanning shards.
fn set_owned_pairs(shard: &mut Shard, db: usize, pairs: &[(Bytes, Bytes)]) {
    set_pairs(shard, db, pairs.iter().map(|(k, v)| (k, v)), crate::db::now_ms())
}

/// MSET across shards: each shard's pairs are written by its lock request the moment it is granted, and every
/// shard stays locked until all are written (`Shards::run_locked`), so nobody who reads them sees half of it.
fn mset_cross(s: &mut Session, args: Vec<Bytes>) -> LocalFuture<'_> {
    Box::pin(async move {
        if !check_pairs(s, &args, "mset") {
            return;
        }
        let (groups, parts) = pairs_by_shard(s, &args);
        let db = s.db;
        let pairs = parts.into_iter().map(|(_, pairs)| pairs).collect();
        s.shards
            .run_locked(groups, pairs, true, move |sh, pairs: Vec<(Bytes, Bytes)>| set_owned_pairs(sh, db, &pairs))
            .await;
        s.reply().ok()
    })
}

/// MSETNX across shards: each lock request checks its shard's keys; the last one, which then knows whether any
/// key exists, writes its own pairs (or not) and releases, and the others' pairs are posted with their releases.
fn msetnx_cross(s: &mut Session, args: Vec<Bytes>) -> LocalFuture<'_> {
    Box::pin(async move {
        if !check_pairs(s, &args, "msetnx") {
            return;
        }
        let (groups, parts) = pairs_by_shard(s, &args);
        let txid = s.shards.new_txid();
        let db = s.db;
        let last = groups.len() - 1;
        let mut parts = parts.into_iter();
        let mut exists = false;
        let mut held = Vec::new();
        for (i, (shard, keys)) in groups.into_iter().enumerate() {
            let (_, pairs) = parts.next().expect("a part per group");
            let seen = exists;
            // Only the last shard writes in its lock request; the others' pairs wait here.
            let mine = if i == last {
                Some(pairs)
            } else {
                held.push((shard, pairs));
                None
            };
            exists |= s
                .shards
                .lock_run(shard, keys.clone(), true, txid, move |sh| {
                    let now = crate::db::now_ms();
                    let here = keys.iter().any(|k| sh.dbs[db].contains(k, now));
                    if let Some(pairs) = mine {
                        if !seen && !here {
                            set_owned_pairs(sh, db, &pairs);
                        }
                        sh.unlock(txid);
                    }
                    here
                })
                .await;
        }
        for (shard, pairs) in held {
            s.shards.post(shard, move |sh| {
                if !exists {
                    set_owned_pairs(sh, db, &pairs);
                }
                sh.unlock(txid);
            });
        }
        s.reply().int(if exists { 0 } else { 1 })
    })
}

/// MGET across shards: shared locks on every key, each shard reads its keys (by position in the request, so a
/// repeated key is read once per position) as its lock is granted and stays locked until the last has read
/// (`Shards::run_locked`); the replies are put back in request order.
fn mget_cross(s: &mut Session, args: Vec<Bytes>) -> LocalFuture<'_> {
    Box::pin(async move {
        let groups = s.shards.group_keys(args[1..].iter());
        let mut parts: Vec<(usize, Vec<(usize, Bytes)>)> = groups.iter().map(|(sh, _)| (*sh, Vec::new())).collect();
        for (i, key) in args[1..].iter().enumerate() {
            let sh = crate::shard::slot::key_shard(key, s.nshards());
            let part = parts.iter_mut().find(|(p, _)| *p == sh).expect("grouped");
            part.1.push((i, key.clone()));
        }
        let db = s.db;
        let parts = parts.into_iter().map(|(_, part)| part).collect();
        let found = s
            .shards
            .run_locked(groups, parts, false, move |sh, part: Vec<(usize, Bytes)>| {
                let now = crate::db::now_ms();
                part.into_iter()
                    .map(|(i, k)| (i, read(sh, db, &k, now).filter(|v| v.is_string()).cloned()))
                    .collect::<Vec<_>>()
            })
            .await;
        let mut values: Vec<Option<Value>> = vec![None; args.len() - 1];
        for (i, v) in found.into_iter().flatten() {
            values[i] = v;
        }
        let mut o = s.reply();
        o.array(values.len());
        for v in &values {
            match v {
                Some(v) => reply_value(&mut o, v),
                None => o.null(),
            }
        }
    })
}
