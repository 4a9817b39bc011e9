#!/usr/bin/env python3
"""Data sets for the partition benchmark: binary vectors as `.npy` (2-D uint8 of 0 and 1, one
row per record), which is what `paillier-gpu remote upload --vectors` and `remote search
--query` read.

Two kinds:

  synthetic  the signs of random Gaussian projections of a mixture of anisotropic Gaussians in
             a latent space (see `SyntheticParams`): seeded, streamed to disk chunk by chunk, so
             1,000,000 records of 512 bits take about 1.5 GB of memory at most and a few
             seconds per 100,000 records on one core. The corpus of N records is the first N
             records of any larger one made with the same parameters and seed.
  wordnet    real text: the glosses (definitions and examples) of Princeton WordNet 3.0, as
             Debian's package `wordnet-base` ships them in /usr/share/wordnet, embedded with
             WordLlama's 256-dimension model (the weights ship inside the `wordllama` wheel)
             and binarised by sign, as WordLlama's own binary mode does.

Queries are held-out vectors of the same generator (synthetic) or held-out glosses (wordnet),
never records of the corpus.

    python3 data.py synthetic --records 100000 --queries 1000 --out DIR
    python3 data.py wordnet --queries 1000 --out DIR            # every gloss left as the corpus

Writes DIR/corpus.npy, DIR/queries.npy and DIR/meta.json (what was made, with which
parameters). DIR/texts.jsonl (wordnet only) holds each record's text, in corpus order, as the
documents file `remote upload --documents` reads.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from pathlib import Path

# One thread for BLAS: the machines this runs on are shared with builds.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

CHUNK = 65536  # records per generated chunk (fixed: the seeds are per chunk)

# Roles of the random streams, so that changing one thing changes nothing else.
_ROLE_MODEL, _ROLE_CORPUS, _ROLE_QUERIES = 1, 2, 3


@dataclasses.dataclass(frozen=True)
class SyntheticParams:
    """A hierarchical mixture of Gaussians in `latent_dim` dimensions, seen through the signs
    of `dim` random Gaussian projections (SimHash: the Hamming distance of two records is about
    dim × the angle between their latent points / π).

    The mixture's components are the leaves of a tree of `levels` levels, each node with
    `branching` children: topics, subtopics, sub-subtopics… A node's centre is its parent's
    plus an offset ~ N(0, ratio^(2·level) I), level 0 being the top, and a record is its leaf's
    centre plus noise ~ N(0, (noise · ratio^levels)² I). Structure at every scale, as real
    embeddings have, is what keeps the benchmark honest as N grows: with one flat layer of
    components, 10 times the records put the 10 nearest neighbours inside one component and
    IVF lists around it, and the 1,000,000-record set became ten times easier than the
    100,000 one (real text embeddings get about 2.8 times easier per decade of N, which this
    model follows).

    weight_skew  each node's children are chosen with Dirichlet(1/weight_skew) weights: uneven
                 topics, as in real corpora (0: even).
    anisotropy   the latent axes are scaled by (j+1)^(-anisotropy), j = 0…latent_dim−1: a
                 decaying spectrum, as embeddings' principal components have.
    shared_scale a shared mean, of this norm relative to the points' typical norm, added to
                 every point: real embeddings are not centred (their sign bits are biased).
    """

    dim: int = 512
    latent_dim: int = 64
    levels: int = 4
    branching: int = 16
    ratio: float = 0.9
    noise: float = 3.0
    weight_skew: float = 1.0
    anisotropy: float = 0.3
    shared_scale: float = 0.3
    seed: int = 20261127


class Synthetic:
    """The generator: the model (the tree's centres and child weights, the projection) is made
    once from the seed; records and queries are drawn from it chunk by chunk."""

    def __init__(self, p: SyntheticParams):
        self.p = p
        rng = np.random.default_rng([p.seed, _ROLE_MODEL])
        d, b = p.latent_dim, p.branching
        self.centres = []  # per level: (b^(level+1), d), children of node i at i*b … i*b+b−1
        self.cum_weights = []  # per level: (b^level, b), cumulative child weights
        parents = np.zeros((1, d), dtype=np.float32)
        for level in range(p.levels):
            nodes = parents.shape[0]
            if p.weight_skew > 0:
                w = rng.dirichlet(np.full(b, 1.0 / p.weight_skew), size=nodes)
            else:
                w = np.full((nodes, b), 1.0 / b)
            self.cum_weights.append(np.cumsum(w, axis=1))
            offsets = rng.standard_normal((nodes * b, d)).astype(np.float32) * p.ratio**level
            parents = np.repeat(parents, b, axis=0) + offsets
            self.centres.append(parents)
        self.noise = p.noise * p.ratio**p.levels
        axes = (np.arange(d) + 1.0) ** (-p.anisotropy)
        self.axes = (axes / np.sqrt(np.mean(axes**2))).astype(np.float32)
        typical = np.sqrt(d * (sum(p.ratio ** (2 * level) for level in range(p.levels))
                               + self.noise**2))
        self.shared = (rng.standard_normal(d) / np.sqrt(d) * p.shared_scale * typical
                       ).astype(np.float32)
        self.projection = rng.standard_normal((d, p.dim)).astype(np.float32)

    def _draw(self, role: int, index: int, count: int) -> np.ndarray:
        rng = np.random.default_rng([self.p.seed, role, index])
        node = np.zeros(count, dtype=np.int64)
        for level in range(self.p.levels):
            u = rng.random(count)[:, None]
            child = (u > self.cum_weights[level][node]).sum(axis=1)
            node = node * self.p.branching + np.minimum(child, self.p.branching - 1)
        x = self.centres[-1][node]
        x += rng.standard_normal(x.shape, dtype=np.float32) * self.noise
        x *= self.axes
        x += self.shared
        return (x @ self.projection > 0).astype(np.uint8)

    def chunks(self, role: int, count: int):
        """Yields (start, bits) for `count` records of one stream, CHUNK at a time."""
        for index, start in enumerate(range(0, count, CHUNK)):
            n = min(CHUNK, count - start)
            full = self._draw(role, index, CHUNK)  # drawn whole: a prefix is a prefix
            yield start, full[:n]


def write_synthetic(out: Path, records: int, queries: int, p: SyntheticParams) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    gen = Synthetic(p)
    corpus = np.lib.format.open_memmap(out / "corpus.npy.part", mode="w+", dtype=np.uint8,
                                       shape=(records, p.dim))
    for start, bits in gen.chunks(_ROLE_CORPUS, records):
        corpus[start:start + len(bits)] = bits
    corpus.flush()
    del corpus
    os.replace(out / "corpus.npy.part", out / "corpus.npy")
    q = np.concatenate([b for _, b in gen.chunks(_ROLE_QUERIES, queries)])
    np.save(out / "queries.npy", q)
    meta = {
        "kind": "synthetic",
        "records": records,
        "queries": queries,
        "dim": p.dim,
        "params": dataclasses.asdict(p),
        "seconds": round(time.perf_counter() - started, 1),
    }
    (out / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    return meta


# --- real text: WordNet glosses embedded with WordLlama -------------------------------------

WORDNET_DIR = Path("/usr/share/wordnet")


def wordnet_glosses(root: Path = WORDNET_DIR) -> list[str]:
    """Every synset's gloss (definition; examples), nouns, verbs, adjectives and adverbs, in the
    files' order, each text once (a few synsets share a gloss)."""
    texts, seen = [], set()
    for pos in ("noun", "verb", "adj", "adv"):
        path = root / f"data.{pos}"
        if not path.exists():
            raise SystemExit(
                f"{path} is missing: install Debian's WordNet data (apt-get install wordnet-base)")
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("  ") or "|" not in line:
                    continue  # the licence header
                gloss = line.split("|", 1)[1].strip()
                if gloss and gloss not in seen:
                    seen.add(gloss)
                    texts.append(gloss)
    return texts


def wordllama_model(dim: int = 256):
    """WordLlama's l2_supercat model from the files inside its wheel. Built from the pieces
    as `WordLlama.load` does: in wordllama 0.4.0.post1, `load(disable_download=True)` looks
    for the tokenizer in a folder `tokenizer/` while the wheel ships it in `tokenizers/`, and
    without `disable_download` it would fetch it from Hugging Face."""
    import wordllama
    from safetensors import safe_open
    from wordllama.inference import WordLlamaInference
    from wordllama.wordllama import WordLlama

    root = Path(wordllama.__file__).parent
    weights = root / "weights" / f"l2_supercat_{dim}.safetensors"
    tokenizer = root / "tokenizers" / "l2_supercat_tokenizer_config.json"
    for path in (weights, tokenizer):
        if not path.exists():
            raise SystemExit(f"{path} is missing: pip install wordllama (its wheel ships them)")
    with safe_open(str(weights), framework="np", device="cpu") as f:
        embedding = f.get_tensor("embedding.weight")
    return WordLlamaInference(embedding, WordLlama.load_tokenizer(tokenizer), binary=False)


def embed_wordllama(texts: list[str], dim: int = 256) -> np.ndarray:
    model = wordllama_model(dim)
    out = np.empty((len(texts), dim), dtype=np.uint8)
    step = 4096
    for start in range(0, len(texts), step):
        emb = model.embed(texts[start:start + step], norm=False, batch_size=256)
        out[start:start + len(emb)] = emb > 0
    return out


def write_wordnet(out: Path, queries: int, records: int | None, seed: int) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    texts = wordnet_glosses()
    bits = embed_wordllama(texts)
    # Drop exact duplicates of the bits (two glosses with the same words in another order) so
    # that ties of distance 0 do not decide the recall.
    _, first = np.unique(np.packbits(bits, axis=1), axis=0, return_index=True)
    keep = np.sort(first)
    rng = np.random.default_rng([seed, _ROLE_QUERIES])
    order = keep[rng.permutation(len(keep))]
    q_idx = np.sort(order[:queries])
    c_idx = np.sort(order[queries:] if records is None else order[queries:queries + records])
    np.save(out / "corpus.npy", bits[c_idx])
    np.save(out / "queries.npy", bits[q_idx])
    with open(out / "texts.jsonl", "w", encoding="utf-8") as f:
        for i in c_idx:
            f.write(json.dumps({"content": texts[i], "meta_data": {}, "name": f"gloss{i}"}) + "\n")
    with open(out / "query_texts.jsonl", "w", encoding="utf-8") as f:
        for i in q_idx:
            f.write(json.dumps({"content": texts[i]}) + "\n")
    meta = {
        "kind": "wordnet",
        "records": int(len(c_idx)),
        "queries": int(len(q_idx)),
        "dim": int(bits.shape[1]),
        "glosses": len(texts),
        "distinct_bit_vectors": int(len(keep)),
        "model": "wordllama l2_supercat_256 (sign of the pooled embedding)",
        "corpus_source": str(WORDNET_DIR),
        "seed": seed,
        "seconds": round(time.perf_counter() - started, 1),
    }
    (out / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    return meta


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="kind", required=True)
    s = sub.add_parser("synthetic", help="the Gaussian-mixture sign projections")
    s.add_argument("--records", type=int, default=100_000)
    s.add_argument("--queries", type=int, default=1000)
    s.add_argument("--out", type=Path, required=True)
    for f in dataclasses.fields(SyntheticParams):
        s.add_argument("--" + f.name.replace("_", "-"), type=type(f.default), default=f.default)
    w = sub.add_parser("wordnet", help="WordNet glosses embedded with WordLlama")
    w.add_argument("--queries", type=int, default=1000)
    w.add_argument("--records", type=int, default=None,
                   help="at most this many corpus records (default: every gloss left)")
    w.add_argument("--seed", type=int, default=20261127)
    w.add_argument("--out", type=Path, required=True)
    a = ap.parse_args(argv)
    if a.kind == "synthetic":
        p = SyntheticParams(**{f.name: getattr(a, f.name) for f in dataclasses.fields(SyntheticParams)})
        meta = write_synthetic(a.out, a.records, a.queries, p)
    else:
        meta = write_wordnet(a.out, a.queries, a.records, a.seed)
    json.dump(meta, sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
