//! Generic key commands, through a real client: existence and deletion, KEYS and SCAN over every shard,
//! RANDOMKEY, RENAME / COPY / MOVE (across shards too), the EXPIRE and TTL families with their error texts,
//! OBJECT, database isolation, and lazy and active expiry. Multi-key behaviour runs with one shard and with four.
mod common;
use common::*;
use redis::Value;
use rill::shard::slot::key_shard;
use std::collections::HashSet;
use std::time::{Duration, Instant};

/// Two key names that land on different shards of a four-shard server (and so need the cross-shard paths).
fn apart(prefix: &str) -> (String, String) {
    let a = format!("{prefix}:a");
    let b = (0..).map(|i| format!("{prefix}:b{i}")).find(|b| key_shard(b.as_bytes(), 4) != key_shard(a.as_bytes(), 4));
    (a, b.expect("some key lands elsewhere"))
}

fn unix_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

/// Polls `check` until it holds or `within` passes; returns whether it held. For waiting on time-driven events
/// (expiry), where there is no reply to wait for.
fn eventually(within: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + within;
    loop {
        if check() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn del_unlink_exists_touch_type() {
    for shards in [1, 4] {
        let s = Server::with_shards(shards);
        let mut c = s.client();
        let (a, b) = apart("d");
        for k in [&a, &b, &"c".to_string()] {
            let _: () = q(&mut c, &["SET", k, "v"]);
        }
        // Duplicates count twice for EXISTS, once for DEL.
        assert_eq!(q::<i64>(&mut c, &["EXISTS", &a, &a, &b, "missing", &a]), 4);
        assert_eq!(q::<i64>(&mut c, &["TOUCH", &a, &b, "missing"]), 2);
        assert_eq!(q::<String>(&mut c, &["TYPE", &a]), "string");
        assert_eq!(q::<String>(&mut c, &["TYPE", "missing"]), "none");
        assert_eq!(q::<i64>(&mut c, &["DEL", &a, &a, &b, "missing"]), 2);
        assert_eq!(q::<i64>(&mut c, &["EXISTS", &a, &b]), 0);
        assert_eq!(q::<i64>(&mut c, &["UNLINK", "c", "c"]), 1);
        assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 0);
        assert_eq!(err(&mut c, &["EXISTS"]), "ERR wrong number of arguments for 'exists' command");
        assert_eq!(err(&mut c, &["DEL"]), "ERR wrong number of arguments for 'del' command");
        assert_eq!(err(&mut c, &["TYPE", "a", "b"]), "ERR wrong number of arguments for 'type' command");
    }
}

#[test]
fn keys_glob_patterns() {
    for shards in [1, 4] {
        let s = Server::with_shards(shards);
        let mut c = s.client();
        for k in ["hello", "hallo", "hbllo", "hxllo", "h*llo", "h?llo", "h[llo", "h\\llo", "a", "ab"] {
            let _: () = q(&mut c, &["SET", k, "1"]);
        }
        let keys = |c: &mut redis::Connection, pattern: &str| {
            let mut v: Vec<String> = q(c, &["KEYS", pattern]);
            v.sort();
            v
        };
        assert_eq!(keys(&mut c, "*").len(), 10);
        assert_eq!(keys(&mut c, "h?llo").len(), 8);
        assert_eq!(keys(&mut c, "h[ae]llo"), ["hallo", "hello"]);
        assert_eq!(keys(&mut c, "h[a-c]llo"), ["hallo", "hbllo"]);
        assert_eq!(keys(&mut c, "h[c-a]llo"), ["hallo", "hbllo"]);
        assert_eq!(keys(&mut c, "h[^a-x]llo"), ["h*llo", "h?llo", "h[llo", "h\\llo"]);
        assert_eq!(keys(&mut c, "h[^e]llo").len(), 7);
        assert_eq!(keys(&mut c, "h\\*llo"), ["h*llo"]);
        assert_eq!(keys(&mut c, "h\\?llo"), ["h?llo"]);
        assert_eq!(keys(&mut c, "h\\[llo"), ["h[llo"]);
        assert_eq!(keys(&mut c, "h\\\\llo"), ["h\\llo"]);
        assert_eq!(keys(&mut c, "\\a"), ["a"]);
        assert_eq!(keys(&mut c, "a?"), ["ab"]);
        assert_eq!(keys(&mut c, "?"), ["a"]);
        assert!(keys(&mut c, "nothing*").is_empty());
        assert!(keys(&mut c, "").is_empty());
        // Expired keys are not listed even before anything reclaims them.
        let _: () = q(&mut c, &["DEBUG", "SET-ACTIVE-EXPIRE", "0"]);
        let _: () = q(&mut c, &["SET", "gone", "1", "PX", "1"]);
        assert!(eventually(Duration::from_secs(2), || !keys(&mut c, "*").contains(&"gone".to_string())));
    }
}

/// Runs a SCAN to its end and returns every key it gave (with repeats) and how many calls it took.
fn full_scan(c: &mut redis::Connection, opts: &[&str]) -> (Vec<String>, usize) {
    let mut cursor = "0".to_string();
    let mut all = Vec::new();
    let mut calls = 0;
    loop {
        let mut args = vec!["SCAN", &cursor];
        args.extend_from_slice(opts);
        let (next, keys): (String, Vec<String>) = q(c, &args);
        all.extend(keys);
        calls += 1;
        assert!(calls < 100_000, "SCAN does not end");
        if next == "0" {
            return (all, calls);
        }
        cursor = next;
    }
}

#[test]
fn scan_full_iteration_over_shards() {
    for shards in [1, 4] {
        let s = Server::with_shards(shards);
        let mut c = s.client();
        let n = 1500;
        let mut pipe = redis::pipe();
        for i in 0..n {
            pipe.cmd("SET").arg(format!("key:{i}")).arg(i).ignore();
        }
        pipe.cmd("SET").arg("other").arg("x").ignore();
        let _: () = pipe.query(&mut c).unwrap();

        let (keys, calls) = full_scan(&mut c, &[]);
        let set: HashSet<&String> = keys.iter().collect();
        assert_eq!(set.len(), n + 1, "shards {shards}: every key at least once");
        assert!(calls > 1, "COUNT 10 walks in steps");
        for i in 0..n {
            assert!(set.contains(&format!("key:{i}")));
        }

        let (keys, _) = full_scan(&mut c, &["MATCH", "key:1??", "COUNT", "100"]);
        let set: HashSet<String> = keys.into_iter().collect();
        assert_eq!(set, (100..200).map(|i| format!("key:{i}")).collect::<HashSet<_>>());

        let (keys, _) = full_scan(&mut c, &["TYPE", "STRING", "MATCH", "oth*"]);
        assert_eq!(keys, ["other"]);
        let (keys, _) = full_scan(&mut c, &["TYPE", "list"]);
        assert!(keys.is_empty());
        // Redis 7.4 filters out everything for an unknown type rather than failing.
        let (keys, _) = full_scan(&mut c, &["TYPE", "nosuchtype"]);
        assert!(keys.is_empty());

        // A large COUNT takes the whole keyspace, every shard, in one call.
        let (next, keys): (String, Vec<String>) = q(&mut c, &["SCAN", "0", "COUNT", "100000"]);
        assert_eq!((next.as_str(), keys.len()), ("0", n + 1));

        assert_eq!(err(&mut c, &["SCAN", "abc"]), "ERR invalid cursor");
        assert_eq!(err(&mut c, &["SCAN", "-1"]), "ERR invalid cursor");
        assert_eq!(err(&mut c, &["SCAN", "18446744073709551616"]), "ERR invalid cursor");
        assert_eq!(err(&mut c, &["SCAN", "0", "COUNT", "0"]), "ERR syntax error");
        assert_eq!(err(&mut c, &["SCAN", "0", "COUNT", "-3"]), "ERR syntax error");
        assert_eq!(err(&mut c, &["SCAN", "0", "COUNT", "x"]), "ERR value is not an integer or out of range");
        assert_eq!(err(&mut c, &["SCAN", "0", "MATCH"]), "ERR syntax error");
        assert_eq!(err(&mut c, &["SCAN", "0", "FOO", "bar"]), "ERR syntax error");
        // The largest cursor is a valid (if meaningless) cursor.
        let _: (String, Vec<String>) = q(&mut c, &["SCAN", "18446744073709551615"]);
    }
}

#[test]
fn scan_skips_and_reclaims_expired_keys() {
    for shards in [1, 4] {
        let s = Server::with_shards(shards);
        let mut c = s.client();
        let _: () = q(&mut c, &["DEBUG", "SET-ACTIVE-EXPIRE", "0"]);
        // One absolute deadline for every volatile key (a relative TTL would start from whenever each SET ran).
        let deadline = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() + 50;
        let mut pipe = redis::pipe();
        for i in 0..200 {
            pipe.cmd("SET").arg(format!("k{i}")).arg(i).ignore();
            pipe.cmd("SET").arg(format!("t{i}")).arg(i).arg("PXAT").arg(deadline as u64).ignore();
        }
        let _: () = pipe.query(&mut c).unwrap();
        // Wait until the volatile keys are past their time, touching only one of them.
        assert!(eventually(Duration::from_secs(2), || q::<i64>(&mut c, &["PTTL", "t0"]) == -2));
        assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 399);
        let (keys, _) = full_scan(&mut c, &[]);
        assert!(keys.iter().all(|k| k.starts_with('k')));
        assert_eq!(keys.iter().collect::<HashSet<_>>().len(), 200);
        assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 200, "SCAN deletes the expired keys it passes");
    }
}

