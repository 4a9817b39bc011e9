#!/usr/bin/env bash
# Verified against unverified search, and ingest with nonces, tags and tokens against without,
# on a fresh `paillier-gpu serve` (SQLite, --device cpu) on this machine:
#   tools/trustless-bench.sh [RECORDS] [SEARCHES]          (defaults 8192 and 21)
# PAILLIER_GPU_CPU_ENGINE names the CPU engine of both the service and the owner.
# Builds the release program and crates/client/examples/trustless_search.rs, which does the
# measuring (BENCHMARKS.md quotes it).
set -euo pipefail
cd "$(dirname "$0")/.."
records="${1:-8192}"
searches="${2:-21}"
# Two builds: with --example, cargo builds no binary of the packages named.
cargo build --release --quiet -p paillier-gpu-cli --bin paillier-gpu
cargo build --release --quiet -p paillier-gpu-client --example trustless_search
work="$(mktemp -d)"
trap 'kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
target/release/paillier-gpu server init --data-dir "$work/data" --org bench >"$work/init.json"
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
target/release/paillier-gpu serve --data-dir "$work/data" --listen "127.0.0.1:$port" --device cpu \
    2>"$work/serve.log" &
server=$!
for _ in $(seq 100); do grep -q "serving on" "$work/serve.log" && break; sleep 0.1; done
# Two knowledge bases and one key with every permission on both, through the admin API.
read -r org plain verified key < <(python3 - "$work/init.json" "http://127.0.0.1:$port" <<'PY'
import json, sys, urllib.request
init, url = json.load(open(sys.argv[1])), sys.argv[2]
def admin(method, path, body):
    request = urllib.request.Request(f"{url}/api/v1/{path}", method=method, data=json.dumps(body).encode())
    request.add_header("x-xtrace-key", init["admin_key"])
    request.add_header("x-xtrace-org-id", init["org_id"])
    request.add_header("Content-Type", "application/json")
    return json.loads(urllib.request.urlopen(request).read())
kbs = [admin("POST", "kbs", {"name": name, "description": ""})["id"] for name in ("plain", "verified")]
key = admin("POST", "keys", {"name": "bench", "description": ""})
for kb in kbs:
    admin("PUT", f"keys/{key['apiKey']['hash']}/permissions/{kb}", {"permission": 7})
print(init["org_id"], *kbs, key["secretKey"])
PY
)
PAILLIER_GPU_REMOTE="http://127.0.0.1:$port" PAILLIER_GPU_ORG="$org" PAILLIER_GPU_API_KEY="$key" \
    target/release/examples/trustless_search "$plain" "$verified" "$records" "$searches"
