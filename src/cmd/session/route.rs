//! Routing a pipeline. Each command is looked up, checked (arity, authentication, MULTI), and sent where it runs:
//! - a command on the connection's own shard runs inline, its reply written straight into the output buffer;
//! - a command on another shard joins that shard's batch: one message per shard per run of the pipeline;
//! - a connection command or a multi-shard command is a barrier: the batches so far are sent and awaited, then it
//!   runs with the whole cluster in view.
//!
//! Replies leave in request order: while batches are out, inline replies wait in `side` and `order` records how to
//! interleave them with the batch replies.

use super::Session;
use crate::cmd::spec::{IN_MULTI, NO_AUTH, NO_MULTI};
use crate::cmd::table::{self, KeySpec};
use crate::cmd::{registry, Call, Command, Handler};
use crate::proto::request::detach;
use crate::proto::{errors, Out};
use crate::shard::slot::key_shard;
use crate::shard::{Batch, BatchReply, Msg};
use bytes::Bytes;
use std::sync::atomic::Ordering;
use tokio::sync::oneshot;
/// Where the next reply in request order comes from, while batches are out.
pub(super) enum Slot {
    /// The bytes of `side` up to `end`.
    Side { end: usize, keep: bool },
    /// The next reply of the batch sent to `shard`.
    Remote { shard: usize, keep: bool },
}

