//! One client connection: read whatever the socket has, decode every complete request, run them as one pipeline
//! (`Session::execute`), write all replies with one write, repeat. Runs as a task on its shard's event loop, and
//! moves to another shard's loop when its commands keep landing there (`Session::wants_to_move`, `migrate`).

use crate::cmd::session::{BlockEvent, Portable};
use crate::cmd::Session;
use crate::proto::request::{PASS_REQUESTS, SMALL_BULK, UNAUTH_MAX_QUERY_BUFFER};
use crate::proto::{Decoder, Limits, Out};
use crate::shard::clients::ClientInfo;
use crate::shard::{Msg, Shard};
use crate::shared::Shared;
use bytes::{Bytes, BytesMut};
use std::cell::RefCell;
use std::os::fd::AsRawFd;
use std::rc::Rc;
use std::sync::atomic::Ordering;
#[cfg(test)]
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt, Interest};
use tokio::net::TcpStream;

/// Size of a connection's read buffer. The buffer is reused in place from read to read (see `Decoder::unpin`,
/// `SMALL_BULK` and `PASS_REQUESTS`): replacing read buffers strews holes among long-lived allocations. Loading a
/// list with `redis-cli --pipe` was measured at 42 bytes of resident memory per 32-byte element with 16 KiB
/// buffers replaced on each read, 39 with 64 KiB ones, and 34.5 with one 16 KiB buffer reused throughout (the
/// list's heap size is 34.3).
const READ_CHUNK: usize = 16 * 1024;

// The decoder leaves room for small bulks to the free space kept before each read.
const _: () = assert!(READ_CHUNK / 4 >= SMALL_BULK);

/// Up to this many bytes of a request still arriving are copied out of the read buffer, so the buffer can be handed
/// back while the connection waits for the rest; a larger part keeps the buffer.
const KEEP_OWN: usize = SMALL_BULK;

/// Room made for what a blocked client sends while it waits (it is read, not run, until the block ends).
const BLOCKED_READ: usize = 512;

/// Replies pending after a flush are cleared in place, and the buffer kept, up to this capacity.
const OUT_KEEP: usize = 64 * 1024;

/// Starts serving a connection on the current shard thread.
pub fn serve(stream: TcpStream, shard: Rc<RefCell<Shard>>) {
    tokio::task::spawn_local(async move {
        let shared = shard.borrow().server.clone();
        let n = shared.connected_clients.fetch_add(1, Ordering::Relaxed) + 1;
        shared.total_connections.fetch_add(1, Ordering::Relaxed);
        if n as u64 > shared.live.maxclients.load(Ordering::Relaxed) {
            shared.rejected_connections.fetch_add(1, Ordering::Relaxed);
            let mut stream = stream;
            let _ = stream.write_all(b"-ERR max number of clients reached\r\n").await;
            shared.connected_clients.fetch_sub(1, Ordering::Relaxed);
        } else {
            let conn = Conn::accept(stream, &shard);
            serve_until_closed(conn, shard).await;
        }
    });
}

/// Runs a connection on this thread until it closes (counted out of `connected_clients`) or moves away. The
/// connection comes boxed: its session then sits once in the task's future, in `run`'s locals, rather than also
/// in the arguments of each future on the way (a thousand bytes per connection more, measured).
async fn serve_until_closed(conn: Box<Conn>, shard: Rc<RefCell<Shard>>) {
    let shared = shard.borrow().server.clone();
    if let Ended::Closed = run(conn, shard).await {
        shared.connected_clients.fetch_sub(1, Ordering::Relaxed);
    }
}

/// What a connection carries from one pass of its loop to the next, and from one thread to another.
struct Conn {
    stream: TcpStream,
    info: Rc<RefCell<ClientInfo>>,
    /// Boxed, so that the futures of the connection's loop hold a pointer to it, not copies of it.
    session: Box<Session>,
    /// The start of a request still arriving, kept while no read buffer is lent.
    own: BytesMut,
    decoder: Decoder,
}

/// How a connection's loop ended.
enum Ended {
    Closed,
    /// Handed to another shard's thread, which serves it from now on.
    Moved,
}

