//! Server commands: COMMAND (read from the metadata table), INFO, CONFIG, DEBUG, SHUTDOWN, TIME, LASTSAVE,
//! MEMORY USAGE, and the whole-keyspace commands DBSIZE, FLUSHDB, FLUSHALL, SWAPDB that visit every shard.

use super::args::{self, is};
use super::spec::*;
use super::table::{self, CommandMeta, KeySpec};
use super::{registry, Ctx, Handler, LocalFuture, Session, Stats};
use crate::proto::{errors, Out};
use crate::shared::Shutdown;
use bytes::Bytes;
use std::fmt::Write as _;
use std::sync::atomic::Ordering;

/// This family's commands, one line each (`spec` describes the fields), and their documentation text.
#[rustfmt::skip]
pub const FAMILY: Family = Family {
    docs: include_str!("docs/server.txt"),
    specs: &[
        spec("command", -1, LOADING | STALE, NO_KEYS, Handler::Conn(command)).acl(acl::CONNECTION),
        listed("command|count", 2, LOADING | STALE, NO_KEYS).acl(acl::CONNECTION),
        listed("command|list", -2, LOADING | STALE, NO_KEYS).acl(acl::CONNECTION),
        listed("command|info", -2, LOADING | STALE, NO_KEYS).acl(acl::CONNECTION),
        listed("command|docs", -2, LOADING | STALE, NO_KEYS).acl(acl::CONNECTION),
        listed("command|getkeys", -4, LOADING | STALE, NO_KEYS).acl(acl::CONNECTION),
        listed("command|help", 2, LOADING | STALE, NO_KEYS).acl(acl::CONNECTION),
        spec("info", -1, LOADING | STALE, NO_KEYS, Handler::Conn(info)).acl(acl::DANGEROUS),
        spec("time", 1, LOADING | STALE | FAST, NO_KEYS, Handler::Conn(time)),
        listed("config", -2, NO_FLAGS, NO_KEYS),
        spec("config|get", -3, ADMIN | NOSCRIPT | LOADING | STALE, NO_KEYS, Handler::Conn(config_get)),
        spec("config|set", -4, ADMIN | NOSCRIPT | LOADING | STALE, NO_KEYS, Handler::Conn(config_set)),
        spec("config|resetstat", 2, ADMIN | NOSCRIPT | LOADING | STALE, NO_KEYS, Handler::Conn(config_resetstat)),
        spec("config|rewrite", 2, ADMIN | NOSCRIPT | LOADING | STALE, NO_KEYS, Handler::Conn(config_rewrite)),
        spec("config|help", 2, LOADING | STALE, NO_KEYS, Handler::Conn(config_help)),
        spec("debug", -2, ADMIN | NOSCRIPT | LOADING | STALE, NO_KEYS, Handler::Conn(debug)),
        spec("shutdown", -1, ADMIN | NOSCRIPT | LOADING | STALE | NO_MULTI | ALLOW_BUSY, NO_KEYS, Handler::Conn(shutdown)),
        spec("lastsave", 1, LOADING | STALE | FAST, NO_KEYS, Handler::Conn(lastsave)).acl(acl::ADMIN | acl::DANGEROUS),
        listed("memory", -2, NO_FLAGS, NO_KEYS),
        spec("memory|usage", -3, READONLY, key(2), Handler::Shard(memory_usage)),
        spec("memory|help", 2, LOADING | STALE, NO_KEYS, Handler::Conn(memory_help)),
        spec("dbsize", 1, READONLY | FAST, NO_KEYS, Handler::Conn(dbsize)).acl(acl::KEYSPACE),
        spec("flushdb", -1, WRITE, NO_KEYS, Handler::Conn(flushdb)).acl(acl::KEYSPACE | acl::DANGEROUS),
        spec("flushall", -1, WRITE, NO_KEYS, Handler::Conn(flushall)).acl(acl::KEYSPACE | acl::DANGEROUS),
        spec("swapdb", 3, WRITE | FAST, NO_KEYS, Handler::Conn(swapdb)).acl(acl::KEYSPACE | acl::DANGEROUS),
        listed("function", -2, NO_FLAGS, NO_KEYS),
        spec("function|flush", -2, WRITE | NOSCRIPT, NO_KEYS, Handler::Conn(function_flush)),
    ],
};

