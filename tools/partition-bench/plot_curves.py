#!/usr/bin/env python3
"""Recall@10 against the share of records probed: our partitions (ours_curve.py's --json)
beside FAISS's IndexBinaryIVF (faiss_curve.py's --json), one colour per data set, as in
BENCHMARKS.md's plot.

    python plot_curves.py --out curve.png  NAME OURS.json FAISS.json  [NAME OURS.json FAISS.json ...]
"""

import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from report import save_recall_plot  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("sets", nargs="+", help="NAME OURS.json FAISS.json, repeated")
    args = ap.parse_args()
    if len(args.sets) % 3:
        ap.error("give each data set as NAME OURS.json FAISS.json")
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for i in range(0, len(args.sets), 3):
        name, ours, faiss = args.sets[i], json.loads(Path(args.sets[i + 1]).read_text()), \
            json.loads(Path(args.sets[i + 2]).read_text())
        colour = f"C{i // 3}"
        rows = ours["rows"]
        ax.plot([100 * r["share"] for r in rows], [r["recall"] for r in rows], marker="o", ms=3,
                color=colour, label=f"{name}: ours ({ours['partitions']} partitions, "
                                    f"balance {ours['balance']})")
        default = next(r for r in rows if r["probe"] == ours["default_probe"])
        ax.plot([100 * default["share"]], [default["recall"]], marker="*", ms=10, color=colour,
                ls="none", label=f"{name}: ours at the default probe ({ours['default_probe']})")
        curve = faiss["faiss_ivf"]["curve"]
        ax.plot([100 * c["share_probed"] for c in curve], [c["recall"] for c in curve],
                marker="x", ms=4, ls="--", color=colour,
                label=f"{name}: FAISS IndexBinaryIVF ({faiss['faiss_ivf']['nlist']} lists)")
    save_recall_plot(fig, ax, args.out, legend_size=7)


if __name__ == "__main__":
    main()
