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
import urllib.request  # noqa: F401  (tests replace urllib.request.urlopen through this module)
import warnings

from ._native import UPLOAD_BATCH, OwnerState, RecordCodec, delete_chunks, push_context
from ._transport import (  # noqa: F401  (MAX_DIGITS and _integer: the answers' limits, tested)
    MAX_DIGITS, RemoteError, RemoteUnreachableError, Transport, _integer)

__all__ = ["Client", "RemoteError", "RemoteUnreachableError", "UPLOAD_BATCH"]


def _json(value):
    return None if value is None else json.dumps(value)


class Client(Transport):
    """A data-plane client of one organisation on one service (header `x-api-key`, paths ending
    in the organisation's id). `ca_cert`: a PEM file to trust besides the system's. `state_dir`:
    where the highest digest version seen of each knowledge base is kept (None:
    `$PAILLIER_GPU_STATE_DIR`, else `paillier-gpu/state` in `$XDG_DATA_HOME` or
    `~/.local/share`, as the CLI does); versions seen are also kept for the client's life.

    Every operation is one of the library's drivers (`paillier_gpu::owner`, bound as
    `_native.Driver`), which decides each request, its retries and its checks; this client
    carries the requests over HTTP (`_drive`) and holds the public names."""

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
               partitions=None, balance=None, recall_target=None, decoys=None, sealed_vectors=False):
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
        recommended probe must reach; None: the library's, 1.5 and 0.9, or 0.95 for sealed
        vectors) and stored with the digest by the first batch, with `decoys` (as `rebuild_partitions`'s: the fewest every
        search takes). A knowledge base with records and no partitions is refused
        (`rebuild_partitions` partitions it); one already partitioned keeps its partitions and
        its decoys.

        `sealed_vectors` (verifiable records, on the first upload to an empty knowledge base,
        which fixes it; later uploads follow it): no Paillier ciphertext, each record's bits
        sealed with AES-256-GCM in pages of one partition, which a verified `search` opens and
        ranks; an update, patch or delete of some of a page's records seals the page again
        whole."""
        if sealed_vectors and not verifiable:
            raise ValueError("sealed_vectors are verifiable records: pass verifiable=True")
        layout = "sealed-vectors" if sealed_vectors else None
        codec = RecordCodec(context, kb_id, verifiable, private_meta, layout)
        if not verifiable:
            return self._drive(codec.insert_chunks(vectors, _json(documents), partitions))
        upload = codec.upload_records(self._state, vectors, _json(documents), partitions, balance, recall_target,
                                      decoys)
        uploaded, note = self._drive(upload)
        if note is not None:
            warnings.warn(note, stacklevel=2)
        return uploaded

    def update(self, kb_id, context, chunk_ids, vectors, documents=None, *, verifiable=False, private_meta=False):
        """Replaces records `chunk_ids` whole: verifiable records get a new nonce (returned, as
        `[(chunk_id, nonce)]`), their documents are sealed anew, and the owner's digest trades
        each record's old pair for its new one in the same transaction. In a partitioned
        knowledge base each goes to the partition nearest its new vector."""
        codec = RecordCodec(context, kb_id, verifiable, private_meta)
        chunk_ids = [int(i) for i in chunk_ids]
        if verifiable:
            return self._drive(codec.update_records(self._state, chunk_ids, vectors, _json(documents)))
        self._drive(codec.replace_chunks(chunk_ids, vectors, _json(documents)))
        return None

    def delete(self, kb_id, context, chunk_ids, *, verifiable=False, private_meta=False):
        """Deletes records `chunk_ids`; how many. Verifiable records are read back first (each
        checked) and deleted with the owner's digest less their pairs, in one transaction."""
        chunk_ids = [int(i) for i in chunk_ids]
        if not verifiable:
            return self._drive(delete_chunks(kb_id, chunk_ids))
        self._drive(RecordCodec(context, kb_id, verifiable, private_meta).delete_records(self._state, chunk_ids))
        return len(chunk_ids)

    def delete_by_meta(self, kb_id, context, filter, *, verifiable=False, private_meta=False, dry_run=False):
        """Deletes the records whose metadata passes `filter` (tokenised for private metadata);
        how many were deleted, or with `dry_run` would be. The records are found first as `find`
        finds them (each document opened, each verifiable record checked, each checked against
        the filter), then deleted by id (verifiable ones with the owner's digest, in one
        transaction): a filter given in the wrong mode (a private knowledge base without
        `private_meta`, where a `$ne` on plain values would select every record) fails to open
        them and deletes nothing. A verifiable delete is checked complete: where the owner's
        digest does not count what the filter selects, every record is read, checked against
        the digest, and selected here."""
        codec = RecordCodec(context, kb_id, verifiable, private_meta)
        if dry_run or not verifiable:
            return self._drive(codec.delete_found(self._state, json.dumps(filter), dry_run))
        return self._drive(codec.delete_by_meta(self._state, json.dumps(filter)))

    def patch_by_meta(self, kb_id, context, filter, patch, *, verifiable=False, private_meta=False):
        """Merges `patch` into the metadata of the records whose metadata passes `filter`. With
        private metadata or verifiable records the sealed documents are patched too (found,
        opened, sealed again, patched by id); verifiable records are encrypted again under
        fresh nonces, with the owner's digest, in one transaction. The patched ids. A patch may
        not set "partition", the partitions' own field (`PrivateMetadataError`): a record keeps
        its partition."""
        codec = RecordCodec(context, kb_id, verifiable, private_meta)
        if verifiable:
            return self._drive(codec.patch_by_meta(self._state, json.dumps(filter), json.dumps(patch)))
        return self._drive(codec.patch_chunks(json.dumps(filter), json.dumps(patch)))

    def rebuild_digest(self, kb_id, context, counted_field=None, after_rollback=False):
        """Counts the owner's digest of `kb_id` (verifiable records) afresh from its records, each
        verified, per value of `counted_field` too when given, and stores it as a version past
        both the service's and the highest this owner has seen (which it replaces). After a
        rollback (now, or noted since the last rebuild), a fork or a digest that does not open it
        raises AnswerRejectedError unless `after_rollback`. Which records the service holds is
        taken as it says: look at them first. A partitioned knowledge base keeps its partitions.
        Returns `{"version", "records", "counted_field", "counted_values", "layout"}`."""
        codec = RecordCodec(context, kb_id, True, False)
        digest = self._drive(codec.rebuild_digest(self._state, counted_field, after_rollback))
        return {"version": digest.version, "records": digest.count, "counted_field": digest.counted_field,
                "counted_values": digest.counted_values, "layout": digest.layout}

    def seal_vectors(self, kb_id, context, *, private_meta=False, batch=None):
        """Moves `kb_id`'s verifiable records from Paillier ciphertexts to sealed vectors (as
        `upload(..., sealed_vectors=True)` writes them): each read and verified once (all of
        them against the owner's digest), then written back `batch` records a transaction
        (None: the library's), its vector sealed in a page of its partition, its document sealed
        anew to its new nonce; the last write makes the digest name the layout sealed vectors.
        Nothing to do for a knowledge base of sealed vectors already; run again after an
        interruption, it finishes what is left. Returns `{"records", "moved", "resumed"}`."""
        codec = RecordCodec(context, kb_id, True, private_meta)
        return self._drive(codec.seal_vectors(self._state, batch))

    def rebuild_partitions(self, kb_id, context, *, partitions=None, private_meta=False, balance=None,
                           recall_target=None, seed=0, decoys=0):
        """Trains `kb_id`'s partitions afresh over all its records (`partitions` of them, an
        int; None or "auto": about √records; `balance`, `recall_target` and `seed` as
        `PartitionModel.train` takes them) and moves each record whose partition changes: it is
        encrypted again from its checked bits under a fresh nonce, its document sealed anew
        with its new partition token (so nothing from before the move verifies after it), a
        batch per transaction with the owner's digest. Partitions a knowledge
        base uploaded without them, too. Every record is verified on the way, and all of them
        against the owner's digest.

        The model the records move to waits in the digest until every record is in place: a
        rebuild cut short loses nothing, and running this again resumes it (with the model it
        had trained: `partitions` and the training options are then unused). Another writer in
        between stops it with `ConcurrentWriteError` (run it again to resume). Returns
        `{"partitions", "records", "moved", "resumed"}`.

        `decoys`: the fewest decoys every search of the knowledge base takes from now on,
        sealed with its partitions (a search's `decoys` can ask more, never fewer), so that one
        query's tokens narrow down to a whole group whatever it asks; a later rebuild never
        lowers it."""
        codec = RecordCodec(context, kb_id, True, private_meta)
        return self._drive(codec.rebuild_partitions(self._state, partitions, balance, recall_target, seed, decoys))

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
        codec = RecordCodec(context, kb_id, verify, private_meta)
        range = None if range is None else (int(range[0]), int(range[1]))
        search = codec.search(self._state, vector, top_k, _json(filter), range, expect_count, with_content,
                              probe, decoys)
        hits, cost = self._drive(search)
        return (json.loads(hits), cost) if stats else json.loads(hits)

    def find(self, kb_id, context, filter, *, verifiable=False, private_meta=False, sort_by=None,
             sort_order="asc", limit=None):
        """The records whose metadata passes `filter`: `[{"chunk_id", "content", "meta_data",
        "name"}]`, as the owner wrote them, and for verifiable records each one's `nonce`.
        Verifiable records are checked first (each one's own tag) and, when the filter selects
        whole values of the field the owner's digest counts, all of them against it.
        `sort_by`/`limit` page through the service's `chunk/meta/page`; sorting by a private
        field is refused."""
        codec = RecordCodec(context, kb_id, verifiable, private_meta)
        page = None if sort_by is None and limit is None else (sort_by, sort_order, limit)
        found = json.loads(self._drive(codec.find_records(self._state, json.dumps(filter), page)))
        return found if verifiable else [{k: v for k, v in record.items() if k != "nonce"} for record in found]

    def partition_model(self, kb_id, context, *, private_meta=False):
        """The partition model of `kb_id` (a `PartitionModel`; None when it is not partitioned)
        and how many records the owner's digest counts, read from the digest as a verified
        search reads it."""
        digest = self._digest(kb_id, context, private_meta)
        return digest.partition_model, digest.count

    def partitions(self, kb_id, context, *, private_meta=False):
        """What the owner knows of `kb_id`'s partitions, from its own sealed digest (checked as a
        verified search checks it), or None when it is not partitioned: `{"records",
        "partitions", "sizes"` (each partition's records, as the digest counts them),
        `"recommended_probe"` (the probe a search uses by default), `"balance"` (no partition
        was placed above this times the mean), `"largest_over_mean"`, `"recall"` (the owner's
        estimate at training: `[{"probe", "recall", "share", "error"}]`, `error` the recall's
        standard error), `"rebuilding"` (a rebuild is under way: `rebuild_partitions` resumes
        it) and `"decoys"` (the fewest every search takes)`}`."""
        return self._digest(kb_id, context, private_meta).partition_summary()

    def _digest(self, kb_id, context, private_meta):
        """The owner's digest of `kb_id`, read and checked as a verified search reads it."""
        return self._drive(RecordCodec(context, kb_id, True, private_meta).read_digest(self._state))[0]
