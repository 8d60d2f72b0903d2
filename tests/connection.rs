//! Connection commands and CLIENT, as Redis 7.4 answers them: replies byte for byte where the shape matters.
mod common;
use common::*;
use std::io::Read;

/// Reads everything until the server closes the connection (after QUIT): the bytes that really arrived.
fn rest_until_closed(raw: &mut Raw) -> String {
    let mut rest = Vec::new();
    raw.s.read_to_end(&mut rest).expect("read until close");
    String::from_utf8_lossy(&rest).into_owned()
}

fn client_info(c: &mut redis::Connection) -> String {
    q::<String>(c, &["CLIENT", "INFO"])
}

/// The value of `field=` in a CLIENT LIST / INFO line.
fn field<'a>(line: &'a str, name: &str) -> &'a str {
    let prefix = format!("{name}=");
    line.split(' ').find_map(|f| f.strip_prefix(prefix.as_str())).unwrap_or_else(|| panic!("{name} in {line}"))
}

#[test]
fn ping_and_echo() {
    let s = Server::with_shards(1);
    let mut raw = s.raw();
    raw.cmd(&[b"PING"]);
    raw.expect(b"+PONG\r\n");
    raw.cmd(&[b"PING", b"hello"]);
    raw.expect(b"$5\r\nhello\r\n");
    raw.cmd(&[b"PING", b"a", b"b"]);
    raw.expect(b"-ERR wrong number of arguments for 'ping' command\r\n");
    raw.cmd(&[b"ECHO", b"hi there"]);
    raw.expect(b"$8\r\nhi there\r\n");
    raw.cmd(&[b"ECHO"]);
    raw.expect(b"-ERR wrong number of arguments for 'echo' command\r\n");
}

#[test]
fn hello_switches_protocol_and_describes_the_server() {
    let s = Server::with_shards(1);
    let mut raw = s.raw();
    raw.cmd(&[b"CLIENT", b"ID"]);
    let id = String::from_utf8(raw.reply()).unwrap();
    let id = id.trim_start_matches(':').trim_end();
    raw.cmd(&[b"HELLO", b"3"]);
    let expected = format!(
        "%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$5\r\n7.4.0\r\n$5\r\nproto\r\n:3\r\n$2\r\nid\r\n:{id}\r\n\
         $4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n"
    );
    raw.expect(expected.as_bytes());
    // RESP3 now: a null is `_`.
    raw.cmd(&[b"CLIENT", b"GETNAME"]);
    raw.expect(b"_\r\n");
    // HELLO without a version keeps the protocol.
    raw.cmd(&[b"HELLO"]);
    assert!(raw.reply().starts_with(b"%7\r\n"));
    raw.cmd(&[b"HELLO", b"2", b"SETNAME", b"conn1"]);
    let reply = raw.reply();
    assert!(reply.starts_with(b"*14\r\n$6\r\nserver\r\n"), "{:?}", String::from_utf8_lossy(&reply));
    assert!(String::from_utf8_lossy(&reply).contains("$5\r\nproto\r\n:2\r\n"));
    raw.cmd(&[b"CLIENT", b"GETNAME"]);
    raw.expect(b"$5\r\nconn1\r\n");

    raw.cmd(&[b"HELLO", b"4"]);
    raw.expect(b"-NOPROTO unsupported protocol version\r\n");
    raw.cmd(&[b"HELLO", b"1"]);
    raw.expect(b"-NOPROTO unsupported protocol version\r\n");
    raw.cmd(&[b"HELLO", b"abc"]);
    raw.expect(b"-ERR Protocol version is not an integer or out of range\r\n");
    raw.cmd(&[b"HELLO", b"3", b"FOO"]);
    raw.expect(b"-ERR Syntax error in HELLO option 'FOO'\r\n");
    raw.cmd(&[b"HELLO", b"3", b"AUTH", b"default"]);
    raw.expect(b"-ERR Syntax error in HELLO option 'AUTH'\r\n");
    raw.cmd(&[b"HELLO", b"3", b"SETNAME", b"a b"]);
    raw.expect(b"-ERR Client names cannot contain spaces, newlines or special characters.\r\n");
    // Without requirepass the default user takes any password; other users do not exist.
    raw.cmd(&[b"HELLO", b"2", b"AUTH", b"nobody", b"x"]);
    raw.expect(b"-WRONGPASS invalid username-password pair or user is disabled.\r\n");
    raw.cmd(&[b"HELLO", b"2", b"AUTH", b"default", b"anything"]);
    assert!(raw.reply().starts_with(b"*14\r\n"));

    // The redis crate's RESP3 handshake works and sees maps.
    let mut c3 = s.client3();
    assert_eq!(q::<String>(&mut c3, &["PING"]), "PONG");
    assert!(client_info(&mut c3).contains(" resp=3 "));
}

