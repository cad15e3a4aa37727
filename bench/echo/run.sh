#!/usr/bin/env bash
# Echo benchmark: throughput and latency of covet_echo (epoll and io_uring backends) against
# a minimal single-threaded C epoll echo server, the ceiling. Each server runs alone, pinned to
# one CPU; the load generator (covet_echo_load) is pinned to another. Prints a markdown table
# of medians over the runs. Method and caveats: docs/benchmarks.md.
#
#   bench/echo/run.sh [--runs 5] [--duration 5] [--warmup 1] [--connections 64] [--size 64]
#                     [--pipeline 1] [--build-dir build/release]
#                     [--uring-build-dir build/iouring-release] [--server-cpu 0]
#                     [--client-cpu 1] [--port-base 17070] [--out DIR]
set -euo pipefail
export LC_ALL=C # "." in $EPOCHREALTIME and numbers whatever the user's locale

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$script_dir/../.." && pwd)
command_line="$0$(printf ' %q' "$@")"
started_at=$(date -u '+%Y-%m-%d %H:%M:%S UTC')

runs=5
duration=5
warmup=1
connections=64
size=64
pipeline=1
build_dir=$root/build/release
uring_build_dir=$root/build/iouring-release
server_cpu=0
client_cpu=1
port_base=17070
out_dir=

usage() {
    sed -n '2,10p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
    cat <<EOF

Options (defaults in brackets):
  --runs N              load-generator runs per server; the table shows medians [$runs]
  --duration SEC        measured seconds per run [$duration]
  --warmup SEC          unmeasured seconds before each run [$warmup]
  --connections N       concurrent connections [$connections]
  --size BYTES          message size [$size]
  --pipeline D          messages in flight per connection (1 = ping-pong) [$pipeline]
  --build-dir DIR       release build (covet_echo, covet_epoll_echo, covet_echo_load)
                        [build/release]
  --uring-build-dir DIR io_uring release build; its row is skipped if DIR does not exist
                        [build/iouring-release]
  --server-cpu N        CPU the server is pinned to [$server_cpu]
  --client-cpu N        CPU the load generator is pinned to [$client_cpu]
  --port-base P         servers listen on 127.0.0.1 ports P, P+1, P+2 [$port_base]
  --out DIR             keep raw results (one JSON line per run) and server logs in DIR
EOF
}

die() {
    echo "run.sh: $*" >&2
    exit 1
}

need_count() { [[ $2 =~ ^[1-9][0-9]*$ ]] || die "$1: positive integer expected, got '$2'"; }
need_cpu() { [[ $2 =~ ^(0|[1-9][0-9]*)$ ]] || die "$1: CPU number expected, got '$2'"; }
need_seconds() {
    [[ $2 =~ ^[0-9]+([.][0-9]+)?$ ]] || die "$1: seconds expected, got '$2'"
}

while (($# > 0)); do
    option=$1
    case $option in
    -h | --help)
        usage
        exit 0
        ;;
    --*)
        (($# >= 2)) || die "$option needs a value (see --help)"
        value=$2
        shift 2
        ;;
    *) die "unexpected argument '$option' (see --help)" ;;
    esac
    case $option in
    --runs) need_count "$option" "$value" && runs=$value ;;
    --duration) need_seconds "$option" "$value" && duration=$value ;;
    --warmup) need_seconds "$option" "$value" && warmup=$value ;;
    --connections) need_count "$option" "$value" && connections=$value ;;
    --size) need_count "$option" "$value" && size=$value ;;
    --pipeline) need_count "$option" "$value" && pipeline=$value ;;
    --build-dir) build_dir=$value ;;
    --uring-build-dir) uring_build_dir=$value ;;
    --server-cpu) need_cpu "$option" "$value" && server_cpu=$value ;;
    --client-cpu) need_cpu "$option" "$value" && client_cpu=$value ;;
    --port-base)
        need_count "$option" "$value"
        ((value < 65533)) || die "--port-base: at most 65532"
        port_base=$value
        ;;
    --out) out_dir=$value ;;
    *) die "unknown option $option (see --help)" ;;
    esac
done

# --- Preconditions ---------------------------------------------------------------------------

for tool in taskset python3 timeout; do
    command -v "$tool" >/dev/null || die "$tool is required"
done
((server_cpu != client_cpu)) || die "--server-cpu and --client-cpu must differ"
for cpu in "$server_cpu" "$client_cpu"; do
    taskset -c "$cpu" true 2>/dev/null ||
        die "cannot pin to CPU $cpu (this machine has $(nproc) CPUs available); see --server-cpu"
done

load_bin=$build_dir/bench/covet_echo_load
ceiling_bin=$build_dir/bench/covet_epoll_echo
covet_bin=$build_dir/apps/echo/covet_echo
for bin in "$load_bin" "$ceiling_bin" "$covet_bin"; do
    [[ -x $bin ]] || die "$bin not found. Build it with:
    cmake --preset release && cmake --build --preset release
(or pass --build-dir)"
done