/// Commands COMMAND shows: those with code, and containers with at least one subcommand that has code.
fn visible() -> impl Iterator<Item = &'static CommandMeta> {
    table::commands().iter().filter(|m| is_visible(m))
}

fn is_visible(m: &CommandMeta) -> bool {
    registry().implemented(m.name) || m.subcommands.iter().any(|s| registry().implemented(s.name))
}

/// The subcommands of `m` that have code: each registered on its own, or all of them when the container is
/// registered as a whole (CLIENT parses its subcommands itself).
fn visible_subs(m: &'static CommandMeta) -> impl Iterator<Item = &'static CommandMeta> {
    let whole = registry().implemented(m.name);
    m.subcommands.iter().filter(move |s| whole || registry().implemented(s.name))
}

/// Every visible command followed by its visible subcommands, as COMMAND LIST names them.
fn visible_with_subs() -> impl Iterator<Item = &'static CommandMeta> {
    visible().flat_map(|m| std::iter::once(m).chain(visible_subs(m)))
}

/// Key-spec flags, derived from the command's flags (the table does not record Redis's per-key flags).
fn key_flags(m: &CommandMeta) -> &'static [&'static str] {
    if m.has_flag(WRITE) {
        &["RW", "update"]
    } else if m.has_flag(READONLY) {
        &["RO", "access"]
    } else {
        &[]
    }
}

/// One COMMAND INFO entry, in Redis 7's ten-field shape.
fn write_info(o: &mut Out, m: &'static CommandMeta) {
    o.array(10);
    o.bulk(m.name.as_bytes());
    o.int(m.arity as i64);
    let flags: Vec<&str> = m.flag_names().collect();
    o.set(flags.len());
    for f in flags {
        o.simple(f);
    }
    let (first, last, step) = m.legacy_range();
    o.int(first as i64);
    o.int(last as i64);
    o.int(step as i64);
    let acl: Vec<&str> = acl::names(m.acl).collect();
    o.set(acl.len());
    for c in acl {
        o.simple(c);
    }
    o.set(m.doc.tips.len());
    for t in &m.doc.tips {
        o.bulk(t.as_bytes());
    }
    match m.keys {
        KeySpec::Range { first, last, step } => {
            o.array(1);
            write_key_spec(o, key_flags(m), first, last, step);
        }
        _ => o.array(0),
    }
    let subs: Vec<&CommandMeta> = visible_subs(m).collect();
    o.array(subs.len());
    for s in subs {
        write_info(o, s);
    }
}

/// A key specification in Redis 7's form for the simple first/last/step case.
fn write_key_spec(o: &mut Out, flags: &[&str], first: i32, last: i32, step: i32) {
    o.map(3);
    o.bulk(b"flags");
    o.set(flags.len());
    for f in flags {
        o.simple(f);
    }
    o.bulk(b"begin_search");
    o.map(2);
    o.bulk(b"type");
    o.bulk(b"index");
    o.bulk(b"spec");
    o.map(1);
    o.bulk(b"index");
    o.int(first as i64);
    o.bulk(b"find_keys");
    o.map(2);
    o.bulk(b"type");
    o.bulk(b"range");
    o.bulk(b"spec");
    o.map(3);
    o.bulk(b"lastkey");
    o.int(if last < 0 { last as i64 } else { (last - first) as i64 });
    o.bulk(b"keystep");
    o.int(step as i64);
    o.bulk(b"limit");
    o.int(0);
}

fn write_docs(o: &mut Out, m: &'static CommandMeta) {
    let subs: Vec<&CommandMeta> = visible_subs(m).collect();
    o.map(if subs.is_empty() { 4 } else { 5 });
    o.bulk(b"summary");
    o.bulk(m.doc.summary.as_bytes());
    o.bulk(b"since");
    o.bulk(m.doc.since.as_bytes());
    o.bulk(b"group");
    o.bulk(m.doc.group.as_bytes());
    o.bulk(b"complexity");
    o.bulk(m.doc.complexity.as_bytes());
    if !subs.is_empty() {
        o.bulk(b"subcommands");
        o.map(subs.len());
        for s in subs {
            o.bulk(s.name.as_bytes());
            write_docs(o, s);
        }
    }
}

