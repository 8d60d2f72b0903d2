//! Redis 8.2's queue extras, which client libraries have started to send: XDELEX and XACKDEL, and the
//! KEEPREF/DELREF/ACKED strategies on XADD and XTRIM. Expectations follow the 8.2 documentation (the local
//! redis-server is 7.0 and does not have them), so these tests run against rill only.

mod common;
use common::*;

fn ints(c: &mut redis::Connection, args: &[&str]) -> Vec<i64> {
    q(c, args)
}

/// A stream `s` with entries 1-0..=5-0, a group `g` that has been given 1-0..=3-0 (pending), and a group `h` that
/// has been given nothing.
fn setup(c: &mut redis::Connection) {
    for i in 1..=5 {
        let _: String = q(c, &["XADD", "s", &format!("{i}-0"), "f", "v"]);
    }
    let _: String = q(c, &["XGROUP", "CREATE", "s", "g", "0"]);
    let _: redis::Value = q(c, &["XREADGROUP", "GROUP", "g", "c", "COUNT", "3", "STREAMS", "s", ">"]);
}

#[test]
fn xdelex_strategies() {
    if against_redis() {
        return;
    }
    let s = Server::with_shards(1);
    let mut c = s.client();
    setup(&mut c);
    // KEEPREF (the default) deletes and leaves the PEL alone; a missing ID is -1.
    assert_eq!(ints(&mut c, &["XDELEX", "s", "IDS", "2", "1-0", "9-0"]), vec![1, -1]);
    let summary: Vec<redis::Value> = q(&mut c, &["XPENDING", "s", "g"]);
    assert_eq!(summary[0], redis::Value::Int(3));
    // ACKED keeps what a group still needs: 2-0 is pending in g, 4-0 not yet delivered to g.
    let _: String = q(&mut c, &["XGROUP", "CREATE", "s", "h", "$"]);
    assert_eq!(ints(&mut c, &["XDELEX", "s", "ACKED", "IDS", "2", "2-0", "4-0"]), vec![2, 2]);
    // DELREF deletes and drops the references from every group.
    assert_eq!(ints(&mut c, &["XDELEX", "s", "DELREF", "IDS", "1", "2-0"]), vec![1]);
    let pending: Vec<redis::Value> = q(&mut c, &["XPENDING", "s", "g", "-", "+", "10"]);
    assert_eq!(pending.len(), 2, "1-0 (dangling) and 3-0 stay, 2-0 left with its entry");
    // A missing key answers -1 per ID without looking at them.
    assert_eq!(ints(&mut c, &["XDELEX", "nokey", "IDS", "2", "x", "y"]), vec![-1, -1]);
    assert!(err(&mut c, &["XDELEX", "s", "IDS", "0", "1-0"]).contains("Number of IDs must be a positive integer"));
    assert!(err(&mut c, &["XDELEX", "s", "IDS", "3", "1-0"]).contains("must match the number of arguments"));
    assert!(err(&mut c, &["XDELEX", "s", "KEEPREF", "DELREF", "IDS", "1", "1-0"]).contains("syntax error"));
    assert!(err(&mut c, &["XDELEX", "s", "KEEPREF"]).contains("wrong number of arguments"));
    let _: i64 = q(&mut c, &["RPUSH", "l", "x"]);
    assert!(err(&mut c, &["XDELEX", "l", "IDS", "1", "1-0"]).starts_with("WRONGTYPE"));
}

#[test]
fn xackdel_acknowledges_and_deletes() {
    if against_redis() {
        return;
    }
    let s = Server::with_shards(1);
    let mut c = s.client();
    setup(&mut c);
    // 4-0 is not pending in g: -1, and it stays.
    assert_eq!(ints(&mut c, &["XACKDEL", "s", "g", "IDS", "2", "1-0", "4-0"]), vec![1, -1]);
    assert_eq!(q::<i64>(&mut c, &["XLEN", "s"]), 4);
    // With a second group that has not read 2-0 yet, ACKED acknowledges but keeps the entry.
    let _: String = q(&mut c, &["XGROUP", "CREATE", "s", "h", "0"]);
    assert_eq!(ints(&mut c, &["XACKDEL", "s", "g", "ACKED", "IDS", "1", "2-0"]), vec![2]);
    assert_eq!(q::<i64>(&mut c, &["XLEN", "s"]), 4);
    assert_eq!(q::<i64>(&mut c, &["XACK", "s", "g", "2-0"]), 0, "acknowledged by XACKDEL");
    // Missing group or key: -1 each.
    assert_eq!(ints(&mut c, &["XACKDEL", "s", "nogroup", "IDS", "1", "3-0"]), vec![-1]);
    assert_eq!(ints(&mut c, &["XACKDEL", "nokey", "g", "IDS", "1", "3-0"]), vec![-1]);
}

#[test]
fn trimming_strategies_on_xadd_and_xtrim() {
    if against_redis() {
        return;
    }
    let s = Server::with_shards(1);
    let mut c = s.client();
    setup(&mut c);
    // ACKED: of the three the trim reaches (1-0..3-0), all are pending in g: nothing goes.
    assert_eq!(q::<i64>(&mut c, &["XTRIM", "s", "MAXLEN", "2", "ACKED"]), 0);
    let _: i64 = q(&mut c, &["XACK", "s", "g", "1-0", "2-0"]);
    assert_eq!(q::<i64>(&mut c, &["XTRIM", "s", "MAXLEN", "2", "ACKED"]), 2);
    // DELREF: trimming 3-0 drops it from g's PEL.
    let _: String = q(&mut c, &["XADD", "s", "MAXLEN", "2", "DELREF", "6-0", "f", "v"]);
    assert_eq!(q::<i64>(&mut c, &["XLEN", "s"]), 2);
    let pending: Vec<redis::Value> = q(&mut c, &["XPENDING", "s", "g", "-", "+", "10"]);
    assert!(pending.is_empty(), "{pending:?}");
    assert!(err(&mut c, &["XTRIM", "s", "MAXLEN", "2", "ACKED", "DELREF"]).contains("syntax error"));
}

/// An option Redis 7.4 does not know (a later version's XREADGROUP CLAIM) is a syntax error, not NOGROUP.
#[test]
fn xreadgroup_with_an_unknown_option_is_a_syntax_error() {
    let s = Server::with_shards(1);
    let mut c = s.client();
    let e = err(&mut c, &["XREADGROUP", "GROUP", "g", "c", "CLAIM", "10", "STREAMS", "nokey", ">"]);
    assert_eq!(e, "ERR syntax error");
}