#[test]
fn randomkey() {
    for shards in [1, 4] {
        let s = Server::with_shards(shards);
        let mut c = s.client();
        assert_eq!(q::<Option<String>>(&mut c, &["RANDOMKEY"]), None);
        let _: () = q(&mut c, &["SET", "only", "v"]);
        assert_eq!(q::<Option<String>>(&mut c, &["RANDOMKEY"]).as_deref(), Some("only"));
        for k in ["a", "b", "c", "d", "e", "f"] {
            let _: () = q(&mut c, &["SET", k, "v"]);
        }
        let mut seen = HashSet::new();
        for _ in 0..300 {
            seen.insert(q::<String>(&mut c, &["RANDOMKEY"]));
        }
        assert!(seen.len() >= 5, "RANDOMKEY spreads over the keys: {seen:?}");
        // Keys that have expired are never returned, and are removed when picked.
        let _: () = q(&mut c, &["FLUSHALL"]);
        let _: () = q(&mut c, &["DEBUG", "SET-ACTIVE-EXPIRE", "0"]);
        for i in 0..20 {
            let _: () = q(&mut c, &["SET", &format!("x{i}"), "v", "PX", "1"]);
        }
        // The last one set expires last; reading it deletes only it.
        assert!(eventually(Duration::from_secs(2), || q::<i64>(&mut c, &["PTTL", "x19"]) == -2));
        assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 19);
        assert_eq!(q::<Option<String>>(&mut c, &["RANDOMKEY"]), None);
        assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 0);
        for i in 0..20 {
            let _: () = q(&mut c, &["SET", &format!("x{i}"), "v", "PX", "1"]);
        }
        assert!(eventually(Duration::from_secs(2), || q::<i64>(&mut c, &["PTTL", "x19"]) == -2));
        let _: () = q(&mut c, &["SET", "live", "v"]);
        for _ in 0..20 {
            assert_eq!(q::<String>(&mut c, &["RANDOMKEY"]), "live");
        }
    }
}

