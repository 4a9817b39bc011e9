"""Retrieval through `paillier_gpu.langchain.PaillierVectorStore` on real text, against the float
cosine top 10 and beside an unencrypted local store (FAISS), for docs/rag.md.

    python python/benchmarks/rag_retrieval.py --passages 10000 [--queries 200] [--partitions auto]
        [--rerank M] [--key-len 2048] [--program target/release/paillier-gpu]

The corpus is Princeton WordNet 3.0's glosses (Debian's `wordnet-base`), shuffled with a fixed
seed: the first `passages` are stored, the next `queries` ask. Texts are embedded by WordLlama's
256-dimension model (its weights ship in the `wordllama` wheel, loaded from there: nothing is
fetched). The store runs on a `serve` this script starts on 127.0.0.1 with a fresh data folder,
under a context of 512 bits and key_len 2048 (`--key-len`: its test runs 1024; recall does not
depend on it).

Prints one JSON object: the ingest time (add_texts, 8,192 passages a call, ids generated, each
passage's place in the corpus in its metadata), recall@10 of the
store's verified `similarity_search_by_vector` against the exact float cosine top 10, and the
median and mean milliseconds a query, for the store and for FAISS's exact inner-product index
over the same normalised floats (its search and the texts' lookup, as a retriever does).
"""

import argparse
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np
from langchain_core.embeddings import Embeddings

import paillier_gpu as pg
from paillier_gpu.client import Client
from paillier_gpu.langchain import PaillierVectorStore

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tools" / "partition-bench"))
from data import wordllama_model, wordnet_glosses  # noqa: E402


class Precomputed(Embeddings):
    """The embeddings already made, looked up by text."""

    def __init__(self, texts, vectors):
        self.by_text = {text: vector for text, vector in zip(texts, vectors)}

    def embed_documents(self, texts):
        return [self.by_text[text].tolist() for text in texts]

    def embed_query(self, text):
        return self.by_text[text].tolist()


def serve(program, data):
    """`serve` on a fresh data folder: its URL, organisation, admin key and process."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    init = subprocess.run([program, "server", "init", "--data-dir", data, "--org", "bench"],
                          capture_output=True, text=True, check=True)
    init = json.loads(init.stdout)
    process = subprocess.Popen([program, "serve", "--data-dir", data, "--listen", f"127.0.0.1:{port}",
                                "--device", "cpu"], stderr=subprocess.PIPE, text=True)
    assert "serving on" in process.stderr.readline()
    threading.Thread(target=process.stderr.read, daemon=True).start()
    return f"http://127.0.0.1:{port}", init["org_id"], init["admin_key"], process


def admin(url, org, key, method, path, body):
    request = urllib.request.Request(f"{url}/api/v1/{path}", method=method, data=json.dumps(body).encode())
    request.add_header("x-xtrace-key", key)
    request.add_header("x-xtrace-org-id", org)
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request) as answer:
        return json.loads(answer.read() or b"null")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--passages", type=int, default=10000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--partitions", default=None, help='"auto" or a number (default: none)')
    parser.add_argument("--rerank", type=int, default=None, help="the store's rerank (default: none)")
    parser.add_argument("--key-len", type=int, default=2048, help="the context's key_len (default: 2048)")
    parser.add_argument("--program", default=str(REPO / "target" / "release" / "paillier-gpu"))
    args = parser.parse_args()

    texts = wordnet_glosses()
    random.Random(7).shuffle(texts)
    corpus, asked = texts[:args.passages], texts[args.passages:args.passages + args.queries]
    model = wordllama_model(256)
    started = time.perf_counter()
    vectors = np.asarray(model.embed(corpus + asked, norm=True, batch_size=256), dtype=np.float32)
    embed_s = time.perf_counter() - started
    stored, queries = vectors[:len(corpus)], vectors[len(corpus):]

    data = tempfile.mkdtemp(prefix="rag-bench-")
    url, org, admin_key, process = serve(args.program, data)
    try:
        key = admin(url, org, admin_key, "POST", "keys", {"name": "owner", "description": ""})
        kb = admin(url, org, admin_key, "POST", "kbs", {"name": "rag", "description": ""})["id"]
        admin(url, org, admin_key, "PUT", f"keys/{key['apiKey']['hash']}/permissions/{kb}", {"permission": 7})
        client = Client(url, org, key["secretKey"], state_dir=Path(data) / "owner-state")
        ctx = pg.ExecutionContext.create("pw", embedding_length=512, key_len=args.key_len)
        client.push_context(ctx)
        partitions = args.partitions if args.partitions in (None, "auto") else int(args.partitions)
        store = PaillierVectorStore(Precomputed(corpus + asked, vectors), client=client, kb_id=kb,
                                    context=ctx, partitions=partitions, rerank=args.rerank)
        started = time.perf_counter()
        step = 8192
        for start in range(0, len(corpus), step):
            batch = corpus[start:start + step]
            store.add_texts(batch, [{"i": i} for i in range(start, start + len(batch))])
        ingest_s = time.perf_counter() - started

        import faiss

        flat = faiss.IndexFlatIP(stored.shape[1])
        flat.add(stored)
        recalls, ours_ms, faiss_ms = [], [], []
        for q, text in zip(queries, asked):
            truth = set(np.argsort(-(stored @ q), kind="stable")[:10].tolist())
            start = time.perf_counter()
            found = store.similarity_search_by_vector(q.tolist(), k=10)
            ours_ms.append((time.perf_counter() - start) * 1000)
            recalls.append(len(truth & {doc.metadata["i"] for doc in found}) / 10)
            start = time.perf_counter()
            _, ids = flat.search(q[None, :], 10)
            _ = [corpus[i] for i in ids[0] if i >= 0]
            faiss_ms.append((time.perf_counter() - start) * 1000)
    finally:
        process.terminate()
        process.wait(timeout=60)
    print(json.dumps({
        "passages": len(corpus),
        "queries": len(asked),
        "partitions": args.partitions,
        "rerank": args.rerank,
        "bits": 512,
        "embed_s": round(embed_s, 2),
        "ingest_s": round(ingest_s, 2),
        "recall_at_10_vs_float_cosine": round(statistics.mean(recalls), 3),
        "store_ms_median": round(statistics.median(ours_ms), 2),
        "store_ms_mean": round(statistics.mean(ours_ms), 2),
        "faiss_flat_ms_median": round(statistics.median(faiss_ms), 3),
        "cpus": os.cpu_count(),
    }))


if __name__ == "__main__":
    main()
