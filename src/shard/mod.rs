//! The shard runtime: one thread per shard, each a single-threaded tokio event loop that owns a slice of the
//! keyspace (the hash slots `slot::slot_shard` assigns it), the connections handed to it, and a mailbox through
//! which the other shards reach its data.
//!
//! Nothing here is shared between threads but the mailboxes: a command on a key this shard owns runs inline on the
//! connection's thread; a command on another shard's key travels in a `Batch` (one per destination shard per
//! pipeline) and its replies come back in one message. Atomic multi-shard operations use `locks`.

pub mod blocking;
pub mod call;
pub mod clients;
pub mod coord;
pub mod keyspec;
pub mod locks;
pub mod slot;
pub mod stats;

use crate::db::{now_ms, Db};
use crate::proto::Out;
use crate::shared::Shared;
use blocking::{Blocking, Finish, Waiter, Wake};
use bytes::{Bytes, BytesMut};
use call::{Call, Ctx, Exec};
use locks::{LockRequest, LockTable};
use stats::Stats;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// One command in this many is timed for INFO commandstats.
const TIME_SAMPLE: u64 = 32;

/// A message to a shard's mailbox.
pub enum Msg {
    /// A freshly accepted connection for this shard's event loop to serve.
    Conn(std::net::TcpStream),
    /// Commands of one pipeline for keys this shard owns, in order.
    Batch(Batch),
    /// Code to run against this shard's data (fan-out commands: KEYS, SCAN, FLUSHALL, INFO...). The closure carries
    /// its own reply channel.
    Run(Box<dyn FnOnce(&mut Shard) + Send>),
    Lock(LockRequest),
    /// Release a transaction's locks; resumes deferred batches.
    Unlock(u64),
    /// A connection moving to this shard's thread (see `conn`): run here, it resumes serving the connection.
    Adopt(Box<dyn FnOnce(Rc<RefCell<Shard>>) + Send>),
    /// Stop the event loop (shutdown).
    Stop,
}

/// Commands for one shard from one pipeline; replied to as one `BatchReply`.
pub struct Batch {
    pub calls: Vec<Call>,
    pub resp3: bool,
    /// Where the replies go: the sender's buffers from an earlier batch, emptied, so that a hop allocates none.
    pub out: BatchReply,
    pub reply: oneshot::Sender<BatchReply>,
}

/// The encoded replies of a batch, back to back; `ends[i]` is where reply `i` ends in `buf`.
#[derive(Default)]
pub struct BatchReply {
    pub buf: BytesMut,
    pub ends: Vec<usize>,
    /// A blocking call (always sent alone) registered as a waiter instead of replying.
    pub blocked: bool,
    /// What the calls left in `Shard::retries`: the sender waits for these before its next command.
    pub retries: Vec<oneshot::Receiver<()>>,
    /// The batch's calls, run, with their argument vectors emptied: the sender reuses the vectors.
    pub calls: Vec<Call>,
}

impl BatchReply {
    /// Empties it for the next batch, keeping what it allocated.
    pub fn clear(&mut self) {
        self.buf.clear();
        self.ends.clear();
        self.blocked = false;
        self.retries.clear();
        self.calls.clear();
    }
}

/// A batch partly executed and waiting for a lock to be released.
struct Pending {
    batch: Batch,
    next: usize,
    out: BatchReply,
}

/// The sending side of a shard's mailbox; cheap to clone, usable from any thread.
#[derive(Clone)]
pub struct ShardHandle {
    tx: mpsc::UnboundedSender<Msg>,
}

impl ShardHandle {
    pub fn send(&self, msg: Msg) {
        // The receiver only goes away at shutdown, when nobody waits for replies any more.
        let _ = self.tx.send(msg);
    }

    /// Runs `f` on the shard and returns its result.
    pub async fn run<R: Send + 'static>(&self, f: impl FnOnce(&mut Shard) -> R + Send + 'static) -> R {
        let (tx, rx) = oneshot::channel();
        self.send(Msg::Run(Box::new(move |shard| {
            let _ = tx.send(f(shard));
        })));
        rx.await.expect("shard stopped while running a request")
    }
}

