//! Generic key commands: existence, deletion, types, expiry, renaming and copying, and the walks over the
//! keyspace (KEYS, SCAN, RANDOMKEY) that visit every shard.
//!
//! SCAN's cursor names a shard and a position inside it: `bucket_cursor * nshards + shard`. Each call walks one
//! shard's table (`Dict::scan`, Redis's reverse-binary cursor) and moves to the next shard when that one is done, so
//! the guarantees of Redis's SCAN hold over the whole keyspace.

use super::args::{self, is};
use super::spec::*;
use super::{Ctx, Handler, LocalFuture, Session};
use crate::db::{access_clock, Value};
use crate::glob::glob_match;
use crate::proto::errors;
use crate::shard::slot::key_shard;
use crate::shard::Shard;
use bytes::Bytes;

/// This family's commands, one line each (`spec` describes the fields), and their documentation text.
#[rustfmt::skip]
pub const FAMILY: Family = Family {
    docs: include_str!("docs/keys.txt"),
    specs: &[
        spec("del", -2, WRITE, range(1, -1, 1), Handler::Keys(del, del_cross)),
        spec("unlink", -2, WRITE | FAST, range(1, -1, 1), Handler::Keys(del, del_cross)),
        spec("exists", -2, READONLY | FAST, range(1, -1, 1), Handler::Keys(exists, exists_cross)),
        spec("type", 2, READONLY | FAST, key(1), Handler::Shard(type_cmd)),
        spec("keys", 2, READONLY, NO_KEYS, Handler::Conn(keys)).acl(acl::DANGEROUS),
        spec("scan", -2, READONLY, NO_KEYS, Handler::Conn(scan)),
        spec("randomkey", 1, READONLY, NO_KEYS, Handler::Conn(randomkey)),
        spec("rename", 3, WRITE, range(1, 2, 1), Handler::Keys(rename, rename_cross)),
        spec("renamenx", 3, WRITE | FAST, range(1, 2, 1), Handler::Keys(renamenx, renamenx_cross)),
        spec("copy", -3, WRITE | DENYOOM, range(1, 2, 1), Handler::Keys(copy, copy_cross)),
        spec("move", 3, WRITE | FAST, key(1), Handler::Shard(move_cmd)),
        spec("touch", -2, READONLY | FAST, range(1, -1, 1), Handler::Keys(touch, touch_cross)),
        spec("expire", -3, WRITE | FAST, key(1), Handler::Shard(expire)),
        spec("pexpire", -3, WRITE | FAST, key(1), Handler::Shard(pexpire)),
        spec("expireat", -3, WRITE | FAST, key(1), Handler::Shard(expireat)),
        spec("pexpireat", -3, WRITE | FAST, key(1), Handler::Shard(pexpireat)),
        spec("ttl", 2, READONLY | FAST, key(1), Handler::Shard(ttl)),
        spec("pttl", 2, READONLY | FAST, key(1), Handler::Shard(pttl)),
        spec("expiretime", 2, READONLY | FAST, key(1), Handler::Shard(expiretime)),
        spec("pexpiretime", 2, READONLY | FAST, key(1), Handler::Shard(pexpiretime)),
        spec("persist", 2, WRITE | FAST, key(1), Handler::Shard(persist)),
        listed("object", -2, NO_FLAGS, NO_KEYS),
        spec("object|encoding", 3, READONLY, key(2), Handler::Shard(object_encoding)),
        spec("object|freq", 3, READONLY, key(2), Handler::Shard(object_freq)),
        spec("object|idletime", 3, READONLY, key(2), Handler::Shard(object_idletime)),
        spec("object|refcount", 3, READONLY, key(2), Handler::Shard(object_refcount)),
        spec("object|help", 2, LOADING | STALE, NO_KEYS, Handler::Shard(object_help)),
    ],
};

fn del(ctx: &mut Ctx, args: &[Bytes]) {
    let now = ctx.now;
    let mut n = 0;
    for k in &args[1..] {
        if ctx.db().delete(k, now) {
            ctx.modified(k);
            n += 1;
        }
    }
    ctx.out.int(n as i64)
}