#[test]
fn rename_and_renamenx() {
    for shards in [1, 4] {
        let s = Server::with_shards(shards);
        let mut c = s.client();
        let (a, b) = apart("r");
        assert_eq!(err(&mut c, &["RENAME", "nokey", "x"]), "ERR no such key");
        assert_eq!(err(&mut c, &["RENAMENX", "nokey", "x"]), "ERR no such key");
        assert_eq!(err(&mut c, &["RENAME", "nokey", "nokey"]), "ERR no such key");
        let _: () = q(&mut c, &["SET", &a, "va", "EX", "1000"]);
        assert_eq!(q::<String>(&mut c, &["RENAME", &a, &a]), "OK");
        assert_eq!(q::<i64>(&mut c, &["RENAMENX", &a, &a]), 0);
        // Across shards when there are four: the value and its TTL move.
        assert_eq!(q::<String>(&mut c, &["RENAME", &a, &b]), "OK");
        assert_eq!(q::<i64>(&mut c, &["EXISTS", &a]), 0);
        assert_eq!(q::<String>(&mut c, &["GET", &b]), "va");
        let ttl: i64 = q(&mut c, &["TTL", &b]);
        assert!((999..=1000).contains(&ttl), "ttl {ttl}");
        // RENAME over an existing key replaces it and its TTL; RENAMENX leaves it.
        let _: () = q(&mut c, &["SET", &a, "other"]);
        assert_eq!(q::<i64>(&mut c, &["RENAMENX", &b, &a]), 0);
        assert_eq!(q::<String>(&mut c, &["GET", &a]), "other");
        assert_eq!(q::<String>(&mut c, &["RENAME", &b, &a]), "OK");
        assert_eq!(q::<String>(&mut c, &["GET", &a]), "va");
        assert!(q::<i64>(&mut c, &["TTL", &a]) > 0);
        assert_eq!(q::<i64>(&mut c, &["RENAMENX", &a, &b]), 1);
        assert_eq!(q::<i64>(&mut c, &["EXISTS", &a, &b]), 1);
        assert!(q::<i64>(&mut c, &["PTTL", &b]) > 0);
        // A persistent key stays persistent and replaces a volatile one's TTL.
        let _: () = q(&mut c, &["SET", &a, "p"]);
        assert_eq!(q::<String>(&mut c, &["RENAME", &a, &b]), "OK");
        assert_eq!(q::<i64>(&mut c, &["TTL", &b]), -1);
        assert_eq!(err(&mut c, &["RENAME", "x"]), "ERR wrong number of arguments for 'rename' command");
    }
}

