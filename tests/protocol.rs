//! The wire protocol at its edges, byte for byte as Redis 7.4 answers: inline commands, requests split across reads,
//! deep pipelines across shards, hostile lengths, garbage, the query buffer limit and clients that vanish mid-request.
//! Every case that closes a connection also checks that the server goes on serving another client on the same shard.
mod common;
use common::*;
use std::io::{Read, Write};
use std::time::{Duration, Instant};

/// Sends `bytes` and expects exactly the replies `error` (ending with the error) followed by the server closing
/// the connection.
fn expect_error_and_close(s: &Server, bytes: &[u8], error: &[u8]) {
    let mut raw = s.raw();
    raw.send(bytes);
    let mut got = Vec::new();
    while got.len() < error.len() {
        got.extend(raw.reply());
    }
    assert_eq!(String::from_utf8_lossy(&got), String::from_utf8_lossy(error));
    assert!(raw.closed(), "connection should close after {:?}", String::from_utf8_lossy(error));
    still_serving(s);
}

/// A fresh client gets answers (on a one-shard server it shares the shard with the client that misbehaved). With
/// requirepass the answer is NOAUTH, which serves as well.
fn still_serving(s: &Server) {
    let mut raw = s.raw();
    raw.send(b"PING\r\n");
    let reply = raw.reply();
    assert!(reply == b"+PONG\r\n" || reply == b"-NOAUTH Authentication required.\r\n", "{reply:?}");
}

/// Everything the server sends until it closes the connection (for replies that are not UTF-8, which
/// `Raw::reply` does not parse).
fn rest_until_closed(raw: &mut Raw) -> Vec<u8> {
    let mut rest = Vec::new();
    raw.s.read_to_end(&mut rest).expect("read until close");
    rest
}

/// Sends `bytes` ignoring write errors: the server may close the socket before it has read them all.
fn send_lossy(raw: &mut Raw, bytes: &[u8]) {
    let _ = raw.s.write_all(bytes);
}

