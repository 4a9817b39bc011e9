"""The benchmark scripts run to the end on tiny inputs, so that an API change cannot break the
commands BENCHMARKS.md quotes without a test failing. They time nothing here."""

import subprocess
import sys
from pathlib import Path

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
