#!/usr/bin/env bash
# Side-by-side benchmark: rill vs the distro redis-server, on a 2-core box.
# Not a test; run it by hand:   benches/compare.sh
#
# Layout: each server is pinned to CPU 0, redis-benchmark to CPU 1, so the
# server never competes with the load generator.  Servers alternate within each
# round (rill, redis, rill, redis, ...) to spread machine noise over both.
# For every run we read the server's CPU time (utime+stime, /proc/PID/stat) so
# we can report CPU microseconds per operation next to ops/s.
#
# Environment knobs:
#   RILL_BIN    rill binary (default: cargo build --release, target/release/rill-server)
#   RILL_ARGS   extra rill args (default: "--shards 1"; RILL_ARGS= for none)
#   TESTS       redis-benchmark -t list (default:
#               ping,set,get,mset,incr,lpush,rpush,lpop,rpop,lrange_100; empty
#               skips the redis-benchmark table).  "ping" expands to
#               ping_inline,ping_mbulk.  Note lrange_* runs an LPUSH prefill in
#               the same invocation, so its CPU/op includes that prefill.
#   N           requests per run for every pipeline (default: N_P1 / N_P32)
#   N_P1, N_P32 requests per run at -P 1 (default 200000) / -P 32 (default 2000000)
#   ROUNDS      rounds per server (default 3; medians are taken over rounds)
#   CLIENTS     redis-benchmark -c (default 50)
#   KEYSPACE    redis-benchmark -r: spread keys over this many (default: unset,
#               one key, as redis-benchmark does).  KEYSPACE=100000 measures a
#               keyspace larger than the caches, where lookups are cache misses;
#               the list tests use one key either way.
#   PIPELINES   pipeline depths (default "1 32")
#   RILL_PORT, REDIS_PORT   (default 16379 / 16380)
#   OUT_MD      if set, also write the result table as markdown to this file
#   QUEUE       1 (default) runs the job-queue section after the table, 0 skips it
#   QUEUE_ARGS  args for the queue tool (benches/queue.rs; default
#               "--producers 4 --consumers 8 --items 200000 --value-size 32 --keys 1").  Workers outnumber
#               producers, as in a queue with spare workers: idle ones wait in BRPOP and the list stays short.
#               With as many consumers as producers, unpaced, the list length is a random walk (both sides run
#               flat out, and a non-empty list never makes a consumer wait), so the latency measures the walk.
#   QUEUE_RATES offered loads for the queue tool, items/s over all producers (default "0 10000 20000 30000"):
#               0 runs unpaced, producers pushing as fast as the server answers, which measures throughput and
#               the latency at full load; a fixed rate below both servers' capacity measures latency at that load.
#   QUEUE_BIN   queue tool binary (default: cargo bench --bench queue --no-run)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."          # repo root

ROUNDS=${ROUNDS:-3}
CLIENTS=${CLIENTS:-50}
KEYSPACE=${KEYSPACE:-}
RANDOM_KEYS=(); [ -n "$KEYSPACE" ] && RANDOM_KEYS=(-r "$KEYSPACE")
PIPELINES=${PIPELINES:-"1 32"}
TESTS=${TESTS-ping,set,get,mset,incr,lpush,rpush,lpop,rpop,lrange_100}   # set-but-empty skips
N_P1=${N_P1:-${N:-200000}}
N_P32=${N_P32:-${N:-2000000}}
RILL_PORT=${RILL_PORT:-16379}
REDIS_PORT=${REDIS_PORT:-16380}
RILL_ARGS=${RILL_ARGS---shards 1}   # set-but-empty means no extra args
OUT_MD=${OUT_MD:-}
QUEUE=${QUEUE:-1}
QUEUE_ARGS=${QUEUE_ARGS:---producers 4 --consumers 8 --items 200000 --value-size 32 --keys 1}
QUEUE_RATES=${QUEUE_RATES:-0 10000 20000 30000}

# --- prerequisites -----------------------------------------------------------
source benches/lib.sh
need_tools redis-cli redis-benchmark taskset python3 timeout getconf
build_rill
if [ "$QUEUE" = 1 ] && [ -z "${QUEUE_BIN:-}" ]; then
    QUEUE_BIN=$(bench_bin queue)
fi
CLK_TCK=$(getconf CLK_TCK)

# --- servers -----------------------------------------------------------------
# Server CPU time in clock ticks: utime+stime are fields 14,15 of
# /proc/PID/stat; parse after the ")" ending comm, as comm may hold spaces.
cpu_ticks() { local s; s=$(<"/proc/$1/stat"); s=${s##*) }; set -- $s; echo $(( ${12} + ${13} )); }

# read -a splits RILL_ARGS into words (no quoting inside it is honoured).
read -r -a rill_args <<<"$RILL_ARGS"
RILL_CMD=(taskset -c 0 "$RILL_BIN" --port "$RILL_PORT" "${rill_args[@]}" --save "")
REDIS_CMD=(taskset -c 0 "$REDIS_BIN" --port "$REDIS_PORT" --save "" --appendonly no)
start rill "$RILL_PORT" "${RILL_CMD[@]:3}"
start redis "$REDIS_PORT" "${REDIS_CMD[@]:3}"

# Expand "ping" into its two variants; one test per redis-benchmark call so
# that the CPU delta belongs to exactly one test.
tests=()
IFS=, read -r -a raw_tests <<<"$TESTS"
for t in "${raw_tests[@]}"; do
    case "$t" in ping) tests+=(ping_inline ping_mbulk) ;; *) tests+=("$t") ;; esac
