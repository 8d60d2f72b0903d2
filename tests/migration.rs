//! Connections that follow their keys (`--shards 4`): a connection whose commands keep landing on one other shard
//! moves to that shard's thread, at rest, keeping its state; CLIENT LIST/INFO show where it runs (`io-thread`) and
//! INFO counts the moves. Every reply arrives once and in order across a move, with pipelines in flight, around
//! blocking commands, inside MULTI and WATCH, and when the peer goes away; `connection-migration no` turns it off.
mod common;
use common::*;
use redis::Value;
use rill::shard::slot::key_shard;
use std::time::{Duration, Instant};

/// The shard thread a connection runs on, from its CLIENT INFO line.
fn thread_of(c: &mut redis::Connection) -> usize {
    let line: String = q(c, &["CLIENT", "INFO"]);
    field(&line, "io-thread").parse().expect("io-thread number")
}

fn field<'a>(line: &'a str, name: &str) -> &'a str {
    line.split_whitespace().find_map(|kv| kv.strip_prefix(name).and_then(|r| r.strip_prefix('='))).expect(name)
}

fn migrations(c: &mut redis::Connection) -> u64 {
    let info: String = q(c, &["INFO", "stats"]);
    let line = info.lines().find(|l| l.starts_with("connection_migrations:")).expect("connection_migrations");
    line["connection_migrations:".len()..].trim().parse().unwrap()
}

/// A key owned by a shard other than `not`, of four.
fn key_away_from(not: usize, prefix: &str) -> (String, usize) {
    (0..)
        .map(|i| format!("{prefix}{i}"))
        .map(|k| {
            let s = key_shard(k.as_bytes(), 4);
            (k, s)
        })
        .find(|(_, s)| *s != not)
        .unwrap()
}

#[test]
fn a_connection_moves_to_the_shard_of_its_keys_and_keeps_its_state() {
    let s = Server::with_shards(4);
    let mut c = s.client3();
    let mut watcher = s.client();
    let before = migrations(&mut watcher);
    let id: i64 = q(&mut c, &["CLIENT", "ID"]);
    let _: () = q(&mut c, &["CLIENT", "SETNAME", "mover"]);
    let _: () = q(&mut c, &["SELECT", "5"]);
    let home = thread_of(&mut c);
    let (k, target) = key_away_from(home, "m");
    for i in 1..=20 {
        assert_eq!(q::<i64>(&mut c, &["INCR", &k]), i);
    }
    assert_eq!(thread_of(&mut c), target, "the connection did not follow its key");
    assert!(migrations(&mut watcher) > before);
    // Its state came along: id, name, database, protocol.
    assert_eq!(q::<i64>(&mut c, &["CLIENT", "ID"]), id);
    assert_eq!(q::<String>(&mut c, &["CLIENT", "GETNAME"]), "mover");
    assert_eq!(q::<i64>(&mut c, &["GET", &k]), 20);
    let _: () = q(&mut watcher, &["SELECT", "5"]);
    assert_eq!(q::<i64>(&mut watcher, &["GET", &k]), 20);
    let hello: Value = q(&mut c, &["HELLO"]);
    assert!(matches!(hello, Value::Map(_)), "RESP3 after the move: {hello:?}");
    // CLIENT LIST, from another connection, shows it on its new thread.
    let list: String = q(&mut watcher, &["CLIENT", "LIST"]);
    let line = list.lines().find(|l| field(l, "id") == id.to_string()).expect("listed");
    assert_eq!(field(line, "io-thread"), target.to_string());
    assert_eq!(field(line, "name"), "mover");
}

#[test]
fn pipelines_in_flight_keep_every_reply_once_and_in_order() {
    let s = Server::with_shards(4);
    let mut check = s.client();
    for round in 0..5 {
        let mut raw = s.raw();
        let (k, _) = key_away_from(usize::MAX, &format!("p{round}-"));
        // Many writes without reading: the server reads them in pieces, and moves between pieces.
        let total = 3000;
        let mut sent = 0;
        while sent < total {
            let chunk = 1 + (sent * 7 + round) % 97;
            let mut bytes = Vec::new();
            for _ in 0..chunk.min(total - sent) {
                bytes.extend_from_slice(format!("*2\r\n$4\r\nINCR\r\n${}\r\n{k}\r\n", k.len()).as_bytes());
            }
            sent += chunk.min(total - sent);
            raw.send(&bytes);
        }
        for i in 1..=total {
            raw.expect(format!(":{i}\r\n").as_bytes());
        }
        assert_eq!(q::<i64>(&mut check, &["GET", &k]), total as i64);
    }
    assert!(migrations(&mut check) > 0);
}