fn exists(ctx: &mut Ctx, args: &[Bytes]) {
    let now = ctx.now;
    let db = ctx.db();
    let n = args[1..].iter().filter(|k| db.contains(k, now)).count();
    ctx.out.int(n as i64)
}

fn touch(ctx: &mut Ctx, args: &[Bytes]) {
    let now = ctx.now;
    let db = ctx.db();
    let n = args[1..].iter().filter(|k| db.touch(k, now)).count();
    ctx.out.int(n as i64)
}

/// Splits a multi-key command by shard and sums the shards' counts. The keys are locked first (exclusively for
/// DEL), like MGET's, so that the command never lands in the middle of a cross-shard RENAME or MSET.
async fn count_across(
    s: &mut Session,
    args: Vec<Bytes>,
    exclusive: bool,
    op: fn(&mut Shard, usize, &[u8], u64) -> bool,
) {
    let n = s.nshards();
    // Duplicates stay: EXISTS counts a key each time it is named.
    let mut parts: Vec<(usize, Vec<Bytes>)> = Vec::new();
    for k in &args[1..] {
        let sh = key_shard(k, n);
        match parts.iter_mut().find(|(p, _)| *p == sh) {
            Some((_, v)) => v.push(k.clone()),
            None => parts.push((sh, vec![k.clone()])),
        }
    }
    let groups = s.shards.group_keys(&args[1..]);
    let txid = s.shards.lock(&groups, exclusive).await;
    let db = s.db;
    let counts = s
        .shards
        .run_parts(parts, move |shard, keys| {
            let now = crate::db::now_ms();
            let n = keys.iter().filter(|k| op(shard, db, k, now)).count();
            shard.unlock(txid);
            n
        })
        .await;
    s.reply().int(counts.iter().sum::<usize>() as i64)
}

fn del_cross(s: &mut Session, args: Vec<Bytes>) -> LocalFuture<'_> {
    Box::pin(count_across(s, args, true, |sh, db, k, now| {
        let deleted = sh.dbs[db].delete(k, now);
        if deleted {
            sh.modified(db, k);
        }
        deleted
    }))
}

fn exists_cross(s: &mut Session, args: Vec<Bytes>) -> LocalFuture<'_> {
    Box::pin(count_across(s, args, false, |sh, db, k, now| sh.dbs[db].contains(k, now)))
}

fn touch_cross(s: &mut Session, args: Vec<Bytes>) -> LocalFuture<'_> {
    Box::pin(count_across(s, args, false, |sh, db, k, now| sh.dbs[db].touch(k, now)))
}

fn type_cmd(ctx: &mut Ctx, args: &[Bytes]) {
    let now = ctx.now;
    let name = ctx.db().peek(&args[1], now).map_or("none", |e| e.value.type_name());
    ctx.out.simple(name)
}

fn keys(s: &mut Session, args: Vec<Bytes>) -> LocalFuture<'_> {
    Box::pin(async move {
        let pattern = args[1].clone();
        let db = s.db;
        let found = s
            .shards
            .on_all_shards(move |shard| {
                let now = crate::db::now_ms();
                let all = pattern.as_ref() == b"*";
                shard.dbs[db]
                    .iter()
                    .filter(|(k, e)| (e.expire_at == 0 || e.expire_at > now) && (all || glob_match(&pattern, k, false)))
                    .map(|(k, _)| Bytes::copy_from_slice(k))
                    .collect::<Vec<Bytes>>()
            })
            .await;
        let n: usize = found.iter().map(Vec::len).sum();
        let mut o = s.reply();
        o.array(n);
        for k in found.iter().flatten() {
            o.bulk(k);
        }
    })
}

/// SCAN's options, parsed once.
#[derive(Clone)]
struct ScanOpts {
    pattern: Option<Bytes>,
    count: usize,
    kind: Option<Bytes>,
}