/// Waits, within a deadline, until `cond` holds (for effects on a connection whose replies cannot be awaited).
fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn bulk_request(args: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

#[test]
fn inline_commands() {
    let s = Server::with_shards(1);
    let mut raw = s.raw();
    raw.send(b"PING\r\n");
    raw.expect(b"+PONG\r\n");
    raw.send(b"PING\n");
    raw.expect(b"+PONG\r\n");
    // Blank lines (and lines of blanks) are skipped without a reply.
    raw.send(b"\r\n\n   \r\n\t\nPING\r\n");
    raw.expect(b"+PONG\r\n");
    raw.send(b"SET \"a b\" 'c'\r\nGET \"a b\"\r\n");
    raw.expect(b"+OK\r\n");
    raw.expect(b"$1\r\nc\r\n");
    // Double quotes understand escapes, single quotes only \'; a vertical tab inside a word is not a separator.
    raw.send(b"ECHO \"\\x41\\n\\\"\"\r\nECHO 'it\\'s'\r\nECHO a\x0bb\r\n");
    raw.expect(b"$3\r\nA\n\"\r\n");
    raw.expect(b"$4\r\nit's\r\n");
    raw.expect(b"$3\r\na\x0bb\r\n");
    // Commands before the bad line are answered, then the error, then the connection closes.
    raw.send(b"PING\r\nECHO \"abc\r\nPING\r\n");
    raw.expect(b"+PONG\r\n");
    raw.expect(b"-ERR Protocol error: unbalanced quotes in request\r\n");
    assert!(raw.closed());
    // A closing quote must be followed by a space.
    expect_error_and_close(&s, b"ECHO \"a\"b\r\n", b"-ERR Protocol error: unbalanced quotes in request\r\n");
    expect_error_and_close(&s, b"ECHO 'a\r\n", b"-ERR Protocol error: unbalanced quotes in request\r\n");
    // More than 64 KiB and still no newline.
    expect_error_and_close(&s, &[b'a'; 64 * 1024 + 1], b"-ERR Protocol error: too big inline request\r\n");
}

#[test]
fn a_nul_byte_hides_the_end_of_line_as_in_redis() {
    // Redis finds line ends with strchr, which stops at NUL: the request waits for more input, and once 64 KiB
    // have piled up without a visible newline it is too big. (This once hung the shard in an endless loop.)
    let s = Server::with_shards(1);
    let mut raw = s.raw();
    raw.send(b"PING\0\r\n");
    still_serving(&s);
    send_lossy(&mut raw, &vec![b'\n'; 64 * 1024]);
    raw.expect(b"-ERR Protocol error: too big inline request\r\n");
    assert!(raw.closed());
    // Inside a bulk, NUL is data.
    let mut raw = s.raw();
    raw.cmd(&[b"ECHO", b"a\0b"]);
    raw.expect(b"$3\r\na\0b\r\n");
    still_serving(&s);
}

#[test]
fn a_pipeline_written_one_byte_at_a_time() {
    let s = Server::with_shards(4);
    let mut raw = s.raw();
    let mut pipeline = bulk_request(&[b"SET", b"split:k", b"hello world"]);
    pipeline.extend_from_slice(b"GET split:k\r\n");
    pipeline.extend(bulk_request(&[b"ECHO", b"a\r\nb"]));
    pipeline.extend_from_slice(b"\r\n*0\r\n*-1\r\nPING\n");
    pipeline.extend(bulk_request(&[b"APPEND", b"split:k", b"!"]));
    for b in &pipeline {
        raw.send(std::slice::from_ref(b));
    }
    raw.expect(b"+OK\r\n");
    raw.expect(b"$11\r\nhello world\r\n");
    raw.expect(b"$4\r\na\r\nb\r\n");
    raw.expect(b"+PONG\r\n");
    raw.expect(b":12\r\n");
}

/// 1000 requests in one write, mixing SELECT, SET, GET and PING over keys owned by different shards: the replies
/// come back in request order, each GET seeing the database the last SELECT chose.
#[test]
fn a_thousand_requests_in_one_write() {
    for shards in [1, 4] {
        let s = Server::with_shards(shards);
        let keys: Vec<String> = (0..13).map(|i| format!("pipe:{i}")).collect();
        if shards == 4 {
            let owners: std::collections::HashSet<usize> =
                keys.iter().map(|k| rill::shard::slot::key_shard(k.as_bytes(), shards)).collect();
            assert_eq!(owners.len(), 4, "the keys should cover every shard");
        }
        let mut model: std::collections::HashMap<(usize, &str), String> = Default::default();
        let mut db = 0;
        let mut request = Vec::new();
        let mut expected = Vec::new();
        for i in 0..1000usize {
            let key = keys[(i * 7) % keys.len()].as_str();
            match i % 5 {
                0 => {
                    db = (i / 5) % 2;
                    request.extend(bulk_request(&[b"SELECT", db.to_string().as_bytes()]));
                    expected.extend_from_slice(b"+OK\r\n");
                }
                1 | 4 => {
                    let value = format!("v{i}");
                    request.extend(bulk_request(&[b"SET", key.as_bytes(), value.as_bytes()]));
                    expected.extend_from_slice(b"+OK\r\n");
                    model.insert((db, key), value);
                }
                2 => {
                    request.extend(bulk_request(&[b"GET", key.as_bytes()]));
                    match model.get(&(db, key)) {
                        Some(v) => expected.extend_from_slice(format!("${}\r\n{v}\r\n", v.len()).as_bytes()),
                        None => expected.extend_from_slice(b"$-1\r\n"),
                    }
                }
                _ => {
                    request.extend_from_slice(b"PING\r\n");
                    expected.extend_from_slice(b"+PONG\r\n");
                }
            }
        }
        let mut raw = s.raw();
        raw.send(&request);
        let mut got = Vec::new();
        for _ in 0..1000 {
            got.extend(raw.reply());
        }
        assert!(got == expected, "shards={shards}: replies differ from the model");
    }
}

#[test]
fn huge_declared_lengths() {
    let s = Server::with_shards(1);
    expect_error_and_close(&s, b"*3000000000\r\n", b"-ERR Protocol error: invalid multibulk length\r\n");
    expect_error_and_close(&s, b"*2147483648\r\n", b"-ERR Protocol error: invalid multibulk length\r\n");
    expect_error_and_close(&s, b"*1\r\n$600000000\r\n", b"-ERR Protocol error: invalid bulk length\r\n");
    expect_error_and_close(&s, b"*1\r\n$536870913\r\n", b"-ERR Protocol error: invalid bulk length\r\n");
    // Within the limits, a huge count is accepted and simply waits for its arguments.
    let mut raw = s.raw();
    raw.send(b"*2147483647\r\n$4\r\nECHO\r\n");
    still_serving(&s);
}

#[test]
fn unauthenticated_clients_get_small_limits() {
    let s = Server::start(&["--shards", "1", "--requirepass", "pw"]);
    let unauth_mbulk = b"-ERR Protocol error: unauthenticated multibulk length\r\n";
    let unauth_bulk = b"-ERR Protocol error: unauthenticated bulk length\r\n";
    expect_error_and_close(&s, b"*1048577\r\n", unauth_mbulk);
    expect_error_and_close(&s, b"*11\r\n", unauth_mbulk);
    expect_error_and_close(&s, b"*1\r\n$16385\r\n", unauth_bulk);
    // The command before the oversized one is answered first.
    expect_error_and_close(
        &s,
        b"PING\r\n*12\r\n",
        b"-NOAUTH Authentication required.\r\n-ERR Protocol error: unauthenticated multibulk length\r\n",
    );
    // A wrong password does not lift the limits.
    let mut raw = s.raw();
    raw.send(&bulk_request(&[b"AUTH", b"nope"]));
    raw.send(b"*11\r\n");
    raw.expect(b"-WRONGPASS invalid username-password pair or user is disabled.\r\n");
    raw.expect(unauth_mbulk);
    assert!(raw.closed());

    // At the limits: 10 arguments, 16 KiB bulks.
    let mut raw = s.raw();
    raw.send(&bulk_request(&[b"ECHO", &[b'x'; 16384]]));
    raw.expect(b"-NOAUTH Authentication required.\r\n");
    raw.send(&bulk_request(&[&b"PING"[..]; 10]));
    raw.expect(b"-NOAUTH Authentication required.\r\n");
    // AUTH lifts them for the very next request of the same write.
    let mut pipeline = bulk_request(&[b"AUTH", b"pw"]);
    pipeline.extend(bulk_request(&[b"ECHO", &[b'y'; 20000]]));
    pipeline.extend(b"*12\r\n$4\r\nPING\r\n".iter().chain(&b"$1\r\na\r\n".repeat(11)));
    raw.send(&pipeline);
    raw.expect(b"+OK\r\n");
    let mut big = b"$20000\r\n".to_vec();
    big.extend_from_slice(&[b'y'; 20000]);
    big.extend_from_slice(b"\r\n");
    raw.expect(&big);
    raw.expect(b"-ERR wrong number of arguments for 'ping' command\r\n");
}

/// A declared 512 MB bulk whose bytes never arrive costs the server what arrived, not what was declared.
#[test]
fn a_declared_giant_bulk_does_not_reserve_its_size() {
    let s = Server::with_shards(1);
    let mut c = s.client();
    assert_eq!(q::<String>(&mut c, &["PING"]), "PONG");
    let before = rss_kib(s.pid());
    let mut raw = s.raw();
    let mut head = b"*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$536870912\r\n".to_vec();
    head.extend(vec![b'x'; 4 << 20]);
    raw.send(&head);
    // Wait until the server holds those 4 MiB of the bulk in its query buffer.
    eventually("the partial bulk to be buffered", || {
        let list: String = q(&mut c, &["CLIENT", "LIST"]);
        list.lines()
            .any(|l| l.split(' ').any(|f| f.strip_prefix("qbuf=").and_then(|n| n.parse::<u64>().ok()) >= Some(4 << 20)))
    });
    let after = rss_kib(s.pid());
    assert!(after < before + 64 * 1024, "RSS grew from {before} KiB to {after} KiB");
    // Other clients are unaffected, on the same shard.
    assert_eq!(q::<String>(&mut c, &["SET", "small", "v"]), "OK");
    assert_eq!(q::<String>(&mut c, &["GET", "small"]), "v");
    still_serving(&s);
    assert_eq!(q::<Option<String>>(&mut c, &["GET", "big"]), None);
}

#[test]
fn garbage_closes_the_connection() {
    let s = Server::with_shards(1);
    expect_error_and_close(&s, b"*1\r\n+x\r\n", b"-ERR Protocol error: expected '$', got '+'\r\n");
    expect_error_and_close(&s, b"*x\r\n", b"-ERR Protocol error: invalid multibulk length\r\n");
    expect_error_and_close(&s, b"*01\r\n", b"-ERR Protocol error: invalid multibulk length\r\n");
    expect_error_and_close(&s, b"*1\r\n$-1\r\n", b"-ERR Protocol error: invalid bulk length\r\n");
    expect_error_and_close(&s, b"*1\r\n$-5\r\n", b"-ERR Protocol error: invalid bulk length\r\n");
    expect_error_and_close(&s, b"*1\r\n$+5\r\n", b"-ERR Protocol error: invalid bulk length\r\n");
    // Binary bytes: the offending byte is quoted raw; a CR or LF becomes a space.
    let mut raw = s.raw();
    raw.send(b"*1\r\n\x80\xff\r\n");
    assert_eq!(rest_until_closed(&mut raw), b"-ERR Protocol error: expected '$', got '\x80'\r\n");
    still_serving(&s);
    expect_error_and_close(&s, b"*1\r\n\r\n", b"-ERR Protocol error: expected '$', got ' '\r\n");
    expect_error_and_close(&s, b"*\x01\x02\x03\r\n", b"-ERR Protocol error: invalid multibulk length\r\n");
    // Earlier requests of the same write are answered before the error.
    expect_error_and_close(
        &s,
        b"*2\r\n$4\r\nECHO\r\n$2\r\nab\r\n*1\r\n:1\r\nPING\r\n",
        b"$2\r\nab\r\n-ERR Protocol error: expected '$', got ':'\r\n",
    );
    // A bulk's trailing CRLF is not checked, as in Redis.
    let mut raw = s.raw();
    raw.send(b"*2\r\n$4\r\nECHO\r\n$3\r\nabcXY*1\r\n$4\r\nPING\r\n");
    raw.expect(b"$3\r\nabc\r\n");
    raw.expect(b"+PONG\r\n");
    // Header lines longer than 64 KiB without their CR.
    let mut long = b"*".to_vec();
    long.extend(vec![b'1'; 64 * 1024 + 1]);
    expect_error_and_close(&s, &long, b"-ERR Protocol error: too big mbulk count string\r\n");
    let mut long = b"*1\r\n$".to_vec();
    long.extend(vec![b'1'; 64 * 1024 + 1]);
    expect_error_and_close(&s, &long, b"-ERR Protocol error: too big bulk count string\r\n");
}

#[test]
fn query_buffer_limit() {
    let s = Server::start(&["--shards", "1", "--client-query-buffer-limit", "1mb"]);
    let set_of = |n: usize| {
        let mut r = format!("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n${n}\r\n").into_bytes();
        r.extend(vec![b'x'; n]);
        r.extend_from_slice(b"\r\n");
        r
    };
    // A 2 MiB bulk, half sent: closed without a reply.
    let mut raw = s.raw();
    send_lossy(&mut raw, &set_of(2 << 20)[..1 << 20 | 1 << 19]);
    assert!(raw.closed());
    still_serving(&s);
    // The bulk and its CRLF must fit in the limit even when they arrive whole (Redis 7.0 measured: 1048574 fits).
    let mut raw = s.raw();
    raw.send(&set_of(1048574));
    raw.expect(b"+OK\r\n");
    let mut raw = s.raw();
    send_lossy(&mut raw, &set_of(1048575));
    assert!(raw.closed());
    still_serving(&s);
    let mut c = s.client();
    assert_eq!(q::<usize>(&mut c, &["STRLEN", "k"]), 1048574);
}

#[test]
fn clients_that_vanish_mid_request() {
    let s = Server::with_shards(1);
    let mut c = s.client();
    // Half a bulk, then gone.
    let mut raw = s.raw();
    raw.send(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$10\r\nabc");
    drop(raw);
    // Mid-pipeline: the complete requests ran, the partial one never does.
    let mut raw = s.raw();
    raw.send(b"SET a 1\r\nSET b 2\r\n*3\r\n$3\r\nSET\r\n$1\r\nc\r\n$1");
    raw.expect(b"+OK\r\n");
    raw.expect(b"+OK\r\n");
    drop(raw);
    // A pipeline whose replies are never read.
    let mut raw = s.raw();
    raw.send(&b"PING\r\n".repeat(10_000));
    raw.send(b"*2\r\n$4\r\nECHO\r\n$5\r\nab");
    drop(raw);
    eventually("the vanished clients to be gone", || {
        let list: String = q(&mut c, &["CLIENT", "LIST"]);
        list.lines().count() == 1
    });
    assert_eq!(
        q::<Vec<Option<String>>>(&mut c, &["MGET", "a", "b", "c", "k"]),
        vec![Some("1".into()), Some("2".into()), None, None]
    );
    still_serving(&s);
}

/// Connections on one shard share its read buffers, each holding one only while it reads and runs requests. Many
/// clients whose requests arrive in interleaved pieces (small ones, values larger than the 4 KiB a connection copies
/// aside between reads, and larger than a whole buffer) must each get exactly their own replies.
#[test]
fn interleaved_partial_requests_on_shared_read_buffers() {
    let s = Server::with_shards(1);
    let clients = 8;
    let mut raws: Vec<Raw> = (0..clients).map(|_| s.raw()).collect();
    let mut streams = Vec::new();
    let mut expected = Vec::new();
    for c in 0..clients {
        let mut bytes = Vec::new();
        let mut replies = Vec::new();
        for (i, size) in [3usize, 5000, 40_000, 17, 4096, 9].into_iter().enumerate() {
            let key = format!("shared:{c}:{i}");
            let value: Vec<u8> = (0..size).map(|j| b'a' + ((c * 7 + i * 3 + j) % 26) as u8).collect();
            bytes.extend(bulk_request(&[b"SET", key.as_bytes(), &value]));
            bytes.extend(bulk_request(&[b"GET", key.as_bytes()]));
            bytes.extend_from_slice(format!("ECHO client-{c}-{i}\r\n").as_bytes());
            replies.push(b"+OK\r\n".to_vec());
            replies.push([format!("${size}\r\n").as_bytes(), &value[..], b"\r\n"].concat());
            let echo = format!("client-{c}-{i}");
            replies.push(format!("${}\r\n{echo}\r\n", echo.len()).into_bytes());
        }
        streams.push(bytes);
        expected.push(replies);
    }
    // Round-robin over the clients in pieces of uneven sizes, so that reads end mid-request everywhere.
    let pieces = [1usize, 7, 100, 3000, 13, 9000, 2];
    let mut at = vec![0; clients];
    let mut turn = 0;
    while at.iter().zip(&streams).any(|(a, st)| *a < st.len()) {
        for c in 0..clients {
            let n = pieces[(turn + c) % pieces.len()].min(streams[c].len() - at[c]);
            if n > 0 {
                raws[c].send(&streams[c][at[c]..at[c] + n]);
                at[c] += n;
            }
        }
        turn += 1;
    }
    for (c, raw) in raws.iter_mut().enumerate() {
        for (i, want) in expected[c].iter().enumerate() {
            let got = raw.reply();
            assert!(
                &got == want,
                "client {c}, reply {i}: got {:?}",
                String::from_utf8_lossy(&got[..got.len().min(80)])
            );
        }
    }
}

/// A blocked client hands its read buffer back; what it sends while blocked, including half a request, is kept and
/// run, in order, once the block ends.
#[test]
fn requests_sent_while_blocked_run_after_the_block() {
    let s = Server::with_shards(1);
    let mut blocked = s.raw();
    let mut c = s.client();
    let mut first = bulk_request(&[b"BLPOP", b"shared:q", b"0"]);
    first.extend(bulk_request(&[b"ECHO", b"queued behind the pop"]));
    blocked.send(&first);
    wait_blocked(&mut c, 1);
    let mut rest = bulk_request(&[b"SET", b"shared:k", &[b'v'; 6000]]);
    rest.extend(bulk_request(&[b"STRLEN", b"shared:k"]));
    rest.extend_from_slice(b"PING\r\n");
    let (now, later) = rest.split_at(3000);
    blocked.send(now);
    // Another client uses the shard's buffers meanwhile.
    let _: () = q(&mut c, &["SET", "shared:other", "x"]);
    let _: i64 = q(&mut c, &["RPUSH", "shared:q", "item"]);
    blocked.expect(b"*2\r\n$8\r\nshared:q\r\n$4\r\nitem\r\n");
    blocked.expect(b"$21\r\nqueued behind the pop\r\n");
    blocked.send(later);
    blocked.expect(b"+OK\r\n");
    blocked.expect(b":6000\r\n");
    blocked.expect(b"+PONG\r\n");
}