/// One shard's state, owned by its thread.
pub struct Shard {
    pub id: usize,
    pub server: Arc<Shared>,
    pub dbs: Vec<Db>,
    pub locks: LockTable,
    pub blocking: Blocking,
    /// The CLIENT NO-TOUCH mode the databases are set to (switched only when a call's differs).
    no_touch: bool,
    /// True while serving blocked clients, so the commands run for them do not start another round.
    serving: bool,
    /// True while a blocked client's command runs again to serve it (a command may answer differently then).
    pub waking: bool,
    /// Entries deleted from the middle of values (XDEL & co) since the allocator was last asked to give free
    /// pages back (`return_freed_memory`).
    pub scattered_frees: usize,
    pub stats: Stats,
    deferred: VecDeque<Pending>,
    pub rng: u64,
    /// State of the connections this thread serves, by client id (CLIENT LIST, KILL, blocked_clients...).
    pub clients: clients::Clients,
    /// WATCHed keys of this shard: each watching client's flag, raised when a write command touches the key.
    pub watches: Watches,
    /// Read buffers lent to this thread's connections while they read and run requests.
    pub read_bufs: clients::ReadBufs,
    /// Releases of keys held for a client told to retry (`Blocking::hold`) by the command being run: its client
    /// waits for them before its next command, so it never sees the retry still to come (see `execute`).
    pub retries: Vec<oneshot::Receiver<()>>,
}

/// WATCHed keys, with the database and flag of each client watching them. Keyed by the key alone so that a write
/// looks its keys up without copying them.
pub type Watches = std::collections::HashMap<Bytes, Vec<(u8, Arc<AtomicBool>)>, ahash::RandomState>;

impl Shard {
    pub fn new(id: usize, server: Arc<Shared>, databases: usize) -> Self {
        Shard {
            id,
            server,
            dbs: (0..databases).map(|_| Db::default()).collect(),
            locks: LockTable::default(),
            blocking: Blocking::default(),
            serving: false,
            waking: false,
            scattered_frees: 0,
            no_touch: false,
            stats: Stats::default(),
            deferred: VecDeque::new(),
            rng: 0x9E37_79B9_7F4A_7C15 ^ (id as u64 + 1),
            clients: Default::default(),
            watches: Watches::default(),
            read_bufs: Default::default(),
            retries: Vec::new(),
        }
    }

    /// WATCH: `flag` is raised when a write command next touches `key` in `db`.
    pub fn watch(&mut self, db: u8, key: Bytes, flag: &Arc<AtomicBool>) {
        let watchers = self.watches.entry(key).or_default();
        if !watchers.iter().any(|(d, f)| *d == db && Arc::ptr_eq(f, flag)) {
            watchers.push((db, flag.clone()));
        }
    }

    /// UNWATCH (also after EXEC, DISCARD, RESET and on disconnect).
    pub fn unwatch(&mut self, db: u8, key: &[u8], flag: &Arc<AtomicBool>) {
        if let Some(watchers) = self.watches.get_mut(key) {
            watchers.retain(|(d, f)| !(*d == db && Arc::ptr_eq(f, flag)));
            if watchers.is_empty() {
                self.watches.remove(key);
            }
        }
    }

    /// The one place every change to a key is reported, on the shard that owns it: what Redis's
    /// `signalModifiedKey` and `signalKeyAsReady` do. A command calls it (through `Ctx::modified`, or directly
    /// from a multi-shard step) when, and only when, it really changed `key` in `db`: a write that changes
    /// nothing (DEL of a missing key, PERSIST of a key without a TTL, LREM that removes nothing) does not.
    ///
    /// What follows a write hangs here and nowhere else:
    /// - the clients WATCHing the key have their transaction failed;
    /// - clients blocked on the key are served once the current step completes (`serve_ready`; a key that
    ///   changed but holds nothing for them, a string say, serves nobody);
    /// - the change counter (`Stats::dirty`) moves, which is how the step that ran knows it wrote.
    ///
    /// Keyspace notifications attach here per key; the append-only log and replication attach to the step that
    /// saw `dirty` move (see docs/ARCHITECTURE.md, "The write path").
    #[inline]
    pub fn modified(&mut self, db: usize, key: &[u8]) {
        self.stats.dirty += 1;
        if !self.watches.is_empty() {
            self.touch_watched(db as u8, key);
        }
        self.blocking.signal(db, key);
    }

    /// Raises the flags of the clients watching `key` in `db`.
    fn touch_watched(&mut self, db: u8, key: &[u8]) {
        for (_, f) in self.watches.get(key).into_iter().flatten().filter(|(d, _)| *d == db) {
            f.store(true, Ordering::Release);
        }
    }

