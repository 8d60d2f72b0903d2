//! List commands, and the blocking pops that job queues are built on.
//!
//! Lists are `db::list::List` (packed nodes of many elements). An emptied list is deleted. Commands that add to a
//! list report it through the write path (`Ctx::modified`, `Shard::modified`), which serves clients blocked on it
//! once the command completes; every change to a list is reported there, and only a real change.
//!
//! The blocking commands run their non-blocking form first; when every key is empty they register the client as
//! a waiter on the keys' shard(s) (`shard::blocking`) in the same step, and the connection waits for a wake, its
//! timeout, CLIENT UNBLOCK or a disconnect. Commands whose keys span shards (LMOVE, BLMOVE, multi-key pops) run
//! under the multi-shard locks, so moving an element between shards is atomic.

use super::args::{self, is};
use super::spec::*;
use super::{Ctx, Handler, LocalFuture, Session};
use crate::db::list::{Elem, List};
use crate::db::Value;
use crate::proto::{errors, Out};
use crate::shard::blocking::{Finish, Undo};
use crate::shard::slot::key_shard;
use crate::shard::Shard;
use bytes::Bytes;

/// This family's commands, one line each (`spec` describes the fields), and their documentation text.
#[rustfmt::skip]
pub const FAMILY: Family = Family {
    docs: include_str!("docs/lists.txt"),
    specs: &[
        spec("lpush", -3, WRITE | DENYOOM | FAST, key(1), Handler::Shard(lpush)),
        spec("rpush", -3, WRITE | DENYOOM | FAST, key(1), Handler::Shard(rpush)),
        spec("lpushx", -3, WRITE | DENYOOM | FAST, key(1), Handler::Shard(lpushx)),
        spec("rpushx", -3, WRITE | DENYOOM | FAST, key(1), Handler::Shard(rpushx)),
        spec("lpop", -2, WRITE | FAST, key(1), Handler::Shard(lpop)),
        spec("rpop", -2, WRITE | FAST, key(1), Handler::Shard(rpop)),
        spec("llen", 2, READONLY | FAST, key(1), Handler::Shard(llen)),
        spec("lrange", 4, READONLY, key(1), Handler::Shard(lrange)),
        spec("lindex", 3, READONLY, key(1), Handler::Shard(lindex)),
        spec("lset", 4, WRITE | DENYOOM, key(1), Handler::Shard(lset)),
        spec("linsert", 5, WRITE | DENYOOM, key(1), Handler::Shard(linsert)),
        spec("lrem", 4, WRITE, key(1), Handler::Shard(lrem)),
        spec("ltrim", 4, WRITE, key(1), Handler::Shard(ltrim)),
        spec("lpos", -3, READONLY, key(1), Handler::Shard(lpos)),
        spec("lmove", 5, WRITE | DENYOOM, range(1, 2, 1), Handler::Keys(lmove, lmove_cross)),
        spec("rpoplpush", 3, WRITE | DENYOOM, range(1, 2, 1), Handler::Keys(rpoplpush, rpoplpush_cross)),
        spec("lmpop", -4, WRITE, numkeys(1), Handler::Keys(lmpop, pop_cross)),
        spec("blpop", -3, WRITE | NOSCRIPT | BLOCKING, range(1, -2, 1), Handler::Keys(blpop, pop_cross)).timeout_at(-1),
        spec("brpop", -3, WRITE | NOSCRIPT | BLOCKING, range(1, -2, 1), Handler::Keys(brpop, pop_cross)).timeout_at(-1),
        spec("blmove", 6, WRITE | DENYOOM | NOSCRIPT | BLOCKING, range(1, 2, 1), Handler::Keys(blmove, lmove_cross)).timeout_at(-1),
        spec("brpoplpush", 4, WRITE | DENYOOM | NOSCRIPT | BLOCKING, range(1, 2, 1), Handler::Keys(brpoplpush, rpoplpush_cross)).timeout_at(-1),
        spec("blmpop", -5, WRITE | BLOCKING, numkeys(2), Handler::Keys(blmpop, pop_cross)).timeout_at(1),
    ],
};

/// Which end of a list.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum End {
    Head,
    Tail,
}

impl End {
    fn parse(arg: &[u8]) -> Option<End> {
        if is(arg, "LEFT") {
            Some(End::Head)
        } else if is(arg, "RIGHT") {
            Some(End::Tail)
        } else {
            None
        }
    }
}

/// A key's list for reading: Ok(None) when absent, Err when it holds another type.
fn list_ref<'a>(ctx: &'a mut Ctx, key: &[u8]) -> Result<Option<&'a mut List>, ()> {
    let now = ctx.now;
    let db = ctx.db;
    match ctx.shard.dbs[db].get_mut(key, now) {
        None => Ok(None),
        Some(e) => match &mut e.value {
            Value::List(l) => Ok(Some(l)),
            _ => Err(()),
        },
    }
}

