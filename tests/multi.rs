//! Transactions (MULTI, EXEC, DISCARD, WATCH, UNWATCH) against the real binary, on one and four shards with the
//! keys of a transaction on different shards: replies and errors as Redis 7.4, isolation under concurrent
//! transactions, WATCH, and blocking pops inside MULTI and woken by EXEC.
mod common;
use common::*;
use redis::Value;
use std::thread;
use std::time::Duration;

fn ok() -> Value {
    Value::Okay
}

fn status(s: &str) -> Value {
    Value::SimpleString(s.into())
}

fn bulk(s: &str) -> Value {
    Value::BulkString(s.as_bytes().to_vec())
}

#[test]
fn queue_exec_discard_and_errors() {
    for shards in [1, 4] {
        let s = Server::with_shards(shards);
        let mut c = s.client();
        let [a, b] = <[String; 2]>::try_from(spread("m", 2)).unwrap();
        assert_eq!(err(&mut c, &["EXEC"]), "ERR EXEC without MULTI");
        assert_eq!(err(&mut c, &["DISCARD"]), "ERR DISCARD without MULTI");

        assert_eq!(q::<Value>(&mut c, &["MULTI"]), ok());
        assert_eq!(err(&mut c, &["MULTI"]), "ERR MULTI calls can not be nested");
        assert_eq!(err(&mut c, &["WATCH", "x"]), "ERR WATCH inside MULTI is not allowed");
        assert_eq!(q::<Value>(&mut c, &["SET", &a, "1"]), status("QUEUED"));
        assert_eq!(q::<Value>(&mut c, &["MSET", &a, "2", &b, "3"]), status("QUEUED"));
        assert_eq!(q::<Value>(&mut c, &["MGET", &a, &b]), status("QUEUED"));
        assert_eq!(q::<Value>(&mut c, &["INCR", &b]), status("QUEUED"));
        // Nothing ran yet.
        let mut other = s.client();
        assert_eq!(q::<Option<String>>(&mut other, &["GET", &a]), None);
        let r: Vec<Value> = q(&mut c, &["EXEC"]);
        assert_eq!(r, vec![ok(), ok(), Value::Array(vec![bulk("2"), bulk("3")]), Value::Int(4)]);

        // A command refused while queueing dooms the transaction; the ones queued never run.
        assert_eq!(q::<Value>(&mut c, &["MULTI"]), ok());
        assert_eq!(q::<Value>(&mut c, &["SET", &a, "never"]), status("QUEUED"));
        assert!(err(&mut c, &["NOSUCH", "x"]).starts_with("ERR unknown command 'NOSUCH'"));
        assert_eq!(err(&mut c, &["GET"]), "ERR wrong number of arguments for 'get' command");
        assert_eq!(err(&mut c, &["EXEC"]), "EXECABORT Transaction discarded because of previous errors.");
        assert_eq!(q::<String>(&mut c, &["GET", &a]), "2");

        // DISCARD drops the queue; an empty transaction answers an empty array.
        assert_eq!(q::<Value>(&mut c, &["MULTI"]), ok());
        assert_eq!(q::<Value>(&mut c, &["SET", &a, "never"]), status("QUEUED"));
        assert_eq!(q::<Value>(&mut c, &["DISCARD"]), ok());
        assert_eq!(q::<String>(&mut c, &["GET", &a]), "2");
        assert_eq!(q::<Value>(&mut c, &["MULTI"]), ok());
        assert_eq!(q::<Value>(&mut c, &["EXEC"]), Value::Array(vec![]));

        // SELECT inside a transaction applies to the commands after it; RESET leaves MULTI.
        assert_eq!(q::<Value>(&mut c, &["MULTI"]), ok());
        for cmd in [&["SELECT", "1"][..], &["SET", &a, "one"], &["SELECT", "0"], &["GET", &a]] {
            assert_eq!(q::<Value>(&mut c, cmd), status("QUEUED"));
        }
        assert_eq!(q::<Vec<Value>>(&mut c, &["EXEC"]), vec![ok(), ok(), ok(), bulk("2")]);
        assert_eq!(q::<Value>(&mut c, &["MULTI"]), ok());
        assert_eq!(q::<String>(&mut c, &["RESET"]), "RESET");
        assert_eq!(err(&mut c, &["EXEC"]), "ERR EXEC without MULTI");

        // The redis crate's atomic pipeline is MULTI ... EXEC.
        let (x, y): (i64, i64) = redis::pipe().atomic().incr(&a, 1).incr(&b, 1).query(&mut c).unwrap();
        assert_eq!((x, y), (3, 5));
    }
}

