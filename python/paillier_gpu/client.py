"""A client of an XTrace service (`paillier-gpu serve`, or XTrace's hosted one) for records the
owner can check and metadata the service cannot read.

The client speaks HTTP only (the standard library's `urllib`); what it sends and how it checks
what comes back (keys, ciphertexts, tags, seals, tokens, the owner's digest, the ranking and the
refusals) is the library's `paillier_gpu::verifiable::RecordCodec` (bound here as
`RecordCodec`), the same code the Rust client and the CLI run::

    from paillier_gpu import ExecutionContext
    from paillier_gpu.client import Client

    ctx = ExecutionContext.load_from_disk(passphrase=passphrase, path="ctx.json")
    client = Client("http://127.0.0.1:8742", org_id, api_key)
    uploaded = client.upload(kb_id, ctx, vectors, documents, verifiable=True, private_meta=True,
                             partitions="auto")
    hits = client.search(kb_id, ctx, query, top_k=5, verify=True, private_meta=True,
                         with_content=True)
    # uploaded: [(chunk_id, nonce)]; each hit's "nonce" says which record it is.

Verifiable records are written with the owner's digest (a keyed count of every (chunk id, nonce)
pair, sealed on the service and versioned, and the highest version seen kept in a state folder
shared with the CLI), so that a verified search over the whole knowledge base, or over whole
values of the field the digest counts, holds exactly the records the owner wrote last. A
verified search whose answer fails any check raises `AnswerRejectedError` naming what failed,
and returns nothing of it. A knowledge base written with `verifiable` or `private_meta` is for
our clients: the SDK's decoder would read the extra plaintext bits as slots, and cannot open the
sealed contents.

A knowledge base of verifiable records can be partitioned (`upload(..., partitions=N or "auto")`
on its first upload, or `rebuild_partitions`): a verified search then probes only the partitions
nearest its query (`probe`; by default the fewest whose recall the owner estimated at 0.9), each
checked complete against the owner's digest, whose sealed copy holds the centroids.
"""

import base64
import json
import os
import warnings
import urllib.parse
import urllib.request  # noqa: F401  (tests replace urllib.request.urlopen through this module)

from . import _partitions as partitioned
from ._digest import Digests, Planned, counted_value
from ._edits import Edits
from ._native import Ciphertexts, OwnerState, RecordCodec, check_search
from ._partitions import Partitions
from ._native import UPLOAD_BATCH
from ._transport import (  # noqa: F401  (MAX_DIGITS and _integer: the answers' limits, tested)
    CHUNK_ID_END, MAX_DIGITS, RemoteError, RemoteUnreachableError, Transport, _integer, _list_of, _with_stored,
    checked_ids)
from .errors import AnswerRejectedError, InvalidInputError, PaillierGpuError

__all__ = ["Client", "RemoteError", "RemoteUnreachableError", "UPLOAD_BATCH"]


