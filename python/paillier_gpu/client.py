"""A client of an XTrace service (`paillier-gpu serve`, or XTrace's hosted one) for records the
owner can check and metadata the service cannot read.

The client speaks HTTP only (the standard library's `urllib`); what it sends and how it checks
what comes back (keys, ciphertexts, tags, seals, tokens, the ranking and the refusals) is the
library's `paillier_gpu::verifiable::RecordCodec` (bound here as `RecordCodec`), the same code
the Rust client and the CLI run::

    from paillier_gpu import ExecutionContext
    from paillier_gpu.client import Client

    ctx = ExecutionContext.load_from_disk(passphrase=passphrase, path="ctx.json")
    client = Client("http://127.0.0.1:8742", org_id, api_key)
    ids = client.upload(kb_id, ctx, vectors, documents, verifiable=True, private_meta=True)
    hits = client.search(kb_id, ctx, query, top_k=5, verify=True, private_meta=True,
                         with_content=True, expect_count=len(ids))

A verified search whose answer fails any check raises `AnswerRejectedError` naming the chunk ids
and what each failed, and returns nothing of it. A knowledge base written with `verifiable` or
`private_meta` is for our clients: the SDK's decoder would read the extra plaintext bits as
slots, and cannot open the sealed contents.
"""

import json
import ssl
import urllib.error
import urllib.parse
import urllib.request

from ._native import Ciphertexts, RecordCodec
from .errors import AnswerRejectedError, PaillierGpuError

__all__ = ["Client", "RemoteError", "RemoteUnreachableError", "UPLOAD_BATCH"]

#: Chunks per insert request, as the SDK sends them.
UPLOAD_BATCH = 500
#: Ids per `GET /v1/chunk` request.
IDS_PER_REQUEST = 200
#: The most digits an integer in an answer may have: a ciphertext's at key_len 4096 (n² of
#: 16,384 bits) has 4,933.
MAX_DIGITS = 5_000


class RemoteError(PaillierGpuError):
    """The service answered with an error status; `status` is it, the message the service's."""

    def __init__(self, status, message):
        super().__init__(f"the service answered {status}: {message}")
        self.status, self.message = status, message


class RemoteUnreachableError(PaillierGpuError):
    """The service could not be reached, or its answer could not be read."""


