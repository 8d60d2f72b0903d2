//! Stream commands without consumer groups against the real server: XADD (IDs, NOMKSTREAM, trimming), XLEN,
//! XRANGE/XREVRANGE, XDEL, XTRIM, XSETID, XREAD with and without BLOCK (timeouts, wakes from another client, from
//! MULTI/EXEC and from pipelines, keys on several shards), and streams as keys (TYPE, OBJECT ENCODING, SCAN TYPE,
//! DEL, EXPIRE, WRONGTYPE). Replies are compared through the `redis` crate and byte for byte in RESP2 and RESP3.
//!
//! The expectations are Redis 7.4's. `RILL_TEST_AGAINST_REDIS=1` runs the same tests against /usr/bin/redis-server
//! (7.0 here): where 7.4 answers differently the test says so through `v74(new, old)`, and tests of behaviour 7.0
//! does not have skip themselves there (`newer_than_redis70`). Consumer groups are in `tests/stream_groups.rs`.

mod common;
use common::streams::*;
use common::*;
use redis::Value;
use std::time::{Duration, Instant};

const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";
const INVALID_ID: &str = "ERR Invalid stream ID specified as stream command argument";
const SMALLER_ID: &str = "ERR The ID specified in XADD is equal or smaller than the target stream top item";
const EXHAUSTED: &str = "ERR The stream has exhausted the last possible ID, unable to add more items";
const MAX_ID: &str = "18446744073709551615-18446744073709551615";

fn xadd(c: &mut redis::Connection, key: &str, id: &str, fields: &[&str]) -> String {
    let mut args = vec!["XADD", key, id];
    args.extend_from_slice(fields);
    q(c, &args)
}

fn int(c: &mut redis::Connection, args: &[&str]) -> i64 {
    q(c, args)
}

/// The IDs of the entries of `key`, in order.
fn ids(c: &mut redis::Connection, key: &str) -> Vec<String> {
    let v: Value = q(c, &["XRANGE", key, "-", "+"]);
    let Value::Array(entries) = v else { panic!("XRANGE gave {v:?}") };
    entries
        .into_iter()
        .map(|e| match e {
            Value::Array(mut parts) => match parts.swap_remove(0) {
                Value::BulkString(id) => String::from_utf8(id).unwrap(),
                other => panic!("entry ID {other:?}"),
            },
            other => panic!("entry {other:?}"),
        })
        .collect()
}

/// One field of XINFO STREAM (a flat array in RESP2).
fn info_field(c: &mut redis::Connection, key: &str, field: &str) -> Value {
    let v: Value = q(c, &["XINFO", "STREAM", key]);
    let Value::Array(items) = v else { panic!("XINFO STREAM gave {v:?}") };
    let pair = items.chunks(2).find(|kv| kv[0] == bulk(field)).unwrap_or_else(|| panic!("no {field} in XINFO STREAM"));
    pair[1].clone()
}

/// The server's clock in milliseconds (TIME).
fn server_ms(c: &mut redis::Connection) -> u64 {
    let t: Vec<u64> = q(c, &["TIME"]);
    t[0] * 1000 + t[1] / 1000
}

fn split_id(id: &str) -> (u64, u64) {
    let (ms, seq) = id.split_once('-').unwrap_or_else(|| panic!("not an ID: {id}"));
    (ms.parse().unwrap(), seq.parse().unwrap())
}

#[test]
fn xadd_generates_and_validates_ids() {
    let s = Server::with_shards(1);
    let mut c = s.client();
    let before = server_ms(&mut c);
    let id = xadd(&mut c, "s", "*", &["f", "v"]);
    let after = server_ms(&mut c);
    let (ms, seq) = split_id(&id);
    assert!(before <= ms && ms <= after, "{id} outside [{before}, {after}]");
    let next = split_id(&xadd(&mut c, "s", "*", &["f", "v"]));
    assert!(next > (ms, seq), "{next:?} after {id}");

    // `*` never goes back in time: behind the last ID it keeps its milliseconds and bumps the sequence.
    assert_eq!(q::<String>(&mut c, &["XSETID", "s", "99999999999999-5"]), "OK");
    assert_eq!(xadd(&mut c, "s", "*", &["f", "v"]), "99999999999999-6");
    assert_eq!(xadd(&mut c, "s", "99999999999999-*", &["f", "v"]), "99999999999999-7");
    assert_eq!(err(&mut c, &["XADD", "s", "99999999999999-7", "f", "v"]), SMALLER_ID);
    // An ID without a sequence means sequence 0.
    assert_eq!(err(&mut c, &["XADD", "s", "99999999999999", "f", "v"]), SMALLER_ID);
    assert_eq!(xadd(&mut c, "s", "100000000000000", &["f", "v"]), "100000000000000-0");
    assert_eq!(xadd(&mut c, "s", "100000000000000-*", &["f", "v"]), "100000000000000-1");
    assert_eq!(xadd(&mut c, "s", "100000000000001-*", &["f", "v"]), "100000000000001-0");
    assert_eq!(err(&mut c, &["XADD", "s", "100000000000000-*", "f", "v"]), SMALLER_ID);

    // 0-0 is never a valid entry ID, and the failed XADD creates no key.
    let zero = "ERR The ID specified in XADD must be greater than 0-0";
    assert_eq!(err(&mut c, &["XADD", "t", "0-0", "f", "v"]), zero);
    assert_eq!(int(&mut c, &["EXISTS", "t"]), 0);
    assert_eq!(xadd(&mut c, "t", "0-*", &["f", "v"]), "0-1");
    assert_eq!(xadd(&mut c, "t", "0-*", &["f", "v"]), "0-2");
    assert_eq!(err(&mut c, &["XADD", "t", "0-2", "f", "v"]), SMALLER_ID);
    assert_eq!(err(&mut c, &["XADD", "t", "0-1", "f", "v"]), SMALLER_ID);
    assert_eq!(err(&mut c, &["XADD", "t", "0-0", "f", "v"]), zero);
    assert_eq!(xadd(&mut c, "t", "0-3", &["f", "v"]), "0-3");
    assert_eq!(xadd(&mut c, "t", "5", &["f", "v", "g", "w"]), "5-0");
    assert_eq!(err(&mut c, &["XADD", "t", "4-*", "f", "v"]), SMALLER_ID);
    assert_eq!(int(&mut c, &["XLEN", "t"]), 4);
    // Fields and values are kept as given, duplicates and empty strings included.
    assert_eq!(xadd(&mut c, "t", "6-0", &["a", "", "a", "2", "", "x"]), "6-0");
    let last: Value = q(&mut c, &["XREVRANGE", "t", "+", "-", "COUNT", "1"]);
    assert_eq!(last, Value::Array(vec![entry("6-0", &["a", "", "a", "2", "", "x"])]));
}