#[test]
fn auth_with_requirepass() {
    let s = Server::start(&["--requirepass", "secret", "--shards", "2"]);
    let mut raw = s.raw();
    raw.cmd(&[b"GET", b"k"]);
    raw.expect(b"-NOAUTH Authentication required.\r\n");
    raw.cmd(&[b"PING"]);
    raw.expect(b"-NOAUTH Authentication required.\r\n");
    raw.cmd(&[b"HELLO", b"3"]);
    raw.expect(
        b"-NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH \
          <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the \
          same time\r\n",
    );
    raw.cmd(&[b"AUTH", b"wrong"]);
    raw.expect(b"-WRONGPASS invalid username-password pair or user is disabled.\r\n");
    raw.cmd(&[b"AUTH", b"other", b"secret"]);
    raw.expect(b"-WRONGPASS invalid username-password pair or user is disabled.\r\n");
    raw.cmd(&[b"AUTH", b"a", b"b", b"c"]);
    raw.expect(b"-ERR syntax error\r\n");
    raw.cmd(&[b"HELLO", b"3", b"AUTH", b"default", b"wrong"]);
    raw.expect(b"-WRONGPASS invalid username-password pair or user is disabled.\r\n");
    raw.cmd(&[b"AUTH", b"secret"]);
    raw.expect(b"+OK\r\n");
    raw.cmd(&[b"SET", b"k", b"v"]);
    raw.expect(b"+OK\r\n");
    // RESET logs the connection out again.
    raw.cmd(&[b"RESET"]);
    raw.expect(b"+RESET\r\n");
    raw.cmd(&[b"GET", b"k"]);
    raw.expect(b"-NOAUTH Authentication required.\r\n");
    raw.cmd(&[b"HELLO", b"3", b"AUTH", b"default", b"secret"]);
    assert!(raw.reply().starts_with(b"%7\r\n"));
    raw.cmd(&[b"AUTH", b"default", b"secret"]);
    raw.expect(b"+OK\r\n");
}

/// redis-rs pipelines AUTH with its CLIENT SETINFO calls in one write: the requests after AUTH must run without
/// waiting for more bytes from the client.
#[test]
fn client_logs_in_through_its_url() {
    let s = Server::start(&["--requirepass", "secret", "--shards", "2"]);
    let url = format!("redis://:secret@127.0.0.1:{}/", s.port);
    let mut c =
        redis::Client::open(url).unwrap().get_connection_with_timeout(std::time::Duration::from_secs(5)).unwrap();
    let _: () = q(&mut c, &["SET", "k", "v"]);
    assert_eq!(q::<String>(&mut c, &["GET", "k"]), "v");
    assert!(q::<String>(&mut c, &["CLIENT", "INFO"]).contains(" lib-name=redis-rs "));
}

#[test]
fn auth_without_a_password_configured() {
    let s = Server::with_shards(1);
    let mut c = s.client();
    assert_eq!(
        err(&mut c, &["AUTH", "x"]),
        "ERR AUTH <password> called without any password configured for the default user. Are you sure your \
         configuration is correct?"
    );
    assert_eq!(q::<String>(&mut c, &["AUTH", "default", "anything"]), "OK");
    assert_eq!(err(&mut c, &["AUTH", "nobody", "x"]), "WRONGPASS invalid username-password pair or user is disabled.");
}