class Client:
    """A data-plane client of one organisation on one service (header `x-api-key`, paths ending
    in the organisation's id). `ca_cert`: a PEM file to trust besides the system's."""

    def __init__(self, url, org_id, api_key, *, ca_cert=None, timeout=600):
        url = url.rstrip("/")
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"the service address {url!r} must start with http:// or https://")
        if not org_id or "/" in org_id:
            raise ValueError(f"the organisation id {org_id!r} is empty or holds a '/'")
        self._url, self._org, self._key, self._timeout = url, org_id, api_key, timeout
        self._tls = ssl.create_default_context(cafile=ca_cert) if ca_cert else None

    def __repr__(self):
        return f"Client(url={self._url!r}, org_id={self._org!r}, api_key=<redacted>)"

    # -- HTTP ---------------------------------------------------------------------------------

    def _request(self, method, route, body=None, query=None, tail=""):
        address = f"{self._url}/v1/{route}/{self._org}{tail}"
        if query:
            address += "?" + urllib.parse.urlencode(query, doseq=True)
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(address, data=data, method=method)
        request.add_header("x-api-key", self._key)
        request.add_header("Accept", "application/json")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=self._timeout, context=self._tls) as answer:
                text = answer.read()
        except urllib.error.HTTPError as error:
            raise RemoteError(error.code, _message_of(error.read(), error.reason)) from None
        except (urllib.error.URLError, OSError) as error:
            raise RemoteUnreachableError(f"{address}: {error}") from None
        try:
            return json.loads(text, parse_int=_integer)
        except (ValueError, RecursionError) as error:
            raise RemoteUnreachableError(f"{address}: the answer is not JSON: {error}") from None

    def _chunks_by_id(self, kb_id, chunk_ids, projection):
        chunks = []
        for start in range(0, len(chunk_ids), IDS_PER_REQUEST):
            ids = chunk_ids[start : start + IDS_PER_REQUEST]
            query = {"kb_id": kb_id, "chunk_ids": ids, "projection": projection}
            chunks.extend(_list_of(self._request("GET", "chunk", query=query), "the chunks by id"))
        by_id = {}
        for chunk in chunks:
            if isinstance(chunk, dict):
                by_id.setdefault(chunk.get("chunk_id"), chunk)
        return by_id

    # -- writing ------------------------------------------------------------------------------

    def push_context(self, context):
        """Stores `context` on the service under its id (the context file's form, its secret
        key sealed, as `save_to_disk` writes it); storing the same context again, by this
        client, the CLI's `context push` or `save_to_remote`, changes nothing. Its id.

        Each sealing of the secret key differs, and the service keeps the first bytes stored
        under an id (a 409 for others), so on a 409 the stored context is fetched and accepted
        when it is this same context: it opens under this context's key provider as its id,
        with the same public key. Another context under the id keeps the `RemoteError` 409."""
        context_id = context.hash()
        body = {"data": json.loads(context.serialize_exec_context()), "context_id": context_id}
        try:
            answer = self._request("POST", "exec_context", body)
        except RemoteError as error:
            if error.status != 409:
                raise
            try:
                stored = self._request("GET", "exec_context", tail=f"/{urllib.parse.quote(context_id, safe='')}")
                same = context.is_stored_as(stored)
            except PaillierGpuError:
                same = False
            if not same:
                raise error from None
            return context_id
        return answer.get("context_id", context_id) if isinstance(answer, dict) else context_id

    def upload(self, kb_id, context, vectors, documents=None, *, verifiable=False, private_meta=False):
        """Encrypts `vectors` and uploads them into `kb_id`, each with its document
        (`{"content", "meta_data", "name"}`), in requests of `UPLOAD_BATCH`. Returns the chunk
        ids in order. A request whose answer did not arrive is not sent again (it may have been
        stored): the error says which chunks were stored before it."""
        codec = RecordCodec(context, kb_id, verifiable, private_meta)
        chunks = json.loads(codec.chunks(vectors, None if documents is None else json.dumps(documents)))
        ids = []
        for start in range(0, len(chunks), UPLOAD_BATCH):
            body = {"kb_id": kb_id, "context_id": context.hash(), "chunks": chunks[start : start + UPLOAD_BATCH]}
            try:
                answer = self._request("POST", "chunk", body)
            except RemoteUnreachableError as error:
                last = min(start + UPLOAD_BATCH, len(chunks)) - 1
                message = (f"{error}; the request for records {start} to {last} got no answer and may "
                           "have been stored: it is not sent again (uploading them again would store "
                           "second copies; a verified search given the expected count says whether "
                           "they are there)")
                if ids:
                    message += f"; {len(ids)} chunks were stored before this (ids {ids[0]} to {ids[-1]})"
                raise RemoteUnreachableError(message) from None
            except PaillierGpuError as error:
                if ids:
                    raise type(error)(*_with_stored(error, ids)) from None
                raise
            sent = len(body["chunks"])
            given = answer.get("chunk_ids") if isinstance(answer, dict) else None
            if not (isinstance(given, list) and len(given) == sent and len(set(given)) == sent
                    and all(type(i) is int for i in given)):
                raise RemoteUnreachableError(
                    f"the insert of records {start} to {start + sent - 1} was answered without "
                    f"{sent} chunk ids: {str(answer)[:200]}")
            ids.extend(given)
        return ids

    def update(self, kb_id, context, chunk_ids, vectors, documents=None, *, verifiable=False, private_meta=False):
        """Replaces records `chunk_ids` whole: verifiable records get a new nonce, and their
        documents are sealed anew."""
        codec = RecordCodec(context, kb_id, verifiable, private_meta)
        chunks = json.loads(codec.chunks(vectors, None if documents is None else json.dumps(documents)))
        if len(chunks) != len(chunk_ids):
            raise ValueError(f"{len(chunk_ids)} chunk ids for {len(chunks)} vectors")
        updates = [dict(chunk, chunk_id=chunk_id) for chunk, chunk_id in zip(chunks, chunk_ids)]
        self._request("PUT", "chunk", {"kb_id": kb_id, "context_id": context.hash(), "chunk_updates": updates})

    # -- reading ------------------------------------------------------------------------------

    def search(self, kb_id, context, vector, *, top_k=10, filter=None, range=None, verify=False,
               expect_count=None, with_content=False, private_meta=False):
        """The `top_k` nearest records to `vector`: `[{"chunk_id", "distance"}]`, nearest first
        (ties by id), with `with_content` also each one's `content`, `meta_data` and `name` as
        the owner wrote them. With `verify` (records uploaded `verifiable`), the whole answer is
        checked and the top k's documents opened under their records; any failure raises
        `AnswerRejectedError`. `expect_count` (no filter, no range): the knowledge base holds
        that many records."""
        if expect_count is not None and (filter is not None or range is not None):
            raise ValueError("an expected count only holds for a search with no filter and no range")
        if expect_count is not None and not verify:
            raise ValueError("an expected count is checked only on a verified search (verify=True)")
        codec = RecordCodec(context, kb_id, verify, private_meta)
        query = context.encrypt_vec_one(vector).to_b64()[0]
        body = {"kb_id": kb_id, "context_id": context.hash(), "query": query}
        if filter is not None:
            body["meta_filter"] = codec.filter(json.dumps(filter))
        if range is not None:
            range = (int(range[0]), int(range[1]))
            body["range"] = list(range)
        answer = _list_of(self._request("POST", "compute_hamming", body), "the compute_hamming answer")
        # A verified search's bad answer is a lie like any other; an unverified one's, an
        # answer this client cannot read.
        bad = AnswerRejectedError if verify else RemoteUnreachableError
        responses, chunk_ids = _hamming_records(answer, len(query), bad)
        try:
            top = codec.rank(vector, responses, chunk_ids, top_k, range, expect_count)
        except AnswerRejectedError:
            raise
        except PaillierGpuError as error:
            raise bad(_located(context, responses, chunk_ids, error, decode=not verify)) from None
        hits = [{"chunk_id": chunk_id, "distance": distance} for chunk_id, distance, _ in top]
        if codec.opens_documents(with_content):
            documents = self._open(kb_id, codec, [(chunk_id, nonce) for chunk_id, _, nonce in top], filter)
            if with_content:
                for hit, document in zip(hits, documents):
                    hit.update(document)
        return hits

    def find(self, kb_id, context, filter, *, verifiable=False, private_meta=False, sort_by=None,
             sort_order="asc", limit=None):
        """The records whose metadata passes `filter`: `[{"chunk_id", "content", "meta_data",
        "name"}]`, as the owner wrote them. Verifiable records are checked first (each one's own
        tag). `sort_by`/`limit` page through the service's `chunk/meta/page`; sorting by a
        private field is refused."""
        return [record for record, _ in self._find(kb_id, context, filter, verifiable, private_meta,
                                                    sort_by, sort_order, limit)]

    def _find(self, kb_id, context, filter, verifiable, private_meta, sort_by=None, sort_order="asc",
              limit=None):
        """`find`'s records, each with the nonce its document was opened under."""
        codec = RecordCodec(context, kb_id, verifiable, private_meta)
        sent = json.loads(codec.filter(json.dumps(filter)))
        if sort_by is None and limit is None:
            body = {"kb_id": kb_id, "context_id": context.hash(), "meta_filter": json.dumps(sent)}
            listed = self._request("POST", "chunk/meta", body)
        else:
            codec.check_sort(sort_by)
            body = {"kb_id": kb_id, "context_id": context.hash(), "meta_filter": sent, "offset": 0,
                    "sort_order": sort_order, "sort_by": sort_by or "chunk_id", "limit": limit}
            page = self._request("POST", "chunk/meta/page", body)
            listed = page.get("results") if isinstance(page, dict) else None
        listed = _list_of(listed, "the metadata search's answer")
        try:
            ids = [int(chunk["chunk_id"]) for chunk in listed]
        except (KeyError, TypeError, ValueError) as error:
            raise RemoteUnreachableError(f"a listed chunk without a chunk id: {error}") from None
        nonces = [None] * len(ids)
        if verifiable and ids:
            stored = self._chunks_by_id(kb_id, ids, ["index"])
            indexes = [stored.get(i, {}).get("index") for i in ids]
            if any(index is None for index in indexes):
                missing = [i for i, index in zip(ids, indexes) if index is None]
                raise RemoteUnreachableError(f"chunks {missing} came back without their index")
            nonces = codec.nonces(indexes, ids)
        documents = self._open(kb_id, codec, list(zip(ids, nonces)), filter)
        return [(dict(document, chunk_id=i), nonce) for i, document, nonce in zip(ids, documents, nonces)]

    def _open(self, kb_id, codec, records, filter=None):
        """The documents of `records` (chunk id, nonce), fetched and opened by the codec."""
        ids = [chunk_id for chunk_id, _ in records]
        stored = self._chunks_by_id(kb_id, ids, ["chunk_content", "meta_data", "name"])
        fetched = [dict({k: stored.get(i, {}).get(k) for k in ("chunk_content", "meta_data", "name")},
                        chunk_id=i, nonce=nonce) for i, nonce in records]
        return json.loads(codec.open(json.dumps(fetched), None if filter is None else json.dumps(filter)))

    # -- edits by metadata --------------------------------------------------------------------

    def delete_by_meta(self, kb_id, context, filter, *, verifiable=False, private_meta=False, dry_run=False):
        """Deletes the records whose metadata passes `filter` (tokenised for private metadata);
        how many were deleted, or with `dry_run` would be. The records are found first as `find`
        finds them (each document opened, each verifiable record checked, each checked against
        the filter), then deleted by id: a filter given in the wrong mode (a private knowledge
        base without `private_meta`, where a `$ne` on plain values would select every record)
        fails to open them and deletes nothing."""
        ids = [record["chunk_id"] for record, _ in self._find(kb_id, context, filter, verifiable, private_meta)]
        if dry_run:
            return len(ids)
        deleted = 0
        for start in range(0, len(ids), IDS_PER_REQUEST):
            query = {"kb_id": kb_id, "chunk_ids": ids[start : start + IDS_PER_REQUEST]}
            answer = self._request("DELETE", "chunk", query=query)
            count = answer.get("deleted_count") if isinstance(answer, dict) else None
            if not isinstance(count, int):
                raise RemoteUnreachableError(f"the delete was answered without a count: {str(answer)[:200]}")
            deleted += count
        return deleted

    def patch_by_meta(self, kb_id, context, filter, patch, *, verifiable=False, private_meta=False):
        """Merges `patch` into the metadata of the records whose metadata passes `filter`. With
        private metadata or verifiable records the sealed documents are patched too (found,
        opened, sealed again, patched by id: not atomic with other writers). The patched ids."""
        if not (verifiable or private_meta):
            body = {"kb_id": kb_id, "context_id": context.hash(), "meta_filter": json.dumps(filter), "patch": patch}
            answer = self._request("PATCH", "chunk/by-meta", body)
            patched = answer.get("chunk_ids") if isinstance(answer, dict) else None
            return _list_of(patched, "the patch by metadata's chunk ids")
        codec = RecordCodec(context, kb_id, verifiable, private_meta)
        # Each document is sealed again under the nonce it was checked and opened under.
        found = self._find(kb_id, context, filter, verifiable, private_meta)
        patches = []
        for record, nonce in found:
            document = {k: record[k] for k in ("content", "meta_data", "name")}
            patches.append(json.loads(codec.patched(record["chunk_id"], json.dumps(document), json.dumps(patch), nonce)))
        if patches:
            self._request("PATCH", "chunk", {"kb_id": kb_id, "context_id": context.hash(), "chunk_patches": patches})
        return [record["chunk_id"] for record, _ in found]


