#!/usr/bin/env bash
# Memory per element: rill vs the distro redis-server.
# Not a test; run it by hand:   benches/memory.sh
#
# For each case, a fresh rill (--shards 1) and a fresh redis-server (both
# --save "" --appendonly no) are started, their resident set size (VmRSS in
# /proc/PID/status) is read, a generated RESP file is sent with
# `redis-cli --pipe`, the result is checked (LLEN / DBSIZE), and VmRSS is read
# again.  bytes/element = (RSS after - RSS before) / elements.
#
# Cases:
#   list32   N_LIST RPUSHes of 32-byte values to one key (letters)
#   list1    N_LIST RPUSHes of 1-byte values to one key (letters)
#   list32d  the same with 32-digit values, list1d with 1-digit values (single digits are stored as integers)
#   set      N_KEYS SETs of distinct keys ("key:%08d", 12 bytes) with
#            8-byte values, for comparison with the lists
#   idle     N_CONNS connections, each open after one PING (memory per connection)
#   piped    N_CONNS connections, each open after one write of 256 SETs (scratch a deep pipeline leaves)
#   blocked  N_CONNS connections, each blocked in BLPOP on a key of its own
# (redis-benchmark -t rpush is no use here: its values are always 3 bytes.)
#
# RSS is what the OS charges; it includes allocator slack and is rounded to
# pages, so small N gives noisy figures.  Use the defaults for real numbers.
#
# Environment knobs:
#   RILL_BIN    rill binary (default: cargo build --release, target/release/rill-server)
#   RILL_ARGS   rill args (default: "--shards 1"; RILL_ARGS= for none)
#   N_LIST      elements per list case (default 1000000)
#   N_KEYS      keys in the set case (default 100000)
#   N_CONNS     connections in the idle, piped and blocked cases (default 5000; needs that many open files)
#   CASES       which cases, comma-separated (default list32,list1,list32d,list1d,set,idle,blocked)
#   RILL_PORT, REDIS_PORT   (default 16381 / 16382)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."          # repo root

N_LIST=${N_LIST:-1000000}
N_KEYS=${N_KEYS:-100000}
N_CONNS=${N_CONNS:-5000}
CASES=${CASES:-list32,list1,list32d,list1d,set,idle,piped,blocked}
RILL_PORT=${RILL_PORT:-16381}
REDIS_PORT=${REDIS_PORT:-16382}
RILL_ARGS=${RILL_ARGS---shards 1}   # set-but-empty means no extra args

# --- prerequisites, servers ---------------------------------------------------
source benches/lib.sh
need_tools redis-cli taskset python3 timeout
build_rill

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

# gen CASE FILE: write the RESP commands for one case.
gen() {
    python3 - "$1" "$2" "$N_LIST" "$N_KEYS" <<'EOF'
import sys
case, path, n_list, n_keys = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
def bulk(b): return b"$%d\r\n%s\r\n" % (len(b), b)
with open(path, "wb") as f:
    if case in ("list32", "list1"):
        size = 32 if case == "list32" else 1
        head = b"*3\r\n" + bulk(b"RPUSH") + bulk(b"rill-bench:mem")
        letters = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
        for i in range(n_list):
            # Distinct letter strings (i in base 52, padded), so no layer can share them.
            v, x = bytearray(), i
            for _ in range(size):
                v.append(letters[x % 52])
                x //= 52
            f.write(head + bulk(bytes(v)))
    elif case in ("list32d", "list1d"):
        size = 32 if case == "list32d" else 1
        head = b"*3\r\n" + bulk(b"RPUSH") + bulk(b"rill-bench:mem")
        # Distinct values (a counter, zero-padded) so no layer can share them.
        for i in range(n_list):
            v = b"%0*d" % (size, i % (10 ** size))
            f.write(head + bulk(v))
    elif case == "set":
        for i in range(n_keys):
            f.write(b"*3\r\n" + bulk(b"SET") + bulk(b"key:%08d" % i) + bulk(b"v%07d" % i))
    else:
        sys.exit("unknown case " + case)
EOF
}

# conns CASE PORT PID: open N_CONNS connections (idle after a PING or a pipeline, or blocked in BLPOP), wait until the server
# reports them all, and print the server's VmRSS in KiB before and after, while they are still open.
conns() {
    python3 - "$1" "$2" "$3" "$N_CONNS" <<'EOF'
import resource, socket, sys, time
mode, port, pid, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
def rss():
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"): return int(line.split()[1])
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, n + 64)), hard))
def cmd(*a): return b"*%d\r\n" % len(a) + b"".join(b"$%d\r\n%s\r\n" % (len(x), x) for x in a)
admin = socket.create_connection(("127.0.0.1", port))
def info(field):
    admin.sendall(cmd(b"INFO", b"clients")); data = b""
    while not data.endswith(b"\r\n\r\n"): data += admin.recv(65536)
    return int(data.split(field + b":")[1].split(b"\r\n")[0])
before = rss()
socks = []
for i in range(n):
    s = socket.create_connection(("127.0.0.1", port)); socks.append(s)
    if mode == "idle":
        s.sendall(cmd(b"PING"))
        assert s.recv(64) == b"+PONG\r\n", "no PONG"
    elif mode == "piped":
        s.sendall(cmd(b"SET", b"rill-bench:piped", b"v") * 256)
        got = b""
        while len(got) < 5 * 256: got += s.recv(65536)
        assert got == b"+OK\r\n" * 256, "unexpected replies"
    else:
        s.sendall(cmd(b"BLPOP", b"rill-bench:conn:%d" % i, b"0"))
