#!/usr/bin/env bash
# The cost of one hop between shards: the same cheap command on a key of the connection's own shard and on a key
# of another shard (benches/hop.rs). Not a test; run it by hand:   benches/hop.sh
#
# rill runs with --shards 2 --connection-migration no (so the connection stays on its first shard) pinned to
# CPU 0, both shards on that one core, the tool pinned to CPU 1: on this 2-core layout a hop includes a switch
# between the two shard threads. With a core per shard (SHARD_CPUS=0,1, the tool then sharing CPU 1) it does not.
#
# Environment: RILL_BIN, RILL_PORT (16379), OPS (2000000), PIPELINE (32), ROUNDS (5), SHARD_CPUS (0).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source benches/lib.sh
need_tools redis-cli taskset getconf python3
build_rill
RILL_PORT=${RILL_PORT:-16379}
HOP_BIN=$(bench_bin hop)
start rill "$RILL_PORT" "$RILL_BIN" --port "$RILL_PORT" --shards 2 --connection-migration no --save ""
taskset -p -a -c "${SHARD_CPUS:-0}" "$rill_PID" >/dev/null
echo "rill: --shards 2 --connection-migration no on CPU ${SHARD_CPUS:-0}; tool on CPU 1"
taskset -c 1 "$HOP_BIN" --port "$RILL_PORT" --shards 2 --pid "$rill_PID" \
    --ops "${OPS:-2000000}" --pipeline "${PIPELINE:-32}" --rounds "${ROUNDS:-5}"
