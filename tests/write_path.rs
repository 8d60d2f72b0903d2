//! The one write path, seen from a client: every way a key can appear wakes the clients blocked on it (RENAME, COPY,
//! MOVE, SWAPDB, LMOVE, EXEC), with keys on different shards; WATCH fails an EXEC only when a command really changed
//! a watched key (or it expired); blocked clients are served in the order they blocked and keys in the order they
//! became ready, across shards, before the feeding client's next command runs. Check names from Redis's own suite
//! are quoted in the test comments.
mod common;
use common::*;
use redis::Value;
use rill::shard::slot::key_shard;
use std::time::Duration;

/// Two keys on different shards of a four-shard server, with the given prefix.
fn two(prefix: &str) -> (String, String) {
    let k = spread(prefix, 2);
    (k[0].clone(), k[1].clone())
}

// ---- Wakes: every way a key can appear ----

/// "BLPOP when new key is moved into place" and "BLMPOP_LEFT when new key is moved into place", with the source on
/// the destination's shard (a hash tag) and on another shard.
#[test]
fn rename_moves_a_key_into_place_for_a_blocked_client() {
    for shards in [1, 4] {
        let s = Server::with_shards(shards);
        let mut c = s.client();
        let (far, foo) = two("bob");
        for (src, dst) in [("bob{t}", "foo{t}"), (far.as_str(), foo.as_str())] {
            for form in ["BLPOP", "BLMPOP"] {
                let h = if form == "BLPOP" {
                    spawn_cmd(&s, &["BLPOP", dst, "0"])
                } else {
                    spawn_cmd(&s, &["BLMPOP", "0", "1", dst, "LEFT"])
                };
                wait_blocked(&mut c, 1);
                assert_eq!(q::<i64>(&mut c, &["LPUSH", src, "abc", "def", "hij"]), 3);
                let _: () = q(&mut c, &["RENAME", src, dst]);
                let want = if form == "BLPOP" {
                    pair(dst, "hij")
                } else {
                    Value::Array(vec![bulk(dst), Value::Array(vec![bulk("hij")])])
                };
                assert_eq!(h.join().unwrap(), Ok(want), "{form} {src} -> {dst}");
                assert_eq!(q::<Vec<String>>(&mut c, &["LRANGE", dst, "0", "-1"]), ["def", "abc"]);
                let _: i64 = q(&mut c, &["DEL", dst]);
            }
            // RENAMENX the same way, and BRPOP.
            let h = spawn_cmd(&s, &["BRPOP", dst, "0"]);
            wait_blocked(&mut c, 1);
            q::<i64>(&mut c, &["RPUSH", src, "a", "b"]);
            assert_eq!(q::<i64>(&mut c, &["RENAMENX", src, dst]), 1);
            assert_eq!(h.join().unwrap(), Ok(pair(dst, "b")));
            let _: i64 = q(&mut c, &["DEL", dst]);
        }
    }
}

/// "SWAPDB awakes blocked client": a client on db 9 blocked on `k` is served when db 1, holding `k`, is swapped in.
#[test]
fn swapdb_wakes_a_blocked_client() {
    for shards in [1, 4] {
        let s = Server::with_shards(shards);
        let mut c = s.client();
        let (_, k) = two("k");
        let _: () = q(&mut c, &["SELECT", "1"]);
        q::<i64>(&mut c, &["RPUSH", &k, "hello"]);
        let h = spawn_in(&s, 9, &["BRPOP", &k, "5"]);
        wait_blocked(&mut c, 1);
        let _: () = q(&mut c, &["SWAPDB", "1", "9"]);
        assert_eq!(h.join().unwrap(), Ok(pair(&k, "hello")));
        // Nothing is left in either db.
        assert_eq!(q::<i64>(&mut c, &["EXISTS", &k]), 0);
        let _: () = q(&mut c, &["SELECT", "9"]);
        assert_eq!(q::<i64>(&mut c, &["EXISTS", &k]), 0);
    }
}

