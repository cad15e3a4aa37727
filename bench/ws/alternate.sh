#!/usr/bin/env bash
# Alternated A/B of WebSocket echo servers' CPU per message (a loaded machine
# shifts all of them alike): every round runs each server in turn, pinned to
# CPU 0 with covet_ws_load on CPU 1, and prints its µs/msg (server CPU time per
# echoed message) per size; take the medians over the rounds.
#
#   bench/ws/alternate.sh ROUNDS SECONDS name='server command'...
#   env: LOAD (covet_ws_load, default build/release/bench/covet_ws_load),
#        SIZES (default "32 1024"), INFLIGHT (default 1)
# e.g. bench/ws/alternate.sh 5 3 before="/tmp/main/covet_ws_echo --threads 1" \
#        after="build/release/bench/covet_ws_echo --threads 1" beast=build/release/bench/covet_beast_ws_echo
set -euo pipefail
rounds=$1
seconds=$2
shift 2
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=bench/ws/server_port.sh
source "$root/bench/ws/server_port.sh"
load=$ws_load
field() { sed -n "s/.*\"$1\": \\([0-9.]*\\).*/\\1/p" <<<"$2"; }
for ((r = 0; r < rounds; ++r)); do
    for spec in "$@"; do
        name=${spec%%=*}
        log=$(mktemp)
        # shellcheck disable=SC2086 # the command is split on purpose
        taskset -c 0 ${spec#*=} >"$log" 2>&1 &
        pid=$!
        port=$(server_port "$log")
        line=$name
        for size in ${SIZES:-32 1024}; do
            out=$(taskset -c 1 "$load" "ws://127.0.0.1:$port/" --connections 64 --size "$size" \
                --inflight "${INFLIGHT:-1}" --warmup 1 --duration "$seconds" --server-pid "$pid")
            line+="  $size B: $(field server_cpu_us_per_msg "$out") µs/msg ($(field msgs_per_s "$out") msgs/s, errors $(field errors "$out"))"
        done
        kill "$pid"
        wait "$pid" 2>/dev/null || true
        rm -f "$log"
        echo "$line  (load $(cut -d' ' -f1 /proc/loadavg))"
    done
done
