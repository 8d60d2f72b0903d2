//! Transactions: MULTI, EXEC, DISCARD, WATCH, UNWATCH.
//!
//! After MULTI a session queues commands (`Session::dispatch` answers `+QUEUED`) instead of running them; a
//! command refused while queueing (unknown, wrong arity) dooms the transaction, and EXEC then answers EXECABORT.
//! EXEC takes the key intent locks of every key the queued commands name, on every shard involved, at once (the
//! same shard-ordered locks multi-key commands use; see docs/ARCHITECTURE.md), checks the WATCH flag, runs the
//! commands one after another and releases the locks. While the locks are held no other client reads or writes
//! those keys, and clients blocked on them are served only after EXEC, as in Redis. Inside EXEC a blocking pop
//! does not block: it answers as its non-blocking form would.
//!
//! WATCH registers the client's flag with the shard that owns each key, and EXEC answers with a null array when
//! the flag is up. The flag is raised by the write path (`Shard::modified`) when a command really changes a
//! watched key, on whichever shard and by whichever route it runs, as Redis's `signalModifiedKey`: a write that
//! changes nothing (DEL of a missing key, PERSIST of a key without a TTL, a failed RENAME) leaves it alone.
//! FLUSHDB, FLUSHALL and SWAPDB touch the watched keys live in the databases they empty or swap. A key that was
//! live when watched and has expired by EXEC counts as changed (Redis deletes it on access and signals it): WATCH
//! notes each key's expiry, and EXEC compares it with the clock.

use super::spec::*;
use super::{Call, Command, Handler, LocalFuture, Session};
use crate::shard::slot::key_shard;
use bytes::{Bytes, BytesMut};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// This family's commands, one line each (`spec` describes the fields), and their documentation text.
#[rustfmt::skip]
pub const FAMILY: Family = Family {
    docs: include_str!("docs/multi.txt"),
    specs: &[
        spec("multi", 1, NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY | IN_MULTI, NO_KEYS, Handler::Conn(multi)),
        spec("exec", 1, NOSCRIPT | LOADING | STALE | SKIP_SLOWLOG | IN_MULTI, NO_KEYS, Handler::Conn(exec)),
        spec("discard", 1, NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY | IN_MULTI, NO_KEYS, Handler::Conn(discard)),
        spec("watch", -2, NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY | IN_MULTI, range(1, -1, 1), Handler::Conn(watch)),
        spec("unwatch", 1, NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY, NO_KEYS, Handler::Conn(unwatch)),
    ],
};

/// A transaction being queued.
#[derive(Default)]
pub struct Multi {
    pub queued: Vec<(&'static Command, Vec<Bytes>)>,
    /// A command was refused while queueing: EXEC will answer EXECABORT.
    pub failed: bool,
}

/// The keys a client watches, and the flag raised when one of them is written.
pub struct Watch {
    flag: Arc<AtomicBool>,
    /// (db, key)
    keys: Vec<(u8, Bytes)>,
    /// The earliest expiry (Unix ms) among the watched keys that were live with a TTL when watched; 0 for none.
    /// Once it has passed, one of them has expired, which fails EXEC.
    expires: u64,
}

impl Watch {
    /// Whether EXEC must fail: a watched key was changed, or has expired since it was watched.
    fn dirty(&self, now: u64) -> bool {
        self.flag.load(Ordering::Acquire) || (self.expires != 0 && self.expires <= now)
    }
}

fn multi(s: &mut Session, _args: Vec<Bytes>) -> LocalFuture<'_> {
    Box::pin(async move {
        if s.multi.is_some() {
            return s.reply().error("ERR MULTI calls can not be nested");
        }
        s.multi = Some(Multi::default());
        s.reply().ok()
    })
}

fn discard(s: &mut Session, _args: Vec<Bytes>) -> LocalFuture<'_> {
    Box::pin(async move {
        if s.multi.take().is_none() {
            return s.reply().error("ERR DISCARD without MULTI");
        }
        forget_watches(s);
        s.reply().ok()
    })
}

