#!/usr/bin/env bash
# Interoperability of covet::ws with the npm ws package and Debian's
# python3-websockets, both ways: their clients against covet's echo server,
# covet's client against their echo servers.
#   run.sh path/to/covet_ws_interop_peer
# Exit 77 (skipped) when node, npm or python3-websockets is missing, unless CI=true.
set -euo pipefail
peer=$(realpath "$1")
here=$(cd "$(dirname "$0")" && pwd)
python=${PYTHON:-/usr/bin/python3}
missing() {
    if [[ "${CI:-}" == "true" ]]; then
        echo "ws interop: $1 is missing (tools/install-deps.sh installs it)" >&2
        exit 1
    fi
    echo "ws interop: skipped, $1 is missing (tools/install-deps.sh installs it)" >&2
    exit 77
}
command -v node >/dev/null || missing node
command -v npm >/dev/null || missing npm
"$python" -c 'import websockets' 2>/dev/null || missing python3-websockets

work=$(dirname "$peer")/interop-work
mkdir -p "$work"
if ! cmp -s "$here/package-lock.json" "$work/package-lock.json" || [[ ! -d "$work/node_modules" ]]; then
    cp "$here/package.json" "$here/package-lock.json" "$work/"
    (cd "$work" && npm ci --no-audit --no-fund --loglevel=error)
fi
cp "$here"/*.mjs "$here"/*.py "$work/"
cd "$work"

pids=()
cleanup() {
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
}
trap cleanup EXIT

# Starts "$@" in the background, waits for its "port N" line; sets $port.
start() {
    local log
    log=$(mktemp -p "$work")
    "$@" >"$log" 2>&1 &
    pids+=($!)
    port=""
    for _ in $(seq 1 100); do
        port=$(sed -n 's/^port \([0-9]*\)$/\1/p' "$log" | head -1)
        [[ -n "$port" ]] && return 0
        sleep 0.1
    done
    echo "ws interop: $* did not start:" >&2
    cat "$log" >&2
    exit 1
}

failures=0
run() {
    echo "== $1"
    shift
    if ! timeout 150 "$@"; then
        failures=$((failures + 1))
    fi
}

start "$peer" serve
covet_port=$port
run "node ws client -> covet server" node node_client.mjs "ws://127.0.0.1:$covet_port"
run "python3-websockets client -> covet server" "$python" python_client.py "ws://127.0.0.1:$covet_port"

start node node_server.mjs
run "covet client -> node ws server" "$peer" client "ws://127.0.0.1:$port/"

start "$python" python_server.py
run "covet client -> python3-websockets server" "$peer" client "ws://127.0.0.1:$port/"

if [[ $failures -ne 0 ]]; then
    echo "ws interop: $failures of 4 runs failed" >&2
    exit 1
fi
echo "ws interop: all 4 runs passed"
