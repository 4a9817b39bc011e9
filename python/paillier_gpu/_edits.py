"""Records changed after their upload: replaced by id, deleted by id or by metadata, and patched
by metadata. Verifiable records go with the owner's digest, in one transaction each, the records
they take out read back and checked first; a patched verifiable record is encrypted again from
its checked bits under a fresh nonce, so that its earlier document no longer opens and its
earlier ciphertext is not in the digest. The Rust client's `records.rs` and `meta_edits.rs`."""

import json

from ._native import RecordCodec, delete_chunks


class Edits:
    """Updates, deletes and patches, for `Client`."""

    def update(self, kb_id, context, chunk_ids, vectors, documents=None, *, verifiable=False, private_meta=False):
        """Replaces records `chunk_ids` whole: verifiable records get a new nonce (returned, as
        `[(chunk_id, nonce)]`), their documents are sealed anew, and the owner's digest trades
        each record's old pair for its new one in the same transaction. In a partitioned
        knowledge base each goes to the partition nearest its new vector."""
        codec = RecordCodec(context, kb_id, verifiable, private_meta)
        chunk_ids = [int(i) for i in chunk_ids]
        documents = None if documents is None else json.dumps(documents)
        if verifiable:
            return self._drive(codec.update_records(self._state, chunk_ids, vectors, documents))
        chunks = json.loads(codec.chunks(vectors, documents)[0])
        if len(chunks) != len(chunk_ids):
            raise ValueError(f"{len(chunk_ids)} chunk ids for {len(chunks)} vectors")
        updates = [dict(chunk, chunk_id=chunk_id) for chunk, chunk_id in zip(chunks, chunk_ids)]
        self._request("PUT", "chunk", {"kb_id": kb_id, "context_id": context.hash(), "chunk_updates": updates})
        return None

    def delete(self, kb_id, context, chunk_ids, *, verifiable=False, private_meta=False):
        """Deletes records `chunk_ids`; how many. Verifiable records are read back first (each
        checked) and deleted with the owner's digest less their pairs, in one transaction."""
        chunk_ids = [int(i) for i in chunk_ids]
        if not verifiable:
            return self._drive(delete_chunks(kb_id, chunk_ids))
        self._drive(RecordCodec(context, kb_id, verifiable, private_meta).delete_records(self._state, chunk_ids))
        return len(chunk_ids)

    # -- by metadata --------------------------------------------------------------------------

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
