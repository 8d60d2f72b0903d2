//! A connection's session: its state (database, protocol, authentication) and the routing of its pipelines.
//!
//! `execute` takes every request already decoded from the socket. Each command is looked up, checked (arity,
//! authentication), and sent where it runs:
//! - a command on the connection's own shard runs inline, its reply written straight into the output buffer;
//! - a command on another shard joins that shard's batch: one message per shard per run of the pipeline;
//! - a connection command or a multi-shard command is a barrier: the batches so far are sent and awaited, then it
//!   runs with the whole cluster in view.
//!
//! Replies leave in request order: while batches are out, inline replies wait in `side` and `order` records how to
//! interleave them with the batch replies.

use super::client::{ClientInfo, ReplyMode};
use super::spec::{IN_MULTI, NO_AUTH, NO_MULTI};
use super::table::{self, CommandMeta, KeySpec};
use super::{registry, Call, Command, Handler};
use crate::proto::request::{detach, PASS_REQUESTS};
use crate::proto::{errors, Out};
use crate::shard::blocking::{Block, Finish, Waiter, Wake};
use crate::shard::locks::{Grant, LockRequest};
use crate::shard::slot::key_shard;
use crate::shard::{Batch, BatchReply, Msg, Shard};
use crate::shared::Shared;
use bytes::{Bytes, BytesMut};
use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use tokio::sync::oneshot;

/// Where the next reply in request order comes from, while batches are out.
enum Slot {
    /// The bytes of `side` up to `end`.
    Side { end: usize, keep: bool },
    /// The next reply of the batch sent to `shard`.
    Remote { shard: usize, keep: bool },
}

/// A client blocked in BLPOP & co: what it waits for, and until when.
struct Blocked {
    /// The blocking command, run again when a shard says so (`Wake::Retry`).
    cmd: &'static Command,
    deadline: Option<tokio::time::Instant>,
    /// Shards holding its waiter entries, to clean up when it is done.
    shards: Vec<usize>,
    args: Vec<Bytes>,
    keep: bool,
    /// Held while the block spans several shards: counts it in `Shared::spanning_blocks`.
    _spanning: Option<Spanning>,
}

/// One count in `Shared::spanning_blocks`, given back when dropped (however the block ends).
struct Spanning(Arc<Shared>);

impl Spanning {
    fn new(shared: &Arc<Shared>) -> Self {
        shared.spanning_blocks.fetch_add(1, Ordering::Relaxed);
        Spanning(shared.clone())
    }
}

impl Drop for Spanning {
    fn drop(&mut self) {
        self.0.spanning_blocks.fetch_sub(1, Ordering::Relaxed);
    }
}

/// What ended (or interrupted) a block, as the connection saw it.
pub enum BlockEvent {
    /// A shard finished the client.
    Wake(Wake),
    Timeout,
    /// CLIENT UNBLOCK; `true` for the ERROR form.
    Unblock(bool),
    /// The client disconnected, was killed, or the server is stopping.
    Gone,
}

