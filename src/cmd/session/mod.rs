//! A connection's session: its state (database, protocol, authentication, transaction, reply mode) and the loop
//! that runs its requests. The work is split by job:
//! - `route`: each request looked up, checked and sent where it runs (inline, in a batch to another shard, or
//!   coordinated across shards), and the replies put back in request order;
//! - `block`: a client blocked in BLPOP & co, from its registration on the shards to the wake, the timeout or
//!   CLIENT UNBLOCK that ends it.

mod block;
mod moving;
mod route;

use super::client::ReplyMode;
use super::{Call, Command};
use crate::proto::request::PASS_REQUESTS;
use crate::proto::Out;
use crate::shard::blocking::Block;
use crate::shard::clients::ClientInfo;
use crate::shard::coord::Shards;
use crate::shard::{BatchReply, Shard};
use crate::shared::Shared;
pub use block::BlockEvent;
use block::Blocked;
use bytes::{Bytes, BytesMut};
pub use moving::Portable;
use route::Slot;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;
use std::sync::Arc;

pub struct Session {
    pub shard: Rc<RefCell<Shard>>,
    pub shared: Arc<Shared>,
    /// The shards as this connection reaches them, for commands that span several (`shard::coord`).
    pub shards: Shards,
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
    /// Per shard, the reply buffers of the last batch, lent to the next (`Batch::out`).
    spare_replies: Vec<Option<BatchReply>>,
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
    /// Releases to wait for before the next command: clients this connection's commands served by telling them
    /// to run again (`Shard::retries`). Its next command, and its replies, come after they have.
    retries: Vec<tokio::sync::oneshot::Receiver<()>>,
    /// Commands queued since MULTI (see `cmd::multi`).
    pub multi: Option<super::multi::Multi>,
    /// Keys this client WATCHes and the flag their writers raise.
    pub watch: Option<super::multi::Watch>,
    /// Where its keyed commands have been running, for moving the connection there (`moving`).
    pull: moving::Pull,
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
            spare_replies: (0..shared.nshards()).map(|_| None).collect(),
            shards: Shards::new(shard.clone()),
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
            spare_args: Vec::new(),
            block_keep: true,
            block_cmd: None,
            retry_deadline: None,
            retries: Vec::new(),
            pull: moving::Pull::default(),
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
            if !self.retries.is_empty() {
                // A command of this pipeline woke a client that must run again first (see `settle`).
                self.flush_batches().await;
            }
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
