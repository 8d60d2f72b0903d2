//! The directive table: every setting rill knows, declared once.
//!
//! A row names the typed field of [`Config`] that holds the value and the [`Directive`] that describes it: name
//! and aliases, [`Kind`] (syntax and bounds), default in config-file syntax, whether `CONFIG SET` may change it,
//! whether it is protected, any extra check, and, for the few settings the data path reads without a lock, the
//! [`Live`] atomic that mirrors it. The `settings!` macro turns the rows into both the `Config` struct and
//! [`DIRECTIVES`], so a field and its description cannot drift apart. Defaults, loading, `CONFIG GET`, `CONFIG
//! SET`, `CONFIG REWRITE` and the live atomics are all driven by the table: adding a setting is one row, plus the
//! code that acts on it.

use super::live::Live;
use super::value::{Kind, Setting, Value, DEFAULT_OUTPUT_BUFFER_LIMITS};
use std::io;
use std::sync::atomic::AtomicU64;

/// A directive's extra validation: gets the parsed value as rendered and returns Redis's error text on rejection.
pub type Check = fn(&str) -> Result<(), String>;

/// Where a setting's live copy is: the [`Live`] atomic the data path reads.
pub type LiveSlot = fn(&Live) -> &AtomicU64;

/// One configuration directive rill understands.
#[derive(Debug)]
pub struct Directive {
    /// Canonical name (lowercase), as `CONFIG GET` reports it.
    pub name: &'static str,
    /// Older names accepted everywhere the canonical name is (Redis 7 keeps the `ziplist` spellings working).
    /// `CONFIG GET` answers an alias under the alias name.
    pub aliases: &'static [&'static str],
    pub kind: Kind,
    /// Default, in config-file syntax.
    pub default: &'static str,
    /// Whether `CONFIG SET` may change it on a running server. Immutable ones can only be set in the file or on
    /// the command line, because the server acts on them once at start-up (listeners, shard count, ...).
    pub mutable: bool,
    /// Protected like Redis's `dir` and `dbfilename`: `CONFIG SET` refuses them unless `enable-protected-configs`
    /// allows it, since a client that can point the dump file anywhere can write files anywhere.
    pub protected: bool,
    /// Extra validation after the value parsed, returning Redis's error text.
    pub check: Option<Check>,
    /// Redis accepts any value within the bounds and then clamps it to what it supports (`hz`): `CONFIG GET`
    /// shows the clamped value.
    pub clamp: Option<(i64, i64)>,
    /// The live copy, for settings the data path reads on every request or tick.
    pub live: Option<LiveSlot>,
    /// The [`Config`] field that holds the value.
    pub field: &'static str,
    /// Read and write that field; filled in by `settings!` from the row.
    pub(super) get: fn(&Config) -> Value,
    pub(super) set: fn(&mut Config, Value),
}

impl Directive {
    /// Parses and validates the directive's arguments (count already checked), giving the value its field takes.
    pub(super) fn parse(&self, args: &[String], current: &str) -> Result<Value, String> {
        let mut value = self.kind.parse(args, current)?;
        if let (Some((lo, hi)), Value::Int(n)) = (self.clamp, &value) {
            value = Value::Int((*n).clamp(lo, hi));
        }
        if let Some(check) = self.check {
            check(&value.render())?;
        }
        Ok(value)
    }

    /// The default as the arguments of a config line.
    pub(super) fn default_args(&self) -> Vec<String> {
        if self.kind.multi_arg() {
            self.default.split_ascii_whitespace().map(String::from).collect()
        } else {
            vec![self.default.to_string()]
        }
    }

    /// The canonical name, then the aliases.
    pub(super) fn names(&self) -> impl Iterator<Item = &'static str> {
        std::iter::once(self.name).chain(self.aliases.iter().copied())
    }

    const fn immutable(mut self) -> Self {
        self.mutable = false;
        self
    }

    const fn protected(mut self) -> Self {
        self.protected = true;
        self
    }

    const fn alias(mut self, aliases: &'static [&'static str]) -> Self {
        self.aliases = aliases;
        self
    }

    const fn check(mut self, check: Check) -> Self {
        self.check = Some(check);
        self
    }

    const fn clamp(mut self, lo: i64, hi: i64) -> Self {
        self.clamp = Some((lo, hi));
        self
    }

    const fn live(mut self, slot: LiveSlot) -> Self {
        self.live = Some(slot);
        self
    }
}