/// COPY and MOVE make a key appear in place; LMOVE's destination grows; a push inside EXEC wakes after EXEC.
#[test]
fn copy_move_lmove_and_exec_wake_blocked_clients() {
    let s = Server::with_shards(4);
    let mut c = s.client();
    let (src, dst) = two("c");
    assert_ne!(key_shard(src.as_bytes(), 4), key_shard(dst.as_bytes(), 4));

    // COPY onto a waited key (source on another shard).
    q::<i64>(&mut c, &["RPUSH", &src, "x", "y"]);
    let h = spawn_cmd(&s, &["BLPOP", &dst, "0"]);
    wait_blocked(&mut c, 1);
    assert_eq!(q::<i64>(&mut c, &["COPY", &src, &dst]), 1);
    assert_eq!(h.join().unwrap(), Ok(pair(&dst, "x")));
    assert_eq!(q::<i64>(&mut c, &["LLEN", &dst]), 1);
    assert_eq!(q::<i64>(&mut c, &["LLEN", &src]), 2);
    let _: i64 = q(&mut c, &["DEL", &src, &dst]);

    // MOVE from db 0 into db 3, where a client waits.
    q::<i64>(&mut c, &["RPUSH", &dst, "m"]);
    let h = spawn_in(&s, 3, &["BLPOP", &dst, "0"]);
    wait_blocked(&mut c, 1);
    assert_eq!(q::<i64>(&mut c, &["MOVE", &dst, "3"]), 1);
    assert_eq!(h.join().unwrap(), Ok(pair(&dst, "m")));

    // LMOVE's destination on another shard.
    q::<i64>(&mut c, &["RPUSH", &src, "l"]);
    let h = spawn_cmd(&s, &["BLPOP", &dst, "0"]);
    wait_blocked(&mut c, 1);
    assert_eq!(q::<String>(&mut c, &["LMOVE", &src, &dst, "LEFT", "RIGHT"]), "l");
    assert_eq!(h.join().unwrap(), Ok(pair(&dst, "l")));

    // A push inside a transaction: the waiter sees the list as EXEC left it.
    let h = spawn_cmd(&s, &["BLPOP", &dst, "0"]);
    wait_blocked(&mut c, 1);
    let mut p = redis::pipe();
    p.atomic().cmd("RPUSH").arg(&dst).arg("a").arg("b").cmd("LPOP").arg(&dst);
    let (n, first): (i64, String) = p.query(&mut c).unwrap();
    assert_eq!((n, first.as_str()), (2, "a"));
    assert_eq!(h.join().unwrap(), Ok(pair(&dst, "b")));
    assert_eq!(q::<i64>(&mut c, &["EXISTS", &dst]), 0);
}

// ---- Serving order (#18) ----

/// Clients blocked on one key are served in the order they blocked, whatever other keys (on other shards) the first
/// one also waits on.
#[test]
fn waiters_are_served_in_blocking_order_across_shards() {
    let s = Server::with_shards(4);
    let mut c = s.client();
    let (k1, k2) = two("k");
    for _ in 0..5 {
        let c0 = spawn_cmd(&s, &["BLPOP", &k2, &k1, "0"]);
        wait_blocked(&mut c, 1);
        let c1 = spawn_cmd(&s, &["BLPOP", &k2, "0"]);
        wait_blocked(&mut c, 2);
        // LPUSH k2 "" hello leaves [hello, ""]: the first blocked client gets hello.
        assert_eq!(q::<i64>(&mut c, &["LPUSH", &k2, "", "hello"]), 2);
        assert_eq!(c0.join().unwrap(), Ok(pair(&k2, "hello")));
        assert_eq!(c1.join().unwrap(), Ok(pair(&k2, "")));
    }
    // BLMOVE blocked before a BLMPOP on the same key: BLMOVE is served first.
    let (dst, _) = two("u");
    for _ in 0..5 {
        let a = spawn_cmd(&s, &["BLMOVE", &k2, &dst, "LEFT", "RIGHT", "0"]);
        wait_blocked(&mut c, 1);
        let b = spawn_cmd(&s, &["BLMPOP", "0", "2", &k1, &k2, "LEFT"]);
        wait_blocked(&mut c, 2);
        assert_eq!(q::<i64>(&mut c, &["RPUSH", &k2, "first", "second"]), 2);
        assert_eq!(a.join().unwrap(), Ok(bulk("first")));
        assert_eq!(b.join().unwrap(), Ok(Value::Array(vec![bulk(&k2), Value::Array(vec![bulk("second")])])));
        assert_eq!(q::<Vec<String>>(&mut c, &["LRANGE", &dst, "0", "-1"]), ["first"]);
        let _: i64 = q(&mut c, &["DEL", &dst]);
    }
}

