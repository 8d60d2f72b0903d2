//! The log itself: adding (XADD, with its trimming), reading ranges (XRANGE, XREVRANGE, XLEN), deleting (XDEL,
//! and Redis 8.2's XDELEX and XACKDEL with their KEEPREF/DELREF/ACKED strategies), trimming (XTRIM) and XSETID.

use super::*;

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
                // Only the PEL entries below the new first entry can be the trimmed ones.
                let below = if s.is_empty() { StreamId::MAX } else { first.prev().unwrap_or(StreamId::MIN) };
                let gone: Vec<StreamId> = s
                    .groups
                    .values()
                    .flat_map(|g| g.pending_range(StreamId::MIN, below).map(|p| p.id))
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
pub(super) fn xadd(ctx: &mut Ctx, args: &[Bytes]) {
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
pub(super) fn xlen(ctx: &mut Ctx, args: &[Bytes]) {
    match stream_mut(ctx, &args[1]) {
        Err(()) => ctx.out.error(errors::WRONGTYPE),
        Ok(s) => {
            let n = s.map_or(0, |s| s.len());
            ctx.out.int(n as i64)
        }
    }
}

pub(super) fn xrange(ctx: &mut Ctx, args: &[Bytes]) {
    range(ctx, args, false)
}

pub(super) fn xrevrange(ctx: &mut Ctx, args: &[Bytes]) {
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
pub(super) fn xdel(ctx: &mut Ctx, args: &[Bytes]) {
    match stream_mut(ctx, &args[1]) {
        Err(()) => return ctx.out.error(errors::WRONGTYPE),
        Ok(None) => return ctx.out.int(0),
        Ok(Some(_)) => {}
    }
    let ids = match strict_ids(&args[2..]) {
        Ok(ids) => ids,
        Err(e) => return ctx.out.error(e),
    };
    let Ok(Some(s)) = stream_mut(ctx, &args[1]) else { unreachable!("checked above") };
    let deleted = ids.into_iter().filter(|&id| s.delete(id)).count();
    ctx.shard.scattered_frees += deleted;
    if deleted > 0 {
        ctx.modified(&args[1]);
    }
    ctx.out.int(deleted as i64)
}

/// `XTRIM key MAXLEN|MINID [=|~] threshold [LIMIT count]`
pub(super) fn xtrim(ctx: &mut Ctx, args: &[Bytes]) {
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
pub(super) fn xsetid(ctx: &mut Ctx, args: &[Bytes]) {
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
pub(super) fn xdelex(ctx: &mut Ctx, args: &[Bytes]) {
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
    let ids = match strict_ids(&args[range]) {
        Ok(ids) => ids,
        Err(e) => return ctx.out.error(e),
    };
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
pub(super) fn xackdel(ctx: &mut Ctx, args: &[Bytes]) {
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
    let ids = match strict_ids(&args[range]) {
        Ok(ids) => ids,
        Err(e) => return ctx.out.error(e),
    };
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
