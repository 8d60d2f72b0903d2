//! What the runtime runs: a command as a shard sees it (`Op`), a call of it with its arguments (`Call`), the
//! context it runs in (`Ctx`), and what running it produced besides its reply (`Exec`). The command layer makes
//! one `Op` per command in its registry; the runtime never looks beyond it.

use super::blocking::{Block, Finish, Undo, Waiter};
use super::keyspec::{range_positions, KeySpec};
use super::Shard;
use crate::db::{Db, Value};
use crate::proto::Out;
use bytes::Bytes;
use std::sync::Arc;

/// A command's code on a shard: it reads its arguments, works on the shard's data and writes its reply.
pub type ShardFn = fn(&mut Ctx, &[Bytes]);

/// Whether what a key now holds (`None`: no key) would finish a client blocked in this command with these
/// arguments, once the key changed. Commands whose waiters are not all served alike (XREAD from its own ID,
/// XREADGROUP for its group) have one; for the others any data serves the first waiter in line.
pub type ReadyFn = fn(Option<&Value>, &[u8], &[Bytes]) -> bool;

/// A command as the runtime knows it: enough to route a call, check it against the key locks, run it and count
/// it.
pub struct Op {
    /// Lowercase name (`"get"`, `"object|encoding"`).
    pub name: &'static str,
    /// The command's slot in the statistics (`Stats::cmds`).
    pub index: usize,
    pub write: bool,
    pub keys: KeySpec,
    /// The code; a command that runs on the connection has one that is never called.
    pub run: ShardFn,
    /// For a blocking command whose waiters each want something of their own (see `ReadyFn`).
    pub ready: Option<ReadyFn>,
}

impl Op {
    pub fn is_write(&self) -> bool {
        self.write
    }

    /// Positions of the keys in `args`. Fixed-position specs are computed without the general search.
    pub fn key_indexes(&self, args: &[Bytes]) -> Vec<usize> {
        match self.keys {
            KeySpec::None | KeySpec::Channels { .. } => Vec::new(),
            KeySpec::Range { first, last, step } => range_positions(first, last, step, args.len()).collect(),
            keys => keys.find(args).unwrap_or_default(),
        }
    }

    /// The first key, for routing single-key commands without allocating.
    pub fn first_key<'a>(&self, args: &'a [Bytes]) -> Option<&'a Bytes> {
        match self.keys {
            KeySpec::None | KeySpec::Channels { .. } => None,
            KeySpec::Range { first, .. } => args.get(first as usize),
            _ => self.key_indexes(args).first().map(|&i| &args[i]),
        }
    }

    /// True when the command has at most one key position: routing needs only the first key.
    pub fn single_key(&self) -> bool {
        match self.keys {
            KeySpec::None | KeySpec::Channels { .. } => true,
            KeySpec::Range { first, last, .. } => first == last,
            _ => false,
        }
    }
}

/// A command with its arguments, bound for a shard.
pub struct Call {
    pub cmd: &'static Op,
    pub args: Vec<Bytes>,
    pub db: u8,
    /// Present when the command may block (a blocking command outside MULTI).
    pub block: Option<Arc<Block>>,
    /// CLIENT NO-TOUCH: reads leave the keys' access times alone.
    pub no_touch: bool,
}

/// What running a call on a shard produced besides its reply.
#[derive(Default)]
pub struct Exec {
    pub blocked: bool,
    pub undo: Option<Undo>,
}

/// The context of a command running on a shard.
pub struct Ctx<'a> {
    pub shard: &'a mut Shard,
    /// The command running.
    pub cmd: &'static Op,
    pub db: usize,
    pub out: Out<'a>,
    /// Unix milliseconds, read once per batch: every command of a batch sees the same clock, as in Redis.
    pub now: u64,
    /// For a blocking command allowed to block: the client's registration, to leave on empty keys.
    pub block: Option<&'a Arc<Block>>,
    /// Set by a blocking command that registered itself as a waiter instead of replying.
    pub blocked: bool,
    /// What a pop took, so a reply that cannot be delivered can be undone.
    pub undo: Option<Undo>,
}

impl Ctx<'_> {
    pub fn db(&mut self) -> &mut Db {
        &mut self.shard.dbs[self.db]
    }

    /// Reports that this command changed `key` in its database: the write path (`Shard::modified`) fails the
    /// transactions watching it and serves the clients blocked on it once the command completes. Called only for
    /// real changes.
    #[inline]
    pub fn modified(&mut self, key: &[u8]) {
        self.shard.modified(self.db, key);
    }

    /// Every key of a blocking command is empty: register the client on them (on this shard) and reply nothing,
    /// or, where the command may not block (MULTI), reply with the null array.
    pub fn block_on(&mut self, keys: &[Bytes], args: &[Bytes]) {
        match self.block {
            Some(block) => {
                let waiter = Waiter {
                    block: block.clone(),
                    cmd: self.cmd,
                    // Copied out of the read buffer, which the waiting client hands back.
                    args: Arc::new({
                        let mut args = args.to_vec();
                        crate::proto::request::detach(&mut args);
                        args
                    }),
                    db: self.db,
                    resp3: self.out.resp3,
                    finish: Finish::Run,
                };
                self.shard.blocking.register(keys, waiter);
                self.blocked = true;
            }
            None => self.out.null_array(),
        }
    }
}
