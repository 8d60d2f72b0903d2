//! What every thread shares: the shards' mailboxes, the configuration, and a few counters. Nothing here is on the
//! data path but atomics; the configuration's mutex is taken by CONFIG, AUTH and connection set-up only.

use crate::config::{Config, Live};
use crate::shard::ShardHandle;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize};
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
    /// Live copies of the settings the data path reads, kept in step with `config` by [`Shared::set_config`].
    pub live: Live,
    /// DEBUG SET-ACTIVE-EXPIRE: whether the shards' cron expires keys.
    pub active_expire: AtomicBool,
    // Counters.
    pub next_client_id: AtomicU64,
    pub next_txid: AtomicU64,
    pub connected_clients: AtomicUsize,
    pub total_connections: AtomicU64,
    pub rejected_connections: AtomicU64,
    /// Connections moved to another shard's thread (INFO stats `connection_migrations`).
    pub connection_migrations: AtomicU64,
    /// CLIENT PAUSE: until when (Unix ms; 0 = not paused) and whether only writes wait.
    pub pause_until_ms: AtomicU64,
    pub pause_writes_only: AtomicBool,
    /// Clients blocked on keys of more than one shard, or on a move to another shard's key. While there are any,
    /// a pipeline's commands for different shards run one shard after another (see
    /// `Session::must_wait_for_batches`), so such a client is offered keys in the order the pipeline made them
    /// ready and served before the pipeline's next command.
    pub spanning_blocks: AtomicUsize,
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
            live: Live::new(&config),
            active_expire: AtomicBool::new(true),
            next_client_id: AtomicU64::new(1),
            next_txid: AtomicU64::new(1),
            connected_clients: AtomicUsize::new(0),
            total_connections: AtomicU64::new(0),
            rejected_connections: AtomicU64::new(0),
            connection_migrations: AtomicU64::new(0),
            pause_until_ms: AtomicU64::new(0),
            pause_writes_only: AtomicBool::new(false),
            spanning_blocks: AtomicUsize::new(0),
            shutdown: watch::channel(None).0,
            config: Mutex::new(config),
            config_file,
        }
    }

    pub fn nshards(&self) -> usize {
        self.shards.len()
    }

    /// CONFIG SET: changes the configuration (all or nothing, see [`Config::set`]) and its live copies, under the
    /// configuration lock so that concurrent CONFIG SETs leave the copies matching the configuration.
    pub fn set_config(&self, pairs: &[(Vec<u8>, Vec<u8>)]) -> Result<(), String> {
        let mut config = self.config.lock().expect("config lock");
        config.set(pairs)?;
        self.live.update(&config);
        Ok(())
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