/// A push's reply is not sent before the waiters it satisfied were served: the feeding client's next push sees
/// the list after the blocked client took its element (3 then 4, never 3 then 5).
#[test]
fn a_waiter_is_served_before_the_feeders_next_command() {
    let s = Server::with_shards(4);
    let mut c = s.client();
    let (k2, t1) = two("t");
    for round in 0..30 {
        let h = spawn_cmd(&s, &["BLPOP", &k2, &t1, "0"]);
        wait_blocked(&mut c, 1);
        assert_eq!(q::<i64>(&mut c, &["RPUSH", &t1, "x", "c", "a"]), 3, "round {round}");
        assert_eq!(q::<i64>(&mut c, &["RPUSH", &t1, "w1", "w2"]), 4, "round {round}");
        assert_eq!(h.join().unwrap(), Ok(pair(&t1, "x")));
        let _: i64 = q(&mut c, &["DEL", &t1]);
    }
    // The same with the two pushes pipelined.
    for round in 0..30 {
        let h = spawn_cmd(&s, &["BLPOP", &k2, &t1, "0"]);
        wait_blocked(&mut c, 1);
        let got: (i64, i64) = redis::pipe()
            .cmd("RPUSH")
            .arg(&t1)
            .arg("x")
            .arg("c")
            .arg("a")
            .cmd("RPUSH")
            .arg(&t1)
            .arg("w1")
            .arg("w2")
            .query(&mut c)
            .unwrap();
        assert_eq!(got, (3, 4), "round {round}");
        assert_eq!(h.join().unwrap(), Ok(pair(&t1, "x")));
        let _: i64 = q(&mut c, &["DEL", &t1]);
    }
}

/// A waiter on keys of several shards is served from the key that became ready first.
#[test]
fn a_spanning_waiter_takes_the_key_that_became_ready_first() {
    let s = Server::with_shards(4);
    let mut c = s.client();
    let (k1, u2) = two("u");
    for round in 0..30 {
        let h = spawn_cmd(&s, &["BLMPOP", "0", "2", &k1, &u2, "LEFT"]);
        wait_blocked(&mut c, 1);
        let pipelined = round % 2 == 1;
        if pipelined {
            let _: (i64, i64) = redis::pipe()
                .cmd("RPUSH")
                .arg(&u2)
                .arg("w1")
                .arg("w2")
                .cmd("RPUSH")
                .arg(&k1)
                .arg("w1")
                .arg("w2")
                .query(&mut c)
                .unwrap();
        } else {
            q::<i64>(&mut c, &["RPUSH", &u2, "w1", "w2"]);
            q::<i64>(&mut c, &["RPUSH", &k1, "w1", "w2"]);
        }
        let want = Value::Array(vec![bulk(&u2), Value::Array(vec![bulk("w1")])]);
        assert_eq!(h.join().unwrap(), Ok(want), "round {round}");
        assert_eq!(q::<i64>(&mut c, &["LLEN", &u2]), 1);
        assert_eq!(q::<i64>(&mut c, &["LLEN", &k1]), 2);
        let _: i64 = q(&mut c, &["DEL", &k1, &u2]);
    }
}

// ---- WATCH follows real changes ----

/// WATCHes `key` on `c`, runs `write` from another connection, and reports whether a MULTI/PING/EXEC still ran.
fn survives(s: &Server, key: &str, write: &[&str]) -> bool {
    let mut c = s.client();
    let mut other = s.client();
    let _: () = q(&mut c, &["WATCH", key]);
    let _: Value = redis::cmd(write[0]).arg(&write[1..]).query(&mut other).unwrap_or(Value::Nil);
    let _: () = q(&mut c, &["MULTI"]);
    let _: Value = q(&mut c, &["PING"]);
    match q::<Value>(&mut c, &["EXEC"]) {
        Value::Nil => false,
        Value::Array(_) => true,
        v => panic!("EXEC replied {v:?}"),
    }
}

