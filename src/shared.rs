//! What every thread shares: the shards' mailboxes, the configuration, and a few counters. Nothing here is on the
//! data path but atomics; the configuration's mutex is taken by CONFIG, AUTH and connection set-up only.

use crate::config::Config;
use crate::shard::ShardHandle;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;
use tokio::sync::watch;

/// How a SHUTDOWN asked the server to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shutdown {
    Save,
    NoSave,
    Default,
}

pub struct Shared {
    pub shards: Vec<ShardHandle>,
    pub config: Mutex<Config>,
    pub config_file: Option<PathBuf>,
    pub databases: usize,
    pub port: u16,
    pub run_id: String,
    pub executable: String,
    pub started: Instant,
    pub started_unix_ms: u64,
    pub lastsave_unix: AtomicU64,
    // Live copies of the settings the data path reads, updated by CONFIG SET.
    pub hz: AtomicU32,
    pub active_expire: AtomicBool,
    pub proto_max_bulk_len: AtomicU64,
    pub query_buffer_limit: AtomicU64,
    pub maxclients: AtomicUsize,
    pub timeout_secs: AtomicU64,
    // Counters.
    pub next_client_id: AtomicU64,
    pub next_txid: AtomicU64,
    pub connected_clients: AtomicUsize,
    pub total_connections: AtomicU64,
    pub rejected_connections: AtomicU64,
    /// CLIENT PAUSE: until when (Unix ms; 0 = not paused) and whether only writes wait.
    pub pause_until_ms: AtomicU64,
    pub pause_writes_only: AtomicBool,
    pub shutdown: watch::Sender<Option<Shutdown>>,
}

impl Shared {
    pub fn new(config: Config, config_file: Option<PathBuf>, shards: Vec<ShardHandle>) -> Self {
        let now_ms = crate::db::now_ms();
        Shared {
            shards,
            databases: config.databases,
            port: config.port,
            run_id: run_id(),
            executable: std::env::current_exe().map(|p| p.display().to_string()).unwrap_or_default(),
            started: Instant::now(),
            started_unix_ms: now_ms,
            lastsave_unix: AtomicU64::new(now_ms / 1000),
            hz: AtomicU32::new(config.hz),
            active_expire: AtomicBool::new(true),
            proto_max_bulk_len: AtomicU64::new(config.proto_max_bulk_len),
            query_buffer_limit: AtomicU64::new(config.client_query_buffer_limit),
            maxclients: AtomicUsize::new(config.maxclients),
            timeout_secs: AtomicU64::new(config.timeout),
            next_client_id: AtomicU64::new(1),
            next_txid: AtomicU64::new(1),
            connected_clients: AtomicUsize::new(0),
            total_connections: AtomicU64::new(0),
            rejected_connections: AtomicU64::new(0),
            pause_until_ms: AtomicU64::new(0),
            pause_writes_only: AtomicBool::new(false),
            shutdown: watch::channel(None).0,
            config: Mutex::new(config),
            config_file,
        }
    }

    pub fn nshards(&self) -> usize {
        self.shards.len()
    }

    /// Copies the live settings out of the configuration after CONFIG SET.
    pub fn refresh_live_settings(&self) {
        let c = self.config.lock().expect("config lock");
        self.hz.store(c.hz, Ordering::Relaxed);
        self.proto_max_bulk_len.store(c.proto_max_bulk_len, Ordering::Relaxed);
        self.query_buffer_limit.store(c.client_query_buffer_limit, Ordering::Relaxed);
        self.maxclients.store(c.maxclients, Ordering::Relaxed);
        self.timeout_secs.store(c.timeout, Ordering::Relaxed);
    }

    pub fn requirepass(&self) -> Option<String> {
        self.config.lock().expect("config lock").requirepass.clone()
    }

    pub fn request_shutdown(&self, how: Shutdown) {
        let _ = self.shutdown.send(Some(how));
    }
}

/// A 40-hex-character run id, as Redis reports in INFO server.
fn run_id() -> String {
    let seed = ahash::RandomState::new();
    (0..3).map(|i| format!("{:016x}", seed.hash_one(i))).collect::<String>()[..40].to_string()
}