/// A SCAN cursor as Redis's `string2ull` reads it: a decimal `u64` (negative integers refused), or failing that
/// whatever `strtoull` accepts whole (leading spaces, a sign, `-0`); the argument ends at its first NUL as a C
/// string does.
fn parse_cursor(arg: &[u8]) -> Option<u64> {
    let s = &arg[..memchr_nul(arg)];
    if let Some(v) = crate::text::parse_i64(s) {
        return u64::try_from(v).ok();
    }
    let mut i = s.iter().take_while(|c| matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')).count();
    let neg = s.get(i) == Some(&b'-');
    if matches!(s.get(i), Some(b'-' | b'+')) {
        i += 1;
    }
    let digits = &s[i..];
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let v = digits.iter().try_fold(0u64, |v, &d| v.checked_mul(10)?.checked_add((d - b'0') as u64))?;
    Some(if neg { v.wrapping_neg() } else { v })
}

fn memchr_nul(b: &[u8]) -> usize {
    b.iter().position(|&c| c == 0).unwrap_or(b.len())
}

fn scan_opts(args: &[Bytes]) -> Result<ScanOpts, &'static str> {
    let mut opts = ScanOpts { pattern: None, count: 10, kind: None };
    let mut i = 2;
    while i < args.len() {
        let Some(v) = args.get(i + 1) else {
            return Err(errors::SYNTAX);
        };
        if is(&args[i], "COUNT") {
            match args::int(v)? {
                c if c >= 1 => opts.count = c as usize,
                _ => return Err(errors::SYNTAX),
            }
        } else if is(&args[i], "MATCH") {
            opts.pattern = Some(v.clone()).filter(|p| p.as_ref() != b"*");
        } else if is(&args[i], "TYPE") {
            // An unknown type name matches nothing (Redis 7.4 postpones the error to 8.0).
            opts.kind = Some(v.clone());
        } else {
            return Err(errors::SYNTAX);
        }
        i += 2;
    }
    Ok(opts)
}

/// SCAN over the shards in turn. Like Redis, one call walks buckets until it has visited COUNT keys (expired
/// ones included, and deleted on the way) or ten times COUNT buckets, moving on to the next shard whenever one is
/// done, so a small keyspace comes back whole with cursor 0.
fn scan(s: &mut Session, args: Vec<Bytes>) -> LocalFuture<'_> {
    Box::pin(async move {
        let Some(cursor) = parse_cursor(&args[1]) else {
            return s.reply().error("ERR invalid cursor");
        };
        let opts = match scan_opts(&args) {
            Ok(o) => o,
            Err(e) => return s.reply().error(e),
        };
        let n = s.nshards() as u64;
        let mut shard = (cursor % n) as usize;
        let mut inner = cursor / n;
        let db = s.db;
        let mut keys: Vec<Bytes> = Vec::new();
        let mut visited = 0;
        // Redis's `do { .. } while (cursor && maxiterations-- && sampled < count)`: at most COUNT*10+1 steps.
        let mut steps_left = opts.count.saturating_mul(10).saturating_add(1);
        loop {
            let opts = opts.clone();
            let (found, next, seen, steps) = s
                .shards
                .on_shard(shard, move |sh| {
                    let now = crate::db::now_ms();
                    let mut found = Vec::new();
                    let (mut c, mut seen, mut steps) = (inner, visited, 0);
                    loop {
                        let (next, v) = sh.dbs[db].scan_reclaim(c, now, |k, e| {
                            if opts.pattern.as_ref().is_some_and(|p| !glob_match(p, k, false)) {
                                return;
                            }
                            if opts
                                .kind
                                .as_ref()
                                .is_some_and(|t| !t.eq_ignore_ascii_case(e.value.type_name().as_bytes()))
                            {
                                return;
                            }
                            found.push(Bytes::copy_from_slice(k));
                        });
                        c = next;
                        seen += v;
                        steps += 1;
                        if c == 0 || steps >= steps_left || seen >= opts.count {
                            break;
                        }
                    }
                    (found, c, seen, steps)
                })
                .await;
            keys.extend(found);
            visited = seen;
            steps_left -= steps;
            inner = next;
            if inner == 0 {
                shard += 1;
            }
            if shard as u64 >= n || steps_left == 0 || visited >= opts.count {
                break;
            }
        }
        let next_cursor = if shard as u64 >= n { 0 } else { inner * n + shard as u64 };
        let mut o = s.reply();
        o.array(2);
        o.bulk(next_cursor.to_string().as_bytes());
        o.array(keys.len());
        for k in &keys {
            o.bulk(k);
        }
    })
}

