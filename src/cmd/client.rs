//! Connection commands (PING, ECHO, HELLO, AUTH, SELECT, QUIT, RESET) and CLIENT, with the per-connection state
//! that CLIENT LIST shows. Each shard thread keeps a registry of the connections it serves; CLIENT LIST and KILL
//! visit every shard.

use super::args::{self, is};
use super::{Ctx, Handler, LocalFuture, Session};
use crate::proto::{errors, Out};
use bytes::Bytes;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::time::Instant;

pub const HANDLERS: &[(&str, Handler)] = &[
    ("ping", Handler::Shard(ping)),
    ("echo", Handler::Shard(echo)),
    ("hello", Handler::Conn(hello)),
    ("auth", Handler::Conn(auth)),
    ("select", Handler::Conn(select)),
    ("quit", Handler::Conn(quit)),
    ("reset", Handler::Conn(reset)),
    ("client", Handler::Conn(client)),
];

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

/// What CLIENT LIST knows of a connection; shared between the connection's task and its shard's registry.
pub struct ClientInfo {
    pub id: u64,
    pub addr: String,
    pub laddr: String,
    pub fd: i32,
    pub name: Bytes,
    pub lib_name: Bytes,
    pub lib_ver: Bytes,
    pub created: Instant,
    pub last_active: Instant,
    pub db: usize,
    pub resp: u8,
    pub last_cmd: &'static str,
    pub no_evict: bool,
    pub no_touch: bool,
    pub qbuf: usize,
    /// Set by CLIENT KILL; the connection closes when it sees it.
    pub killed: bool,
    pub kill: Rc<tokio::sync::Notify>,
}

impl ClientInfo {
    pub fn new(id: u64, addr: String, laddr: String, fd: i32) -> Self {
        let now = Instant::now();
        ClientInfo {
            id,
            addr,
            laddr,
            fd,
            name: Bytes::new(),
            lib_name: Bytes::new(),
            lib_ver: Bytes::new(),
            created: now,
            last_active: now,
            db: 0,
            resp: 2,
            last_cmd: "NULL",
            no_evict: false,
            no_touch: false,
            qbuf: 0,
            killed: false,
            kill: Rc::new(tokio::sync::Notify::new()),
        }
    }

    /// One CLIENT LIST line, with Redis 7.4's fields (memory figures are rill's own approximations).
    pub fn line(&self) -> String {
        let mut flags = String::new();
        if self.no_evict {
            flags.push('e');
        }
        if self.no_touch {
            flags.push('T');
        }
        if flags.is_empty() {
            flags.push('N');
        }
        format!(
            "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={} db={} sub=0 psub=0 ssub=0 multi=-1 \
             watch=0 qbuf={} qbuf-free=0 argv-mem=0 multi-mem=0 rbs=16384 rbp=0 obl=0 oll=0 omem=0 tot-mem=0 \
             events=r cmd={} user=default redir=-1 resp={} lib-name={} lib-ver={}\n",
            self.id,
            self.addr,
            self.laddr,
            self.fd,
            String::from_utf8_lossy(&self.name),
            self.created.elapsed().as_secs(),
            self.last_active.elapsed().as_secs(),
            flags,
            self.db,
            self.qbuf,
            self.last_cmd,
            self.resp,
            String::from_utf8_lossy(&self.lib_name),
            String::from_utf8_lossy(&self.lib_ver),
        )
    }
}

/// The connections one shard thread serves.
pub type Clients = HashMap<u64, Rc<RefCell<ClientInfo>>>;

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

/// Checks a password against requirepass; None when no password is configured.
fn check_password(s: &Session, user: &[u8], pass: &[u8]) -> Option<bool> {
    let required = s.shared.requirepass()?;
    Some(user == b"default" && pass == required.as_bytes())
}

