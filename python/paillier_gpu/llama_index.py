"""LlamaIndex's vector store over a knowledge base whose service sees nothing it could read:
`PaillierVectorStore`, a `BasePydanticVectorStore` that stores text.

Nodes arrive with their embeddings (the index's `embed_model` makes them). Each is stored as the
LangChain store's records are (`paillier_gpu.langchain`): the embedding projected onto the
context's bits by hyperplanes the owner keys, a verifiable record of private metadata with its
vector sealed, the node itself (its text, metadata and relationships) in the sealed document.
The service matches on keyed tokens only: the node's id, its document's id (what `delete`
selects) and the values of up to five metadata keys declared filterable. A query is verified
whole: a record the service forged, dropped or replayed raises `AnswerRejectedError`. The async
methods run the sync ones on a worker thread, off the event loop. Importing this module needs
`llama-index-core` (`pip install paillier-gpu[llama-index]`)."""

from __future__ import annotations

import asyncio
from typing import Any, List, Optional, Sequence

from llama_index.core.bridge.pydantic import PrivateAttr
from llama_index.core.schema import BaseNode, MetadataMode
from llama_index.core.vector_stores.types import (
    BasePydanticVectorStore,
    FilterCondition,
    FilterOperator,
    MetadataFilters,
    VectorStoreQuery,
    VectorStoreQueryResult,
)
from llama_index.core.vector_stores.utils import metadata_dict_to_node, node_to_metadata_dict

from ._rag import RecordStore, check_json
from .errors import InvalidInputError

__all__ = ["PaillierVectorStore"]

# What a node's document facet starts with.
DOC_FACET = "doc:"


