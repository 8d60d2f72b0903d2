//! Test harness: starts the real `rill-server` binary on a free port and talks to it with the `redis` crate or with
//! raw RESP bytes. The server is killed when the `Server` is dropped.
#![allow(dead_code)]

pub mod streams;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub struct Server {
    child: Child,
    pub port: u16,
}

impl Server {
    /// Starts rill with `--port 0` (it picks a free port and logs it) and the given extra arguments (a configuration
    /// file first, if any), and waits for its "Ready to accept connections" line.
    ///
    /// With `RILL_TEST_AGAINST_REDIS=1` in the environment it starts `/usr/bin/redis-server` instead, so that a test's
    /// expectations can be checked against real Redis (see `against_redis`).
    pub fn start(args: &[&str]) -> Server {
        if against_redis() {
            return Server::start_redis(args);
        }
        // A configuration file comes first, as with redis-server; the options follow.
        let (file, args) = match args.split_first() {
            Some((f, rest)) if !f.starts_with('-') => (Some(*f), rest),
            _ => (None, args),
        };
        let mut child = Command::new(env!("CARGO_BIN_EXE_rill-server"))
            .args(file)
            .args(["--port", "0", "--loglevel", "notice"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start rill-server");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut port = None;
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(rest) = line.split("Listening on ").nth(1) {
                    port = rest.trim().rsplit(':').next().and_then(|p| p.parse::<u16>().ok());
                }
                if line.contains("Ready to accept connections") {
                    let _ = tx.send(port);
                }
            }
        });
        let port = rx
            .recv_timeout(Duration::from_secs(20))
            .expect("rill-server did not become ready")
            .expect("rill-server did not log its port");
        Server { child, port }
    }

    /// Starts `/usr/bin/redis-server` on a free port, without persistence. The rill-only options `--shards n` and
    /// `--connection-migration v` are dropped; the other arguments are passed on.
    fn start_redis(args: &[&str]) -> Server {
        let mut kept = Vec::new();
        let mut args = args.iter();
        while let Some(a) = args.next() {
            match *a {
                "--shards" | "--connection-migration" => {
                    args.next();
                }
                a => kept.push(a),
            }
        }
        for _ in 0..10 {
            let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().unwrap().port();
            let mut child = Command::new("/usr/bin/redis-server")
                .args(&kept)
                .args(["--port", &port.to_string(), "--save", "", "--appendonly", "no"])
                .stdout(Stdio::piped())
                .spawn()
                .expect("start redis-server");
            let stdout = child.stdout.take().expect("stdout");
            let (tx, rx) = mpsc::channel();
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                    if line.contains("Ready to accept connections") {
                        let _ = tx.send(());
                    }
                }
            });
            match rx.recv_timeout(Duration::from_secs(20)) {
                Ok(()) => return Server { child, port },
                // It exited: another test's server took the port in the meantime; try another.
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let _ = child.wait();
                }
                Err(e) => panic!("redis-server did not become ready: {e}"),
            }
        }
        panic!("redis-server found no free port");
    }

    /// Starts rill with `--shards n`.
    pub fn with_shards(n: usize) -> Server {
        Server::start(&["--shards", &n.to_string()])
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// A `redis` crate connection (RESP2).
    pub fn client(&self) -> redis::Connection {
        let c = redis::Client::open(self.url()).expect("client");
        c.get_connection_with_timeout(Duration::from_secs(10)).expect("connect")
    }

    /// A `redis` crate connection speaking RESP3.
    pub fn client3(&self) -> redis::Connection {
        let c = redis::Client::open(format!("{}?protocol=resp3", self.url())).expect("client");
        c.get_connection_with_timeout(Duration::from_secs(10)).expect("connect")
    }

    /// A raw socket for byte-exact protocol tests.
    pub fn raw(&self) -> Raw {
        let s = TcpStream::connect(("127.0.0.1", self.port)).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.set_nodelay(true).unwrap();
        Raw { s, buf: Vec::new() }
    }

    /// Whether the process is still running.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Waits for the process to exit by itself (SHUTDOWN); true if it did within the time.
    pub fn wait_exit(&mut self, within: Duration) -> bool {
        let deadline = std::time::Instant::now() + within;
        while std::time::Instant::now() < deadline {
            if !self.alive() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// True when `RILL_TEST_AGAINST_REDIS=1`: the tests run against `/usr/bin/redis-server` (Redis 7.0 here) rather than
/// rill. Tests of behaviour newer than that Redis check it to skip themselves.
pub fn against_redis() -> bool {
    std::env::var("RILL_TEST_AGAINST_REDIS").is_ok_and(|v| v == "1")
}

/// Runs a command through the `redis` crate and returns its value.
pub fn q<T: redis::FromRedisValue>(con: &mut redis::Connection, args: &[&str]) -> T {
    let mut c = redis::cmd(args[0]);
    for a in &args[1..] {
        c.arg(*a);
    }
    c.query(con).unwrap_or_else(|e| panic!("{args:?}: {e}"))
}

/// Runs a command expected to fail and returns the error text as the server sent it (code and message).
pub fn err(con: &mut redis::Connection, args: &[&str]) -> String {
    let mut c = redis::cmd(args[0]);
    for a in &args[1..] {
        c.arg(*a);
    }
    match c.query::<redis::Value>(con) {
        Ok(v) => panic!("{args:?} should fail, got {v:?}"),
        Err(e) => match (e.code(), e.detail()) {
            (Some(code), Some(detail)) => format!("{code} {detail}"),
            (Some(code), None) => code.to_string(),
            _ => e.to_string(),
        },
    }
}

/// A raw connection: send bytes, read whole RESP replies.
pub struct Raw {
    pub s: TcpStream,
    buf: Vec<u8>,
}

impl Raw {
    pub fn send(&mut self, bytes: &[u8]) {
        self.s.write_all(bytes).expect("write");
    }

    /// Sends a command as a multibulk request.
    pub fn cmd(&mut self, args: &[&[u8]]) {
        let mut out = format!("*{}\r\n", args.len()).into_bytes();
        for a in args {
            out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            out.extend_from_slice(a);
            out.extend_from_slice(b"\r\n");
        }
        self.send(&out);
    }

    fn fill(&mut self) -> bool {
        let mut chunk = [0u8; 65536];
        match self.s.read(&mut chunk) {
            Ok(0) | Err(_) => false,
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                true
            }
        }
    }

    /// Reads exactly one complete reply (any RESP2/RESP3 type) and returns its bytes.
    pub fn reply(&mut self) -> Vec<u8> {
        loop {
            if let Some(n) = reply_len(&self.buf, 0) {
                return self.buf.drain(..n).collect();
            }
            assert!(self.fill(), "connection closed or timed out; have {:?}", String::from_utf8_lossy(&self.buf));
        }
    }

    /// Asserts the next reply is exactly `expected`.
    pub fn expect(&mut self, expected: &[u8]) {
        let got = self.reply();
        assert_eq!(String::from_utf8_lossy(&got), String::from_utf8_lossy(expected));
    }

    /// True when the server has closed the connection (after draining anything pending).
    pub fn closed(&mut self) -> bool {
        loop {
            let mut chunk = [0u8; 4096];
            match self.s.read(&mut chunk) {
                Ok(0) => return true,
                Ok(_) => continue,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock || e.kind() == std::io::ErrorKind::TimedOut => {
                    return false
                }
                Err(_) => return true,
            }
        }
    }
}

/// Length of the complete RESP value starting at `at`, or None if incomplete.
fn reply_len(b: &[u8], at: usize) -> Option<usize> {
    let line_end = at + b.get(at..)?.windows(2).position(|w| w == b"\r\n")?;
    let line = std::str::from_utf8(&b[at + 1..line_end]).ok()?;
    let after = line_end + 2;
    match b[at] {
        b'+' | b'-' | b':' | b',' | b'#' | b'_' | b'(' => Some(after - at),
        b'$' | b'=' | b'!' => {
            let n: i64 = line.parse().ok()?;
            if n < 0 {
                return Some(after - at);
            }
            let end = after + n as usize + 2;
            (b.len() >= end).then_some(end - at)
        }
        b'*' | b'~' | b'>' | b'%' | b'|' => {
            let n: i64 = line.parse().ok()?;
            if n < 0 {
                return Some(after - at);
            }
            let items = if matches!(b[at], b'%' | b'|') { 2 * n } else { n };
            let mut pos = after;
            for _ in 0..items {
                pos += reply_len(b, pos)?;
            }
            Some(pos - at)
        }
        _ => panic!("not RESP: {:?}", String::from_utf8_lossy(&b[at..])),
    }
}

impl Server {
    /// The server's process id, to read its /proc/<pid>/status.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

/// Resident memory of a process in KiB (VmRSS in /proc/<pid>/status).
pub fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("read /proc status");
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).expect("VmRSS line");
    line.split_whitespace().nth(1).and_then(|n| n.parse().ok()).expect("VmRSS value")
}

/// `n` key names with the given prefix, each on a different shard of a four-shard server.
pub fn spread(prefix: &str, n: usize) -> Vec<String> {
    let mut keys: Vec<String> = Vec::new();
    for i in 0.. {
        let k = format!("{prefix}{i}");
        if keys
            .iter()
            .all(|o| rill::shard::slot::key_shard(o.as_bytes(), 4) != rill::shard::slot::key_shard(k.as_bytes(), 4))
        {
            keys.push(k);
            if keys.len() == n {
                break;
            }
        }
    }
    keys
}

pub fn blocked_clients(c: &mut redis::Connection) -> usize {
    let info: String = q(c, &["INFO", "clients"]);
    let line = info.lines().find(|l| l.starts_with("blocked_clients:")).expect("blocked_clients line");
    line["blocked_clients:".len()..].trim().parse().expect("a count")
}

/// Polls INFO until exactly `n` clients are blocked (bounded: fails after 10 s).
pub fn wait_blocked(c: &mut redis::Connection, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let now = blocked_clients(c);
        if now == n {
            return;
        }
        assert!(Instant::now() < deadline, "expected {n} blocked clients, have {now}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Races `writers` threads, each calling `write(connection, writer, round)` for `rounds` rounds, against `readers`
/// threads calling `read(connection)` as often, every thread on a connection of its own (so on several shard
/// threads); returns when all are done, and fails the test if any assertion in them failed.
pub fn race<W, R>(s: &Server, writers: usize, readers: usize, rounds: usize, write: W, read: R)
where
    W: Fn(&mut redis::Connection, usize, usize) + Send + Sync + 'static,
    R: Fn(&mut redis::Connection) + Send + Sync + 'static,
{
    let (write, read) = (std::sync::Arc::new(write), std::sync::Arc::new(read));
    let mut handles = Vec::new();
    for w in 0..writers {
        let (mut c, write) = (s.client(), write.clone());
        handles.push(std::thread::spawn(move || (0..rounds).for_each(|i| write(&mut c, w, i))));
    }
    for _ in 0..readers {
        let (mut c, read) = (s.client(), read.clone());
        handles.push(std::thread::spawn(move || (0..rounds).for_each(|_| read(&mut c))));
    }
    for h in handles {
        h.join().expect("a racing thread failed");
    }
}

pub fn bulk(s: &str) -> redis::Value {
    redis::Value::BulkString(s.as_bytes().to_vec())
}

/// A `[key, value]` reply, as BLPOP & co give.
pub fn pair(k: &str, v: &str) -> redis::Value {
    redis::Value::Array(vec![bulk(k), bulk(v)])
}

/// Runs a command on a fresh connection (first selecting `db`) in a thread; the handle yields its reply (or error
/// text). For commands that block: a wake that never comes fails the test after 20 s instead of hanging it.
pub fn spawn_in(s: &Server, db: u32, args: &[&str]) -> std::thread::JoinHandle<Result<redis::Value, String>> {
    let mut c = s.client();
    c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    if db != 0 {
        let _: () = q(&mut c, &["SELECT", &db.to_string()]);
    }
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    std::thread::spawn(move || {
        let mut cmd = redis::cmd(&args[0]);
        for a in &args[1..] {
            cmd.arg(a);
        }
        cmd.query::<redis::Value>(&mut c)
            .map_err(|e| format!("{} {}", e.code().unwrap_or("?"), e.detail().unwrap_or("")))
    })
}

/// `spawn_in` on database 0.
pub fn spawn_cmd(s: &Server, args: &[&str]) -> std::thread::JoinHandle<Result<redis::Value, String>> {
    spawn_in(s, 0, args)
}
