//! Stream commands: the log (XADD, XRANGE, XREAD...), consumer groups (XGROUP, XREADGROUP, XACK, XPENDING,
//! XCLAIM, XAUTOCLAIM) and introspection (XINFO).
//!
//! Streams are `db::stream::Stream`. Unlike lists, an emptied stream stays (it keeps its last ID and groups).
//! Every change goes through the write path (`Ctx::modified`), which serves clients blocked in XREAD or
//! XREADGROUP: whether a stream serves a waiter depends on the waiter (the ID it read up to, its group), so the
//! blocking commands give the runtime a readiness test (`ready`), and a waiter that a change does not serve keeps
//! its place in line. A blocked XREAD has its `$` and `+` IDs rewritten to the IDs they stood for when it blocked,
//! so that running it again on a wake reads exactly what arrived since.

use super::args::{self, is};
use super::spec::*;
use super::{Ctx, Handler, LocalFuture, Session};
use crate::db::stream::{AddError, EntryRef, IdRequest, NodeLimits, Stream, StreamId, TrimTo};
use crate::db::Value;
use crate::proto::{errors, Out};
use crate::shard::blocking::Finish;
use bytes::Bytes;
use std::sync::atomic::Ordering;

/// This family's commands, one line each (`spec` describes the fields), and their documentation text.
#[rustfmt::skip]
pub const FAMILY: Family = Family {
    docs: include_str!("docs/streams.txt"),
    specs: &[
        spec("xadd", -5, WRITE | DENYOOM | FAST, key(1), Handler::Shard(xadd)),
        spec("xlen", 2, READONLY | FAST, key(1), Handler::Shard(xlen)),
        spec("xrange", -4, READONLY, key(1), Handler::Shard(xrange)),
        spec("xrevrange", -4, READONLY, key(1), Handler::Shard(xrevrange)),
        spec("xdel", -3, WRITE | FAST, key(1), Handler::Shard(xdel)),
        spec("xtrim", -4, WRITE, key(1), Handler::Shard(xtrim)),
        spec("xread", -4, READONLY | BLOCKING, streams(1), Handler::Keys(xread, xread_cross)).block_option(xread_ready),
        spec("xreadgroup", -7, WRITE | BLOCKING, streams(4), Handler::Keys(xreadgroup, xread_cross)).block_option(xreadgroup_ready),
        listed("xgroup", -2, NO_FLAGS, NO_KEYS),
        spec("xgroup|create", -5, WRITE | DENYOOM, key(2), Handler::Shard(xgroup_create)),
        spec("xgroup|createconsumer", 5, WRITE | DENYOOM, key(2), Handler::Shard(xgroup_createconsumer)),
        spec("xgroup|delconsumer", 5, WRITE, key(2), Handler::Shard(xgroup_delconsumer)),
        spec("xgroup|destroy", 4, WRITE, key(2), Handler::Shard(xgroup_destroy)),
        spec("xgroup|setid", -5, WRITE, key(2), Handler::Shard(xgroup_setid)),
        spec("xack", -4, WRITE | FAST, key(1), Handler::Shard(xack)),
        spec("xpending", -3, READONLY, key(1), Handler::Shard(xpending)),
        spec("xclaim", -6, WRITE | FAST, key(1), Handler::Shard(xclaim)),
        spec("xautoclaim", -6, WRITE | FAST, key(1), Handler::Shard(xautoclaim)),
        listed("xinfo", -2, NO_FLAGS, NO_KEYS),
        spec("xinfo|stream", -3, READONLY, key(2), Handler::Shard(xinfo_stream)),
        spec("xinfo|groups", 3, READONLY, key(2), Handler::Shard(xinfo_groups)),
        spec("xinfo|consumers", 4, READONLY, key(2), Handler::Shard(xinfo_consumers)),
        spec("xsetid", -3, WRITE | DENYOOM | FAST, key(1), Handler::Shard(xsetid)),
        spec("xdelex", -5, WRITE | FAST, key(1), Handler::Shard(xdelex)),
        spec("xackdel", -6, WRITE | FAST, key(1), Handler::Shard(xackdel)),
    ],
};

const INVALID_ID: &str = "ERR Invalid stream ID specified as stream command argument";

/// How full a node grows before the next one starts (`stream-node-max-entries`, `stream-node-max-bytes`).
fn node_limits(ctx: &Ctx) -> NodeLimits {
    let live = &ctx.shard.server.live;
    NodeLimits {
        max_entries: live.stream_node_max_entries.load(Ordering::Relaxed) as usize,
        max_bytes: live.stream_node_max_bytes.load(Ordering::Relaxed) as usize,
    }
}

/// A key's stream: Ok(None) when absent, Err(()) when the key holds another type.
fn stream_mut<'a>(ctx: &'a mut Ctx, key: &[u8]) -> Result<Option<&'a mut Stream>, ()> {
    let now = ctx.now;
    let db = ctx.db;
    match ctx.shard.dbs[db].get_mut(key, now) {
        None => Ok(None),
        Some(e) => match &mut e.value {
            Value::Stream(s) => Ok(Some(s)),
            _ => Err(()),
        },
    }
}

/// A stream ID argument as Redis's strict parse reads it: `ms` or `ms-seq` (a missing sequence is 0).
fn strict_id(arg: &[u8]) -> Result<StreamId, &'static str> {
    StreamId::parse(arg, 0).ok_or(INVALID_ID)
}

/// An ID argument where `-` and `+` stand for the smallest and largest IDs; a missing sequence is `missing_seq`.
fn loose_id(arg: &[u8], missing_seq: u64) -> Result<StreamId, &'static str> {
    match arg {
        b"-" => Ok(StreamId::MIN),
        b"+" => Ok(StreamId::MAX),
        _ => StreamId::parse(arg, missing_seq).ok_or(INVALID_ID),
    }
}

/// One end of an XRANGE interval: `-`, `+`, an ID (a missing sequence is `missing_seq`), or `(id`, exclusive.
fn interval_end(arg: &[u8], missing_seq: u64, start: bool) -> Result<StreamId, &'static str> {
    if arg.len() > 1 && arg[0] == b'(' {
        let id = StreamId::parse(&arg[1..], missing_seq).ok_or(INVALID_ID)?;
        return if start {
            id.next().ok_or("ERR invalid start ID for the interval")
        } else {
            id.prev().ok_or("ERR invalid end ID for the interval")
        };
    }
    loose_id(arg, missing_seq)
}

fn write_id(out: &mut Out, id: StreamId) {
    let mut buf = [0; 41];
    out.bulk(id.format(&mut buf));
}

/// An entry as `[id, [field, value, ...]]`.
fn write_entry(out: &mut Out, e: &EntryRef) {
    out.array(2);
    write_id(out, e.id);
    out.array(e.pairs() * 2);
    for (f, v) in e.fields() {
        out.bulk(f);
        out.bulk(v);
    }
}

/// A trimming request of XADD or XTRIM.
#[derive(Clone, Copy)]
struct Trim {
    to: TrimTo,
    approx: bool,
    limit: usize,
    refs: Refs,
}

/// What deleting an entry does about the consumer groups' references to it (Redis 8.2).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Refs {
    /// Leave them (XDEL's way): a pending entry may outlive its entry.
    Keep,
    /// Drop them from every group's PEL.
    Delete,
    /// Delete only entries no group still needs (`Stream::referenced`).
    Acked,
}

impl Refs {
    fn parse(arg: &[u8]) -> Option<Refs> {
        if is(arg, "KEEPREF") {
            Some(Refs::Keep)
        } else if is(arg, "DELREF") {
            Some(Refs::Delete)
        } else if is(arg, "ACKED") {
            Some(Refs::Acked)
        } else {
            None
        }
    }
}

/// XADD's options and where its ID argument is.
struct AddArgs {
    trim: Option<Trim>,
    nomkstream: bool,
    id: IdRequest,
    /// Position of the ID; the field/value pairs follow.
    at: usize,
}

