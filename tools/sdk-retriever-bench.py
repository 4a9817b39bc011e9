#!/usr/bin/env python3
"""The XTrace SDK's Retriever over RECORDS records on one core: once on the SDK's own context,
once on paillier_gpu's (`ctx.sdk()`), with the same keys, ciphertexts and query, side by side.

The search is the SDK's `Retriever.nn_search_for_ids`: encrypt the query, aggregate (here, in
this process, on paillier_gpu's CPU index for both sides, so that only the owner's half
differs), decode every response, keep the k nearest. Prints one JSON object.

    target/python-venv/bin/python tools/sdk-retriever-bench.py --records 4096
"""

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time

# One core for both engines, before either starts a thread.
os.environ["RAYON_NUM_THREADS"] = "1"
os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})

import numpy as np  # noqa: E402
from xtrace_sdk.x_vec.retrievers.retriever import Retriever  # noqa: E402
from xtrace_sdk.x_vec.utils.execution_context import ExecutionContext as SdkContext  # noqa: E402

import paillier_gpu as pg  # noqa: E402


class InProcessService:
    """compute_hamming as the service answers it, over an EncryptedIndex in this process."""

    def __init__(self, public_json, records):
        self.public = pg.PublicContext.from_json(public_json)
        self.index = pg.EncryptedIndex(self.public)
        self.index.insert(records)

    async def compute_hamming_distances(self, query, context_id, kb_id="", meta_filter=None, range=None):
        responses = self.index.aggregate(pg.Ciphertexts.from_b64(self.public, [int(p) for p in query]))
        return [(i + 1, pieces) for i, pieces in enumerate(responses.to_ints())]


def timed_search(context, service, query, k):
    started = time.perf_counter()
    ids = asyncio.run(Retriever(context, service).nn_search_for_ids(query, k=k, kb_id="kb"))
    return time.perf_counter() - started, ids


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=4096)
    parser.add_argument("--key-len", type=int, default=1024)
    parser.add_argument("--embed-len", type=int, default=512)
    parser.add_argument("--scheme", default="paillier", choices=["paillier", "paillier_lookup"])
    parser.add_argument("--repeat", type=int, default=3, help="searches on our context (median)")
    parser.add_argument("--sdk-repeat", type=int, default=1, help="searches on the SDK's context")
    args = parser.parse_args()

    sdk = SdkContext.create(passphrase="bench", homomorphic_client_type=args.scheme,
                            embedding_length=args.embed_len, key_len=args.key_len)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "ctx.json")
        sdk.save_to_disk(path)
        ours = pg.ExecutionContext.load_from_disk("bench", path)
    assert ours.hash() == sdk.id

    rng = np.random.default_rng(49)
    vectors = rng.normal(size=(args.records, args.embed_len))
    bits = (vectors > 0).astype(np.uint8)
    service = InProcessService(json.dumps(sdk.to_dict_enc()), ours.encrypt_vec_batch(bits))
    query = vectors[args.records // 2].tolist()

    sdk_times, our_times = [], []
    for _ in range(args.sdk_repeat):
        took, sdk_ids = timed_search(sdk, service, query, 10)
        sdk_times.append(took)
    for _ in range(args.repeat):
        took, our_ids = timed_search(ours.sdk(), service, query, 10)
        our_times.append(took)
    assert our_ids == sdk_ids, (our_ids, sdk_ids)
    assert our_ids[0] == args.records // 2 + 1

    sdk_s, our_s = statistics.median(sdk_times), statistics.median(our_times)
    print(json.dumps({
        "records": args.records,
        "scheme": args.scheme,
        "key_len": args.key_len,
        "embed_len": args.embed_len,
        "cores": 1,
        "sdk_search_s": round(sdk_s, 3),
        "paillier_gpu_search_s": round(our_s, 3),
        "speedup": round(sdk_s / our_s, 1),
        "sdk_searches": len(sdk_times),
        "paillier_gpu_searches": len(our_times),
    }, indent=2))


if __name__ == "__main__":
    main()
