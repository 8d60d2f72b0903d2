#!/usr/bin/env bash
# Streams side by side: rill vs the distro redis-server, on a 2-core box.
# Not a test; run it by hand:   benches/streams.sh          (about 4 minutes on a quiet machine)
#                               ROUNDS=1 MEM_N=200000 XADD_N_P1=50000 XADD_N_P32=500000 \
#                                 CONSUME_ARGS="--messages 100000" LATENCY_SECS=1 benches/streams.sh   (quick look)
#
# Same layout as compare.sh: the server pinned to CPU 0, the load (benches/streams.rs, or redis-benchmark) to
# CPU 1; rill and redis alternate within each round; tables show medians over rounds, and each ratio is the median
# of the per-round ratios. Sections (SECTIONS, comma-separated):
#
#   memory   a fresh server per round: VmRSS (/proc/PID/status) before and after each of
#              fill       MEM_N x `XADD key * f1 <16 B> f2 <16 B>`, pipelined        -> bytes per entry
#              readgroup  all of them read into one group with XREADGROUP COUNT 1000, no XACK -> pending bytes/entry
#              xdel-half  XDEL of every other ID (found by XRANGE in chunks)          -> bytes released per entry,
#                         and the share of the fill that the XDELs gave back
#            RSS is read SETTLE seconds after each step, so the allocator can hand back what it frees.
#   xadd     redis-benchmark -c CLIENTS -P {PIPELINES} `XADD key * f v` and `XADD key MAXLEN ~ 1000 * f v`, the
#            key deleted before each run: ops/s, and the server's CPU per op (utime+stime of /proc/PID/stat)
#   consume  4 producers XADD, 4 consumers in one group loop on XREADGROUP COUNT 10 BLOCK 100 + XACK, until
#            400,000 messages have been delivered once each: delivered msg/s and server CPU per message
#   latency  one producer paced at each of LATENCY_RATES msg/s puts its send time in each entry; one consumer
#            waits in XREADGROUP BLOCK 0 COUNT 100 (XACK sent with the next read): p50/p99 XADD-to-delivery
#
# Every server is first probed with one round of the commands used (`streams probe`); a server that refuses one
# (rill before it has streams) stops the script with the server's error. SERVERS=redis runs the redis side alone.
#
# Environment knobs:
#   RILL_BIN    rill binary (default: cargo build --release, target/release/rill-server)
#   RILL_ARGS   extra rill args (default: "--shards 1"; RILL_ARGS= for none)
#   SERVERS     which servers, in the order run within a round (default "rill redis")
#   SECTIONS    default memory,xadd,consume,latency
#   ROUNDS      rounds (default 3)
#   MEM_N       entries in the memory section (default 1000000)
#   SETTLE      seconds to wait before each RSS reading (default 1)
#   XADD_N_P1, XADD_N_P32   XADDs per redis-benchmark run at -P 1 (default 200000) / other depths (2000000)
#   PIPELINES   pipeline depths for the xadd section (default "1 32")
#   CLIENTS     redis-benchmark -c (default 50)
#   CONSUME_ARGS  options for `streams consume` (default
#               "--producers 4 --consumers 4 --messages 400000 --count 10 --block 100")
#   LATENCY_RATES msg/s (default "1000 10000 50000"); LATENCY_SECS seconds of sending per rate (default 3)
#   RILL_PORT, REDIS_PORT   (default 16383 / 16384)
#   STREAMS_BIN the tool (default: cargo bench --bench streams --no-run)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."          # repo root

ROUNDS=${ROUNDS:-3}
SERVERS=${SERVERS:-rill redis}
SECTIONS=${SECTIONS:-memory,xadd,consume,latency}
MEM_N=${MEM_N:-1000000}
SETTLE=${SETTLE:-1}
XADD_N_P1=${XADD_N_P1:-200000}
XADD_N_P32=${XADD_N_P32:-2000000}
PIPELINES=${PIPELINES:-1 32}
CLIENTS=${CLIENTS:-50}
CONSUME_ARGS=${CONSUME_ARGS:---producers 4 --consumers 4 --messages 400000 --count 10 --block 100}
LATENCY_RATES=${LATENCY_RATES:-1000 10000 50000}
LATENCY_SECS=${LATENCY_SECS:-3}
RILL_PORT=${RILL_PORT:-16383}
REDIS_PORT=${REDIS_PORT:-16384}
RILL_ARGS=${RILL_ARGS---shards 1}   # set-but-empty means no extra args
KEY=rill-bench:stream
MAXLEN=1000

