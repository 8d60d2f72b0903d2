//! Blocking list commands (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP) against the real binary: timeouts and their
//! errors, immediate pops, FIFO among waiters, keys on several shards, wakes after each command of a pipeline,
//! BLMOVE chains, disconnects, CLIENT UNBLOCK, WRONGTYPE, and a many-thread stress run. A client is known to be
//! blocked by polling INFO clients (never by sleeping); replies are awaited in threads.
mod common;
use common::*;
use redis::Value;
use rill::shard::slot::key_shard;
use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn llen(c: &mut redis::Connection, k: &str) -> i64 {
    q(c, &["LLEN", k])
}

#[test]
fn timeout_argument_errors() {
    let s = Server::with_shards(2);
    let mut c = s.client();
    for t in ["abc", "", "1x", " 1", "nan"] {
        assert_eq!(err(&mut c, &["BLPOP", "k", t]), "ERR timeout is not a float or out of range", "{t:?}");
    }
    for t in ["-1", "-0.5", "-inf"] {
        assert_eq!(err(&mut c, &["BRPOP", "k", t]), "ERR timeout is negative", "{t:?}");
    }
    for t in ["inf", "1e300", "9223372036854775807"] {
        assert_eq!(err(&mut c, &["BLPOP", "k", t]), "ERR timeout is out of range", "{t:?}");
    }
    assert_eq!(err(&mut c, &["BRPOPLPUSH", "a", "b", "x"]), "ERR timeout is not a float or out of range");
    assert_eq!(err(&mut c, &["BLMOVE", "a", "b", "LEFT", "LEFT", "-1"]), "ERR timeout is negative");
    // Positions are checked before the timeout; BLMPOP checks all its other arguments first.
    assert_eq!(err(&mut c, &["BLMOVE", "a", "b", "UP", "LEFT", "x"]), "ERR syntax error");
    assert_eq!(err(&mut c, &["BLMPOP", "x", "1", "k", "LEFT"]), "ERR timeout is not a float or out of range");
    assert_eq!(err(&mut c, &["BLMPOP", "x", "0", "k", "LEFT"]), "ERR numkeys should be greater than 0");
    assert_eq!(err(&mut c, &["BLMPOP", "x", "1", "k", "UP"]), "ERR syntax error");
    assert_eq!(err(&mut c, &["BLMPOP", "x", "1", "k", "LEFT", "COUNT", "0"]), "ERR count should be greater than 0");
    assert_eq!(blocked_clients(&mut c), 0);
}

#[test]
fn timeouts_reply_null_array() {
    let s = Server::with_shards(4);
    let (a, b) = {
        let k = spread("t", 2);
        (k[0].clone(), k[1].clone())
    };
    let mut raw = s.raw();
    let cases: Vec<Vec<&str>> = vec![
        vec!["BLPOP", &a, "0.05"],
        vec!["BRPOP", &a, &b, "0.01"],
        vec!["BLMOVE", &a, &a, "LEFT", "RIGHT", "0.01"],
        vec!["BLMOVE", &a, &b, "LEFT", "RIGHT", "0.01"],
        vec!["BRPOPLPUSH", &a, &b, "0.01"],
        vec!["BLMPOP", "0.01", "2", &a, &b, "LEFT", "COUNT", "3"],
    ];
    for case in &cases {
        let args: Vec<&[u8]> = case.iter().map(|a| a.as_bytes()).collect();
        let start = Instant::now();
        raw.cmd(&args);
        raw.expect(b"*-1\r\n");
        assert!(start.elapsed() >= Duration::from_millis(10), "{case:?} returned before its timeout");
    }
    raw.cmd(&[b"HELLO", b"3"]);
    raw.reply();
    for case in &cases {
        let args: Vec<&[u8]> = case.iter().map(|a| a.as_bytes()).collect();
        raw.cmd(&args);
        raw.expect(b"_\r\n");
    }
    // A negative timeout that rounds up to 0 ms blocks forever, as in Redis.
    let h = spawn_cmd(&s, &["BLPOP", &a, "-0.0001"]);
    let mut c = s.client();
    wait_blocked(&mut c, 1);
    q::<i64>(&mut c, &["RPUSH", &a, "v"]);
    assert_eq!(h.join().unwrap(), Ok(pair(&a, "v")));
}

