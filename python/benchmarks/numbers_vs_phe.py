"""Encrypted numbers against python-paillier (`phe`, with gmpy2 when installed) and TenSEAL's
CKKS: float encryption, decryption, and a 64 × 10 linear model over encrypted samples (one
sample per ciphertext, and packed: many samples per ciphertext).

    RAYON_NUM_THREADS=1 python python/benchmarks/numbers_vs_phe.py   # one core
    python python/benchmarks/numbers_vs_phe.py                       # every core

n of 2048 bits for both Paillier libraries (key_len 1024); TenSEAL: CKKS with N = 8192,
coefficient moduli [60, 40, 40, 60] and scale 2^40, as in its encrypted logistic-regression
tutorial. Each figure is the median of `repeat` runs after one warm-up; `max error` is the
largest absolute difference from the plaintext float64 result. phe and TenSEAL are skipped
(with a line saying so) when not installed. paillier_gpu runs on the CPU backend (its public-key
path for encryption, as phe's `encrypt`); phe runs on one core whatever RAYON_NUM_THREADS says.
"""

import argparse
import os
import statistics
import time

import numpy as np

import paillier_gpu as pg


def median_time(repeat, call):
    call()
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs)


def row(name, library, items, seconds, error=None):
    rate = items / seconds
    err = "" if error is None else f"{error:.2e}"
    print(f"| {name} | {library} | {items} | {seconds * 1e3:,.1f} ms | {rate:,.0f}/s | {err} |")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--values", type=int, default=2000)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--packed-samples", type=int, default=4000)
    parser.add_argument("--phe-values", type=int, default=100)
    parser.add_argument("--phe-samples", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(1)
    values = rng.normal(size=args.values)
    features, outputs = 64, 10
    samples = rng.normal(size=(args.samples, features))
    weights = rng.normal(size=(features, outputs)) * 0.1
    biases = rng.normal(size=outputs) * 0.1
    plain = samples @ weights + biases
    threads = os.environ.get("RAYON_NUM_THREADS", f"all ({os.cpu_count()})")
    print(f"threads: {threads}")
    print("| operation | library | items | median | rate | max error |")
    print("|---|---|---:|---:|---:|---:|")

    pk, sk = pg.generate_paillier_keypair(n_length=2048)
    enc = pk.encrypt_array(values)
    row("encrypt floats", "paillier_gpu", len(values), median_time(args.repeat, lambda: pk.encrypt_array(values)))
    got = sk.decrypt_array(enc)
    row(
        "decrypt floats",
        "paillier_gpu",
        len(values),
        median_time(args.repeat, lambda: sk.decrypt_array(enc)),
        float(np.max(np.abs(got - values))),
    )
    model = pg.LinearModel(weights, biases, weight_rows="per_input")
    x = pk.encrypt_array(samples)
    out = sk.decrypt_array(model.infer(x))
    row(
        "linear 64×10 (server)",
        "paillier_gpu",
        len(samples),
        median_time(args.repeat, lambda: model.infer(x)),
        float(np.max(np.abs(out - plain))),
    )
    model_p = pg.LinearModel(weights, biases, precision=2.0**-24, weight_rows="per_input")
    x_p = pk.encrypt_array(samples, precision=2.0**-24)
    out = sk.decrypt_array(model_p.infer(x_p))
    row(
        "linear 64×10, precision 2^-24",
        "paillier_gpu",
        len(samples),
        median_time(args.repeat, lambda: model_p.infer(x_p)),
        float(np.max(np.abs(out - plain))),
    )

    # Many samples per ciphertext (PackedArray): features within ±8 (public), precision 2^-16.
    packed_samples = np.clip(rng.normal(size=(args.packed_samples, features)), -8, 8)
    packed_plain = packed_samples @ weights + biases
    model_16 = pg.LinearModel(weights, biases, precision=2.0**-16, weight_rows="per_input")
    x_packed = pk.encrypt_packed(packed_samples, max_abs=8.0, precision=2.0**-16)
    out = sk.decrypt_packed(model_16.infer_packed(x_packed))
    row(
        f"linear 64×10, packed ({x_packed.slots} per ciphertext), precision 2^-16",
        "paillier_gpu",
        len(packed_samples),
        median_time(args.repeat, lambda: model_16.infer_packed(x_packed)),
        float(np.max(np.abs(out - packed_plain))),
    )

    try:
        from phe import paillier
        import phe.util

        backend = "gmpy2" if getattr(phe.util, "HAVE_GMP", False) else "pure Python"
        ppk, psk = pk.to_phe(), sk.to_phe()
        few = values[: args.phe_values].tolist()
        pe = [ppk.encrypt(v) for v in few]
        row(f"encrypt floats", f"phe ({backend})", len(few), median_time(args.repeat, lambda: [ppk.encrypt(v) for v in few]))
        row(
            "decrypt floats",
            f"phe ({backend})",
            len(few),
            median_time(args.repeat, lambda: [psk.decrypt(c) for c in pe]),
        )
        rows = samples[: args.phe_samples]
        enc_rows = [[ppk.encrypt(float(v)) for v in r] for r in rows]

        def phe_linear():
            return [
                [
                    sum((r[i] * float(weights[i, j]) for i in range(1, features)), r[0] * float(weights[0, j]))
                    + float(biases[j])
                    for j in range(outputs)
                ]
                for r in enc_rows
            ]

        res = phe_linear()
        err = max(abs(psk.decrypt(res[s][j]) - plain[s, j]) for s in range(len(rows)) for j in range(outputs))
        row("linear 64×10 (server)", f"phe ({backend})", len(rows), median_time(args.repeat, phe_linear), err)
    except ImportError:
        print("phe is not installed: skipped")

    try:
        import tenseal as ts

        ctx = ts.context(ts.SCHEME_TYPE.CKKS, poly_modulus_degree=8192, coeff_mod_bit_sizes=[60, 40, 40, 60])
        ctx.global_scale = 2**40
        ctx.generate_galois_keys()
        rows = samples
        encrypted = [ts.ckks_vector(ctx, r.tolist()) for r in rows]
        row(
            "encrypt 64-float vectors",
            "TenSEAL CKKS",
            len(rows),
            median_time(args.repeat, lambda: [ts.ckks_vector(ctx, r.tolist()) for r in rows]),
        )
        w, b = weights.tolist(), biases.tolist()

        def ckks_linear():
            return [e.mm(w) + b for e in encrypted]

        res = ckks_linear()
        err = max(float(np.max(np.abs(np.array(r.decrypt()) - plain[s]))) for s, r in enumerate(res))
        row("linear 64×10 (server)", "TenSEAL CKKS", len(rows), median_time(args.repeat, ckks_linear), err)
    except ImportError:
        print("TenSEAL is not installed: skipped")


if __name__ == "__main__":
    main()