impl Conn {
    /// A connection just accepted by this shard's thread.
    fn accept(stream: TcpStream, shard: &Rc<RefCell<Shard>>) -> Box<Conn> {
        let _ = stream.set_nodelay(true);
        let (shared, thread) = {
            let s = shard.borrow();
            (s.server.clone(), s.id)
        };
        let id = shared.next_client_id.fetch_add(1, Ordering::Relaxed);
        let addr = stream.peer_addr().map(|a| a.to_string()).unwrap_or_default();
        let laddr = stream.local_addr().map(|a| a.to_string()).unwrap_or_default();
        let info = Rc::new(RefCell::new(ClientInfo::new(id, addr, laddr, stream.as_raw_fd(), thread)));
        shard.borrow_mut().clients.insert(id, info.clone());
        let authenticated = shared.requirepass().is_none();
        let session = Box::new(Session::new(shard.clone(), info.clone(), authenticated));
        Box::new(Conn { stream, info, session, own: BytesMut::new(), decoder: Decoder::default() })
    }
}

/// A connection between two threads: plain values only.
struct Migrant {
    stream: std::net::TcpStream,
    info: ClientInfo,
    session: Portable,
    own: BytesMut,
    decoder: Decoder,
}

/// Moves a connection at rest to the thread of shard `to`: it leaves this thread's registry and reactor, and the
/// other thread registers it and goes on serving it (`adopt`). A peer that disconnects meanwhile is found out by
/// the first read there. A socket that cannot be detached from this thread's reactor is closed.
fn migrate(conn: Conn, shard: &Rc<RefCell<Shard>>, to: usize) -> Ended {
    let Conn { stream, info, mut session, own, decoder } = conn;
    let id = info.borrow().id;
    let Ok(stream) = stream.into_std() else {
        crate::cmd::multi::forget_watches(&mut session);
        shard.borrow_mut().clients.remove(&id);
        return Ended::Closed;
    };
    let shared = shard.borrow().server.clone();
    let session = (*session).into_portable();
    shard.borrow_mut().clients.remove(&id);
    // A copy: whoever else may still hold the old entry for a moment reads a connection that is gone.
    let info = info.borrow().clone();
    let migrant = Migrant { stream, info, session, own, decoder };
    shared.connection_migrations.fetch_add(1, Ordering::Relaxed);
    shared.shards[to].send(Msg::Adopt(Box::new(move |shard| adopt(migrant, shard))));
    Ended::Moved
}

/// Takes in a connection moving to this thread and serves it from where it was.
fn adopt(m: Migrant, shard: Rc<RefCell<Shard>>) {
    let stream = match TcpStream::from_std(m.stream) {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!("cannot take in a moving connection: {e}");
            shard.borrow().server.connected_clients.fetch_sub(1, Ordering::Relaxed);
            return;
        }
    };
    let mut info = m.info;
    info.thread = shard.borrow().id;
    let id = info.id;
    let info = Rc::new(RefCell::new(info));
    shard.borrow_mut().clients.insert(id, info.clone());
    let session = Box::new(Session::from_portable(m.session, shard.clone(), info.clone()));
    let conn = Box::new(Conn { stream, info, session, own: m.own, decoder: m.decoder });
    tokio::task::spawn_local(serve_until_closed(conn, shard));
}