#[test]
fn data_present_pops_first_non_empty_key() {
    for shards in [1, 4] {
        let s = Server::with_shards(shards);
        let mut c = s.client();
        let k = spread("p", 3);
        q::<i64>(&mut c, &["RPUSH", &k[1], "1", "2", "3"]);
        q::<i64>(&mut c, &["RPUSH", &k[2], "x"]);
        let v: Value = q(&mut c, &["BLPOP", &k[0], &k[1], &k[2], "0"]);
        assert_eq!(v, pair(&k[1], "1"));
        let v: Value = q(&mut c, &["BRPOP", &k[0], &k[2], &k[1], "0"]);
        assert_eq!(v, pair(&k[2], "x"));
        let v: Value = q(&mut c, &["BLMPOP", "0", "3", &k[0], &k[2], &k[1], "RIGHT", "COUNT", "5"]);
        assert_eq!(v, Value::Array(vec![bulk(&k[1]), Value::Array(vec![bulk("3"), bulk("2")])]));
        q::<i64>(&mut c, &["RPUSH", &k[0], "m"]);
        let v: String = q(&mut c, &["BLMOVE", &k[0], &k[2], "LEFT", "RIGHT", "0"]);
        assert_eq!(v, "m");
        let v: String = q(&mut c, &["BRPOPLPUSH", &k[2], &k[1], "0"]);
        assert_eq!(v, "m");
        let v: Vec<String> = q(&mut c, &["LRANGE", &k[1], "0", "-1"]);
        assert_eq!(v, ["m"]);
        assert_eq!(blocked_clients(&mut c), 0);
    }
}

#[test]
fn waiters_on_one_key_are_served_in_order() {
    for shards in [1, 4] {
        let s = Server::with_shards(shards);
        let mut c = s.client();
        // One push of several elements serves several waiters, first blocked first.
        let mut hs = Vec::new();
        for i in 0..3 {
            hs.push(spawn_cmd(&s, &["BLPOP", "q", "0"]));
            wait_blocked(&mut c, i + 1);
        }
        assert_eq!(q::<i64>(&mut c, &["RPUSH", "q", "a", "b", "c", "d"]), 4);
        assert_eq!(llen(&mut c, "q"), 1);
        for (h, v) in hs.into_iter().zip(["a", "b", "c"]) {
            assert_eq!(h.join().unwrap(), Ok(pair("q", v)));
        }
        // One push per waiter, the BRPOP form.
        q::<i64>(&mut c, &["DEL", "q"]);
        let mut hs = Vec::new();
        for i in 0..3 {
            hs.push(spawn_cmd(&s, &["BRPOP", "q", "0"]));
            wait_blocked(&mut c, i + 1);
        }
        for v in ["x", "y", "z"] {
            q::<i64>(&mut c, &["RPUSH", "q", v]);
        }
        for (h, v) in hs.into_iter().zip(["x", "y", "z"]) {
            assert_eq!(h.join().unwrap(), Ok(pair("q", v)));
        }
        assert_eq!(blocked_clients(&mut c), 0);
    }
}

#[test]
fn keys_on_several_shards_wake_on_the_first_ready() {
    let s = Server::with_shards(4);
    let mut c = s.client();
    let k = spread("m", 4);
    let h = spawn_cmd(&s, &["BLPOP", &k[0], &k[1], &k[2], &k[3], "0"]);
    wait_blocked(&mut c, 1);
    q::<i64>(&mut c, &["RPUSH", &k[2], "x", "y"]);
    assert_eq!(h.join().unwrap(), Ok(pair(&k[2], "x")));
    assert_eq!(llen(&mut c, &k[2]), 1);
    q::<i64>(&mut c, &["DEL", &k[2]]);

    // BLMPOP across shards takes up to COUNT from the one key that became ready.
    let h = spawn_cmd(&s, &["BLMPOP", "0", "3", &k[0], &k[1], &k[3], "LEFT", "COUNT", "2"]);
    wait_blocked(&mut c, 1);
    q::<i64>(&mut c, &["RPUSH", &k[3], "1", "2", "3"]);
    let want = Value::Array(vec![bulk(&k[3]), Value::Array(vec![bulk("1"), bulk("2")])]);
    assert_eq!(h.join().unwrap(), Ok(want));
    assert_eq!(llen(&mut c, &k[3]), 1);
    q::<i64>(&mut c, &["DEL", &k[3]]);

    // Two keys filled one after the other: the spanning waiter and a waiter on the second key each get one.
    let a = spawn_cmd(&s, &["BLPOP", &k[0], &k[1], "0"]);
    wait_blocked(&mut c, 1);
    let b = spawn_cmd(&s, &["BLPOP", &k[1], "0"]);
    wait_blocked(&mut c, 2);
    q::<i64>(&mut c, &["RPUSH", &k[0], "x"]);
    q::<i64>(&mut c, &["RPUSH", &k[1], "y"]);
    assert_eq!(a.join().unwrap(), Ok(pair(&k[0], "x")));
    assert_eq!(b.join().unwrap(), Ok(pair(&k[1], "y")));
    assert_eq!(llen(&mut c, &k[0]) + llen(&mut c, &k[1]), 0);
}