/// Parses the trimming options (and XADD's NOMKSTREAM and ID) from argument 2 on, in Redis's order and with its
/// errors. For XTRIM, `at` is the end of the arguments.
fn parse_add_or_trim(args: &[Bytes], xadd: bool, max_entries: usize) -> Result<AddArgs, &'static str> {
    let mut to = None;
    let mut approx = false;
    let mut limit = None;
    let mut nomkstream = false;
    let mut refs = None;
    let mut id = None;
    let mut i = 2;
    while i < args.len() {
        let more = args.len() - 1 - i;
        let opt = &args[i][..];
        if xadd && opt == b"*" {
            id = Some(IdRequest::Auto);
            break;
        } else if (is(opt, "MAXLEN") || is(opt, "MINID")) && more > 0 {
            if to.is_some() {
                return Err("ERR syntax error, MAXLEN and MINID options at the same time are not compatible");
            }
            approx = false;
            if more >= 2 && (args[i + 1][..] == *b"~" || args[i + 1][..] == *b"=") {
                approx = args[i + 1][..] == *b"~";
                i += 1;
            }
            let arg = &args[i + 1];
            to = Some(if is(opt, "MAXLEN") {
                let n = args::int(arg)?;
                if n < 0 {
                    return Err("ERR The MAXLEN argument must be >= 0.");
                }
                TrimTo::MaxLen(n as usize)
            } else {
                TrimTo::MinId(strict_id(arg)?)
            });
            i += 2;
        } else if is(opt, "LIMIT") && more > 0 {
            let n = args::int(&args[i + 1])?;
            if n < 0 {
                return Err("ERR The LIMIT argument must be >= 0.");
            }
            limit = Some(n as usize);
            i += 2;
        } else if xadd && is(opt, "NOMKSTREAM") {
            nomkstream = true;
            i += 1;
        } else if let Some(r) = Refs::parse(opt).filter(|_| refs.is_none()) {
            refs = Some(r);
            i += 1;
        } else if xadd {
            id = Some(parse_add_id(opt)?);
            break;
        } else {
            return Err(errors::SYNTAX);
        }
    }
    if limit.is_some() && to.is_none() {
        return Err("ERR syntax error, LIMIT cannot be used without specifying a trimming strategy");
    }
    if !xadd && to.is_none() {
        return Err("ERR syntax error, XTRIM must be called with a trimming strategy");
    }
    let limit = match limit {
        Some(_) if !approx => return Err("ERR syntax error, LIMIT cannot be used without the special ~ option"),
        Some(n) => n,
        None if approx => match 100 * max_entries {
            0 => 10_000,
            n => n.min(1_000_000),
        },
        None => 0,
    };
    let refs = refs.unwrap_or(Refs::Keep);
    let trim = to.map(|to| Trim { to, approx, limit, refs });
    // Without an ID (every argument was an option), XADD fails its arity check.
    Ok(AddArgs { trim, nomkstream, id: id.unwrap_or(IdRequest::Auto), at: if id.is_some() { i } else { args.len() } })
}

/// XADD's ID argument: `*`, `<ms>-*`, or an explicit ID.
fn parse_add_id(arg: &[u8]) -> Result<IdRequest, &'static str> {
    if arg == b"*" {
        return Ok(IdRequest::Auto);
    }
    if let Some(ms) = arg.strip_suffix(b"-*") {
        return StreamId::parse(ms, 0).filter(|_| !ms.contains(&b'-')).map(|id| IdRequest::Ms(id.ms)).ok_or(INVALID_ID);
    }
    Ok(IdRequest::Exact(strict_id(arg)?))
}

/// Trims a stream; returns how many entries went. With DELREF the trimmed entries leave every PEL too; with
/// ACKED the entries a group still needs stay, and the others among those the trim reaches go one by one (`~`
/// then trims exactly: a node with kept entries cannot go whole anyway).
fn trim(s: &mut Stream, t: Trim) -> usize {
    match t.refs {
        Refs::Keep => s.entries.trim(t.to, t.approx, t.limit),
        Refs::Delete => {
            let removed = s.entries.trim(t.to, t.approx, t.limit);
            if removed > 0 && !s.groups.is_empty() {
                let first = s.first_id();
                let gone: Vec<StreamId> = s
                    .groups
                    .values()
                    .flat_map(|g| g.pending_range(StreamId::MIN, StreamId::MAX).map(|p| p.id))
                    .filter(|&id| id < first || s.is_empty())
                    .collect();
                gone.into_iter().for_each(|id| s.drop_references(id));
            }
            removed
        }
        Refs::Acked => {
            let reach: Vec<StreamId> = match t.to {
                TrimTo::MaxLen(n) => s
                    .entries
                    .range(StreamId::MIN, StreamId::MAX)
                    .take(s.len().saturating_sub(n))
                    .map(|e| e.id)
                    .collect(),
                TrimTo::MinId(min) => match min.prev() {
                    Some(end) => s.entries.range(StreamId::MIN, end).map(|e| e.id).collect(),
                    None => Vec::new(),
                },
            };
            let limit = if t.approx && t.limit > 0 { t.limit } else { usize::MAX };
            let gone: Vec<StreamId> = reach.into_iter().filter(|&id| !s.referenced(id)).take(limit).collect();
            gone.iter().filter(|&&id| s.entries.delete(id)).count()
        }
    }
}

/// `XADD key [NOMKSTREAM] [MAXLEN|MINID [=|~] threshold [LIMIT count]] *|id field value [field value ...]`
fn xadd(ctx: &mut Ctx, args: &[Bytes]) {
    let limits = node_limits(ctx);
    let a = match parse_add_or_trim(args, true, limits.max_entries) {
        Ok(a) => a,
        Err(e) => return ctx.out.error(e),
    };
    let rest = args.len() - a.at;
    if rest < 3 || rest.is_multiple_of(2) {
        return ctx.out.error(&errors::wrong_arity("xadd"));
    }
    if a.id == IdRequest::Exact(StreamId::MIN) {
        return ctx.out.error("ERR The ID specified in XADD must be greater than 0-0");
    }
    let (db, now) = (ctx.db, ctx.now);
    let key = &args[1];
    let store = &mut ctx.shard.dbs[db];
    let s = match store.get_mut(key, now) {
        Some(e) => match &mut e.value {
            Value::Stream(s) => s,
            _ => return ctx.out.error(errors::WRONGTYPE),
        },
        None if a.nomkstream => return ctx.out.null(),
        None => {
            let id = store.set(key, Value::Stream(Box::default()), 0, now);
            match &mut store.entry_mut(id).value {
                Value::Stream(s) => s,
                _ => unreachable!("just stored a stream"),
            }
        }
    };
    let id = match s.next_id(a.id, now) {
        Ok(id) => id,
        Err(AddError::Exhausted) => {
            return ctx.out.error("ERR The stream has exhausted the last possible ID, unable to add more items")
        }
        Err(AddError::NotAbove) => {
            return ctx.out.error("ERR The ID specified in XADD is equal or smaller than the target stream top item")
        }
    };
    s.add(id, &args[a.at + 1..], limits);
    if let Some(t) = a.trim {
        trim(s, t);
    }
    write_id(&mut ctx.out, id);
    ctx.modified(key);
}

/// `XLEN key`
fn xlen(ctx: &mut Ctx, args: &[Bytes]) {
    match stream_mut(ctx, &args[1]) {
        Err(()) => ctx.out.error(errors::WRONGTYPE),
        Ok(s) => {
            let n = s.map_or(0, |s| s.len());
            ctx.out.int(n as i64)
        }
    }
}

fn xrange(ctx: &mut Ctx, args: &[Bytes]) {
    range(ctx, args, false)
}

fn xrevrange(ctx: &mut Ctx, args: &[Bytes]) {
    range(ctx, args, true)
}

/// `XRANGE key start end [COUNT n]` / `XREVRANGE key end start [COUNT n]`.
fn range(ctx: &mut Ctx, args: &[Bytes], rev: bool) {
    let (start_at, end_at) = if rev { (3, 2) } else { (2, 3) };
    let start = match interval_end(&args[start_at], 0, true) {
        Ok(id) => id,
        Err(e) => return ctx.out.error(e),
    };
    let end = match interval_end(&args[end_at], u64::MAX, false) {
        Ok(id) => id,
        Err(e) => return ctx.out.error(e),
    };
    let mut count = None;
    let mut i = 4;
    while i < args.len() {
        if is(&args[i], "COUNT") && i + 1 < args.len() {
            match args::int(&args[i + 1]) {
                Ok(n) => count = Some(n.max(0) as usize),
                Err(e) => return ctx.out.error(e),
            }
            i += 2;
        } else {
            return ctx.out.error(errors::SYNTAX);
        }
    }
    let resp3 = ctx.out.resp3;
    let s = match stream_mut(ctx, &args[1]) {
        Err(()) => return ctx.out.error(errors::WRONGTYPE),
        Ok(None) => return ctx.out.array(0),
        Ok(Some(s)) => s,
    };
    if count == Some(0) {
        let _ = resp3;
        return ctx.out.null_array();
    }
    let limit = count.unwrap_or(usize::MAX);
    let mut tmp = bytes::BytesMut::new();
    let mut out = Out::new(&mut tmp, resp3);
    let mut n = 0;
    if start <= end {
        if rev {
            for e in s.entries.range_rev(start, end).take(limit) {
                write_entry(&mut out, &e);
                n += 1;
            }
        } else {
            for e in s.entries.range(start, end).take(limit) {
                write_entry(&mut out, &e);
                n += 1;
            }
        }
    }
    ctx.out.array(n);
    ctx.out.raw(&tmp);
}

