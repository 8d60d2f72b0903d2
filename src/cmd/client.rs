//! Connection commands (PING, ECHO, HELLO, AUTH, SELECT, QUIT, RESET) and CLIENT, with the per-connection state
//! that CLIENT LIST shows. Each shard thread keeps a registry of the connections it serves; CLIENT LIST and KILL
//! visit every shard.

use super::args::{self, is};
use super::spec::*;
use super::table::{self, CommandMeta};
use super::{Ctx, Handler, LocalFuture, Session};
use crate::proto::{errors, Out};
use crate::shard::clients::ClientInfo;
use bytes::Bytes;
use std::sync::atomic::Ordering;

/// This family's commands, one line each (`spec` describes the fields), and their documentation text.
#[rustfmt::skip]
pub const FAMILY: Family = Family {
    docs: include_str!("docs/client.txt"),
    specs: &[
        spec("ping", -1, FAST, NO_KEYS, Handler::Shard(ping)),
        spec("echo", 2, LOADING | STALE | FAST, NO_KEYS, Handler::Shard(echo)),
        spec("hello", -1, NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | ALLOW_BUSY, NO_KEYS, Handler::Conn(hello)),
        spec("auth", -2, NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | ALLOW_BUSY, NO_KEYS, Handler::Conn(auth)),
        spec("select", 2, LOADING | STALE | FAST, NO_KEYS, Handler::Conn(select)),
        spec("quit", -1, NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | ALLOW_BUSY | IN_MULTI, NO_KEYS, Handler::Conn(quit)),
        spec("reset", 1, NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | ALLOW_BUSY | IN_MULTI, NO_KEYS, Handler::Conn(reset)),
        spec("client", -2, NO_FLAGS, NO_KEYS, Handler::Conn(client)),
        listed("client|id", 2, NOSCRIPT | LOADING | STALE, NO_KEYS),
        listed("client|setname", 3, NOSCRIPT | LOADING | STALE, NO_KEYS),
        listed("client|getname", 2, NOSCRIPT | LOADING | STALE, NO_KEYS),
        listed("client|setinfo", 4, NOSCRIPT | LOADING | STALE, NO_KEYS),
        listed("client|list", -2, ADMIN | NOSCRIPT | LOADING | STALE, NO_KEYS),
        listed("client|info", 2, NOSCRIPT | LOADING | STALE, NO_KEYS),
        listed("client|kill", -3, ADMIN | NOSCRIPT | LOADING | STALE, NO_KEYS),
        listed("client|no-evict", 3, ADMIN | NOSCRIPT | LOADING | STALE, NO_KEYS),
        listed("client|no-touch", 3, NOSCRIPT | LOADING | STALE, NO_KEYS),
        listed("client|reply", 3, NOSCRIPT | LOADING | STALE, NO_KEYS),
        listed("client|pause", -3, ADMIN | NOSCRIPT | LOADING | STALE, NO_KEYS),
        listed("client|unpause", 2, ADMIN | NOSCRIPT | LOADING | STALE, NO_KEYS),
        listed("client|unblock", -3, ADMIN | NOSCRIPT | LOADING | STALE, NO_KEYS),
        listed("client|help", 2, LOADING | STALE, NO_KEYS),
    ],
};

/// Version reported to clients: rill answers as the Redis release whose behaviour it follows.
pub const REDIS_VERSION: &str = "7.4.0";

/// CLIENT REPLY state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyMode {
    On,
    Off,
    /// Drop the next command's reply, then back to On.
    Skip,
}

impl ReplyMode {
    /// Whether the reply of the command about to run is sent; advances Skip.
    pub fn take_keep(&mut self) -> bool {
        match *self {
            ReplyMode::On => true,
            ReplyMode::Off => false,
            ReplyMode::Skip => {
                *self = ReplyMode::On;
                false
            }
        }
    }
}

fn ping(ctx: &mut Ctx, args: &[Bytes]) {
    match args.len() {
        1 => ctx.out.simple("PONG"),
        2 => ctx.out.bulk(&args[1]),
        _ => ctx.out.error(&errors::wrong_arity("ping")),
    }
}

fn echo(ctx: &mut Ctx, args: &[Bytes]) {
    ctx.out.bulk(&args[1]);
}

/// Checks a user and password: rill has only Redis's `default` user, which takes any password while requirepass
/// is unset (Redis's `nopass`) and exactly requirepass otherwise.
fn check_password(s: &Session, user: &[u8], pass: &[u8]) -> bool {
    user == b"default" && s.shared.requirepass().is_none_or(|required| pass == required.as_bytes())
}

