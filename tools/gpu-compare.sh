#!/usr/bin/env bash
# Two builds of the CLI on one GPU, alternating, so that a change can be shown to leave no GPU
# path slower: the same bench runs with the baseline, then the candidate, then again, each run
# under its own time limit. Ends with one table of every run (tools/bench_summary.py), the file
# names saying which build and which round.
#
#   tools/gpu-compare.sh BASELINE_BINARY CANDIDATE_BINARY [OUT_DIR]
#
# Runs, key_len 1024, classic scheme, each with both builds:
#   1. ROUNDS rounds of the default at batch $BATCH (131,072) with the whole search over
#      $DATABASE (8,192) records: encryption (owner, public key), aggregation, decoding, search;
#   2. one round at $LARGE_BATCH (524,288) with the search over $LARGE_DATABASE (1,048,576).
# tools/gpu-bundle.sh carries a baseline when BASELINE=path/to/paillier-gpu is set, and
# `tools/gpu-on-device.sh compare OUT` runs this script with it.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
baseline="${1:-}"
candidate="${2:-}"
out="${3:-gpu-compare-$(date +%Y%m%d-%H%M%S)}"
BATCH="${BATCH:-131072}"
DATABASE="${DATABASE:-8192}"
LARGE_BATCH="${LARGE_BATCH:-524288}"
LARGE_DATABASE="${LARGE_DATABASE:-1048576}"
ROUNDS="${ROUNDS:-2}"
STEP_LIMIT_S="${STEP_LIMIT_S:-120}"

if [[ ! -x "$baseline" || ! -x "$candidate" ]]; then
    echo "usage: tools/gpu-compare.sh BASELINE_BINARY CANDIDATE_BINARY [OUT_DIR]" >&2
    exit 2
fi
mkdir -p "$out"
exec > >(tee -a "$out/compare.log") 2>&1

# shellcheck source=tools/gpu-env.sh
source "$here/gpu-env.sh"

echo "gpu-compare: $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(hostname), $(nproc) cores"
echo "gpu-compare: baseline $baseline, candidate $candidate"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total \
    --format=csv,noheader || true
# Both must reach the GPU: these figures mean nothing on the CPU.
"$baseline" bench --device gpu --type paillier --key-len 1024 --batch 1 --repeat 1 \
    --no-numbers | grep -E '^gpu:' || true
"$candidate" bench --device gpu --type paillier --key-len 1024 --batch 1 --repeat 1 \
    --no-numbers | grep -E '^gpu:' || true

failures=0
# run NAME BINARY BENCH_ARGUMENTS...: one bench under its own time limit.
run() {
    local name="$1" binary="$2"
    shift 2
    local start
    start=$(date +%s)
    echo "gpu-compare: $name"
    if ! timeout "$STEP_LIMIT_S" "$binary" bench --key-len 1024 --type paillier \
        --json "$out/$name.json" "$@" >"$out/$name.txt" 2>&1; then
        echo "gpu-compare: $name failed or ran past ${STEP_LIMIT_S}s"
        tail -5 "$out/$name.txt"
        failures=$((failures + 1))
    fi
    echo "gpu-compare: $name took $(($(date +%s) - start))s"
}

for round in $(seq 1 "$ROUNDS"); do
    for build in baseline candidate; do
        binary=$baseline
        [[ $build == candidate ]] && binary=$candidate
        run "$round-$build" "$binary" --device gpu --batch "$BATCH" --database "$DATABASE" \
            --repeat 1 --no-numbers
    done
done
for build in baseline candidate; do
    binary=$baseline
    [[ $build == candidate ]] && binary=$candidate
    run "large-$build" "$binary" --device gpu --batch "$LARGE_BATCH" \
        --database "$LARGE_DATABASE" --repeat 1 --no-numbers
done

if command -v python3 >/dev/null; then
    python3 "$here/bench_summary.py" "$out"/*.json || true
fi
echo "gpu-compare: results in $out ($failures run(s) failed)"
exit $((failures > 0))