/// `XDEL key id [id ...]`
fn xdel(ctx: &mut Ctx, args: &[Bytes]) {
    let s = match stream_mut(ctx, &args[1]) {
        Err(()) => return ctx.out.error(errors::WRONGTYPE),
        Ok(None) => return ctx.out.int(0),
        Ok(Some(s)) => s,
    };
    let _ = s;
    let mut ids = Vec::with_capacity(args.len() - 2);
    for a in &args[2..] {
        match strict_id(a) {
            Ok(id) => ids.push(id),
            Err(e) => return ctx.out.error(e),
        }
    }
    let Ok(Some(s)) = stream_mut(ctx, &args[1]) else { unreachable!("checked above") };
    let deleted = ids.into_iter().filter(|&id| s.delete(id)).count();
    ctx.shard.scattered_frees += deleted;
    if deleted > 0 {
        ctx.modified(&args[1]);
    }
    ctx.out.int(deleted as i64)
}

/// `XTRIM key MAXLEN|MINID [=|~] threshold [LIMIT count]`
fn xtrim(ctx: &mut Ctx, args: &[Bytes]) {
    let a = match parse_add_or_trim(args, false, node_limits(ctx).max_entries) {
        Ok(a) => a,
        Err(e) => return ctx.out.error(e),
    };
    let s = match stream_mut(ctx, &args[1]) {
        Err(()) => return ctx.out.error(errors::WRONGTYPE),
        Ok(None) => return ctx.out.int(0),
        Ok(Some(s)) => s,
    };
    let removed = trim(s, a.trim.expect("XTRIM has a strategy"));
    if removed > 0 {
        ctx.modified(&args[1]);
    }
    ctx.out.int(removed as i64)
}

/// `XSETID key last-id [ENTRIESADDED entries-added] [MAXDELETEDID max-deleted-id]`
fn xsetid(ctx: &mut Ctx, args: &[Bytes]) {
    let id = match strict_id(&args[2]) {
        Ok(id) => id,
        Err(e) => return ctx.out.error(e),
    };
    let mut added = None;
    let mut max_deleted = StreamId::MIN;
    let mut i = 3;
    while i < args.len() {
        let more = args.len() - 1 - i;
        if is(&args[i], "ENTRIESADDED") && more > 0 {
            match args::int(&args[i + 1]) {
                Ok(n) if n < 0 => return ctx.out.error("ERR entries_added must be positive"),
                Ok(n) => added = Some(n as u64),
                Err(e) => return ctx.out.error(e),
            }
        } else if is(&args[i], "MAXDELETEDID") && more > 0 {
            match strict_id(&args[i + 1]) {
                Ok(m) if id < m => {
                    return ctx
                        .out
                        .error("ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id")
                }
                Ok(m) => max_deleted = m,
                Err(e) => return ctx.out.error(e),
            }
        } else {
            return ctx.out.error(errors::SYNTAX);
        }
        i += 2;
    }
    let s = match stream_mut(ctx, &args[1]) {
        Err(()) => return ctx.out.error(errors::WRONGTYPE),
        Ok(None) => return ctx.out.error(errors::NO_SUCH_KEY),
        Ok(Some(s)) => s,
    };
    if id < s.max_deleted_id {
        return ctx.out.error("ERR The ID specified in XSETID is smaller than current max_deleted_entry_id");
    }
    if !s.is_empty() {
        if id < s.last_entry_id() {
            return ctx.out.error("ERR The ID specified in XSETID is smaller than the target stream top item");
        }
        if added.is_some_and(|n| (s.len() as u64) > n) {
            return ctx.out.error("ERR The entries_added specified in XSETID is smaller than the target stream length");
        }
    }
    s.last_id = id;
    if let Some(n) = added {
        s.entries_added = n;
    }
    if max_deleted != StreamId::MIN {
        s.max_deleted_id = max_deleted;
    }
    ctx.modified(&args[1]);
    ctx.out.ok()
}

/// XREAD/XREADGROUP's options.
struct ReadArgs {
    /// 0: no limit.
    count: usize,
    /// BLOCK was given (its milliseconds are read by the session, `block_option_at`).
    block: bool,
    /// XREADGROUP's group and consumer.
    group: Option<(Bytes, Bytes)>,
    noack: bool,
    /// Position of the first key; the IDs follow the keys.
    keys_at: usize,
    n: usize,
}

/// Parses XREAD/XREADGROUP's options with Redis's errors, in its order.
fn parse_read(args: &[Bytes], xreadgroup: bool) -> Result<ReadArgs, String> {
    let mut r = ReadArgs { count: 0, block: false, group: None, noack: false, keys_at: 0, n: 0 };
    let mut i = 1;
    while i < args.len() {
        let more = args.len() - 1 - i;
        let o = &args[i][..];
        if is(o, "BLOCK") && more > 0 {
            i += 1;
            match crate::text::parse_i64(&args[i]) {
                None => return Err("ERR timeout is not an integer or out of range".into()),
                Some(ms) if ms < 0 => return Err(errors::TIMEOUT_NEGATIVE.into()),
                Some(ms)
                    if ms > 0 && (ms as u64).checked_add(crate::db::now_ms()).is_none_or(|t| t > i64::MAX as u64) =>
                {
                    return Err("ERR timeout is out of range".into())
                }
                Some(_) => r.block = true,
            }
        } else if is(o, "COUNT") && more > 0 {
            i += 1;
            r.count = args::int(&args[i])?.max(0) as usize;
        } else if is(o, "STREAMS") && more > 0 {
            r.keys_at = i + 1;
            let rest = args.len() - r.keys_at;
            if !rest.is_multiple_of(2) {
                let (name, symbol) = if xreadgroup { ("xreadgroup", '>') } else { ("xread", '$') };
                return Err(format!(
                    "ERR Unbalanced '{name}' list of streams: for each stream key an ID or '{symbol}' must be specified."
                ));
            }
            r.n = rest / 2;
            break;
        } else if is(o, "GROUP") && more >= 2 {
            if !xreadgroup {
                return Err("ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead.".into());
            }
            r.group = Some((args[i + 1].clone(), args[i + 2].clone()));
            i += 2;
        } else if is(o, "NOACK") {
            if !xreadgroup {
                return Err("ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead.".into());
            }
            r.noack = true;
        } else {
            return Err(errors::SYNTAX.into());
        }
        i += 1;
    }
    if r.keys_at == 0 {
        return Err(errors::SYNTAX.into());
    }
    if xreadgroup && r.group.is_none() {
        return Err("ERR Missing GROUP option for XREADGROUP".into());
    }
    Ok(r)
}

/// Where a read of one stream starts.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum From {
    /// Entries after this ID (XREAD; XREADGROUP's history of the consumer).
    After(StreamId),
    /// XREADGROUP `>`: entries the group has not been given.
    New,
}

/// What a shard knows of one stream before reading it: an error to reply with, or where `$` and `+` point.
#[derive(Clone, Copy)]
enum KeyState {
    Error(&'static str),
    NoGroup,
    /// The stream's last ID, and the last entry's ID minus one (so reading after it gives the last entry).
    Ok {
        last: StreamId,
        before_last: StreamId,
    },
}

/// Checks a key for reading on its shard.
fn key_state(sh: &mut crate::shard::Shard, db: usize, key: &[u8], group: Option<&[u8]>, now: u64) -> KeyState {
    match sh.dbs[db].peek(key, now).map(|e| &e.value) {
        Some(Value::Stream(s)) => {
            if group.is_some_and(|g| !s.groups.contains_key(g)) {
                return KeyState::NoGroup;
            }
            let before_last = if s.is_empty() { s.last_id } else { s.last_entry_id().prev().unwrap_or(StreamId::MIN) };
            KeyState::Ok { last: s.last_id, before_last }
        }
        Some(_) => KeyState::Error(errors::WRONGTYPE),
        None if group.is_some() => KeyState::NoGroup,
        None => KeyState::Ok { last: StreamId::MIN, before_last: StreamId::MIN },
    }
}

/// The error of a key's state, if any, as the client sees it.
fn state_error(state: KeyState, key: &[u8], group: Option<&[u8]>) -> Option<String> {
    match state {
        KeyState::Ok { .. } => None,
        KeyState::Error(e) => Some(e.to_string()),
        KeyState::NoGroup => Some(format!(
            "NOGROUP No such key '{}' or consumer group '{}' in XREADGROUP with GROUP option",
            String::from_utf8_lossy(key),
            String::from_utf8_lossy(group.unwrap_or_default())
        )),
    }
}

/// Resolves a read's ID argument against the key's state.
fn resolve_id(arg: &[u8], state: KeyState, xreadgroup: bool) -> Result<From, &'static str> {
    let KeyState::Ok { last, before_last } = state else { return Ok(From::After(StreamId::MIN)) };
    match arg {
        b"$" if xreadgroup => Err("ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an empty result set."),
        b"$" => Ok(From::After(last)),
        b">" if !xreadgroup => Err("ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option."),
        b">" => Ok(From::New),
        b"+" if xreadgroup => Err("ERR The + ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The + ID would just return an empty result set."),
        b"+" => Ok(From::After(before_last)),
        _ => strict_id(arg).map(From::After),
    }
}