#[test]
fn select_ranges_and_isolation() {
    for shards in [1, 4] {
        let s = Server::with_shards(shards);
        let mut c = s.client();
        assert_eq!(err(&mut c, &["SELECT", "16"]), "ERR DB index is out of range");
        assert_eq!(err(&mut c, &["SELECT", "-1"]), "ERR DB index is out of range");
        assert_eq!(err(&mut c, &["SELECT", "abc"]), "ERR value is not an integer or out of range");
        assert_eq!(err(&mut c, &["SELECT", "4294967296"]), "ERR value is not an integer or out of range");
        assert_eq!(err(&mut c, &["SELECT"]), "ERR wrong number of arguments for 'select' command");
        let keys = ["a", "b", "c", "d", "e", "f"];
        assert_eq!(q::<String>(&mut c, &["SELECT", "1"]), "OK");
        for k in keys {
            let _: () = q(&mut c, &["SET", k, "in1"]);
        }
        assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 6);
        assert!(client_info(&mut c).contains(" db=1 "));
        assert_eq!(q::<String>(&mut c, &["SELECT", "0"]), "OK");
        for k in keys {
            assert_eq!(q::<Option<String>>(&mut c, &["GET", k]), None);
        }
        assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 0);
        assert_eq!(q::<String>(&mut c, &["SELECT", "15"]), "OK");
        assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 0);
    }
}

#[test]
fn quit_replies_then_closes() {
    let s = Server::with_shards(1);
    let mut raw = s.raw();
    raw.send(b"*1\r\n$4\r\nQUIT\r\n*1\r\n$4\r\nPING\r\n");
    assert_eq!(rest_until_closed(&mut raw), "+OK\r\n");
}

#[test]
fn reset_restores_the_defaults() {
    let s = Server::with_shards(2);
    let mut raw = s.raw();
    for cmd in [
        &[&b"HELLO"[..], b"3"][..],
        &[b"SELECT", b"3"],
        &[b"CLIENT", b"SETNAME", b"n"],
        &[b"CLIENT", b"NO-EVICT", b"on"],
    ] {
        raw.cmd(cmd);
        raw.reply();
    }
    raw.cmd(&[b"RESET"]);
    raw.expect(b"+RESET\r\n");
    // Back to RESP2 (nulls are `$-1`), db 0, no name, no flags.
    raw.cmd(&[b"CLIENT", b"GETNAME"]);
    raw.expect(b"$-1\r\n");
    raw.cmd(&[b"CLIENT", b"INFO"]);
    let info = String::from_utf8(raw.reply()).unwrap();
    assert!(info.starts_with('$'), "{info}");
    assert!(info.contains(" db=0 ") && info.contains(" resp=2 ") && info.contains(" flags=N "), "{info}");
    raw.cmd(&[b"RESET", b"x"]);
    raw.expect(b"-ERR wrong number of arguments for 'reset' command\r\n");
}

