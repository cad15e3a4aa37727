#!/usr/bin/env bash
# Builds covet (release) and runs the demo app, covet_todo (covet::web +
# covet::orm on an in-memory SQLite database), then talks to it with curl:
# create a user and todos, filter and search, a 422, a 409, an update, a delete.
#   tools/demo.sh            scripted demo, then exits
#   tools/demo.sh --serve    just run covet_todo in the foreground on ./todo.db (Ctrl-C stops)
set -euo pipefail
cd "$(dirname "$0")/.."

bash tools/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release --target covet_todo

todo=build/release/apps/todo/covet_todo
port=${COVET_DEMO_PORT:-8080}
if [[ "${1:-}" == "--serve" ]]; then
    exec "$todo" --port "$port"
fi

"$todo" --db sqlite::memory: --address 127.0.0.1 --port "$port" --threads 1 &
server=$!
trap 'kill "$server" 2>/dev/null || true' EXIT
for _ in $(seq 100); do
    curl -s -o /dev/null "http://127.0.0.1:$port/todos" && break
    sleep 0.1
done
if ! curl -s -o /dev/null "http://127.0.0.1:$port/todos"; then
    echo "covet_todo did not start on port $port (set COVET_DEMO_PORT to use another)" >&2
    exit 1
fi

# call METHOD PATH [JSON]: prints the request, the status line and the body.
call() {
    local method=$1 path=$2 body=${3:-}
    echo "--- $method $path ${body}"
    if [[ -n "$body" ]]; then
        curl -s -S -w '  [%{http_code}]\n' -X "$method" -H 'Content-Type: application/json' \
            --data "$body" "http://127.0.0.1:$port$path"
    else
        curl -s -S -w '  [%{http_code}]\n' -X "$method" "http://127.0.0.1:$port$path"
    fi
}

call POST /users '{"name":"Ann","email":"ann@example.com"}'
call POST /todos '{"user_id":1,"title":"try covet"}'
call POST /todos '{"user_id":1,"title":"50% of the work is naming","done":true}'
call GET '/todos?done=true'
call GET '/todos?q=%25&limit=10'
call POST /users '{"name":"","email":"nope"}'
call POST /users '{"name":"Ann again","email":"ann@example.com"}'
call PATCH /todos/1 '{"done":true}'
call DELETE /todos/2
call GET /todos/2

kill -TERM "$server"
wait "$server"
trap - EXIT
