"""A knowledge base's partitions as its owner uses them: which partition each new record goes to,
which partitions a search probes, what the owner knows of them, and their rebuild. The model
(`PartitionModel`) lives in the owner's sealed digest; the service sees a token per record and
the tokens each query names, nothing else. The Rust client's `partitions` module."""

import json
import numbers
import warnings

from ._digest import Planned
from ._native import (PARTITION_FIELD, UPLOAD_BATCH, PartitionModel, RecordCodec, StoredRecords,
                      auto_partitions, partitions_filter)
from ._transport import RemoteUnreachableError, _list_of
from .errors import ConcurrentWriteError, InvalidInputError

#: Where a rebuild's error sends the owner.
_REBUILD = "Client.rebuild_partitions (the CLI's `paillier-gpu remote partitions rebuild`)"


class Partitions:
    """The partitions' reads and their rebuild, for `Client` (which provides `_request`, `_open`,
    `_indexes`, `_current_digest` and `_write_with_digest`)."""

    def partition_model(self, kb_id, context, *, private_meta=False):
        """The partition model of `kb_id` (a `PartitionModel`; None when it is not partitioned)
        and how many records the owner's digest counts, read from the digest as a verified
        search reads it."""
        digest = self._partitions_digest(kb_id, context, private_meta)
        return digest.partition_model, digest.count

    def partitions(self, kb_id, context, *, private_meta=False):
        """What the owner knows of `kb_id`'s partitions, from its own sealed digest (checked as a
        verified search checks it), or None when it is not partitioned: `{"records",
        "partitions", "sizes"` (each partition's records, as the digest counts them),
        `"recommended_probe"` (the probe a search uses by default), `"balance"` (no partition
        was placed above this times the mean), `"largest_over_mean"`, `"recall"` (the owner's
        estimate at training: `[{"probe", "recall", "share", "error"}]`, `error` the recall's
        standard error) and `"rebuilding"` (a rebuild is under way: `rebuild_partitions` resumes
        it)`}`."""
        digest = self._partitions_digest(kb_id, context, private_meta)
        model = digest.partition_model
        if model is None:
            return None
        sizes = digest.partition_sizes
        mean = digest.count / model.partitions
        return {"records": digest.count, "partitions": model.partitions, "sizes": sizes,
                "recommended_probe": model.default_probe, "balance": model.balance,
                "largest_over_mean": max(sizes) / mean if mean > 0 else 0.0, "recall": model.recall,
                "rebuilding": digest.next_partition_model is not None}

    def _partitions_digest(self, kb_id, context, private_meta):
        codec = RecordCodec(context, kb_id, True, private_meta)
        return self._current_digest(codec, kb_id, context.hash()).digest

    def rebuild_partitions(self, kb_id, context, *, partitions=None, private_meta=False, balance=None,
                           recall_target=None, seed=0):
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
        `{"partitions", "records", "moved", "resumed"}`."""
        count = partition_count(partitions)
        codec = RecordCodec(context, kb_id, True, private_meta)
        context_id = context.hash()
        current = self._current_digest(codec, kb_id, context_id)
        check_counted_field(current.digest)
        ids, stored, documents = self._stored_records(codec, kb_id, context_id, current)
        nonces = stored.nonces
        version = current.digest.version
        target_model = current.digest.next_partition_model
        resumed = target_model is not None
        if not resumed:
            k = auto_partitions(len(ids)) if count in (None, "auto") else count
            target_model, _ = PartitionModel.train(stored, k, balance=balance, recall_target=recall_target,
                                                   seed=seed)
            install = (current.digest.partition_model, target_model)
            version = self._rebuild_step(codec, kb_id, context_id, version, None,
                                         lambda _: Planned(partitions=install))
        targets = target_model.assign_balanced(stored)
        moves = [(i, target) for i, target in enumerate(targets) if document_partition(documents[i]) != target]
        for start in range(0, len(moves), UPLOAD_BATCH):

            def plan(_, batch=moves[start : start + UPLOAD_BATCH]):
                # Each moved record encrypted again from its checked bits under a fresh nonce, its
                # document sealed anew under it: nothing from before the move verifies after it.
                again = codec.encrypt_again(stored.select([i for i, _ in batch]))
                planned = Planned()
                for (i, target), (index, nonce) in zip(batch, again):
                    value = str(target)
                    old = (documents[i].get("meta_data") or {}).get(PARTITION_FIELD)
                    chunk = json.loads(codec.patched(ids[i], json.dumps(documents[i]),
                                                     json.dumps({PARTITION_FIELD: value}), nonce))
                    # The name stays as stored: the update changes only what it holds.
                    chunk.pop("name", None)
                    chunk["index"] = index
                    planned.removed.append((ids[i], nonces[i], old if isinstance(old, str) else None))
                    planned.update.append((chunk, (ids[i], nonce), value))
                return planned

            version = self._rebuild_step(codec, kb_id, context_id, version, target_model, plan)
        self._rebuild_step(codec, kb_id, context_id, version, target_model,
                           lambda _: Planned(partitions=(target_model, None)))
        return {"partitions": target_model.partitions, "records": len(ids), "moved": len(moves),
                "resumed": resumed}

    def _rebuild_step(self, codec, kb_id, context_id, version, moving_to, plan):
        """One write of a rebuild, refused with `ConcurrentWriteError` (nothing written) unless
        the digest is still at `version`, the rebuild's own last, and moving records to
        `moving_to` when given. The digest's version after it."""

        def checked(current):
            conflict = current.digest.rebuild_step_conflict(kb_id, version, moving_to)
            if conflict is not None:
                raise ConcurrentWriteError(conflict)
            return plan(current)

        self._write_with_digest(codec, kb_id, context_id, checked)
        return version + 1

    def _stored_records(self, codec, kb_id, context_id, current):
        """Every record of the knowledge base in chunk id order: the ids, their `StoredRecords`
        (each checked on its own, all of them against the owner's digest `current`) and their
        documents as the owner wrote them."""
        body = {"kb_id": kb_id, "context_id": context_id, "meta_filter": codec.filter("{}")}
        listed = _list_of(self._request("POST", "chunk/meta", body), "the metadata search's answer")
        try:
            ids = sorted(int(chunk["chunk_id"]) for chunk in listed)
        except (KeyError, TypeError, ValueError) as error:
            raise RemoteUnreachableError(f"a listed chunk without a chunk id: {error}") from None
        if not ids:
            raise InvalidInputError(f"knowledge base {kb_id} holds no records to partition")
        parts, documents = [], []
        for start in range(0, len(ids), UPLOAD_BATCH):
            page = ids[start : start + UPLOAD_BATCH]
            part = codec.stored(self._indexes(kb_id, page), page)
            documents += self._open(kb_id, codec, list(zip(page, part.nonces)))
            parts.append(part)
        stored = StoredRecords.join(parts)
        # Every record the digest counts, and no other.
        codec.check_counted(current.digest, ids, stored.nonces)
        return ids, stored, documents