/// One stream's part of a read.
struct ReadOne<'a> {
    key: &'a [u8],
    from: From,
}

/// Reads streams of one shard for XREAD/XREADGROUP: for each that has something to give, its key and entries
/// (`[key, entries]` in RESP2, a map entry in RESP3) appended to `out`. Returns how many streams it gave.
fn read_streams(
    sh: &mut crate::shard::Shard,
    db: usize,
    now: u64,
    reads: &[ReadOne],
    r: &ReadArgs,
    out: &mut Out,
) -> usize {
    let limit = if r.count == 0 { usize::MAX } else { r.count };
    let mut given = 0;
    for read in reads {
        let Some(e) = sh.dbs[db].get_mut(read.key, now) else { continue };
        let Value::Stream(s) = &mut e.value else { continue };
        let header = |out: &mut Out| {
            if !out.resp3 {
                out.array(2);
            }
            out.bulk(read.key);
        };
        match (&r.group, read.from) {
            (None, From::After(id)) => {
                if s.is_empty() || s.last_entry_id() <= id {
                    continue;
                }
                let Some(start) = id.next() else { continue };
                header(out);
                let entries: Vec<EntryRef> = s.entries.range(start, StreamId::MAX).take(limit).collect();
                out.array(entries.len());
                for e in &entries {
                    write_entry(out, e);
                }
                given += 1;
            }
            (Some((group, consumer)), From::New) => {
                let Some(g) = s.groups.get_mut(&group[..]) else { continue };
                // The consumer exists from its first read on, whether or not it is given anything.
                let (c, created) = g.seen_consumer(consumer, now);
                let after = g.last_id;
                if s.is_empty() || s.last_entry_id() <= after {
                    if created {
                        sh.modified(db, read.key);
                    }
                    continue;
                }
                let Some(start) = after.next() else { continue };
                header(out);
                let ids: Vec<StreamId> = {
                    let entries: Vec<EntryRef> = s.entries.range(start, StreamId::MAX).take(limit).collect();
                    out.array(entries.len());
                    for e in &entries {
                        write_entry(out, e);
                    }
                    entries.iter().map(|e| e.id).collect()
                };
                for &id in &ids {
                    s.advance_group(group, id);
                }
                let g = s.groups.get_mut(&group[..]).expect("checked");
                if !r.noack {
                    for &id in &ids {
                        g.insert(id, c, now, 1);
                    }
                    g.consumer_by_id_mut(c).active_time = Some(now);
                }
                given += 1;
                sh.modified(db, read.key);
            }
            (Some((group, consumer)), From::After(id)) => {
                let Some(g) = s.groups.get_mut(&group[..]) else { continue };
                let (c, _) = g.seen_consumer(consumer, now);
                header(out);
                let ids: Vec<StreamId> = match id.next() {
                    Some(start) => g.pending_of(c, start).take(limit).map(|p| p.id).collect(),
                    None => Vec::new(),
                };
                out.array(ids.len());
                let mut found = Vec::with_capacity(ids.len());
                for &id in &ids {
                    match s.entries.get(id) {
                        Some(e) => {
                            write_entry(out, &e);
                            found.push(id);
                        }
                        None => {
                            out.array(2);
                            write_id(out, id);
                            out.null_array();
                        }
                    }
                }
                let g = s.groups.get_mut(&group[..]).expect("checked");
                for id in found {
                    g.deliver(id, c, now);
                }
                given += 1;
                sh.modified(db, read.key);
            }
            (None, From::New) => unreachable!("`>` is refused without a group"),
        }
    }
    given
}

/// Writes a read's reply: the streams given, or the null array when none.
fn write_read_reply(out: &mut Out, given: usize, body: &[u8]) {
    if given == 0 {
        return out.null_array();
    }
    if out.resp3 {
        out.map(given);
    } else {
        out.array(given);
    }
    out.raw(body);
}

/// The arguments a blocked read waits with: `$` and `+` replaced by the IDs they stood for, so that running the
/// command again on a wake reads what arrived since it blocked.
fn waiting_args(args: &[Bytes], r: &ReadArgs, froms: &[From]) -> Vec<Bytes> {
    let mut args = args.to_vec();
    for (i, from) in froms.iter().enumerate() {
        let at = r.keys_at + r.n + i;
        if let (From::After(id), b"$") = (from, &args[at][..]) {
            args[at] = Bytes::from(id.to_string());
        }
    }
    args
}

fn xread(ctx: &mut Ctx, args: &[Bytes]) {
    read(ctx, args, false)
}

fn xreadgroup(ctx: &mut Ctx, args: &[Bytes]) {
    read(ctx, args, true)
}

/// XREAD/XREADGROUP with every key on this shard. A client woken for one key of a read spanning shards runs it
/// here too: the keys of other shards are left out (they had nothing for it when it blocked).
fn read(ctx: &mut Ctx, args: &[Bytes], xreadgroup: bool) {
    let r = match parse_read(args, xreadgroup) {
        Ok(r) => r,
        Err(e) => return ctx.out.error(&e),
    };
    let (db, now) = (ctx.db, ctx.now);
    let nshards = ctx.shard.server.nshards();
    let here = ctx.shard.id;
    let group = r.group.as_ref().map(|(g, _)| &g[..]);
    let mut froms = Vec::with_capacity(r.n);
    let mut reads = Vec::with_capacity(r.n);
    for i in 0..r.n {
        let key = &args[r.keys_at + i];
        let mine = nshards == 1 || crate::shard::slot::key_shard(key, nshards) == here;
        let state = if mine {
            key_state(ctx.shard, db, key, group, now)
        } else {
            KeyState::Ok { last: StreamId::MIN, before_last: StreamId::MIN }
        };
        if let Some(e) = state_error(state, key, group) {
            return ctx.out.error(&e);
        }
        let from = match resolve_id(&args[r.keys_at + r.n + i], state, xreadgroup) {
            Ok(f) => f,
            Err(e) => return ctx.out.error(e),
        };
        froms.push(from);
        if mine {
            reads.push(ReadOne { key, from });
        }
    }
    let mut body = bytes::BytesMut::new();
    let resp3 = ctx.out.resp3;
    let given = read_streams(ctx.shard, db, now, &reads, &r, &mut Out::new(&mut body, resp3));
    if given > 0 || !r.block || ctx.block.is_none() {
        return write_read_reply(&mut ctx.out, given, &body);
    }
    let keys = &args[r.keys_at..r.keys_at + r.n];
    let waiting = waiting_args(args, &r, &froms);
    ctx.block_on(keys, &waiting);
}

/// The ID a blocked read of `key` waits after, from its (rewritten) arguments.
fn waited_id<'a>(key: &[u8], args: &'a [Bytes]) -> Option<&'a [u8]> {
    let keys_at = args.iter().position(|a| a.eq_ignore_ascii_case(b"streams"))? + 1;
    let n = (args.len() - keys_at) / 2;
    let i = args[keys_at..keys_at + n].iter().position(|k| &k[..] == key)?;
    Some(&args[keys_at + n + i])
}

/// A client blocked in XREAD is served by a stream with an entry after the ID it read up to.
fn xread_ready(v: Option<&Value>, key: &[u8], args: &[Bytes]) -> bool {
    let Some(Value::Stream(s)) = v else { return false };
    match waited_id(key, args) {
        Some(b"+") => !s.is_empty(),
        Some(arg) => strict_id(arg).is_ok_and(|id| !s.is_empty() && s.last_entry_id() > id),
        None => false,
    }
}

/// A client blocked in XREADGROUP `>` is served by an entry its group has not been given, and answered with an
/// error when the stream or the group is gone.
fn xreadgroup_ready(v: Option<&Value>, _key: &[u8], args: &[Bytes]) -> bool {
    let group = args.iter().position(|a| a.eq_ignore_ascii_case(b"group")).and_then(|i| args.get(i + 1));
    match (v, group) {
        (Some(Value::Stream(s)), Some(group)) => match s.groups.get(&group[..]) {
            None => true,
            Some(g) => !s.is_empty() && s.last_entry_id() > g.last_id,
        },
        _ => true,
    }
}

