#!/usr/bin/env bash
# Counts, with callgrind, the instructions (Ir) and data reads/writes (Dr, Dw) of one
# secret-exponent operation for several exponent classes. Constant-time code gives identical
# counts for every class; the script prints them and exits 1 if any differ.
#
# Usage: tools/ct-callgrind.sh            (needs valgrind; runs the portable engine, since
#                                          valgrind does not execute AVX-512)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --example ct_check >&2
bin="$(cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')/release/examples/ct_check"
out=$(mktemp -d)
status=0
printf '%-11s %-8s %16s %16s %16s\n' operation class Ir Dr Dw
for operation in pow_secret fixed_base pow_public; do
  reference=""
  differs=0
  for class in zero ones one-bit random; do
    valgrind --tool=callgrind --cache-sim=yes --collect-atstart=no \
      --toggle-collect='*probe_target*' --callgrind-out-file="$out/cg" \
      "$bin" probe portable "$operation" "$class" >/dev/null 2>"$out/log"
    # The "summary:" line lists the events in the order of the "events:" line.
    events=$(grep '^events:' "$out/cg" | cut -d' ' -f2-)
    summary=$(grep '^summary:' "$out/cg" | cut -d' ' -f2-)
    read -r -a names <<<"$events"
    read -r -a values <<<"$summary"
    declare -A count=()
    for i in "${!names[@]}"; do count[${names[$i]}]=${values[$i]:-0}; done
    line="${count[Ir]} ${count[Dr]} ${count[Dw]}"
    printf '%-11s %-8s %16s %16s %16s\n' "$operation" "$class" ${line}
    if [[ -z "$reference" ]]; then
      reference="$line"
    elif [[ "$line" != "$reference" ]]; then
      differs=1
    fi
  done
  # pow_public (variable time by design) is the control: the counts must tell its classes apart.
  if [[ $operation == pow_public ]]; then
    [[ $differs -eq 1 ]] || { echo "control pow_public shows no difference: the check is blind" >&2; status=1; }
  elif [[ $differs -eq 1 ]]; then
    status=1
  fi
done
rm -rf "$out"
if [[ $status -ne 0 ]]; then
  echo "counts differ between exponent classes: NOT constant time" >&2
else
  echo "secret-exponent operations: identical counts for every exponent class; control differs" >&2
fi
exit $status
