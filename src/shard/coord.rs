//! The multi-shard coordinators, as one connection's thread drives them: run a step on a shard (its own directly,
//! the others by message), on all of them, or under the key locks of `locks` so that steps on several shards
//! look like one (MSET, RENAME and LMOVE across shards, EXEC). Every step runs through `Shard::step` (or a lock
//! grant), so what it writes goes through the write path and wakes blocked clients like a command does.

use super::locks::{Grant, LockRequest};
use super::slot::key_shard;
use super::{Msg, Shard};
use crate::shared::Shared;
use bytes::Bytes;
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use tokio::sync::oneshot;

/// The shards as a connection reaches them: `local` is the one whose thread it runs on.
pub struct Shards {
    pub local: usize,
    pub shard: Rc<RefCell<Shard>>,
    pub shared: Arc<Shared>,
    /// Set while EXEC runs its commands. EXEC already holds the locks of every key they name, so a command that
    /// would lock keys itself gets a transaction id holding nothing (see `lock`).
    pub in_exec: bool,
}

impl Shards {
    pub fn new(shard: Rc<RefCell<Shard>>) -> Self {
        let (local, shared) = {
            let s = shard.borrow();
            (s.id, s.server.clone())
        };
        Shards { local, shard, shared, in_exec: false }
    }

    pub fn nshards(&self) -> usize {
        self.shared.nshards()
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
