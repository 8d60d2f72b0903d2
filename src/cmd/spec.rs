//! What a command family declares about each of its commands, one line per command beside its handlers:
//!
//! ```text
//! spec("lpush", -3, WRITE | DENYOOM | FAST, key(1), Handler::Shard(lpush)),
//! ```
//!
//! A `Spec` holds the facts code acts on: the name, Redis's arity, flags as bits, where the keys are, where a
//! blocking command's timeout sits, ACL categories beyond those the flags and the group imply, and the handler.
//! Everything else COMMAND reports is derived from these (the legacy first/last/step triple, `movablekeys`, the
//! flag-implied ACL categories) or read from the family's documentation text (`docs`).

use super::Handler;

/// Command flags, as bits. The first ones are Redis's, in the order COMMAND INFO lists them; the last ones are
/// rill's own, which COMMAND INFO does not show.
pub type Flags = u32;

pub const NO_FLAGS: Flags = 0;
pub const WRITE: Flags = 1 << 0;
pub const READONLY: Flags = 1 << 1;
pub const DENYOOM: Flags = 1 << 2;
pub const ADMIN: Flags = 1 << 3;
pub const PUBSUB: Flags = 1 << 4;
pub const NOSCRIPT: Flags = 1 << 5;
pub const BLOCKING: Flags = 1 << 6;
pub const LOADING: Flags = 1 << 7;
pub const STALE: Flags = 1 << 8;
pub const SKIP_MONITOR: Flags = 1 << 9;
pub const SKIP_SLOWLOG: Flags = 1 << 10;
pub const ASKING: Flags = 1 << 11;
pub const FAST: Flags = 1 << 12;
pub const NO_AUTH: Flags = 1 << 13;
pub const NO_MANDATORY_KEYS: Flags = 1 << 14;
pub const NO_ASYNC_LOADING: Flags = 1 << 15;
pub const NO_MULTI: Flags = 1 << 16;
/// Never declared: COMMAND INFO shows it for key specs that must read the arguments (`KeySpec::is_movable`).
const MOVABLEKEYS: Flags = 1 << 17;
pub const ALLOW_BUSY: Flags = 1 << 18;
/// rill: runs at once inside MULTI instead of being queued (EXEC, DISCARD, MULTI, WATCH, QUIT, RESET).
pub const IN_MULTI: Flags = 1 << 24;

/// Redis's flag names, in COMMAND INFO's order.
const FLAG_NAMES: &[(Flags, &str)] = &[
    (WRITE, "write"),
    (READONLY, "readonly"),
    (DENYOOM, "denyoom"),
    (ADMIN, "admin"),
    (PUBSUB, "pubsub"),
    (NOSCRIPT, "noscript"),
    (BLOCKING, "blocking"),
    (LOADING, "loading"),
    (STALE, "stale"),
    (SKIP_MONITOR, "skip_monitor"),
    (SKIP_SLOWLOG, "skip_slowlog"),
    (ASKING, "asking"),
    (FAST, "fast"),
    (NO_AUTH, "no_auth"),
    (NO_MANDATORY_KEYS, "no_mandatory_keys"),
    (NO_ASYNC_LOADING, "no_async_loading"),
    (NO_MULTI, "no_multi"),
    (MOVABLEKEYS, "movablekeys"),
    (ALLOW_BUSY, "allow_busy"),
];

/// ACL categories, as bits, in the order Redis lists them.
pub mod acl {
    pub type Categories = u32;

    pub const KEYSPACE: Categories = 1 << 0;
    pub const READ: Categories = 1 << 1;
    pub const WRITE: Categories = 1 << 2;
    pub const SET: Categories = 1 << 3;
    pub const SORTEDSET: Categories = 1 << 4;
    pub const LIST: Categories = 1 << 5;
    pub const HASH: Categories = 1 << 6;
    pub const STRING: Categories = 1 << 7;
    pub const BITMAP: Categories = 1 << 8;
    pub const HYPERLOGLOG: Categories = 1 << 9;
    pub const GEO: Categories = 1 << 10;
    pub const STREAM: Categories = 1 << 11;
    pub const PUBSUB: Categories = 1 << 12;
    pub const ADMIN: Categories = 1 << 13;
    pub const FAST: Categories = 1 << 14;
    pub const SLOW: Categories = 1 << 15;
    pub const BLOCKING: Categories = 1 << 16;
    pub const DANGEROUS: Categories = 1 << 17;
    pub const CONNECTION: Categories = 1 << 18;
    pub const TRANSACTION: Categories = 1 << 19;
    pub const SCRIPTING: Categories = 1 << 20;

    /// Category names with their `@`, in bit order.
    pub const NAMES: &[&str] = &[
        "@keyspace",
        "@read",
        "@write",
        "@set",
        "@sortedset",
        "@list",
        "@hash",
        "@string",
        "@bitmap",
        "@hyperloglog",
        "@geo",
        "@stream",
        "@pubsub",
        "@admin",
        "@fast",
        "@slow",
        "@blocking",
        "@dangerous",
        "@connection",
        "@transaction",
        "@scripting",
    ];

