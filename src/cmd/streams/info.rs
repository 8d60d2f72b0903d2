//! XINFO STREAM, GROUPS and CONSUMERS.

use super::*;

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
pub(super) fn xinfo_stream(ctx: &mut Ctx, args: &[Bytes]) {
    let full = args.len() > 3;
    let form_ok = match args.len() {
        3 => true,
        4 => is(&args[3], "FULL"),
        6 => is(&args[3], "FULL") && is(&args[4], "COUNT"),
        _ => false,
    };
    if !form_ok {
        let sub = String::from_utf8_lossy(&args[1]);
        return ctx
            .out
            .error(&format!("ERR unknown subcommand or wrong number of arguments for '{sub}'. Try XINFO HELP."));
    }
    // As Redis: the key is looked up before COUNT is read.
    if info_stream(ctx, &args[2]).is_none() {
        return;
    }
    let full = match (full, args.get(5)) {
        (false, _) => None,
        (true, None) => Some(10),
        (true, Some(n)) => match args::int(n) {
            Ok(n) if n < 0 => Some(10),
            Ok(n) => Some(n as usize),
            Err(e) => return ctx.out.error(e),
        },
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
pub(super) fn xinfo_groups(ctx: &mut Ctx, args: &[Bytes]) {
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
pub(super) fn xinfo_consumers(ctx: &mut Ctx, args: &[Bytes]) {
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

const XINFO_HELP: &[&str] = &[
    "XINFO <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CONSUMERS <key> <groupname>",
    "    Show consumers of <groupname>.",
    "GROUPS <key>",
    "    Show the stream consumer groups.",
    "STREAM <key> [FULL [COUNT <count>]",
    "    Show information about the stream.",
    "HELP",
    "    Prints this help.",
];

/// `XINFO HELP`
pub(super) fn xinfo_help(ctx: &mut Ctx, _args: &[Bytes]) {
    crate::cmd::client::help(&mut ctx.out, XINFO_HELP)
}
