#!/usr/bin/env bash
# Prepares, on this (development) machine, what a lent GPU machine needs to measure and test this
# checkout: the lent machine reaches no package registry and a call carries at most 64 MiB of
# ignored paths, so everything is built here and carried.
#
#   tools/gpu-bundle.sh
#
# Writes (both ignored by git, so they travel to a lent machine only when a call carries them):
#   .gpu-bin/bundle.tar.gz  the stripped release CLI, the stripped GPU test binary and the list
#                           of its modules to run (about 10 MB compressed, 24 MB unpacked);
#   .gl/*.deb               Debian's Vulkan loader and libglvnd (`apt-get download`, kept if
#                           already there).
# With BASELINE=path/to/paillier-gpu (a release CLI built from another commit, e.g. in a git
# worktree), the bundle also carries it, stripped, for `tools/gpu-on-device.sh compare`, named
# by BASELINE_COMMIT, else by the commit checked out where the binary lies.
# Then one device call, carrying .gl and .gpu-bin, runs tools/gpu-on-device.sh (see there):
#   tools/gpu-on-device.sh goals $OUT      the figures that settle #24 and #25 (gpu-goals.sh)
#   tools/gpu-on-device.sh tests $OUT      the GPU tests against the CPU on the hardware
set -euo pipefail
# The baseline's path as given, from where this was run (before the cd below).
baseline="${BASELINE:+$(realpath "$BASELINE")}"
cd "$(dirname "$0")/.."

# The modules of the `gpu` test binary worth running on hardware: every kernel against the CPU.
# gpu_faults is left out on purpose: it destroys devices on purpose, which a shared machine does
# not need.
MODULES=(gpu_backend gpu_encryption gpu_numbers gpu_pipeline gpu_multi_exp gpu_device_times
    gpu_small_widths gpu_adapters)
CARRY_LIMIT_BYTES=$((64 << 20))

echo "gpu-bundle: building the release CLI and the GPU test binary" >&2
cargo build --release --locked
# The executables' paths from cargo's own report, not from a glob over stale builds.
mapfile -t executables < <(cargo test --release --locked --no-run --message-format=json \
    --test gpu | python3 -c '
import json, sys
for line in sys.stdin:
    message = json.loads(line)
    if message.get("reason") == "compiler-artifact" and message.get("executable") \
            and message["target"]["kind"] == ["test"]:
        print(message["target"]["name"] + " " + message["executable"])
')
if [[ ${#executables[@]} -ne 1 ]]; then
    echo "gpu-bundle: expected the gpu test binary, cargo built ${#executables[@]}" >&2
    exit 1
fi

staging="$(mktemp -d)"
trap 'rm -rf "$staging"' EXIT
mkdir -p "$staging/tests"
strip -o "$staging/paillier-gpu" target/release/paillier-gpu
for entry in "${executables[@]}"; do
    strip -o "$staging/tests/${entry%% *}" "${entry#* }"
done
printf '%s\n' "${MODULES[@]}" >"$staging/tests/modules"
git rev-parse --short HEAD >"$staging/commit"
if [[ -n "$baseline" ]]; then
    strip -o "$staging/baseline-paillier-gpu" "$baseline"
    echo "baseline: ${BASELINE_COMMIT:-$(git -C "$(dirname "$baseline")" rev-parse --short HEAD \
        2>/dev/null || echo "$baseline")}" >>"$staging/commit"
fi
if [[ -n "$(git status --porcelain --untracked-files=no)" ]]; then
    echo "(with uncommitted changes)" >>"$staging/commit"
fi
mkdir -p .gpu-bin
tar -czf .gpu-bin/bundle.tar.gz -C "$staging" .

mkdir -p .gl
# The loader and the GL vendor-neutral dispatch: NVIDIA's Vulkan driver lives in libGLX_nvidia,
# which answers the loader only when libglvnd's libraries are there (else "Could not get
# 'vkCreateInstance' via 'vk_icdGetInstanceProcAddr'").
loader_packages=(libvulkan1 libglvnd0 libglx0 libgl1 libegl1 libopengl0)
missing=()
for package in "${loader_packages[@]}"; do
    compgen -G ".gl/${package}_*.deb" >/dev/null || missing+=("$package")
done
if [[ ${#missing[@]} -gt 0 ]]; then
    echo "gpu-bundle: downloading ${missing[*]} from Debian into .gl" >&2
    (cd .gl && apt-get download "${missing[@]}")
fi

bytes=$(du -cb .gpu-bin .gl | tail -1 | cut -f1)
echo "gpu-bundle: .gpu-bin and .gl hold $((bytes >> 20)) MiB (a call carries at most 64 MiB)"
if ((bytes > CARRY_LIMIT_BYTES)); then
    echo "gpu-bundle: too large to carry" >&2
    exit 1
fi
echo "gpu-bundle: now one device call with carry [\".gl\", \".gpu-bin\"]:"
echo "  tools/gpu-on-device.sh goals \$OUT     (or: tests \$OUT; compare \$OUT with BASELINE)"