/// Deletes a key whose list has become empty (Redis never keeps empty lists).
fn drop_if_empty(shard: &mut Shard, db: usize, key: &[u8], now: u64) {
    if let Some(e) = shard.dbs[db].peek(key, now) {
        if matches!(&e.value, Value::List(l) if l.is_empty()) {
            shard.dbs[db].remove(key);
        }
    }
}

fn push(ctx: &mut Ctx, args: &[Bytes], end: End, only_existing: bool) {
    let now = ctx.now;
    let db = ctx.db;
    let key = &args[1];
    let store = &mut ctx.shard.dbs[db];
    let list = match store.get_mut(key, now) {
        Some(e) => match &mut e.value {
            Value::List(l) => l,
            _ => return ctx.out.error(errors::WRONGTYPE),
        },
        None if only_existing => return ctx.out.int(0),
        None => {
            let id = store.set(key, Value::List(Box::default()), 0, now);
            match &mut store.entry_mut(id).value {
                Value::List(l) => l,
                _ => unreachable!("just stored a list"),
            }
        }
    };
    list.before_growth(args[2..].iter().map(|v| v.len()).sum());
    for v in &args[2..] {
        match end {
            End::Head => list.push_front(v),
            End::Tail => list.push_back(v),
        }
    }
    let len = list.len();
    ctx.modified(key);
    ctx.out.int(len as i64)
}

fn lpush(ctx: &mut Ctx, args: &[Bytes]) {
    push(ctx, args, End::Head, false)
}

fn rpush(ctx: &mut Ctx, args: &[Bytes]) {
    push(ctx, args, End::Tail, false)
}

fn lpushx(ctx: &mut Ctx, args: &[Bytes]) {
    push(ctx, args, End::Head, true)
}

fn rpushx(ctx: &mut Ctx, args: &[Bytes]) {
    push(ctx, args, End::Tail, true)
}

/// Pops up to `count` elements from one end of a key's list, deleting it when emptied.
fn pop_n(shard: &mut Shard, db: usize, key: &[u8], end: End, count: usize, now: u64) -> Vec<Bytes> {
    let mut out = Vec::new();
    if let Some(e) = shard.dbs[db].get_mut(key, now) {
        if let Value::List(l) = &mut e.value {
            for _ in 0..count {
                let v = match end {
                    End::Head => l.pop_front(),
                    End::Tail => l.pop_back(),
                };
                match v {
                    Some(v) => out.push(v),
                    None => break,
                }
            }
            l.after_shrink();
        }
    }
    drop_if_empty(shard, db, key, now);
    if !out.is_empty() {
        shard.modified(db, key);
    }
    out
}

/// LPOP/RPOP `key [count]`: one element as a bulk string, or with a count an array (empty for count 0).
fn pop(ctx: &mut Ctx, args: &[Bytes], end: End) {
    // The table's arity is -2 (Redis checks the upper bound in the command).
    if args.len() > 3 {
        let name = if end == End::Head { "lpop" } else { "rpop" };
        return ctx.out.error(&errors::wrong_arity(name));
    }
    let count = match args.get(2) {
        None => None,
        Some(a) => match args::int(a) {
            Ok(n) if n >= 0 => Some(n as usize),
            _ => return ctx.out.error("ERR value is out of range, must be positive"),
        },
    };
    match list_ref(ctx, &args[1]) {
        Err(()) => return ctx.out.error(errors::WRONGTYPE),
        Ok(None) => {
            return if count.is_some() { ctx.out.null_array() } else { ctx.out.null() };
        }
        Ok(Some(_)) => {}
    }
    let (db, now) = (ctx.db, ctx.now);
    let values = pop_n(ctx.shard, db, &args[1], end, count.unwrap_or(1), now);
    match count {
        None => ctx.out.bulk(&values[0]),
        Some(_) => {
            ctx.out.array(values.len());
            for v in &values {
                ctx.out.bulk(v);
            }
        }
    }
}

fn lpop(ctx: &mut Ctx, args: &[Bytes]) {
    pop(ctx, args, End::Head)
}

fn rpop(ctx: &mut Ctx, args: &[Bytes]) {
    pop(ctx, args, End::Tail)
}

fn llen(ctx: &mut Ctx, args: &[Bytes]) {
    match list_ref(ctx, &args[1]) {
        Err(()) => ctx.out.error(errors::WRONGTYPE),
        Ok(l) => {
            let n = l.map_or(0, |l| l.len());
            ctx.out.int(n as i64)
        }
    }
}

/// Converts Redis start/stop indexes (negative from the end) into a clamped inclusive range, or None if empty.
fn clamp_range(start: i64, stop: i64, len: usize) -> Option<(usize, usize)> {
    let len = len as i64;
    let mut s = if start < 0 { len + start } else { start };
    let mut e = if stop < 0 { len + stop } else { stop };
    if s < 0 {
        s = 0;
    }
    if s > e || s >= len {
        return None;
    }
    if e >= len {
        e = len - 1;
    }
    Some((s as usize, e as usize))
}