const COMMAND_HELP: &[&str] = &[
    "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "(no subcommand)",
    "    Describe every command.",
    "COUNT",
    "    How many commands there are.",
    "LIST [FILTERBY (MODULE <module-name>|ACLCAT <category>|PATTERN <pattern>)]",
    "    The names of the commands, optionally filtered.",
    "INFO [<command-name> ...]",
    "    Describe the named commands, or all of them.",
    "DOCS [<command-name> ...]",
    "    Documentation of the named commands, or of all of them.",
    "GETKEYS <full-command>",
    "    The key arguments of a full command line.",
    "GETKEYSANDFLAGS <full-command>",
    "    The key arguments of a full command line, with their flags.",
    "HELP",
    "    This text.",
];

/// A visible command by name, `parent|sub` included, as COMMAND INFO and DOCS accept it.
fn find_visible(name: &[u8]) -> Option<&'static CommandMeta> {
    let meta = match name.iter().position(|&c| c == b'|') {
        Some(bar) => {
            let parent = table::lookup(&name[..bar]).filter(|m| is_visible(m))?;
            visible_subs(parent).find(|m| m.short_name().as_bytes().eq_ignore_ascii_case(&name[bar + 1..]))?
        }
        None => table::lookup(name).filter(|m| is_visible(m))?,
    };
    Some(meta)
}

/// The command a full command line names, as Redis resolves it for GETKEYS: a container needs a known
/// subcommand.
fn command_of_line(args: &[Bytes]) -> Option<&'static CommandMeta> {
    let meta = table::lookup(&args[0]).filter(|m| is_visible(m))?;
    match args.get(1) {
        Some(sub) if !meta.subcommands.is_empty() => table::lookup_sub(meta, sub),
        _ => Some(meta),
    }
}

fn command(s: &mut Session, args: Vec<Bytes>) -> LocalFuture<'_> {
    Box::pin(async move {
        if args.len() == 1 {
            let mut o = s.reply();
            let all: Vec<_> = visible().collect();
            o.array(all.len());
            for m in all {
                write_info(&mut o, m);
            }
            return;
        }
        // GETKEYSANDFLAGS is missing from the metadata table; Redis gives it GETKEYS's arity.
        let and_flags = is(&args[1], "getkeysandflags");
        let sub = if and_flags {
            if args.len() < 4 {
                return s.reply().error(&errors::wrong_arity("command|getkeysandflags"));
            }
            "getkeys"
        } else {
            match super::client::subcommand(&args) {
                Ok(meta) => meta.short_name(),
                Err(e) => return s.reply().error(&e),
            }
        };
        let mut o = s.reply();
        match sub {
            "count" => o.int(visible().count() as i64),
            "info" => {
                if args.len() == 2 {
                    let all: Vec<_> = visible().collect();
                    o.array(all.len());
                    for m in all {
                        write_info(&mut o, m);
                    }
                } else {
                    o.array(args.len() - 2);
                    for name in &args[2..] {
                        match find_visible(name) {
                            Some(m) => write_info(&mut o, m),
                            None => o.null(),
                        }
                    }
                }
            }
            "docs" => {
                let metas: Vec<&CommandMeta> = if args.len() == 2 {
                    visible().collect()
                } else {
                    args[2..].iter().filter_map(|n| find_visible(n)).collect()
                };
                o.map(metas.len());
                for m in metas {
                    o.bulk(m.name.as_bytes());
                    write_docs(&mut o, m);
                }
            }
            "list" => {
                let names: Vec<&str> = match args.len() {
                    2 => visible_with_subs().map(|m| m.name).collect(),
                    5 if is(&args[2], "FILTERBY") => {
                        let v = &args[4];
                        if is(&args[3], "PATTERN") {
                            visible_with_subs()
                                .map(|m| m.name)
                                .filter(|n| crate::glob::glob_match(v, n.as_bytes(), true))
                                .collect()
                        } else if is(&args[3], "ACLCAT") {
                            let cat = format!("@{}", String::from_utf8_lossy(v).to_ascii_lowercase());
                            let cat = acl::named(&cat).unwrap_or(0);
                            visible_with_subs().filter(|m| m.acl & cat != 0).map(|m| m.name).collect()
                        } else if is(&args[3], "MODULE") {
                            Vec::new()
                        } else {
                            return o.error(errors::SYNTAX);
                        }
                    }
                    _ => return o.error(errors::SYNTAX),
                };
                o.array(names.len());
                for n in names {
                    o.bulk(n.as_bytes());
                }
            }
            "getkeys" => {
                let line = &args[2..];
                let Some(meta) = command_of_line(line) else {
                    return o.error(table::ERR_UNKNOWN_COMMAND);
                };
                match table::key_indexes(meta, line) {
                    Err(e) => o.error(e),
                    Ok(idx) => {
                        o.array(idx.len());
                        for i in idx {
                            if and_flags {
                                o.array(2);
                                o.bulk(&line[i]);
                                let flags = key_flags(meta);
                                o.set(flags.len());
                                for f in flags {
                                    o.simple(f);
                                }
                            } else {
                                o.bulk(&line[i]);
                            }
                        }
                    }
                }
            }
            _ => super::client::help(&mut o, COMMAND_HELP),
        }
    })
}