#[test]
fn xadd_at_the_id_limits() {
    let s = Server::with_shards(1);
    let mut c = s.client();
    assert_eq!(xadd(&mut c, "s", MAX_ID, &["f", "v"]), MAX_ID);
    assert_eq!(err(&mut c, &["XADD", "s", "*", "f", "v"]), EXHAUSTED);
    assert_eq!(err(&mut c, &["XADD", "s", "18446744073709551615-*", "f", "v"]), EXHAUSTED);
    assert_eq!(err(&mut c, &["XADD", "s", "1-1", "f", "v"]), EXHAUSTED);
    assert_eq!(err(&mut c, &["XADD", "s", "NOMKSTREAM", "*", "f", "v"]), EXHAUSTED);
    assert_eq!(int(&mut c, &["XLEN", "s"]), 1);

    assert_eq!(xadd(&mut c, "t", "18446744073709551615-*", &["f", "v"]), "18446744073709551615-0");
    // The sequence of one millisecond runs out before the ID space does.
    assert_eq!(xadd(&mut c, "u", "5-18446744073709551615", &["f", "v"]), "5-18446744073709551615");
    assert_eq!(
        err(&mut c, &["XADD", "u", "5-*", "f", "v"]),
        v74(SMALLER_ID, "ERR Elements are too large to be stored")
    );
    assert_eq!(xadd(&mut c, "u", "6-*", &["f", "v"]), "6-0");
    for bad in ["18446744073709551616-0", "1-18446744073709551616", "18446744073709551616", "18446744073709551616-*"] {
        assert_eq!(err(&mut c, &["XADD", "u", bad, "f", "v"]), INVALID_ID, "{bad}");
    }
    assert_eq!(int(&mut c, &["XLEN", "u"]), 2);
}

#[test]
fn xadd_argument_errors() {
    let s = Server::with_shards(1);
    let mut c = s.client();
    let arity = "ERR wrong number of arguments for 'xadd' command";
    let not_int = "ERR value is not an integer or out of range";
    let cases: &[(&[&str], &str)] = &[
        (&["XADD", "s", "*"], arity),
        (&["XADD", "s", "*", "f"], arity),
        (&["XADD", "s", "*", "f", "v", "g"], arity),
        (&["XADD", "s", "MAXLEN", "5", "*", "f"], arity),
        (&["XADD", "s", "MAXLEN", "x", "*", "f", "v"], not_int),
        (&["XADD", "s", "MAXLEN", "18446744073709551616", "*", "f", "v"], not_int),
        (&["XADD", "s", "MAXLEN", "=", "9-0", "f", "v"], not_int),
        (&["XADD", "s", "MAXLEN", "-1", "*", "f", "v"], "ERR The MAXLEN argument must be >= 0."),
        (
            &["XADD", "s", "MAXLEN", "5", "LIMIT", "10", "*", "f", "v"],
            "ERR syntax error, LIMIT cannot be used without the special ~ option",
        ),
        (&["XADD", "s", "MAXLEN", "~", "5", "LIMIT", "-1", "*", "f", "v"], "ERR The LIMIT argument must be >= 0."),
        (&["XADD", "s", "MAXLEN", "~", "5", "LIMIT", "x", "*", "f", "v"], not_int),
        (
            &["XADD", "s", "MAXLEN", "5", "MINID", "3", "*", "f", "v"],
            "ERR syntax error, MAXLEN and MINID options at the same time are not compatible",
        ),
        (
            &["XADD", "s", "MAXLEN", "1", "MAXLEN", "5", "*", "f", "v"],
            "ERR syntax error, MAXLEN and MINID options at the same time are not compatible",
        ),
        (
            &["XADD", "s", "LIMIT", "5", "*", "f", "v"],
            "ERR syntax error, LIMIT cannot be used without specifying a trimming strategy",
        ),
        (&["XADD", "s", "MINID", "x", "*", "f", "v"], INVALID_ID),
        (&["XADD", "s", "xx", "f", "v"], INVALID_ID),
        (&["XADD", "s", "1-x", "f", "v"], INVALID_ID),
        (&["XADD", "s", "-1", "f", "v"], INVALID_ID),
        (&["XADD", "s", "1-1-1", "f", "v"], INVALID_ID),
        (&["XADD", "s", "1.5", "f", "v"], INVALID_ID),
        (&["XADD", "s", "1-", "f", "v"], INVALID_ID),
        (&["XADD", "s", "+", "f", "v"], INVALID_ID),
        (&["XADD", "s", "-", "f", "v"], INVALID_ID),
    ];
    for (args, want) in cases {
        assert_eq!(err(&mut c, args), *want, "{args:?}");
    }
    assert_eq!(int(&mut c, &["EXISTS", "s"]), 0, "a failed XADD creates nothing");
}

#[test]
fn xadd_nomkstream_replies_null_on_a_missing_key() {
    let s = Server::with_shards(1);
    let mut c = s.client();
    let mut raw = s.raw();
    check(&mut raw, &["XADD", "s", "NOMKSTREAM", "1-0", "f", "v"], "$-1\r\n");
    check(&mut raw, &["XADD", "s", "MAXLEN", "1", "NOMKSTREAM", "1-0", "f", "v"], "$-1\r\n");
    let mut raw3 = resp3(&s);
    check(&mut raw3, &["XADD", "s", "NOMKSTREAM", "*", "f", "v"], "_\r\n");
    assert_eq!(int(&mut c, &["EXISTS", "s"]), 0);

    xadd(&mut c, "s", "1-0", &["f", "v"]);
    check(&mut raw, &["XADD", "s", "NOMKSTREAM", "2-0", "f", "v"], &rb("2-0"));
    check(&mut raw3, &["XADD", "s", "NOMKSTREAM", "MAXLEN", "1", "3-0", "f", "v"], &rb("3-0"));
    assert_eq!(ids(&mut c, "s"), ["3-0"]);
}

#[test]
fn xadd_and_xtrim_trim_exactly() {
    let s = Server::with_shards(1);
    let mut c = s.client();
    for i in 1..=10 {
        xadd(&mut c, "s", &format!("{i}-0"), &["f", "v"]);
    }
    assert_eq!(q::<String>(&mut c, &["XADD", "s", "MAXLEN", "5", "11-0", "f", "v"]), "11-0");
    assert_eq!(ids(&mut c, "s"), ["7-0", "8-0", "9-0", "10-0", "11-0"]);
    assert_eq!(q::<String>(&mut c, &["XADD", "s", "MAXLEN", "=", "3", "12-0", "f", "v"]), "12-0");
    assert_eq!(ids(&mut c, "s"), ["10-0", "11-0", "12-0"]);
    // A MINID without a sequence means sequence 0.
    assert_eq!(q::<String>(&mut c, &["XADD", "s", "MINID", "11", "13-0", "f", "v"]), "13-0");
    assert_eq!(ids(&mut c, "s"), ["11-0", "12-0", "13-0"]);
    assert_eq!(q::<String>(&mut c, &["XADD", "s", "MINID", "=", "12-0", "14-0", "f", "v"]), "14-0");
    assert_eq!(ids(&mut c, "s"), ["12-0", "13-0", "14-0"]);

    assert_eq!(int(&mut c, &["XTRIM", "s", "MAXLEN", "5"]), 0);
    assert_eq!(int(&mut c, &["XTRIM", "s", "MAXLEN", "1"]), 2);
    assert_eq!(ids(&mut c, "s"), ["14-0"]);
    assert_eq!(int(&mut c, &["XTRIM", "s", "MINID", "14-0"]), 0);
    assert_eq!(int(&mut c, &["XTRIM", "s", "MINID", "=", "100"]), 1);
    // An emptied stream stays, with its last ID.
    assert_eq!(int(&mut c, &["XLEN", "s"]), 0);
    assert_eq!(int(&mut c, &["EXISTS", "s"]), 1);
    assert_eq!(err(&mut c, &["XADD", "s", "14-0", "f", "v"]), SMALLER_ID);
    assert_eq!(info_field(&mut c, "s", "last-generated-id"), bulk("14-0"));
    assert_eq!(int(&mut c, &["XTRIM", "nope", "MAXLEN", "0"]), 0);
    assert_eq!(int(&mut c, &["EXISTS", "nope"]), 0);

    // MAXLEN 0 on XADD keeps an empty stream whose last ID is the new entry's.
    assert_eq!(q::<String>(&mut c, &["XADD", "e", "MAXLEN", "0", "15-0", "f", "v"]), "15-0");
    assert_eq!(int(&mut c, &["XLEN", "e"]), 0);
    assert_eq!(q::<String>(&mut c, &["TYPE", "e"]), "stream");
    assert_eq!(info_field(&mut c, "e", "last-generated-id"), bulk("15-0"));
    assert_eq!(info_field(&mut c, "e", "entries-added"), Value::Int(1));
}