    /// Raises the flags of watched keys of `dbs` that are live in any of them: an emptied or swapped database
    /// changes exactly those keys (a key missing or already expired on both sides did not change, as in Redis).
    fn touch_watched_in(&mut self, dbs: &[usize]) {
        if self.watches.is_empty() {
            return;
        }
        let now = now_ms();
        for (key, watchers) in &self.watches {
            let live = dbs.iter().any(|&d| self.dbs[d].is_live(key, now));
            for (_, f) in watchers.iter().filter(|(d, _)| live && dbs.contains(&(*d as usize))) {
                f.store(true, Ordering::Release);
            }
        }
    }

    /// FLUSHDB on this shard's part of `db`, through the write path: the watched keys it empties are touched.
    pub fn flush_db(&mut self, db: usize) {
        self.touch_watched_in(&[db]);
        if !self.dbs[db].is_empty() {
            self.stats.dirty += 1;
        }
        self.dbs[db].clear();
    }

    /// SWAPDB on this shard's part of `a` and `b`, through the write path: watched keys live in either database
    /// are touched, and clients blocked on a key that the swap brought in are served (they wait by database
    /// number, so a client in `b` now sees what was `a`'s).
    pub fn swap_dbs(&mut self, a: usize, b: usize) {
        self.touch_watched_in(&[a, b]);
        self.dbs.swap(a, b);
        self.stats.dirty += 1;
        for db in [a, b] {
            for key in self.blocking.keys_in(db) {
                self.blocking.signal(db, &key);
            }
        }
    }

    /// Gives the free pages in the middle of the heap back to the system once many entries were deleted from the
    /// middle of values. Compacting a stream node frees its old buffer, but the allocator keeps such holes
    /// resident until asked (glibc's `malloc_trim`); at most once a second, so its walk of the heap stays cheap.
    fn return_freed_memory(&mut self) {
        const ENOUGH: usize = 10_000;
        if self.scattered_frees < ENOUGH {
            return;
        }
        self.scattered_frees = 0;
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        {
            extern "C" {
                fn malloc_trim(pad: usize) -> i32;
            }
            // SAFETY: glibc's malloc_trim takes the arena locks itself and only releases unused pages.
            unsafe {
                malloc_trim(0);
            }
        }
    }

    /// A fresh pseudo-random number (xorshift); for sampling, not security.
    pub fn random(&mut self) -> u64 {
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng = x;
        x
    }

    /// Whether a call must wait: for a lock on one of its keys, or for a key held for a client told to retry.
    pub fn call_blocked(&self, call: &Call) -> bool {
        if self.locks.is_empty() && !self.blocking.any_held() {
            return false;
        }
        let write = call.cmd.is_write();
        call.cmd.key_indexes(&call.args).iter().any(|&i| {
            let key = &call.args[i];
            self.locks.blocks(key, write) || self.blocking.is_held(call.db as usize, key)
        })
    }

    /// Runs one call, appending its reply to `buf`; then serves clients blocked on keys it made ready. A client
    /// served by being told to retry leaves the release of its key in `retries`, for the caller to wait on.
    pub fn execute(&mut self, call: &Call, buf: &mut BytesMut, resp3: bool, now: u64) -> Exec {
        if !self.serving {
            // Left by a step no client waits on (an unlock, a landing): nobody is to wait for those.
            self.retries.clear();
        }
        // Reading the clock costs as much as a GET; time one command in TIME_SAMPLE and scale, which keeps
        // INFO commandstats' usec an unbiased estimate.
        self.stats.tick = self.stats.tick.wrapping_add(1);
        if call.no_touch != self.no_touch {
            self.no_touch = call.no_touch;
            self.dbs.iter_mut().for_each(|d| d.no_touch = call.no_touch);
        }
        let start = self.stats.tick.is_multiple_of(TIME_SAMPLE).then(std::time::Instant::now);
        let at = buf.len();
        let mut ctx = Ctx {
            shard: self,
            cmd: call.cmd,
            db: call.db as usize,
            out: Out::new(buf, resp3),
            now,
            block: call.block.as_ref(),
            blocked: false,
            undo: None,
        };
        (call.cmd.run)(&mut ctx, &call.args);
        let exec = Exec { blocked: ctx.blocked, undo: ctx.undo };
        let failed = buf.get(at) == Some(&b'-');
        let took = start.map_or(std::time::Duration::ZERO, |s| s.elapsed() * TIME_SAMPLE as u32);
        self.stats.record(call.cmd.index, took, failed);
        if self.blocking.any_ready() && !self.serving {
            self.serve_ready();
        }
        exec
    }

