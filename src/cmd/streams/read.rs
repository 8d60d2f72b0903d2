//! XREAD and XREADGROUP: reading streams after an ID or as a consumer group, on one shard or several, and
//! blocking until a stream has something for the reader.

use super::*;

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

pub(super) fn xread(ctx: &mut Ctx, args: &[Bytes]) {
    read(ctx, args, false)
}

pub(super) fn xreadgroup(ctx: &mut Ctx, args: &[Bytes]) {
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
pub(super) fn xread_ready(v: Option<&Value>, key: &[u8], args: &[Bytes]) -> bool {
    let Some(Value::Stream(s)) = v else { return false };
    match waited_id(key, args) {
        Some(b"+") => !s.is_empty(),
        Some(arg) => strict_id(arg).is_ok_and(|id| !s.is_empty() && s.last_entry_id() > id),
        None => false,
    }
}

/// A client blocked in XREADGROUP `>` is served by an entry its group has not been given, and answered with an
/// error when the stream or the group is gone.
pub(super) fn xreadgroup_ready(v: Option<&Value>, _key: &[u8], args: &[Bytes]) -> bool {
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
pub(super) fn xread_cross(s: &mut Session, args: Vec<Bytes>) -> LocalFuture<'_> {
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
        // One read per occurrence: a key named twice is read twice, in argument order, as Redis does.
        let n = s.nshards();
        let parts = groups
            .iter()
            .map(|(sh, _)| {
                let mine: Vec<(usize, Bytes, From)> = keys
                    .iter()
                    .enumerate()
                    .filter(|(_, k)| crate::shard::slot::key_shard(k, n) == *sh)
                    .map(|(i, k)| (i, k.clone(), froms[i]))
                    .collect();
                (*sh, mine)
            })
            .collect();
        let rr = r.clone();
        let bodies: Vec<Vec<(usize, bytes::BytesMut)>> = s
            .shards
            .run_parts(parts, move |sh, mine: Vec<(usize, Bytes, From)>| {
                let now = crate::db::now_ms();
                let mut got = Vec::new();
                for (i, key, from) in mine {
                    let mut body = bytes::BytesMut::new();
                    let one = [ReadOne { key: &key, from }];
                    if read_streams(sh, db, now, &one, &rr, &mut Out::new(&mut body, resp3)) > 0 {
                        got.push((i, body));
                    }
                }
                got
            })
            .await;
        let mut given = 0;
        let mut body = bytes::BytesMut::new();
        for i in 0..keys.len() {
            if let Some((_, b)) = bodies.iter().flatten().find(|(at, _)| *at == i) {
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
