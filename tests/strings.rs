//! String commands against Redis 7.4's replies: options and their errors, expiry, counters, INCRBYFLOAT's
//! formatting, ranges, RESP3 nulls, OBJECT ENCODING, and the multi-shard MSET/MGET/MSETNX lock protocol.
mod common;
use common::*;
use redis::Value;
use rill::shard::slot::key_shard;
use std::collections::BTreeSet;

/// `n` keys named `{prefix}{i}` that together cover every one of `shards` shards.
fn spread_keys(prefix: &str, n: usize, shards: usize) -> Vec<String> {
    let keys: Vec<String> = (0..n).map(|i| format!("{prefix}{i}")).collect();
    let covered: BTreeSet<usize> = keys.iter().map(|k| key_shard(k.as_bytes(), shards)).collect();
    assert_eq!(covered.len(), shards, "keys {keys:?} must cover every shard");
    keys
}

fn ttl(c: &mut redis::Connection, key: &str) -> i64 {
    q(c, &["TTL", key])
}

#[test]
fn set_options() {
    let s = Server::with_shards(4);
    let mut c = s.client();
    assert_eq!(q::<Option<String>>(&mut c, &["GET", "k"]), None);
    assert_eq!(q::<String>(&mut c, &["SET", "k", "v"]), "OK");
    assert_eq!(q::<String>(&mut c, &["GET", "k"]), "v");

    // NX / XX, with and without GET.
    assert_eq!(q::<Option<String>>(&mut c, &["SET", "k", "w", "NX"]), None);
    assert_eq!(q::<Option<String>>(&mut c, &["SET", "k", "w", "nx", "GET"]), Some("v".into()));
    assert_eq!(q::<String>(&mut c, &["GET", "k"]), "v");
    assert_eq!(q::<Option<String>>(&mut c, &["SET", "new", "w", "XX"]), None);
    assert_eq!(q::<Option<String>>(&mut c, &["SET", "new", "w", "XX", "GET"]), None);
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "new"]), 0);
    assert_eq!(q::<Option<String>>(&mut c, &["SET", "new", "w", "NX", "GET"]), None);
    assert_eq!(q::<String>(&mut c, &["GET", "new"]), "w");
    assert_eq!(q::<Option<String>>(&mut c, &["SET", "k", "x", "XX", "GET"]), Some("v".into()));
    assert_eq!(q::<String>(&mut c, &["GET", "k"]), "x");
    // Repeating an option is allowed; the last expiry value wins and only it is checked.
    assert_eq!(q::<Option<String>>(&mut c, &["SET", "k", "v", "NX", "NX"]), None);
    assert_eq!(q::<String>(&mut c, &["SET", "k", "v", "GET", "GET"]), "x");
    assert_eq!(q::<String>(&mut c, &["SET", "k", "v", "EX", "abc", "EX", "100"]), "OK");
    assert_eq!(ttl(&mut c, "k"), 100);
    assert_eq!(q::<String>(&mut c, &["SET", "k", "v", "KEEPTTL", "KEEPTTL"]), "OK");
    assert_eq!(ttl(&mut c, "k"), 100);

    // Expiry forms.
    assert_eq!(q::<String>(&mut c, &["SET", "k", "v", "PX", "50000"]), "OK");
    assert!((49..=50).contains(&ttl(&mut c, "k")));
    let now: u64 = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    assert_eq!(q::<String>(&mut c, &["SET", "k", "v", "EXAT", &(now + 200).to_string()]), "OK");
    assert!((199..=200).contains(&ttl(&mut c, "k")));
    assert_eq!(q::<String>(&mut c, &["SET", "k", "v", "PXAT", &((now + 300) * 1000).to_string()]), "OK");
    assert!((299..=300).contains(&ttl(&mut c, "k")));
    assert_eq!(q::<String>(&mut c, &["SET", "k", "v2", "KEEPTTL"]), "OK");
    assert!((299..=300).contains(&ttl(&mut c, "k")));
    assert_eq!(q::<String>(&mut c, &["SET", "k", "v3"]), "OK");
    assert_eq!(ttl(&mut c, "k"), -1);
    // An absolute time in the past leaves no key, and GET still answers the old value.
    assert_eq!(q::<String>(&mut c, &["SET", "k", "v4", "EXAT", "1", "GET"]), "v3");
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "k"]), 0);
    assert_eq!(q::<String>(&mut c, &["SET", "k", "v", "PXAT", "1"]), "OK");
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "k"]), 0);

    // Errors: options are parsed first, then the expiry value.
    let syntax = "ERR syntax error";
    for bad in [
        &["SET", "k", "v", "NX", "XX"][..],
        &["SET", "k", "v", "XX", "NX"],
        &["SET", "k", "v", "EX"],
        &["SET", "k", "v", "EX", "10", "PX", "100"],
        &["SET", "k", "v", "PX", "10", "PXAT", "100"],
        &["SET", "k", "v", "EX", "10", "KEEPTTL"],
        &["SET", "k", "v", "KEEPTTL", "EX", "10"],
        &["SET", "k", "v", "EX", "abc", "FOO"],
        &["SET", "k", "v", "FOO"],
        &["SET", "k", "v", "PERSIST"],
    ] {
        assert_eq!(err(&mut c, bad), syntax, "{bad:?}");
    }
    let not_int = "ERR value is not an integer or out of range";
    assert_eq!(err(&mut c, &["SET", "k", "v", "EX", "abc"]), not_int);
    assert_eq!(err(&mut c, &["SET", "k", "v", "PX", "1.5"]), not_int);
    assert_eq!(err(&mut c, &["SET", "k", "v", "EX", "99999999999999999999"]), not_int);
    let invalid = "ERR invalid expire time in 'set' command";
    for (opt, v) in [
        ("EX", "0"),
        ("EX", "-1"),
        ("PX", "0"),
        ("EXAT", "0"),
        ("PXAT", "-5"),
        ("EX", "9223372036854775807"),
        ("EX", "9223372036854776"),
        ("PX", "9223372036854775807"),
    ] {
        assert_eq!(err(&mut c, &["SET", "k", "v", opt, v]), invalid, "{opt} {v}");
    }
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "k"]), 0, "failed SETs store nothing");
}

