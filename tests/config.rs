//! Configuration end to end: directives given on the command line, and CONFIG SET reaching the settings the data
//! path reads without the configuration lock (`hz`, `maxclients`, `timeout`, the bulk and query-buffer limits).
mod common;
use common::*;
use std::time::Duration;

fn info_field(c: &mut redis::Connection, name: &str) -> String {
    let info: String = q(c, &["INFO", "server"]);
    info.lines().find_map(|l| l.strip_prefix(name).and_then(|r| r.strip_prefix(':'))).expect(name).to_string()
}

/// Every directive works as `--name value`, and the live copies start from the loaded configuration.
#[test]
fn command_line_directives() {
    let s = Server::start(&["--maxmemory", "2mb", "--save", "60 1", "--hz", "1000", "--Hash-Max-Ziplist-Entries", "7"]);
    let mut c = s.client();
    assert_eq!(q::<Vec<String>>(&mut c, &["CONFIG", "GET", "maxmemory"]), ["maxmemory", "2097152"]);
    assert_eq!(q::<Vec<String>>(&mut c, &["CONFIG", "GET", "save"]), ["save", "60 1"]);
    assert_eq!(q::<Vec<String>>(&mut c, &["CONFIG", "GET", "hz"]), ["hz", "500"]);
    assert_eq!(
        q::<Vec<String>>(&mut c, &["CONFIG", "GET", "hash-max-listpack-entries"]),
        ["hash-max-listpack-entries", "7"]
    );
    assert_eq!(info_field(&mut c, "hz"), "500");
}

/// CONFIG SET changes what connections and shard timers act on at once.
#[test]
fn config_set_reaches_the_live_settings() {
    let s = Server::start(&["--shards", "2"]);
    let mut c = s.client();
    assert_eq!(q::<String>(&mut c, &["CONFIG", "SET", "hz", "1000"]), "OK");
    assert_eq!(info_field(&mut c, "hz"), "500");
    assert_eq!(info_field(&mut c, "configured_hz"), "500");

    assert_eq!(q::<String>(&mut c, &["CONFIG", "SET", "maxclients", "1"]), "OK");
    let mut extra = s.raw();
    extra.expect(b"-ERR max number of clients reached\r\n");
    assert!(extra.closed());
    assert_eq!(q::<String>(&mut c, &["CONFIG", "SET", "maxclients", "10000"]), "OK");
    let mut next = s.raw();
    next.cmd(&[b"PING"]);
    next.expect(b"+PONG\r\n");

    // A bulk longer than proto-max-bulk-len is a protocol error.
    assert_eq!(q::<String>(&mut c, &["CONFIG", "SET", "proto-max-bulk-len", "1mb"]), "OK");
    next.send(b"*2\r\n$4\r\nECHO\r\n$1048577\r\n");
    next.expect(b"-ERR Protocol error: invalid bulk length\r\n");

    // An idle client is closed once `timeout` is set.
    let mut idle = s.raw();
    idle.cmd(&[b"PING"]);
    idle.expect(b"+PONG\r\n");
    idle.s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    assert_eq!(q::<String>(&mut c, &["CONFIG", "SET", "timeout", "1"]), "OK");
    assert!(idle.closed(), "an idle client outlived the timeout set by CONFIG SET");
}