async fn run(conn: Box<Conn>, shard: Rc<RefCell<Shard>>) -> Ended {
    let Conn { mut stream, info, mut session, mut own, mut decoder } = *conn;
    let shared = shard.borrow().server.clone();
    let id = info.borrow().id;
    // CLIENT KILL and the idle timeout shut the socket down (`ClientInfo::kill`), and server shutdown drops this
    // task with its shard's event loop: a read needs nothing else to wait on.

    // Requests are read into a buffer the shard lends (`ReadBufs`), kept while they are decoded and run, and handed
    // back before the connection waits on its socket again. Meanwhile the bytes of a request still arriving wait
    // in `own`, or, if large, keep the buffer.
    let mut rbuf = BytesMut::new();
    let mut lent = false;
    // The lent buffer grew beyond its size (a large request): it is let go rather than given back.
    let mut grown = false;
    let mut requests: Vec<Vec<Bytes>> = Vec::new();
    'conn: loop {
        if lent && rbuf.len() <= KEEP_OWN {
            keep_rest(&mut rbuf, &mut own, &mut decoder);
            give_back(&shard, &mut rbuf, &mut decoder, grown);
            lent = false;
        }
        // At rest, holding no buffer: the connection may follow its keys to another shard's thread.
        if !lent && shared.live.connection_migration.load(Ordering::Relaxed) != 0 {
            if let Some(to) = session.wants_to_move() {
                return migrate(Conn { stream, info, session, own, decoder }, &shard, to);
            }
        }
        let read = if lent {
            make_room(&mut rbuf, &mut decoder);
            let room = rbuf.capacity() - rbuf.len();
            stream.read_buf(&mut rbuf).await.map(|n| (n, room))
        } else {
            let ready = stream.readable().await;
            if ready.is_err() {
                break;
            }
            (rbuf, grown) = lend(&shard, &mut own, &mut decoder);
            lent = true;
            make_room(&mut rbuf, &mut decoder);
            let room = rbuf.capacity() - rbuf.len();
            match stream.try_read_buf(&mut rbuf) {
                // A spurious wake: the loop hands the buffer back and waits again.
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
                r => r.map(|n| (n, room)),
            }
        };
        match read {
            Ok((0, _)) | Err(_) => break,
            Ok((n, room)) => {
                if n < room {
                    // A short read drained the socket. Forget its readiness now, so the next read waits for the
                    // event loop instead of first paying a read syscall that can only say EAGAIN (Redis, too,
                    // reads once per readable event). Safe on a current-thread runtime: no reactor turn can run
                    // between the read above and this, so a newer event is still queued in epoll.
                    let _ = stream.try_io(Interest::READABLE, || Err::<(), _>(std::io::ErrorKind::WouldBlock.into()));
                }
                shard.borrow_mut().stats.net_input_bytes += n as u64;
            }
        };
        // Decode and run everything the buffer holds. Until a client authenticates, its requests run one at a
        // time, because AUTH changes the limits the decoder applies to the next request.
        loop {
            // Whether this pass decoded under authenticated limits: after a successful AUTH the requests already
            // buffered behind it still need a pass of their own.
            let decoded_authenticated = session.authenticated;
            let mut protocol_error = None;
            loop {
                let limits = Limits {
                    proto_max_bulk_len: shared.live.proto_max_bulk_len.load(Ordering::Relaxed),
                    query_buffer_limit: query_buffer_limit(&shared, session.authenticated),
                    unauthenticated: !session.authenticated,
                };
                match decoder.decode(&mut rbuf, limits) {
                    Ok(Some(req)) => {
                        requests.push(req);
                        if !session.authenticated || requests.len() == PASS_REQUESTS {
                            break;
                        }
                    }
                    Ok(None) => break,
                    Err(e) => {
                        protocol_error = Some(e);
                        break;
                    }
                }
            }
            grown |= rbuf.capacity() > 2 * READ_CHUNK;
            let progressed = !requests.is_empty();
            // A full pass may have left complete requests in the buffer: run this pass, then decode on.
            let full = requests.len() == PASS_REQUESTS;
            if progressed {
                session.execute(requests.drain(..)).await;
                for spare in session.take_spare_args() {
                    decoder.recycle(spare);
                }
            }
            // A blocking command found nothing: send the replies so far, then wait for data, the timeout, CLIENT
            // UNBLOCK or the client going away, reading (not running) whatever it sends meanwhile.
            // The wait may be long, so the buffer goes back: the requests already decoded behind the blocked one
            // were copied out of it (`Session::enter_block`), and the bytes after them wait in `own`.
            let was_blocked = session.is_blocked();
            if was_blocked {
                keep_rest(&mut rbuf, &mut own, &mut decoder);
                give_back(&shard, &mut rbuf, &mut decoder, grown);
            }
            while session.is_blocked() {
                if !flush(&mut stream, &mut session).await {
                    // Boxed here, and below: the end of a block is the largest step of the loop, and inline it would make
                    // every connection's future (idle or not) that much larger.
                    Box::pin(session.finish_block(BlockEvent::Gone)).await;
                    break 'conn;
                }
                own.reserve(BLOCKED_READ);
                // Everything before the blocked command is written: a shard that serves it may write its reply
                // straight away (`ClientInfo::reply_now`), but only while this task waits right here.
                info.borrow_mut().reply_now = session.block_keep();
                let event = tokio::select! {
                    ev = session.wait_block() => Some(ev),
                    r = stream.read_buf(&mut own) => match r {
                        Ok(n) if n > 0 && (own.len() as u64) <= query_buffer_limit(&shared, session.authenticated) => {
                            None
                        }
                        _ => Some(BlockEvent::Gone),
                    },
                };
                info.borrow_mut().reply_now = false;
                let Some(event) = event else { continue };
                let gone = matches!(event, BlockEvent::Gone);
                Box::pin(session.finish_block(event)).await;
                if gone {
                    break 'conn;
                }
                session.run_queue().await;
            }
            if was_blocked {
                // Decode on from what arrived meanwhile.
                (rbuf, grown) = lend(&shard, &mut own, &mut decoder);
            }
            if let Some(e) = protocol_error {
                match e.reply_text() {
                    Some(text) => Out::new(&mut session.out, false).error_bytes(&text),
                    None => tracing::warn!("Closing client that reached max query buffer length (id={id})"),
                }
                session.close = true;
            }
            // Replies of a full pass wait for the next one, up to a point: one write per read, not per pass.
            let hold = full && !session.close && session.out.len() < READ_CHUNK;
            if !hold && !flush(&mut stream, &mut session).await {
                break 'conn;
            }
            if session.close || info.borrow().killed {
                break 'conn;
            }
            // As in Redis, the query buffer holds the bytes not yet decoded; arguments already split off a
            // request in progress do not count.
            info.borrow_mut().qbuf = rbuf.len();
            if rbuf.len() as u64 > query_buffer_limit(&shared, session.authenticated) {
                tracing::warn!("Closing client that reached max query buffer length (id={id})");
                break 'conn;
            }
            if (!progressed || decoded_authenticated) && !was_blocked && !full {
                break;
            }
        }
    }
    crate::cmd::multi::forget_watches(&mut session);
    shard.borrow_mut().clients.remove(&id);
    Ended::Closed
}

