"""Encrypt / aggregate / decode against plaintext Hamming distances, over random vectors of
every accepted input type, both schemes, every selection form."""

import numpy as np
import pytest

import paillier_gpu as pg
from conftest import hamming, random_bits


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int64, bool, "list"])
def test_distances_match_the_plaintext(small_ctx, dtype):
    rng = np.random.default_rng(7)
    for trial in range(4):
        rows = int(rng.integers(1, 12))
        db = random_bits(rng, rows, small_ctx.embedding_length)
        query = random_bits(rng, 1, small_ctx.embedding_length)[0]
        given = db.tolist() if dtype == "list" else db.astype(dtype)
        index = pg.EncryptedIndex(small_ctx.public_context())
        assert index.insert(small_ctx.encrypt_vec_batch(given)) == range(0, rows)
        responses = index.aggregate(small_ctx.encrypt_vec_one(query))
        got = small_ctx.decode_hamming_client_batch(responses)
        assert got.dtype.kind == "u"
        assert got.tolist() == [hamming(r, query) for r in db], (dtype, trial)


def test_the_lookup_scheme_round_trips(lookup_ctx):
    rng = np.random.default_rng(11)
    db = random_bits(rng, 9, lookup_ctx.embedding_length)
    query = db[4] ^ random_bits(rng, 1, lookup_ctx.embedding_length)[0] * (rng.random(40) < 0.1)
    index = pg.EncryptedIndex(lookup_ctx.public_context())
    index.insert(lookup_ctx.encrypt_vec_batch(db))
    distances = lookup_ctx.decode_hamming_client_batch(index.aggregate(lookup_ctx.encrypt_vec_one(query)))
    assert distances.tolist() == [hamming(r, query) for r in db]
    assert lookup_ctx.dump_tables()  # the SDK's table form: non-empty for the lookup scheme


def test_public_key_encryption_decodes_the_same(small_ctx):
    rng = np.random.default_rng(3)
    db = random_bits(rng, 5, small_ctx.embedding_length)
    public = small_ctx.public_context()
    index = pg.EncryptedIndex(public)
    index.insert(public.encrypt_vec_batch(db))
    query = db[2]
    responses = index.aggregate(small_ctx.encrypt_vec_one(query))
    assert small_ctx.decode_hamming_client_batch(responses).tolist() == [hamming(r, query) for r in db]


def test_selections_and_slices(small_ctx):
    rng = np.random.default_rng(5)
    db = random_bits(rng, 10, small_ctx.embedding_length)
    query = random_bits(rng, 1, small_ctx.embedding_length)[0]
    expected = [hamming(r, query) for r in db]
    index = pg.EncryptedIndex(small_ctx.public_context())
    index.insert(small_ctx.encrypt_vec_batch(db[:6]))
    assert index.insert(small_ctx.encrypt_vec_batch(db[6:])) == range(6, 10)
    assert len(index) == 10
    q = small_ctx.encrypt_vec_one(query)
    decode = lambda r: small_ctx.decode_hamming_client_batch(r).tolist()  # noqa: E731
    assert decode(index.aggregate(q, range(2, 7))) == expected[2:7]
    assert decode(index.aggregate(q, slice(1, None, 3))) == expected[1::3]
    assert decode(index.aggregate(q, [9, 0, 4, 4])) == [expected[i] for i in [9, 0, 4, 4]]
    all_responses = index.aggregate(q)
    assert len(all_responses) == 10
    assert decode(all_responses[3]) == [expected[3]]
    assert decode(all_responses[-1]) == [expected[-1]]
    assert decode(all_responses[::4]) == expected[::4]
    assert decode(pg.Ciphertexts.concat([all_responses[:3], all_responses[3:]])) == expected


