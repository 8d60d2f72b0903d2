//! Consumer groups: XGROUP, XACK, XPENDING, XCLAIM and XAUTOCLAIM.

use super::*;

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
pub(super) fn no_group_for_key(key: &[u8], group: &[u8]) -> String {
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
pub(super) fn xgroup_create(ctx: &mut Ctx, args: &[Bytes]) {
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
pub(super) fn xgroup_setid(ctx: &mut Ctx, args: &[Bytes]) {
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
pub(super) fn xgroup_destroy(ctx: &mut Ctx, args: &[Bytes]) {
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
    let error = match stream_mut(ctx, &args[2]) {
        Err(()) => errors::WRONGTYPE.to_string(),
        Ok(None) => XGROUP_NEEDS_KEY.to_string(),
        Ok(Some(s)) if s.groups.contains_key(&args[3][..]) => {
            return stream_mut(ctx, &args[2]).ok()??.groups.get_mut(&args[3][..])
        }
        Ok(Some(_)) => no_group_for_key(&args[2], &args[3]),
    };
    ctx.out.error(&error);
    None
}

/// `XGROUP CREATECONSUMER key group consumer`: 1 when created, 0 when it existed.
pub(super) fn xgroup_createconsumer(ctx: &mut Ctx, args: &[Bytes]) {
    let now = ctx.now;
    let Some(g) = xgroup_group(ctx, args) else { return };
    let created = g.create_consumer(&args[4], now).is_some();
    if created {
        ctx.modified(&args[2]);
    }
    ctx.out.int(created as i64)
}

/// `XGROUP DELCONSUMER key group consumer`: the number of entries it had pending.
pub(super) fn xgroup_delconsumer(ctx: &mut Ctx, args: &[Bytes]) {
    let Some(g) = xgroup_group(ctx, args) else { return };
    let pending = g.delete_consumer(&args[4]);
    if pending.is_some() {
        ctx.modified(&args[2]);
    }
    ctx.out.int(pending.unwrap_or(0) as i64)
}

/// `XACK key group id [id ...]`: how many of the IDs were pending.
pub(super) fn xack(ctx: &mut Ctx, args: &[Bytes]) {
    let found = match stream_mut(ctx, &args[1]) {
        Err(()) => return ctx.out.error(errors::WRONGTYPE),
        Ok(s) => s.is_some_and(|s| s.groups.contains_key(&args[2][..])),
    };
    if !found {
        return ctx.out.int(0);
    }
    let ids = match strict_ids(&args[3..]) {
        Ok(ids) => ids,
        Err(e) => return ctx.out.error(e),
    };
    let Ok(Some(s)) = stream_mut(ctx, &args[1]) else { unreachable!("checked") };
    let g = s.groups.get_mut(&args[2][..]).expect("checked");
    let acked = ids.into_iter().filter(|&id| g.ack(id)).count();
    if acked > 0 {
        ctx.modified(&args[1]);
    }
    ctx.out.int(acked as i64)
}

/// `XPENDING key group [[IDLE min-idle-time] start end count [consumer]]`
pub(super) fn xpending(ctx: &mut Ctx, args: &[Bytes]) {
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
pub(super) fn xclaim(ctx: &mut Ctx, args: &[Bytes]) {
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
pub(super) fn xautoclaim(ctx: &mut Ctx, args: &[Bytes]) {
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

const XGROUP_HELP: &[&str] = &[
    "XGROUP <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CREATE <key> <groupname> <id|$> [option]",
    "    Create a new consumer group. Options are:",
    "    * MKSTREAM",
    "      Create the empty stream if it does not exist.",
    "    * ENTRIESREAD entries_read",
    "      Set the group's entries_read counter (internal use).",
    "CREATECONSUMER <key> <groupname> <consumer>",
    "    Create a new consumer in the specified group.",
    "DELCONSUMER <key> <groupname> <consumer>",
    "    Remove the specified consumer.",
    "DESTROY <key> <groupname>",
    "    Remove the specified group.",
    "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
    "    Set the current group ID and entries_read counter.",
    "HELP",
    "    Prints this help.",
];

/// `XGROUP HELP`
pub(super) fn xgroup_help(ctx: &mut Ctx, _args: &[Bytes]) {
    crate::cmd::client::help(&mut ctx.out, XGROUP_HELP)
}
