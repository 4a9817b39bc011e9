"""Nothing a user owns is destroyed through the package either: contexts are not replaced
without `overwrite=True`, outputs are not inputs, weak contexts warn, and bad arguments are the
library's errors (ValueError for a negative count, an index safe to share between threads)."""

import threading
import warnings

import numpy as np
import pytest

import paillier_gpu as pg
from paillier_gpu import errors
from conftest import hamming, random_bits


def test_contexts_are_not_replaced_without_overwrite(small_ctx, tmp_path):
    path = tmp_path / "ctx.json"
    first = pg.ExecutionContext.create("pw", embedding_length=8, key_len=256, insecure=True, path=str(path))
    saved = path.read_bytes()
    with pytest.raises(errors.FileError, match="overwrite=True"):
        pg.ExecutionContext.create("pw", embedding_length=8, key_len=256, insecure=True, path=str(path))
    with pytest.raises(errors.FileError, match="overwrite=True"):
        small_ctx.save_to_disk(str(path))
    assert path.read_bytes() == saved
    assert pg.ExecutionContext.load_from_disk("pw", str(path)).hash() == first.hash()
    small_ctx.save_to_disk(str(path), overwrite=True)
    again = pg.ExecutionContext.create(
        "pw", embedding_length=8, key_len=256, insecure=True, path=str(path), overwrite=True
    )
    assert pg.ExecutionContext.load_from_disk("pw", str(path)).hash() == again.hash()
    assert (path.stat().st_mode & 0o777) == 0o600


def test_an_empty_salt_and_negative_counts_are_value_errors(small_ctx, tmp_path):
    with pytest.raises(errors.InvalidInputError, match="salt"):
        pg.ExecutionContext.create("pw", embedding_length=8, key_len=256, insecure=True, salt=b"", path=str(tmp_path / "c.json"))
    assert not (tmp_path / "c.json").exists()
    for call in [
        lambda: pg.ExecutionContext.create("pw", embedding_length=-8, key_len=256, insecure=True),
        lambda: pg.ExecutionContext.create("pw", embedding_length=8, key_len=-1, insecure=True),
        lambda: pg.ExecutionContext.top_k([3, 1, 2], -1),
        lambda: pg.ExecutionContext.top_k([3, -1, 2], 1),
        lambda: small_ctx.public_context().encrypt_file("in.npy", "out.bin", batch=-1),
    ]:
        with pytest.raises(ValueError):
            call()


def test_weak_contexts_warn_and_short_noise_needs_insecure(lookup_ctx, tmp_path):
    path = tmp_path / "weak.json"
    lookup_ctx.save_to_disk(str(path))
    with pytest.warns(UserWarning, match="alpha_len 64"):
        pg.ExecutionContext.load_from_disk("test-passphrase", str(path))
    with pytest.warns(UserWarning, match="key_len 256"):
        public = pg.PublicContext.load(str(path))
    vectors = np.zeros((2, 40), dtype=np.uint8)
    with pytest.raises(errors.InsecureParametersError, match="alpha_len"):
        public.encrypt_vec_batch(vectors)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        allowed = pg.PublicContext.load(str(path), insecure=True)
    assert len(allowed.encrypt_vec_batch(vectors)) == 2


def test_an_output_is_never_an_input(small_ctx, tmp_path):
    rows = random_bits(np.random.default_rng(1), 3, 40)
    source = tmp_path / "v.npy"
    np.save(source, rows)
    before = source.read_bytes()
    public = small_ctx.public_context()
    with pytest.raises(errors.FileError, match="is the input"):
        public.encrypt_file(str(source), str(source), overwrite=True)
    assert source.read_bytes() == before
    notes = tmp_path / "notes.txt"
    notes.write_text("mine")
    with pytest.raises(errors.FileError, match="overwrite=True"):
        public.encrypt_file(str(source), str(notes))
    assert notes.read_text() == "mine"
    assert public.encrypt_file(str(source), str(tmp_path / "c.bin")) == 3
    assert public.check_ciphertext_file(str(tmp_path / "c.bin")) == 3


