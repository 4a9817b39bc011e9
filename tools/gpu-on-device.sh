#!/usr/bin/env bash
# On a lent GPU machine: unpacks what tools/gpu-bundle.sh built on the development machine
# (.gpu-bin/bundle.tar.gz, carried with .gl) and runs one job with it, writing into OUT_DIR.
#
#   tools/gpu-on-device.sh goals OUT_DIR     tools/gpu-goals.sh: the figures #24 and #25 wait on
#   tools/gpu-on-device.sh tests OUT_DIR     tools/gpu-tests.sh: every kernel against the CPU
#   tools/gpu-on-device.sh measure OUT_DIR   tools/gpu-measure.sh: the longer survey
#   tools/gpu-on-device.sh compare OUT_DIR   tools/gpu-compare.sh: the bundle's baseline CLI
#                                            (BASELINE=... tools/gpu-bundle.sh) against this one
#
# The Vulkan loader comes from .gl when the machine has none, and the NVIDIA driver's manifest
# is found by itself (tools/gpu-env.sh). Extra settings pass through the environment (BATCH=...,
# PAILLIER_GPU_...).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
job="${1:-}"
out="${2:-}"
if [[ -z "$job" || -z "$out" ]]; then
    echo "usage: tools/gpu-on-device.sh goals|tests|measure|compare OUT_DIR" >&2
    exit 2
fi
bundle_file="$here/../.gpu-bin/bundle.tar.gz"
if [[ ! -f "$bundle_file" ]]; then
    echo "gpu-on-device: no $bundle_file: run tools/gpu-bundle.sh here and carry .gpu-bin" >&2
    exit 1
fi
bundle="$(mktemp -d)"
tar -xzf "$bundle_file" -C "$bundle"
echo "gpu-on-device: binaries built from $(tr '\n' ' ' <"$bundle/commit")"
mkdir -p "$out"
case "$job" in
    goals) exec "$here/gpu-goals.sh" "$bundle/paillier-gpu" "$out/goals" ;;
    tests) exec "$here/gpu-tests.sh" "$bundle/tests" "$out/tests" "$bundle/paillier-gpu" ;;
    measure) exec "$here/gpu-measure.sh" "$bundle/paillier-gpu" "$out/measure" ;;
    compare)
        if [[ ! -x "$bundle/baseline-paillier-gpu" ]]; then
            echo "gpu-on-device: the bundle has no baseline (BASELINE=... tools/gpu-bundle.sh)" >&2
            exit 1
        fi
        exec "$here/gpu-compare.sh" "$bundle/baseline-paillier-gpu" "$bundle/paillier-gpu" \
            "$out/compare"
        ;;
    *)
        echo "gpu-on-device: unknown job '$job' (goals, tests, measure or compare)" >&2
        exit 2
        ;;
esac
