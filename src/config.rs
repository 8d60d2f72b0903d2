//! Server configuration: redis.conf syntax, command-line overrides, and the
//! `CONFIG GET` / `CONFIG SET` / `CONFIG REWRITE` back end.
//!
//! Clients, tools and test harnesses written for Redis read and write
//! configuration through `CONFIG`, and operators reuse their redis.conf
//! habits, so this module follows Redis 7 closely: the same file syntax and
//! quoting rules, the same value syntaxes (`yes`/`no`, `1gb`, ...), the same
//! error texts, the same aliases (`hash-max-ziplist-entries`, ...).
//!
//! Every directive rill knows is described once, in [`DIRECTIVES`]: its type,
//! default, whether `CONFIG SET` may change it while running, and any extra
//! validation. Loading, `CONFIG GET`, `CONFIG SET` and `CONFIG REWRITE` are all
//! driven by that table, so a directive added there works everywhere.
//!
//! The values the server acts on are typed fields of [`Config`]; every other
//! directive (mostly Redis tuning knobs that rill accepts as advisory because
//! its own encodings decide memory layout) lives in [`Config::other`] and can
//! be read with [`Config::value`], [`Config::int`], [`Config::flag`] and
//! [`Config::bytes`].

use crate::glob::glob_match;
use crate::text::{parse_i64, split_args};
use ahash::AHashMap;
use std::io;
use std::path::{Path, PathBuf};

/// The syntax a directive's value is written in, which decides parsing,
/// validation, error texts and rendering (all as Redis does them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `yes` / `no`, case-insensitive.
    Bool,
    /// A strict integer (no `+`, no leading zeros) within `min..=max`.
    Int { min: i64, max: i64 },
    /// A byte count with an optional unit: `k` = 1000, `kb` = 1024, `m`,
    /// `mb`, `g`, `gb` (case-insensitive), within `min..=max`. Rendered by
    /// `CONFIG GET` as the plain byte count.
    Memory { min: u64, max: u64 },
    /// One of a fixed set of words, case-insensitive, rendered lowercase.
    Enum(&'static [&'static str]),
    /// Free text.
    Str,
    /// `save`: pairs of `seconds changes`; `""` disables snapshots.
    Save,
    /// `bind`: up to 16 addresses.
    Bind,
    /// `client-output-buffer-limit`: groups of `class hard soft seconds`.
    OutputBufferLimits,
    /// `notify-keyspace-events`: a set of event-class characters.
    KeyspaceEvents,
}

impl Kind {
    /// Multi-argument directives take several words on one line; given a
    /// single non-empty word they split it on spaces (so `--save "60 1"` and
    /// `CONFIG SET save "60 1"` work), as Redis's MULTI_ARG configs do.
    fn multi_arg(self) -> bool {
        matches!(self, Kind::Save | Kind::Bind | Kind::OutputBufferLimits)
    }
}

/// A directive's extra validation: gets the parsed value as rendered and
/// returns Redis's error text on rejection.
pub type Check = fn(&str) -> Result<(), String>;

/// Command-line overrides: `(directive name, arguments)` in order.
pub type Overrides = Vec<(String, Vec<String>)>;

/// One configuration directive rill understands.
#[derive(Debug)]
pub struct Directive {
    /// Canonical name (lowercase), as `CONFIG GET` reports it.
    pub name: &'static str,
    /// Older names accepted everywhere the canonical name is (Redis 7 keeps
    /// the `ziplist` spellings working). `CONFIG GET` answers an alias under
    /// the alias name.
    pub aliases: &'static [&'static str],
    pub kind: Kind,
    /// Default, in config-file syntax.
    pub default: &'static str,
    /// Whether `CONFIG SET` may change it on a running server. Immutable ones
    /// can only be set in the file or on the command line, because the server
    /// acts on them once at start-up (listeners, shard count, ...).
    pub mutable: bool,
    /// Protected like Redis's `dir` and `dbfilename`: `CONFIG SET` refuses
    /// them unless `enable-protected-configs` allows it, since a client that
    /// can point the dump file anywhere can write files anywhere.
    pub protected: bool,
    /// Extra validation after the value parsed, returning Redis's error text.
    pub check: Option<Check>,
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
const MB: u64 = 1024 * 1024;

/// rill's default for `save`: no snapshot points. Redis's is "3600 1 300 100 60 10000"; rill writes no snapshots
/// until persistence exists, and its built-in defaults are exactly what conf/rill.conf spells out.
pub const DEFAULT_SAVE: &str = "";
/// Redis's default for `client-output-buffer-limit`.
pub const DEFAULT_OUTPUT_BUFFER_LIMITS: &str = "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60";

const fn d(name: &'static str, kind: Kind, default: &'static str, mutable: bool) -> Directive {
    Directive { name, aliases: &[], kind, default, mutable, protected: false, check: None }
}

const fn int(min: i64, max: i64) -> Kind {
    Kind::Int { min, max }
}

const fn mem(min: u64, max: u64) -> Kind {
    Kind::Memory { min, max }
}

const fn aliased(mut dir: Directive, aliases: &'static [&'static str]) -> Directive {
    dir.aliases = aliases;
    dir
}

const fn checked(mut dir: Directive, check: Check) -> Directive {
    dir.check = Some(check);
    dir
}

const fn protected(mut dir: Directive) -> Directive {
    dir.protected = true;
    dir
}

/// Every directive rill knows, in the order `CONFIG GET *` lists them.
/// Ranges, defaults and mutability follow Redis 7.4 except where noted.
pub static DIRECTIVES: &[Directive] = &[
    // Network. rill binds its listeners once at start-up, so unlike Redis
    // `port` and `bind` cannot be changed with CONFIG SET.
    d("port", int(0, 65535), "6379", false),
    d("bind", Kind::Bind, "127.0.0.1", false),
    d("protected-mode", Kind::Bool, "yes", true),
    d("requirepass", Kind::Str, "", true),
    d("maxclients", int(1, u32::MAX as i64), "10000", true),
    d("timeout", int(0, INT_MAX), "0", true),
    d("tcp-keepalive", int(0, INT_MAX), "300", true),
    d("tcp-backlog", int(0, INT_MAX), "511", false),
    d("unixsocket", Kind::Str, "", false),
    // Server.
    d("databases", int(1, INT_MAX), "16", false),
    // rill-only: number of shard threads; 0 = one per core.
    d("shards", int(0, 4096), "0", false),
    d("io-threads", int(1, 128), "1", false),
    checked(d("daemonize", Kind::Bool, "no", false), check_daemonize),
    d("loglevel", Kind::Enum(LOGLEVELS), "notice", true),
    d("logfile", Kind::Str, "", false),
    d("pidfile", Kind::Str, "", false),
    protected(checked(d("dir", Kind::Str, ".", true), check_dir)),
    d("enable-protected-configs", Kind::Enum(PROTECTED_MODES), "no", false),
    d("hz", int(0, INT_MAX), "10", true),
    d("proto-max-bulk-len", mem(MB, LONG_MAX as u64), "536870912", true),
    d("client-query-buffer-limit", mem(MB, LONG_MAX as u64), "1073741824", true),
    d("client-output-buffer-limit", Kind::OutputBufferLimits, DEFAULT_OUTPUT_BUFFER_LIMITS, true),
    // Persistence (accepted now; acted on once persistence lands).
    d("save", Kind::Save, DEFAULT_SAVE, true),
    protected(checked(d("dbfilename", Kind::Str, "dump.rdb", true), check_dbfilename)),
    d("appendonly", Kind::Bool, "no", true),
    checked(d("appendfilename", Kind::Str, "appendonly.aof", false), check_appendfilename),
    d("appendfsync", Kind::Enum(APPENDFSYNC), "everysec", true),
    // Memory.
    d("maxmemory", mem(0, u64::MAX), "0", true),
    d("maxmemory-policy", Kind::Enum(MAXMEMORY_POLICIES), "noeviction", true),
    d("lazyfree-lazy-eviction", Kind::Bool, "no", true),
    d("lazyfree-lazy-expire", Kind::Bool, "no", true),
    d("lazyfree-lazy-server-del", Kind::Bool, "no", true),
    d("lazyfree-lazy-user-del", Kind::Bool, "no", true),
    d("lazyfree-lazy-user-flush", Kind::Bool, "no", true),
    d("activedefrag", Kind::Bool, "no", true),
    d("active-expire-effort", int(1, 10), "1", true),
    // Encoding thresholds: advisory, rill's own encodings decide layout.
    aliased(d("list-max-listpack-size", int(INT_MIN, INT_MAX), "-2", true), &["list-max-ziplist-size"]),
    d("list-compress-depth", int(0, INT_MAX), "0", true),
    aliased(d("hash-max-listpack-entries", int(0, LONG_MAX), "128", true), &["hash-max-ziplist-entries"]),
    aliased(d("hash-max-listpack-value", mem(0, LONG_MAX as u64), "64", true), &["hash-max-ziplist-value"]),
    d("set-max-intset-entries", int(0, LONG_MAX), "512", true),
    d("set-max-listpack-entries", int(0, LONG_MAX), "128", true),
    d("set-max-listpack-value", mem(0, LONG_MAX as u64), "64", true),
    aliased(d("zset-max-listpack-entries", int(0, LONG_MAX), "128", true), &["zset-max-ziplist-entries"]),
    aliased(d("zset-max-listpack-value", mem(0, LONG_MAX as u64), "64", true), &["zset-max-ziplist-value"]),
    d("stream-node-max-bytes", mem(0, LONG_MAX as u64), "4096", true),
    d("stream-node-max-entries", int(0, LONG_MAX), "100", true),
    // Observability.
    d("notify-keyspace-events", Kind::KeyspaceEvents, "", true),
    d("latency-tracking", Kind::Bool, "yes", true),
    d("latency-monitor-threshold", int(0, LONG_MAX), "0", true),
    d("slowlog-log-slower-than", int(-1, LONG_MAX), "10000", true),
    d("slowlog-max-len", int(0, LONG_MAX), "128", true),
];