def partition_count(partitions):
    """`partitions` as an upload or a rebuild takes it: None, "auto" or a number (at least 1)."""
    if partitions is None or (isinstance(partitions, str) and partitions == "auto"):
        return partitions
    if isinstance(partitions, bool) or not isinstance(partitions, numbers.Integral) or partitions < 1:
        raise InvalidInputError(f"partitions is a number of partitions (at least 1) or \"auto\", not {partitions!r}")
    return int(partitions)


def check_counted_field(digest):
    """Refuses partitions over a digest that counts another field per value."""
    field = digest.counted_field
    if field not in (None, PARTITION_FIELD):
        raise InvalidInputError(
            f"the owner's digest counts {field} per value, and partitions are counted per partition: count "
            "nothing first (Client.rebuild_digest without counted_field)")


def document_partition(document):
    """The partition an opened document is in, if it names one."""
    value = (document.get("meta_data") or {}).get(PARTITION_FIELD)
    if isinstance(value, str) and value.isascii() and value.isdigit() and int(value) < 2**32:
        return int(value)
    return None


def placed_meta(meta_data, partitions, i):
    """Record `i`'s metadata as its document is sealed: in its partition when `partitions`."""
    if partitions is None:
        return meta_data
    return dict(meta_data or {}, **{PARTITION_FIELD: str(partitions[i])})


