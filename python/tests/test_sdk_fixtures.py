"""The SDK's own files from Python: context ids, decoding its aggregates, aggregating its
ciphertexts to the same bytes."""

import pytest

import paillier_gpu as pg


@pytest.fixture(params=["paillier_512", "paillier_lookup_512", "paillier_1024"])
def case(request, sdk_cases, tmp_path):
    case = sdk_cases[request.param]
    path = tmp_path / "ctx.json"
    import json

    path.write_text(json.dumps(case["context"]))
    return case, path


def test_the_sdk_context_loads_with_its_id(case):
    case, path = case
    ctx = pg.ExecutionContext.load_from_disk(case["passphrase"], str(path))
    assert ctx.hash() == case["context_id"]
    assert ctx.embedding_length == case["embed_len"]
    # The device is not part of the id.
    ctx.device = "auto"
    assert ctx.hash() == case["context_id"]
    assert ctx.device == "auto"


def test_the_sdks_aggregates_decode_to_its_distances(case):
    case, path = case
    ctx = pg.ExecutionContext.load_from_disk(case["passphrase"], str(path))
    # Straight from the SDK's base64 lists, and through Ciphertexts.
    assert ctx.decode_hamming_client_batch(case["aggregated_le_b64"]).tolist() == case["hamming"]
    responses = pg.Ciphertexts.from_b64(ctx, case["aggregated_le_b64"])
    assert ctx.decode_hamming_client_batch(responses).tolist() == case["hamming"]


def test_our_aggregation_of_the_sdks_ciphertexts_gives_its_bytes(case):
    case, path = case
    public = pg.PublicContext.load(str(path))
    database = pg.Ciphertexts.from_b64(public, case["enc_database_le_b64"])
    query = pg.Ciphertexts.from_b64(public, case["enc_query_le_b64"])
    index = pg.EncryptedIndex(public)
    assert index.insert(database) == range(0, len(case["database"]))
    assert index.aggregate(query).to_b64() == case["aggregated_le_b64"]


def test_our_encryptions_decode_under_the_sdk_context(case):
    case, path = case
    ctx = pg.ExecutionContext.load_from_disk(case["passphrase"], str(path))
    database = ctx.encrypt_vec_batch(case["database"])
    index = pg.EncryptedIndex(ctx.public_context())
    index.insert(database)
    responses = index.aggregate(ctx.encrypt_vec_one(case["query"]))
    assert ctx.decode_hamming_client_batch(responses).tolist() == case["hamming"]