#[test]
fn setnx_setex_getset_getdel_getex() {
    let s = Server::with_shards(2);
    let mut c = s.client();
    assert_eq!(q::<i64>(&mut c, &["SETNX", "k", "a"]), 1);
    assert_eq!(q::<i64>(&mut c, &["SETNX", "k", "b"]), 0);
    assert_eq!(q::<String>(&mut c, &["GET", "k"]), "a");

    assert_eq!(q::<String>(&mut c, &["SETEX", "k", "100", "v"]), "OK");
    assert_eq!(ttl(&mut c, "k"), 100);
    assert_eq!(q::<String>(&mut c, &["PSETEX", "k", "100000", "v"]), "OK");
    assert_eq!(ttl(&mut c, "k"), 100);
    for (cmd, t) in [("SETEX", "0"), ("SETEX", "-1"), ("PSETEX", "0"), ("SETEX", "9223372036854775807")] {
        let name = cmd.to_lowercase();
        assert_eq!(err(&mut c, &[cmd, "k", t, "v"]), format!("ERR invalid expire time in '{name}' command"));
    }
    assert_eq!(err(&mut c, &["SETEX", "k", "abc", "v"]), "ERR value is not an integer or out of range");
    assert_eq!(err(&mut c, &["PSETEX", "k", "1.5", "v"]), "ERR value is not an integer or out of range");

    // GETSET drops the TTL.
    assert_eq!(q::<String>(&mut c, &["GETSET", "k", "w"]), "v");
    assert_eq!(ttl(&mut c, "k"), -1);
    assert_eq!(q::<Option<String>>(&mut c, &["GETSET", "fresh", "x"]), None);
    assert_eq!(q::<String>(&mut c, &["GET", "fresh"]), "x");

    assert_eq!(q::<String>(&mut c, &["GETDEL", "fresh"]), "x");
    assert_eq!(q::<Option<String>>(&mut c, &["GETDEL", "fresh"]), None);

    // GETEX: every option.
    assert_eq!(q::<String>(&mut c, &["GETEX", "k"]), "w");
    assert_eq!(ttl(&mut c, "k"), -1);
    assert_eq!(q::<String>(&mut c, &["GETEX", "k", "EX", "100"]), "w");
    assert_eq!(ttl(&mut c, "k"), 100);
    assert_eq!(q::<String>(&mut c, &["GETEX", "k", "PERSIST"]), "w");
    assert_eq!(ttl(&mut c, "k"), -1);
    assert_eq!(q::<String>(&mut c, &["GETEX", "k", "PX", "200000"]), "w");
    assert_eq!(ttl(&mut c, "k"), 200);
    let now: u64 = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    assert_eq!(q::<String>(&mut c, &["GETEX", "k", "EXAT", &(now + 300).to_string()]), "w");
    assert!((299..=300).contains(&ttl(&mut c, "k")));
    assert_eq!(q::<String>(&mut c, &["GETEX", "k", "PXAT", &((now + 400) * 1000).to_string()]), "w");
    assert!((399..=400).contains(&ttl(&mut c, "k")));
    assert_eq!(q::<String>(&mut c, &["GETEX", "k", "PERSIST", "PERSIST"]), "w");
    assert_eq!(q::<String>(&mut c, &["GETEX", "k", "EX", "abc", "EX", "50"]), "w");
    assert_eq!(ttl(&mut c, "k"), 50);
    for bad in [
        &["GETEX", "k", "KEEPTTL"][..],
        &["GETEX", "k", "GET"],
        &["GETEX", "k", "NX"],
        &["GETEX", "k", "EX"],
        &["GETEX", "k", "EX", "10", "PX", "10"],
        &["GETEX", "k", "PERSIST", "EX", "10"],
        &["GETEX", "k", "EX", "10", "PERSIST"],
        &["GETEX", "nokey", "FOO"],
    ] {
        assert_eq!(err(&mut c, bad), "ERR syntax error", "{bad:?}");
    }
    assert_eq!(err(&mut c, &["GETEX", "k", "EX", "abc"]), "ERR value is not an integer or out of range");
    assert_eq!(err(&mut c, &["GETEX", "k", "EX", "0"]), "ERR invalid expire time in 'getex' command");
    // A missing key answers nil before the expiry value is looked at.
    assert_eq!(q::<Option<String>>(&mut c, &["GETEX", "nokey", "EX", "abc"]), None);
    assert_eq!(q::<Option<String>>(&mut c, &["GETEX", "nokey"]), None);
    // A past absolute time answers the value and deletes the key.
    assert_eq!(q::<String>(&mut c, &["GETEX", "k", "PXAT", "1"]), "w");
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "k"]), 0);
}

