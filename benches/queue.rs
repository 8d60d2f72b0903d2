//! End-to-end job-queue load tool: producers LPUSH, consumers BRPOP, and we measure throughput and the time each
//! item spent between its LPUSH being sent and its BRPOP reply being read (enqueue-to-dequeue latency).
//!
//! It is a `harness = false` bench so that `cargo bench` builds it with the release profile, but it is a load tool,
//! not a test: it talks to a server that is already running, on any port, so a script can drive rill and
//! redis-server with the same binary (see benches/compare.sh).
//!
//! ```text
//! cargo bench --bench queue -- --port P [--host H] [--producers 4] [--consumers 4] [--items 200000]
//!                              [--value-size 32] [--keys 1] [--rate 0] [--batch 0] [--time-limit 120]
//! ```
//!
//! Each payload is `[send time: u64 LE nanos since a shared Instant][item id: u64 LE][padding]`, so the latency
//! needs no clock agreement beyond this process, and the consumers can check that every item arrives exactly once.
//! Producers push as fast as the server answers (closed loop) unless `--rate` caps the total items/s; without a
//! cap, a queue that fills faster than it drains reports backlog time as latency, which is what a job sees.
//! The last line of output, `RESULT key=value ...`, is for scripts.

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

/// Command-line options; see the module docs.
struct Opts {
    host: String,
    port: u16,
    producers: usize,
    consumers: usize,
    items: u64,
    value_size: usize,
    keys: usize,
    /// Total items/s over all producers; 0 means as fast as possible.
    rate: u64,
    /// 0: consumers BRPOP one item at a time; N: they BLMPOP up to N items at a time (`... RIGHT COUNT N`).
    batch: usize,
    time_limit: Duration,
}

/// Payload header: send timestamp and item id.
const HEADER: usize = 16;

const USAGE: &str = "usage: queue --port P [--host H] [--producers N] [--consumers N] [--items N] \
                     [--value-size BYTES>=16] [--keys N] [--rate ITEMS_PER_S] [--batch N] [--time-limit SECS]";

fn parse_opts() -> Result<Opts, String> {
    let mut o = Opts {
        host: "127.0.0.1".into(),
        port: 0,
        producers: 4,
        consumers: 4,
        items: 200_000,
        value_size: 32,
        keys: 1,
        rate: 0,
        batch: 0,
        time_limit: Duration::from_secs(120),
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        // `cargo bench` passes `--bench` to every bench binary; it means nothing here.
        if flag == "--bench" {
            continue;
        }
        if flag == "-h" || flag == "--help" {
            return Err(USAGE.into());
        }
        let val = args.next().ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
        let num = |v: &str| v.parse::<u64>().map_err(|_| format!("{flag}: not a number: {v}"));
        match flag.as_str() {
            "--host" => o.host = val,
            "--port" => o.port = u16::try_from(num(&val)?).map_err(|_| format!("--port out of range: {val}"))?,
            "--producers" => o.producers = num(&val)? as usize,
            "--consumers" => o.consumers = num(&val)? as usize,
            "--items" => o.items = num(&val)?,
            "--value-size" => o.value_size = num(&val)? as usize,
            "--keys" => o.keys = num(&val)? as usize,
            "--rate" => o.rate = num(&val)?,
            "--batch" => o.batch = num(&val)? as usize,
            "--time-limit" => o.time_limit = Duration::from_secs(num(&val)?),
            _ => return Err(format!("unknown option {flag}\n{USAGE}")),
        }
    }
    if o.port == 0 {
        return Err(format!("--port is required\n{USAGE}"));
    }
    if o.producers == 0 || o.consumers == 0 || o.keys == 0 || o.items == 0 {
        return Err("--producers, --consumers, --keys and --items must be at least 1".into());
    }
    if o.value_size < HEADER {
        return Err(format!("--value-size must be at least {HEADER} (timestamp and item id)"));
    }
    Ok(o)
}

/// State shared by all threads. `epoch` is the common clock origin for the timestamps inside payloads.
struct Shared {
    epoch: Instant,
    consumed: AtomicU64,
    /// Items pushed so far, for the push rate of a run cut short.
    pushed: AtomicU64,
    /// Nanos since `epoch` at which the last item was dequeued: the end of the throughput window, which excludes
    /// the up to one-second BRPOP timeout that idle consumers sit out before noticing the run is over.
    last_pop_ns: AtomicU64,
    /// Set on the time limit or on any error, so every thread stops.
    stop: AtomicBool,
}

fn key_names(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("rill-bench:queue:{i}")).collect()
}

fn connect(o: &Opts) -> redis::RedisResult<redis::Connection> {
    redis::Client::open(format!("redis://{}:{}/", o.host, o.port))?.get_connection_with_timeout(Duration::from_secs(5))
}

