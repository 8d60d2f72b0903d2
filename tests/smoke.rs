//! The server starts, answers, and stops on SHUTDOWN.
mod common;
use common::*;

#[test]
fn ping_set_get_over_shards() {
    for shards in [1, 4] {
        let s = Server::with_shards(shards);
        let mut c = s.client();
        assert_eq!(q::<String>(&mut c, &["PING"]), "PONG");
        assert_eq!(q::<String>(&mut c, &["SET", "k", "v"]), "OK");
        assert_eq!(q::<String>(&mut c, &["GET", "k"]), "v");
        assert_eq!(err(&mut c, &["NOPE", "a"]), "ERR unknown command 'NOPE', with args beginning with: 'a' ");
    }
}

#[test]
fn shutdown_stops_the_process() {
    let mut s = Server::with_shards(2);
    let mut raw = s.raw();
    raw.cmd(&[b"SHUTDOWN", b"NOSAVE"]);
    assert!(raw.closed());
    assert!(s.wait_exit(std::time::Duration::from_secs(10)));
}