/// With `~` only whole nodes go (nodes of `stream-node-max-entries` entries), and LIMIT caps how many entries one
/// trim removes; both through XADD and XTRIM.
#[test]
fn approximate_trimming_removes_whole_nodes() {
    let s = Server::with_shards(1);
    let mut c = s.client();
    assert_eq!(q::<String>(&mut c, &["CONFIG", "SET", "stream-node-max-entries", "10"]), "OK");
    let mut p = redis::pipe();
    for i in 1..=35 {
        p.cmd("XADD").arg("s").arg(format!("{i}-1")).arg("f").arg("v").ignore();
    }
    p.query::<()>(&mut c).unwrap();
    // Nodes hold 1..10, 11..20, 21..30 and 31..35 (36 joins the last).
    assert_eq!(q::<String>(&mut c, &["XADD", "s", "MAXLEN", "~", "20", "36-1", "f", "v"]), "36-1");
    assert_eq!(int(&mut c, &["XLEN", "s"]), 26);
    assert_eq!(ids(&mut c, "s")[0], "11-1");
    // LIMIT 10 allows one node of 10 and not two.
    assert_eq!(q::<String>(&mut c, &["XADD", "s", "MAXLEN", "~", "5", "LIMIT", "10", "37-1", "f", "v"]), "37-1");
    assert_eq!(int(&mut c, &["XLEN", "s"]), 17);
    assert_eq!(ids(&mut c, "s")[0], "21-1");
    // LIMIT 0 means no limit; the last node is never cut into.
    assert_eq!(q::<String>(&mut c, &["XADD", "s", "MAXLEN", "~", "5", "LIMIT", "0", "38-1", "f", "v"]), "38-1");
    assert_eq!(int(&mut c, &["XLEN", "s"]), 8);
    assert_eq!(ids(&mut c, "s")[0], "31-1");
    assert_eq!(int(&mut c, &["XTRIM", "s", "MAXLEN", "~", "2"]), 0);
    assert_eq!(int(&mut c, &["XTRIM", "s", "MINID", "~", "35"]), 0);
    assert_eq!(int(&mut c, &["XTRIM", "s", "MINID", "35"]), 4);
    assert_eq!(ids(&mut c, "s"), ["35-1", "36-1", "37-1", "38-1"]);

    let mut p = redis::pipe();
    for i in 1..=50 {
        p.cmd("XADD").arg("t").arg(format!("{i}-0")).arg("f").arg("v").ignore();
    }
    p.query::<()>(&mut c).unwrap();
    assert_eq!(int(&mut c, &["XTRIM", "t", "MAXLEN", "~", "5", "LIMIT", "25"]), 20);
    assert_eq!(int(&mut c, &["XLEN", "t"]), 30);
    // MINID ~ drops the nodes whose last entry is below the threshold.
    assert_eq!(int(&mut c, &["XTRIM", "t", "MINID", "~", "45"]), 20);
    assert_eq!(ids(&mut c, "t")[0], "41-0");
    assert_eq!(int(&mut c, &["XTRIM", "t", "LIMIT", "5", "MAXLEN", "~", "1"]), 0);
    assert_eq!(int(&mut c, &["XTRIM", "t", "MINID", "=", "45"]), 4);
    assert_eq!(int(&mut c, &["XLEN", "t"]), 6);
}

#[test]
fn xtrim_argument_errors() {
    let s = Server::with_shards(1);
    let mut c = s.client();
    xadd(&mut c, "s", "1-0", &["f", "v"]);
    let arity = "ERR wrong number of arguments for 'xtrim' command";
    let cases: &[(&[&str], &str)] = &[
        (&["XTRIM", "s"], arity),
        (&["XTRIM", "s", "MAXLEN"], arity),
        (&["XTRIM", "s", "FOO", "1"], "ERR syntax error"),
        (&["XTRIM", "s", "MAXLEN", "~", "1", "LIMIT", "5", "extra"], "ERR syntax error"),
        (&["XTRIM", "s", "MAXLEN", "x"], "ERR value is not an integer or out of range"),
        (&["XTRIM", "s", "MAXLEN", "=", "-1"], "ERR The MAXLEN argument must be >= 0."),
        (&["XTRIM", "s", "MINID", "1-x"], INVALID_ID),
        (
            &["XTRIM", "s", "MAXLEN", "1", "LIMIT", "1"],
            "ERR syntax error, LIMIT cannot be used without the special ~ option",
        ),
        (
            &["XTRIM", "s", "LIMIT", "5"],
            "ERR syntax error, LIMIT cannot be used without specifying a trimming strategy",
        ),
        (
            &["XTRIM", "s", "MAXLEN", "1", "MINID", "0"],
            "ERR syntax error, MAXLEN and MINID options at the same time are not compatible",
        ),
    ];
    for (args, want) in cases {
        assert_eq!(err(&mut c, args), *want, "{args:?}");
    }
    assert_eq!(int(&mut c, &["XLEN", "s"]), 1);
}

#[test]
fn xlen_and_xdel() {
    let s = Server::with_shards(1);
    let mut c = s.client();
    assert_eq!(int(&mut c, &["XLEN", "s"]), 0);
    for id in ["1-1", "1-2", "2-0", "3-5"] {
        xadd(&mut c, "s", id, &["f", "v"]);
    }
    assert_eq!(int(&mut c, &["XLEN", "s"]), 4);
    // Missing IDs count nothing, repeated ones count once.
    assert_eq!(int(&mut c, &["XDEL", "s", "1-2", "9-9", "1-2"]), 1);
    // One invalid ID fails the whole command before anything is deleted.
    assert_eq!(err(&mut c, &["XDEL", "s", "1-1", "x"]), INVALID_ID);
    assert_eq!(err(&mut c, &["XDEL", "s"]), "ERR wrong number of arguments for 'xdel' command");
    assert_eq!(ids(&mut c, "s"), ["1-1", "2-0", "3-5"]);
    // A missing key answers 0 before the IDs are even parsed.
    assert_eq!(int(&mut c, &["XDEL", "nope", "1-1"]), 0);
    assert_eq!(int(&mut c, &["XDEL", "nope", "x"]), 0);
    // An ID without a sequence means sequence 0.
    assert_eq!(int(&mut c, &["XDEL", "s", "2"]), 1);
    assert_eq!(info_field(&mut c, "s", "max-deleted-entry-id"), bulk("2-0"));
    assert_eq!(int(&mut c, &["XDEL", "s", "1-1", "3-5"]), 2);
    assert_eq!(info_field(&mut c, "s", "max-deleted-entry-id"), bulk("3-5"));
    // Deleting every entry leaves an empty stream that remembers its last ID.
    assert_eq!(int(&mut c, &["XLEN", "s"]), 0);
    assert_eq!(int(&mut c, &["EXISTS", "s"]), 1);
    assert_eq!(err(&mut c, &["XADD", "s", "3-5", "f", "v"]), SMALLER_ID);
    assert_eq!(info_field(&mut c, "s", "entries-added"), Value::Int(4));
    assert_eq!(info_field(&mut c, "s", "first-entry"), Value::Nil);
}

