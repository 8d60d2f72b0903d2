//! Stream load tool for benches/streams.sh: fills a stream, reads it into a consumer group, deletes half of it,
//! runs producers against a consumer group, and measures XADD-to-XREADGROUP latency at a paced rate.
//!
//! A `harness = false` bench so that `cargo bench` builds it with the release profile, but it is a load tool, not
//! a test: it talks to a server that is already running, rill or redis-server alike, in raw RESP2 over std's
//! `TcpStream` (no client library in the figures). Every subcommand works on one stream key, deletes it first
//! (except `readgroup` and `xdel-half`, which work on what `fill` left), and ends with a `RESULT key=value ...` line
//! for scripts; it exits 1 on an error reply, a wrong count, a lost or duplicated message, or the time limit.
//!
//! ```text
//! cargo bench --bench streams -- SUBCOMMAND --port P [--host 127.0.0.1] [--key rill-bench:stream]
//!                                [--time-limit 120] [--pid SERVER_PID] [options]
//!
//! probe                 one round of every command the benchmarks use; says which one the server refuses
//! fill                  [--n 1000000] [--value-size 16] [--pipeline 1000]
//!                       DEL, then N x `XADD key * f1 <value> f2 <value>` (distinct letter values), pipelined
//! readgroup             [--group g] [--consumer c] [--count 1000] [--expect N]
//!                       XGROUP CREATE key g 0, then `XREADGROUP GROUP g c COUNT 1000 STREAMS key >` until
//!                       nothing is left, without XACK (everything stays pending)
//! xdel-half             [--chunk 1000] [--batch 1000]
//!                       XRANGE the whole stream in chunks, then XDEL every other ID, --batch IDs per command
//! consume               [--producers 4] [--consumers 4] [--messages 400000] [--count 10] [--block 100]
//!                       [--value-size 16] [--group g]
//!                       producers XADD one message per round trip, consumers in one group loop on
//!                       `XREADGROUP GROUP g cN COUNT 10 BLOCK 100 STREAMS key >` then XACK what they got
//! latency               [--rate 10000] [--secs 3] [--count 100] [--group g]
//!                       one producer paced at --rate msg/s puts its send time in each entry; one consumer
//!                       waits in `XREADGROUP ... COUNT 100 BLOCK 0`, sending its XACK with the next XREADGROUP
//! ```
//!
//! With `--pid`, `consume` and `latency` also report the server's CPU time (utime+stime of /proc/PID/stat) over the
//! measured window, per message. Timestamps are nanoseconds since an `Instant` shared by the threads of this
//! process, so the latency needs no clock agreement with anything else.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::TcpStream;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

const USAGE: &str = "usage: streams probe|fill|readgroup|xdel-half|consume|latency --port P [--host H] [--key K] \
                     [--time-limit SECS] [--pid SERVER_PID] [options]; see the top of benches/streams.rs";

// --- options -------------------------------------------------------------------------------------------------------

/// Options every subcommand takes.
#[derive(Clone)]
struct Common {
    host: String,
    port: u16,
    key: String,
    /// The server's pid, for its CPU time; 0 when not given.
    pid: u32,
    /// Bounds the run: every read from the server times out after this long, and the loops stop at it.
    time_limit: Duration,
}

/// `--name value` pairs. Each subcommand takes the ones it knows; any left over are an error.
struct Args(HashMap<String, String>);

impl Args {
    fn parse(args: impl Iterator<Item = String>) -> Result<Args, String> {
        let mut map = HashMap::new();
        let mut args = args;
        while let Some(flag) = args.next() {
            let name = flag.strip_prefix("--").ok_or_else(|| format!("expected an option, got {flag}\n{USAGE}"))?;
            let value = args.next().ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
            map.insert(name.to_string(), value);
        }
        Ok(Args(map))
    }

    fn text(&mut self, name: &str, default: &str) -> String {
        self.0.remove(name).unwrap_or_else(|| default.to_string())
    }

    fn num(&mut self, name: &str, default: u64) -> Result<u64, String> {
        match self.0.remove(name) {
            None => Ok(default),
            Some(v) => v.parse().map_err(|_| format!("--{name}: not a number: {v}")),
        }
    }

    /// Like `num`, but 0 is refused.
    fn positive(&mut self, name: &str, default: u64) -> Result<u64, String> {
        match self.num(name, default)? {
            0 => Err(format!("--{name} must be at least 1")),
            n => Ok(n),
        }
    }

