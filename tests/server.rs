//! Server commands as Redis 7.4 answers them: COMMAND, INFO, CONFIG, DEBUG, TIME, LASTSAVE, MEMORY USAGE and the
//! whole-keyspace commands over several shards.
mod common;
use common::*;
use redis::Value;

/// Keys that land on different shards of a 4-shard server (no hash tags), so whole-keyspace commands must visit
/// them all.
const KEYS: [&str; 8] = ["a", "b", "c", "d", "e", "f", "g", "h"];

/// The value of `name:` in an INFO text.
fn info_field(info: &str, name: &str) -> Option<String> {
    info.lines().find_map(|l| l.strip_prefix(name).and_then(|r| r.strip_prefix(':'))).map(str::to_string)
}

fn info_num(c: &mut redis::Connection, section: &str, name: &str) -> u64 {
    let info: String = q(c, &["INFO", section]);
    info_field(&info, name).unwrap_or_else(|| panic!("{name} in {info}")).parse().unwrap()
}

#[test]
fn command_count_list_info_docs() {
    let s = Server::with_shards(1);
    let mut c = s.client();
    let count: i64 = q(&mut c, &["COMMAND", "COUNT"]);
    let all: Vec<Value> = q(&mut c, &["COMMAND"]);
    assert_eq!(all.len() as i64, count);
    let names: Vec<String> = q(&mut c, &["COMMAND", "LIST"]);
    assert!(names.iter().any(|n| n == "get") && names.iter().any(|n| n == "client|list"));
    assert_eq!(names.iter().filter(|n| !n.contains('|')).count() as i64, count);
    let mut got: Vec<String> = q(&mut c, &["COMMAND", "LIST", "FILTERBY", "PATTERN", "config*"]);
    got.sort();
    assert_eq!(got, ["config", "config|get", "config|help", "config|resetstat", "config|rewrite", "config|set"]);
    let conn: Vec<String> = q(&mut c, &["COMMAND", "LIST", "FILTERBY", "ACLCAT", "connection"]);
    assert!(conn.contains(&"ping".to_string()) && !conn.contains(&"get".to_string()));
    assert_eq!(q::<Vec<String>>(&mut c, &["COMMAND", "LIST", "FILTERBY", "MODULE", "x"]), Vec::<String>::new());
    assert_eq!(err(&mut c, &["COMMAND", "LIST", "FILTERBY", "FOO", "x"]), "ERR syntax error");
    assert_eq!(err(&mut c, &["COMMAND", "LIST", "FILTERBY", "PATTERN"]), "ERR syntax error");
    assert_eq!(err(&mut c, &["COMMAND", "COUNT", "x"]), "ERR wrong number of arguments for 'command|count' command");
    assert_eq!(err(&mut c, &["COMMAND", "FOO"]), "ERR unknown subcommand 'FOO'. Try COMMAND HELP.");

    // The ten-field shape, byte for byte for GET; unknown names are nulls.
    let mut raw = s.raw();
    raw.cmd(&[b"COMMAND", b"INFO", b"get", b"nosuch"]);
    raw.expect(
        b"*2\r\n*10\r\n$3\r\nget\r\n:2\r\n*2\r\n+readonly\r\n+fast\r\n:1\r\n:1\r\n:1\r\n*3\r\n+@read\r\n+@string\r\n\
          +@fast\r\n*0\r\n*1\r\n*6\r\n$5\r\nflags\r\n*2\r\n+RO\r\n+access\r\n$12\r\nbegin_search\r\n*4\r\n$4\r\ntype\r\n\
          $5\r\nindex\r\n$4\r\nspec\r\n*2\r\n$5\r\nindex\r\n:1\r\n$9\r\nfind_keys\r\n*4\r\n$4\r\ntype\r\n$5\r\nrange\r\n\
          $4\r\nspec\r\n*6\r\n$7\r\nlastkey\r\n:0\r\n$7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n:0\r\n*0\r\n$-1\r\n",
    );
    for name in ["set", "mset"] {
        let info: Vec<Value> = q(&mut c, &["COMMAND", "INFO", name]);
        let Value::Array(fields) = &info[0] else { panic!("{info:?}") };
        assert_eq!(fields.len(), 10);
        assert_eq!(fields[0], Value::BulkString(name.as_bytes().to_vec()));
        assert_eq!(fields[1], Value::Int(-3));
    }
    // MSET's tips are bulk strings, as in Redis.
    raw.cmd(&[b"COMMAND", b"INFO", b"mset"]);
    let mset = String::from_utf8(raw.reply()).unwrap();
    assert!(mset.contains("*2\r\n$26\r\nrequest_policy:multi_shard\r\n$29\r\nresponse_policy:all_succeeded\r\n"));
    // A container lists its subcommands in the tenth field; `parent|sub` names work too.
    let info: Vec<Value> = q(&mut c, &["COMMAND", "INFO", "client", "config|get"]);
    let Value::Array(client) = &info[0] else { panic!() };
    let Value::Array(subs) = &client[9] else { panic!() };
    assert!(subs.len() >= 10, "{subs:?}");
    let Value::Array(get) = &info[1] else { panic!("{info:?}") };
    assert_eq!(get[0], Value::BulkString(b"config|get".to_vec()));

    let docs: Value = q(&mut c, &["COMMAND", "DOCS", "get", "nosuch"]);
    let Value::Map(docs) = docs else {
        // RESP2 flattens the map into an array of name, doc.
        let Value::Array(flat) = docs else { panic!() };
        assert_eq!(flat.len(), 2);
        assert_eq!(flat[0], Value::BulkString(b"get".to_vec()));
        return;
    };
    assert_eq!(docs.len(), 1);
}