#[test]
fn counters() {
    let s = Server::with_shards(2);
    let mut c = s.client();
    assert_eq!(q::<i64>(&mut c, &["INCR", "n"]), 1);
    assert_eq!(q::<i64>(&mut c, &["INCRBY", "n", "10"]), 11);
    assert_eq!(q::<i64>(&mut c, &["DECR", "n"]), 10);
    assert_eq!(q::<i64>(&mut c, &["DECRBY", "n", "-5"]), 15);
    assert_eq!(q::<i64>(&mut c, &["DECR", "fresh"]), -1);
    assert_eq!(q::<String>(&mut c, &["GET", "n"]), "15");
    // The TTL survives.
    assert_eq!(q::<i64>(&mut c, &["EXPIRE", "n", "100"]), 1);
    assert_eq!(q::<i64>(&mut c, &["INCR", "n"]), 16);
    assert_eq!(ttl(&mut c, "n"), 100);

    let not_int = "ERR value is not an integer or out of range";
    assert_eq!(err(&mut c, &["INCRBY", "n", "abc"]), not_int);
    assert_eq!(err(&mut c, &["INCRBY", "n", "1.5"]), not_int);
    assert_eq!(err(&mut c, &["DECRBY", "n", "99999999999999999999"]), not_int);
    assert_eq!(err(&mut c, &["DECRBY", "n", "-9223372036854775808"]), "ERR decrement would overflow");
    for v in ["hello", " 1", "+1", "01", "-0", "1.0", ""] {
        assert_eq!(q::<String>(&mut c, &["SET", "s", v]), "OK");
        assert_eq!(err(&mut c, &["INCR", "s"]), not_int, "{v:?}");
    }
    let overflow = "ERR increment or decrement would overflow";
    assert_eq!(q::<String>(&mut c, &["SET", "big", "9223372036854775807"]), "OK");
    assert_eq!(err(&mut c, &["INCR", "big"]), overflow);
    assert_eq!(q::<String>(&mut c, &["SET", "small", "-9223372036854775808"]), "OK");
    assert_eq!(err(&mut c, &["DECR", "small"]), overflow);
    assert_eq!(err(&mut c, &["INCRBY", "small", "-1"]), overflow);
    assert_eq!(q::<i64>(&mut c, &["INCRBY", "small", "9223372036854775807"]), -1);
}

