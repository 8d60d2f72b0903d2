//! Clients blocked on keys (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP), per shard.
//!
//! A blocked client is one `Block`, shared (through an `Arc`) by the waiter entries it leaves on every shard that
//! owns one of its keys. Its `state` decides, once and for all, who finishes it:
//!
//! - a shard that finds one of the client's keys ready moves the state WAITING → CLAIMED and then either serves
//!   the client itself (all the command's keys are on that shard: it runs the command and sends the reply) or, for
//!   a command spanning shards, tells the client to run the command again (`Wake::Retry`), which it does under the
//!   multi-shard locks;
//! - the client, on timeout, CLIENT UNBLOCK or disconnect, moves WAITING → CANCELLED; if it finds CLAIMED instead,
//!   a wake is already on its way and it waits for it, so an element is never popped for nobody: a client that
//!   has gone away hands a served reply's elements back (`Undo`), and a retry it cannot use back to the shard
//!   (the key is signalled ready again).
//!
//! Waiters on one key are served first come, first served. Keys are signalled ready by the commands that add to
//! them; the shard serves them after the command that made them ready completes, so a woken client sees what a
//! fresh call would see, and a BLMOVE whose push readies another key chains on. A client told to retry signals
//! the key again once its command has run, so an element it did not take still reaches the next waiter. A key
//! whose first waiter's command touches a key locked by a multi-shard transaction is *parked* and served again
//! when the shard releases a lock, so serving never breaks a transaction's atomicity.

use super::call::Op;
use crate::db::Value;
use bytes::{Bytes, BytesMut};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::{oneshot, Notify};

pub const WAITING: u8 = 0;
pub const CLAIMED: u8 = 1;
pub const CANCELLED: u8 = 2;

/// What a blocked client is told when a shard finishes it.
pub enum Wake {
    /// The shard ran the command; here is its reply, how to give back what it took if the client is gone, and
    /// which shard it was (it has already forgotten the client's entries there).
    Served(BytesMut, Option<Undo>, usize),
    /// One of the keys (on `shard`) is ready; run the command again.
    Retry { shard: usize, db: usize, key: Bytes },
}

/// Elements popped for a client, to push back where they came from if the client cannot take them.
pub struct Undo {
    pub shard: usize,
    pub db: usize,
    pub key: Bytes,
    /// Popped from the head (true) or the tail.
    pub head: bool,
    /// In the order they were popped.
    pub values: Vec<Bytes>,
}

impl Undo {
    /// Gives the elements back to the end they came from, in their original order, through the write path (so
    /// the next waiter on the key gets them). Run on the shard that popped them. A key that has meanwhile
    /// become another type keeps its value; the elements are dropped, as a push onto it would be refused.
    pub fn apply(self, shard: &mut super::Shard) {
        let now = crate::db::now_ms();
        let store = &mut shard.dbs[self.db];
        let id = match store.find(&self.key, now) {
            Some(id) => id,
            None => store.set(&self.key, Value::List(Box::default()), 0, now),
        };
        let Value::List(list) = &mut store.entry_mut(id).value else { return };
        list.unpop(&self.values, self.head);
        shard.modified(self.db, &self.key);
    }
}

/// One blocked client, shared by its waiter entries on every shard. A client makes one and reuses it for each of
/// its blocks (`rearm`).
pub struct Block {
    pub client_id: u64,
    state: AtomicU8,
    /// The one wake of a block, left by the shard that claimed it. (Locked by that shard and the client only.)
    wake: Mutex<Option<Wake>>,
    woken: Notify,
    /// The client has gone: a wake would reach nobody.
    gone: AtomicBool,
    /// One of the client's keys changed since it blocked without becoming something to serve it from (a string
    /// was stored there, say). A shard that would run the client's command over its own keys alone
    /// (`Finish::RunUnlessChanged`) then cannot: the command must run again over all its keys.
    changed: AtomicBool,
    /// Counts the client's blocks (`rearm`): a waiter entry is the current block's only if it carries this
    /// number, so entries of an earlier block left in a queue (`Blocking::forget` leaves them) are dead.
    epoch: AtomicU32,
}

impl Block {
    pub fn new(client_id: u64) -> Arc<Block> {
        Arc::new(Block {
            client_id,
            state: AtomicU8::new(WAITING),
            wake: Mutex::new(None),
            woken: Notify::new(),
            gone: AtomicBool::new(false),
            changed: AtomicBool::new(false),
            epoch: AtomicU32::new(0),
        })
    }

    pub fn epoch(&self) -> u32 {
        self.epoch.load(Ordering::Acquire)
    }

