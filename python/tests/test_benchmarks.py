"""The benchmark scripts run to the end on tiny inputs, so that an API change cannot break the
commands BENCHMARKS.md quotes without a test failing. They time nothing here."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def run(script, *args):
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), *args],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, f"{script} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def table_rows(output):
    return [line for line in output.splitlines() if line.startswith("| ") and "---" not in line]


def test_numbers_against_phe_runs():
    out = run(
        "numbers_vs_phe.py",
        "--values", "4",
        "--samples", "2",
        "--packed-samples", "2",
        "--phe-values", "2",
        "--phe-samples", "1",
        "--repeat", "1",
    )
    rows = table_rows(out)
    # Our five rows (encryption, decryption, three linear layers) and phe's three.
    assert sum("paillier_gpu" in r for r in rows) == 5, out
    assert sum("| phe (" in r for r in rows) == 3, out
    # Every linear layer decrypted to the plaintext result within its precision.
    for r in rows:
        if "linear" in r:
            assert float(r.rstrip(" |").rsplit("|", 1)[1]) < 1e-3, r


def test_binding_overhead_runs(cli):
    out = run("binding_overhead.py", "--batch", "2", "--repeat", "1", "--cli", str(cli))
    rates = {line.split()[0]: line.split()[1:] for line in out.splitlines()[2:] if line.strip()}
    assert set(rates) == {"encrypt_owner", "encrypt_public", "aggregate", "decode"}, out
    # Rust's rate, Python's and their ratio, all positive.
    assert all(float(v.replace(",", "")) > 0 for row in rates.values() for v in row), out


def server_load(*args):
    script = Path(__file__).resolve().parents[2] / "tools" / "server-load.py"
    done = subprocess.run([sys.executable, str(script), *args], capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, f"server-load.py failed:\n{done.stdout}\n{done.stderr}"
    return json.loads(done.stdout)


def test_server_load_runs_on_sqlite_and_on_two_postgres_replicas(cli, postgres_url):
    binary = ["--binary", str(cli), "--records", "64", "--seconds", "0.2", "--clients", "1,2",
              "--bench-batch", "16"]
    alone = server_load(*binary)
    assert alone["store"] == "sqlite" and alone["ingest_chunks_per_s"] > 0
    assert alone["clients_2"]["requests_per_s"] > 0
    assert server_load(*binary, "--ingest-only")["ingest_chunks_per_s"] > 0
    # postgres_url only makes sure PostgreSQL is there (CI fails without it); the script makes
    # a cluster of its own.
    shared = server_load(*binary, "--store", "postgres", "--replicas", "2", "--catch-up-records", "20")
    assert shared["replicas"] == 2 and shared["catch_up"]["records"] == 20
    assert shared["clients_1"]["requests_per_s"] > 0


def test_rag_retrieval_runs(cli):
    if not Path("/usr/share/wordnet/data.noun").exists():
        if os.environ.get("CI"):
            pytest.fail("WordNet's glosses are not installed (apt-get install wordnet-base), and CI needs them")
        pytest.skip("WordNet's glosses are not installed (apt-get install wordnet-base)")
    out = run("rag_retrieval.py", "--passages", "300", "--queries", "5", "--rerank", "2", "--key-len", "1024",
              "--program", str(cli))
    figures = json.loads(out.strip().splitlines()[-1])
    assert figures["passages"] == 300 and figures["queries"] == 5
    assert 0.0 < figures["recall_at_10_vs_float_cosine"] <= 1.0


def test_sealed_edits_runs(cli):
    out = run("sealed_edits.py", "--records", "300", "--key-len", "1024", "--program", str(cli))
    lines = [json.loads(line) for line in out.strip().splitlines()]
    assert [line["partitions"] for line in lines] == [None, "auto"]
    assert all(len(line["delete_one_ms"]) == 3 for line in lines)