/// A spanning waiter woken for one key may take from another: the element it left must still reach the next
/// waiter on the first key (no element sits in a list while a client waits on it).
#[test]
fn no_lost_wakeup_when_a_spanning_waiter_takes_another_key() {
    let s = Server::with_shards(4);
    let mut c = s.client();
    let mut pusher = s.client();
    for round in 0..30 {
        let k = spread(&format!("w{round}_"), 2);
        // Timeouts keep a failure from hanging the test: a lost wake shows as a null reply.
        let a = spawn_cmd(&s, &["BLPOP", &k[0], &k[1], "5"]);
        wait_blocked(&mut c, 1);
        let b = spawn_cmd(&s, &["BLPOP", &k[1], "5"]);
        wait_blocked(&mut c, 2);
        // Both pushes travel at once to their two shards.
        let (_, _): (i64, i64) =
            redis::pipe().cmd("RPUSH").arg(&k[0]).arg("x").cmd("RPUSH").arg(&k[1]).arg("y").query(&mut pusher).unwrap();
        let got_a = a.join().unwrap().unwrap();
        if got_a == pair(&k[0], "x") {
            assert_eq!(b.join().unwrap(), Ok(pair(&k[1], "y")), "round {round}");
        } else {
            // Serialised as "push k1, then push k0": B still waits, x stays in k0.
            assert_eq!(got_a, pair(&k[1], "y"), "round {round}");
            wait_blocked(&mut c, 1);
            assert_eq!(llen(&mut c, &k[0]), 1);
            q::<i64>(&mut c, &["RPUSH", &k[1], "z"]);
            assert_eq!(b.join().unwrap(), Ok(pair(&k[1], "z")));
            q::<i64>(&mut c, &["DEL", &k[0]]);
        }
        wait_blocked(&mut c, 0);
        assert_eq!(llen(&mut c, &k[0]) + llen(&mut c, &k[1]), 0, "round {round}");
    }
}

/// A long pipeline (longer than one decode pass) with a blocking pop in its middle: the requests before it are
/// answered while it waits, the ones after it wait their turn, and all replies come back in order.
#[test]
fn a_pop_blocked_in_the_middle_of_a_long_pipeline() {
    for shards in [1, 4] {
        let s = Server::with_shards(shards);
        let mut c = s.client();
        let [key, other] = <[String; 2]>::try_from(spread("mid", 2)).unwrap();
        let mut raw = s.raw();
        let incr = format!("*2\r\n$4\r\nINCR\r\n${}\r\n{other}\r\n", other.len());
        let mut bytes = incr.repeat(300).into_bytes();
        bytes.extend_from_slice(format!("*3\r\n$5\r\nBLPOP\r\n${}\r\n{key}\r\n$1\r\n0\r\n", key.len()).as_bytes());
        bytes.extend_from_slice(incr.repeat(300).as_bytes());
        raw.send(&bytes);
        for i in 1..=300 {
            raw.expect(format!(":{i}\r\n").as_bytes());
        }
        wait_blocked(&mut c, 1);
        // Nothing after the blocked pop has run.
        assert_eq!(q::<i64>(&mut c, &["GET", &other]), 300);
        let _: i64 = q(&mut c, &["RPUSH", &key, "job"]);
        raw.expect(format!("*2\r\n${}\r\n{key}\r\n$3\r\njob\r\n", key.len()).as_bytes());
        for i in 301..=600 {
            raw.expect(format!(":{i}\r\n").as_bytes());
        }
        assert_eq!(blocked_clients(&mut c), 0);
    }
}

