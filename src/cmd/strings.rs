//! String commands. Values are `Value::Str` (bytes in their own allocation) or `Value::Int` for canonical integers.
//! Everything runs on the key's shard; MGET, MSET and MSETNX spanning shards are coordinated by the connection under
//! key locks so that no reader ever sees half of an MSET.

use super::args::{self, is};
use super::{Ctx, Handler, LocalFuture, Session};
use crate::db::{Db, Value};
use crate::proto::{errors, Out};
use crate::shard::Shard;
use bytes::Bytes;

pub const HANDLERS: &[(&str, Handler)] = &[
    ("get", Handler::Shard(get)),
    ("set", Handler::Shard(set)),
    ("setnx", Handler::Shard(setnx)),
    ("setex", Handler::Shard(setex)),
    ("psetex", Handler::Shard(psetex)),
    ("getset", Handler::Shard(getset)),
    ("getdel", Handler::Shard(getdel)),
    ("getex", Handler::Shard(getex)),
    ("incr", Handler::Shard(incr)),
    ("decr", Handler::Shard(decr)),
    ("incrby", Handler::Shard(incrby)),
    ("decrby", Handler::Shard(decrby)),
    ("incrbyfloat", Handler::Shard(incrbyfloat)),
    ("append", Handler::Shard(append)),
    ("strlen", Handler::Shard(strlen)),
    ("getrange", Handler::Shard(getrange)),
    ("setrange", Handler::Shard(setrange)),
    ("mget", Handler::Keys(mget, mget_cross)),
    ("mset", Handler::Keys(mset, mset_cross)),
    ("msetnx", Handler::Keys(msetnx, msetnx_cross)),
];

/// Writes a string value as a bulk reply.
pub fn reply_value(out: &mut Out, v: &Value) {
    match v {
        Value::Str(b) => out.bulk(b),
        Value::Int(n) => out.bulk_int(*n),
    }
}

/// Looks a key up for reading, counting keyspace hits and misses.
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

fn get(ctx: &mut Ctx, args: &[Bytes]) {
    match read(ctx.shard, ctx.db, &args[1], ctx.now) {
        None => ctx.out.null(),
        Some(v) if v.is_string() => reply_value(&mut ctx.out, v),
        Some(_) => ctx.out.error(errors::WRONGTYPE),
    }
}

