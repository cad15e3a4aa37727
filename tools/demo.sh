#!/usr/bin/env bash
# Builds covet (release) and runs the demo: the covet_echo server, a few round
# trips through it, a short load test and a graceful stop; then the TechEmpower
# app (covet::web) answering /plaintext and /json to curl.
#   tools/demo.sh            scripted demo, then exits
#   tools/demo.sh --serve    just run the echo server in the foreground (Ctrl-C stops)
set -euo pipefail
cd "$(dirname "$0")/.."

bash tools/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release --target covet_echo covet_echo_load covet_tfb

port=${COVET_DEMO_PORT:-7007}
if [[ "${1:-}" == "--serve" ]]; then
    exec build/release/apps/echo/covet_echo --port "$port"
fi

build/release/apps/echo/covet_echo --address 127.0.0.1 --port "$port" --threads 1 &
server=$!
trap 'kill "$server" 2>/dev/null || true' EXIT
for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.05
done

exec 3<>"/dev/tcp/127.0.0.1/$port"
for line in "hello from the covet demo" "coroutines all the way down"; do
    printf '%s\n' "$line" >&3
    IFS= read -r reply <&3
    echo "sent: $line    echoed: $reply"
done
exec 3>&-

echo "load: 64 connections x 64-byte messages for 2 s (ping-pong)"
build/release/bench/covet_echo_load --host 127.0.0.1 --port "$port" --connections 64 --size 64 \
    --duration 2 --warmup 0.5

kill -TERM "$server"
wait "$server"

http_port=${COVET_DEMO_HTTP_PORT:-8080}
build/release/apps/tfb/covet_tfb --address 127.0.0.1 --port "$http_port" --threads 1 &
server=$!
for _ in $(seq 100); do
    curl -s -o /dev/null "http://127.0.0.1:$http_port/plaintext" && break
    sleep 0.05
done
for path in /plaintext /json; do
    echo "--- curl -i http://127.0.0.1:$http_port$path"
    curl -s -i "http://127.0.0.1:$http_port$path"
    echo
done
kill -TERM "$server"
wait "$server"
trap - EXIT
