#!/usr/bin/env bash
# Runs the compiled GPU test binary (cargo's, as tools/gpu-bundle.sh collects it) on this
# machine's GPU with PAILLIER_GPU_REQUIRE_ADAPTER=1: every kernel, limb path and exchange against
# the CPU, on real hardware rather than lavapipe. Each test module runs as its own process with
# its own time limit; one that fails or runs out is reported while the others go on.
#
#   tools/gpu-tests.sh TESTS_DIR [OUT_DIR] [PAILLIER_GPU_BINARY]
#
# With the CLI binary, it first names the adapter the tests will get (a one-item bench).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
tests="${1:-}"
out="${2:-gpu-tests-$(date +%Y%m%d-%H%M%S)}"
binary="${3:-}"
TEST_LIMIT_S="${TEST_LIMIT_S:-300}"
if [[ -z "$tests" || ! -d "$tests" ]]; then
    echo "usage: tools/gpu-tests.sh TESTS_DIR [OUT_DIR] [PAILLIER_GPU_BINARY]" >&2
    exit 2
fi
mkdir -p "$out"
# Absolute paths: the tests run from the repository's root (below).
tests="$(cd "$tests" && pwd)"
out="$(cd "$out" && pwd)"
if [[ -n "$binary" ]]; then
    binary="$(cd "$(dirname "$binary")" && pwd)/$(basename "$binary")"
fi
exec > >(tee -a "$out/tests.log") 2>&1

# shellcheck source=tools/gpu-env.sh
source "$here/gpu-env.sh"
export PAILLIER_GPU_REQUIRE_ADAPTER=1
# The whole matrix (every width, both exchanges): speed is no concern on hardware, and each
# adapter is where widths and exchanges can differ.
export PAILLIER_GPU_TEST_MATRIX=all

echo "gpu-tests: $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(hostname), $(nproc) cores"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total \
    --format=csv,noheader || true
if [[ -n "$binary" ]]; then
    "$binary" bench --device gpu --type paillier --key-len 1024 --batch 1 --repeat 1 \
        --no-numbers | grep -E '^gpu:' || true
fi

# From the repository's root: a test that reads the SDK fixtures finds them there when the
# path it was built with does not exist on this machine.
cd "$here/.."
failures=0
# The bundle holds the `gpu` test binary and the list of its modules to run (tests/modules):
# each module runs as its own process, with its own time limit and log.
gpu_tests="$tests/gpu"
mapfile -t modules <"$tests/modules"
for name in "${modules[@]}"; do
    start=$(date +%s)
    if timeout "$TEST_LIMIT_S" "$gpu_tests" "$name::" >"$out/$name.txt" 2>&1; then
        verdict=ok
    else
        verdict="FAILED (exit $?)"
        failures=$((failures + 1))
    fi
    summary=$(grep -E '^test result:' "$out/$name.txt" | tail -1 || true)
    echo "gpu-tests: $name: $verdict in $(($(date +%s) - start))s; ${summary:-no result line}"
    if [[ "$verdict" != ok ]]; then
        tail -20 "$out/$name.txt"
    fi
done
echo "gpu-tests: logs in $out ($failures module(s) failed)"
exit $((failures > 0))