class PaillierVectorStore(BasePydanticVectorStore):
    """A LlamaIndex vector store whose records the service can neither read nor alter unseen.

    `client` is a `paillier_gpu.client.Client`, `context` the owner's `ExecutionContext`,
    `kb_id` a knowledge base this store alone writes; `verify`, `filterable`, `partitions` and
    `rerank` as `paillier_gpu.langchain.PaillierVectorStore` takes them (with `rerank`, a
    node's similarity is the cosine of its float embedding and the query's).

    ```python
    store = PaillierVectorStore(client=client, kb_id=kb, context=ctx)
    index = VectorStoreIndex.from_vector_store(store, embed_model=embed_model)
    index.as_retriever(similarity_top_k=3).retrieve("a question")
    ```
    """

    stores_text: bool = True
    _records: RecordStore = PrivateAttr()
    _client: Any = PrivateAttr()
    _rerank: Optional[int] = PrivateAttr()

    def __init__(self, *, client: Any, kb_id: str, context: Any, verify: bool = True,
                 filterable: Sequence[str] = (), partitions: Any = None,
                 rerank: Optional[int] = None) -> None:
        super().__init__()
        self._client = client
        self._rerank = rerank
        self._records = RecordStore(client, kb_id, context, verify=verify, filterable=filterable,
                                    partitions=partitions)

    @classmethod
    def class_name(cls) -> str:
        return "PaillierVectorStore"

    @property
    def client(self) -> Any:
        return self._client

    def add(self, nodes: Sequence[BaseNode], **kwargs: Any) -> List[str]:
        """Stores `nodes` (each with its embedding); a node stored under its id already is
        replaced. Their ids."""
        nodes = list(nodes)
        embeddings = []
        for node in nodes:
            embedding = node.get_embedding() if node.embedding is not None else None
            if embedding is None:
                raise InvalidInputError(f"node {node.node_id} has no embedding: the index's "
                                        f"embed_model makes them")
            embeddings.append(embedding)
        for node in nodes:
            if not isinstance(node.node_id, str):
                raise InvalidInputError(f"an id that is not a string: {node.node_id!r}")
            check_json(node.metadata)
        texts = [node.get_content(metadata_mode=MetadataMode.NONE) for node in nodes]
        try:
            stored = [node_to_metadata_dict(node, remove_text=True, flat_metadata=False) for node in nodes]
        except (TypeError, ValueError) as error:
            raise InvalidInputError(f"metadata that is not JSON: {error}") from None
        facets = [[DOC_FACET + node.ref_doc_id] if node.ref_doc_id else [] for node in nodes]
        return self._records.put(texts, embeddings, stored, [node.node_id for node in nodes],
                                 filtered=[node.metadata for node in nodes], facets=facets)

    def delete(self, ref_doc_id: str, **delete_kwargs: Any) -> None:
        """Deletes every node of document `ref_doc_id`."""
        found = self._records.find(facet=DOC_FACET + ref_doc_id)
        self._records.delete_chunks([record["chunk_id"] for record in found])

    def delete_nodes(self, node_ids: Optional[List[str]] = None, filters: Optional[MetadataFilters] = None,
                     **delete_kwargs: Any) -> None:
        """Deletes the nodes of `node_ids`, or those `filters` selects."""
        if node_ids is not None:
            self._records.delete(node_ids)
        elif filters is not None:
            found = self._records.find(_filter(filters))
            self._records.delete_chunks([record["chunk_id"] for record in found])

    def clear(self) -> None:
        self._records.delete(None)

    def get_nodes(self, node_ids: Optional[List[str]] = None,
                  filters: Optional[MetadataFilters] = None) -> List[BaseNode]:
        """The nodes of `node_ids` (in that order), or those `filters` selects, each verified."""
        if node_ids is not None:
            records = self._records.get(node_ids)
        else:
            records = self._records.find(_filter(filters))
        return [_node(record) for record in records]

    def query(self, query: VectorStoreQuery, **kwargs: Any) -> VectorStoreQueryResult:
        """The `similarity_top_k` nodes nearest the query's embedding, nearest first, each with
        its similarity: 1 less its Hamming distance over the context's bits, or with `rerank`
        the cosine."""
        if query.query_embedding is None:
            raise InvalidInputError("a query needs its embedding (the index's embed_model makes it)")
        if query.doc_ids or query.node_ids:
            raise InvalidInputError("a query restricted to doc_ids or node_ids: filter on a declared "
                                    "metadata key instead")
        hits = self._records.search(query.query_embedding, query.similarity_top_k, _filter(query.filters),
                                    self._rerank)
        bits = self._records.bits
        similarities = [1.0 - hit["cosine_distance"] if self._rerank else 1.0 - hit["distance"] / bits
                        for hit in hits]
        return VectorStoreQueryResult(
            nodes=[_node(hit) for hit in hits],
            similarities=similarities,
            ids=[hit["id"] for hit in hits],
        )

    async def async_add(self, nodes: Sequence[BaseNode], **kwargs: Any) -> List[str]:
        return await asyncio.to_thread(self.add, nodes, **kwargs)

    async def adelete(self, ref_doc_id: str, **delete_kwargs: Any) -> None:
        await asyncio.to_thread(self.delete, ref_doc_id, **delete_kwargs)

    async def adelete_nodes(self, node_ids: Optional[List[str]] = None,
                            filters: Optional[MetadataFilters] = None, **delete_kwargs: Any) -> None:
        await asyncio.to_thread(self.delete_nodes, node_ids, filters, **delete_kwargs)

    async def aclear(self) -> None:
        await asyncio.to_thread(self.clear)

    async def aget_nodes(self, node_ids: Optional[List[str]] = None,
                         filters: Optional[MetadataFilters] = None) -> List[BaseNode]:
        return await asyncio.to_thread(self.get_nodes, node_ids, filters)

    async def aquery(self, query: VectorStoreQuery, **kwargs: Any) -> VectorStoreQueryResult:
        return await asyncio.to_thread(self.query, query, **kwargs)


def _node(record: dict) -> BaseNode:
    return metadata_dict_to_node(record["metadata"], text=record["text"])


def _filter(filters: Optional[MetadataFilters]) -> Optional[dict]:
    """LlamaIndex's filters as the record store takes them: EQ and IN on declared keys, joined
    by AND (or a lone OR)."""
    if filters is None or not filters.filters:
        return None
    if filters.condition not in (FilterCondition.AND, FilterCondition.OR, None):
        raise InvalidInputError(f"filters joined by {filters.condition.value}: the service matches "
                                f"tokens joined by AND")
    parts = []
    for item in filters.filters:
        if isinstance(item, MetadataFilters):
            parts.append(_filter(item))
        elif item.operator == FilterOperator.EQ:
            parts.append({item.key: item.value})
        elif item.operator == FilterOperator.IN:
            parts.append({item.key: {"$in": list(item.value)}})
        else:
            raise InvalidInputError(
                f"a filter {item.operator.value} on {item.key!r}: the service matches tokens, so a "
                f"filter takes == or in")
    if filters.condition == FilterCondition.OR and len(parts) > 1:
        raise InvalidInputError("filters joined by OR: the service matches tokens joined by AND")
    return parts[0] if len(parts) == 1 else {"$and": parts}