#[test]
fn client_names_and_library_info() {
    let s = Server::with_shards(1);
    let mut c = s.client();
    assert_eq!(q::<Option<String>>(&mut c, &["CLIENT", "GETNAME"]), None);
    assert_eq!(q::<String>(&mut c, &["CLIENT", "SETNAME", "worker-1"]), "OK");
    assert_eq!(q::<String>(&mut c, &["CLIENT", "GETNAME"]), "worker-1");
    assert_eq!(
        err(&mut c, &["CLIENT", "SETNAME", "a b"]),
        "ERR Client names cannot contain spaces, newlines or special characters."
    );
    assert_eq!(q::<String>(&mut c, &["CLIENT", "SETNAME", ""]), "OK");
    assert_eq!(q::<Option<String>>(&mut c, &["CLIENT", "GETNAME"]), None);

    // What redis-py and redis-rs send on connect.
    assert_eq!(q::<String>(&mut c, &["CLIENT", "SETINFO", "LIB-NAME", "redis-py"]), "OK");
    assert_eq!(q::<String>(&mut c, &["CLIENT", "SETINFO", "LIB-VER", "5.0.1"]), "OK");
    assert_eq!(q::<String>(&mut c, &["CLIENT", "SETINFO", "lib-name", "redis-rs"]), "OK");
    assert_eq!(
        err(&mut c, &["CLIENT", "SETINFO", "Lib-Ver", "1 2"]),
        "ERR Lib-Ver cannot contain spaces, newlines or special characters."
    );
    assert_eq!(err(&mut c, &["CLIENT", "SETINFO", "foo", "bar"]), "ERR Unrecognized option 'foo'");
    assert_eq!(
        err(&mut c, &["CLIENT", "SETINFO", "lib-name"]),
        "ERR wrong number of arguments for 'client|setinfo' command"
    );

    let id: i64 = q(&mut c, &["CLIENT", "ID"]);
    let info = client_info(&mut c);
    assert!(info.ends_with('\n'));
    assert_eq!(field(&info, "id"), id.to_string());
    assert_eq!(field(&info, "lib-name"), "redis-rs");
    assert_eq!(field(&info, "lib-ver"), "5.0.1");
    // rill's own last field: the shard thread serving the connection (Redis 8's `io-thread`).
    assert!(field(&info, "io-thread").trim_end().parse::<usize>().is_ok());
    assert_eq!(field(&info, "cmd"), "client|info");
    assert_eq!(field(&info, "user"), "default");
    for f in
        ["addr", "laddr", "fd", "name", "age", "idle", "flags", "db", "sub", "psub", "ssub", "multi", "watch", "qbuf"]
    {
        field(&info, f);
    }
}

#[test]
fn client_list_sees_every_shard() {
    let s = Server::with_shards(4);
    let mut conns: Vec<redis::Connection> = (0..6).map(|_| s.client()).collect();
    let ids: Vec<i64> = conns.iter_mut().map(|c| q(c, &["CLIENT", "ID"])).collect();
    let list: String = q(&mut conns[0], &["CLIENT", "LIST"]);
    let listed: Vec<i64> = list.lines().map(|l| field(l, "id").parse().unwrap()).collect();
    for id in &ids {
        assert!(listed.contains(id), "{id} missing from {list}");
    }
    assert!(listed.windows(2).all(|w| w[0] < w[1]), "ordered by id: {listed:?}");
    let one: String = q(&mut conns[0], &["CLIENT", "LIST", "ID", &ids[3].to_string(), &ids[1].to_string(), "999999"]);
    let got: Vec<i64> = one.lines().map(|l| field(l, "id").parse().unwrap()).collect();
    assert_eq!(got, vec![ids[3], ids[1]]);
    assert_eq!(q::<String>(&mut conns[0], &["CLIENT", "LIST", "ID", "0"]), "");
    assert_eq!(q::<String>(&mut conns[0], &["CLIENT", "LIST", "TYPE", "pubsub"]), "");
    assert_eq!(q::<String>(&mut conns[0], &["CLIENT", "LIST", "TYPE", "NORMAL"]).lines().count(), listed.len());
    let c = &mut conns[0];
    assert_eq!(err(c, &["CLIENT", "LIST", "TYPE", "Foo"]), "ERR Unknown client type 'Foo'");
    assert_eq!(err(c, &["CLIENT", "LIST", "ID", "x"]), "ERR Invalid client ID");
    assert_eq!(err(c, &["CLIENT", "LIST", "ID"]), "ERR syntax error");
    assert_eq!(err(c, &["CLIENT", "LIST", "TYPE", "normal", "ID", "1"]), "ERR syntax error");
}