/// Pushes items `first..first+count`, spread round-robin over the keys by item id.
fn produce(
    mut c: redis::Connection,
    o: &Opts,
    sh: &Shared,
    keys: &[String],
    first: u64,
    count: u64,
) -> Result<(), String> {
    let mut buf = vec![b'x'; o.value_size];
    // Pacing for --rate: this producer's share of the rate, as a schedule from the start.
    let interval = (o.rate > 0).then(|| Duration::from_secs_f64(o.producers as f64 / o.rate as f64));
    let start = Instant::now();
    for n in 0..count {
        if sh.stop.load(Ordering::Relaxed) {
            return Ok(());
        }
        if let Some(iv) = interval {
            let due = start + iv.mul_f64(n as f64);
            let now = Instant::now();
            if due > now {
                thread::sleep(due - now);
            }
        }
        let id = first + n;
        let sent = sh.epoch.elapsed().as_nanos() as u64;
        buf[..8].copy_from_slice(&sent.to_le_bytes());
        buf[8..16].copy_from_slice(&id.to_le_bytes());
        let key = &keys[(id % keys.len() as u64) as usize];
        redis::cmd("LPUSH").arg(key).arg(&buf[..]).exec(&mut c).map_err(|e| format!("LPUSH: {e}"))?;
        sh.pushed.fetch_add(1, Ordering::Relaxed);
    }
    Ok(())
}

/// What one consumer saw: latencies in nanos and the ids it dequeued.
#[derive(Default)]
struct Seen {
    lat_ns: Vec<u64>,
    ids: Vec<u64>,
}

/// BRPOPs (or, with `--batch N`, BLMPOPs up to N items; 1 s timeout) until all items are consumed or the run is
/// stopped. Each consumer lists the keys starting at a different one, because both serve the first non-empty key
/// in argument order.
fn consume(mut c: redis::Connection, o: &Opts, sh: &Shared, keys: &[String], me: usize) -> Result<Seen, String> {
    let mut seen = Seen::default();
    let mut cmd = if o.batch == 0 { redis::cmd("BRPOP") } else { redis::cmd("BLMPOP") };
    if o.batch > 0 {
        cmd.arg(1).arg(keys.len());
    }
    for i in 0..keys.len() {
        cmd.arg(&keys[(me + i) % keys.len()]);
    }
    if o.batch == 0 {
        cmd.arg(1);
    } else {
        cmd.arg("RIGHT").arg("COUNT").arg(o.batch);
    }
    while sh.consumed.load(Ordering::Relaxed) < o.items && !sh.stop.load(Ordering::Relaxed) {
        let values: Vec<Vec<u8>> = if o.batch == 0 {
            let reply: Option<(Vec<u8>, Vec<u8>)> = cmd.query(&mut c).map_err(|e| format!("BRPOP: {e}"))?;
            reply.map(|(_, v)| vec![v]).unwrap_or_default()
        } else {
            let reply: Option<(Vec<u8>, Vec<Vec<u8>>)> = cmd.query(&mut c).map_err(|e| format!("BLMPOP: {e}"))?;
            reply.map(|(_, vs)| vs).unwrap_or_default()
        };
        let now = sh.epoch.elapsed().as_nanos() as u64;
        for v in values {
            if v.len() != o.value_size {
                return Err(format!("a pop returned {} bytes, expected {}", v.len(), o.value_size));
            }
            let sent = u64::from_le_bytes(v[..8].try_into().unwrap());
            seen.lat_ns.push(now.saturating_sub(sent));
            seen.ids.push(u64::from_le_bytes(v[8..16].try_into().unwrap()));
            sh.last_pop_ns.fetch_max(now, Ordering::Relaxed);
            sh.consumed.fetch_add(1, Ordering::Relaxed);
        }
    }
    Ok(seen)
}

