#!/usr/bin/env python3
"""Where the default probe lands: for each held-out size and seed, the owner's recall estimate
at the default probe (and its standard error) against recall@10 measured over new queries (the
queries of data.py, not records of the corpus), at the default probe and one either side.

    python landing.py FOLDER [--held-out 2000,10000] [--seeds 0,1,2,3,4]

FOLDER holds corpus.npy and queries.npy (data.py makes them). Each query's exhaustive top 10 is
computed once and kept in FOLDER/within.json (the records at most its 10th distance away); a
probe's hits are then min(10, those records in its P nearest partitions), as ours_curve.py
scores. One JSON line per model. Needs the paillier_gpu package (tools/test-all's environment
has it).
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import paillier_gpu

TOP_K = 10


def exhaustive_within(corpus, queries, cache):
    """Per query, the corpus records at most its exhaustive 10th distance away."""
    if cache.exists():
        return json.loads(cache.read_text())
    words = np.packbits(corpus, axis=1).view(np.uint64)
    within = []
    for query in queries:
        d = np.bitwise_count(np.bitwise_xor(words, np.packbits(query).view(np.uint64))).sum(axis=1)
        kth = np.partition(d, TOP_K - 1)[TOP_K - 1]
        within.append(np.nonzero(d <= kth)[0].tolist())
    cache.write_text(json.dumps(within))
    return within


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("folder", type=Path)
    ap.add_argument("--held-out", default="2000,10000", help="held-out sizes, comma-separated")
    ap.add_argument("--seeds", default="0,1,2,3,4", help="training seeds, comma-separated")
    args = ap.parse_args()
    corpus = np.load(args.folder / "corpus.npy")
    queries = np.load(args.folder / "queries.npy")
    within = exhaustive_within(corpus, queries, args.folder / "within.json")
    k = paillier_gpu.auto_partitions(len(corpus))
    for held_out in (int(x) for x in args.held_out.split(",")):
        for seed in (int(x) for x in args.seeds.split(",")):
            started = time.perf_counter()
            model, assignment = paillier_gpu.PartitionModel.train(corpus, k, held_out=held_out, seed=seed)
            trained = time.perf_counter() - started
            assignment = np.asarray(assignment)
            default = model.default_probe
            probes = [p for p in (default - 1, default, default + 1) if 1 <= p <= k]
            hits = dict.fromkeys(probes, 0)
            for query, ids in zip(queries, within):
                rank = np.empty(k, dtype=np.int64)
                rank[np.asarray(model.nearest(query, k))] = np.arange(k)
                ranks = rank[assignment[ids]]
                for p in probes:
                    hits[p] += min(TOP_K, int((ranks < p).sum()))
            measured = {p: round(hits[p] / (TOP_K * len(queries)), 5) for p in probes}
            point = next(row for row in model.recall if row["probe"] == default)
            print(json.dumps({
                "held_out": held_out, "seed": seed, "partitions": k, "train_s": round(trained, 1),
                "default_probe": default, "estimate": point["recall"], "error": point["error"],
                "measured": measured, "landing": round(measured[default] - model.recall_target, 4),
            }), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