#[test]
fn waiters_are_served_after_each_command_of_a_pipeline() {
    for shards in [1, 4] {
        let s = Server::with_shards(shards);
        let mut c = s.client();
        let a = spawn_cmd(&s, &["BLPOP", "k", "0"]);
        wait_blocked(&mut c, 1);
        let b = spawn_cmd(&s, &["BLPOP", "k", "0"]);
        wait_blocked(&mut c, 2);
        let mut p = s.client();
        let r: (i64, i64, i64, i64) = redis::pipe()
            .cmd("RPUSH")
            .arg("k")
            .arg("a")
            .cmd("LLEN")
            .arg("k")
            .cmd("RPUSH")
            .arg("k")
            .arg("b")
            .cmd("LLEN")
            .arg("k")
            .query(&mut p)
            .unwrap();
        assert_eq!(r, (1, 0, 1, 0));
        assert_eq!(a.join().unwrap(), Ok(pair("k", "a")));
        assert_eq!(b.join().unwrap(), Ok(pair("k", "b")));
        // The same through raw bytes in one write.
        let a = spawn_cmd(&s, &["BLPOP", "k", "0"]);
        wait_blocked(&mut c, 1);
        let mut raw = s.raw();
        raw.send(b"*3\r\n$5\r\nRPUSH\r\n$1\r\nk\r\n$1\r\nz\r\n*2\r\n$4\r\nLLEN\r\n$1\r\nk\r\n");
        raw.expect(b":1\r\n");
        raw.expect(b":0\r\n");
        assert_eq!(a.join().unwrap(), Ok(pair("k", "z")));
    }
}

#[test]
fn blmove_chain_ends_with_the_last_waiter() {
    for shards in [1, 4] {
        let s = Server::with_shards(shards);
        let mut c = s.client();
        let k = spread("c", 2);
        let a = spawn_cmd(&s, &["BLMOVE", &k[0], &k[1], "LEFT", "RIGHT", "0"]);
        wait_blocked(&mut c, 1);
        let b = spawn_cmd(&s, &["BLPOP", &k[1], "0"]);
        wait_blocked(&mut c, 2);
        q::<i64>(&mut c, &["RPUSH", &k[0], "x"]);
        assert_eq!(a.join().unwrap(), Ok(bulk("x")));
        assert_eq!(b.join().unwrap(), Ok(pair(&k[1], "x")));
        assert_eq!(llen(&mut c, &k[0]) + llen(&mut c, &k[1]), 0);
    }
}

#[test]
fn blmove_and_brpoplpush_between_shards() {
    let s = Server::with_shards(4);
    let mut c = s.client();
    let k = spread("x", 2);
    let (src, dst) = (&k[0], &k[1]);
    let a = spawn_cmd(&s, &["BLMOVE", src, dst, "RIGHT", "LEFT", "0"]);
    wait_blocked(&mut c, 1);
    q::<i64>(&mut c, &["RPUSH", src, "1", "2"]);
    assert_eq!(a.join().unwrap(), Ok(bulk("2")));
    assert_eq!(q::<Vec<String>>(&mut c, &["LRANGE", src, "0", "-1"]), ["1"]);
    assert_eq!(q::<Vec<String>>(&mut c, &["LRANGE", dst, "0", "-1"]), ["2"]);
    q::<i64>(&mut c, &["DEL", src]);
    let a = spawn_cmd(&s, &["BRPOPLPUSH", src, dst, "0"]);
    wait_blocked(&mut c, 1);
    q::<i64>(&mut c, &["LPUSH", src, "3"]);
    assert_eq!(a.join().unwrap(), Ok(bulk("3")));
    assert_eq!(q::<Vec<String>>(&mut c, &["LRANGE", dst, "0", "-1"]), ["3", "2"]);
    assert_eq!(llen(&mut c, src), 0);
}

