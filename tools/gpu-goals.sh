#!/usr/bin/env bash
# The measurements that settle issues #24 and #25 on one GPU machine, in one command that fits a
# lent machine's ten-minute call (an estimated eight to nine minutes on an H100, not yet run
# there; each run has its own limit, and one that fails or runs out is reported while the others
# go on; the runs that settle goals come first, so a call cut short loses the comparisons).
# key_len 1024, classic scheme:
#
#   1. the default at batch $BATCH (131,072) with the whole search over $DATABASE (8,192)
#      records: encryption (owner, public key), aggregation, decoding and the search
#      (arithmetic-digits.json);
#   2. the default at $LARGE_BATCH (524,288) with the search over $LARGE_DATABASE (1,048,576);
#   3. #25's number operations and 64 × 10 linear layers at $BATCH (rows nums_* and linear_*);
#   4. step 1 for the other arithmetics modulo squares: two digits with 8 lanes only for calls of
#      fewer than 65,536 invocations at 4 (the search's decoding and query;
#      PAILLIER_GPU_TWO_DIGIT_FILL), chunks sized by the device's time rather than the host's
#      (PAILLIER_GPU_DEVICE_TIME_CHUNKS), two digits with 8 lanes everywhere, and the wide
#      numbers (PAILLIER_GPU_TWO_DIGIT=0); then the default without timing the kernels, as the
#      library runs by default (PAILLIER_GPU_DEVICE_TIMING=0: what the timestamps cost);
#   5. the whole search over $DATABASE records alone, its one-item query encrypted on the GPU
#      and then on the CPU (PAILLIER_GPU_MIN_BATCH=2): what a one-item GPU call costs the search;
#   6. one core of the host (RAYON_NUM_THREADS=1, pinned): the per-core CPU rates.
#
#   tools/gpu-goals.sh [PAILLIER_GPU_BINARY] [OUT_DIR]
#
# On a lent machine that reaches no registry: build here, strip (the release binary with debug
# information is over the 64 MiB a call carries) and carry it with the loader packages, e.g.
#   cargo build --release && mkdir -p .gpu-bin && strip -o .gpu-bin/paillier-gpu \
#       target/release/paillier-gpu        (.gpu-bin and .gl listed in .git/info/exclude)
#   run: for f in .gl/*.deb; do dpkg -x $f /; done; ldconfig; tools/gpu-goals.sh \
#       .gpu-bin/paillier-gpu $OUT/goals      (carry .gl and .gpu-bin; see the device README)
#
# Writes one JSON per run (with the host/device breakdown: on an adapter with timestamp queries,
# the device's time per kernel too) and a log into OUT_DIR, and ends with one table of them all
# (tools/bench_summary.py). The binary
# defaults to target/release/paillier-gpu beside this script; the Vulkan loader and driver come
# as in gpu-measure.sh (tools/gpu-env.sh). tools/gpu-measure.sh is the longer survey (both key
# lengths and schemes, the CPU beside the GPU, growing batches).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
binary="${1:-$here/../target/release/paillier-gpu}"
out="${2:-gpu-goals-$(date +%Y%m%d-%H%M%S)}"
BATCH="${BATCH:-131072}"
DATABASE="${DATABASE:-8192}"
LARGE_BATCH="${LARGE_BATCH:-524288}"
LARGE_DATABASE="${LARGE_DATABASE:-1048576}"
CPU_BATCH="${CPU_BATCH:-600}"
REPEAT="${REPEAT:-3}"
STEP_LIMIT_S="${STEP_LIMIT_S:-150}"

if [[ ! -x "$binary" ]]; then
    echo "gpu-goals: no paillier-gpu binary at $binary (build with cargo build --release)" >&2
    exit 1
fi
mkdir -p "$out"
exec > >(tee -a "$out/goals.log") 2>&1

# shellcheck source=tools/gpu-env.sh
source "$here/gpu-env.sh"

echo "gpu-goals: $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(hostname), $(nproc) cores, $("$binary" --version)"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total \
    --format=csv,noheader || true

# The GPU must answer: these figures mean nothing on the CPU.
"$binary" bench --device gpu --type paillier --key-len 1024 --batch 1 --repeat 1

failures=0
# One bench run under its own time limit: `run NAME [VAR=VALUE ...] -- BENCH ARGUMENTS`.
run() {
    local name="$1"
    shift
    local settings=()
    while [[ "$1" != "--" ]]; do
        settings+=("$1")
        shift
    done
    shift
    echo "gpu-goals: $name ${settings[*]}"
    local start
    start=$(date +%s)
    if ! env "${settings[@]}" timeout "$STEP_LIMIT_S" "$binary" bench --key-len 1024 \
        --type paillier --json "$out/$name.json" "$@"; then
        echo "gpu-goals: $name failed or ran past ${STEP_LIMIT_S}s"
        failures=$((failures + 1))
    fi
    echo "gpu-goals: $name took $(($(date +%s) - start))s"
}

# File names of letters, digits, '.', '_' and '-' only (what a lent machine's $OUT returns).
arithmetic() {
    run "arithmetic-$1" "$2" -- --device gpu --batch "$BATCH" --database "$DATABASE" \
        --repeat "$REPEAT" --no-numbers
}
arithmetic digits PAILLIER_GPU_TWO_DIGIT=1
run large -- --device gpu --batch "$LARGE_BATCH" --database "$LARGE_DATABASE" --repeat 2 \
    --no-numbers
run numbers -- --device gpu --batch "$BATCH" --repeat "$REPEAT"
arithmetic digits-fill PAILLIER_GPU_TWO_DIGIT_FILL=65536
arithmetic digits-device-chunks PAILLIER_GPU_DEVICE_TIME_CHUNKS=1
arithmetic digits-8-lanes PAILLIER_GPU_TWO_DIGIT_LANES=8
arithmetic wide PAILLIER_GPU_TWO_DIGIT=0
# The default again without timestamps (bench turns them on; the library leaves them off):
# what timing the kernels costs.
arithmetic digits-untimed PAILLIER_GPU_DEVICE_TIMING=0
# The search's query is one item: a GPU call's latency against a few hundred microseconds of one
# CPU core. Batches of $DATABASE keep every other call of the run on the GPU.
search() {
    run "search-$1" "$2" -- --device gpu --batch "$DATABASE" --database "$DATABASE" \
        --repeat 5 --no-numbers
}
search query-gpu PAILLIER_GPU_MIN_BATCH=0
search query-cpu PAILLIER_GPU_MIN_BATCH=2
pin=()
if command -v taskset >/dev/null; then
    pin=(taskset -c "$(($(nproc) - 1))")
fi
echo "gpu-goals: cpu-one-core ${pin[*]}"
if ! RAYON_NUM_THREADS=1 timeout "$STEP_LIMIT_S" "${pin[@]}" "$binary" bench --device cpu \
    --type paillier --key-len 1024 --batch "$CPU_BATCH" --repeat "$REPEAT" \
    --json "$out/cpu-one-core.json"; then
    echo "gpu-goals: cpu-one-core failed or ran past ${STEP_LIMIT_S}s"
    failures=$((failures + 1))
fi
# Every run's rates and where their time went, the device's kernels included, in one table.
if command -v python3 >/dev/null; then
    python3 "$here/bench_summary.py" "$out"/*.json || true
fi
echo "gpu-goals: results in $out ($failures run(s) failed)"
exit $((failures > 0))
