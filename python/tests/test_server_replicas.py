"""The real XTrace SDK against two `paillier-gpu serve` replicas over one PostgreSQL, requests
alternating between them: the SDK's DataLoader uploads through one, its Retriever searches
through the other and finds each record (exact top-1), and writes through either are seen by
searches through both."""

import asyncio
import json
import subprocess

import numpy as np
import pytest
from xtrace_sdk.x_vec.data_loaders.loader import DataLoader
from xtrace_sdk.x_vec.retrievers.retriever import Retriever
from xtrace_sdk.x_vec.utils.execution_context import ExecutionContext as SdkContext

from conftest import integration, serve_on

EMBED = 64


@pytest.fixture(scope="module")
def replicas(cli, postgres_url):
    init = subprocess.run([cli, "server", "init", "--store", postgres_url, "--org", "acme"],
                          capture_output=True, text=True, check=True)
    org = json.loads(init.stdout)
    started = [serve_on(cli, postgres_url) for _ in range(2)]
    yield [{"url": url, "org": org["org_id"], "admin": org["admin_key"]} for _, url in started]
    for process, _ in started:
        process.terminate()
        assert process.wait(timeout=30) == 0


def test_upload_through_one_replica_and_search_through_the_other(replicas):
    a, b = replicas
    rng = np.random.default_rng(65)
    first, second = rng.normal(size=(24, EMBED)), rng.normal(size=(16, EMBED))

    async def go():
        admin = integration(a, admin_key=a["admin"])
        kb = await admin.create_kb("docs", "two replicas")
        key = await admin.create_api_key("team")
        await admin.set_key_permission(key["apiKey"]["hash"], kb["id"], 7)
        await admin.close()
        on_a = integration(a, api_key=key["secretKey"])
        on_b = integration(b, api_key=key["secretKey"])
        try:
            ctx = SdkContext.create(passphrase="pw", homomorphic_client_type="paillier",
                                    embedding_length=EMBED, key_len=1024)
            assert await ctx.save_to_remote(on_a) == ctx.id
            assert (await SdkContext.load_from_remote("pw", ctx.id, on_b)).id == ctx.id

            async def upload(client, vectors, start):
                loader = DataLoader(ctx, client)
                chunks = [{"chunk_content": f"document {start + i}", "name": f"d{start + i}",
                           "meta_data": {"tag1": f"{start + i:03d}"}} for i in range(len(vectors))]
                index, db = await loader.load_data_from_memory_batch(chunks, vectors.tolist(),
                                                                     disable_progress=True)
                return (await loader.dump_db(db, index, kb_id=kb["id"]))[0]["chunk_ids"]

            async def top1(client, vector):
                return await Retriever(ctx, client).nn_search_for_ids(vector.tolist(), kb_id=kb["id"], k=1)

            assert await upload(on_a, first, 0) == list(range(1, 25))
            for i in (0, 11, 23):
                assert await top1(on_b, first[i]) == [i + 1]
            # Writes through the other replica, seen by searches through both.
            assert await upload(on_b, second, 24) == list(range(25, 41))
            for client in (on_a, on_b):
                for i in (0, 9, 15):
                    assert await top1(client, second[i]) == [25 + i]
                assert await top1(client, first[5]) == [6]
            found = await Retriever(ctx, on_a).retrieve_and_decrypt([30], kb["id"])
            assert found == [{"chunk_content": "document 29", "meta_data": {"tag1": "029"}}]
        finally:
            await on_a.close()
            await on_b.close()

    asyncio.run(go())