impl Session {
    pub(super) fn prefetch_keys(&mut self) {
        const MIN_PIPELINE: usize = 4;
        const PREFETCH_KEYS_PER_REQUEST: usize = 16;
        // Below this many keys the keyspace mostly sits in the caches and the passes would cost more than they save.
        const MIN_KEYS: usize = 16 * 1024;
        if self.queue.len() < MIN_PIPELINE {
            return;
        }
        if self.shard.borrow().dbs.get(self.db).is_none_or(|db| db.len() < MIN_KEYS) {
            return;
        }
        let mut at = std::mem::take(&mut self.prefetch_at);
        let nshards = self.pending.len();
        let mut last: Option<(&[u8], &'static Command)> = None;
        for (r, args) in self.queue.iter().enumerate() {
            let cmd = match last {
                Some((name, cmd)) if name == &args[0][..] => cmd,
                _ => match registry().lookup(&args[0], None) {
                    Some(cmd) => {
                        last = Some((&args[0][..], cmd));
                        cmd
                    }
                    None => continue,
                },
            };
            let KeySpec::Range { first, last, step } = cmd.meta.keys else { continue };
            for i in
                crate::shard::keyspec::range_positions(first, last, step, args.len()).take(PREFETCH_KEYS_PER_REQUEST)
            {
                if nshards == 1 || key_shard(&args[i], nshards) == self.local {
                    at.push((r as u32, i as u32));
                }
            }
        }
        if let Some(db) = self.shard.borrow().dbs.get(self.db) {
            for stage in 0..3 {
                for &(r, i) in &at {
                    db.prefetch(&self.queue[r as usize][i as usize], stage);
                }
            }
        }
        at.clear();
        self.prefetch_at = at;
    }

    /// Checks a request and runs it if it can run right away (a shard command, inline or batched: the hot path,
    /// with no future to build); otherwise hands it back for `dispatch_async`.
    pub(super) fn dispatch(&mut self, args: Vec<Bytes>) -> Option<(&'static Command, Vec<Bytes>, bool)> {
        let cached = match &self.last_lookup {
            Some((name, c)) if *name == args[0] => Some(*c),
            _ => None,
        };
        let cmd = match cached.or_else(|| registry().lookup(&args[0], None)) {
            Some(cmd) => {
                if cached.is_none() {
                    // A copy: the argument itself would pin the read buffer it was cut from.
                    self.last_lookup = Some((Bytes::copy_from_slice(&args[0]), cmd));
                }
                cmd
            }
            None => match self.resolve_subcommand(&args) {
                Ok(cmd) => cmd,
                Err(msg) => {
                    self.local_error(&msg);
                    return None;
                }
            },
        };
        if !cmd.meta.arity_ok(args.len()) {
            self.shard.borrow_mut().stats.reject(cmd.index());
            self.local_error(&errors::wrong_arity(cmd.meta.name));
            return None;
        }
        if !self.authenticated && !cmd.has_flag(NO_AUTH) {
            self.shard.borrow_mut().stats.reject(cmd.index());
            self.local_error(errors::NOAUTH);
            return None;
        }
        self.info.borrow_mut().last_cmd = cmd.meta.name;
        if self.multi.is_some() && cmd.has_flag(NO_MULTI) {
            self.shard.borrow_mut().stats.reject(cmd.index());
            self.local_error(errors::NOT_IN_MULTI);
            return None;
        }
        if self.multi.is_some() && !cmd.has_flag(IN_MULTI) {
            // Kept until EXEC, maybe beyond this read: copied out of the read buffer the connection hands back.
            let mut args = args;
            detach(&mut args);
            self.multi.as_mut().expect("checked").queued.push((cmd, args));
            let keep = self.reply_mode.take_keep();
            let resp3 = self.resp3;
            let buf = if self.order.is_empty() { &mut self.out } else { &mut self.side };
            let at = buf.len();
            Out::new(buf, resp3).simple("QUEUED");
            self.placed(at, keep);
            return None;
        }
        let keep = self.reply_mode.take_keep();
        if self.shared.pause_until_ms.load(Ordering::Relaxed) != 0 || cmd.blocking(&args) {
            return Some((cmd, args, keep));
        }
        let target = match cmd.handler {
            Handler::Shard(_) => cmd.first_key(&args).map_or(self.local, |k| key_shard(k, self.nshards())),
            Handler::Keys(..) => match self.common_shard(cmd, &args) {
                Some(target) => target,
                None => return Some((cmd, args, keep)),
            },
            Handler::Conn(_) => return Some((cmd, args, keep)),
        };
        if self.must_wait_for_batches(target) {
            return Some((cmd, args, keep));
        }
        self.route(cmd, args, target, keep);
        None
    }

    /// Whether a command must wait for the batches already out to other shards before it runs: only while some
    /// client is blocked on keys of several shards, or on a move to another shard's key. Such a client must be
    /// offered keys in the order this pipeline makes them ready, and be served before the pipeline's next
    /// command looks at any of its keys (Redis serves ready keys after each command), which batches running in
    /// parallel on their shards would not keep.
    pub(super) fn must_wait_for_batches(&self, target: usize) -> bool {
        self.shared.spanning_blocks.load(Ordering::Relaxed) != 0
            && self.pending.iter().enumerate().any(|(s, calls)| s != target && !calls.is_empty())
    }

    /// Runs what `dispatch` could not: connection commands, multi-shard commands, blocking commands, and
    /// anything while CLIENT PAUSE holds it.
    pub(super) async fn dispatch_async(&mut self, cmd: &'static Command, args: Vec<Bytes>, keep: bool) {
        if self.shared.pause_until_ms.load(Ordering::Relaxed) != 0 {
            self.wait_while_paused(cmd).await;
        }
        if cmd.blocking(&args) {
            return self.run_blocking(cmd, args, keep).await;
        }
        let target = match cmd.handler {
            Handler::Shard(_) => cmd.first_key(&args).map_or(self.local, |k| key_shard(k, self.nshards())),
            Handler::Keys(_, cross) => match self.common_shard(cmd, &args) {
                Some(target) => target,
                None => return self.run_conn(cmd, cross, args, keep).await,
            },
            Handler::Conn(f) => return self.run_conn(cmd, f, args, keep).await,
        };
        if self.must_wait_for_batches(target) {
            self.flush_batches().await;
        }
        self.route(cmd, args, target, keep);
    }

    /// CLIENT PAUSE: holds a command (and, to keep order, everything after it) until the pause ends; with
    /// `WRITE`, only commands that write wait.
    pub(super) async fn wait_while_paused(&mut self, cmd: &Command) {
        loop {
            let until = self.shared.pause_until_ms.load(Ordering::Relaxed);
            let now = crate::db::now_ms();
            let applies = !self.shared.pause_writes_only.load(Ordering::Relaxed) || cmd.is_write();
            if until <= now || !applies {
                break;
            }
            self.flush_batches().await;
            tokio::time::sleep(std::time::Duration::from_millis((until - now).min(10))).await;
        }
        self.now = crate::db::now_ms();
    }

    /// Finds `name|sub` for container commands (OBJECT ENCODING...), or the error Redis gives.
    pub(super) fn resolve_subcommand(&self, args: &[Bytes]) -> Result<&'static Command, String> {
        let meta = table::lookup(&args[0]).filter(|m| !m.subcommands.is_empty() && registry().has_subcommands(m.name));
        let Some(meta) = meta else {
            return Err(errors::unknown_command(args));
        };
        let Some(sub) = args.get(1) else {
            return Err(errors::wrong_arity(meta.name));
        };
        registry().lookup(&args[0], Some(sub)).ok_or_else(|| errors::unknown_subcommand(sub, meta.name))
    }

