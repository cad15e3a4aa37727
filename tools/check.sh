#!/usr/bin/env bash
# Builds and runs every test of covet, as CI does:
#   1. dev workflow: Debug, -Werror, ASan + UBSan, epoll backend
#   2. iouring workflow: the same with the io_uring backend
#   3. clang workflow: clang, Debug, -Werror (Asio coroutines need extra macros there)
#   4. fuzz workflow: clang + libFuzzer + ASan, every fuzz target for a bounded time
# Each workflow's tests include the install/consumer test and the vcpkg port check.
set -euo pipefail
cd "$(dirname "$0")/.."

bash tools/install-deps.sh
start=$(date +%s)
for preset in dev iouring clang fuzz; do
    echo "=== covet: cmake --workflow --preset $preset"
    cmake --workflow --preset "$preset"
done
# Every fuzz target must be registered with the fuzz label (a mislabelled one
# would silently drop out of the fuzz workflow above).
targets=$(ls libs/*/fuzz/*_fuzz.cpp | wc -l)
registered=$(ctest --test-dir build/fuzz -N -L fuzz | grep -c "Test *#")
if [[ $targets -ne $registered ]]; then
    echo "=== covet: $registered fuzz tests registered for $targets fuzz targets" >&2
    exit 1
fi
echo "=== covet: all workflows passed in $(( $(date +%s) - start )) s"