/// What INFO needs from one shard.
#[derive(Default)]
struct ShardReport {
    keys: Vec<(usize, usize)>,
    stats: Stats,
    expired: u64,
    clients: usize,
    blocked: usize,
    memory: usize,
}

fn report(shard: &mut crate::shard::Shard) -> ShardReport {
    ShardReport {
        keys: shard.dbs.iter().map(|d| (d.len(), d.expires_len())).collect(),
        stats: shard.stats.clone(),
        expired: shard.dbs.iter().map(|d| d.expired_count).sum(),
        clients: shard.clients.len(),
        blocked: shard.clients.values().filter(|c| c.borrow().blocked).count(),
        memory: shard.dbs.iter().map(|d| d.approx_memory()).sum(),
    }
}

/// Process figures from /proc: resident memory in bytes, user and system CPU seconds.
fn proc_figures() -> (u64, f64, f64) {
    let rss = std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1).and_then(|p| p.parse::<u64>().ok()))
        .map_or(0, |pages| pages * 4096);
    let (user, sys) = std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            let rest = &s[s.rfind(')')? + 2..];
            let f: Vec<&str> = rest.split_whitespace().collect();
            Some((f.get(11)?.parse::<f64>().ok()? / 100.0, f.get(12)?.parse::<f64>().ok()? / 100.0))
        })
        .unwrap_or((0.0, 0.0));
    (rss, user, sys)
}

fn human_bytes(n: u64) -> String {
    let f = n as f64;
    if f >= 1024.0 * 1024.0 * 1024.0 {
        format!("{:.2}G", f / (1024.0 * 1024.0 * 1024.0))
    } else if f >= 1024.0 * 1024.0 {
        format!("{:.2}M", f / (1024.0 * 1024.0))
    } else if f >= 1024.0 {
        format!("{:.2}K", f / 1024.0)
    } else {
        format!("{n}B")
    }
}

const DEFAULT_SECTIONS: &[&str] =
    &["server", "clients", "memory", "persistence", "stats", "replication", "cpu", "errorstats", "cluster", "keyspace"];

fn info(s: &mut Session, args: Vec<Bytes>) -> LocalFuture<'_> {
    Box::pin(async move {
        let mut wanted: Vec<String> =
            args[1..].iter().map(|a| String::from_utf8_lossy(a).to_ascii_lowercase()).collect();
        if wanted.is_empty() || wanted.iter().any(|w| w == "default") {
            wanted.extend(DEFAULT_SECTIONS.iter().map(|s| s.to_string()));
        }
        if wanted.iter().any(|w| w == "all" || w == "everything") {
            wanted.extend(DEFAULT_SECTIONS.iter().map(|s| s.to_string()));
            wanted.push("commandstats".into());
            wanted.push("latencystats".into());
        }
        let reports = s.shards.on_all_shards(report).await;
        let mut stats = Stats::default();
        for r in &reports {
            stats.merge(&r.stats);
        }
        let text = render_info(s, &wanted, &reports, &stats);
        s.reply().verbatim(text.as_bytes())
    })
}

