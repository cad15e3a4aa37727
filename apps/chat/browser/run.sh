#!/usr/bin/env bash
# Runs chat.test.mjs against a fresh covet_chat. Usage: run.sh path/to/covet_chat
# Exit 77 (skipped) when chromium, node or npm is missing, unless CI=true.
set -euo pipefail
chat_binary=$1
here=$(cd "$(dirname "$0")" && pwd)
missing() {
    if [[ "${CI:-}" == "true" ]]; then
        echo "chat browser test: $1 is missing (tools/install-deps.sh installs it)" >&2
        exit 1
    fi
    echo "chat browser test: skipped, $1 is missing (tools/install-deps.sh installs it)" >&2
    exit 77
}
chromium_path=${CHROMIUM:-/usr/bin/chromium}
[[ -x "$chromium_path" ]] || missing chromium
command -v node >/dev/null || missing node
command -v npm >/dev/null || missing npm

# npm ci into a work directory beside the binary (not the source tree); reused while the lock is unchanged.
work=$(dirname "$chat_binary")/browser-test
mkdir -p "$work"
if ! cmp -s "$here/package-lock.json" "$work/package-lock.json" || [[ ! -d "$work/node_modules" ]]; then
    cp "$here/package.json" "$here/package-lock.json" "$work/"
    (cd "$work" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
fi
cp "$here/chat.test.mjs" "$work/"

log=$(mktemp)
COVET_THREADS=2 COVET_ADDRESS=127.0.0.1 "$chat_binary" --port 0 >"$log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null; wait "$server" 2>/dev/null; rm -f "$log"' EXIT
port=""
for _ in $(seq 1 100); do
    port=$(sed -n 's|.*http://[^:]*:\([0-9]*\)/.*|\1|p' "$log" | head -1)
    [[ -n "$port" ]] && break
    sleep 0.1
done
[[ -n "$port" ]] || { echo "covet_chat did not start:" >&2; cat "$log" >&2; exit 1; }
cd "$work"
CHROMIUM="$chromium_path" timeout 120 node chat.test.mjs "http://127.0.0.1:$port/" "$work/chat.png"
