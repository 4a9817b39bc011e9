#!/usr/bin/env python3
"""One table from `paillier-gpu bench --json` files: per measurement, the rate, and where its
time went (per run, in ms): host-visible, waiting for the device, the device's own time in
kernels where it keeps timestamps, the device's idle time inside GPU calls (first kernel start
to last kernel end, less the kernels), host work outside GPU calls, and the kernels that took
most.

    tools/bench_summary.py FILE.json [FILE.json ...]

The standard library only, so that it runs on a lent GPU machine that reaches no registry
(tools/gpu-goals.sh calls it at the end).
"""

import json
import sys

KERNELS_SHOWN = 3


def milliseconds(seconds):
    return "-" if seconds is None else f"{1e3 * seconds:.1f}"


def idle(breakdown):
    span, busy = breakdown.get("device_span_s"), breakdown.get("device_busy_s")
    return None if span is None or busy is None else max(span - busy, 0.0)


def rows(path):
    with open(path, encoding="utf-8") as handle:
        report = json.load(handle)
    for m in report.get("measurements", []):
        b = m.get("breakdown") or {}
        kernels = sorted((b.get("kernel_s") or {}).items(), key=lambda kv: -kv[1])
        yield [
            path.rsplit("/", 1)[-1].removesuffix(".json"),
            m["scheme"],
            m["operation"],
            m["device"],
            str(m["batch"]),
            f"{m['per_second']:,.0f}",
            milliseconds(b.get("host_visible_s")),
            milliseconds(b.get("waiting_s")),
            milliseconds(b.get("device_busy_s")),
            milliseconds(idle(b)),
            milliseconds(b.get("outside_gpu_calls_s")),
            ", ".join(f"{name} {1e3 * s:.1f}" for name, s in kernels[:KERNELS_SHOWN]),
        ]


def calibration(path):
    """The warm-up's calibration of one file, in a line (None where it did not run)."""
    with open(path, encoding="utf-8") as handle:
        gpu = json.load(handle).get("gpu") or {}
    c = gpu.get("calibration")
    if not c:
        return None
    name = path.rsplit("/", 1)[-1].removesuffix(".json")
    return (f"{name}: {gpu.get('adapter', '?')}; {c['bits']}-bit products fill it at "
            f"{c['saturating_items']:,} by the host's time, "
            f"{c.get('device_saturating_items') or '-'} by the device's; "
            f"chunks of {c['chunk_items']:,}"
            + (" (by the device's time)" if c.get("chunks_sized_by") == "device_time" else ""))


def main(paths):
    if not paths:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    header = ["file", "scheme", "operation", "device", "batch", "/s", "visible ms",
              "waiting ms", "kernels ms", "idle ms", "outside ms", "top kernels (ms)"]
    table = [header]
    failed = 0
    for path in paths:
        try:
            table.extend(rows(path))
        except (OSError, ValueError, KeyError) as error:
            print(f"bench_summary: {path}: {error}", file=sys.stderr)
            failed += 1
    widths = [max(len(row[i]) for row in table) for i in range(len(header) - 1)]
    for row in table:
        cells = [cell.rjust(width) if i >= 4 else cell.ljust(width)
                 for i, (cell, width) in enumerate(zip(row, widths))]
        print("  ".join(cells + [row[-1]]))
    for path in paths:
        try:
            line = calibration(path)
        except (OSError, ValueError, KeyError):
            line = None  # already reported above
        if line:
            print(line)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