fn auth(s: &mut Session, args: Vec<Bytes>) -> LocalFuture<'_> {
    Box::pin(async move {
        let (user, pass) = match args.len() {
            2 => (&b"default"[..], &args[1]),
            3 => (&args[1][..], &args[2]),
            _ => return s.reply().error(errors::SYNTAX),
        };
        if args.len() == 2 && s.shared.requirepass().is_none() {
            return s.reply().error(
                "ERR AUTH <password> called without any password configured for the default user. \
                 Are you sure your configuration is correct?",
            );
        }
        if check_password(s, user, pass) {
            s.authenticated = true;
            s.reply().ok()
        } else {
            s.reply().error(errors::WRONGPASS)
        }
    })
}

fn hello(s: &mut Session, args: Vec<Bytes>) -> LocalFuture<'_> {
    Box::pin(async move {
        let mut proto = if s.resp3 { 3 } else { 2 };
        let mut i = 1;
        if let Some(v) = args.get(1) {
            match args::int(v) {
                Ok(p) if p == 2 || p == 3 => proto = p,
                Ok(_) => return s.reply().error("NOPROTO unsupported protocol version"),
                Err(_) => return s.reply().error("ERR Protocol version is not an integer or out of range"),
            }
            i = 2;
        }
        let mut setname = None;
        let mut authed = None;
        while i < args.len() {
            let more = args.len() - i - 1;
            if is(&args[i], "AUTH") && more >= 2 {
                authed = Some(check_password(s, &args[i + 1], &args[i + 2]));
                i += 3;
            } else if is(&args[i], "SETNAME") && more >= 1 {
                setname = Some(args[i + 1].clone());
                i += 2;
            } else {
                return s
                    .reply()
                    .error(&format!("ERR Syntax error in HELLO option '{}'", errors::printable(&args[i], 128)));
            }
        }
        match authed {
            Some(false) => return s.reply().error(errors::WRONGPASS),
            Some(true) => s.authenticated = true,
            None => {}
        }
        if !s.authenticated {
            return s.reply().error(
                "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> \
                 AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol \
                 version at the same time",
            );
        }
        if let Some(name) = setname {
            if let Err(e) = valid_name(&name, "Client names") {
                return s.reply().error(&e);
            }
            s.info.borrow_mut().name = name;
        }
        s.resp3 = proto == 3;
        s.info.borrow_mut().resp = proto as u8;
        let id = s.id;
        let mut o = s.reply();
        o.map(7);
        o.bulk(b"server");
        o.bulk(b"redis");
        o.bulk(b"version");
        o.bulk(REDIS_VERSION.as_bytes());
        o.bulk(b"proto");
        o.int(proto);
        o.bulk(b"id");
        o.int(id as i64);
        o.bulk(b"mode");
        o.bulk(b"standalone");
        o.bulk(b"role");
        o.bulk(b"master");
        o.bulk(b"modules");
        o.array(0);
    })
}

/// Client names and library attributes are printable ASCII without spaces, as Redis requires.
fn valid_name(name: &[u8], what: &str) -> Result<(), String> {
    if name.iter().all(|&c| (b'!'..=b'~').contains(&c)) {
        Ok(())
    } else {
        Err(format!("ERR {what} cannot contain spaces, newlines or special characters."))
    }
}

fn select(s: &mut Session, args: Vec<Bytes>) -> LocalFuture<'_> {
    Box::pin(async move {
        match args::int(&args[1]).and_then(|n| i32::try_from(n).map_err(|_| errors::NOT_INTEGER)) {
            Err(e) => s.reply().error(e),
            Ok(n) if n < 0 || n as usize >= s.shared.databases => s.reply().error(errors::DB_INDEX_RANGE),
            Ok(n) => {
                s.db = n as usize;
                s.info.borrow_mut().db = s.db;
                s.reply().ok()
            }
        }
    })
}

fn quit(s: &mut Session, _args: Vec<Bytes>) -> LocalFuture<'_> {
    Box::pin(async move {
        s.reply().ok();
        s.close = true;
    })
}

fn reset(s: &mut Session, _args: Vec<Bytes>) -> LocalFuture<'_> {
    Box::pin(async move {
        s.db = 0;
        s.resp3 = false;
        s.reply_mode = ReplyMode::On;
        s.authenticated = s.shared.requirepass().is_none();
        {
            let mut info = s.info.borrow_mut();
            info.db = 0;
            info.resp = 2;
            info.name = Bytes::new();
            info.no_evict = false;
            info.no_touch = false;
        }
        s.no_touch = false;
        s.multi = None;
        super::multi::forget_watches(s);
        s.reply_forced = true;
        s.reply().simple("RESET");
    })
}