#[test]
fn xrange_and_xrevrange_bounds() {
    let s = Server::with_shards(1);
    let mut c = s.client();
    xadd(&mut c, "s", "1-1", &["a", "1"]);
    xadd(&mut c, "s", "1-2", &["b", "2"]);
    xadd(&mut c, "s", "2-0", &["c", "3"]);
    xadd(&mut c, "s", "3-5", &["d", "4", "e", "5"]);
    let all = [
        entry("1-1", &["a", "1"]),
        entry("1-2", &["b", "2"]),
        entry("2-0", &["c", "3"]),
        entry("3-5", &["d", "4", "e", "5"]),
    ];
    let range = |c: &mut redis::Connection, args: &[&str]| -> Value { q(c, args) };
    // The entries expected, by their index in `all`.
    let want = |is: &[usize]| Value::Array(is.iter().map(|&i| all[i].clone()).collect());
    let cases: &[(&[&str], &[usize])] = &[
        (&["XRANGE", "s", "-", "+"], &[0, 1, 2, 3]),
        // An incomplete start means sequence 0, an incomplete end the largest sequence.
        (&["XRANGE", "s", "1", "1"], &[0, 1]),
        (&["XRANGE", "s", "2", "2"], &[2]),
        (&["XRANGE", "s", "3", "+"], &[3]),
        (&["XRANGE", "s", "1-2", "3-4"], &[1, 2]),
        // Exclusive bounds.
        (&["XRANGE", "s", "(1-1", "+"], &[1, 2, 3]),
        (&["XRANGE", "s", "-", "(3-5"], &[0, 1, 2]),
        (&["XRANGE", "s", "(1", "+"], &[0, 1, 2, 3]),
        (&["XRANGE", "s", "-", "(2"], &[0, 1, 2]),
        (&["XRANGE", "s", "(0-0", "(18446744073709551615-18446744073709551615"], &[0, 1, 2, 3]),
        (&["XRANGE", "s", "(1-2", "(2-0"], &[]),
        (&["XRANGE", "s", "2", "1"], &[]),
        (&["XRANGE", "s", "4", "+"], &[]),
        // COUNT, repeated (the last wins), negative counts as zero.
        (&["XRANGE", "s", "-", "+", "COUNT", "2"], &[0, 1]),
        (&["XRANGE", "s", "-", "+", "COUNT", "1", "count", "3"], &[0, 1, 2]),
        (&["XRANGE", "s", "-", "+", "COUNT", "10"], &[0, 1, 2, 3]),
        (&["XREVRANGE", "s", "+", "-"], &[3, 2, 1, 0]),
        (&["XREVRANGE", "s", "+", "-", "COUNT", "1"], &[3]),
        (&["XREVRANGE", "s", "(3-5", "-"], &[2, 1, 0]),
        (&["XREVRANGE", "s", "2", "1"], &[2, 1, 0]),
        (&["XREVRANGE", "s", "1", "2"], &[]),
        (&["XREVRANGE", "s", "+", "(1-1", "COUNT", "2"], &[3, 2]),
        (&["XRANGE", "nope", "-", "+"], &[]),
        (&["XRANGE", "nope", "-", "+", "COUNT", "0"], &[]),
        (&["XREVRANGE", "nope", "+", "-", "COUNT", "0"], &[]),
    ];
    for (args, is) in cases {
        assert_eq!(range(&mut c, args), want(is), "{args:?}");
    }
    // COUNT 0 (or below) on an existing stream is a null array.
    assert_eq!(range(&mut c, &["XRANGE", "s", "-", "+", "COUNT", "0"]), Value::Nil);
    assert_eq!(range(&mut c, &["XREVRANGE", "s", "+", "-", "COUNT", "-1"]), Value::Nil);

    let errors: &[(&[&str], &str)] = &[
        (&["XRANGE", "s", "-", "+", "COUNT", "x"], "ERR value is not an integer or out of range"),
        (&["XRANGE", "s", "-", "+", "COUNT"], "ERR syntax error"),
        (&["XRANGE", "s", "-", "+", "FOO", "1"], "ERR syntax error"),
        (&["XRANGE", "s", "(-", "+"], INVALID_ID),
        (&["XRANGE", "s", "-", "(+"], INVALID_ID),
        (&["XRANGE", "s", "(", "+"], INVALID_ID),
        (&["XRANGE", "s", "x", "+"], INVALID_ID),
        (&["XRANGE", "s", "-", "1-x"], INVALID_ID),
        (&["XRANGE", "s", "(18446744073709551615-18446744073709551615", "+"], "ERR invalid start ID for the interval"),
        (&["XRANGE", "s", "-", "(0-0"], "ERR invalid end ID for the interval"),
        (&["XREVRANGE", "s", "(0-0", "-"], "ERR invalid end ID for the interval"),
        (&["XRANGE", "s", "-"], "ERR wrong number of arguments for 'xrange' command"),
    ];
    for (args, want) in errors {
        assert_eq!(err(&mut c, args), *want, "{args:?}");
    }
}

#[test]
fn xrange_replies_byte_exact_in_resp2_and_resp3() {
    let s = Server::with_shards(1);
    let mut c = s.client();
    xadd(&mut c, "s", "1-1", &["a", "1"]);
    xadd(&mut c, "s", "2-0", &["field", "", "x", "yy"]);
    let all = ra(&[re("1-1", &["a", "1"]), re("2-0", &["field", "", "x", "yy"])]);
    let mut raw2 = s.raw();
    let mut raw3 = resp3(&s);
    for raw in [&mut raw2, &mut raw3] {
        check(raw, &["XRANGE", "s", "-", "+"], &all);
        check(raw, &["XREVRANGE", "s", "+", "-", "COUNT", "1"], &ra(&[re("2-0", &["field", "", "x", "yy"])]));
        check(raw, &["XRANGE", "s", "3", "+"], "*0\r\n");
        check(raw, &["XRANGE", "nope", "-", "+"], "*0\r\n");
        check(raw, &["XLEN", "s"], ":2\r\n");
    }
    check(&mut raw2, &["XRANGE", "s", "-", "+", "COUNT", "0"], "*-1\r\n");
    check(&mut raw3, &["XRANGE", "s", "-", "+", "COUNT", "0"], "_\r\n");
}

