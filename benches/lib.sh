# Shared by the bench scripts (sourced, not run): prerequisites, the rill build, a scratch directory cleaned up on
# exit, and starting servers pinned to CPU 0.

# need_tools TOOL... : install the distro's redis-server/redis-tools if missing, then check the other tools.
need_tools() {
    if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null \
        || ! command -v redis-benchmark >/dev/null; then
        echo "== installing redis-server and redis-tools" >&2
        local SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
        $SUDO apt-get update
        $SUDO apt-get install -y redis-server redis-tools
    fi
    local tool
    for tool in "$@"; do
        command -v "$tool" >/dev/null || { echo "missing: $tool" >&2; exit 1; }
    done
    REDIS_BIN=$(command -v redis-server)
}

# build_rill: RILL_BIN as given, or `cargo build --release`; made absolute (servers run with cwd $WORK).
build_rill() {
    if [ -z "${RILL_BIN:-}" ]; then
        echo "== cargo build --release" >&2
        cargo build --release
        RILL_BIN=target/release/rill-server
    fi
    RILL_BIN=$(realpath "$RILL_BIN")
}

# bench_bin NAME: builds the `harness = false` bench NAME (benches/NAME.rs) and prints its binary's path, which
# carries a hash; cargo reports it in its JSON messages.
bench_bin() {
    echo "== cargo bench --bench $1 --no-run" >&2
    local bin
    bin=$(cargo bench --bench "$1" --no-run --message-format=json | python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == sys.argv[1] and m.get("executable"):
        print(m["executable"])' "$1")
    [ -n "$bin" ] || { echo "could not find the $1 bench binary" >&2; exit 1; }
    echo "$bin"
}

# Scratch directory for logs and generated files; the servers started below are killed on exit.
WORK=$(mktemp -d)
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# start NAME PORT CMD... : launch pinned to CPU 0 with cwd $WORK (so nothing lands in the repo), wait (bounded)
# for PING; sets ${NAME}_PID. taskset execs the server, so the PID is the server's own.
start() {
    local name=$1 port=$2; shift 2
    if port_busy "$port"; then echo "port $port already in use" >&2; exit 1; fi
    (cd "$WORK" && exec taskset -c 0 "$@") >"$WORK/$name.log" 2>&1 &
    local pid=$!
    PIDS+=("$pid")
    for _ in $(seq 100); do                      # up to ~10 s
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "$name exited early; log:" >&2; cat "$WORK/$name.log" >&2; exit 1
        fi
        if [ "$(redis-cli -p "$port" ping 2>/dev/null)" = PONG ]; then
            eval "${name}_PID=$pid"; return 0
        fi
        sleep 0.1
    done
    echo "$name did not answer PING on port $port; log:" >&2; cat "$WORK/$name.log" >&2; exit 1
}

# stop PID: kill one server and wait for it, so its port is free again.
stop() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }
