"""The XTrace SDK's own DataLoader and Retriever running on a paillier_gpu context (`ctx.sdk()`):
through an in-process service and through `paillier-gpu serve`, for both schemes; contexts and
ciphertexts crossing between the SDK's engine and ours both ways; the Retriever's parallel
decoding refused rather than pickling a secret key."""

import asyncio
import json

import numpy as np
import pytest
from xtrace_sdk.x_vec.data_loaders.loader import DataLoader
from xtrace_sdk.x_vec.inference.embedding import Embedding
from xtrace_sdk.x_vec.retrievers.retriever import Retriever
from xtrace_sdk.x_vec.utils.execution_context import ExecutionContext as SdkContext

import paillier_gpu as pg
from conftest import integration

EMBED = 64
RECORDS = 24


class InProcessService:
    """The search backend's half of XTraceIntegration, in this process: it holds the public
    context, the chunks as sent and an EncryptedIndex of their ciphertexts, and answers
    compute_hamming as the service does (`[(chunk_id, pieces)]`)."""

    def __init__(self, public_json):
        self.public = pg.PublicContext.from_json(public_json, insecure=True)
        self.index = pg.EncryptedIndex(self.public)
        self.chunks = []

    async def store_db(self, db, index, kb_id, context_id, concurrent=False):
        # The SDK's engine hands gmpy2 integers; the wire carries them as base64, we as ints.
        rows = [[int(p) for p in v] for v in index]
        ids = self.index.insert(pg.Ciphertexts.from_b64(self.public, rows))
        self.chunks.extend(dict(chunk) for chunk in db)
        return [{"chunk_ids": [i + 1 for i in ids]}]

    async def compute_hamming_distances(self, query, context_id, kb_id="", meta_filter=None, range=None):
        responses = self.index.aggregate(pg.Ciphertexts.from_b64(self.public, [int(p) for p in query]))
        return [(i + 1, pieces) for i, pieces in enumerate(responses.to_ints())]

    async def get_chunk_by_id(self, chunk_ids, kb_id, projection=None):
        return [{"chunk_id": c, "chunk_content": self.chunks[c - 1]["chunk_content"],
                 "meta_data": self.chunks[c - 1]["meta_data"]} for c in chunk_ids]


def documents(seed):
    vectors = np.random.default_rng(seed).normal(size=(RECORDS, EMBED))
    chunks = [{"chunk_content": f"document {i} ✓", "name": f"d{i}", "meta_data": {"tag1": f"{i:03d}"}}
              for i in range(RECORDS)]
    return vectors, chunks


def plain_distances(vectors, query):
    bits = [Embedding.float_2_bin(v) for v in vectors]
    q = Embedding.float_2_bin(query)
    return [int(np.count_nonzero(b != q)) for b in bits]


async def load_and_search(sdk_ctx, service, vectors, chunks, kb="kb", batch=True):
    loader = DataLoader(sdk_ctx, service)
    load = loader.load_data_from_memory_batch if batch else loader.load_data_from_memory
    index, db = await load(chunks, vectors.tolist(), disable_progress=True)
    await loader.dump_db(db, index, kb_id=kb)
    retriever = Retriever(sdk_ctx, service)
    top1 = [await retriever.nn_search_for_ids(v.tolist(), k=1, kb_id=kb) for v in vectors[:4]]
    ids, scores = await retriever.nn_search_for_ids(vectors[5].tolist(), k=5, kb_id=kb, include_scores=True)
    found = await retriever.retrieve_and_decrypt([ids[0]], kb)
    return top1, ids, list(scores), found


@pytest.fixture(scope="module", params=["paillier", "paillier_lookup"])
def ours(request):
    alpha = {"alpha_len": 128} if request.param == "paillier_lookup" else {}
    return pg.ExecutionContext.create("pw", homomorphic_client_type=request.param,
                                      embedding_length=EMBED, key_len=512, insecure=True, **alpha)