#[test]
fn xsetid_sets_last_id_entries_added_and_max_deleted_id() {
    let s = Server::with_shards(1);
    let mut c = s.client();
    assert_eq!(err(&mut c, &["XSETID", "nope", "1-1"]), "ERR no such key");
    // Argument errors come before the key is looked up.
    assert_eq!(err(&mut c, &["XSETID", "nope", "5", "ENTRIESADDED", "-1"]), "ERR entries_added must be positive");
    xadd(&mut c, "s", "1-1", &["f", "v"]);
    xadd(&mut c, "s", "2-2", &["f", "v"]);
    let below_top = "ERR The ID specified in XSETID is smaller than the target stream top item";
    assert_eq!(err(&mut c, &["XSETID", "s", "1-5"]), below_top);
    assert_eq!(err(&mut c, &["XSETID", "s", "0-0"]), below_top);
    assert_eq!(q::<String>(&mut c, &["XSETID", "s", "2-2"]), "OK");
    assert_eq!(q::<String>(&mut c, &["XSETID", "s", "5-5"]), "OK");
    assert_eq!(err(&mut c, &["XADD", "s", "5-5", "f", "v"]), SMALLER_ID);
    assert_eq!(xadd(&mut c, "s", "5-*", &["f", "v"]), "5-6");
    assert_eq!(info_field(&mut c, "s", "last-generated-id"), bulk("5-6"));
    // Below the last ID but not below the top entry is allowed.
    assert_eq!(q::<String>(&mut c, &["XSETID", "s", "5-6"]), "OK");

    let errors: &[(&[&str], &str)] = &[
        (
            &["XSETID", "s", "6-0", "ENTRIESADDED", "1"],
            "ERR The entries_added specified in XSETID is smaller than the target stream length",
        ),
        (&["XSETID", "s", "6-0", "ENTRIESADDED", "-1"], "ERR entries_added must be positive"),
        (&["XSETID", "s", "6-0", "ENTRIESADDED", "x"], "ERR value is not an integer or out of range"),
        (
            &["XSETID", "s", "6-0", "MAXDELETEDID", "7-0"],
            "ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id",
        ),
        (&["XSETID", "s", "6-0", "MAXDELETEDID", "x"], INVALID_ID),
        (&["XSETID", "s", "6-0", "FOO"], "ERR syntax error"),
        (&["XSETID", "s", "6-0", "ENTRIESADDED"], "ERR syntax error"),
        (&["XSETID", "s", "x"], INVALID_ID),
        (&["XSETID", "s", "+"], INVALID_ID),
        (&["XSETID", "s"], "ERR wrong number of arguments for 'xsetid' command"),
    ];
    for (args, want) in errors {
        assert_eq!(err(&mut c, args), *want, "{args:?}");
    }
    assert_eq!(q::<String>(&mut c, &["XSETID", "s", "6-0", "ENTRIESADDED", "5", "MAXDELETEDID", "3-0"]), "OK");
    assert_eq!(info_field(&mut c, "s", "last-generated-id"), bulk("6-0"));
    assert_eq!(info_field(&mut c, "s", "entries-added"), Value::Int(5));
    assert_eq!(info_field(&mut c, "s", "max-deleted-entry-id"), bulk("3-0"));
    assert_eq!(xadd(&mut c, "s", "6-*", &["f", "v"]), "6-1");
    assert_eq!(info_field(&mut c, "s", "entries-added"), Value::Int(6));

    // An empty stream takes any ID not below its largest deleted one.
    assert_eq!(int(&mut c, &["XDEL", "s", "1-1", "2-2", "5-6", "6-1"]), 4);
    assert_eq!(info_field(&mut c, "s", "max-deleted-entry-id"), bulk("6-1"));
    assert_eq!(q::<String>(&mut c, &["XSETID", "s", "6-1"]), "OK");
    assert_eq!(q::<String>(&mut c, &["XSETID", "s", "7-0", "ENTRIESADDED", "0"]), "OK");
    assert_eq!(info_field(&mut c, "s", "entries-added"), Value::Int(0));
    if !newer_than_redis70("XSETID below the max deleted ID is refused since 7.4") {
        assert_eq!(
            err(&mut c, &["XSETID", "s", "6-0"]),
            "ERR The ID specified in XSETID is smaller than current max_deleted_entry_id"
        );
        assert_eq!(info_field(&mut c, "s", "last-generated-id"), bulk("7-0"));
    }
}

#[test]
fn xread_replies_in_resp2_and_resp3() {
    let s = Server::with_shards(4);
    let [k1, k2] = <[String; 2]>::try_from(spread("r", 2)).unwrap();
    let mut c = s.client();
    xadd(&mut c, &k1, "1-1", &["a", "1"]);
    xadd(&mut c, &k1, "2-1", &["b", "2"]);
    xadd(&mut c, &k2, "5-0", &["c", "3"]);
    let e1 = re("1-1", &["a", "1"]);
    let e2 = re("2-1", &["b", "2"]);
    let e3 = re("5-0", &["c", "3"]);
    let part = |k: &str, es: &[&String]| format!("{}{}", rb(k), ra(es));

    let mut raw = s.raw();
    check(&mut raw, &["XREAD", "STREAMS", &k1, "0"], &format!("*1\r\n*2\r\n{}", part(&k1, &[&e1, &e2])));
    check(
        &mut raw,
        &["XREAD", "COUNT", "1", "STREAMS", &k1, &k2, "0", "0"],
        &format!("*2\r\n*2\r\n{}*2\r\n{}", part(&k1, &[&e1]), part(&k2, &[&e3])),
    );
    // Streams with nothing past their ID are left out; nothing at all is a null array.
    check(&mut raw, &["XREAD", "STREAMS", &k1, &k2, "1-1", "5"], &format!("*1\r\n*2\r\n{}", part(&k1, &[&e2])));
    check(&mut raw, &["XREAD", "STREAMS", &k1, &k2, "$", "$"], "*-1\r\n");
    check(&mut raw, &["XREAD", "STREAMS", "nope", "0"], "*-1\r\n");
    // A negative COUNT or COUNT 0 means no limit.
    check(&mut raw, &["XREAD", "COUNT", "0", "STREAMS", &k1, "0"], &format!("*1\r\n*2\r\n{}", part(&k1, &[&e1, &e2])));
    check(&mut raw, &["XREAD", "COUNT", "-5", "STREAMS", &k1, "1"], &format!("*1\r\n*2\r\n{}", part(&k1, &[&e1, &e2])));
    check(&mut raw, &["xread", "count", "1", "streams", &k1, "1-1"], &format!("*1\r\n*2\r\n{}", part(&k1, &[&e2])));

    let mut raw3 = resp3(&s);
    check(
        &mut raw3,
        &["XREAD", "STREAMS", &k1, &k2, "0", "0"],
        &format!("%2\r\n{}{}", part(&k1, &[&e1, &e2]), part(&k2, &[&e3])),
    );
    check(&mut raw3, &["XREAD", "STREAMS", &k1, &k2, "1-1", "$"], &format!("%1\r\n{}", part(&k1, &[&e2])));
    check(&mut raw3, &["XREAD", "STREAMS", &k1, &k2, "$", "$"], "_\r\n");

    // The same through the client library.
    let v: Value = q(&mut c, &["XREAD", "STREAMS", &k2, &k1, "0", "2"]);
    assert_eq!(v, read_reply(vec![(&k2, vec![entry("5-0", &["c", "3"])]), (&k1, vec![entry("2-1", &["b", "2"])])]));
    let mut c3 = s.client3();
    let v: Value = q(&mut c3, &["XREAD", "STREAMS", &k2, "0"]);
    assert_eq!(v, Value::Map(vec![(bulk(&k2), Value::Array(vec![entry("5-0", &["c", "3"])]))]));
}