#[test]
fn disconnect_while_blocked_leaves_no_waiter() {
    for shards in [1, 4] {
        let s = Server::with_shards(shards);
        let mut c = s.client();
        let k = spread("d", 2);
        for args in [
            vec!["BLPOP", &k[0], "0"],
            vec!["BLPOP", &k[0], &k[1], "0"],
            vec!["BLMOVE", &k[0], &k[1], "LEFT", "LEFT", "0"],
        ] {
            let mut raw = s.raw();
            let bytes: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
            raw.cmd(&bytes);
            wait_blocked(&mut c, 1);
            drop(raw);
            wait_blocked(&mut c, 0);
            q::<i64>(&mut c, &["RPUSH", &k[0], "v"]);
            assert_eq!(llen(&mut c, &k[0]), 1, "{args:?}");
            assert_eq!(llen(&mut c, &k[1]), 0, "{args:?}");
            q::<i64>(&mut c, &["DEL", &k[0]]);
        }
    }
}

#[test]
fn client_unblock_timeout_and_error() {
    for shards in [1, 4] {
        let s = Server::with_shards(shards);
        let mut c = s.client();
        let k = spread("u", 2);
        let cases: [(Vec<&str>, Option<&str>, &[u8]); 4] = [
            (vec!["BLPOP", &k[0], "0"], None, b"*-1\r\n"),
            (vec!["BLPOP", &k[0], &k[1], "0"], Some("TIMEOUT"), b"*-1\r\n"),
            (
                vec!["BLMOVE", &k[0], &k[1], "LEFT", "LEFT", "0"],
                Some("ERROR"),
                b"-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n",
            ),
            (
                vec!["BLMPOP", "0", "1", &k[0], "LEFT"],
                Some("error"),
                b"-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n",
            ),
        ];
        for (args, how, want) in cases {
            let mut raw = s.raw();
            raw.cmd(&[b"CLIENT", b"ID"]);
            let id = String::from_utf8(raw.reply()).unwrap();
            let id = id.trim_start_matches(':').trim().to_string();
            assert_eq!(q::<i64>(&mut c, &["CLIENT", "UNBLOCK", &id]), 0, "not blocked yet");
            let bytes: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
            raw.cmd(&bytes);
            wait_blocked(&mut c, 1);
            let list: String = q(&mut c, &["CLIENT", "LIST"]);
            let line = list.lines().find(|l| l.starts_with(&format!("id={id} "))).expect("listed");
            assert!(line.contains(" flags=b "), "{line}");
            let mut unblock = vec!["CLIENT", "UNBLOCK", id.as_str()];
            unblock.extend(how);
            assert_eq!(q::<i64>(&mut c, &unblock), 1);
            raw.expect(want);
            assert_eq!(q::<i64>(&mut c, &["CLIENT", "UNBLOCK", &id]), 0);
            wait_blocked(&mut c, 0);
            // The connection goes on, and its waiter is gone: a push stays in the list.
            raw.cmd(&[b"PING"]);
            raw.expect(b"+PONG\r\n");
            q::<i64>(&mut c, &["RPUSH", &k[0], "v"]);
            assert_eq!(llen(&mut c, &k[0]), 1);
            q::<i64>(&mut c, &["DEL", &k[0]]);
            let list: String = q(&mut c, &["CLIENT", "LIST"]);
            let line = list.lines().find(|l| l.starts_with(&format!("id={id} "))).expect("listed");
            assert!(line.contains(" flags=N "), "{line}");
        }
        assert_eq!(
            err(&mut c, &["CLIENT", "UNBLOCK", "1", "LATER"]),
            "ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR"
        );
    }
}