    fn common(&mut self) -> Result<Common, String> {
        let port = self.num("port", 0)?;
        if port == 0 || port > u16::MAX as u64 {
            return Err(format!("--port is required (1..65535)\n{USAGE}"));
        }
        Ok(Common {
            host: self.text("host", "127.0.0.1"),
            port: port as u16,
            key: self.text("key", "rill-bench:stream"),
            pid: u32::try_from(self.num("pid", 0)?).map_err(|_| "--pid out of range".to_string())?,
            time_limit: Duration::from_secs(self.positive("time-limit", 120)?),
        })
    }

    /// Called by each subcommand once it has taken its options, before it sends anything.
    fn done(&self) -> Result<(), String> {
        match self.0.keys().next() {
            Some(k) => Err(format!("unknown option --{k} for this subcommand\n{USAGE}")),
            None => Ok(()),
        }
    }
}

// --- RESP ----------------------------------------------------------------------------------------------------------

/// A RESP2 reply.
#[derive(Debug)]
enum Reply {
    Status(Vec<u8>),
    Error(String),
    Int(i64),
    Bulk(Option<Vec<u8>>),
    Array(Option<Vec<Reply>>),
}

impl Reply {
    fn is_nil(&self) -> bool {
        matches!(self, Reply::Bulk(None) | Reply::Array(None))
    }
}

/// One connection: commands are appended to `out` by `push` and sent by `flush`, so a caller pipelines by pushing
/// several before flushing, then reads one reply per command.
struct Conn {
    w: TcpStream,
    r: BufReader<TcpStream>,
    out: Vec<u8>,
    line: Vec<u8>,
    limit: Duration,
}

impl Conn {
    fn open(c: &Common) -> Result<Conn, String> {
        let addr = format!("{}:{}", c.host, c.port);
        let s = TcpStream::connect(&addr).map_err(|e| format!("connect to {addr}: {e}"))?;
        s.set_nodelay(true).map_err(|e| format!("nodelay: {e}"))?;
        s.set_read_timeout(Some(c.time_limit)).map_err(|e| format!("read timeout: {e}"))?;
        let r = BufReader::with_capacity(1 << 16, s.try_clone().map_err(|e| format!("clone socket: {e}"))?);
        Ok(Conn { w: s, r, out: Vec::with_capacity(1 << 16), line: Vec::new(), limit: c.time_limit })
    }

    fn push(&mut self, args: &[&[u8]]) {
        let o = &mut self.out;
        o.push(b'*');
        o.extend_from_slice(args.len().to_string().as_bytes());
        o.extend_from_slice(b"\r\n");
        for a in args {
            o.push(b'$');
            o.extend_from_slice(a.len().to_string().as_bytes());
            o.extend_from_slice(b"\r\n");
            o.extend_from_slice(a);
            o.extend_from_slice(b"\r\n");
        }
    }

    fn flush(&mut self) -> Result<(), String> {
        self.w.write_all(&self.out).map_err(|e| format!("write: {e}"))?;
        self.out.clear();
        Ok(())
    }

    fn io_err(&self, e: std::io::Error) -> String {
        match e.kind() {
            ErrorKind::WouldBlock | ErrorKind::TimedOut => {
                format!("no reply within {} s (--time-limit)", self.limit.as_secs())
            }
            _ => format!("read: {e}"),
        }
    }