#[test]
fn resp3_replies() {
    let s = Server::with_shards(4);
    let mut c = s.raw();
    c.send(b"HELLO 3\r\n");
    let _ = c.reply();
    // A command failing at run time answers its error in place; the others still run.
    c.send(b"MULTI\r\nSET k v\r\nLPUSH k x\r\nGET k\r\nEXEC\r\n");
    c.expect(b"+OK\r\n");
    for _ in 0..3 {
        c.expect(b"+QUEUED\r\n");
    }
    c.expect(b"*3\r\n+OK\r\n-WRONGTYPE Operation against a key holding the wrong kind of value\r\n$1\r\nv\r\n");
    // A transaction failed by WATCH answers a RESP3 null.
    c.send(b"WATCH k\r\nSET k w\r\nMULTI\r\nGET k\r\nEXEC\r\n");
    for r in [&b"+OK\r\n"[..], b"+OK\r\n", b"+OK\r\n", b"+QUEUED\r\n", b"_\r\n"] {
        c.expect(r);
    }
}

#[test]
fn watch() {
    for shards in [1, 4] {
        let s = Server::with_shards(shards);
        let mut c = s.client();
        let mut other = s.client();
        let [a, b] = <[String; 2]>::try_from(spread("w", 2)).unwrap();
        let txn = |c: &mut redis::Connection| -> Value {
            assert_eq!(q::<Value>(c, &["MULTI"]), ok());
            assert_eq!(q::<Value>(c, &["INCR", &a]), status("QUEUED"));
            q(c, &["EXEC"])
        };
        // Untouched: EXEC runs.
        assert_eq!(q::<Value>(&mut c, &["WATCH", &a, &b]), ok());
        assert_eq!(txn(&mut c), Value::Array(vec![Value::Int(1)]));
        // Written by another client (a single-shard write): null, and nothing ran.
        assert_eq!(q::<Value>(&mut c, &["WATCH", &a]), ok());
        let _: () = q(&mut other, &["SET", &a, "10"]);
        assert_eq!(txn(&mut c), Value::Nil);
        assert_eq!(q::<i64>(&mut c, &["GET", &a]), 10);
        // Written by a multi-shard command.
        assert_eq!(q::<Value>(&mut c, &["WATCH", &b]), ok());
        let _: () = q(&mut other, &["MSET", &a, "20", &b, "x"]);
        assert_eq!(txn(&mut c), Value::Nil);
        // By the client itself, and by FLUSHALL.
        assert_eq!(q::<Value>(&mut c, &["WATCH", &a]), ok());
        let _: () = q(&mut c, &["SET", &a, "30"]);
        assert_eq!(txn(&mut c), Value::Nil);
        assert_eq!(q::<Value>(&mut c, &["WATCH", &a]), ok());
        let _: () = q(&mut other, &["FLUSHALL"]);
        assert_eq!(txn(&mut c), Value::Nil);
        // EXEC, DISCARD and UNWATCH forget the watched keys; a read does not touch them.
        assert_eq!(q::<Value>(&mut c, &["WATCH", &a]), ok());
        assert_eq!(q::<Value>(&mut c, &["UNWATCH"]), ok());
        let _: () = q(&mut other, &["SET", &a, "1"]);
        assert_eq!(txn(&mut c), Value::Array(vec![Value::Int(2)]));
        assert_eq!(q::<Value>(&mut c, &["WATCH", &a]), ok());
        assert_eq!(q::<Value>(&mut c, &["MULTI"]), ok());
        assert_eq!(q::<Value>(&mut c, &["DISCARD"]), ok());
        let _: () = q(&mut other, &["SET", &a, "1"]);
        let _: Option<String> = q(&mut other, &["GET", &b]);
        assert_eq!(txn(&mut c), Value::Array(vec![Value::Int(2)]));
        assert_eq!(err(&mut c, &["WATCH"]), "ERR wrong number of arguments for 'watch' command");
        // A client that disconnects while watching leaves nothing behind that breaks later writes.
        let mut gone = s.client();
        assert_eq!(q::<Value>(&mut gone, &["WATCH", &a, &b]), ok());
        drop(gone);
        let _: () = q(&mut other, &["SET", &a, "5"]);
        assert_eq!(txn(&mut c), Value::Array(vec![Value::Int(6)]));
    }
}