/// RANDOMKEY: a shard picked in proportion to its size, then a key in it. A shard whose keys all turn out to
/// have expired has been emptied by the attempt, so the retries end.
fn randomkey(s: &mut Session, _args: Vec<Bytes>) -> LocalFuture<'_> {
    Box::pin(async move {
        let db = s.db;
        loop {
            let sizes = s.shards.on_all_shards(move |sh| sh.dbs[db].len()).await;
            let total: usize = sizes.iter().sum();
            if total == 0 {
                return s.reply().null();
            }
            let mut pick = (s.shard.borrow_mut().random() % total as u64) as usize;
            let mut target = 0;
            for (i, n) in sizes.iter().enumerate() {
                if pick < *n {
                    target = i;
                    break;
                }
                pick -= n;
            }
            let key = s
                .shards
                .on_shard(target, move |sh| {
                    let seed = sh.random();
                    sh.dbs[db].random_key(seed, crate::db::now_ms())
                })
                .await;
            if let Some(k) = key {
                return s.reply().bulk(&k);
            }
        }
    })
}

/// RENAME and RENAMENX on one shard.
fn rename_generic(ctx: &mut Ctx, args: &[Bytes], nx: bool) {
    let now = ctx.now;
    let db = ctx.db();
    if db.find(&args[1], now).is_none() {
        return ctx.out.error(errors::NO_SUCH_KEY);
    }
    if args[1] == args[2] {
        return if nx { ctx.out.int(0) } else { ctx.out.ok() };
    }
    if nx && db.contains(&args[2], now) {
        return ctx.out.int(0);
    }
    let e = db.remove(&args[1]).expect("key just found");
    db.set(&args[2], e.value, e.expire_at, now);
    ctx.modified(&args[1]);
    ctx.modified(&args[2]);
    if nx {
        ctx.out.int(1)
    } else {
        ctx.out.ok()
    }
}

fn rename(ctx: &mut Ctx, args: &[Bytes]) {
    rename_generic(ctx, args, false)
}

fn renamenx(ctx: &mut Ctx, args: &[Bytes]) {
    rename_generic(ctx, args, true)
}

/// Why a rename between shards renamed nothing.
enum Unrenamed {
    NoSuchKey,
    DestinationExists,
}

/// RENAME/RENAMENX between shards (`Shards::move_across`, as LMOVE between shards): the entry moves with its TTL.
async fn rename_across(s: &mut Session, args: Vec<Bytes>, nx: bool) {
    let db = s.db;
    let (src, k, d, dst) = (args[1].clone(), args[1].clone(), args[2].clone(), args[2].clone());
    let renamed = s
        .shards
        .move_across(
            &args[1],
            &args[2],
            move |sh| if sh.dbs[db].contains(&k, crate::db::now_ms()) { Ok(()) } else { Err(Unrenamed::NoSuchKey) },
            move |sh| sh.dbs[db].contains(&d, crate::db::now_ms()),
            move |dst_exists| (nx && dst_exists).then_some(Unrenamed::DestinationExists),
            move |sh| {
                let taken = sh.dbs[db].remove(&src).map(|e| (e.value, e.expire_at));
                if taken.is_some() {
                    sh.modified(db, &src);
                }
                (taken, ())
            },
            move |sh, entry| {
                if let Some((value, at)) = entry {
                    sh.dbs[db].set(&dst, value, at, crate::db::now_ms());
                    sh.modified(db, &dst);
                }
            },
        )
        .await;
    match renamed {
        Ok(()) if nx => s.reply().int(1),
        Ok(()) => s.reply().ok(),
        Err(Unrenamed::NoSuchKey) => s.reply().error(errors::NO_SUCH_KEY),
        Err(Unrenamed::DestinationExists) => s.reply().int(0),
    }
}

