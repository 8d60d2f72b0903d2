//! What a shard thread keeps for the connections it serves: their registry (what CLIENT LIST shows, and the
//! socket a served blocked client's reply is written to) and the pool of read buffers they borrow.

use bytes::{Bytes, BytesMut};
use std::cell::RefCell;
use std::collections::HashMap;
use std::os::fd::FromRawFd;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Instant;

/// What CLIENT LIST knows of a connection; shared between the connection's task and its shard's registry.
#[derive(Clone)]
pub struct ClientInfo {
    pub id: u64,
    pub addr: String,
    pub laddr: String,
    pub fd: i32,
    /// The shard thread serving the connection now (CLIENT LIST's `io-thread`, as Redis 8 names its I/O thread).
    pub thread: usize,
    pub name: Bytes,
    pub lib_name: Bytes,
    pub lib_ver: Bytes,
    pub created: Instant,
    /// Unix ms of the last pipeline run for this client (the session's clock: no extra clock read per read).
    pub last_active: u64,
    pub db: usize,
    pub resp: u8,
    pub last_cmd: &'static str,
    pub no_evict: bool,
    pub no_touch: bool,
    pub qbuf: usize,
    /// Set by CLIENT KILL and the idle timeout (see `kill`).
    pub killed: bool,
    /// Set while the connection waits in a blocking command (flag `b`, INFO blocked_clients).
    pub blocked: bool,
    /// Set while a blocked connection waits with everything before its blocked command written, when that
    /// command's reply is to be sent (CLIENT REPLY): a shard serving it may then write the reply itself.
    pub reply_now: bool,
    /// CLIENT UNBLOCK wakes a blocked connection through this; `unblock_error` says whether it answers with the
    /// UNBLOCKED error rather than as on a timeout.
    pub unblock: Arc<tokio::sync::Notify>,
    pub unblock_error: bool,
}

impl ClientInfo {
    pub fn new(id: u64, addr: String, laddr: String, fd: i32, thread: usize) -> Self {
        let now = Instant::now();
        ClientInfo {
            id,
            addr,
            laddr,
            fd,
            thread,
            name: Bytes::new(),
            lib_name: Bytes::new(),
            lib_ver: Bytes::new(),
            created: now,
            last_active: crate::db::now_ms(),
            db: 0,
            resp: 2,
            last_cmd: "NULL",
            no_evict: false,
            no_touch: false,
            qbuf: 0,
            killed: false,
            blocked: false,
            reply_now: false,
            unblock: Arc::new(tokio::sync::Notify::new()),
            unblock_error: false,
        }
    }

    /// CLIENT KILL and the idle timeout: marks the connection and shuts its socket down, which ends whatever read
    /// or write the connection is waiting on at once; its task then closes it. (No notifier for the connection to
    /// poll beside every read: that cost as much as a tenth of the user time of a one-request-per-read client.)
    pub fn kill(&mut self) {
        if std::mem::replace(&mut self.killed, true) {
            return;
        }
        let _ = self.socket().shutdown(std::net::Shutdown::Both);
    }

    /// Writes what the socket takes of `reply` now, without waiting (a served blocked client's reply, sent by the
    /// shard that served it instead of by the client's own task; see `Shard::serve_key`). Returns the bytes
    /// written: 0 if the socket is full or gone, and the caller hands the rest to the connection. The socket is
    /// non-blocking (the event loop set it so), so a full buffer is an error, not a wait.
    pub fn write_now(&self, reply: &[u8]) -> usize {
        use std::io::Write;
        if self.killed {
            return 0;
        }
        (&*self.socket()).write(reply).unwrap_or(0)
    }

    /// The connection's socket, borrowed from its task for a moment.
    fn socket(&self) -> std::mem::ManuallyDrop<std::net::TcpStream> {
        // SAFETY: `fd` is the connection's socket, open for as long as the client is in its shard's registry: the
        // connection task adds it after creating the stream and removes it before dropping the stream, on this
        // thread, the only one that reads the registry (callers hold the entry). ManuallyDrop: the stream still
        // belongs to the task, and must not be closed here.
        std::mem::ManuallyDrop::new(unsafe { std::net::TcpStream::from_raw_fd(self.fd) })
    }

    /// One CLIENT LIST line, with Redis 7.4's fields (memory figures are rill's own approximations).
    pub fn line(&self) -> String {
        let mut flags = String::new();
        if self.blocked {
            flags.push('b');
        }
        if self.no_evict {
            flags.push('e');
        }
        if self.no_touch {
            flags.push('T');
        }
        if flags.is_empty() {
            flags.push('N');
        }
        format!(
            "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={} db={} sub=0 psub=0 ssub=0 multi=-1 \
             watch=0 qbuf={} qbuf-free=0 argv-mem=0 multi-mem=0 rbs=16384 rbp=0 obl=0 oll=0 omem=0 tot-mem=0 \
             events=r cmd={} user=default redir=-1 resp={} lib-name={} lib-ver={} io-thread={}\n",
            self.id,
            self.addr,
            self.laddr,
            self.fd,
            String::from_utf8_lossy(&self.name),
            self.created.elapsed().as_secs(),
            crate::db::now_ms().saturating_sub(self.last_active) / 1000,
            flags,
            self.db,
            self.qbuf,
            self.last_cmd,
            self.resp,
            String::from_utf8_lossy(&self.lib_name),
            String::from_utf8_lossy(&self.lib_ver),
            self.thread,
        )
    }
}

/// The connections one shard thread serves.
pub type Clients = HashMap<u64, Rc<RefCell<ClientInfo>>>;

/// The read buffers of one shard thread, lent to its connections while they read and run requests, so that idle
/// and blocked connections hold none (Redis 7.4, too, reads into one query buffer per thread). Each comes with the
/// decoder's emptied argument vectors kept for reuse. Most recently given back first: under load the same few
/// buffers, warm in the caches, serve every connection.
#[derive(Default)]
pub struct ReadBufs(Vec<(BytesMut, Vec<Vec<Bytes>>)>);

impl ReadBufs {
    /// Buffers kept for lending. More are lent at once only while more connections are mid-pipeline, waiting on
    /// other shards.
    const KEEP: usize = 64;

    /// Lends a buffer (a new one of `size` bytes when none is kept) with its spare argument vectors.
    pub fn lend(&mut self, size: usize) -> (BytesMut, Vec<Vec<Bytes>>) {
        self.0.pop().unwrap_or_else(|| (BytesMut::with_capacity(size), Vec::new()))
    }

    /// Takes an emptied buffer back; one grown for a large request is let go.
    pub fn give_back(&mut self, buf: BytesMut, spare: Vec<Vec<Bytes>>, grown: bool) {
        debug_assert!(buf.is_empty());
        if !grown && self.0.len() < Self::KEEP {
            self.0.push((buf, spare));
        }
    }
}