fn lrange(ctx: &mut Ctx, args: &[Bytes]) {
    let (Ok(start), Ok(stop)) = (args::int(&args[2]), args::int(&args[3])) else {
        return ctx.out.error(errors::NOT_INTEGER);
    };
    let now = ctx.now;
    let db = ctx.db;
    let Ctx { shard, out, .. } = ctx;
    let list = match shard.dbs[db].get_mut(&args[1], now) {
        None => return out.array(0),
        Some(e) => match &e.value {
            Value::List(l) => l,
            _ => return out.error(errors::WRONGTYPE),
        },
    };
    match clamp_range(start, stop, list.len()) {
        None => out.array(0),
        Some((s, e)) => {
            out.array(e - s + 1);
            for v in list.iter_from(s).take(e - s + 1) {
                out.bulk(&v);
            }
        }
    }
}

/// A list index (negative from the end) as a position, if in range.
fn position(index: i64, len: usize) -> Option<usize> {
    let i = if index < 0 { len as i64 + index } else { index };
    (0..len as i64).contains(&i).then_some(i as usize)
}

/// LINDEX: like Redis, the key (nil when missing) and its type are checked before the index is parsed.
fn lindex(ctx: &mut Ctx, args: &[Bytes]) {
    let now = ctx.now;
    let db = ctx.db;
    let Ctx { shard, out, .. } = ctx;
    match shard.dbs[db].get_mut(&args[1], now).map(|e| &e.value) {
        None => out.null(),
        Some(Value::List(l)) => match args::int(&args[2]) {
            Err(e) => out.error(e),
            Ok(index) => match position(index, l.len()).and_then(|p| l.get(p)) {
                Some(v) => out.bulk(&v),
                None => out.null(),
            },
        },
        Some(_) => out.error(errors::WRONGTYPE),
    }
}

/// LSET: "no such key" and WRONGTYPE come before the index is parsed, as in Redis.
fn lset(ctx: &mut Ctx, args: &[Bytes]) {
    match list_ref(ctx, &args[1]) {
        Err(()) => ctx.out.error(errors::WRONGTYPE),
        Ok(None) => ctx.out.error(errors::NO_SUCH_KEY),
        Ok(Some(l)) => match args::int(&args[2]).map(|i| position(i, l.len())) {
            Err(e) => ctx.out.error(e),
            Ok(Some(p)) => {
                l.set(p, &args[3]);
                ctx.modified(&args[1]);
                ctx.out.ok()
            }
            Ok(None) => ctx.out.error("ERR index out of range"),
        },
    }
}

fn linsert(ctx: &mut Ctx, args: &[Bytes]) {
    let after = if is(&args[2], "AFTER") {
        true
    } else if is(&args[2], "BEFORE") {
        false
    } else {
        return ctx.out.error(errors::SYNTAX);
    };
    match list_ref(ctx, &args[1]) {
        Err(()) => ctx.out.error(errors::WRONGTYPE),
        Ok(None) => ctx.out.int(0),
        Ok(Some(l)) => {
            if l.insert_at_pivot(&args[3], &args[4], after) {
                let n = l.len();
                ctx.modified(&args[1]);
                ctx.out.int(n as i64)
            } else {
                ctx.out.int(-1)
            }
        }
    }
}

fn lrem(ctx: &mut Ctx, args: &[Bytes]) {
    let count = match args::int(&args[2]) {
        Ok(c) => c,
        Err(e) => return ctx.out.error(e),
    };
    let removed = match list_ref(ctx, &args[1]) {
        Err(()) => return ctx.out.error(errors::WRONGTYPE),
        Ok(None) => 0,
        Ok(Some(l)) => l.remove(&args[3], count),
    };
    let (db, now) = (ctx.db, ctx.now);
    drop_if_empty(ctx.shard, db, &args[1], now);
    if removed > 0 {
        ctx.modified(&args[1]);
    }
    ctx.out.int(removed as i64)
}

fn ltrim(ctx: &mut Ctx, args: &[Bytes]) {
    let (Ok(start), Ok(stop)) = (args::int(&args[2]), args::int(&args[3])) else {
        return ctx.out.error(errors::NOT_INTEGER);
    };
    // As in Redis, LTRIM of an existing list counts as a change even when it keeps every element.
    let trimmed = match list_ref(ctx, &args[1]) {
        Err(()) => return ctx.out.error(errors::WRONGTYPE),
        Ok(None) => false,
        Ok(Some(l)) => {
            match clamp_range(start, stop, l.len()) {
                Some((s, e)) => l.retain_range(s, e),
                None => {
                    let n = l.len();
                    if n > 0 {
                        // Keep nothing: trim everything away.
                        while l.pop_front().is_some() {}
                    }
                }
            }
            true
        }
    };
    let (db, now) = (ctx.db, ctx.now);
    drop_if_empty(ctx.shard, db, &args[1], now);
    if trimmed {
        ctx.modified(&args[1]);
    }
    ctx.out.ok()
}

