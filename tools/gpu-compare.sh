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
#   2. LARGE_ROUNDS rounds at $LARGE_BATCH (524,288) with the search over $LARGE_DATABASE
#      (1,048,576).
# The builds take turns first (baseline then candidate in odd rounds, the other way in even
# ones), so that neither always runs on a machine the other has just warmed.
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
LARGE_ROUNDS="${LARGE_ROUNDS:-1}"
STEP_LIMIT_S="${STEP_LIMIT_S:-120}"

if [[ ! -f "$baseline" || ! -x "$baseline" || ! -f "$candidate" || ! -x "$candidate" ]]; then
    echo "usage: tools/gpu-compare.sh BASELINE_BINARY CANDIDATE_BINARY [OUT_DIR]" >&2
    exit 2
fi
# Absolute paths: a bare name would otherwise be looked up on PATH.
baseline="$(cd "$(dirname "$baseline")" && pwd)/$(basename "$baseline")"
candidate="$(cd "$(dirname "$candidate")" && pwd)/$(basename "$candidate")"
mkdir -p "$out"
exec > >(tee -a "$out/compare.log") 2>&1

# shellcheck source=tools/gpu-env.sh
source "$here/gpu-env.sh"

echo "gpu-compare: $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(hostname), $(nproc) cores"
echo "gpu-compare: baseline $baseline, candidate $candidate"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total \
    --format=csv,noheader || true
# Both must reach the GPU: these figures mean nothing on the CPU.
for binary in "$baseline" "$candidate"; do
    if ! adapter=$("$binary" bench --device gpu --type paillier --key-len 1024 --batch 1 \
        --repeat 1 --no-numbers | grep -E '^gpu:'); then
        echo "gpu-compare: $binary reaches no GPU" >&2
        exit 1
    fi
    echo "$adapter"
done

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

# order ROUND: the two builds in this round's order, one per line.
order() {
    if (($1 % 2)); then
        printf 'baseline\ncandidate\n'
    else
        printf 'candidate\nbaseline\n'
    fi
}
binary_of() {
    if [[ $1 == baseline ]]; then echo "$baseline"; else echo "$candidate"; fi
}
# rounds PREFIX COUNT BATCH DATABASE: COUNT rounds of both builds, named PREFIX<round>-<build>.
rounds() {
    local prefix="$1" count="$2" batch="$3" database="$4" round build
    for round in $(seq 1 "$count"); do
        for build in $(order "$round"); do
            run "$prefix$round-$build" "$(binary_of "$build")" --device gpu --batch "$batch" \
                --database "$database" --repeat 1 --no-numbers
        done
    done
}
rounds "" "$ROUNDS" "$BATCH" "$DATABASE"
rounds large "$LARGE_ROUNDS" "$LARGE_BATCH" "$LARGE_DATABASE"

if command -v python3 >/dev/null; then
    python3 "$here/bench_summary.py" "$out"/*.json || true
fi
echo "gpu-compare: results in $out ($failures run(s) failed)"
exit $((failures > 0))