fn rename_cross(s: &mut Session, args: Vec<Bytes>) -> LocalFuture<'_> {
    Box::pin(rename_across(s, args, false))
}

fn renamenx_cross(s: &mut Session, args: Vec<Bytes>) -> LocalFuture<'_> {
    Box::pin(rename_across(s, args, true))
}

/// COPY's options: destination database and REPLACE.
fn copy_opts(args: &[Bytes], current: usize, databases: usize) -> Result<(usize, bool), String> {
    let mut db = current;
    let mut replace = false;
    let mut i = 3;
    while i < args.len() {
        if is(&args[i], "REPLACE") {
            replace = true;
            i += 1;
        } else if is(&args[i], "DB") && i + 1 < args.len() {
            match args::int(&args[i + 1]) {
                Ok(d) if d >= 0 && (d as usize) < databases => db = d as usize,
                Ok(d) if i32::try_from(d).is_ok() => return Err(errors::DB_INDEX_RANGE.into()),
                Ok(_) => return Err(INT_RANGE.into()),
                Err(e) => return Err(e.into()),
            }
            i += 2;
        } else {
            return Err(errors::SYNTAX.into());
        }
    }
    Ok((db, replace))
}

fn copy(ctx: &mut Ctx, args: &[Bytes]) {
    let databases = ctx.shard.dbs.len();
    let (dst_db, replace) = match copy_opts(args, ctx.db, databases) {
        Ok(o) => o,
        Err(e) => return ctx.out.error(&e),
    };
    if args[1] == args[2] && dst_db == ctx.db {
        return ctx.out.error(errors::SAME_OBJECT);
    }
    let now = ctx.now;
    let Some(e) = ctx.db().peek(&args[1], now) else {
        return ctx.out.int(0);
    };
    let (value, at) = (e.value.clone(), e.expire_at);
    let dst = &mut ctx.shard.dbs[dst_db];
    if dst.contains(&args[2], now) && !replace {
        return ctx.out.int(0);
    }
    dst.set(&args[2], value, at, now);
    ctx.shard.modified(dst_db, &args[2]);
    ctx.out.int(1)
}

fn copy_cross(s: &mut Session, args: Vec<Bytes>) -> LocalFuture<'_> {
    Box::pin(async move {
        let (dst_db, replace) = match copy_opts(&args, s.db, s.shared.databases) {
            Ok(o) => o,
            Err(e) => return s.reply().error(&e),
        };
        let (src, dst) = (args[1].clone(), args[2].clone());
        let (txid, ss, ds) = s.shards.lock_pair(&src, &dst).await;
        let db = s.db;
        let value = s
            .shards
            .on_shard(ss, move |sh| {
                let v = sh.dbs[db].peek(&src, crate::db::now_ms()).map(|e| (e.value.clone(), e.expire_at));
                sh.unlock(txid);
                v
            })
            .await;
        let copied = s
            .shards
            .on_shard(ds, move |sh| {
                let now = crate::db::now_ms();
                let done = match value {
                    Some((v, at)) if replace || !sh.dbs[dst_db].contains(&dst, now) => {
                        sh.dbs[dst_db].set(&dst, v, at, now);
                        sh.modified(dst_db, &dst);
                        true
                    }
                    _ => false,
                };
                sh.unlock(txid);
                done
            })
            .await;
        s.reply().int(copied as i64)
    })
}