fn exec(s: &mut Session, _args: Vec<Bytes>) -> LocalFuture<'_> {
    Box::pin(async move {
        let Some(m) = s.multi.take() else {
            return s.reply().error("ERR EXEC without MULTI");
        };
        if m.failed {
            forget_watches(s);
            return s.reply().error("EXECABORT Transaction discarded because of previous errors.");
        }
        let groups = s
            .shards
            .group_keys(m.queued.iter().flat_map(|(cmd, args)| cmd.key_indexes(args).into_iter().map(|i| &args[i])));
        let txid = if groups.is_empty() { None } else { Some(s.shards.lock(&groups, true).await) };
        // Checked under the locks: a write that raced with this EXEC either raised the flag already or waits.
        let dirty = s.watch.as_ref().is_some_and(|w| w.dirty(crate::db::now_ms()));
        forget_watches(s);
        if !dirty {
            s.shards.in_exec = true;
            s.reply().array(m.queued.len());
            for (cmd, args) in m.queued {
                run_queued(s, cmd, args).await;
            }
            s.shards.in_exec = false;
        }
        if let Some(txid) = txid {
            s.shards.unlock(groups.iter().map(|(shard, _)| *shard), txid);
        }
        if dirty {
            s.reply().null_array();
        }
    })
}

/// Runs one command of a transaction, appending its reply. A command whose keys live on one shard runs there
/// directly, past the transaction's own locks; one spanning shards, and connection commands, run as usual (the
/// locks they take during EXEC hold nothing: `Shards::lock`).
async fn run_queued(s: &mut Session, cmd: &'static Command, args: Vec<Bytes>) {
    let target = match cmd.handler {
        Handler::Conn(f) => return s.run_conn(cmd, f, args, true).await,
        Handler::Shard(_) => Some(cmd.first_key(&args).map_or(s.local_shard(), |k| key_shard(k, s.nshards()))),
        Handler::Keys(..) => s.common_shard(cmd, &args),
    };
    let Some(target) = target else {
        let Handler::Keys(_, cross) = cmd.handler else { unreachable!("only Keys commands span shards") };
        return s.run_conn(cmd, cross, args, true).await;
    };
    // No `block`: a blocking pop answers as its non-blocking form.
    let call = Call { cmd: &cmd.op, args, db: s.db as u8, block: None, no_touch: s.no_touch };
    let resp3 = s.resp3;
    let now = crate::db::now_ms();
    let mut replies = s
        .shards
        .run_parts(vec![(target, call)], move |shard, call| {
            let mut buf = BytesMut::new();
            shard.execute(&call, &mut buf, resp3, now);
            buf
        })
        .await;
    let reply = replies.pop().expect("one part, one reply");
    s.out.extend_from_slice(&reply);
}

fn watch(s: &mut Session, args: Vec<Bytes>) -> LocalFuture<'_> {
    Box::pin(async move {
        if s.multi.is_some() {
            return s.reply().error("ERR WATCH inside MULTI is not allowed");
        }
        let db = s.db as u8;
        let w = s.watch.get_or_insert_with(|| Watch {
            flag: Arc::new(AtomicBool::new(false)),
            keys: Vec::new(),
            expires: 0,
        });
        let flag = w.flag.clone();
        let mut added: Vec<Bytes> = Vec::new();
        for key in &args[1..] {
            if !w.keys.iter().any(|(d, k)| *d == db && k == key) && !added.contains(key) {
                let key = Bytes::copy_from_slice(key);
                w.keys.push((db, key.clone()));
                added.push(key);
            }
        }
        // Awaited, so that a write this client sends next is sure to find the keys watched.
        let groups = s.shards.group_keys(added.iter());
        let expiries = s
            .shards
            .run_parts(groups, move |sh, keys| {
                let now = crate::db::now_ms();
                let mut earliest = 0;
                for key in keys {
                    if let Some(at @ 1..) = sh.dbs[db as usize].live_expiry(&key, now) {
                        earliest = if earliest == 0 { at } else { earliest.min(at) };
                    }
                    sh.watch(db, key, &flag);
                }
                earliest
            })
            .await;
        if let Some(w) = &mut s.watch {
            for at in expiries.into_iter().filter(|&at| at != 0) {
                w.expires = if w.expires == 0 { at } else { w.expires.min(at) };
            }
        }
        s.reply().ok()
    })
}

fn unwatch(s: &mut Session, _args: Vec<Bytes>) -> LocalFuture<'_> {
    Box::pin(async move {
        forget_watches(s);
        s.reply().ok()
    })
}

/// Drops the client's watches (UNWATCH, EXEC, DISCARD, RESET, disconnect). Nothing to wait for: a flag raised
/// after this is never read.
pub fn forget_watches(s: &mut Session) {
    let Some(w) = s.watch.take() else { return };
    let local = s.local_shard();
    let n = s.nshards();
    for (db, key) in w.keys {
        let shard = key_shard(&key, n);
        let flag = w.flag.clone();
        if shard == local {
            s.shard.borrow_mut().unwatch(db, &key, &flag);
        } else {
            s.shared.shards[shard].send(crate::shard::Msg::Run(Box::new(move |sh| sh.unwatch(db, &key, &flag))));
        }
    }
}
