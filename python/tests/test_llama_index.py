"""`paillier_gpu.llama_index.PaillierVectorStore` against a real `serve`, through LlamaIndex's
own `VectorStoreIndex` and retriever: documents indexed and retrieved nearest first, an index
made again from the store alone, filters on declared keys, a document deleted, the async forms
off the event loop, the bad inputs (a wrong-sized embedding, an id that is not a string,
metadata that is not JSON) and a service that lies, refused with the library's error."""

import asyncio
import hashlib
import re
import uuid

import pytest
from llama_index.core import Document, StorageContext, VectorStoreIndex
from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.schema import TextNode
from llama_index.core.vector_stores.types import (MetadataFilter, MetadataFilters, VectorStoreQuery)

import paillier_gpu as pg
from paillier_gpu.client import Client
from paillier_gpu.errors import AnswerRejectedError, InvalidInputError
from paillier_gpu.llama_index import PaillierVectorStore

from test_owner_digest import Server, proxy  # noqa: F401  (the tampering proxy's fixture)

DIMS = 64


class WordsEmbedding(BaseEmbedding):
    """A bag of hashed words: texts that share words are near (no model to fetch)."""

    def _embed(self, text):
        vector = [0.0] * DIMS
        for word in re.findall(r"[a-z]+", text.lower()):
            vector[int(hashlib.sha256(word.encode()).hexdigest(), 16) % DIMS] += 1.0
        return vector

    def _get_text_embedding(self, text):
        return self._embed(text)

    def _get_query_embedding(self, query):
        return self._embed(query)

    async def _aget_query_embedding(self, query):
        return self._embed(query)