#[test]
fn blocking_commands_before_and_after_a_move() {
    let s = Server::with_shards(4);
    let mut c = s.client();
    let mut feeder = s.client();
    let home = thread_of(&mut c);
    let (q_key, target) = key_away_from(home, "queue");
    // A worker loop: pops that find data, then one that blocks, on its new thread.
    for i in 0..12 {
        q::<i64>(&mut feeder, &["RPUSH", &q_key, &i.to_string()]);
        let got: (String, String) = q(&mut c, &["BRPOP", &q_key, "0"]);
        assert_eq!(got, (q_key.clone(), i.to_string()));
    }
    assert_eq!(thread_of(&mut c), target);
    let (mut worker, key) = (c, q_key.clone());
    let h = std::thread::spawn(move || {
        let got: (String, String) = q(&mut worker, &["BRPOP", &key, "0"]);
        (got, worker)
    });
    wait_blocked(&mut feeder, 1);
    q::<i64>(&mut feeder, &["RPUSH", &q_key, "late"]);
    let (got, mut worker) = h.join().unwrap();
    assert_eq!(got, (q_key, "late".to_string()));
    assert_eq!(q::<String>(&mut worker, &["PING"]), "PONG");
}

#[test]
fn a_transaction_and_its_watch_move_along() {
    let s = Server::with_shards(4);
    let mut raw = s.raw();
    let mut other = s.client();
    let (k, _) = key_away_from(usize::MAX, "tx");
    let (w, _) = key_away_from(key_shard(k.as_bytes(), 4), "watched");
    let cmd = |args: &[&str]| {
        let mut out = format!("*{}\r\n", args.len());
        for a in args {
            out.push_str(&format!("${}\r\n{a}\r\n", a.len()));
        }
        out.into_bytes()
    };
    // Enough commands on k to move, then WATCH and MULTI in the same read: it moves with both.
    let mut bytes = Vec::new();
    for _ in 0..40 {
        bytes.extend(cmd(&["INCR", &k]));
    }
    bytes.extend(cmd(&["WATCH", &w]));
    bytes.extend(cmd(&["MULTI"]));
    raw.send(&bytes);
    for i in 1..=40 {
        raw.expect(format!(":{i}\r\n").as_bytes());
    }
    raw.expect(b"+OK\r\n");
    raw.expect(b"+OK\r\n");
    // It has moved to k's thread, MULTI and WATCH and all.
    let list: String = q(&mut other, &["CLIENT", "LIST"]);
    let on = |t: usize| list.lines().filter(|l| field(l, "io-thread") == t.to_string()).count();
    assert_eq!(on(key_shard(k.as_bytes(), 4)) - usize::from(thread_of(&mut other) == key_shard(k.as_bytes(), 4)), 1);
    raw.send(&cmd(&["INCR", &k]));
    raw.expect(b"+QUEUED\r\n");
    raw.send(&cmd(&["EXEC"]));
    raw.expect(b"*1\r\n:41\r\n");
    // The WATCH still holds after a move: a write by another client fails the next EXEC.
    raw.send(&[cmd(&["WATCH", &w]), cmd(&["MULTI"]), cmd(&["INCR", &k])].concat());
    raw.expect(b"+OK\r\n");
    raw.expect(b"+OK\r\n");
    raw.expect(b"+QUEUED\r\n");
    let _: () = q(&mut other, &["SET", &w, "changed"]);
    raw.send(&cmd(&["EXEC"]));
    raw.expect(b"*-1\r\n");
    assert_eq!(q::<i64>(&mut other, &["GET", &k]), 41);
}

#[test]
fn a_peer_that_leaves_during_a_move_is_forgotten() {
    let s = Server::with_shards(4);
    let mut c = s.client();
    for round in 0..20 {
        let mut raw = s.raw();
        let (k, _) = key_away_from(usize::MAX, &format!("gone{round}-"));
        let mut bytes = Vec::new();
        for _ in 0..(8 + round) {
            bytes.extend_from_slice(format!("*2\r\n$4\r\nINCR\r\n${}\r\n{k}\r\n", k.len()).as_bytes());
        }
        raw.send(&bytes);
        drop(raw);
    }
    // Each goes away wherever it is (a connection in flight between threads is in no registry for a moment, so
    // the registries are polled until they settle); the server keeps serving and lists only this client.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let list: String = q(&mut c, &["CLIENT", "LIST"]);
        let info: String = q(&mut c, &["INFO", "clients"]);
        if list.lines().count() == 1 && info.contains("connected_clients:1\r\n") {
            break;
        }
        assert!(Instant::now() < deadline, "connections left behind: {list}");
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(q::<String>(&mut c, &["PING"]), "PONG");
}

#[test]
fn migration_can_be_turned_off() {
    let s = Server::start(&["--shards", "4", "--connection-migration", "no"]);
    let mut c = s.client();
    let home = thread_of(&mut c);
    let (k, _) = key_away_from(home, "stay");
    for _ in 0..100 {
        let _: i64 = q(&mut c, &["INCR", &k]);
    }
    assert_eq!(thread_of(&mut c), home);
    assert_eq!(migrations(&mut c), 0);
    assert_eq!(q::<Vec<String>>(&mut c, &["CONFIG", "GET", "connection-migration"]), ["connection-migration", "no"]);
    let _: () = q(&mut c, &["CONFIG", "SET", "connection-migration", "yes"]);
    for _ in 0..100 {
        let _: i64 = q(&mut c, &["INCR", &k]);
    }
    assert_eq!(thread_of(&mut c), key_shard(k.as_bytes(), 4));
}