/// XREAD/XREADGROUP over keys of several shards, under exclusive locks on all of them: every key is checked
/// first (errors come in argument order), then each shard reads its own, and if none gave anything the client
/// blocks on every shard before the locks are released.
fn xread_cross(s: &mut Session, args: Vec<Bytes>) -> LocalFuture<'_> {
    Box::pin(async move {
        let xreadgroup = args[0].eq_ignore_ascii_case(b"xreadgroup");
        let r = match parse_read(&args, xreadgroup) {
            Ok(r) => std::sync::Arc::new(r),
            Err(e) => return s.reply().error(&e),
        };
        let keys: Vec<Bytes> = args[r.keys_at..r.keys_at + r.n].to_vec();
        let groups = s.shards.group_keys(keys.iter());
        let shards: Vec<usize> = groups.iter().map(|(g, _)| *g).collect();
        let txid = s.shards.lock(&groups, true).await;
        let db = s.db;
        let group: Option<Bytes> = r.group.as_ref().map(|(g, _)| g.clone());
        let parts = groups.iter().map(|(sh, ks)| (*sh, (ks.clone(), group.clone()))).collect();
        let states: Vec<Vec<(Bytes, KeyState)>> = s
            .shards
            .run_parts(parts, move |sh, (ks, group): (Vec<Bytes>, Option<Bytes>)| {
                let now = crate::db::now_ms();
                ks.into_iter()
                    .map(|k| {
                        let st = key_state(sh, db, &k, group.as_deref(), now);
                        (k, st)
                    })
                    .collect()
            })
            .await;
        let state_of = |k: &Bytes| {
            states.iter().flatten().find(|(key, _)| key == k).map(|(_, st)| *st).expect("every key was checked")
        };
        let mut froms = Vec::with_capacity(r.n);
        for (i, key) in keys.iter().enumerate() {
            let st = state_of(key);
            let err = state_error(st, key, group.as_deref())
                .map(Err)
                .unwrap_or_else(|| resolve_id(&args[r.keys_at + r.n + i], st, xreadgroup).map_err(|e| e.to_string()));
            match err {
                Ok(from) => froms.push(from),
                Err(e) => {
                    s.shards.unlock(shards, txid);
                    return s.reply().error(&e);
                }
            }
        }
        let resp3 = s.resp3;
        let parts = groups
            .iter()
            .map(|(sh, ks)| {
                let mine: Vec<(Bytes, From)> =
                    ks.iter().map(|k| (k.clone(), froms[keys.iter().position(|x| x == k).expect("a key")])).collect();
                (*sh, mine)
            })
            .collect();
        let rr = r.clone();
        let bodies: Vec<Vec<(Bytes, bytes::BytesMut)>> = s
            .shards
            .run_parts(parts, move |sh, mine: Vec<(Bytes, From)>| {
                let now = crate::db::now_ms();
                let mut got = Vec::new();
                for (key, from) in mine {
                    let mut body = bytes::BytesMut::new();
                    let one = [ReadOne { key: &key, from }];
                    if read_streams(sh, db, now, &one, &rr, &mut Out::new(&mut body, resp3)) > 0 {
                        got.push((key, body));
                    }
                }
                got
            })
            .await;
        let mut given = 0;
        let mut body = bytes::BytesMut::new();
        for key in &keys {
            if let Some((_, b)) = bodies.iter().flatten().find(|(k, _)| k == key) {
                given += 1;
                body.extend_from_slice(b);
            }
        }
        if given == 0 && r.block && s.may_block() {
            let waiting = waiting_args(&args, &r, &froms);
            s.block_across(groups, waiting, Finish::Run).await;
            s.shards.unlock(shards, txid);
            return;
        }
        s.shards.unlock(shards, txid);
        write_read_reply(&mut s.reply(), given, &body)
    })
}

/// The stream and the group a group command works on, or the error it replies with: WRONGTYPE, or NOGROUP with
/// `nogroup`'s text.
fn group_of<'a>(
    ctx: &'a mut Ctx,
    key: &[u8],
    group: &[u8],
    nogroup: fn(&[u8], &[u8]) -> String,
) -> Result<&'a mut Stream, String> {
    match stream_mut(ctx, key) {
        Err(()) => Err(errors::WRONGTYPE.to_string()),
        Ok(Some(s)) if s.groups.contains_key(group) => Ok(s),
        Ok(_) => Err(nogroup(key, group)),
    }
}

/// NOGROUP as XPENDING, XCLAIM and XAUTOCLAIM word it.
fn no_key_or_group(key: &[u8], group: &[u8]) -> String {
    format!(
        "NOGROUP No such key '{}' or consumer group '{}'",
        String::from_utf8_lossy(key),
        String::from_utf8_lossy(group)
    )
}

/// NOGROUP as XGROUP and XINFO word it.
fn no_group_for_key(key: &[u8], group: &[u8]) -> String {
    format!(
        "NOGROUP No such consumer group '{}' for key name '{}'",
        String::from_utf8_lossy(group),
        String::from_utf8_lossy(key)
    )
}

const XGROUP_NEEDS_KEY: &str = "ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically.";

/// XGROUP CREATE/SETID's options from argument 5: MKSTREAM (CREATE only) and ENTRIESREAD.
fn group_opts(args: &[Bytes], create: bool) -> Result<(bool, Option<u64>), String> {
    let (mut mkstream, mut entries_read) = (false, None);
    let mut i = 5;
    while i < args.len() {
        if create && is(&args[i], "MKSTREAM") {
            mkstream = true;
            i += 1;
        } else if is(&args[i], "ENTRIESREAD") && i + 1 < args.len() {
            match args::int(&args[i + 1])? {
                -1 => entries_read = None,
                n if n < 0 => return Err("ERR value for ENTRIESREAD must be positive or -1".into()),
                n => entries_read = Some(n as u64),
            }
            i += 2;
        } else {
            let sub = String::from_utf8_lossy(&args[1]);
            return Err(format!("ERR unknown subcommand or wrong number of arguments for '{sub}'. Try XGROUP HELP."));
        }
    }
    Ok((mkstream, entries_read))
}

/// `XGROUP CREATE key group id|$ [MKSTREAM] [ENTRIESREAD n]`
fn xgroup_create(ctx: &mut Ctx, args: &[Bytes]) {
    if args.len() > 8 {
        let sub = String::from_utf8_lossy(&args[1]);
        return ctx
            .out
            .error(&format!("ERR unknown subcommand or wrong number of arguments for '{sub}'. Try XGROUP HELP."));
    }
    let (mkstream, entries_read) = match group_opts(args, true) {
        Ok(o) => o,
        Err(e) => return ctx.out.error(&e),
    };
    let (key, name) = (&args[2], &args[3]);
    let last = match stream_mut(ctx, key) {
        Err(()) => return ctx.out.error(errors::WRONGTYPE),
        Ok(None) if !mkstream => return ctx.out.error(XGROUP_NEEDS_KEY),
        Ok(s) => s.map_or(StreamId::MIN, |s| s.last_id),
    };
    let id = if args[4][..] == *b"$" {
        last
    } else {
        match strict_id(&args[4]) {
            Ok(id) => id,
            Err(e) => return ctx.out.error(e),
        }
    };
    let (db, now) = (ctx.db, ctx.now);
    if ctx.shard.dbs[db].peek(key, now).is_none() {
        ctx.shard.dbs[db].set(key, Value::Stream(Box::default()), 0, now);
    }
    let Ok(Some(s)) = stream_mut(ctx, key) else { unreachable!("a stream is there") };
    if s.groups.contains_key(&name[..]) {
        return ctx.out.error("BUSYGROUP Consumer Group name already exists");
    }
    s.groups.insert(name.clone(), crate::db::stream::Group::new(id, entries_read));
    ctx.modified(key);
    ctx.out.ok()
}

/// `XGROUP SETID key group id|$ [ENTRIESREAD n]`
fn xgroup_setid(ctx: &mut Ctx, args: &[Bytes]) {
    if args.len() != 5 && args.len() != 7 {
        let sub = String::from_utf8_lossy(&args[1]);
        return ctx
            .out
            .error(&format!("ERR unknown subcommand or wrong number of arguments for '{sub}'. Try XGROUP HELP."));
    }
    let (_, entries_read) = match group_opts(args, false) {
        Ok(o) => o,
        Err(e) => return ctx.out.error(&e),
    };
    let s = match stream_mut(ctx, &args[2]) {
        Err(()) => return ctx.out.error(errors::WRONGTYPE),
        Ok(None) => return ctx.out.error(XGROUP_NEEDS_KEY),
        Ok(Some(s)) => s,
    };
    if !s.groups.contains_key(&args[3][..]) {
        return ctx.out.error(&no_group_for_key(&args[2], &args[3]));
    }
    let id = if args[4][..] == *b"$" {
        s.last_id
    } else {
        match loose_id(&args[4], 0) {
            Ok(id) => id,
            Err(e) => return ctx.out.error(e),
        }
    };
    let g = s.groups.get_mut(&args[3][..]).expect("checked");
    g.last_id = id;
    g.entries_read = entries_read;
    ctx.modified(&args[2]);
    ctx.out.ok()
}

