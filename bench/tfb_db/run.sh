#!/usr/bin/env bash
# apps/tfb database endpoints with wrk against a throwaway PostgreSQL 15, next
# to pgbench at the same concurrency (the database's own ceiling here):
#  - pgbench -S -M prepared (the built-in select-only script, scale 1);
#  - pgbench -M prepared with the /db query (one World row by random id).
# With --fastapi, also FastAPI + asyncpg on uvicorn (one worker, a pool of as
# many connections as wrk has). Per endpoint: requests/s, and CPU milliseconds per request of the
# covet_tfb process and of the PostgreSQL processes (utime+stime from
# /proc/<pid>/stat before and after), which survive a loaded machine better
# than the rate.
#
#   bench/tfb_db/run.sh [--duration S] [--connections C] [--threads T] [--tfb PATH] [--url-extra '&k=v'] [--fastapi]
#
# Defaults: 10 s, 64 connections, 1 wrk/pgbench thread and 1 covet worker,
# build/release/apps/tfb/covet_tfb. Prints a markdown table.
set -euo pipefail

duration=10
connections=64
threads=1
tfb=build/release/apps/tfb/covet_tfb
url_extra=
fastapi=0
while [[ $# -gt 0 ]]; do
    case $1 in
    --duration) duration=$2; shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --tfb) tfb=$2; shift 2 ;;
    --url-extra) url_extra=$2; shift 2 ;;  # e.g. '&binary_results=off'
    --fastapi) fastapi=1; shift ;;        # also FastAPI + asyncpg (bench/tfb_db/fastapi_db.py)
    *) echo "usage: $0 [--duration S] [--connections C] [--threads T] [--tfb PATH] [--url-extra '&k=v'] [--fastapi]" >&2; exit 2 ;;
    esac
done
pg=/usr/lib/postgresql/15/bin
[[ -x $pg/initdb && -x $tfb ]] || { echo "needs PostgreSQL 15 ($pg) and $tfb" >&2; exit 1; }
command -v wrk >/dev/null || { echo "needs wrk (tools/install-deps.sh --bench)" >&2; exit 1; }

dir=$(mktemp -d /tmp/covet-tfb-db-XXXXXX)
as_user=()
if [[ $(id -u) == 0 ]]; then
    chown postgres: "$dir"
    as_user=(runuser -u postgres --)
fi
tfb_pid=
cleanup() {
    [[ -n $tfb_pid ]] && kill "$tfb_pid" 2>/dev/null && wait "$tfb_pid" 2>/dev/null
    "${as_user[@]}" "$pg/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$dir"
}
trap cleanup EXIT

"${as_user[@]}" "$pg/initdb" -D "$dir/data" -A trust -U postgres -E UTF8 --no-sync >/dev/null
"${as_user[@]}" "$pg/pg_ctl" -D "$dir/data" -w -l "$dir/log" -o "-k $dir -c listen_addresses='' \
    -c max_connections=200 -c shared_buffers=128MB -c synchronous_commit=off" start >/dev/null
url="postgresql://postgres@/postgres?host=$dir"
postmaster=$(head -1 "$dir/data/postmaster.pid")

# CPU ticks (utime + stime) of a process, or of the postmaster and its children.
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
pg_ticks() {
    local sum=0 p
    for p in $postmaster $(pgrep -P "$postmaster"); do
        sum=$((sum + $(ticks "$p")))
    done
    echo $sum
}
hz=$(getconf CLK_TCK)

# wrk on each endpoint of the server on $port (process $1, named $2).
measure() {
    local pid=$1 name=$2 endpoint t0 p0 t1 p1 rate requests
    for endpoint in /db "/queries?queries=20" /fortunes "/updates?queries=20"; do
        wrk -t1 -c"$connections" -d1s "http://127.0.0.1:$port$endpoint" >/dev/null # warm-up
        t0=$(ticks "$pid")
        p0=$(pg_ticks)
        rate=$(wrk -t"$threads" -c"$connections" -d"${duration}s" "http://127.0.0.1:$port$endpoint" |
            awk '/Requests\/sec/ { print $2 }')
        t1=$(ticks "$pid")
        p1=$(pg_ticks)
        requests=$(awk -v r="$rate" -v d="$duration" 'BEGIN { print r * d }')
        awk -v n="$name" -v e="$endpoint" -v r="$rate" -v q="$requests" -v t=$((t1 - t0)) -v p=$((p1 - p0)) \
            -v hz="$hz" 'BEGIN { printf "| %s %s | %.0f | %.3f | %.3f |\n", n, e, r, t * 1000 / hz / q, p * 1000 / hz / q }'
    done
}
# Waits for "127.0.0.1:PORT" in file $1 (covet_tfb prints it; uvicorn is given it).
port_from() {
    for _ in $(seq 300); do grep -q '127.0.0.1:[0-9]' "$1" && break; sleep 0.1; done
    sed -n 's|.*127\.0\.0\.1:\([0-9]*\).*|\1|p' "$1" | head -1
}

echo "| what | requests/s | server CPU ms/req | PostgreSQL CPU ms/req |"
echo "|---|--:|--:|--:|"
out=$(mktemp "$dir/tfb.XXXXXX")
"$tfb" --address 127.0.0.1 --port 0 --threads "$threads" --db "$url$url_extra" >"$out" &
tfb_pid=$!
port=$(port_from "$out")
[[ -n $port ]] || { echo "covet_tfb did not start" >&2; exit 1; }
measure "$tfb_pid" covet_tfb
kill "$tfb_pid" && wait "$tfb_pid" 2>/dev/null || true
tfb_pid=

if [[ $fastapi == 1 ]]; then
    port=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    TFB_DB_DSN="postgresql://postgres@/postgres?host=$dir" TFB_DB_POOL=$connections \
        /usr/bin/python3 -m uvicorn --app-dir "$(dirname "$0")" fastapi_db:app --host 127.0.0.1 --port "$port" \
        --workers 1 --loop uvloop --http httptools --no-access-log --log-level warning 2>"$dir/uvicorn.log" &
    tfb_pid=$!
    for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/db" >/dev/null && break; sleep 0.1; done
    measure "$tfb_pid" "FastAPI+asyncpg"
    kill "$tfb_pid" && wait "$tfb_pid" 2>/dev/null || true
    tfb_pid=
fi

"${as_user[@]}" "$pg/pgbench" -i -q -s 1 -h "$dir" -U postgres postgres >/dev/null 2>&1
printf '\\set id random(1, 10000)\nSELECT id, "randomNumber" FROM world WHERE id = :id;\n' >"$dir/db.sql"
chmod a+r "$dir/db.sql"
for script in "-S" "-f $dir/db.sql"; do
    # shellcheck disable=SC2086 # $script is two words on purpose
    rate=$("${as_user[@]}" "$pg/pgbench" -n -M prepared $script -c "$connections" -j "$threads" \
        -T "$duration" -h "$dir" -U postgres postgres 2>/dev/null | awk '/^tps/ { print $3; exit }')
    name=$([[ $script == -S ]] && echo "pgbench -S -M prepared (select-only)" || echo "pgbench -M prepared, the /db query")
    printf '| %s | %.0f | | |\n' "$name" "$rate"
done