#[test]
fn incrbyfloat_formats_as_redis() {
    let s = Server::with_shards(2);
    let mut c = s.client();
    let cases: &[(&str, &str, &str)] = &[
        ("10.5", "0.1", "10.6"),
        ("0.1", "0.2", "0.3"),
        ("0", "5.0e3", "5000"),
        ("3.0e3", "2.0e3", "5000"),
        ("0.3", "-0.1", "0.2"),
        ("0", "1e-20", "0"),
        ("0", "-1e-20", "0"),
        ("0", "1.5e20", "150000000000000000000"),
        ("5", "-5", "0"),
        ("0", "3.14159265358979323846", "3.14159265358979324"),
        ("0", "123456789.123456789", "123456789.12345678899873747"),
        ("0", "0x10", "16"),
        ("0", "+3", "3"),
        ("0", ".5", "0.5"),
        ("0", "1.", "1"),
        ("42", "0.5", "42.5"),
    ];
    for (start, by, want) in cases {
        assert_eq!(q::<String>(&mut c, &["SET", "f", start]), "OK");
        assert_eq!(q::<String>(&mut c, &["INCRBYFLOAT", "f", by]), *want, "{start} + {by}");
        assert_eq!(q::<String>(&mut c, &["GET", "f"]), *want);
    }
    assert_eq!(q::<String>(&mut c, &["INCRBYFLOAT", "new", "2.5"]), "2.5");
    assert_eq!(q::<String>(&mut c, &["INCRBYFLOAT", "new", "2.5"]), "5");
    // The result is stored as a string, as Redis does (not int-encoded).
    assert_eq!(q::<String>(&mut c, &["OBJECT", "ENCODING", "new"]), "embstr");
    // Beyond f64: long double range.
    let big: String = q(&mut c, &["INCRBYFLOAT", "huge", "1e400"]);
    assert_eq!(big.len(), 401);
    assert!(big.starts_with("1000000000000000000028188068394758651458"), "{big}");

    let not_float = "ERR value is not a valid float";
    for bad in ["abc", " 1", "1 ", "nan", "1e", "0x", "infin", "1e-5000", "1e5000", ""] {
        assert_eq!(err(&mut c, &["INCRBYFLOAT", "f", bad]), not_float, "{bad:?}");
    }
    assert_eq!(q::<String>(&mut c, &["SET", "s", "hello"]), "OK");
    assert_eq!(err(&mut c, &["INCRBYFLOAT", "s", "1"]), not_float);
    let nan = "ERR increment would produce NaN or Infinity";
    assert_eq!(err(&mut c, &["INCRBYFLOAT", "f", "inf"]), nan);
    assert_eq!(err(&mut c, &["INCRBYFLOAT", "f", "-Infinity"]), nan);
    assert_eq!(q::<String>(&mut c, &["SET", "s", "1e4932"]), "OK");
    assert_eq!(err(&mut c, &["INCRBYFLOAT", "s", "1e4932"]), nan);
}