/// A key renamed back and forth between two names on different shards (both lock orders, from connections on
/// several shard threads) is, to every transaction that looks, under exactly one of the names.
#[test]
fn renames_across_shards_are_atomic() {
    let s = Server::with_shards(4);
    let (a, b) = apart("ra");
    let mut c = s.client();
    let _: () = q(&mut c, &["SET", &a, "v"]);
    let (wa, wb, ra, rb) = (a.clone(), b.clone(), a.clone(), b.clone());
    race(
        &s,
        4,
        2,
        300,
        move |c, m, i| {
            let (from, to) = if (i + m) % 2 == 0 { (&wa, &wb) } else { (&wb, &wa) };
            // The key may be under the other name by now: "no such key" is an answer too.
            let r: redis::RedisResult<redis::Value> =
                redis::cmd(if i % 2 == 0 { "RENAME" } else { "RENAMENX" }).arg(from).arg(to).query(c);
            if let Err(e) = r {
                assert!(e.to_string().contains("no such key"), "{e}");
            }
        },
        move |c| {
            let (x, y): (i64, i64) = redis::pipe().atomic().exists(&ra).exists(&rb).query(c).unwrap();
            assert_eq!(x + y, 1, "a transaction saw a rename half done");
        },
    );
    assert_eq!(q::<i64>(&mut c, &["EXISTS", &a, &b]), 1);
}

#[test]
fn copy_between_keys_and_databases() {
    for shards in [1, 4] {
        let s = Server::with_shards(shards);
        let mut c = s.client();
        let (a, b) = apart("c");
        assert_eq!(q::<i64>(&mut c, &["COPY", "nokey", &b]), 0);
        let _: () = q(&mut c, &["SET", &a, "hello", "EX", "1000"]);
        assert_eq!(err(&mut c, &["COPY", &a, &a]), "ERR source and destination objects are the same");
        assert_eq!(err(&mut c, &["COPY", &a, &a, "DB", "0"]), "ERR source and destination objects are the same");
        assert_eq!(q::<i64>(&mut c, &["COPY", &a, &b]), 1);
        assert_eq!(q::<String>(&mut c, &["GET", &b]), "hello");
        assert!((999..=1000).contains(&q::<i64>(&mut c, &["TTL", &b])));
        assert_eq!(q::<String>(&mut c, &["GET", &a]), "hello");
        // The copy is independent of its source.
        let _: () = q(&mut c, &["APPEND", &b, "!"]);
        assert_eq!(q::<String>(&mut c, &["GET", &a]), "hello");
        assert_eq!(q::<i64>(&mut c, &["COPY", &a, &b]), 0);
        assert_eq!(q::<i64>(&mut c, &["COPY", &a, &b, "REPLACE"]), 1);
        assert_eq!(q::<String>(&mut c, &["GET", &b]), "hello");
        let _: () = q(&mut c, &["SET", "plain", "p"]);
        assert_eq!(q::<i64>(&mut c, &["COPY", "plain", &b, "REPLACE"]), 1);
        assert_eq!(q::<i64>(&mut c, &["TTL", &b]), -1, "REPLACE drops the old TTL");
        // Into another database, same name allowed there.
        assert_eq!(q::<i64>(&mut c, &["COPY", &a, &a, "DB", "3"]), 1);
        assert_eq!(q::<i64>(&mut c, &["COPY", &a, &b, "db", "3", "replace"]), 1);
        let _: () = q(&mut c, &["SELECT", "3"]);
        assert_eq!(q::<String>(&mut c, &["GET", &a]), "hello");
        assert!(q::<i64>(&mut c, &["TTL", &b]) > 0);
        let _: () = q(&mut c, &["SELECT", "0"]);
        assert_eq!(err(&mut c, &["COPY", &a, &b, "DB", "16"]), "ERR DB index is out of range");
        assert_eq!(err(&mut c, &["COPY", &a, &b, "DB", "-1"]), "ERR DB index is out of range");
        assert_eq!(
            err(&mut c, &["COPY", &a, &b, "DB", "4294967296"]),
            "ERR value is out of range, value must between -2147483648 and 2147483647"
        );
        assert_eq!(err(&mut c, &["COPY", &a, &b, "DB", "x"]), "ERR value is not an integer or out of range");
        assert_eq!(err(&mut c, &["COPY", &a, &b, "DB"]), "ERR syntax error");
        assert_eq!(err(&mut c, &["COPY", &a, &b, "FOO"]), "ERR syntax error");
    }
}

