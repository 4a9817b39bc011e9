"""A knowledge base's partitions as its owner uses them: which partition each new record goes to,
which partitions a search probes, what the owner knows of them, and their rebuild. The model
(`PartitionModel`) lives in the owner's sealed digest; the service sees a token per record and
the tokens each query names, nothing else. The Rust client's `partitions` module."""

import json
import numbers

from ._native import RecordCodec, partitions_filter
from .errors import InvalidInputError


class Partitions:
    """The partitions' reads and their rebuild, for `Client` (which provides `_drive`, `_state`
    and `_current_digest`)."""

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
        run = codec.rebuild_partitions(self._state, None if count == "auto" else count, balance=balance,
                                       recall_target=recall_target, seed=seed)
        return self._drive(run)


def partition_count(partitions):
    """`partitions` as an upload or a rebuild takes it: None, "auto" or a number (at least 1)."""
    if partitions is None or (isinstance(partitions, str) and partitions == "auto"):
        return partitions
    if isinstance(partitions, bool) or not isinstance(partitions, numbers.Integral) or partitions < 1:
        raise InvalidInputError(f"partitions is a number of partitions (at least 1) or \"auto\", not {partitions!r}")
    return int(partitions)


def search_probe(probe, decoys):
    """A search's `probe` (None, "all" or a number) and `decoys` (at least 0), checked for their
    types; the library says what a probe may be (`RecordCodec.probed_partitions`)."""
    if not (probe is None or (isinstance(probe, str) and probe == "all")):
        if isinstance(probe, bool) or not isinstance(probe, numbers.Integral) or probe < 0:
            raise InvalidInputError(f"probe is a number of partitions or \"all\", not {probe!r}")
        probe = int(probe)
    if isinstance(decoys, bool) or not isinstance(decoys, numbers.Integral) or decoys < 0:
        raise InvalidInputError(f"decoys is a number of partitions (at least 0), not {decoys!r}")
    return probe, int(decoys)


def owner_filter(partitions):
    """The owner's filter of whole `partitions`."""
    return json.loads(partitions_filter(partitions))
