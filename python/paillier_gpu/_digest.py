"""The owner's digest of each knowledge base of verifiable records (`RecordCodec.open_digest`),
kept on the service sealed and versioned, and by this owner as the highest version it has seen:
read and checked before every verified read (an older one is a rollback), and written with every
change to the records in one transaction (`POST /v1/records`), compare-and-set on its version.
What the digest holds, and its keys, stay in the library; this is the transport, as the Rust
client's `digest` module is."""

import json
from collections import namedtuple

from ._native import MAX_LINKS_READ, RecordCodec, WriteAttempts
from ._native import counted_value as _counted_value
from ._transport import RemoteError, RemoteUnreachableError, checked_ids
from .errors import AnswerRejectedError

#: The digest as the service holds it, opened and checked: the digest (version 0: none stored),
#: the id the knowledge base's next inserted chunk gets, and how many chunks it holds.
Current = namedtuple("Current", "digest next_chunk_id chunks")


class Planned:
    """One write: chunks inserted (`(chunk, nonce, counted value)`), replaced whole (`(chunk with
    its chunk_id, (chunk_id, new nonce), counted value)`), patched (the same, the chunk holding
    only the fields it changes: its index stays) and deleted (ids), the records the updates,
    patches and deletes take out of the digest (`(chunk_id, nonce, counted value)`), and the
    knowledge base's partitions from this write on (`(model, next)`, each a `PartitionModel`
    or None; None: as they are), the digest then counting the partition per value."""

    def __init__(self, insert=(), update=(), delete=(), removed=(), patch=(), partitions=None):
        self.insert, self.update, self.patch = list(insert), list(update), list(patch)
        self.delete, self.removed = list(delete), list(removed)
        self.partitions = partitions

    def is_empty(self):
        return not (self.insert or self.update or self.patch or self.delete or self.partitions is not None)


def counted_value(meta_data, field):
    """A record's value of the digest's counted field `field` (None: it counts none), by the
    library's rule (`_native.counted_value`), over its metadata as Python holds it."""
    return _counted_value(None if meta_data is None else json.dumps(meta_data), field)


