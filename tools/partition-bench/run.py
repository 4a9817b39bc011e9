#!/usr/bin/env python3
"""The partition benchmark's driver: data, the FAISS anchor curve, the encrypted pipeline
through `paillier-gpu serve` and the CLI, and the report. tools/partition-bench/run.sh sets up
what it needs and calls it; README.md beside it says what each number means.

Steps (--steps, comma-separated; default all four, in this order):

  data    make each data set (data.py) unless its folder already holds it
  faiss   FAISS IndexBinaryIVF with √N lists on the same bits (faiss_curve.py)
  cli     a fresh `serve` on SQLite; context, knowledge base, verifiable upload with
          partitions, then `remote search --verify --probe P` for P = 1, 2, 4, …, all
  report  report.md, curve.png (or curve.svg) and results.json in the work folder

The cli step finds out from `--help` whether the CLI has `--partitions` and `--probe`. Without
them (--cli-mode today, or auto on a CLI that lacks them) it uploads without partitions and
searches only the whole knowledge base, as `--probe all` would: a dry run of the same steps.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from common import REPO, log  # before numpy, FAISS and data: it sets their thread counts

import data as datasets  # noqa: E402
import faiss_curve  # noqa: E402
from pipeline import cli_step  # noqa: E402
from report import report  # noqa: E402


# --- the data sets ---------------------------------------------------------------------------

def dataset_dir(work: Path, kind: str, records: int) -> Path:
    return work / f"{kind}-{records}"


def make_data(folder: Path, kind: str, records: int, queries: int) -> dict:
    meta_path = folder / "meta.json"
    if meta_path.exists():
        meta = json.loads(meta_path.read_text())
        if meta.get("records") == records and meta.get("queries") == queries:
            log(f"{folder}: already made")
            return meta
    log(f"making {kind} data, {records:,} records and {queries} queries, in {folder}")
    if kind == "synthetic":
        return datasets.write_synthetic(folder, records, queries, datasets.SyntheticParams())
    meta = datasets.write_wordnet(folder, queries, records, seed=20261127)
    if meta["records"] < records:
        log(f"WordNet has {meta['records']:,} glosses left for the corpus, fewer than {records:,}")
    return meta


# --- main ------------------------------------------------------------------------------------

def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--records", default="100000,1000000",
                    help="corpus sizes, comma-separated (default 100000,1000000)")
    ap.add_argument("--datasets", default="synthetic",
                    help="synthetic, wordnet or both, comma-separated (wordnet: at most its "
                         "115,989 glosses; 256 bits)")
    ap.add_argument("--queries", type=int, default=1000, help="queries made (FAISS uses all)")
    ap.add_argument("--cli-queries", type=int, default=None,
                    help="verified searches per probe value (default 50 up to 200,000 records, "
                         "20 above)")
    ap.add_argument("--steps", default="data,faiss,cli,report")
    ap.add_argument("--work", type=Path, default=REPO / "target" / "partition-bench")
    ap.add_argument("--bin", type=Path, default=Path(os.environ.get(
        "PAILLIER_GPU_BIN", REPO / "target" / "release" / "paillier-gpu")))
    ap.add_argument("--device", default="cpu", help="serve's --device (cpu, gpu, auto)")
    ap.add_argument("--key-len", type=int, default=1024)
    ap.add_argument("--partitions", default="auto", help="remote upload --partitions")
    ap.add_argument("--probes", default="pow2",
                    help="probe values, comma-separated with `all`, or pow2 (1, 2, 4, …, all)")
    ap.add_argument("--cli-mode", choices=("auto", "partitions", "today"), default="auto")
    ap.add_argument("--decoys", type=int, default=0,
                    help="remote search --decoys D with every --probe (default: not passed)")
    ap.add_argument("--truth", choices=("encrypted", "plaintext"), default="encrypted",
                    help="recall against `--probe all`'s top 10 (every query searched whole, "
                         "encrypted), or against the plaintext exhaustive top 10, with `all` "
                         "run on --all-queries queries only (for 1,000,000 records on a CPU)")
    ap.add_argument("--all-queries", type=int, default=2,  # 0: no exhaustive search at all
                    help="with --truth plaintext: queries `--probe all` runs on")
    ap.add_argument("--faiss-threads", type=int, default=1)
    ap.add_argument("--sealed-vectors", action="store_true",
                    help="remote upload --sealed-vectors: records of sealed vectors, no Paillier")
    a = ap.parse_args(argv)
    steps = set(a.steps.split(","))
    a.work.mkdir(parents=True, exist_ok=True)
    results_path = a.work / "results.json"
    results = json.loads(results_path.read_text()) if results_path.exists() else {}

    def save():
        results_path.write_text(json.dumps(results, indent=1, default=str) + "\n")

    for kind in a.datasets.split(","):
        for records in (int(r) for r in a.records.split(",")):
            folder = dataset_dir(a.work, kind, records)
            name = folder.name
            if kind == "wordnet" and records > 115_989:
                log(f"{name}: WordNet has 115,989 glosses for the corpus; skipped")
                continue
            entry = results.setdefault(name, {})
            if "data" in steps:
                entry["meta"] = make_data(folder, kind, records, a.queries)
            else:
                entry["meta"] = json.loads((folder / "meta.json").read_text())
            save()
            if "faiss" in steps:
                import faiss

                faiss.omp_set_num_threads(a.faiss_threads)
                log(f"{name}: FAISS IndexBinaryIVF curve")
                entry["faiss"] = faiss_curve.run(folder)
                (folder / "faiss.json").write_text(json.dumps(entry["faiss"], indent=2) + "\n")
                print(faiss_curve.table(entry["faiss"]), flush=True)
                save()
            if "cli" in steps:
                entry["cli"] = cli_step(folder, a, entry["meta"])
                save()
    if "report" in steps:
        text = report(a.work, results)
        (a.work / "report.md").write_text(text)
        print(text)
        log(f"wrote {a.work / 'report.md'} and {results_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