class Client(Partitions, Edits, Digests, Transport):
    """A data-plane client of one organisation on one service (header `x-api-key`, paths ending
    in the organisation's id). `ca_cert`: a PEM file to trust besides the system's. `state_dir`:
    where the highest digest version seen of each knowledge base is kept (None:
    `$PAILLIER_GPU_STATE_DIR`, else `paillier-gpu/state` in `$XDG_DATA_HOME` or
    `~/.local/share`, as the CLI does); versions seen are also kept for the client's life."""

    def __init__(self, url, org_id, api_key, *, ca_cert=None, timeout=600, state_dir=None):
        super().__init__(url, org_id, api_key, ca_cert=ca_cert, timeout=timeout)
        if state_dir is None:
            env = [os.environ.get(name) for name in ("PAILLIER_GPU_STATE_DIR", "XDG_DATA_HOME", "HOME")]
            state_dir = OwnerState.default_folder(*(value or None for value in env))
        self._state = OwnerState(state_dir)

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

    def upload(self, kb_id, context, vectors, documents=None, *, verifiable=False, private_meta=False,
               partitions=None, balance=None, recall_target=None):
        """Encrypts `vectors` and uploads them into `kb_id`, each with its document
        (`{"content", "meta_data", "name"}`), in requests of `UPLOAD_BATCH`. Returns the chunk
        ids in order, and for verifiable records `[(chunk_id, nonce)]` (the nonce, 32 hex
        digits, is what identifies the record: the service chooses ids). Verifiable records go
        with the owner's digest advanced, each batch in one transaction. A request whose answer
        did not arrive is not sent again (it may have been stored): the error says which chunks
        were stored before it.

        Verifiable records of a partitioned knowledge base each go to the partition nearest
        them, sealed in their document (its metadata field "partition", which the user's may
        not set) and sent as a token. `partitions` (a number, or "auto": about √records)
        partitions an empty knowledge base: the partitions are trained over these vectors
        (`balance`: none above this times the mean; `recall_target`: the recall@10 the
        recommended probe must reach; None: the library's, 1.5 and 0.9) and stored with the
        digest by the first batch. A
        knowledge base with records and no partitions is refused (`rebuild_partitions`
        partitions it); one already partitioned keeps its partitions."""
        count = partitioned.partition_count(partitions)
        if count is not None and not verifiable:
            raise InvalidInputError("partitions are counted by the owner's digest: they need verifiable records "
                                    "(verifiable=True)")
        codec = RecordCodec(context, kb_id, verifiable, private_meta)
        if verifiable:
            upload = codec.upload_records(self._state, vectors, None if documents is None else json.dumps(documents),
                                          count, balance=balance, recall_target=recall_target)
            uploaded, note = self._drive(upload)
            if note is not None:
                warnings.warn(note, stacklevel=2)
            return uploaded
        chunks, _ = codec.chunks(vectors, None if documents is None else json.dumps(documents))
        chunks = json.loads(chunks)
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
            ids.extend(checked_ids(answer, sent, f"the insert of records {start} to {start + sent - 1}"))
        return ids

    # -- reading ------------------------------------------------------------------------------

    def search(self, kb_id, context, vector, *, top_k=10, filter=None, range=None, verify=False,
               expect_count=None, with_content=False, private_meta=False, probe=None, decoys=0, stats=False):
        """The `top_k` nearest records to `vector`: `[{"chunk_id", "distance"}]`, nearest first
        (ties by id), with `with_content` also each one's `content`, `meta_data` and `name` as
        the owner wrote them. With `verify` (records uploaded `verifiable`), the query carries a
        fresh nonce, the whole answer is checked (against the owner's digest where it covers
        the search: no filter and no range, or whole values of the field it counts), each hit
        carries its record's `nonce`, and the top k's documents are opened under their records;
        any failure raises `AnswerRejectedError`. `expect_count` (no filter, no range): the
        knowledge base holds that many records.

        A verified search with no filter and no range of a partitioned knowledge base probes
        the `probe` partitions nearest `vector` (None: the owner's recommendation, sealed with
        the partitions; "all": every record): the service aggregates their records only, and
        the answer is checked complete for each against the owner's digest. `decoys`: each
        wanted partition hidden in a fixed group of at least `decoys + 1` (rounded up to a power
        of two) drawn once under the owner's key, searched and checked like the nearest, so that
        the tokens a query names do not single out its region; a probe of P partitions always
        names P groups. With `stats`, returns `(hits,
        {"records", "answer_bytes", "partitions"})`: the records answered (each decoded here),
        the answer's ciphertext bytes and the partitions probed (None: every record the search
        selects)."""
        probe, decoys = partitioned.search_probe(probe, decoys)
        filtered = filter is not None or range is not None
        check_search(verify, probe, decoys, filtered, expect_count is not None)
        codec = RecordCodec(context, kb_id, verify, private_meta)
        digest = None
        if verify:
            digest = self._current_digest(codec, kb_id, context.hash()).digest
            digest = digest if digest.version > 0 else None
        probed = codec.probed_partitions(digest, vector, probe, filtered or expect_count is not None, decoys)
        if probed is not None:
            filter = partitioned.owner_filter(probed)
        query = codec.encrypt_query(vector)
        if range is not None:
            range = (int(range[0]), int(range[1]))
        sent = None if filter is None else codec.filter(json.dumps(filter))
        responses, chunk_ids = self._hamming(kb_id, context, query, verify, sent, range)
        owner_filter = None if filter is None else json.dumps(filter)
        try:
            top = codec.rank(query, responses, chunk_ids, top_k, range, expect_count, digest, owner_filter)
        except AnswerRejectedError:
            raise
        except PaillierGpuError as error:
            bad = AnswerRejectedError if verify else RemoteUnreachableError
            raise bad(_located(context, responses, chunk_ids, error, decode=not verify)) from None
        hits = [{"chunk_id": chunk_id, "distance": distance} for chunk_id, distance, _ in top]
        if verify:
            for hit, (_, _, nonce) in zip(hits, top):
                hit["nonce"] = nonce
        if codec.opens_documents(with_content):
            records = [(chunk_id, nonce) for chunk_id, _, nonce in top]
            documents = self._open(kb_id, codec, records, filter)
            if with_content:
                for hit, document in zip(hits, documents):
                    hit.update(document)
        if not stats:
            return hits
        piece_bytes = sum(len(base64.b64decode(piece)) for piece in query.pieces)
        return hits, {"records": len(chunk_ids), "answer_bytes": len(chunk_ids) * piece_bytes,
                      "partitions": None if probed is None else len(probed)}

    def _hamming(self, kb_id, context, query, verify, meta_filter=None, range=None):
        """`compute_hamming` for `query` (a `Query`): its responses and chunk ids, each of the
        API's form, else `AnswerRejectedError` (`verify`) or `RemoteUnreachableError`."""
        body = {"kb_id": kb_id, "context_id": context.hash(), "query": query.pieces}
        if meta_filter is not None:
            body["meta_filter"] = meta_filter
        if range is not None:
            body["range"] = list(range)
        answer = _list_of(self._request("POST", "compute_hamming", body), "the compute_hamming answer")
        # A verified search's bad answer is a lie like any other; an unverified one's, an
        # answer this client cannot read.
        return _hamming_records(answer, len(query), AnswerRejectedError if verify else RemoteUnreachableError)

    def find(self, kb_id, context, filter, *, verifiable=False, private_meta=False, sort_by=None,
             sort_order="asc", limit=None):
        """The records whose metadata passes `filter`: `[{"chunk_id", "content", "meta_data",
        "name"}]`, as the owner wrote them, and for verifiable records each one's `nonce`.
        Verifiable records are checked first (each one's own tag) and, when the filter selects
        whole values of the field the owner's digest counts, all of them against it.
        `sort_by`/`limit` page through the service's `chunk/meta/page`; sorting by a private
        field is refused."""
        found = self._find(kb_id, context, filter, verifiable, private_meta, sort_by, sort_order, limit)
        return found if verifiable else [{k: v for k, v in record.items() if k != "nonce"} for record in found]

    def _find(self, kb_id, context, filter, verifiable, private_meta, sort_by=None, sort_order="asc",
              limit=None):
        """`find`'s records, each with the nonce its document was opened under (None: not
        verifiable), by the library's driver (`RecordCodec.find_records`)."""
        codec = RecordCodec(context, kb_id, verifiable, private_meta)
        digest = self._current_digest(codec).digest if verifiable else None
        page = None if sort_by is None and limit is None else (sort_by, sort_order, limit)
        return json.loads(self._drive(codec.find_records(json.dumps(filter), digest, page)))

    def _open(self, kb_id, codec, records, filter=None):
        """The documents of `records` (chunk id, nonce), in order, fetched (in id order) and
        opened by the codec. Only the content of verifiable records is fetched: their sealed
        document holds the rest."""
        fields = ["chunk_content"] if codec.opens_documents(False) else ["chunk_content", "meta_data", "name"]
        stored = self._chunks_by_id(kb_id, [chunk_id for chunk_id, _ in records], fields)
        fetched = [dict({k: stored.get(i, {}).get(k) for k in fields}, chunk_id=i, nonce=nonce)
                   for i, nonce in records]
        return json.loads(codec.open(json.dumps(fetched), None if filter is None else json.dumps(filter)))


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