# Rows: name, binary, extra arguments, expected backend in covet_echo's banner.
names=("C epoll (ceiling)" "covet epoll")
bins=("$ceiling_bin" "$covet_bin")
extra=("" "--threads 1 --pin")
backends=("" "epoll")
if [[ -d $uring_build_dir ]]; then
    uring_bin=$uring_build_dir/apps/echo/covet_echo
    [[ -x $uring_bin ]] || die "$uring_bin not found. Build it with:
    cmake --preset iouring-release && cmake --build --preset iouring-release
(or pass --uring-build-dir)"
    names+=("covet io_uring")
    bins+=("$uring_bin")
    extra+=("--threads 1 --pin")
    backends+=("io_uring")
else
    echo "run.sh: $uring_build_dir does not exist, skipping io_uring" \
        "(cmake --preset iouring-release && cmake --build --preset iouring-release)" >&2
fi

if [[ -n $out_dir ]]; then
    mkdir -p "$out_dir"
    work=$(cd "$out_dir" && pwd)
else
    work=$(mktemp -d -t covet-echo-bench.XXXXXX)
fi
results=$work/results.tsv
: >"$results"

# --- Server lifecycle ------------------------------------------------------------------------

server_pid=
load_pid=

# Runs on every exit, including Ctrl-C and errors: nothing we started survives us.
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
    # SIGTERM to `timeout` is passed on to the load generator; the server just goes.
    if [[ -n $load_pid ]] && kill -TERM "$load_pid" 2>/dev/null; then
        wait "$load_pid" 2>/dev/null || true
    fi
    if [[ -n $server_pid ]] && kill -KILL "$server_pid" 2>/dev/null; then
        wait "$server_pid" 2>/dev/null || true
    fi
    if [[ -z $out_dir ]]; then
        rm -rf "$work"
    fi
}
trap cleanup EXIT
trap 'echo "run.sh: interrupted" >&2; exit 130' INT
trap 'echo "run.sh: terminated" >&2; exit 143' TERM

# True if something accepts connections on 127.0.0.1:$1.
port_open() {
    timeout 1 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null
}

# start_server LOG PORT BINARY ARGS...: starts it pinned, waits (10 s at most) until it has
# printed its banner and accepts connections. Sets server_pid.
start_server() {
    local log=$1 port=$2
    shift 2
    if port_open "$port"; then
        echo "run.sh: something already listens on 127.0.0.1:$port; use --port-base" >&2
        return 1
    fi
    taskset -c "$server_cpu" "$@" --address 127.0.0.1 --port "$port" >"$log" 2>&1 &
    server_pid=$!
    local tries
    for ((tries = 0; tries < 100; ++tries)); do
        if ! kill -0 "$server_pid" 2>/dev/null; then
            wait "$server_pid" 2>/dev/null || true
            server_pid=
            echo "run.sh: the server exited at start-up:" >&2
            sed 's/^/    /' "$log" >&2
            return 1
        fi
        if [[ -s $log ]] && port_open "$port"; then
            return 0
        fi
        sleep 0.1
    done
    echo "run.sh: the server did not listen on port $port within 10 s" >&2
    stop_server
    return 1
}

# Sends SIGTERM, waits 10 s at most, then SIGKILL. Warns if the exit was not clean.
stop_server() {
    [[ -n $server_pid ]] || return 0
    kill -TERM "$server_pid" 2>/dev/null || true
    local tries
    for ((tries = 0; tries < 100; ++tries)); do
        kill -0 "$server_pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$server_pid" 2>/dev/null; then
        echo "run.sh: the server ignored SIGTERM for 10 s; killing it" >&2
        kill -KILL "$server_pid" 2>/dev/null || true
    fi
    local status=0
    wait "$server_pid" 2>/dev/null || status=$?
    ((status == 0)) || echo "run.sh: the server exited with status $status" >&2
    server_pid=
}

