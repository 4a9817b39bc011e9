#!/usr/bin/env python3
"""Intel's Paillier library (IPCL) and `paillier-gpu bench` side by side on one core.

Usage: tools/ipcl-compare.py [--rounds N] [--batch B] [--core C] [--binary PATH]
                             [--python38 PATH] [--wheels DIR] [--venv DIR]

IPCL (`ipcl-python` 2.0.0; its exponentiation is ipp-crypto's multi-buffer `mbx` code on
AVX-512 IFMA) ships one wheel, for CPython 3.8. This script makes a Python 3.8 virtual
environment (pyenv's 3.8 where there is one, or --python38), installs the wheel there (from
--wheels, a folder of downloaded wheels, on a machine without network), then runs the two
alternately, each pinned to the same core with one thread, and prints per-second medians, the
range of the rounds, and our rate over IPCL's, n of 2048 bits:

* full decryption: IPCL's `decrypt` (CRT, two exponentiations) against our `nums_decrypt`;
* decoding a search response (one exponentiation modulo p²): ours, against IPCL's decryption;
* public-key encryption: IPCL's `encrypt` against our `nums_enc_public`.

IPCL's own `pip install` pins gmpy2 2.0.8, which has no wheel and needs GMP's headers to build;
the script installs the wheel without its pins and adds binary wheels of what it imports.
"""

import argparse
import glob
import json
import os
import statistics
import subprocess
import sys
import tempfile

IPCL_WORKER = r"""
import json, random, sys, time
import ipcl_python as ipcl
batch = int(sys.argv[1])
pk, sk = ipcl.PaillierKeypair.generate_keypair(2048, True)
values = [random.randrange(1 << 32) for _ in range(batch)]
start = time.perf_counter(); ciphertexts = pk.encrypt(values); encrypt = time.perf_counter() - start
start = time.perf_counter(); plain = sk.decrypt(ciphertexts); decrypt = time.perf_counter() - start
assert list(plain) == values, "IPCL decrypted something else"
print(json.dumps({"encrypt": batch / encrypt, "decrypt": batch / decrypt}))
"""

IPCL_DEPENDENCIES = ["numpy==1.23.1", "gmpy2>=2.1", "pycryptodomex", "cachetools", "ruamel.yaml"]


def python38(explicit):
    if explicit:
        return explicit
    candidates = sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.8*/bin/python3.8")))
    for candidate in candidates + ["python3.8"]:
        try:
            subprocess.run([candidate, "--version"], check=True, capture_output=True)
            return candidate
        except (OSError, subprocess.CalledProcessError):
            continue
    sys.exit("ipcl-compare: no Python 3.8 found (IPCL's only wheel is for 3.8); pass --python38")


def ipcl_venv(venv, python, wheels):
    bin_python = os.path.join(venv, "bin", "python")
    check = [bin_python, "-c", "import ipcl_python"]
    if os.path.exists(bin_python) and subprocess.run(check, capture_output=True).returncode == 0:
        return bin_python
    subprocess.run([python, "-m", "venv", venv], check=True)
    pip = [bin_python, "-m", "pip", "install", "--quiet"]
    if wheels:
        pip += ["--no-index", "--find-links", wheels]
    subprocess.run(pip + ["--no-deps", "ipcl-python==2.0.0"], check=True)
    subprocess.run(pip + IPCL_DEPENDENCIES, check=True)
    subprocess.run(check, check=True)
    return bin_python


def pinned(core, command, threads_env):
    env = dict(os.environ, **threads_env)
    return subprocess.run(
        ["taskset", "-c", str(core)] + command, check=True, capture_output=True, text=True, env=env
    ).stdout


def ours(binary, core, batch):
    with tempfile.TemporaryDirectory() as folder:
        out = os.path.join(folder, "bench.json")
        pinned(core, [binary, "bench", "--device", "cpu", "--key-len", "1024", "--batch",
                      str(batch), "--repeat", "3", "--json", out], {"RAYON_NUM_THREADS": "1"})
        with open(out) as f:
            report = json.load(f)
    rates = {m["operation"]: m["per_second"] for m in report["measurements"]
             if m["scheme"] == "paillier"}
    return report["cpu"], rates


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch", type=int, default=1024)
    parser.add_argument("--core", type=int, default=os.cpu_count() - 1)
    parser.add_argument("--binary", default="target/release/paillier-gpu")
    parser.add_argument("--python38")
    parser.add_argument("--wheels", help="a folder of wheels, for a machine without network")
    parser.add_argument("--venv", default="target/ipcl-venv")
    args = parser.parse_args()
    if not os.path.exists(args.binary):
        sys.exit(f"ipcl-compare: {args.binary} is missing; run cargo build --release first")
    ipcl = ipcl_venv(args.venv, python38(args.python38), args.wheels)
    one_thread = {"OMP_NUM_THREADS": "1"}
    rows = {"decrypt": ([], []), "decode": ([], []), "encrypt": ([], [])}
    cpu = None
    for round_number in range(args.rounds):
        theirs = json.loads(pinned(args.core, [ipcl, "-c", IPCL_WORKER, str(args.batch)], one_thread))
        cpu, rates = ours(args.binary, args.core, args.batch)
        rows["decrypt"][0].append(rates["nums_decrypt"])
        rows["decrypt"][1].append(theirs["decrypt"])
        rows["decode"][0].append(rates["decode"])
        rows["decode"][1].append(theirs["decrypt"])
        rows["encrypt"][0].append(rates["nums_enc_public"])
        rows["encrypt"][1].append(theirs["encrypt"])
        print(f"round {round_number + 1}/{args.rounds}: ours {rates['nums_decrypt']:.0f} "
              f"decryptions/s, IPCL {theirs['decrypt']:.0f}", file=sys.stderr)
    print(f"cpu: {cpu['model']}, core {args.core}, one thread, our engine {cpu['engine']}; "
          f"n of 2048 bits, batches of {args.batch}, {args.rounds} alternating rounds")
    print(f"| per second, one core | ours | IPCL 2.0.0 | ours / IPCL |")
    print("|---|---:|---:|---:|")
    names = {
        "decrypt": "full decryption (`nums_decrypt`: CRT, two exponentiations)",
        "decode": "decoding a search response (one exponentiation modulo p²) vs IPCL decryption",
        "encrypt": "public-key encryption (`nums_enc_public`)",
    }
    for key, (mine, theirs) in rows.items():
        span = lambda xs: f"{statistics.median(xs):,.0f} ({min(xs):,.0f}–{max(xs):,.0f})"
        ratio = statistics.median(mine) / statistics.median(theirs)
        print(f"| {names[key]} | {span(mine)} | {span(theirs)} | {ratio:.2f}× |")


if __name__ == "__main__":
    main()