const LPOS_RANK_ZERO: &str = "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... \
                              or use negative to start from the end of the list";
/// RANK is read with the range -LONG_MAX..=LONG_MAX, so that it can be negated.
const LPOS_RANK_RANGE: &str =
    "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807";

/// `LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len]`: options are checked before the key.
fn lpos(ctx: &mut Ctx, args: &[Bytes]) {
    let mut rank: i64 = 1;
    let mut count: Option<usize> = None;
    let mut maxlen: usize = 0;
    let mut i = 3;
    while i < args.len() {
        // Redis reads the option name first: an unknown option, or one without a value, is a syntax error.
        let (opt, Some(v)) = (&args[i], args.get(i + 1)) else {
            return ctx.out.error(errors::SYNTAX);
        };
        if is(opt, "RANK") {
            rank = match args::int(v) {
                Ok(0) => return ctx.out.error(LPOS_RANK_ZERO),
                Ok(i64::MIN) => return ctx.out.error(LPOS_RANK_RANGE),
                Ok(n) => n,
                Err(e) => return ctx.out.error(e),
            };
        } else if is(opt, "COUNT") {
            // A value that is not an integer gets the same text as a negative one.
            match args::int(v) {
                Ok(n) if n >= 0 => count = Some(n as usize),
                _ => return ctx.out.error("ERR COUNT can't be negative"),
            }
        } else if is(opt, "MAXLEN") {
            match args::int(v) {
                Ok(n) if n >= 0 => maxlen = n as usize,
                _ => return ctx.out.error("ERR MAXLEN can't be negative"),
            }
        } else {
            return ctx.out.error(errors::SYNTAX);
        }
        i += 2;
    }
    let now = ctx.now;
    let db = ctx.db;
    let Ctx { shard, out, .. } = ctx;
    let list = match shard.dbs[db].get_mut(&args[1], now).map(|e| &e.value) {
        None => return if count.is_some() { out.array(0) } else { out.null() },
        Some(Value::List(l)) => l,
        Some(_) => return out.error(errors::WRONGTYPE),
    };
    let want = match count {
        Some(0) => usize::MAX,
        Some(c) => c,
        None => 1,
    };
    let len = list.len();
    let scan = if maxlen == 0 { len } else { maxlen.min(len) };
    let mut skip = rank.unsigned_abs() - 1;
    let mut found = Vec::new();
    let matches = |(i, v): (usize, Elem)| (*v == args[2][..]).then_some(i);
    let positions: Box<dyn Iterator<Item = usize>> = if rank > 0 {
        Box::new(list.iter_from(0).take(scan).enumerate().filter_map(matches))
    } else {
        Box::new(
            list.iter_rev_from(len.saturating_sub(1)).take(scan).enumerate().filter_map(matches).map(|i| len - 1 - i),
        )
    };
    for p in positions {
        if skip > 0 {
            skip -= 1;
            continue;
        }
        found.push(p);
        if found.len() >= want {
            break;
        }
    }
    match count {
        None => match found.first() {
            Some(&p) => out.int(p as i64),
            None => out.null(),
        },
        Some(_) => {
            out.array(found.len());
            for p in found {
                out.int(p as i64);
            }
        }
    }
}

/// LMOVE on one shard: pops from `src`'s `from` end and pushes to `dst`'s `to` end; replies with the element.
fn move_one(ctx: &mut Ctx, src: &Bytes, dst: &Bytes, from: End, to: End) {
    let now = ctx.now;
    let db = ctx.db;
    let src_is_list = match ctx.shard.dbs[db].peek(src, now).map(|e| matches!(e.value, Value::List(_))) {
        None => return ctx.out.null(),
        Some(ok) => ok,
    };
    let dst_ok = ctx.shard.dbs[db].peek(dst, now).is_none_or(|e| matches!(e.value, Value::List(_)));
    if !src_is_list || !dst_ok {
        return ctx.out.error(errors::WRONGTYPE);
    }
    // Both ends report their change through the write path (`pop_n`, `push_values`, `rotate`).
    let v = if src == dst {
        rotate(ctx.shard, db, src, from, to, now)
    } else {
        let v = pop_n(ctx.shard, db, src, from, 1, now).pop().expect("source list is not empty");
        push_values(ctx.shard, db, dst, to, std::slice::from_ref(&v), now);
        v
    };
    ctx.out.bulk(&v);
}

/// LMOVE of a list onto itself. Redis pops, pushes, and only then reconsiders the encoding, so a rotation never
/// changes it (popping first through `pop_n` would).
fn rotate(shard: &mut Shard, db: usize, key: &[u8], from: End, to: End, now: u64) -> Bytes {
    let Some(Value::List(l)) = shard.dbs[db].get_mut(key, now).map(|e| &mut e.value) else {
        unreachable!("rotate is called on an existing list")
    };
    let v = match from {
        End::Head => l.pop_front(),
        End::Tail => l.pop_back(),
    }
    .expect("lists are never empty");
    l.before_growth(v.len());
    match to {
        End::Head => l.push_front(&v),
        End::Tail => l.push_back(&v),
    }
    l.after_shrink();
    shard.modified(db, key);
    v
}

