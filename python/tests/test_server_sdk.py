"""The real XTrace SDK (`xtrace-ai-sdk`) against `paillier-gpu serve` on 127.0.0.1, with a
temporary store: the admin calls, contexts both ways, upload with the SDK's DataLoader, search
with its Retriever (top-1, top-k, meta_filter, range), retrieval and deletes; and bad requests
answered with a 4xx and a JSON message while the server keeps serving."""

import asyncio
import json
import subprocess
import time
import urllib.error
import urllib.request

import numpy as np
import pytest
from xtrace_sdk.x_vec.data_loaders.loader import DataLoader
from xtrace_sdk.x_vec.inference.embedding import Embedding
from xtrace_sdk.x_vec.retrievers.retriever import Retriever
from xtrace_sdk.x_vec.utils.execution_context import ExecutionContext as SdkContext

from conftest import free_port, integration

EMBED = 64
RECORDS = 20


def raw(server, method, path, body, api_key):
    request = urllib.request.Request(server["url"] + path, method=method,
                                     data=body if isinstance(body, bytes) else json.dumps(body).encode(),
                                     headers={"x-api-key": api_key, "content-type": "application/json"})
    try:
        with urllib.request.urlopen(request) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


@pytest.fixture(scope="module")
def world(server):
    async def setup():
        admin = integration(server, admin_key=server["admin"])
        kb = await admin.create_kb("docs", "the test's documents")
        key = await admin.create_api_key("ingest")
        await admin.set_key_permission(key["apiKey"]["hash"], kb["id"], 7)
        listed = await admin.list_api_keys()
        assert [k["firstN"] for k in listed] == [key["secretKey"][:5]]
        assert await admin.get_key_permissions(key["apiKey"]["hash"]) == [
            {"knowledgeBaseId": kb["id"], "permission": 7}]
        await admin.close()

        client = integration(server, api_key=key["secretKey"])
        ctx = SdkContext.create(passphrase="pw", homomorphic_client_type="paillier",
                                embedding_length=EMBED, key_len=1024)
        assert await ctx.save_to_remote(client) == ctx.id
        assert ctx.id in await client.list_exec_contexts()
        again = await SdkContext.load_from_remote("pw", ctx.id, client)
        assert again.id == ctx.id
        assert await client.register_kb_binding(kb["id"], ctx.id)
        assert await client.get_ctx_for_kb(kb["id"]) == [ctx.id]

        rng = np.random.default_rng(46)
        vectors = rng.normal(size=(RECORDS, EMBED))
        chunks = [{"chunk_content": f"document {i}", "name": f"d{i}",
                   "meta_data": {"tag1": f"{i:03d}", "facets": ["even" if i % 2 == 0 else "odd"]}}
                  for i in range(RECORDS)]
        loader = DataLoader(ctx, client)
        index, db = await loader.load_data_from_memory_batch(chunks, vectors.tolist(), disable_progress=True)
        answers = await loader.dump_db(db, index, kb_id=kb["id"])
        assert answers[0]["chunk_ids"] == list(range(1, RECORDS + 1))
        await client.close()
        return {"kb": kb["id"], "key": key, "ctx": ctx, "vectors": vectors}

    return asyncio.run(setup())


def search(server, world, vector, **kwargs):
    async def go():
        client = integration(server, api_key=world["key"]["secretKey"])
        try:
            return await Retriever(world["ctx"], client).nn_search_for_ids(
                vector.tolist(), kb_id=world["kb"], **kwargs)
        finally:
            await client.close()
    return asyncio.run(go())


def test_the_sdks_retriever_finds_each_record(server, world):
    for i in (0, 7, 19):
        assert search(server, world, world["vectors"][i], k=1) == [i + 1]
    ids, scores = search(server, world, world["vectors"][3], k=3, include_scores=True)
    bits = [Embedding.float_2_bin(v) for v in world["vectors"]]
    query = Embedding.float_2_bin(world["vectors"][3])
    assert list(scores) == [int(np.count_nonzero(b != query)) for b in bits]
    assert ids[0] == 4


def test_filters_and_ranges_choose_what_is_aggregated(server, world):
    ids, scores = search(server, world, world["vectors"][2], k=20, include_scores=True,
                         meta_filter={"tag1": {"$gte": "010"}})
    assert len(scores) == 10 and sorted(ids) == list(range(11, 21))
    ids, scores = search(server, world, world["vectors"][2], k=20, include_scores=True,
                         meta_filter={"facets": {"$contains": "even"}, "tag1": {"$lt": "006"}})
    assert sorted(ids) == [1, 3, 5]
    ids, scores = search(server, world, world["vectors"][2], k=20, include_scores=True,
                         range_filter=[4, 6])
    assert sorted(ids) == [4, 5, 6]


def test_content_comes_back_decrypted_and_deletes_take_effect(server, world):
    async def go():
        client = integration(server, api_key=world["key"]["secretKey"])
        try:
            retriever = Retriever(world["ctx"], client)
            found = await retriever.retrieve_and_decrypt([8], world["kb"])
            assert found == [{"chunk_content": "document 7",
                              "meta_data": {"tag1": "007", "facets": ["odd"]}}]
            await client.delete_chunks([20], world["kb"])
        finally:
            await client.close()
    asyncio.run(go())
    assert search(server, world, world["vectors"][19], k=1) != [20]