done

echo "== layout ($(nproc) CPUs, CLK_TCK=$CLK_TCK)"
echo "rill:   $(printf '%q ' "${RILL_CMD[@]}")"      # %q makes --save "" visible
echo "redis:  $(printf '%q ' "${REDIS_CMD[@]}")"
echo "client: taskset -c 1 redis-benchmark -p PORT -t TEST -n N -P {${PIPELINES// /,}} -c $CLIENTS ${RANDOM_KEYS[*]} -q --csv"
echo "        tests=${tests[*]:-none}  rounds=$ROUNDS  N(-P1)=$N_P1  N(other)=$N_P32"
[ "$QUEUE" = 1 ] && echo "queue:  taskset -c 1 $QUEUE_BIN --port PORT $QUEUE_ARGS"
echo

# --- runs --------------------------------------------------------------------
RESULTS=$WORK/results.tsv        # server test pipeline requests rps cpu_ticks
: >"$RESULTS"
for round in $(seq "$ROUNDS"); do
    [ ${#tests[@]} -gt 0 ] || break
    for P in $PIPELINES; do
        if [ "$P" = 1 ]; then n=$N_P1; else n=$N_P32; fi
        for t in "${tests[@]}"; do
            for server in rill redis; do
                if [ $server = rill ]; then port=$RILL_PORT pid=$rill_PID; else port=$REDIS_PORT pid=$redis_PID; fi
                before=$(cpu_ticks "$pid")
                # timeout: redis-benchmark hangs forever if the server stops answering.
                out=$(timeout 300 taskset -c 1 redis-benchmark -p "$port" -t "$t" \
                      -n "$n" -P "$P" -c "$CLIENTS" "${RANDOM_KEYS[@]}" -q --csv) \
                    || { echo "redis-benchmark failed: $server $t -P $P" >&2; exit 1; }
                after=$(cpu_ticks "$pid")
                # Last CSV row is the test itself (lrange_* prints a prefill row first).
                rps=$(tail -n1 <<<"$out" | cut -d, -f2 | tr -d '"')
                printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$server" "$t" "$P" "$n" "$rps" \
                    $((after - before)) >>"$RESULTS"
                printf 'round %s/%s  %-5s %-11s -P %-3s %12s ops/s  %6s µs CPU/op\n' \
                    "$round" "$ROUNDS" "$server" "$t" "$P" "$rps" \
                    "$(python3 -c "print(f'{$((after - before)) / $CLK_TCK * 1e6 / $n:.3f}')")" >&2
            done
        done
    done
done
echo >&2

# --- table -------------------------------------------------------------------
[ ${#tests[@]} -eq 0 ] || python3 - "$RESULTS" "$CLK_TCK" "$OUT_MD" <<'EOF'
import sys, statistics as st
from collections import defaultdict
path, clk, out_md = sys.argv[1], int(sys.argv[2]), sys.argv[3]
rps, cpu, order = defaultdict(list), defaultdict(list), []
for line in open(path):
    server, test, p, n, r, ticks = line.split("\t")
    key = (test, int(p))
    if key not in order:
        order.append(key)
    rps[server, key].append(float(r))
    cpu[server, key].append(int(ticks) / clk * 1e6 / int(n))   # µs CPU per op

def ratio(a, b):
    """Median over rounds of a[i] / b[i]: the servers alternate within a round, so each pair saw the same machine
    conditions, and drift between rounds cancels out of the ratio."""
    pairs = [x / y for x, y in zip(a, b) if y]
    return f"{st.median(pairs):.2f}" if pairs else "n/a"

head = ["test", "pipeline", "rill ops/s", "redis ops/s", "rill/redis ops",
        "rill µs CPU/op", "redis µs CPU/op", "redis/rill cpu"]
rows = []
for key in order:
    r1, r2 = st.median(rps["rill", key]), st.median(rps["redis", key])
    c1, c2 = st.median(cpu["rill", key]), st.median(cpu["redis", key])
    rows.append([key[0].upper(), str(key[1]), f"{r1:,.0f}", f"{r2:,.0f}", ratio(rps["rill", key], rps["redis", key]),
                 f"{c1:.3f}", f"{c2:.3f}", ratio(cpu["redis", key], cpu["rill", key])])

w = [max(len(x) for x in col) for col in zip(head, *rows)]
fmt = lambda cells: "  ".join(c.rjust(w[i]) if i > 1 else c.ljust(w[i]) for i, c in enumerate(cells))
print(fmt(head)); print(fmt(["-" * x for x in w]))
for r in rows: print(fmt(r))
print("\nmedians over rounds; ratios are medians of the per-round ratios; cpu ratio > 1 means rill uses less CPU per op")

if out_md:
    with open(out_md, "w") as f:
        f.write("| " + " | ".join(head) + " |\n")
        f.write("|" + "|".join(["---"] * 2 + ["---:"] * 6) + "|\n")
        for r in rows: f.write("| " + " | ".join(r) + " |\n")
    print(f"markdown table written to {out_md}")
EOF

# --- queue -------------------------------------------------------------------
# End-to-end job queue (benches/queue.rs): producers LPUSH, consumers BRPOP,
# latency from send to dequeue.  Same pinning and alternation as above.
[ "$QUEUE" = 1 ] || exit 0
read -r -a queue_args <<<"$QUEUE_ARGS"
QRESULTS=$WORK/queue.tsv          # rate server items_per_s p50 p99 p999 cpu_ticks items
: >"$QRESULTS"
echo >&2
for round in $(seq "$ROUNDS"); do
  for rate in $QUEUE_RATES; do
    for server in rill redis; do
        if [ $server = rill ]; then port=$RILL_PORT pid=$rill_PID; else port=$REDIS_PORT pid=$redis_PID; fi
        before=$(cpu_ticks "$pid")
        # The tool bounds itself with --time-limit; timeout is the backstop.
        out=$(timeout 300 taskset -c 1 "$QUEUE_BIN" --port "$port" "${queue_args[@]}" --rate "$rate") \
            || { echo "queue tool failed: $server"; echo "$out"; exit 1; } >&2
        after=$(cpu_ticks "$pid")
        res=$(grep '^RESULT ' <<<"$out")
        get() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$res"; }
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$rate" "$server" "$(get items_per_s)" "$(get p50_us)" "$(get p99_us)" \
            "$(get p999_us)" $((after - before)) "$(get items)" >>"$QRESULTS"
        printf 'round %s/%s  %-5s queue rate %-6s %12s items/s  p50 %8s µs  p99 %8s µs\n' \
            "$round" "$ROUNDS" "$server" "$rate" "$(get items_per_s)" "$(get p50_us)" "$(get p99_us)" >&2
    done
  done
done
echo >&2

python3 - "$QRESULTS" "$CLK_TCK" "$QUEUE_ARGS" <<'EOF'
import sys, statistics as st
from collections import defaultdict
path, clk, args = sys.argv[1], int(sys.argv[2]), sys.argv[3]
col = defaultdict(lambda: defaultdict(list))
rates = []
for line in open(path):
    rate, server, rps, p50, p99, p999, ticks, items = line.split("\t")
    rate = int(rate)
    if rate not in rates: rates.append(rate)
    c = col[rate, server]
    c["rps"].append(float(rps)); c["p50"].append(float(p50)); c["p99"].append(float(p99))
    c["p999"].append(float(p999))
    c["cpu"].append(int(ticks) / clk * 1e6 / int(items))   # µs server CPU per item (push + pop)
m = {k: {f: st.median(v) for f, v in c.items()} for k, c in col.items()}
load = lambda rate: f"{rate:,}/s" if rate else "unpaced"
print(f"\nqueue: LPUSH/BRPOP job queue, {args}")
head = ["offered load", "server", "items/s", "p50 µs", "p99 µs", "p99.9 µs", "µs CPU/item"]
rows = [[load(rate), s, f"{m[rate, s]['rps']:,.0f}", f"{m[rate, s]['p50']:.1f}", f"{m[rate, s]['p99']:.1f}",
         f"{m[rate, s]['p999']:.1f}", f"{m[rate, s]['cpu']:.3f}"] for rate in rates for s in ("rill", "redis")]
w = [max(len(x) for x in c) for c in zip(head, *rows)]
fmt = lambda cells: "  ".join(c.rjust(w[i]) if i > 1 else c.ljust(w[i]) for i, c in enumerate(cells))
print(fmt(head)); print(fmt(["-" * x for x in w]))
for r in rows: print(fmt(r))
# Ratios: the median over rounds of each round's rill/redis ratio (the two ran back to back in each round).
def pr(rate, f, inv=False):
    a, b = col[rate, "rill"][f], col[rate, "redis"][f]
    if inv: a, b = b, a
    return st.median([x / y for x, y in zip(a, b) if y])
for rate in rates:
    print(f"{load(rate):>12}  rill/redis items/s {pr(rate, 'rps'):.2f}   p50 {pr(rate, 'p50'):.2f}   "
          f"p99 {pr(rate, 'p99'):.2f}   cpu/item {pr(rate, 'cpu', True):.2f}")
print("medians over rounds; ratios are medians of the per-round ratios;")
print("a latency ratio < 1 means rill is faster, a cpu/item ratio > 1 that it uses less CPU;")
print("CPU/item is the server's CPU time for one push plus one pop")
EOF