#[test]
fn wrongtype_before_and_while_blocking() {
    for shards in [1, 4] {
        let s = Server::with_shards(shards);
        let mut c = s.client();
        let k = spread("y", 3);
        q::<String>(&mut c, &["SET", &k[2], "str"]);
        let wt = "WRONGTYPE Operation against a key holding the wrong kind of value";
        assert_eq!(err(&mut c, &["BLPOP", &k[2], "0"]), wt);
        assert_eq!(err(&mut c, &["BRPOP", &k[0], &k[2], "0"]), wt);
        assert_eq!(err(&mut c, &["BLMPOP", "0", "2", &k[0], &k[2], "LEFT"]), wt);
        assert_eq!(err(&mut c, &["BLMOVE", &k[2], &k[0], "LEFT", "LEFT", "0"]), wt);
        assert_eq!(err(&mut c, &["BRPOPLPUSH", &k[2], &k[0], "0"]), wt);
        assert_eq!(blocked_clients(&mut c), 0);

        // A key that becomes a string does not wake its waiter; a list pushed there later does.
        let a = spawn_cmd(&s, &["BLPOP", &k[0], "0"]);
        wait_blocked(&mut c, 1);
        q::<String>(&mut c, &["SET", &k[0], "now a string"]);
        q::<i64>(&mut c, &["DEL", &k[0]]);
        q::<i64>(&mut c, &["RPUSH", &k[0], "v"]);
        assert_eq!(a.join().unwrap(), Ok(pair(&k[0], "v")));

        // BLMOVE with an empty source blocks whatever the destination holds; the move then fails on it, and the
        // element stays in the source (Redis 7.4).
        let a = spawn_cmd(&s, &["BLMOVE", &k[0], &k[2], "LEFT", "LEFT", "0"]);
        wait_blocked(&mut c, 1);
        q::<i64>(&mut c, &["RPUSH", &k[0], "w"]);
        assert_eq!(a.join().unwrap(), Err(wt.to_string()));
        assert_eq!(q::<Vec<String>>(&mut c, &["LRANGE", &k[0], "0", "-1"]), ["w"]);
        q::<i64>(&mut c, &["DEL", &k[0]]);

        // A woken command runs again from the start (Redis 7.2+): an earlier key that became a string fails it.
        let a = spawn_cmd(&s, &["BLPOP", &k[0], &k[1], "0"]);
        wait_blocked(&mut c, 1);
        q::<String>(&mut c, &["SET", &k[0], "str"]);
        q::<i64>(&mut c, &["RPUSH", &k[1], "z"]);
        assert_eq!(a.join().unwrap(), Err(wt.to_string()));
        assert_eq!(llen(&mut c, &k[1]), 1);
    }
}