const CLIENT_HELP: &[&str] = &[
    "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "GETNAME",
    "    Return the name of the current connection.",
    "ID",
    "    Return the ID of the current connection.",
    "INFO",
    "    Return information about the current client connection.",
    "KILL <ip:port>",
    "    Kill connection made from <ip:port>.",
    "KILL <option> <value> [<option> <value> [...]]",
    "    Kill connections. Options are: ID <client-id>, ADDR <ip:port>, LADDR <ip:port>,",
    "    TYPE (NORMAL|MASTER|REPLICA|PUBSUB), USER <username>, SKIPME (YES|NO), MAXAGE <seconds>.",
    "LIST [options ...]",
    "    Return information about client connections. Options: TYPE (NORMAL|MASTER|REPLICA|PUBSUB), ID id [id ...].",
    "UNPAUSE",
    "    Stop the current client pause, resuming traffic.",
    "PAUSE <timeout> [WRITE|ALL]",
    "    Suspend all, or just write, clients for <timeout> milliseconds.",
    "REPLY (ON|OFF|SKIP)",
    "    Control the replies sent to the current connection.",
    "SETNAME <name>",
    "    Assign the name <name> to the current connection.",
    "SETINFO <option> <value>",
    "    Set client meta attr. Options are: LIB-NAME, LIB-VER.",
    "UNBLOCK <clientid> [TIMEOUT|ERROR]",
    "    Unblock the specified blocked client.",
    "NO-EVICT (ON|OFF)",
    "    Protect current client connection from eviction.",
    "NO-TOUCH (ON|OFF)",
    "    Will not touch LRU/LFU stats when this mode is on.",
    "HELP",
    "    Print this help.",
];

/// Writes a HELP reply: an array of status lines.
pub fn help(o: &mut Out, lines: &[&str]) {
    o.array(lines.len());
    for l in lines {
        o.simple(l);
    }
}

/// The subcommand of a container command (`CLIENT LIST`), checked against the table's arity as Redis does before
/// the command runs: `Err` holds the unknown-subcommand or wrong-arity error.
pub fn subcommand(args: &[Bytes]) -> Result<&'static CommandMeta, String> {
    let parent = table::lookup(&args[0]).expect("container command in the table");
    let meta = table::lookup_sub(parent, &args[1]).ok_or_else(|| errors::unknown_subcommand(&args[1], parent.name))?;
    if meta.arity_ok(args.len()) {
        Ok(meta)
    } else {
        Err(errors::wrong_arity(meta.name))
    }
}

/// Redis's error for a known subcommand whose arguments it cannot use, quoting the subcommand as typed.
pub fn subcommand_syntax_error(args: &[Bytes]) -> String {
    format!(
        "ERR unknown subcommand or wrong number of arguments for '{}'. Try {} HELP.",
        errors::printable(&args[1], 128),
        String::from_utf8_lossy(&args[0]).to_ascii_uppercase()
    )
}

/// Client types of CLIENT LIST TYPE and CLIENT KILL TYPE; rill's clients are all `normal`.
fn client_type(arg: &[u8]) -> Result<String, String> {
    let t = String::from_utf8_lossy(arg).to_ascii_lowercase();
    if ["normal", "master", "replica", "slave", "pubsub"].contains(&t.as_str()) {
        Ok(t)
    } else {
        Err(format!("ERR Unknown client type '{}'", String::from_utf8_lossy(arg)))
    }
}

/// Filters of CLIENT KILL.
#[derive(Clone, Default)]
struct Filter {
    id: Option<u64>,
    addr: Option<String>,
    laddr: Option<String>,
    kind: Option<String>,
    skip: Option<u64>,
    max_age: Option<u64>,
}

impl Filter {
    fn matches(&self, c: &ClientInfo) -> bool {
        self.id.is_none_or(|id| id == c.id)
            && self.addr.as_ref().is_none_or(|a| *a == c.addr)
            && self.laddr.as_ref().is_none_or(|a| *a == c.laddr)
            && self.kind.as_ref().is_none_or(|k| k == "normal")
            && self.skip != Some(c.id)
            && self.max_age.is_none_or(|m| c.created.elapsed().as_secs() >= m)
    }
}

