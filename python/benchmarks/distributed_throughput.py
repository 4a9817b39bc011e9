"""Distributed encryption's throughput on a local Ray cluster with 1 and 2 workers.

    python python/benchmarks/distributed_throughput.py [--files 4] [--rows 500]

Writes `files` .npy files of `rows` random 512-dimension vectors, then times
`paillier_gpu.distributed.encrypt_folder` (key_len 1024, paillier, CPU) into a fresh folder for
each configuration: 1 worker on 1 core, 2 workers on 1 core each, 1 worker on 2 cores. The
time is the whole run after the cluster is up: actors starting, loading the public key,
reading, encrypting and writing.
"""

import argparse
import tempfile
from pathlib import Path

import numpy as np
import ray

import paillier_gpu as pg
from paillier_gpu import distributed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=4)
    parser.add_argument("--rows", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        ctx_path = folder / "ctx.json"
        pg.ExecutionContext.create("bench", embedding_length=512, key_len=1024, path=str(ctx_path))
        vectors = folder / "vectors"
        vectors.mkdir()
        rng = np.random.default_rng(2)
        for i in range(args.files):
            np.save(vectors / f"part{i:03}.npy", rng.integers(0, 2, (args.rows, 512), dtype=np.uint8))
        ray.init(num_cpus=2, log_to_driver=False, include_dashboard=False)
        print(f"{args.files} files × {args.rows} vectors, key_len 1024, embed_len 512")
        for workers, cpus in [(1, 1), (2, 1), (1, 2)]:
            out = folder / f"out-{workers}-{cpus}"
            report = distributed.encrypt_folder(
                ctx_path, vectors, out, workers=workers, cpus_per_worker=cpus, progress=False
            )
            print(
                f"{workers} worker(s) × {cpus} core(s): {report.vectors} vectors in "
                f"{report.seconds:.2f} s = {report.vectors_per_second:,.0f} vectors/s"
            )
        ray.shutdown()


if __name__ == "__main__":
    main()