class Digests:
    """The digest's reads and writes, for `Client` (which provides `_request`, `_open` and
    `_hamming`, and sets `_state` and `_seen`)."""

    def _owner_digest(self, kb_id, context_id, since=None):
        """`GET /v1/owner_digest/{org}/{kb}/{context}`: `(version, sealed, next_chunk_id, chunks,
        links)`; with `since`, `links` is the JSON text of the service's links after it (asked
        for page by page), else None."""
        for what, value in (("knowledge base", kb_id), ("context", context_id)):
            if not value or any(c in value for c in "/?#%"):
                raise ValueError(f"the {what} id {value!r} is empty or holds a character a path cannot carry")
        query = None if since is None else {"since": since}
        try:
            answer = self._request("GET", "owner_digest", query=query, tail=f"/{kb_id}/{context_id}")
        except RemoteError as error:
            if error.status != 404:
                raise
            raise RemoteError(404, f"{error.message} (the owner's digest of knowledge base {kb_id}: a service "
                                   "without the digest routes, such as XTrace's hosted one, cannot keep verifiable "
                                   "records, whose searches, finds and writes all read it)", error.body) from None
        fields = answer if isinstance(answer, dict) else {}
        version, sealed = fields.get("version"), fields.get("sealed")
        next_chunk_id, chunks = fields.get("next_chunk_id"), fields.get("chunks", 0)
        if not (all(type(v) is int and v >= 0 for v in (version, next_chunk_id, chunks))
                and (sealed is None or isinstance(sealed, str))):
            raise AnswerRejectedError(f"the service's owner's digest of {kb_id} is not one: {str(answer)[:200]}")
        if since is None:
            return version, sealed, next_chunk_id, chunks, None
        links = list(fields.get("links") or [])
        more, after = fields.get("more_links") is True, since
        while more and len(links) < MAX_LINKS_READ:
            # Each page starts past the last; a service that does not move on ends the loop.
            last = links[-1].get("version") if links and isinstance(links[-1], dict) else None
            if type(last) is not int or last <= after or last >= version:
                break
            after = last
            page = self._request("GET", "owner_digest", query={"since": last}, tail=f"/{kb_id}/{context_id}")
            page = page if isinstance(page, dict) else {}
            more = page.get("more_links") is True
            links += list(page.get("links") or [])
        return version, sealed, next_chunk_id, chunks, json.dumps(links)

    def _current_digest(self, codec, kb_id, context_id):
        """The owner's digest as the service holds it, refused (`AnswerRejectedError`) when it is
        older than one this owner has seen, not the one seen at its version, does not extend it,
        or does not open."""
        seen = self._seen_digest(context_id, kb_id)
        version, sealed, next_chunk_id, chunks, links = self._owner_digest(
            kb_id, context_id, None if seen is None else seen[0])
        try:
            digest = codec.open_digest(version, sealed, seen, chunks, links)
        except AnswerRejectedError as error:
            self._note_rollback(context_id, kb_id, error)
            raise
        if sealed is not None and version > 0:
            self._keep_seen(context_id, kb_id, (version, sealed))
        return Current(digest, next_chunk_id, chunks)

    def _seen_digest(self, context_id, kb_id):
        """The highest digest this owner has seen, `(version, sealed)`: in its state folder, or
        in this client's life."""
        on_disk = self._state.read(context_id, kb_id) if self._state is not None else None
        in_memory = self._seen.get((context_id, kb_id))
        if on_disk is None or in_memory is None:
            return on_disk or in_memory
        return on_disk if on_disk[0] >= in_memory[0] else in_memory

    def _keep_seen(self, context_id, kb_id, seen):
        if self._state is not None:
            self._state.keep(context_id, kb_id, seen)
        kept = self._seen.get((context_id, kb_id))
        if kept is None or kept[0] < seen[0]:
            self._seen[(context_id, kb_id)] = seen

    def _replace_seen(self, context_id, kb_id, seen):
        if self._state is not None:
            self._state.replace(context_id, kb_id, seen)
        self._seen[(context_id, kb_id)] = seen
        self._rollbacks.discard((context_id, kb_id))

    def _note_rollback(self, context_id, kb_id, error):
        """Keeps in the owner's state that `kb_id` was found rolled back or forked, where
        `error` (the library's refusal) says so."""
        if error.rolled_back:
            self._rollbacks.add((context_id, kb_id))
            if self._state is not None:
                self._state.note_rollback(context_id, kb_id)

    def _rollback_noted(self, context_id, kb_id):
        noted = (context_id, kb_id) in self._rollbacks
        return noted or (self._state is not None and self._state.rollback_noted(context_id, kb_id))

    def _write_with_digest(self, codec, kb_id, context_id, plan):
        """Writes what `plan(current)` (a `Planned`) makes of the digest as stored, with the
        digest advanced, in one transaction; plans again after another writer moved it on (the
        library's `WriteAttempts`, which raises `ConcurrentWriteError` once they are spent). The
        inserted chunks' ids. The library plans the digest's step (`RecordCodec.plan_write`): the
        ids, the next version, and the refusal of a knowledge base that holds chunks but no
        digest (written before digests) until the owner has counted them."""
        attempts = WriteAttempts(kb_id)
        while True:
            attempts.start()
            current = self._current_digest(codec, kb_id, context_id)
            codec.check_chunks_counted(current.digest, current.chunks)
            planned = plan(current)
            if planned.is_empty():
                return []
            write = codec.plan_write(
                current.digest, current.next_chunk_id, current.chunks,
                [(nonce, value) for _, nonce, value in planned.insert],
                [(chunk_id, nonce, value) for _, (chunk_id, nonce), value in planned.update + planned.patch],
                planned.removed, planned.partitions)
            body = {"kb_id": kb_id, "context_id": context_id, "owner_digest": json.loads(write.owner_digest()),
                    "insert": [chunk for chunk, _, _ in planned.insert],
                    "update": [chunk for chunk, _, _ in planned.update], "delete": planned.delete}
            if write.first_chunk_id is not None:
                body["first_chunk_id"] = write.first_chunk_id
            if planned.patch:
                # Sent only when there is one: a service without patches refuses the field.
                body["patch"] = [chunk for chunk, _, _ in planned.patch]
            try:
                answer = self._request("POST", "records", body)
            except RemoteError as error:
                if error.status == 409 and isinstance(error.body, dict) and "current_version" in error.body:
                    continue
                raise
            except RemoteUnreachableError as error:
                raise RemoteUnreachableError(
                    f"{error}; the write got no answer and may have been stored: it is not sent again (the "
                    "owner's digest's version, read again, says whether it was)") from None
            self._keep_seen(context_id, kb_id, (write.digest.version, write.sealed))
            ids = checked_ids(answer, len(planned.insert), "the write of records")
            mismatch = write.ids_mismatch(ids)
            if mismatch is not None:
                raise RemoteUnreachableError(mismatch)
            return ids

    def rebuild_digest(self, kb_id, context, counted_field=None, after_rollback=False):
        """Counts the owner's digest of `kb_id` (verifiable records) afresh from its records, each
        verified (a zero query with a fresh nonce), per value of `counted_field` too when given,
        and stores it as a version past both the service's and the highest this owner has seen;
        this owner's record of versions seen is replaced by it. After a rollback (this owner saw
        a later version than the service holds, now or at any time since its last rebuild), a
        fork (the service's version does not extend the one seen) or a digest that does not open
        it raises AnswerRejectedError unless `after_rollback`. Which records the service holds is taken as it says: look at them first. A
        partitioned knowledge base keeps its partitions, counted per partition. Returns
        `{"version", "records", "counted_field", "counted_values", "layout"}`."""
        context_id = context.hash()
        codec = RecordCodec(context, kb_id, True, False)
        seen = self._seen_digest(context_id, kb_id)
        version, sealed, _, _, links = self._owner_digest(kb_id, context_id, None if seen is None else seen[0])
        try:
            plan = codec.plan_rebuild(version, sealed, seen, links, counted_field,
                                      self._rollback_noted(context_id, kb_id), after_rollback)
        except AnswerRejectedError as error:
            self._note_rollback(context_id, kb_id, error)
            raise
        counted_field = plan.counted_field
        # Every record, under the digest's layout (or, where it did not open, the first layout
        # its records verify under: a record passes only under its own).
        layouts = codec.layouts_to_try()
        for tried, layout in enumerate(layouts):
            codec = RecordCodec(context, kb_id, True, False, layout)
            query = codec.encrypt_query([0] * context.embedding_length)
            responses, chunk_ids = self._hamming(kb_id, context, query, True)
            try:
                ranked = codec.rank(query, responses, chunk_ids, len(chunk_ids))
                break
            except AnswerRejectedError:
                if tried + 1 == len(layouts):
                    raise
        records = [(chunk_id, nonce) for chunk_id, _, nonce in ranked]
        values = [None] * len(records)
        if counted_field is not None:
            documents = self._open(kb_id, codec, records)
            values = [counted_value(d.get("meta_data"), counted_field) for d in documents]
        counted = [(chunk_id, nonce, value) for (chunk_id, nonce), value in zip(records, values)]
        digest, sealed = codec.rebuilt_digest(plan, counted)
        write = json.loads(digest.write(plan.expected_version, sealed))
        self._request("PUT", "owner_digest", write, tail=f"/{kb_id}/{context_id}")
        self._replace_seen(context_id, kb_id, (digest.version, sealed))
        return {"version": digest.version, "records": digest.count, "counted_field": digest.counted_field,
                "counted_values": digest.counted_values, "layout": digest.layout}