    /// The category of a documentation group (`"list"` → `@list`); none for `server`.
    pub fn of_group(group: &str) -> Categories {
        match group {
            "generic" => KEYSPACE,
            "string" => STRING,
            "list" => LIST,
            "set" => SET,
            "sorted-set" => SORTEDSET,
            "hash" => HASH,
            "bitmap" => BITMAP,
            "hyperloglog" => HYPERLOGLOG,
            "geo" => GEO,
            "stream" => STREAM,
            "pubsub" => PUBSUB,
            "connection" => CONNECTION,
            "transactions" => TRANSACTION,
            "scripting" => SCRIPTING,
            _ => 0,
        }
    }

    /// The categories Redis derives from a command's flags.
    pub fn of_flags(flags: super::Flags) -> Categories {
        use super::Flags;
        let has = |f: Flags| flags & f != 0;
        let mut c = 0;
        for (flag, cat) in [(super::WRITE, WRITE), (super::READONLY, READ), (super::PUBSUB, PUBSUB)] {
            if has(flag) {
                c |= cat;
            }
        }
        if has(super::ADMIN) {
            c |= ADMIN | DANGEROUS;
        }
        c |= if has(super::FAST) { FAST } else { SLOW };
        if has(super::BLOCKING) {
            c |= BLOCKING;
        }
        c
    }

    /// The names of the categories in `c`, in Redis's order.
    pub fn names(c: Categories) -> impl Iterator<Item = &'static str> {
        NAMES.iter().enumerate().filter(move |(i, _)| c & (1 << i) != 0).map(|(_, n)| *n)
    }

    /// The category named `name` (`"@list"`), if there is one.
    pub fn named(name: &str) -> Option<Categories> {
        NAMES.iter().position(|n| *n == name).map(|i| 1 << i)
    }
}

pub use crate::shard::keyspec::{channels, key, numkeys, range, streams, KeySpec, NO_KEYS};

/// One command (or one subcommand, named `parent|sub`) as its family declares it.
#[derive(Clone, Copy)]
pub struct Spec {
    /// Lowercase name: `"get"`, or `"client|list"` for a subcommand.
    pub name: &'static str,
    /// Redis's arity: the exact argument count with the name, or at least `-arity` arguments when negative.
    pub arity: i32,
    pub flags: Flags,
    pub keys: KeySpec,
    /// ACL categories beyond those implied by the flags and the documentation group.
    pub acl: acl::Categories,
    /// For a blocking command: the argument that holds its timeout (negative: from the end); 0 for none.
    pub timeout_at: i32,
    /// The code; none for a subcommand its container parses itself, or for a command rill lists but does not
    /// implement yet.
    pub handler: Option<Handler>,
    /// See `shard::call::ReadyFn`.
    pub ready: Option<crate::shard::call::ReadyFn>,
}

/// `timeout_at` of a command that blocks only with a `BLOCK <milliseconds>` option (XREAD, XREADGROUP).
pub const BLOCK_OPTION: i32 = i32::MIN;

/// A command with code.
pub const fn spec(name: &'static str, arity: i32, flags: Flags, keys: KeySpec, handler: Handler) -> Spec {
    Spec { name, arity, flags, keys, acl: 0, timeout_at: 0, handler: Some(handler), ready: None }
}

/// A command without code of its own: a subcommand its container parses, or one not implemented yet.
pub const fn listed(name: &'static str, arity: i32, flags: Flags, keys: KeySpec) -> Spec {
    Spec { name, arity, flags, keys, acl: 0, timeout_at: 0, handler: None, ready: None }
}

impl Spec {
    /// Adds ACL categories to those the flags and the group imply.
    pub const fn acl(self, extra: acl::Categories) -> Spec {
        Spec { acl: self.acl | extra, ..self }
    }

    /// Places a blocking command's timeout argument (negative: from the end).
    pub const fn timeout_at(self, at: i32) -> Spec {
        Spec { timeout_at: at, ..self }
    }

    /// A command that blocks only when given `BLOCK <milliseconds>`, with a readiness test for its waiters.
    pub const fn block_option(self, ready: crate::shard::call::ReadyFn) -> Spec {
        Spec { timeout_at: BLOCK_OPTION, ready: Some(ready), ..self }
    }

    pub fn has_flag(&self, flag: Flags) -> bool {
        self.flags & flag != 0
    }

    /// Whether `argc` arguments (the command name included) satisfy the arity.
    pub fn arity_ok(&self, argc: usize) -> bool {
        let argc = i64::try_from(argc).unwrap_or(i64::MAX);
        let arity = i64::from(self.arity);
        if arity >= 0 {
            argc == arity
        } else {
            argc >= -arity
        }
    }

    /// The part of the name after the `|` for subcommands, the whole name otherwise.
    pub fn short_name(&self) -> &'static str {
        match self.name.rsplit_once('|') {
            Some((_, sub)) => sub,
            None => self.name,
        }
    }

    /// The names of the flags COMMAND INFO shows, in its order.
    pub fn flag_names(&self) -> impl Iterator<Item = &'static str> {
        let flags = self.flags | if self.keys.is_movable() { MOVABLEKEYS } else { 0 };
        FLAG_NAMES.iter().filter(move |(f, _)| flags & f != 0).map(|(_, n)| *n)
    }
}

/// A family of commands: their specs, and their documentation text (`docs` describes the format).
pub struct Family {
    pub specs: &'static [Spec],
    pub docs: &'static str,
}