fn auth(s: &mut Session, args: Vec<Bytes>) -> LocalFuture<'_> {
    Box::pin(async move {
        let (user, pass) = match args.len() {
            2 => (&b"default"[..], &args[1]),
            3 => (&args[1][..], &args[2]),
            _ => return s.reply().error(errors::SYNTAX),
        };
        match check_password(s, user, pass) {
            None if args.len() == 2 => s.reply().error(
                "ERR AUTH <password> called without any password configured for the default user. \
                 Are you sure your configuration is correct?",
            ),
            None if user == b"default" => {
                s.authenticated = true;
                s.reply().ok()
            }
            Some(true) => {
                s.authenticated = true;
                s.reply().ok()
            }
            _ => s.reply().error(errors::WRONGPASS),
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
            Some(Some(false)) => return s.reply().error(errors::WRONGPASS),
            Some(None) => return s.reply().error("WRONGPASS invalid username-password pair or user is disabled."),
            Some(Some(true)) => s.authenticated = true,
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
        match args::int(&args[1]) {
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

/// Filters of CLIENT KILL / CLIENT LIST.
#[derive(Clone, Default)]
struct Filter {
    ids: Vec<u64>,
    addr: Option<String>,
    laddr: Option<String>,
    kind: Option<String>,
    user: Option<String>,
    skip: Option<u64>,
    max_age: Option<u64>,
}

impl Filter {
    fn matches(&self, c: &ClientInfo) -> bool {
        (self.ids.is_empty() || self.ids.contains(&c.id))
            && self.addr.as_ref().is_none_or(|a| *a == c.addr)
            && self.laddr.as_ref().is_none_or(|a| *a == c.laddr)
            && self.kind.as_ref().is_none_or(|k| k == "normal")
            && self.user.as_ref().is_none_or(|u| u == "default")
            && self.skip != Some(c.id)
            && self.max_age.is_none_or(|m| c.created.elapsed().as_secs() >= m)
    }
}

fn client(s: &mut Session, args: Vec<Bytes>) -> LocalFuture<'_> {
    Box::pin(async move {
        let sub = String::from_utf8_lossy(&args[1]).to_ascii_lowercase();
        let n = args.len();
        let arity = |ok: bool| ok;
        match sub.as_str() {
            "id" if arity(n == 2) => {
                let id = s.id as i64;
                s.reply().int(id)
            }
            "getname" if arity(n == 2) => {
                let name = s.info.borrow().name.clone();
                if name.is_empty() {
                    s.reply().null()
                } else {
                    s.reply().bulk(&name)
                }
            }
            "setname" if arity(n == 3) => match valid_name(&args[2], "Client names") {
                Ok(()) => {
                    s.info.borrow_mut().name = args[2].clone();
                    s.reply().ok()
                }
                Err(e) => s.reply().error(&e),
            },
            "setinfo" if arity(n == 4) => {
                let attr = String::from_utf8_lossy(&args[2]).to_ascii_lowercase();
                let what = match attr.as_str() {
                    "lib-name" => "lib-name",
                    "lib-ver" => "lib-ver",
                    _ => {
                        return s
                            .reply()
                            .error(&format!("ERR Unrecognized option '{}'", errors::printable(&args[2], 128)))
                    }
                };
                if let Err(e) = valid_name(&args[3], what) {
                    return s.reply().error(&e);
                }
                let mut info = s.info.borrow_mut();
                if what == "lib-name" {
                    info.lib_name = args[3].clone();
                } else {
                    info.lib_ver = args[3].clone();
                }
                drop(info);
                s.reply().ok()
            }
            "info" if arity(n == 2) => {
                let line = s.info.borrow().line();
                s.reply().verbatim(line.as_bytes())
            }
            "list" => {
                let mut filter = Filter::default();
                let mut i = 2;
                while i < n {
                    if is(&args[i], "TYPE") && i + 1 < n {
                        let t = String::from_utf8_lossy(&args[i + 1]).to_ascii_lowercase();
                        if !["normal", "master", "replica", "slave", "pubsub"].contains(&t.as_str()) {
                            return s.reply().error(&format!("ERR Unknown client type '{}'", t));
                        }
                        filter.kind = Some(t);
                        i += 2;
                    } else if is(&args[i], "ID") && i + 1 < n {
                        for a in &args[i + 1..] {
                            match args::int(a) {
                                Ok(id) if id > 0 => filter.ids.push(id as u64),
                                _ => return s.reply().error("ERR Invalid client ID"),
                            }
                        }
                        i = n;
                    } else {
                        return s.reply().error(errors::SYNTAX);
                    }
                }
                let f = filter.clone();
                let parts = s
                    .on_all_shards(move |shard| {
                        let mut v: Vec<(u64, String)> = shard
                            .clients
                            .values()
                            .map(|c| c.borrow())
                            .filter(|c| f.matches(c))
                            .map(|c| (c.id, c.line()))
                            .collect();
                        v.sort();
                        v
                    })
                    .await;
                let mut all: Vec<(u64, String)> = parts.into_iter().flatten().collect();
                all.sort();
                let text: String = all.into_iter().map(|(_, l)| l).collect();
                s.reply().verbatim(text.as_bytes())
            }
            "kill" if n >= 3 => client_kill(s, &args).await,
            "no-evict" | "no-touch" if arity(n == 3) => {
                let on = if is(&args[2], "on") {
                    true
                } else if is(&args[2], "off") {
                    false
                } else {
                    return s.reply().error(errors::SYNTAX);
                };
                if sub == "no-evict" {
                    s.info.borrow_mut().no_evict = on;
                } else {
                    s.info.borrow_mut().no_touch = on;
                }
                s.reply().ok()
            }
            "reply" if arity(n == 3) => {
                if is(&args[2], "on") {
                    s.reply_mode = ReplyMode::On;
                    s.reply().ok()
                } else if is(&args[2], "off") {
                    s.reply_mode = ReplyMode::Off;
                } else if is(&args[2], "skip") {
                    s.reply_mode = ReplyMode::Skip;
                } else {
                    s.reply().error(errors::SYNTAX)
                }
            }
            "pause" if arity(n == 3 || n == 4) => {
                let ms = match args::int(&args[2]) {
                    Ok(ms) if ms >= 0 => ms as u64,
                    _ => return s.reply().error("ERR timeout is not an integer or out of range"),
                };
                let writes_only = match args.get(3) {
                    None => false,
                    Some(a) if is(a, "write") => true,
                    Some(a) if is(a, "all") => false,
                    Some(_) => return s.reply().error(errors::SYNTAX),
                };
                let until = crate::db::now_ms() + ms;
                s.shared.pause_writes_only.store(writes_only, Ordering::Relaxed);
                s.shared.pause_until_ms.fetch_max(until, Ordering::Relaxed);
                s.reply().ok()
            }
            "unpause" if arity(n == 2) => {
                s.shared.pause_until_ms.store(0, Ordering::Relaxed);
                s.reply().ok()
            }
            "unblock" if arity(n == 3 || n == 4) => {
                if args::int(&args[2]).is_err() {
                    return s.reply().error(errors::NOT_INTEGER);
                }
                if let Some(mode) = args.get(3) {
                    if !is(mode, "timeout") && !is(mode, "error") {
                        return s.reply().error("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR");
                    }
                }
                // No command blocks yet, so no client can be unblocked.
                s.reply().int(0)
            }
            "help" if arity(n == 2) => help(&mut s.reply(), CLIENT_HELP),
            "id" | "getname" | "setname" | "setinfo" | "info" | "no-evict" | "no-touch" | "reply" | "pause"
            | "unpause" | "unblock" | "help" | "kill" => {
                s.reply().error(&errors::wrong_arity(&format!("client|{sub}")))
            }
            _ => s.reply().error(&errors::unknown_subcommand(&args[1], "client")),
        }
    })
}

async fn client_kill(s: &mut Session, args: &[Bytes]) {
    let old_form = args.len() == 3;
    let mut filter = Filter::default();
    if old_form {
        filter.addr = Some(String::from_utf8_lossy(&args[2]).into_owned());
    } else {
        if !args.len().is_multiple_of(2) {
            return s.reply().error(errors::SYNTAX);
        }
        filter.skip = Some(s.id);
        for pair in args[2..].chunks(2) {
            let val = String::from_utf8_lossy(&pair[1]).into_owned();
            let key = String::from_utf8_lossy(&pair[0]).to_ascii_lowercase();
            match key.as_str() {
                "id" => match args::int(&pair[1]) {
                    Ok(id) if id > 0 => filter.ids.push(id as u64),
                    _ => return s.reply().error("ERR client-id should be greater than 0"),
                },
                "addr" => filter.addr = Some(val),
                "laddr" => filter.laddr = Some(val),
                "user" => filter.user = Some(val),
                "type" => {
                    let t = val.to_ascii_lowercase();
                    if !["normal", "master", "replica", "slave", "pubsub"].contains(&t.as_str()) {
                        return s.reply().error(&format!("ERR Unknown client type '{val}'"));
                    }
                    filter.kind = Some(t);
                }
                "skipme" => {
                    if val.eq_ignore_ascii_case("yes") {
                        filter.skip = Some(s.id);
                    } else if val.eq_ignore_ascii_case("no") {
                        filter.skip = None;
                    } else {
                        return s.reply().error(errors::SYNTAX);
                    }
                }
                "maxage" => match args::int(&pair[1]) {
                    Ok(age) if age >= 0 => filter.max_age = Some(age as u64),
                    _ => return s.reply().error(errors::SYNTAX),
                },
                _ => return s.reply().error(errors::SYNTAX),
            }
        }
    }
    let me = s.id;
    let f = filter.clone();
    let killed: Vec<Vec<u64>> = s
        .on_all_shards(move |shard| {
            let mut ids = Vec::new();
            for c in shard.clients.values() {
                let mut c = c.borrow_mut();
                if f.matches(&c) {
                    ids.push(c.id);
                    if c.id != me {
                        c.killed = true;
                        c.kill.notify_one();
                    }
                }
            }
            ids
        })
        .await;
    let ids: Vec<u64> = killed.into_iter().flatten().collect();
    if ids.contains(&me) {
        s.close = true;
    }
    if old_form {
        if ids.is_empty() {
            s.reply().error("ERR No such client")
        } else {
            s.reply().ok()
        }
    } else {
        s.reply().int(ids.len() as i64)
    }
}