    /// The next reply, error replies included.
    fn read(&mut self) -> Result<Reply, String> {
        self.line.clear();
        let n = self.r.read_until(b'\n', &mut self.line).map_err(|e| self.io_err(e))?;
        if n == 0 {
            return Err("the server closed the connection".into());
        }
        if n < 3 || !self.line.ends_with(b"\r\n") {
            return Err(format!("protocol error: {:?}", String::from_utf8_lossy(&self.line)));
        }
        let body = &self.line[1..n - 2];
        let int = || -> Result<i64, String> {
            std::str::from_utf8(body)
                .ok()
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| format!("protocol error: bad number {:?}", String::from_utf8_lossy(body)))
        };
        Ok(match self.line[0] {
            b'+' => Reply::Status(body.to_vec()),
            b'-' => Reply::Error(String::from_utf8_lossy(body).into_owned()),
            b':' => Reply::Int(int()?),
            b'$' => {
                let len = int()?;
                if len < 0 {
                    return Ok(Reply::Bulk(None));
                }
                let mut buf = vec![0u8; len as usize + 2];
                self.r.read_exact(&mut buf).map_err(|e| self.io_err(e))?;
                if !buf.ends_with(b"\r\n") {
                    return Err("protocol error: bulk string not ended by CRLF".into());
                }
                buf.truncate(len as usize);
                Reply::Bulk(Some(buf))
            }
            b'*' => {
                let len = int()?;
                if len < 0 {
                    return Ok(Reply::Array(None));
                }
                let mut v = Vec::with_capacity(len as usize);
                for _ in 0..len {
                    v.push(self.read()?);
                }
                Reply::Array(Some(v))
            }
            other => return Err(format!("protocol error: unexpected reply type {:?}", other as char)),
        })
    }

    /// The next reply; an error reply becomes an `Err` that names the command.
    fn read_ok(&mut self, cmd: &str) -> Result<Reply, String> {
        match self.read()? {
            Reply::Error(e) => Err(format!("{cmd}: the server replied -{e}")),
            r => Ok(r),
        }
    }

    /// One command, one reply.
    fn call(&mut self, args: &[&[u8]]) -> Result<Reply, String> {
        self.push(args);
        self.flush()?;
        self.read_ok(&String::from_utf8_lossy(args[0]))
    }

    fn call_int(&mut self, args: &[&[u8]]) -> Result<i64, String> {
        match self.call(args)? {
            Reply::Int(n) => Ok(n),
            r => Err(format!("{}: expected an integer, got {r:?}", String::from_utf8_lossy(args[0]))),
        }
    }

    fn call_ok(&mut self, args: &[&[u8]]) -> Result<(), String> {
        match self.call(args)? {
            Reply::Status(s) if s == b"OK" => Ok(()),
            r => Err(format!("{}: expected +OK, got {r:?}", String::from_utf8_lossy(args[0]))),
        }
    }
}

/// An XADD reply: the new entry's ID.
fn added_id(r: Reply) -> Result<Vec<u8>, String> {
    match r {
        Reply::Bulk(Some(id)) => Ok(id),
        r => Err(format!("XADD: expected the new ID, got {r:?}")),
    }
}

/// One stream entry: its ID and its field/value list (empty for an entry deleted while pending).
struct Entry {
    id: Vec<u8>,
    fields: Vec<Reply>,
}

impl Entry {
    fn field(&self, name: &[u8]) -> Option<&[u8]> {
        self.fields.chunks(2).find_map(|kv| match kv {
            [Reply::Bulk(Some(k)), Reply::Bulk(Some(v))] if k == name => Some(&v[..]),
            _ => None,
        })
    }
}

/// The entries of an XRANGE reply.
fn range_entries(r: Reply) -> Result<Vec<Entry>, String> {
    let Reply::Array(Some(items)) = r else { return Err(format!("expected an array of entries, got {r:?}")) };
    items
        .into_iter()
        .map(|e| match e {
            Reply::Array(Some(mut pair)) if pair.len() == 2 => {
                let fields = match pair.pop() {
                    Some(Reply::Array(Some(f))) => f,
                    Some(Reply::Array(None)) | Some(Reply::Bulk(None)) => Vec::new(),
                    other => return Err(format!("expected an entry's fields, got {other:?}")),
                };
                match pair.pop() {
                    Some(Reply::Bulk(Some(id))) => Ok(Entry { id, fields }),
                    other => Err(format!("expected an entry ID, got {other:?}")),
                }
            }
            other => Err(format!("expected an [id, fields] entry, got {other:?}")),
        })
        .collect()
}

/// The entries of an XREAD/XREADGROUP reply on one stream; none for a nil reply (BLOCK timed out, or nothing new).
fn read_entries(r: Reply) -> Result<Vec<Entry>, String> {
    match r {
        r if r.is_nil() => Ok(Vec::new()),
        Reply::Array(Some(mut streams)) if streams.len() == 1 => match streams.pop() {
            Some(Reply::Array(Some(mut kv))) if kv.len() == 2 => range_entries(kv.pop().unwrap()),
            other => Err(format!("expected [key, entries], got {other:?}")),
        },
        r => Err(format!("expected the entries of one stream, got {r:?}")),
    }
}