def test_the_sdks_view_has_what_the_sdk_uses(ours):
    sdk = ours.sdk()
    assert sdk.id == ours.hash() and sdk.embed_len() == EMBED and sdk.device == "cpu"
    pieces = sdk.homomorphic.encrypt_vec_one([1, 0] * (EMBED // 2))
    assert all(isinstance(p, int) for p in pieces)
    assert sdk.homomorphic.decode_hamming_client_one(pieces) == EMBED // 2
    rows = sdk.homomorphic.encrypt_vec_batch([[0] * EMBED, [1] * EMBED])
    assert sdk.homomorphic.decode_hamming_client_batch(rows) == [0, EMBED]
    # Pieces as the service sends them: little-endian bytes (msgpack) or ints (JSON).
    as_bytes = [[p.to_bytes((p.bit_length() + 7) // 8, "little") for p in row] for row in rows]
    assert sdk.homomorphic.decode_hamming_client_batch(as_bytes) == [0, EMBED]
    sealed = sdk.aes.encrypt("naïve text")
    assert isinstance(sealed, bytes)
    assert sdk.aes.decrypt(sealed) == sdk.aes.decrypt(sealed.decode()) == "naïve text"
    assert ours.decrypt_content(sealed.decode()) == "naïve text".encode()


def test_dataloader_and_retriever_run_in_process(ours):
    vectors, chunks = documents(49)
    service = InProcessService(ours.public_context().to_json())
    top1, ids, scores, found = asyncio.run(load_and_search(ours.sdk(), service, vectors, chunks))
    assert top1 == [[1], [2], [3], [4]]
    assert scores == plain_distances(vectors, vectors[5])
    assert ids[0] == 6 and sorted(scores)[:5] == [scores[i - 1] for i in ids]
    assert found == [{"chunk_content": "document 5 ✓", "meta_data": {"tag1": "005"}}]


def test_dataloader_and_retriever_run_against_serve(server):
    ctx = pg.ExecutionContext.create("pw", embedding_length=EMBED, key_len=1024)
    vectors, chunks = documents(50)

    async def go():
        admin = integration(server, admin_key=server["admin"])
        kb = await admin.create_kb("dropin")
        key = await admin.create_api_key("dropin")
        await admin.set_key_permission(key["apiKey"]["hash"], kb["id"], 7)
        await admin.close()
        client = integration(server, api_key=key["secretKey"])
        try:
            sdk = ctx.sdk()
            assert await sdk.save_to_remote(client) == ctx.hash()
            return await load_and_search(sdk, client, vectors, chunks, kb=kb["id"], batch=False)
        finally:
            await client.close()

    top1, ids, scores, found = asyncio.run(go())
    assert top1 == [[1], [2], [3], [4]]
    assert scores == plain_distances(vectors, vectors[5])
    assert found[0]["chunk_content"] == f"document {ids[0] - 1} ✓"


# The lookup scheme at key_len 512: the SDK builds its table in Python, 12 s at 1024 bits against
# 1.4 s at 512 on 2 cores, and the files' shape does not depend on the width.
@pytest.mark.parametrize("scheme,key_len", [("paillier", 1024), ("paillier_lookup", 512)])
def test_contexts_and_ciphertexts_cross_between_the_sdk_and_us(scheme, key_len, tmp_path):
    vectors, chunks = documents(51)
    # The SDK makes and saves a context; we load it and search what the SDK's engine encrypted.
    theirs = SdkContext.create(passphrase="pw", homomorphic_client_type=scheme,
                               embedding_length=EMBED, key_len=key_len)
    theirs.save_to_disk(str(tmp_path / "sdk.json"))
    ours = pg.ExecutionContext.load_from_disk("pw", tmp_path / "sdk.json")
    assert ours.hash() == theirs.id
    service = InProcessService(json.dumps(theirs.to_dict_enc()))

    async def sdk_loads_we_search():
        loader = DataLoader(theirs, service)
        index, db = await loader.load_data_from_memory_batch(chunks, vectors.tolist(), disable_progress=True)
        await loader.dump_db(db, index, kb_id="kb")
        retriever = Retriever(ours.sdk(), service)
        ids, scores = await retriever.nn_search_for_ids(vectors[7].tolist(), k=3, kb_id="kb", include_scores=True)
        return ids, list(scores), await retriever.retrieve_and_decrypt([ids[0]], "kb")

    ids, scores, found = asyncio.run(sdk_loads_we_search())
    assert ids[0] == 8 and scores == plain_distances(vectors, vectors[7])
    assert found[0]["chunk_content"] == "document 7 ✓"

    # And the other way: we make the context and encrypt; the SDK's own context searches.
    ctx = pg.ExecutionContext.create("pw", homomorphic_client_type=scheme, embedding_length=EMBED,
                                     key_len=key_len, alpha_len=key_len // 2, sdk_compatible=True,
                                     insecure=key_len < 1024)
    ctx.save_to_disk(tmp_path / "ours.json")
    sdk = SdkContext.load_from_disk("pw", str(tmp_path / "ours.json"))
    assert sdk.id == ctx.hash()
    service = InProcessService(ctx.public_context().to_json())

    async def we_load_sdk_searches():
        loader = DataLoader(ctx.sdk(), service)
        index, db = await loader.load_data_from_memory_batch(chunks, vectors.tolist(), disable_progress=True)
        await loader.dump_db(db, index, kb_id="kb")
        retriever = Retriever(sdk, service)
        ids, scores = await retriever.nn_search_for_ids(vectors[2].tolist(), k=3, kb_id="kb", include_scores=True)
        return ids, list(scores), await retriever.retrieve_and_decrypt([ids[0]], "kb")

    ids, scores, found = asyncio.run(we_load_sdk_searches())
    assert ids[0] == 3 and scores == plain_distances(vectors, vectors[2])
    assert found[0]["chunk_content"] == "document 2 ✓"


def test_parallel_decoding_is_refused_rather_than_pickling_a_secret_key(ours):
    import pickle

    vectors, chunks = documents(52)
    service = InProcessService(ours.public_context().to_json())
    asyncio.run(load_and_search(ours.sdk(), service, vectors, chunks))
    for member in (ours.sdk(), ours.sdk().homomorphic, ours.sdk().aes):
        with pytest.raises(TypeError, match="parallel=False"):
            pickle.dumps(member)
    with pytest.raises(TypeError, match="parallel=False"):
        asyncio.run(Retriever(ours.sdk(), service, parallel=True).nn_search_for_ids(
            vectors[0].tolist(), k=1, kb_id="kb"))
