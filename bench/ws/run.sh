#!/usr/bin/env bash
# WebSocket benchmark: echo throughput (messages/s, 64 connections, one message in
# flight each, 32 B / 1 KiB / 64 KiB binary messages) and memory per idle
# connection (server RSS growth over 10,000 idle connections), for covet::ws,
# the npm ws package on node, and a Boost.Beast echo server. Each server runs
# alone pinned to one CPU with one thread; the load generator (covet_ws_load,
# raw epoll sockets, the same for every server) is pinned to another. Prints a
# markdown table: messages/s and the server's CPU time per message (utime +
# stime from /proc/PID/stat over the measured interval; it survives a loaded
# machine better than messages/s), medians of the runs. `--servers` may add
# `ceiling` (covet_ws_ceiling: frames-only epoll echo, the floor of the cost per
# message on this kernel, not a WebSocket server) and `uring` (covet_ws_uring_ceiling:
# the same frames-only echo on io_uring, built when liburing is installed).
#
#   bench/ws/run.sh [--build-dir build/release] [--runs 3] [--duration 5] [--warmup 1]
#                   [--inflight 1] [--idle 10000] [--server-cpu 0] [--client-cpu 1]
#                   [--servers "covet node beast"]
set -euo pipefail
export LC_ALL=C
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
build_dir=$root/build/release
runs=3
duration=5
warmup=1
idle=10000
inflight=1
servers="covet node beast"
server_cpu=0
client_cpu=1
while (($# > 1)); do
    case $1 in
    --build-dir) build_dir=$2 ;;
    --runs) runs=$2 ;;
    --duration) duration=$2 ;;
    --warmup) warmup=$2 ;;
    --idle) idle=$2 ;;
    --inflight) inflight=$2 ;;
    --servers) servers=$2 ;;
    --server-cpu) server_cpu=$2 ;;
    --client-cpu) client_cpu=$2 ;;
    *) echo "run.sh: unknown option $1" >&2; exit 2 ;;
    esac
    shift 2
done
load=$build_dir/bench/covet_ws_load
bins=("$load" "$build_dir/bench/covet_ws_echo" "$build_dir/bench/covet_beast_ws_echo")
[[ " $servers " == *" ceiling "* ]] && bins+=("$build_dir/bench/covet_ws_ceiling")
[[ " $servers " == *" uring "* ]] && bins+=("$build_dir/bench/covet_ws_uring_ceiling")
for bin in "${bins[@]}"; do
    [[ -x $bin ]] || { echo "run.sh: $bin missing: cmake --preset release && cmake --build --preset release" >&2; exit 1; }
done
node_version=
if [[ " $servers " == *" node "* ]]; then
    command -v node >/dev/null || { echo "run.sh: node is required (tools/install-deps.sh --bench)" >&2; exit 1; }
    if [[ ! -d $here/node/node_modules ]]; then
        (cd "$here/node" && npm ci --no-audit --no-fund --loglevel=error)
    fi
    node_version=$(node -e 'console.log(require("'"$here"'/node/node_modules/ws/package.json").version)')
fi
ulimit -n "$(ulimit -Hn)"

server_pid=
server_port=
stop_server() {
    if [[ -n $server_pid ]]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
        server_pid=
    fi
}
trap stop_server EXIT
start_server() {
    local log
    log=$(mktemp)
    taskset -c "$server_cpu" "$@" >"$log" 2>&1 &
    server_pid=$!
    server_port=
    for _ in $(seq 1 100); do
        server_port=$(sed -n 's/^port \([0-9]*\)$/\1/p' "$log" | head -1)
        [[ -n $server_port ]] && break
        sleep 0.1
    done
    rm -f "$log"
    [[ -n $server_port ]] || { echo "run.sh: $* did not start" >&2; exit 1; }
}
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

declare -A names=([covet]="covet::ws" [node]="node ws $node_version" [beast]="Boost.Beast 1.81" [ceiling]="epoll ceiling (frames only)"
    [uring]="io_uring ceiling (frames only)")
commands_covet=("$build_dir/bench/covet_ws_echo" --threads 1)
commands_node=(node "$here/node/echo.mjs")
commands_beast=("$build_dir/bench/covet_beast_ws_echo")
commands_ceiling=("$build_dir/bench/covet_ws_ceiling")
commands_uring=("$build_dir/bench/covet_ws_uring_ceiling")

echo "| server | 32 B msgs/s | µs/msg | 1 KiB msgs/s | µs/msg | 64 KiB msgs/s | µs/msg | RSS idle | per idle connection |"
echo "|---|--:|--:|--:|--:|--:|--:|--:|--:|"
for server in $servers; do
    declare -n command="commands_$server"
    start_server "${command[@]}"
    url="ws://127.0.0.1:$server_port/"
    cells=()
    for size in 32 1024 65536; do
        results=()
        cpu=()
        for ((r = 0; r < runs; ++r)); do
            line=$(taskset -c "$client_cpu" "$load" "$url" --connections 64 --size "$size" --inflight "$inflight" \
                --warmup "$warmup" --duration "$duration" --server-pid "$server_pid")
            errors=$(sed -n 's/.*"errors": \([0-9]*\).*/\1/p' <<<"$line")
            [[ $errors == 0 ]] || echo "run.sh: $server size $size: $errors errors" >&2
            results+=("$(sed -n 's/.*"msgs_per_s": \([0-9]*\).*/\1/p' <<<"$line")")
            cpu+=("$(sed -n 's/.*"server_cpu_us_per_msg": \([0-9.]*\).*/\1/p' <<<"$line")")
        done
        cells+=("$(printf '%s\n' "${results[@]}" | median)")
        cells+=("$(printf '%s\n' "${cpu[@]}" | median)")
    done
    stop_server
    if ((idle == 0)); then
        printf '| %s | %s | %s | %s | %s | %s | %s | | |\n' "${names[$server]}" "${cells[@]}"
        continue
    fi
    # Memory: a fresh server, its RSS before and while it holds `idle` connections.
    start_server "${command[@]}"
    sleep 0.5
    before=$(rss_kib "$server_pid")
    fifo=$(mktemp -u)
    mkfifo "$fifo"
    taskset -c "$client_cpu" "$load" "ws://127.0.0.1:$server_port/" --idle "$idle" --hold 30 >"$fifo" &
    loader=$!
    read -r held _ <"$fifo" || true
    sleep 1
    after=$(rss_kib "$server_pid")
    kill "$loader" 2>/dev/null || true
    wait "$loader" 2>/dev/null || true
    rm -f "$fifo"
    stop_server
    per=$(awk -v a="$after" -v b="$before" -v n="$idle" 'BEGIN {printf "%.2f KiB", (a - b) / n}')
    printf '| %s | %s | %s | %s | %s | %s | %s | %s → %s KiB | %s |\n' "${names[$server]}" "${cells[@]}" "$before" "$after" "$per"
done