#[test]
fn command_getkeys() {
    let s = Server::with_shards(1);
    let mut c = s.client();
    assert_eq!(q::<Vec<String>>(&mut c, &["COMMAND", "GETKEYS", "GET", "k"]), ["k"]);
    assert_eq!(q::<Vec<String>>(&mut c, &["COMMAND", "GETKEYS", "mset", "a", "1", "b", "2"]), ["a", "b"]);
    assert_eq!(q::<Vec<String>>(&mut c, &["COMMAND", "GETKEYS", "memory", "usage", "k"]), ["k"]);
    let flags: Value = q(&mut c, &["COMMAND", "GETKEYSANDFLAGS", "get", "k"]);
    assert_eq!(
        flags,
        Value::Array(vec![Value::Array(vec![
            Value::BulkString(b"k".to_vec()),
            Value::Array(vec![Value::SimpleString("RO".into()), Value::SimpleString("access".into())]),
        ])])
    );
    for (args, e) in [
        (&["COMMAND", "GETKEYS", "nosuch", "a"][..], "ERR Invalid command specified"),
        (&["COMMAND", "GETKEYS", "memory", "nosuch", "k"], "ERR Invalid command specified"),
        (&["COMMAND", "GETKEYS", "ping", "x"], "ERR The command has no key arguments"),
        (&["COMMAND", "GETKEYS", "get", "a", "b"], "ERR Invalid number of arguments specified for command"),
        (&["COMMAND", "GETKEYS", "get"], "ERR wrong number of arguments for 'command|getkeys' command"),
        (&["COMMAND", "GETKEYSANDFLAGS", "get"], "ERR wrong number of arguments for 'command|getkeysandflags' command"),
    ] {
        assert_eq!(err(&mut c, args), e, "{args:?}");
    }
}

