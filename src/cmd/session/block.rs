//! A client blocked in BLPOP & co. A blocking command runs alone: on one shard it registers the client there if
//! every key is empty; across shards its handler registers it on each (`block_across`). The connection then waits
//! for a wake from the shard that served it, the timeout, or CLIENT UNBLOCK (`wait_block`), and `finish_block`
//! delivers the reply, runs the command again when told to retry, or gives back what a departed client was given.

use super::Session;
use crate::cmd::{Call, Command, Handler};
use crate::proto::request::detach;
use crate::shard::blocking::{Block, Finish, Waiter, Wake};
use crate::shard::{Batch, BatchReply, Msg};
use crate::shared::Shared;
use bytes::Bytes;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use tokio::sync::oneshot;

/// A client blocked in BLPOP & co: what it waits for, and until when.
pub(super) struct Blocked {
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
    pub(super) fn new(shared: &Arc<Shared>) -> Self {
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

impl Session {
    /// Runs a blocking command: alone (the batches before it are flushed, the requests after it wait), with a
    /// fresh `Block` the shard registers if every key is empty.
    pub(super) async fn run_blocking(&mut self, cmd: &'static Command, args: Vec<Bytes>, keep: bool) {
        self.flush_batches().await;
        let Some(target) = self.common_shard(cmd, &args) else {
            let Handler::Keys(_, cross) = cmd.handler else { unreachable!("blocking commands are multi-key") };
            self.block_keep = keep;
            self.block_cmd = Some(cmd);
            self.pulled_apart();
            return self.run_conn(cmd, cross, args, keep).await;
        };
        self.pulled_to(target);
        let call = Call { cmd: &cmd.op, args, db: self.db as u8, block: Some(self.block()), no_touch: self.no_touch };
        let (blocked, args) = if target == self.local && !self.shard.borrow().call_blocked(&call) {
            // The reply goes straight into the output buffer (a command that blocks writes nothing).
            let mark = self.out.len();
            let mut shard = self.shard.borrow_mut();
            let exec = shard.execute(&call, &mut self.out, self.resp3, self.now);
            self.retries.append(&mut shard.retries);
            drop(shard);
            if !keep {
                self.out.truncate(mark);
            }
            (exec.blocked, call.args)
        } else {
            let args = call.args.clone();
            let (tx, wait) = oneshot::channel();
            self.shared.shards[target].send(Msg::Batch(Batch {
                calls: vec![call],
                resp3: self.resp3,
                out: BatchReply::default(),
                reply: tx,
            }));
            let mut r = wait.await.expect("shard dropped a batch");
            self.retries.append(&mut r.retries);
            if keep && !r.blocked {
                self.out.extend_from_slice(&r.buf);
            }
            (r.blocked, args)
        };
        if blocked {
            let mut args = args;
            detach(&mut args);
            self.enter_block(cmd, vec![target], args, keep, false);
        } else {
            self.recycle(args);
        }
    }

    /// The client's blocking registration, ready for a new block.
    pub(super) fn block(&mut self) -> Arc<Block> {
        let id = self.id;
        let block = self.blocker.get_or_insert_with(|| Block::new(id));
        block.rearm();
        block.clone()
    }

    /// Whether the command being run may block (not inside MULTI, once it exists).
    pub fn may_block(&self) -> bool {
        !self.shards.in_exec
    }

    /// Blocks the client on keys spread over several shards (called by cross-shard handlers while they hold the
    /// keys' locks, so nothing can be pushed between their check and this registration). `finish` says how a
    /// shard that finds one of them ready finishes the client.
    pub async fn block_across(&mut self, groups: Vec<(usize, Vec<Bytes>)>, mut args: Vec<Bytes>, finish: Finish) {
        detach(&mut args);
        let cmd = self.block_cmd.take().expect("a blocking command is running");
        let block = self.block();
        let shards: Vec<usize> = groups.iter().map(|(s, _)| *s).collect();
        let shared_args = Arc::new(args.clone());
        let (db, resp3) = (self.db, self.resp3);
        self.shards
            .run_parts(groups, move |sh, keys| {
                let waiter =
                    Waiter { block: block.clone(), cmd: &cmd.op, args: shared_args.clone(), db, resp3, finish };
                sh.blocking.register(&keys, waiter);
            })
            .await;
        let keep = self.block_keep;
        // A move to another shard's key is finished by running the command again: as for a client blocked on
        // keys of several shards, its shards' order of events matters across the pipelines that feed it.
        let spans = shards.len() > 1 || matches!(finish, Finish::Retry);
        self.enter_block(cmd, shards, args, keep, spans);
    }

    /// Leaves the client blocked. Its arguments are already copied out of the read buffer (`detach`); so are the
    /// requests queued behind it here, as the connection hands the buffer back while it waits.
    pub(super) fn enter_block(
        &mut self,
        cmd: &'static Command,
        shards: Vec<usize>,
        args: Vec<Bytes>,
        keep: bool,
        spans: bool,
    ) {
        for request in self.queue.iter_mut() {
            detach(request);
        }
        let deadline = self.retry_deadline.take().unwrap_or_else(|| {
            let ms = block_timeout_ms(cmd, &args);
            // A timeout too far away to represent is as good as none.
            (ms > 0).then(|| tokio::time::Instant::now().checked_add(std::time::Duration::from_millis(ms))).flatten()
        });
        let mut info = self.info.borrow_mut();
        info.blocked = true;
        info.unblock_error = false;
        drop(info);
        let _spanning = spans.then(|| Spanning::new(&self.shared));
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
            Wake::Served(reply, undo, served_by) => {
                // The serving shard already forgot the client; a client blocked on several shards still has
                // entries on the others, which must be gone before its next block (a block reuses its `Block`).
                if b.shards.len() > 1 {
                    let others: Vec<usize> = b.shards.iter().copied().filter(|&s| s != served_by).collect();
                    self.forget_on(&others).await;
                }
                if !gone {
                    if b.keep {
                        self.out.extend_from_slice(&reply);
                    }
                } else if let Some(undo) = undo {
                    self.shards.on_shard(undo.shard, move |sh| undo.apply(sh)).await;
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
                self.shards.on_shard(shard, move |sh| sh.retried(db, &key)).await;
            }
        }
    }

    /// Removes this client's waiter entries from the shards it blocked on.
    pub(super) async fn forget_on(&self, shards: &[usize]) {
        let id = self.id;
        let parts = shards.iter().map(|&s| (s, ())).collect();
        self.shards.run_parts(parts, move |sh, ()| sh.blocking.forget(id)).await;
    }
}

/// A blocking command's timeout in milliseconds (0 = forever), already validated by the command.
fn block_timeout_ms(cmd: &Command, args: &[Bytes]) -> u64 {
    let at = cmd.meta.timeout_at;
    if at == crate::cmd::spec::BLOCK_OPTION {
        let ms = crate::cmd::block_option_at(args).and_then(|i| crate::text::parse_i64(&args[i]));
        return ms.map_or(0, |ms| ms.max(0) as u64);
    }
    let at = if at < 0 { args.len() as i64 + at as i64 } else { at as i64 };
    args.get(at as usize).map_or(0, |t| crate::cmd::lists::parse_timeout(t).unwrap_or(0))
}

/// Sleeps until `deadline`, or forever when there is none.
async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}
