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