/// Runs four writer threads, each calling `write(connection, a, b, writer, round)` 300 times with a transaction that
/// keeps the sum of `a` and `b` at 0, against four readers that read both keys in a transaction and must always
/// see a zero sum. `a` and `b` live on different shards.
fn assert_isolated(prefix: &str, write: fn(&mut redis::Connection, &str, &str, usize, usize)) {
    let s = Server::with_shards(4);
    let [a, b] = <[String; 2]>::try_from(spread(prefix, 2)).unwrap();
    let mut handles = Vec::new();
    for w in 0..4 {
        let mut c = s.client();
        let (a, b) = (a.clone(), b.clone());
        handles.push(thread::spawn(move || (0..300).for_each(|i| write(&mut c, &a, &b, w, i))));
    }
    for _ in 0..4 {
        let mut c = s.client();
        let (a, b) = (a.clone(), b.clone());
        handles.push(thread::spawn(move || {
            for _ in 0..300 {
                let (x, y): (Option<i64>, Option<i64>) = redis::pipe().atomic().get(&a).get(&b).query(&mut c).unwrap();
                assert_eq!(x.unwrap_or(0) + y.unwrap_or(0), 0, "saw half a transaction: {x:?} {y:?}");
            }
        }));
    }
    for h in handles {
        h.join().unwrap();
    }
    let mut c = s.client();
    let (x, y): (i64, i64) = redis::pipe().get(&a).get(&b).query(&mut c).unwrap();
    assert_eq!(x + y, 0);
}

/// Transactions over two keys on different shards never interleave: writers move a unit from one key to the other.
#[test]
fn transactions_are_isolated_across_shards() {
    assert_isolated("iso", |c, a, b, w, i| {
        let (from, to) = if (i + w) % 2 == 0 { (a, b) } else { (b, a) };
        let _: (i64, i64) = redis::pipe().atomic().decr(from, 1).incr(to, 1).query(c).unwrap();
    });
}

/// A multi-shard command inside EXEC (MSET over two shards, which locks and unlocks keys itself outside a
/// transaction) must not release the transaction's locks: the commands after it are still isolated.
#[test]
fn a_multi_shard_command_inside_exec_keeps_the_transaction_isolated() {
    assert_isolated("cross", |c, a, b, w, i| {
        let k = (i % 7 + w + 1) as i64;
        let _: ((), i64, i64) = redis::pipe().atomic().mset(&[(a, 0), (b, 0)]).incr(a, k).incr(b, -k).query(c).unwrap();
    });
}

#[test]
fn blocking_pops_inside_multi_do_not_block() {
    for shards in [1, 4] {
        let s = Server::with_shards(shards);
        let mut c = s.client();
        let [q1, q2] = <[String; 2]>::try_from(spread("b", 2)).unwrap();
        assert_eq!(q::<Value>(&mut c, &["MULTI"]), ok());
        for cmd in [
            &["BLPOP", &q1, "0"][..],
            &["BRPOP", &q1, &q2, "0"],
            &["BLMOVE", &q1, &q2, "LEFT", "RIGHT", "0"],
            &["BLMPOP", "0", "2", &q1, &q2, "LEFT"],
            &["BRPOPLPUSH", &q1, &q2, "0"],
        ] {
            assert_eq!(q::<Value>(&mut c, cmd), status("QUEUED"));
        }
        let r: Vec<Value> = q(&mut c, &["EXEC"]);
        assert_eq!(r, vec![Value::Nil, Value::Nil, Value::Nil, Value::Nil, Value::Nil]);
        // With data they pop as usual.
        let _: () = q(&mut c, &["RPUSH", &q2, "x"]);
        assert_eq!(q::<Value>(&mut c, &["MULTI"]), ok());
        assert_eq!(q::<Value>(&mut c, &["BRPOP", &q1, &q2, "0"]), status("QUEUED"));
        assert_eq!(q::<Vec<Value>>(&mut c, &["EXEC"]), vec![Value::Array(vec![bulk(&q2), bulk("x")])]);
    }
}

/// A client blocked on a key is served after the EXEC that pushed to it, not in the middle of it: the
/// transaction sees its own push.
#[test]
fn exec_wakes_blocked_clients_after_it_completes() {
    for shards in [1, 4] {
        let s = Server::with_shards(shards);
        let mut c = s.client();
        let [key, other_key] = <[String; 2]>::try_from(spread("x", 2)).unwrap();
        let mut waiter = s.client();
        waiter.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let k = key.clone();
        let h = thread::spawn(move || q::<Vec<String>>(&mut waiter, &["BLPOP", &k, "0"]));
        wait_blocked(&mut c, 1);
        assert_eq!(q::<Value>(&mut c, &["MULTI"]), ok());
        for cmd in
            [&["RPUSH", &key, "job"][..], &["LLEN", &key], &["SET", &other_key, "1"], &["LRANGE", &key, "0", "-1"]]
        {
            assert_eq!(q::<Value>(&mut c, cmd), status("QUEUED"));
        }
        let r: Vec<Value> = q(&mut c, &["EXEC"]);
        assert_eq!(r, vec![Value::Int(1), Value::Int(1), ok(), Value::Array(vec![bulk("job")])]);
        assert_eq!(h.join().unwrap(), vec![key.clone(), "job".to_string()]);
        assert_eq!(q::<i64>(&mut c, &["LLEN", &key]), 0);
        assert_eq!(blocked_clients(&mut c), 0);
    }
}