#[test]
fn writes_that_change_nothing_leave_watch_intact() {
    for shards in [1, 4] {
        let s = Server::with_shards(shards);
        let mut c = s.client();
        let (k, other) = two("w");
        let reset = |c: &mut redis::Connection| {
            let _: i64 = q(c, &["DEL", &k, &other]);
            let _: () = q(c, &["SET", &k, "v"]);
            q::<i64>(c, &["RPUSH", &other, "a", "b"]);
        };
        let cases: Vec<Vec<&str>> = vec![
            vec!["PERSIST", &k],
            vec!["RENAME", "missing", &k],
            vec!["RENAMENX", &other, &k],
            vec!["DEL", "missing", "missing2"],
            vec!["EXPIRE", "missing", "10"],
            vec!["SET", &k, "w", "NX"],
            vec!["SETNX", &k, "w"],
            vec!["COPY", &other, &k],
            vec!["SETRANGE", &k, "0", ""],
            vec!["GETEX", &k],
            vec!["EXPIRE", &k, "100", "XX"],
        ];
        for case in &cases {
            reset(&mut c);
            assert!(survives(&s, &k, case), "{case:?} touched WATCH ({shards} shards)");
        }
        // List no-ops, watching the list.
        let list_cases: Vec<Vec<&str>> = vec![
            vec!["LREM", &other, "0", "zzz"],
            vec!["LINSERT", &other, "BEFORE", "zzz", "v"],
            vec!["LPUSHX", "missing", "v"],
            vec!["LPOP", "missing"],
            vec!["RPOP", "missing"],
            vec!["LMOVE", "missing", &other, "LEFT", "LEFT"],
            vec!["BLPOP", "missing", &k, "0.01"],
        ];
        for case in &list_cases {
            reset(&mut c);
            let _: i64 = q(&mut c, &["DEL", &k]);
            assert!(survives(&s, &other, case), "{case:?} touched WATCH ({shards} shards)");
        }
        // A watched key that did not exist and still does not: a pop on it, a DEL, an EXPIRE.
        for case in [vec!["LPOP", "gone"], vec!["DEL", "gone"], vec!["EXPIRE", "gone", "5"], vec!["PERSIST", "gone"]] {
            assert!(survives(&s, "gone", &case), "{case:?} touched WATCH ({shards} shards)");
        }
    }
}

/// Writes Redis counts as changes even when the value ends up the same.
#[test]
fn writes_that_change_the_key_fail_the_exec() {
    for shards in [1, 4] {
        let s = Server::with_shards(shards);
        let mut c = s.client();
        let (k, l) = two("t");
        let cases: Vec<(Vec<&str>, &str)> = vec![
            (vec!["SET", &k, "1"], &k),
            (vec!["INCRBY", &k, "0"], &k),
            (vec!["APPEND", &k, ""], &k),
            (vec!["EXPIRE", &k, "100"], &k),
            (vec!["DEL", &k], &k),
            (vec!["RENAME", &k, "elsewhere"], &k),
            (vec!["LTRIM", &l, "0", "-1"], &l),
            (vec!["LSET", &l, "0", "a"], &l),
            (vec!["LPUSH", &l, "z"], &l),
            (vec!["LPOP", &l], &l),
            (vec!["LREM", &l, "0", "a"], &l),
            (vec!["COPY", &k, &l, "REPLACE"], &l),
        ];
        for (case, watched) in &cases {
            let _: i64 = q(&mut c, &["DEL", &k, &l, "elsewhere"]);
            let _: () = q(&mut c, &["SET", &k, "1"]);
            q::<i64>(&mut c, &["RPUSH", &l, "a", "b"]);
            assert!(!survives(&s, watched, case), "{case:?} did not touch WATCH ({shards} shards)");
        }
    }
}

/// "FLUSHALL does not touch non affected keys", "FLUSHDB does not touch non affected keys": a watched key that did
/// not exist is not touched by a flush; one that existed is.
#[test]
fn flushes_touch_only_keys_that_existed() {
    for shards in [1, 4] {
        let s = Server::with_shards(shards);
        let mut c = s.client();
        for flush in ["FLUSHALL", "FLUSHDB"] {
            let _: i64 = q(&mut c, &["DEL", "x"]);
            assert!(survives(&s, "x", &[flush]), "{flush} touched a missing key");
            let _: () = q(&mut c, &["SET", "x", "1"]);
            assert!(!survives(&s, "x", &[flush]), "{flush} did not touch an existing key");
        }
        // SWAPDB touches a watched key only where it changes.
        let _: () = q(&mut c, &["FLUSHALL"]);
        assert!(survives(&s, "x", &["SWAPDB", "0", "1"]), "SWAPDB of two empty dbs touched a key");
        let _: () = q(&mut c, &["SET", "x", "1"]);
        assert!(!survives(&s, "x", &["SWAPDB", "0", "1"]), "SWAPDB did not touch a key that left");
    }
}