# CPU time (user + system, all threads, in clock ticks) used so far by process $1.
cpu_ticks() {
    # Fields 14 and 15 of /proc/PID/stat; the command name (field 2) may contain spaces.
    local stat fields
    stat=$(<"/proc/$1/stat") || return 1
    stat=${stat##*) }
    read -r -a fields <<<"$stat"
    echo $((fields[11] + fields[12]))
}
clock_ticks=$(getconf CLK_TCK)

# --- Measurements ----------------------------------------------------------------------------

failed=0
# A run cannot take much longer than warm-up + duration; bound it anyway.
run_limit=$(python3 -c "import math; print(math.ceil($warmup + $duration) + 60)")

for i in "${!names[@]}"; do
    name=${names[i]}
    port=$((port_base + i))
    log=$work/server-$i.log
    read -r -a args <<<"${extra[i]}"
    echo "== $name: ${bins[i]} ${extra[i]} (CPU $server_cpu, port $port)" >&2
    if ! start_server "$log" "$port" "${bins[i]}" "${args[@]}"; then
        failed=1
        continue
    fi
    head -n 1 "$log" | sed 's/^/   /' >&2
    if [[ -n ${backends[i]} ]] && ! grep -q "(${backends[i]} backend)" "$log"; then
        echo "run.sh: warning: expected the ${backends[i]} backend; the banner says otherwise" >&2
    fi
    for ((run = 1; run <= runs; ++run)); do
        json=$work/run-$i-$run.json
        ticks_before=$(cpu_ticks "$server_pid") || ticks_before=0
        started=$EPOCHREALTIME
        status=0
        # In the background so that a signal interrupts `wait` at once and the traps run.
        timeout "$run_limit" taskset -c "$client_cpu" "$load_bin" --host 127.0.0.1 \
            --port "$port" --connections "$connections" --size "$size" \
            --pipeline "$pipeline" --duration "$duration" --warmup "$warmup" \
            >"$json" 2>"$json.err" &
        load_pid=$!
        wait "$load_pid" || status=$?
        load_pid=
        finished=$EPOCHREALTIME
        ticks_after=$(cpu_ticks "$server_pid") || ticks_after=$ticks_before
        # Cores the server kept busy: CPU seconds over wall seconds.
        busy="($ticks_after - $ticks_before) / $clock_ticks / ($finished - $started)"
        server_busy=$(python3 -c "print(round($busy, 3))")
        if ((status != 0)) || [[ ! -s $json ]]; then
            echo "run.sh: $name run $run failed (status $status):" >&2
            sed 's/^/    /' "$json.err" "$json" >&2
            failed=1
            break
        fi
        printf '%s\t%s\t%s\n' "$i" "$server_busy" "$(<"$json")" >>"$results"
        python3 - "$json" "$server_busy" "$run" "$runs" <<'EOF' >&2
import json, sys
r = json.load(open(sys.argv[1]))
print(f"   run {sys.argv[3]}/{sys.argv[4]}: {r['msgs_per_sec']:>12,.0f} msgs/s  "
      f"p50 {r['p50_us']:.1f} us  p99 {r['p99_us']:.1f} us  "
      f"server CPU {float(sys.argv[2]):.2f}  loader CPU {r['client_cpu']:.2f}")
EOF
    done
    stop_server
done

# --- Report ----------------------------------------------------------------------------------

cpu_model=$(grep -m 1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
python3 - "$results" "$runs" "$started_at" "$(uname -srm)" \
    "${cpu_model:-unknown} ($(nproc) CPUs available)" "$command_line" \
    "$connections" "$size" "$pipeline" "$warmup" "$duration" "$server_cpu" "$client_cpu" \
    "${names[@]}" <<'EOF'
import json, statistics, sys

(results, runs, date, kernel, cpu, command, connections, size, pipeline, warmup, duration,
 server_cpu, client_cpu, *names) = sys.argv[1:]
rows = {i: [] for i in range(len(names))}
for line in open(results):
    index, server_busy, record = line.rstrip("\n").split("\t", 2)
    r = json.loads(record)
    r["server_cpu"] = float(server_busy)
    rows[int(index)].append(r)

def median(runs_of, key):
    return statistics.median(r[key] for r in runs_of)

ceiling = median(rows[0], "msgs_per_sec") if len(rows[0]) == int(runs) else None
print(f"Echo benchmark, {date}")
print()
print(f"- kernel: {kernel}")
print(f"- CPU: {cpu}")
print(f"- load: {connections} connections x {size} B messages, pipeline {pipeline}, "
      f"{warmup} s warm-up + {duration} s measured per run, {runs} run(s) per server")
print(f"- pinning: server on CPU {server_cpu}, load generator on CPU {client_cpu}")
print(f"- command: `{command}`")
print()
print(f"| server | msgs/s (median of {runs}) | ratio vs C ceiling | p50 µs | p99 µs "
      f"| server CPU | loader CPU |")
print("|---|--:|--:|--:|--:|--:|--:|")
for i, name in enumerate(names):
    got = rows[i]
    if len(got) != int(runs):
        print(f"| {name} | failed ({len(got)} of {runs} runs) | | | | | |")
        continue
    rate = median(got, "msgs_per_sec")
    ratio = f"{rate / ceiling:.2f}×" if ceiling else "n/a"
    print(f"| {name} | {rate:,.0f} | {ratio} | {median(got, 'p50_us'):.1f} "
          f"| {median(got, 'p99_us'):.1f} | {median(got, 'server_cpu'):.2f} "
          f"| {median(got, 'client_cpu'):.2f} |")
print()
print("msgs/s: completed round trips per second; p50/p99: round-trip latency (median over "
      "runs); CPU: cores busy (1.00 = one core), server over the whole run, loader over the "
      "measured window.")
if ceiling and median(rows[0], "client_cpu") > 0.95:
    print()
    print("Warning: the load generator was saturated while measuring the ceiling: the ceiling "
          "may be the load generator's limit rather than the server's, and the ratios overstated.")
EOF

if ((failed)); then
    echo "run.sh: some runs failed; see above" >&2
fi
if [[ -n $out_dir ]]; then
    echo "run.sh: raw results and server logs in $work" >&2
fi
exit "$failed"