#[test]
fn xread_argument_errors() {
    let s = Server::with_shards(1);
    let mut c = s.client();
    xadd(&mut c, "s", "1-1", &["f", "v"]);
    let arity = "ERR wrong number of arguments for 'xread' command";
    let unbalanced = v74(
        "ERR Unbalanced 'xread' list of streams: for each stream key an ID or '$' must be specified.",
        "ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.",
    );
    let cases: &[(&[&str], &str)] = &[
        (&["XREAD"], arity),
        (&["XREAD", "STREAMS"], arity),
        (&["XREAD", "STREAMS", "s"], arity),
        (&["XREAD", "COUNT", "1"], arity),
        (&["XREAD", "STREAMS", "s", "t", "0"], unbalanced),
        (&["XREAD", "COUNT", "x", "STREAMS", "s", "0"], "ERR value is not an integer or out of range"),
        (&["XREAD", "BLOCK", "-1", "STREAMS", "s", "0"], "ERR timeout is negative"),
        (&["XREAD", "BLOCK", "x", "STREAMS", "s", "0"], "ERR timeout is not an integer or out of range"),
        (&["XREAD", "BLOCK", "1.5", "STREAMS", "s", "0"], "ERR timeout is not an integer or out of range"),
        (
            &["XREAD", "STREAMS", "s", ">"],
            "ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option.",
        ),
        (&["XREAD", "STREAMS", "s", "x"], INVALID_ID),
        (&["XREAD", "STREAMS", "s", "(1"], INVALID_ID),
        (&["XREAD", "STREAMS", "s", "-"], INVALID_ID),
        (
            &["XREAD", "GROUP", "g", "c", "STREAMS", "s", "0"],
            "ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead.",
        ),
        (
            &["XREAD", "NOACK", "STREAMS", "s", "0"],
            "ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead.",
        ),
        (&["XREAD", "FOO", "STREAMS", "s", "0"], "ERR syntax error"),
        (&["XREAD", "COUNT", "1", "s", "0"], "ERR syntax error"),
    ];
    for (args, want) in cases {
        assert_eq!(err(&mut c, args), *want, "{args:?}");
    }
    assert_eq!(blocked_clients(&mut c), 0);
}

/// Redis 7.4: `+` reads the last entry of a stream.
#[test]
fn xread_plus_reads_the_last_entry() {
    if newer_than_redis70("XREAD + arrived in 7.4") {
        return;
    }
    let s = Server::with_shards(4);
    let [k1, k2] = <[String; 2]>::try_from(spread("p", 2)).unwrap();
    let mut c = s.client();
    xadd(&mut c, &k1, "1-0", &["a", "1"]);
    xadd(&mut c, &k1, "2-0", &["b", "2"]);
    xadd(&mut c, &k1, "3-0", &["c", "3"]);
    let v: Value = q(&mut c, &["XREAD", "COUNT", "10", "STREAMS", &k1, "+"]);
    assert_eq!(v, read_reply(vec![(&k1, vec![entry("3-0", &["c", "3"])])]));
    // The last entry still there, not the last ID ever given.
    assert_eq!(int(&mut c, &["XDEL", &k1, "3-0"]), 1);
    let v: Value = q(&mut c, &["XREAD", "STREAMS", &k2, &k1, "+", "+"]);
    assert_eq!(v, read_reply(vec![(&k1, vec![entry("2-0", &["b", "2"])])]));
    let v: Value = q(&mut c, &["XREAD", "STREAMS", &k2, "+"]);
    assert_eq!(v, Value::Nil);
    // On a missing or empty stream `+` waits for the first entry.
    let h = spawn_cmd(&s, &["XREAD", "BLOCK", "0", "STREAMS", &k2, "+"]);
    wait_blocked(&mut c, 1);
    xadd(&mut c, &k2, "7-0", &["d", "4"]);
    assert_eq!(h.join().unwrap(), Ok(read_reply(vec![(&k2, vec![entry("7-0", &["d", "4"])])])));
}

#[test]
fn xread_block_times_out_with_a_null_array() {
    let s = Server::with_shards(4);
    let keys = spread("t", 2);
    let mut c = s.client();
    xadd(&mut c, &keys[0], "1-0", &["f", "v"]);
    let mut raw = s.raw();
    let start = Instant::now();
    check(&mut raw, &["XREAD", "BLOCK", "50", "STREAMS", &keys[0], &keys[1], "$", "$"], "*-1\r\n");
    assert!(start.elapsed() >= Duration::from_millis(50), "returned before its timeout");
    let mut raw3 = resp3(&s);
    let start = Instant::now();
    check(&mut raw3, &["XREAD", "BLOCK", "20", "COUNT", "5", "STREAMS", &keys[1], "0"], "_\r\n");
    assert!(start.elapsed() >= Duration::from_millis(20), "returned before its timeout");
    // With data there BLOCK does not wait.
    check(
        &mut raw,
        &["XREAD", "BLOCK", "0", "STREAMS", &keys[0], "0"],
        &format!("*1\r\n*2\r\n{}{}", rb(&keys[0]), ra(&[re("1-0", &["f", "v"])])),
    );
    assert_eq!(blocked_clients(&mut c), 0);
}

#[test]
fn xread_block_is_woken_by_xadd_from_another_client() {
    for shards in [1, 4] {
        let s = Server::with_shards(shards);
        let mut c = s.client();
        xadd(&mut c, "s", "1-0", &["old", "1"]);
        // `$` means: only what arrives after the block started.
        let h = spawn_cmd(&s, &["XREAD", "BLOCK", "0", "STREAMS", "s", "$"]);
        wait_blocked(&mut c, 1);
        xadd(&mut c, "s", "2-0", &["new", "2"]);
        assert_eq!(h.join().unwrap(), Ok(read_reply(vec![("s", vec![entry("2-0", &["new", "2"])])])));

        // A block with a timeout is woken just the same, and only by the key it waits on.
        let h = spawn_cmd(&s, &["XREAD", "BLOCK", "10000", "COUNT", "1", "STREAMS", "s", "2-0"]);
        wait_blocked(&mut c, 1);
        xadd(&mut c, "other", "1-0", &["f", "v"]);
        assert_eq!(blocked_clients(&mut c), 1);
        xadd(&mut c, "s", "3-0", &["x", "3"]);
        assert_eq!(h.join().unwrap(), Ok(read_reply(vec![("s", vec![entry("3-0", &["x", "3"])])])));

        // Every XREAD waiter gets the entry: reading does not consume.
        let hs: Vec<_> = (0..3)
            .map(|i| {
                let h = spawn_cmd(&s, &["XREAD", "BLOCK", "0", "STREAMS", "s", "$"]);
                wait_blocked(&mut c, i + 1);
                h
            })
            .collect();
        xadd(&mut c, "s", "4-0", &["y", "4"]);
        for h in hs {
            assert_eq!(h.join().unwrap(), Ok(read_reply(vec![("s", vec![entry("4-0", &["y", "4"])])])));
        }
        assert_eq!(blocked_clients(&mut c), 0);
    }
}

#[test]
fn xread_block_raw_reply_in_resp3_is_a_map() {
    let s = Server::with_shards(2);
    let mut c = s.client();
    let mut raw3 = resp3(&s);
    send(&mut raw3, &["XREAD", "BLOCK", "0", "STREAMS", "s", "$"]);
    wait_blocked(&mut c, 1);
    xadd(&mut c, "s", "9-0", &["f", "v"]);
    raw3.expect(format!("%1\r\n{}{}", rb("s"), ra(&[re("9-0", &["f", "v"])])).as_bytes());
}