#: Chunk ids are SQL's BIGINT: from 0 to 2^63 - 1.
CHUNK_ID_END = 2**63


def _hamming_records(answer, pieces, bad):
    """compute_hamming's answer (`[[pieces, chunk_id], ...]`) as its responses and chunk ids,
    each of the API's form (`pieces` positive integers a record, a chunk id an integer from 0
    to 2^63 - 1), else `bad` naming the chunk id, or the position where there is none."""
    responses, chunk_ids = [], []
    for position, item in enumerate(answer):
        if not (isinstance(item, list) and len(item) == 2):
            raise bad(f"the compute_hamming answer's record {position} is not [pieces, chunk_id]: "
                      f"{str(item)[:200]}")
        record, chunk_id = item
        if type(chunk_id) is not int or not 0 <= chunk_id < CHUNK_ID_END:
            raise bad(f"the compute_hamming answer's record {position} has the chunk id "
                      f"{str(chunk_id)[:100]!r}: not an integer from 0 to 2^63 - 1")
        if not isinstance(record, list) or len(record) != pieces:
            count = len(record) if isinstance(record, list) else "no list of"
            raise bad(f"chunk {chunk_id}: {count} pieces where the context has {pieces}")
        for k, piece in enumerate(record):
            if type(piece) is not int or piece <= 0:
                raise bad(f"chunk {chunk_id}, piece {k}: {str(piece)[:100]} is not a ciphertext "
                          "(a positive integer below n²)")
        responses.append(record)
        chunk_ids.append(chunk_id)
    return responses, chunk_ids