def test_boolean_masks_select_records_as_numpy_does(small_ctx):
    rng = np.random.default_rng(2)
    rows = random_bits(rng, 4, 40)
    index = pg.EncryptedIndex(small_ctx.public_context())
    index.insert(small_ctx.encrypt_vec_batch(rows))
    query = rows[0]
    q = small_ctx.encrypt_vec_one(query)
    decode = small_ctx.decode_hamming_client_batch
    expected = [hamming(rows[i], query) for i in (1, 3)]
    assert decode(index.aggregate(q, [False, True, False, True])).tolist() == expected
    assert decode(index.aggregate(q, np.array([0, 1, 0, 1], dtype=bool))).tolist() == expected
    # Ids still work; True is never read as record 1.
    assert decode(index.aggregate(q, [1, 3])).tolist() == expected
    for bad in ([True, False], [True, 1, 0, 0], np.array([True, False])):
        with pytest.raises(errors.InvalidInputError):
            index.aggregate(q, bad)


def test_an_index_is_safe_to_share_between_threads(small_ctx):
    rng = np.random.default_rng(3)
    index = pg.EncryptedIndex(small_ctx.public_context())
    batch = small_ctx.encrypt_vec_batch(random_bits(rng, 8, 40))
    index.insert(batch)
    q = small_ctx.encrypt_vec_one(random_bits(rng, 1, 40)[0])
    failures = []

    def aggregate():
        try:
            for _ in range(20):
                assert len(index.aggregate(q, range(0, 8))) == 8
        except Exception as e:  # noqa: BLE001 (any failure is reported)
            failures.append(e)

    def insert():
        try:
            for _ in range(20):
                index.insert(batch)
        except Exception as e:  # noqa: BLE001
            failures.append(e)

    threads = [threading.Thread(target=aggregate) for _ in range(3)] + [threading.Thread(target=insert)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    assert len(index) == 8 * 21


def test_many_queries_in_one_call(small_ctx):
    rng = np.random.default_rng(4)
    rows = random_bits(rng, 6, 40)
    index = pg.EncryptedIndex(small_ctx.public_context())
    index.insert(small_ctx.encrypt_vec_batch(rows))
    queries = random_bits(rng, 3, 40)
    answers = index.aggregate_many(small_ctx.encrypt_vec_batch(queries), range(1, 5))
    assert len(answers) == 3
    for query, responses in zip(queries, answers):
        got = small_ctx.decode_hamming_client_batch(responses).tolist()
        assert got == [hamming(rows[i], query) for i in range(1, 5)]


def test_ciphertexts_and_packed_arrays_replace_only_their_own_files(small_ctx, tmp_path):
    ctx_path = tmp_path / "ctx.json"
    small_ctx.save_to_disk(str(ctx_path))
    saved = ctx_path.read_bytes()
    rng = np.random.default_rng(45)
    batch = small_ctx.encrypt_vec_batch(random_bits(rng, 2, small_ctx.embedding_length))
    with pytest.raises(errors.FileError, match="overwrite=True"):
        batch.save(str(ctx_path))
    public, _ = small_ctx.paillier_keys()
    packed = public.encrypt_packed(np.array([[1.0], [2.0]]), max_abs=4.0)
    with pytest.raises(errors.FileError, match="overwrite=True"):
        packed.save(str(ctx_path))
    assert ctx_path.read_bytes() == saved
    # Their own files are replaced; anything else when asked by name.
    batch.save(str(tmp_path / "c.bin"))
    batch.save(str(tmp_path / "c.bin"))
    packed.save(str(tmp_path / "p.pack"))
    packed.save(str(tmp_path / "p.pack"))
    batch.save(str(ctx_path), overwrite=True)
    assert pg.Ciphertexts.load(small_ctx, str(ctx_path)).to_bytes() == batch.to_bytes()
