//! List commands against the real server: replies and error texts as Redis 7.4 gives them (checked side by side
//! with redis-server), RESP2 and RESP3 nulls byte for byte, encodings, large lists against a model, and moves
//! between shards.

mod common;
use common::*;
use redis::Value;

const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";

fn strs(c: &mut redis::Connection, args: &[&str]) -> Vec<String> {
    q::<Vec<String>>(c, args)
}

fn int(c: &mut redis::Connection, args: &[&str]) -> i64 {
    q::<i64>(c, args)
}

fn nil(c: &mut redis::Connection, args: &[&str]) {
    assert_eq!(q::<Value>(c, args), Value::Nil, "{args:?}");
}

#[test]
fn push_pop_llen_and_deletion() {
    let s = Server::with_shards(1);
    let mut c = s.client();
    assert_eq!(int(&mut c, &["LPUSH", "l", "a", "b", "c"]), 3);
    assert_eq!(int(&mut c, &["RPUSH", "l", "d", "e"]), 5);
    assert_eq!(strs(&mut c, &["LRANGE", "l", "0", "-1"]), ["c", "b", "a", "d", "e"]);
    assert_eq!(int(&mut c, &["LPUSHX", "l", "x"]), 6);
    assert_eq!(int(&mut c, &["RPUSHX", "l", "y", "z"]), 8);
    assert_eq!(int(&mut c, &["LPUSHX", "nope", "x"]), 0);
    assert_eq!(int(&mut c, &["RPUSHX", "nope", "x", "y"]), 0);
    assert_eq!(int(&mut c, &["EXISTS", "nope"]), 0);
    assert_eq!(int(&mut c, &["LLEN", "l"]), 8);
    assert_eq!(int(&mut c, &["LLEN", "nope"]), 0);
    assert_eq!(q::<String>(&mut c, &["TYPE", "l"]), "list");

    assert_eq!(q::<String>(&mut c, &["LPOP", "l"]), "x");
    assert_eq!(q::<String>(&mut c, &["RPOP", "l"]), "z");
    assert_eq!(strs(&mut c, &["LPOP", "l", "0"]), Vec::<String>::new());
    assert_eq!(strs(&mut c, &["RPOP", "l", "0"]), Vec::<String>::new());
    assert_eq!(strs(&mut c, &["LPOP", "l", "2"]), ["c", "b"]);
    assert_eq!(strs(&mut c, &["RPOP", "l", "2"]), ["y", "e"]);
    assert_eq!(err(&mut c, &["LPOP", "l", "-1"]), "ERR value is out of range, must be positive");
    assert_eq!(err(&mut c, &["RPOP", "l", "x"]), "ERR value is out of range, must be positive");
    assert_eq!(err(&mut c, &["LPOP", "nope", "-1"]), "ERR value is out of range, must be positive");
    assert_eq!(strs(&mut c, &["LPOP", "l", "10"]), ["a", "d"]);
    assert_eq!(int(&mut c, &["EXISTS", "l"]), 0, "an emptied list is deleted");
    nil(&mut c, &["LPOP", "l"]);
    nil(&mut c, &["RPOP", "l", "3"]);
    nil(&mut c, &["LPOP", "l", "0"]);

    q::<()>(&mut c, &["RPUSH", "one", "v"]);
    assert_eq!(q::<String>(&mut c, &["RPOP", "one"]), "v");
    assert_eq!(int(&mut c, &["EXISTS", "one"]), 0);
    // Empty strings are elements like any other.
    assert_eq!(int(&mut c, &["RPUSH", "e", "", ""]), 2);
    assert_eq!(strs(&mut c, &["LRANGE", "e", "0", "-1"]), ["", ""]);
}

