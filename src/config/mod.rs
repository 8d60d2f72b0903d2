//! Server configuration: redis.conf syntax, command-line overrides, and the `CONFIG GET` / `CONFIG SET` /
//! `CONFIG REWRITE` back end.
//!
//! Clients, tools and test harnesses written for Redis read and write configuration through `CONFIG`, and
//! operators reuse their redis.conf habits, so this module follows Redis 7 closely: the same file syntax and
//! quoting rules, the same value syntaxes (`yes`/`no`, `1gb`, ...), the same error texts, the same aliases
//! (`hash-max-ziplist-entries`, ...).
//!
//! Every directive is declared once, as one row of the table in `directives.rs`: the typed [`Config`] field that
//! holds it, its [`Kind`] and bounds, default, mutability, protection, extra check, and the [`Live`] atomic that
//! mirrors it where the data path reads it. Everything else is generic over that table:
//!
//! - `value.rs`: the value syntaxes (parse, validate, render) and how a value enters and leaves a typed field;
//! - `file.rs`: loading a config file and the command line;
//! - `rewrite.rs`: `CONFIG REWRITE`;
//! - `live.rs`: the atomics the data path reads, refreshed from the table after `CONFIG SET`;
//! - here: the `CONFIG GET` / `CONFIG SET` rules and typed reads of any directive by name
//!   ([`Config::value`], [`Config::int`], [`Config::flag`], [`Config::bytes`]).

mod directives;
mod file;
mod live;
mod rewrite;
mod value;

pub use directives::{lookup, Check, Config, Directive, LiveSlot, DEFAULT_SAVE, DIRECTIVES};
pub use file::{parse_cli_overrides, Overrides};
pub use live::Live;
pub use value::{parse_memory, Kind, Setting, Value, DEFAULT_OUTPUT_BUFFER_LIMITS};

use crate::glob::glob_match;
use directives::lookup_index;

impl Default for Config {
    /// The built-in defaults: every directive's declared default, parsed as a config line would be.
    fn default() -> Self {
        let mut cfg = Config::blank();
        for (idx, dir) in DIRECTIVES.iter().enumerate() {
            let current = cfg.render(idx);
            let value = dir
                .parse(&dir.default_args(), &current)
                .unwrap_or_else(|e| panic!("bad built-in default for {}: {e}", dir.name));
            cfg.store(idx, value);
        }
        cfg
    }
}

impl Config {
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
                for name in dir.names() {
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
            let parsed = dir.parse(&args, &current).map_err(|e| failed(&lname, &e))?;
            next.store(idx, parsed);
        }
        *self = next;
        Ok(())
    }

    fn protected_allowed(&self, client_is_local: bool) -> bool {
        match self.enable_protected_configs.as_str() {
            "yes" => true,
            "local" => client_is_local,
            _ => false,
        }
    }

    /// The snapshot points of `save` as `(seconds, changes)` pairs.
    pub fn save_params(&self) -> Vec<(u64, u64)> {
        let nums: Vec<u64> = self
            .save
            .split_ascii_whitespace()
            .filter_map(|w| crate::text::parse_i64(w.as_bytes()).and_then(|n| u64::try_from(n).ok()))
            .collect();
        nums.chunks_exact(2).map(|p| (p[0], p[1])).collect()
    }

    /// The enabled keyspace-notification classes as a canonical string of Redis's class characters (`A` = all
    /// type classes, then any of `n`, `K`, `E`, `m`); empty when notifications are off. Unlike `CONFIG GET`,
    /// which mimics Redis in hiding `n` after `A`, this is complete.
    pub fn notify_keyspace_events(&self) -> String {
        self.notify_keyspace_events.clone()
    }

    /// Any directive's value (canonical name or alias, any case), rendered as `CONFIG GET` shows it; `None` for an
    /// unknown name.
    pub fn value(&self, name: &str) -> Option<String> {
        lookup_index(name).map(|idx| self.render(idx))
    }

    /// An integer directive's value.
    pub fn int(&self, name: &str) -> Option<i64> {
        match (lookup(name)?.get)(self) {
            Value::Int(n) => Some(n),
            _ => None,
        }
    }

    /// A yes/no directive's value.
    pub fn flag(&self, name: &str) -> Option<bool> {
        match (lookup(name)?.get)(self) {
            Value::Bool(b) => Some(b),
            _ => None,
        }
    }

    /// A memory-size directive's value in bytes.
    pub fn bytes(&self, name: &str) -> Option<u64> {
        match (lookup(name)?.get)(self) {
            Value::Bytes(n) => Some(n),
            _ => None,
        }
    }

    /// Directive `idx` as `CONFIG GET` shows it.
    fn render(&self, idx: usize) -> String {
        let dir = &DIRECTIVES[idx];
        dir.kind.show(&(dir.get)(self))
    }

    /// Directive `idx` as stored, for `CONFIG REWRITE`: the `CONFIG GET` rendering except where that rendering
    /// loses information (keyspace events).
    fn stored(&self, idx: usize) -> String {
        (DIRECTIVES[idx].get)(self).render()
    }

    /// Stores a value parsed by [`Directive::parse`] into directive `idx`'s field.
    fn store(&mut self, idx: usize, value: Value) {
        (DIRECTIVES[idx].set)(self, value)
    }
}

/// Helpers for the unit tests of this module and its parts.
#[cfg(test)]
mod test_util {
    use super::Config;
    use std::path::PathBuf;

    pub fn strs(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    pub fn tmpdir(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("rill-config-test-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    pub fn load_text(text: &str) -> Result<Config, String> {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = tmpdir(&format!("load-{n}"));
        let path = dir.join("t.conf");
        std::fs::write(&path, text).unwrap();
        let r = Config::load(Some(&path), &[]).map_err(|e| e.replace(&path.display().to_string(), "t.conf"));
        let _ = std::fs::remove_dir_all(&dir);
        r
    }

    pub fn set(cfg: &mut Config, pairs: &[(&str, &str)]) -> Result<(), String> {
        let pairs: Vec<(Vec<u8>, Vec<u8>)> =
            pairs.iter().map(|(k, v)| (k.as_bytes().to_vec(), v.as_bytes().to_vec())).collect();
        cfg.set(&pairs)
    }

    pub fn get(cfg: &Config, patterns: &[&str]) -> Vec<(String, String)> {
        let p: Vec<&[u8]> = patterns.iter().map(|s| s.as_bytes()).collect();
        cfg.get(&p)
    }

    pub fn get1(cfg: &Config, name: &str) -> String {
        cfg.value(name).unwrap()
    }
}

#[cfg(test)]
mod tests {
    use super::test_util::*;
    use super::*;
    use ahash::AHashMap;

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
}