def test_bad_requests_are_4xx_with_a_message(server, world):
    key = world["key"]["secretKey"]
    org = server["org"]
    body = {"kb_id": world["kb"], "context_id": world["ctx"].id, "query": ["not base64!"]}
    cases = [
        (body, key, 400, "base64"),
        (dict(body, query=[]), key, 400, "pieces"),
        (dict(body, query=["AA=="]), key, 400, ""),
        (dict(body, meta_filter=json.dumps({"tag1": {"$regex": "x"}})), key, 400, "$regex"),
        (dict(body, context_id="nope"), key, 404, "nope"),
        (dict(body, kb_id="kb_nope"), key, 404, "kb_nope"),
        (body, "xtr_wrong", 401, "unknown API key"),
        # Unterminated and deep: the body is a 400 however far it nests.
        (b'{"kb_id": "k", "context_id": "c", "query": [], "meta_filter": ' + b"[" * 100000,
         key, 400, "request body"),
        # Well formed and deep: the filter is parsed (after the permission check) with a depth limit.
        (json.dumps(body)[:-1].encode() + b', "meta_filter": ' + b"[" * 1000 + b"]" * 1000 + b"}",
         key, 400, "recursion"),
    ]
    for sent, api_key, status, words in cases:
        code, answer = raw(server, "POST", f"/v1/compute_hamming/{org}", sent, api_key)
        assert code == status, (sent if isinstance(sent, dict) else "deep", answer)
        assert words in json.loads(answer)["message"]
    code, answer = raw(server, "POST", "/v1/compute_hamming/org_other", body, key)
    assert code == 404
    # Still serving.
    assert search(server, world, world["vectors"][0], k=1) == [1]


def test_metadata_searches_patches_updates_and_deletes(server, world):
    async def go():
        admin = integration(server, admin_key=server["admin"])
        kb = (await admin.create_kb("meta"))["id"]
        await admin.set_key_permission(world["key"]["apiKey"]["hash"], kb, 7)
        await admin.close()
        client = integration(server, api_key=world["key"]["secretKey"])
        ctx = world["ctx"]
        try:
            loader = DataLoader(ctx, client)
            chunks = [{"chunk_content": f"note {i}", "name": f"n{i}",
                       "meta_data": {"tag2": "draft" if i < 3 else "final", "facets": ["x"]}}
                      for i in range(6)]
            index, db = await loader.load_data_from_memory_batch(
                chunks, world["vectors"][:6].tolist(), disable_progress=True)
            await loader.dump_db(db, index, kb_id=kb)

            found = await client.meta_search(kb, {"tag2": "draft"}, ctx.id)
            assert sorted(c["chunk_id"] for c in found) == [1, 2, 3]
            page = await client.meta_search_paginated(kb, ctx.id, {"facets": {"$contains": "x"}},
                                                      limit=4, offset=0, sort_order="asc")
            assert [c["chunk_id"] for c in page["results"]] == [1, 2, 3, 4]
            assert page["total"] == 6 and page["has_more"]

            dry = await client.patch_chunks_by_meta(kb, ctx.id, {"tag2": "draft"}, {"tag3": "seen"}, dry_run=True)
            assert dry["would_patch_count"] == 3
            await client.patch_chunks_by_meta(kb, ctx.id, {"tag2": "draft"}, {"tag3": "seen"})
            assert len(await client.meta_search(kb, {"tag3": {"$exists": True}}, ctx.id)) == 3

            await client.patch_chunks(kb, ctx.id, [{"chunk_id": 6, "meta_data": {"tag2": "draft"}}])
            assert len(await client.meta_search(kb, {"tag2": "draft"}, ctx.id)) == 4

            # Chunk 1 takes record 5's vector: a search for that vector finds both.
            new_index, new_db = await loader.load_data_from_memory_batch(
                [{"chunk_content": "rewritten", "name": "r", "chunk_id": 1, "meta_data": {}}],
                [world["vectors"][5].tolist()], disable_progress=True)
            new_db[0]["chunk_id"] = 1
            await client.update_chunks(new_index, new_db, ctx.id, kb)
            ids, scores = await Retriever(ctx, client).nn_search_for_ids(
                world["vectors"][5].tolist(), k=2, kb_id=kb, include_scores=True)
            assert sorted(ids) == [1, 6] and sorted(scores)[:2] == [0, 0]

            dry = await client.delete_chunks_by_meta(kb, ctx.id, {"tag2": "final"}, dry_run=True)
            assert dry["would_delete_count"] == 2
            await client.delete_chunks_by_meta(kb, ctx.id, {"tag2": "final"})
            assert len(await client.meta_search(kb, {}, ctx.id)) == 4
        finally:
            await client.close()
    asyncio.run(go())