#[test]
fn client_kill_closes_connections() {
    let s = Server::with_shards(4);
    let mut me = s.client();
    let my_id: i64 = q(&mut me, &["CLIENT", "ID"]);

    // Old form, by address.
    let mut victim = s.raw();
    victim.cmd(&[b"CLIENT", b"INFO"]);
    let info = String::from_utf8(victim.reply()).unwrap();
    let addr = field(&info, "addr").to_string();
    assert_eq!(q::<String>(&mut me, &["CLIENT", "KILL", &addr]), "OK");
    assert!(victim.closed());
    assert_eq!(err(&mut me, &["CLIENT", "KILL", &addr]), "ERR No such client");

    // New form, by id.
    let mut victim = s.raw();
    victim.cmd(&[b"CLIENT", b"ID"]);
    let id = String::from_utf8(victim.reply()).unwrap().trim_start_matches(':').trim_end().to_string();
    assert_eq!(q::<i64>(&mut me, &["CLIENT", "KILL", "ID", &id]), 1);
    assert!(victim.closed());
    assert_eq!(q::<i64>(&mut me, &["CLIENT", "KILL", "ID", &id]), 0);

    // By type: everyone but the caller (SKIPME yes is the default), on every shard.
    let mut others: Vec<Raw> = (0..5).map(|_| s.raw()).collect();
    for o in others.iter_mut() {
        o.cmd(&[b"PING"]);
        o.expect(b"+PONG\r\n");
    }
    assert_eq!(q::<i64>(&mut me, &["CLIENT", "KILL", "TYPE", "normal", "USER", "default"]), 5);
    for o in others.iter_mut() {
        assert!(o.closed());
    }
    assert_eq!(q::<i64>(&mut me, &["CLIENT", "ID"]), my_id);

    // SKIPME no kills the caller too, after its reply.
    let mut raw = s.raw();
    raw.cmd(&[b"CLIENT", b"KILL", b"SKIPME", b"no", b"TYPE", b"normal"]);
    let n = String::from_utf8(raw.reply()).unwrap();
    assert!(n.starts_with(':') && n != ":0\r\n", "{n}");
    assert!(raw.closed());

    let mut c = s.client();
    for (args, e) in [
        (&["CLIENT", "KILL", "ID", "0"][..], "ERR client-id should be greater than 0"),
        (&["CLIENT", "KILL", "ID", "abc"], "ERR client-id should be greater than 0"),
        (&["CLIENT", "KILL", "TYPE", "Foo"], "ERR Unknown client type 'Foo'"),
        (&["CLIENT", "KILL", "USER", "nobody"], "ERR No such user 'nobody'"),
        (&["CLIENT", "KILL", "SKIPME", "maybe"], "ERR syntax error"),
        (&["CLIENT", "KILL", "ID", "1", "ADDR"], "ERR syntax error"),
        (&["CLIENT", "KILL", "FOO", "bar"], "ERR syntax error"),
        (&["CLIENT", "KILL"], "ERR wrong number of arguments for 'client|kill' command"),
    ] {
        assert_eq!(err(&mut c, args), e, "{args:?}");
    }
}