/// Pushes values to a key's list (creating it), for moves.
fn push_values(shard: &mut Shard, db: usize, key: &[u8], to: End, values: &[Bytes], now: u64) {
    let store = &mut shard.dbs[db];
    let id = match store.find(key, now) {
        Some(id) => id,
        None => store.set(key, Value::List(Box::default()), 0, now),
    };
    if let Value::List(l) = &mut store.entry_mut(id).value {
        l.before_growth(values.iter().map(|v| v.len()).sum());
        for v in values {
            match to {
                End::Head => l.push_front(v),
                End::Tail => l.push_back(v),
            }
        }
    }
    shard.modified(db, key);
}

fn lmove_args(args: &[Bytes]) -> Result<(End, End), &'static str> {
    match (End::parse(&args[3]), End::parse(&args[4])) {
        (Some(f), Some(t)) => Ok((f, t)),
        _ => Err(errors::SYNTAX),
    }
}

fn lmove(ctx: &mut Ctx, args: &[Bytes]) {
    match lmove_args(args) {
        Ok((from, to)) => move_one(ctx, &args[1], &args[2], from, to),
        Err(e) => ctx.out.error(e),
    }
}

fn rpoplpush(ctx: &mut Ctx, args: &[Bytes]) {
    move_one(ctx, &args[1], &args[2], End::Tail, End::Head)
}

/// Parses a blocking timeout in seconds (a float) into milliseconds; 0 = forever. As Redis 7.4: milliseconds
/// are rounded up (so `-0.0001` is 0, forever), and a deadline past `i64::MAX` ms is out of range.
pub fn parse_timeout(arg: &[u8]) -> Result<u64, &'static str> {
    const OUT_OF_RANGE: &str = "ERR timeout is out of range";
    let secs = args::float(arg).map_err(|_| "ERR timeout is not a float or out of range")?;
    let ms = secs * 1000.0;
    if ms > i64::MAX as f64 {
        return Err(OUT_OF_RANGE);
    }
    let ms = ms.ceil();
    if ms < 0.0 {
        return Err(errors::TIMEOUT_NEGATIVE);
    }
    let ms = ms as u64;
    // The clock is read only for timeouts long enough to matter: a Unix time in ms stays below i64::MAX / 2
    // for millions of years.
    if ms > i64::MAX as u64 / 2 && ms > i64::MAX as u64 - crate::db::now_ms() {
        return Err(OUT_OF_RANGE);
    }
    Ok(ms)
}

/// Options of LMPOP/BLMPOP: the keys, the end and the count.
struct MpopArgs {
    keys: std::ops::Range<usize>,
    end: End,
    count: usize,
}

/// Parses `numkeys key... LEFT|RIGHT [COUNT n]` starting at `at`.
fn parse_mpop(args: &[Bytes], at: usize) -> Result<MpopArgs, &'static str> {
    // Redis reads numkeys in 1..=LONG_MAX with one error text for every failure, then wants LEFT|RIGHT right
    // after the keys (a syntax error when the arguments run out first).
    let numkeys = match args::int(&args[at]) {
        Ok(n) if n > 0 => n as usize,
        _ => return Err("ERR numkeys should be greater than 0"),
    };
    let first = at + 1;
    let where_at = first.saturating_add(numkeys);
    let end = End::parse(args.get(where_at).ok_or(errors::SYNTAX)?).ok_or(errors::SYNTAX)?;
    let mut count = 1;
    let mut i = first + numkeys + 1;
    let mut seen_count = false;
    while i < args.len() {
        if is(&args[i], "COUNT") && i + 1 < args.len() && !seen_count {
            count = match args::int(&args[i + 1]) {
                Ok(c) if c > 0 => c as usize,
                _ => return Err("ERR count should be greater than 0"),
            };
            seen_count = true;
            i += 2;
        } else {
            return Err(errors::SYNTAX);
        }
    }
    Ok(MpopArgs { keys: first..first + numkeys, end, count })
}

/// The shape of a multi-key pop's reply.
#[derive(Clone, Copy, PartialEq, Eq)]
enum PopReply {
    /// BLPOP/BRPOP: `[key, element]`.
    KeyValue,
    /// LMPOP/BLMPOP: `[key, [elements...]]`.
    KeyValues,
}

/// Pops from the first non-empty list among `keys` (on this shard); replies and records what it took.
/// Returns false when every key is empty (nothing written).
fn pop_first(ctx: &mut Ctx, keys: &[Bytes], end: End, count: usize, shape: PopReply) -> bool {
    let now = ctx.now;
    let db = ctx.db;
    for key in keys {
        match ctx.shard.dbs[db].peek(key, now).map(|e| matches!(e.value, Value::List(_))) {
            None => continue,
            Some(false) => {
                ctx.out.error(errors::WRONGTYPE);
                return true;
            }
            Some(true) => {}
        }
        let values = pop_n(ctx.shard, db, key, end, count, now);
        write_pop(&mut ctx.out, key, &values, shape);
        ctx.undo = Some(Undo { shard: ctx.shard.id, db, key: key.clone(), head: end == End::Head, values });
        return true;
    }
    false
}

