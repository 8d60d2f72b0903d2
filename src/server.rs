//! Start-up and shutdown: bind the listeners, start one shard thread per shard, accept connections and hand them
//! to the shards round-robin, and stop everything on SIGINT, SIGTERM or SHUTDOWN.

use crate::config::Config;
use crate::shard::{self, Msg, ShardStart};
use crate::shared::Shared;
use std::path::PathBuf;
use std::sync::Arc;

/// With `shards 0`, one shard per core from this many cores up, and a single shard below. On two cores the
/// clients (and, in a benchmark, the load generator) need a core too, and a second shard measured slower than one
/// for keys spread over both shards (docs/ARCHITECTURE.md, "Choosing the shard count").
pub const ONE_PER_CORE_FROM: usize = 4;

/// The number of shards to run for the `shards` directive on a machine with `cores` cores, and why.
pub fn shard_count(configured: usize, cores: usize) -> (usize, &'static str) {
    match configured {
        0 if cores >= ONE_PER_CORE_FROM => (cores, "one per core"),
        0 => (1, "one: fewer than 4 cores"),
        n if n > cores => (n, "as configured, more than the cores: shards will share cores"),
        n => (n, "as configured"),
    }
}

/// Runs the server until it is asked to stop.
pub fn run(config: Config, config_file: Option<PathBuf>) -> Result<(), String> {
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let (nshards, why) = shard_count(config.shards, cores);
    if nshards > cores {
        tracing::warn!("shards {nshards} is more than the {cores} cores: shards will share cores");
    }
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
        tracing::info!(
            "rill {} running with {nshards} shard(s) ({why}, {cores} cores), port={port}",
            env!("CARGO_PKG_VERSION")
        );
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shard_count_follows_the_cores() {
        assert_eq!(shard_count(0, 1).0, 1);
        assert_eq!(shard_count(0, 2).0, 1);
        assert_eq!(shard_count(0, 3).0, 1);
        assert_eq!(shard_count(0, 4).0, 4);
        assert_eq!(shard_count(0, 16).0, 16);
        assert_eq!(shard_count(3, 2), (3, "as configured, more than the cores: shards will share cores"));
        assert_eq!(shard_count(2, 2), (2, "as configured"));
    }
}