def _located(context, responses, chunk_ids, error, decode):
    """`error`, raised by the library on a whole answer, with the chunk id of the first record
    that fails alone (each read, and with `decode` decoded, on its own: only on this path;
    a verifiable record is not decoded alone, since its tag's bits are no slots)."""
    for record, chunk_id in zip(responses, chunk_ids):
        try:
            pieces = Ciphertexts.from_b64(context, [record])
            if decode:
                context.decode_hamming_client_batch(pieces)
        except PaillierGpuError as alone:
            return f"chunk {chunk_id}: {alone}"
    return str(error)


def _integer(digits):
    """An integer of the answer, refused past `MAX_DIGITS` digits; read in parts, since Python
    refuses to read more than 4,300 digits at once."""
    if len(digits) > MAX_DIGITS:
        raise ValueError(f"an integer of {len(digits)} digits")
    if len(digits) <= 4_000:
        return int(digits)
    if digits.startswith("-"):
        return -_integer(digits[1:])
    head, tail = digits[:-4_000], digits[-4_000:]
    return _integer(head) * 10**4_000 + int(tail)


def _list_of(value, what):
    if not isinstance(value, list):
        raise RemoteUnreachableError(f"{what} is not a list: {str(value)[:200]}")
    return value


def _message_of(body, fallback):
    try:
        value = json.loads(body)
        for key in ("message", "error", "detail"):
            if isinstance(value, dict) and key in value:
                return str(value[key])
    except ValueError:
        pass
    text = body.decode(errors="replace").strip() if isinstance(body, bytes) else str(body)
    return text[:2000] or str(fallback)


def _with_stored(error, ids):
    stored = f"{len(ids)} chunks were stored before this (ids {ids[0]} to {ids[-1]})"
    if isinstance(error, RemoteError):
        return (error.status, f"{error.message}; {stored}")
    return (f"{error}; {stored}",)
