# Sourced by the WebSocket benchmark scripts.
# server_port LOG [TRIES]: the port a benchmark server printed ("port N") to
# LOG, waiting up to TRIES × 0.1 s (default 50); empty if it never did.
server_port() {
    local port=
    for _ in $(seq 1 "${2:-50}"); do
        port=$(sed -n 's/^port \([0-9]*\)$/\1/p' "$1" 2>/dev/null)
        [[ -n $port ]] && break
        sleep 0.1
    done
    echo "$port"
}

# The load generator: $LOAD, or the release build's under $root (set by the sourcing script).
# shellcheck disable=SC2034,SC2154 # used by the sourcing scripts; root is theirs
ws_load=${LOAD:-$root/build/release/bench/covet_ws_load}