fn write_pop(out: &mut Out, key: &[u8], values: &[Bytes], shape: PopReply) {
    out.array(2);
    out.bulk(key);
    match shape {
        PopReply::KeyValue => out.bulk(&values[0]),
        PopReply::KeyValues => {
            out.array(values.len());
            for v in values {
                out.bulk(v);
            }
        }
    }
}

fn lmpop(ctx: &mut Ctx, args: &[Bytes]) {
    let m = match parse_mpop(args, 1) {
        Ok(m) => m,
        Err(e) => return ctx.out.error(e),
    };
    if !pop_first(ctx, &args[m.keys.clone()], m.end, m.count, PopReply::KeyValues) {
        ctx.out.null_array();
    }
}

/// BLPOP/BRPOP on one shard: pop now, or block (or, where blocking is not allowed, reply with the null array).
fn bpop(ctx: &mut Ctx, args: &[Bytes], end: End) {
    if let Err(e) = parse_timeout(&args[args.len() - 1]) {
        return ctx.out.error(e);
    }
    let keys = &args[1..args.len() - 1];
    if !pop_first(ctx, keys, end, 1, PopReply::KeyValue) {
        ctx.block_on(keys, args);
    }
}

fn blpop(ctx: &mut Ctx, args: &[Bytes]) {
    bpop(ctx, args, End::Head)
}

fn brpop(ctx: &mut Ctx, args: &[Bytes]) {
    bpop(ctx, args, End::Tail)
}

/// BLMPOP: as Redis, the timeout is checked after the other arguments.
fn blmpop(ctx: &mut Ctx, args: &[Bytes]) {
    let m = match parse_mpop(args, 2) {
        Ok(m) => m,
        Err(e) => return ctx.out.error(e),
    };
    if let Err(e) = parse_timeout(&args[1]) {
        return ctx.out.error(e);
    }
    let keys = &args[m.keys.clone()];
    if !pop_first(ctx, keys, m.end, m.count, PopReply::KeyValues) {
        ctx.block_on(keys, args);
    }
}

/// BLMOVE/BRPOPLPUSH on one shard: move now, or block on the source. As in Redis, only the source's type is
/// checked before blocking; a destination of another type fails the move once the source has data.
fn bmove(ctx: &mut Ctx, args: &[Bytes], from: End, to: End) {
    let (src, dst) = (&args[1], &args[2]);
    if ctx.shard.dbs[ctx.db].peek(src, ctx.now).is_some() {
        return move_one(ctx, src, dst, from, to);
    }
    if ctx.block.is_none() {
        // Not allowed to block (MULTI): the empty source's reply, as LMOVE's.
        return ctx.out.null();
    }
    ctx.block_on(std::slice::from_ref(src), args);
}

fn blmove(ctx: &mut Ctx, args: &[Bytes]) {
    let (from, to) = match lmove_args(args) {
        Ok(d) => d,
        Err(e) => return ctx.out.error(e),
    };
    if let Err(e) = parse_timeout(&args[5]) {
        return ctx.out.error(e);
    }
    bmove(ctx, args, from, to)
}

fn brpoplpush(ctx: &mut Ctx, args: &[Bytes]) {
    if let Err(e) = parse_timeout(&args[3]) {
        return ctx.out.error(e);
    }
    bmove(ctx, args, End::Tail, End::Head)
}

/// Why a move between shards moved nothing.
enum Unmoved {
    WrongType,
    Empty,
}

/// Whether `key` holds a list (`None`: no such key).
fn list_type(sh: &mut Shard, db: usize, key: &[u8]) -> Option<bool> {
    sh.dbs[db].peek(key, crate::db::now_ms()).map(|e| matches!(e.value, Value::List(_)))
}

/// Pushes a moved element onto its destination and marks the key ready for clients blocked on it.
fn push_moved(sh: &mut Shard, db: usize, dst: &[u8], to: End, value: Bytes) {
    push_values(sh, db, dst, to, std::slice::from_ref(&value), crate::db::now_ms());
}