/// `XGROUP DESTROY key group`: clients blocked reading for the group are told it is gone.
fn xgroup_destroy(ctx: &mut Ctx, args: &[Bytes]) {
    let s = match stream_mut(ctx, &args[2]) {
        Err(()) => return ctx.out.error(errors::WRONGTYPE),
        Ok(None) => return ctx.out.error(XGROUP_NEEDS_KEY),
        Ok(Some(s)) => s,
    };
    if s.groups.remove(&args[3][..]).is_none() {
        return ctx.out.int(0);
    }
    ctx.modified(&args[2]);
    ctx.out.int(1)
}

/// The group of XGROUP CREATECONSUMER/DELCONSUMER, or the error replied.
fn xgroup_group<'a>(ctx: &'a mut Ctx, args: &[Bytes]) -> Option<&'a mut crate::db::stream::Group> {
    match stream_mut(ctx, &args[2]) {
        Err(()) => ctx.out.error(errors::WRONGTYPE),
        Ok(None) => ctx.out.error(XGROUP_NEEDS_KEY),
        Ok(Some(_)) => {}
    }
    let key_ok = matches!(stream_mut(ctx, &args[2]), Ok(Some(_)));
    if !key_ok {
        return None;
    }
    let Ok(Some(s)) = stream_mut(ctx, &args[2]) else { return None };
    if !s.groups.contains_key(&args[3][..]) {
        let e = no_group_for_key(&args[2], &args[3]);
        ctx.out.error(&e);
        return None;
    }
    let Ok(Some(s)) = stream_mut(ctx, &args[2]) else { return None };
    s.groups.get_mut(&args[3][..])
}

/// `XGROUP CREATECONSUMER key group consumer`: 1 when created, 0 when it existed.
fn xgroup_createconsumer(ctx: &mut Ctx, args: &[Bytes]) {
    let now = ctx.now;
    let Some(g) = xgroup_group(ctx, args) else { return };
    let created = g.create_consumer(&args[4], now).is_some();
    if created {
        ctx.modified(&args[2]);
    }
    ctx.out.int(created as i64)
}

/// `XGROUP DELCONSUMER key group consumer`: the number of entries it had pending.
fn xgroup_delconsumer(ctx: &mut Ctx, args: &[Bytes]) {
    let Some(g) = xgroup_group(ctx, args) else { return };
    let pending = g.delete_consumer(&args[4]);
    if pending.is_some() {
        ctx.modified(&args[2]);
    }
    ctx.out.int(pending.unwrap_or(0) as i64)
}

/// `XACK key group id [id ...]`: how many of the IDs were pending.
fn xack(ctx: &mut Ctx, args: &[Bytes]) {
    let found = match stream_mut(ctx, &args[1]) {
        Err(()) => return ctx.out.error(errors::WRONGTYPE),
        Ok(s) => s.is_some_and(|s| s.groups.contains_key(&args[2][..])),
    };
    if !found {
        return ctx.out.int(0);
    }
    let mut ids = Vec::with_capacity(args.len() - 3);
    for a in &args[3..] {
        match strict_id(a) {
            Ok(id) => ids.push(id),
            Err(e) => return ctx.out.error(e),
        }
    }
    let Ok(Some(s)) = stream_mut(ctx, &args[1]) else { unreachable!("checked") };
    let g = s.groups.get_mut(&args[2][..]).expect("checked");
    let acked = ids.into_iter().filter(|&id| g.ack(id)).count();
    if acked > 0 {
        ctx.modified(&args[1]);
    }
    ctx.out.int(acked as i64)
}

/// `XPENDING key group [[IDLE min-idle-time] start end count [consumer]]`
fn xpending(ctx: &mut Ctx, args: &[Bytes]) {
    let n = args.len();
    if n != 3 && !(6..=9).contains(&n) {
        return ctx.out.error(errors::SYNTAX);
    }
    let mut range = None;
    if n >= 6 {
        let mut at = 3;
        let mut min_idle = 0;
        if is(&args[3], "IDLE") {
            match args::int(&args[4]) {
                Ok(v) => min_idle = v,
                Err(e) => return ctx.out.error(e),
            }
            if n < 8 {
                return ctx.out.error(errors::SYNTAX);
            }
            at = 5;
        }
        let count = match args::int(&args[at + 2]) {
            Ok(c) => c.max(0) as usize,
            Err(e) => return ctx.out.error(e),
        };
        let start = match interval_end(&args[at], 0, true) {
            Ok(id) => id,
            Err(e) => return ctx.out.error(e),
        };
        let end = match interval_end(&args[at + 1], u64::MAX, false) {
            Ok(id) => id,
            Err(e) => return ctx.out.error(e),
        };
        range = Some((min_idle, start, end, count, args.get(at + 3)));
    }
    let now = ctx.now;
    if let Err(e) = group_of(ctx, &args[1], &args[2], no_key_or_group) {
        return ctx.out.error(&e);
    }
    let (db, key) = (ctx.db, &args[1]);
    let Some(Value::Stream(s)) = ctx.shard.dbs[db].peek(key, now).map(|e| &e.value) else { unreachable!("checked") };
    let g = &s.groups[&args[2][..]];
    let Some((min_idle, start, end, count, consumer)) = range else {
        ctx.out.array(4);
        ctx.out.int(g.pending_len() as i64);
        match (g.pending_first(), g.pending_last()) {
            (Some(first), Some(last)) => {
                write_id(&mut ctx.out, first.id);
                write_id(&mut ctx.out, last.id);
                let with: Vec<_> = g.consumers().filter(|c| c.pending() > 0).collect();
                ctx.out.array(with.len());
                for c in with {
                    ctx.out.array(2);
                    ctx.out.bulk(&c.name);
                    ctx.out.bulk_int(c.pending() as i64);
                }
            }
            _ => {
                ctx.out.null();
                ctx.out.null();
                ctx.out.null_array();
            }
        }
        return;
    };
    let owner = match consumer {
        None => None,
        Some(name) => match g.consumer_id(name) {
            Some(c) => Some(c),
            None => return ctx.out.array(0),
        },
    };
    let mut rows = Vec::new();
    if start <= end {
        for p in g.pending_range(start, end) {
            if rows.len() >= count {
                break;
            }
            if owner.is_some_and(|c| c != p.consumer) {
                continue;
            }
            let idle = now.saturating_sub(p.delivery_time);
            if min_idle > 0 && (idle as i64) < min_idle {
                continue;
            }
            rows.push((p.id, p.consumer_name.clone(), idle, p.delivery_count));
        }
    }
    ctx.out.array(rows.len());
    for (id, name, idle, deliveries) in rows {
        ctx.out.array(4);
        write_id(&mut ctx.out, id);
        ctx.out.bulk(&name);
        ctx.out.int(idle as i64);
        ctx.out.int(deliveries as i64);
    }
}

/// XCLAIM's options after the IDs.
struct ClaimOpts {
    force: bool,
    justid: bool,
    /// The delivery time to set (Unix ms).
    time: u64,
    retrycount: Option<u64>,
    lastid: StreamId,
}