# Poll until the server has them all (blocking is asynchronous; there is no reply to wait for).
deadline = time.time() + 60
while info(b"blocked_clients" if mode == "blocked" else b"connected_clients") < n + (mode != "blocked"):
    if time.time() > deadline: sys.exit(f"the server reports fewer than {n} {mode} clients")
    time.sleep(0.05)
print(before, rss())
EOF
}

# check CASE PORT: the count the server reports after the load.
check() {
    case "$1" in
        list*) redis-cli -p "$2" llen rill-bench:mem ;;
        set) redis-cli -p "$2" dbsize ;;
    esac
}

read -r -a rill_args <<<"$RILL_ARGS"
RILL_CMD=("$RILL_BIN" --port "$RILL_PORT" "${rill_args[@]}" --save "" --appendonly no)
REDIS_CMD=("$REDIS_BIN" --port "$REDIS_PORT" --save "" --appendonly no)
echo "== layout ($(nproc) CPUs); servers on CPU 0, fresh per case"
echo "rill:   $(printf '%q ' "${RILL_CMD[@]}")"
echo "redis:  $(printf '%q ' "${REDIS_CMD[@]}")"
echo "load:   redis-cli -p PORT --pipe < generated RESP;  N_LIST=$N_LIST  N_KEYS=$N_KEYS"
echo

RESULTS=$WORK/results.tsv          # case server n before_kib after_kib
: >"$RESULTS"
IFS=, read -r -a cases <<<"$CASES"
for c in "${cases[@]}"; do
    case "$c" in set) n=$N_KEYS ;; idle|piped|blocked) n=$N_CONNS ;; *) n=$N_LIST ;; esac
    case "$c" in idle|piped|blocked) ;; *) gen "$c" "$WORK/$c.resp" ;; esac
    for server in rill redis; do
        if [ $server = rill ]; then
            port=$RILL_PORT; start rill "$port" "${RILL_CMD[@]}"; pid=$rill_PID
        else
            port=$REDIS_PORT; start redis "$port" "${REDIS_CMD[@]}"; pid=$redis_PID
        fi
        if [ "$c" = idle ] || [ "$c" = piped ] || [ "$c" = blocked ]; then
            read -r before after < <(conns "$c" "$port" "$pid") || { echo "$server $c failed" >&2; exit 1; }
            printf '%s\t%s\t%s\t%s\t%s\n' "$c" "$server" "$n" "$before" "$after" >>"$RESULTS"
            printf '%-7s %-5s n=%-8s VmRSS %8s KiB -> %8s KiB\n' "$c" "$server" "$n" "$before" "$after" >&2
            stop "$pid"
            continue
        fi
        before=$(rss_kib "$pid")
        out=$(timeout 300 taskset -c 1 redis-cli -p "$port" --pipe <"$WORK/$c.resp" 2>&1) \
            || { echo "redis-cli --pipe failed: $server $c"; echo "$out"; exit 1; } >&2
        grep -q 'errors: 0,' <<<"$out" || { echo "errors loading $c into $server: $out" >&2; exit 1; }
        got=$(check "$c" "$port")
        [ "$got" = "$n" ] || { echo "$server $c: expected $n elements, server reports $got" >&2; exit 1; }
        after=$(rss_kib "$pid")
        printf '%s\t%s\t%s\t%s\t%s\n' "$c" "$server" "$n" "$before" "$after" >>"$RESULTS"
        printf '%-6s %-5s n=%-8s VmRSS %8s KiB -> %8s KiB\n' "$c" "$server" "$n" "$before" "$after" >&2
        stop "$pid"
    done
    rm -f "$WORK/$c.resp"
done
echo >&2

python3 - "$RESULTS" <<'EOF'
import sys
rows, by = [], {}
for line in open(sys.argv[1]):
    case, server, n, before, after = line.split("\t")
    by[case, server] = (int(n), int(before), int(after))
    if case not in rows:
        rows.append(case)
desc = {"list32": "RPUSH 32-byte values, one key", "list1": "RPUSH 1-byte values, one key",
        "list32d": "RPUSH 32-digit values, one key", "list1d": "RPUSH 1-digit values, one key",
        "set": "SET 12-byte keys, 8-byte values",
        "idle": "connections open after one PING (bytes per connection)",
        "piped": "connections open after one write of 256 SETs (bytes per connection)",
        "blocked": "connections blocked in BLPOP, one key each (bytes per connection)"}
head = ["case", "elements", "rill B/elem", "redis B/elem", "rill/redis", "rill RSS MiB", "redis RSS MiB"]
out = []
for case in rows:
    (n, b1, a1), (_, b2, a2) = by[case, "rill"], by[case, "redis"]
    e1, e2 = (a1 - b1) * 1024 / n, (a2 - b2) * 1024 / n
    out.append([case, f"{n:,}", f"{e1:.1f}", f"{e2:.1f}", f"{e1 / e2:.2f}" if e2 > 0 else "n/a",
                f"{a1 / 1024:.1f}", f"{a2 / 1024:.1f}"])
w = [max(len(x) for x in col) for col in zip(head, *out)]
fmt = lambda cells: "  ".join(c.rjust(w[i]) if i else c.ljust(w[i]) for i, c in enumerate(cells))
print(fmt(head)); print(fmt(["-" * x for x in w]))
for r in out: print(fmt(r))
print()
for case in rows: print(f"{case}: {desc.get(case, '')}")
print("B/elem = (VmRSS after - VmRSS before) / elements; RSS = resident set after the load;"
      " rill/redis < 1 means rill uses less memory")
EOF