# --- prerequisites -----------------------------------------------------------
source benches/lib.sh
need_tools redis-cli redis-benchmark taskset python3 timeout getconf
for server in $SERVERS; do
    case "$server" in rill) build_rill ;; redis) ;; *) echo "SERVERS: unknown server $server" >&2; exit 1 ;; esac
done
if [ -z "${STREAMS_BIN:-}" ]; then
    STREAMS_BIN=$(bench_bin streams)
fi
CLK_TCK=$(getconf CLK_TCK)
section() { [[ ",$SECTIONS," == *",$1,"* ]]; }

# Server CPU time in clock ticks: utime+stime, fields 14 and 15 of /proc/PID/stat (after the ")" ending comm).
cpu_ticks() { local s; s=$(<"/proc/$1/stat"); s=${s##*) }; set -- $s; echo $(( ${12} + ${13} )); }
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

read -r -a rill_args <<<"$RILL_ARGS"
RILL_CMD=("${RILL_BIN:-rill-server}" --port "$RILL_PORT" "${rill_args[@]}" --save "" --appendonly no)
REDIS_CMD=("$REDIS_BIN" --port "$REDIS_PORT" --save "" --appendonly no)

# launch SERVER: start it pinned to CPU 0, set PORT and PID, and probe it.
launch() {
    if [ "$1" = rill ]; then
        start rill "$RILL_PORT" "${RILL_CMD[@]}"; PORT=$RILL_PORT; PID=$rill_PID
    else
        start redis "$REDIS_PORT" "${REDIS_CMD[@]}"; PORT=$REDIS_PORT; PID=$redis_PID
    fi
    local out
    if ! out=$(timeout 30 "$STREAMS_BIN" probe --port "$PORT" --key "$KEY" --time-limit 10 2>&1); then
        echo "$1 cannot run the stream benchmarks yet:" >&2
        echo "  $out" >&2
        [ "$1" = rill ] && echo "(SERVERS=redis runs the redis side alone)" >&2
        exit 1
    fi
}

# use SERVER: PORT and PID of an already started server.
use() { if [ "$1" = rill ]; then PORT=$RILL_PORT; PID=$rill_PID; else PORT=$REDIS_PORT; PID=$redis_PID; fi; }

# tool SERVER SUBCOMMAND ARGS...: the stream tool against PORT, on CPU 1; prints its RESULT line. On failure it
# prints the tool's output and exits (in res=$(tool ...), the subshell, and the failed assignment stops the script).
tool() {
    local server=$1 sub=$2 out rc=0; shift 2
    out=$(timeout 300 taskset -c 1 "$STREAMS_BIN" "$sub" --port "$PORT" --key "$KEY" "$@" 2>&1) || rc=$?
    if [ "$rc" != 0 ]; then
        [ "$rc" = 124 ] && rc="124, timed out"
        echo "$server: streams $sub failed (exit status $rc):" >&2; echo "$out" >&2; exit 1
    fi
    grep '^RESULT ' <<<"$out"
}
# val FIELD LINE: the value of FIELD=... in a RESULT line.
val() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2"; }

echo "== layout ($(nproc) CPUs, CLK_TCK=$CLK_TCK); servers on CPU 0, load on CPU 1"
for server in $SERVERS; do
    if [ "$server" = rill ]; then echo "rill:   $(printf '%q ' "${RILL_CMD[@]}")"; fi
    if [ "$server" = redis ]; then echo "redis:  $(printf '%q ' "${REDIS_CMD[@]}")"; fi
done
echo "tool:   $STREAMS_BIN"
echo "        sections=$SECTIONS  rounds=$ROUNDS  servers=$SERVERS"
echo

RESULTS=$WORK/results.tsv        # section case server round key=value...
: >"$RESULTS"
record() { printf '%s\t%s\t%s\t%s\t%s\n' "$@" >>"$RESULTS"; }

# --- memory ------------------------------------------------------------------
if section memory; then
    for round in $(seq "$ROUNDS"); do
        for server in $SERVERS; do
            launch "$server"
            r0=$(rss_kib "$PID")
            tool "$server" fill --n "$MEM_N" >/dev/null
            sleep "$SETTLE"; r1=$(rss_kib "$PID")
            tool "$server" readgroup --expect "$MEM_N" >/dev/null
            sleep "$SETTLE"; r2=$(rss_kib "$PID")
            tool "$server" xdel-half >/dev/null
            sleep "$SETTLE"; r3=$(rss_kib "$PID")
            stop "$PID"
            record memory - "$server" "$round" "n=$MEM_N r0=$r0 r1=$r1 r2=$r2 r3=$r3"
            printf 'round %s/%s  %-5s memory  VmRSS KiB: start %s, filled %s, read %s, half deleted %s\n' \
                "$round" "$ROUNDS" "$server" "$r0" "$r1" "$r2" "$r3" >&2
        done
    done
fi

# --- one server each for the other sections ------------------------------------
if section xadd || section consume || section latency; then
    for server in $SERVERS; do launch "$server"; done
fi

# --- xadd --------------------------------------------------------------------
if section xadd; then
    for round in $(seq "$ROUNDS"); do
        for P in $PIPELINES; do
            if [ "$P" = 1 ]; then n=$XADD_N_P1; else n=$XADD_N_P32; fi
            for trim in none maxlen; do
                if [ $trim = none ]; then cmd=(XADD "$KEY" '*' f v); else cmd=(XADD "$KEY" MAXLEN '~' "$MAXLEN" '*' f v); fi
                for server in $SERVERS; do
                    use "$server"
                    redis-cli -p "$PORT" DEL "$KEY" >/dev/null
                    before=$(cpu_ticks "$PID")
                    # timeout: redis-benchmark hangs forever if the server stops answering; it exits 1 on an
                    # error reply.
                    out=$(timeout 300 taskset -c 1 redis-benchmark -p "$PORT" -n "$n" -P "$P" -c "$CLIENTS" \
                          -q --csv "${cmd[@]}" 2>&1) \
                        || { echo "redis-benchmark failed: $server ${cmd[*]} -P $P"; echo "$out"; exit 1; } >&2
                    after=$(cpu_ticks "$PID")
                    len=$(redis-cli -p "$PORT" XLEN "$KEY")
                    if [ $trim = none ] && [ "$len" != "$n" ]; then
                        echo "$server: XLEN is $len after $n XADDs" >&2; exit 1
                    fi
                    if [ $trim = maxlen ] && [ "$len" -gt $((MAXLEN * 2)) ]; then
                        echo "warning: $server: XLEN is $len after XADD MAXLEN ~ $MAXLEN" >&2
                    fi
                    rps=$(tail -n1 <<<"$out" | cut -d, -f2 | tr -d '"')
                    record xadd "$trim $P" "$server" "$round" "n=$n rps=$rps ticks=$((after - before)) len=$len"
                    printf 'round %s/%s  %-5s %-28s -P %-3s %10s ops/s  %6s µs CPU/op  XLEN %s\n' \
                        "$round" "$ROUNDS" "$server" "${cmd[*]}" "$P" "$rps" \
                        "$(python3 -c "print(f'{$((after - before)) / $CLK_TCK * 1e6 / $n:.3f}')")" "$len" >&2
                done
            done
        done
    done
    for server in $SERVERS; do use "$server"; redis-cli -p "$PORT" DEL "$KEY" >/dev/null; done
fi

# --- consume -----------------------------------------------------------------
if section consume; then
    read -r -a consume_args <<<"$CONSUME_ARGS"
    for round in $(seq "$ROUNDS"); do
        for server in $SERVERS; do
            use "$server"
            res=$(tool "$server" consume --pid "$PID" "${consume_args[@]}")
            record consume - "$server" "$round" "${res#RESULT }"
            printf 'round %s/%s  %-5s consume  %10s msg/s  %6s µs CPU/msg\n' "$round" "$ROUNDS" "$server" \
                "$(val msgs_per_s "$res")" "$(val cpu_us_per_msg "$res")" >&2
        done
    done
fi

# --- latency -----------------------------------------------------------------
if section latency; then
    for round in $(seq "$ROUNDS"); do
        for rate in $LATENCY_RATES; do
            for server in $SERVERS; do
                use "$server"
                res=$(tool "$server" latency --pid "$PID" --rate "$rate" --secs "$LATENCY_SECS")
                record latency "$rate" "$server" "$round" "${res#RESULT }"
                printf 'round %s/%s  %-5s latency at %6s msg/s (sent %6s/s)  p50 %8s µs  p99 %8s µs\n' \
                    "$round" "$ROUNDS" "$server" "$rate" "$(val achieved_per_s "$res")" "$(val p50_us "$res")" \
                    "$(val p99_us "$res")" >&2
            done
        done
    done
fi
echo >&2

# --- tables ------------------------------------------------------------------
python3 - "$RESULTS" "$CLK_TCK" "$CLIENTS" "$CONSUME_ARGS" "$LATENCY_SECS" <<'EOF'
import sys, statistics as st
from collections import defaultdict
path, clk, clients, consume_args, lat_secs = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
# (section, case) -> server -> round -> {field: value}
data, cases = defaultdict(lambda: defaultdict(dict)), []
for line in open(path):
    sec, case, server, rnd, kv = line.rstrip("\n").split("\t")
    data[sec, case][server][int(rnd)] = {k: float(v) for k, v in (x.split("=", 1) for x in kv.split())}
    if (sec, case) not in cases:
        cases.append((sec, case))

def per_round(sec, case, server, f):
    return {r: f(d) for r, d in data[sec, case].get(server, {}).items()}

def med(s):
    return st.median(s.values()) if s else None

def ratio(a, b):
    """Median over rounds of a[r] / b[r]: the servers alternate within a round, so each pair saw the same machine
    conditions, and drift between rounds cancels out of the ratio."""
    pairs = [a[r] / b[r] for r in a if r in b and b[r]]
    return st.median(pairs) if pairs else None

def num(x, fmt):
    return "n/a" if x is None else format(x, fmt)

def meets(x, op, target):
    if x is None:
        return ""
    return "yes" if (x >= target if op == ">=" else x <= target) else "NO"

def table(head, rows, left=1):
    w = [max(len(x) for x in col) for col in zip(head, *rows)]
    fmt = lambda cells: "  ".join(c.ljust(w[i]) if i < left else c.rjust(w[i]) for i, c in enumerate(cells))
    print(fmt(head)); print(fmt(["-" * x for x in w]))
    for r in rows: print(fmt(r))

def both(sec, case, f):
    return per_round(sec, case, "rill", f), per_round(sec, case, "redis", f)

secs = [s for s, _ in cases]

if "memory" in secs:
    n = next(iter(next(iter(data["memory", "-"].values())).values()))["n"]
    print(f"== memory: {n:,.0f} x XADD key * f1 <16 B> f2 <16 B>, then XREADGROUP of all (no XACK), then XDEL of every"
          " other; VmRSS growth, fresh server per round")
    kib = lambda a, b: lambda d: (d[a] - d[b]) * 1024 / d["n"]
    rows = []
    for label, f, target in [("fill: bytes per entry", kib("r1", "r0"), 1.0),
                             ("pending (read, not acked): bytes per entry", kib("r2", "r1"), 0.5),
                             ("XDEL half: bytes released per entry", kib("r2", "r3"), None)]:
        a, b = both("memory", "-", f)
        r = ratio(a, b) if target is not None else None
        rows.append([label, num(med(a), ".1f"), num(med(b), ".1f"), num(r, ".2f") if target else "-",
                     f"<= {target:.2f}" if target else "", meets(r, "<=", target) if target else ""])
    share = lambda d: (d["r2"] - d["r3"]) / (d["r1"] - d["r0"]) if d["r1"] > d["r0"] else 0.0
    a, b = both("memory", "-", share)
    rows.append(["XDEL half: share of the fill released", num(med(a), ".2f"), num(med(b), ".2f"), "-",
                 "rill >= 0.33", meets(med(a), ">=", 1 / 3)])
    table(["metric", "rill", "redis", "rill/redis", "target", "meets"], rows)
    print("rill/redis < 1: rill uses less memory; bytes per entry are over all entries filled (released: of the"
          " whole stream's entries)\n")

xcases = [c for s, c in cases if s == "xadd"]
if xcases:
    print(f"== xadd: redis-benchmark -c {clients}, one key deleted before each run")
    rows = []
    for case in xcases:
        trim, p = case.split()
        ops = both("xadd", case, lambda d: d["rps"])
        cpu = both("xadd", case, lambda d: d["ticks"] / clk * 1e6 / d["n"])
        ro, rc = ratio(*ops), ratio(cpu[1], cpu[0])
        target = {"1": 1.2, "32": 1.5}.get(p)
        rows.append(["XADD key " + ("MAXLEN ~ 1000 " if trim == "maxlen" else "") + "* f v", p,
                     num(med(ops[0]), ",.0f"), num(med(ops[1]), ",.0f"), num(ro, ".2f"),
                     num(med(cpu[0]), ".3f"), num(med(cpu[1]), ".3f"), num(rc, ".2f"),
                     f">= {target}" if target else "",
                     f"{meets(ro, '>=', target)}/{meets(rc, '>=', target)}" if target and ro is not None else ""])
    table(["command", "-P", "rill ops/s", "redis ops/s", "rill/redis ops", "rill µs CPU/op", "redis µs CPU/op",
           "redis/rill cpu", "target", "meets ops/cpu"], rows)
    print("ops ratio > 1: rill is faster; cpu ratio > 1: rill uses less server CPU per XADD\n")

if "consume" in secs:
    print(f"== consume: {consume_args}")
    msgs = both("consume", "-", lambda d: d["msgs_per_s"])
    cpu = both("consume", "-", lambda d: d["cpu_us_per_msg"])
    table(["server", "delivered msg/s", "µs CPU/msg"],
          [[s, num(med(m), ",.0f"), num(med(c), ".3f")] for s, m, c in
           (("rill", msgs[0], cpu[0]), ("redis", msgs[1], cpu[1]))])
    ro, rc = ratio(*msgs), ratio(cpu[1], cpu[0])
    print(f"rill/redis msg/s {num(ro, '.2f')} (target >= 1.3: {meets(ro, '>=', 1.3) or 'n/a'})   "
          f"redis/rill CPU/msg {num(rc, '.2f')} (target >= 1.3: {meets(rc, '>=', 1.3) or 'n/a'})")
    print("CPU/msg is the server's CPU for one XADD plus its share of XREADGROUP and XACK\n")

lcases = [c for s, c in cases if s == "latency"]
if lcases:
    print(f"== latency: XADD -> XREADGROUP BLOCK 0 COUNT 100 delivery, one producer paced for {lat_secs} s per rate,"
          " one consumer")
    rows, ratios = [], []
    for case in lcases:
        for s in ("rill", "redis"):
            d = data["latency", case].get(s)
            if not d:
                continue
            m = lambda f: st.median(x[f] for x in d.values())
            rows.append([f"{int(case):,}/s", s, f"{m('achieved_per_s'):,.0f}", f"{m('p50_us'):.1f}",
                         f"{m('p99_us'):.1f}", f"{m('p999_us'):.1f}"])
        p50, p99 = (both("latency", case, lambda d, f=f: d[f]) for f in ("p50_us", "p99_us"))
        r50, r99 = ratio(*p50), ratio(*p99)
        ratios.append(f"{int(case):>7,}/s  rill/redis p50 {num(r50, '.2f')} ({meets(r50, '<=', 1.0) or 'n/a'})   "
                      f"p99 {num(r99, '.2f')} ({meets(r99, '<=', 1.0) or 'n/a'})")
    table(["rate", "server", "sent msg/s", "p50 µs", "p99 µs", "p99.9 µs"], rows, left=2)
    print("latency ratios, target <= 1.00 (no worse than redis):")
    for r in ratios: print(r)
    print()

print("medians over rounds; ratios are medians of the per-round ratios")
EOF
