#!/usr/bin/env bash
# Installs every Debian 12 / Ubuntu 24.04 package that covet needs. This script
# is the single source of truth for dependencies: CI (.ci/run -> tools/check.sh)
# and the README's quick start call it.
#
#   tools/install-deps.sh            build + test dependencies
#   tools/install-deps.sh --bench    also the benchmark tools and peer servers
#
# Runs apt-get as root (directly, or through sudo). Skips apt entirely when
# everything is already installed.
set -euo pipefail

with_bench=0
for arg in "$@"; do
    case "$arg" in
        --bench) with_bench=1 ;;
        -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
        *) echo "install-deps: unknown option $arg" >&2; exit 2 ;;
    esac
done

packages=(
    # toolchain
    build-essential g++ clang cmake ninja-build pkg-config git
    libclang-rt-dev   # libFuzzer and sanitizer runtimes for clang (the fuzz preset)
    # libraries
    libasio-dev       # covet::net: standalone Asio (coroutines, sockets, TLS glue)
    liburing-dev      # covet::net: io_uring backend (COVET_IO_URING=ON)
    libssl-dev        # covet::net: TLS, ALPN; later JWT/WebSocket hashing
    zlib1g-dev        # covet::http: gzip/deflate
    libnghttp2-dev    # covet::http: HTTP/2 (framing, HPACK, flow control)
    libsimdjson-dev   # covet::json: On Demand parsing
    libfmt-dev        # covet::json: error messages
    libsqlite3-dev    # covet::orm: the SQLite driver
    libpq-dev         # covet::postgres: the PostgreSQL driver (libpq)
    # tests
    doctest-dev       # unit tests
    libbenchmark-dev  # microbenchmarks (libs/*/bench)
    libhttp-parser-dev libboost1.81-dev  # peers in the http parser benchmark
    rapidjson-dev nlohmann-json3-dev libboost-json1.81-dev  # json benchmark peers (COVET_BUILD_BENCH)
    libhiredis-dev    # redis RESP parser benchmark peer (COVET_BUILD_BENCH)
    openssl ca-certificates curl util-linux procps
    nghttp2-client    # covet::http HTTP/2 tests: nghttp (and h2load for benchmarks)
    redis-server      # covet::redis tests start a throwaway redis-server
    postgresql        # covet::postgres tests start a throwaway PostgreSQL 15
    chromium nodejs   # apps/chat browser test (playwright-core drives Debian's chromium; no browser download)
    python3-websockets  # covet::ws interoperability tests (a Python client); node's ws comes from npm ci
    # tooling
    clang-format clang-tidy
)
if [[ $with_bench == 1 ]]; then
    packages+=(
        wrk           # HTTP load generator
        hyperfine     # whole-command timing
        linux-perf    # perf stat
        valgrind      # callgrind instruction counts (libs/postgres/bench collects only its loops)
        # peer servers of tools/covet-bench (bench/peers/)
        nginx-light   # nginx: static return
        h2o           # h2o 2.2.5 (static responses)
        nghttp2-server  # nghttpd: HTTP/2 peer of tools/covet-bench --h2 (h2load is in nghttp2-client)
        nodejs        # fastify and express (npm ci in bench/peers/node)
        python3-fastapi python3-uvicorn python3-uvloop python3-httptools  # FastAPI on uvicorn
        python3-asyncpg  # FastAPI + asyncpg peer of bench/tfb_db/run.sh --fastapi
        gunicorn python3-flask  # Flask on gunicorn
        python3-sqlalchemy  # SQLAlchemy 1.4 ORM peer of libs/orm/bench (bench/orm/sqlalchemy_bench.py)
    )
    # Debian's nodejs ships npm separately; a NodeSource nodejs bundles it (and conflicts with
    # Debian's npm package), so ask for npm only when there is none.
    command -v npm >/dev/null || packages+=(npm)
fi
# npm for the browser and interop tests: see the note above on NodeSource's bundled npm.
command -v npm >/dev/null || packages+=(npm)

missing=()
for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done
if [[ ${#missing[@]} -eq 0 ]]; then
    echo "install-deps: all ${#packages[@]} packages already installed"
    exit 0
fi

as_root=()
if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || { echo "install-deps: run as root (or install sudo)" >&2; exit 1; }
    as_root=(sudo)
fi
echo "install-deps: installing ${missing[*]}"
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
