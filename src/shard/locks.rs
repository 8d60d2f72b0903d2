//! Key intent locks for atomic multi-shard operations (MSET, MGET, RENAME, COPY across shards).
//!
//! A command whose keys all live on one shard is atomic for free: the shard runs it to completion on its one thread.
//! A command spanning shards is run by its connection as a small transaction:
//!
//! 1. lock: for each involved shard *in ascending shard order*, ask that shard to lock the command's keys there
//!    (shared for readers, exclusive for writers) and wait until it grants;
//! 2. execute: run each shard's part (in parallel) and release that shard's locks in the same message.
//!
//! A lock request may instead carry its shard's part (`Grant::Run`), which the shard runs the moment it grants
//! the lock: the coordinator then pays one round trip per shard, not two (MSET, MGET, RENAME, list moves and pops).
//!
//! While a key is locked, any other command touching it on that shard is deferred (its whole batch, to keep the
//! connection's order) and resumed when the lock is released; other keys run on undisturbed. Readers of a key
//! locked shared proceed. Lock requests are granted first come, first served per shard, and never overtake an
//! earlier request for an overlapping key. Because every transaction acquires shards in the same global order and
//! a deferred command holds nothing, no cycle of waiting can form: no deadlock.
//!
//! This is the spirit of Dragonfly's VLL: locks are counters on keys, taken in one message per shard, and the
//! common single-shard path pays one `is_empty()` check.

use bytes::Bytes;
use std::collections::{HashMap, VecDeque};
use tokio::sync::oneshot;

/// Locks are on key names across all databases: coarser than needed (db 0 and db 1 keys of one name share a
/// lock) but it lets COPY ... DB and MOVE lock with one request.
type LockKey = Bytes;

#[derive(Default, Debug)]
struct KeyLock {
    readers: u32,
    writer: bool,
}

/// A request to lock keys on this shard for transaction `txid`.
pub struct LockRequest {
    pub txid: u64,
    pub keys: Vec<Bytes>,
    pub exclusive: bool,
    pub granted: Grant,
}

/// What a granted request does: tell its coordinator, or run the coordinator's first step on this shard at once
/// (which saves a round trip: the step answers through its own channel).
pub enum Grant {
    Signal(oneshot::Sender<()>),
    Run(GrantRun),
}

/// A step to run on the shard, under the lock, the moment it is granted.
pub type GrantRun = Box<dyn FnOnce(&mut super::Shard) + Send>;

/// The lock state of one shard.
#[derive(Default)]
pub struct LockTable {
    held: HashMap<LockKey, KeyLock, ahash::RandomState>,
    /// Granted transactions and what they hold, so `release` needs only the id.
    owners: HashMap<u64, (Vec<Bytes>, bool), ahash::RandomState>,
    waiting: VecDeque<LockRequest>,
}

impl LockTable {
    /// True when no key is locked: the fast path for every ordinary command.
    pub fn is_empty(&self) -> bool {
        self.held.is_empty()
    }

    /// Whether a command may touch `key` now: not while it is locked exclusively, nor (for a writer) while shared.
    pub fn blocks(&self, key: &[u8], write: bool) -> bool {
        if self.held.is_empty() {
            return false;
        }
        match self.held.get(key) {
            Some(l) => l.writer || (write && l.readers > 0),
            None => false,
        }
    }

    fn conflicts(&self, keys: &[Bytes], exclusive: bool) -> bool {
        keys.iter().any(|k| match self.held.get(k) {
            Some(l) => l.writer || (exclusive && l.readers > 0),
            None => false,
        })
    }

    /// Queues a request and grants whatever can be granted now; returns the steps of granted `Grant::Run`
    /// requests, for the shard to run in order.
    #[must_use]
    pub fn request(&mut self, req: LockRequest) -> Vec<GrantRun> {
        self.waiting.push_back(req);
        self.grant_waiting()
    }

    /// Releases a transaction's locks; the caller then calls `grant_waiting`. Returns true if anything was held.
    pub fn release(&mut self, txid: u64) -> bool {
        let Some((keys, exclusive)) = self.owners.remove(&txid) else {
            return false;
        };
        for lk in keys {
            if let Some(l) = self.held.get_mut(&lk) {
                if exclusive {
                    l.writer = false;
                } else {
                    l.readers -= 1;
                }
                if !l.writer && l.readers == 0 {
                    self.held.remove(&lk);
                }
            }
        }
        true
    }

    /// Grants waiting requests in order; a request that cannot be granted also holds back later requests that
    /// overlap it, so nobody starves. Returns the steps of granted `Grant::Run` requests, for the shard to run in
    /// order.
    #[must_use]
    pub fn grant_waiting(&mut self) -> Vec<GrantRun> {
        let mut runs = Vec::new();
        let mut i = 0;
        while i < self.waiting.len() {
            let req = &self.waiting[i];
            let overlaps_earlier = self.waiting.iter().take(i).any(|earlier| {
                (earlier.exclusive || req.exclusive) && earlier.keys.iter().any(|k| req.keys.contains(k))
            });
            if overlaps_earlier || self.conflicts(&req.keys, req.exclusive) {
                i += 1;
                continue;
            }
            let req = self.waiting.remove(i).expect("index in range");
            for k in &req.keys {
                let l = self.held.entry(k.clone()).or_default();
                if req.exclusive {
                    l.writer = true;
                } else {
                    l.readers += 1;
                }
            }
            self.owners.insert(req.txid, (req.keys, req.exclusive));
            match req.granted {
                // A coordinator that went away simply never uses its grant; it still releases by id.
                Grant::Signal(tx) => {
                    let _ = tx.send(());
                }
                Grant::Run(f) => runs.push(f),
            }
        }
        runs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(txid: u64, keys: &[&str], exclusive: bool) -> (LockRequest, oneshot::Receiver<()>) {
        let (tx, rx) = oneshot::channel();
        let keys = keys.iter().map(|k| Bytes::copy_from_slice(k.as_bytes())).collect();
        (LockRequest { txid, keys, exclusive, granted: Grant::Signal(tx) }, rx)
    }

    #[test]
    fn exclusive_waits_for_readers_in_order() {
        let mut t = LockTable::default();
        let (r1, mut g1) = req(1, &["a", "b"], false);
        let (r2, mut g2) = req(2, &["a"], false);
        let (w3, mut g3) = req(3, &["b"], true);
        let (r4, mut g4) = req(4, &["b"], false);
        for r in [r1, r2, w3, r4] {
            assert!(t.request(r).is_empty());
        }
        assert!(g1.try_recv().is_ok() && g2.try_recv().is_ok());
        assert!(g3.try_recv().is_err(), "writer waits for reader 1");
        assert!(g4.try_recv().is_err(), "reader 4 must not overtake writer 3");
        assert!(t.blocks(b"a", true) && !t.blocks(b"a", false));
        t.release(1);
        assert!(t.grant_waiting().is_empty());
        assert!(g3.try_recv().is_ok());
        assert!(g4.try_recv().is_err());
        assert!(t.blocks(b"b", false));
        t.release(3);
        assert!(t.grant_waiting().is_empty());
        assert!(g4.try_recv().is_ok());
        t.release(2);
        t.release(4);
        assert!(t.is_empty());
    }
}
