"""`paillier_gpu.langchain.PaillierVectorStore` against a real `serve`: LangChain's own standard
suite for vector stores (`langchain-tests`' `VectorStoreIntegrationTests`, every test, sync and
async, each on a new knowledge base), then what the suite does not ask: metadata of every JSON
type round-tripping, filters on the declared keys only, scores from Hamming distances, maximal
marginal relevance, a retriever, the bad inputs, and a service that lies, refused with the
library's error."""

import subprocess
import sys
import uuid

import pytest
from langchain_core.documents import Document
from langchain_core.embeddings import DeterministicFakeEmbedding
from langchain_tests.integration_tests import VectorStoreIntegrationTests

import paillier_gpu as pg
from paillier_gpu.client import Client
from paillier_gpu.errors import AnswerRejectedError, InvalidInputError
from paillier_gpu.langchain import PaillierVectorStore

from test_owner_digest import Server, proxy  # noqa: F401  (the tampering proxy's fixture)


@pytest.fixture(scope="module")
def server(cli, tmp_path_factory):
    server = Server(cli, tmp_path_factory.mktemp("langchain-server"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def ctx():
    return pg.ExecutionContext.create("pw", embedding_length=256, key_len=1024, insecure=True)


def store_on(server, ctx, tmp_path, embedding, url=None, **options):
    kb, key = server.kb_and_key(f"lc-{uuid.uuid4().hex[:12]}")
    client = Client(url or server.url, server.org, key, state_dir=tmp_path / kb)
    client.push_context(ctx)
    return PaillierVectorStore(embedding, client=client, kb_id=kb, context=ctx, **options)


class TestStandardSuite(VectorStoreIntegrationTests):
    """LangChain's own tests, unchanged."""

    @pytest.fixture()
    def vectorstore(self, server, ctx, tmp_path):
        yield store_on(server, ctx, tmp_path, self.get_embeddings())


@pytest.fixture()
def store(server, ctx, tmp_path):
    return store_on(server, ctx, tmp_path, DeterministicFakeEmbedding(size=16),
                    filterable=("source", "year"))


def test_metadata_round_trips_with_its_types_and_filters_on_declared_keys(store):
    metadata = [
        {"source": "a", "year": 2020, "partition": 7, "nested": {"x": [1, 2.5, None, True]}},
        {"source": "b", "year": 2021, "id": 1},
        {"source": "a", "year": "2021"},
    ]
    ids = store.add_texts(["one", "two", "three"], metadata, ids=["1", "2", "3"])
    assert ids == ["1", "2", "3"]
    assert [d.metadata for d in store.get_by_ids(["3", "1", "missing", "2"])] == [
        metadata[2], metadata[0], metadata[1]]
    hits = store.similarity_search("one", k=3, filter={"source": "a"})
    assert {d.id for d in hits} == {"1", "3"}
    # JSON types stay apart: 2021 and "2021" are other values.
    assert [d.id for d in store.similarity_search("x", k=3, filter={"year": 2021})] == ["2"]
    assert [d.id for d in store.similarity_search("x", k=3, filter={"year": {"$in": ["2021"]}})] == ["3"]
    both = {"$and": [{"source": "a"}, {"year": {"$eq": 2020}}]}
    assert [d.id for d in store.similarity_search("x", k=3, filter=both)] == ["1"]
    with pytest.raises(InvalidInputError, match="declared: 'source', 'year'"):
        store.similarity_search("x", filter={"nested": 1})
    with pytest.raises(InvalidInputError, match=r"\$eq or \$in"):
        store.similarity_search("x", filter={"year": {"$gt": 2000}})
    # The same knowledge base through a store declaring its keys in another order: refused.
    records = store._records
    other = PaillierVectorStore(store.embeddings, client=records._client, kb_id=records._kb,
                                context=records._context, filterable=("year", "source"))
    with pytest.raises(InvalidInputError, match="same keys in the same order"):
        other.similarity_search("one", k=1)


def test_scores_mmr_and_a_retriever(store):
    store.add_texts(["alpha", "beta", "gamma", "delta"], ids=["a", "b", "c", "d"])
    scored = store.similarity_search_with_score("beta", k=4)
    assert scored[0][0].id == "b" and scored[0][1] == 0.0
    assert [s for _, s in scored] == sorted(s for _, s in scored)
    relevance = store.similarity_search_with_relevance_scores("beta", k=2)
    assert relevance[0][1] == 1.0 and 0.0 <= relevance[1][1] < 1.0
    chosen = store.max_marginal_relevance_search("beta", k=2, fetch_k=4)
    assert chosen[0].id == "b" and len(chosen) == 2
    retriever = store.as_retriever(search_kwargs={"k": 1})
    assert retriever.invoke("gamma") == [Document(id="c", page_content="gamma", metadata={})]
    store.delete()
    assert store.similarity_search("beta", k=4) == []


def test_a_rerank_orders_candidates_by_the_cosine_of_their_sealed_embeddings(server, ctx, tmp_path):
    embedding = DeterministicFakeEmbedding(size=16)
    store = store_on(server, ctx, tmp_path, embedding, rerank=4)
    texts = [f"passage {i}" for i in range(30)]
    store.add_texts(texts, ids=[str(i) for i in range(30)])
    query = embedding.embed_query("passage 7")
    scored = store.similarity_search_with_score_by_vector(query, k=5)
    assert scored[0][0].id == "7" and abs(scored[0][1]) < 1e-6
    assert [s for _, s in scored] == sorted(s for _, s in scored)
    # The exact cosine order of the candidates a Hamming search gives (20 of them).
    import numpy as np
    vectors = np.array(embedding.embed_documents(texts))
    cosines = vectors @ np.array(query) / (np.linalg.norm(vectors, axis=1) * np.linalg.norm(query))
    for doc, score in scored:
        assert abs(score - (1 - cosines[int(doc.id)])) < 1e-5
    assert store.similarity_search_with_relevance_scores("passage 7", k=1)[0][1] > 0.999


def test_bad_inputs_are_refused_with_the_library_errors(store):
    with pytest.raises(InvalidInputError, match="not a string"):
        store.add_texts(["x"], ids=[7])
    with pytest.raises(InvalidInputError, match="not JSON"):
        store.add_texts(["x"], [{"when": {1, 2}}])
    with pytest.raises(InvalidInputError, match="come back the same"):
        store.add_texts(["x"], [{"pair": (1, 2)}])
    with pytest.raises(InvalidInputError, match="come back the same"):
        store.add_texts(["x"], [{1: "int key"}])
    with pytest.raises(InvalidInputError, match="twice"):
        store.add_texts(["x", "y"], ids=["same", "same"])
    store.add_texts(["x"], ids=["x"])
    with pytest.raises(InvalidInputError, match="dimensions"):
        store.similarity_search_by_vector([0.5] * 15)
    with pytest.raises(InvalidInputError, match="at most 5"):
        PaillierVectorStore(store.embeddings, client=None, kb_id="kb", context=store._records._context,
                            filterable=("a", "b", "c", "d", "e", "f"))


def test_a_lying_service_is_refused_with_the_library_error(server, proxy, ctx, tmp_path):
    store = store_on(server, ctx, tmp_path, DeterministicFakeEmbedding(size=16), url=proxy.url)
    store.add_texts([f"text {i}" for i in range(12)], ids=[str(i) for i in range(12)])
    assert store.similarity_search("text 3", k=1)[0].id == "3"
    for kind in ("page_drop", "page_flip", "page_twice"):
        proxy(kind=kind, vector_bytes=256 // 8)
        with pytest.raises(AnswerRejectedError):
            store.similarity_search("text 3", k=3)
        with pytest.raises(AnswerRejectedError):
            store.get_by_ids(["3"])
    proxy()
    assert store.similarity_search("text 3", k=1)[0].id == "3"


def test_importing_the_package_imports_no_framework():
    imported = subprocess.run(
        [sys.executable, "-c", "import sys, paillier_gpu, paillier_gpu.client; print(sorted(m for m in sys.modules "
         "if m.startswith(('langchain', 'llama_index'))))"], capture_output=True, text=True, check=True)
    assert imported.stdout.strip() == "[]"