def test_our_context_goes_to_the_service_and_back_through_the_sdks_client(server, world):
    import paillier_gpu as pg

    async def go():
        client = integration(server, api_key=world["key"]["secretKey"])
        try:
            ours = pg.ExecutionContext.create("pw2", embedding_length=EMBED, key_len=1024, sdk_compatible=True)
            assert await ours.save_to_remote(client) == ours.hash()
            # The SDK opens what we stored, and we open what the SDK stored.
            theirs = await SdkContext.load_from_remote("pw2", ours.hash(), client)
            assert theirs.id == ours.hash()
            back = await pg.ExecutionContext.load_from_remote("pw", world["ctx"].id, client)
            assert back.hash() == world["ctx"].id
            # Distances of the SDK's ciphertexts, decoded here from the pieces as the service
            # sends them (msgpack bytes), and from integers.
            query = world["ctx"].homomorphic.encrypt_vec_one(
                Embedding.float_2_bin(world["vectors"][4]).tolist())
            answer = await client.compute_hamming_distances(query, world["ctx"].id, kb_id=world["kb"])
            pieces = [p for _, p in answer]
            assert isinstance(pieces[0][0], bytes)
            ours_decoded = back.decode_hamming_client_batch(pieces)
            as_ints = back.decode_hamming_client_batch([[int.from_bytes(b, "little") for b in row] for row in pieces])
            sdk_decoded = world["ctx"].homomorphic.decode_hamming_client_batch(pieces)
            assert list(ours_decoded) == list(as_ints) == list(sdk_decoded)
            assert 0 in list(ours_decoded)  # record 4 itself
        finally:
            await client.close()
    asyncio.run(go())


def test_bad_inserts_oversized_bodies_and_revoked_keys(server, world, cli, tmp_path):
    key = world["key"]["secretKey"]
    org = server["org"]
    too_large = base64_of(b"\xff" * 512)
    zero = base64_of(b"\x00")
    for pieces, words in ([too_large], "chunk 1"), ([zero], "chunk 1"), (["%%%"], "chunk 1, piece 0"):
        chunks = [{"chunk_content": "a", "index": world["ctx"].homomorphic.encrypt_vec_one([0] * EMBED) and
                   [base64_of(int(c).to_bytes(512, "little")) for c in
                    world["ctx"].homomorphic.encrypt_vec_one([0] * EMBED)], "meta_data": {}, "name": "ok"},
                  {"chunk_content": "b", "index": pieces, "meta_data": {}, "name": "bad"}]
        code, answer = raw(server, "POST", f"/v1/chunk/{org}",
                           {"kb_id": world["kb"], "context_id": world["ctx"].id, "chunks": chunks}, key)
        assert code == 400, answer
        assert words in json.loads(answer)["message"], answer
    # Nothing of a refused batch was stored.
    code, answer = raw(server, "POST", f"/v1/chunk/meta/{org}",
                       {"kb_id": world["kb"], "context_id": world["ctx"].id, "meta_filter": "{}"}, key)
    assert code == 200 and all(c["name"] != "ok" for c in json.loads(answer))

    # A revoked key is refused at once.
    async def revoke():
        admin = integration(server, admin_key=server["admin"])
        spare = await admin.create_api_key("spare")
        await admin.set_key_permission(spare["apiKey"]["hash"], world["kb"], 1)
        await admin.revoke_api_key(spare["apiKey"]["hash"])
        await admin.close()
        return spare["secretKey"]
    spare = asyncio.run(revoke())
    code, answer = raw(server, "GET", f"/v1/exec_context/{org}", b"", spare)
    assert code == 401 and "revoked" in json.loads(answer)["message"]

    # A body over the server's limit: 413, as JSON, for a caller the server knows; an unknown
    # key is refused (401) before its body is read.
    data = tmp_path / "small"
    init = json.loads(subprocess.run([cli, "server", "init", "--data-dir", data, "--org", "s"],
                                     capture_output=True, text=True, check=True).stdout)
    port = free_port()
    small = subprocess.Popen([cli, "serve", "--data-dir", data, "--listen", f"127.0.0.1:{port}",
                              "--max-body-bytes", "1000"], stderr=subprocess.PIPE, text=True)
    try:
        assert "serving on" in small.stderr.readline()
        oversized = {"kb_id": "k", "context_id": "c", "chunks": [], "pad": "x" * 2000}
        code, answer = raw({"url": f"http://127.0.0.1:{port}"}, "POST", f"/v1/chunk/{init['org_id']}",
                           oversized, "xtr_x")
        assert code == 401 and "unknown API key" in json.loads(answer)["message"]
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/v1/kbs", method="POST",
            data=json.dumps({"name": "x" * 2000}).encode(),
            headers={"x-xtrace-key": init["admin_key"], "x-xtrace-org-id": init["org_id"],
                     "content-type": "application/json"})
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request)
        assert refused.value.code == 413 and "message" in json.loads(refused.value.read())
    finally:
        small.terminate()
        small.wait(timeout=30)


def base64_of(data):
    import base64
    return base64.b64encode(data).decode()
