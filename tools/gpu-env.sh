# Sourced by gpu-measure.sh, gpu-goals.sh and gpu-tests.sh (with `here` set to the tools
# folder): makes the Vulkan loader and an NVIDIA driver manifest available without installing
# anything.
#
# The loader: the system's, else Debian's packages placed in tools/vulkan-debs/ or in the
# repository's .gl/ (tools/gpu-bundle.sh downloads them there; by hand, on a machine with apt:
# `apt-get download libvulkan1 libglvnd0 libglx0 libgl1 libegl1 libopengl0`: NVIDIA's driver
# needs libglvnd's dispatch), unpacked into a private folder. The manifest: the standard
# folders', else the NVIDIA driver's own ICD file (VK_DRIVER_FILES).

# The Vulkan loader, from carried packages when the system has none.
if ! ldconfig -p 2>/dev/null | grep -q 'libvulkan.so.1'; then
    debs=()
    for deb in "$here"/vulkan-debs/*.deb "$here"/../.gl/*.deb; do
        [[ -e "$deb" ]] && debs+=("$deb")
    done
    if [[ ${#debs[@]} -eq 0 ]]; then
        echo "gpu-env: no Vulkan loader on this machine and no .deb in $here/vulkan-debs" \
            "or .gl" >&2
        exit 1
    fi
    prefix="$(mktemp -d)"
    for deb in "${debs[@]}"; do
        dpkg -x "$deb" "$prefix"
    done
    export LD_LIBRARY_PATH="$prefix/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    echo "gpu-env: Vulkan loader unpacked from ${#debs[@]} package(s) into $prefix"
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