#[test]
fn info_sections_and_counters() {
    let s = Server::with_shards(4);
    let mut c = s.client();
    let mut other = s.client();
    for k in KEYS {
        let _: () = q(&mut c, &["SET", k, "v"]);
    }
    let _: () = q(&mut c, &["SET", "t", "v", "EX", "100"]);
    let _: Option<String> = q(&mut c, &["GET", "a"]);
    let _: Option<String> = q(&mut c, &["GET", "nosuch"]);
    let _: () = q(&mut c, &["SELECT", "2"]);
    let _: () = q(&mut c, &["SET", "x", "1"]);
    let _: () = q(&mut c, &["SELECT", "0"]);

    let info: String = q(&mut c, &["INFO"]);
    for section in
        ["# Server", "# Clients", "# Memory", "# Persistence", "# Stats", "# Replication", "# CPU", "# Keyspace"]
    {
        assert!(info.contains(section), "{section}");
    }
    assert!(!info.contains("# Commandstats"));
    assert_eq!(info_field(&info, "redis_version").as_deref(), Some("7.4.0"));
    assert_eq!(info_field(&info, "db0").as_deref(), Some("keys=9,expires=1,avg_ttl=0,subexpiry=0"));
    assert_eq!(info_field(&info, "db2").as_deref(), Some("keys=1,expires=0,avg_ttl=0,subexpiry=0"));
    assert_eq!(info_field(&info, "db1"), None);
    assert_eq!(info_num(&mut c, "clients", "connected_clients"), 2);
    assert_eq!(info_num(&mut c, "clients", "blocked_clients"), 0);
    // Every real change counts once (ten SETs above); a write that changes nothing does not; MSET counts its keys.
    assert_eq!(info_num(&mut c, "persistence", "rdb_changes_since_last_save"), 10);
    let _: i64 = q(&mut c, &["DEL", "nosuch"]);
    let _: i64 = q(&mut c, &["PERSIST", "a"]);
    assert_eq!(info_num(&mut c, "persistence", "rdb_changes_since_last_save"), 10);
    let _: () = q(&mut c, &["MSET", "a", "1", "b", "2"]);
    assert_eq!(info_num(&mut c, "persistence", "rdb_changes_since_last_save"), 12);
    assert!(info_num(&mut c, "memory", "used_memory") > 0);
    assert_eq!(info_num(&mut c, "stats", "keyspace_hits"), 1);
    assert_eq!(info_num(&mut c, "stats", "keyspace_misses"), 1);
    assert_eq!(info_num(&mut c, "stats", "expired_keys"), 0);
    assert!(info_num(&mut c, "stats", "total_commands_processed") >= 13);

    // Named sections only, case-insensitive; commandstats counts calls of every shard.
    let clients: String = q(&mut c, &["INFO", "CLIENTS"]);
    assert!(clients.starts_with("# Clients\r\n") && !clients.contains("# Server"));
    let two: String = q(&mut c, &["INFO", "server", "keyspace"]);
    assert!(two.contains("# Server") && two.contains("# Keyspace") && !two.contains("# Stats"));
    assert_eq!(q::<String>(&mut c, &["INFO", "nosuch"]), "");
    let stats: String = q(&mut c, &["INFO", "commandstats"]);
    let get = info_field(&stats, "cmdstat_get").expect("cmdstat_get");
    assert!(get.starts_with("calls=2,usec="), "{get}");
    assert!(get.contains(",rejected_calls=0,failed_calls=0"), "{get}");
    assert!(info_field(&stats, "cmdstat_set").unwrap().starts_with("calls=10,"));
    let everything: String = q(&mut c, &["INFO", "everything"]);
    assert!(everything.contains("# Commandstats") && everything.contains("# Keyspace"));

    // Expired keys are counted once gone.
    let _: () = q(&mut c, &["SET", "gone", "v", "PX", "1"]);
    // Poll (bounded) until the 1 ms TTL has passed: the read that finds it gone is the one that expires it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while q::<Option<String>>(&mut c, &["GET", "gone"]).is_some() {
        assert!(std::time::Instant::now() < deadline, "key with PX 1 never expired");
    }
    assert_eq!(info_num(&mut c, "stats", "expired_keys"), 1);

    // RESETSTAT zeroes the counters.
    assert_eq!(q::<String>(&mut c, &["CONFIG", "RESETSTAT"]), "OK");
    assert_eq!(info_num(&mut c, "stats", "keyspace_hits"), 0);
    assert_eq!(info_num(&mut c, "stats", "expired_keys"), 0);
    let stats: String = q(&mut c, &["INFO", "commandstats"]);
    assert_eq!(info_field(&stats, "cmdstat_get"), None);

    // Network bytes are counted by every shard (the two clients sit on different shard threads) and summed.
    let before_in = info_num(&mut c, "stats", "total_net_input_bytes");
    let before_out = info_num(&mut c, "stats", "total_net_output_bytes");
    let big = "x".repeat(10_000);
    assert_eq!(q::<String>(&mut other, &["ECHO", &big]), big);
    assert!(info_num(&mut c, "stats", "total_net_input_bytes") >= before_in + 10_000);
    assert!(info_num(&mut c, "stats", "total_net_output_bytes") >= before_out + 10_000);
    assert_eq!(q::<String>(&mut c, &["CONFIG", "RESETSTAT"]), "OK");
    assert!(info_num(&mut c, "stats", "total_net_input_bytes") < 1_000);
}