/// The ID just after `id` ("ms-seq"), for the next XRANGE chunk to start after it.
fn next_id(id: &[u8]) -> Result<Vec<u8>, String> {
    let s = std::str::from_utf8(id).map_err(|_| "non-UTF-8 ID".to_string())?;
    let (ms, seq) = s.split_once('-').ok_or_else(|| format!("bad ID {s}"))?;
    let (ms, seq): (u64, u64) = (ms.parse().map_err(|_| format!("bad ID {s}"))?, seq.parse().unwrap_or(u64::MAX));
    Ok(if seq == u64::MAX { format!("{}-0", ms + 1) } else { format!("{ms}-{}", seq + 1) }.into_bytes())
}

// --- measuring -----------------------------------------------------------------------------------------------------

/// The server's CPU time so far in nanoseconds (utime + stime of /proc/PID/stat), or 0 without `--pid`.
fn cpu_ns(pid: u32, clk_tck: u64) -> u64 {
    if pid == 0 {
        return 0;
    }
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { return 0 };
    let Some(end) = stat.rfind(')') else { return 0 };
    let f: Vec<u64> = stat[end + 2..].split(' ').map(|x| x.parse().unwrap_or(0)).collect();
    // utime and stime, fields 14 and 15 of the line, are 11 and 12 after the state field (comm may hold spaces).
    (f[11] + f[12]) * 1_000_000_000 / clk_tck
}

fn clock_ticks(pid: u32) -> u64 {
    if pid == 0 {
        return 100;
    }
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100)
}