fn client(s: &mut Session, args: Vec<Bytes>) -> LocalFuture<'_> {
    Box::pin(async move {
        let meta = match subcommand(&args) {
            Ok(meta) => meta,
            Err(e) => return s.reply().error(&e),
        };
        s.info.borrow_mut().last_cmd = meta.name;
        let n = args.len();
        match meta.short_name() {
            "id" => {
                let id = s.id as i64;
                s.reply().int(id)
            }
            "getname" => {
                let name = s.info.borrow().name.clone();
                if name.is_empty() {
                    s.reply().null()
                } else {
                    s.reply().bulk(&name)
                }
            }
            "setname" => match valid_name(&args[2], "Client names") {
                Ok(()) => {
                    s.info.borrow_mut().name = args[2].clone();
                    s.reply().ok()
                }
                Err(e) => s.reply().error(&e),
            },
            "setinfo" => {
                let lib_name = is(&args[2], "lib-name");
                if !lib_name && !is(&args[2], "lib-ver") {
                    let e = format!("ERR Unrecognized option '{}'", errors::printable(&args[2], 128));
                    return s.reply().error(&e);
                }
                if let Err(e) = valid_name(&args[3], &String::from_utf8_lossy(&args[2])) {
                    return s.reply().error(&e);
                }
                let mut info = s.info.borrow_mut();
                if lib_name {
                    info.lib_name = args[3].clone();
                } else {
                    info.lib_ver = args[3].clone();
                }
                drop(info);
                s.reply().ok()
            }
            "info" => {
                let line = s.info.borrow().line();
                s.reply().verbatim(line.as_bytes())
            }
            "list" => client_list(s, &args).await,
            "kill" => client_kill(s, &args).await,
            "no-evict" | "no-touch" => {
                let on = if is(&args[2], "on") {
                    true
                } else if is(&args[2], "off") {
                    false
                } else {
                    return s.reply().error(errors::SYNTAX);
                };
                if meta.short_name() == "no-evict" {
                    s.info.borrow_mut().no_evict = on;
                } else {
                    s.info.borrow_mut().no_touch = on;
                    s.no_touch = on;
                }
                s.reply().ok()
            }
            "reply" => {
                if is(&args[2], "on") {
                    s.reply_mode = ReplyMode::On;
                    s.reply_forced = true;
                    s.reply().ok()
                } else if is(&args[2], "off") {
                    s.reply_mode = ReplyMode::Off;
                } else if is(&args[2], "skip") {
                    // SKIP while replies are off changes nothing, as in Redis.
                    if s.reply_mode != ReplyMode::Off {
                        s.reply_mode = ReplyMode::Skip;
                    }
                } else {
                    s.reply().error(errors::SYNTAX)
                }
            }
            "pause" if n <= 4 => {
                let writes_only = match args.get(3) {
                    None => false,
                    Some(a) if is(a, "write") => true,
                    Some(a) if is(a, "all") => false,
                    Some(_) => return s.reply().error("ERR CLIENT PAUSE mode must be WRITE or ALL"),
                };
                let ms = match args::int(&args[2]) {
                    Ok(ms) if ms < 0 => return s.reply().error(errors::TIMEOUT_NEGATIVE),
                    Ok(ms) => ms as u64,
                    Err(_) => return s.reply().error("ERR timeout is not an integer or out of range"),
                };
                let until = crate::db::now_ms().saturating_add(ms);
                s.shared.pause_writes_only.store(writes_only, Ordering::Relaxed);
                s.shared.pause_until_ms.fetch_max(until, Ordering::Relaxed);
                s.reply().ok()
            }
            "unpause" => {
                s.shared.pause_until_ms.store(0, Ordering::Relaxed);
                s.reply().ok()
            }
            "unblock" if n <= 4 => {
                let error = match args.get(3) {
                    None => false,
                    Some(mode) if is(mode, "timeout") => false,
                    Some(mode) if is(mode, "error") => true,
                    Some(_) => return s.reply().error("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR"),
                };
                let id = match args::int(&args[2]) {
                    Ok(id) => id,
                    Err(e) => return s.reply().error(e),
                };
                let found = s
                    .shards
                    .on_all_shards(move |shard| {
                        let Some(c) = shard.clients.values().find(|c| c.borrow().id as i64 == id) else {
                            return false;
                        };
                        let mut c = c.borrow_mut();
                        if !c.blocked {
                            return false;
                        }
                        // Cleared here so that a second UNBLOCK before the client wakes answers 0.
                        c.blocked = false;
                        c.unblock_error = error;
                        c.unblock.notify_one();
                        true
                    })
                    .await;
                s.reply().int(found.contains(&true) as i64)
            }
            "help" => help(&mut s.reply(), CLIENT_HELP),
            _ => s.reply().error(&subcommand_syntax_error(&args)),
        }
    })
}

