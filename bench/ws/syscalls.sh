#!/usr/bin/env bash
# System calls a WebSocket echo server makes per echoed message: the server
# pinned to CPU 0, covet_ws_load on CPU 1 (64 connections, one message in
# flight, 2 s), the counter attached to the server for the whole run (the
# handshakes' few hundred calls included). TOOL `strace` (strace -c -f: which
# calls, but it slows every call, so an epoll server batches more than it
# would) or `perf` (perf stat -e raw_syscalls:sys_enter: the total only, at
# far less cost).
#
#   bench/ws/syscalls.sh strace|perf SIZE server command...
#   env: LOAD (covet_ws_load, default build/release/bench/covet_ws_load)
# e.g. bench/ws/syscalls.sh perf 32 build/release/bench/covet_ws_uring_ceiling
set -euo pipefail
tool=$1
size=$2
shift 2
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=bench/ws/server_port.sh
source "$root/bench/ws/server_port.sh"
load=$ws_load
work=$(mktemp -d)
taskset -c 0 "$@" >"$work/server" 2>&1 &
server=$!
port=$(server_port "$work/server")
if [[ $tool == strace ]]; then
    strace -c -f -p "$server" -o "$work/counts" 2>/dev/null &
else
    perf stat -x, -e raw_syscalls:sys_enter -p "$server" -o "$work/counts" &
fi
counter=$!
sleep 0.5
out=$(taskset -c 1 "$load" "ws://127.0.0.1:$port/" --connections 64 --size "$size" --inflight 1 \
    --warmup 0 --duration 2 --server-pid "$server")
sleep 0.2
kill -INT "$counter"
wait "$counter" 2>/dev/null || true
kill "$server"
wait "$server" 2>/dev/null || true
echoed=$(sed -n 's/.*"echoed_in_all": \([0-9]*\).*/\1/p' <<<"$out")
rate=$(sed -n 's/.*"msgs_per_s": \([0-9]*\).*/\1/p' <<<"$out")
if [[ $tool == strace ]]; then
    calls=$(awk '$NF == "total" {print $4}' "$work/counts")
    detail=$(awk 'NR > 2 && $NF != "total" && $1 ~ /^[0-9.]+$/ {printf " %s %s", $NF, $4}' "$work/counts")
else
    calls=$(awk -F, '/raw_syscalls/ {print $1}' "$work/counts")
    detail=
fi
rm -rf "$work"
awk -v c="$calls" -v e="$echoed" -v r="$rate" -v t="$tool" -v s="$size" -v d="$detail" -v n="$*" 'BEGIN {
    printf "%s, %s B, %s: %d calls / %d echoes = %.3f per message (%d msgs/s under %s)%s\n", n, s, t, c, e, c / e, r, t, d }'