/// Nearest-rank percentile of a sorted slice.
fn pct(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Distinct values of `size` bytes: `i` in base 52 with letters, padded (as benches/memory.sh does), so that no
/// layer can share or number-encode them.
fn letters(i: u64, size: usize, out: &mut Vec<u8>) {
    const L: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    out.clear();
    let mut x = i;
    for _ in 0..size {
        out.push(L[(x % 52) as usize]);
        x /= 52;
    }
}

// --- subcommands ---------------------------------------------------------------------------------------------------

fn probe(c: &Common, a: &mut Args) -> Result<String, String> {
    a.done()?;
    let mut s = Conn::open(c)?;
    let key = c.key.as_bytes();
    let key2 = format!("{}:probe", c.key);
    let key2 = key2.as_bytes();
    s.call(&[b"DEL", key, key2])?;
    let id = added_id(s.call(&[b"XADD", key, b"*", b"f", b"v"])?)?;
    if s.call_int(&[b"XLEN", key])? != 1 {
        return Err("XLEN: expected 1 after one XADD".into());
    }
    s.call_ok(&[b"XGROUP", b"CREATE", key, b"g", b"0"])?;
    s.call_ok(&[b"XGROUP", b"CREATE", key2, b"g", b"$", b"MKSTREAM"])?;
    let got = read_entries(s.call(&[b"XREADGROUP", b"GROUP", b"g", b"c", b"COUNT", b"10", b"STREAMS", key, b">"])?)?;
    if got.len() != 1 || got[0].id != id || got[0].field(b"f") != Some(b"v") {
        return Err("XREADGROUP: expected the one entry added".into());
    }
    if s.call_int(&[b"XACK", key, b"g", &id])? != 1 {
        return Err("XACK: expected 1".into());
    }
    let t = Instant::now();
    let r = s.call(&[b"XREADGROUP", b"GROUP", b"g", b"c", b"COUNT", b"10", b"BLOCK", b"50", b"STREAMS", key, b">"])?;
    if !r.is_nil() || t.elapsed() < Duration::from_millis(40) {
        return Err(format!("XREADGROUP BLOCK 50: expected nil after 50 ms, got {r:?} after {:?}", t.elapsed()));
    }
    added_id(s.call(&[b"XADD", key, b"MAXLEN", b"~", b"1000", b"*", b"f", b"v"])?)?;
    let all = range_entries(s.call(&[b"XRANGE", key, b"-", b"+", b"COUNT", b"10"])?)?;
    if all.len() != 2 {
        return Err(format!("XRANGE: expected 2 entries, got {}", all.len()));
    }
    let from = next_id(&all[0].id)?;
    if range_entries(s.call(&[b"XRANGE", key, &from, b"+", b"COUNT", b"10"])?)?.len() != 1 {
        return Err("XRANGE from the ID after the first: expected 1 entry".into());
    }
    if s.call_int(&[b"XDEL", key, &id])? != 1 {
        return Err("XDEL: expected 1".into());
    }
    match s.call(&[b"XPENDING", key, b"g"])? {
        Reply::Array(Some(v)) if matches!(v.first(), Some(Reply::Int(0))) => {}
        r => return Err(format!("XPENDING: expected a summary with 0 pending, got {r:?}")),
    }
    s.call(&[b"DEL", key, key2])?;
    Ok("probe ok: XADD [MAXLEN ~], XLEN, XGROUP CREATE [MKSTREAM], XREADGROUP [BLOCK], XACK, XRANGE, XDEL, XPENDING"
        .into())
}

fn fill(c: &Common, a: &mut Args) -> Result<String, String> {
    let n = a.positive("n", 1_000_000)?;
    let size = a.positive("value-size", 16)? as usize;
    let pipeline = a.positive("pipeline", 1000)?;
    a.done()?;
    let mut s = Conn::open(c)?;
    let key = c.key.as_bytes();
    s.call(&[b"DEL", key])?;
    let (mut v1, mut v2) = (Vec::new(), Vec::new());
    let t = Instant::now();
    let mut i = 0;
    while i < n {
        let k = pipeline.min(n - i);
        for j in i..i + k {
            letters(2 * j, size, &mut v1);
            letters(2 * j + 1, size, &mut v2);
            s.push(&[b"XADD", key, b"*", b"f1", &v1, b"f2", &v2]);
        }
        s.flush()?;
        for _ in 0..k {
            added_id(s.read_ok("XADD")?)?;
        }
        i += k;
        if t.elapsed() > c.time_limit {
            return Err(format!("time limit reached after {i} XADDs"));
        }
    }
    let secs = t.elapsed().as_secs_f64();
    let len = s.call_int(&[b"XLEN", key])?;
    if len != n as i64 {
        return Err(format!("XLEN is {len} after {n} XADDs"));
    }
    Ok(format!("RESULT n={n} secs={secs:.3} ops_per_s={:.0}", n as f64 / secs))
}

fn readgroup(c: &Common, a: &mut Args) -> Result<String, String> {
    let group = a.text("group", "g");
    let consumer = a.text("consumer", "c");
    let count = a.positive("count", 1000)?.to_string();
    let expect = a.num("expect", 0)?;
    a.done()?;
    let mut s = Conn::open(c)?;
    let key = c.key.as_bytes();
    s.call_ok(&[b"XGROUP", b"CREATE", key, group.as_bytes(), b"0"])?;
    let cmd: [&[u8]; 9] = [
        b"XREADGROUP",
        b"GROUP",
        group.as_bytes(),
        consumer.as_bytes(),
        b"COUNT",
        count.as_bytes(),
        b"STREAMS",
        key,
        b">",
    ];
    let t = Instant::now();
    let mut read = 0u64;
    loop {
        let got = read_entries(s.call(&cmd)?)?.len() as u64;
        if got == 0 {
            break;
        }
        read += got;
        if t.elapsed() > c.time_limit {
            return Err(format!("time limit reached after reading {read} entries"));
        }
    }
    let secs = t.elapsed().as_secs_f64();
    if expect > 0 && read != expect {
        return Err(format!("read {read} entries, expected {expect}"));
    }
    Ok(format!("RESULT read={read} secs={secs:.3}"))
}

fn xdel_half(c: &Common, a: &mut Args) -> Result<String, String> {
    let chunk = a.positive("chunk", 1000)?.to_string();
    let batch = a.positive("batch", 1000)? as usize;
    a.done()?;
    let mut s = Conn::open(c)?;
    let key = c.key.as_bytes();
    let t = Instant::now();
    let (mut start, mut seen, mut doomed) = (b"-".to_vec(), 0u64, Vec::new());
    loop {
        let got = range_entries(s.call(&[b"XRANGE", key, &start, b"+", b"COUNT", chunk.as_bytes()])?)?;
        let Some(last) = got.last() else { break };
        start = next_id(&last.id)?;
        for e in got {
            if seen % 2 == 1 {
                doomed.push(e.id);
            }
            seen += 1;
        }
        if t.elapsed() > c.time_limit {
            return Err(format!("time limit reached after reading {seen} IDs"));
        }
    }
    let mut deleted = 0;
    for ids in doomed.chunks(batch) {
        let mut args: Vec<&[u8]> = vec![b"XDEL", key];
        args.extend(ids.iter().map(|id| &id[..]));
        deleted += s.call_int(&args)?;
    }
    let secs = t.elapsed().as_secs_f64();
    if deleted != doomed.len() as i64 {
        return Err(format!("XDEL deleted {deleted} of {} IDs", doomed.len()));
    }
    let len = s.call_int(&[b"XLEN", key])?;
    if len != (seen - doomed.len() as u64) as i64 {
        return Err(format!("XLEN is {len} after deleting {deleted} of {seen}"));
    }
    Ok(format!("RESULT seen={seen} deleted={deleted} secs={secs:.3}"))
}

/// State shared by the threads of `consume`.
struct Shared {
    epoch: Instant,
    delivered: AtomicU64,
    /// Nanos since `epoch` of the last delivery: the end of the throughput window, which leaves out the up to
    /// `--block` ms that idle consumers sit out before they notice the run is over.
    last_ns: AtomicU64,
    stop: AtomicBool,
}

fn consume(c: &Common, a: &mut Args) -> Result<String, String> {
    let producers = a.positive("producers", 4)?;
    let consumers = a.positive("consumers", 4)?;
    let messages = a.positive("messages", 400_000)?;
    let count = a.positive("count", 10)?.to_string();
    let block = a.num("block", 100)?.to_string();
    let size = a.positive("value-size", 16)?.max(8) as usize;
    let group = a.text("group", "g");
    a.done()?;
    let key = c.key.clone();
    let mut admin = Conn::open(c)?;
    admin.call(&[b"DEL", key.as_bytes()])?;
    admin.call_ok(&[b"XGROUP", b"CREATE", key.as_bytes(), group.as_bytes(), b"$", b"MKSTREAM"])?;
    let conns = (0..producers + consumers).map(|_| Conn::open(c)).collect::<Result<Vec<_>, _>>()?;
    let sh = Arc::new(Shared {
        epoch: Instant::now(),
        delivered: AtomicU64::new(0),
        last_ns: AtomicU64::new(0),
        stop: AtomicBool::new(false),
    });
    let go = Arc::new(Barrier::new((producers + consumers) as usize + 1));
    let limit = c.time_limit;
    let mut threads = Vec::new();
    for (i, mut s) in conns.into_iter().enumerate() {
        let (sh, go, key, group, count, block) =
            (sh.clone(), go.clone(), key.clone(), group.clone(), count.clone(), block.clone());
        let producer = (i as u64) < producers;
        threads.push(thread::spawn(move || -> Result<Vec<u64>, String> {
            go.wait();
            let key = key.as_bytes();
            let r = (|| {
                let mut got = Vec::new();
                if producer {
                    // Messages i, i + producers, ...: each number is sent once over all producers.
                    for m in (i as u64..messages).step_by(producers as usize) {
                        if sh.stop.load(Ordering::Relaxed) {
                            break;
                        }
                        let v = format!("{m:0size$}");
                        added_id(s.call(&[b"XADD", key, b"*", b"m", v.as_bytes()])?)?;
                    }
                    return Ok(got);
                }
                let me = format!("c{}", i as u64 - producers);
                let cmd: [&[u8]; 11] = [
                    b"XREADGROUP",
                    b"GROUP",
                    group.as_bytes(),
                    me.as_bytes(),
                    b"COUNT",
                    count.as_bytes(),
                    b"BLOCK",
                    block.as_bytes(),
                    b"STREAMS",
                    key,
                    b">",
                ];
                while sh.delivered.load(Ordering::Relaxed) < messages && !sh.stop.load(Ordering::Relaxed) {
                    if sh.epoch.elapsed() > limit {
                        return Err(format!(
                            "time limit reached with {} delivered",
                            sh.delivered.load(Ordering::Relaxed)
                        ));
                    }
                    let entries = read_entries(s.call(&cmd)?)?;
                    if entries.is_empty() {
                        continue;
                    }
                    let mut ack: Vec<&[u8]> = vec![b"XACK", key, group.as_bytes()];
                    for e in &entries {
                        let m = e.field(b"m").and_then(|v| std::str::from_utf8(v).ok()).and_then(|v| v.parse().ok());
                        got.push(m.ok_or_else(|| "an entry without its message number".to_string())?);
                        ack.push(&e.id);
                    }
                    let acked = s.call_int(&ack)?;
                    if acked != entries.len() as i64 {
                        return Err(format!("XACK acknowledged {acked} of {}", entries.len()));
                    }
                    sh.delivered.fetch_add(entries.len() as u64, Ordering::Relaxed);
                    sh.last_ns.fetch_max(sh.epoch.elapsed().as_nanos() as u64, Ordering::Relaxed);
                }
                Ok(got)
            })();
            if r.is_err() {
                sh.stop.store(true, Ordering::Relaxed);
            }
            r
        }));
    }
    let clk = clock_ticks(c.pid);
    let cpu0 = cpu_ns(c.pid, clk);
    go.wait();
    let t0 = sh.epoch.elapsed().as_nanos() as u64;
    let mut errors = Vec::new();
    let mut ids = Vec::with_capacity(messages as usize);
    for h in threads {
        match h.join().expect("thread panicked") {
            Ok(got) => ids.extend(got),
            Err(e) => errors.push(e),
        }
    }
    let cpu = cpu_ns(c.pid, clk).saturating_sub(cpu0);
    let secs = (sh.last_ns.load(Ordering::Relaxed).saturating_sub(t0)) as f64 / 1e9;
    if let Some(e) = errors.first() {
        return Err(e.clone());
    }
    ids.sort_unstable();
    let dups = ids.windows(2).filter(|w| w[0] == w[1]).count() as u64;
    let lost = messages.saturating_sub(ids.len() as u64 - dups);
    if dups > 0 || lost > 0 {
        return Err(format!("{lost} messages lost, {dups} delivered twice"));
    }
    match admin.call(&[b"XPENDING", key.as_bytes(), group.as_bytes()])? {
        Reply::Array(Some(v)) if matches!(v.first(), Some(Reply::Int(0))) => {}
        r => return Err(format!("XPENDING after the run: expected 0 pending, got {r:?}")),
    }
    admin.call(&[b"DEL", key.as_bytes()])?;
    let n = ids.len() as f64;
    Ok(format!(
        "RESULT messages={} secs={secs:.3} msgs_per_s={:.0} cpu_us_per_msg={:.3}",
        ids.len(),
        n / secs,
        cpu as f64 / 1e3 / n
    ))
}

fn latency(c: &Common, a: &mut Args) -> Result<String, String> {
    let rate = a.positive("rate", 10_000)?;
    let secs = a.positive("secs", 3)?;
    let count = a.positive("count", 100)?.to_string();
    let group = a.text("group", "g");
    a.done()?;
    let total = rate * secs;
    let key = c.key.clone();
    let mut admin = Conn::open(c)?;
    admin.call(&[b"DEL", key.as_bytes()])?;
    admin.call_ok(&[b"XGROUP", b"CREATE", key.as_bytes(), group.as_bytes(), b"$", b"MKSTREAM"])?;
    let (mut prod, mut cons) = (Conn::open(c)?, Conn::open(c)?);
    // To end the consumer's wait at once if the producer fails.
    let cons_sock = cons.w.try_clone().map_err(|e| format!("clone socket: {e}"))?;
    let epoch = Instant::now();
    let ready = Arc::new(Barrier::new(2));

    let consumer = {
        let (key, group, ready) = (key.clone(), group.clone(), ready.clone());
        thread::spawn(move || -> Result<Vec<u64>, String> {
            let key = key.as_bytes();
            let cmd: [&[u8]; 11] = [
                b"XREADGROUP",
                b"GROUP",
                group.as_bytes(),
                b"c",
                b"COUNT",
                count.as_bytes(),
                b"BLOCK",
                b"0",
                b"STREAMS",
                key,
                b">",
            ];
            cons.push(&cmd);
            cons.flush()?;
            ready.wait();
            let mut lat = Vec::with_capacity(total as usize);
            while (lat.len() as u64) < total {
                let entries = read_entries(cons.read_ok("XREADGROUP")?)?;
                let now = epoch.elapsed().as_nanos() as u64;
                let mut ack: Vec<&[u8]> = vec![b"XACK", key, group.as_bytes()];
                for e in &entries {
                    let sent: u64 = e
                        .field(b"t")
                        .and_then(|v| std::str::from_utf8(v).ok())
                        .and_then(|v| v.parse().ok())
                        .ok_or_else(|| "an entry without its send time".to_string())?;
                    lat.push(now.saturating_sub(sent));
                    ack.push(&e.id);
                }
                // The XACK goes out with the next XREADGROUP, so the consumer is waiting again at once.
                cons.push(&ack);
                let more = (lat.len() as u64) < total;
                if more {
                    cons.push(&cmd);
                }
                cons.flush()?;
                let acked = match cons.read_ok("XACK")? {
                    Reply::Int(n) => n,
                    r => return Err(format!("XACK: expected an integer, got {r:?}")),
                };
                if acked != entries.len() as i64 {
                    return Err(format!("XACK acknowledged {acked} of {}", entries.len()));
                }
            }
            if lat.len() as u64 != total {
                return Err(format!("received {} entries, {total} were sent", lat.len()));
            }
            Ok(lat)
        })
    };

    // Wait for the consumer's XREADGROUP to be sent, then give the server a moment to block it.
    ready.wait();
    thread::sleep(Duration::from_millis(20));
    let clk = clock_ticks(c.pid);
    let cpu0 = cpu_ns(c.pid, clk);
    let interval_ns = 1e9 / rate as f64;
    let start = Instant::now();
    let mut sent = 0u64;
    let produced: Result<(), String> = (|| {
        while sent < total {
            let el = start.elapsed().as_nanos() as f64;
            // Message i is due at i * interval: send all that are due (up to 100 in one write, if the sleeps
            // overshot), each stamped with the time of that write.
            let due = ((el / interval_ns) as u64 + 1).min(total);
            if due <= sent {
                thread::sleep(Duration::from_nanos((sent as f64 * interval_ns - el).max(0.0) as u64));
                continue;
            }
            let k = (due - sent).min(100);
            let t = (epoch.elapsed().as_nanos() as u64).to_string();
            for _ in 0..k {
                prod.push(&[b"XADD", key.as_bytes(), b"*", b"t", t.as_bytes()]);
            }
            prod.flush()?;
            for _ in 0..k {
                added_id(prod.read_ok("XADD")?)?;
            }
            sent += k;
            if start.elapsed() > c.time_limit {
                return Err(format!("time limit reached after {sent} XADDs"));
            }
        }
        Ok(())
    })();
    let send_secs = start.elapsed().as_secs_f64();
    if produced.is_err() {
        let _ = cons_sock.shutdown(std::net::Shutdown::Both);
    }
    let lat = consumer.join().expect("consumer panicked");
    let cpu = cpu_ns(c.pid, clk).saturating_sub(cpu0);
    produced?;
    let mut lat = lat?;
    admin.call(&[b"DEL", key.as_bytes()])?;
    lat.sort_unstable();
    let us = |ns: u64| ns as f64 / 1e3;
    Ok(format!(
        "RESULT rate={rate} sent={sent} achieved_per_s={:.0} p50_us={:.1} p99_us={:.1} p999_us={:.1} max_us={:.1} \
         cpu_us_per_msg={:.3}",
        sent as f64 / send_secs,
        us(pct(&lat, 50.0)),
        us(pct(&lat, 99.0)),
        us(pct(&lat, 99.9)),
        us(pct(&lat, 100.0)),
        cpu as f64 / 1e3 / sent as f64
    ))
}

fn main() -> ExitCode {
    // `cargo bench` passes `--bench` to every bench binary; it means nothing here.
    let mut argv = std::env::args().skip(1).filter(|a| a != "--bench");
    let Some(sub) = argv.next() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let parsed = Args::parse(argv).and_then(|mut a| {
        let c = a.common()?;
        Ok((a, c))
    });
    let (mut a, c) = match parsed {
        Ok(x) => x,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let run: fn(&Common, &mut Args) -> Result<String, String> = match sub.as_str() {
        "probe" => probe,
        "fill" => fill,
        "readgroup" => readgroup,
        "xdel-half" => xdel_half,
        "consume" => consume,
        "latency" => latency,
        _ => {
            eprintln!("unknown subcommand {sub}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&c, &mut a) {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{}:{} {sub}: {e}", c.host, c.port);
            ExitCode::FAILURE
        }
    }
}