#[test]
fn xread_block_on_keys_of_several_shards() {
    let s = Server::with_shards(4);
    let mut c = s.client();
    let k = spread("m", 4);
    xadd(&mut c, &k[0], "1-0", &["f", "v"]);
    let h = spawn_cmd(&s, &["XREAD", "BLOCK", "0", "STREAMS", &k[0], &k[1], &k[2], &k[3], "$", "$", "$", "$"]);
    wait_blocked(&mut c, 1);
    xadd(&mut c, &k[2], "5-0", &["on", "two"]);
    assert_eq!(h.join().unwrap(), Ok(read_reply(vec![(&k[2], vec![entry("5-0", &["on", "two"])])])));

    // Explicit IDs per key: the reply names the key that received data.
    let h = spawn_cmd(&s, &["XREAD", "BLOCK", "0", "STREAMS", &k[0], &k[3], "1-0", "0-0"]);
    wait_blocked(&mut c, 1);
    xadd(&mut c, &k[1], "1-0", &["not", "watched"]);
    assert_eq!(blocked_clients(&mut c), 1);
    xadd(&mut c, &k[3], "7-0", &["on", "three"]);
    assert_eq!(h.join().unwrap(), Ok(read_reply(vec![(&k[3], vec![entry("7-0", &["on", "three"])])])));

    // Keys fed at once by a pipeline to two shards: the waiter is woken by one of them, whichever came first.
    let h = spawn_cmd(&s, &["XREAD", "BLOCK", "0", "STREAMS", &k[1], &k[2], "$", "$"]);
    wait_blocked(&mut c, 1);
    let _: (String, String) = redis::pipe()
        .cmd("XADD")
        .arg(&k[1])
        .arg("2-0")
        .arg("a")
        .arg("1")
        .cmd("XADD")
        .arg(&k[2])
        .arg("6-0")
        .arg("b")
        .arg("2")
        .query(&mut c)
        .unwrap();
    let got = h.join().unwrap().unwrap();
    let first = read_reply(vec![(&k[1], vec![entry("2-0", &["a", "1"])])]);
    let both = read_reply(vec![(&k[1], vec![entry("2-0", &["a", "1"])]), (&k[2], vec![entry("6-0", &["b", "2"])])]);
    assert!(got == first || got == both, "{got:?}");
    assert_eq!(blocked_clients(&mut c), 0);
}

/// A waiter whose key is deleted keeps waiting, and `$` stays the last ID the stream had when the block began.
#[test]
fn blocked_xread_keeps_waiting_when_its_key_is_deleted() {
    let s = Server::with_shards(4);
    let mut c = s.client();
    xadd(&mut c, "s", "10-0", &["f", "v"]);
    let h = spawn_cmd(&s, &["XREAD", "BLOCK", "0", "STREAMS", "s", "$"]);
    wait_blocked(&mut c, 1);
    assert_eq!(int(&mut c, &["DEL", "s"]), 1);
    assert_eq!(int(&mut c, &["EXISTS", "s"]), 0);
    assert_eq!(blocked_clients(&mut c), 1);
    // A new stream under the key with IDs at or below 10-0 does not serve it (the reply below would show 5-0).
    xadd(&mut c, "s", "5-0", &["low", "1"]);
    wait_blocked(&mut c, 1);
    xadd(&mut c, "s", "11-0", &["high", "2"]);
    assert_eq!(h.join().unwrap(), Ok(read_reply(vec![("s", vec![entry("11-0", &["high", "2"])])])));
}

/// Waiters are served once EXEC has run every queued XADD, so a `$` waiter sees all of them.
#[test]
fn xadd_inside_multi_exec_wakes_waiters_after_exec() {
    for shards in [1, 4] {
        let s = Server::with_shards(shards);
        let mut c = s.client();
        let k = spread("x", 2);
        let h = spawn_cmd(&s, &["XREAD", "BLOCK", "0", "STREAMS", &k[0], "$"]);
        wait_blocked(&mut c, 1);
        let mut m = s.raw();
        check(&mut m, &["MULTI"], "+OK\r\n");
        check(&mut m, &["XADD", &k[0], "1-0", "a", "1"], "+QUEUED\r\n");
        check(&mut m, &["XADD", &k[1], "1-0", "b", "2"], "+QUEUED\r\n");
        check(&mut m, &["XADD", &k[0], "2-0", "c", "3"], "+QUEUED\r\n");
        assert_eq!(blocked_clients(&mut c), 1, "queued commands wake no one");
        check(&mut m, &["EXEC"], &format!("*3\r\n{}{}{}", rb("1-0"), rb("1-0"), rb("2-0")));
        let want = read_reply(vec![(&k[0], vec![entry("1-0", &["a", "1"]), entry("2-0", &["c", "3"])])]);
        assert_eq!(h.join().unwrap(), Ok(want));

        // DISCARD adds nothing and wakes nothing.
        let h = spawn_cmd(&s, &["XREAD", "BLOCK", "0", "STREAMS", &k[1], "$"]);
        wait_blocked(&mut c, 1);
        check(&mut m, &["MULTI"], "+OK\r\n");
        check(&mut m, &["XADD", &k[1], "5-0", "x", "y"], "+QUEUED\r\n");
        check(&mut m, &["DISCARD"], "+OK\r\n");
        assert_eq!(blocked_clients(&mut c), 1);
        xadd(&mut c, &k[1], "6-0", &["z", "w"]);
        assert_eq!(h.join().unwrap(), Ok(read_reply(vec![(&k[1], vec![entry("6-0", &["z", "w"])])])));
    }
}