/// "WATCH will consider touched expired keys": a watched key with a TTL that expires before EXEC fails the EXEC;
/// a key already expired when it was watched and then set again does too.
#[test]
fn watched_keys_that_expire_fail_the_exec() {
    for shards in [1, 4] {
        let s = Server::with_shards(shards);
        let mut c = s.client();
        let _: () = q(&mut c, &["SET", "x", "foo", "PX", "100"]);
        let _: () = q(&mut c, &["WATCH", "x"]);
        // Waiting on time itself: the expiry is what is under test.
        std::thread::sleep(Duration::from_millis(200));
        let _: () = q(&mut c, &["MULTI"]);
        let _: Value = q(&mut c, &["PING"]);
        assert_eq!(q::<Value>(&mut c, &["EXEC"]), Value::Nil);

        // A key that outlives the EXEC does not fail it.
        let _: () = q(&mut c, &["SET", "x", "foo", "EX", "100"]);
        assert!(survives(&s, "x", &["GET", "x"]));

        // Stale when watched (not yet reclaimed), then set: EXEC fails.
        let _: () = q(&mut c, &["DEBUG", "SET-ACTIVE-EXPIRE", "0"]);
        let _: () = q(&mut c, &["SET", "y", "foo", "PX", "1"]);
        std::thread::sleep(Duration::from_millis(20));
        assert!(!survives(&s, "y", &["SET", "y", "bar"]));
        let _: () = q(&mut c, &["DEBUG", "SET-ACTIVE-EXPIRE", "1"]);
    }
}

/// "MULTI with SHUTDOWN": commands flagged no-multi are refused while queueing and doom the transaction.
#[test]
fn no_multi_commands_are_refused_inside_a_transaction() {
    let mut s = Server::with_shards(4);
    let mut c = s.client();
    let _: () = q(&mut c, &["MULTI"]);
    assert_eq!(err(&mut c, &["SHUTDOWN"]), "ERR Command not allowed inside a transaction");
    assert_eq!(q::<Value>(&mut c, &["SET", "a", "1"]), Value::SimpleString("QUEUED".into()));
    assert_eq!(err(&mut c, &["EXEC"]), "EXECABORT Transaction discarded because of previous errors.");
    assert!(s.alive(), "SHUTDOWN ran inside MULTI");
    assert_eq!(q::<Option<String>>(&mut c, &["GET", "a"]), None);
    for cmd in [&["SAVE"][..], &["WATCH", "a"], &["MULTI"]] {
        let _: () = q(&mut c, &["MULTI"]);
        assert!(err(&mut c, cmd).starts_with("ERR "), "{cmd:?} was queued");
        let _: () = q(&mut c, &["DISCARD"]);
    }
}

/// A BLMOVE whose destination is on another shard is served before the feeding client's next command: the next
/// push sees the source without the moved element, and the destination already holds it.
#[test]
fn a_cross_shard_blmove_is_served_before_the_feeders_next_command() {
    let s = Server::with_shards(4);
    let mut c = s.client();
    let (src, dst) = two("mv");
    for round in 0..30 {
        let h = spawn_cmd(&s, &["BLMOVE", &src, &dst, "LEFT", "RIGHT", "0"]);
        wait_blocked(&mut c, 1);
        if round % 2 == 0 {
            assert_eq!(q::<i64>(&mut c, &["RPUSH", &src, "a", "b", "c"]), 3, "round {round}");
            assert_eq!(q::<i64>(&mut c, &["LLEN", &dst]), 1, "round {round}");
            assert_eq!(q::<i64>(&mut c, &["RPUSH", &src, "w"]), 3, "round {round}");
        } else {
            let got: (i64, i64, i64) = redis::pipe()
                .cmd("RPUSH")
                .arg(&src)
                .arg("a")
                .arg("b")
                .arg("c")
                .cmd("RPUSH")
                .arg(&src)
                .arg("w")
                .cmd("LLEN")
                .arg(&dst)
                .query(&mut c)
                .unwrap();
            assert_eq!(got, (3, 3, 1), "round {round}");
        }
        assert_eq!(h.join().unwrap(), Ok(bulk("a")));
        let _: i64 = q(&mut c, &["DEL", &src, &dst]);
    }
}