@pytest.fixture(scope="module")
def server(cli, tmp_path_factory):
    server = Server(cli, tmp_path_factory.mktemp("llama-server"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def ctx():
    return pg.ExecutionContext.create("pw", embedding_length=256, key_len=1024, insecure=True)


def store_on(server, ctx, tmp_path, url=None):
    kb, key = server.kb_and_key(f"li-{uuid.uuid4().hex[:12]}")
    client = Client(url or server.url, server.org, key, state_dir=tmp_path / kb)
    client.push_context(ctx)
    # Reranked by cosine: four documents are each query's candidates, so that the order is the
    # bag of words' (the context's hyperplanes are drawn afresh each run).
    return PaillierVectorStore(client=client, kb_id=kb, context=ctx, filterable=("topic",), rerank=4)


CORPUS = [
    ("pets", "cats", "A cat sleeps on the warm sofa. Cats purr when they are happy."),
    ("pets", "dogs", "A dog fetches the ball in the park. Dogs bark at the postman."),
    ("space", "moon", "The moon orbits the earth. Astronauts walked on the moon."),
    ("space", "mars", "Mars is a red planet. Rovers drive on the dusty surface of mars."),
]


def indexed(store):
    documents = [Document(text=text, metadata={"topic": topic, "n": i}, doc_id=doc_id)
                 for i, (topic, doc_id, text) in enumerate(CORPUS)]
    storage = StorageContext.from_defaults(vector_store=store)
    return VectorStoreIndex.from_documents(documents, storage_context=storage, embed_model=WordsEmbedding())


def test_an_index_retrieves_nearest_first_and_is_made_again_from_the_store(server, ctx, tmp_path):
    store = store_on(server, ctx, tmp_path)
    indexed(store)
    again = VectorStoreIndex.from_vector_store(store, embed_model=WordsEmbedding())
    retrieved = again.as_retriever(similarity_top_k=2).retrieve("the cat and the happy cats purr")
    assert retrieved[0].node.ref_doc_id == "cats"
    assert retrieved[0].node.metadata == {"topic": "pets", "n": 0}
    assert retrieved[0].score >= retrieved[1].score
    query = VectorStoreQuery(query_embedding=WordsEmbedding().get_query_embedding("red planet mars rovers"),
                             similarity_top_k=4)
    result = store.query(query)
    assert result.nodes[0].ref_doc_id == "mars"
    assert result.similarities == sorted(result.similarities, reverse=True)
    assert result.ids == [node.node_id for node in result.nodes]
    # A filter on a declared key, and one on another refused.
    pets = MetadataFilters(filters=[MetadataFilter(key="topic", value="pets")])
    found = again.as_retriever(similarity_top_k=4, filters=pets).retrieve("moon")
    assert {n.node.ref_doc_id for n in found} == {"cats", "dogs"}
    negated = MetadataFilters(filters=[MetadataFilter(key="topic", value="pets")], condition="not")
    with pytest.raises(InvalidInputError, match="joined by not"):
        store.get_nodes(filters=negated)
    with pytest.raises(InvalidInputError, match="declared"):
        store.query(VectorStoreQuery(query_embedding=[1.0] * DIMS, similarity_top_k=1,
                                     filters=MetadataFilters(filters=[MetadataFilter(key="n", value=1)])))
    # A document deleted: its nodes go, the others stay.
    store.delete("dogs")
    left = {node.ref_doc_id for node in store.get_nodes()}
    assert left == {"cats", "moon", "mars"}
    ids = [node.node_id for node in store.get_nodes(filters=pets)]
    assert [node.node_id for node in store.get_nodes(node_ids=ids[::-1])] == ids[::-1]


async def test_the_async_forms_leave_the_event_loop_free(server, ctx, tmp_path):
    store = store_on(server, ctx, tmp_path)
    nodes = [TextNode(text=text, id_=doc_id, embedding=WordsEmbedding().get_text_embedding(text))
             for _, doc_id, text in CORPUS]
    ticks = 0

    async def tick():
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    ticker = asyncio.create_task(tick())
    await store.async_add(nodes)
    added = ticks
    query = VectorStoreQuery(query_embedding=nodes[2].embedding, similarity_top_k=1)
    result = await store.aquery(query)
    ticker.cancel()
    assert result.ids == ["moon"]
    assert added > 1 and ticks > added


def test_bad_inputs_are_refused(server, ctx, tmp_path):
    store = store_on(server, ctx, tmp_path)
    embedding = [1.0] * DIMS
    store.add([TextNode(text="x", id_="x", embedding=embedding)])
    with pytest.raises(InvalidInputError, match="dimensions"):
        store.add([TextNode(text="y", id_="y", embedding=[1.0] * (DIMS + 1))])
    with pytest.raises(InvalidInputError, match="dimensions"):
        store.query(VectorStoreQuery(query_embedding=[1.0] * 3, similarity_top_k=1))
    with pytest.raises(InvalidInputError, match="no embedding"):
        store.add([TextNode(text="z", id_="z")])
    named = TextNode(text="n", embedding=embedding)
    object.__setattr__(named, "id_", 7)
    with pytest.raises(InvalidInputError, match="not a string"):
        store.add([named])
    with pytest.raises(InvalidInputError, match="not JSON"):
        store.add([TextNode(text="j", id_="j", embedding=embedding, metadata={"when": {1, 2}})])
    assert [node.node_id for node in store.get_nodes()] == ["x"]


def test_a_lying_service_is_refused_with_the_library_error(server, proxy, ctx, tmp_path):
    store = store_on(server, ctx, tmp_path, url=proxy.url)
    indexed(store)
    query = VectorStoreQuery(query_embedding=WordsEmbedding().get_query_embedding("moon"), similarity_top_k=2)
    assert store.query(query).nodes[0].ref_doc_id == "moon"
    for kind in ("page_drop", "page_flip", "page_ids"):
        proxy(kind=kind, vector_bytes=256 // 8)
        with pytest.raises(AnswerRejectedError):
            store.query(query)
    proxy()
    assert store.query(query).nodes[0].ref_doc_id == "moon"