/// Borrows a read buffer from the shard, with the bytes kept in `own` (which it empties) at its front, and hands
/// its spare argument vectors to the decoder; also says whether the bytes made it grow.
fn lend(shard: &RefCell<Shard>, own: &mut BytesMut, decoder: &mut Decoder) -> (BytesMut, bool) {
    let (mut buf, mut spare) = shard.borrow_mut().read_bufs.lend(READ_CHUNK);
    decoder.swap_spare(&mut spare);
    if !own.is_empty() {
        buf.extend_from_slice(own);
        *own = BytesMut::new();
    }
    let grown = buf.capacity() > 2 * READ_CHUNK;
    (buf, grown)
}

/// Returns the read buffer, emptied, and the decoder's spare argument vectors to the shard.
fn give_back(shard: &RefCell<Shard>, rbuf: &mut BytesMut, decoder: &mut Decoder, grown: bool) {
    let mut spare = Vec::new();
    decoder.swap_spare(&mut spare);
    shard.borrow_mut().read_bufs.give_back(std::mem::take(rbuf), spare, grown);
}

/// Moves what is left in the read buffer (the start of a request still arriving) to `own`, so the buffer can be
/// handed back; the decoder copies out the arguments it already split off that request.
fn keep_rest(rbuf: &mut BytesMut, own: &mut BytesMut, decoder: &mut Decoder) {
    if !rbuf.is_empty() {
        own.extend_from_slice(rbuf);
        rbuf.clear();
        decoder.unpin();
    }
}

/// Keeps at least a quarter of `READ_CHUNK` free for the next read. It asks for a buffer of `READ_CHUNK` bytes in
/// all, not that much more: a buffer no longer shared then slides its leftover bytes to the front and is reused,
/// where asking for more would reallocate it.
fn make_room(rbuf: &mut BytesMut, decoder: &mut Decoder) {
    if rbuf.capacity() - rbuf.len() < READ_CHUNK / 4 {
        decoder.unpin();
        rbuf.reserve(READ_CHUNK.saturating_sub(rbuf.len()).max(READ_CHUNK / 4));
    }
}

/// Writes the session's pending replies, all of them, and counts them; false if the client has gone.
async fn flush(stream: &mut TcpStream, session: &mut Session) -> bool {
    if session.out.is_empty() {
        return true;
    }
    session.shard.borrow_mut().stats.net_output_bytes += session.out.len() as u64;
    if stream.write_all(&session.out).await.is_err() {
        return false;
    }
    if session.out.capacity() > OUT_KEEP {
        session.out = BytesMut::new();
    } else {
        session.out.clear();
    }
    true
}

/// client-query-buffer-limit, capped at 1 MiB until the client authenticates (Redis 7.4).
fn query_buffer_limit(shared: &Shared, authenticated: bool) -> u64 {
    let limit = shared.live.client_query_buffer_limit.load(Ordering::Relaxed);
    if authenticated {
        limit
    } else {
        limit.min(UNAUTH_MAX_QUERY_BUFFER)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every connection, idle or not, costs its loop's future: the largest state of any of its await points. The
    /// end of a block is kept out of it (boxed), so that the future stays small; this fails if it grows back.
    #[test]
    fn the_connection_future_stays_small() {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let _client = tokio::net::TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
            let (s, _) = l.accept().await.unwrap();
            let (h, _rx) = crate::shard::mailbox();
            let shared = Arc::new(Shared::new(crate::config::Config::default(), None, vec![h]));
            let shard = Rc::new(RefCell::new(Shard::new(0, shared, 16)));
            let conn = Conn::accept(s, &shard);
            let future = run(conn, shard.clone());
            let size = std::mem::size_of_val(&future);
            assert!(size <= 1024, "the connection future is {size} bytes");
        });
    }
}
