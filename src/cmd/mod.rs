//! Commands: the registry of every family's commands (each family file declares its commands as `spec` lines beside
//! their handlers, and its documentation text in `docs/`; `table` joins the two), the context a command runs in,
//! and the per-connection session that routes a pipeline to the shards.
//!
//! A command is one of three shapes (`Handler`):
//! - `Shard`: runs on the shard that owns its keys (the connection's own shard when it has none) against that
//!   shard's data only; it never sees a socket, so it runs the same inline or in a batch from another shard;
//! - `Keys`: a multi-key command that is a `Shard` command when all its keys share a shard, and otherwise is
//!   coordinated by the connection (`ConnFn`) with the multi-shard lock protocol of `shard::locks`;
//! - `Conn`: runs on the connection, for connection state and fan-out to every shard.

pub mod args;
pub mod client;
pub mod docs;
pub mod keys;
pub mod lists;
pub mod multi;
pub mod planned;
pub mod server;
pub mod session;
pub mod spec;
pub mod strings;
pub mod table;

use crate::db::Db;
use crate::proto::Out;
use crate::shard::blocking::{Block, Finish, Undo, Waiter};
use crate::shard::Shard;
use bytes::Bytes;
use spec::{Family, Flags, BLOCKING, WRITE};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::OnceLock;
use std::time::Duration;
use table::{CommandMeta, KeySpec};

pub use session::Session;

/// The context of a command running on a shard.
pub struct Ctx<'a> {
    pub shard: &'a mut Shard,
    /// The command running.
    pub cmd: &'static Command,
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

pub type ShardFn = fn(&mut Ctx, &[Bytes]);
pub type LocalFuture<'a> = Pin<Box<dyn Future<Output = ()> + 'a>>;
pub type ConnFn = for<'a> fn(&'a mut Session, Vec<Bytes>) -> LocalFuture<'a>;

#[derive(Clone, Copy)]
pub enum Handler {
    Shard(ShardFn),
    Keys(ShardFn, ConnFn),
    Conn(ConnFn),
}

/// A command with code: its metadata, its code, and its slot in the statistics.
pub struct Command {
    pub meta: &'static CommandMeta,
    pub handler: Handler,
    pub index: usize,
    /// The spec's flags, at hand on the hot path.
    pub flags: Flags,
}

impl Command {
    pub fn name(&self) -> &'static str {
        self.meta.name
    }

    pub fn is_write(&self) -> bool {
        self.has_flag(WRITE)
    }

    /// BLPOP & co: run alone, may leave the client blocked.
    pub fn blocking(&self) -> bool {
        self.has_flag(BLOCKING)
    }

    /// Whether the command has any of the `spec` flags in `flag`.
    pub fn has_flag(&self, flag: Flags) -> bool {
        self.flags & flag != 0
    }

    /// The shard-side code; `Conn` commands never reach a shard as a call.
    pub fn run_shard(&self) -> ShardFn {
        match self.handler {
            Handler::Shard(f) | Handler::Keys(f, _) => f,
            Handler::Conn(_) => unreachable!("connection command {} sent to a shard", self.meta.name),
        }
    }

    /// Positions of the keys in `args`. Fixed-position specs are computed without the table's general parser.
    pub fn key_indexes(&self, args: &[Bytes]) -> Vec<usize> {
        match self.meta.keys {
            KeySpec::None | KeySpec::Channels { .. } => Vec::new(),
            KeySpec::Range { first, last, step } => range_positions(first, last, step, args.len()).collect(),
            _ => table::key_indexes(self.meta, args).unwrap_or_default(),
        }
    }

    /// The first key, for routing single-key commands without allocating.
    pub fn first_key<'a>(&self, args: &'a [Bytes]) -> Option<&'a Bytes> {
        match self.meta.keys {
            KeySpec::None | KeySpec::Channels { .. } => None,
            KeySpec::Range { first, .. } => args.get(first as usize),
            _ => self.key_indexes(args).first().map(|&i| &args[i]),
        }
    }

    /// True when the command has at most one key position: routing needs only the first key.
    pub fn single_key(&self) -> bool {
        match self.meta.keys {
            KeySpec::None | KeySpec::Channels { .. } => true,
            KeySpec::Range { first, last, .. } => first == last,
            _ => false,
        }
    }
}

/// The key positions of a first/last/step key spec in `nargs` arguments (`last < 0` counts from the end).
pub fn range_positions(first: i32, last: i32, step: i32, nargs: usize) -> impl Iterator<Item = usize> {
    let n = nargs as i32;
    let last = if last < 0 { n + last } else { last.min(n - 1) };
    (first..=last).step_by(step.max(1) as usize).map(|i| i as usize)
}

/// A command with its arguments, bound for a shard.
pub struct Call {
    pub cmd: &'static Command,
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

/// Per-shard command statistics (INFO commandstats, INFO stats), summed over shards when reported.
#[derive(Default, Clone)]
pub struct Stats {
    pub cmds: Vec<CmdStat>,
    pub keyspace_hits: u64,
    pub keyspace_misses: u64,
    /// Bytes read from and written to this shard's connections (per shard, like everything here, so that no two
    /// shard threads ever write the same cache line on the hot path).
    pub net_input_bytes: u64,
    pub net_output_bytes: u64,
    /// Commands run, for sampling which ones are timed.
    pub tick: u64,
    /// Changes to the keyspace (`Shard::modified`), as Redis's `server.dirty`: a step that moved it wrote.
    pub dirty: u64,
}

#[derive(Default, Clone, Copy)]
pub struct CmdStat {
    pub calls: u64,
    pub nanos: u64,
    pub failed: u64,
    pub rejected: u64,
}

impl Stats {
    fn slot(&mut self, index: usize) -> &mut CmdStat {
        if self.cmds.len() <= index {
            self.cmds.resize(registry().commands.len(), CmdStat::default());
        }
        &mut self.cmds[index]
    }

