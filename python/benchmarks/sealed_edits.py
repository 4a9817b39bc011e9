"""What an edit of sealed vectors costs: a delete and an update of one record by id, each of which
reads every page of the record's partition (every page without partitions), checks them against
the owner's digest, and seals the record's page again whole with its other records.

    python python/benchmarks/sealed_edits.py [--records 100000] [--program target/release/paillier-gpu]
        [--key-len 2048]

For a knowledge base without partitions and one with `partitions="auto"`: `records` verifiable
sealed vectors of 512 bits (random projections of Gaussian vectors) with private metadata,
uploaded through the Python client to a `serve` this script starts on 127.0.0.1, under a context
of key_len 2048; then three deletes of one record and one update, each timed whole (its reads,
its write and the owner's work). Prints one JSON line per knowledge base.
"""

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import paillier_gpu as pg
from paillier_gpu.client import Client

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "python" / "examples"))
from rag_langchain import local_service  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--program", default=str(REPO / "target" / "release" / "paillier-gpu"))
    parser.add_argument("--key-len", type=int, default=2048, help="the context's (below 2048: insecure, for a test)")
    args = parser.parse_args()
    rng = np.random.default_rng(3)
    vectors = (rng.standard_normal((args.records, 64)) @ rng.standard_normal((64, 512)) > 0).astype(np.uint8)
    documents = [{"content": f"doc {i}", "meta_data": {"tag1": f"t{i % 10}"}} for i in range(args.records)]
    mine = {"verifiable": True, "private_meta": True}
    for partitions in (None, "auto"):
        url, org, key, kb, process = local_service(args.program, tempfile.mkdtemp(prefix="sealed-edits-"))
        try:
            client = Client(url, org, key, state_dir=tempfile.mkdtemp(prefix="sealed-edits-owner-"))
            ctx = pg.ExecutionContext.create("pw", embedding_length=512, key_len=args.key_len,
                                             insecure=args.key_len < 2048)
            client.push_context(ctx)
            start = time.perf_counter()
            ids = client.upload(kb, ctx, vectors, documents, sealed_vectors=True, partitions=partitions, **mine)
            upload_s = time.perf_counter() - start
            deletes = []
            for victim in (args.records // 10, args.records // 2, args.records - 1):
                start = time.perf_counter()
                client.delete(kb, ctx, [ids[victim][0]], **mine)
                deletes.append(round((time.perf_counter() - start) * 1000, 1))
            start = time.perf_counter()
            client.update(kb, ctx, [ids[1][0]], vectors[2:3], [{"content": "new"}], **mine)
            update_ms = round((time.perf_counter() - start) * 1000, 1)
        finally:
            process.terminate()
            process.wait(timeout=60)
        print(json.dumps({"records": args.records, "partitions": partitions, "upload_s": round(upload_s, 1),
                          "delete_one_ms": deletes, "update_one_ms": update_ms}))


if __name__ == "__main__":
    main()