fn check_daemonize(v: &str) -> Result<(), String> {
    if v == "yes" {
        return Err("rill does not daemonize; run it in the foreground under a supervisor".into());
    }
    Ok(())
}

fn check_dir(v: &str) -> Result<(), String> {
    // Redis chdir()s here and reports strerror(); we check the same thing
    // without changing the process's working directory.
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

fn lookup_index(name: &str) -> Option<usize> {
    DIRECTIVES
        .iter()
        .position(|d| d.name.eq_ignore_ascii_case(name) || d.aliases.iter().any(|a| a.eq_ignore_ascii_case(name)))
}

/// A parsed directive value, kept in [`Config::other`] for directives that
/// have no typed field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    Bool(bool),
    Int(i64),
    Bytes(u64),
    /// Enum words, free text, and the canonical forms of `save`,
    /// `client-output-buffer-limit` and `notify-keyspace-events`.
    Text(String),
    /// `bind` addresses.
    List(Vec<String>),
}

impl Value {
    /// Renders the value the way `CONFIG GET` shows it.
    fn render(&self) -> String {
        match self {
            Value::Bool(b) => yes_no(*b).to_string(),
            Value::Int(n) => n.to_string(),
            Value::Bytes(n) => n.to_string(),
            Value::Text(s) => s.clone(),
            Value::List(v) => v.join(" "),
        }
    }
}

fn yes_no(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

/// Values of directives that have no typed field on [`Config`], by canonical
/// name. Opaque so that the set of typed fields can grow without breaking
/// `Config { port: 0, ..Config::default() }`-style construction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OtherSettings(AHashMap<&'static str, Value>);

/// The server's configuration.
///
/// The typed fields are what the server reads; they are the source of truth
/// for their directives (`CONFIG GET port` renders `port`), so code that
/// builds a `Config` by hand (tests using port 0, say) stays consistent.
/// Change a running server's values through [`Config::set`], which validates
/// and keeps `CONFIG GET` / `CONFIG REWRITE` in step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    pub port: u16,
    /// Addresses to listen on. Entries may carry Redis's `-` prefix ("don't
    /// fail if unavailable"), which the listener code interprets.
    pub bind: Vec<String>,
    pub protected_mode: bool,
    /// `None` when unset or set to the empty string, as Redis treats it.
    pub requirepass: Option<String>,
    pub maxclients: usize,
    /// Idle client timeout in seconds, 0 = never.
    pub timeout: u64,
    pub tcp_keepalive: u64,
    pub databases: usize,
    /// Shard threads; 0 means one per core, resolved by the caller.
    pub shards: usize,
    /// One of debug, verbose, notice, warning, nothing.
    pub loglevel: String,
    pub dir: String,
    pub proto_max_bulk_len: u64,
    pub client_query_buffer_limit: u64,
    /// Already clamped to 1..=500 as Redis does (`CONFIG SET hz 1000` is
    /// accepted and reads back as 500).
    pub hz: u32,
    /// Snapshot points as Redis renders them: `"3600 1 300 100"`, or `""`
    /// for none. See [`Config::save_params`].
    pub save: String,
    pub appendonly: bool,
    pub dbfilename: String,
    pub appendfilename: String,
    /// One of everysec, always, no.
    pub appendfsync: String,
    /// Every directive without a typed field above.
    pub other: OtherSettings,
}

impl Default for Config {
    fn default() -> Self {
        let mut cfg = Config {
            port: 6379,
            bind: vec!["127.0.0.1".into()],
            protected_mode: true,
            requirepass: None,
            maxclients: 10000,
            timeout: 0,
            tcp_keepalive: 300,
            databases: 16,
            shards: 0,
            loglevel: "notice".into(),
            dir: ".".into(),
            proto_max_bulk_len: 512 * MB,
            client_query_buffer_limit: 1024 * MB,
            hz: 10,
            save: DEFAULT_SAVE.into(),
            appendonly: false,
            dbfilename: "dump.rdb".into(),
            appendfilename: "appendonly.aof".into(),
            appendfsync: "everysec".into(),
            other: OtherSettings(AHashMap::new()),
        };
        // Fill everything (typed fields included, so the table stays the
        // single authority on defaults) from the table.
        for (idx, dir) in DIRECTIVES.iter().enumerate() {
            let args = default_args(dir);
            let value = parse_value(dir, &args, DEFAULT_OUTPUT_BUFFER_LIMITS)
                .unwrap_or_else(|e| panic!("bad built-in default for {}: {e}", dir.name));
            cfg.store(idx, value);
        }
        cfg
    }
}

fn default_args(dir: &Directive) -> Vec<String> {
    if dir.kind.multi_arg() {
        dir.default.split_ascii_whitespace().map(String::from).collect()
    } else {
        vec![dir.default.to_string()]
    }
}

/// State that spans the lines of one load (file plus overrides).
#[derive(Default)]
struct LoadState {
    /// Redis resets the built-in `save` points at the first `save` directive
    /// and appends on later ones, so `save 3600 1` + `save 300 100` means both.
    save_seen: bool,
}