#[test]
fn move_between_databases() {
    let s = Server::with_shards(4);
    let mut c = s.client();
    let _: () = q(&mut c, &["SET", "m", "v", "EX", "500"]);
    assert_eq!(err(&mut c, &["MOVE", "m", "0"]), "ERR source and destination objects are the same");
    assert_eq!(err(&mut c, &["MOVE", "m", "16"]), "ERR DB index is out of range");
    assert_eq!(err(&mut c, &["MOVE", "m", "-1"]), "ERR DB index is out of range");
    assert_eq!(err(&mut c, &["MOVE", "m", "x"]), "ERR value is not an integer or out of range");
    assert_eq!(
        err(&mut c, &["MOVE", "m", "2147483648"]),
        "ERR value is out of range, value must between -2147483648 and 2147483647"
    );
    assert_eq!(q::<i64>(&mut c, &["MOVE", "nokey", "1"]), 0);
    assert_eq!(q::<i64>(&mut c, &["MOVE", "m", "1"]), 1);
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "m"]), 0);
    let _: () = q(&mut c, &["SET", "m", "again"]);
    assert_eq!(q::<i64>(&mut c, &["MOVE", "m", "1"]), 0, "the target database has it already");
    let _: () = q(&mut c, &["SELECT", "1"]);
    assert_eq!(q::<String>(&mut c, &["GET", "m"]), "v");
    assert!((499..=500).contains(&q::<i64>(&mut c, &["TTL", "m"])));
}

#[test]
fn expire_options_and_errors() {
    let s = Server::with_shards(4);
    let mut c = s.client();
    let _: () = q(&mut c, &["SET", "k", "v"]);
    let incompatible = "ERR NX and XX, GT or LT options at the same time are not compatible";
    assert_eq!(err(&mut c, &["EXPIRE", "k", "100", "NX", "XX"]), incompatible);
    assert_eq!(err(&mut c, &["EXPIRE", "k", "100", "NX", "GT"]), incompatible);
    assert_eq!(err(&mut c, &["EXPIRE", "k", "100", "LT", "nx"]), incompatible);
    assert_eq!(
        err(&mut c, &["PEXPIRE", "k", "100", "GT", "LT"]),
        "ERR GT and LT options at the same time are not compatible"
    );
    assert_eq!(err(&mut c, &["EXPIRE", "k", "100", "FOO"]), "ERR Unsupported option FOO");
    // Options are checked before the number, as Redis does.
    assert_eq!(err(&mut c, &["EXPIRE", "k", "abc", "FOO"]), "ERR Unsupported option FOO");
    assert_eq!(err(&mut c, &["EXPIRE", "k", "abc", "NX", "XX"]), incompatible);
    assert_eq!(err(&mut c, &["EXPIRE", "k", "abc"]), "ERR value is not an integer or out of range");
    assert_eq!(err(&mut c, &["EXPIRE", "k", "1.5"]), "ERR value is not an integer or out of range");
    for (cmd, v) in [
        ("EXPIRE", "9223372036854775807"),
        ("EXPIRE", "9223372036854776"),
        ("EXPIRE", "-9223372036854776"),
        ("PEXPIRE", "9223372036854775807"),
        ("EXPIREAT", "9223372036854775807"),
    ] {
        let want = format!("ERR invalid expire time in '{}' command", cmd.to_lowercase());
        assert_eq!(err(&mut c, &[cmd, "k", v]), want);
    }
    assert_eq!(q::<i64>(&mut c, &["TTL", "k"]), -1, "failed EXPIREs leave the key alone");

    // NX / XX / GT / LT.
    assert_eq!(q::<i64>(&mut c, &["EXPIRE", "k", "100", "XX"]), 0);
    assert_eq!(q::<i64>(&mut c, &["EXPIRE", "k", "100", "GT"]), 0, "no TTL counts as infinite");
    assert_eq!(q::<i64>(&mut c, &["EXPIRE", "k", "100", "NX"]), 1);
    assert_eq!(q::<i64>(&mut c, &["EXPIRE", "k", "200", "NX"]), 0);
    assert_eq!(q::<i64>(&mut c, &["EXPIRE", "k", "50", "GT"]), 0);
    assert_eq!(q::<i64>(&mut c, &["EXPIRE", "k", "200", "XX", "GT"]), 1);
    assert_eq!(q::<i64>(&mut c, &["TTL", "k"]), 200);
    assert_eq!(q::<i64>(&mut c, &["EXPIRE", "k", "300", "LT"]), 0);
    assert_eq!(q::<i64>(&mut c, &["EXPIRE", "k", "150", "lt"]), 1);
    assert_eq!(q::<i64>(&mut c, &["TTL", "k"]), 150);
    assert_eq!(q::<i64>(&mut c, &["PERSIST", "k"]), 1);
    assert_eq!(q::<i64>(&mut c, &["PERSIST", "k"]), 0);
    assert_eq!(q::<i64>(&mut c, &["PERSIST", "nokey"]), 0);
    assert_eq!(q::<i64>(&mut c, &["EXPIRE", "k", "100", "LT"]), 1, "no TTL: any time is less");
    assert_eq!(q::<i64>(&mut c, &["EXPIRE", "nokey", "100"]), 0);

    // A time in the past deletes the key (and still answers 1).
    for (cmd, v) in [("EXPIRE", "-1"), ("PEXPIRE", "0"), ("EXPIREAT", "1"), ("PEXPIREAT", "0")] {
        let _: () = q(&mut c, &["SET", "k", "v"]);
        assert_eq!(q::<i64>(&mut c, &[cmd, "k", v]), 1, "{cmd} {v}");
        assert_eq!(q::<i64>(&mut c, &["EXISTS", "k"]), 0, "{cmd} {v}");
    }
    let _: () = q(&mut c, &["SET", "k", "v"]);
    assert_eq!(q::<i64>(&mut c, &["PEXPIRE", "k", "-5", "GT"]), 0);
    assert_eq!(q::<i64>(&mut c, &["PEXPIRE", "k", "-5", "LT"]), 1);
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "k"]), 0);
}

