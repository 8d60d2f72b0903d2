//! Stream consumer groups against the real server: XGROUP (CREATE, SETID, DESTROY, CREATECONSUMER, DELCONSUMER),
//! XREADGROUP (new entries, history, NOACK, deleted entries), XACK, XPENDING, XCLAIM, XAUTOCLAIM, XINFO, blocking
//! XREADGROUP (wakes across shards, FIFO, errors when the key or the group goes away), groups travelling with
//! COPY and RENAME, a crash-recovery flow and a many-thread run. Replies are compared through the `redis` crate and
//! byte for byte in RESP2 and RESP3; a client is known to be blocked by polling INFO clients, never by sleeping.
//!
//! The expectations are Redis 7.4's. `RILL_TEST_AGAINST_REDIS=1` runs the same tests against /usr/bin/redis-server
//! (7.0 here): where 7.4 answers differently the test says so through `v74(new, old)`, and tests of behaviour 7.0
//! does not have skip themselves there (`newer_than_redis70`).

mod common;
use common::streams::*;
use common::*;
use redis::Value;
use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";
const INVALID_ID: &str = "ERR Invalid stream ID specified as stream command argument";
const NEEDS_KEY: &str = "ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to \
                         use the MKSTREAM option to create an empty stream automatically.";

/// The text of XREADGROUP's NOGROUP error.
fn nogroup_read(key: &str, group: &str) -> String {
    format!("NOGROUP No such key '{key}' or consumer group '{group}' in XREADGROUP with GROUP option")
}

/// The text of XPENDING's, XCLAIM's and XAUTOCLAIM's NOGROUP error.
fn nogroup(key: &str, group: &str) -> String {
    format!("NOGROUP No such key '{key}' or consumer group '{group}'")
}

/// The text of XGROUP's and XINFO CONSUMERS' NOGROUP error.
fn nogroup_for_key(group: &str, key: &str) -> String {
    format!("NOGROUP No such consumer group '{group}' for key name '{key}'")
}

/// Entries `id` with the single field `f` set to `v`.
fn fv(ids: &[&str]) -> Vec<Value> {
    ids.iter().map(|id| entry(id, &["f", "v"])).collect()
}

fn xadd(c: &mut redis::Connection, key: &str, id: &str) -> String {
    q(c, &["XADD", key, id, "f", "v"])
}

fn int(c: &mut redis::Connection, args: &[&str]) -> i64 {
    q(c, args)
}

fn ok(c: &mut redis::Connection, args: &[&str]) {
    assert_eq!(q::<Value>(c, args), Value::Okay, "{args:?}");
}

fn val(c: &mut redis::Connection, args: &[&str]) -> Value {
    q(c, args)
}

/// XPENDING's extended form: (id, consumer, idle ms, deliveries) per entry.
fn pending(c: &mut redis::Connection, args: &[&str]) -> Vec<(String, String, i64, i64)> {
    q(c, args)
}

/// (id, consumer, deliveries) per pending entry of the group, the idle time left out.
fn pel(c: &mut redis::Connection, key: &str, group: &str) -> Vec<(String, String, i64)> {
    pending(c, &["XPENDING", key, group, "-", "+", "1000"]).into_iter().map(|(id, who, _, n)| (id, who, n)).collect()
}

fn owned(pel: &[(&str, &str, i64)]) -> Vec<(String, String, i64)> {
    pel.iter().map(|(id, who, n)| (id.to_string(), who.to_string(), *n)).collect()
}

/// The server's clock in milliseconds (TIME).
fn server_ms(c: &mut redis::Connection) -> i64 {
    let t: Vec<i64> = q(c, &["TIME"]);
    t[0] * 1000 + t[1] / 1000
}

fn text(v: &Value) -> String {
    match v {
        Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
        Value::SimpleString(s) => s.clone(),
        other => panic!("not a string: {other:?}"),
    }
}

/// The field/value pairs of an XINFO reply: a flat array in RESP2, a map in RESP3.
fn pairs(v: Value) -> Vec<(String, Value)> {
    match v {
        Value::Map(m) => m.into_iter().map(|(k, v)| (text(&k), v)).collect(),
        Value::Array(a) => {
            assert!(a.len() % 2 == 0, "odd XINFO reply {a:?}");
            a.chunks(2).map(|kv| (text(&kv[0]), kv[1].clone())).collect()
        }
        other => panic!("not an XINFO reply: {other:?}"),
    }
}

fn names(p: &[(String, Value)]) -> Vec<&str> {
    p.iter().map(|(k, _)| k.as_str()).collect()
}

fn get<'a>(p: &'a [(String, Value)], field: &str) -> &'a Value {
    &p.iter().find(|(k, _)| k == field).unwrap_or_else(|| panic!("no {field} in {p:?}")).1
}

fn get_int(p: &[(String, Value)], field: &str) -> i64 {
    match get(p, field) {
        Value::Int(n) => *n,
        other => panic!("{field} is {other:?}"),
    }
}

fn list(v: &Value) -> &[Value] {
    match v {
        Value::Array(a) => a,
        other => panic!("not an array: {other:?}"),
    }
}

/// `name=pending` for each consumer of the group, as XINFO CONSUMERS lists them.
fn consumer_pending(c: &mut redis::Connection, key: &str, group: &str) -> Vec<String> {
    let v = val(c, &["XINFO", "CONSUMERS", key, group]);
    list(&v)
        .iter()
        .map(|p| {
            let p = pairs(p.clone());
            format!("{}={}", text(get(&p, "name")), get_int(&p, "pending"))
        })
        .collect()
}

/// XINFO GROUPS as one field list per group.
fn groups(c: &mut redis::Connection, key: &str) -> Vec<Vec<(String, Value)>> {
    let v = val(c, &["XINFO", "GROUPS", key]);
    list(&v).iter().cloned().map(pairs).collect()
}

/// (entries-read, lag) of one group, as XINFO GROUPS shows them (Nil where Redis has no answer).
fn read_and_lag(c: &mut redis::Connection, key: &str, group: &str) -> (Value, Value) {
    let gs = groups(c, key);
    let g = gs.iter().find(|g| *get(g, "name") == bulk(group)).unwrap_or_else(|| panic!("no group {group}"));
    (get(g, "entries-read").clone(), get(g, "lag").clone())
}

#[test]
fn xgroup_create_variants_and_errors() {
    let s = Server::with_shards(1);
    let mut c = s.client();
    assert_eq!(err(&mut c, &["XGROUP", "CREATE", "s", "g", "$"]), NEEDS_KEY);
    assert_eq!(int(&mut c, &["EXISTS", "s"]), 0);
    ok(&mut c, &["XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"]);
    assert_eq!(q::<String>(&mut c, &["TYPE", "s"]), "stream");
    assert_eq!(int(&mut c, &["XLEN", "s"]), 0);
    assert_eq!(
        err(&mut c, &["XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"]),
        "BUSYGROUP Consumer Group name already exists"
    );
    assert_eq!(err(&mut c, &["XGROUP", "CREATE", "s", "g", "0"]), "BUSYGROUP Consumer Group name already exists");

    let create = "ERR unknown subcommand or wrong number of arguments for 'CREATE'. Try XGROUP HELP.";
    let errors: &[(&[&str], &str)] = &[
        (
            &["XGROUP", "CREATE", "s", "g2", "0", "ENTRIESREAD", "-3"],
            "ERR value for ENTRIESREAD must be positive or -1",
        ),
        (&["XGROUP", "CREATE", "s", "g2", "0", "ENTRIESREAD", "x"], "ERR value is not an integer or out of range"),
        (&["XGROUP", "CREATE", "s", "g2", "0", "FOO"], create),
        (&["XGROUP", "CREATE", "s", "g2", "x"], INVALID_ID),
        (&["XGROUP", "CREATE", "s", "g2", "-"], INVALID_ID),
        (&["XGROUP", "CREATE", "s", "g2", "+"], INVALID_ID),
        (&["XGROUP", "CREATE", "s"], "ERR wrong number of arguments for 'xgroup|create' command"),
        (&["XGROUP", "FOO", "s", "g"], "ERR unknown subcommand 'FOO'. Try XGROUP HELP."),
    ];
    for (args, want) in errors {
        assert_eq!(err(&mut c, args), *want, "{args:?}");
    }

    // Where a group starts: `$` (the last ID), an explicit ID, or 0.
    for id in ["1-1", "2-1", "3-1"] {
        xadd(&mut c, "s", id);
    }
    ok(&mut c, &["XGROUP", "CREATE", "s", "at-end", "$"]);
    ok(&mut c, &["XGROUP", "CREATE", "s", "at-two", "2-1", "ENTRIESREAD", "2"]);
    ok(&mut c, &["XGROUP", "CREATE", "s", "at-start", "0", "ENTRIESREAD", "-1"]);
    ok(&mut c, &["xgroup", "create", "s", "bare-ms", "2"]);
    assert_eq!(val(&mut c, &["XREADGROUP", "GROUP", "at-end", "c", "STREAMS", "s", ">"]), Value::Nil);
    let v = val(&mut c, &["XREADGROUP", "GROUP", "at-two", "c", "STREAMS", "s", ">"]);
    assert_eq!(v, read_reply(vec![("s", fv(&["3-1"]))]));
    let v = val(&mut c, &["XREADGROUP", "GROUP", "bare-ms", "c", "STREAMS", "s", ">"]);
    assert_eq!(v, read_reply(vec![("s", fv(&["2-1", "3-1"]))]));
    let v = val(&mut c, &["XREADGROUP", "GROUP", "at-start", "c", "STREAMS", "s", ">"]);
    assert_eq!(v, read_reply(vec![("s", fv(&["1-1", "2-1", "3-1"]))]));
    // XINFO GROUPS lists groups by name.
    let listed: Vec<Value> = groups(&mut c, "s").iter().map(|g| get(g, "name").clone()).collect();
    assert_eq!(listed, ["at-end", "at-start", "at-two", "bare-ms", "g"].map(bulk));
    assert_eq!(read_and_lag(&mut c, "s", "g"), (Value::Nil, Value::Int(3)));
}