/// `XCLAIM key group consumer min-idle-time id [id ...] [IDLE ms] [TIME ms] [RETRYCOUNT n] [FORCE] [JUSTID]
/// [LASTID id]`
fn xclaim(ctx: &mut Ctx, args: &[Bytes]) {
    let now = ctx.now;
    if let Err(e) = group_of(ctx, &args[1], &args[2], no_key_or_group) {
        return ctx.out.error(&e);
    }
    let min_idle = match crate::text::parse_i64(&args[4]) {
        Some(v) => v.max(0) as u64,
        None => return ctx.out.error("ERR Invalid min-idle-time argument for XCLAIM"),
    };
    let mut ids = Vec::new();
    let mut j = 5;
    while j < args.len() {
        match StreamId::parse(&args[j], 0) {
            Some(id) => ids.push(id),
            None => break,
        }
        j += 1;
    }
    let mut o = ClaimOpts { force: false, justid: false, time: now, retrycount: None, lastid: StreamId::MIN };
    let mut delivery: Option<i64> = None;
    while j < args.len() {
        let more = args.len() - 1 - j;
        let opt = &args[j][..];
        let int = |a: &[u8], what: &str| {
            crate::text::parse_i64(a).ok_or(format!("ERR Invalid {what} option argument for XCLAIM"))
        };
        if is(opt, "FORCE") {
            o.force = true;
        } else if is(opt, "JUSTID") {
            o.justid = true;
        } else if is(opt, "IDLE") && more > 0 {
            j += 1;
            match int(&args[j], "IDLE") {
                Ok(v) => delivery = Some((now as i64).saturating_sub(v)),
                Err(e) => return ctx.out.error(&e),
            }
        } else if is(opt, "TIME") && more > 0 {
            j += 1;
            match int(&args[j], "TIME") {
                Ok(v) => delivery = Some(v),
                Err(e) => return ctx.out.error(&e),
            }
        } else if is(opt, "RETRYCOUNT") && more > 0 {
            j += 1;
            match int(&args[j], "RETRYCOUNT") {
                Ok(v) => o.retrycount = (v >= 0).then_some(v as u64),
                Err(e) => return ctx.out.error(&e),
            }
        } else if is(opt, "LASTID") && more > 0 {
            j += 1;
            match strict_id(&args[j]) {
                Ok(id) => o.lastid = id,
                Err(e) => return ctx.out.error(e),
            }
        } else {
            return ctx.out.error(&format!("ERR Unrecognized XCLAIM option '{}'", String::from_utf8_lossy(opt)));
        }
        j += 1;
    }
    // A delivery time in the future or before 1970 is taken as now, as clients compute it from their own clocks.
    o.time = match delivery {
        Some(t) if t >= 0 && (t as u64) <= now => t as u64,
        _ => now,
    };
    let resp3 = ctx.out.resp3;
    let Ok(s) = group_of(ctx, &args[1], &args[2], no_key_or_group) else { unreachable!("checked") };
    let mut body = bytes::BytesMut::new();
    let mut out = Out::new(&mut body, resp3);
    let mut claimed = 0;
    let g = s.groups.get_mut(&args[2][..]).expect("checked");
    if o.lastid > g.last_id {
        g.last_id = o.lastid;
    }
    let (c, _) = g.seen_consumer(&args[3], now);
    for id in ids {
        let Some(entry) = s.entries.get(id) else {
            // Deleted from the stream: it leaves the PEL too.
            s.groups.get_mut(&args[2][..]).expect("checked").ack(id);
            continue;
        };
        let g = s.groups.get_mut(&args[2][..]).expect("checked");
        let count = match g.pending(id) {
            None if o.force => 1,
            None => continue,
            Some(p) => {
                if min_idle > 0 && now.saturating_sub(p.delivery_time) < min_idle {
                    continue;
                }
                p.delivery_count
            }
        };
        let count = match o.retrycount {
            Some(n) => n,
            None if o.justid => count,
            None => count + 1,
        };
        g.insert(id, c, o.time, count);
        if o.justid {
            write_id(&mut out, id);
        } else {
            write_entry(&mut out, &entry);
        }
        claimed += 1;
        g.consumer_by_id_mut(c).active_time = Some(now);
    }
    ctx.out.array(claimed);
    ctx.out.raw(&body);
    ctx.modified(&args[1]);
}

/// `XAUTOCLAIM key group consumer min-idle-time start [COUNT count] [JUSTID]`: `[next cursor, claimed, deleted]`.
/// At most COUNT×10 PEL entries are looked at per call.
fn xautoclaim(ctx: &mut Ctx, args: &[Bytes]) {
    let now = ctx.now;
    let min_idle = match crate::text::parse_i64(&args[4]) {
        Some(v) => v.max(0) as u64,
        None => return ctx.out.error("ERR Invalid min-idle-time argument for XAUTOCLAIM"),
    };
    let start = match interval_end(&args[5], 0, true) {
        Ok(id) => id,
        Err(e) => return ctx.out.error(e),
    };
    let mut count = 100usize;
    let mut justid = false;
    let mut j = 6;
    while j < args.len() {
        let more = args.len() - 1 - j;
        if is(&args[j], "COUNT") && more > 0 {
            let max = i64::MAX / 16;
            match crate::text::parse_i64(&args[j + 1]) {
                Some(n) if (1..=max).contains(&n) => count = n as usize,
                _ => return ctx.out.error("ERR COUNT must be > 0"),
            }
            j += 1;
        } else if is(&args[j], "JUSTID") {
            justid = true;
        } else {
            return ctx.out.error(errors::SYNTAX);
        }
        j += 1;
    }
    let resp3 = ctx.out.resp3;
    let s = match group_of(ctx, &args[1], &args[2], no_key_or_group) {
        Ok(s) => s,
        Err(e) => return ctx.out.error(&e),
    };
    let mut attempts = count.saturating_mul(10);
    let g = s.groups.get_mut(&args[2][..]).expect("checked");
    let (c, _) = g.seen_consumer(&args[3], now);
    let candidates: Vec<StreamId> =
        g.pending_range(start, StreamId::MAX).take(attempts.saturating_add(1)).map(|p| p.id).collect();
    let mut body = bytes::BytesMut::new();
    let mut out = Out::new(&mut body, resp3);
    let (mut claimed, mut deleted) = (0, Vec::new());
    let mut next = 0;
    while attempts > 0 && count > 0 && next < candidates.len() {
        attempts -= 1;
        let id = candidates[next];
        next += 1;
        let g = s.groups.get_mut(&args[2][..]).expect("checked");
        let Some(entry) = s.entries.get(id) else {
            g.ack(id);
            deleted.push(id);
            count -= 1;
            continue;
        };
        let p = g.pending(id).expect("a PEL entry");
        if min_idle > 0 && now.saturating_sub(p.delivery_time) < min_idle {
            continue;
        }
        let deliveries = if justid { p.delivery_count } else { p.delivery_count + 1 };
        g.insert(id, c, now, deliveries);
        if justid {
            write_id(&mut out, id);
        } else {
            write_entry(&mut out, &entry);
        }
        claimed += 1;
        count -= 1;
    }
    let g = s.groups.get_mut(&args[2][..]).expect("checked");
    if claimed > 0 {
        g.consumer_by_id_mut(c).active_time = Some(now);
    }
    let cursor = candidates.get(next).copied().unwrap_or(StreamId::MIN);
    ctx.out.array(3);
    write_id(&mut ctx.out, cursor);
    ctx.out.array(claimed);
    ctx.out.raw(&body);
    ctx.out.array(deleted.len());
    for id in deleted {
        write_id(&mut ctx.out, id);
    }
    ctx.modified(&args[1]);
}

/// The stream of an XINFO subcommand, or the error replied.
fn info_stream<'a>(ctx: &'a mut Ctx, key: &[u8]) -> Option<&'a mut Stream> {
    match stream_mut(ctx, key) {
        Err(()) => ctx.out.error(errors::WRONGTYPE),
        Ok(None) => ctx.out.error(errors::NO_SUCH_KEY),
        Ok(Some(_)) => {}
    }
    stream_mut(ctx, key).ok().flatten()
}

/// An integer that may be unknown (XINFO's `entries-read` and `lag`).
fn int_or_null(out: &mut Out, n: Option<u64>) {
    match n {
        Some(n) => out.int(n as i64),
        None => out.null(),
    }
}

/// `XINFO STREAM key [FULL [COUNT count]]`
fn xinfo_stream(ctx: &mut Ctx, args: &[Bytes]) {
    let full = match args.len() {
        3 => None,
        4 if is(&args[3], "FULL") => Some(10),
        6 if is(&args[3], "FULL") && is(&args[4], "COUNT") => match args::int(&args[5]) {
            Ok(n) if n < 0 => Some(10),
            Ok(n) => Some(n as usize),
            Err(e) => return ctx.out.error(e),
        },
        _ => {
            let sub = String::from_utf8_lossy(&args[1]);
            return ctx
                .out
                .error(&format!("ERR unknown subcommand or wrong number of arguments for '{sub}'. Try XINFO HELP."));
        }
    };
    let resp3 = ctx.out.resp3;
    let Some(s) = info_stream(ctx, &args[2]) else { return };
    let mut body = bytes::BytesMut::new();
    let out = &mut Out::new(&mut body, resp3);
    out.map(if full.is_some() { 9 } else { 10 });
    out.bulk(b"length");
    out.int(s.len() as i64);
    out.bulk(b"radix-tree-keys");
    out.int(s.entries.nodes() as i64);
    out.bulk(b"radix-tree-nodes");
    out.int(s.entries.nodes().max(1) as i64);
    out.bulk(b"last-generated-id");
    write_id(out, s.last_id);
    out.bulk(b"max-deleted-entry-id");
    write_id(out, s.max_deleted_id);
    out.bulk(b"entries-added");
    out.int(s.entries_added as i64);
    out.bulk(b"recorded-first-entry-id");
    write_id(out, s.first_id());
    match full {
        None => {
            out.bulk(b"groups");
            out.int(s.groups.len() as i64);
            for (name, e) in [(&b"first-entry"[..], s.entries.first()), (b"last-entry", s.entries.last())] {
                out.bulk(name);
                match e {
                    Some(e) => write_entry(out, &e),
                    None => out.null(),
                }
            }
        }
        Some(count) => {
            let limit = if count == 0 { usize::MAX } else { count };
            out.bulk(b"entries");
            let entries: Vec<EntryRef> = s.entries.range(StreamId::MIN, StreamId::MAX).take(limit).collect();
            out.array(entries.len());
            for e in &entries {
                write_entry(out, e);
            }
            out.bulk(b"groups");
            out.array(s.groups.len());
            for (name, g) in &s.groups {
                out.map(7);
                out.bulk(b"name");
                out.bulk(name);
                out.bulk(b"last-delivered-id");
                write_id(out, g.last_id);
                out.bulk(b"entries-read");
                int_or_null(out, g.entries_read);
                out.bulk(b"lag");
                int_or_null(out, s.lag(g));
                out.bulk(b"pel-count");
                out.int(g.pending_len() as i64);
                out.bulk(b"pending");
                let pel: Vec<_> = g.pending_range(StreamId::MIN, StreamId::MAX).take(limit).collect();
                out.array(pel.len());
                for p in pel {
                    out.array(4);
                    write_id(out, p.id);
                    out.bulk(p.consumer_name);
                    out.int(p.delivery_time as i64);
                    out.int(p.delivery_count as i64);
                }
                out.bulk(b"consumers");
                out.array(g.consumer_count());
                for c in g.consumers() {
                    out.map(5);
                    out.bulk(b"name");
                    out.bulk(&c.name);
                    out.bulk(b"seen-time");
                    out.int(c.seen_time as i64);
                    out.bulk(b"active-time");
                    out.int(c.active_time.map_or(-1, |t| t as i64));
                    out.bulk(b"pel-count");
                    out.int(c.pending() as i64);
                    out.bulk(b"pending");
                    let id = g.consumer_id(&c.name).expect("a consumer of the group");
                    let pel: Vec<_> = g.pending_of(id, StreamId::MIN).take(limit).collect();
                    out.array(pel.len());
                    for p in pel {
                        out.array(3);
                        write_id(out, p.id);
                        out.int(p.delivery_time as i64);
                        out.int(p.delivery_count as i64);
                    }
                }
            }
        }
    }
    ctx.out.raw(&body);
}