    /// Takes the right to finish this client; false if someone else (a shard, or the client) already has.
    pub fn claim(&self) -> bool {
        self.state.compare_exchange(WAITING, CLAIMED, Ordering::AcqRel, Ordering::Acquire).is_ok()
    }

    /// The client gives up waiting; false if a shard has already claimed it (a wake is coming).
    pub fn cancel(&self) -> bool {
        self.state.compare_exchange(WAITING, CANCELLED, Ordering::AcqRel, Ordering::Acquire).is_ok()
    }

    /// Makes a finished registration usable for the client's next block. Only its owner calls this, and only
    /// between blocks: each block ends with no waiter entry left on any shard and its one wake, if any, received,
    /// so nothing else holds a right to change the state.
    pub fn rearm(&self) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
        self.changed.store(false, Ordering::Relaxed);
        self.state.store(WAITING, Ordering::Release);
    }

    /// Notes that one of the client's keys changed and serves nobody (see `changed`).
    pub fn mark_changed(&self) {
        self.changed.store(true, Ordering::Release);
    }

    pub fn has_changed(&self) -> bool {
        self.changed.load(Ordering::Acquire)
    }

    pub fn is_waiting(&self) -> bool {
        self.state.load(Ordering::Acquire) == WAITING
    }

    /// Sends a wake; gives it back if the client has gone.
    pub fn wake(&self, w: Wake) -> Result<(), Wake> {
        if self.gone.load(Ordering::Acquire) {
            return Err(w);
        }
        *self.wake.lock().unwrap_or_else(|e| e.into_inner()) = Some(w);
        self.woken.notify_one();
        Ok(())
    }

    /// Waits for the wake of the current block. Cancel-safe: a wake is taken only when it is returned.
    pub async fn woken(&self) -> Wake {
        loop {
            if let Some(w) = self.wake.lock().unwrap_or_else(|e| e.into_inner()).take() {
                return w;
            }
            // A notification stored for a wake taken above without waiting only costs one more look.
            self.woken.notified().await;
        }
    }

    /// The client is going away for good, with no wake pending for it (its owner calls this once done with it).
    pub fn close(&self) {
        self.gone.store(true, Ordering::Release);
    }
}

/// A blocked command waiting on this shard.
#[derive(Clone)]
pub struct Waiter {
    pub block: Arc<Block>,
    /// The command to run when served here, and its arguments as the client sent them.
    pub cmd: &'static Op,
    pub args: Arc<Vec<Bytes>>,
    pub db: usize,
    pub resp3: bool,
    pub finish: Finish,
}

/// How a shard that finds one of a waiter's keys ready finishes the client.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Finish {
    /// All of the command's keys are on this shard: run it here.
    Run,
    /// A pop over keys on several shards (BLPOP, BRPOP, BLMPOP): run it here, where it sees this shard's keys and
    /// finds the others' missing, as they were when it blocked; unless one of them has changed since
    /// (`Block::has_changed`), when the client must run it again itself. Either way the reply is what a fresh
    /// run would give, and the pop happens before the command that fed the key replies.
    RunUnlessChanged,
    /// The command needs another shard to complete (a move to a key there): the client runs it again itself.
    Retry,
}

/// The waiters of one shard, by database and key, and the keys made ready since they were last served.
#[derive(Default)]
pub struct Blocking {
    /// Per database (grown on demand), so a push looks its key up without copying it.
    waiters: Vec<HashMap<Bytes, Queue, ahash::RandomState>>,
    /// Keys each blocked client waits on here, to remove all its entries at once.
    by_client: HashMap<u64, Vec<(usize, Bytes)>, ahash::RandomState>,
    ready: Vec<(usize, Bytes)>,
    /// Ready keys whose first waiter must wait for a multi-shard lock to be released.
    parked: Vec<(usize, Bytes)>,
    /// Keys whose first waiter was told to run its command again (`Wake::Retry`): nobody behind it is served
    /// from the key, and no command touches it, until it has (`release`), so waiters are served in the order
    /// they blocked and the client whose push woke it sees it done. Each comes with the channels of those
    /// waiting for the release.
    held: Vec<(usize, Bytes, Vec<oneshot::Sender<()>>)>,
}

/// The waiters on one key, first come first served, each with the epoch of the block it was registered for.
#[derive(Default)]
struct Queue {
    entries: VecDeque<(u32, Waiter)>,
    /// Entries left behind by `forget`, for deciding when to sweep them out.
    dead: usize,
}

/// Whether a queue entry belongs to a block still waiting: not claimed, cancelled or rearmed since.
fn live(epoch: u32, w: &Waiter) -> bool {
    w.block.is_waiting() && w.block.epoch() == epoch
}