impl Config {
    /// Loads the configuration: defaults, then the file at `path` (if any),
    /// then `overrides` in order (command-line `--name value...`, as produced
    /// by [`parse_cli_overrides`] plus whatever clap parsed itself).
    ///
    /// Override names may keep their leading `--` and any case. Like Redis,
    /// the overrides behave as lines appended to the file, so `save` points
    /// given in both places add up unless the override is `--save ""`.
    ///
    /// Errors are `FILE:LINE: reason`, or `command line: reason` for an
    /// override, and should stop start-up.
    pub fn load(path: Option<&Path>, overrides: &[(String, Vec<String>)]) -> Result<Config, String> {
        let mut cfg = Config::default();
        let mut state = LoadState::default();
        if let Some(path) = path {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("{}: can't read config file: {e}", path.display()))?;
            cfg.apply_text(&text, &path.display().to_string(), &mut state)?;
        }
        for (name, args) in overrides {
            let name = name.trim_start_matches("--");
            cfg.apply_directive(name, args, &mut state).map_err(|e| format!("command line: {e}"))?;
        }
        Ok(cfg)
    }

    fn apply_text(&mut self, text: &str, origin: &str, state: &mut LoadState) -> Result<(), String> {
        for (n, line) in text.lines().enumerate() {
            let args = match split_line(line) {
                Ok(Some(args)) => args,
                Ok(None) => continue,
                Err(e) => return Err(format!("{origin}:{}: {e}", n + 1)),
            };
            self.apply_directive(&args[0], &args[1..], state).map_err(|e| format!("{origin}:{}: {e}", n + 1))?;
        }
        Ok(())
    }

    fn apply_directive(&mut self, name: &str, args: &[String], state: &mut LoadState) -> Result<(), String> {
        let idx = lookup_index(name).ok_or_else(|| format!("unknown directive '{name}'"))?;
        let dir = &DIRECTIVES[idx];
        let lname = name.to_ascii_lowercase();
        let args = normalize_args(dir, args).ok_or_else(|| format!("{lname}: wrong number of arguments"))?;
        let current = self.render(idx);
        let mut value = parse_value(dir, &args, &current).map_err(|e| format!("{lname}: {e}"))?;
        if dir.kind == Kind::Save {
            let first = !std::mem::replace(&mut state.save_seen, true);
            if let (false, Value::Text(new)) = (first, &value) {
                if !new.is_empty() {
                    let mut all = current;
                    if !all.is_empty() {
                        all.push(' ');
                    }
                    all.push_str(new);
                    value = Value::Text(all);
                }
            }
        }
        self.store(idx, value);
        Ok(())
    }

    /// `CONFIG GET`: the values of every directive matching any of `patterns`,
    /// as `(name, value)` pairs in table order per pattern.
    ///
    /// As Redis does: a pattern without `*`, `?` or `[` is a direct
    /// (case-insensitive) lookup answered under the name exactly as given;
    /// a glob is matched case-insensitively against canonical names and
    /// aliases, each matching name answered once; a name already answered
    /// (compared case-insensitively) is not repeated.
    pub fn get(&self, patterns: &[&[u8]]) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        let seen = |out: &Vec<(String, String)>, name: &str| out.iter().any(|(n, _)| n.eq_ignore_ascii_case(name));
        for pattern in patterns {
            if !pattern.iter().any(|b| matches!(b, b'*' | b'?' | b'[')) {
                let Ok(name) = std::str::from_utf8(pattern) else {
                    continue;
                };
                if let Some(idx) = lookup_index(name) {
                    if !seen(&out, name) {
                        out.push((name.to_string(), self.render(idx)));
                    }
                }
                continue;
            }
            for (idx, dir) in DIRECTIVES.iter().enumerate() {
                for name in std::iter::once(&dir.name).chain(dir.aliases) {
                    if !seen(&out, name) && glob_match(pattern, name.as_bytes(), true) {
                        out.push((name.to_string(), self.render(idx)));
                    }
                }
            }
        }
        out
    }

    /// `CONFIG SET name value [name value ...]`, all or nothing, with Redis's
    /// error texts (including the `ERR ` prefix). Equivalent to
    /// [`Config::set_from_client`] for a non-local client.
    pub fn set(&mut self, pairs: &[(Vec<u8>, Vec<u8>)]) -> Result<(), String> {
        self.set_from_client(pairs, false)
    }

    /// `CONFIG SET` on behalf of a client; `client_is_local` (connected over
    /// loopback or a unix socket) matters only for protected directives when
    /// `enable-protected-configs` is `local`.
    ///
    /// Checks happen in Redis's order: first every name (unknown, immutable,
    /// protected, duplicate — the first problem wins, named as the client
    /// spelled it), then every value (named in lowercase). Nothing changes
    /// unless everything is valid.
    pub fn set_from_client(&mut self, pairs: &[(Vec<u8>, Vec<u8>)], client_is_local: bool) -> Result<(), String> {
        let failed =
            |name: &str, why: &str| format!("ERR CONFIG SET failed (possibly related to argument '{name}') - {why}");
        let mut chosen: Vec<usize> = Vec::with_capacity(pairs.len());
        for (name, _) in pairs {
            let shown = String::from_utf8_lossy(name);
            let idx = std::str::from_utf8(name)
                .ok()
                .and_then(lookup_index)
                .ok_or_else(|| format!("ERR Unknown option or number of arguments for CONFIG SET - '{shown}'"))?;
            let dir = &DIRECTIVES[idx];
            if !dir.mutable {
                return Err(failed(&shown, "can't set immutable config"));
            }
            if dir.protected && !self.protected_allowed(client_is_local) {
                return Err(failed(&shown, "can't set protected config"));
            }
            if chosen.contains(&idx) {
                return Err(failed(&shown, "duplicate parameter"));
            }
            chosen.push(idx);
        }
        let mut next = self.clone();
        for (&idx, (name, value)) in chosen.iter().zip(pairs) {
            let dir = &DIRECTIVES[idx];
            let lname = String::from_utf8_lossy(name).to_ascii_lowercase();
            let value = std::str::from_utf8(value).map_err(|_| failed(&lname, "argument must be valid UTF-8"))?;
            let args: Vec<String> = if dir.kind.multi_arg() {
                value.split_ascii_whitespace().map(String::from).collect()
            } else {
                vec![value.to_string()]
            };
            let current = next.render(idx);
            let parsed = parse_value(dir, &args, &current).map_err(|e| failed(&lname, &e))?;
            next.store(idx, parsed);
        }
        *self = next;
        Ok(())
    }

    fn protected_allowed(&self, client_is_local: bool) -> bool {
        match self.value("enable-protected-configs").as_deref() {
            Some("yes") => true,
            Some("local") => client_is_local,
            _ => false,
        }
    }

    /// `CONFIG REWRITE`: writes the running configuration to `path`, keeping
    /// the original file's comments, layout and order. Lines whose directive
    /// still has the value the file gave it are kept byte for byte; changed
    /// directives are rewritten in place (extra old lines for the same
    /// directive dropped); directives that differ from the default and are
    /// not in the file are appended under `# Generated by CONFIG REWRITE`.
    /// The file is replaced atomically (write to a temporary, then rename).
    pub fn rewrite(&self, path: &Path) -> io::Result<()> {
        let original = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(e),
        };
        // What the file alone says, to tell unchanged directives from changed.
        let mut baseline = Config::default();
        baseline
            .apply_text(&original, &path.display().to_string(), &mut LoadState::default())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;

        let mut present = vec![false; DIRECTIVES.len()];
        let mut emitted = vec![false; DIRECTIVES.len()];
        let mut out: Vec<String> = Vec::new();
        for line in original.lines() {
            let Ok(Some(args)) = split_line(line) else {
                out.push(line.to_string());
                continue;
            };
            let Some(idx) = lookup_index(&args[0]) else {
                out.push(line.to_string());
                continue;
            };
            present[idx] = true;
            if baseline.stored(idx) == self.stored(idx) {
                out.push(line.to_string());
            } else if !emitted[idx] {
                emitted[idx] = true;
                out.extend(self.rewrite_lines(idx, &args[0].to_ascii_lowercase()));
            }
        }
        let defaults = Config::default();
        let mut appended = Vec::new();
        for (idx, dir) in DIRECTIVES.iter().enumerate() {
            if !present[idx] && self.stored(idx) != defaults.stored(idx) {
                appended.extend(self.rewrite_lines(idx, dir.name));
            }
        }
        const MARKER: &str = "# Generated by CONFIG REWRITE";
        if !appended.is_empty() {
            if !out.iter().any(|l| l.trim() == MARKER) {
                out.push(MARKER.to_string());
            }
            out.extend(appended);
        }
        let mut text = out.join("\n");
        if !text.is_empty() {
            text.push('\n');
        }

        let file_name =
            path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "rill.conf".into());
        let tmp = path.with_file_name(format!(".{file_name}.rewrite-{}", std::process::id()));
        let result = (|| {
            use std::io::Write;
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(text.as_bytes())?;
            f.sync_all()?;
            std::fs::rename(&tmp, path)
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        result
    }

    /// The config-file lines for one directive's current value.
    fn rewrite_lines(&self, idx: usize, name: &str) -> Vec<String> {
        let dir = &DIRECTIVES[idx];
        let value = self.stored(idx);
        match dir.kind {
            Kind::Save if value.is_empty() => vec![format!("{name} \"\"")],
            Kind::Save => {
                let words: Vec<&str> = value.split(' ').collect();
                words.chunks(2).map(|p| format!("{name} {} {}", p[0], p[1])).collect()
            }
            Kind::Bind if value.is_empty() => vec![format!("{name} \"\"")],
            Kind::Bind => {
                let addrs: Vec<String> = value.split(' ').map(quote).collect();
                vec![format!("{name} {}", addrs.join(" "))]
            }
            Kind::OutputBufferLimits => {
                let words: Vec<&str> = value.split(' ').collect();
                words
                    .chunks(4)
                    .map(|c| {
                        let h = human_bytes(c[1].parse().unwrap_or(0));
                        let s = human_bytes(c[2].parse().unwrap_or(0));
                        format!("{name} {} {h} {s} {}", c[0], c[3])
                    })
                    .collect()
            }
            Kind::Memory { .. } => {
                vec![format!("{name} {}", human_bytes(value.parse().unwrap_or(0)))]
            }
            _ => vec![format!("{name} {}", quote(&value))],
        }
    }

    /// The snapshot points of `save` as `(seconds, changes)` pairs.
    pub fn save_params(&self) -> Vec<(u64, u64)> {
        let nums: Vec<u64> = self.save.split_ascii_whitespace().filter_map(|w| w.parse().ok()).collect();
        nums.chunks_exact(2).map(|p| (p[0], p[1])).collect()
    }

    /// The enabled keyspace-notification classes as a canonical string of
    /// Redis's class characters (`A` = all type classes, then any of `n`,
    /// `K`, `E`, `m`); empty when notifications are off. Unlike `CONFIG GET`,
    /// which mimics Redis in hiding `n` after `A`, this is complete.
    pub fn notify_keyspace_events(&self) -> String {
        match self.other.0.get("notify-keyspace-events") {
            Some(Value::Text(s)) => s.clone(),
            _ => String::new(),
        }
    }

    /// Any directive's value (canonical name or alias, any case), rendered as
    /// `CONFIG GET` shows it; `None` for an unknown name.
    pub fn value(&self, name: &str) -> Option<String> {
        lookup_index(name).map(|idx| self.render(idx))
    }

    /// An integer directive's value.
    pub fn int(&self, name: &str) -> Option<i64> {
        match lookup(name)?.kind {
            Kind::Int { .. } => self.value(name)?.parse().ok(),
            _ => None,
        }
    }

    /// A yes/no directive's value.
    pub fn flag(&self, name: &str) -> Option<bool> {
        match lookup(name)?.kind {
            Kind::Bool => Some(self.value(name)? == "yes"),
            _ => None,
        }
    }

    /// A memory-size directive's value in bytes.
    pub fn bytes(&self, name: &str) -> Option<u64> {
        match lookup(name)?.kind {
            Kind::Memory { .. } => self.value(name)?.parse().ok(),
            _ => None,
        }
    }

    /// The value as stored, for `CONFIG REWRITE`: the `CONFIG GET` rendering
    /// except where that rendering loses information (keyspace events).
    fn stored(&self, idx: usize) -> String {
        match DIRECTIVES[idx].kind {
            Kind::KeyspaceEvents => self.notify_keyspace_events(),
            _ => self.render(idx),
        }
    }

    /// Renders directive `idx` from its typed field or from `other`.
    fn render(&self, idx: usize) -> String {
        let dir = &DIRECTIVES[idx];
        match dir.name {
            "port" => self.port.to_string(),
            "bind" => self.bind.join(" "),
            "protected-mode" => yes_no(self.protected_mode).into(),
            "requirepass" => self.requirepass.clone().unwrap_or_default(),
            "maxclients" => self.maxclients.to_string(),
            "timeout" => self.timeout.to_string(),
            "tcp-keepalive" => self.tcp_keepalive.to_string(),
            "databases" => self.databases.to_string(),
            "shards" => self.shards.to_string(),
            "loglevel" => self.loglevel.clone(),
            "dir" => self.dir.clone(),
            "proto-max-bulk-len" => self.proto_max_bulk_len.to_string(),
            "client-query-buffer-limit" => self.client_query_buffer_limit.to_string(),
            "hz" => self.hz.to_string(),
            "save" => self.save.clone(),
            "appendonly" => yes_no(self.appendonly).into(),
            "dbfilename" => self.dbfilename.clone(),
            "appendfilename" => self.appendfilename.clone(),
            "appendfsync" => self.appendfsync.clone(),
            "notify-keyspace-events" => render_keyspace_events(&self.notify_keyspace_events()),
            name => match self.other.0.get(name) {
                Some(v) => v.render(),
                None => dir.default.to_string(),
            },
        }
    }

    /// Stores a validated value into its typed field or into `other`.
    /// Ranges were checked by `parse_value`, so the narrowing casts are safe.
    fn store(&mut self, idx: usize, value: Value) {
        let name = DIRECTIVES[idx].name;
        match (name, value) {
            ("port", Value::Int(n)) => self.port = n as u16,
            ("bind", Value::List(v)) => self.bind = v,
            ("protected-mode", Value::Bool(b)) => self.protected_mode = b,
            ("requirepass", Value::Text(s)) => self.requirepass = (!s.is_empty()).then_some(s),
            ("maxclients", Value::Int(n)) => self.maxclients = n as usize,
            ("timeout", Value::Int(n)) => self.timeout = n as u64,
            ("tcp-keepalive", Value::Int(n)) => self.tcp_keepalive = n as u64,
            ("databases", Value::Int(n)) => self.databases = n as usize,
            ("shards", Value::Int(n)) => self.shards = n as usize,
            ("loglevel", Value::Text(s)) => self.loglevel = s,
            ("dir", Value::Text(s)) => self.dir = s,
            ("proto-max-bulk-len", Value::Bytes(n)) => self.proto_max_bulk_len = n,
            ("client-query-buffer-limit", Value::Bytes(n)) => self.client_query_buffer_limit = n,
            // Redis accepts any int and clamps to its supported range.
            ("hz", Value::Int(n)) => self.hz = n.clamp(1, 500) as u32,
            ("save", Value::Text(s)) => self.save = s,
            ("appendonly", Value::Bool(b)) => self.appendonly = b,
            ("dbfilename", Value::Text(s)) => self.dbfilename = s,
            ("appendfilename", Value::Text(s)) => self.appendfilename = s,
            ("appendfsync", Value::Text(s)) => self.appendfsync = s,
            (name, value) => {
                self.other.0.insert(name, value);
            }
        }
    }
}