#[test]
fn append_strlen_ranges() {
    let s = Server::with_shards(2);
    let mut c = s.client();
    assert_eq!(q::<i64>(&mut c, &["APPEND", "a", "hello"]), 5);
    assert_eq!(q::<i64>(&mut c, &["APPEND", "a", " world"]), 11);
    assert_eq!(q::<String>(&mut c, &["GET", "a"]), "hello world");
    assert_eq!(q::<i64>(&mut c, &["STRLEN", "a"]), 11);
    assert_eq!(q::<i64>(&mut c, &["STRLEN", "nokey"]), 0);
    assert_eq!(q::<String>(&mut c, &["SET", "n", "-12345"]), "OK");
    assert_eq!(q::<i64>(&mut c, &["STRLEN", "n"]), 6);
    assert_eq!(q::<i64>(&mut c, &["APPEND", "n", "6"]), 7);
    assert_eq!(q::<String>(&mut c, &["GET", "n"]), "-123456");
    // Many appends build the right string (the buffer is grown in place).
    for i in 0..200 {
        q::<i64>(&mut c, &["APPEND", "grow", &format!("{i},")]);
    }
    let want: String = (0..200).map(|i| format!("{i},")).collect();
    assert_eq!(q::<String>(&mut c, &["GET", "grow"]), want);

    let range = |c: &mut redis::Connection, k: &str, a: &str, b: &str| q::<String>(c, &["GETRANGE", k, a, b]);
    for (a, b, want) in [
        ("0", "4", "hello"),
        ("-5", "-1", "world"),
        ("0", "-1", "hello world"),
        ("-1", "-5", ""),
        ("5", "3", ""),
        ("0", "1000", "hello world"),
        ("-1000", "1000", "hello world"),
        ("-1000", "-1000", "h"),
        ("1000", "2000", ""),
        ("-3", "-3", "r"),
        ("9223372036854775807", "9223372036854775807", ""),
        ("-9223372036854775808", "-9223372036854775808", "h"),
    ] {
        assert_eq!(range(&mut c, "a", a, b), want, "GETRANGE a {a} {b}");
    }
    assert_eq!(range(&mut c, "nokey", "0", "-1"), "");
    assert_eq!(range(&mut c, "n", "1", "3"), "123");
    assert_eq!(q::<String>(&mut c, &["SET", "e", ""]), "OK");
    assert_eq!(range(&mut c, "e", "0", "-1"), "");
    assert_eq!(err(&mut c, &["GETRANGE", "a", "x", "1"]), "ERR value is not an integer or out of range");
    assert_eq!(err(&mut c, &["GETRANGE", "a", "0", "1.5"]), "ERR value is not an integer or out of range");

    // SETRANGE: zero padding, overwrite, empty patch, offsets.
    assert_eq!(q::<i64>(&mut c, &["SETRANGE", "r", "5", "hi"]), 7);
    assert_eq!(q::<Vec<u8>>(&mut c, &["GET", "r"]), b"\0\0\0\0\0hi");
    assert_eq!(q::<i64>(&mut c, &["SETRANGE", "r", "0", "HEY"]), 7);
    assert_eq!(q::<Vec<u8>>(&mut c, &["GET", "r"]), b"HEY\0\0hi");
    assert_eq!(q::<i64>(&mut c, &["SETRANGE", "r", "100", ""]), 7);
    assert_eq!(q::<i64>(&mut c, &["SETRANGE", "none", "3", ""]), 0);
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "none"]), 0);
    assert_eq!(q::<i64>(&mut c, &["SETRANGE", "n", "1", "9"]), 7);
    assert_eq!(q::<String>(&mut c, &["GET", "n"]), "-923456");
    assert_eq!(err(&mut c, &["SETRANGE", "r", "-1", "x"]), "ERR offset is out of range");
    assert_eq!(err(&mut c, &["SETRANGE", "r", "abc", "x"]), "ERR value is not an integer or out of range");
    let too_long = "ERR string exceeds maximum allowed size (proto-max-bulk-len)";
    assert_eq!(err(&mut c, &["SETRANGE", "r", "536870912", "x"]), too_long);
    assert_eq!(err(&mut c, &["SETRANGE", "r", "9223372036854775807", "x"]), too_long);
    // The limit follows proto-max-bulk-len (1 MiB is its minimum), for SETRANGE and APPEND.
    assert_eq!(q::<String>(&mut c, &["CONFIG", "SET", "proto-max-bulk-len", "1048576"]), "OK");
    assert_eq!(q::<i64>(&mut c, &["SETRANGE", "m", "1048575", "x"]), 1048576);
    assert_eq!(err(&mut c, &["SETRANGE", "m", "1048576", "x"]), too_long);
    assert_eq!(err(&mut c, &["APPEND", "m", "y"]), too_long);
    assert_eq!(q::<i64>(&mut c, &["STRLEN", "m"]), 1048576);
}

#[test]
fn wrong_arity() {
    let s = Server::with_shards(1);
    let mut c = s.client();
    let cases: &[&[&str]] = &[
        &["GET"],
        &["GET", "a", "b"],
        &["SET", "k"],
        &["SETNX", "k"],
        &["SETNX", "k", "v", "x"],
        &["SETEX", "k", "10"],
        &["PSETEX", "k", "10"],
        &["MGET"],
        &["MSET"],
        &["MSET", "a"],
        &["MSET", "a", "1", "b"],
        &["MSETNX", "a"],
        &["MSETNX", "a", "1", "b"],
        &["GETSET", "k"],
        &["GETDEL"],
        &["GETDEL", "a", "b"],
        &["GETEX"],
        &["INCR"],
        &["INCR", "a", "b"],
        &["DECR"],
        &["INCRBY", "a"],
        &["DECRBY", "a"],
        &["INCRBYFLOAT", "a"],
        &["INCRBYFLOAT", "a", "1", "2"],
        &["APPEND", "a"],
        &["STRLEN"],
        &["GETRANGE", "a", "0"],
        &["SETRANGE", "a", "0"],
    ];
    for args in cases {
        let name = args[0].to_lowercase();
        assert_eq!(err(&mut c, args), format!("ERR wrong number of arguments for '{name}' command"), "{args:?}");
    }
}