/// Expiry options of SET and GETEX, parsed once.
#[derive(Default, Clone, Copy, PartialEq, Eq, Debug)]
enum Expiry {
    #[default]
    None,
    /// Absolute Unix milliseconds.
    At(u64),
    KeepTtl,
    Persist,
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

fn set(ctx: &mut Ctx, args: &[Bytes]) {
    let mut nx = false;
    let mut xx = false;
    let mut get = false;
    let mut expiry = Expiry::None;
    let mut i = 3;
    while i < args.len() {
        let a = &args[i];
        let next = args.get(i + 1);
        let unit = if is(a, "EX") {
            Some((false, false))
        } else if is(a, "PX") {
            Some((true, false))
        } else if is(a, "EXAT") {
            Some((false, true))
        } else if is(a, "PXAT") {
            Some((true, true))
        } else {
            None
        };
        if let (Some((ms, abs)), Some(v)) = (unit, next) {
            if expiry != Expiry::None {
                return ctx.out.error(errors::SYNTAX);
            }
            match expire_at(v, ms, abs, ctx.now, "set") {
                Ok(at) => expiry = Expiry::At(at),
                Err(e) => return ctx.out.error(&e),
            }
            i += 2;
            continue;
        }
        if is(a, "NX") && !xx {
            nx = true;
        } else if is(a, "XX") && !nx {
            xx = true;
        } else if is(a, "GET") {
            get = true;
        } else if is(a, "KEEPTTL") && expiry == Expiry::None {
            expiry = Expiry::KeepTtl;
        } else {
            return ctx.out.error(errors::SYNTAX);
        }
        i += 1;
    }
    let now = ctx.now;
    let key = &args[1];
    let db = ctx.db();
    let old = db.get_mut(key, now).map(|e| (e.value.clone(), e.expire_at));
    if get {
        if let Some((v, _)) = &old {
            if !v.is_string() {
                return ctx.out.error(errors::WRONGTYPE);
            }
        }
    }
    if (nx && old.is_some()) || (xx && old.is_none()) {
        return match (get, &old) {
            (true, Some((v, _))) => reply_value(&mut ctx.out, v),
            _ => ctx.out.null(),
        };
    }
    let value = Value::string(&args[2]);
    match expiry {
        Expiry::At(at) if at <= now => {
            db.delete(key, now);
        }
        Expiry::At(at) => {
            db.set(key, value, at, now);
        }
        Expiry::KeepTtl => {
            db.set_keep_ttl(key, value, now);
        }
        Expiry::None | Expiry::Persist => {
            db.set(key, value, 0, now);
        }
    }
    match (get, old) {
        (false, _) => ctx.out.ok(),
        (true, Some((v, _))) => reply_value(&mut ctx.out, &v),
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
    ctx.out.int(1)
}

fn setex_generic(ctx: &mut Ctx, args: &[Bytes], unit_ms: bool, name: &str) {
    let at = match expire_at(&args[2], unit_ms, false, ctx.now, name) {
        Ok(at) => at,
        Err(e) => return ctx.out.error(&e),
    };
    let now = ctx.now;
    ctx.db().set(&args[1], Value::string(&args[3]), at, now);
    ctx.out.ok()
}

fn setex(ctx: &mut Ctx, args: &[Bytes]) {
    setex_generic(ctx, args, false, "setex")
}

fn psetex(ctx: &mut Ctx, args: &[Bytes]) {
    setex_generic(ctx, args, true, "psetex")
}

fn getset(ctx: &mut Ctx, args: &[Bytes]) {
    let now = ctx.now;
    let db = ctx.db();
    let old = db.get_mut(&args[1], now).map(|e| e.value.clone());
    match old {
        Some(v) if !v.is_string() => ctx.out.error(errors::WRONGTYPE),
        old => {
            db.set(&args[1], Value::string(&args[2]), 0, now);
            match old {
                Some(v) => reply_value(&mut ctx.out, &v),
                None => ctx.out.null(),
            }
        }
    }
}

fn getdel(ctx: &mut Ctx, args: &[Bytes]) {
    let now = ctx.now;
    let db = ctx.db();
    match db.get_mut(&args[1], now).map(|e| e.value.is_string()) {
        None => ctx.out.null(),
        Some(false) => ctx.out.error(errors::WRONGTYPE),
        Some(true) => {
            let e = db.remove(&args[1]).expect("key just found");
            reply_value(&mut ctx.out, &e.value)
        }
    }
}

fn getex(ctx: &mut Ctx, args: &[Bytes]) {
    let mut expiry = Expiry::None;
    let mut i = 2;
    while i < args.len() {
        let a = &args[i];
        let unit = if is(a, "EX") {
            Some((false, false))
        } else if is(a, "PX") {
            Some((true, false))
        } else if is(a, "EXAT") {
            Some((false, true))
        } else if is(a, "PXAT") {
            Some((true, true))
        } else {
            None
        };
        match (unit, args.get(i + 1)) {
            (Some((ms, abs)), Some(v)) if expiry == Expiry::None => {
                match expire_at(v, ms, abs, ctx.now, "getex") {
                    Ok(at) => expiry = Expiry::At(at),
                    Err(e) => return ctx.out.error(&e),
                }
                i += 2;
            }
            (None, _) if is(a, "PERSIST") && expiry == Expiry::None => {
                expiry = Expiry::Persist;
                i += 1;
            }
            _ => return ctx.out.error(errors::SYNTAX),
        }
    }
    let now = ctx.now;
    let db = ctx.db();
    let Some(id) = db.find(&args[1], now) else {
        return ctx.out.null();
    };
    let value = db.entry(id).value.clone();
    if !value.is_string() {
        return ctx.out.error(errors::WRONGTYPE);
    }
    match expiry {
        Expiry::At(at) if at <= now => {
            db.remove_id(id);
        }
        Expiry::At(at) => db.set_expire(id, at),
        Expiry::Persist => db.set_expire(id, 0),
        _ => {}
    }
    reply_value(&mut ctx.out, &value)
}

/// The integer held by a key for INCR and friends: 0 when absent.
fn int_value(db: &mut Db, key: &[u8], now: u64) -> Result<i64, &'static str> {
    match db.get_mut(key, now).map(|e| &e.value) {
        None => Ok(0),
        Some(Value::Int(n)) => Ok(*n),
        Some(v) => match v.string_bytes() {
            Some(b) => crate::proto::request::parse_i64(&b).ok_or(errors::NOT_INTEGER),
            None => Err(errors::WRONGTYPE),
        },
    }
}

fn incr_by(ctx: &mut Ctx, key: &[u8], by: i64) {
    let now = ctx.now;
    let db = ctx.db();
    let cur = match int_value(db, key, now) {
        Ok(n) => n,
        Err(e) => return ctx.out.error(e),
    };
    let Some(new) = cur.checked_add(by) else {
        return ctx.out.error(errors::OVERFLOW);
    };
    db.set_keep_ttl(key, Value::Int(new), now);
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

fn incrbyfloat(ctx: &mut Ctx, args: &[Bytes]) {
    let by = match args::float(&args[2]) {
        Ok(v) => v,
        Err(e) => return ctx.out.error(e),
    };
    let now = ctx.now;
    let db = ctx.db();
    let cur = match db.get_mut(&args[1], now).map(|e| e.value.string_bytes()) {
        None => 0.0,
        Some(None) => return ctx.out.error(errors::WRONGTYPE),
        Some(Some(b)) => match args::float(&b) {
            Ok(v) => v,
            Err(_) => return ctx.out.error(errors::NOT_FLOAT),
        },
    };
    let new = cur + by;
    if !new.is_finite() {
        return ctx.out.error(errors::INCR_NAN);
    }
    let text = crate::proto::reply::fmt_double(new);
    db.set_keep_ttl(&args[1], Value::string(text.as_bytes()), now);
    ctx.out.bulk(text.as_bytes())
}

/// The largest string SETRANGE and APPEND may build (proto-max-bulk-len).
fn max_string(ctx: &Ctx) -> u64 {
    ctx.shard.server.proto_max_bulk_len.load(std::sync::atomic::Ordering::Relaxed)
}

fn append(ctx: &mut Ctx, args: &[Bytes]) {
    let now = ctx.now;
    let limit = max_string(ctx);
    let db = ctx.db();
    let cur = match db.get_mut(&args[1], now).map(|e| e.value.string_bytes().map(|b| b.into_owned())) {
        None => Vec::new(),
        Some(None) => return ctx.out.error(errors::WRONGTYPE),
        Some(Some(b)) => b,
    };
    if (cur.len() + args[2].len()) as u64 > limit {
        return ctx.out.error(errors::STRING_TOO_LONG);
    }
    let mut new = cur;
    new.extend_from_slice(&args[2]);
    let len = new.len();
    db.set_keep_ttl(&args[1], Value::Str(Bytes::from(new)), now);
    ctx.out.int(len as i64)
}

fn strlen(ctx: &mut Ctx, args: &[Bytes]) {
    let now = ctx.now;
    match ctx.db().get_mut(&args[1], now).map(|e| e.value.string_bytes().map(|b| b.len())) {
        None => ctx.out.int(0),
        Some(None) => ctx.out.error(errors::WRONGTYPE),
        Some(Some(n)) => ctx.out.int(n as i64),
    }
}

fn getrange(ctx: &mut Ctx, args: &[Bytes]) {
    let (Ok(start), Ok(end)) = (args::int(&args[2]), args::int(&args[3])) else {
        return ctx.out.error(errors::NOT_INTEGER);
    };
    let now = ctx.now;
    let value = match ctx.db().get_mut(&args[1], now).map(|e| e.value.string_bytes().map(|b| b.into_owned())) {
        None => return ctx.out.bulk(b""),
        Some(None) => return ctx.out.error(errors::WRONGTYPE),
        Some(Some(b)) => b,
    };
    let len = value.len() as i64;
    if start < 0 && end < 0 && start > end {
        return ctx.out.bulk(b"");
    }
    let mut s = if start < 0 { len + start } else { start };
    let mut e = if end < 0 { len + end } else { end };
    s = s.max(0);
    e = e.max(0);
    if e >= len {
        e = len - 1;
    }
    if s > e || len == 0 {
        return ctx.out.bulk(b"");
    }
    ctx.out.bulk(&value[s as usize..=e as usize])
}

fn setrange(ctx: &mut Ctx, args: &[Bytes]) {
    let offset = match args::int(&args[2]) {
        Ok(o) if o < 0 => return ctx.out.error(errors::OFFSET_RANGE),
        Ok(o) => o as u64,
        Err(e) => return ctx.out.error(e),
    };
    let patch = &args[3];
    let now = ctx.now;
    let limit = max_string(ctx);
    let db = ctx.db();
    let cur = match db.get_mut(&args[1], now).map(|e| e.value.string_bytes().map(|b| b.into_owned())) {
        None => None,
        Some(None) => return ctx.out.error(errors::WRONGTYPE),
        Some(Some(b)) => Some(b),
    };
    if patch.is_empty() {
        return ctx.out.int(cur.map_or(0, |c| c.len() as i64));
    }
    if offset + patch.len() as u64 > limit {
        return ctx.out.error(errors::STRING_TOO_LONG);
    }
    let mut v = cur.unwrap_or_default();
    let end = offset as usize + patch.len();
    if v.len() < end {
        v.resize(end, 0);
    }
    v[offset as usize..end].copy_from_slice(patch);
    let len = v.len();
    db.set_keep_ttl(&args[1], Value::Str(Bytes::from(v)), now);
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
    let now = ctx.now;
    let db = ctx.db();
    for pair in args[1..].chunks(2) {
        db.set(&pair[0], Value::string(&pair[1]), 0, now);
    }
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
    for pair in args[1..].chunks(2) {
        db.set(&pair[0], Value::string(&pair[1]), 0, now);
    }
    ctx.out.int(1)
}

type KeyGroups = Vec<(usize, Vec<Bytes>)>;
type PairGroups = Vec<(usize, Vec<(Bytes, Bytes)>)>;

/// Key/value pairs grouped by owning shard, in ascending shard order, with the keys to lock.
fn pairs_by_shard(s: &Session, args: &[Bytes]) -> (KeyGroups, PairGroups) {
    let groups = s.group_keys(args[1..].iter().step_by(2));
    let mut parts: Vec<(usize, Vec<(Bytes, Bytes)>)> = groups.iter().map(|(sh, _)| (*sh, Vec::new())).collect();
    for pair in args[1..].chunks(2) {
        let sh = crate::shard::slot::key_shard(&pair[0], s.nshards());
        let part = parts.iter_mut().find(|(p, _)| *p == sh).expect("grouped");
        part.1.push((pair[0].clone(), pair[1].clone()));
    }
    (groups, parts)
}

fn set_pairs(shard: &mut Shard, db: usize, pairs: &[(Bytes, Bytes)]) {
    let now = crate::db::now_ms();
    for (k, v) in pairs {
        shard.dbs[db].set(k, Value::string(v), 0, now);
    }
}

fn mset_cross(s: &mut Session, args: Vec<Bytes>) -> LocalFuture<'_> {
    Box::pin(async move {
        if !check_pairs(s, &args, "mset") {
            return;
        }
        let (groups, parts) = pairs_by_shard(s, &args);
        let txid = s.lock(&groups, true).await;
        let db = s.db;
        s.run_parts(parts, move |shard, pairs| {
            set_pairs(shard, db, &pairs);
            shard.unlock(txid);
        })
        .await;
        s.reply().ok()
    })
}

fn msetnx_cross(s: &mut Session, args: Vec<Bytes>) -> LocalFuture<'_> {
    Box::pin(async move {
        if !check_pairs(s, &args, "msetnx") {
            return;
        }
        let (groups, parts) = pairs_by_shard(s, &args);
        let txid = s.lock(&groups, true).await;
        let db = s.db;
        let exists = s
            .run_parts(groups.clone(), move |shard, keys| {
                let now = crate::db::now_ms();
                keys.iter().any(|k| shard.dbs[db].contains(k, now))
            })
            .await;
        if exists.contains(&true) {
            s.unlock(groups.iter().map(|(sh, _)| *sh), txid);
            return s.reply().int(0);
        }
        s.run_parts(parts, move |shard, pairs| {
            set_pairs(shard, db, &pairs);
            shard.unlock(txid);
        })
        .await;
        s.reply().int(1)
    })
}

fn mget_cross(s: &mut Session, args: Vec<Bytes>) -> LocalFuture<'_> {
    Box::pin(async move {
        let groups = s.group_keys(args[1..].iter());
        let txid = s.lock(&groups, false).await;
        let db = s.db;
        let found = s
            .run_parts(groups.clone(), move |shard, keys| {
                let now = crate::db::now_ms();
                let values: Vec<(Bytes, Option<Value>)> = keys
                    .into_iter()
                    .map(|k| {
                        let v = shard.dbs[db].get_mut(&k, now).map(|e| e.value.clone()).filter(|v| v.is_string());
                        if v.is_some() {
                            shard.stats.keyspace_hits += 1;
                        } else {
                            shard.stats.keyspace_misses += 1;
                        }
                        (k, v)
                    })
                    .collect();
                shard.unlock(txid);
                values
            })
            .await;
        let all: Vec<(Bytes, Option<Value>)> = found.into_iter().flatten().collect();
        let mut o = s.reply();
        o.array(args.len() - 1);
        for key in &args[1..] {
            match all.iter().find(|(k, _)| k == key).and_then(|(_, v)| v.as_ref()) {
                Some(v) => reply_value(&mut o, v),
                None => o.null(),
            }
        }
    })
}