def test_ciphertext_forms_round_trip(small_ctx, tmp_path):
    rng = np.random.default_rng(9)
    enc = small_ctx.encrypt_vec_batch(random_bits(rng, 4, small_ctx.embedding_length))
    public = small_ctx.public_context()
    assert pg.Ciphertexts.from_b64(public, enc.to_b64()) == enc
    assert pg.Ciphertexts.from_bytes(public, enc.to_bytes()) == enc
    for name in ["c.bin", "c.jsonl"]:
        enc.save(str(tmp_path / name))
        assert pg.Ciphertexts.load(small_ctx, str(tmp_path / name)) == enc
    assert enc.key_fingerprint == small_ctx.key_fingerprint == public.key_fingerprint
    # One vector in the SDK's query form: a flat list of chunks.
    assert pg.Ciphertexts.from_b64(public, enc.to_b64()[0]) == enc[0]


def test_contexts_save_load_and_serialize(small_ctx, tmp_path):
    path = tmp_path / "ctx.json"
    small_ctx.save_to_disk(str(path))
    again = pg.ExecutionContext.load_from_disk("test-passphrase", str(path), device="auto")
    assert again.hash() == small_ctx.hash()
    assert again.device == "auto"
    assert set(small_ctx.to_dict_enc()) >= {"sk", "pk", "type", "config"}
    plain = small_ctx.to_dict_plain()
    assert "phi" in plain["sk"]
    assert '"pk"' in small_ctx.serialize_exec_context()
    public = pg.PublicContext.load(str(path))
    assert public.key_fingerprint == small_ctx.key_fingerprint
    assert "sk" not in public.to_json()
    assert small_ctx.dump_tables() == {}


def test_create_with_a_salt_and_a_path(tmp_path):
    path = tmp_path / "salted.json"
    ctx = pg.ExecutionContext.create(
        "pw", embedding_length=8, key_len=256, insecure=True, salt=b"0123456789abcdef", path=str(path)
    )
    assert pg.ExecutionContext.load_from_disk("pw", str(path)).hash() == ctx.hash()


def test_content_encryption(small_ctx):
    token = small_ctx.encrypt_content("a document")
    assert small_ctx.decrypt_content(token) == b"a document"
    assert small_ctx.decrypt_content(small_ctx.encrypt_content(b"\x00\xff")) == b"\x00\xff"


def test_top_k(small_ctx):
    ids, distances = small_ctx.top_k([5, 1, 3, 1], 3)
    assert ids.tolist() == [1, 3, 2]
    assert distances.tolist() == [1, 1, 3]


@pytest.mark.parametrize("engine", ["portable", "avx2", "avx512f", "ifma", "auto", "avx9"])
def test_every_cpu_engine_gives_the_same_distances(engine):
    """set_cpu_engine: each engine this CPU runs encrypts, aggregates (70 records: the lanes'
    products across records) and decodes (groups of eight) to the plaintext distances; an engine
    it lacks, or a name that is none, raises InvalidInputError saying so."""
    try:
        try:
            pg.set_cpu_engine(engine)
        except pg.InvalidInputError as error:
            if engine == "avx9":
                assert "expected auto, ifma, avx512f, avx2 or portable" in str(error)
            else:
                assert f"the {engine} CPU engine needs" in str(error), error
                assert "which this CPU lacks" in str(error), error
            return
        assert engine != "avx9"
        assert pg.cpu_engine() in ("ifma", "avx512f", "avx2", "portable")
        if engine != "auto":
            assert pg.cpu_engine() == engine
        ctx = pg.ExecutionContext.create("engines", embedding_length=40, key_len=512, insecure=True)
        rng = np.random.default_rng(19)
        db = random_bits(rng, 70, ctx.embedding_length)
        query = random_bits(rng, 1, ctx.embedding_length)[0]
        index = pg.EncryptedIndex(ctx.public_context())
        index.insert(ctx.encrypt_vec_batch(db))
        got = ctx.decode_hamming_client_batch(index.aggregate(ctx.encrypt_vec_one(query)))
        assert got.tolist() == [hamming(r, query) for r in db]
    finally:
        pg.set_cpu_engine("auto")
