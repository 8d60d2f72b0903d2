//! Helpers shared by the stream tests: expected replies as the `redis` crate and as raw RESP see them, raw
//! connections that check replies byte for byte, and the switches for running against redis-server 7.0.

use super::{against_redis, bulk, Raw, Server};
use redis::Value;

/// Redis 7.4's answer, or Redis 7.0's when the tests run against /usr/bin/redis-server (7.0).
pub fn v74<T>(redis74: T, redis70: T) -> T {
    if against_redis() {
        redis70
    } else {
        redis74
    }
}

/// True, after saying why, when the test checks behaviour added after Redis 7.0 and runs against it.
pub fn newer_than_redis70(what: &str) -> bool {
    if against_redis() {
        eprintln!("skipped against redis-server 7.0: {what}");
    }
    against_redis()
}

/// An entry as the `redis` crate sees it: `[id, [field, value, ...]]`.
pub fn entry(id: &str, fields: &[&str]) -> Value {
    Value::Array(vec![bulk(id), Value::Array(fields.iter().map(|f| bulk(f)).collect())])
}

/// The RESP2 reply of XREAD: `[[key, [entry, ...]], ...]`.
pub fn read_reply(streams: Vec<(&str, Vec<Value>)>) -> Value {
    Value::Array(streams.into_iter().map(|(k, es)| Value::Array(vec![bulk(k), Value::Array(es)])).collect())
}

/// A bulk string in RESP.
pub fn rb(s: &str) -> String {
    format!("${}\r\n{s}\r\n", s.len())
}

/// An entry in RESP.
pub fn re(id: &str, fields: &[&str]) -> String {
    let mut out = format!("*2\r\n{}*{}\r\n", rb(id), fields.len());
    for f in fields {
        out += &rb(f);
    }
    out
}

/// An array in RESP.
pub fn ra<S: AsRef<str>>(items: &[S]) -> String {
    format!("*{}\r\n{}", items.len(), items.iter().map(|i| i.as_ref()).collect::<String>())
}

pub fn send(raw: &mut Raw, args: &[&str]) {
    let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
    raw.cmd(&args);
}

/// Sends a command on a raw connection and asserts its reply byte for byte.
pub fn check(raw: &mut Raw, args: &[&str], want: &str) {
    send(raw, args);
    let got = raw.reply();
    assert_eq!(String::from_utf8_lossy(&got), want, "{args:?}");
}

pub fn resp3(s: &Server) -> Raw {
    let mut raw = s.raw();
    send(&mut raw, &["HELLO", "3"]);
    raw.reply();
    raw
}
