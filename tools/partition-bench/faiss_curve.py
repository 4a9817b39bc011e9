#!/usr/bin/env python3
"""The anchor curve: FAISS's IndexBinaryIVF with √N lists on the same bits, recall@k against
the exhaustive Hamming top k, for nprobe = 1, 2, 4, … up to every list.

    python3 faiss_curve.py --data DIR [--k 10] [--nlist N] [--json OUT] [--threads 1]

DIR holds corpus.npy and queries.npy (2-D uint8 of 0 and 1; data.py makes them).

Recall@k of one query: the share of the k records returned whose Hamming distance is at most
the exhaustive k-th distance (so a tie at the k-th distance counts as a hit, whichever record
it is). Share probed: the sum of the probed lists' sizes over N, the records a search reads.
Both are averaged over the queries. Imbalance: the largest list's size over the mean.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402


def packed(path: Path) -> np.ndarray:
    """A .npy of 0/1 bytes, packed 8 bits a byte (FAISS's binary layout), a chunk at a time."""
    bits = np.load(path, mmap_mode="r")
    out = np.empty((bits.shape[0], (bits.shape[1] + 7) // 8), dtype=np.uint8)
    for start in range(0, bits.shape[0], 65536):
        out[start:start + 65536] = np.packbits(bits[start:start + 65536], axis=1)
    return out


def probes(nlist: int) -> list[int]:
    """1, 2, 4, … and finally nlist itself."""
    out, p = [], 1
    while p < nlist:
        out.append(p)
        p *= 2
    return out + [nlist]


def exhaustive(corpus: np.ndarray, queries: np.ndarray, k: int):
    """The exhaustive top k: (distances, ids), each row sorted by distance."""
    import faiss

    flat = faiss.IndexBinaryFlat(corpus.shape[1] * 8)
    flat.add(corpus)
    return flat.search(queries, k)


def recall_at_k(distances: np.ndarray, ids: np.ndarray, kth: np.ndarray, k: int) -> np.ndarray:
    """Per query: the share of k returned records whose distance is at most the exhaustive k-th
    (a missing result, id −1, is a miss)."""
    hits = ((ids >= 0) & (distances <= kth[:, None])).sum(axis=1)
    return np.minimum(hits, k) / k


def share_at(curve: list[dict], target: float) -> float | None:
    """The share probed at which the curve reaches recall `target`, interpolated linearly in
    log(share) between the two points around it; None if it never does."""
    prev = None
    for point in curve:
        if point["recall"] >= target:
            if prev is None or point["recall"] == prev["recall"]:
                return point["share_probed"]
            t = (target - prev["recall"]) / (point["recall"] - prev["recall"])
            a, b = math.log(prev["share_probed"]), math.log(point["share_probed"])
            return math.exp(a + t * (b - a))
        prev = point
    return None


def ivf_curve(corpus: np.ndarray, queries: np.ndarray, k: int, nlist: int,
              kth: np.ndarray, seed: int = 1234) -> dict:
    import faiss

    d = corpus.shape[1] * 8
    n = corpus.shape[0]
    started = time.perf_counter()
    quantizer = faiss.IndexBinaryFlat(d)
    index = faiss.IndexBinaryIVF(quantizer, d, nlist)
    index.cp.seed = seed
    index.train(corpus)
    trained = time.perf_counter()
    index.add(corpus)
    added = time.perf_counter()
    sizes = np.array([index.invlists.list_size(i) for i in range(nlist)], dtype=np.int64)
    curve = []
    for p in probes(nlist):
        index.nprobe = p
        t0 = time.perf_counter()
        dist, ids = index.search(queries, k)
        seconds = time.perf_counter() - t0
        _, lists = quantizer.search(queries, p)
        probed = sizes[lists].sum(axis=1) / n
        curve.append({
            "nprobe": p,
            "recall": float(recall_at_k(dist, ids, kth, k).mean()),
            "share_probed": float(probed.mean()),
            "records_probed": float(probed.mean() * n),
            "ms_per_query": 1000 * seconds / len(queries),
        })
    return {
        "nlist": nlist,
        "train_s": trained - started,
        "add_s": added - trained,
        "list_sizes": {
            "min": int(sizes.min()), "max": int(sizes.max()), "mean": float(sizes.mean()),
            "imbalance_max_over_mean": float(sizes.max() / sizes.mean()),
            "empty": int((sizes == 0).sum()),
        },
        "curve": curve,
        "share_at_recall_0.9": share_at(curve, 0.9),
    }


def run(data: Path, k: int = 10, nlist: int | None = None, queries_max: int | None = None) -> dict:
    corpus = packed(data / "corpus.npy")
    queries = packed(data / "queries.npy")
    if queries_max:
        queries = queries[:queries_max]
    n = corpus.shape[0]
    nlist = nlist or int(round(math.sqrt(n)))
    t0 = time.perf_counter()
    ex_dist, ex_ids = exhaustive(corpus, queries, k)
    ex_s = time.perf_counter() - t0
    kth = ex_dist[:, k - 1]
    result = {
        "data": str(data),
        "records": n,
        "queries": len(queries),
        "dim": corpus.shape[1] * 8,
        "k": k,
        "exhaustive_s": ex_s,
        "exhaustive_kth_distance": {
            "mean": float(kth.mean()), "median": float(np.median(kth)),
            "p10": float(np.percentile(kth, 10)), "p90": float(np.percentile(kth, 90)),
        },
        # How far a random pair is, for scale: near neighbours well below it make it learnable.
        "random_pair_distance_mean": float(
            np.unpackbits(corpus[:2000] ^ corpus[2000:4000], axis=1).sum(axis=1).mean())
        if n >= 4000 else None,
        "faiss_ivf": ivf_curve(corpus, queries, k, nlist, kth),
    }
    np.save(data / "exhaustive_ids.npy", ex_ids)
    np.save(data / "exhaustive_distances.npy", ex_dist)
    return result


def table(result: dict) -> str:
    ivf = result["faiss_ivf"]
    lines = [
        f"FAISS IndexBinaryIVF, nlist {ivf['nlist']}, {result['records']:,} records of "
        f"{result['dim']} bits, {result['queries']} queries, recall@{result['k']} "
        f"(exhaustive {result['k']}th distance: median {result['exhaustive_kth_distance']['median']:.0f}"
        + (f", random pair {result['random_pair_distance_mean']:.0f}" if result["random_pair_distance_mean"] else "")
        + ")",
        f"lists: {ivf['list_sizes']['min']}–{ivf['list_sizes']['max']} records, max/mean "
        f"{ivf['list_sizes']['imbalance_max_over_mean']:.2f}, {ivf['list_sizes']['empty']} empty; "
        f"training {ivf['train_s']:.1f} s, adding {ivf['add_s']:.1f} s",
        "",
        "| nprobe | share probed | records probed | recall@%d |" % result["k"],
        "|---:|---:|---:|---:|",
    ]
    for p in ivf["curve"]:
        lines.append(f"| {p['nprobe']} | {100 * p['share_probed']:.2f} % | "
                     f"{p['records_probed']:,.0f} | {p['recall']:.3f} |")
    s = ivf["share_at_recall_0.9"]
    lines.append("")
    lines.append("share probed for recall 0.9: " + (f"{100 * s:.1f} %" if s else "never"))
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--nlist", type=int, default=None, help="default: round(√N)")
    ap.add_argument("--queries", type=int, default=None, help="use only the first Q queries")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", type=Path, default=None, help="default: DIR/faiss.json")
    a = ap.parse_args(argv)
    import faiss

    faiss.omp_set_num_threads(a.threads)
    result = run(a.data, a.k, a.nlist, a.queries)
    out = a.json or a.data / "faiss.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