#[test]
fn ttl_family() {
    let s = Server::with_shards(1);
    let mut c = s.client();
    for cmd in ["TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME"] {
        assert_eq!(q::<i64>(&mut c, &[cmd, "nokey"]), -2);
    }
    let _: () = q(&mut c, &["SET", "k", "v"]);
    for cmd in ["TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME"] {
        assert_eq!(q::<i64>(&mut c, &[cmd, "k"]), -1);
    }
    assert_eq!(q::<i64>(&mut c, &["PEXPIREAT", "k", "4000000000499"]), 1);
    assert_eq!(q::<i64>(&mut c, &["PEXPIRETIME", "k"]), 4000000000499);
    assert_eq!(q::<i64>(&mut c, &["EXPIRETIME", "k"]), 4000000000);
    assert_eq!(q::<i64>(&mut c, &["PEXPIREAT", "k", "4000000000500"]), 1);
    assert_eq!(q::<i64>(&mut c, &["EXPIRETIME", "k"]), 4000000001, "rounded like Redis");
    assert_eq!(q::<i64>(&mut c, &["EXPIREAT", "k", "4000000000"]), 1);
    assert_eq!(q::<i64>(&mut c, &["PEXPIRETIME", "k"]), 4000000000000);
    let ttl: i64 = q(&mut c, &["TTL", "k"]);
    let want = 4000000000 - unix_ms() / 1000;
    assert!((want - 2..=want + 2).contains(&ttl), "{ttl} vs {want}");
    assert_eq!(q::<i64>(&mut c, &["PEXPIRE", "k", "10000"]), 1);
    let pttl: i64 = q(&mut c, &["PTTL", "k"]);
    assert!((9000..=10000).contains(&pttl));
    assert_eq!(q::<i64>(&mut c, &["TTL", "k"]), 10);
    let at: i64 = q(&mut c, &["PEXPIRETIME", "k"]);
    assert!((at - (unix_ms() + 10000)).abs() < 1000);
    assert_eq!(q::<i64>(&mut c, &["PEXPIREAT", "k", "9223372036854775807"]), 1);
    assert_eq!(q::<i64>(&mut c, &["EXPIRETIME", "k"]), 9223372036854776);
    // SET without KEEPTTL clears the TTL.
    let _: () = q(&mut c, &["SET", "k", "w"]);
    assert_eq!(q::<i64>(&mut c, &["TTL", "k"]), -1);
    assert_eq!(err(&mut c, &["TTL"]), "ERR wrong number of arguments for 'ttl' command");
}

