//! Live copies of the settings the data path reads.
//!
//! Connections and shard timers read a few settings on every request or tick (bulk and query-buffer limits,
//! `maxclients`, the idle `timeout`, `hz`). They must not take the configuration lock for that, so each such
//! directive names an atomic here in its declaration (`.live(|l| &l.hz)`), and [`Live::update`] copies every
//! declared one out of a [`Config`]. Whoever changes the configuration calls it while still holding the
//! configuration lock, so no CONFIG SET is lost between two concurrent ones and nothing is copied by hand.

use super::{Config, DIRECTIVES};
use std::sync::atomic::{AtomicU64, Ordering};

/// The atomics, one per live directive, each holding the value as its field does (after any clamping).
#[derive(Debug, Default)]
pub struct Live {
    /// `hz`: active-expiry cycles a second, 1..=500.
    pub hz: AtomicU64,
    pub maxclients: AtomicU64,
    /// `timeout`: idle client timeout in seconds, 0 = never.
    pub timeout: AtomicU64,
    pub proto_max_bulk_len: AtomicU64,
    pub client_query_buffer_limit: AtomicU64,
    /// `connection-migration`: 1 when connections may move to the shard their keys live on.
    pub connection_migration: AtomicU64,
    /// `stream-node-max-entries` and `stream-node-max-bytes`: how full a stream node grows (0 = no limit).
    pub stream_node_max_entries: AtomicU64,
    pub stream_node_max_bytes: AtomicU64,
}

impl Live {
    pub fn new(config: &Config) -> Live {
        let live = Live::default();
        live.update(config);
        live
    }

    /// Copies every live directive's value out of `config`.
    pub fn update(&self, config: &Config) {
        for dir in DIRECTIVES {
            if let Some(slot) = dir.live {
                slot(self).store((dir.get)(config).as_u64(), Ordering::Relaxed);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_atomic_follows_its_directive() {
        let mut c = Config::default();
        let pairs = [
            ("hz", "1000"),
            ("maxclients", "7"),
            ("timeout", "9"),
            ("proto-max-bulk-len", "2mb"),
            ("client-query-buffer-limit", "3mb"),
        ];
        let pairs: Vec<(Vec<u8>, Vec<u8>)> =
            pairs.iter().map(|(k, v)| (k.as_bytes().to_vec(), v.as_bytes().to_vec())).collect();
        c.set(&pairs).unwrap();
        let live = Live::new(&c);
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        assert_eq!(get(&live.hz), 500);
        assert_eq!(get(&live.maxclients), 7);
        assert_eq!(get(&live.timeout), 9);
        assert_eq!(get(&live.proto_max_bulk_len), 2 << 20);
        assert_eq!(get(&live.client_query_buffer_limit), 3 << 20);
        // And every atomic is some directive's: none is left for hand-written code to fill.
        let declared = DIRECTIVES.iter().filter(|d| d.live.is_some()).count();
        assert_eq!(declared, 8);
    }
}
