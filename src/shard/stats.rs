//! Per-shard counters: INFO commandstats and INFO stats, summed over the shards when reported.

use std::time::Duration;

/// Per-shard command statistics (INFO commandstats, INFO stats), summed over shards when reported.
#[derive(Default, Clone)]
pub struct Stats {
    pub cmds: Vec<CmdStat>,
    pub keyspace_hits: u64,
    pub keyspace_misses: u64,
    /// Bytes read from and written to this shard's connections (per shard, like everything here, so that no two
    /// shard threads ever write the same cache line on the hot path).
    pub net_input_bytes: u64,
    pub net_output_bytes: u64,
    /// Commands run, for sampling which ones are timed.
    pub tick: u64,
    /// Changes to the keyspace (`Shard::modified`), as Redis's `server.dirty`: a step that moved it wrote.
    pub dirty: u64,
}

#[derive(Default, Clone, Copy)]
pub struct CmdStat {
    pub calls: u64,
    pub nanos: u64,
    pub failed: u64,
    pub rejected: u64,
}

impl Stats {
    fn slot(&mut self, index: usize) -> &mut CmdStat {
        if self.cmds.len() <= index {
            self.cmds.resize(index + 1, CmdStat::default());
        }
        &mut self.cmds[index]
    }

    pub fn record(&mut self, index: usize, took: Duration, failed: bool) {
        let s = self.slot(index);
        s.calls += 1;
        s.nanos += took.as_nanos() as u64;
        s.failed += failed as u64;
    }

    pub fn reject(&mut self, index: usize) {
        self.slot(index).rejected += 1;
    }

    pub fn merge(&mut self, other: &Stats) {
        for (i, s) in other.cmds.iter().enumerate() {
            let d = self.slot(i);
            d.calls += s.calls;
            d.nanos += s.nanos;
            d.failed += s.failed;
            d.rejected += s.rejected;
        }
        self.keyspace_hits += other.keyspace_hits;
        self.keyspace_misses += other.keyspace_misses;
        self.net_input_bytes += other.net_input_bytes;
        self.net_output_bytes += other.net_output_bytes;
        self.dirty += other.dirty;
    }

    pub fn total_calls(&self) -> u64 {
        self.cmds.iter().map(|s| s.calls).sum()
    }
}