/// Checks the argument count of a directive, splitting a single word of a
/// multi-argument directive on spaces. `None` means a wrong count.
fn normalize_args(dir: &Directive, args: &[String]) -> Option<Vec<String>> {
    if dir.kind.multi_arg() {
        if args.len() == 1 && !args[0].is_empty() {
            return Some(args[0].split_ascii_whitespace().map(String::from).collect());
        }
        return Some(args.to_vec());
    }
    (args.len() == 1).then(|| args.to_vec())
}

/// Parses and validates a directive's arguments (count already checked).
/// `current` is the directive's present rendering, needed by
/// `client-output-buffer-limit`, whose lines each change one client class.
fn parse_value(dir: &Directive, args: &[String], current: &str) -> Result<Value, String> {
    let one = || args.first().map(String::as_str).unwrap_or("");
    let value = match dir.kind {
        Kind::Bool => match one().to_ascii_lowercase().as_str() {
            "yes" => Value::Bool(true),
            "no" => Value::Bool(false),
            _ => return Err("argument must be 'yes' or 'no'".into()),
        },
        Kind::Int { min, max } => {
            let n = parse_i64(one().as_bytes()).ok_or("argument couldn't be parsed into an integer")?;
            if n < min || n > max {
                return Err(format!("argument must be between {min} and {max} inclusive"));
            }
            Value::Int(n)
        }
        Kind::Memory { min, max } => {
            let n = parse_memory(one()).ok_or("argument must be a memory value")?;
            if n < min || n > max {
                return Err(format!("argument must be between {min} and {max} inclusive"));
            }
            Value::Bytes(n)
        }
        Kind::Enum(words) => match words.iter().find(|w| w.eq_ignore_ascii_case(one())) {
            Some(w) => Value::Text(w.to_string()),
            None => return Err(format!("argument(s) must be one of the following: {}", words.join(", "))),
        },
        Kind::Str => Value::Text(one().to_string()),
        Kind::Save => Value::Text(parse_save(args)?),
        Kind::Bind => {
            let addrs: Vec<String> = if args.len() == 1 && args[0].is_empty() { Vec::new() } else { args.to_vec() };
            if addrs.len() > 16 {
                return Err("Too many bind addresses specified.".into());
            }
            Value::List(addrs)
        }
        Kind::OutputBufferLimits => Value::Text(parse_output_buffer_limits(args, current)?),
        Kind::KeyspaceEvents => Value::Text(parse_keyspace_events(one())?),
    };
    if let Some(check) = dir.check {
        check(&value.render())?;
    }
    Ok(value)
}

/// Parses a memory size as Redis's `memtoull`: decimal digits followed by an
/// optional unit (`b`, `k`, `kb`, `m`, `mb`, `g`, `gb`, any case). Like Redis,
/// missing digits count as 0 (`""`, `kb`); unlike Redis we reject overflow.
pub fn parse_memory(s: &str) -> Option<u64> {
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (digits, unit) = s.split_at(split);
    let mul: u64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" => 1000,
        "kb" => 1024,
        "m" => 1000 * 1000,
        "mb" => 1024 * 1024,
        "g" => 1000 * 1000 * 1000,
        "gb" => 1024 * 1024 * 1024,
        _ => return None,
    };
    let n: u64 = if digits.is_empty() { 0 } else { digits.parse().ok()? };
    n.checked_mul(mul)
}

/// Formats bytes with the largest binary unit that divides them exactly, as
/// `CONFIG REWRITE` does, so rewritten files stay readable.
fn human_bytes(n: u64) -> String {
    const GB: u64 = 1024 * 1024 * 1024;
    const KB: u64 = 1024;
    if n == 0 {
        "0".into()
    } else if n.is_multiple_of(GB) {
        format!("{}gb", n / GB)
    } else if n.is_multiple_of(MB) {
        format!("{}mb", n / MB)
    } else if n.is_multiple_of(KB) {
        format!("{}kb", n / KB)
    } else {
        n.to_string()
    }
}

fn parse_save(args: &[String]) -> Result<String, String> {
    const INVALID: &str = "Invalid save parameters";
    if args.len() == 1 && args[0].is_empty() {
        return Ok(String::new());
    }
    if !args.len().is_multiple_of(2) {
        return Err(INVALID.into());
    }
    let mut words = Vec::with_capacity(args.len());
    for (i, arg) in args.iter().enumerate() {
        let n: i64 = arg.parse().map_err(|_| INVALID)?;
        // Seconds must be at least 1, changes at least 0.
        if (i % 2 == 0 && n < 1) || n < 0 {
            return Err(INVALID.into());
        }
        words.push(n.to_string());
    }
    Ok(words.join(" "))
}