fn render_info(s: &Session, wanted: &[String], reports: &[ShardReport], stats: &Stats) -> String {
    let sh = &s.shared;
    let want = |name: &str| wanted.iter().any(|w| w == name);
    let mut t = String::new();
    let uptime = sh.started.elapsed().as_secs();
    let (rss, user, sys) = proc_figures();
    let mut first = true;
    let mut section = |t: &mut String, title: &str| {
        if !first {
            t.push_str("\r\n");
        }
        first = false;
        let _ = write!(t, "# {title}\r\n");
    };
    if want("server") {
        section(&mut t, "Server");
        let _ = write!(
            t,
            "redis_version:{}\r\nrill_version:{}\r\nredis_git_sha1:00000000\r\nredis_git_dirty:0\r\nredis_build_id:0\r\n\
             redis_mode:standalone\r\nos:{} {}\r\narch_bits:64\r\nmonotonic_clock:POSIX clock_gettime\r\n\
             multiplexing_api:epoll\r\ngcc_version:0.0.0\r\nprocess_id:{}\r\nprocess_supervised:no\r\nrun_id:{}\r\n\
             tcp_port:{}\r\nserver_time_usec:{}\r\nuptime_in_seconds:{}\r\nuptime_in_days:{}\r\nhz:{}\r\n\
             configured_hz:{}\r\nlru_clock:{}\r\nexecutable:{}\r\nconfig_file:{}\r\nio_threads_active:0\r\n\
             shards:{}\r\n",
            super::client::REDIS_VERSION,
            env!("CARGO_PKG_VERSION"),
            std::env::consts::OS,
            std::env::consts::ARCH,
            std::process::id(),
            sh.run_id,
            sh.port,
            crate::db::now_ms() * 1000,
            uptime,
            uptime / 86400,
            sh.live.hz.load(Ordering::Relaxed),
            sh.live.hz.load(Ordering::Relaxed),
            (crate::db::now_ms() / 1000) & ((1 << 24) - 1),
            sh.executable,
            sh.config_file.as_ref().map(|p| p.display().to_string()).unwrap_or_default(),
            sh.nshards(),
        );
    }
    if want("clients") {
        section(&mut t, "Clients");
        let clients: usize = reports.iter().map(|r| r.clients).sum();
        let blocked: usize = reports.iter().map(|r| r.blocked).sum();
        let _ = write!(
            t,
            "connected_clients:{clients}\r\ncluster_connections:0\r\nmaxclients:{}\r\nclient_recent_max_input_buffer:0\r\n\
             client_recent_max_output_buffer:0\r\nblocked_clients:{blocked}\r\ntracking_clients:0\r\npubsub_clients:0\r\n\
             watching_clients:0\r\nclients_in_timeout_table:0\r\ntotal_watched_keys:0\r\ntotal_blocking_keys:0\r\n\
             total_blocking_keys_on_nokey:0\r\n",
            sh.live.maxclients.load(Ordering::Relaxed)
        );
    }
    if want("memory") {
        section(&mut t, "Memory");
        // rill has no allocator hook: used_memory is the resident set, and the dataset figure its own estimate.
        let dataset: usize = reports.iter().map(|r| r.memory).sum();
        let _ = write!(
            t,
            "used_memory:{rss}\r\nused_memory_human:{}\r\nused_memory_rss:{rss}\r\nused_memory_rss_human:{}\r\n\
             used_memory_peak:{rss}\r\nused_memory_peak_human:{}\r\nused_memory_dataset:{dataset}\r\n\
             maxmemory:0\r\nmaxmemory_human:0B\r\nmaxmemory_policy:noeviction\r\nmem_fragmentation_ratio:1.00\r\n\
             mem_allocator:libc\r\nlazyfree_pending_objects:0\r\n",
            human_bytes(rss),
            human_bytes(rss),
            human_bytes(rss),
        );
    }
    if want("persistence") {
        section(&mut t, "Persistence");
        let _ = write!(
            t,
            "loading:0\r\nasync_loading:0\r\ncurrent_cow_peak:0\r\ncurrent_cow_size:0\r\nrdb_changes_since_last_save:{}\r\n\
             rdb_bgsave_in_progress:0\r\nrdb_last_save_time:{}\r\nrdb_last_bgsave_status:ok\r\naof_enabled:0\r\n\
             aof_rewrite_in_progress:0\r\naof_rewrite_scheduled:0\r\naof_last_bgrewrite_status:ok\r\n\
             aof_last_write_status:ok\r\n",
            // No snapshot is taken yet, so every change since start-up counts.
            reports.iter().map(|r| r.stats.dirty).sum::<u64>(),
            sh.lastsave_unix.load(Ordering::Relaxed)
        );
    }
    if want("stats") {
        section(&mut t, "Stats");
        let expired: u64 = reports.iter().map(|r| r.expired).sum();
        let _ = write!(
            t,
            "total_connections_received:{}\r\ntotal_commands_processed:{}\r\ninstantaneous_ops_per_sec:0\r\n\
             total_net_input_bytes:{}\r\ntotal_net_output_bytes:{}\r\nrejected_connections:{}\r\nexpired_keys:{expired}\r\n\
             evicted_keys:0\r\nkeyspace_hits:{}\r\nkeyspace_misses:{}\r\npubsub_channels:0\r\npubsub_patterns:0\r\n\
             total_error_replies:{}\r\ntotal_reads_processed:0\r\ntotal_writes_processed:0\r\n\
             connection_migrations:{}\r\n",
            sh.total_connections.load(Ordering::Relaxed),
            stats.total_calls(),
            stats.net_input_bytes,
            stats.net_output_bytes,
            sh.rejected_connections.load(Ordering::Relaxed),
            stats.keyspace_hits,
            stats.keyspace_misses,
            stats.cmds.iter().map(|c| c.failed + c.rejected).sum::<u64>(),
            sh.connection_migrations.load(Ordering::Relaxed),
        );
    }
    if want("replication") {
        section(&mut t, "Replication");
        t.push_str("role:master\r\nconnected_slaves:0\r\nmaster_repl_offset:0\r\n");
    }
    if want("cpu") {
        section(&mut t, "CPU");
        let _ = write!(
            t,
            "used_cpu_sys:{sys:.6}\r\nused_cpu_user:{user:.6}\r\nused_cpu_sys_children:0.000000\r\n\
             used_cpu_user_children:0.000000\r\n"
        );
    }
    if want("errorstats") {
        section(&mut t, "Errorstats");
    }
    if want("cluster") {
        section(&mut t, "Cluster");
        t.push_str("cluster_enabled:0\r\n");
    }
    if want("commandstats") {
        section(&mut t, "Commandstats");
        for (i, c) in stats.cmds.iter().enumerate() {
            if c.calls == 0 && c.rejected == 0 {
                continue;
            }
            let usec = c.nanos / 1000;
            let per = if c.calls > 0 { usec as f64 / c.calls as f64 } else { 0.0 };
            let _ = write!(
                t,
                "cmdstat_{}:calls={},usec={},usec_per_call={:.2},rejected_calls={},failed_calls={}\r\n",
                registry().commands[i].meta.name,
                c.calls,
                usec,
                per,
                c.rejected,
                c.failed
            );
        }
    }
    if want("keyspace") {
        section(&mut t, "Keyspace");
        for db in 0..sh.databases {
            let keys: usize = reports.iter().map(|r| r.keys[db].0).sum();
            let expires: usize = reports.iter().map(|r| r.keys[db].1).sum();
            if keys > 0 {
                let _ = write!(t, "db{db}:keys={keys},expires={expires},avg_ttl=0,subexpiry=0\r\n");
            }
        }
    }
    t
}