/// Nearest-rank percentile of a sorted slice.
fn pct(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn main() -> ExitCode {
    let o = match parse_opts() {
        Ok(o) => Arc::new(o),
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let keys = Arc::new(key_names(o.keys));

    // Start from empty queues, and connect everyone before the clock starts.
    let mut admin = match connect(&o) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("cannot connect to {}:{}: {e}", o.host, o.port);
            return ExitCode::FAILURE;
        }
    };
    if let Err(e) = redis::cmd("DEL").arg(&keys[..]).exec(&mut admin) {
        eprintln!("DEL: {e}");
        return ExitCode::FAILURE;
    }
    let conns: Result<Vec<_>, _> = (0..o.producers + o.consumers).map(|_| connect(&o)).collect();
    let mut conns = match conns {
        Ok(c) => c,
        Err(e) => {
            eprintln!("connect: {e}");
            return ExitCode::FAILURE;
        }
    };

    let sh = Arc::new(Shared {
        epoch: Instant::now(),
        consumed: AtomicU64::new(0),
        pushed: AtomicU64::new(0),
        last_pop_ns: AtomicU64::new(0),
        stop: AtomicBool::new(false),
    });
    let go = Arc::new(Barrier::new(o.producers + o.consumers + 1));

    let mut consumers = Vec::new();
    for me in 0..o.consumers {
        let (o, sh, keys, go, c) = (o.clone(), sh.clone(), keys.clone(), go.clone(), conns.pop().unwrap());
        consumers.push(thread::spawn(move || {
            go.wait();
            let r = consume(c, &o, &sh, &keys, me);
            if r.is_err() {
                sh.stop.store(true, Ordering::Relaxed);
            }
            r
        }));
    }
    let mut producers = Vec::new();
    let per = o.items / o.producers as u64;
    for p in 0..o.producers {
        let first = p as u64 * per;
        let count = if p + 1 == o.producers { o.items - first } else { per };
        let (o, sh, keys, go, c) = (o.clone(), sh.clone(), keys.clone(), go.clone(), conns.pop().unwrap());
        producers.push(thread::spawn(move || {
            go.wait();
            let r = produce(c, &o, &sh, &keys, first, count);
            if r.is_err() {
                sh.stop.store(true, Ordering::Relaxed);
            }
            r
        }));
    }

    go.wait();
    let t0 = sh.epoch.elapsed();
    // Watchdog: the time limit bounds the run even if the server loses items or stops answering pops.
    {
        let (sh, limit) = (sh.clone(), o.time_limit);
        thread::spawn(move || {
            let deadline = Instant::now() + limit;
            while Instant::now() < deadline {
                if sh.stop.load(Ordering::Relaxed) {
                    return;
                }
                thread::sleep(Duration::from_millis(50));
            }
            eprintln!("time limit of {} s reached; stopping", limit.as_secs());
            sh.stop.store(true, Ordering::Relaxed);
        });
    }

    let mut failed = false;
    for h in producers {
        if let Err(e) = h.join().expect("producer thread panicked") {
            eprintln!("producer: {e}");
            failed = true;
        }
    }
    let push_secs = (sh.epoch.elapsed() - t0).as_secs_f64();
    let mut lat = Vec::with_capacity(o.items as usize);
    let mut ids = Vec::with_capacity(o.items as usize);
    for h in consumers {
        match h.join().expect("consumer thread panicked") {
            Ok(s) => {
                lat.extend(s.lat_ns);
                ids.extend(s.ids);
            }
            Err(e) => {
                eprintln!("consumer: {e}");
                failed = true;
            }
        }
    }
    // Ends the watchdog; a time-limit stop shows up below as lost items.
    sh.stop.store(true, Ordering::Relaxed);
    let _ = redis::cmd("DEL").arg(&keys[..]).exec(&mut admin);

    // Every id exactly once: anything else is a lost or duplicated job.
    ids.sort_unstable();
    let dups = ids.windows(2).filter(|w| w[0] == w[1]).count() as u64;
    let lost = o.items - (ids.len() as u64 - dups);
    if dups > 0 || lost > 0 {
        eprintln!("{lost} items lost, {dups} delivered twice");
        failed = true;
    }

    let secs = (Duration::from_nanos(sh.last_pop_ns.load(Ordering::Relaxed)).saturating_sub(t0)).as_secs_f64();
    let rate = if secs > 0.0 { lat.len() as f64 / secs } else { 0.0 };
    lat.sort_unstable();
    let us = |ns: u64| ns as f64 / 1000.0;
    let (p50, p99, p999, max) = (pct(&lat, 50.0), pct(&lat, 99.0), pct(&lat, 99.9), pct(&lat, 100.0));
    println!(
        "{}:{}  producers={} consumers={} keys={} value-size={} rate={} pop={}",
        o.host,
        o.port,
        o.producers,
        o.consumers,
        o.keys,
        o.value_size,
        if o.rate == 0 { "max".to_string() } else { o.rate.to_string() },
        if o.batch == 0 { "BRPOP".to_string() } else { format!("BLMPOP COUNT {}", o.batch) }
    );
    println!(
        "{} items in {secs:.3} s: {rate:.0} items/s (pushes done in {push_secs:.3} s: {:.0} pushes/s)",
        lat.len(),
        sh.pushed.load(Ordering::Relaxed) as f64 / push_secs
    );
    println!(
        "enqueue-to-dequeue latency: p50 {:.1} µs  p99 {:.1} µs  p99.9 {:.1} µs  max {:.1} µs",
        us(p50),
        us(p99),
        us(p999),
        us(max)
    );
    println!(
        "RESULT items={} secs={secs:.6} items_per_s={rate:.1} p50_us={:.1} p99_us={:.1} p999_us={:.1} max_us={:.1} \
         ok={}",
        lat.len(),
        us(p50),
        us(p99),
        us(p999),
        us(max),
        !failed
    );
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