#[test]
fn time_lastsave_memory_debug() {
    let s = Server::with_shards(2);
    let mut c = s.client();
    let t: Vec<String> = q(&mut c, &["TIME"]);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    assert_eq!(t.len(), 2);
    assert!(t[0].parse::<u64>().unwrap().abs_diff(now) <= 2);
    assert!(t[1].parse::<u64>().unwrap() < 1_000_000);
    assert_eq!(err(&mut c, &["TIME", "x"]), "ERR wrong number of arguments for 'time' command");
    assert!(q::<u64>(&mut c, &["LASTSAVE"]).abs_diff(now) < 3600 * 24 * 365 * 60);

    for k in KEYS {
        let _: () = q(&mut c, &["SET", k, "some value"]);
        assert!(q::<i64>(&mut c, &["MEMORY", "USAGE", k]) > 10);
    }
    assert_eq!(q::<Option<i64>>(&mut c, &["MEMORY", "USAGE", "nosuch"]), None);
    assert!(q::<i64>(&mut c, &["MEMORY", "USAGE", "a", "SAMPLES", "0", "SAMPLES", "5"]) > 0);
    assert_eq!(err(&mut c, &["MEMORY", "USAGE", "a", "SAMPLES"]), "ERR syntax error");
    assert_eq!(err(&mut c, &["MEMORY", "USAGE", "a", "SAMPLES", "-1"]), "ERR syntax error");
    assert_eq!(err(&mut c, &["MEMORY", "USAGE", "a", "SAMPLES", "x"]), "ERR value is not an integer or out of range");
    assert_eq!(err(&mut c, &["MEMORY", "USAGE"]), "ERR wrong number of arguments for 'memory|usage' command");

    assert_eq!(q::<String>(&mut c, &["DEBUG", "SLEEP", "0"]), "OK");
    assert_eq!(q::<String>(&mut c, &["DEBUG", "LOG", "hello from the test"]), "OK");
    assert_eq!(q::<String>(&mut c, &["DEBUG", "SET-ACTIVE-EXPIRE", "0"]), "OK");
    assert_eq!(q::<String>(&mut c, &["DEBUG", "SET-ACTIVE-EXPIRE", "1"]), "OK");
    assert_eq!(
        err(&mut c, &["DEBUG", "Sleep"]),
        "ERR unknown subcommand or wrong number of arguments for 'Sleep'. Try DEBUG HELP."
    );
    assert_eq!(
        err(&mut c, &["DEBUG", "nosuch"]),
        "ERR unknown subcommand or wrong number of arguments for 'nosuch'. Try DEBUG HELP."
    );
}

