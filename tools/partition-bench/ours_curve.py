#!/usr/bin/env python3
"""Our partitions' recall curve in plaintext, on the same bits and queries as faiss_curve.py:
the owner's training (paillier_gpu.PartitionModel, the library the CLI runs) with √N partitions,
then for each probe P the top 10 of the records in the query's P nearest partitions, scored as
faiss_curve.py scores FAISS (a hit: distance at most the exhaustive 10th). The encrypted search
returns exactly these records (run.py checks it on the queries it runs encrypted); this prints
the curve over every query, which a CPU cannot afford encrypted.

    python ours_curve.py FOLDER [--balance 1.5] [--json out.json]

FOLDER holds corpus.npy, queries.npy and exhaustive_distances.npy (data.py and faiss_curve.py
make them). Needs the paillier_gpu package (tools/test-all's environment has it).
"""

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np
import paillier_gpu

POPCOUNT = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint16)


def distances(packed_corpus, packed_query):
    return POPCOUNT[np.bitwise_xor(packed_corpus, packed_query)].sum(axis=1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("folder", type=Path)
    ap.add_argument("--balance", type=float, default=1.5)
    ap.add_argument("--partitions", type=int, default=0, help="default: round(√N)")
    ap.add_argument("--iterations", type=int, default=10, help="Lloyd iterations (the default)")
    ap.add_argument("--queries", type=int, default=0, help="the first N queries (default: all)")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    corpus = np.load(args.folder / "corpus.npy")
    queries = np.load(args.folder / "queries.npy")
    kth = np.load(args.folder / "exhaustive_distances.npy")[:, 9]
    if args.queries:
        queries, kth = queries[:args.queries], kth[:args.queries]
    n = len(corpus)
    k = args.partitions or paillier_gpu.auto_partitions(n)
    started = time.perf_counter()
    model, assignment = paillier_gpu.PartitionModel.train(corpus, k, balance=args.balance,
                                                              iterations=args.iterations)
    trained = time.perf_counter() - started
    assignment = np.asarray(assignment)
    sizes = np.bincount(assignment, minlength=k)
    packed = np.packbits(corpus, axis=1)
    probes = sorted({2 ** i for i in range(int(math.log2(k)) + 1)} | {k, model.default_probe})
    hits = {p: 0 for p in probes}
    probed = {p: 0 for p in probes}
    for q, query in enumerate(queries):
        d = distances(packed, np.packbits(query))
        order = model.nearest(query, k)
        rank = np.empty(k, dtype=np.int64)
        rank[np.asarray(order)] = np.arange(k)
        record_rank = rank[assignment]
        for p in probes:
            chosen = d[record_rank < p]
            top = np.sort(chosen)[:10]
            hits[p] += int((top <= kth[q]).sum())
            probed[p] += int(sizes[np.asarray(order[:p])].sum())
    rows = [{"probe": p, "share": probed[p] / (n * len(queries)),
             "recall": hits[p] / (10 * len(queries))} for p in probes]
    print(f"ours: {k} partitions of {n:,} records (balance {args.balance}: sizes "
          f"{sizes.min()}–{sizes.max()}, max/mean {sizes.max() / sizes.mean():.2f}), "
          f"trained in {trained:.1f} s; default probe {model.default_probe}; "
          f"{len(queries)} queries")
    print("| probe | share probed | recall@10 | owner's estimate |")
    print("|---:|---:|---:|---:|")
    estimate = {point["probe"]: point["recall"] for point in model.recall}
    for row in rows:
        est = estimate.get(row["probe"])
        print(f"| {row['probe']} | {100 * row['share']:.2f} % | {row['recall']:.3f} | "
              f"{'' if est is None else f'{est:.3f}'} |")
    if args.json:
        args.json.write_text(json.dumps({"partitions": k, "balance": args.balance,
                                         "default_probe": model.default_probe,
                                         "training_seconds": trained, "rows": rows,
                                         "max_over_mean": float(sizes.max() / sizes.mean())},
                                        indent=1) + "\n")


if __name__ == "__main__":
    main()