fn parse_output_buffer_limits(args: &[String], current: &str) -> Result<String, String> {
    if !args.len().is_multiple_of(4) {
        return Err("Wrong number of arguments in buffer limit configuration.".into());
    }
    // Current limits per class, in render order normal, slave, pubsub.
    let mut classes: Vec<[String; 4]> = current
        .split(' ')
        .collect::<Vec<_>>()
        .chunks_exact(4)
        .map(|c| [c[0].into(), c[1].into(), c[2].into(), c[3].into()])
        .collect();
    if classes.len() != 3 {
        classes = DEFAULT_OUTPUT_BUFFER_LIMITS
            .split(' ')
            .collect::<Vec<_>>()
            .chunks_exact(4)
            .map(|c| [c[0].into(), c[1].into(), c[2].into(), c[3].into()])
            .collect();
    }
    let class_of = |name: &str| match name.to_ascii_lowercase().as_str() {
        "normal" => Some(0),
        "slave" | "replica" => Some(1),
        "pubsub" => Some(2),
        _ => None,
    };
    // Validate every group before changing any, as Redis does.
    let mut updates = Vec::new();
    for group in args.chunks_exact(4) {
        let Some(class) = class_of(&group[0]) else {
            return Err("Invalid client class specified in buffer limit configuration.".into());
        };
        updates.push(class);
    }
    const BAD: &str = "Error in hard, soft or soft_seconds setting in buffer limit configuration.";
    for (group, &class) in args.chunks_exact(4).zip(&updates) {
        let hard = parse_memory(&group[1]).ok_or(BAD)?;
        let soft = parse_memory(&group[2]).ok_or(BAD)?;
        let secs: i64 = group[3].parse().map_err(|_| BAD)?;
        if secs < 0 {
            return Err(BAD.into());
        }
        classes[class][1] = hard.to_string();
        classes[class][2] = soft.to_string();
        classes[class][3] = secs.to_string();
    }
    Ok(classes.iter().map(|c| c.join(" ")).collect::<Vec<_>>().join(" "))
}

/// Keyspace notification classes, in the order Redis renders them. `A` is an
/// alias for all the type classes (everything but `K`, `E`, `m`, `n`).
const EVENT_TYPE_CLASSES: &str = "g$lshzxetd";

fn parse_keyspace_events(s: &str) -> Result<String, String> {
    let mut set = std::collections::BTreeSet::new();
    for c in s.chars() {
        match c {
            'A' => set.extend(EVENT_TYPE_CLASSES.chars()),
            'g' | '$' | 'l' | 's' | 'h' | 'z' | 'x' | 'e' | 't' | 'd' | 'n' | 'K' | 'E' | 'm' => {
                set.insert(c);
            }
            _ => return Err("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.".into()),
        }
    }
    let mut out = String::new();
    if EVENT_TYPE_CLASSES.chars().all(|c| set.contains(&c)) {
        out.push('A');
    } else {
        out.extend(EVENT_TYPE_CLASSES.chars().filter(|c| set.contains(c)));
    }
    out.extend("nKEm".chars().filter(|c| set.contains(c)));
    Ok(out)
}

/// `CONFIG GET` rendering of the stored event classes. Redis prints `A`
/// instead of the type classes and then forgets to print `n` (new-key
/// events) although it is still enabled; we keep `n` in the stored value
/// (so the server and `CONFIG REWRITE` see it) but render like Redis.
fn render_keyspace_events(stored: &str) -> String {
    if stored.starts_with('A') {
        stored.replace('n', "")
    } else {
        stored.to_string()
    }
}

