#!/usr/bin/env bash
# User-space instructions per echoed message of a WebSocket echo server, from
# callgrind (unlike CPU time, not moved by the load of a shared machine; the
# kernel's share is not counted). The server runs under callgrind; covet_ws_load
# drives a warm-up, then SMALL and then LARGE messages over fresh connections,
# each counted alone, and the difference of the last two divided by
# LARGE - SMALL leaves out what does not depend on the message count
# (handshakes, connection set-up and teardown).
#
#   bench/ws/instructions.sh 'server command'...
#   env: LOAD (covet_ws_load, default build/release/bench/covet_ws_load),
#        SIZES (default "32 1024"), INFLIGHT (default 1), CONNECTIONS (64),
#        SMALL (2000), LARGE (12000)
# e.g. bench/ws/instructions.sh "build/release/bench/covet_ws_echo --threads 1" \
#        build/release/bench/covet_beast_ws_echo build/release/bench/covet_ws_ceiling
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=bench/ws/server_port.sh
source "$root/bench/ws/server_port.sh"
load=${LOAD:-$root/build/release/bench/covet_ws_load}
small=${SMALL:-2000}
large=${LARGE:-12000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

total_ir() { sed -n 's/^summary: \([0-9]*\).*/\1/p;s/^totals: \([0-9]*\).*/\1/p' "$1" | head -1; }

for server in "$@"; do
    for size in ${SIZES:-32 1024}; do
        # shellcheck disable=SC2086 # the command is split on purpose
        valgrind --tool=callgrind --callgrind-out-file="$work/cg.out" $server >"$work/log" 2>&1 &
        pid=$!
        port=$(server_port "$work/log" 300)
        run_load() {
            "$load" "ws://127.0.0.1:$port/" --connections "${CONNECTIONS:-64}" --size "$size" \
                --inflight "${INFLIGHT:-1}" --warmup 0 --duration 600 --messages "$1" >/dev/null
        }
        count() {
            callgrind_control --zero "$pid" >/dev/null 2>&1
            run_load "$1"
            rm -f "$work"/cg.out.*
            callgrind_control --dump "$pid" >/dev/null 2>&1
            total_ir "$(ls "$work"/cg.out.* | head -1)"
        }
        run_load "$small"  # warm-up: first-time allocations, lazy binding
        ir_small=$(count "$small")
        ir_large=$(count "$large")
        kill "$pid"
        wait "$pid" 2>/dev/null || true
        per_msg=$(((ir_large - ir_small) / (large - small)))
        echo "${server%% *} ${size} B: $per_msg instructions/msg (user space; $ir_small for $small, $ir_large for $large)"
    done
done
