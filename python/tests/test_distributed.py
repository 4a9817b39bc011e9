"""Ray: distributed encryption of a folder and a sharded index, on a local cluster."""

import os

import numpy as np
import pytest

import paillier_gpu as pg
from paillier_gpu import distributed
from conftest import hamming, random_bits


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("corpus")
    ctx_path = folder / "ctx.json"
    ctx = pg.ExecutionContext.create(
        "ray-passphrase", embedding_length=32, key_len=256, insecure=True, path=str(ctx_path)
    )
    rng = np.random.default_rng(8)
    vectors = folder / "vectors"
    vectors.mkdir()
    shards = {}
    for name, rows in [("a", 20), ("b", 7), ("c", 13)]:
        shards[name] = random_bits(rng, rows, 32)
        np.save(vectors / f"{name}.npy", shards[name])
    (vectors / "notes.txt").write_text("not a vector file: ignored")
    return ctx, ctx_path, vectors, shards


def test_a_folder_is_encrypted_by_workers_and_reruns_skip_complete_files(ray_cluster, corpus, tmp_path):
    ctx, ctx_path, vectors, shards = corpus
    out = tmp_path / "out"
    report = distributed.encrypt_folder(ctx_path, vectors, out, workers=2, progress=False)
    assert (report.encrypted, report.skipped, report.vectors) == (3, 0, 40)
    assert sorted(p.name for p in out.iterdir()) == ["a.bin", "b.bin", "c.bin"]
    for name, rows in shards.items():
        enc = pg.Ciphertexts.load(ctx, str(out / f"{name}.bin"))
        index = pg.EncryptedIndex(ctx.public_context())
        index.insert(enc)
        query = rows[0]
        got = ctx.decode_hamming_client_batch(index.aggregate(ctx.encrypt_vec_one(query)))
        assert got.tolist() == [hamming(r, query) for r in rows]
    # A rerun does nothing; a removed output is redone alone.
    again = distributed.encrypt_folder(ctx_path, vectors, out, progress=False)
    assert (again.encrypted, again.skipped) == (0, 3)
    os.remove(out / "b.bin")
    redo = distributed.encrypt_folder(ctx_path, vectors, out, progress=False)
    assert (redo.encrypted, redo.skipped, redo.vectors) == (1, 2, 7)
    # No temporary file is left beside the outputs.
    assert sorted(p.name for p in out.iterdir()) == ["a.bin", "b.bin", "c.bin"]


def test_the_command_line(ray_cluster, corpus, tmp_path, capsys):
    _, ctx_path, vectors, _ = corpus
    code = distributed.main(
        ["encrypt", "--context", str(ctx_path), "--input", str(vectors), "--output", str(tmp_path / "o")]
    )
    assert code == 0
    assert "encrypted 3 file(s) (40 vectors" in capsys.readouterr().err
    code = distributed.main(
        ["encrypt", "--context", str(tmp_path / "missing.json"), "--input", str(vectors), "--output", str(tmp_path / "o")]
    )
    assert code == 1
    assert "error" in capsys.readouterr().err


def test_a_sharded_index_gives_the_same_ciphertexts_as_one_index(ray_cluster, corpus):
    ctx, _, _, shards = corpus
    public = ctx.public_context()
    single = pg.EncryptedIndex(public)
    sharded = distributed.ShardedIndex(public, shards=2)
    try:
        for rows in shards.values():
            enc = ctx.encrypt_vec_batch(rows)
            assert sharded.insert(enc) == single.insert(enc)
        assert len(sharded) == len(single) == 40
        query = ctx.encrypt_vec_one(shards["b"][3])
        assert sharded.aggregate(query) == single.aggregate(query)
        for ids in [range(5, 30), slice(3, 38, 4), [39, 0, 21, 21, 7], []]:
            assert sharded.aggregate(query, ids) == single.aggregate(query, ids), ids
        with pytest.raises(IndexError):
            sharded.aggregate(query, [40])
    finally:
        sharded.close()


def test_an_output_made_under_another_key_is_not_taken_for_done(ray_cluster, corpus, tmp_path):
    _, ctx_path, vectors, shards = corpus
    other = pg.ExecutionContext.create("other", embedding_length=32, key_len=256, insecure=True)
    out = tmp_path / "out"
    out.mkdir()
    other.encrypt_vec_batch(shards["a"]).save(str(out / "a.bin"))
    with pytest.raises(pg.errors.KeyMismatchError, match="a.bin"):
        distributed.encrypt_folder(ctx_path, vectors, out, progress=False)