#[test]
fn config_get_set() {
    let s = Server::with_shards(1);
    let mut c = s.client();
    let one: Vec<String> = q(&mut c, &["CONFIG", "GET", "maxmemory"]);
    assert_eq!(one, ["maxmemory", "0"]);
    let globbed: Vec<String> = q(&mut c, &["CONFIG", "GET", "maxmemory*"]);
    assert!(globbed.chunks(2).any(|p| p[0] == "maxmemory-policy" && p[1] == "noeviction"));
    assert!(globbed.chunks(2).all(|p| p[0].starts_with("maxmemory")));
    let all: Vec<String> = q(&mut c, &["CONFIG", "GET", "*"]);
    assert!(all.len() > 40 && all.len().is_multiple_of(2));
    assert!(all.chunks(2).any(|p| p[0] == "databases" && p[1] == "16"));
    let none: Vec<String> = q(&mut c, &["CONFIG", "GET", "nosuch"]);
    assert!(none.is_empty());
    let two: Vec<String> = q(&mut c, &["CONFIG", "GET", "hz", "databases"]);
    assert_eq!(two.len(), 4);

    assert_eq!(q::<String>(&mut c, &["CONFIG", "SET", "maxmemory", "1mb", "hz", "20"]), "OK");
    assert_eq!(q::<Vec<String>>(&mut c, &["CONFIG", "GET", "maxmemory"]), ["maxmemory", "1048576"]);
    assert_eq!(q::<Vec<String>>(&mut c, &["CONFIG", "GET", "hz"]), ["hz", "20"]);
    assert_eq!(info_num(&mut c, "server", "hz"), 20);
    // All or nothing: a bad pair leaves the good one unapplied.
    let e = err(&mut c, &["CONFIG", "SET", "hz", "30", "maxmemory", "abc"]);
    assert!(e.starts_with("ERR CONFIG SET failed (possibly related to argument 'maxmemory')"), "{e}");
    assert_eq!(q::<Vec<String>>(&mut c, &["CONFIG", "GET", "hz"]), ["hz", "20"]);
    let e = err(&mut c, &["CONFIG", "SET", "nosuch", "1"]);
    assert_eq!(e, "ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'");
    assert_eq!(err(&mut c, &["CONFIG", "SET", "hz"]), "ERR wrong number of arguments for 'config|set' command");
    assert_eq!(
        err(&mut c, &["CONFIG", "SET", "hz", "10", "maxmemory"]),
        "ERR wrong number of arguments for 'config|set' command"
    );
    assert_eq!(err(&mut c, &["CONFIG", "GET"]), "ERR wrong number of arguments for 'config|get' command");
    assert_eq!(err(&mut c, &["CONFIG", "FOO"]), "ERR unknown subcommand 'FOO'. Try CONFIG HELP.");
    assert_eq!(
        err(&mut c, &["CONFIG", "RESETSTAT", "x"]),
        "ERR wrong number of arguments for 'config|resetstat' command"
    );
    // Started without a file: nothing to rewrite.
    assert_eq!(err(&mut c, &["CONFIG", "REWRITE"]), "ERR The server is running without a config file");
}