#[test]
fn resp3_nulls_raw() {
    let s = Server::with_shards(4);
    let mut r = s.raw();
    r.cmd(&[b"HELLO", b"3"]);
    r.reply();
    r.cmd(&[b"GET", b"nokey"]);
    r.expect(b"_\r\n");
    r.cmd(&[b"SET", b"k", b"v"]);
    r.expect(b"+OK\r\n");
    r.cmd(&[b"SET", b"k", b"w", b"NX"]);
    r.expect(b"_\r\n");
    r.cmd(&[b"SET", b"nk", b"w", b"XX", b"GET"]);
    r.expect(b"_\r\n");
    r.cmd(&[b"SET", b"nk", b"w", b"GET"]);
    r.expect(b"_\r\n");
    r.cmd(&[b"GETSET", b"nk2", b"w"]);
    r.expect(b"_\r\n");
    r.cmd(&[b"GETEX", b"nokey", b"EX", b"10"]);
    r.expect(b"_\r\n");
    r.cmd(&[b"GETDEL", b"nokey"]);
    r.expect(b"_\r\n");
    // Keys on several shards: the cross-shard MGET path writes the same nulls.
    let keys = spread_keys("r3:", 12, 4);
    r.cmd(&[b"SET", keys[0].as_bytes(), b"v0"]);
    r.expect(b"+OK\r\n");
    let mut args: Vec<&[u8]> = vec![b"MGET"];
    args.extend(keys.iter().map(|k| k.as_bytes()));
    r.cmd(&args);
    let mut want = format!("*{}\r\n$2\r\nv0\r\n", keys.len()).into_bytes();
    for _ in 1..keys.len() {
        want.extend_from_slice(b"_\r\n");
    }
    r.expect(&want);
    r.cmd(&[b"INCRBYFLOAT", b"f", b"1.5"]);
    r.expect(b"$3\r\n1.5\r\n");
    // RESP2 after HELLO 2.
    r.cmd(&[b"HELLO", b"2"]);
    r.reply();
    r.cmd(&[b"GET", b"nokey"]);
    r.expect(b"$-1\r\n");
    r.cmd(&[b"MGET", b"nokey", b"k"]);
    r.expect(b"*2\r\n$-1\r\n$1\r\nv\r\n");
}

#[test]
fn object_encoding() {
    let s = Server::with_shards(2);
    let mut c = s.client();
    let long44 = "a".repeat(44);
    let long45 = "a".repeat(45);
    for (v, enc) in [
        ("12345", "int"),
        ("-9223372036854775808", "int"),
        ("9223372036854775808", "embstr"),
        ("0123", "embstr"),
        ("-0", "embstr"),
        ("hello", "embstr"),
        (long44.as_str(), "embstr"),
        (long45.as_str(), "raw"),
    ] {
        assert_eq!(q::<String>(&mut c, &["SET", "e", v]), "OK");
        assert_eq!(q::<String>(&mut c, &["OBJECT", "ENCODING", "e"]), enc, "{v}");
    }
    assert_eq!(q::<i64>(&mut c, &["INCR", "i"]), 1);
    assert_eq!(q::<String>(&mut c, &["OBJECT", "ENCODING", "i"]), "int");
    assert_eq!(q::<i64>(&mut c, &["APPEND", "ap", "123"]), 3);
    assert_eq!(q::<String>(&mut c, &["OBJECT", "ENCODING", "ap"]), "int");
    assert_eq!(q::<i64>(&mut c, &["APPEND", "ap", &long45]), 48);
    assert_eq!(q::<String>(&mut c, &["OBJECT", "ENCODING", "ap"]), "raw");
    assert_eq!(q::<String>(&mut c, &["MSET", "m1", "7", "m2", "x"]), "OK");
    assert_eq!(q::<String>(&mut c, &["OBJECT", "ENCODING", "m1"]), "int");
    assert_eq!(q::<String>(&mut c, &["OBJECT", "ENCODING", "m2"]), "embstr");
    // What APPEND and SETRANGE build is "raw" whatever its length (redis-server 7.0 answers the same); a new key
    // APPEND creates is stored as SET would store it.
    for (setup, key) in [
        (&["SET", "r1", "x"][..], "r1"),
        (&["APPEND", "r1", "y"][..], "r1"),
        (&["SET", "r2", "12"][..], "r2"),
        (&["APPEND", "r2", "3"][..], "r2"),
        (&["SETRANGE", "r3", "0", "hi"][..], "r3"),
        (&["SET", "r4", "1"][..], "r4"),
        (&["SETRANGE", "r4", "0", "2"][..], "r4"),
    ] {
        let _: redis::Value = q(&mut c, setup);
        let want = if setup[0] == "SET" {
            if key == "r1" {
                "embstr"
            } else {
                "int"
            }
        } else {
            "raw"
        };
        assert_eq!(q::<String>(&mut c, &["OBJECT", "ENCODING", key]), want, "{setup:?}");
    }
    assert_eq!(q::<i64>(&mut c, &["APPEND", "r5", "hello"]), 5);
    assert_eq!(q::<String>(&mut c, &["OBJECT", "ENCODING", "r5"]), "embstr");
    assert_eq!(q::<String>(&mut c, &["INCRBYFLOAT", "r6", "1.5"]), "1.5");
    assert_eq!(q::<String>(&mut c, &["OBJECT", "ENCODING", "r6"]), "embstr");
}