fn time(s: &mut Session, _args: Vec<Bytes>) -> LocalFuture<'_> {
    Box::pin(async move {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        let mut o = s.reply();
        o.array(2);
        o.bulk(now.as_secs().to_string().as_bytes());
        o.bulk(now.subsec_micros().to_string().as_bytes());
    })
}

fn config_get(s: &mut Session, args: Vec<Bytes>) -> LocalFuture<'_> {
    Box::pin(async move {
        let patterns: Vec<&[u8]> = args[2..].iter().map(|a| &a[..]).collect();
        let pairs = s.shared.config.lock().expect("config lock").get(&patterns);
        let mut o = s.reply();
        o.map(pairs.len());
        for (k, v) in pairs {
            o.bulk(k.as_bytes());
            o.bulk(v.as_bytes());
        }
    })
}

fn config_set(s: &mut Session, args: Vec<Bytes>) -> LocalFuture<'_> {
    Box::pin(async move {
        if !args.len().is_multiple_of(2) {
            return s.reply().error(&errors::wrong_arity("config|set"));
        }
        let pairs: Vec<(Vec<u8>, Vec<u8>)> = args[2..].chunks(2).map(|p| (p[0].to_vec(), p[1].to_vec())).collect();
        match s.shared.set_config(&pairs) {
            Ok(()) => s.reply().ok(),
            Err(e) => s.reply().error(&e),
        }
    })
}