/// `CLIENT LIST [TYPE type | ID id [id ...]]`: one filter at most, as in Redis. IDs list their clients in the
/// order given; otherwise clients come in ID order.
async fn client_list(s: &mut Session, args: &[Bytes]) {
    let mut kind = None;
    let mut ids = Vec::new();
    if args.len() == 4 && is(&args[2], "TYPE") {
        match client_type(&args[3]) {
            Ok(t) => kind = Some(t),
            Err(e) => return s.reply().error(&e),
        }
    } else if args.len() > 3 && is(&args[2], "ID") {
        for a in &args[3..] {
            match args::int(a) {
                Ok(id) => ids.push(id),
                Err(_) => return s.reply().error("ERR Invalid client ID"),
            }
        }
    } else if args.len() != 2 {
        return s.reply().error(errors::SYNTAX);
    }
    let normal = kind.as_ref().is_none_or(|k| k == "normal");
    let lines = s
        .shards
        .on_all_shards(move |shard| {
            if !normal {
                return Vec::new();
            }
            shard
                .clients
                .values()
                .map(|c| c.borrow())
                .filter(|c| !c.killed)
                .map(|c| (c.id, c.line()))
                .collect::<Vec<_>>()
        })
        .await;
    let mut all: Vec<(u64, String)> = lines.into_iter().flatten().collect();
    let text: String = if args.len() > 3 && is(&args[2], "ID") {
        ids.iter().filter_map(|&id| all.iter().find(|(c, _)| *c as i64 == id).map(|(_, l)| l.as_str())).collect()
    } else {
        all.sort_unstable_by_key(|(id, _)| *id);
        all.iter().map(|(_, l)| l.as_str()).collect()
    };
    s.reply().verbatim(text.as_bytes())
}

/// `CLIENT KILL addr` (old form: +OK or an error, may kill the caller) or `CLIENT KILL <filter> <value> ...`
/// (new form: the number killed, skipping the caller unless SKIPME no).
async fn client_kill(s: &mut Session, args: &[Bytes]) {
    let old_form = args.len() == 3;
    let mut filter = Filter::default();
    if old_form {
        filter.addr = Some(String::from_utf8_lossy(&args[2]).into_owned());
    } else {
        filter.skip = Some(s.id);
        let mut i = 2;
        while i < args.len() {
            let Some(value) = args.get(i + 1) else {
                return s.reply().error(errors::SYNTAX);
            };
            let key = &args[i];
            let text = || String::from_utf8_lossy(value).into_owned();
            if is(key, "id") {
                match args::int(value) {
                    Ok(id) if id > 0 => filter.id = Some(id as u64),
                    _ => return s.reply().error("ERR client-id should be greater than 0"),
                }
            } else if is(key, "type") {
                match client_type(value) {
                    Ok(t) => filter.kind = Some(t),
                    Err(e) => return s.reply().error(&e),
                }
            } else if is(key, "addr") {
                filter.addr = Some(text());
            } else if is(key, "laddr") {
                filter.laddr = Some(text());
            } else if is(key, "user") {
                if &value[..] != b"default" {
                    return s.reply().error(&format!("ERR No such user '{}'", errors::printable(value, 128)));
                }
            } else if is(key, "skipme") {
                if is(value, "yes") {
                    filter.skip = Some(s.id);
                } else if is(value, "no") {
                    filter.skip = None;
                } else {
                    return s.reply().error(errors::SYNTAX);
                }
            } else if is(key, "maxage") {
                match args::int(value) {
                    Ok(age) if age > 0 => filter.max_age = Some(age as u64),
                    Ok(_) => return s.reply().error("ERR maxage should be greater than 0"),
                    Err(_) => return s.reply().error("ERR maxage is not an integer or out of range"),
                }
            } else {
                return s.reply().error(errors::SYNTAX);
            }
            i += 2;
        }
    }
    let me = s.id;
    let killed: Vec<Vec<u64>> = s
        .shards
        .on_all_shards(move |shard| {
            let mut ids = Vec::new();
            for c in shard.clients.values() {
                let mut c = c.borrow_mut();
                // A client killed already is on its way out (its task has yet to run): as in Redis, where a
                // killed client is freed at once, it no longer counts.
                if !c.killed && filter.matches(&c) {
                    ids.push(c.id);
                    if c.id != me {
                        c.kill();
                    }
                }
            }
            ids
        })
        .await;
    let count: usize = killed.iter().map(Vec::len).sum();
    // The caller's own connection closes after this reply.
    if killed.iter().flatten().any(|&id| id == me) {
        s.close = true;
    }
    if !old_form {
        s.reply().int(count as i64)
    } else if count == 0 {
        s.reply().error("ERR No such client")
    } else {
        s.reply().ok()
    }
}