#[test]
fn lrange_lindex_lset_indexes() {
    let s = Server::with_shards(1);
    let mut c = s.client();
    q::<()>(&mut c, &["RPUSH", "r", "0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]);
    let all: Vec<String> = (0..10).map(|i| i.to_string()).collect();
    let cases: &[(&str, &str, std::ops::Range<usize>)] = &[
        ("0", "-1", 0..10),
        ("0", "0", 0..1),
        ("-1", "-1", 9..10),
        ("-100", "100", 0..10),
        ("5", "2", 0..0),
        ("9", "100", 9..10),
        ("10", "100", 0..0),
        ("-3", "-1", 7..10),
        ("-3", "-5", 0..0),
        ("0", "-11", 0..0),
        ("0", "-10", 0..1),
        ("2", "4", 2..5),
        ("-9223372036854775808", "9223372036854775807", 0..10),
    ];
    for (a, b, want) in cases {
        assert_eq!(strs(&mut c, &["LRANGE", "r", a, b]), all[want.clone()], "LRANGE {a} {b}");
    }
    assert_eq!(strs(&mut c, &["LRANGE", "nope", "0", "-1"]), Vec::<String>::new());
    assert_eq!(err(&mut c, &["LRANGE", "r", "x", "1"]), "ERR value is not an integer or out of range");
    assert_eq!(
        err(&mut c, &["LRANGE", "nope", "1", "99999999999999999999"]),
        "ERR value is not an integer or out of range"
    );

    assert_eq!(q::<String>(&mut c, &["LINDEX", "r", "0"]), "0");
    assert_eq!(q::<String>(&mut c, &["LINDEX", "r", "-1"]), "9");
    assert_eq!(q::<String>(&mut c, &["LINDEX", "r", "-10"]), "0");
    nil(&mut c, &["LINDEX", "r", "10"]);
    nil(&mut c, &["LINDEX", "r", "-11"]);
    nil(&mut c, &["LINDEX", "nope", "0"]);
    // The key is looked up before the index is parsed.
    nil(&mut c, &["LINDEX", "nope", "x"]);
    assert_eq!(err(&mut c, &["LINDEX", "r", "x"]), "ERR value is not an integer or out of range");

    q::<()>(&mut c, &["LSET", "r", "-1", "last"]);
    q::<()>(&mut c, &["LSET", "r", "0", "first"]);
    assert_eq!(q::<String>(&mut c, &["LINDEX", "r", "9"]), "last");
    assert_eq!(q::<String>(&mut c, &["LINDEX", "r", "0"]), "first");
    assert_eq!(err(&mut c, &["LSET", "nope", "0", "x"]), "ERR no such key");
    assert_eq!(err(&mut c, &["LSET", "nope", "x", "x"]), "ERR no such key");
    assert_eq!(err(&mut c, &["LSET", "r", "10", "x"]), "ERR index out of range");
    assert_eq!(err(&mut c, &["LSET", "r", "-11", "x"]), "ERR index out of range");
    assert_eq!(err(&mut c, &["LSET", "r", "x", "x"]), "ERR value is not an integer or out of range");
}

#[test]
fn linsert_lrem_ltrim() {
    let s = Server::with_shards(1);
    let mut c = s.client();
    q::<()>(&mut c, &["RPUSH", "l", "a", "b", "c"]);
    assert_eq!(int(&mut c, &["LINSERT", "l", "BEFORE", "b", "x"]), 4);
    assert_eq!(int(&mut c, &["LINSERT", "l", "after", "c", "y"]), 5);
    assert_eq!(int(&mut c, &["LINSERT", "l", "After", "a", "z"]), 6);
    assert_eq!(strs(&mut c, &["LRANGE", "l", "0", "-1"]), ["a", "z", "x", "b", "c", "y"]);
    assert_eq!(int(&mut c, &["LINSERT", "l", "BEFORE", "nope", "x"]), -1);
    assert_eq!(int(&mut c, &["LINSERT", "nope", "BEFORE", "a", "x"]), 0);
    assert_eq!(int(&mut c, &["EXISTS", "nope"]), 0);
    assert_eq!(err(&mut c, &["LINSERT", "l", "MIDDLE", "a", "x"]), "ERR syntax error");
    assert_eq!(err(&mut c, &["LINSERT", "nope", "MIDDLE", "a", "x"]), "ERR syntax error");

    q::<()>(&mut c, &["RPUSH", "m", "a", "b", "a", "c", "a", "d", "a"]);
    assert_eq!(int(&mut c, &["LREM", "m", "2", "a"]), 2);
    assert_eq!(strs(&mut c, &["LRANGE", "m", "0", "-1"]), ["b", "c", "a", "d", "a"]);
    assert_eq!(int(&mut c, &["LREM", "m", "-1", "a"]), 1);
    assert_eq!(strs(&mut c, &["LRANGE", "m", "0", "-1"]), ["b", "c", "a", "d"]);
    assert_eq!(int(&mut c, &["LREM", "m", "0", "a"]), 1);
    assert_eq!(int(&mut c, &["LREM", "m", "0", "zz"]), 0);
    assert_eq!(int(&mut c, &["LREM", "nope", "0", "a"]), 0);
    assert_eq!(err(&mut c, &["LREM", "m", "x", "a"]), "ERR value is not an integer or out of range");
    assert_eq!(int(&mut c, &["LREM", "m", "-5", "b"]), 1);
    assert_eq!(int(&mut c, &["LREM", "m", "0", "c"]), 1);
    assert_eq!(int(&mut c, &["LREM", "m", "1", "d"]), 1);
    assert_eq!(int(&mut c, &["EXISTS", "m"]), 0);

    q::<()>(&mut c, &["RPUSH", "t", "0", "1", "2", "3", "4", "5"]);
    q::<()>(&mut c, &["LTRIM", "t", "1", "-2"]);
    assert_eq!(strs(&mut c, &["LRANGE", "t", "0", "-1"]), ["1", "2", "3", "4"]);
    q::<()>(&mut c, &["LTRIM", "t", "-100", "100"]);
    assert_eq!(int(&mut c, &["LLEN", "t"]), 4);
    q::<()>(&mut c, &["LTRIM", "t", "3", "1"]);
    assert_eq!(int(&mut c, &["EXISTS", "t"]), 0, "an empty trim deletes the key");
    q::<()>(&mut c, &["RPUSH", "t", "a", "b"]);
    q::<()>(&mut c, &["LTRIM", "t", "0", "-100"]);
    assert_eq!(int(&mut c, &["EXISTS", "t"]), 0);
    assert_eq!(q::<String>(&mut c, &["LTRIM", "nope", "0", "1"]), "OK");
    assert_eq!(err(&mut c, &["LTRIM", "t", "0", "x"]), "ERR value is not an integer or out of range");
}

/// Canonical integers are stored as numbers: every element must still read back byte for byte, and "7" and "007"
/// stay different values for LPOS, LREM and the LINSERT pivot.
#[test]
fn integer_elements_read_back_byte_exact() {
    let s = Server::with_shards(1);
    let mut c = s.client();
    let vals = [
        "7",
        "007",
        "-0",
        "0",
        "+5",
        " 1",
        "1 ",
        "-1",
        "12345",
        "-9223372036854775808",
        "9223372036854775807",
        "9223372036854775808",
        "-9223372036854775809",
        "127",
        "7",
    ];
    let mut push = vec!["RPUSH", "l"];
    push.extend(vals);
    assert_eq!(int(&mut c, &push), vals.len() as i64);
    assert_eq!(strs(&mut c, &["LRANGE", "l", "0", "-1"]), vals);
    assert_eq!(strs(&mut c, &["LRANGE", "l", "-3", "-2"]), ["-9223372036854775809", "127"]);
    for (i, v) in vals.iter().enumerate() {
        assert_eq!(q::<String>(&mut c, &["LINDEX", "l", &i.to_string()]), *v);
    }
    assert_eq!(int(&mut c, &["LPOS", "l", "7"]), 0);
    assert_eq!(int(&mut c, &["LPOS", "l", "007"]), 1);
    assert_eq!(int(&mut c, &["LPOS", "l", "-0"]), 2);
    assert_eq!(int(&mut c, &["LPOS", "l", "0"]), 3);
    assert_eq!(int(&mut c, &["LPOS", "l", "7", "RANK", "-1"]), 14);
    assert_eq!(int(&mut c, &["LPOS", "l", "9223372036854775808"]), 11);
    assert_eq!(q::<Vec<i64>>(&mut c, &["LPOS", "l", "7", "COUNT", "0"]), [0, 14]);
    nil(&mut c, &["LPOS", "l", "5"]);
    nil(&mut c, &["LPOS", "l", "07"]);
    nil(&mut c, &["LPOS", "l", "1"]);

    assert_eq!(int(&mut c, &["LINSERT", "l", "BEFORE", "5", "x"]), -1, "+5 is not 5");
    assert_eq!(int(&mut c, &["LINSERT", "l", "AFTER", "007", "08"]), 16);
    assert_eq!(int(&mut c, &["LINSERT", "l", "BEFORE", "-1", "-9223372036854775808"]), 17);
    assert_eq!(int(&mut c, &["LREM", "l", "0", "7"]), 2);
    assert_eq!(int(&mut c, &["LREM", "l", "0", "-9223372036854775808"]), 2);
    assert_eq!(int(&mut c, &["LREM", "l", "1", "-00"]), 0);
    assert_eq!(
        strs(&mut c, &["LRANGE", "l", "0", "-1"]),
        ["007", "08", "-0", "0", "+5", " 1", "1 ", "-1", "12345", "9223372036854775807"]
            .into_iter()
            .chain(["9223372036854775808", "-9223372036854775809", "127"])
            .collect::<Vec<_>>()
    );
    // LSET across the integer/string boundary, both ways.
    q::<()>(&mut c, &["LSET", "l", "0", "-9223372036854775808"]);
    q::<()>(&mut c, &["LSET", "l", "3", "00"]);
    q::<()>(&mut c, &["LSET", "l", "-1", "x"]);
    q::<()>(&mut c, &["LSET", "l", "-2", "-4096"]);
    assert_eq!(q::<String>(&mut c, &["LINDEX", "l", "0"]), "-9223372036854775808");
    assert_eq!(q::<String>(&mut c, &["LINDEX", "l", "3"]), "00");
    assert_eq!(strs(&mut c, &["LRANGE", "l", "-2", "-1"]), ["-4096", "x"]);
    // Pops hand back the same bytes.
    assert_eq!(q::<String>(&mut c, &["LPOP", "l"]), "-9223372036854775808");
    assert_eq!(strs(&mut c, &["LPOP", "l", "3"]), ["08", "-0", "00"]);
    assert_eq!(q::<String>(&mut c, &["RPOP", "l"]), "x");
    assert_eq!(strs(&mut c, &["RPOP", "l", "2"]), ["-4096", "9223372036854775808"]);
    assert_eq!(q::<String>(&mut c, &["RPOPLPUSH", "l", "m"]), "9223372036854775807");
    assert_eq!(q::<String>(&mut c, &["LPOP", "m"]), "9223372036854775807");

    // A list of small integers takes less memory than one of 1-byte strings.
    for (k, v) in [("ints", "7"), ("strs", "x")] {
        let mut push = vec!["RPUSH", k];
        push.extend([v; 1000]);
        q::<()>(&mut c, &push);
    }
    let ints = int(&mut c, &["MEMORY", "USAGE", "ints"]);
    let strs = int(&mut c, &["MEMORY", "USAGE", "strs"]);
    assert!(ints < strs, "MEMORY USAGE: {ints} for integers, {strs} for strings");
}

#[test]
fn lpos_options_and_errors() {
    let s = Server::with_shards(1);
    let mut c = s.client();
    q::<()>(&mut c, &["RPUSH", "p", "a", "b", "c", "1", "2", "3", "c", "c"]);
    let ints = |c: &mut redis::Connection, args: &[&str]| q::<Vec<i64>>(c, args);
    assert_eq!(int(&mut c, &["LPOS", "p", "c"]), 2);
    assert_eq!(int(&mut c, &["LPOS", "p", "c", "RANK", "2"]), 6);
    assert_eq!(int(&mut c, &["LPOS", "p", "c", "RANK", "-1"]), 7);
    assert_eq!(int(&mut c, &["LPOS", "p", "c", "rank", "-3"]), 2);
    nil(&mut c, &["LPOS", "p", "c", "RANK", "4"]);
    nil(&mut c, &["LPOS", "p", "c", "RANK", "-9223372036854775807"]);
    assert_eq!(ints(&mut c, &["LPOS", "p", "c", "COUNT", "0"]), [2, 6, 7]);
    assert_eq!(ints(&mut c, &["LPOS", "p", "c", "COUNT", "2"]), [2, 6]);
    assert_eq!(ints(&mut c, &["LPOS", "p", "c", "RANK", "-1", "COUNT", "0"]), [7, 6, 2]);
    assert_eq!(ints(&mut c, &["LPOS", "p", "c", "RANK", "2", "COUNT", "0"]), [6, 7]);
    assert_eq!(ints(&mut c, &["LPOS", "p", "c", "RANK", "4", "COUNT", "0"]), Vec::<i64>::new());
    assert_eq!(ints(&mut c, &["LPOS", "p", "c", "MAXLEN", "3", "COUNT", "0"]), [2]);
    assert_eq!(ints(&mut c, &["LPOS", "p", "c", "MAXLEN", "2", "RANK", "-1", "COUNT", "0"]), [7, 6]);
    nil(&mut c, &["LPOS", "p", "c", "MAXLEN", "2"]);
    assert_eq!(int(&mut c, &["LPOS", "p", "1"]), 3);
    nil(&mut c, &["LPOS", "p", "zz"]);
    assert_eq!(ints(&mut c, &["LPOS", "p", "zz", "COUNT", "0"]), Vec::<i64>::new());
    nil(&mut c, &["LPOS", "nope", "c"]);
    assert_eq!(ints(&mut c, &["LPOS", "nope", "c", "COUNT", "1"]), Vec::<i64>::new());
    assert_eq!(ints(&mut c, &["LPOS", "p", "c", "COUNT", "1", "COUNT", "0", "RANK", "1", "RANK", "3"]), [7]);

    let rank0 = "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative \
                 to start from the end of the list";
    assert_eq!(err(&mut c, &["LPOS", "p", "c", "RANK", "0"]), rank0);
    assert_eq!(err(&mut c, &["LPOS", "nope", "c", "RANK", "0"]), rank0, "options come before the key");
    assert_eq!(
        err(&mut c, &["LPOS", "p", "c", "RANK", "-9223372036854775808"]),
        "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"
    );
    assert_eq!(err(&mut c, &["LPOS", "p", "c", "RANK", "x"]), "ERR value is not an integer or out of range");
    assert_eq!(err(&mut c, &["LPOS", "p", "c", "COUNT", "-1"]), "ERR COUNT can't be negative");
    assert_eq!(err(&mut c, &["LPOS", "p", "c", "COUNT", "x"]), "ERR COUNT can't be negative");
    assert_eq!(err(&mut c, &["LPOS", "p", "c", "MAXLEN", "-1"]), "ERR MAXLEN can't be negative");
    assert_eq!(err(&mut c, &["LPOS", "p", "c", "MAXLEN", "x"]), "ERR MAXLEN can't be negative");
    assert_eq!(err(&mut c, &["LPOS", "p", "c", "FOO", "1"]), "ERR syntax error");
    assert_eq!(err(&mut c, &["LPOS", "p", "c", "FOO", "x"]), "ERR syntax error");
    assert_eq!(err(&mut c, &["LPOS", "p", "c", "RANK"]), "ERR syntax error");
    assert_eq!(err(&mut c, &["LPOS", "p", "c", "COUNT"]), "ERR syntax error");
    assert_eq!(err(&mut c, &["LPOS", "p", "c", "RANK", "1", "MAXLEN"]), "ERR syntax error");
}

/// LMOVE/RPOPLPUSH on keys of one shard, or (with 4 shards) `a` and `b`, which live on different shards.
fn moves(shards: usize) {
    let s = Server::with_shards(shards);
    let mut c = s.client();
    q::<()>(&mut c, &["RPUSH", "q", "a", "b", "c"]);
    // Rotation of one list.
    assert_eq!(q::<String>(&mut c, &["LMOVE", "q", "q", "LEFT", "RIGHT"]), "a");
    assert_eq!(strs(&mut c, &["LRANGE", "q", "0", "-1"]), ["b", "c", "a"]);
    assert_eq!(q::<String>(&mut c, &["LMOVE", "q", "q", "right", "left"]), "a");
    assert_eq!(q::<String>(&mut c, &["RPOPLPUSH", "q", "q"]), "c");
    assert_eq!(strs(&mut c, &["LRANGE", "q", "0", "-1"]), ["c", "a", "b"]);
    assert_eq!(q::<String>(&mut c, &["LMOVE", "q", "q", "LEFT", "LEFT"]), "c");
    assert_eq!(strs(&mut c, &["LRANGE", "q", "0", "-1"]), ["c", "a", "b"]);

    // `a` and `b` are on different shards when there are 4.
    q::<()>(&mut c, &["RPUSH", "a", "1", "2", "3"]);
    assert_eq!(q::<String>(&mut c, &["LMOVE", "a", "b", "LEFT", "RIGHT"]), "1");
    assert_eq!(q::<String>(&mut c, &["LMOVE", "a", "b", "RIGHT", "LEFT"]), "3");
    assert_eq!(strs(&mut c, &["LRANGE", "b", "0", "-1"]), ["3", "1"]);
    assert_eq!(q::<String>(&mut c, &["RPOPLPUSH", "b", "a"]), "1");
    assert_eq!(strs(&mut c, &["LRANGE", "a", "0", "-1"]), ["1", "2"]);
    assert_eq!(q::<String>(&mut c, &["RPOPLPUSH", "b", "a"]), "3");
    assert_eq!(int(&mut c, &["EXISTS", "b"]), 0, "an emptied source is deleted");
    assert_eq!(strs(&mut c, &["LRANGE", "a", "0", "-1"]), ["3", "1", "2"]);
    // Same shard: `a` and `e` share one.
    assert_eq!(q::<String>(&mut c, &["LMOVE", "a", "e", "LEFT", "LEFT"]), "3");

    // Missing source: nil, whatever the destination holds; wrong types after that, source first.
    q::<()>(&mut c, &["SET", "s", "str"]);
    q::<()>(&mut c, &["SET", "c", "str"]);
    nil(&mut c, &["LMOVE", "missing", "b", "LEFT", "LEFT"]);
    nil(&mut c, &["LMOVE", "missing", "s", "LEFT", "LEFT"]);
    nil(&mut c, &["RPOPLPUSH", "missing", "c"]);
    for (src, dst) in [("s", "a"), ("c", "a"), ("a", "s"), ("a", "c"), ("s", "c"), ("s", "s")] {
        assert_eq!(err(&mut c, &["LMOVE", src, dst, "LEFT", "LEFT"]), WRONGTYPE, "{src} -> {dst}");
        assert_eq!(err(&mut c, &["RPOPLPUSH", src, dst]), WRONGTYPE, "{src} -> {dst}");
    }
    assert_eq!(strs(&mut c, &["LRANGE", "a", "0", "-1"]), ["1", "2"], "failed moves change nothing");
    assert_eq!(err(&mut c, &["LMOVE", "a", "b", "UP", "LEFT"]), "ERR syntax error");
    assert_eq!(err(&mut c, &["LMOVE", "a", "b", "LEFT", "DOWN"]), "ERR syntax error");
    assert_eq!(err(&mut c, &["LMOVE", "s", "b", "UP", "LEFT"]), "ERR syntax error");
    assert_eq!(err(&mut c, &["LMOVE", "missing", "c", "UP", "LEFT"]), "ERR syntax error");

    // Move the whole list across, element by element, and check nothing is lost.
    for i in 0..50 {
        q::<()>(&mut c, &["RPUSH", "src", &i.to_string()]);
    }
    for _ in 0..50 {
        q::<String>(&mut c, &["RPOPLPUSH", "src", "dst"]);
    }
    assert_eq!(int(&mut c, &["EXISTS", "src"]), 0);
    assert_eq!(strs(&mut c, &["LRANGE", "dst", "0", "-1"]), (0..50).map(|i| i.to_string()).collect::<Vec<_>>());
}

#[test]
fn lmove_rpoplpush_one_shard() {
    moves(1);
}

#[test]
fn lmove_rpoplpush_across_shards() {
    moves(4);
}

/// Moves between two lists on different shards look atomic. Four movers shuttle 40 elements back and forth
/// (both directions, so both lock orders, from connections on several shards) while readers check, in
/// transactions, that the two lengths always add up to 40. Then, with one mover per pair of keys, another
/// connection must find each moved element in the destination as soon as the move has replied.
#[test]
fn moves_across_shards_are_atomic() {
    let s = Server::with_shards(4);
    let [a, b] = <[String; 2]>::try_from(spread("mv", 2)).unwrap();
    let mut c = s.client();
    let items: Vec<String> = (0..40).map(|i| i.to_string()).collect();
    q::<i64>(&mut c, &[&["RPUSH", &a][..], &items.iter().map(String::as_str).collect::<Vec<_>>()].concat());
    let (wa, wb, ra, rb) = (a.clone(), b.clone(), a.clone(), b.clone());
    race(
        &s,
        4,
        2,
        400,
        move |c, m, i| {
            let (from, to) = if (i + m) % 2 == 0 { (&wa, &wb) } else { (&wb, &wa) };
            if i % 3 == 0 {
                q::<Option<String>>(c, &["RPOPLPUSH", from, to]);
            } else {
                q::<Option<String>>(c, &["LMOVE", from, to, "LEFT", "RIGHT"]);
            }
        },
        move |c| {
            let (x, y): (i64, i64) = redis::pipe().atomic().llen(&ra).llen(&rb).query(c).unwrap();
            assert_eq!(x + y, 40, "a transaction saw a move half done: {x} + {y}");
        },
    );
    let mut all = strs(&mut c, &["LRANGE", &a, "0", "-1"]);
    all.extend(strs(&mut c, &["LRANGE", &b, "0", "-1"]));
    all.sort_by_key(|v| v.parse::<u32>().unwrap());
    assert_eq!(all, items, "every element once");

    // The destination stays locked until the push lands, so a reader on another connection (and shard thread)
    // that asks after the reply sees the element there.
    let mut reader = s.client();
    for (from, to) in [(&a, &b), (&b, &a)] {
        q::<i64>(&mut c, &["DEL", to]);
        let n = int(&mut c, &["LLEN", from]);
        for i in 1..=n {
            let v: String = q(&mut c, &["LMOVE", from, to, "LEFT", "RIGHT"]);
            assert_eq!(int(&mut reader, &["LLEN", to]), i, "{v} moved from {from} to {to}");
            assert_eq!(q::<Option<i64>>(&mut reader, &["LPOS", to, &v]), Some(i - 1));
        }
    }
}

/// With one key on each of four shards, listed in every order, and from connections on two shard threads: a pop
/// takes the first non-empty key in argument order, and a wrong type listed before it fails the pop, whichever
/// shard each key lives on (the shards are locked in their own order, not the arguments').
#[test]
fn pops_across_shards_follow_argument_order() {
    let s = Server::with_shards(4);
    let mut conns = [s.client(), s.client()];
    let k = spread("po", 4);
    let mut orders = Vec::new();
    for a in 0..4 {
        for b in (0..4).filter(|&b| b != a) {
            for c in (0..4).filter(|&c| c != a && c != b) {
                let d = 6 - a - b - c;
                orders.push([a, b, c, d].map(|i| k[i].clone()));
            }
        }
    }
    for (n, o) in orders.iter().enumerate() {
        let c = &mut conns[n % 2];
        q::<i64>(c, &["RPUSH", &o[2], "x"]);
        q::<i64>(c, &["RPUSH", &o[3], "y", "z"]);
        let blpop: Option<(String, String)> = q(c, &["BLPOP", &o[0], &o[1], &o[2], &o[3], "0.01"]);
        assert_eq!(blpop, Some((o[2].clone(), "x".into())), "{o:?}");
        let lmpop: Option<(String, Vec<String>)> = q(c, &["LMPOP", "4", &o[0], &o[1], &o[2], &o[3], "RIGHT"]);
        assert_eq!(lmpop, Some((o[3].clone(), vec!["z".into()])), "{o:?}");
        q::<()>(c, &["SET", &o[1], "str"]);
        assert_eq!(err(c, &["LMPOP", "4", &o[0], &o[1], &o[2], &o[3], "LEFT"]), WRONGTYPE, "{o:?}");
        assert_eq!(err(c, &["BRPOP", &o[0], &o[1], &o[2], &o[3], "0.01"]), WRONGTYPE, "{o:?}");
        assert_eq!(int(c, &["LLEN", &o[3]]), 1, "a failed pop takes nothing");
        q::<i64>(c, &["DEL", &o[1], &o[3]]);
        nil(c, &["LMPOP", "4", &o[0], &o[1], &o[2], &o[3], "LEFT"]);
    }
}

fn lmpop(shards: usize) {
    let s = Server::with_shards(shards);
    let mut c = s.client();
    type Popped = Option<(String, Vec<String>)>;
    q::<()>(&mut c, &["RPUSH", "a", "1", "2", "3"]);
    q::<()>(&mut c, &["RPUSH", "b", "4", "5"]);
    let p = |c: &mut redis::Connection, args: &[&str]| q::<Popped>(c, args);
    assert_eq!(p(&mut c, &["LMPOP", "2", "missing", "a", "LEFT"]), Some(("a".into(), vec!["1".into()])));
    assert_eq!(
        p(&mut c, &["LMPOP", "2", "a", "b", "RIGHT", "COUNT", "10"]),
        Some(("a".into(), vec!["3".into(), "2".into()]))
    );
    assert_eq!(int(&mut c, &["EXISTS", "a"]), 0);
    assert_eq!(p(&mut c, &["LMPOP", "2", "a", "b", "left", "count", "1"]), Some(("b".into(), vec!["4".into()])));
    assert_eq!(p(&mut c, &["LMPOP", "1", "b", "RIGHT"]), Some(("b".into(), vec!["5".into()])));
    assert_eq!(p(&mut c, &["LMPOP", "2", "a", "b", "LEFT"]), None);
    assert_eq!(q::<Value>(&mut c, &["LMPOP", "2", "a", "b", "LEFT"]), Value::Nil);

    q::<()>(&mut c, &["SET", "s", "str"]);
    q::<()>(&mut c, &["RPUSH", "a", "x"]);
    assert_eq!(err(&mut c, &["LMPOP", "2", "s", "a", "LEFT"]), WRONGTYPE);
    assert_eq!(err(&mut c, &["LMPOP", "2", "missing", "s", "LEFT"]), WRONGTYPE);
    assert_eq!(p(&mut c, &["LMPOP", "2", "a", "s", "LEFT"]), Some(("a".into(), vec!["x".into()])));

    let numkeys = "ERR numkeys should be greater than 0";
    assert_eq!(err(&mut c, &["LMPOP", "0", "a", "LEFT"]), numkeys);
    assert_eq!(err(&mut c, &["LMPOP", "-1", "a", "LEFT"]), numkeys);
    assert_eq!(err(&mut c, &["LMPOP", "x", "a", "LEFT"]), numkeys);
    assert_eq!(err(&mut c, &["LMPOP", "99999999999999999999", "a", "LEFT"]), numkeys);
    assert_eq!(err(&mut c, &["LMPOP", "3", "a", "b", "LEFT"]), "ERR syntax error");
    assert_eq!(err(&mut c, &["LMPOP", "2", "a", "b"]), "ERR syntax error");
    assert_eq!(err(&mut c, &["LMPOP", "1", "a", "MIDDLE"]), "ERR syntax error");
    assert_eq!(err(&mut c, &["LMPOP", "1", "a", "LEFT", "COUNT"]), "ERR syntax error");
    assert_eq!(err(&mut c, &["LMPOP", "1", "a", "LEFT", "FOO"]), "ERR syntax error");
    assert_eq!(err(&mut c, &["LMPOP", "1", "a", "LEFT", "COUNT", "1", "COUNT", "1"]), "ERR syntax error");
    for bad in ["0", "-1", "x"] {
        assert_eq!(err(&mut c, &["LMPOP", "1", "a", "LEFT", "COUNT", bad]), "ERR count should be greater than 0");
    }
}

#[test]
fn lmpop_one_shard() {
    lmpop(1);
}

#[test]
fn lmpop_across_shards() {
    lmpop(4);
}

#[test]
fn wrongtype_and_arity() {
    let s = Server::with_shards(1);
    let mut c = s.client();
    q::<()>(&mut c, &["SET", "s", "v"]);
    q::<()>(&mut c, &["RPUSH", "l", "a"]);
    let wrong: &[&[&str]] = &[
        &["LPUSH", "s", "a"],
        &["RPUSH", "s", "a"],
        &["LPUSHX", "s", "a"],
        &["RPUSHX", "s", "a"],
        &["LPOP", "s"],
        &["RPOP", "s"],
        &["LPOP", "s", "2"],
        &["RPOP", "s", "0"],
        &["LLEN", "s"],
        &["LRANGE", "s", "0", "-1"],
        &["LINDEX", "s", "0"],
        &["LINDEX", "s", "x"],
        &["LSET", "s", "0", "x"],
        &["LSET", "s", "x", "x"],
        &["LINSERT", "s", "BEFORE", "a", "b"],
        &["LREM", "s", "0", "a"],
        &["LTRIM", "s", "0", "1"],
        &["LPOS", "s", "a"],
        &["LPOS", "s", "a", "COUNT", "0"],
        &["LMOVE", "s", "l", "LEFT", "LEFT"],
        &["RPOPLPUSH", "l", "s"],
        &["LMPOP", "1", "s", "LEFT"],
    ];
    for args in wrong {
        assert_eq!(err(&mut c, args), WRONGTYPE, "{args:?}");
    }
    assert_eq!(q::<String>(&mut c, &["GET", "s"]), "v");
    assert_eq!(strs(&mut c, &["LRANGE", "l", "0", "-1"]), ["a"]);
    assert_eq!(err(&mut c, &["GET", "l"]), WRONGTYPE);

    let arity: &[&[&str]] = &[
        &["LPUSH"],
        &["LPUSH", "k"],
        &["RPUSH", "k"],
        &["LPUSHX", "k"],
        &["RPUSHX", "k"],
        &["LPOP"],
        &["RPOP"],
        &["LPOP", "k", "1", "2"],
        &["RPOP", "k", "1", "2"],
        &["LLEN"],
        &["LLEN", "k", "x"],
        &["LRANGE", "k", "0"],
        &["LRANGE", "k", "0", "1", "2"],
        &["LINDEX", "k"],
        &["LINDEX", "k", "0", "1"],
        &["LSET", "k", "0"],
        &["LSET", "k", "0", "1", "2"],
        &["LINSERT", "k", "BEFORE", "p"],
        &["LINSERT", "k", "BEFORE", "p", "v", "w"],
        &["LREM", "k", "0"],
        &["LREM", "k", "0", "x", "y"],
        &["LTRIM", "k", "0"],
        &["LTRIM", "k", "0", "1", "2"],
        &["LPOS", "k"],
        &["LMOVE", "a", "b", "LEFT"],
        &["LMOVE", "a", "b", "LEFT", "LEFT", "x"],
        &["RPOPLPUSH", "a"],
        &["RPOPLPUSH", "a", "b", "c"],
        &["LMPOP"],
        &["LMPOP", "1"],
        &["LMPOP", "1", "k"],
    ];
    for args in arity {
        let name = args[0].to_ascii_lowercase();
        assert_eq!(err(&mut c, args), format!("ERR wrong number of arguments for '{name}' command"), "{args:?}");
    }
}

#[test]
fn resp2_and_resp3_nulls_byte_exact() {
    let s = Server::with_shards(1);
    let mut r = s.raw();
    r.cmd(&[b"RPUSH", b"l", b"a", b"b"]);
    r.expect(b":2\r\n");
    // (command, RESP2 reply, RESP3 reply)
    type Case<'a> = (&'a [&'a [u8]], &'a [u8], &'a [u8]);
    let nulls: &[Case] = &[
        (&[b"LPOP", b"missing"], b"$-1\r\n", b"_\r\n"),
        (&[b"LPOP", b"missing", b"2"], b"*-1\r\n", b"_\r\n"),
        (&[b"RPOP", b"missing", b"0"], b"*-1\r\n", b"_\r\n"),
        (&[b"LINDEX", b"l", b"5"], b"$-1\r\n", b"_\r\n"),
        (&[b"LINDEX", b"missing", b"0"], b"$-1\r\n", b"_\r\n"),
        (&[b"LPOS", b"l", b"zz"], b"$-1\r\n", b"_\r\n"),
        (&[b"LPOS", b"missing", b"zz"], b"$-1\r\n", b"_\r\n"),
        (&[b"LPOS", b"l", b"zz", b"COUNT", b"0"], b"*0\r\n", b"*0\r\n"),
        (&[b"LMOVE", b"missing", b"l", b"LEFT", b"LEFT"], b"$-1\r\n", b"_\r\n"),
        (&[b"RPOPLPUSH", b"missing", b"l"], b"$-1\r\n", b"_\r\n"),
        (&[b"LMPOP", b"1", b"missing", b"LEFT"], b"*-1\r\n", b"_\r\n"),
        (&[b"LRANGE", b"missing", b"0", b"-1"], b"*0\r\n", b"*0\r\n"),
        (&[b"LPOP", b"l", b"0"], b"*0\r\n", b"*0\r\n"),
    ];
    for (args, resp2, _) in nulls {
        r.cmd(args);
        r.expect(resp2);
    }
    r.cmd(&[b"HELLO", b"3"]);
    assert!(r.reply().starts_with(b"%"));
    for (args, _, resp3) in nulls {
        r.cmd(args);
        r.expect(resp3);
    }
    r.cmd(&[b"LMPOP", b"1", b"l", b"RIGHT", b"COUNT", b"5"]);
    r.expect(b"*2\r\n$1\r\nl\r\n*2\r\n$1\r\nb\r\n$1\r\na\r\n");
    r.cmd(&[b"EXISTS", b"l"]);
    r.expect(b":0\r\n");

    // The same through the redis crate's RESP3 connection.
    let mut c = s.client3();
    nil(&mut c, &["LPOP", "missing"]);
    nil(&mut c, &["LPOP", "missing", "2"]);
    assert_eq!(int(&mut c, &["RPUSH", "k", "x", "y"]), 2);
    assert_eq!(strs(&mut c, &["LPOP", "k", "5"]), ["x", "y"]);
    assert_eq!(err(&mut c, &["LPOP", "k", "-1"]), "ERR value is out of range, must be positive");
}

#[test]
fn encoding_listpack_then_quicklist() {
    let s = Server::with_shards(1);
    let mut c = s.client();
    let enc = |c: &mut redis::Connection, k: &str| q::<String>(c, &["OBJECT", "ENCODING", k]);
    let v = "v".repeat(100); // 103 bytes in a listpack
    q::<()>(&mut c, &["RPUSH", "l", "a"]);
    assert_eq!(enc(&mut c, "l"), "listpack");
    q::<()>(&mut c, &["DEL", "l"]);
    for _ in 0..79 {
        q::<()>(&mut c, &["RPUSH", "l", &v]);
    }
    // 7 + 79 * 103 = 8144 bytes; one more would pass 8192.
    assert_eq!(enc(&mut c, "l"), "listpack");
    q::<()>(&mut c, &["RPUSH", "l", &v]);
    assert_eq!(enc(&mut c, "l"), "quicklist");
    // Back to listpack only at half the limit: 7 + 39 * 103 = 4024 <= 4096 < 4127.
    q::<()>(&mut c, &["LTRIM", "l", "0", "39"]);
    assert_eq!(enc(&mut c, "l"), "quicklist");
    q::<()>(&mut c, &["LMOVE", "l", "l", "LEFT", "RIGHT"]);
    assert_eq!(enc(&mut c, "l"), "quicklist", "a rotation does not convert");
    q::<String>(&mut c, &["RPOP", "l"]);
    assert_eq!(enc(&mut c, "l"), "listpack");
    // A failed LINSERT still converts, as Redis checks before looking for the pivot.
    let big = "b".repeat(5000);
    assert_eq!(int(&mut c, &["LINSERT", "l", "BEFORE", "nope", &big]), -1);
    assert_eq!(enc(&mut c, "l"), "quicklist");
    // Integers are packed: 3000 small integers still fit one listpack.
    for chunk in 0..30 {
        let mut args = vec!["RPUSH".to_string(), "ints".into()];
        args.extend((0..100).map(|i| ((chunk * 100 + i) % 100).to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        q::<()>(&mut c, &args);
    }
    assert_eq!(enc(&mut c, "ints"), "listpack");
    // One big element makes a quicklist; COPY keeps the encoding.
    q::<()>(&mut c, &["RPUSH", "big", &"x".repeat(9000)]);
    assert_eq!(enc(&mut c, "big"), "quicklist");
    assert_eq!(int(&mut c, &["COPY", "big", "big2"]), 1);
    assert_eq!(enc(&mut c, "big2"), "quicklist");
}

#[test]
fn copy_rename_move_lists() {
    let s = Server::with_shards(4);
    let mut c = s.client();
    q::<()>(&mut c, &["RPUSH", "a", "1", "2", "3"]);
    assert_eq!(int(&mut c, &["COPY", "a", "b"]), 1);
    q::<()>(&mut c, &["RPUSH", "b", "4"]);
    assert_eq!(strs(&mut c, &["LRANGE", "a", "0", "-1"]), ["1", "2", "3"], "a copy is independent");
    assert_eq!(strs(&mut c, &["LRANGE", "b", "0", "-1"]), ["1", "2", "3", "4"]);
    q::<()>(&mut c, &["RENAME", "b", "c"]);
    assert_eq!(q::<String>(&mut c, &["TYPE", "c"]), "list");
    assert_eq!(int(&mut c, &["EXISTS", "b"]), 0);
    assert_eq!(int(&mut c, &["LLEN", "c"]), 4);
    assert_eq!(int(&mut c, &["MOVE", "c", "1"]), 1);
    assert_eq!(int(&mut c, &["EXISTS", "c"]), 0);
    q::<()>(&mut c, &["SELECT", "1"]);
    assert_eq!(strs(&mut c, &["LRANGE", "c", "0", "-1"]), ["1", "2", "3", "4"]);
    assert_eq!(int(&mut c, &["RPUSH", "c", "5"]), 5);
}

/// A small deterministic generator, so a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// A value of 0 bytes to 20 KB, mostly small; unique (it starts with its serial) unless empty.
fn value(rng: &mut Rng, serial: usize) -> Vec<u8> {
    let len = match rng.below(1000) {
        0..=99 => 0,
        100..=989 => rng.below(40),
        990..=997 => rng.below(2000),
        _ => 10_000 + rng.below(10_001),
    };
    if len == 0 {
        return Vec::new();
    }
    let mut v = format!("{serial}:").into_bytes();
    v.resize(len.max(v.len()), b'a' + (serial % 26) as u8);
    v
}

fn bytes_range(c: &mut redis::Connection, key: &str, a: i64, b: i64) -> Vec<Vec<u8>> {
    redis::cmd("LRANGE").arg(key).arg(a).arg(b).query(c).expect("LRANGE")
}

#[test]
fn large_list_matches_model() {
    let s = Server::with_shards(1);
    let mut c = s.client();
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let mut model: Vec<Vec<u8>> = Vec::new();
    let mut serial = 0;
    // 100k elements, pushed in pipelined batches at both ends.
    while model.len() < 100_000 {
        let mut pipe = redis::pipe();
        for _ in 0..10 {
            let front = rng.below(3) == 0;
            let batch: Vec<Vec<u8>> = (0..100)
                .map(|_| {
                    serial += 1;
                    value(&mut rng, serial)
                })
                .collect();
            pipe.cmd(if front { "LPUSH" } else { "RPUSH" }).arg("big").arg(&batch).ignore();
            if front {
                for v in batch {
                    model.insert(0, v);
                }
            } else {
                model.extend(batch);
            }
        }
        pipe.query::<()>(&mut c).expect("push batch");
    }
    assert_eq!(int(&mut c, &["LLEN", "big"]), model.len() as i64);
    assert_eq!(bytes_range(&mut c, "big", 0, -1), model);

    let n = |m: &Vec<Vec<u8>>| m.len() as i64;
    for round in 0..300 {
        let len = n(&model);
        match round % 6 {
            0 => {
                let (a, b) = (rng.below(len as usize * 2) as i64 - len, rng.below(len as usize * 2) as i64 - len);
                let (s2, e2) = (if a < 0 { (len + a).max(0) } else { a }, if b < 0 { len + b } else { b.min(len - 1) });
                let want: Vec<Vec<u8>> =
                    if s2 > e2 || s2 >= len { Vec::new() } else { model[s2 as usize..=e2 as usize].to_vec() };
                assert_eq!(bytes_range(&mut c, "big", a, b), want, "LRANGE {a} {b}");
            }
            1 => {
                let i = rng.below(len as usize + 10) as i64 - 5;
                let want = if i < 0 { model.get((len + i) as usize) } else { model.get(i as usize) };
                let got: Option<Vec<u8>> = redis::cmd("LINDEX").arg("big").arg(i).query(&mut c).unwrap();
                assert_eq!(got.as_ref(), want, "LINDEX {i}");
            }
            2 => {
                let i = rng.below(len as usize);
                serial += 1;
                let v = value(&mut rng, serial);
                let idx = if rng.below(2) == 0 { i as i64 } else { i as i64 - len };
                redis::cmd("LSET").arg("big").arg(idx).arg(&v).query::<()>(&mut c).unwrap();
                model[i] = v;
            }
            3 => {
                let pivot_at = rng.below(len as usize);
                let pivot = model[pivot_at].clone();
                let first = model.iter().position(|x| *x == pivot).unwrap();
                serial += 1;
                let v = value(&mut rng, serial);
                let after = rng.below(2) == 0;
                let got: i64 = redis::cmd("LINSERT")
                    .arg("big")
                    .arg(if after { "AFTER" } else { "BEFORE" })
                    .arg(&pivot)
                    .arg(&v)
                    .query(&mut c)
                    .unwrap();
                model.insert(first + after as usize, v);
                assert_eq!(got, n(&model));
            }
            4 => {
                // Mostly the empty string (many copies), sometimes a unique value.
                let target = if rng.below(3) == 0 { model[rng.below(len as usize)].clone() } else { Vec::new() };
                let count = rng.below(7) as i64 - 3;
                let limit = if count == 0 { usize::MAX } else { count.unsigned_abs() as usize };
                let mut removed = 0;
                if count >= 0 {
                    model.retain(|x| {
                        let hit = *x == target && removed < limit;
                        removed += hit as usize;
                        !hit
                    });
                } else {
                    let mut keep = vec![true; model.len()];
                    for (i, x) in model.iter().enumerate().rev() {
                        if removed < limit && *x == target {
                            keep[i] = false;
                            removed += 1;
                        }
                    }
                    let mut k = keep.iter();
                    model.retain(|_| *k.next().unwrap());
                }
                let got: i64 = redis::cmd("LREM").arg("big").arg(count).arg(&target).query(&mut c).unwrap();
                assert_eq!(got, removed as i64, "LREM {count}");
            }
            _ if round % 60 == 5 => {
                // Trim a little from both ends (keeping most of the list for the rounds to come).
                let a = rng.below(200) as i64;
                let b = -(rng.below(200) as i64) - 1;
                q::<()>(&mut c, &["LTRIM", "big", &a.to_string(), &b.to_string()]);
                let e = (len + b) as usize;
                model = model[a as usize..=e].to_vec();
            }
            _ => {
                assert_eq!(int(&mut c, &["LLEN", "big"]), n(&model));
            }
        }
    }
    assert_eq!(bytes_range(&mut c, "big", 0, -1), model);
    q::<()>(&mut c, &["LTRIM", "big", "-5", "-1"]);
    assert_eq!(bytes_range(&mut c, "big", 0, -1), model[model.len() - 5..]);
    q::<()>(&mut c, &["LTRIM", "big", "1", "0"]);
    assert_eq!(int(&mut c, &["EXISTS", "big"]), 0);
}