fn config_resetstat(s: &mut Session, _args: Vec<Bytes>) -> LocalFuture<'_> {
    Box::pin(async move {
        s.shards
            .on_all_shards(|sh| {
                sh.stats = Stats::default();
                for db in sh.dbs.iter_mut() {
                    db.expired_count = 0;
                }
            })
            .await;
        s.shared.total_connections.store(0, Ordering::Relaxed);
        s.shared.rejected_connections.store(0, Ordering::Relaxed);
        s.shared.connection_migrations.store(0, Ordering::Relaxed);
        s.reply().ok()
    })
}

fn config_rewrite(s: &mut Session, _args: Vec<Bytes>) -> LocalFuture<'_> {
    Box::pin(async move {
        let Some(path) = s.shared.config_file.clone() else {
            return s.reply().error("ERR The server is running without a config file");
        };
        let result = s.shared.config.lock().expect("config lock").rewrite(&path);
        match result {
            Ok(()) => s.reply().ok(),
            Err(e) => s.reply().error(&format!("ERR Rewriting config file: {e}")),
        }
    })
}

const CONFIG_HELP: &[&str] = &[
    "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "GET <pattern>",
    "    The parameters whose names match the glob-style pattern, with their values.",
    "SET <directive> <value> [<directive> <value> ...]",
    "    Change parameters at run time, all or none.",
    "RESETSTAT",
    "    Zero the statistics INFO reports.",
    "REWRITE",
    "    Write the running configuration back to the configuration file.",
    "HELP",
    "    This text.",
];

fn config_help(s: &mut Session, _args: Vec<Bytes>) -> LocalFuture<'_> {
    Box::pin(async move { super::client::help(&mut s.reply(), CONFIG_HELP) })
}

fn debug(s: &mut Session, args: Vec<Bytes>) -> LocalFuture<'_> {
    Box::pin(async move {
        let sub = String::from_utf8_lossy(&args[1]).to_ascii_lowercase();
        match sub.as_str() {
            "sleep" if args.len() == 3 => {
                // Redis reads the time with strtod: anything unreadable is 0.
                let secs = args::float(&args[2]).unwrap_or(0.0).max(0.0);
                // Redis blocks its whole event loop; rill blocks this connection's shard thread, which is the
                // same for one shard and the closest equivalent for several.
                std::thread::sleep(std::time::Duration::from_secs_f64(secs.min(3600.0)));
                s.reply().ok()
            }
            "log" if args.len() == 3 => {
                tracing::warn!("DEBUG LOG: {}", String::from_utf8_lossy(&args[2]));
                s.reply().ok()
            }
            "set-active-expire" if args.len() == 3 => {
                // Redis reads the flag with atoi: anything unreadable is 0, off.
                let on = crate::text::atoi(&args[2]) != 0;
                s.shared.active_expire.store(on, Ordering::Relaxed);
                s.reply().ok()
            }
            "help" if args.len() == 2 => super::client::help(
                &mut s.reply(),
                &[
                    "DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                    "LOG <message>",
                    "    Write a message to the server log.",
                    "SLEEP <seconds>",
                    "    Stop serving this connection's shard for the given time.",
                    "SET-ACTIVE-EXPIRE <0|1>",
                    "    Turn the active expiry cycle off or on.",
                    "HELP",
                    "    This text.",
                ],
            ),
            _ => s.reply().error(&super::client::subcommand_syntax_error(&args)),
        }
    })
}

fn shutdown(s: &mut Session, args: Vec<Bytes>) -> LocalFuture<'_> {
    Box::pin(async move {
        let (mut nosave, mut save, mut other, mut abort) = (false, false, false, false);
        for a in &args[1..] {
            if is(a, "NOSAVE") {
                nosave = true;
            } else if is(a, "SAVE") {
                save = true;
            } else if is(a, "NOW") || is(a, "FORCE") {
                other = true;
            } else if is(a, "ABORT") {
                abort = true;
            } else {
                return s.reply().error(errors::SYNTAX);
            }
        }
        if (nosave && save) || (abort && (nosave || save || other)) {
            return s.reply().error(errors::SYNTAX);
        }
        if abort {
            // A shutdown here is never in progress: it starts and finishes within this command.
            return s.reply().error("ERR No shutdown in progress.");
        }
        let how = if nosave {
            Shutdown::NoSave
        } else if save {
            Shutdown::Save
        } else {
            Shutdown::Default
        };
        tracing::warn!("User requested shutdown...");
        s.shared.request_shutdown(how);
        // Redis closes the connection without a reply when it shuts down.
        s.close = true;
    })
}