/// LMOVE/RPOPLPUSH/BLMOVE/BRPOPLPUSH between two shards (`Shards::move_across`: one or two round trips). A
/// blocking form that finds the source empty starts over on `move_across_locked`, which registers the waiter
/// while both keys are locked.
async fn move_across(s: &mut Session, args: Vec<Bytes>, from: End, to: End, blocking: bool) {
    let blocking = blocking && s.may_block();
    let db = s.db;
    let (src, k, d, dst) = (args[1].clone(), args[1].clone(), args[2].clone(), args[2].clone());
    let moved = s
        .shards
        .move_across(
            &args[1],
            &args[2],
            move |sh| match list_type(sh, db, &k) {
                Some(true) => Ok(()),
                Some(false) => Err(Unmoved::WrongType),
                None => Err(Unmoved::Empty),
            },
            move |sh| list_type(sh, db, &d),
            |dst_type| (dst_type == Some(false)).then_some(Unmoved::WrongType),
            move |sh| {
                // Under the lock the source cannot empty out, short of FLUSHALL/SWAPDB racing in.
                let v = pop_n(sh, db, &src, from, 1, crate::db::now_ms()).pop();
                (v.clone(), v)
            },
            move |sh, v| {
                if let Some(v) = v {
                    push_moved(sh, db, &dst, to, v);
                }
            },
        )
        .await;
    match moved {
        Ok(Some(v)) => s.reply().bulk(&v),
        Err(Unmoved::WrongType) => s.reply().error(errors::WRONGTYPE),
        _ if blocking => move_across_locked(s, args, from, to, true).await,
        _ => s.reply().null(),
    }
}

/// The move between shards under exclusive locks on both keys, taken before anything is read: check types, pop
/// from the source, push to the destination. A blocking form with an empty source registers its waiter on the
/// source's shard while the locks are still held, so no push can slip in between.
async fn move_across_locked(s: &mut Session, args: Vec<Bytes>, from: End, to: End, blocking: bool) {
    let blocking = blocking && s.may_block();
    let (src, dst) = (args[1].clone(), args[2].clone());
    let (txid, ss, ds) = s.shards.lock_pair(&src, &dst).await;
    let db = s.db;
    let types = s
        .shards
        .run_parts(vec![(ss, src.clone()), (ds, dst.clone())], move |sh, k| {
            sh.dbs[db].peek(&k, crate::db::now_ms()).map(|e| matches!(e.value, Value::List(_)))
        })
        .await;
    let (src_type, dst_type) = (types[0], types[1]);
    if src_type == Some(false) || (src_type.is_some() && dst_type == Some(false)) {
        s.shards.unlock([ss, ds], txid);
        return s.reply().error(errors::WRONGTYPE);
    }
    if src_type.is_none() {
        if blocking {
            let keys = vec![src.clone()];
            // The destination lives on another shard: the source's shard tells the client to move it itself.
            s.block_across(vec![(ss, keys)], args.clone(), Finish::Retry).await;
        } else {
            s.reply().null();
        }
        s.shards.unlock([ss, ds], txid);
        return;
    }
    let value = s.shards.on_shard(ss, move |sh| pop_n(sh, db, &src, from, 1, crate::db::now_ms())).await;
    // Under the lock the source cannot empty out, short of FLUSHALL/SWAPDB racing in.
    let Some(v) = value.into_iter().next() else {
        s.shards.unlock([ss, ds], txid);
        return s.reply().null();
    };
    // The source stays locked until the element is in the destination: nobody sees it in neither list.
    let pushed = v.clone();
    s.shards
        .on_shard(ds, move |sh| {
            push_moved(sh, db, &dst, to, pushed);
            sh.unlock(txid);
            sh.serve_ready();
        })
        .await;
    s.shards.unlock([ss], txid);
    s.reply().bulk(&v)
}

fn lmove_cross(s: &mut Session, args: Vec<Bytes>) -> LocalFuture<'_> {
    Box::pin(async move {
        let (from, to) = match lmove_args(&args) {
            Ok(d) => d,
            Err(e) => return s.reply().error(e),
        };
        let blocking = args.len() == 6;
        if blocking {
            if let Err(e) = parse_timeout(&args[5]) {
                return s.reply().error(e);
            }
        }
        move_across(s, args, from, to, blocking).await
    })
}

fn rpoplpush_cross(s: &mut Session, args: Vec<Bytes>) -> LocalFuture<'_> {
    Box::pin(async move {
        let blocking = args.len() == 4;
        if blocking {
            if let Err(e) = parse_timeout(&args[3]) {
                return s.reply().error(e);
            }
        }
        move_across(s, args, End::Tail, End::Head, blocking).await
    })
}

