#!/usr/bin/env bash
# Measures a GPU machine in one command: `paillier-gpu bench` at key_len 1024 and 2048, both
# schemes, every operation, on the CPU and the GPU side by side for batches up to $BOTH_MAX, the
# whole search over 8,192 records on both and over $SEARCH_DATABASES (default 65,536 and
# 1,048,576) on the GPU, the wide and the two-digit arithmetic side by side, then the GPU alone
# for batches growing 4x until one bench run takes longer than $GPU_STEP_LIMIT_S seconds or
# $GPU_MAX is reached. Writes JSON (with each GPU
# measurement's host/device breakdown) and SVG per run into OUT_DIR, and a log.
#
#   tools/gpu-measure.sh [PAILLIER_GPU_BINARY] [OUT_DIR]
#
# The binary defaults to target/release/paillier-gpu beside this script (build it with
# `cargo build --release` on any x86-64 Linux machine and copy it over: it needs no Rust there).
#
# A machine without the Vulkan loader (libvulkan.so.1): place Debian's loader package beside this
# script, in tools/vulkan-debs/ (on a machine with apt: `apt-get download libvulkan1`); it is
# unpacked into a private folder, nothing is installed. When no Vulkan driver manifest is in the
# standard folders, VK_DRIVER_FILES is pointed at the NVIDIA driver's ICD file if one is found.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
binary="${1:-$here/../target/release/paillier-gpu}"
out="${2:-gpu-measure-$(date +%Y%m%d-%H%M%S)}"
BOTH_MAX="${BOTH_MAX:-4096}"
GPU_MAX="${GPU_MAX:-4194304}"
GPU_STEP_LIMIT_S="${GPU_STEP_LIMIT_S:-120}"
KEY_LENS="${KEY_LENS:-1024,2048}"
TYPES="${TYPES:-paillier,paillier_lookup}"
REPEAT="${REPEAT:-3}"

if [[ ! -x "$binary" ]]; then
    echo "gpu-measure: no paillier-gpu binary at $binary (build with cargo build --release)" >&2
    exit 1
fi
mkdir -p "$out"
log="$out/measure.log"
exec > >(tee -a "$log") 2>&1

# The Vulkan loader and the driver manifest (shared with gpu-goals.sh).
# shellcheck source=tools/gpu-env.sh
source "$here/gpu-env.sh"

echo "gpu-measure: $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(hostname), $(nproc) cores"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total \
    --format=csv,noheader || true

# The GPU must answer: a CPU-only comparison is not what this script is for.
PAILLIER_GPU_SPOT_CHECK="${PAILLIER_GPU_SPOT_CHECK:-1}" \
    "$binary" bench --device gpu --type paillier --key-len 1024 --batch 1 --repeat 1

# Side by side, small and medium batches (the CPU side bounds how large).
both_batches=1
b=16
while ((b <= BOTH_MAX)); do
    both_batches="$both_batches,$b"
    b=$((b * 4))
done
"$binary" bench --device both --type "$TYPES" --key-len "$KEY_LENS" --batch "$both_batches" \
    --repeat "$REPEAT" --json "$out/both.json" --plot "$out/both.svg"

# The whole search (encrypt a query, aggregate over a resident database, decode every response,
# top 10) at the issue's sizes: 8,192 records on both devices, 1,048,576 on the GPU alone (the
# CPU would take minutes per search there). --batch 1 keeps the per-operation part small.
"$binary" bench --device both --type "$TYPES" --key-len 1024 --batch 1 --database 8192 \
    --repeat "$REPEAT" --json "$out/search-8192.json"
"$binary" bench --device gpu --type "$TYPES" --key-len 1024 --batch 1 \
    --database "${SEARCH_DATABASES:-65536,1048576}" --repeat "$REPEAT" \
    --json "$out/search-gpu.json" || echo "gpu-measure: the large searches failed (do they fit?)"

# The arithmetic modulo squares side by side at key_len 1024, for decoding, both encryptions and
# the search: the wide numbers modulo N², two digits modulo N (the default: half the wide
# kernels' lanes), and two digits with more lanes (8: the wide kernels' invocations per item
# modulo p²), and 8 lanes only for the calls
# that launch fewer than 65,536 invocations at 4 (PAILLIER_GPU_TWO_DIGIT_FILL); then the
# default with chunks sized by the device's time (PAILLIER_GPU_DEVICE_TIME_CHUNKS).
for arithmetic in wide:PAILLIER_GPU_TWO_DIGIT=0 digits:PAILLIER_GPU_TWO_DIGIT=1 \
    digits-8-lanes:PAILLIER_GPU_TWO_DIGIT_LANES=8 \
    digits-fill:PAILLIER_GPU_TWO_DIGIT_FILL=65536 \
    digits-device-chunks:PAILLIER_GPU_DEVICE_TIME_CHUNKS=1; do
    setting="${arithmetic#*:}"
    echo "gpu-measure: arithmetic with $setting"
    env "$setting" "$binary" bench --device gpu --type paillier --key-len 1024 --batch 131072 \
        --database 8192 --repeat "$REPEAT" --no-numbers \
        --json "$out/arithmetic-${arithmetic%%:*}.json" ||
        echo "gpu-measure: the run with $setting failed"
done

# The GPU alone, growing until a run takes too long or the batch no longer fits.
b=$((BOTH_MAX * 4))
while ((b <= GPU_MAX)); do
    start=$(date +%s)
    # The number operations only at the side-by-side sizes: the exact linear layer takes
    # minutes at these batches.
    if ! "$binary" bench --device gpu --type "$TYPES" --key-len "$KEY_LENS" --batch "$b" \
        --repeat "$REPEAT" --no-numbers --json "$out/gpu-$b.json" --plot "$out/gpu-$b.svg"; then
        echo "gpu-measure: batch $b failed (does it fit?); stopping"
        break
    fi
    elapsed=$(($(date +%s) - start))
    echo "gpu-measure: batch $b took ${elapsed}s"
    if ((elapsed > GPU_STEP_LIMIT_S)); then
        break
    fi
    b=$((b * 4))
done
if command -v python3 >/dev/null; then
    python3 "$here/bench_summary.py" "$out"/*.json || true
fi
echo "gpu-measure: results in $out"