/// A mutable, unprotected directive with no extra check; the builder methods above add the rest.
const fn d(name: &'static str, kind: Kind, default: &'static str) -> Directive {
    Directive {
        name,
        aliases: &[],
        kind,
        default,
        mutable: true,
        protected: false,
        check: None,
        clamp: None,
        live: None,
        field: "",
        get: |_| unreachable!("settings! fills in get"),
        set: |_, _| unreachable!("settings! fills in set"),
    }
}

const fn int(min: i64, max: i64) -> Kind {
    Kind::Int { min, max }
}

const fn mem(min: u64, max: u64) -> Kind {
    Kind::Memory { min, max }
}

/// Declares the `Config` struct and [`DIRECTIVES`] from one list of rows `field: Type = directive,`.
macro_rules! settings {
    ($(#[$meta:meta])* pub struct Config { $($(#[$doc:meta])* $field:ident: $ty:ty = $dir:expr,)* }) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq)]
        pub struct Config {
            $($(#[$doc])* pub $field: $ty,)*
        }

        /// Every directive rill knows, in the order `CONFIG GET *` lists them.
        pub static DIRECTIVES: &[Directive] = &[$(
            Directive {
                field: stringify!($field),
                get: |c| Setting::to_value(&c.$field),
                set: |c, v| c.$field = <$ty as Setting>::from_value(v),
                ..$dir
            },
        )*];

        impl Config {
            /// Every field at its type's zero; [`Config::default`] then applies the table's defaults.
            pub(super) fn blank() -> Config {
                Config { $($field: Default::default(),)* }
            }
        }
    };
}

const LOGLEVELS: &[&str] = &["debug", "verbose", "notice", "warning", "nothing"];
const MAXMEMORY_POLICIES: &[&str] = &[
    "volatile-lru",
    "volatile-lfu",
    "volatile-random",
    "volatile-ttl",
    "allkeys-lru",
    "allkeys-lfu",
    "allkeys-random",
    "noeviction",
];
const APPENDFSYNC: &[&str] = &["everysec", "always", "no"];
const PROTECTED_MODES: &[&str] = &["no", "yes", "local"];

const INT_MAX: i64 = i32::MAX as i64;
const INT_MIN: i64 = i32::MIN as i64;
const LONG_MAX: i64 = i64::MAX;
const SIZE_MAX: u64 = LONG_MAX as u64;
const MB: u64 = 1024 * 1024;

/// rill's default for `save`: no snapshot points. Redis's is "3600 1 300 100 60 10000"; rill writes no snapshots
/// until persistence exists, and its built-in defaults are exactly what conf/rill.conf spells out.
pub const DEFAULT_SAVE: &str = "";

// Ranges, defaults and mutability follow Redis 7.4 except where noted. A field's type must hold every value its
// bounds allow (an `Int` in a signed or narrower integer, a `Memory` in a u64); `Config::default()` checks it.
settings! {
    /// The server's configuration: one typed field per directive, named after it.
    ///
    /// The fields are the source of truth (`CONFIG GET port` renders `port`), so code that builds a `Config` by
    /// hand (tests using port 0, say) stays consistent. Change a running server's values through
    /// [`Config::set`], which validates and keeps `CONFIG GET` / `CONFIG REWRITE` in step, and then refresh the
    /// [`Live`] copies.
    pub struct Config {
        // Network. rill binds its listeners once at start-up, so unlike Redis `port` and `bind` cannot be changed
        // with CONFIG SET.
        port: u16 = d("port", int(0, 65535), "6379").immutable(),
        /// Addresses to listen on. Entries may carry Redis's `-` prefix ("don't fail if unavailable"), which the
        /// listener code interprets.
        bind: Vec<String> = d("bind", Kind::Bind, "127.0.0.1").immutable(),
        protected_mode: bool = d("protected-mode", Kind::Bool, "yes"),
        /// `None` when unset or set to the empty string, as Redis treats it.
        requirepass: Option<String> = d("requirepass", Kind::Str, ""),
        maxclients: usize = d("maxclients", int(1, u32::MAX as i64), "10000").live(|l| &l.maxclients),
        /// Idle client timeout in seconds, 0 = never.
        timeout: u32 = d("timeout", int(0, INT_MAX), "0").live(|l| &l.timeout),
        tcp_keepalive: u32 = d("tcp-keepalive", int(0, INT_MAX), "300"),
        tcp_backlog: u32 = d("tcp-backlog", int(0, INT_MAX), "511").immutable(),
        unixsocket: String = d("unixsocket", Kind::Str, "").immutable(),
        // Server.
        databases: usize = d("databases", int(1, INT_MAX), "16").immutable(),
        /// rill-only: shard threads; 0 lets `server::shard_count` choose from the cores.
        shards: usize = d("shards", int(0, 4096), "0").immutable(),
        /// rill-only: a connection whose commands keep landing on another shard moves to that shard's thread.
        connection_migration: bool =
            d("connection-migration", Kind::Bool, "yes").live(|l| &l.connection_migration),
        io_threads: u32 = d("io-threads", int(1, 128), "1").immutable(),
        daemonize: bool = d("daemonize", Kind::Bool, "no").immutable().check(check_daemonize),
        /// One of debug, verbose, notice, warning, nothing.
        loglevel: String = d("loglevel", Kind::Enum(LOGLEVELS), "notice"),
        logfile: String = d("logfile", Kind::Str, "").immutable(),
        pidfile: String = d("pidfile", Kind::Str, "").immutable(),
        dir: String = d("dir", Kind::Str, ".").protected().check(check_dir),
        enable_protected_configs: String =
            d("enable-protected-configs", Kind::Enum(PROTECTED_MODES), "no").immutable(),
        /// Clamped to 1..=500 as Redis does (`CONFIG SET hz 1000` is accepted and reads back as 500).
        hz: u32 = d("hz", int(0, INT_MAX), "10").clamp(1, 500).live(|l| &l.hz),
        proto_max_bulk_len: u64 =
            d("proto-max-bulk-len", mem(MB, SIZE_MAX), "536870912").live(|l| &l.proto_max_bulk_len),
        client_query_buffer_limit: u64 =
            d("client-query-buffer-limit", mem(MB, SIZE_MAX), "1073741824").live(|l| &l.client_query_buffer_limit),
        client_output_buffer_limit: String =
            d("client-output-buffer-limit", Kind::OutputBufferLimits, DEFAULT_OUTPUT_BUFFER_LIMITS),
        // Persistence (accepted now; acted on once persistence lands).
        /// Snapshot points as Redis renders them: `"3600 1 300 100"`, or `""` for none. See
        /// [`Config::save_params`].
        save: String = d("save", Kind::Save, DEFAULT_SAVE),
        dbfilename: String = d("dbfilename", Kind::Str, "dump.rdb").protected().check(check_dbfilename),
        appendonly: bool = d("appendonly", Kind::Bool, "no"),
        appendfilename: String =
            d("appendfilename", Kind::Str, "appendonly.aof").immutable().check(check_appendfilename),
        /// One of everysec, always, no.
        appendfsync: String = d("appendfsync", Kind::Enum(APPENDFSYNC), "everysec"),
        // Memory.
        maxmemory: u64 = d("maxmemory", mem(0, u64::MAX), "0"),
        maxmemory_policy: String = d("maxmemory-policy", Kind::Enum(MAXMEMORY_POLICIES), "noeviction"),
        lazyfree_lazy_eviction: bool = d("lazyfree-lazy-eviction", Kind::Bool, "no"),
        lazyfree_lazy_expire: bool = d("lazyfree-lazy-expire", Kind::Bool, "no"),
        lazyfree_lazy_server_del: bool = d("lazyfree-lazy-server-del", Kind::Bool, "no"),
        lazyfree_lazy_user_del: bool = d("lazyfree-lazy-user-del", Kind::Bool, "no"),
        lazyfree_lazy_user_flush: bool = d("lazyfree-lazy-user-flush", Kind::Bool, "no"),
        activedefrag: bool = d("activedefrag", Kind::Bool, "no"),
        active_expire_effort: u32 = d("active-expire-effort", int(1, 10), "1"),
        // Encoding thresholds: advisory, rill's own encodings decide layout.
        list_max_listpack_size: i64 =
            d("list-max-listpack-size", int(INT_MIN, INT_MAX), "-2").alias(&["list-max-ziplist-size"]),
        list_compress_depth: i64 = d("list-compress-depth", int(0, INT_MAX), "0"),
        hash_max_listpack_entries: i64 =
            d("hash-max-listpack-entries", int(0, LONG_MAX), "128").alias(&["hash-max-ziplist-entries"]),
        hash_max_listpack_value: u64 =
            d("hash-max-listpack-value", mem(0, SIZE_MAX), "64").alias(&["hash-max-ziplist-value"]),
        set_max_intset_entries: i64 = d("set-max-intset-entries", int(0, LONG_MAX), "512"),
        set_max_listpack_entries: i64 = d("set-max-listpack-entries", int(0, LONG_MAX), "128"),
        set_max_listpack_value: u64 = d("set-max-listpack-value", mem(0, SIZE_MAX), "64"),
        zset_max_listpack_entries: i64 =
            d("zset-max-listpack-entries", int(0, LONG_MAX), "128").alias(&["zset-max-ziplist-entries"]),
        zset_max_listpack_value: u64 =
            d("zset-max-listpack-value", mem(0, SIZE_MAX), "64").alias(&["zset-max-ziplist-value"]),
        stream_node_max_bytes: u64 = d("stream-node-max-bytes", mem(0, SIZE_MAX), "4096").live(|l| &l.stream_node_max_bytes),
        stream_node_max_entries: i64 =
            d("stream-node-max-entries", int(0, LONG_MAX), "100").live(|l| &l.stream_node_max_entries),
        // Observability.
        /// The enabled classes in canonical order, `n` kept after `A` (see [`Config::notify_keyspace_events`]).
        notify_keyspace_events: String = d("notify-keyspace-events", Kind::KeyspaceEvents, ""),
        latency_tracking: bool = d("latency-tracking", Kind::Bool, "yes"),
        latency_monitor_threshold: i64 = d("latency-monitor-threshold", int(0, LONG_MAX), "0"),
        slowlog_log_slower_than: i64 = d("slowlog-log-slower-than", int(-1, LONG_MAX), "10000"),
        slowlog_max_len: i64 = d("slowlog-max-len", int(0, LONG_MAX), "128"),
    }
}

fn check_daemonize(v: &str) -> Result<(), String> {
    if v == "yes" {
        return Err("rill does not daemonize; run it in the foreground under a supervisor".into());
    }
    Ok(())
}

fn check_dir(v: &str) -> Result<(), String> {
    // Redis chdir()s here and reports strerror(); we check the same thing without changing the process's working
    // directory.
    match std::fs::metadata(v) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err("Not a directory".into()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Err("No such file or directory".into()),
        Err(e) => Err(e.to_string()),
    }
}

fn check_dbfilename(v: &str) -> Result<(), String> {
    if v.contains('/') {
        return Err("dbfilename can't be a path, just a filename".into());
    }
    Ok(())
}

fn check_appendfilename(v: &str) -> Result<(), String> {
    if v.contains('/') {
        return Err("appendfilename can't be a path, just a filename".into());
    }
    Ok(())
}

/// Finds a directive by canonical name or alias, case-insensitively.
pub fn lookup(name: &str) -> Option<&'static Directive> {
    lookup_index(name).map(|i| &DIRECTIVES[i])
}

pub(super) fn lookup_index(name: &str) -> Option<usize> {
    DIRECTIVES.iter().position(|d| d.names().any(|n| n.eq_ignore_ascii_case(name)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_is_named_after_its_field() {
        for d in DIRECTIVES {
            assert_eq!(d.name, d.field.replace('_', "-"));
            assert_eq!(d.name, d.name.to_ascii_lowercase());
        }
    }

    #[test]
    fn names_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for name in DIRECTIVES.iter().flat_map(Directive::names) {
            assert!(seen.insert(name), "{name} declared twice");
        }
    }
}