/// BLPOP/BRPOP/LMPOP/BLMPOP with keys on several shards: under exclusive locks on all keys, pop from the first
/// non-empty key in argument order; if all are empty, block on every shard before the locks are released. First,
/// though, the keys in front that share the first key's shard are tried alone, under their own lock: if one of
/// them exists, it decides (a pop, or WRONGTYPE) whatever the other keys hold. Each
/// lock request carries the step that reads its keys' types (`Shards::lock_run`), and the last shard to be
/// locked, which then knows every type, pops at once when the key to pop is its own.
fn pop_cross(s: &mut Session, args: Vec<Bytes>) -> LocalFuture<'_> {
    Box::pin(async move {
        let name = args[0].to_ascii_lowercase();
        let (keys, end, count, shape, blocking) = match name.as_slice() {
            b"blpop" | b"brpop" => {
                if let Err(e) = parse_timeout(&args[args.len() - 1]) {
                    return s.reply().error(e);
                }
                let end = if name == b"blpop" { End::Head } else { End::Tail };
                (args[1..args.len() - 1].to_vec(), end, 1, PopReply::KeyValue, true)
            }
            _ => {
                let blocking = name == b"blmpop";
                let m = match parse_mpop(&args, if blocking { 2 } else { 1 }) {
                    Ok(m) => m,
                    Err(e) => return s.reply().error(e),
                };
                if blocking {
                    if let Err(e) = parse_timeout(&args[1]) {
                        return s.reply().error(e);
                    }
                }
                (args[m.keys].to_vec(), m.end, m.count, PopReply::KeyValues, blocking)
            }
        };
        let db = s.db;
        // The keys in front that share the first key's shard often decide alone: a queue with work in it pops
        // there in one step, without locking every shard.
        let n = s.nshards();
        let lead_shard = key_shard(&keys[0], n);
        // A client whose first key keeps it on one shard moves there (`moving`), where this try costs no hop; from
        // elsewhere it would cost one more hop whenever the keys turn out empty, so it is made only at home.
        s.pulled_to(lead_shard);
        let txid = s.shards.new_txid();
        let decided = if lead_shard != s.local_shard() {
            None
        } else {
            let lead: Vec<Bytes> = keys.iter().take_while(|k| key_shard(k, n) == lead_shard).cloned().collect();
            s.shards
                .lock_run(lead_shard, lead.clone(), true, txid, move |sh| {
                    let first = lead.iter().find_map(|k| list_type(sh, db, k).map(|is_list| (k.clone(), is_list)));
                    let decided = match first {
                        Some((key, true)) => {
                            let values = pop_n(sh, db, &key, end, count, crate::db::now_ms());
                            Some(Ok((key, values)))
                        }
                        Some((_, false)) => Some(Err(())),
                        None => None,
                    };
                    sh.unlock(txid);
                    decided
                })
                .await
        };
        match decided {
            Some(Ok((key, values))) => {
                return write_pop(&mut s.reply(), &key, &values, shape);
            }
            Some(Err(())) => return s.reply().error(errors::WRONGTYPE),
            None => {}
        }
        let groups = s.shards.group_keys(keys.iter());
        let shards: Vec<usize> = groups.iter().map(|(g, _)| *g).collect();
        let txid = s.shards.new_txid();
        let mut types: Vec<(Bytes, Option<bool>)> = Vec::with_capacity(keys.len());
        let mut popped = None;
        for (i, (shard, ks)) in groups.iter().enumerate() {
            // The last lock request also gets what the others found, and the keys in argument order.
            let known = (i + 1 == groups.len()).then(|| (types.clone(), keys.clone()));
            let mine = ks.clone();
            let (found, pop) = s
                .shards
                .lock_run(*shard, ks.clone(), true, txid, move |sh| {
                    let found: Vec<(Bytes, Option<bool>)> =
                        mine.into_iter().map(|k| (k.clone(), list_type(sh, db, &k))).collect();
                    let mut pop = None;
                    if let Some((mut all, order)) = known {
                        all.extend(found.iter().cloned());
                        if let Some((key, Some(true))) = first_existing(&order, &all) {
                            if found.iter().any(|(k, _)| *k == key) {
                                let values = pop_n(sh, db, &key, end, count, crate::db::now_ms());
                                sh.unlock(txid);
                                pop = Some((key, values));
                            }
                        }
                    }
                    (found, pop)
                })
                .await;
            types.extend(found);
            popped = pop;
        }
        if let Some((key, values)) = popped {
            // The last shard popped and released its own locks.
            let last = shards[shards.len() - 1];
            s.shards.unlock(shards.into_iter().filter(|&g| g != last), txid);
            return write_pop(&mut s.reply(), &key, &values, shape);
        }
        match first_existing(&keys, &types) {
            Some((_, Some(false))) => {
                s.shards.unlock(shards, txid);
                s.reply().error(errors::WRONGTYPE)
            }
            Some((key, _)) => {
                let shard = key_shard(&key, s.nshards());
                let k = key.clone();
                let values =
                    s.shards.on_shard(shard, move |sh| pop_n(sh, db, &k, end, count, crate::db::now_ms())).await;
                s.shards.unlock(shards, txid);
                write_pop(&mut s.reply(), &key, &values, shape);
            }
            None if blocking && s.may_block() => {
                s.block_across(groups, args.clone(), Finish::RunUnlessChanged).await;
                s.shards.unlock(shards, txid);
            }
            None => {
                s.shards.unlock(shards, txid);
                s.reply().null_array()
            }
        }
    })
}

/// The first of `order` that exists, by the types found (`None`: no such key; `Some(false)`: not a list).
fn first_existing(order: &[Bytes], types: &[(Bytes, Option<bool>)]) -> Option<(Bytes, Option<bool>)> {
    order.iter().find_map(|k| types.iter().find(|(t, ty)| t == k && ty.is_some()).map(|(_, ty)| (k.clone(), *ty)))
}