    pub fn record(&mut self, index: usize, took: Duration, failed: bool) {
        let s = self.slot(index);
        s.calls += 1;
        s.nanos += took.as_nanos() as u64;
        s.failed += failed as u64;
    }

    pub fn reject(&mut self, index: usize) {
        self.slot(index).rejected += 1;
    }

    pub fn merge(&mut self, other: &Stats) {
        for (i, s) in other.cmds.iter().enumerate() {
            let d = self.slot(i);
            d.calls += s.calls;
            d.nanos += s.nanos;
            d.failed += s.failed;
            d.rejected += s.rejected;
        }
        self.keyspace_hits += other.keyspace_hits;
        self.keyspace_misses += other.keyspace_misses;
        self.net_input_bytes += other.net_input_bytes;
        self.net_output_bytes += other.net_output_bytes;
        self.dirty += other.dirty;
    }

    pub fn total_calls(&self) -> u64 {
        self.cmds.iter().map(|s| s.calls).sum()
    }
}

/// Every command rill knows, by lowercase name.
pub struct Registry {
    pub commands: Vec<Command>,
    /// Open-addressed table of command indexes (`NONE` = empty), keyed by a case-insensitive hash of the name, so
    /// a lookup neither lowercases nor allocates: it runs once per command on the hot path.
    slots: Vec<u16>,
}

const NONE: u16 = u16::MAX;

/// FNV-1a over the lowercased bytes of a name (`|` joins a subcommand).
fn name_hash(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            h = (h ^ b'|' as u64).wrapping_mul(0x100_0000_01b3);
        }
        for &b in part.iter() {
            h = (h ^ b.to_ascii_lowercase() as u64).wrapping_mul(0x100_0000_01b3);
        }
    }
    h
}

/// Whether `name` equals `parts` joined by `|`, ignoring ASCII case.
fn name_eq(name: &str, parts: &[&[u8]]) -> bool {
    let mut rest = name.as_bytes();
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            match rest.split_first() {
                Some((b'|', r)) => rest = r,
                _ => return false,
            }
        }
        if rest.len() < part.len() || !rest[..part.len()].eq_ignore_ascii_case(part) {
            return false;
        }
        rest = &rest[part.len()..];
    }
    rest.is_empty()
}

/// The command families, in the order COMMAND lists them: adding a family is one line here.
pub const FAMILIES: &[&Family] = &[
    &client::FAMILY,
    &server::FAMILY,
    &keys::FAMILY,
    &strings::FAMILY,
    &lists::FAMILY,
    &multi::FAMILY,
    &planned::FAMILY,
];

/// The registry, built once from the command table: every command and subcommand with code of its own.
pub fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        let mut commands = Vec::new();
        for meta in table::commands().iter().flat_map(|m| std::iter::once(m).chain(&m.subcommands)) {
            if let Some(handler) = meta.handler {
                commands.push(Command { meta, handler, index: commands.len(), flags: meta.flags });
            }
        }
        let size = (commands.len() * 4).next_power_of_two();
        let mut slots = vec![NONE; size];
        for c in &commands {
            let parts: Vec<&[u8]> = c.meta.name.split('|').map(str::as_bytes).collect();
            let mut i = name_hash(&parts) as usize & (size - 1);
            while slots[i] != NONE {
                i = (i + 1) & (size - 1);
            }
            slots[i] = c.index as u16;
        }
        Registry { commands, slots }
    })
}

impl Registry {
    /// Case-insensitive lookup without allocating: `name`, or `name|sub` for container commands whose
    /// subcommands have code of their own (OBJECT ENCODING runs on the key's shard, not the connection's).
    pub fn lookup(&self, name: &[u8], sub: Option<&[u8]>) -> Option<&'static Command> {
        let reg: &'static Registry = registry();
        let parts: &[&[u8]] = match sub {
            Some(sub) => &[name, sub],
            None => &[name],
        };
        let mask = reg.slots.len() - 1;
        let mut i = name_hash(parts) as usize & mask;
        loop {
            match reg.slots[i] {
                NONE => return None,
                idx => {
                    let c = &reg.commands[idx as usize];
                    if name_eq(c.meta.name, parts) {
                        return Some(c);
                    }
                }
            }
            i = (i + 1) & mask;
        }
    }

    /// Whether `parent` is a container whose subcommands are registered one by one (`object|encoding`).
    pub fn has_subcommands(&self, parent: &str) -> bool {
        self.commands.iter().any(|c| c.meta.name.split_once('|').is_some_and(|(p, _)| p == parent))
    }

    /// Whether a name in the metadata table has code behind it (COMMAND lists only those).
    pub fn implemented(&self, name: &str) -> bool {
        let parts: Vec<&[u8]> = name.split('|').map(str::as_bytes).collect();
        match parts.as_slice() {
            [top] => self.lookup(top, None).is_some(),
            [top, sub] => self.lookup(top, Some(sub)).is_some(),
            _ => false,
        }
    }
}
