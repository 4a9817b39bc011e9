"""The benchmark's `report` step: report.md's tables from results.json, and the recall plot
(curve.png with matplotlib, curve.svg drawn by hand without it), and the summary of the `cli`
step's searches they are made from."""

from __future__ import annotations

import json
import math
import statistics
import time
from pathlib import Path

import numpy as np


def summarise(runs: dict, order: list, folder: Path, records: int, record_bytes: int,
              truth_kind: str = "encrypted") -> list[dict]:
    """Per probe: recall@10 against `all`'s top 10 (a hit: distance at most `all`'s 10th; with
    truth_kind plaintext, the plaintext exhaustive 10th), records decoded, answer bytes and
    time per query."""
    truth = runs["all"]["lines"] if "all" in runs else []
    # The plaintext exhaustive top 10 of the same queries (faiss_curve.py wrote them): the
    # encrypted `all` must give the same distances.
    plain = folder / "exhaustive_distances.npy"
    matches, d = None, None
    if plain.exists():
        d = np.load(plain)
        matches = sum(sorted(h["distance"] for h in line["results"]) == sorted(d[i].tolist())
                      for i, line in enumerate(truth))
    if truth_kind == "plaintext":
        if d is None:
            raise SystemExit(f"--truth plaintext needs {plain}: run the faiss step first")
        kth = d[:, 9].tolist()
    else:
        kth = [max((h["distance"] for h in line["results"]), default=0)
               if len(line["results"]) >= 10 else math.inf for line in truth]
    rows = []
    for probe in order:
        run = runs[probe]
        lines, q = run["lines"], len(run["lines"])
        if len(kth) < q:
            raise RuntimeError(f"probe {probe}: {q} answers, a truth for {len(kth)} queries")
        recall = []
        for line, t in zip(lines, kth):
            hits = sum(1 for h in line["results"] if h["distance"] <= t)
            recall.append(min(hits, 10) / 10)
        # Per query: the CLI's own figures where it prints them (a "stats" object per line),
        # else the server's counter of records multiplied by a query, and gaps between lines.
        # `--stats` puts them at the top of each line ("records", "answer_bytes", "partitions");
        # a "stats" object, or "records_decoded" and "elapsed_ms", are read too.
        stats = [line.get("stats") or {k: v for k, v in line.items() if k not in ("query", "results")}
                 for line in lines]
        decoded = [s.get("records_decoded", s.get("records")) for s in stats]
        if all(v is not None for v in decoded):
            decoded_source = "cli"
        else:
            per = run["metrics_delta"].get("paillier_gpu_records_aggregated_total", float("nan")) / q
            decoded, decoded_source = [per] * q, "server metrics (records aggregated / queries)"
        answer = [s.get("answer_bytes") for s in stats]
        if all(v is not None for v in answer):
            answer_source = "cli"
        else:
            answer = [r * record_bytes for r in decoded]
            answer_source = "estimate: records × chunks_per_vector × 4·key_len/8"
        elapsed = [s.get("elapsed_ms") for s in stats]
        if all(v is not None for v in elapsed):
            times, time_source = [e / 1000 for e in elapsed], "cli"
        else:
            arr = run["arrivals"]
            times = [b - a for a, b in zip(arr, arr[1:])] or [arr[0]]
            time_source = ("gaps between answer lines (the first, with start-up, left out)"
                           if len(arr) > 1 else "the process's start to its one answer")
        probed = [s.get("partitions") for s in stats]
        probed = statistics.fmean(probed) if all(isinstance(v, (int, float)) for v in probed) else None
        server_s = run["metrics_delta"].get("paillier_gpu_request_seconds_sum")
        rows.append({
            "probe": probe,
            "recall": statistics.fmean(recall),
            "partitions_probed": probed,
            "records_decoded": statistics.fmean(decoded),
            "share_decoded": statistics.fmean(decoded) / records,
            "answer_bytes": statistics.fmean(answer),
            "query_s_median": statistics.median(times),
            "query_s_mean": statistics.fmean(times),
            "server_s_per_query": server_s / q if server_s is not None else None,
            "wall_s": run["wall_s"],
            "first_line_s": run["arrivals"][0],
            "sources": {"records_decoded": decoded_source, "answer_bytes": answer_source,
                        "time": time_source},
            "command": run["command"],
            "queries": q,
            "all_matches_plaintext": matches if probe == "all" else None,
            "stats_sample": stats[0] or None,
        })
    return rows


def human_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1024
    return str(n)