fn move_cmd(ctx: &mut Ctx, args: &[Bytes]) {
    let target = match args::int(&args[2]) {
        Ok(d) if d >= 0 && (d as usize) < ctx.shard.dbs.len() => d as usize,
        Ok(d) if i32::try_from(d).is_ok() => return ctx.out.error(errors::DB_INDEX_RANGE),
        Ok(_) => return ctx.out.error(INT_RANGE),
        Err(e) => return ctx.out.error(e),
    };
    if target == ctx.db {
        return ctx.out.error(errors::SAME_OBJECT);
    }
    let now = ctx.now;
    if ctx.db().find(&args[1], now).is_none() || ctx.shard.dbs[target].contains(&args[1], now) {
        return ctx.out.int(0);
    }
    let e = ctx.db().remove(&args[1]).expect("key just found");
    ctx.shard.dbs[target].set(&args[1], e.value, e.expire_at, now);
    ctx.modified(&args[1]);
    ctx.shard.modified(target, &args[1]);
    ctx.out.int(1)
}

/// Redis's `getIntFromObjectOrReply` error for an integer beyond 32 bits.
const INT_RANGE: &str = "ERR value is out of range, value must between -2147483648 and 2147483647";

/// EXPIRE's NX/XX/GT/LT conditions.
#[derive(Default)]
struct ExpireCond {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
}

/// EXPIRE, PEXPIRE, EXPIREAT and PEXPIREAT, checked in Redis's order: the options, then the number, then
/// overflow, then the key.
fn expire_generic(ctx: &mut Ctx, args: &[Bytes], unit_ms: bool, absolute: bool, name: &str) {
    let mut c = ExpireCond::default();
    for a in &args[3..] {
        if is(a, "NX") {
            c.nx = true;
        } else if is(a, "XX") {
            c.xx = true;
        } else if is(a, "GT") {
            c.gt = true;
        } else if is(a, "LT") {
            c.lt = true;
        } else {
            return ctx.out.error(&format!("ERR Unsupported option {}", c_string_arg(a)));
        }
    }
    if c.nx && (c.xx || c.gt || c.lt) {
        return ctx.out.error("ERR NX and XX, GT or LT options at the same time are not compatible");
    }
    if c.gt && c.lt {
        return ctx.out.error("ERR GT and LT options at the same time are not compatible");
    }
    let v = match args::int(&args[2]) {
        Ok(v) => v,
        Err(e) => return ctx.out.error(e),
    };
    let now = ctx.now as i64;
    let ms = if unit_ms { Some(v) } else { v.checked_mul(1000) };
    let at = ms.and_then(|ms| if absolute { Some(ms) } else { ms.checked_add(now) });
    let Some(at) = at else {
        return ctx.out.error(&errors::invalid_expire(name));
    };
    let db = ctx.db();
    let Some(id) = db.find(&args[1], now as u64) else {
        return ctx.out.int(0);
    };
    let cur = db.entry(id).expire_at;
    let ok = if c.nx {
        cur == 0
    } else if c.xx && cur == 0 {
        false
    } else if c.gt {
        cur != 0 && at > cur as i64
    } else if c.lt {
        cur == 0 || at < cur as i64
    } else {
        true
    };
    if !ok {
        return ctx.out.int(0);
    }
    if at <= now {
        db.remove_id(id);
    } else {
        db.set_expire(id, at as u64);
    }
    ctx.modified(&args[1]);
    ctx.out.int(1)
}

fn expire(ctx: &mut Ctx, args: &[Bytes]) {
    expire_generic(ctx, args, false, false, "expire")
}

fn pexpire(ctx: &mut Ctx, args: &[Bytes]) {
    expire_generic(ctx, args, true, false, "pexpire")
}

fn expireat(ctx: &mut Ctx, args: &[Bytes]) {
    expire_generic(ctx, args, false, true, "expireat")
}

fn pexpireat(ctx: &mut Ctx, args: &[Bytes]) {
    expire_generic(ctx, args, true, true, "pexpireat")
}

/// TTL-style replies: -2 missing, -1 persistent, else `f(expire_at)`.
/// An argument as `%s` prints it inside a Redis error: up to its first NUL, with CR and LF turned into spaces
/// (trailing ones dropped).
fn c_string_arg(a: &[u8]) -> String {
    let cut = &a[..memchr_nul(a)];
    let text = String::from_utf8_lossy(cut);
    text.trim_end_matches(['\r', '\n']).replace(['\r', '\n'], " ")
}