def upload_placement(kb_id, digest, partitions, vectors, train):
    """Where an upload's records go (`partitions`: None, "auto" or a number, already checked):
    `(model, placed, trained)`: the knowledge base's model (None: not partitioned), each
    record's partition (None: none) and whether the model was just trained over `vectors`, the
    first upload to an empty knowledge base, which the first batch stores with the digest."""
    model = digest.partition_model
    if partitions is not None and model is None:
        if digest.count > 0:
            raise InvalidInputError(
                f"knowledge base {kb_id} holds {digest.count} records without partitions: partition them with "
                f"{_REBUILD}, then upload")
        if len(vectors) > 0:
            check_counted_field(digest)
            if digest.next_partition_model is not None:
                raise changed_meanwhile(digest, "upload")
            count = auto_partitions(len(vectors)) if partitions == "auto" else partitions
            model, placed = PartitionModel.train(vectors, count, **train)
            return model, placed, True
    elif partitions not in (None, "auto") and partitions != model.partitions:
        warnings.warn(f"knowledge base {kb_id} already has {model.partitions} partitions: the records go to the "
                      f"nearest ({_REBUILD} with partitions={partitions} trains another number)", stacklevel=3)
    return model, None if model is None else model.assign_many(vectors), False


def checked_placement(digest, model, trained, what):
    """The partitions a write placed by `model` (None: none) installs in `digest`, the digest as
    it is now (`(model, None)` for the first batch of a trained upload, else None); raises
    `ConcurrentWriteError` when the knowledge base's partitions changed since they were read."""
    now = digest.partition_model
    if not trained:
        if now != model:
            raise changed_meanwhile(digest, what)
        return None
    if now is not None:
        if now == model:
            return None
        raise changed_meanwhile(digest, what)
    if digest.count > 0 or digest.next_partition_model is not None:
        raise changed_meanwhile(digest, what)
    check_counted_field(digest)
    return (model, None)


def changed_meanwhile(digest, what):
    other = " under another partition model" if digest.partition_model is not None else ""
    again = {"upload": "nothing more was written; upload the rest again",
             "update": "nothing was written; update the records again"}[what]
    return ConcurrentWriteError(
        f"the knowledge base's partitions changed while this {what} was planned (its digest now counts "
        f"{digest.count} records{other}): {again}, and they follow the stored partitions")


def search_probe(probe, decoys):
    """A search's `probe` (None, "all" or a number, at least 1) and `decoys` (at least 0), checked."""
    if not (probe is None or (isinstance(probe, str) and probe == "all")):
        if isinstance(probe, bool) or not isinstance(probe, numbers.Integral):
            raise InvalidInputError(f"probe is a number of partitions or \"all\", not {probe!r}")
        if probe < 1:
            raise InvalidInputError("a search probes at least 1 partition (or \"all\")")
        probe = int(probe)
    if isinstance(decoys, bool) or not isinstance(decoys, numbers.Integral) or decoys < 0:
        raise InvalidInputError(f"decoys is a number of partitions (at least 0), not {decoys!r}")
    return probe, int(decoys)


def probed(codec, digest, vector, probe, filtered, decoys):
    """The partitions a search of `vector` probes (ascending), if it probes some and not every
    record: only a search with no filter and no range of a partitioned knowledge base does. The
    nearest ones, each with its whole group of `decoys + 1` drawn under the owner's key (the
    library's `RecordCodec.probe_with_decoys`; the order does not tell the service which are
    near)."""
    model = None if digest is None else digest.partition_model
    nearest = _nearest(model, vector, probe, filtered)
    if nearest is None:
        if decoys:
            raise InvalidInputError(
                "decoys hide which partitions a search probes: they need a partitioned knowledge base and a "
                "search that probes some of its partitions")
        return None
    return codec.probe_with_decoys(model.partitions, nearest, decoys)


def _nearest(model, vector, probe, filtered):
    if probe == "all" or (probe is None and (model is None or filtered)):
        return None
    if probe is None:
        return model.nearest(vector, model.default_probe)
    if filtered:
        raise InvalidInputError(
            "a search with a filter or a range reads every record it selects: probe partitions without one")
    if model is None:
        raise InvalidInputError(
            f"probing {probe} partitions of a knowledge base that is not partitioned (upload with partitions=N "
            f"or \"auto\", or {_REBUILD})")
    return model.nearest(vector, probe)


def owner_filter(partitions):
    """The owner's filter of whole `partitions`."""
    return json.loads(partitions_filter(partitions))