    /// Serves clients blocked on the keys made ready, first come first served per key, until no ready key has
    /// both data and waiters. A client whose keys are all here is served directly (its command runs now and the
    /// reply is sent to it); one whose keys span shards is told to run its command again.
    pub fn serve_ready(&mut self) {
        if self.serving {
            return;
        }
        self.serving = true;
        let mut rounds = 0;
        while self.blocking.any_ready() && rounds < 10_000 {
            rounds += 1;
            for (db, key) in self.blocking.take_ready() {
                self.serve_key(db, &key);
            }
        }
        self.serving = false;
    }

    /// Serves the clients blocked on one ready key, in the order they blocked, while it has data for them.
    ///
    /// A waiter that this shard can finish (`Waiter::finish`) has its command run now, and its reply leaves
    /// before the command of any other client runs on this shard, as in Redis. A waiter that needs another shard
    /// to finish (a BLMOVE whose destination lives elsewhere) is told to run its command again, and the key is
    /// held for it until it has: the waiters behind it do not overtake it.
    fn serve_key(&mut self, db: usize, key: &bytes::Bytes) {
        let now = now_ms();
        if self.blocking.first_waiting(db, key).is_some_and(|w| w.cmd.ready.is_some()) {
            return self.serve_each(db, key, now);
        }
        if self.dbs[db].peek(key, now).is_none_or(|e| e.value.ready_units() == 0) {
            // Changed, but nothing to serve anyone from: a shard serving these clients from another key must not
            // assume this one is as it was when they blocked.
            self.blocking.mark_changed(db, key);
            return;
        }
        if self.blocking.is_held(db, key) {
            return;
        }
        while self.dbs[db].peek(key, now).is_some_and(|e| e.value.ready_units() > 0) {
            let Some(w) = self.blocking.first_waiting(db, key) else { return };
            let retry = match w.finish {
                Finish::Run => false,
                Finish::RunUnlessChanged => w.block.has_changed(),
                Finish::Retry => true,
            };
            if retry {
                if !w.block.claim() {
                    continue;
                }
                self.blocking.forget(w.block.client_id);
                if w.block.wake(Wake::Retry { shard: self.id, db, key: key.clone() }).is_ok() {
                    let released = self.blocking.hold(db, key);
                    self.retries.push(released);
                    return;
                }
                continue;
            }
            if self.serve_waiter(&w, db, key, now) == Served::Parked {
                return;
            }
        }
    }

    /// Serves the waiters on a key whose command decides, waiter by waiter, whether the key now serves it
    /// (`Op::ready`: XREAD from its own ID, XREADGROUP for its group), in the order they blocked. A waiter the
    /// change does not serve keeps its place.
    fn serve_each(&mut self, db: usize, key: &bytes::Bytes, now: u64) {
        if self.blocking.is_held(db, key) {
            return;
        }
        for w in self.blocking.waiting(db, key) {
            let ready =
                w.cmd.ready.is_none_or(|ready| ready(self.dbs[db].peek(key, now).map(|e| &e.value), key, &w.args));
            if ready && self.serve_waiter(&w, db, key, now) == Served::Parked {
                return;
            }
        }
    }

    /// Runs a waiter's command for it and sends the reply. Its reply leaves before the command of any other
    /// client runs on this shard, as in Redis.
    fn serve_waiter(&mut self, w: &Waiter, db: usize, key: &bytes::Bytes, now: u64) -> Served {
        let client = w.block.client_id;
        let block = Some(w.block.clone());
        let call = Call { cmd: w.cmd, args: w.args.to_vec(), db: db as u8, block, no_touch: false };
        if self.call_blocked(&call) {
            // A multi-shard transaction holds one of its keys: serve this key once a lock is released.
            self.blocking.park(db, key);
            return Served::Parked;
        }
        if !w.block.claim() {
            return Served::Gone;
        }
        // The client's entries go first: should the command register it again, it starts afresh.
        self.blocking.forget(client);
        // Room for a typical pop reply (key and a short element) in one allocation.
        let mut buf = BytesMut::with_capacity(128);
        self.waking = true;
        let exec = self.execute(&call, &mut buf, w.resp3, now);
        self.waking = false;
        if exec.blocked {
            // Found nothing after all: the client runs its command again itself rather than being left claimed
            // with no wake.
            self.blocking.forget(client);
            let _ = w.block.wake(Wake::Retry { shard: self.id, db, key: key.clone() });
            return Served::Parked;
        }
        // Send the reply from here: the client's own task would run only after every connection already
        // queued in this turn of the event loop, and its producers' replies would overtake it. What the socket
        // does not take now goes the usual way; a reply sent whole is delivered, so nothing is to be undone.
        let mut undo = exec.undo;
        if let Some(info) = self.clients.get(&client) {
            let info = info.borrow();
            if info.reply_now {
                let n = info.write_now(&buf);
                self.stats.net_output_bytes += n as u64;
                let _ = buf.split_to(n);
                if buf.is_empty() {
                    undo = None;
                }
            }
        }
        if let Err(Wake::Served(_, Some(undo), _)) = w.block.wake(Wake::Served(buf, undo, self.id)) {
            undo.apply(self);
        }
        Served::Done
    }

