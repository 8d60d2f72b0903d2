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

#[cfg(test)]
mod tests {
    //! The coordinators in-process: three shard threads with their mailboxes, and shard 0 played by the test's own
    //! thread, as a connection's shard is; no sockets, no commands.
    use super::*;
    use crate::config::Config;
    use crate::shard::{mailbox, run, ShardStart};
    use std::sync::atomic::AtomicUsize;

    fn no_connections(_: tokio::net::TcpStream, _: Rc<RefCell<Shard>>) {}

    /// Starts shards 1 to 3 on threads and returns shard 0, for the caller's thread, with what stops the others.
    fn cluster() -> (Rc<RefCell<Shard>>, Arc<Shared>, Vec<std::thread::JoinHandle<()>>) {
        let (handles, receivers): (Vec<_>, Vec<_>) = (0..4).map(|_| mailbox()).unzip();
        let shared = Arc::new(Shared::new(Config::default(), None, handles));
        let mut threads = Vec::new();
        for (id, rx) in receivers.into_iter().enumerate().skip(1) {
            let start = ShardStart { id, server: shared.clone(), databases: 1, rx, serve: no_connections };
            threads.push(std::thread::spawn(move || run(start)));
        }
        (Rc::new(RefCell::new(Shard::new(0, shared.clone(), 1))), shared, threads)
    }

    /// Runs `test` on a local task set beside shard 0, then stops the shard threads.
    fn with_cluster<F: std::future::Future<Output = ()>>(test: impl FnOnce(Rc<RefCell<Shard>>) -> F) {
        let (local, shared, threads) = cluster();
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        tokio::task::LocalSet::new().block_on(&rt, test(local));
        for h in &shared.shards {
            h.send(Msg::Stop);
        }
        threads.into_iter().for_each(|t| t.join().expect("shard thread"));
    }

    /// A key owned by `shard` of four.
    fn key_on(shard: usize) -> Bytes {
        named_on("key", shard)
    }

    fn named_on(prefix: &str, shard: usize) -> Bytes {
        (0..).map(|i| Bytes::from(format!("{prefix}{i}"))).find(|k| key_shard(k, 4) == shard).expect("some key")
    }

    #[test]
    fn parts_run_on_their_shards_and_come_back_in_order() {
        with_cluster(|local| async move {
            let shards = Shards::new(local);
            let got = shards.run_parts(vec![(2, 20), (0, 1), (3, 30)], |sh, x| sh.id * 100 + x).await;
            assert_eq!(got, [220, 1, 330]);
            assert_eq!(shards.on_all_shards(|sh| sh.id).await, [0, 1, 2, 3]);
            assert_eq!(shards.on_shard(1, |sh| sh.id).await, 1);
        });
    }

    #[test]
    fn grouped_keys_follow_the_lock_order() {
        with_cluster(|local| async move {
            let shards = Shards::new(local);
            let (a, b, c) = (key_on(3), key_on(1), named_on("other", 3));
            let groups = shards.group_keys([&a, &b, &c, &a]);
            assert_eq!(groups, vec![(1, vec![b.clone()]), (3, vec![a.clone(), c.clone()])]);
        });
    }

    #[test]
    fn an_exclusive_lock_holds_off_another_until_unlocked() {
        with_cluster(|local| async move {
            let (first, second) = (Shards::new(local.clone()), Shards::new(local));
            let groups = first.group_keys([&key_on(0), &key_on(2)]);
            let txid = first.lock(&groups, true).await;
            let done = Rc::new(std::cell::Cell::new(false));
            let (g, d) = (groups.clone(), done.clone());
            let waiting = tokio::task::spawn_local(async move {
                let txid = second.lock(&g, true).await;
                d.set(true);
                second.unlock(g.iter().map(|(s, _)| *s), txid);
            });
            // Give the second request every chance to be granted wrongly: round trips through both shards.
            for _ in 0..3 {
                first.on_all_shards(|_| ()).await;
                tokio::task::yield_now().await;
            }
            assert!(!done.get(), "a second exclusive lock was granted while the first was held");
            first.unlock(groups.iter().map(|(s, _)| *s), txid);
            waiting.await.expect("second locker");
            assert!(done.get());
        });
    }

    #[test]
    fn run_locked_runs_each_part_and_leaves_nothing_locked() {
        with_cluster(|local| async move {
            let shards = Shards::new(local);
            let groups = shards.group_keys([&key_on(1), &key_on(0), &key_on(3)]);
            let got = shards.run_locked(groups.clone(), vec![1, 2, 3], true, |sh, x| (sh.id, x)).await;
            assert_eq!(got, [(0, 1), (1, 2), (3, 3)]);
            let unlocked = shards.on_all_shards(|sh| sh.locks.is_empty()).await;
            assert_eq!(unlocked, [true; 4]);
        });
    }

    #[test]
    fn move_across_lands_on_the_destination_and_refuses_cleanly() {
        with_cluster(|local| async move {
            let shards = Shards::new(local);
            for (from, to) in [(0, 2), (3, 1)] {
                let (src, dst) = (key_on(from), key_on(to));
                let landed = Arc::new(AtomicUsize::new(usize::MAX));
                let l = landed.clone();
                let moved: Result<usize, ()> = shards
                    .move_across(
                        &src,
                        &dst,
                        |_| Ok(()),
                        |_| (),
                        |()| None,
                        |sh| (sh.id, sh.id),
                        move |sh, from| l.store(sh.id * 10 + from, Ordering::SeqCst),
                    )
                    .await;
                assert_eq!(moved, Ok(from));
                // The landing was posted before this step, so it has run once this step has.
                shards.on_shard(to, |_| ()).await;
                assert_eq!(landed.load(Ordering::SeqCst), to * 10 + from);
                // A refusal takes nothing and releases both keys.
                let refused: Result<(), &str> = shards
                    .move_across(&src, &dst, |_| Ok(()), |_| (), |()| Some("no"), |_| ((), ()), |_, ()| unreachable!())
                    .await;
                assert_eq!(refused, Err("no"));
                let unlocked = shards.on_all_shards(|sh| sh.locks.is_empty()).await;
                assert_eq!(unlocked, [true; 4]);
            }
        });
    }
}