#[test]
fn object_subcommands() {
    let s = Server::with_shards(4);
    let mut c = s.client();
    for (k, v) in [("int", "123"), ("neg", "-5"), ("big", "10000"), ("s", "hello")] {
        let _: () = q(&mut c, &["SET", k, v]);
    }
    let _: () = q(&mut c, &["SET", "emb", &"a".repeat(44)]);
    let _: () = q(&mut c, &["SET", "raw", &"a".repeat(45)]);
    let _: () = q(&mut c, &["SET", "huge", "12345678901234567890"]);
    for (k, enc) in
        [("int", "int"), ("neg", "int"), ("s", "embstr"), ("emb", "embstr"), ("raw", "raw"), ("huge", "embstr")]
    {
        assert_eq!(q::<String>(&mut c, &["OBJECT", "ENCODING", k]), enc, "{k}");
    }
    assert_eq!(q::<Option<String>>(&mut c, &["OBJECT", "ENCODING", "nokey"]), None);
    assert_eq!(q::<i64>(&mut c, &["OBJECT", "REFCOUNT", "int"]), 2147483647, "shared small integer");
    assert_eq!(q::<i64>(&mut c, &["OBJECT", "REFCOUNT", "big"]), 1);
    assert_eq!(q::<i64>(&mut c, &["OBJECT", "REFCOUNT", "s"]), 1);
    assert_eq!(q::<Option<i64>>(&mut c, &["OBJECT", "REFCOUNT", "nokey"]), None);
    assert_eq!(q::<i64>(&mut c, &["OBJECT", "IDLETIME", "s"]), 0);
    assert_eq!(q::<Option<i64>>(&mut c, &["OBJECT", "IDLETIME", "nokey"]), None);
    assert_eq!(q::<Option<i64>>(&mut c, &["OBJECT", "FREQ", "nokey"]), None);
    assert!(err(&mut c, &["OBJECT", "FREQ", "s"]).starts_with("ERR An LFU maxmemory policy is not selected"));
    let help: Vec<String> = q(&mut c, &["OBJECT", "help"]);
    assert_eq!(help.len(), 15);
    assert_eq!(help[0], "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:");
    assert_eq!(help[13..], ["HELP", "    Prints this help."]);
    assert_eq!(err(&mut c, &["OBJECT", "FOO"]), "ERR unknown subcommand 'FOO'. Try OBJECT HELP.");
    assert_eq!(err(&mut c, &["OBJECT", "foo", "bar"]), "ERR unknown subcommand 'foo'. Try OBJECT HELP.");
    assert_eq!(err(&mut c, &["OBJECT"]), "ERR wrong number of arguments for 'object' command");
    assert_eq!(err(&mut c, &["OBJECT", "ENCODING"]), "ERR wrong number of arguments for 'object|encoding' command");

    // Byte-exact, RESP3: nil is `_`.
    let mut raw = s.raw();
    raw.cmd(&[b"HELLO", b"3"]);
    raw.reply();
    raw.cmd(&[b"OBJECT", b"ENCODING", b"nokey"]);
    raw.expect(b"_\r\n");
    raw.cmd(&[b"OBJECT", b"ENCODING", b"int"]);
    raw.expect(b"$3\r\nint\r\n");
}

#[test]
fn databases_are_isolated() {
    for shards in [1, 4] {
        let s = Server::with_shards(shards);
        let mut c = s.client();
        let (a, b) = apart("db");
        let _: () = q(&mut c, &["SET", &a, "zero"]);
        let _: () = q(&mut c, &["SELECT", "5"]);
        assert_eq!(q::<i64>(&mut c, &["EXISTS", &a]), 0);
        assert_eq!(q::<Vec<String>>(&mut c, &["KEYS", "*"]), Vec::<String>::new());
        assert_eq!(q::<Option<String>>(&mut c, &["RANDOMKEY"]), None);
        assert_eq!(full_scan(&mut c, &[]).0, Vec::<String>::new());
        let _: () = q(&mut c, &["SET", &a, "five", "EX", "100"]);
        let _: () = q(&mut c, &["SET", &b, "five-b"]);
        assert_eq!(q::<String>(&mut c, &["RENAME", &a, &format!("{b}x")]), "OK");
        assert_eq!(q::<i64>(&mut c, &["DEL", &b, &format!("{b}x")]), 2);
        let _: () = q(&mut c, &["SELECT", "0"]);
        assert_eq!(q::<String>(&mut c, &["GET", &a]), "zero");
        assert_eq!(q::<i64>(&mut c, &["TTL", &a]), -1);
        assert_eq!(q::<i64>(&mut c, &["EXISTS", &a, &b]), 1);
        assert_eq!(q::<Vec<String>>(&mut c, &["KEYS", "*"]), vec![a.clone()]);
        // Another connection starts in database 0.
        let mut other = s.client();
        assert_eq!(q::<String>(&mut other, &["GET", &a]), "zero");
    }
}