    /// The shard owning all of a multi-key command's keys, if they share one.
    pub fn common_shard(&self, cmd: &Command, args: &[Bytes]) -> Option<usize> {
        let n = self.nshards();
        if n == 1 {
            return Some(0);
        }
        // Fixed key positions (MGET, MSET, DEL, EXISTS...) are walked without collecting them.
        match cmd.op.keys {
            KeySpec::Range { first, last, step } => {
                self.shard_of_all(crate::shard::keyspec::range_positions(first, last, step, args.len()), args)
            }
            _ => self.shard_of_all(cmd.key_indexes(args).into_iter(), args),
        }
    }

    /// The shard owning every key at `positions`, if there is one; the connection's own when there are no keys.
    fn shard_of_all(&self, positions: impl Iterator<Item = usize>, args: &[Bytes]) -> Option<usize> {
        let n = self.nshards();
        let mut target = None;
        for i in positions {
            let s = key_shard(&args[i], n);
            match target {
                None => target = Some(s),
                Some(t) if t != s => return None,
                _ => {}
            }
        }
        Some(target.unwrap_or(self.local))
    }

    /// Sends a shard command to its shard: inline when it is ours and nothing stands in the way, else in a batch.
    pub(super) fn route(&mut self, cmd: &'static Command, args: Vec<Bytes>, target: usize, keep: bool) {
        if cmd.op.keys != KeySpec::None {
            self.pulled_to(target);
        }
        let call = Call { cmd: &cmd.op, args, db: self.db as u8, block: None, no_touch: self.no_touch };
        if target == self.local && self.pending[target].is_empty() {
            let mut shard = self.shard.borrow_mut();
            if !shard.call_blocked(&call) {
                let buf = if self.order.is_empty() { &mut self.out } else { &mut self.side };
                let at = buf.len();
                shard.execute(&call, buf, self.resp3, self.now);
                self.retries.append(&mut shard.retries);
                drop(shard);
                self.placed(at, keep);
                self.recycle(call.args);
                return;
            }
        }
        self.pending[target].push(call);
        self.order.push(Slot::Remote { shard: target, keep });
    }

    /// Keeps an argument vector for the decoder to fill again: the hot path then allocates no vector per command.
    /// Records a reply just written at `at` into `out` or `side`, dropping it if the client asked for no reply.
    pub(super) fn placed(&mut self, at: usize, keep: bool) {
        if self.order.is_empty() {
            if !keep {
                self.out.truncate(at);
            }
        } else {
            self.order.push(Slot::Side { end: self.side.len(), keep });
        }
    }