pub struct Session {
    pub shard: Rc<RefCell<Shard>>,
    pub shared: Arc<Shared>,
    pub info: Rc<RefCell<ClientInfo>>,
    pub id: u64,
    pub db: usize,
    pub resp3: bool,
    pub authenticated: bool,
    /// Replies ready to be written, in order.
    pub out: BytesMut,
    /// Set when the connection must close once `out` is written (QUIT, CLIENT KILL of itself, protocol error).
    pub close: bool,
    pub reply_mode: ReplyMode,
    /// CLIENT NO-TOUCH, copied here from the client's info so every call can carry it cheaply.
    pub no_touch: bool,
    /// Set by a command that turns replies back on (CLIENT REPLY ON, RESET): its own reply is sent even though
    /// replies were off when it started, as Redis does.
    pub reply_forced: bool,
    local: usize,
    now: u64,
    pending: Vec<Vec<Call>>,
    order: Vec<Slot>,
    side: BytesMut,
    /// Requests received but not yet run: the rest of a pipeline while the client is blocked.
    queue: VecDeque<Vec<Bytes>>,
    blocked: Option<Blocked>,
    /// The client's registration for blocking, where its wakes arrive: made by its first blocking command and
    /// reused by every later one (`Block::rearm`), since a block leaves neither entries nor wakes behind.
    blocker: Option<Arc<Block>>,
    /// The last command name looked up, exactly as the client spelled it: pipelines repeat one command, and a
    /// byte comparison is cheaper than the table lookup.
    last_lookup: Option<(Bytes, &'static Command)>,
    /// Scratch for `prefetch_keys`: (request, argument) positions of the keys to prefetch.
    prefetch_at: Vec<(u32, u32)>,
    /// Emptied argument vectors, returned to the decoder after each pipeline (see `recycle`).
    spare_args: Vec<Vec<Bytes>>,
    /// Reply mode decision of the blocking command being run, for a block begun by a cross-shard handler.
    block_keep: bool,
    /// The blocking command being run, for a block begun by a cross-shard handler.
    block_cmd: Option<&'static Command>,
    /// The deadline of a block whose command runs again after a wake it could not use: a retry keeps the
    /// timeout the client asked for instead of starting it over.
    retry_deadline: Option<Option<tokio::time::Instant>>,
    /// Commands queued since MULTI (see `cmd::multi`).
    pub multi: Option<super::multi::Multi>,
    /// Keys this client WATCHes and the flag their writers raise.
    pub watch: Option<super::multi::Watch>,
    /// Set while EXEC runs its commands. EXEC already holds the locks of every key they name, so a command that
    /// would lock keys itself gets a transaction id holding nothing (see `lock`).
    pub in_exec: bool,
}

impl Session {
    pub fn new(shard: Rc<RefCell<Shard>>, info: Rc<RefCell<ClientInfo>>, authenticated: bool) -> Self {
        let (local, shared) = {
            let s = shard.borrow();
            (s.id, s.server.clone())
        };
        let id = info.borrow().id;
        Session {
            pending: (0..shared.nshards()).map(|_| Vec::new()).collect(),
            shard,
            shared,
            info,
            id,
            db: 0,
            resp3: false,
            authenticated,
            // Grown by the replies it holds (and let go of when large; see conn.rs), so an idle connection keeps little.
            out: BytesMut::new(),
            close: false,
            reply_mode: ReplyMode::On,
            reply_forced: false,
            no_touch: false,
            local,
            now: 0,
            order: Vec::new(),
            side: BytesMut::new(),
            queue: VecDeque::new(),
            blocked: None,
            blocker: None,
            last_lookup: None,
            prefetch_at: Vec::new(),
            multi: None,
            watch: None,
            in_exec: false,
            spare_args: Vec::new(),
            block_keep: true,
            block_cmd: None,
            retry_deadline: None,
        }
    }

    /// A reply writer over the output buffer, for connection commands (which run with no batch outstanding).
    pub fn reply(&mut self) -> Out<'_> {
        Out::new(&mut self.out, self.resp3)
    }

    pub fn nshards(&self) -> usize {
        self.pending.len()
    }

    pub fn local_shard(&self) -> usize {
        self.local
    }

    /// Runs a pipeline: every request decoded from one read. Stops early if a command blocks; the rest waits
    /// in the queue until `run_queue` is called again after the block ends.
    pub async fn execute(&mut self, requests: impl IntoIterator<Item = Vec<Bytes>>) {
        self.queue.extend(requests);
        self.run_queue().await;
    }

    /// Runs queued requests until the queue is empty, the client blocks, or the connection is to close.
    pub async fn run_queue(&mut self) {
        self.now = crate::db::now_ms();
        self.info.borrow_mut().last_active = self.now;
        self.prefetch_keys();
        while self.blocked.is_none() && !self.close {
            let Some(args) = self.queue.pop_front() else { break };
            if let Some((cmd, args, keep)) = self.dispatch(args) {
                self.dispatch_async(cmd, args, keep).await;
            }
        }
        self.flush_batches().await;
    }

