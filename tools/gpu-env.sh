# Sourced by gpu-measure.sh, gpu-goals.sh, gpu-tests.sh and gpu-compare.sh (with `here` set to
# the tools folder): makes the Vulkan loader and an NVIDIA driver manifest available without
# installing anything.
#
# The loader: the system's, else Debian's packages placed in tools/vulkan-debs/ or in the
# repository's .gl/ (tools/gpu-bundle.sh downloads them there; by hand, on a machine with apt:
# `apt-get download libvulkan1 libglvnd0 libglx0 libgl1 libegl1 libopengl0`: NVIDIA's driver
# needs libglvnd's dispatch), unpacked into a private folder. The manifest: the standard
# folders', else the NVIDIA driver's own ICD file (VK_DRIVER_FILES).

# The Vulkan loader and libglvnd's dispatch, from carried packages when the system lacks either
# (only a missing loader is fatal: a software adapter such as lavapipe needs no libglvnd).
libraries="$(ldconfig -p 2>/dev/null || true)"
has_loader=1
grep 'libvulkan.so.1' <<<"$libraries" >/dev/null || has_loader=0
has_glvnd=1
grep 'libGLdispatch.so.0' <<<"$libraries" >/dev/null || has_glvnd=0
debs=()
if [[ $has_loader == 0 || $has_glvnd == 0 ]]; then
    for deb in "$here"/vulkan-debs/*.deb "$here"/../.gl/*.deb; do
        [[ -e "$deb" ]] && debs+=("$deb")
    done
fi
if [[ $has_loader == 0 && ${#debs[@]} -eq 0 ]]; then
    echo "gpu-env: no Vulkan loader on this machine and no .deb in $here/vulkan-debs or .gl" >&2
    exit 1
fi
if [[ ${#debs[@]} -gt 0 ]]; then
    prefix="$(mktemp -d)"
    for deb in "${debs[@]}"; do
        dpkg -x "$deb" "$prefix"
    done
    export LD_LIBRARY_PATH="$prefix/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    echo "gpu-env: Vulkan loader and libglvnd unpacked from ${#debs[@]} package(s) into $prefix"
fi

# A driver manifest: the standard folders, else the NVIDIA driver's own.
if [[ -z "${VK_DRIVER_FILES:-}" && -z "${VK_ICD_FILENAMES:-}" ]]; then
    standard=$(ls /usr/share/vulkan/icd.d/*.json /etc/vulkan/icd.d/*.json \
        /usr/local/share/vulkan/icd.d/*.json 2>/dev/null | grep -v -e lvp -e intel -e radeon || true)
    if [[ -z "$standard" ]]; then
        for icd in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json \
            /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json \
            /usr/lib/x86_64-linux-gnu/nvidia/nvidia_icd.json; do
            if [[ -f "$icd" ]]; then
                export VK_DRIVER_FILES="$icd"
                echo "gpu-env: VK_DRIVER_FILES=$icd"
                break
            fi
        done
    fi
fi
# Mesa's drivers complain on stderr without it.
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"