def report(work: Path, results: dict) -> str:
    out = ["# Partition benchmark", ""]
    out.append(f"Made by tools/partition-bench/run.py on {time.strftime('%Y-%m-%d %H:%M')}; "
               f"every figure below comes from this run (results.json holds them all).")
    for name, r in results.items():
        meta, fa, cl = r["meta"], r.get("faiss"), r.get("cli")
        out += ["", f"## {name}: {meta['records']:,} records of {meta['dim']} bits", ""]
        if meta["kind"] == "synthetic":
            out.append(f"Synthetic: {json.dumps(meta['params'])}.")
        else:
            out.append(f"WordNet 3.0 glosses embedded with {meta['model']}.")
        if fa:
            ivf = fa["faiss_ivf"]
            s = ivf["share_at_recall_0.9"]
            out += ["", f"FAISS IndexBinaryIVF, nlist {ivf['nlist']} (list sizes "
                    f"{ivf['list_sizes']['min']}–{ivf['list_sizes']['max']}, max/mean "
                    f"{ivf['list_sizes']['imbalance_max_over_mean']:.2f}), {fa['queries']} queries; "
                    + (f"recall 0.9 at {100 * s:.1f} % probed." if s else "recall 0.9 never reached."),
                    "",
                    "| nprobe | share probed | recall@10 |", "|---:|---:|---:|"]
            out += [f"| {p['nprobe']} | {100 * p['share_probed']:.2f} % | {p['recall']:.3f} |"
                    for p in ivf["curve"]]
        if cl:
            up = cl["upload"]
            mem = cl["server_after_first_search"]
            out += ["", f"Encrypted, through `serve` (SQLite, --device {cl['device']}), key_len "
                    f"{cl['key_len']}, {cl['queries']} verified queries, mode `{cl['mode']}`:",
                    "",
                    "- upload (verifiable, private metadata"
                    + (f", partitions {cl['upload']['command'][-1]}" if cl["mode"] == "partitions" else "")
                    + f"): {up['wall_s']:.1f} s wall, {up['records_per_s']:,.0f} records/s; "
                    f"the CLI printed {json.dumps(up['stdout'])}",
                    f"- server RSS after the first search: {mem.get('VmRSS', 0) / 1024:,.0f} MiB "
                    f"(peak {mem.get('VmHWM', 0) / 1024:,.0f} MiB; resident index "
                    f"{human_bytes(mem.get('paillier_gpu_resident_host_bytes', 0))})",
                    ""]
            shown = owner_view(cl.get("partitions_show"))
            training = cl["upload"].get("training") or {}
            if training:
                out.insert(-1, f"- training (the upload's note): {training['partitions']} partitions "
                           f"over {training['trained_over']:,} records in {training['train_s']:.1f} s")
            if shown.get("sizes"):
                z = shown["sizes"]
                out.insert(-1, f"- `remote partitions show`: {len(z)} partitions of {min(z):,}–{max(z):,} "
                           f"records (largest over mean {max(z) * len(z) / sum(z):.2f}); "
                           f"default probe {shown.get('recommended_probe')}")
            elif "partitions_show" in cl:
                out.insert(-1, f"- `remote partitions show`: `{json.dumps(cl['partitions_show'])[:500]}`")
            estimate = shown.get("recall", {})
            out += ["| probe | recall@10 | owner's estimate | partitions probed | records decoded / query "
                    "| share | answer / query | verified query (median) | server per query |",
                    "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
            for s in sorted(cl["searches"], key=probe_order):
                srv = s["server_s_per_query"]
                label = s["probe"] + (" (default)" if s["probe"] == str(cl.get("recommended_probe")) else "")
                est = estimate.get(s["probe"])
                pp = s.get("partitions_probed")
                out.append(f"| {label} | {s['recall']:.3f} | "
                           + (f"{est:.3f}" if est is not None else "–") + " | "
                           + (f"{pp:,.1f}" if pp is not None else "–") + " | "
                           f"{s['records_decoded']:,.0f} | "
                           f"{100 * s['share_decoded']:.2f} % | {human_bytes(s['answer_bytes'])} | "
                           f"{1000 * s['query_s_median']:,.0f} ms | "
                           + (f"{1000 * srv:,.0f} ms |" if srv is not None else "– |"))
            whole = next((s for s in cl["searches"] if s["probe"] == "all"), None)
            others = [s for s in cl["searches"] if s["probe"] != "all"]
            src = (others[0] if others else whole)["sources"]
            match = whole["all_matches_plaintext"] if whole else None
            ran = f"`all` ran on {whole['queries']} queries" if whole else "`all` not run"
            out += ["", (f"Recall against the plaintext exhaustive top 10 (`--truth plaintext`; {ran})."
                         if cl.get("truth") == "plaintext" else
                         "Recall against `--probe all`'s top 10, query by query."),
                    "", f"Sources: records decoded from {src['records_decoded']}; answer bytes "
                    f"from {src['answer_bytes']}; time from {src['time']}."
                    + (f" `all` gave the plaintext exhaustive distances for {match} of "
                       f"{whole['queries']} queries." if match is not None else "")]
    plot = plot_curves(work, results)
    if plot:
        out += ["", f"![recall@10 against the share of records probed]({plot.name})"]
    return "\n".join(out) + "\n"


def owner_view(shown) -> dict:
    """`remote partitions show`'s sizes, default probe and recall estimate ({probe: recall},
    `all` for the last row covering every partition)."""
    if not shown or not isinstance(shown, list) or not isinstance(shown[0], dict):
        return {}
    s = shown[0]
    out = {"sizes": s.get("sizes") if isinstance(s.get("sizes"), list) else None,
           "recommended_probe": s.get("recommended_probe"), "recall": {}}
    for row in s.get("recall") or []:
        if isinstance(row, dict) and "probe" in row and "recall" in row:
            out["recall"][str(row["probe"])] = row["recall"]
            if out["sizes"] and row["probe"] == len(out["sizes"]):
                out["recall"]["all"] = row["recall"]
    return out


def probe_order(row: dict):
    """1, 2, 4, … then all."""
    return (1, 0) if row["probe"] == "all" else (0, int(row["probe"]))


def plot_curves(work: Path, results: dict) -> Path | None:
    series = []  # (label, x, y, dataset number)
    for i, (name, r) in enumerate(results.items()):
        if r.get("faiss"):
            c = r["faiss"]["faiss_ivf"]["curve"]
            series.append((f"{name} FAISS IVF", [p["share_probed"] for p in c],
                           [p["recall"] for p in c], i))
        if r.get("cli") and r["cli"]["mode"] == "partitions":
            c = sorted(r["cli"]["searches"], key=lambda s: s["share_decoded"])
            series.append((f"{name} encrypted partitions", [s["share_decoded"] for s in c],
                           [s["recall"] for s in c], i))
            shown = r["cli"].get("partitions_show")
            rows = [row for row in (shown[0].get("recall") or []) if "share" in row] \
                if shown and isinstance(shown, list) and isinstance(shown[0], dict) else []
            if rows:
                series.append((f"{name} owner's estimate", [row["share"] for row in rows],
                               [row["recall"] for row in rows], i))
    if not series:
        return None
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return svg_plot(work / "curve.svg", series)
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for label, x, y, i in series:
        ax.plot([100 * v for v in x], y, marker="o", ms=3, color=f"C{i}",
                ls="--" if "FAISS" in label else ":" if "estimate" in label else "-",
                label=label)
    path = work / "curve.png"
    save_recall_plot(fig, ax, path, legend_size=8)
    plt.close(fig)
    return path


def save_recall_plot(fig, ax, path: Path, legend_size: int) -> None:
    """The recall plot's axes (records probed on a log scale, recall@10, a line at 0.9), legend
    and file, for the curves already drawn on `ax`."""
    from matplotlib.ticker import FuncFormatter

    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g} %"))
    ax.set_xlabel("records probed (% of the knowledge base)")
    ax.set_ylabel("recall@10")
    ax.axhline(0.9, color="grey", lw=0.5)
    ax.grid(True, which="both", lw=0.3)
    ax.legend(fontsize=legend_size)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def svg_plot(path: Path, series) -> Path:
    """The same plot by hand, for a machine without matplotlib."""
    w, h, m = 640, 400, 50
    xs = [v for _, x, _, _ in series for v in x if v > 0]
    lo, hi = math.log10(min(xs)), math.log10(max(xs))
    sx = lambda v: m + (math.log10(max(v, 1e-9)) - lo) / max(hi - lo, 1e-9) * (w - 2 * m)  # noqa
    sy = lambda r: h - m - r * (h - 2 * m)  # noqa
    colours = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"]
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
             f'font-family="sans-serif" font-size="11">',
             f'<rect width="{w}" height="{h}" fill="white"/>',
             f'<line x1="{m}" y1="{h - m}" x2="{w - m}" y2="{h - m}" stroke="black"/>',
             f'<line x1="{m}" y1="{m}" x2="{m}" y2="{h - m}" stroke="black"/>',
             f'<text x="{w / 2}" y="{h - 12}" text-anchor="middle">records probed (log scale)</text>']
    for r in (0, 0.5, 0.9, 1.0):
        parts.append(f'<text x="{m - 5}" y="{sy(r) + 4}" text-anchor="end">{r}</text>')
    for i, (label, x, y, n) in enumerate(series):
        c = colours[n % len(colours)]
        dash = (' stroke-dasharray="5,3"' if "FAISS" in label
                else ' stroke-dasharray="1,3"' if "estimate" in label else "")
        pts = " ".join(f"{sx(a):.1f},{sy(b):.1f}" for a, b in zip(x, y))
        parts.append(f'<polyline points="{pts}" fill="none" stroke="{c}"{dash}/>')
        parts.append(f'<text x="{m + 10}" y="{m + 14 * i}" fill="{c}">{label}</text>')
    parts.append("</svg>")
    path.write_text("\n".join(parts) + "\n")
    return path