    /// A reply produced by the connection itself (an error before the command could run).
    pub(super) fn local_error(&mut self, msg: &str) {
        // A command refused while queueing (unknown, wrong arity, not authenticated) dooms the transaction.
        if let Some(m) = &mut self.multi {
            m.failed = true;
        }
        let keep = self.reply_mode.take_keep();
        let resp3 = self.resp3;
        let buf = if self.order.is_empty() { &mut self.out } else { &mut self.side };
        let at = buf.len();
        Out::new(buf, resp3).error(msg);
        self.placed(at, keep);
    }

    /// Runs `cmd`'s connection code `f` (its `Conn` handler, or a `Keys` command's cross-shard coordinator) once
    /// the batches before it are done, and counts it in the statistics.
    pub async fn run_conn(&mut self, cmd: &'static Command, f: crate::cmd::ConnFn, args: Vec<Bytes>, keep: bool) {
        self.flush_batches().await;
        let at = self.out.len();
        let start = std::time::Instant::now();
        f(self, args).await;
        let failed = self.out.get(at) == Some(&b'-');
        self.shard.borrow_mut().stats.record(cmd.index(), start.elapsed(), failed);
        if !keep && !std::mem::take(&mut self.reply_forced) {
            self.out.truncate(at);
        }
    }

    /// Sends the batches gathered so far, waits for their replies and writes every reply in request order.
    pub async fn flush_batches(&mut self) {
        if self.order.is_empty() {
            return self.settle().await;
        }
        let mut receivers = Vec::new();
        for (shard, calls) in self.pending.iter_mut().enumerate() {
            if calls.is_empty() {
                continue;
            }
            let (tx, rx) = oneshot::channel();
            let out = self.spare_replies.get_mut(shard).and_then(Option::take).unwrap_or_default();
            let batch = Batch { calls: std::mem::take(calls), resp3: self.resp3, out, reply: tx };
            self.shared.shards[shard].send(Msg::Batch(batch));
            receivers.push((shard, rx));
        }
        let mut replies: Vec<Option<(BatchReply, usize, usize)>> = (0..self.nshards()).map(|_| None).collect();
        for (shard, rx) in receivers {
            let mut reply = rx.await.expect("shard dropped a batch");
            self.retries.append(&mut reply.retries);
            replies[shard] = Some((reply, 0, 0));
        }
        let mut side_at = 0;
        for slot in self.order.drain(..) {
            match slot {
                Slot::Side { end, keep } => {
                    if keep {
                        self.out.extend_from_slice(&self.side[side_at..end]);
                    }
                    side_at = end;
                }
                Slot::Remote { shard, keep } => {
                    let (reply, next, from) = replies[shard].as_mut().expect("reply for every batch");
                    let end = reply.ends[*next];
                    if keep {
                        self.out.extend_from_slice(&reply.buf[*from..end]);
                    }
                    *from = end;
                    *next += 1;
                }
            }
        }
        self.side.clear();
        // What the batches allocated serves the next ones: the call vectors (their argument vectors to the
        // decoder) and the reply buffers.
        for (shard, reply) in replies.into_iter().enumerate() {
            let Some((mut reply, _, _)) = reply else { continue };
            for call in reply.calls.drain(..) {
                self.recycle(call.args);
            }
            if self.pending[shard].capacity() == 0 {
                self.pending[shard] = std::mem::take(&mut reply.calls);
            }
            reply.clear();
            self.spare_replies[shard] = Some(reply);
        }
        self.settle().await;
    }

    /// Waits until every client that this connection's commands served by telling it to run its command again
    /// (a BLMOVE to another shard's key, a pop whose keys changed elsewhere) has done so. Redis serves the
    /// clients a command made ready before the next command of anyone runs; a client told to retry finishes on
    /// its own connection, so the one that fed it waits for that here, before its next command and before its
    /// replies leave. The client that retries needs nothing of this one: it takes its own locks.
    async fn settle(&mut self) {
        while let Some(released) = self.retries.pop() {
            // A sender dropped unsent (a shard stopping) ends the wait as well.
            let _ = released.await;
        }
    }
}
