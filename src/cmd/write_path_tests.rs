//! The write path in-process: a bare shard (no thread, no socket) running real commands, with WATCH flags and
//! blocked clients registered on it by hand. What a command changed, and only that, reaches the watchers and the
//! waiters (`Shard::modified`).

use super::{registry, Call};
use crate::config::Config;
use crate::db::now_ms;
use crate::shard::blocking::{Block, Finish, Waiter, Wake};
use crate::shard::Shard;
use crate::shared::Shared;
use bytes::{Bytes, BytesMut};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

fn shard() -> Shard {
    Shard::new(0, Arc::new(Shared::new(Config::default(), None, Vec::new())), 16)
}

fn argv(line: &str) -> Vec<Bytes> {
    line.split(' ').map(|w| Bytes::copy_from_slice(w.as_bytes())).collect()
}

/// Runs one command line on the shard in `db` and returns its reply.
fn run(sh: &mut Shard, db: usize, line: &str) -> String {
    let args = argv(line);
    let cmd = registry().lookup(&args[0], None).expect("a known command");
    let call = Call { cmd: &cmd.op, args, db: db as u8, block: None, no_touch: false };
    let mut buf = BytesMut::new();
    sh.execute(&call, &mut buf, false, now_ms());
    String::from_utf8_lossy(&buf).into_owned()
}

/// Registers client `id` as blocked in `line` (a BLPOP) on its keys in `db`; returns its registration.
fn block(sh: &mut Shard, id: u64, db: usize, line: &str) -> Arc<Block> {
    let args = argv(line);
    let cmd = registry().lookup(&args[0], None).expect("a known command");
    let block = Block::new(id);
    let keys: Vec<Bytes> = cmd.key_indexes(&args).into_iter().map(|i| args[i].clone()).collect();
    let waiter =
        Waiter { block: block.clone(), cmd: &cmd.op, args: Arc::new(args), db, resp3: false, finish: Finish::Run };
    sh.blocking.register(&keys, waiter);
    block
}

/// The reply a served client was sent, or `None` if it is still waiting.
fn served(block: &Block) -> Option<String> {
    if block.is_waiting() {
        return None;
    }
    let rt = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
    match rt.block_on(block.woken()) {
        Wake::Served(reply, _, _) => Some(String::from_utf8_lossy(&reply).into_owned()),
        Wake::Retry { .. } => Some("retry".into()),
    }
}

#[test]
fn only_real_changes_touch_watchers_and_count_as_dirty() {
    // (set-up, the write, whether it changes "k")
    let cases = [
        ("SET k v", "PERSIST k", false),
        ("SET k v", "EXPIRE missing 10", false),
        ("SET k v", "SET k w NX", false),
        ("SET k v", "SETRANGE k 0 ", false),
        ("SET k v", "GETEX k", false),
        ("SET k v", "DEL missing", false),
        ("RPUSH k a", "LREM k 0 zzz", false),
        ("RPUSH k a", "LINSERT k BEFORE zzz x", false),
        ("SET x v", "LPOP k", false),
        ("SET k v", "SET k v", true),
        ("SET k 1", "INCRBY k 0", true),
        ("SET k v", "APPEND k ", true),
        ("SET k v", "EXPIRE k 100", true),
        ("SET k v", "DEL k", true),
        ("RPUSH k a", "LTRIM k 0 -1", true),
        ("RPUSH k a", "LSET k 0 a", true),
        ("RPUSH k a", "LPOP k", true),
    ];
    for (setup, write, changes) in cases {
        let mut sh = shard();
        run(&mut sh, 0, setup);
        let flag = Arc::new(AtomicBool::new(false));
        sh.watch(0, Bytes::from_static(b"k"), &flag);
        let dirty = sh.stats.dirty;
        run(&mut sh, 0, write);
        assert_eq!(flag.load(Ordering::Acquire), changes, "{setup} ; {write}");
        assert_eq!(sh.stats.dirty != dirty, changes, "{setup} ; {write}: dirty");
    }
}

#[test]
fn a_write_in_another_db_leaves_the_watcher_alone() {
    let mut sh = shard();
    let flag = Arc::new(AtomicBool::new(false));
    sh.watch(3, Bytes::from_static(b"k"), &flag);
    run(&mut sh, 0, "SET k v");
    assert!(!flag.load(Ordering::Acquire));
    run(&mut sh, 3, "SET k v");
    assert!(flag.load(Ordering::Acquire));
}

#[test]
fn a_push_serves_waiters_in_the_order_they_blocked() {
    let mut sh = shard();
    let first = block(&mut sh, 1, 0, "BLPOP q 0");
    let second = block(&mut sh, 2, 0, "BLPOP q other 0");
    let third = block(&mut sh, 3, 0, "BLPOP q 0");
    assert_eq!(run(&mut sh, 0, "RPUSH q a b"), ":2\r\n");
    assert_eq!(served(&first).as_deref(), Some("*2\r\n$1\r\nq\r\n$1\r\na\r\n"));
    assert_eq!(served(&second).as_deref(), Some("*2\r\n$1\r\nq\r\n$1\r\nb\r\n"));
    assert_eq!(served(&third), None);
    assert_eq!(run(&mut sh, 0, "LLEN q"), ":0\r\n");
    // A key that appears by RENAME serves the one left.
    run(&mut sh, 0, "RPUSH src x");
    run(&mut sh, 0, "RENAME src q");
    assert_eq!(served(&third).as_deref(), Some("*2\r\n$1\r\nq\r\n$1\r\nx\r\n"));
    assert_eq!(sh.blocking.blocked_clients(), 0);
}

#[test]
fn a_write_that_leaves_nothing_to_pop_serves_nobody() {
    let mut sh = shard();
    let waiting = block(&mut sh, 1, 0, "BLPOP q 0");
    run(&mut sh, 0, "SET q string");
    assert_eq!(served(&waiting), None);
    run(&mut sh, 0, "DEL q");
    run(&mut sh, 0, "LPUSH q v");
    assert_eq!(served(&waiting).as_deref(), Some("*2\r\n$1\r\nq\r\n$1\r\nv\r\n"));
}

#[test]
fn swapping_dbs_serves_the_clients_of_the_db_swapped_in() {
    let mut sh = shard();
    run(&mut sh, 1, "RPUSH k hello");
    let waiting = block(&mut sh, 1, 9, "BLPOP k 0");
    let flag = Arc::new(AtomicBool::new(false));
    sh.watch(9, Bytes::from_static(b"k"), &flag);
    sh.step(|sh| sh.swap_dbs(1, 9));
    assert_eq!(served(&waiting).as_deref(), Some("*2\r\n$1\r\nk\r\n$5\r\nhello\r\n"));
    assert!(flag.load(Ordering::Acquire));
}

#[test]
fn flushing_touches_only_watched_keys_that_were_live() {
    let mut sh = shard();
    run(&mut sh, 0, "SET live v");
    let (live, missing) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicBool::new(false)));
    sh.watch(0, Bytes::from_static(b"live"), &live);
    sh.watch(0, Bytes::from_static(b"missing"), &missing);
    sh.flush_db(0);
    assert!(live.load(Ordering::Acquire));
    assert!(!missing.load(Ordering::Acquire));
}