#[test]
fn client_flags_pause_unblock() {
    let s = Server::with_shards(1);
    let mut c = s.client();
    assert_eq!(q::<String>(&mut c, &["CLIENT", "NO-EVICT", "on"]), "OK");
    assert_eq!(field(&client_info(&mut c), "flags"), "e");
    assert_eq!(q::<String>(&mut c, &["CLIENT", "NO-TOUCH", "ON"]), "OK");
    assert_eq!(field(&client_info(&mut c), "flags"), "eT");
    assert_eq!(q::<String>(&mut c, &["CLIENT", "NO-EVICT", "off"]), "OK");
    assert_eq!(q::<String>(&mut c, &["CLIENT", "NO-TOUCH", "off"]), "OK");
    assert_eq!(field(&client_info(&mut c), "flags"), "N");
    assert_eq!(err(&mut c, &["CLIENT", "NO-EVICT", "maybe"]), "ERR syntax error");

    assert_eq!(q::<String>(&mut c, &["CLIENT", "PAUSE", "0", "WRITE"]), "OK");
    assert_eq!(q::<String>(&mut c, &["CLIENT", "UNPAUSE"]), "OK");
    assert_eq!(err(&mut c, &["CLIENT", "PAUSE", "-1"]), "ERR timeout is negative");
    assert_eq!(err(&mut c, &["CLIENT", "PAUSE", "abc"]), "ERR timeout is not an integer or out of range");
    assert_eq!(err(&mut c, &["CLIENT", "PAUSE", "abc", "foo"]), "ERR CLIENT PAUSE mode must be WRITE or ALL");
    assert_eq!(
        err(&mut c, &["CLIENT", "pause", "10", "all", "x"]),
        "ERR unknown subcommand or wrong number of arguments for 'pause'. Try CLIENT HELP."
    );

    assert_eq!(q::<i64>(&mut c, &["CLIENT", "UNBLOCK", "12345"]), 0);
    assert_eq!(q::<i64>(&mut c, &["CLIENT", "UNBLOCK", "12345", "ERROR"]), 0);
    assert_eq!(err(&mut c, &["CLIENT", "UNBLOCK", "abc"]), "ERR value is not an integer or out of range");
    assert_eq!(
        err(&mut c, &["CLIENT", "UNBLOCK", "abc", "foo"]),
        "ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR"
    );

    let help: Vec<String> = q(&mut c, &["CLIENT", "HELP"]);
    assert!(help[0].starts_with("CLIENT <subcommand>"));
    assert!(help.iter().any(|l| l.starts_with("SETINFO")));
}

#[test]
fn client_subcommand_errors() {
    let s = Server::with_shards(1);
    let mut c = s.client();
    // What Redis 7 answers to a subcommand it does not know, as newer clients send on connect.
    assert_eq!(
        err(&mut c, &["CLIENT", "MAINT_NOTIFICATIONS", "on"]),
        "ERR unknown subcommand 'MAINT_NOTIFICATIONS'. Try CLIENT HELP."
    );
    assert_eq!(err(&mut c, &["CLIENT"]), "ERR wrong number of arguments for 'client' command");
    for (sub, extra) in [
        ("setname", &[][..]),
        ("getname", &["x"]),
        ("id", &["x"]),
        ("info", &["x"]),
        ("no-evict", &[]),
        ("no-touch", &["on", "x"]),
        ("reply", &[]),
        ("pause", &[]),
        ("unpause", &["x"]),
        ("unblock", &[]),
        ("help", &["x"]),
    ] {
        let mut args = vec!["CLIENT", sub];
        args.extend_from_slice(extra);
        assert_eq!(err(&mut c, &args), format!("ERR wrong number of arguments for 'client|{sub}' command"));
    }
    assert_eq!(
        err(&mut c, &["CLIENT", "UNBLOCK", "1", "error", "x"]),
        "ERR unknown subcommand or wrong number of arguments for 'UNBLOCK'. Try CLIENT HELP."
    );
}

#[test]
fn client_reply_off_and_skip() {
    let s = Server::with_shards(2);
    // SKIP drops exactly the next reply; OFF drops all of them; SKIP while OFF changes nothing.
    let mut raw = s.raw();
    raw.cmd(&[b"CLIENT", b"REPLY", b"SKIP"]);
    raw.cmd(&[b"PING", b"a"]);
    raw.cmd(&[b"SET", b"k1", b"v"]);
    raw.cmd(&[b"PING", b"b"]);
    raw.expect(b"+OK\r\n");
    raw.expect(b"$1\r\nb\r\n");
    raw.cmd(&[b"CLIENT", b"REPLY", b"OFF"]);
    raw.cmd(&[b"CLIENT", b"REPLY", b"SKIP"]);
    raw.cmd(&[b"SET", b"k2", b"v"]);
    raw.cmd(&[b"GET", b"k1"]);
    raw.cmd(&[b"PING"]);
    raw.cmd(&[b"CLIENT", b"REPLY", b"maybe"]);
    raw.cmd(&[b"QUIT"]);
    assert_eq!(rest_until_closed(&mut raw), "");
    let mut c = s.client();
    assert_eq!(q::<String>(&mut c, &["GET", "k2"]), "v");
    assert_eq!(err(&mut c, &["CLIENT", "REPLY", "maybe"]), "ERR syntax error");
    assert_eq!(q::<String>(&mut c, &["CLIENT", "REPLY", "ON"]), "OK");
}

