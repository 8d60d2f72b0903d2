//! The cost of one hop between shards, alone: the same cheap command (`EXISTS` of a missing key) on a key of the
//! connection's own shard and on a key of another shard, pipelined, in nanoseconds of wall time and of server CPU
//! per command. The difference is what a command pays for crossing to another shard's thread and back.
//!
//! A `harness = false` bench (built with the release profile by `cargo bench`), run against a server that is
//! already up, started with `--connection-migration no` so the connection stays where it is (see benches/hop.sh):
//!
//! ```text
//! cargo bench --bench hop -- --port P --shards N --pid PID [--ops 2000000] [--pipeline 32] [--rounds 5]
//! ```
//!
//! The last line, `RESULT home_ns=.. away_ns=.. home_cpu_ns=.. away_cpu_ns=..`, is for scripts.

use redis::Value;
use rill::shard::slot::key_shard;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::ExitCode;
use std::time::Instant;

struct Opts {
    port: u16,
    shards: usize,
    pid: u32,
    ops: usize,
    pipeline: usize,
    rounds: usize,
}

fn parse() -> Result<Opts, String> {
    let mut o = Opts { port: 0, shards: 2, pid: 0, ops: 2_000_000, pipeline: 32, rounds: 5 };
    let mut args = std::env::args().skip(1).filter(|a| a != "--bench");
    while let Some(name) = args.next() {
        let value = args.next().ok_or(format!("{name} needs a value"))?;
        let n: usize = value.parse().map_err(|_| format!("{name}: not a number: {value}"))?;
        match name.as_str() {
            "--port" => o.port = n as u16,
            "--shards" => o.shards = n,
            "--pid" => o.pid = n as u32,
            "--ops" => o.ops = n,
            "--pipeline" => o.pipeline = n.max(1),
            "--rounds" => o.rounds = n.max(1),
            _ => return Err(format!("unknown option {name}")),
        }
    }
    if o.port == 0 || o.pid == 0 || o.shards < 2 {
        return Err("usage: hop --port P --shards N(>=2) --pid PID [--ops N] [--pipeline P] [--rounds R]".into());
    }
    Ok(o)
}

/// The server's CPU time so far, in nanoseconds (utime + stime of /proc/PID/stat).
fn cpu_ns(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("server stat");
    let rest = &stat[stat.rfind(')').expect("comm") + 2..];
    let f: Vec<u64> = rest.split(' ').map(|x| x.parse().unwrap_or(0)).collect();
    // Fields 14 and 15 of the line are 11 and 12 after the state field.
    (f[11] + f[12]) * 1_000_000_000 / clock_ticks()
}

fn clock_ticks() -> u64 {
    let out = std::process::Command::new("getconf").arg("CLK_TCK").output().expect("getconf");
    String::from_utf8_lossy(&out.stdout).trim().parse().expect("CLK_TCK")
}

/// Sends `ops` commands `EXISTS key` in pipelines of `depth` and reads every reply; returns (wall ns, cpu ns) per op.
fn run(s: &mut TcpStream, key: &str, o: &Opts) -> (f64, f64) {
    let one = format!("*2\r\n$6\r\nEXISTS\r\n${}\r\n{key}\r\n", key.len());
    let batch = one.repeat(o.pipeline);
    let reply = b":0\r\n";
    let mut buf = vec![0u8; reply.len() * o.pipeline];
    let (start, cpu) = (Instant::now(), cpu_ns(o.pid));
    for _ in 0..o.ops / o.pipeline {
        s.write_all(batch.as_bytes()).expect("write");
        s.read_exact(&mut buf).expect("read");
        debug_assert!(buf.chunks(reply.len()).all(|r| r == reply));
    }
    let n = (o.ops / o.pipeline * o.pipeline) as f64;
    (start.elapsed().as_nanos() as f64 / n, (cpu_ns(o.pid) - cpu) as f64 / n)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() -> ExitCode {
    let o = match parse() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let client = redis::Client::open(format!("redis://127.0.0.1:{}/", o.port)).expect("url");
    let mut c = client.get_connection().expect("connect");
    let info: String = redis::cmd("CLIENT").arg("INFO").query(&mut c).expect("CLIENT INFO");
    let home: usize = info
        .split_whitespace()
        .find_map(|f| f.strip_prefix("io-thread="))
        .and_then(|t| t.parse().ok())
        .expect("io-thread in CLIENT INFO");
    let key_on = |want: bool| {
        (0..).map(|i| format!("hop:{i}")).find(|k| (key_shard(k.as_bytes(), o.shards) == home) == want).unwrap()
    };
    let (home_key, away_key) = (key_on(true), key_on(false));
    let _: Value = redis::cmd("DEL").arg(&home_key).arg(&away_key).query(&mut c).expect("DEL");
    // The same connection, spoken to raw: nothing of a client library in the figures.
    let mut s = TcpStream::connect(("127.0.0.1", o.port)).expect("connect");
    s.set_nodelay(true).expect("nodelay");
    let mut r = [0u8; 64];
    s.write_all(b"*2\r\n$6\r\nCLIENT\r\n$2\r\nID\r\n").expect("write");
    let _ = s.read(&mut r).expect("read");
    let (mut home_ns, mut away_ns, mut home_cpu, mut away_cpu) = (vec![], vec![], vec![], vec![]);
    for round in 1..=o.rounds {
        let (hw, hc) = run(&mut s, &home_key, &o);
        let (aw, ac) = run(&mut s, &away_key, &o);
        eprintln!(
            "round {round}/{}  home {hw:7.1} ns/op {hc:7.1} ns CPU/op   away {aw:7.1} ns/op {ac:7.1} ns CPU/op",
            o.rounds
        );
        home_ns.push(hw);
        away_ns.push(aw);
        home_cpu.push(hc);
        away_cpu.push(ac);
    }
    let (h, a, hc, ac) = (median(home_ns), median(away_ns), median(home_cpu), median(away_cpu));
    println!("EXISTS at -P {}, {} ops per run, medians of {} rounds:", o.pipeline, o.ops, o.rounds);
    println!("  home shard   {h:8.1} ns/op wall  {hc:8.1} ns/op server CPU");
    println!("  other shard  {a:8.1} ns/op wall  {ac:8.1} ns/op server CPU");
    println!("  one hop      {:8.1} ns/op wall  {:8.1} ns/op server CPU", a - h, ac - hc);
    println!("RESULT home_ns={h:.1} away_ns={a:.1} home_cpu_ns={hc:.1} away_cpu_ns={ac:.1}");
    ExitCode::SUCCESS
}