#[test]
fn config_rewrite_updates_the_file() {
    let dir = std::env::temp_dir().join(format!("rill-conncmds-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("rill.conf");
    std::fs::copy(concat!(env!("CARGO_MANIFEST_DIR"), "/conf/rill.conf"), &file).unwrap();
    let s = Server::start(&[file.to_str().unwrap(), "--shards", "1"]);
    let mut c = s.client();
    assert_eq!(q::<String>(&mut c, &["CONFIG", "SET", "maxmemory", "2mb", "maxmemory-policy", "allkeys-lru"]), "OK");
    assert_eq!(q::<String>(&mut c, &["CONFIG", "REWRITE"]), "OK");
    let text = std::fs::read_to_string(&file).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines.contains(&"maxmemory 2097152") || lines.contains(&"maxmemory 2mb"), "{text}");
    assert!(lines.contains(&"maxmemory-policy allkeys-lru"), "{text}");
    assert!(!lines.contains(&"maxmemory 0"));
    // Comments survive.
    assert!(text.lines().filter(|l| l.starts_with('#')).count() > 10);
    drop(s);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn dbsize_flush_swapdb_over_shards() {
    for shards in [1, 4] {
        let s = Server::with_shards(shards);
        let mut c = s.client();
        let mut other = s.client();
        let fill = |c: &mut redis::Connection, db: &str| {
            let _: () = q(c, &["SELECT", db]);
            for k in KEYS {
                let _: () = q(c, &["SET", k, db]);
            }
        };
        fill(&mut c, "1");
        fill(&mut c, "0");
        let _: () = q(&mut c, &["SET", "only0", "x"]);
        assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 9);
        assert_eq!(err(&mut c, &["DBSIZE", "x"]), "ERR wrong number of arguments for 'dbsize' command");

        // SWAPDB is seen by other connections at once.
        assert_eq!(q::<String>(&mut c, &["SWAPDB", "0", "1"]), "OK");
        assert_eq!(q::<i64>(&mut other, &["DBSIZE"]), 8);
        for k in KEYS {
            assert_eq!(q::<String>(&mut other, &["GET", k]), "1");
        }
        assert_eq!(q::<String>(&mut c, &["SWAPDB", "1", "0"]), "OK");
        assert_eq!(q::<String>(&mut c, &["SWAPDB", "3", "3"]), "OK");
        for (args, e) in [
            (&["SWAPDB", "0", "16"][..], "ERR DB index is out of range"),
            (&["SWAPDB", "-1", "0"], "ERR DB index is out of range"),
            (&["SWAPDB", "a", "0"], "ERR invalid first DB index"),
            (&["SWAPDB", "0", "b"], "ERR invalid second DB index"),
            (&["SWAPDB", "0", "4294967296"], "ERR invalid second DB index"),
            (&["SWAPDB", "0"], "ERR wrong number of arguments for 'swapdb' command"),
            (&["FLUSHDB", "x"], "ERR syntax error"),
            (&["FLUSHDB", "ASYNC", "SYNC"], "ERR syntax error"),
            (&["FLUSHALL", "x"], "ERR syntax error"),
        ] {
            assert_eq!(err(&mut c, args), e, "{args:?}");
        }

        assert_eq!(q::<String>(&mut c, &["FLUSHDB", "sync"]), "OK");
        assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 0);
        let _: () = q(&mut c, &["SELECT", "1"]);
        assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 8);
        assert_eq!(q::<String>(&mut c, &["FLUSHALL", "ASYNC"]), "OK");
        assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 0);
        fill(&mut c, "2");
        assert_eq!(q::<String>(&mut c, &["FLUSHALL"]), "OK");
        assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 0);
        let _: () = q(&mut c, &["SELECT", "0"]);
        assert_eq!(q::<String>(&mut c, &["FLUSHDB"]), "OK");
    }
}

#[test]
fn function_flush_and_shutdown_arguments() {
    let mut s = Server::with_shards(2);
    let mut c = s.client();
    assert_eq!(q::<String>(&mut c, &["FUNCTION", "FLUSH"]), "OK");
    assert_eq!(q::<String>(&mut c, &["FUNCTION", "FLUSH", "async"]), "OK");
    assert_eq!(err(&mut c, &["FUNCTION", "FLUSH", "foo"]), "ERR FUNCTION FLUSH only supports SYNC|ASYNC option");
    assert_eq!(
        err(&mut c, &["FUNCTION", "FLUSH", "SYNC", "x"]),
        "ERR unknown subcommand or wrong number of arguments for 'FLUSH'. Try FUNCTION HELP."
    );
    assert_eq!(err(&mut c, &["SHUTDOWN", "FOO"]), "ERR syntax error");
    assert_eq!(err(&mut c, &["SHUTDOWN", "NOSAVE", "SAVE"]), "ERR syntax error");
    assert_eq!(err(&mut c, &["SHUTDOWN", "ABORT", "NOW"]), "ERR syntax error");
    assert_eq!(err(&mut c, &["SHUTDOWN", "ABORT"]), "ERR No shutdown in progress.");
    assert!(s.alive());
    let mut raw = s.raw();
    raw.cmd(&[b"SHUTDOWN", b"NOW", b"NOSAVE"]);
    assert!(raw.closed());
    assert!(s.wait_exit(std::time::Duration::from_secs(10)));
}
