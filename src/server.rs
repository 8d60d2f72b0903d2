//! Start-up and shutdown: bind the listeners, start one shard thread per shard, accept connections and hand them
//! to the shards round-robin, and stop everything on SIGINT, SIGTERM or SHUTDOWN.

use crate::config::Config;
use crate::shard::{self, Msg, ShardStart};
use crate::shared::Shared;
use std::path::PathBuf;
use std::sync::Arc;

/// The number of shards to run: the configured count, or one per core.
pub fn shard_count(configured: usize) -> usize {
    if configured > 0 {
        configured
    } else {
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
    }
}

/// Runs the server until it is asked to stop.
pub fn run(config: Config, config_file: Option<PathBuf>) -> Result<(), String> {
    let nshards = shard_count(config.shards);
    let mut listeners = Vec::new();
    for addr in &config.bind {
        let addr = addr.strip_prefix('-').unwrap_or(addr);
        let listener = std::net::TcpListener::bind((addr, config.port))
            .map_err(|e| format!("Could not create server TCP listening socket {addr}:{}: {e}", config.port))?;
        listener.set_nonblocking(true).map_err(|e| e.to_string())?;
        listeners.push(listener);
    }
    let port = listeners.first().and_then(|l| l.local_addr().ok()).map_or(config.port, |a| a.port());
    let databases = config.databases;
    let mut config = config;
    config.port = port;

    let (handles, receivers): (Vec<_>, Vec<_>) = (0..nshards).map(|_| shard::mailbox()).unzip();
    let shared = Arc::new(Shared::new(config, config_file, handles));
    let mut threads = Vec::new();
    for (id, rx) in receivers.into_iter().enumerate() {
        let start = ShardStart { id, server: shared.clone(), databases, rx, serve: crate::conn::serve };
        let t = std::thread::Builder::new()
            .name(format!("shard-{id}"))
            .spawn(move || shard::run(start))
            .map_err(|e| e.to_string())?;
        threads.push(t);
    }

    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
    rt.block_on(async {
        let mut accepting = Vec::new();
        for l in listeners {
            let l = tokio::net::TcpListener::from_std(l).map_err(|e| e.to_string())?;
            tracing::info!("Listening on {}", l.local_addr().map(|a| a.to_string()).unwrap_or_default());
            accepting.push(tokio::spawn(accept_loop(l, shared.clone())));
        }
        tracing::info!("rill {} running with {nshards} shard(s), port={port}", env!("CARGO_PKG_VERSION"));
        tracing::info!("Ready to accept connections tcp");
        wait_for_shutdown(&shared).await;
        for a in accepting {
            a.abort();
        }
        Ok::<(), String>(())
    })?;
    tracing::warn!("Shutting down: stopping {nshards} shard(s)");
    let _ = shared.shutdown.send(Some(crate::shared::Shutdown::NoSave));
    for h in &shared.shards {
        h.send(Msg::Stop);
    }
    for t in threads {
        let _ = t.join();
    }
    tracing::warn!("rill is now ready to exit, bye bye...");
    Ok(())
}

/// Accepts connections and deals them out to the shards in turn.
async fn accept_loop(listener: tokio::net::TcpListener, shared: Arc<Shared>) {
    let mut next = 0;
    loop {
        match listener.accept().await {
            Ok((stream, _)) => match stream.into_std() {
                Ok(std_stream) => {
                    shared.shards[next].send(Msg::Conn(std_stream));
                    next = (next + 1) % shared.shards.len();
                }
                Err(e) => tracing::warn!("accept: {e}"),
            },
            Err(e) => {
                tracing::warn!("accept: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
        }
    }
}

async fn wait_for_shutdown(shared: &Shared) {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    let mut int = signal(SignalKind::interrupt()).expect("SIGINT handler");
    let mut requested = shared.shutdown.subscribe();
    tokio::select! {
        _ = term.recv() => tracing::warn!("Received SIGTERM scheduling shutdown..."),
        _ = int.recv() => tracing::warn!("Received SIGINT scheduling shutdown..."),
        _ = requested.changed() => {}
    }
}