    /// A client told to retry on `key` has run its command again: the key's other waiters get their turn.
    pub fn retried(&mut self, db: usize, key: &[u8]) {
        self.blocking.release(db, key);
        // Commands that waited for the key go on, and waiters set aside because of it are served.
        self.resume_deferred();
        self.blocking.unpark();
        self.blocking.signal(db, key);
        self.serve_ready();
    }

    /// Runs one step of a multi-shard operation (a part, a landing, a fan-out) on this shard, then serves the
    /// clients blocked on keys it changed: what `execute` does for a command, for code that is not one.
    pub fn step<R>(&mut self, f: impl FnOnce(&mut Shard) -> R) -> R {
        let r = f(self);
        if self.blocking.any_ready() {
            self.serve_ready();
        }
        r
    }

    /// Releases a transaction's locks on this shard, then lets waiting commands and lock requests go on.
    pub fn unlock(&mut self, txid: u64) {
        if self.locks.release(txid) {
            // Commands that waited go first, then lock requests that waited: neither starves the other.
            self.resume_deferred();
            // Blocked clients whose keys the transaction held are served before the next lock is granted.
            if self.blocking.unpark() {
                self.serve_ready();
            }
            let runs = self.locks.grant_waiting();
            self.run_grants(runs);
        }
    }

    /// Takes a lock request on this shard (`Msg::Lock`, or a coordinator on this thread).
    pub fn lock_request(&mut self, req: LockRequest) {
        let runs = self.locks.request(req);
        self.run_grants(runs);
    }

    /// Runs the first steps of transactions just granted their locks (`locks::Grant::Run`).
    fn run_grants(&mut self, runs: Vec<locks::GrantRun>) {
        if runs.is_empty() {
            return;
        }
        for f in runs {
            f(self);
        }
        if self.blocking.any_ready() {
            self.serve_ready();
        }
    }

    fn handle(&mut self, msg: Msg) {
        match msg {
            Msg::Batch(mut batch) => {
                let n = batch.calls.len();
                let mut out = std::mem::take(&mut batch.out);
                out.buf.reserve(64 * n);
                out.ends.reserve(n);
                // A connection has at most one batch in flight per shard, so batches need no order among themselves.
                self.resume(Pending { batch, next: 0, out });
            }
            Msg::Run(f) => self.step(f),
            Msg::Lock(req) => self.lock_request(req),
            Msg::Unlock(txid) => self.unlock(txid),
            Msg::Conn(_) | Msg::Adopt(_) | Msg::Stop => unreachable!("handled by the event loop"),
        }
    }

    /// Runs a batch from where it stopped; parks it again if it reaches a locked key.
    fn resume(&mut self, mut p: Pending) {
        let now = now_ms();
        while p.next < p.batch.calls.len() {
            let call = &p.batch.calls[p.next];
            if self.call_blocked(call) {
                self.deferred.push_back(p);
                return;
            }
            let resp3 = p.batch.resp3;
            let exec = self.execute(&p.batch.calls[p.next], &mut p.out.buf, resp3, now);
            p.out.blocked |= exec.blocked;
            p.out.retries.append(&mut self.retries);
            p.out.ends.push(p.out.buf.len());
            p.next += 1;
        }
        // The calls go back with the replies, their arguments released here, for the sender to reuse.
        p.out.calls = std::mem::take(&mut p.batch.calls);
        for call in &mut p.out.calls {
            call.args.clear();
            call.block = None;
        }
        let _ = p.batch.reply.send(p.out);
    }