/// `XINFO GROUPS key`
fn xinfo_groups(ctx: &mut Ctx, args: &[Bytes]) {
    let resp3 = ctx.out.resp3;
    let Some(s) = info_stream(ctx, &args[2]) else { return };
    let mut body = bytes::BytesMut::new();
    let out = &mut Out::new(&mut body, resp3);
    out.array(s.groups.len());
    for (name, g) in &s.groups {
        out.map(6);
        out.bulk(b"name");
        out.bulk(name);
        out.bulk(b"consumers");
        out.int(g.consumer_count() as i64);
        out.bulk(b"pending");
        out.int(g.pending_len() as i64);
        out.bulk(b"last-delivered-id");
        write_id(out, g.last_id);
        out.bulk(b"entries-read");
        int_or_null(out, g.entries_read);
        out.bulk(b"lag");
        int_or_null(out, s.lag(g));
    }
    ctx.out.raw(&body);
}

/// `XINFO CONSUMERS key group`
fn xinfo_consumers(ctx: &mut Ctx, args: &[Bytes]) {
    let (now, resp3) = (ctx.now, ctx.out.resp3);
    let Some(s) = info_stream(ctx, &args[2]) else { return };
    let Some(g) = s.groups.get(&args[3][..]) else {
        return ctx.out.error(&no_group_for_key(&args[2], &args[3]));
    };
    let mut body = bytes::BytesMut::new();
    let out = &mut Out::new(&mut body, resp3);
    out.array(g.consumer_count());
    for c in g.consumers() {
        out.map(4);
        out.bulk(b"name");
        out.bulk(&c.name);
        out.bulk(b"pending");
        out.int(c.pending() as i64);
        out.bulk(b"idle");
        out.int(now.saturating_sub(c.seen_time) as i64);
        out.bulk(b"inactive");
        out.int(c.active_time.map_or(-1, |t| now.saturating_sub(t) as i64));
    }
    ctx.out.raw(&body);
}

/// The `[KEEPREF|DELREF|ACKED] IDS numids id...` part of XDELEX and XACKDEL, from `at`: the strategy and the
/// range of the IDs.
fn parse_ids_block(args: &[Bytes], at: usize) -> Result<(Refs, std::ops::Range<usize>), &'static str> {
    let (mut refs, mut ids) = (None, None);
    let mut i = at;
    while i < args.len() {
        if let Some(r) = Refs::parse(&args[i]) {
            if refs.is_some() {
                return Err(errors::SYNTAX);
            }
            refs = Some(r);
            i += 1;
        } else if is(&args[i], "IDS") && i + 1 < args.len() {
            let n = match crate::text::parse_i64(&args[i + 1]) {
                Some(n) if n >= 1 => n as usize,
                _ => return Err("ERR Number of IDs must be a positive integer"),
            };
            let first = i + 2;
            if n > args.len() - first {
                return Err("ERR The `numids` parameter must match the number of arguments");
            }
            ids = Some(first..first + n);
            i = first + n;
        } else {
            return Err(errors::SYNTAX);
        }
    }
    let ids = ids.ok_or("ERR IDS option is required")?;
    Ok((refs.unwrap_or(Refs::Keep), ids))
}

/// Deletes one entry under a strategy, as XDELEX and XACKDEL do: 1 deleted, -1 not there, 2 kept because a
/// group still needs it.
fn delete_with(s: &mut Stream, id: StreamId, refs: Refs) -> i64 {
    match refs {
        Refs::Acked if s.referenced(id) => return 2,
        Refs::Delete => s.drop_references(id),
        _ => {}
    }
    if s.delete(id) {
        1
    } else {
        -1
    }
}

/// `XDELEX key [KEEPREF|DELREF|ACKED] IDS numids id [id ...]`: per ID, 1 deleted, -1 not found, 2 still
/// referenced (ACKED).
fn xdelex(ctx: &mut Ctx, args: &[Bytes]) {
    let exists = match stream_mut(ctx, &args[1]) {
        Err(()) => return ctx.out.error(errors::WRONGTYPE),
        Ok(s) => s.is_some(),
    };
    let (refs, range) = match parse_ids_block(args, 2) {
        Ok(p) => p,
        Err(e) => return ctx.out.error(e),
    };
    if !exists {
        ctx.out.array(range.len());
        return range.for_each(|_| ctx.out.int(-1));
    }
    let mut ids = Vec::with_capacity(range.len());
    for a in &args[range] {
        match strict_id(a) {
            Ok(id) => ids.push(id),
            Err(e) => return ctx.out.error(e),
        }
    }
    let Ok(Some(s)) = stream_mut(ctx, &args[1]) else { unreachable!("checked") };
    let results: Vec<i64> = ids.into_iter().map(|id| delete_with(s, id, refs)).collect();
    ctx.shard.scattered_frees += results.len();
    if results.contains(&1) || refs == Refs::Delete {
        ctx.modified(&args[1]);
    }
    ctx.out.array(results.len());
    results.into_iter().for_each(|r| ctx.out.int(r));
}

/// `XACKDEL key group [KEEPREF|DELREF|ACKED] IDS numids id [id ...]`: per ID, -1 not pending in the group, 1
/// acknowledged and deleted, 2 acknowledged but kept for another group (ACKED).
fn xackdel(ctx: &mut Ctx, args: &[Bytes]) {
    if let Err(()) = stream_mut(ctx, &args[1]) {
        return ctx.out.error(errors::WRONGTYPE);
    }
    let (refs, range) = match parse_ids_block(args, 3) {
        Ok(p) => p,
        Err(e) => return ctx.out.error(e),
    };
    let found = matches!(stream_mut(ctx, &args[1]), Ok(Some(s)) if s.groups.contains_key(&args[2][..]));
    if !found {
        ctx.out.array(range.len());
        return range.for_each(|_| ctx.out.int(-1));
    }
    let mut ids = Vec::with_capacity(range.len());
    for a in &args[range] {
        match strict_id(a) {
            Ok(id) => ids.push(id),
            Err(e) => return ctx.out.error(e),
        }
    }
    let Ok(Some(s)) = stream_mut(ctx, &args[1]) else { unreachable!("checked") };
    let mut results = Vec::with_capacity(ids.len());
    for id in ids {
        if !s.groups.get_mut(&args[2][..]).expect("checked").ack(id) {
            results.push(-1);
            continue;
        }
        let r = match refs {
            Refs::Acked if s.referenced(id) => 2,
            _ => {
                if refs == Refs::Delete {
                    s.drop_references(id);
                }
                s.delete(id);
                1
            }
        };
        results.push(r);
    }
    if results.iter().any(|&r| r != -1) {
        ctx.modified(&args[1]);
    }
    ctx.out.array(results.len());
    results.into_iter().for_each(|r| ctx.out.int(r));
}