fn ttl_generic(ctx: &mut Ctx, key: &[u8], f: impl Fn(u64, u64) -> i64) {
    let now = ctx.now;
    match ctx.db().peek(key, now).map(|e| e.expire_at) {
        None => ctx.out.int(-2),
        Some(0) => ctx.out.int(-1),
        Some(at) => ctx.out.int(f(at, now)),
    }
}

fn ttl(ctx: &mut Ctx, args: &[Bytes]) {
    ttl_generic(ctx, &args[1], |at, now| ((at - now + 500) / 1000) as i64)
}

fn pttl(ctx: &mut Ctx, args: &[Bytes]) {
    ttl_generic(ctx, &args[1], |at, now| (at - now) as i64)
}

/// Rounded to the nearest second like TTL (`(expire+500)/1000`), not truncated.
fn expiretime(ctx: &mut Ctx, args: &[Bytes]) {
    ttl_generic(ctx, &args[1], |at, _| ((at + 500) / 1000) as i64)
}

fn pexpiretime(ctx: &mut Ctx, args: &[Bytes]) {
    ttl_generic(ctx, &args[1], |at, _| at as i64)
}

fn persist(ctx: &mut Ctx, args: &[Bytes]) {
    let now = ctx.now;
    let db = ctx.db();
    match db.find(&args[1], now) {
        Some(id) if db.entry(id).expire_at != 0 => {
            db.set_expire(id, 0);
            ctx.modified(&args[1]);
            ctx.out.int(1)
        }
        _ => ctx.out.int(0),
    }
}

fn object_encoding(ctx: &mut Ctx, args: &[Bytes]) {
    let now = ctx.now;
    match ctx.db().peek(&args[2], now).map(|e| e.value.encoding()) {
        Some(enc) => ctx.out.bulk(enc.as_bytes()),
        None => ctx.out.null(),
    }
}

fn object_freq(ctx: &mut Ctx, args: &[Bytes]) {
    let now = ctx.now;
    if ctx.db().peek(&args[2], now).is_none() {
        return ctx.out.null();
    }
    ctx.out.error(
        "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when \
         switching between policies at runtime LRU and LFU data will take some time to adjust.",
    )
}

fn object_idletime(ctx: &mut Ctx, args: &[Bytes]) {
    let now = ctx.now;
    match ctx.db().peek(&args[2], now).map(|e| e.access) {
        Some(at) => ctx.out.int(access_clock(now).saturating_sub(at) as i64),
        None => ctx.out.null(),
    }
}

fn object_refcount(ctx: &mut Ctx, args: &[Bytes]) {
    let now = ctx.now;
    match ctx.db().peek(&args[2], now).map(|e| e.value.clone()) {
        // Redis shares the objects of small integers and reports them with INT_MAX references.
        Some(Value::Int(n)) if (0..10000).contains(&n) => ctx.out.int(i32::MAX as i64),
        Some(_) => ctx.out.int(1),
        None => ctx.out.null(),
    }
}

const OBJECT_HELP: &[&str] = &[
    "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "ENCODING <key>",
    "    Return the kind of internal representation used in order to store the value",
    "    associated with a <key>.",
    "FREQ <key>",
    "    Return the access frequency index of the <key>. The returned integer is",
    "    proportional to the logarithm of the recent access frequency of the key.",
    "IDLETIME <key>",
    "    Return the idle time of the <key>, that is the approximated number of",
    "    seconds elapsed since the last access to the key.",
    "REFCOUNT <key>",
    "    Return the number of references of the value associated with the specified",
    "    <key>.",
    "HELP",
    "    Prints this help.",
];

fn object_help(ctx: &mut Ctx, _args: &[Bytes]) {
    super::client::help(&mut ctx.out, OBJECT_HELP)
}