/// Splits one config line. `Ok(None)` for blank lines and comments (a line
/// whose first non-blank character is `#`; a `#` later in a line is an
/// ordinary character, as in Redis). The directive name is returned as
/// written.
fn split_line(line: &str) -> Result<Option<Vec<String>>, String> {
    let trimmed = line.trim_matches(|c| matches!(c, ' ' | '\t' | '\r' | '\n'));
    if trimmed.is_empty() || trimmed.starts_with('#') {
        return Ok(None);
    }
    let args = split_args(trimmed.as_bytes()).ok_or_else(|| "Unbalanced quotes in configuration line".to_string())?;
    if args.is_empty() {
        return Ok(None);
    }
    args.into_iter()
        .map(|a| String::from_utf8(a).map_err(|_| "argument is not valid UTF-8".to_string()))
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// Quotes a value for a config file when it needs it (empty, blanks, quotes,
/// backslashes, `#` at the start, control bytes), using `"..."` escapes that
/// [`split_args`] reads back.
fn quote(s: &str) -> String {
    let plain = !s.is_empty()
        && !s.starts_with('#')
        && s.bytes().all(|c| (c.is_ascii_graphic() && !matches!(c, b'"' | b'\'' | b'\\')) || c >= 0x80);
    if plain {
        return s.to_string();
    }
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x07' => out.push_str("\\a"),
            '\x08' => out.push_str("\\b"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Splits the server's arguments (without the program name) the way
/// `redis-server` does: an optional config file path first, then
/// `--name value [value ...]` groups, each value list ending at the next
/// `--name`. Returns the path and the `(name, values)` pairs for
/// [`Config::load`], names lowercased without their `--`.
///
/// Redis's details kept: a `--word` right after an option name that has no
/// value yet is that option's value (`--requirepass --secret`); `--save` with
/// no value (last, or followed by another option) means `--save ""`; a single
/// argument `"--port 7000"` is split like a config line.
///
/// For the main binary: options clap parses itself (`--port`, `--bind`,
/// `--shards`, `--loglevel`, `--dir`) become pairs the same way
/// (`("port".into(), vec![port.to_string()])`, `("bind", addrs)`) and go first
/// in the override list, followed by this function's pairs, so both paths are
/// applied by the same code.
pub fn parse_cli_overrides(args: &[String]) -> Result<(Option<PathBuf>, Overrides), String> {
    let mut path = None;
    let mut rest = args;
    if let Some(first) = args.first() {
        if !first.starts_with('-') {
            path = Some(PathBuf::from(first));
            rest = &args[1..];
        }
    }
    let mut pairs: Overrides = Vec::new();
    // Whether the last option already has at least one value.
    let mut last_has_value = true;
    for (i, arg) in rest.iter().enumerate() {
        if last_has_value && arg.starts_with("--") {
            let words = split_args(&arg.as_bytes()[2..])
                .ok_or_else(|| format!("command line: unbalanced quotes in '{arg}'"))?;
            let mut words = words
                .into_iter()
                .map(|w| String::from_utf8(w).map_err(|_| format!("command line: '{arg}' is not valid UTF-8")));
            let name = match words.next() {
                Some(name) => name?.to_ascii_lowercase(),
                None => return Err(format!("command line: invalid option '{arg}'")),
            };
            let values = words.collect::<Result<Vec<_>, _>>()?;
            last_has_value = !values.is_empty();
            if !last_has_value && name == "save" {
                let next_is_option = rest.get(i + 1).is_none_or(|n| n.starts_with("--"));
                if next_is_option {
                    pairs.push((name, vec![String::new()]));
                    last_has_value = true;
                    continue;
                }
            }
            pairs.push((name, values));
        } else {
            match pairs.last_mut() {
                Some((_, values)) => values.push(arg.clone()),
                None => return Err(format!("command line: unexpected argument '{arg}'")),
            }
            last_has_value = true;
        }
    }
    Ok((path, pairs))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strs(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn tmpdir(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("rill-config-test-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn load_text(text: &str) -> Result<Config, String> {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = tmpdir(&format!("load-{n}"));
        let path = dir.join("t.conf");
        std::fs::write(&path, text).unwrap();
        let r = Config::load(Some(&path), &[]).map_err(|e| e.replace(&path.display().to_string(), "t.conf"));
        let _ = std::fs::remove_dir_all(&dir);
        r
    }

    fn set(cfg: &mut Config, pairs: &[(&str, &str)]) -> Result<(), String> {
        let pairs: Vec<(Vec<u8>, Vec<u8>)> =
            pairs.iter().map(|(k, v)| (k.as_bytes().to_vec(), v.as_bytes().to_vec())).collect();
        cfg.set(&pairs)
    }

    fn get(cfg: &Config, patterns: &[&str]) -> Vec<(String, String)> {
        let p: Vec<&[u8]> = patterns.iter().map(|s| s.as_bytes()).collect();
        cfg.get(&p)
    }

    fn get1(cfg: &Config, name: &str) -> String {
        cfg.value(name).unwrap()
    }

    #[test]
    fn defaults() {
        let c = Config::default();
        assert_eq!(c.port, 6379);
        assert_eq!(c.bind, vec!["127.0.0.1"]);
        assert!(c.protected_mode);
        assert_eq!(c.requirepass, None);
        assert_eq!(c.maxclients, 10000);
        assert_eq!(c.timeout, 0);
        assert_eq!(c.tcp_keepalive, 300);
        assert_eq!(c.databases, 16);
        assert_eq!(c.shards, 0);
        assert_eq!(c.loglevel, "notice");
        assert_eq!(c.dir, ".");
        assert_eq!(c.proto_max_bulk_len, 512 * 1024 * 1024);
        assert_eq!(c.client_query_buffer_limit, 1024 * 1024 * 1024);
        assert_eq!(c.hz, 10);
        assert_eq!(c.save, "");
        assert_eq!(c.save_params(), vec![]);
        assert!(!c.appendonly);
        assert_eq!(c.dbfilename, "dump.rdb");
        assert_eq!(c.appendfilename, "appendonly.aof");
        assert_eq!(c.appendfsync, "everysec");
        assert_eq!(c.int("list-max-listpack-size"), Some(-2));
        assert_eq!(c.int("list-max-ziplist-size"), Some(-2));
        assert_eq!(c.int("set-max-intset-entries"), Some(512));
        assert_eq!(c.bytes("hash-max-listpack-value"), Some(64));
        assert_eq!(c.flag("latency-tracking"), Some(true));
        assert_eq!(c.flag("lazyfree-lazy-user-flush"), Some(false));
        assert_eq!(c.int("slowlog-log-slower-than"), Some(10000));
        assert_eq!(get1(&c, "maxmemory-policy"), "noeviction");
        assert_eq!(get1(&c, "client-output-buffer-limit"), DEFAULT_OUTPUT_BUFFER_LIMITS);
        assert_eq!(get1(&c, "notify-keyspace-events"), "");
        assert_eq!(c.value("nope"), None);
        assert_eq!(c.int("maxmemory-policy"), None);
    }

    #[test]
    fn every_default_renders_as_written() {
        let c = Config::default();
        for d in DIRECTIVES {
            assert_eq!(get1(&c, d.name), d.default, "{}", d.name);
            assert_eq!(d.name, d.name.to_ascii_lowercase());
        }
    }

    #[test]
    fn parses_a_file() {
        let c = load_text(
            "# comment\n\
             \n\
             \t  # indented comment\n\
             PORT 7000\n\
             bind 0.0.0.0 -::1\n\
             requirepass \"p a\\x41ss\\n\"\n\
             maxmemory 1gb\n\
             Hash-Max-Ziplist-Entries 99\n\
             appendonly YES\n\
             maxmemory-policy ALLKEYS-LRU\n\
             logfile 'it\\'s.log'\n\
             save 900 1\n\
             save 300 10\n\
             client-output-buffer-limit pubsub 32mb 8mb 60\n\
             notify-keyspace-events KEA\n\
             hz 1000\n\
             dbfilename \"\"\n",
        )
        .unwrap();
        assert_eq!(c.port, 7000);
        assert_eq!(c.bind, vec!["0.0.0.0", "-::1"]);
        assert_eq!(c.requirepass.as_deref(), Some("p aAss\n"));
        assert_eq!(c.bytes("maxmemory"), Some(1 << 30));
        assert_eq!(c.int("hash-max-listpack-entries"), Some(99));
        assert!(c.appendonly);
        assert_eq!(get1(&c, "maxmemory-policy"), "allkeys-lru");
        assert_eq!(get1(&c, "logfile"), "it's.log");
        assert_eq!(c.save, "900 1 300 10");
        assert_eq!(
            get1(&c, "client-output-buffer-limit"),
            "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60"
        );
        assert_eq!(get1(&c, "notify-keyspace-events"), "AKE");
        assert_eq!(c.hz, 500);
        assert_eq!(c.dbfilename, "");
    }

    #[test]
    fn file_errors_carry_file_and_line() {
        let cases = [
            ("port abc\n", "t.conf:1: port: argument couldn't be parsed into an integer"),
            ("\nfoo bar\n", "t.conf:2: unknown directive 'foo'"),
            ("port 1 2\n", "t.conf:1: port: wrong number of arguments"),
            ("port\n", "t.conf:1: port: wrong number of arguments"),
            ("port 6379 # comment\n", "t.conf:1: port: wrong number of arguments"),
            ("bind \"127.0.0.1\n", "t.conf:1: Unbalanced quotes in configuration line"),
            ("requirepass \"a\"b\n", "t.conf:1: Unbalanced quotes in configuration line"),
            ("appendonly maybe\n", "t.conf:1: appendonly: argument must be 'yes' or 'no'"),
            ("port 70000\n", "t.conf:1: port: argument must be between 0 and 65535 inclusive"),
            ("port 007\n", "t.conf:1: port: argument couldn't be parsed into an integer"),
            ("save 1\n", "t.conf:1: save: Invalid save parameters"),
            ("save 0 1\n", "t.conf:1: save: Invalid save parameters"),
            ("dbfilename a/b\n", "t.conf:1: dbfilename: dbfilename can't be a path, just a filename"),
            ("appendfilename a/b\n", "t.conf:1: appendfilename: appendfilename can't be a path, just a filename"),
            ("dir /nonexistent/rill\n", "t.conf:1: dir: No such file or directory"),
            ("notify-keyspace-events Q\n", "t.conf:1: notify-keyspace-events: Invalid event class character. Use 'Ag$lshzxeKEtmdn'."),
            ("maxmemory 1xb\n", "t.conf:1: maxmemory: argument must be a memory value"),
            ("maxmemory-policy x\n", "t.conf:1: maxmemory-policy: argument(s) must be one of the following: volatile-lru, volatile-lfu, volatile-random, volatile-ttl, allkeys-lru, allkeys-lfu, allkeys-random, noeviction"),
            ("client-output-buffer-limit normal 1 2\n", "t.conf:1: client-output-buffer-limit: Wrong number of arguments in buffer limit configuration."),
            ("daemonize yes\n", "t.conf:1: daemonize: rill does not daemonize; run it in the foreground under a supervisor"),
            ("daemonize maybe\n", "t.conf:1: daemonize: argument must be 'yes' or 'no'"),
            ("loglevel loud\n", "t.conf:1: loglevel: argument(s) must be one of the following: debug, verbose, notice, warning, nothing"),
        ];
        for (text, want) in cases {
            assert_eq!(load_text(text).unwrap_err(), want, "{text:?}");
        }
        let missing = Config::load(Some(Path::new("/nonexistent/rill.conf")), &[]).unwrap_err();
        assert!(missing.starts_with("/nonexistent/rill.conf: can't read config file"), "{missing}");
    }

    #[test]
    fn multi_arg_directives_accept_empty() {
        let c = load_text("bind\nsave\n").unwrap();
        assert!(c.bind.is_empty());
        assert_eq!(c.save, "");
        let c = load_text("save \"\"\n").unwrap();
        assert_eq!(c.save, "");
        let c = load_text("save \"100 2 50 3\"\n").unwrap();
        assert_eq!(c.save, "100 2 50 3");
    }

    #[test]
    fn memory_units() {
        assert_eq!(parse_memory("0"), Some(0));
        assert_eq!(parse_memory("100"), Some(100));
        assert_eq!(parse_memory("5B"), Some(5));
        assert_eq!(parse_memory("100k"), Some(100_000));
        assert_eq!(parse_memory("100kb"), Some(102_400));
        assert_eq!(parse_memory("1Kb"), Some(1024));
        assert_eq!(parse_memory("2m"), Some(2_000_000));
        assert_eq!(parse_memory("512mb"), Some(512 << 20));
        assert_eq!(parse_memory("3G"), Some(3_000_000_000));
        assert_eq!(parse_memory("1gb"), Some(1 << 30));
        assert_eq!(parse_memory("007"), Some(7));
        // Redis reads a missing number as 0.
        assert_eq!(parse_memory(""), Some(0));
        assert_eq!(parse_memory("kb"), Some(0));
        assert_eq!(parse_memory("-1"), None);
        assert_eq!(parse_memory("+5"), None);
        assert_eq!(parse_memory("1 gb"), None);
        assert_eq!(parse_memory("1tb"), None);
        assert_eq!(parse_memory("18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_memory("18446744073709551616"), None);
        assert_eq!(parse_memory("17179869184gb"), None);
        assert_eq!(human_bytes(1 << 30), "1gb");
        assert_eq!(human_bytes(3 << 20), "3mb");
        assert_eq!(human_bytes(2048), "2kb");
        assert_eq!(human_bytes(1000), "1000");
    }

    #[test]
    fn overrides_apply_after_file() {
        let dir = tmpdir("overrides");
        let path = dir.join("a.conf");
        std::fs::write(&path, "port 7000\nsave 3600 1\nsave 300 100\n").unwrap();
        let ov = vec![
            ("--port".to_string(), strs(&["7001"])),
            ("SAVE".to_string(), strs(&["60", "5"])),
            ("hash-max-ziplist-entries".to_string(), strs(&["7"])),
        ];
        let c = Config::load(Some(&path), &ov).unwrap();
        assert_eq!(c.port, 7001);
        // As redis-server 7.0: file points plus command-line points.
        assert_eq!(c.save, "3600 1 300 100 60 5");
        assert_eq!(c.int("hash-max-listpack-entries"), Some(7));
        let c = Config::load(Some(&path), &[("save".into(), strs(&[""]))]).unwrap();
        assert_eq!(c.save, "");
        let c = Config::load(None, &[("save".into(), strs(&["100 2 50 3"]))]).unwrap();
        assert_eq!(c.save, "100 2 50 3");
        let e = Config::load(None, &[("port".into(), strs(&["x"]))]).unwrap_err();
        assert_eq!(e, "command line: port: argument couldn't be parsed into an integer");
        let e = Config::load(None, &[("bogus".into(), strs(&["x"]))]).unwrap_err();
        assert_eq!(e, "command line: unknown directive 'bogus'");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn cli_overrides() {
        let p = |a: &[&str]| parse_cli_overrides(&strs(a));
        let (path, pairs) = p(&["/etc/rill.conf", "--port", "7000", "--save", "", "--bind", "a", "b"]).unwrap();
        assert_eq!(path, Some(PathBuf::from("/etc/rill.conf")));
        assert_eq!(
            pairs,
            vec![
                ("port".to_string(), strs(&["7000"])),
                ("save".to_string(), strs(&[""])),
                ("bind".to_string(), strs(&["a", "b"])),
            ]
        );
        let (path, pairs) = p(&["--save", "--Port", "1", "--requirepass", "--secret", "--save"]).unwrap();
        assert_eq!(path, None);
        assert_eq!(
            pairs,
            vec![
                ("save".to_string(), strs(&[""])),
                ("port".to_string(), strs(&["1"])),
                ("requirepass".to_string(), strs(&["--secret"])),
                ("save".to_string(), strs(&[""])),
            ]
        );
        let (_, pairs) = p(&["--port 7000", "--maxmemory", "1gb"]).unwrap();
        assert_eq!(pairs[0], ("port".to_string(), strs(&["7000"])));
        assert_eq!(pairs[1], ("maxmemory".to_string(), strs(&["1gb"])));
        assert!(p(&["a.conf", "stray"]).is_err());
        assert!(p(&["--"]).is_err());
        assert_eq!(p(&[]).unwrap(), (None, vec![]));
        // The pairs feed Config::load directly.
        let (_, pairs) = p(&["--port", "7002", "--appendonly", "yes"]).unwrap();
        let c = Config::load(None, &pairs).unwrap();
        assert_eq!((c.port, c.appendonly), (7002, true));
    }

    #[test]
    fn config_get_globs() {
        let c = Config { port: 7777, ..Config::default() };
        assert_eq!(get(&c, &["port"]), vec![("port".into(), "7777".into())]);
        // Exact names answer as spelled; duplicates (any case) only once.
        assert_eq!(get(&c, &["PORT", "port", "p?rt"]), vec![("PORT".into(), "7777".into())]);
        assert_eq!(get(&c, &["nosuch"]), vec![]);
        assert_eq!(get(&c, &[""]), vec![]);
        assert_eq!(get(&c, &["MAXMEMORY-P*"]), vec![("maxmemory-policy".into(), "noeviction".into())]);
        let names: Vec<String> = get(&c, &["hash-max-*"]).into_iter().map(|p| p.0).collect();
        assert_eq!(
            names,
            [
                "hash-max-listpack-entries",
                "hash-max-ziplist-entries",
                "hash-max-listpack-value",
                "hash-max-ziplist-value"
            ]
        );
        let names: Vec<String> = get(&c, &["*ziplist*"]).into_iter().map(|p| p.0).collect();
        assert_eq!(
            names,
            [
                "list-max-ziplist-size",
                "hash-max-ziplist-entries",
                "hash-max-ziplist-value",
                "zset-max-ziplist-entries",
                "zset-max-ziplist-value"
            ]
        );
        assert_eq!(get(&c, &["hash-max-ziplist-entries"]), vec![("hash-max-ziplist-entries".into(), "128".into())]);
        let all = get(&c, &["*"]);
        assert_eq!(all.len(), DIRECTIVES.len() + DIRECTIVES.iter().map(|d| d.aliases.len()).sum::<usize>());
        let as_map: AHashMap<_, _> = all.into_iter().collect();
        assert_eq!(as_map["save"], "");
        assert_eq!(as_map["bind"], "127.0.0.1");
        assert_eq!(as_map["appendonly"], "no");
        assert_eq!(as_map["proto-max-bulk-len"], "536870912");
        assert_eq!(as_map["requirepass"], "");
        assert_eq!(get(&c, &["port", "*port"]).len(), 1);
    }

    #[test]
    fn config_set_values() {
        let mut c = Config::default();
        set(&mut c, &[("maxmemory", "1Kb"), ("appendonly", "YES"), ("requirepass", "s3cret")]).unwrap();
        assert_eq!(get1(&c, "maxmemory"), "1024");
        assert!(c.appendonly);
        assert_eq!(c.requirepass.as_deref(), Some("s3cret"));
        set(&mut c, &[("requirepass", "")]).unwrap();
        assert_eq!(c.requirepass, None);
        set(&mut c, &[("hz", "1000")]).unwrap();
        assert_eq!(get1(&c, "hz"), "500");
        set(&mut c, &[("hz", "0")]).unwrap();
        assert_eq!(c.hz, 1);
        set(&mut c, &[("save", "100 0")]).unwrap();
        assert_eq!(c.save, "100 0");
        set(&mut c, &[("save", "")]).unwrap();
        assert_eq!(c.save, "");
        set(&mut c, &[("notify-keyspace-events", "KEA")]).unwrap();
        assert_eq!(get1(&c, "notify-keyspace-events"), "AKE");
        set(&mut c, &[("notify-keyspace-events", "Kg$lshzxetdnm")]).unwrap();
        assert_eq!(get1(&c, "notify-keyspace-events"), "AKm"); // as Redis
        assert_eq!(c.notify_keyspace_events(), "AnKm");
        set(&mut c, &[("notify-keyspace-events", "KEn")]).unwrap();
        assert_eq!(get1(&c, "notify-keyspace-events"), "nKE");
        set(&mut c, &[("notify-keyspace-events", "mK")]).unwrap();
        assert_eq!(get1(&c, "notify-keyspace-events"), "Km");
        set(&mut c, &[("notify-keyspace-events", "Elx")]).unwrap();
        assert_eq!(get1(&c, "notify-keyspace-events"), "lxE");
        set(&mut c, &[("client-output-buffer-limit", "pubsub 32mb 8mb 60 replica 1 2 3")]).unwrap();
        assert_eq!(get1(&c, "client-output-buffer-limit"), "normal 0 0 0 slave 1 2 3 pubsub 33554432 8388608 60");
        set(&mut c, &[("hash-max-ziplist-entries", "100"), ("maxmemory-policy", "ALLKEYS-LRU")]).unwrap();
        assert_eq!(get1(&c, "hash-max-listpack-entries"), "100");
        assert_eq!(get1(&c, "maxmemory-policy"), "allkeys-lru");
        set(&mut c, &[("stream-node-max-bytes", "4kb")]).unwrap();
        assert_eq!(get1(&c, "stream-node-max-bytes"), "4096");
        set(&mut c, &[("maxmemory", "")]).unwrap();
        assert_eq!(get1(&c, "maxmemory"), "0");
    }

    #[test]
    fn config_set_errors_match_redis() {
        let mut c = Config::default();
        let before = c.clone();
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[("foo", "bar")], "ERR Unknown option or number of arguments for CONFIG SET - 'foo'"),
            (&[("Foo", "1")], "ERR Unknown option or number of arguments for CONFIG SET - 'Foo'"),
            (&[("maxmemory", "abc")], "ERR CONFIG SET failed (possibly related to argument 'maxmemory') - argument must be a memory value"),
            (&[("timeout", "-1")], "ERR CONFIG SET failed (possibly related to argument 'timeout') - argument must be between 0 and 2147483647 inclusive"),
            (&[("timeout", "007")], "ERR CONFIG SET failed (possibly related to argument 'timeout') - argument couldn't be parsed into an integer"),
            (&[("TIMEOUT", "x")], "ERR CONFIG SET failed (possibly related to argument 'timeout') - argument couldn't be parsed into an integer"),
            (&[("maxclients", "0")], "ERR CONFIG SET failed (possibly related to argument 'maxclients') - argument must be between 1 and 4294967295 inclusive"),
            (&[("databases", "4")], "ERR CONFIG SET failed (possibly related to argument 'databases') - can't set immutable config"),
            (&[("DATABASES", "4")], "ERR CONFIG SET failed (possibly related to argument 'DATABASES') - can't set immutable config"),
            (&[("port", "7000")], "ERR CONFIG SET failed (possibly related to argument 'port') - can't set immutable config"),
            (&[("daemonize", "yes")], "ERR CONFIG SET failed (possibly related to argument 'daemonize') - can't set immutable config"),
            (&[("appendfilename", "x")], "ERR CONFIG SET failed (possibly related to argument 'appendfilename') - can't set immutable config"),
            (&[("dir", "/tmp")], "ERR CONFIG SET failed (possibly related to argument 'dir') - can't set protected config"),
            (&[("dbfilename", "a/b")], "ERR CONFIG SET failed (possibly related to argument 'dbfilename') - can't set protected config"),
            (&[("maxmemory", "1gb"), ("maxmemory", "2gb")], "ERR CONFIG SET failed (possibly related to argument 'maxmemory') - duplicate parameter"),
            (&[("MAXMEMORY", "1"), ("maxmemory", "2")], "ERR CONFIG SET failed (possibly related to argument 'maxmemory') - duplicate parameter"),
            (&[("hash-max-ziplist-entries", "1"), ("hash-max-listpack-entries", "2")], "ERR CONFIG SET failed (possibly related to argument 'hash-max-listpack-entries') - duplicate parameter"),
            (&[("hash-max-ziplist-entries", "abc")], "ERR CONFIG SET failed (possibly related to argument 'hash-max-ziplist-entries') - argument couldn't be parsed into an integer"),
            (&[("databases", "4"), ("foo", "bar")], "ERR CONFIG SET failed (possibly related to argument 'databases') - can't set immutable config"),
            (&[("foo", "bar"), ("databases", "4")], "ERR Unknown option or number of arguments for CONFIG SET - 'foo'"),
            (&[("appendonly", "maybe")], "ERR CONFIG SET failed (possibly related to argument 'appendonly') - argument must be 'yes' or 'no'"),
            (&[("maxmemory-policy", "foo")], "ERR CONFIG SET failed (possibly related to argument 'maxmemory-policy') - argument(s) must be one of the following: volatile-lru, volatile-lfu, volatile-random, volatile-ttl, allkeys-lru, allkeys-lfu, allkeys-random, noeviction"),
            (&[("appendfsync", "foo")], "ERR CONFIG SET failed (possibly related to argument 'appendfsync') - argument(s) must be one of the following: everysec, always, no"),
            (&[("save", "abc")], "ERR CONFIG SET failed (possibly related to argument 'save') - Invalid save parameters"),
            (&[("save", "1 2 3")], "ERR CONFIG SET failed (possibly related to argument 'save') - Invalid save parameters"),
            (&[("save", "0 1")], "ERR CONFIG SET failed (possibly related to argument 'save') - Invalid save parameters"),
            (&[("save", "1 -1")], "ERR CONFIG SET failed (possibly related to argument 'save') - Invalid save parameters"),
            (&[("proto-max-bulk-len", "1000")], "ERR CONFIG SET failed (possibly related to argument 'proto-max-bulk-len') - argument must be between 1048576 and 9223372036854775807 inclusive"),
            (&[("client-query-buffer-limit", "1k")], "ERR CONFIG SET failed (possibly related to argument 'client-query-buffer-limit') - argument must be between 1048576 and 9223372036854775807 inclusive"),
            (&[("list-max-listpack-size", "-2147483649")], "ERR CONFIG SET failed (possibly related to argument 'list-max-listpack-size') - argument must be between -2147483648 and 2147483647 inclusive"),
            (&[("slowlog-log-slower-than", "-2")], "ERR CONFIG SET failed (possibly related to argument 'slowlog-log-slower-than') - argument must be between -1 and 9223372036854775807 inclusive"),
            (&[("active-expire-effort", "11")], "ERR CONFIG SET failed (possibly related to argument 'active-expire-effort') - argument must be between 1 and 10 inclusive"),
            (&[("tcp-keepalive", "1kb")], "ERR CONFIG SET failed (possibly related to argument 'tcp-keepalive') - argument couldn't be parsed into an integer"),
            (&[("notify-keyspace-events", "Q")], "ERR CONFIG SET failed (possibly related to argument 'notify-keyspace-events') - Invalid event class character. Use 'Ag$lshzxeKEtmdn'."),
            (&[("client-output-buffer-limit", "normal 1 2")], "ERR CONFIG SET failed (possibly related to argument 'client-output-buffer-limit') - Wrong number of arguments in buffer limit configuration."),
            (&[("client-output-buffer-limit", "master 1 2 3")], "ERR CONFIG SET failed (possibly related to argument 'client-output-buffer-limit') - Invalid client class specified in buffer limit configuration."),
            (&[("client-output-buffer-limit", "normal 1x 2 3")], "ERR CONFIG SET failed (possibly related to argument 'client-output-buffer-limit') - Error in hard, soft or soft_seconds setting in buffer limit configuration."),
            (&[("client-output-buffer-limit", "normal 1 2 -3")], "ERR CONFIG SET failed (possibly related to argument 'client-output-buffer-limit') - Error in hard, soft or soft_seconds setting in buffer limit configuration."),
            // All or nothing: the valid first pair is not applied.
            (&[("maxmemory", "5"), ("timeout", "x")], "ERR CONFIG SET failed (possibly related to argument 'timeout') - argument couldn't be parsed into an integer"),
        ];
        for (pairs, want) in cases {
            assert_eq!(set(&mut c, pairs).unwrap_err(), *want, "{pairs:?}");
            assert_eq!(c, before, "{pairs:?} changed the config");
        }
    }

    #[test]
    fn protected_configs() {
        let dir = tmpdir("protected");
        let d = dir.display().to_string();
        let mut c = Config::load(None, &[("enable-protected-configs".into(), strs(&["yes"]))]).unwrap();
        set(&mut c, &[("dir", &d), ("dbfilename", "x.rdb")]).unwrap();
        assert_eq!((c.dir.as_str(), c.dbfilename.as_str()), (d.as_str(), "x.rdb"));
        assert_eq!(
            set(&mut c, &[("dbfilename", "a/b")]).unwrap_err(),
            "ERR CONFIG SET failed (possibly related to argument 'dbfilename') - dbfilename can't be a path, just a filename"
        );
        assert_eq!(
            set(&mut c, &[("dir", "/nonexistent/rill")]).unwrap_err(),
            "ERR CONFIG SET failed (possibly related to argument 'dir') - No such file or directory"
        );
        let mut c = Config::load(None, &[("enable-protected-configs".into(), strs(&["local"]))]).unwrap();
        let pairs = vec![(b"dbfilename".to_vec(), b"y.rdb".to_vec())];
        assert!(c.set_from_client(&pairs, false).is_err());
        c.set_from_client(&pairs, true).unwrap();
        assert_eq!(c.dbfilename, "y.rdb");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn rewrite_keeps_layout() {
        let dir = tmpdir("rewrite");
        let path = dir.join("r.conf");
        let original = "# Top comment\n\
                        port 7000\n\
                        \n\
                        # memory\n\
                        maxmemory   100mb   \n\
                        save 3600 1\n\
                        save 300 100\n\
                        hash-max-ziplist-entries 128\n\
                        appendonly no\n";
        std::fs::write(&path, original).unwrap();
        let mut c = Config::load(Some(&path), &[("port".into(), strs(&["7001"]))]).unwrap();
        set(
            &mut c,
            &[
                ("save", "60 5"),
                ("hash-max-ziplist-entries", "256"),
                ("requirepass", "two words"),
                ("client-query-buffer-limit", "2gb"),
                ("slowlog-max-len", "1024"),
            ],
        )
        .unwrap();
        c.rewrite(&path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            text,
            "# Top comment\n\
             port 7001\n\
             \n\
             # memory\n\
             maxmemory   100mb   \n\
             save 60 5\n\
             hash-max-ziplist-entries 256\n\
             appendonly no\n\
             # Generated by CONFIG REWRITE\n\
             requirepass \"two words\"\n\
             client-query-buffer-limit 2gb\n\
             slowlog-max-len 1024\n"
        );
        // It reads back to the same configuration.
        let back = Config::load(Some(&path), &[]).unwrap();
        assert_eq!(back, c);
        // A second rewrite with no change is a no-op, and the marker is not repeated.
        c.rewrite(&path).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
        set(
            &mut c,
            &[
                ("save", ""),
                ("timeout", "5"),
                ("client-output-buffer-limit", "pubsub 64mb 16mb 90"),
                ("notify-keyspace-events", "AKn"),
            ],
        )
        .unwrap();
        c.rewrite(&path).unwrap();
        let text2 = std::fs::read_to_string(&path).unwrap();
        assert!(
            text2.contains(
                "client-output-buffer-limit normal 0 0 0\n\
             client-output-buffer-limit slave 256mb 64mb 60\n\
             client-output-buffer-limit pubsub 64mb 16mb 90\n"
            ),
            "{text2}"
        );
        // The stored value keeps `n`, which CONFIG GET hides after `A`.
        assert!(text2.contains("notify-keyspace-events AnK\n"), "{text2}");
        assert!(text2.contains("\nsave \"\"\n"), "{text2}");
        assert!(text2.contains("slowlog-max-len 1024\ntimeout 5\n"), "{text2}");
        assert_eq!(text2.matches("# Generated by CONFIG REWRITE").count(), 1);
        assert_eq!(Config::load(Some(&path), &[]).unwrap(), c);
        // Rewriting to a file that does not exist yet writes only non-defaults.
        let fresh = dir.join("new.conf");
        Config::default().rewrite(&fresh).unwrap();
        assert_eq!(std::fs::read_to_string(&fresh).unwrap(), "");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn quoting_round_trips() {
        for s in ["plain", "", "two words", "q\"uote", "back\\slash", "#hash", "tab\there", "it's", "\u{e9}t\u{e9}"] {
            let line = format!("requirepass {}", quote(s));
            let args = split_args(line.as_bytes()).unwrap();
            assert_eq!(args.len(), 2, "{line}");
            assert_eq!(args[1], s.as_bytes(), "{line}");
        }
    }

    #[test]
    fn shipped_conf_loads_and_is_all_defaults() {
        let path = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/conf/rill.conf"));
        let c = Config::load(Some(path), &[]).unwrap();
        assert_eq!(c, Config::default());
        // Every directive is documented in the shipped file.
        let text = std::fs::read_to_string(path).unwrap();
        let mut named = std::collections::HashSet::new();
        for line in text.lines() {
            if let Ok(Some(args)) = split_line(line) {
                named.insert(args[0].to_ascii_lowercase());
            }
        }
        for d in DIRECTIVES {
            assert!(named.contains(d.name), "conf/rill.conf does not set {}", d.name);
        }
    }
}