/// Inside MULTI a blocking read cannot block: it answers at once as if it had timed out.
#[test]
fn xread_block_inside_multi_answers_at_once() {
    let s = Server::with_shards(2);
    let mut c = s.client();
    assert_eq!(q::<String>(&mut c, &["XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"]), "OK");
    let mut m = s.raw();
    check(&mut m, &["MULTI"], "+OK\r\n");
    check(&mut m, &["XREAD", "BLOCK", "0", "STREAMS", "s", "$"], "+QUEUED\r\n");
    check(&mut m, &["XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "s", ">"], "+QUEUED\r\n");
    check(&mut m, &["XADD", "s", "1-0", "f", "v"], "+QUEUED\r\n");
    // `$` is the last ID when the command runs, so even an entry added just before it is not read.
    check(&mut m, &["XREAD", "BLOCK", "0", "STREAMS", "s", "$"], "+QUEUED\r\n");
    check(&mut m, &["EXEC"], &format!("*4\r\n*-1\r\n*-1\r\n{}*-1\r\n", rb("1-0")));
    let mut m3 = resp3(&s);
    check(&mut m3, &["MULTI"], "+OK\r\n");
    check(&mut m3, &["XREAD", "BLOCK", "0", "STREAMS", "s", "$"], "+QUEUED\r\n");
    check(&mut m3, &["EXEC"], "*1\r\n_\r\n");
    assert_eq!(blocked_clients(&mut c), 0);
}

/// Waiters are served after each command of a pipeline, as if the commands had come one by one.
#[test]
fn xadd_inside_a_pipeline_wakes_waiters_after_each_command() {
    for shards in [1, 4] {
        let s = Server::with_shards(shards);
        let mut c = s.client();
        let h = spawn_cmd(&s, &["XREAD", "BLOCK", "0", "STREAMS", "s", "$"]);
        wait_blocked(&mut c, 1);
        let mut raw = s.raw();
        let mut bytes = Vec::new();
        for (id, v) in [("1-0", "a"), ("2-0", "b"), ("3-0", "c")] {
            bytes
                .extend_from_slice(format!("*5\r\n$4\r\nXADD\r\n$1\r\ns\r\n{}$1\r\nf\r\n{}", rb(id), rb(v)).as_bytes());
        }
        raw.send(&bytes);
        for id in ["1-0", "2-0", "3-0"] {
            raw.expect(rb(id).as_bytes());
        }
        assert_eq!(h.join().unwrap(), Ok(read_reply(vec![("s", vec![entry("1-0", &["f", "a"])])])));
        assert_eq!(int(&mut c, &["XLEN", "s"]), 3);
    }
}

#[test]
fn streams_as_keys_type_encoding_scan_del() {
    let s = Server::with_shards(4);
    let mut c = s.client();
    let k = spread("k", 3);
    for key in &k {
        xadd(&mut c, key, "1-0", &["f", "v"]);
    }
    q::<()>(&mut c, &["SET", "str", "x"]);
    q::<()>(&mut c, &["RPUSH", "list", "x"]);
    assert_eq!(q::<String>(&mut c, &["TYPE", &k[0]]), "stream");
    assert_eq!(q::<String>(&mut c, &["OBJECT", "ENCODING", &k[1]]), "stream");
    let mut raw3 = resp3(&s);
    check(&mut raw3, &["TYPE", &k[2]], "+stream\r\n");
    check(&mut raw3, &["OBJECT", "ENCODING", &k[2]], &rb("stream"));

    let mut found: Vec<String> = Vec::new();
    let mut cursor = "0".to_string();
    loop {
        let (next, keys): (String, Vec<String>) = q(&mut c, &["SCAN", &cursor, "TYPE", "stream", "COUNT", "100"]);
        found.extend(keys);
        if next == "0" {
            break;
        }
        cursor = next;
    }
    found.sort();
    let mut want = k.clone();
    want.sort();
    assert_eq!(found, want);

    assert_eq!(int(&mut c, &["DEL", &k[0], &k[1]]), 2);
    assert_eq!(int(&mut c, &["EXISTS", &k[0], &k[1], &k[2]]), 1);
    assert_eq!(int(&mut c, &["XLEN", &k[0]]), 0);
    assert_eq!(int(&mut c, &["UNLINK", &k[2]]), 1);
    assert_eq!(q::<Value>(&mut c, &["XRANGE", &k[2], "-", "+"]), Value::Array(vec![]));
    // A new stream under a deleted key starts over.
    assert_eq!(xadd(&mut c, &k[0], "1-0", &["f", "v"]), "1-0");
}

#[test]
fn streams_expire() {
    let s = Server::with_shards(2);
    let mut c = s.client();
    xadd(&mut c, "s", "1-0", &["f", "v"]);
    assert_eq!(int(&mut c, &["EXPIRE", "s", "100"]), 1);
    assert_eq!(int(&mut c, &["TTL", "s"]), 100);
    // Writing to the stream keeps its TTL.
    xadd(&mut c, "s", "2-0", &["f", "v"]);
    assert_eq!(int(&mut c, &["TTL", "s"]), 100);
    assert_eq!(int(&mut c, &["PERSIST", "s"]), 1);
    assert_eq!(int(&mut c, &["TTL", "s"]), -1);
    assert_eq!(int(&mut c, &["PEXPIRE", "s", "30"]), 1);
    let deadline = Instant::now() + Duration::from_secs(5);
    while int(&mut c, &["EXISTS", "s"]) == 1 {
        assert!(Instant::now() < deadline, "the stream did not expire");
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(int(&mut c, &["XLEN", "s"]), 0);
    assert_eq!(xadd(&mut c, "s", "1-0", &["f", "v"]), "1-0");
}

#[test]
fn wrongtype_between_streams_and_other_types() {
    let s = Server::with_shards(1);
    let mut c = s.client();
    q::<()>(&mut c, &["RPUSH", "list", "a"]);
    q::<()>(&mut c, &["SET", "str", "a"]);
    for key in ["list", "str"] {
        let cases: Vec<Vec<&str>> = vec![
            vec!["XADD", key, "*", "f", "v"],
            vec!["XADD", key, "NOMKSTREAM", "*", "f", "v"],
            vec!["XRANGE", key, "-", "+"],
            vec!["XREVRANGE", key, "+", "-"],
            vec!["XLEN", key],
            vec!["XDEL", key, "1-0"],
            vec!["XTRIM", key, "MAXLEN", "1"],
            vec!["XSETID", key, "1-0"],
            vec!["XREAD", "STREAMS", key, "0"],
            vec!["XREAD", "BLOCK", "0", "STREAMS", key, "$"],
            vec!["XINFO", "STREAM", key],
        ];
        for args in cases {
            assert_eq!(err(&mut c, &args), WRONGTYPE, "{args:?}");
        }
    }
    xadd(&mut c, "s", "1-0", &["f", "v"]);
    let cases: &[&[&str]] = &[
        &["LPUSH", "s", "x"],
        &["RPUSH", "s", "x"],
        &["LLEN", "s"],
        &["LRANGE", "s", "0", "-1"],
        &["LPOP", "s"],
        &["BLPOP", "s", "0"],
        &["GET", "s"],
        &["INCR", "s"],
        &["APPEND", "s", "x"],
        &["STRLEN", "s"],
    ];
    for args in cases {
        assert_eq!(err(&mut c, args), WRONGTYPE, "{args:?}");
    }
    assert_eq!(int(&mut c, &["XLEN", "s"]), 1);
    assert_eq!(blocked_clients(&mut c), 0);
    // SET replaces a stream like any value.
    q::<()>(&mut c, &["SET", "s", "x"]);
    assert_eq!(q::<String>(&mut c, &["TYPE", "s"]), "string");
}

/// A key named twice in XREAD is read twice, each with its own ID, also when the other keys live on other
/// shards (found by differential fuzzing against redis-server).
#[test]
fn xread_reads_a_repeated_key_once_per_occurrence() {
    let s = Server::with_shards(4);
    let mut c = s.client();
    let keys = spread("rep", 2);
    let (a, b) = (&keys[0], &keys[1]);
    let _: String = q(&mut c, &["XADD", a, "1-1", "f", "v"]);
    let _: String = q(&mut c, &["XADD", b, "1-1", "f", "v"]);
    let got: Value = q(&mut c, &["XREAD", "STREAMS", a, b, a, "$", "0", "0"]);
    let want = read_reply(vec![(b, vec![entry("1-1", &["f", "v"])]), (a, vec![entry("1-1", &["f", "v"])])]);
    assert_eq!(got, want);
    let got: Value = q(&mut c, &["XREAD", "STREAMS", a, b, a, "0", "0", "$"]);
    let want = read_reply(vec![(a, vec![entry("1-1", &["f", "v"])]), (b, vec![entry("1-1", &["f", "v"])])]);
    assert_eq!(got, want);
}

/// XINFO and XGROUP answer HELP; XINFO STREAM looks the key up before it reads COUNT; IDs may carry leading
/// blanks and a `+`, as Redis's number parser takes them.
#[test]
fn xinfo_and_xgroup_help_and_lenient_ids() {
    let s = Server::with_shards(1);
    let mut c = s.client();
    let help: Vec<String> = q(&mut c, &["XINFO", "HELP"]);
    assert_eq!(help.len(), 9);
    assert!(help[0].starts_with("XINFO <subcommand>"));
    let help: Vec<String> = q(&mut c, &["XGROUP", "HELP"]);
    assert_eq!(help.len(), 17);
    assert!(err(&mut c, &["XGROUP", "HELP", "x"]).contains("wrong number of arguments for 'xgroup|help'"));
    assert_eq!(err(&mut c, &["XINFO", "STREAM", "nokey", "FULL", "COUNT", "abc"]), "ERR no such key");
    let _: String = q(&mut c, &["XADD", "s", "1-1", "f", "v"]);
    assert!(err(&mut c, &["XINFO", "STREAM", "s", "FULL", "COUNT", "abc"]).contains("not an integer"));
    let got: Value = q(&mut c, &["XRANGE", "s", " 1", "+"]);
    assert_eq!(got, Value::Array(vec![entry("1-1", &["f", "v"])]));
}