impl Blocking {
    /// Registers a waiter on `keys` (duplicates are registered once).
    pub fn register(&mut self, keys: &[Bytes], waiter: Waiter) {
        let db = waiter.db;
        let id = waiter.block.client_id;
        if self.waiters.len() <= db {
            self.waiters.resize_with(db + 1, HashMap::default);
        }
        let mine = self.by_client.entry(id).or_default();
        for k in keys {
            if mine.iter().any(|(d, m)| *d == db && m == k) {
                continue;
            }
            mine.push((db, k.clone()));
            let q = self.waiters[db].entry(k.clone()).or_default();
            q.entries.push_back((waiter.block.epoch(), waiter.clone()));
        }
    }

    /// Removes every entry of a client (served, timed out, unblocked or gone). An entry at the front of its queue
    /// goes at once; one further back is already dead (its block is no longer waiting, or has moved on to a later
    /// epoch) and is dropped when it reaches the front, or when dead entries make up half its queue. So forgetting
    /// a client blocked on many keys with many waiters costs a lookup per key, not a scan of every queue.
    pub fn forget(&mut self, client_id: u64) {
        let Some(keys) = self.by_client.remove(&client_id) else {
            return;
        };
        for (db, k) in keys {
            let map = &mut self.waiters[db];
            let Some(q) = map.get_mut(&k) else { continue };
            if q.entries.front().is_some_and(|(_, w)| w.block.client_id == client_id) {
                q.entries.pop_front();
            } else {
                q.dead += 1;
                if q.dead * 2 > q.entries.len() {
                    q.entries.retain(|(epoch, w)| w.block.client_id != client_id && live(*epoch, w));
                    q.dead = 0;
                }
            }
            if q.entries.is_empty() {
                map.remove(&k);
            }
        }
    }

    /// Whether anyone waits on a key: push commands signal readiness only then.
    pub fn has_waiters(&self, db: usize, key: &[u8]) -> bool {
        !self.by_client.is_empty() && self.waiters.get(db).is_some_and(|m| m.contains_key(key))
    }

    /// Notes that a key with waiters received data.
    pub fn signal(&mut self, db: usize, key: &[u8]) {
        if self.has_waiters(db, key) && !self.ready.iter().any(|(d, k)| *d == db && k == key) {
            self.ready.push((db, Bytes::copy_from_slice(key)));
        }
    }

    pub fn any_ready(&self) -> bool {
        !self.ready.is_empty()
    }

    pub fn take_ready(&mut self) -> Vec<(usize, Bytes)> {
        std::mem::take(&mut self.ready)
    }

    /// Sets a ready key aside until a lock is released (`unpark`).
    pub fn park(&mut self, db: usize, key: &Bytes) {
        if !self.parked.iter().any(|(d, k)| *d == db && k == key) {
            self.parked.push((db, key.clone()));
        }
    }

    /// Marks the blocks of a key's waiters as changed (the key changed and serves nobody).
    pub fn mark_changed(&self, db: usize, key: &[u8]) {
        if let Some(q) = self.waiters.get(db).and_then(|m| m.get(key)) {
            q.entries.iter().filter(|(epoch, w)| live(*epoch, w)).for_each(|(_, w)| w.block.mark_changed());
        }
    }

    /// Holds a key for the waiter just told to retry on it; the receiver completes when it is released.
    pub fn hold(&mut self, db: usize, key: &Bytes) -> oneshot::Receiver<()> {
        let (tx, rx) = oneshot::channel();
        match self.held.iter_mut().find(|(d, k, _)| *d == db && k == key) {
            Some((_, _, waiting)) => waiting.push(tx),
            None => self.held.push((db, key.clone(), vec![tx])),
        }
        rx
    }

    pub fn any_held(&self) -> bool {
        !self.held.is_empty()
    }

    pub fn is_held(&self, db: usize, key: &[u8]) -> bool {
        !self.held.is_empty() && self.held.iter().any(|(d, k, _)| *d == db && k == key)
    }

    /// The waiter told to retry on a key has run its command again: whoever waits for that hears of it.
    pub fn release(&mut self, db: usize, key: &[u8]) {
        for (_, _, waiting) in self.held.extract_if(.., |(d, k, _)| *d == db && k == key) {
            for tx in waiting {
                let _ = tx.send(());
            }
        }
    }

    /// Makes the parked keys ready again (a lock was released); true if there were any.
    pub fn unpark(&mut self) -> bool {
        if self.parked.is_empty() {
            return false;
        }
        for (db, key) in std::mem::take(&mut self.parked) {
            self.signal(db, &key);
        }
        true
    }