fn lastsave(s: &mut Session, _args: Vec<Bytes>) -> LocalFuture<'_> {
    Box::pin(async move {
        let t = s.shared.lastsave_unix.load(Ordering::Relaxed);
        s.reply().int(t as i64)
    })
}

fn memory_usage(ctx: &mut Ctx, args: &[Bytes]) {
    // `SAMPLES n` may repeat; rill measures exactly, so the count is only checked.
    for pair in args[3..].chunks(2) {
        match pair {
            [opt, n] if is(opt, "SAMPLES") => match args::int(n) {
                Err(e) => return ctx.out.error(e),
                Ok(n) if n < 0 => return ctx.out.error(errors::SYNTAX),
                Ok(_) => {}
            },
            _ => return ctx.out.error(errors::SYNTAX),
        }
    }
    let now = ctx.now;
    match ctx.db().peek(&args[2], now) {
        // Table node, entry and key, plus what the value owns.
        Some(e) => {
            let n = 56 + args[2].len() + e.value.heap_size();
            ctx.out.int(n as i64)
        }
        None => ctx.out.null(),
    }
}

fn memory_help(s: &mut Session, _args: Vec<Bytes>) -> LocalFuture<'_> {
    Box::pin(async move {
        super::client::help(
            &mut s.reply(),
            &[
                "MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "USAGE <key> [SAMPLES <count>]",
                "    Estimate the bytes a key and its value take.",
                "HELP",
                "    This text.",
            ],
        )
    })
}

fn dbsize(s: &mut Session, _args: Vec<Bytes>) -> LocalFuture<'_> {
    Box::pin(async move {
        let db = s.db;
        let sizes = s.shards.on_all_shards(move |sh| sh.dbs[db].len()).await;
        s.reply().int(sizes.iter().sum::<usize>() as i64)
    })
}

/// FLUSHDB/FLUSHALL's optional ASYNC|SYNC.
fn flush_mode_ok(args: &[Bytes]) -> bool {
    match args.len() {
        1 => true,
        2 => is(&args[1], "ASYNC") || is(&args[1], "SYNC"),
        _ => false,
    }
}

fn flushdb(s: &mut Session, args: Vec<Bytes>) -> LocalFuture<'_> {
    Box::pin(async move {
        if !flush_mode_ok(&args) {
            return s.reply().error(errors::SYNTAX);
        }
        let db = s.db;
        s.shards.on_all_shards(move |sh| sh.flush_db(db)).await;
        s.reply().ok()
    })
}

fn flushall(s: &mut Session, args: Vec<Bytes>) -> LocalFuture<'_> {
    Box::pin(async move {
        if !flush_mode_ok(&args) {
            return s.reply().error(errors::SYNTAX);
        }
        s.shards.on_all_shards(|sh| (0..sh.dbs.len()).for_each(|db| sh.flush_db(db))).await;
        s.reply().ok()
    })
}

fn swapdb(s: &mut Session, args: Vec<Bytes>) -> LocalFuture<'_> {
    Box::pin(async move {
        let Some(a) = c_int(&args[1]) else {
            return s.reply().error("ERR invalid first DB index");
        };
        let Some(b) = c_int(&args[2]) else {
            return s.reply().error("ERR invalid second DB index");
        };
        let n = s.shared.databases as i64;
        if a < 0 || a >= n || b < 0 || b >= n {
            return s.reply().error(errors::DB_INDEX_RANGE);
        }
        s.shards.on_all_shards(move |sh| sh.swap_dbs(a as usize, b as usize)).await;
        s.reply().ok()
    })
}

/// A database index as Redis reads one: a C int.
fn c_int(arg: &[u8]) -> Option<i64> {
    args::int(arg).ok().filter(|n| i32::try_from(*n).is_ok())
}

/// rill has no scripting, so there are no functions to flush; the arguments are checked as Redis checks them.
fn function_flush(s: &mut Session, args: Vec<Bytes>) -> LocalFuture<'_> {
    Box::pin(async move {
        if args.len() > 3 {
            return s.reply().error(&super::client::subcommand_syntax_error(&args));
        }
        if args.len() == 3 && !is(&args[2], "ASYNC") && !is(&args[2], "SYNC") {
            return s.reply().error("ERR FUNCTION FLUSH only supports SYNC|ASYNC option");
        }
        s.reply().ok()
    })
}