#[test]
fn xgroup_setid_destroy_createconsumer_delconsumer() {
    let s = Server::with_shards(1);
    let mut c = s.client();
    for id in ["1-0", "2-0", "3-0"] {
        xadd(&mut c, "s", id);
    }
    ok(&mut c, &["XGROUP", "CREATE", "s", "g", "$"]);
    let errors: Vec<(&[&str], String)> = vec![
        (&["XGROUP", "SETID", "s", "nog", "0"], nogroup_for_key("nog", "s")),
        (&["XGROUP", "SETID", "nope", "g", "0"], NEEDS_KEY.into()),
        (
            &["XGROUP", "SETID", "s", "g", "0", "MKSTREAM"],
            "ERR unknown subcommand or wrong number of arguments for 'SETID'. Try XGROUP HELP.".into(),
        ),
        (&["XGROUP", "SETID", "s", "g", "x"], INVALID_ID.into()),
        (&["XGROUP", "CREATECONSUMER", "s", "nog", "alice"], nogroup_for_key("nog", "s")),
        (&["XGROUP", "CREATECONSUMER", "nope", "g", "alice"], NEEDS_KEY.into()),
        (&["XGROUP", "DELCONSUMER", "s", "nog", "alice"], nogroup_for_key("nog", "s")),
        (&["XGROUP", "DESTROY", "nope", "g"], NEEDS_KEY.into()),
    ];
    for (args, want) in &errors {
        assert_eq!(err(&mut c, args), *want, "{args:?}");
    }

    // SETID moves where `>` reads from.
    ok(&mut c, &["XGROUP", "SETID", "s", "g", "1-0"]);
    let v = val(&mut c, &["XREADGROUP", "GROUP", "g", "alice", "COUNT", "1", "STREAMS", "s", ">"]);
    assert_eq!(v, read_reply(vec![("s", fv(&["2-0"]))]));
    // Back to the start: entries already pending are delivered again, to whoever reads them, as new deliveries
    // (their count starts over).
    ok(&mut c, &["XGROUP", "SETID", "s", "g", "0"]);
    let v = val(&mut c, &["XREADGROUP", "GROUP", "g", "bob", "STREAMS", "s", ">"]);
    assert_eq!(v, read_reply(vec![("s", fv(&["1-0", "2-0", "3-0"]))]));
    assert_eq!(pel(&mut c, "s", "g"), owned(&[("1-0", "bob", 1), ("2-0", "bob", 1), ("3-0", "bob", 1)]));
    assert_eq!(pending(&mut c, &["XPENDING", "s", "g", "-", "+", "10", "alice"]), vec![]);
    ok(&mut c, &["XGROUP", "SETID", "s", "g", "$", "ENTRIESREAD", "3"]);
    assert_eq!(read_and_lag(&mut c, "s", "g"), (Value::Int(3), Value::Int(0)));
    // Without ENTRIESREAD the read counter is unknown.
    ok(&mut c, &["XGROUP", "SETID", "s", "g", "2-0"]);
    assert_eq!(read_and_lag(&mut c, "s", "g").0, Value::Nil);

    assert_eq!(int(&mut c, &["XGROUP", "CREATECONSUMER", "s", "g", "carol"]), 1);
    assert_eq!(int(&mut c, &["XGROUP", "CREATECONSUMER", "s", "g", "carol"]), 0);
    assert_eq!(int(&mut c, &["XGROUP", "CREATECONSUMER", "s", "g", "bob"]), 0);
    // DELCONSUMER answers how many entries the consumer had pending, and those leave the PEL.
    assert_eq!(int(&mut c, &["XGROUP", "DELCONSUMER", "s", "g", "nobody"]), 0);
    assert_eq!(int(&mut c, &["XGROUP", "DELCONSUMER", "s", "g", "carol"]), 0);
    assert_eq!(int(&mut c, &["XGROUP", "DELCONSUMER", "s", "g", "bob"]), 3);
    assert_eq!(pel(&mut c, "s", "g"), owned(&[]));
    let consumers = val(&mut c, &["XINFO", "CONSUMERS", "s", "g"]);
    let consumers: Vec<Value> = list(&consumers).iter().map(|p| get(&pairs(p.clone()), "name").clone()).collect();
    assert_eq!(consumers, [bulk("alice")]);

    assert_eq!(int(&mut c, &["XGROUP", "DESTROY", "s", "g"]), 1);
    assert_eq!(int(&mut c, &["XGROUP", "DESTROY", "s", "g"]), 0);
    assert_eq!(err(&mut c, &["XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", ">"]), nogroup_read("s", "g"));
    assert_eq!(groups(&mut c, "s"), Vec::<Vec<(String, Value)>>::new());
}

#[test]
fn xreadgroup_delivers_new_entries_then_history() {
    let s = Server::with_shards(2);
    let mut c = s.client();
    for id in ["1-0", "2-0", "3-0", "4-0"] {
        xadd(&mut c, "s", id);
    }
    ok(&mut c, &["XGROUP", "CREATE", "s", "g", "0"]);
    let read = |c: &mut redis::Connection, args: &[&str]| -> Value {
        let mut full = vec!["XREADGROUP", "GROUP", "g"];
        full.extend_from_slice(args);
        q(c, &full)
    };
    assert_eq!(
        read(&mut c, &["alice", "COUNT", "2", "STREAMS", "s", ">"]),
        read_reply(vec![("s", fv(&["1-0", "2-0"]))])
    );
    assert_eq!(read(&mut c, &["bob", "STREAMS", "s", ">"]), read_reply(vec![("s", fv(&["3-0", "4-0"]))]));
    assert_eq!(read(&mut c, &["bob", "STREAMS", "s", ">"]), Value::Nil);
    // A history read gives the consumer's own pending entries after the ID, and counts as a delivery.
    assert_eq!(read(&mut c, &["alice", "STREAMS", "s", "0"]), read_reply(vec![("s", fv(&["1-0", "2-0"]))]));
    assert_eq!(read(&mut c, &["bob", "COUNT", "1", "STREAMS", "s", "0-0"]), read_reply(vec![("s", fv(&["3-0"]))]));
    assert_eq!(read(&mut c, &["alice", "STREAMS", "s", "1-0"]), read_reply(vec![("s", fv(&["2-0"]))]));
    // An empty history is an empty list, not a null.
    assert_eq!(read(&mut c, &["alice", "STREAMS", "s", "9"]), read_reply(vec![("s", vec![])]));
    assert_eq!(read(&mut c, &["carol", "STREAMS", "s", "0"]), read_reply(vec![("s", vec![])]));
    assert_eq!(
        pel(&mut c, "s", "g"),
        owned(&[("1-0", "alice", 2), ("2-0", "alice", 3), ("3-0", "bob", 2), ("4-0", "bob", 1)])
    );
    // Even a read that found nothing created its consumer.
    let consumers = val(&mut c, &["XINFO", "CONSUMERS", "s", "g"]);
    assert_eq!(list(&consumers).len(), 3);

    // NOACK delivers without adding to the PEL.
    xadd(&mut c, "s", "5-0");
    xadd(&mut c, "s", "6-0");
    assert_eq!(read(&mut c, &["dave", "NOACK", "STREAMS", "s", ">"]), read_reply(vec![("s", fv(&["5-0", "6-0"]))]));
    assert_eq!(pel(&mut c, "s", "g").len(), 4);
    assert_eq!(read(&mut c, &["dave", "STREAMS", "s", "0"]), read_reply(vec![("s", vec![])]));
    let g = &groups(&mut c, "s")[0];
    assert_eq!(*get(g, "last-delivered-id"), bulk("6-0"));
    assert_eq!(get_int(g, "entries-read"), 6);
    assert_eq!(get_int(g, "pending"), 4);
    assert_eq!(get_int(g, "consumers"), 4);
}

#[test]
fn xreadgroup_over_streams_of_several_shards() {
    let s = Server::with_shards(4);
    let mut c = s.client();
    let k = spread("g", 4);
    for key in &k {
        ok(&mut c, &["XGROUP", "CREATE", key, "g", "$", "MKSTREAM"]);
    }
    xadd(&mut c, &k[1], "1-0");
    xadd(&mut c, &k[3], "1-0");
    xadd(&mut c, &k[3], "2-0");
    // Streams with nothing new are left out; the others come in argument order.
    let v = val(
        &mut c,
        &["XREADGROUP", "GROUP", "g", "c", "COUNT", "1", "STREAMS", &k[3], &k[2], &k[1], &k[0], ">", ">", ">", ">"],
    );
    assert_eq!(v, read_reply(vec![(&k[3], fv(&["1-0"])), (&k[1], fv(&["1-0"]))]));
    // History reads list every stream, empty or not.
    let v = val(&mut c, &["XREADGROUP", "GROUP", "g", "c", "STREAMS", &k[0], &k[3], "0", "0"]);
    assert_eq!(v, read_reply(vec![(&k[0], vec![]), (&k[3], fv(&["1-0"]))]));
    // `>` and history mixed in one call.
    let v = val(&mut c, &["XREADGROUP", "GROUP", "g", "c", "STREAMS", &k[3], &k[1], ">", "0"]);
    assert_eq!(v, read_reply(vec![(&k[3], fv(&["2-0"])), (&k[1], fv(&["1-0"]))]));
    // One key without the group fails the whole call.
    assert_eq!(
        err(&mut c, &["XREADGROUP", "GROUP", "g", "c", "STREAMS", &k[0], "nope", ">", ">"]),
        nogroup_read("nope", "g")
    );
}

#[test]
fn xreadgroup_history_shows_deleted_entries_as_nil() {
    let s = Server::with_shards(1);
    let mut c = s.client();
    ok(&mut c, &["XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"]);
    q::<String>(&mut c, &["XADD", "s", "1-0", "f", "A"]);
    q::<String>(&mut c, &["XADD", "s", "2-0", "f", "B"]);
    let v = val(&mut c, &["XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", ">"]);
    assert_eq!(v, read_reply(vec![("s", vec![entry("1-0", &["f", "A"]), entry("2-0", &["f", "B"])])]));
    assert_eq!(int(&mut c, &["XDEL", "s", "1-0"]), 1);
    let deleted = format!("*2\r\n{}", rb("1-0"));
    let b = re("2-0", &["f", "B"]);
    let mut raw = s.raw();
    check(
        &mut raw,
        &["XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", "0"],
        &format!("*1\r\n*2\r\n{}*2\r\n{deleted}*-1\r\n{b}", rb("s")),
    );
    let mut raw3 = resp3(&s);
    check(
        &mut raw3,
        &["XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", "0"],
        &format!("%1\r\n{}*2\r\n{deleted}_\r\n{b}", rb("s")),
    );
    check(
        &mut raw3,
        &["XREADGROUP", "GROUP", "g", "c", "COUNT", "1", "STREAMS", "s", "0"],
        &format!("%1\r\n{}*1\r\n{deleted}_\r\n", rb("s")),
    );
    // A trimmed entry reads the same; the entry stays pending until acknowledged.
    assert_eq!(int(&mut c, &["XTRIM", "s", "MAXLEN", "0"]), 1);
    let v = val(&mut c, &["XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", "0"]);
    let nil_entry = |id: &str| Value::Array(vec![bulk(id), Value::Nil]);
    assert_eq!(v, read_reply(vec![("s", vec![nil_entry("1-0"), nil_entry("2-0")])]));
    assert_eq!(int(&mut c, &["XACK", "s", "g", "1-0", "2-0"]), 2);
}