    /// Gives every deferred batch, oldest first, the chance to go on.
    fn resume_deferred(&mut self) {
        for p in std::mem::take(&mut self.deferred) {
            self.resume(p);
        }
    }

    /// Closes connections idle for longer than the `timeout` directive (0 = never), as Redis's clientsCron does.
    fn close_idle_clients(&mut self) {
        let timeout = self.server.live.timeout.load(Ordering::Relaxed);
        if timeout == 0 {
            return;
        }
        for c in self.clients.values() {
            let mut c = c.borrow_mut();
            // Blocked clients are not idle: they wait on purpose (Redis exempts them too).
            if crate::db::now_ms().saturating_sub(c.last_active) / 1000 >= timeout && !c.killed && !c.blocked {
                c.kill();
            }
        }
    }

    /// One round of active expiry over every database, within a CPU budget, as Redis's activeExpireCycle: sample 20
    /// keys with a TTL, delete the expired, go on while more than a quarter were expired and time remains.
    pub fn active_expire(&mut self, budget: std::time::Duration) {
        if !self.server.active_expire.load(Ordering::Relaxed) || !self.locks.is_empty() {
            return;
        }
        let start = std::time::Instant::now();
        let now = now_ms();
        for i in 0..self.dbs.len() {
            loop {
                let seed = self.random();
                let (sampled, expired) = self.dbs[i].expire_sample(20, seed, now);
                if sampled == 0 || expired * 4 <= sampled || start.elapsed() >= budget {
                    break;
                }
            }
            if start.elapsed() >= budget {
                break;
            }
        }
    }
}

/// What the server gives each shard thread at start.
pub struct ShardStart {
    pub id: usize,
    pub server: Arc<Shared>,
    pub databases: usize,
    pub rx: mpsc::UnboundedReceiver<Msg>,
    /// Serves one connection on this thread; provided by the layer above so the runtime does not depend on it.
    pub serve: fn(tokio::net::TcpStream, Rc<RefCell<Shard>>),
}

/// Creates the mailbox of a shard that is yet to be started.
/// How serving one waiter went.
#[derive(PartialEq, Eq)]
enum Served {
    Done,
    /// Claimed by someone else (a shard, or the client itself) meanwhile.
    Gone,
    /// The key must wait: stop serving it for now.
    Parked,
}

pub fn mailbox() -> (ShardHandle, mpsc::UnboundedReceiver<Msg>) {
    let (tx, rx) = mpsc::unbounded_channel();
    (ShardHandle { tx }, rx)
}

/// Runs a shard's event loop on the current thread until it receives `Msg::Stop`.
pub fn run(start: ShardStart) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("shard runtime");
    let local = tokio::task::LocalSet::new();
    let shard = Rc::new(RefCell::new(Shard::new(start.id, start.server.clone(), start.databases)));
    local.block_on(&rt, async move {
        tokio::task::spawn_local(expire_loop(shard.clone()));
        let mut rx = start.rx;
        while let Some(msg) = rx.recv().await {
            let mut next = Some(msg);
            // Drain whatever else has arrived before yielding to the connections again.
            while let Some(msg) = next.take() {
                match msg {
                    Msg::Stop => return,
                    Msg::Conn(stream) => {
                        let _ = stream.set_nonblocking(true);
                        match tokio::net::TcpStream::from_std(stream) {
                            Ok(s) => (start.serve)(s, shard.clone()),
                            Err(e) => tracing::warn!("cannot register connection: {e}"),
                        }
                    }
                    Msg::Adopt(resume) => resume(shard.clone()),
                    other => shard.borrow_mut().handle(other),
                }
                next = rx.try_recv().ok();
            }
        }
    });
}

/// The shard's cron: active expiry `hz` times a second (at most 25% of each period), and once a second the
/// client checks (idle `timeout`).
async fn expire_loop(shard: Rc<RefCell<Shard>>) {
    let mut last_clients_check = std::time::Instant::now();
    loop {
        let hz = shard.borrow().server.live.hz.load(Ordering::Relaxed).clamp(1, 500);
        let period = std::time::Duration::from_millis(1000 / hz);
        tokio::time::sleep(period).await;
        let mut s = shard.borrow_mut();
        s.active_expire(period / 4);
        if last_clients_check.elapsed() >= std::time::Duration::from_secs(1) {
            last_clients_check = std::time::Instant::now();
            s.close_idle_clients();
            s.return_freed_memory();
        }
    }
}