    /// The first waiter on a key still waiting, dropping stale entries in front of it.
    pub fn first_waiting(&mut self, db: usize, key: &Bytes) -> Option<Waiter> {
        let map = self.waiters.get_mut(db)?;
        let q = map.get_mut(key)?;
        while let Some((epoch, w)) = q.entries.front() {
            if live(*epoch, w) {
                return Some(w.clone());
            }
            q.entries.pop_front();
        }
        map.remove(key);
        None
    }

    /// The waiters on a key still waiting, in line order (a copy: serving them changes the queue).
    pub fn waiting(&self, db: usize, key: &[u8]) -> Vec<Waiter> {
        let Some(q) = self.waiters.get(db).and_then(|m| m.get(key)) else { return Vec::new() };
        q.entries.iter().filter(|(epoch, w)| live(*epoch, w)).map(|(_, w)| w.clone()).collect()
    }

    /// The keys of `db` that clients wait on here.
    pub fn keys_in(&self, db: usize) -> Vec<Bytes> {
        self.waiters.get(db).map_or_else(Vec::new, |m| m.keys().cloned().collect())
    }

    /// Number of distinct blocked clients with entries on this shard.
    pub fn blocked_clients(&self) -> usize {
        self.by_client.len()
    }

    /// Number of keys with waiters on this shard (INFO total_blocking_keys).
    pub fn blocking_keys(&self) -> usize {
        self.waiters.iter().map(|m| m.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn never(_: &mut crate::shard::call::Ctx, _: &[Bytes]) {}

    static BLPOP: Op =
        Op { name: "blpop", index: 0, write: true, keys: super::super::keyspec::NO_KEYS, run: never, ready: None };

    fn waiter(id: u64) -> Waiter {
        let cmd = &BLPOP;
        Waiter { block: Block::new(id), cmd, args: Arc::new(vec![]), db: 0, resp3: false, finish: Finish::Run }
    }

    #[test]
    fn fifo_and_stale_entries() {
        let mut b = Blocking::default();
        let k = Bytes::from_static(b"k");
        let w1 = waiter(1);
        let w2 = waiter(2);
        b.register(&[k.clone(), Bytes::from_static(b"j"), k.clone()], w1.clone());
        b.register(std::slice::from_ref(&k), w2.clone());
        assert_eq!(b.first_waiting(0, &k).unwrap().block.client_id, 1);
        assert!(w1.block.cancel());
        assert_eq!(b.first_waiting(0, &k).unwrap().block.client_id, 2);
        b.signal(0, b"j");
        b.signal(0, b"nobody");
        assert_eq!(b.take_ready(), vec![(0, Bytes::from_static(b"j"))]);
        b.park(0, &k);
        assert!(b.unpark());
        assert_eq!(b.take_ready(), vec![(0, k.clone())]);
        assert!(!b.unpark());
        b.forget(1);
        b.forget(2);
        assert_eq!(b.blocking_keys(), 0);
        assert_eq!(b.blocked_clients(), 0);
    }

    #[test]
    fn forgotten_entries_are_dead_and_swept() {
        let mut b = Blocking::default();
        let k = Bytes::from_static(b"k");
        // Ten clients in line; those behind the first are forgotten from the middle of the queue.
        let ws: Vec<Waiter> = (0..10).map(waiter).collect();
        for w in &ws {
            b.register(std::slice::from_ref(&k), w.clone());
        }
        for w in &ws[1..9] {
            assert!(w.block.cancel());
            b.forget(w.block.client_id);
        }
        assert_eq!(b.first_waiting(0, &k).unwrap().block.client_id, 0);
        // Dead entries were swept once they were half the queue: what is left is the live ones.
        let q = &b.waiters[0][&k];
        assert!(q.entries.len() < 10, "dead entries kept: {}", q.entries.len());
        // A client that blocks again (its block rearmed) is in line once, at the back: its old entry is dead.
        let again = ws[0].clone();
        assert!(again.block.claim());
        b.forget(0);
        again.block.rearm();
        b.register(std::slice::from_ref(&k), again.clone());
        assert_eq!(b.first_waiting(0, &k).unwrap().block.client_id, 9);
        assert!(ws[9].block.cancel());
        b.forget(9);
        assert_eq!(b.first_waiting(0, &k).unwrap().block.client_id, 0);
        b.forget(0);
        assert!(again.block.cancel());
        assert!(b.first_waiting(0, &k).is_none());
        assert_eq!(b.blocking_keys(), 0);
        assert_eq!(b.blocked_clients(), 0);
    }

    #[test]
    fn claim_is_exclusive() {
        let w = waiter(1);
        assert!(w.block.claim());
        assert!(!w.block.claim());
        assert!(!w.block.cancel());
        let w = waiter(2);
        assert!(w.block.cancel());
        assert!(!w.block.claim());
    }
}