#[test]
fn xreadgroup_argument_errors() {
    let s = Server::with_shards(1);
    let mut c = s.client();
    assert_eq!(err(&mut c, &["XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", ">"]), nogroup_read("s", "g"));
    xadd(&mut c, "s", "1-0");
    assert_eq!(err(&mut c, &["XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", ">"]), nogroup_read("s", "g"));
    ok(&mut c, &["XGROUP", "CREATE", "s", "g", "0"]);
    q::<()>(&mut c, &["RPUSH", "list", "x"]);
    let arity = "ERR wrong number of arguments for 'xreadgroup' command";
    let meaningless = |sym: &str| {
        format!(
            "ERR The {sym} ID is meaningless in the context of XREADGROUP: you want to read the history of this \
             consumer by specifying a proper ID, or use the > ID to get new messages. The {sym} ID would just return \
             an empty result set."
        )
    };
    let cases: Vec<(&[&str], String)> = vec![
        (&["XREADGROUP", "GROUP", "nog", "c", "STREAMS", "s", ">"], nogroup_read("s", "nog")),
        (&["XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", "$"], meaningless("$")),
        (&["XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", "+"], v74(meaningless("+"), INVALID_ID.into())),
        (
            &["XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", ">", "t"],
            v74(
                "ERR Unbalanced 'xreadgroup' list of streams: for each stream key an ID or '>' must be specified.",
                "ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.",
            )
            .into(),
        ),
        (&["XREADGROUP", "STREAMS", "s", ">"], arity.into()),
        (&["XREADGROUP", "GROUP", "g", "c", "STREAMS", "s"], arity.into()),
        (
            &["XREADGROUP", "COUNT", "1", "BLOCK", "1", "STREAMS", "s", ">"],
            "ERR Missing GROUP option for XREADGROUP".into(),
        ),
        (&["XREADGROUP", "GROUP", "g", "c", "FOO", "STREAMS", "s", ">"], "ERR syntax error".into()),
        (
            &["XREADGROUP", "GROUP", "g", "c", "COUNT", "x", "STREAMS", "s", ">"],
            "ERR value is not an integer or out of range".into(),
        ),
        (&["XREADGROUP", "GROUP", "g", "c", "BLOCK", "-1", "STREAMS", "s", ">"], "ERR timeout is negative".into()),
        (
            &["XREADGROUP", "GROUP", "g", "c", "BLOCK", "x", "STREAMS", "s", ">"],
            "ERR timeout is not an integer or out of range".into(),
        ),
        (&["XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", "x"], INVALID_ID.into()),
        (&["XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", "1-x"], INVALID_ID.into()),
        (&["XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", "list", ">", ">"], WRONGTYPE.into()),
        (&["XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "list", ">"], WRONGTYPE.into()),
    ];
    for (args, want) in &cases {
        assert_eq!(err(&mut c, args), *want, "{args:?}");
    }
    assert_eq!(pel(&mut c, "s", "g"), owned(&[]), "failed reads deliver nothing");
    assert_eq!(blocked_clients(&mut c), 0);
}

#[test]
fn xreadgroup_replies_byte_exact_in_resp2_and_resp3() {
    let s = Server::with_shards(1);
    let mut c = s.client();
    ok(&mut c, &["XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"]);
    q::<String>(&mut c, &["XADD", "s", "1-0", "a", "1"]);
    q::<String>(&mut c, &["XADD", "s", "2-0", "b", "2"]);
    let mut raw = s.raw();
    let mut raw3 = resp3(&s);
    let one = re("1-0", &["a", "1"]);
    let two = re("2-0", &["b", "2"]);
    check(
        &mut raw,
        &["XREADGROUP", "GROUP", "g", "c", "COUNT", "1", "STREAMS", "s", ">"],
        &format!("*1\r\n*2\r\n{}{}", rb("s"), ra(&[&one])),
    );
    check(
        &mut raw3,
        &["XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", ">"],
        &format!("%1\r\n{}{}", rb("s"), ra(&[&two])),
    );
    check(&mut raw, &["XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", ">"], "*-1\r\n");
    check(&mut raw3, &["XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", ">"], "_\r\n");
    check(
        &mut raw3,
        &["XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", "0"],
        &format!("%1\r\n{}{}", rb("s"), ra(&[one, two])),
    );
    check(&mut raw3, &["XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", "5"], &format!("%1\r\n{}*0\r\n", rb("s")));
    check(&mut raw, &["XREADGROUP", "GROUP", "g", "c", "BLOCK", "10", "STREAMS", "s", ">"], "*-1\r\n");
    check(&mut raw3, &["XREADGROUP", "GROUP", "g", "c", "BLOCK", "10", "STREAMS", "s", ">"], "_\r\n");
}

#[test]
fn xack_acknowledges_pending_entries() {
    let s = Server::with_shards(1);
    let mut c = s.client();
    for id in ["1-0", "2-0", "3-0"] {
        xadd(&mut c, "s", id);
    }
    ok(&mut c, &["XGROUP", "CREATE", "s", "g", "0"]);
    val(&mut c, &["XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", ">"]);
    // Each pending ID counts once; unknown ones count nothing.
    assert_eq!(int(&mut c, &["XACK", "s", "g", "1-0", "1-0", "9-0"]), 1);
    assert_eq!(int(&mut c, &["XACK", "s", "g", "1-0"]), 0);
    // One invalid ID fails the whole command before anything is acknowledged.
    assert_eq!(err(&mut c, &["XACK", "s", "g", "2-0", "x"]), INVALID_ID);
    assert_eq!(pel(&mut c, "s", "g").len(), 2);
    assert_eq!(int(&mut c, &["XACK", "s", "nog", "2-0"]), 0);
    assert_eq!(int(&mut c, &["XACK", "nope", "g", "2-0"]), 0);
    assert_eq!(err(&mut c, &["XACK", "s", "g"]), "ERR wrong number of arguments for 'xack' command");
    // An ID without a sequence means sequence 0.
    assert_eq!(int(&mut c, &["XACK", "s", "g", "2", "3-0"]), 2);
    assert_eq!(pel(&mut c, "s", "g"), owned(&[]));
    // Acknowledging does not delete the entries.
    assert_eq!(int(&mut c, &["XLEN", "s"]), 3);
    let consumers = val(&mut c, &["XINFO", "CONSUMERS", "s", "g"]);
    assert_eq!(get_int(&pairs(list(&consumers)[0].clone()), "pending"), 0);
}

#[test]
fn xpending_summary_and_extended_forms() {
    let s = Server::with_shards(1);
    let mut c = s.client();
    assert_eq!(err(&mut c, &["XPENDING", "s", "g"]), nogroup("s", "g"));
    for id in ["1-0", "2-0", "3-0", "4-0"] {
        xadd(&mut c, "s", id);
    }
    assert_eq!(err(&mut c, &["XPENDING", "s", "g", "-", "+", "10"]), nogroup("s", "g"));
    ok(&mut c, &["XGROUP", "CREATE", "s", "g", "0"]);
    let mut raw = s.raw();
    let mut raw3 = resp3(&s);
    check(&mut raw, &["XPENDING", "s", "g"], "*4\r\n:0\r\n$-1\r\n$-1\r\n*-1\r\n");
    check(&mut raw3, &["XPENDING", "s", "g"], "*4\r\n:0\r\n_\r\n_\r\n_\r\n");
    check(&mut raw, &["XPENDING", "s", "g", "-", "+", "10"], "*0\r\n");
    // Consumers are listed by name, with their counts as bulk strings.
    val(&mut c, &["XREADGROUP", "GROUP", "g", "bob", "COUNT", "2", "STREAMS", "s", ">"]);
    val(&mut c, &["XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", ">"]);
    val(&mut c, &["XREADGROUP", "GROUP", "g", "carol", "STREAMS", "s", ">"]);
    let summary = format!(
        "*4\r\n:4\r\n{}{}*2\r\n*2\r\n{}{}*2\r\n{}{}",
        rb("1-0"),
        rb("4-0"),
        rb("alice"),
        rb("2"),
        rb("bob"),
        rb("2")
    );
    check(&mut raw, &["XPENDING", "s", "g"], &summary);
    check(&mut raw3, &["XPENDING", "s", "g"], &summary);

    let all = pending(&mut c, &["XPENDING", "s", "g", "-", "+", "10"]);
    let who: Vec<(&str, &str, i64)> = all.iter().map(|(id, w, _, n)| (id.as_str(), w.as_str(), *n)).collect();
    assert_eq!(who, [("1-0", "bob", 1), ("2-0", "bob", 1), ("3-0", "alice", 1), ("4-0", "alice", 1)]);
    assert!(all.iter().all(|(_, _, idle, _)| (0..5000).contains(idle)), "{all:?}");
    let ids = |v: Vec<(String, String, i64, i64)>| v.into_iter().map(|p| p.0).collect::<Vec<_>>();
    assert_eq!(ids(pending(&mut c, &["XPENDING", "s", "g", "-", "+", "10", "alice"])), ["3-0", "4-0"]);
    assert_eq!(ids(pending(&mut c, &["XPENDING", "s", "g", "-", "+", "10", "carol"])), Vec::<String>::new());
    assert_eq!(ids(pending(&mut c, &["XPENDING", "s", "g", "-", "+", "10", "nobody"])), Vec::<String>::new());
    assert_eq!(ids(pending(&mut c, &["XPENDING", "s", "g", "(1-0", "(4-0", "10"])), ["2-0", "3-0"]);
    assert_eq!(ids(pending(&mut c, &["XPENDING", "s", "g", "2", "3", "10"])), ["2-0", "3-0"]);
    assert_eq!(ids(pending(&mut c, &["XPENDING", "s", "g", "-", "+", "2"])), ["1-0", "2-0"]);
    assert_eq!(ids(pending(&mut c, &["XPENDING", "s", "g", "-", "+", "0"])), Vec::<String>::new());
    assert_eq!(ids(pending(&mut c, &["XPENDING", "s", "g", "-", "+", "-1"])), Vec::<String>::new());
    // IDLE keeps the entries idle at least that long.
    assert_eq!(ids(pending(&mut c, &["XPENDING", "s", "g", "IDLE", "1000000", "-", "+", "10"])), Vec::<String>::new());
    assert_eq!(ids(pending(&mut c, &["XPENDING", "s", "g", "IDLE", "0", "-", "+", "3", "bob"])), ["1-0", "2-0"]);
    let start = server_ms(&mut c);
    while server_ms(&mut c) < start + 20 {
        std::thread::sleep(Duration::from_millis(2));
    }
    // Claiming 2-0 resets its idle time: only the others are idle 10 ms.
    q::<Value>(&mut c, &["XCLAIM", "s", "g", "bob", "0", "2-0", "JUSTID"]);
    assert_eq!(ids(pending(&mut c, &["XPENDING", "s", "g", "IDLE", "10", "-", "+", "10"])), ["1-0", "3-0", "4-0"]);
    assert_eq!(ids(pending(&mut c, &["XPENDING", "s", "g", "IDLE", "10", "-", "+", "10", "bob"])), ["1-0"]);

    let errors: &[(&[&str], &str)] = &[
        (&["XPENDING", "s", "g", "IDLE", "x", "-", "+", "10"], "ERR value is not an integer or out of range"),
        (&["XPENDING", "s", "g", "IDLE", "10", "-", "+"], "ERR syntax error"),
        (&["XPENDING", "s", "g", "-", "+"], "ERR syntax error"),
        (&["XPENDING", "s", "g", "-"], "ERR syntax error"),
        (&["XPENDING", "s", "g", "-", "+", "x"], "ERR value is not an integer or out of range"),
        (&["XPENDING", "s", "g", "x", "+", "10"], INVALID_ID),
        (
            &["XPENDING", "s", "g", "(18446744073709551615-18446744073709551615", "+", "10"],
            "ERR invalid start ID for the interval",
        ),
        (&["XPENDING", "s", "g", "-", "(0-0", "10"], "ERR invalid end ID for the interval"),
        (&["XPENDING", "s"], "ERR wrong number of arguments for 'xpending' command"),
    ];
    for (args, want) in errors {
        assert_eq!(err(&mut c, args), *want, "{args:?}");
    }
    assert_eq!(err(&mut c, &["XPENDING", "s", "nog", "-", "+", "10"]), nogroup("s", "nog"));
}

#[test]
fn xclaim_options() {
    let s = Server::with_shards(1);
    let mut c = s.client();
    for id in ["1-0", "2-0", "3-0", "4-0", "5-0"] {
        xadd(&mut c, "s", id);
    }
    ok(&mut c, &["XGROUP", "CREATE", "s", "g", "0"]);
    val(&mut c, &["XREADGROUP", "GROUP", "g", "alice", "COUNT", "4", "STREAMS", "s", ">"]);
    // A claim is a delivery: the count goes up, the owner changes.
    assert_eq!(val(&mut c, &["XCLAIM", "s", "g", "bob", "0", "1-0"]), Value::Array(fv(&["1-0"])));
    // Entries not idle long enough stay where they are.
    assert_eq!(val(&mut c, &["XCLAIM", "s", "g", "bob", "1000000", "2-0"]), Value::Array(vec![]));
    // JUSTID leaves the delivery count alone.
    assert_eq!(val(&mut c, &["XCLAIM", "s", "g", "bob", "0", "2-0", "JUSTID"]), Value::Array(vec![bulk("2-0")]));
    assert_eq!(
        val(&mut c, &["XCLAIM", "s", "g", "bob", "0", "3-0", "RETRYCOUNT", "7", "IDLE", "5000"]),
        Value::Array(fv(&["3-0"]))
    );
    let now = server_ms(&mut c);
    let time = (now - 60_000).to_string();
    assert_eq!(
        val(&mut c, &["XCLAIM", "s", "g", "carol", "0", "4-0", "TIME", &time, "JUSTID"]),
        Value::Array(vec![bulk("4-0")])
    );
    let all = pending(&mut c, &["XPENDING", "s", "g", "-", "+", "10"]);
    let who: Vec<(&str, &str, i64)> = all.iter().map(|(id, w, _, n)| (id.as_str(), w.as_str(), *n)).collect();
    assert_eq!(who, [("1-0", "bob", 2), ("2-0", "bob", 1), ("3-0", "bob", 7), ("4-0", "carol", 1)]);
    assert!((5000..6000).contains(&all[2].2), "IDLE 5000 gave {}", all[2].2);
    assert!((60_000..61_000).contains(&all[3].2), "TIME now-60s gave {}", all[3].2);
    // Claiming from oneself is allowed and counts as a delivery.
    assert_eq!(val(&mut c, &["XCLAIM", "s", "g", "bob", "0", "1-0", "JUSTID"]), Value::Array(vec![bulk("1-0")]));

    // FORCE creates the pending entry of an entry nobody read, but only for entries that exist.
    assert_eq!(val(&mut c, &["XCLAIM", "s", "g", "dave", "0", "5-0"]), Value::Array(vec![]));
    assert_eq!(val(&mut c, &["XCLAIM", "s", "g", "dave", "0", "9-0", "FORCE"]), Value::Array(vec![]));
    assert_eq!(
        val(&mut c, &["XCLAIM", "s", "g", "dave", "0", "5-0", "FORCE", "JUSTID"]),
        Value::Array(vec![bulk("5-0")])
    );
    assert_eq!(pel(&mut c, "s", "g").last().unwrap(), &("5-0".into(), "dave".into(), 1));
    // The group's last ID only moves forward with LASTID.
    assert_eq!(*get(&groups(&mut c, "s")[0], "last-delivered-id"), bulk("4-0"));
    val(&mut c, &["XCLAIM", "s", "g", "dave", "0", "5-0", "LASTID", "3-0", "JUSTID"]);
    assert_eq!(*get(&groups(&mut c, "s")[0], "last-delivered-id"), bulk("4-0"));
    val(&mut c, &["XCLAIM", "s", "g", "dave", "0", "5-0", "LASTID", "9-0", "JUSTID"]);
    assert_eq!(*get(&groups(&mut c, "s")[0], "last-delivered-id"), bulk("9-0"));
    // Several IDs at once, in the order given, the unclaimable ones left out.
    let v = val(&mut c, &["XCLAIM", "s", "g", "erin", "0", "3-0", "7-0", "1-0", "JUSTID"]);
    assert_eq!(v, Value::Array(vec![bulk("3-0"), bulk("1-0")]));
    // Since 7.2 the consumer exists after a claim even when nothing was claimed.
    val(&mut c, &["XCLAIM", "s", "g", "frank", "1000000", "3-0"]);
    let consumers = val(&mut c, &["XINFO", "CONSUMERS", "s", "g"]);
    let consumers: Vec<String> = list(&consumers).iter().map(|p| text(get(&pairs(p.clone()), "name"))).collect();
    assert_eq!(
        consumers,
        v74(&["alice", "bob", "carol", "dave", "erin", "frank"][..], &["alice", "bob", "carol", "dave", "erin"])
    );

    let errors: Vec<(&[&str], String)> = vec![
        (&["XCLAIM", "s", "g", "x", "y", "1-0"], "ERR Invalid min-idle-time argument for XCLAIM".into()),
        (&["XCLAIM", "s", "g", "x", "0", "1-0", "IDLE", "y"], "ERR Invalid IDLE option argument for XCLAIM".into()),
        (&["XCLAIM", "s", "g", "x", "0", "1-0", "TIME", "y"], "ERR Invalid TIME option argument for XCLAIM".into()),
        (
            &["XCLAIM", "s", "g", "x", "0", "1-0", "RETRYCOUNT", "y"],
            "ERR Invalid RETRYCOUNT option argument for XCLAIM".into(),
        ),
        (&["XCLAIM", "s", "g", "x", "0", "1-0", "FOO"], "ERR Unrecognized XCLAIM option 'FOO'".into()),
        (&["XCLAIM", "s", "g", "x", "0", "y"], "ERR Unrecognized XCLAIM option 'y'".into()),
        (&["XCLAIM", "s", "g", "x", "0", "1-0", "LASTID", "y"], INVALID_ID.into()),
        (&["XCLAIM", "s", "g", "x", "0"], "ERR wrong number of arguments for 'xclaim' command".into()),
        (&["XCLAIM", "s", "nog", "x", "0", "1-0"], nogroup("s", "nog")),
        (&["XCLAIM", "nope", "g", "x", "0", "1-0"], nogroup("nope", "g")),
    ];
    for (args, want) in &errors {
        assert_eq!(err(&mut c, args), *want, "{args:?}");
    }
}

#[test]
fn xclaim_drops_deleted_entries_from_the_pel() {
    let s = Server::with_shards(1);
    let mut c = s.client();
    for id in ["1-0", "2-0", "3-0", "4-0"] {
        xadd(&mut c, "s", id);
    }
    ok(&mut c, &["XGROUP", "CREATE", "s", "g", "0"]);
    val(&mut c, &["XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", ">"]);
    assert_eq!(int(&mut c, &["XDEL", "s", "2-0"]), 1);
    assert_eq!(val(&mut c, &["XCLAIM", "s", "g", "bob", "0", "1-0", "2-0", "3-0"]), Value::Array(fv(&["1-0", "3-0"])));
    assert_eq!(pel(&mut c, "s", "g"), owned(&[("1-0", "bob", 2), ("3-0", "bob", 2), ("4-0", "alice", 1)]));
    // Even with a min-idle time not reached, and with JUSTID.
    assert_eq!(int(&mut c, &["XDEL", "s", "4-0"]), 1);
    assert_eq!(val(&mut c, &["XCLAIM", "s", "g", "bob", "1000000", "4-0", "JUSTID"]), Value::Array(vec![]));
    assert_eq!(pel(&mut c, "s", "g"), owned(&[("1-0", "bob", 2), ("3-0", "bob", 2)]));
    // Trimmed entries likewise.
    assert_eq!(int(&mut c, &["XTRIM", "s", "MAXLEN", "1"]), 1);
    assert_eq!(val(&mut c, &["XCLAIM", "s", "g", "alice", "0", "1-0", "3-0"]), Value::Array(fv(&["3-0"])));
    assert_eq!(pel(&mut c, "s", "g"), owned(&[("3-0", "alice", 3)]));
    assert_eq!(consumer_pending(&mut c, "s", "g"), ["alice=1", "bob=0"]);
}

#[test]
fn xautoclaim_iterates_with_a_cursor() {
    let s = Server::with_shards(1);
    let mut c = s.client();
    for id in ["1-0", "2-0", "3-0", "4-0", "5-0"] {
        xadd(&mut c, "s", id);
    }
    ok(&mut c, &["XGROUP", "CREATE", "s", "g", "0"]);
    val(&mut c, &["XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", ">"]);
    let reply = |cursor: &str, claimed: Vec<Value>, deleted: &[&str]| {
        Value::Array(vec![bulk(cursor), Value::Array(claimed), Value::Array(deleted.iter().map(|d| bulk(d)).collect())])
    };
    assert_eq!(
        val(&mut c, &["XAUTOCLAIM", "s", "g", "bob", "0", "-", "COUNT", "2"]),
        reply("3-0", fv(&["1-0", "2-0"]), &[])
    );
    assert_eq!(
        val(&mut c, &["XAUTOCLAIM", "s", "g", "bob", "0", "3-0", "COUNT", "2"]),
        reply("5-0", fv(&["3-0", "4-0"]), &[])
    );
    assert_eq!(
        val(&mut c, &["XAUTOCLAIM", "s", "g", "bob", "0", "5-0", "COUNT", "2"]),
        reply("0-0", fv(&["5-0"]), &[])
    );
    // JUSTID does not count a delivery; exclusive starts and incomplete IDs work as in XRANGE.
    let ids = |is: &[&str]| is.iter().map(|i| bulk(i)).collect::<Vec<_>>();
    assert_eq!(
        val(&mut c, &["XAUTOCLAIM", "s", "g", "carol", "0", "(1-0", "JUSTID"]),
        reply("0-0", ids(&["2-0", "3-0", "4-0", "5-0"]), &[])
    );
    assert_eq!(
        val(&mut c, &["XAUTOCLAIM", "s", "g", "carol", "0", "1", "COUNT", "1", "JUSTID"]),
        reply("2-0", ids(&["1-0"]), &[])
    );
    assert_eq!(
        pel(&mut c, "s", "g"),
        owned(&[
            ("1-0", "carol", 2),
            ("2-0", "carol", 2),
            ("3-0", "carol", 2),
            ("4-0", "carol", 2),
            ("5-0", "carol", 2)
        ])
    );
    // Entries not idle long enough are skipped.
    assert_eq!(val(&mut c, &["XAUTOCLAIM", "s", "g", "dave", "1000000", "-"]), reply("0-0", vec![], &[]));
    assert_eq!(val(&mut c, &["XAUTOCLAIM", "s", "g", "dave", "0", "+"]), reply("0-0", vec![], &[]));
    assert_eq!(pel(&mut c, "s", "g")[0].1, "carol");

    let mut raw3 = resp3(&s);
    check(
        &mut raw3,
        &["XAUTOCLAIM", "s", "g", "erin", "0", "5-0"],
        &format!("*3\r\n{}{}*0\r\n", rb("0-0"), ra(&[re("5-0", &["f", "v"])])),
    );

    let count = "ERR COUNT must be > 0";
    let errors: Vec<(&[&str], String)> = vec![
        (&["XAUTOCLAIM", "s", "g", "x", "0", "0", "COUNT", "0"], count.into()),
        (&["XAUTOCLAIM", "s", "g", "x", "0", "0", "COUNT", "-1"], count.into()),
        (&["XAUTOCLAIM", "s", "g", "x", "0", "0", "COUNT", "x"], count.into()),
        (&["XAUTOCLAIM", "s", "g", "x", "0", "0", "COUNT", "8070450532247928833"], count.into()),
        (&["XAUTOCLAIM", "s", "g", "x", "y", "0"], "ERR Invalid min-idle-time argument for XAUTOCLAIM".into()),
        (&["XAUTOCLAIM", "s", "g", "x", "0", "y"], INVALID_ID.into()),
        (&["XAUTOCLAIM", "s", "g", "x", "0", "0", "FOO"], "ERR syntax error".into()),
        (
            &["XAUTOCLAIM", "s", "g", "x", "0", "(18446744073709551615-18446744073709551615"],
            "ERR invalid start ID for the interval".into(),
        ),
        (&["XAUTOCLAIM", "s", "g", "x", "0"], "ERR wrong number of arguments for 'xautoclaim' command".into()),
        (&["XAUTOCLAIM", "s", "nog", "x", "0", "0"], nogroup("s", "nog")),
        (&["XAUTOCLAIM", "nope", "g", "x", "0", "0"], nogroup("nope", "g")),
    ];
    for (args, want) in &errors {
        assert_eq!(err(&mut c, args), *want, "{args:?}");
    }
}

/// Deleted entries leave the PEL and come back in the third element; they count against COUNT.
#[test]
fn xautoclaim_reports_deleted_ids() {
    let s = Server::with_shards(1);
    let mut c = s.client();
    for id in ["1-0", "2-0", "3-0", "4-0", "5-0"] {
        xadd(&mut c, "s", id);
    }
    ok(&mut c, &["XGROUP", "CREATE", "s", "g", "0"]);
    val(&mut c, &["XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", ">"]);
    assert_eq!(int(&mut c, &["XDEL", "s", "1-0", "2-0", "4-0"]), 3);
    let reply = |cursor: &str, claimed: Vec<Value>, deleted: &[&str]| {
        Value::Array(vec![bulk(cursor), Value::Array(claimed), Value::Array(deleted.iter().map(|d| bulk(d)).collect())])
    };
    assert_eq!(val(&mut c, &["XAUTOCLAIM", "s", "g", "bob", "0", "0", "COUNT", "1"]), reply("2-0", vec![], &["1-0"]));
    assert_eq!(
        val(&mut c, &["XAUTOCLAIM", "s", "g", "bob", "0", "2-0", "COUNT", "2"]),
        reply("4-0", fv(&["3-0"]), &["2-0"])
    );
    assert_eq!(
        val(&mut c, &["XAUTOCLAIM", "s", "g", "bob", "0", "0", "JUSTID"]),
        reply("0-0", vec![bulk("3-0"), bulk("5-0")], &["4-0"])
    );
    assert_eq!(pel(&mut c, "s", "g"), owned(&[("3-0", "bob", 2), ("5-0", "bob", 1)]));
    let mut raw = s.raw();
    assert_eq!(int(&mut c, &["XTRIM", "s", "MAXLEN", "0"]), 2);
    check(
        &mut raw,
        &["XAUTOCLAIM", "s", "g", "carol", "0", "-"],
        &format!("*3\r\n{}*0\r\n{}", rb("0-0"), ra(&[rb("3-0"), rb("5-0")])),
    );
    assert_eq!(pel(&mut c, "s", "g"), owned(&[]));
}

#[test]
fn xinfo_stream_and_full() {
    let s = Server::with_shards(1);
    let mut c = s.client();
    for (id, f) in [("1-0", "a"), ("2-0", "b"), ("3-0", "c")] {
        q::<String>(&mut c, &["XADD", "s", id, f, "1"]);
    }
    assert_eq!(int(&mut c, &["XDEL", "s", "2-0"]), 1);
    let brief = pairs(val(&mut c, &["XINFO", "STREAM", "s"]));
    assert_eq!(
        names(&brief),
        [
            "length",
            "radix-tree-keys",
            "radix-tree-nodes",
            "last-generated-id",
            "max-deleted-entry-id",
            "entries-added",
            "recorded-first-entry-id",
            "groups",
            "first-entry",
            "last-entry"
        ]
    );
    assert_eq!(get_int(&brief, "length"), 2);
    assert_eq!(get_int(&brief, "radix-tree-keys"), 1);
    assert_eq!(*get(&brief, "last-generated-id"), bulk("3-0"));
    assert_eq!(*get(&brief, "max-deleted-entry-id"), bulk("2-0"));
    assert_eq!(get_int(&brief, "entries-added"), 3);
    assert_eq!(*get(&brief, "recorded-first-entry-id"), bulk("1-0"));
    assert_eq!(get_int(&brief, "groups"), 0);
    assert_eq!(*get(&brief, "first-entry"), entry("1-0", &["a", "1"]));
    assert_eq!(*get(&brief, "last-entry"), entry("3-0", &["c", "1"]));
    // RESP3 gives the same fields as a map.
    let mut c3 = s.client3();
    assert!(matches!(val(&mut c3, &["XINFO", "STREAM", "s"]), Value::Map(_)));
    assert_eq!(pairs(val(&mut c3, &["XINFO", "STREAM", "s"])), brief);

    ok(&mut c, &["XGROUP", "CREATE", "s", "g2", "0"]);
    ok(&mut c, &["XGROUP", "CREATE", "s", "g1", "$"]);
    val(&mut c, &["XREADGROUP", "GROUP", "g2", "bob", "COUNT", "1", "STREAMS", "s", ">"]);
    let before = server_ms(&mut c);
    val(&mut c, &["XREADGROUP", "GROUP", "g2", "alice", "STREAMS", "s", ">"]);
    let after = server_ms(&mut c);
    let full = pairs(val(&mut c, &["XINFO", "STREAM", "s", "FULL"]));
    assert_eq!(
        names(&full),
        [
            "length",
            "radix-tree-keys",
            "radix-tree-nodes",
            "last-generated-id",
            "max-deleted-entry-id",
            "entries-added",
            "recorded-first-entry-id",
            "entries",
            "groups"
        ]
    );
    assert_eq!(*get(&full, "entries"), Value::Array(vec![entry("1-0", &["a", "1"]), entry("3-0", &["c", "1"])]));
    let gs: Vec<Vec<(String, Value)>> = list(get(&full, "groups")).iter().cloned().map(pairs).collect();
    assert_eq!(gs.len(), 2);
    assert_eq!(
        names(&gs[0]),
        ["name", "last-delivered-id", "entries-read", "lag", "pel-count", "pending", "consumers"]
    );
    assert_eq!(*get(&gs[0], "name"), bulk("g1"));
    assert_eq!(get_int(&gs[0], "pel-count"), 0);
    assert_eq!(*get(&gs[0], "consumers"), Value::Array(vec![]));
    let g2 = &gs[1];
    assert_eq!(*get(g2, "name"), bulk("g2"));
    assert_eq!(*get(g2, "last-delivered-id"), bulk("3-0"));
    assert_eq!(get_int(g2, "entries-read"), 3);
    assert_eq!(get_int(g2, "lag"), 0);
    assert_eq!(get_int(g2, "pel-count"), 2);
    // Group PEL entries: [id, consumer, delivery time (ms since the epoch), deliveries].
    let group_pel = list(get(g2, "pending"));
    assert_eq!(group_pel.len(), 2);
    assert_eq!(list(&group_pel[0])[..2], [bulk("1-0"), bulk("bob")]);
    assert_eq!(list(&group_pel[1])[..2], [bulk("3-0"), bulk("alice")]);
    assert_eq!(list(&group_pel[1])[3], Value::Int(1));
    let Value::Int(delivered) = list(&group_pel[1])[2] else { panic!("{group_pel:?}") };
    assert!(before <= delivered && delivered <= after, "delivery time {delivered} outside [{before}, {after}]");
    // Consumers by name, each with its own PEL: [id, delivery time, deliveries].
    let consumers: Vec<Vec<(String, Value)>> = list(get(g2, "consumers")).iter().cloned().map(pairs).collect();
    assert_eq!(
        names(&consumers[0]),
        v74(
            vec!["name", "seen-time", "active-time", "pel-count", "pending"],
            vec!["name", "seen-time", "pel-count", "pending"]
        )
    );
    assert_eq!(*get(&consumers[0], "name"), bulk("alice"));
    assert_eq!(*get(&consumers[1], "name"), bulk("bob"));
    let seen = get_int(&consumers[0], "seen-time");
    assert!(before <= seen && seen <= after, "seen-time {seen} outside [{before}, {after}]");
    assert_eq!(get_int(&consumers[0], "pel-count"), 1);
    let alice_pel = list(get(&consumers[0], "pending"));
    assert_eq!(alice_pel.len(), 1);
    assert_eq!(list(&alice_pel[0]), [bulk("3-0"), Value::Int(delivered), Value::Int(1)]);

    // COUNT limits the entries and every PEL shown; COUNT 0 shows everything.
    let limited = pairs(val(&mut c, &["XINFO", "STREAM", "s", "FULL", "COUNT", "1"]));
    assert_eq!(*get(&limited, "entries"), Value::Array(vec![entry("1-0", &["a", "1"])]));
    let g2 = pairs(list(get(&limited, "groups"))[1].clone());
    assert_eq!(list(get(&g2, "pending")).len(), 1);
    assert_eq!(get_int(&g2, "pel-count"), 2);
    let everything = pairs(val(&mut c, &["XINFO", "STREAM", "s", "FULL", "COUNT", "0"]));
    assert_eq!(list(get(&everything, "entries")).len(), 2);
    let mut full3 = pairs(val(&mut c3, &["XINFO", "STREAM", "s", "FULL"]));
    full3.retain(|(k, _)| k != "groups");
    assert_eq!(names(&full3), names(&full)[..8]);

    // An empty stream: no nodes, no first or last entry.
    ok(&mut c, &["XGROUP", "CREATE", "e", "g", "$", "MKSTREAM"]);
    let empty = pairs(val(&mut c3, &["XINFO", "STREAM", "e"]));
    assert_eq!(get_int(&empty, "length"), 0);
    assert_eq!(get_int(&empty, "radix-tree-keys"), 0);
    assert_eq!(*get(&empty, "last-generated-id"), bulk("0-0"));
    assert_eq!(*get(&empty, "recorded-first-entry-id"), bulk("0-0"));
    assert_eq!(get_int(&empty, "entries-added"), 0);
    assert_eq!(get_int(&empty, "groups"), 1);
    assert_eq!((get(&empty, "first-entry"), get(&empty, "last-entry")), (&Value::Nil, &Value::Nil));
}

#[test]
fn xinfo_groups_entries_read_and_lag() {
    let s = Server::with_shards(1);
    let mut c = s.client();
    // An empty stream has no lag.
    ok(&mut c, &["XGROUP", "CREATE", "e", "g", "0", "MKSTREAM"]);
    assert_eq!(read_and_lag(&mut c, "e", "g"), (Value::Nil, Value::Int(0)));
    let g = &groups(&mut c, "e")[0];
    assert_eq!(names(g), ["name", "consumers", "pending", "last-delivered-id", "entries-read", "lag"]);
    let mut c3 = s.client3();
    let v3 = val(&mut c3, &["XINFO", "GROUPS", "e"]);
    assert!(matches!(&list(&v3)[0], Value::Map(_)), "{v3:?}");
    assert_eq!(pairs(list(&v3)[0].clone()), *g);

    for id in ["1-0", "2-0", "3-0", "4-0", "5-0"] {
        xadd(&mut c, "x", id);
    }
    ok(&mut c, &["XGROUP", "CREATE", "x", "g1", "0"]);
    assert_eq!(read_and_lag(&mut c, "x", "g1"), (Value::Nil, Value::Int(5)));
    val(&mut c, &["XREADGROUP", "GROUP", "g1", "c", "COUNT", "1", "STREAMS", "x", ">"]);
    assert_eq!(read_and_lag(&mut c, "x", "g1"), (Value::Int(1), Value::Int(4)));
    val(&mut c, &["XREADGROUP", "GROUP", "g1", "c", "COUNT", "10", "STREAMS", "x", ">"]);
    assert_eq!(read_and_lag(&mut c, "x", "g1"), (Value::Int(5), Value::Int(0)));
    xadd(&mut c, "x", "6-0");
    assert_eq!(read_and_lag(&mut c, "x", "g1"), (Value::Int(5), Value::Int(1)));
    // A group at the end created with `$` has no read counter, but no lag either.
    ok(&mut c, &["XGROUP", "CREATE", "x", "g2", "$"]);
    assert_eq!(read_and_lag(&mut c, "x", "g2"), (Value::Nil, Value::Int(0)));
    ok(&mut c, &["XGROUP", "CREATE", "x", "g3", "4-0", "ENTRIESREAD", "4"]);
    assert_eq!(read_and_lag(&mut c, "x", "g3"), (Value::Int(4), Value::Int(2)));

    // A deleted entry ahead of the group makes its lag unknown until the group is past it.
    for id in ["1-0", "2-0", "3-0", "4-0", "5-0"] {
        xadd(&mut c, "y", id);
    }
    assert_eq!(int(&mut c, &["XDEL", "y", "3-0"]), 1);
    ok(&mut c, &["XGROUP", "CREATE", "y", "g1", "0"]);
    ok(&mut c, &["XGROUP", "CREATE", "y", "g2", "0"]);
    assert_eq!(read_and_lag(&mut c, "y", "g1"), (Value::Nil, Value::Nil));
    for _ in 0..3 {
        val(&mut c, &["XREADGROUP", "GROUP", "g1", "c", "COUNT", "1", "STREAMS", "y", ">"]);
        assert_eq!(read_and_lag(&mut c, "y", "g1"), (Value::Nil, Value::Nil));
    }
    val(&mut c, &["XREADGROUP", "GROUP", "g1", "c", "COUNT", "1", "STREAMS", "y", ">"]);
    assert_eq!(read_and_lag(&mut c, "y", "g1"), (Value::Int(5), Value::Int(0)));
    xadd(&mut c, "y", "6-0");
    assert_eq!(read_and_lag(&mut c, "y", "g1"), (Value::Int(5), Value::Int(1)));
    // Once the deletion is trimmed away the lag is known again.
    assert_eq!(int(&mut c, &["XTRIM", "y", "MINID", "=", "3-0"]), 2);
    assert_eq!(read_and_lag(&mut c, "y", "g1"), (Value::Int(5), Value::Int(1)));
    assert_eq!(read_and_lag(&mut c, "y", "g2"), (Value::Nil, Value::Int(3)));
    assert_eq!(int(&mut c, &["XTRIM", "y", "MINID", "=", "5-0"]), 1);
    assert_eq!(read_and_lag(&mut c, "y", "g2"), (Value::Nil, Value::Int(2)));
}

#[test]
fn xinfo_consumers_fields() {
    let s = Server::with_shards(1);
    let mut c = s.client();
    for id in ["1-0", "2-0", "3-0"] {
        xadd(&mut c, "s", id);
    }
    ok(&mut c, &["XGROUP", "CREATE", "s", "g", "0"]);
    assert_eq!(val(&mut c, &["XINFO", "CONSUMERS", "s", "g"]), Value::Array(vec![]));
    val(&mut c, &["XREADGROUP", "GROUP", "g", "zed", "COUNT", "2", "STREAMS", "s", ">"]);
    assert_eq!(int(&mut c, &["XGROUP", "CREATECONSUMER", "s", "g", "amy"]), 1);
    let v = val(&mut c, &["XINFO", "CONSUMERS", "s", "g"]);
    let cs: Vec<Vec<(String, Value)>> = list(&v).iter().cloned().map(pairs).collect();
    assert_eq!(names(&cs[0]), v74(vec!["name", "pending", "idle", "inactive"], vec!["name", "pending", "idle"]));
    assert_eq!(*get(&cs[0], "name"), bulk("amy"));
    assert_eq!(get_int(&cs[0], "pending"), 0);
    assert_eq!(*get(&cs[1], "name"), bulk("zed"));
    assert_eq!(get_int(&cs[1], "pending"), 2);
    assert!((0..5000).contains(&get_int(&cs[1], "idle")));
    let mut c3 = s.client3();
    let v3 = val(&mut c3, &["XINFO", "CONSUMERS", "s", "g"]);
    assert!(list(&v3).iter().all(|m| matches!(m, Value::Map(_))), "{v3:?}");
}

/// Redis 7.2: `idle` counts from the last attempted interaction, `inactive` from the last successful one (-1 when
/// there was none), and XINFO STREAM FULL shows the matching `seen-time` and `active-time`.
#[test]
fn xinfo_consumers_inactive_and_active_time() {
    if newer_than_redis70("XINFO CONSUMERS inactive and active-time arrived in 7.2") {
        return;
    }
    let s = Server::with_shards(1);
    let mut c = s.client();
    ok(&mut c, &["XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"]);
    val(&mut c, &["XREADGROUP", "GROUP", "g", "alice", "COUNT", "1", "STREAMS", "s", ">"]);
    let consumer = |c: &mut redis::Connection| {
        let v = val(c, &["XINFO", "CONSUMERS", "s", "g"]);
        pairs(list(&v)[0].clone())
    };
    // Only letting time pass: there is no reply to wait for.
    std::thread::sleep(Duration::from_millis(60));
    let a = consumer(&mut c);
    assert!(get_int(&a, "idle") >= 50, "{a:?}");
    assert_eq!(get_int(&a, "inactive"), -1);

    xadd(&mut c, "s", "1-0");
    val(&mut c, &["XREADGROUP", "GROUP", "g", "alice", "COUNT", "1", "STREAMS", "s", ">"]);
    let a = consumer(&mut c);
    assert!(get_int(&a, "idle") < 50 && get_int(&a, "inactive") < 50, "{a:?}");
    std::thread::sleep(Duration::from_millis(60));
    // A read that finds nothing is an interaction but not an active one.
    val(&mut c, &["XREADGROUP", "GROUP", "g", "alice", "COUNT", "1", "STREAMS", "s", ">"]);
    let a = consumer(&mut c);
    assert!(get_int(&a, "idle") < 50, "{a:?}");
    assert!(get_int(&a, "inactive") >= 50, "{a:?}");
    let full = pairs(val(&mut c, &["XINFO", "STREAM", "s", "FULL"]));
    let g = pairs(list(get(&full, "groups"))[0].clone());
    let alice = pairs(list(get(&g, "consumers"))[0].clone());
    assert!(get_int(&alice, "seen-time") - get_int(&alice, "active-time") >= 50, "{alice:?}");
    // A claim that claims something is an active interaction.
    val(&mut c, &["XCLAIM", "s", "g", "alice", "0", "1-0"]);
    assert!(get_int(&consumer(&mut c), "inactive") < 50);
}

#[test]
fn xinfo_errors() {
    let s = Server::with_shards(1);
    let mut c = s.client();
    for args in [&["XINFO", "STREAM", "nope"][..], &["XINFO", "GROUPS", "nope"], &["XINFO", "CONSUMERS", "nope", "g"]] {
        assert_eq!(err(&mut c, args), "ERR no such key", "{args:?}");
    }
    xadd(&mut c, "s", "1-0");
    let stream = "ERR unknown subcommand or wrong number of arguments for 'STREAM'. Try XINFO HELP.";
    let errors: Vec<(&[&str], String)> = vec![
        (&["XINFO", "CONSUMERS", "s", "g"], nogroup_for_key("g", "s")),
        (&["XINFO", "STREAM", "s", "FOO"], stream.into()),
        (&["XINFO", "STREAM", "s", "FULL", "FOO", "1"], stream.into()),
        (&["XINFO", "STREAM", "s", "FULL", "COUNT"], stream.into()),
        (&["XINFO", "STREAM", "s", "FULL", "COUNT", "x"], "ERR value is not an integer or out of range".into()),
        (&["XINFO", "FOO", "s"], "ERR unknown subcommand 'FOO'. Try XINFO HELP.".into()),
        (&["XINFO", "GROUPS", "s", "x"], "ERR wrong number of arguments for 'xinfo|groups' command".into()),
        (&["XINFO", "STREAM"], "ERR wrong number of arguments for 'xinfo|stream' command".into()),
        (&["XINFO"], "ERR wrong number of arguments for 'xinfo' command".into()),
    ];
    for (args, want) in &errors {
        assert_eq!(err(&mut c, args), *want, "{args:?}");
    }
}

#[test]
fn group_commands_on_other_types_are_wrongtype() {
    let s = Server::with_shards(1);
    let mut c = s.client();
    q::<()>(&mut c, &["RPUSH", "list", "a"]);
    let cases: &[&[&str]] = &[
        &["XGROUP", "CREATE", "list", "g", "0"],
        &["XGROUP", "CREATE", "list", "g", "$", "MKSTREAM"],
        &["XGROUP", "SETID", "list", "g", "0"],
        &["XGROUP", "DESTROY", "list", "g"],
        &["XGROUP", "CREATECONSUMER", "list", "g", "c"],
        &["XGROUP", "DELCONSUMER", "list", "g", "c"],
        &["XREADGROUP", "GROUP", "g", "c", "STREAMS", "list", ">"],
        &["XACK", "list", "g", "1-0"],
        &["XPENDING", "list", "g"],
        &["XPENDING", "list", "g", "-", "+", "10"],
        &["XCLAIM", "list", "g", "c", "0", "1-0"],
        &["XAUTOCLAIM", "list", "g", "c", "0", "0"],
        &["XINFO", "GROUPS", "list"],
        &["XINFO", "CONSUMERS", "list", "g"],
    ];
    for args in cases {
        assert_eq!(err(&mut c, args), WRONGTYPE, "{args:?}");
    }
    assert_eq!(q::<String>(&mut c, &["TYPE", "list"]), "list");
}

#[test]
fn copy_and_rename_carry_groups() {
    let s = Server::with_shards(4);
    let mut c = s.client();
    let k = spread("cp", 4);
    for id in ["1-0", "2-0"] {
        xadd(&mut c, &k[0], id);
    }
    ok(&mut c, &["XGROUP", "CREATE", &k[0], "g", "0"]);
    val(&mut c, &["XREADGROUP", "GROUP", "g", "alice", "COUNT", "1", "STREAMS", &k[0], ">"]);
    assert_eq!(int(&mut c, &["COPY", &k[0], &k[1]]), 1);
    // The copy has the group, its consumers and PEL, and goes its own way from there.
    assert_eq!(pel(&mut c, &k[1], "g"), owned(&[("1-0", "alice", 1)]));
    let v = val(&mut c, &["XREADGROUP", "GROUP", "g", "bob", "STREAMS", &k[1], ">"]);
    assert_eq!(v, read_reply(vec![(&k[1], fv(&["2-0"]))]));
    assert_eq!(int(&mut c, &["XACK", &k[1], "g", "1-0"]), 1);
    assert_eq!(pel(&mut c, &k[0], "g"), owned(&[("1-0", "alice", 1)]));
    assert_eq!(read_and_lag(&mut c, &k[0], "g"), (Value::Int(1), Value::Int(1)));
    assert_eq!(read_and_lag(&mut c, &k[1], "g"), (Value::Int(2), Value::Int(0)));
    xadd(&mut c, &k[1], "3-0");
    assert_eq!(int(&mut c, &["XLEN", &k[0]]), 2);
    // COPY onto an existing key needs REPLACE.
    assert_eq!(int(&mut c, &["COPY", &k[0], &k[1]]), 0);
    assert_eq!(int(&mut c, &["COPY", &k[0], &k[1], "REPLACE"]), 1);
    assert_eq!(int(&mut c, &["XLEN", &k[1]]), 2);
    assert_eq!(pel(&mut c, &k[1], "g"), owned(&[("1-0", "alice", 1)]));

    ok(&mut c, &["RENAME", &k[0], &k[2]]);
    assert_eq!(int(&mut c, &["EXISTS", &k[0]]), 0);
    assert_eq!(pel(&mut c, &k[2], "g"), owned(&[("1-0", "alice", 1)]));
    let v = val(&mut c, &["XREADGROUP", "GROUP", "g", "alice", "STREAMS", &k[2], ">"]);
    assert_eq!(v, read_reply(vec![(&k[2], fv(&["2-0"]))]));
    assert_eq!(err(&mut c, &["XREADGROUP", "GROUP", "g", "alice", "STREAMS", &k[0], ">"]), nogroup_read(&k[0], "g"));
    // The stream's own counters travel too.
    let info = pairs(val(&mut c, &["XINFO", "STREAM", &k[2]]));
    assert_eq!(get_int(&info, "entries-added"), 2);
    assert_eq!(*get(&info, "last-generated-id"), bulk("2-0"));
    assert_eq!(int(&mut c, &["RENAMENX", &k[2], &k[1]]), 0);
    assert_eq!(int(&mut c, &["RENAMENX", &k[2], &k[3]]), 1);
    assert_eq!(pel(&mut c, &k[3], "g").len(), 2);
}

#[test]
fn blocked_xreadgroup_is_woken_by_xadd_on_any_shard() {
    let s = Server::with_shards(4);
    let mut c = s.client();
    let k = spread("b", 4);
    for key in &k {
        ok(&mut c, &["XGROUP", "CREATE", key, "g", "$", "MKSTREAM"]);
    }
    let mut args = vec!["XREADGROUP", "GROUP", "g", "alice", "BLOCK", "0", "STREAMS"];
    args.extend(k.iter().map(|s| s.as_str()));
    args.extend([">"; 4]);
    for (i, key) in k.iter().enumerate() {
        let h = spawn_cmd(&s, &args);
        wait_blocked(&mut c, 1);
        let id = format!("{}-0", i + 1);
        xadd(&mut c, key, &id);
        assert_eq!(h.join().unwrap(), Ok(read_reply(vec![(key, fv(&[&id]))])));
        // What a blocked read delivers is pending like any other delivery.
        assert_eq!(pel(&mut c, key, "g"), owned(&[(&id, "alice", 1)]));
    }
    // A group that has not yet read the stream's entries is served at once.
    ok(&mut c, &["XGROUP", "SETID", &k[0], "g", "0"]);
    let h = spawn_cmd(&s, &args);
    assert_eq!(h.join().unwrap(), Ok(read_reply(vec![(&k[0], fv(&["1-0"]))])));
    // BLOCK with a history ID does not block.
    let h = spawn_cmd(&s, &["XREADGROUP", "GROUP", "g", "bob", "BLOCK", "0", "STREAMS", &k[1], "0"]);
    assert_eq!(h.join().unwrap(), Ok(read_reply(vec![(&k[1], vec![])])));
    // A timeout reads nothing.
    let start = Instant::now();
    let v = val(&mut c, &["XREADGROUP", "GROUP", "g", "bob", "BLOCK", "30", "STREAMS", &k[1], &k[2], ">", ">"]);
    assert_eq!(v, Value::Nil);
    assert!(start.elapsed() >= Duration::from_millis(30));
    assert_eq!(blocked_clients(&mut c), 0);
}

#[test]
fn blocked_xreadgroup_waiters_are_served_in_order() {
    for shards in [1, 4] {
        let s = Server::with_shards(shards);
        let mut c = s.client();
        ok(&mut c, &["XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"]);
        let block = |name: &str| {
            spawn_cmd(&s, &["XREADGROUP", "GROUP", "g", name, "COUNT", "1", "BLOCK", "0", "STREAMS", "s", ">"])
        };
        // One XADD at a time: the first blocked is served first.
        let mut hs = Vec::new();
        for (i, name) in ["a", "b", "c"].into_iter().enumerate() {
            hs.push(block(name));
            wait_blocked(&mut c, i + 1);
        }
        for id in ["1-0", "2-0", "3-0"] {
            xadd(&mut c, "s", id);
        }
        for (h, id) in hs.into_iter().zip(["1-0", "2-0", "3-0"]) {
            assert_eq!(h.join().unwrap(), Ok(read_reply(vec![("s", fv(&[id]))])));
        }
        assert_eq!(pel(&mut c, "s", "g"), owned(&[("1-0", "a", 1), ("2-0", "b", 1), ("3-0", "c", 1)]));

        // Three entries in one MULTI for two waiters: each takes one, in order, and the third waits for a reader.
        let mut hs = Vec::new();
        for (i, name) in ["d", "e"].into_iter().enumerate() {
            hs.push(block(name));
            wait_blocked(&mut c, i + 1);
        }
        let _: Value = redis::pipe()
            .atomic()
            .cmd("XADD")
            .arg("s")
            .arg("4-0")
            .arg("f")
            .arg("v")
            .cmd("XADD")
            .arg("s")
            .arg("5-0")
            .arg("f")
            .arg("v")
            .cmd("XADD")
            .arg("s")
            .arg("6-0")
            .arg("f")
            .arg("v")
            .query(&mut c)
            .unwrap();
        for (h, id) in hs.into_iter().zip(["4-0", "5-0"]) {
            assert_eq!(h.join().unwrap(), Ok(read_reply(vec![("s", fv(&[id]))])));
        }
        let h = block("f");
        assert_eq!(h.join().unwrap(), Ok(read_reply(vec![("s", fv(&["6-0"]))])));

        // Two XADDs in a pipeline serve two waiters, one each.
        let mut hs = Vec::new();
        for (i, name) in ["g", "h"].into_iter().enumerate() {
            hs.push(block(name));
            wait_blocked(&mut c, i + 1);
        }
        let _: (String, String) = redis::pipe()
            .cmd("XADD")
            .arg("s")
            .arg("7-0")
            .arg("f")
            .arg("v")
            .cmd("XADD")
            .arg("s")
            .arg("8-0")
            .arg("f")
            .arg("v")
            .query(&mut c)
            .unwrap();
        for (h, id) in hs.into_iter().zip(["7-0", "8-0"]) {
            assert_eq!(h.join().unwrap(), Ok(read_reply(vec![("s", fv(&[id]))])));
        }
        assert_eq!(blocked_clients(&mut c), 0);
        assert_eq!(read_and_lag(&mut c, "s", "g"), (Value::Int(8), Value::Int(0)));
    }
}

#[test]
fn blocked_xreadgroup_fails_when_its_key_is_deleted() {
    let s = Server::with_shards(4);
    let mut c = s.client();
    let k = spread("d", 2);
    for key in &k {
        ok(&mut c, &["XGROUP", "CREATE", key, "g", "$", "MKSTREAM"]);
    }
    let h = spawn_cmd(&s, &["XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", &k[0], &k[1], ">", ">"]);
    wait_blocked(&mut c, 1);
    assert_eq!(int(&mut c, &["DEL", &k[1]]), 1);
    let want = v74(nogroup_read(&k[1], "g"), "UNBLOCKED the stream key no longer exists".into());
    assert_eq!(h.join().unwrap(), Err(want));

    // The same when the key now holds another type.
    let h = spawn_cmd(&s, &["XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", &k[0], ">"]);
    wait_blocked(&mut c, 1);
    q::<()>(&mut c, &["SET", &k[0], "x"]);
    let want = v74(WRONGTYPE.to_string(), "UNBLOCKED the stream key no longer exists".into());
    assert_eq!(h.join().unwrap(), Err(want));
    assert_eq!(blocked_clients(&mut c), 0);
}

#[test]
fn blocked_xreadgroup_fails_when_its_group_is_destroyed() {
    let s = Server::with_shards(2);
    let mut c = s.client();
    ok(&mut c, &["XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"]);
    ok(&mut c, &["XGROUP", "CREATE", "s", "other", "$"]);
    let h = spawn_cmd(&s, &["XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "s", ">"]);
    wait_blocked(&mut c, 1);
    // Destroying another group leaves it waiting.
    assert_eq!(int(&mut c, &["XGROUP", "DESTROY", "s", "other"]), 1);
    wait_blocked(&mut c, 1);
    assert_eq!(int(&mut c, &["XGROUP", "DESTROY", "s", "g"]), 1);
    let want =
        v74(nogroup_read("s", "g"), "NOGROUP the consumer group this client was blocked on no longer exists".into());
    assert_eq!(h.join().unwrap(), Err(want));
    assert_eq!(blocked_clients(&mut c), 0);
}

/// Consumer A reads ten entries and dies without acknowledging them; consumer B, once they have been idle long
/// enough, takes them over with XAUTOCLAIM and acknowledges them. Delivery counts show the second delivery.
#[test]
fn crash_recovery_with_xautoclaim() {
    let s = Server::with_shards(4);
    let mut c = s.client();
    ok(&mut c, &["XGROUP", "CREATE", "jobs", "workers", "$", "MKSTREAM"]);
    let mut p = redis::pipe();
    for i in 1..=15 {
        p.cmd("XADD").arg("jobs").arg(format!("{i}-0")).arg("job").arg(i.to_string()).ignore();
    }
    p.query::<()>(&mut c).unwrap();
    let ids: Vec<String> = (1..=15).map(|i| format!("{i}-0")).collect();

    let mut a = s.client();
    let v = val(&mut a, &["XREADGROUP", "GROUP", "workers", "A", "COUNT", "10", "STREAMS", "jobs", ">"]);
    let Value::Array(streams) = v else { panic!() };
    assert_eq!(list(&list(&streams[0])[1]).len(), 10);
    drop(a);

    let mut b = s.client();
    let v = val(&mut b, &["XREADGROUP", "GROUP", "workers", "B", "STREAMS", "jobs", ">"]);
    assert_eq!(list(&list(&list(&v)[0])[1]).len(), 5);
    let mut ack = vec!["XACK", "jobs", "workers"];
    ack.extend(ids[10..].iter().map(|s| s.as_str()));
    assert_eq!(int(&mut b, &ack), 5);
    // Nothing is idle 10 ms yet: B claims nothing and A keeps its ten.
    let none = val(&mut b, &["XAUTOCLAIM", "jobs", "workers", "B", "10000", "0"]);
    assert_eq!(none, Value::Array(vec![bulk("0-0"), Value::Array(vec![]), Value::Array(vec![])]));

    let deadline = Instant::now() + Duration::from_secs(10);
    while pending(&mut b, &["XPENDING", "jobs", "workers", "IDLE", "10", "-", "+", "100", "A"]).len() < 10 {
        assert!(Instant::now() < deadline, "A's entries never became idle");
        std::thread::sleep(Duration::from_millis(2));
    }
    // B claims in pages of four, following the cursor.
    let mut claimed = Vec::new();
    let mut cursor = "0-0".to_string();
    loop {
        let v = val(&mut b, &["XAUTOCLAIM", "jobs", "workers", "B", "10", &cursor, "COUNT", "4"]);
        let parts = list(&v);
        assert_eq!(parts[2], Value::Array(vec![]), "nothing was deleted");
        for e in list(&parts[1]) {
            let e = list(e);
            let job = text(&list(&e[1])[1]);
            assert_eq!(text(&e[0]), format!("{job}-0"));
            claimed.push(text(&e[0]));
        }
        cursor = text(&parts[0]);
        if cursor == "0-0" {
            break;
        }
    }
    assert_eq!(claimed, ids[..10]);
    let pel_now = pending(&mut b, &["XPENDING", "jobs", "workers", "-", "+", "100"]);
    assert!(pel_now.iter().all(|(_, who, idle, n)| who == "B" && *n == 2 && *idle < 10_000), "{pel_now:?}");
    // Just claimed: not idle 10 ms again yet for a second rescuer.
    let v = val(&mut c, &["XAUTOCLAIM", "jobs", "workers", "C", "10000", "0"]);
    assert_eq!(list(&list(&v)[1]).len(), 0);

    let mut ack = vec!["XACK", "jobs", "workers"];
    ack.extend(claimed.iter().map(|s| s.as_str()));
    assert_eq!(int(&mut b, &ack), 10);
    assert_eq!(int(&mut b, &ack), 0, "every entry is acknowledged once");
    let mut raw = s.raw();
    check(&mut raw, &["XPENDING", "jobs", "workers"], "*4\r\n:0\r\n$-1\r\n$-1\r\n*-1\r\n");
    // C, whose XAUTOCLAIM claimed nothing, exists since 7.2.
    let want = v74(&["A=0", "B=0", "C=0"][..], &["A=0", "B=0"]);
    assert_eq!(consumer_pending(&mut c, "jobs", "workers"), want);
    assert_eq!(read_and_lag(&mut c, "jobs", "workers"), (Value::Int(15), Value::Int(0)));
}

/// Four producers and eight consumers of one group over four streams on four shards: 100,000 entries, each
/// delivered and acknowledged exactly once, none lost.
#[test]
fn stress_producers_and_group_consumers() {
    const PRODUCERS: usize = 4;
    const CONSUMERS: usize = 8;
    const PER_PRODUCER: usize = 25_000;
    const TOTAL: usize = PRODUCERS * PER_PRODUCER;
    let s = Server::with_shards(4);
    let mut c = s.client();
    let keys = spread("q", 4);
    for k in &keys {
        ok(&mut c, &["XGROUP", "CREATE", k, "g", "$", "MKSTREAM"]);
    }
    let acked = Arc::new(AtomicUsize::new(0));
    let seen = Arc::new(Mutex::new(HashSet::with_capacity(TOTAL)));
    let deadline = Instant::now() + Duration::from_secs(60);

    let mut consumers = Vec::new();
    for i in 0..CONSUMERS {
        let (mut con, keys, acked, seen) = (s.client(), keys.clone(), acked.clone(), seen.clone());
        consumers.push(std::thread::spawn(move || {
            let name = format!("c{i}");
            let mut args = vec!["XREADGROUP", "GROUP", "g", &name, "COUNT", "10", "BLOCK", "100", "STREAMS"];
            args.extend(keys.iter().map(|k| k.as_str()));
            args.extend([">"; 4]);
            let mut mine = 0usize;
            while acked.load(Ordering::SeqCst) < TOTAL {
                assert!(Instant::now() < deadline, "consumers did not finish in time");
                let v: Value = q(&mut con, &args);
                let Value::Array(streams) = v else { continue };
                for st in streams {
                    let st = list(&st);
                    let key = text(&st[0]);
                    let entries = list(&st[1]);
                    assert!(!entries.is_empty() && entries.len() <= 10, "{} entries", entries.len());
                    let mut ack = redis::cmd("XACK");
                    ack.arg(&key).arg("g");
                    let mut batch = seen.lock().unwrap();
                    for e in entries {
                        let e = list(e);
                        ack.arg(text(&e[0]));
                        let payload = text(&list(&e[1])[1]);
                        assert!(batch.insert(payload.clone()), "{payload} delivered twice");
                    }
                    drop(batch);
                    let n: usize = ack.query(&mut con).unwrap();
                    assert_eq!(n, entries.len(), "an entry acknowledged twice or never pending");
                    mine += n;
                    acked.fetch_add(n, Ordering::SeqCst);
                }
            }
            mine
        }));
    }
    let mut producers = Vec::new();
    for (p, key) in keys.iter().enumerate() {
        let (mut con, key) = (s.client(), key.clone());
        producers.push(std::thread::spawn(move || {
            for chunk in 0..PER_PRODUCER / 100 {
                let mut pipe = redis::pipe();
                for j in chunk * 100..(chunk + 1) * 100 {
                    pipe.cmd("XADD").arg(&key).arg("*").arg("job").arg(format!("{p}:{j}")).ignore();
                }
                pipe.query::<()>(&mut con).unwrap();
            }
        }));
    }
    for h in producers {
        h.join().expect("a producer failed");
    }
    let per_consumer: Vec<usize> = consumers.into_iter().map(|h| h.join().expect("a consumer failed")).collect();
    assert_eq!(per_consumer.iter().sum::<usize>(), TOTAL);
    assert_eq!(acked.load(Ordering::SeqCst), TOTAL);
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), TOTAL);
    for p in 0..PRODUCERS {
        for j in 0..PER_PRODUCER {
            assert!(seen.contains(&format!("{p}:{j}")), "{p}:{j} was never delivered");
        }
    }
    for k in &keys {
        assert_eq!(int(&mut c, &["XLEN", k]), PER_PRODUCER as i64);
        assert_eq!(int(&mut c, &["XACK", k, "g", "0-1"]), 0);
        let summary: Value = val(&mut c, &["XPENDING", k, "g"]);
        assert_eq!(list(&summary)[0], Value::Int(0), "{k}: {summary:?}");
        assert_eq!(read_and_lag(&mut c, k, "g"), (Value::Int(PER_PRODUCER as i64), Value::Int(0)));
    }
    assert_eq!(blocked_clients(&mut c), 0);
}