/// Writers MSET a set of keys spread over all shards to one generation value while readers MGET them: a reader
/// must see one generation for all keys (or none at all before the first write), never a mix.
#[test]
fn mset_mget_atomic_across_shards() {
    const ITERATIONS: usize = 2000;
    let s = Server::with_shards(4);
    let keys = spread_keys("gen:", 12, 4);
    let mut threads = Vec::new();
    for w in 0..3 {
        let mut c = s.client();
        let keys = keys.clone();
        threads.push(std::thread::spawn(move || {
            for i in 0..ITERATIONS {
                let generation = format!("{w}-{i}");
                let mut cmd = redis::cmd("MSET");
                for k in &keys {
                    cmd.arg(k).arg(&generation);
                }
                let ok: String = cmd.query(&mut c).expect("MSET");
                assert_eq!(ok, "OK");
            }
        }));
    }
    for _ in 0..3 {
        let mut c = s.client();
        let keys = keys.clone();
        threads.push(std::thread::spawn(move || {
            for _ in 0..ITERATIONS {
                let got: Vec<Option<String>> = redis::cmd("MGET").arg(&keys).query(&mut c).expect("MGET");
                assert_eq!(got.len(), keys.len());
                assert!(got.iter().all(|v| *v == got[0]), "mixed generations: {got:?}");
            }
        }));
    }
    for t in threads {
        t.join().expect("no thread saw a torn MSET");
    }
}

#[test]
fn msetnx_across_shards_is_all_or_nothing() {
    for shards in [1, 4] {
        let s = Server::with_shards(shards);
        let mut c = s.client();
        let keys = spread_keys("nx:", 12, 4);
        assert_eq!(q::<String>(&mut c, &["SET", &keys[5], "taken"]), "OK");
        let mut args = vec!["MSETNX"];
        for k in &keys {
            args.extend([k.as_str(), "new"]);
        }
        assert_eq!(q::<i64>(&mut c, &args), 0);
        let mut mget = vec!["MGET"];
        mget.extend(keys.iter().map(String::as_str));
        let got: Vec<Option<String>> = q(&mut c, &mget);
        for (i, v) in got.iter().enumerate() {
            assert_eq!(v.as_deref(), if i == 5 { Some("taken") } else { None }, "shards {shards} key {i}");
        }
        assert_eq!(q::<i64>(&mut c, &["DEL", &keys[5]]), 1);
        assert_eq!(q::<i64>(&mut c, &args), 1);
        let got: Vec<Option<String>> = q(&mut c, &mget);
        assert!(got.iter().all(|v| v.as_deref() == Some("new")), "shards {shards}: {got:?}");
        // A repeated key in one MSETNX: the last value wins.
        assert_eq!(q::<i64>(&mut c, &["MSETNX", "dup", "1", "dup", "2"]), 1);
        assert_eq!(q::<String>(&mut c, &["GET", "dup"]), "2");
    }
}

/// The same script on one shard and on four gives byte-identical replies.
#[test]
fn multi_key_replies_same_on_1_and_4_shards() {
    let keys = spread_keys("same:", 12, 4);
    let k: Vec<&[u8]> = keys.iter().map(|k| k.as_bytes()).collect();
    let script: Vec<Vec<&[u8]>> = vec![
        vec![b"MSET", k[0], b"1", k[1], b"two", k[2], b"3", k[0], b"one"],
        vec![b"MGET", k[0], k[1], k[2], k[3], k[0], k[4]],
        vec![b"MSETNX", k[3], b"x", k[2], b"y"],
        vec![b"MSETNX", k[3], b"x", k[4], b"y", k[5], b"z"],
        vec![b"MGET", k[5], k[4], k[3], k[2], k[1], k[0], k[6], k[7], k[8], k[9], k[10], k[11]],
        vec![b"MSET", k[0], b"1", k[1]],
        vec![b"MSETNX", k[0]],
        vec![b"MGET"],
        vec![b"INCR", k[0]],
        vec![b"MGET", k[0]],
    ];
    let run = |shards: usize| -> Vec<Vec<u8>> {
        let s = Server::with_shards(shards);
        let mut r = s.raw();
        script
            .iter()
            .map(|cmd| {
                r.cmd(cmd);
                r.reply()
            })
            .collect()
    };
    let one = run(1);
    let four = run(4);
    for (i, (a, b)) in one.iter().zip(&four).enumerate() {
        assert_eq!(String::from_utf8_lossy(a), String::from_utf8_lossy(b), "command {i}");
    }
    assert_eq!(
        String::from_utf8_lossy(&one[1]),
        "*6\r\n$3\r\none\r\n$3\r\ntwo\r\n$1\r\n3\r\n$-1\r\n$3\r\none\r\n$-1\r\n"
    );
    assert_eq!(one[3], b":1\r\n");
}

