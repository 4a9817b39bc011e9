#!/usr/bin/env bash
# The partition benchmark, end to end: data sets, the FAISS IndexBinaryIVF curve, a fresh
# `paillier-gpu serve` on SQLite with verifiable uploads and verified searches for
# --probe 1, 2, 4, … all, and the report (target/partition-bench/report.md).
#   tools/partition-bench/run.sh [run.py's options]      e.g. --records 100000 --steps data,faiss
# Environment: PARTITION_BENCH_VENV (the Python environment, default
# target/partition-bench/venv), PAILLIER_GPU_BIN (a built CLI: then nothing is built).
# README.md beside this file says what it measures.
set -euo pipefail
cd "$(dirname "$0")/../.."
here=tools/partition-bench
venv="${PARTITION_BENCH_VENV:-target/partition-bench/venv}"

steps="data,faiss,cli,report"
datasets="synthetic"
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
    case "${args[i]}" in
        --steps) steps="${args[i + 1]:-}" ;;
        --steps=*) steps="${args[i]#--steps=}" ;;
        --datasets) datasets="${args[i + 1]:-}" ;;
        --datasets=*) datasets="${args[i]#--datasets=}" ;;
        -h | --help) help=1 ;;
    esac
done
if [ "${help:-0}" = 1 ]; then
    steps=""  # only run.py's help: nothing built or installed for it
fi

# Python: numpy, faiss-cpu, wordllama (its wheel carries the model) and matplotlib, pinned.
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
if ! "$venv/bin/python" -c 'import numpy, faiss, wordllama, matplotlib' 2>/dev/null; then
    "$venv/bin/pip" install --quiet -r "$here/requirements.txt"
fi

# The real corpus: WordNet 3.0's glosses, from Debian's wordnet-base.
if [[ ",$datasets," == *",wordnet,"* && ",$steps," == *",data,"* && ! -f /usr/share/wordnet/data.noun ]]; then
    if [ "$(id -u)" = 0 ]; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends wordnet-base
    else
        echo "the wordnet data set needs Debian's wordnet-base: sudo apt-get install wordnet-base" >&2
        exit 1
    fi
fi

# The program, unless one is given or the cli step is not run.
if [[ ",$steps," == *",cli,"* && -z "${PAILLIER_GPU_BIN:-}" ]]; then
    cargo build --release --quiet -p paillier-gpu-cli
    export PAILLIER_GPU_BIN="${CARGO_TARGET_DIR:-$PWD/target}/release/paillier-gpu"
fi

exec "$venv/bin/python" "$here/run.py" "$@"