/// Redis sends the reply of the command that turns replies back on. Needs `Session::run_conn` to keep a reply
/// that a command asked to be sent (see the report of this change).
#[test]
fn replies_turned_back_on_are_sent() {
    let s = Server::with_shards(1);
    let mut raw = s.raw();
    raw.cmd(&[b"CLIENT", b"REPLY", b"OFF"]);
    raw.cmd(&[b"PING"]);
    raw.cmd(&[b"CLIENT", b"REPLY", b"ON"]);
    raw.expect(b"+OK\r\n");
    raw.cmd(&[b"CLIENT", b"REPLY", b"OFF"]);
    raw.cmd(&[b"RESET"]);
    raw.expect(b"+RESET\r\n");
    raw.cmd(&[b"PING"]);
    raw.expect(b"+PONG\r\n");
}

/// CLIENT NO-TOUCH: reads leave a key's idle time alone, TOUCH still resets it, and turning it off restores the
/// normal behaviour.
#[test]
fn client_no_touch_keeps_idle_time() {
    let s = Server::with_shards(2);
    let mut c = s.client();
    let _: () = q(&mut c, &["SET", "nt", "v"]);
    // Wait (bounded) until the key has been idle for at least a second: OBJECT IDLETIME counts whole seconds.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while q::<i64>(&mut c, &["OBJECT", "IDLETIME", "nt"]) < 1 {
        assert!(std::time::Instant::now() < deadline, "key never became idle");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(q::<String>(&mut c, &["CLIENT", "NO-TOUCH", "ON"]), "OK");
    assert_eq!(q::<String>(&mut c, &["GET", "nt"]), "v");
    assert!(q::<i64>(&mut c, &["OBJECT", "IDLETIME", "nt"]) >= 1, "GET under NO-TOUCH touched the key");
    assert_eq!(q::<i64>(&mut c, &["TOUCH", "nt"]), 1);
    assert_eq!(q::<i64>(&mut c, &["OBJECT", "IDLETIME", "nt"]), 0, "TOUCH must touch even under NO-TOUCH");
    assert_eq!(q::<String>(&mut c, &["CLIENT", "NO-TOUCH", "OFF"]), "OK");
}

/// The `timeout` directive closes idle clients but not blocked ones, and CLIENT KILL closes a blocked client
/// (its pending read ends at once) without leaving it counted as blocked.
#[test]
fn idle_timeout_and_killing_a_blocked_client() {
    let s = Server::start(&["--shards", "2", "--timeout", "1"]);
    let mut idle = s.raw();
    idle.s.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
    let mut blocked = s.raw();
    blocked.cmd(&[b"BLPOP", b"q", b"0"]);
    let mut me = s.client();
    wait_blocked(&mut me, 1);
    // Closed after a second or two of silence (bounded by the read timeout above).
    assert!(idle.closed(), "an idle client outlived the timeout");
    let mut me = s.client(); // the first one was idle too
    assert_eq!(blocked_clients(&mut me), 1, "a blocked client is not idle");
    let list: String = q(&mut me, &["CLIENT", "LIST"]);
    let id = list.lines().find(|l| l.contains("cmd=blpop")).and_then(|l| field_of(l, "id")).expect("blocked client");
    assert_eq!(q::<i64>(&mut me, &["CLIENT", "KILL", "ID", &id]), 1);
    blocked.s.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
    assert!(blocked.closed());
    wait_blocked(&mut me, 0);
}

fn field_of(line: &str, name: &str) -> Option<String> {
    line.split(' ').find_map(|kv| kv.strip_prefix(name).and_then(|r| r.strip_prefix('='))).map(str::to_string)
}
