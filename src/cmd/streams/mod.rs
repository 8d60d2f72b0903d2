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
use groups::*;
use info::*;
use log::*;
use read::*;
use std::sync::atomic::Ordering;

/// This family's commands, one line each (`spec` describes the fields), and their documentation text.
#[rustfmt::skip]
pub const FAMILY: Family = Family {
    docs: include_str!("../docs/streams.txt"),
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
        spec("xgroup|help", 2, LOADING | STALE, NO_KEYS, Handler::Shard(xgroup_help)),
        spec("xack", -4, WRITE | FAST, key(1), Handler::Shard(xack)),
        spec("xpending", -3, READONLY, key(1), Handler::Shard(xpending)),
        spec("xclaim", -6, WRITE | FAST, key(1), Handler::Shard(xclaim)),
        spec("xautoclaim", -6, WRITE | FAST, key(1), Handler::Shard(xautoclaim)),
        listed("xinfo", -2, NO_FLAGS, NO_KEYS),
        spec("xinfo|stream", -3, READONLY, key(2), Handler::Shard(xinfo_stream)),
        spec("xinfo|groups", 3, READONLY, key(2), Handler::Shard(xinfo_groups)),
        spec("xinfo|consumers", 4, READONLY, key(2), Handler::Shard(xinfo_consumers)),
        spec("xinfo|help", 2, LOADING | STALE, NO_KEYS, Handler::Shard(xinfo_help)),
        spec("xsetid", -3, WRITE | DENYOOM | FAST, key(1), Handler::Shard(xsetid)),
        spec("xdelex", -5, WRITE | FAST, key(1), Handler::Shard(xdelex)),
        spec("xackdel", -6, WRITE | FAST, key(1), Handler::Shard(xackdel)),
    ],
};

mod groups;
mod info;
mod log;
mod read;

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

/// Every argument from `from` on as a strict ID, or the first one's error (commands taking a list of IDs check them
/// all before touching anything).
fn strict_ids(args: &[Bytes]) -> Result<Vec<StreamId>, &'static str> {
    args.iter().map(|a| strict_id(a)).collect()
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
