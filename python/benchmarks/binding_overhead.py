"""What the Python binding costs: the same four operations, the same batch and parameters,
timed through Python and through the Rust CLI's `bench` (library calls with no binding).

    python python/benchmarks/binding_overhead.py [--batch 1000] [--repeat 5] [--cli target/release/paillier-gpu]

Both sides: key_len 1024, embed_len 512, scheme paillier, the CPU backend on every core, one
untimed warm-up run, then the median of `repeat` timed runs. The keys differ (each side makes
its own throwaway pair), which does not change the work.
"""

import argparse
import json
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

import paillier_gpu as pg

REPO = Path(__file__).resolve().parents[2]


def timed(repeat, call):
    call()  # warm-up, as `bench` does
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs)


def python_rates(batch, repeat):
    ctx = pg.ExecutionContext.create(
        "bench", embedding_length=512, key_len=1024, device="cpu"
    )
    vectors = np.random.default_rng(1).integers(0, 2, (batch, 512), dtype=np.uint8)
    public = ctx.public_context()
    database = ctx.encrypt_vec_batch(vectors)
    query = ctx.encrypt_vec_one(vectors[0])
    index = pg.EncryptedIndex(public)
    index.insert(database)
    responses = index.aggregate(query)
    return {
        "encrypt_owner": batch / timed(repeat, lambda: ctx.encrypt_vec_batch(vectors)),
        "encrypt_public": batch / timed(repeat, lambda: public.encrypt_vec_batch(vectors)),
        "aggregate": batch / timed(repeat, lambda: index.aggregate(query)),
        "decode": batch / timed(repeat, lambda: ctx.decode_hamming_client_batch(responses)),
    }


def rust_rates(cli, batch, repeat):
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "bench.json"
        subprocess.run(
            [str(cli), "bench", "--device", "cpu", "--batch", str(batch), "--repeat", str(repeat),
             "--key-len", "1024", "--embed-len", "512", "--json", str(out)],
            check=True, capture_output=True,
        )
        report = json.loads(out.read_text())
    return {m["operation"]: m["per_second"] for m in report["measurements"]}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--cli", default=str(REPO / "target" / "release" / "paillier-gpu"))
    args = parser.parse_args()
    rust = rust_rates(args.cli, args.batch, args.repeat)
    python = python_rates(args.batch, args.repeat)
    print(f"batch {args.batch}, median of {args.repeat}; rates per second")
    print(f"{'operation':<16}{'Rust (bench)':>14}{'Python':>14}{'Python/Rust':>13}")
    for op in ["encrypt_owner", "encrypt_public", "aggregate", "decode"]:
        print(f"{op:<16}{rust[op]:>14,.1f}{python[op]:>14,.1f}{python[op] / rust[op]:>13.3f}")


if __name__ == "__main__":
    main()