/// Producers push `ITEMS` numbered items onto four source lists (one per shard); BLMOVE workers move them into
/// their own processing lists, some on the source's shard and some not. Every item must land exactly once.
#[test]
fn stress_producers_and_blmove_workers() {
    let items: usize = std::env::var("RILL_BLOCKING_STRESS_ITEMS").ok().and_then(|v| v.parse().ok()).unwrap_or(100_000);
    const PRODUCERS: usize = 8;
    const WORKERS: usize = 8;
    let s = Server::with_shards(4);
    let sources = spread("src", 4);
    // Worker w reads source w % 4; even workers write on the source's shard, odd ones on another shard.
    let procs: Vec<String> = (0..WORKERS)
        .map(|w| {
            let src_shard = key_shard(sources[w % 4].as_bytes(), 4);
            (0..)
                .map(|i| format!("proc{w}_{i}"))
                .find(|p| (key_shard(p.as_bytes(), 4) == src_shard) == (w % 2 == 0))
                .unwrap()
        })
        .collect();
    let start = Instant::now();
    let consumed = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = (0..WORKERS)
        .map(|w| {
            let mut c = s.client();
            c.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
            let (src, dst) = (sources[w % 4].clone(), procs[w].clone());
            let consumed = consumed.clone();
            std::thread::spawn(move || {
                let mut got: Vec<u64> = Vec::new();
                loop {
                    let v: Option<String> = redis::cmd("BLMOVE")
                        .arg(&src)
                        .arg(&dst)
                        .arg("LEFT")
                        .arg("RIGHT")
                        .arg("0")
                        .query(&mut c)
                        .expect("BLMOVE");
                    let v = v.expect("BLMOVE with timeout 0 returns an element");
                    if v == "stop" {
                        return got;
                    }
                    got.push(v.parse().unwrap());
                    consumed.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    let producers: Vec<_> = (0..PRODUCERS)
        .map(|p| {
            let mut c = s.client();
            let sources = sources.clone();
            std::thread::spawn(move || {
                let mut i = p;
                while i < items {
                    // Small pipelines of single pushes, spread over the four sources.
                    let mut pipe = redis::pipe();
                    for _ in 0..16 {
                        if i >= items {
                            break;
                        }
                        pipe.cmd("RPUSH").arg(&sources[(i / PRODUCERS) % 4]).arg(i).ignore();
                        i += PRODUCERS;
                    }
                    pipe.query::<()>(&mut c).expect("RPUSH");
                }
            })
        })
        .collect();
    for p in producers {
        p.join().unwrap();
    }
    // Two workers per source; each stops at one "stop", which comes after every item of its source.
    let mut c = s.client();
    for src in &sources {
        q::<i64>(&mut c, &["RPUSH", src, "stop", "stop"]);
    }
    let mut all: Vec<u64> = Vec::new();
    for (w, h) in workers.into_iter().enumerate() {
        let got = h.join().unwrap();
        let list: Vec<String> = q(&mut c, &["LRANGE", &procs[w], "0", "-1"]);
        let mut in_list: Vec<u64> = list.iter().filter(|v| *v != "stop").map(|v| v.parse().unwrap()).collect();
        assert_eq!(list.iter().filter(|v| *v == "stop").count(), 1, "worker {w}");
        in_list.sort_unstable();
        let mut mine = got.clone();
        mine.sort_unstable();
        assert_eq!(mine, in_list, "worker {w}: replies and its processing list differ");
        all.extend(got);
    }
    let elapsed = start.elapsed();
    assert_eq!(consumed.load(Ordering::Relaxed), items);
    assert_eq!(all.len(), items);
    let sum: u64 = all.iter().sum();
    assert_eq!(sum, (items as u64) * (items as u64 - 1) / 2, "checksum");
    assert_eq!(all.iter().collect::<HashSet<_>>().len(), items, "an item was delivered twice");
    for src in &sources {
        assert_eq!(llen(&mut c, src), 0, "left behind in {src}");
    }
    assert_eq!(blocked_clients(&mut c), 0);
    assert!(elapsed < Duration::from_secs(if cfg!(debug_assertions) { 120 } else { 30 }), "took {elapsed:?}");
}

/// A served client's reply is written by the shard that serves it only when the client wants it: CLIENT REPLY
/// SKIP drops it, and the replies of commands pipelined behind the pop still come after it, in order.
#[test]
fn served_replies_respect_client_reply_and_order() {
    for shards in [1, 4] {
        let s = Server::with_shards(shards);
        let mut c = s.client();
        let mut raw = s.raw();
        raw.send(b"CLIENT REPLY SKIP\r\nBLPOP q 0\r\nPING\r\n");
        wait_blocked(&mut c, 1);
        let _: i64 = q(&mut c, &["RPUSH", "q", "a"]);
        raw.expect(b"+PONG\r\n");
        raw.send(b"BLPOP q 0\r\nECHO after\r\n");
        wait_blocked(&mut c, 1);
        let _: i64 = q(&mut c, &["RPUSH", "q", "b"]);
        raw.expect(b"*2\r\n$1\r\nq\r\n$1\r\nb\r\n");
        raw.expect(b"$5\r\nafter\r\n");
        assert_eq!(q::<i64>(&mut c, &["LLEN", "q"]), 0);
    }
}

/// Over keys on several shards the first existing key decides, whatever the later ones hold: a list pops even
/// when a later key is a string, and a string in front answers WRONGTYPE even when a later key has data.
#[test]
fn the_first_existing_key_decides_across_shards() {
    let s = Server::with_shards(4);
    let mut c = s.client();
    let k = spread("first", 3);
    for cmd in ["BLPOP", "BRPOP"] {
        q::<i64>(&mut c, &["RPUSH", &k[0], "a"]);
        let _: () = q(&mut c, &["SET", &k[1], "string"]);
        assert_eq!(q::<Value>(&mut c, &[cmd, &k[0], &k[1], "0"]), pair(&k[0], "a"));
        assert_eq!(err(&mut c, &[cmd, &k[2], &k[1], &k[0], "0"]).split(' ').next(), Some("WRONGTYPE"));
        q::<i64>(&mut c, &["RPUSH", &k[2], "z"]);
        assert_eq!(q::<Value>(&mut c, &[cmd, &k[0], &k[2], &k[1], "0"]), pair(&k[2], "z"));
        assert_eq!(err(&mut c, &[cmd, &k[1], &k[2], "0"]).split(' ').next(), Some("WRONGTYPE"));
        let _: i64 = q(&mut c, &["DEL", &k[0], &k[1], &k[2]]);
    }
    // LMPOP the same way, with a count.
    q::<i64>(&mut c, &["RPUSH", &k[1], "x", "y", "z"]);
    let _: () = q(&mut c, &["SET", &k[2], "string"]);
    let got: Value = q(&mut c, &["LMPOP", "3", &k[0], &k[1], &k[2], "LEFT", "COUNT", "2"]);
    assert_eq!(got, Value::Array(vec![bulk(&k[1]), Value::Array(vec![bulk("x"), bulk("y")])]));
}
