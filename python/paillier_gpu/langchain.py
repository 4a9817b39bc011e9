"""LangChain's vector store over a knowledge base whose service sees nothing it could read:
`PaillierVectorStore`, a `langchain_core.vectorstores.VectorStore`.

Each text is embedded by the caller's `Embeddings`, its floats projected onto the context's
bits by hyperplanes the owner keys (`ExecutionContext.project`), and stored as a verifiable
record of private metadata, its vector sealed (`sealed_vectors`). The document the service
holds is sealed too: the text, the caller's metadata (any keys, any JSON types) and the
caller's id, which round-trip exactly. What the service can match on is keyed tokens only:
each record's id (in `facets`) and the values of up to five metadata keys the caller declares
filterable (`filterable=`, in `tag1`–`tag5`). A search is verified whole: a record the service
forged, dropped or replayed raises `AnswerRejectedError`, never a partial list. Importing this
module needs `langchain-core` (`pip install paillier-gpu[langchain]`)."""

from __future__ import annotations

from typing import Any, Callable, Iterable, List, Optional, Sequence, Tuple

from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.vectorstores import VectorStore
from langchain_core.vectorstores.utils import maximal_marginal_relevance

from ._rag import RecordStore

__all__ = ["PaillierVectorStore"]


class PaillierVectorStore(VectorStore):
    """A LangChain vector store whose records the service can neither read nor alter unseen.

    `embedding` embeds texts and queries; `client` is a `paillier_gpu.client.Client`; `context`
    the owner's `ExecutionContext`; `kb_id` a knowledge base this store alone writes. `verify`
    (the default) stores verifiable sealed vectors and checks every answer; without it, records
    are stored as the SDK's with private metadata, and searches trust the service.
    `filterable`: up to five metadata keys a `filter` may name. `partitions` (an int or
    "auto"): partitions trained by the first write, for large collections. `rerank` (m): each
    search takes the `m × k` records nearest by Hamming distance and returns the `k` of them
    nearest by the cosine of their float embeddings (sealed in each record's document), with
    that cosine distance as the score; None: the Hamming distance orders and scores.

    ```python
    store = PaillierVectorStore(embeddings, client=client, kb_id=kb, context=ctx)
    store.add_texts(["a cat", "a dog"], metadatas=[{"n": 1}, {"n": 2}], ids=["c", "d"])
    store.similarity_search("kitten", k=1)  # [Document(id="c", page_content="a cat", ...)]
    ```
    """

    def __init__(
        self,
        embedding: Embeddings,
        *,
        client: Any,
        kb_id: str,
        context: Any,
        verify: bool = True,
        filterable: Sequence[str] = (),
        partitions: Any = None,
        rerank: Optional[int] = None,
    ) -> None:
        self._embedding = embedding
        self._rerank = rerank
        self._records = RecordStore(client, kb_id, context, verify=verify, filterable=filterable,
                                    partitions=partitions)

    @property
    def embeddings(self) -> Embeddings:
        return self._embedding

    @classmethod
    def from_texts(
        cls,
        texts: List[str],
        embedding: Embeddings,
        metadatas: Optional[List[dict]] = None,
        *,
        ids: Optional[List[str]] = None,
        **kwargs: Any,
    ) -> "PaillierVectorStore":
        """A store (`client`, `kb_id` and `context` among `kwargs`) holding `texts`."""
        store = cls(embedding, **kwargs)
        store.add_texts(texts, metadatas, ids=ids)
        return store

    def add_texts(
        self,
        texts: Iterable[str],
        metadatas: Optional[List[dict]] = None,
        *,
        ids: Optional[List[Optional[str]]] = None,
        **kwargs: Any,
    ) -> List[str]:
        """Stores `texts` with their `metadatas` under `ids` (generated where none is given);
        a record already stored under an id is replaced, in one verified write."""
        texts = list(texts)
        vectors = self._embedding.embed_documents(texts) if texts else []
        return self._records.put(texts, vectors, metadatas, ids)

    def add_documents(self, documents: List[Document], **kwargs: Any) -> List[str]:
        ids = kwargs.pop("ids", None)
        if ids is None:
            ids = [document.id for document in documents]
        return self.add_texts([d.page_content for d in documents], [d.metadata for d in documents],
                              ids=ids, **kwargs)

    def delete(self, ids: Optional[List[str]] = None, **kwargs: Any) -> Optional[bool]:
        """Deletes the records of `ids` (every record when None); ids not stored are passed
        over."""
        self._records.delete(ids)
        return True

    def get_by_ids(self, ids: Sequence[str], /) -> List[Document]:
        """The records of `ids` that are stored, in the order asked, each one verified."""
        return [_document(record) for record in self._records.get(ids)]

    def similarity_search_with_score_by_vector(
        self, embedding: List[float], k: int = 4, filter: Optional[dict] = None, **kwargs: Any
    ) -> List[Tuple[Document, float]]:
        """The `k` records nearest `embedding`, nearest first, each with its distance (lower is
        nearer): the Hamming distance to the query's bits, or with `rerank` the cosine
        distance."""
        hits = self._records.search(embedding, k, filter, self._rerank)
        score = "distance" if self._rerank is None else "cosine_distance"
        return [(_document(hit), float(hit[score])) for hit in hits]

    def similarity_search_by_vector(
        self, embedding: List[float], k: int = 4, filter: Optional[dict] = None, **kwargs: Any
    ) -> List[Document]:
        return [doc for doc, _ in self.similarity_search_with_score_by_vector(embedding, k, filter)]

    def similarity_search_with_score(
        self, query: str, k: int = 4, filter: Optional[dict] = None, **kwargs: Any
    ) -> List[Tuple[Document, float]]:
        embedding = self._embedding.embed_query(query)
        return self.similarity_search_with_score_by_vector(embedding, k, filter)

    def similarity_search(
        self, query: str, k: int = 4, filter: Optional[dict] = None, **kwargs: Any
    ) -> List[Document]:
        return [doc for doc, _ in self.similarity_search_with_score(query, k, filter)]

    def _select_relevance_score_fn(self) -> Callable[[float], float]:
        # A Hamming distance over the context's bits (0: the same direction, bits: the
        # opposite), or a cosine distance (0 to 2).
        if self._rerank is not None:
            return lambda distance: 1.0 - distance / 2.0
        bits = self._records.bits
        return lambda distance: 1.0 - distance / bits

    def max_marginal_relevance_search_by_vector(
        self,
        embedding: List[float],
        k: int = 4,
        fetch_k: int = 20,
        lambda_mult: float = 0.5,
        filter: Optional[dict] = None,
        **kwargs: Any,
    ) -> List[Document]:
        """The `fetch_k` nearest records by a verified search, then `k` of them chosen by
        maximal marginal relevance over their float embeddings (sealed in their documents)."""
        hits = self._records.search(embedding, fetch_k, filter, self._rerank)
        if not hits:
            return []
        import numpy as np

        embedded = [hit["embedding"] for hit in hits]
        chosen = maximal_marginal_relevance(np.array(embedding), embedded, lambda_mult=lambda_mult,
                                            k=min(k, len(hits)))
        return [_document(hits[i]) for i in chosen]

    def max_marginal_relevance_search(
        self,
        query: str,
        k: int = 4,
        fetch_k: int = 20,
        lambda_mult: float = 0.5,
        filter: Optional[dict] = None,
        **kwargs: Any,
    ) -> List[Document]:
        embedding = self._embedding.embed_query(query)
        return self.max_marginal_relevance_search_by_vector(embedding, k, fetch_k, lambda_mult, filter)


def _document(record: dict) -> Document:
    return Document(id=record["id"], page_content=record["text"], metadata=record["metadata"])