    /// Overlaps the cache misses of a pipeline's key lookups (see `Dict::prefetch`): finds the keys this shard
    /// owns among the queued requests (by the command table's first/last/step; up to `PREFETCH_KEYS_PER_REQUEST`
    /// per request), then prefetches them in three passes. Only pipelines gain, and only on keyspaces larger than
    /// the caches, so short queues skip it. Unknown commands and bad arities are skipped here and answered later.
    fn prefetch_keys(&mut self) {
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
            for i in super::range_positions(first, last, step, args.len()).take(PREFETCH_KEYS_PER_REQUEST) {
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
    fn dispatch(&mut self, args: Vec<Bytes>) -> Option<(&'static Command, Vec<Bytes>, bool)> {
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
        if !arity_ok(cmd.meta, args.len()) {
            self.shard.borrow_mut().stats.reject(cmd.index);
            self.local_error(&errors::wrong_arity(cmd.meta.name));
            return None;
        }
        if !self.authenticated && !cmd.has_flag(NO_AUTH) {
            self.shard.borrow_mut().stats.reject(cmd.index);
            self.local_error(errors::NOAUTH);
            return None;
        }
        self.info.borrow_mut().last_cmd = cmd.meta.name;
        if self.multi.is_some() && cmd.has_flag(NO_MULTI) {
            self.shard.borrow_mut().stats.reject(cmd.index);
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
        if self.shared.pause_until_ms.load(Ordering::Relaxed) != 0 || cmd.blocking() {
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
        if self.must_wait_for_batches(cmd, target) {
            return Some((cmd, args, keep));
        }
        self.route(cmd, args, target, keep);
        None
    }

    /// Whether a write must wait for the batches already out to other shards before it runs: only while some
    /// client is blocked on keys of several shards. Such a client must be offered the keys in the order this
    /// pipeline makes them ready (Redis serves ready keys after each command), which batches running in
    /// parallel on their shards would not keep.
    fn must_wait_for_batches(&self, cmd: &Command, target: usize) -> bool {
        cmd.is_write()
            && self.shared.spanning_blocks.load(Ordering::Relaxed) != 0
            && self.pending.iter().enumerate().any(|(s, calls)| s != target && !calls.is_empty())
    }

    /// Runs what `dispatch` could not: connection commands, multi-shard commands, blocking commands, and
    /// anything while CLIENT PAUSE holds it.
    async fn dispatch_async(&mut self, cmd: &'static Command, args: Vec<Bytes>, keep: bool) {
        if self.shared.pause_until_ms.load(Ordering::Relaxed) != 0 {
            self.wait_while_paused(cmd).await;
        }
        if cmd.blocking() {
            return self.run_blocking(cmd, args, keep).await;
        }
        let target = match cmd.handler {
            Handler::Shard(_) => cmd.first_key(&args).map_or(self.local, |k| key_shard(k, self.nshards())),
            Handler::Keys(_, cross) => match self.common_shard(cmd, &args) {
                Some(target) => target,
                None => return self.run_conn(cross, args, keep).await,
            },
            Handler::Conn(f) => return self.run_conn(f, args, keep).await,
        };
        if self.must_wait_for_batches(cmd, target) {
            self.flush_batches().await;
        }
        self.route(cmd, args, target, keep);
    }

    /// CLIENT PAUSE: holds a command (and, to keep order, everything after it) until the pause ends; with
    /// `WRITE`, only commands that write wait.
    async fn wait_while_paused(&mut self, cmd: &Command) {
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
    fn resolve_subcommand(&self, args: &[Bytes]) -> Result<&'static Command, String> {
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
        let mut target = None;
        for i in cmd.key_indexes(args) {
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
    fn route(&mut self, cmd: &'static Command, args: Vec<Bytes>, target: usize, keep: bool) {
        let call = Call { cmd, args, db: self.db as u8, block: None, no_touch: self.no_touch };
        if target == self.local && self.pending[target].is_empty() {
            let mut shard = self.shard.borrow_mut();
            if !shard.call_blocked(&call) {
                let buf = if self.order.is_empty() { &mut self.out } else { &mut self.side };
                let at = buf.len();
                shard.execute(&call, buf, self.resp3, self.now);
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
    fn recycle(&mut self, mut args: Vec<Bytes>) {
        if self.spare_args.len() < PASS_REQUESTS && args.capacity() <= 64 {
            args.clear();
            self.spare_args.push(args);
        }
    }

    /// Hands the recycled argument vectors to whoever decodes the next requests.
    pub fn take_spare_args(&mut self) -> impl Iterator<Item = Vec<Bytes>> + '_ {
        self.spare_args.drain(..)
    }

    /// Records a reply just written at `at` into `out` or `side`, dropping it if the client asked for no reply.
    fn placed(&mut self, at: usize, keep: bool) {
        if self.order.is_empty() {
            if !keep {
                self.out.truncate(at);
            }
        } else {
            self.order.push(Slot::Side { end: self.side.len(), keep });
        }
    }

    /// A reply produced by the connection itself (an error before the command could run).
    fn local_error(&mut self, msg: &str) {
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

    pub async fn run_conn(&mut self, f: super::ConnFn, args: Vec<Bytes>, keep: bool) {
        self.flush_batches().await;
        let at = self.out.len();
        let start = std::time::Instant::now();
        let name = args[0].clone();
        f(self, args).await;
        if let Some(cmd) = registry().lookup(&name, None) {
            let failed = self.out.get(at) == Some(&b'-');
            self.shard.borrow_mut().stats.record(cmd.index, start.elapsed(), failed);
        }
        if !keep && !std::mem::take(&mut self.reply_forced) {
            self.out.truncate(at);
        }
    }

    /// Sends the batches gathered so far, waits for their replies and writes every reply in request order.
    pub async fn flush_batches(&mut self) {
        if self.order.is_empty() {
            return;
        }
        let mut receivers = Vec::new();
        for (shard, calls) in self.pending.iter_mut().enumerate() {
            if calls.is_empty() {
                continue;
            }
            let (tx, rx) = oneshot::channel();
            let batch = Batch { calls: std::mem::take(calls), resp3: self.resp3, reply: tx };
            self.shared.shards[shard].send(Msg::Batch(batch));
            receivers.push((shard, rx));
        }
        let mut replies: Vec<Option<(BatchReply, usize, usize)>> = (0..self.nshards()).map(|_| None).collect();
        for (shard, rx) in receivers {
            let reply = rx.await.expect("shard dropped a batch");
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
    }

    /// Runs `f` on shard `shard` and returns its result; directly when it is this connection's shard.
    pub async fn on_shard<R: Send + 'static>(
        &self,
        shard: usize,
        f: impl FnOnce(&mut Shard) -> R + Send + 'static,
    ) -> R {
        if shard == self.local {
            return self.shard.borrow_mut().step(f);
        }
        self.shared.shards[shard].run(f).await
    }

    /// Runs `f` on every shard (in parallel) and returns the results in shard order.
    pub async fn on_all_shards<R: Send + 'static>(
        &self,
        f: impl Fn(&mut Shard) -> R + Send + Clone + 'static,
    ) -> Vec<R> {
        let mut receivers = Vec::new();
        for (i, handle) in self.shared.shards.iter().enumerate() {
            if i == self.local {
                continue;
            }
            let (tx, rx) = oneshot::channel();
            let f = f.clone();
            handle.send(Msg::Run(Box::new(move |shard| {
                let _ = tx.send(f(shard));
            })));
            receivers.push((i, rx));
        }
        let mine = self.shard.borrow_mut().step(f);
        let mut results: Vec<Option<R>> = (0..self.nshards()).map(|_| None).collect();
        results[self.local] = Some(mine);
        for (i, rx) in receivers {
            results[i] = Some(rx.await.expect("shard stopped"));
        }
        results.into_iter().map(|r| r.expect("every shard answered")).collect()
    }

    /// Groups keys by owning shard, in ascending shard order (the lock order).
    pub fn group_keys<'a>(&self, keys: impl IntoIterator<Item = &'a Bytes>) -> Vec<(usize, Vec<Bytes>)> {
        let mut groups: Vec<(usize, Vec<Bytes>)> = Vec::new();
        for k in keys {
            let s = key_shard(k, self.nshards());
            match groups.iter_mut().find(|(g, _)| *g == s) {
                Some((_, v)) => {
                    if !v.contains(k) {
                        v.push(k.clone())
                    }
                }
                None => groups.push((s, vec![k.clone()])),
            }
        }
        groups.sort_by_key(|(s, _)| *s);
        groups
    }

    /// Locks keys on several shards, one shard after another in ascending order (see `shard::locks`), and returns
    /// the transaction id to release them with (`Shard::unlock`).
    pub async fn lock(&self, groups: &[(usize, Vec<Bytes>)], exclusive: bool) -> u64 {
        let txid = self.shared.next_txid.fetch_add(1, Ordering::Relaxed);
        if self.in_exec {
            // Inside EXEC, whose own lock covers these keys: an id that holds nothing, so that the command's own
            // unlocks (on the shards or from here) release nothing of EXEC's.
            return txid;
        }
        for (shard, keys) in groups {
            let (tx, rx) = oneshot::channel();
            let req = LockRequest { txid, keys: keys.clone(), exclusive, granted: Grant::Signal(tx) };
            if *shard == self.local {
                self.shard.borrow_mut().lock_request(req);
            } else {
                self.shared.shards[*shard].send(Msg::Lock(req));
            }
            rx.await.expect("shard dropped a lock request");
        }
        txid
    }

    /// Locks a source and a destination key exclusively (RENAME, COPY, LMOVE between shards); returns the
    /// transaction id and the two keys' shards.
    pub async fn lock_pair(&self, src: &Bytes, dst: &Bytes) -> (u64, usize, usize) {
        let n = self.nshards();
        let groups = self.group_keys([src, dst]);
        let txid = self.lock(&groups, true).await;
        (txid, key_shard(src, n), key_shard(dst, n))
    }

    /// A transaction id for `lock_run`.
    pub fn new_txid(&self) -> u64 {
        self.shared.next_txid.fetch_add(1, Ordering::Relaxed)
    }

    /// Locks `keys` on `shard` for transaction `txid` (exclusively, or shared for readers) and, the moment the
    /// lock is granted, runs `f` there under it: one message for what `lock` and `on_shard` do in two round trips.
    /// Shards must still be locked in ascending order, and `f` (or a later step) releases with
    /// `Shard::unlock(txid)`. Inside EXEC, whose own locks cover the keys, `f` just runs (and its unlocks release
    /// nothing).
    pub async fn lock_run<R: Send + 'static>(
        &self,
        shard: usize,
        keys: Vec<Bytes>,
        exclusive: bool,
        txid: u64,
        f: impl FnOnce(&mut Shard) -> R + Send + 'static,
    ) -> R {
        if self.in_exec {
            return self.on_shard(shard, f).await;
        }
        let (tx, rx) = oneshot::channel();
        let run = Box::new(move |sh: &mut Shard| {
            let _ = tx.send(f(sh));
        });
        let req = LockRequest { txid, keys, exclusive, granted: Grant::Run(run) };
        if shard == self.local {
            self.shard.borrow_mut().lock_request(req);
        } else {
            self.shared.shards[shard].send(Msg::Lock(req));
        }
        rx.await.expect("shard dropped a lock request")
    }

    /// Runs `part` on each group's shard with that group's payload, shard after shard in the ascending order of
    /// `groups` (as `group_keys` gives them), each the moment the lock on the group's keys is granted (`lock_run`).
    /// Every shard stays locked until the last has run its part, so the parts look like one step (MSET, MGET).
    /// Returns the results in order.
    pub async fn run_locked<T, R, F>(
        &self,
        groups: Vec<(usize, Vec<Bytes>)>,
        payloads: Vec<T>,
        exclusive: bool,
        part: F,
    ) -> Vec<R>
    where
        T: Send + 'static,
        R: Send + 'static,
        F: Fn(&mut Shard, T) -> R + Send + Clone + 'static,
    {
        let txid = self.new_txid();
        let last = groups.len() - 1;
        let shards: Vec<usize> = groups.iter().map(|(sh, _)| *sh).collect();
        let mut results = Vec::with_capacity(groups.len());
        for (i, ((shard, keys), payload)) in groups.into_iter().zip(payloads).enumerate() {
            let part = part.clone();
            let r = self
                .lock_run(shard, keys, exclusive, txid, move |sh| {
                    let r = part(sh, payload);
                    if i == last {
                        sh.unlock(txid);
                    }
                    r
                })
                .await;
            results.push(r);
        }
        self.unlock(shards[..last].iter().copied(), txid);
        results
    }

    /// Moves something from key `src` on one shard to key `dst` on another (LMOVE, RENAME) so that it looks
    /// atomic. The destination is locked from before the source gives it up until it lands, so whoever reads the
    /// destination waits for it; the source is locked only across its check and `take`. Shards are locked in
    /// ascending order, each lock request carrying its step (`lock_run`), and `land` is posted without waiting:
    /// one or two round trips in all. In the order of Redis's checks: `check_src`, then `refuse` with what
    /// `probe_dst` found, then `take` returns what lands and what the caller gets back.
    #[allow(clippy::too_many_arguments)]
    pub async fn move_across<D, T, U, R>(
        &self,
        src: &Bytes,
        dst: &Bytes,
        check_src: impl FnOnce(&mut Shard) -> Result<(), R> + Send + 'static,
        probe_dst: impl FnOnce(&mut Shard) -> D + Send + 'static,
        refuse: impl FnOnce(D) -> Option<R> + Send + 'static,
        take: impl FnOnce(&mut Shard) -> (T, U) + Send + 'static,
        land: impl FnOnce(&mut Shard, T) + Send + 'static,
    ) -> Result<U, R>
    where
        D: Send + 'static,
        T: Send + 'static,
        U: Send + 'static,
        R: Send + 'static,
    {
        let n = self.nshards();
        let (ss, ds) = (key_shard(src, n), key_shard(dst, n));
        let txid = self.new_txid();
        let taken = if ds < ss {
            // The destination first; then the source's whole part, in one step.
            let found = self.lock_run(ds, vec![dst.clone()], true, txid, probe_dst).await;
            self.lock_run(ss, vec![src.clone()], true, txid, move |sh| {
                let taken = check_src(sh).and_then(|()| refuse(found).map_or(Ok(()), Err)).map(|()| take(sh));
                sh.unlock(txid);
                taken
            })
            .await
        } else {
            // The source first, kept locked only if it passes; then the destination; then the take.
            let checked = self
                .lock_run(ss, vec![src.clone()], true, txid, move |sh| {
                    let checked = check_src(sh);
                    if checked.is_err() {
                        sh.unlock(txid);
                    }
                    checked
                })
                .await;
            checked?;
            let refused = self
                .lock_run(ds, vec![dst.clone()], true, txid, move |sh| {
                    let refused = refuse(probe_dst(sh));
                    if refused.is_some() {
                        sh.unlock(txid);
                    }
                    refused
                })
                .await;
            if let Some(r) = refused {
                self.unlock([ss], txid);
                return Err(r);
            }
            Ok(self
                .on_shard(ss, move |sh| {
                    let taken = take(sh);
                    sh.unlock(txid);
                    taken
                })
                .await)
        };
        // Here the destination is still locked.
        match taken {
            Ok((landing, back)) => {
                self.post(ds, move |sh| {
                    land(sh, landing);
                    sh.unlock(txid);
                });
                Ok(back)
            }
            Err(r) => {
                self.unlock([ds], txid);
                Err(r)
            }
        }
    }

    /// Runs `f` on `shard` without waiting for it: at once on this connection's shard, else as a message, which
    /// the shard runs before anything this connection sends it later.
    pub fn post(&self, shard: usize, f: impl FnOnce(&mut Shard) + Send + 'static) {
        if shard == self.local {
            self.shard.borrow_mut().step(f);
        } else {
            self.shared.shards[shard].send(Msg::Run(Box::new(f)));
        }
    }

    /// Runs `part` on each shard with that shard's payload, all shards in parallel, and returns the results in
    /// the order given. Parts that run under a lock release it themselves (`Shard::unlock`) as they finish.
    pub async fn run_parts<T, R, F>(&self, parts: Vec<(usize, T)>, part: F) -> Vec<R>
    where
        T: Send + 'static,
        R: Send + 'static,
        F: Fn(&mut Shard, T) -> R + Send + Clone + 'static,
    {
        let mut pending = Vec::with_capacity(parts.len());
        let mut local = None;
        for (i, (shard, payload)) in parts.into_iter().enumerate() {
            if shard == self.local {
                local = Some((i, payload));
                pending.push(None);
                continue;
            }
            let (tx, rx) = oneshot::channel();
            let part = part.clone();
            self.shared.shards[shard].send(Msg::Run(Box::new(move |s| {
                let _ = tx.send(part(s, payload));
            })));
            pending.push(Some(rx));
        }
        let mut local_result = local.map(|(i, payload)| (i, self.shard.borrow_mut().step(|sh| part(sh, payload))));
        let mut results = Vec::with_capacity(pending.len());
        for (i, rx) in pending.into_iter().enumerate() {
            let r = match rx {
                Some(rx) => rx.await.expect("shard stopped"),
                None => match local_result.take() {
                    Some((j, r)) if j == i => r,
                    _ => unreachable!("one local part"),
                },
            };
            results.push(r);
        }
        results
    }

    /// Releases a transaction's locks on the given shards without waiting.
    pub fn unlock(&self, shards: impl IntoIterator<Item = usize>, txid: u64) {
        for shard in shards {
            if shard == self.local {
                self.shard.borrow_mut().unlock(txid);
            } else {
                self.shared.shards[shard].send(Msg::Unlock(txid));
            }
        }
    }
}

impl Session {
    /// Runs a blocking command: alone (the batches before it are flushed, the requests after it wait), with a
    /// fresh `Block` the shard registers if every key is empty.
    async fn run_blocking(&mut self, cmd: &'static Command, args: Vec<Bytes>, keep: bool) {
        self.flush_batches().await;
        let Some(target) = self.common_shard(cmd, &args) else {
            let Handler::Keys(_, cross) = cmd.handler else { unreachable!("blocking commands are multi-key") };
            self.block_keep = keep;
            self.block_cmd = Some(cmd);
            return self.run_conn(cross, args, keep).await;
        };
        let call = Call { cmd, args, db: self.db as u8, block: Some(self.block()), no_touch: self.no_touch };
        let (blocked, args) = if target == self.local && !self.shard.borrow().call_blocked(&call) {
            // The reply goes straight into the output buffer (a command that blocks writes nothing).
            let mark = self.out.len();
            let exec = self.shard.borrow_mut().execute(&call, &mut self.out, self.resp3, self.now);
            if !keep {
                self.out.truncate(mark);
            }
            (exec.blocked, call.args)
        } else {
            let args = call.args.clone();
            let (tx, wait) = oneshot::channel();
            self.shared.shards[target].send(Msg::Batch(Batch { calls: vec![call], resp3: self.resp3, reply: tx }));
            let r = wait.await.expect("shard dropped a batch");
            if keep && !r.blocked {
                self.out.extend_from_slice(&r.buf);
            }
            (r.blocked, args)
        };
        if blocked {
            let mut args = args;
            detach(&mut args);
            self.enter_block(cmd, vec![target], args, keep);
        } else {
            self.recycle(args);
        }
    }

    /// The client's blocking registration, ready for a new block.
    fn block(&mut self) -> Arc<Block> {
        let id = self.id;
        let block = self.blocker.get_or_insert_with(|| Block::new(id));
        block.rearm();
        block.clone()
    }

    /// Whether the command being run may block (not inside MULTI, once it exists).
    pub fn may_block(&self) -> bool {
        !self.in_exec
    }

    /// Blocks the client on keys spread over several shards (called by cross-shard handlers while they hold the
    /// keys' locks, so nothing can be pushed between their check and this registration). `finish` says how a
    /// shard that finds one of them ready finishes the client.
    pub async fn block_across(&mut self, groups: Vec<(usize, Vec<Bytes>)>, mut args: Vec<Bytes>, finish: Finish) {
        detach(&mut args);
        let cmd = self.block_cmd.take().expect("a blocking command is running");
        let block = self.block();
        let shards = groups.iter().map(|(s, _)| *s).collect();
        let shared_args = Arc::new(args.clone());
        let (db, resp3) = (self.db, self.resp3);
        self.run_parts(groups, move |sh, keys| {
            let waiter = Waiter { block: block.clone(), cmd, args: shared_args.clone(), db, resp3, finish };
            sh.blocking.register(&keys, waiter);
        })
        .await;
        let keep = self.block_keep;
        self.enter_block(cmd, shards, args, keep);
    }

    /// Leaves the client blocked. Its arguments are already copied out of the read buffer (`detach`); so are the
    /// requests queued behind it here, as the connection hands the buffer back while it waits.
    fn enter_block(&mut self, cmd: &'static Command, shards: Vec<usize>, args: Vec<Bytes>, keep: bool) {
        for request in self.queue.iter_mut() {
            detach(request);
        }
        let deadline = self.retry_deadline.take().unwrap_or_else(|| {
            let ms = block_timeout_ms(&args);
            // A timeout too far away to represent is as good as none.
            (ms > 0).then(|| tokio::time::Instant::now().checked_add(std::time::Duration::from_millis(ms))).flatten()
        });
        let mut info = self.info.borrow_mut();
        info.blocked = true;
        info.unblock_error = false;
        drop(info);
        let _spanning = (shards.len() > 1).then(|| Spanning::new(&self.shared));
        self.blocked = Some(Blocked { cmd, deadline, shards, args, keep, _spanning });
    }

    /// Whether the reply of the command the client is blocked in is to be sent.
    pub fn block_keep(&self) -> bool {
        self.blocked.as_ref().is_some_and(|b| b.keep)
    }

    pub fn is_blocked(&self) -> bool {
        self.blocked.is_some()
    }

    /// Waits for what ends the block: a wake, the timeout, or CLIENT UNBLOCK. Cancel-safe, so the connection can
    /// race it against its socket.
    pub async fn wait_block(&mut self) -> BlockEvent {
        let unblock = self.info.borrow().unblock.clone();
        // (A client that is not blocked has nothing to wait for; `finish_block` ignores whatever it is told.)
        let (Some(b), Some(block)) = (self.blocked.as_ref(), self.blocker.clone()) else {
            return BlockEvent::Timeout;
        };
        let deadline = b.deadline;
        loop {
            tokio::select! {
                w = block.woken() => return BlockEvent::Wake(w),
                _ = sleep_until(deadline) => return BlockEvent::Timeout,
                _ = unblock.notified() => {
                    let mut info = self.info.borrow_mut();
                    // CLIENT UNBLOCK clears the flag before notifying; a notification left over from an UNBLOCK
                    // that raced with the end of an earlier block finds it set, and is ignored.
                    if !info.blocked {
                        return BlockEvent::Unblock(std::mem::take(&mut info.unblock_error));
                    }
                }
            }
        }
    }

    /// Ends a block: delivers the reply a shard produced, re-runs a command told to retry, or answers a timeout.
    /// A client that has gone away gives back what was taken for it.
    pub async fn finish_block(&mut self, event: BlockEvent) {
        let Some(b) = self.blocked.take() else { return };
        let Some(block) = self.blocker.clone() else { return };
        self.info.borrow_mut().blocked = false;
        let gone = matches!(event, BlockEvent::Gone);
        let wake = match event {
            BlockEvent::Wake(w) => w,
            other if block.cancel() => {
                self.forget_on(&b.shards).await;
                if b.keep {
                    match other {
                        BlockEvent::Unblock(true) => {
                            self.reply().error("UNBLOCKED client unblocked via CLIENT UNBLOCK")
                        }
                        BlockEvent::Gone => {}
                        _ => self.reply().null_array(),
                    }
                }
                return;
            }
            // A shard claimed the client first: its wake is on the way.
            _ => block.woken().await,
        };
        match wake {
            Wake::Served(reply, undo) => {
                // The serving shard already forgot the client; a client blocked on several shards still has
                // entries on the others, which must be gone before its next block.
                if b.shards.len() > 1 {
                    self.forget_on(&b.shards).await;
                }
                if !gone {
                    if b.keep {
                        self.out.extend_from_slice(&reply);
                    }
                } else if let Some(undo) = undo {
                    self.on_shard(undo.shard, move |sh| undo.apply(sh)).await;
                }
            }
            Wake::Retry { shard, db, key } => {
                self.forget_on(&b.shards).await;
                if !gone {
                    self.now = crate::db::now_ms();
                    self.retry_deadline = Some(b.deadline);
                    self.run_blocking(b.cmd, b.args, b.keep).await;
                    self.retry_deadline = None;
                }
                // Whatever the command took (maybe from another key, maybe nothing), the waiters behind this
                // client on the key it was woken for get their turn.
                self.on_shard(shard, move |sh| sh.retried(db, &key)).await;
            }
        }
    }

    /// Removes this client's waiter entries from the shards it blocked on.
    async fn forget_on(&self, shards: &[usize]) {
        let id = self.id;
        let parts = shards.iter().map(|&s| (s, ())).collect();
        self.run_parts(parts, move |sh, ()| sh.blocking.forget(id)).await;
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        // Wakes for a client that has gone give back what they took (a client that leaves while blocked is
        // finished first, `BlockEvent::Gone`; this covers a connection dropped with its shard at shutdown).
        if let Some(block) = &self.blocker {
            block.close();
        }
    }
}

/// A blocking command's timeout in milliseconds (0 = forever), already validated by the command.
fn block_timeout_ms(args: &[Bytes]) -> u64 {
    let at = registry().lookup(&args[0], None).map_or(-1, |c| c.meta.timeout_at);
    let at = if at < 0 { args.len() as i64 + at as i64 } else { at as i64 };
    args.get(at as usize).map_or(0, |t| super::lists::parse_timeout(t).unwrap_or(0))
}

/// Sleeps until `deadline`, or forever when there is none.
async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

fn arity_ok(meta: &CommandMeta, n: usize) -> bool {
    let arity = meta.arity;
    if arity >= 0 {
        n as i32 == arity
    } else {
        n as i32 >= -arity
    }
}
