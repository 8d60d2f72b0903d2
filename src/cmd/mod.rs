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
pub mod streams;
pub mod strings;
pub mod table;
#[cfg(test)]
mod write_path_tests;

use bytes::Bytes;
use spec::{Family, Flags, BLOCKING, WRITE};
use std::future::Future;
use std::pin::Pin;
use std::sync::OnceLock;
use table::CommandMeta;

pub use crate::shard::call::{Call, Ctx, Exec, Op, ShardFn};
pub use crate::shard::stats::{CmdStat, Stats};
pub use session::Session;

pub type LocalFuture<'a> = Pin<Box<dyn Future<Output = ()> + 'a>>;
pub type ConnFn = for<'a> fn(&'a mut Session, Vec<Bytes>) -> LocalFuture<'a>;

#[derive(Clone, Copy)]
pub enum Handler {
    Shard(ShardFn),
    Keys(ShardFn, ConnFn),
    Conn(ConnFn),
}

/// A command with code: its metadata, its code, and what the shard runtime knows of it (`op`).
pub struct Command {
    pub meta: &'static CommandMeta,
    pub handler: Handler,
    /// The spec's flags, at hand on the hot path.
    pub flags: Flags,
    pub op: Op,
}

impl Command {
    pub fn name(&self) -> &'static str {
        self.meta.name
    }

    /// The command's slot in the statistics.
    pub fn index(&self) -> usize {
        self.op.index
    }

    pub fn is_write(&self) -> bool {
        self.has_flag(WRITE)
    }

    /// BLPOP & co, and XREAD & co with a BLOCK option: run alone, may leave the client blocked.
    pub fn blocking(&self, args: &[Bytes]) -> bool {
        self.has_flag(BLOCKING) && (self.meta.timeout_at != spec::BLOCK_OPTION || block_option_at(args).is_some())
    }

    /// Whether the command has any of the `spec` flags in `flag`.
    pub fn has_flag(&self, flag: Flags) -> bool {
        self.flags & flag != 0
    }

    /// Positions of the keys in `args`.
    pub fn key_indexes(&self, args: &[Bytes]) -> Vec<usize> {
        self.op.key_indexes(args)
    }

    /// The first key, for routing single-key commands without allocating.
    pub fn first_key<'a>(&self, args: &'a [Bytes]) -> Option<&'a Bytes> {
        self.op.first_key(args)
    }

    /// True when the command has at most one key position.
    pub fn single_key(&self) -> bool {
        self.op.single_key()
    }
}

/// Where the milliseconds of a `BLOCK` option sit, among the options before `STREAMS`.
pub fn block_option_at(args: &[Bytes]) -> Option<usize> {
    let end = args.iter().position(|a| a.eq_ignore_ascii_case(b"streams")).unwrap_or(args.len());
    (1..end).find(|&i| args[i].eq_ignore_ascii_case(b"block")).map(|i| i + 1).filter(|&i| i < args.len())
}

/// The shard code of a command that runs on the connection: never called (the session does not send it).
fn on_connection(ctx: &mut Ctx, _: &[Bytes]) {
    unreachable!("connection command {} sent to a shard", ctx.cmd.name)
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
    &streams::FAMILY,
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
                let run = match handler {
                    Handler::Shard(f) | Handler::Keys(f, _) => f,
                    Handler::Conn(_) => on_connection,
                };
                let write = meta.has_flag(WRITE);
                let op = Op { name: meta.name, index: commands.len(), write, keys: meta.keys, run, ready: meta.ready };
                commands.push(Command { meta, handler, flags: meta.flags, op });
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
            slots[i] = c.index() as u16;
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
