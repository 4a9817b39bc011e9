"""The records both RAG vector stores keep (`paillier_gpu.langchain`, `paillier_gpu.llama_index`),
with no framework imported: texts with float embeddings, string ids and metadata dicts turned
into the client's records, and back.

- A record's vector is its embedding projected onto the context's bits by hyperplanes the owner
  keys (`ExecutionContext.project`).
- Its sealed document holds the text, the caller's metadata, id and float embedding (float32,
  for a search that reranks its candidates by cosine) as JSON (`content`), so that any key works
  and every JSON type comes back as it went; metadata that would not come back the same (a
  tuple, a set, a key that is not a string, NaN) is refused.
- The service matches on keyed tokens only: in `facets`, the id (`id:` before it: what a lookup
  by id selects) and any facets the store adds (a LlamaIndex node's document, `doc:` before
  it); and the values of up to five keys the caller declares filterable in `tag1`–`tag5` (in the
  order declared, which each record's document keeps: a store declaring them otherwise is
  refused at its first read), each the value's JSON text (so 1 and "1" differ).
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import uuid
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

from .errors import AnswerRejectedError, InvalidInputError

FILTER_TAGS = ("tag1", "tag2", "tag3", "tag4", "tag5")
# What a record's id facet starts with.
ID_FACET = "id:"
# Ids a lookup names in one `find` (a `$any` of their tokens).
IDS_A_LOOKUP = 256


class RecordStore:
    """A knowledge base of the stores' records (see the module's documentation)."""

    def __init__(self, client: Any, kb_id: str, context: Any, *, verify: bool = True,
                 filterable: Sequence[str] = (), partitions: Any = None) -> None:
        filterable = tuple(filterable)
        if (len(filterable) > len(FILTER_TAGS) or len(set(filterable)) != len(filterable)
                or not all(isinstance(key, str) for key in filterable)):
            raise InvalidInputError(
                f"filterable: at most {len(FILTER_TAGS)} distinct metadata keys (strings), got "
                f"{filterable!r}")
        self._client = client
        self._kb = kb_id
        self._context = context
        self._verify = verify
        self._tags = dict(zip(filterable, FILTER_TAGS))
        self._partitions = partitions
        self.bits = context.embedding_length
        self._dims: Optional[int] = None

    @property
    def _mode(self) -> Dict[str, bool]:
        return {"verifiable": self._verify, "private_meta": True}

    def put(self, texts: List[str], embeddings: List[List[float]], metadatas: Optional[List[Any]],
            ids: Optional[List[Optional[str]]], filtered: Optional[List[dict]] = None,
            facets: Optional[List[List[str]]] = None) -> List[str]:
        """Stores each text under its id (a fresh one where None); a record stored under an id
        already is replaced. `filtered`: each record's values the filterable keys are read from
        (none: its metadata); `facets`: more facets each record is found by. The ids, in
        order."""
        count = len(texts)
        metadatas = [None] * count if metadatas is None else list(metadatas)
        ids = [None] * count if ids is None else list(ids)
        if len(metadatas) != count or len(ids) != count or len(embeddings) != count:
            raise InvalidInputError(f"{count} texts, {len(embeddings)} embeddings, "
                                    f"{len(metadatas)} metadatas and {len(ids)} ids")
        # Only ids the caller gave can be stored already.
        named = [given for given in ids if given is not None]
        ids = [uuid.uuid4().hex if given is None else given for given in ids]
        for given in ids:
            if not isinstance(given, str):
                raise InvalidInputError(f"an id that is not a string: {given!r}")
        if len(set(ids)) != count:
            raise InvalidInputError("an id is given twice in one write")
        if count == 0:
            return []
        vectors = self._project(embeddings)
        metadatas = [{} if meta is None else meta for meta in metadatas]
        filtered = metadatas if filtered is None else filtered
        facets = [[] for _ in ids] if facets is None else facets
        documents = [self._document(*record)
                     for record in zip(texts, metadatas, ids, filtered, facets, embeddings)]
        stored = self._chunk_ids(named) if named else {}
        replaced = [i for i, given in enumerate(ids) if given in stored]
        added = [i for i, given in enumerate(ids) if given not in stored]
        if replaced:
            self._client.update(self._kb, self._context, [stored[ids[i]] for i in replaced],
                                vectors[replaced], [documents[i] for i in replaced], **self._mode)
        if added:
            self._client.upload(self._kb, self._context, vectors[added], [documents[i] for i in added],
                                partitions=self._partitions, sealed_vectors=self._verify, **self._mode)
        return ids

    def get(self, ids: Sequence[str]) -> List[Dict[str, Any]]:
        """The records of `ids` that are stored (`{"id", "text", "metadata"}`), in the order
        asked, each verified."""
        ids = list(ids)
        found = {record["id"]: record for record in self._find(ids)}
        return [found[given] for given in ids if given in found]

    def find(self, filter: Optional[dict] = None, facet: Optional[str] = None) -> List[Dict[str, Any]]:
        """The records `filter` selects (as `search` takes it), or those of `facet`; every
        record when neither. Each verified."""
        sent = self.filter(filter) or {}
        if facet is not None:
            sent = {"$and": [sent, {"facets": {"$any": [facet]}}]} if sent else {"facets": {"$any": [facet]}}
        found = self._client.find(self._kb, self._context, sent, **self._mode)
        return [self._opened(hit) for hit in found]

    def delete_chunks(self, chunk_ids: List[int]) -> None:
        """Deletes records by their chunk ids (as `find` gives them)."""
        if chunk_ids:
            self._client.delete(self._kb, self._context, chunk_ids, **self._mode)

    def delete(self, ids: Optional[Sequence[str]]) -> None:
        """Deletes the records of `ids` (every record when None); ids not stored are passed
        over."""
        if ids is None:
            self._client.delete_by_meta(self._kb, self._context, {}, **self._mode)
            return
        stored = self._chunk_ids(list(ids))
        if stored:
            self._client.delete(self._kb, self._context, list(stored.values()), **self._mode)

    def search(self, embedding: List[float], k: int, filter: Optional[dict],
               rerank: Optional[int] = None) -> List[Dict[str, Any]]:
        """The `k` records nearest `embedding` (`{"id", "text", "metadata", "distance",
        "embedding"}`), nearest first by Hamming distance, verified whole. With `rerank` (m):
        the `m × k` nearest by Hamming distance, then the `k` of them nearest by the cosine of
        their sealed float embeddings (`"cosine_distance"`: 1 less the cosine), nearest
        first."""
        if k <= 0:
            return []
        if rerank is not None and (not isinstance(rerank, int) or rerank < 1):
            raise InvalidInputError(f"rerank: a whole number of candidates a result, at least 1; got {rerank!r}")
        bits = self._project([embedding])[0]
        hits = self._client.search(self._kb, self._context, bits, top_k=k * (rerank or 1),
                                   filter=self.filter(filter), verify=self._verify, private_meta=True,
                                   with_content=True)
        records = []
        for hit in hits:
            record = self._opened(hit)
            if record["dims"] != len(embedding):
                raise InvalidInputError(
                    f"the store's records were embedded in {record['dims']} dimensions, the query "
                    f"in {len(embedding)}")
            record["distance"] = hit["distance"]
            records.append(record)
        if rerank is None:
            return records
        query = np.asarray(embedding, dtype=np.float64)
        query_norm = float(np.linalg.norm(query)) or 1.0
        for record in records:
            stored = record["embedding"].astype(np.float64)
            cosine = float(stored @ query) / ((float(np.linalg.norm(stored)) or 1.0) * query_norm)
            record["cosine_distance"] = 1.0 - cosine
        records.sort(key=lambda r: (r["cosine_distance"], r["distance"], r["chunk_id"]))
        return records[:k]

    def filter(self, filter: Optional[dict]) -> Optional[dict]:
        """`filter` (on the caller's keys: a value, `{"$eq": v}`, `{"$in": [..]}`, several keys
        or `{"$and": [..]}`) on the tags that hold their tokens; none for no filter."""
        if not filter:
            return None
        if not isinstance(filter, dict):
            raise InvalidInputError(f"a filter is a dict, got {filter!r}")
        sent: Dict[str, Any] = {}
        for key, condition in filter.items():
            if key == "$and":
                if not isinstance(condition, list):
                    raise InvalidInputError("$and takes a list of filters")
                parts = [self.filter(part) for part in condition]
                sent["$and"] = [part for part in parts if part]
            else:
                sent[self._tag(key)] = self._condition(key, condition)
        return sent

    def _tag(self, key: str) -> str:
        tag = self._tags.get(key)
        if tag is None:
            declared = ", ".join(repr(k) for k in self._tags) or "none"
            raise InvalidInputError(
                f"a filter on {key!r}: only the keys declared filterable can be filtered on "
                f"(declared: {declared}); declare it with filterable=(...) when the store is made")
        return tag

    def _condition(self, key: str, condition: Any) -> Any:
        if not isinstance(condition, dict):
            return _value(condition)
        if set(condition) == {"$eq"}:
            return _value(condition["$eq"])
        if set(condition) == {"$in"} and isinstance(condition["$in"], list):
            return {"$in": [_value(v) for v in condition["$in"]]}
        raise InvalidInputError(
            f"a filter on {key!r}: {condition!r}; the service matches tokens, so a filter takes a "
            f"value, $eq or $in")

    def _project(self, embeddings: List[List[float]]):
        dims = {len(embedding) for embedding in embeddings}
        if len(dims) != 1:
            raise InvalidInputError(f"embeddings of different sizes: {sorted(dims)}")
        (size,) = dims
        if self._dims is not None and size != self._dims:
            raise InvalidInputError(
                f"an embedding of {size} dimensions; this store's have {self._dims}")
        vectors = self._context.project(embeddings)
        self._dims = size
        return vectors

    def _document(self, text: Any, metadata: Any, given: str, filtered: dict, facets: List[str],
                  embedding: List[float]) -> Dict[str, Any]:
        if not isinstance(text, str):
            raise InvalidInputError(f"a text that is not a string: {type(text).__name__}")
        if not isinstance(metadata, dict):
            raise InvalidInputError(f"metadata that is not a dict: {metadata!r}")
        check_json(metadata)
        content = json.dumps({"text": text, "metadata": metadata, "id": given, "dims": self._dims,
                              "filterable": self._tags,
                              "embedding": base64.b64encode(np.asarray(embedding, "<f4").tobytes()).decode()})
        meta_data: Dict[str, Any] = {"facets": [ID_FACET + given, *facets]}
        for key, tag in self._tags.items():
            if key in filtered:
                meta_data[tag] = _value(filtered[key])
        return {"content": content, "meta_data": meta_data}

    def _chunk_ids(self, ids: List[str]) -> Dict[str, int]:
        return {record["id"]: record["chunk_id"] for record in self._find(ids)}

    def _find(self, ids: List[str]) -> List[Dict[str, Any]]:
        """The stored records of `ids`, each verified; one id held twice is refused."""
        records: Dict[str, Dict[str, Any]] = {}
        for start in range(0, len(ids), IDS_A_LOOKUP):
            batch = ids[start:start + IDS_A_LOOKUP]
            tokens = [ID_FACET + given for given in batch]
            found = self._client.find(self._kb, self._context, {"facets": {"$any": tokens}}, **self._mode)
            for hit in found:
                record = self._opened(hit)
                if record["id"] in records:
                    raise AnswerRejectedError(
                        f"two records of knowledge base {self._kb} hold id {record['id']!r} "
                        f"(chunks {records[record['id']]['chunk_id']} and {record['chunk_id']}): "
                        f"a write hidden from a lookup, or another writer")
                records[record["id"]] = record
        return list(records.values())

    def _opened(self, hit: Dict[str, Any]) -> Dict[str, Any]:
        try:
            envelope = json.loads(hit["content"])
            record = {key: envelope[key] for key in ("text", "metadata", "id", "dims")}
            record["embedding"] = np.frombuffer(base64.b64decode(envelope["embedding"]), "<f4")
            written = envelope["filterable"]
        except (TypeError, ValueError, KeyError, binascii.Error):
            raise InvalidInputError(
                f"chunk {hit.get('chunk_id')} of knowledge base {self._kb} was not written by a "
                f"vector store of paillier_gpu") from None
        if written != self._tags:
            raise InvalidInputError(
                f"knowledge base {self._kb} was written by a store whose filterable keys are "
                f"{list(written)}; this one declares {list(self._tags)}: make it with the same "
                f"keys in the same order (each key's values are tokens of its own tag)")
        record["chunk_id"] = hit["chunk_id"]
        return record


def check_json(metadata: Any) -> None:
    """Refuses `metadata` unless it comes back the same through JSON, types included (a set, a
    tuple, NaN or a key that is not a string would not)."""
    try:
        text = json.dumps(metadata, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise InvalidInputError(f"metadata that is not JSON: {error}") from None
    if not _same(json.loads(text), metadata):
        raise InvalidInputError(
            f"metadata that would not come back the same through JSON (a tuple, a key that is "
            f"not a string): {metadata!r}")


def _value(value: Any) -> str:
    """A filterable value as its tag holds it: its JSON text."""
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidInputError(f"a filterable value that is not JSON: {value!r}")
    try:
        return json.dumps(value, sort_keys=True, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise InvalidInputError(f"a filterable value that is not JSON: {error}") from None


def _same(back: Any, sent: Any) -> bool:
    """Whether `back` (through JSON) is `sent`, types included."""
    if type(back) is not type(sent):
        return False
    if isinstance(sent, dict):
        return back.keys() == sent.keys() and all(_same(back[k], sent[k]) for k in sent)
    if isinstance(sent, list):
        return len(back) == len(sent) and all(_same(b, s) for b, s in zip(back, sent))
    return back == sent
