"""The Python package and the CLI on the same files: each reads what the other writes, and both
compute the same bytes."""

import os
import subprocess

import numpy as np

import paillier_gpu as pg
from conftest import hamming, random_bits


def run(cli, *args, passphrase="cli-passphrase"):
    env = dict(os.environ, PAILLIER_GPU_PASSPHRASE=passphrase, PAILLIER_GPU_DEVICE="cpu")
    done = subprocess.run([str(cli), *args], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done


def test_python_and_the_cli_agree(cli, tmp_path):
    ctx_path = tmp_path / "ctx.json"
    ctx = pg.ExecutionContext.create(
        "cli-passphrase", embedding_length=24, key_len=256, insecure=True, path=str(ctx_path)
    )
    rng = np.random.default_rng(4)
    db = random_bits(rng, 7, 24)
    query = db[3].copy()
    query[:5] ^= 1
    np.save(tmp_path / "db.npy", db)
    np.save(tmp_path / "query.npy", query[None, :])

    # The CLI encrypts; Python reads its files.
    run(cli, "encrypt", "--context", str(ctx_path), "--input", str(tmp_path / "db.npy"),
        "--output", str(tmp_path / "db.bin"))
    run(cli, "encrypt", "--context", str(ctx_path), "--input", str(tmp_path / "query.npy"),
        "--output", str(tmp_path / "query.jsonl"))
    database = pg.Ciphertexts.load(ctx, str(tmp_path / "db.bin"))
    enc_query = pg.Ciphertexts.load(ctx, str(tmp_path / "query.jsonl"))
    assert len(database) == 7 and len(enc_query) == 1

    # Both aggregate to the same bytes.
    run(cli, "aggregate", "--context", str(ctx_path), "--database", str(tmp_path / "db.bin"),
        "--query", str(tmp_path / "query.jsonl"), "--output", str(tmp_path / "responses.bin"))
    index = pg.EncryptedIndex(pg.PublicContext.load(str(ctx_path)))
    index.insert(database)
    ours = index.aggregate(enc_query)
    assert pg.Ciphertexts.load(ctx, str(tmp_path / "responses.bin")) == ours

    # Python writes; the CLI decodes.
    ours.save(str(tmp_path / "ours.jsonl"))
    run(cli, "decode", "--context", str(ctx_path), "--input", str(tmp_path / "ours.jsonl"),
        "--output", str(tmp_path / "distances.jsonl"))
    cli_distances = [int(line) for line in (tmp_path / "distances.jsonl").read_text().split()]
    expected = [hamming(r, query) for r in db]
    assert cli_distances == expected
    assert ctx.decode_hamming_client_batch(ours).tolist() == expected

    # A context file written by the CLI loads in Python with the same id the CLI prints.
    run(cli, "context", "create", "--output", str(tmp_path / "cli_ctx.json"), "--key-len", "256",
        "--embed-len", "8", "--insecure")
    shown = run(cli, "context", "show", "--context", str(tmp_path / "cli_ctx.json")).stdout
    loaded = pg.ExecutionContext.load_from_disk("cli-passphrase", str(tmp_path / "cli_ctx.json"))
    assert f'"id":"{loaded.hash()}"' in shown.replace(" ", "")
    assert loaded.key_fingerprint in shown
