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

import json
import os
import warnings
import urllib.request  # noqa: F401  (tests replace urllib.request.urlopen through this module)

from . import _partitions as partitioned
from ._digest import Digests
from ._edits import Edits
from ._native import OwnerState, RecordCodec, push_context
from ._partitions import Partitions
from ._native import UPLOAD_BATCH
from ._transport import (  # noqa: F401  (MAX_DIGITS and _integer: the answers' limits, tested)
    MAX_DIGITS, RemoteError, RemoteUnreachableError, Transport, _integer)
from .errors import InvalidInputError

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
        return self._drive(push_context(context))

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
        documents = None if documents is None else json.dumps(documents)
        if not verifiable:
            return self._drive(codec.insert_chunks(vectors, documents))
        upload = codec.upload_records(self._state, vectors, documents, count, balance=balance,
                                      recall_target=recall_target)
        uploaded, note = self._drive(upload)
        if note is not None:
            warnings.warn(note, stacklevel=2)
        return uploaded

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
        if range is not None:
            range = (int(range[0]), int(range[1]))
        codec = RecordCodec(context, kb_id, verify, private_meta)
        search = codec.search(self._state, vector, top_k, None if filter is None else json.dumps(filter), range,
                              expect_count, with_content, probe, decoys)
        hits, cost = self._drive(search)
        hits = json.loads(hits)
        return (hits, cost) if stats else hits

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
        page = None if sort_by is None and limit is None else (sort_by, sort_order, limit)
        return json.loads(self._drive(codec.find_records(self._state, json.dumps(filter), page)))