#[test]
fn keyspace_hits_and_misses() {
    let s = Server::with_shards(2);
    let mut c = s.client();
    q::<String>(&mut c, &["SET", "k", "v"]);
    q::<Value>(&mut c, &["GET", "k"]);
    q::<Value>(&mut c, &["GET", "nokey"]);
    q::<Value>(&mut c, &["MGET", "k", "nokey", "nokey2"]);
    let info: String = q(&mut c, &["INFO", "stats"]);
    let field = |name: &str| -> i64 {
        info.lines().find_map(|l| l.strip_prefix(&format!("{name}:"))).and_then(|v| v.trim().parse().ok()).unwrap()
    };
    assert_eq!(field("keyspace_hits"), 2);
    assert_eq!(field("keyspace_misses"), 3);
}

/// Keys of up to 22 bytes and string values of up to 38 live inline; longer ones in allocations of their own. Every
/// operation reads back the same bytes on both sides of those boundaries, including a value that APPEND and
/// SETRANGE grow across one, and keys that SCAN, KEYS, RANDOMKEY and RENAME hand back.
#[test]
fn values_and_keys_at_the_inline_boundaries() {
    let s = Server::with_shards(1);
    let mut c = s.client();
    let key = |n: usize| "k".repeat(n);
    let val = |n: usize| (0..n).map(|i| (b'a' + (i % 26) as u8) as char).collect::<String>();
    for n in [0usize, 1, 21, 22, 23, 24, 64] {
        for m in [0usize, 1, 37, 38, 39, 40, 100] {
            let _: () = q(&mut c, &["SET", &key(n), &val(m)]);
            assert_eq!(q::<String>(&mut c, &["GET", &key(n)]), val(m), "key {n} value {m}");
            assert_eq!(q::<usize>(&mut c, &["STRLEN", &key(n)]), m);
        }
    }
    let mut keys: Vec<String> = q(&mut c, &["KEYS", "*"]);
    keys.sort();
    let mut want: Vec<String> = [0usize, 1, 21, 22, 23, 24, 64].iter().map(|&n| key(n)).collect();
    want.sort();
    assert_eq!(keys, want);
    let (_, mut scanned): (u64, Vec<String>) = q(&mut c, &["SCAN", "0", "COUNT", "100"]);
    scanned.sort();
    assert_eq!(scanned, want);
    let _: () = q(&mut c, &["FLUSHALL"]);
    let _: () = q(&mut c, &["SET", &key(23), "x"]);
    assert_eq!(q::<String>(&mut c, &["RANDOMKEY"]), key(23));
    let _: () = q(&mut c, &["RENAME", &key(23), &key(22)]);
    let _: () = q(&mut c, &["RENAME", &key(22), &key(30)]);
    assert_eq!(q::<String>(&mut c, &["GET", &key(30)]), "x");

    // Grow across the value boundary with APPEND, then patch either side of it with SETRANGE.
    let mut model = String::new();
    for i in 0..45 {
        let piece = ((b'A' + (i % 26) as u8) as char).to_string();
        model.push_str(&piece);
        assert_eq!(q::<usize>(&mut c, &["APPEND", "grow", &piece]), model.len());
        assert_eq!(q::<String>(&mut c, &["GET", "grow"]), model);
    }
    assert_eq!(q::<usize>(&mut c, &["SETRANGE", "grow", "36", "xyz"]), 45);
    model.replace_range(36..39, "xyz");
    assert_eq!(q::<String>(&mut c, &["GET", "grow"]), model);
    assert_eq!(q::<String>(&mut c, &["GETRANGE", "grow", "35", "40"]), &model[35..=40]);
    assert_eq!(q::<usize>(&mut c, &["SETRANGE", "short", "37", "!"]), 38);
    assert_eq!(q::<String>(&mut c, &["GET", "short"]), format!("{}!", "\0".repeat(37)));
}