#[test]
fn lazy_expiry_on_read() {
    for shards in [1, 4] {
        let s = Server::with_shards(shards);
        let mut c = s.client();
        let _: () = q(&mut c, &["DEBUG", "SET-ACTIVE-EXPIRE", "0"]);
        let _: () = q(&mut c, &["SET", "k", "v", "PX", "50"]);
        let _: () = q(&mut c, &["SET", "j", "v", "PX", "50"]);
        let pttl: i64 = q(&mut c, &["PTTL", "k"]);
        assert!((1..=50).contains(&pttl), "{pttl}");
        assert!(eventually(Duration::from_secs(3), || q::<i64>(&mut c, &["PTTL", "k"]) == -2));
        assert_eq!(q::<Option<String>>(&mut c, &["GET", "k"]), None);
        // "j" expired at the same time but nothing has read it: it is still counted, until read.
        assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 1);
        assert_eq!(q::<i64>(&mut c, &["EXISTS", "j"]), 0);
        assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 0);
    }
}

#[test]
fn active_expiry_reclaims_untouched_keys() {
    for shards in [1, 4] {
        let s = Server::with_shards(shards);
        let mut c = s.client();
        let mut pipe = redis::pipe();
        for i in 0..100 {
            pipe.cmd("SET").arg(format!("a{i}")).arg(i).arg("PX").arg(20).ignore();
        }
        pipe.cmd("SET").arg("keep").arg(1).ignore();
        let _: () = pipe.query(&mut c).unwrap();
        assert!(
            eventually(Duration::from_secs(5), || q::<i64>(&mut c, &["DBSIZE"]) == 1),
            "shards {shards}: active expiry left {} keys",
            q::<i64>(&mut c, &["DBSIZE"])
        );
        let info: String = q(&mut c, &["INFO", "stats"]);
        assert!(info.contains("expired_keys:100"), "{info}");
    }
}

#[test]
fn active_expiry_can_be_switched_off() {
    for shards in [1, 4] {
        let s = Server::with_shards(shards);
        let mut c = s.client();
        let _: () = q(&mut c, &["DEBUG", "SET-ACTIVE-EXPIRE", "0"]);
        let mut pipe = redis::pipe();
        for i in 0..50 {
            pipe.cmd("SET").arg(format!("a{i}")).arg(i).arg("PX").arg(20).ignore();
        }
        pipe.cmd("SET").arg("probe").arg(1).arg("PX").arg(20).ignore();
        let _: () = pipe.query(&mut c).unwrap();
        // Reading the probe deletes only the probe; once it is gone the others are past their time too.
        assert!(eventually(Duration::from_secs(3), || q::<i64>(&mut c, &["EXISTS", "probe"]) == 0));
        // Several active cycles (hz 10) would have run by now had the cycle been on.
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 50);
        let keys: Vec<String> = (0..50).map(|i| format!("a{i}")).collect();
        let mut args = vec!["EXISTS"];
        args.extend(keys.iter().map(String::as_str));
        assert_eq!(q::<i64>(&mut c, &args), 0);
        assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 0);
        // Back on, untouched keys go by themselves again.
        let _: () = q(&mut c, &["DEBUG", "SET-ACTIVE-EXPIRE", "1"]);
        let _: () = q(&mut c, &["SET", "b", "1", "PX", "20"]);
        assert!(eventually(Duration::from_secs(5), || q::<i64>(&mut c, &["DBSIZE"]) == 0));
    }
}

#[test]
fn resp3_replies() {
    let s = Server::with_shards(4);
    let mut c = s.client3();
    assert_eq!(q::<Value>(&mut c, &["RANDOMKEY"]), Value::Nil);
    let _: () = q(&mut c, &["SET", "k", "v"]);
    assert_eq!(q::<Value>(&mut c, &["TYPE", "k"]), Value::SimpleString("string".into()));
    let mut raw = s.raw();
    raw.cmd(&[b"HELLO", b"3"]);
    raw.reply();
    raw.cmd(&[b"SCAN", b"0", b"COUNT", b"1000"]);
    raw.expect(b"*2\r\n$1\r\n0\r\n*1\r\n$1\r\nk\r\n");
    raw.cmd(&[b"RANDOMKEY"]);
    raw.expect(b"$1\r\nk\r\n");
    raw.cmd(&[b"DEL", b"k"]);
    raw.expect(b":1\r\n");
    raw.cmd(&[b"RANDOMKEY"]);
    raw.expect(b"_\r\n");
}
