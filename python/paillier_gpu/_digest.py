"""The owner's digest, for `Client`: read and checked, written with records (retried after
another writer) and rebuilt by the library's drivers (`RecordCodec.read_digest`,
`write_records`, `rebuild_digest`), which `Client._drive` carries over HTTP."""

import json
from collections import namedtuple

from ._native import RecordCodec
from ._native import counted_value as _counted_value

#: The digest as the service holds it, opened and checked: the digest (version 0: none stored),
#: the id the knowledge base's next inserted chunk gets, and how many chunks it holds.
Current = namedtuple("Current", "digest next_chunk_id chunks")


class Planned:
    """One write, as a plan returns it to the library's write driver: chunks inserted (`(chunk,
    nonce, counted value)`), replaced whole or patched (`(chunk with its chunk_id, (chunk_id, new
    nonce), counted value)`), deleted (ids), the records taken out (`(chunk_id, nonce, counted
    value)`) and the partitions from this write on (`(model, next)`, or None: as they are)."""

    def __init__(self, insert=(), update=(), delete=(), removed=(), patch=(), partitions=None):
        self.insert, self.update, self.patch = list(insert), list(update), list(patch)
        self.delete, self.removed, self.partitions = list(delete), list(removed), partitions


def counted_value(meta_data, field):
    """A record's value of the digest's counted field (None: it counts none), by the library's
    rule, over its metadata as Python holds it."""
    return _counted_value(None if meta_data is None else json.dumps(meta_data), field)


class Digests:
    """The digest's operations, for `Client` (which provides `_drive` and `_state`)."""

    def _current_digest(self, codec, kb_id=None, context_id=None):
        return Current(*self._drive(codec.read_digest(self._state)))

    def _write_with_digest(self, codec, kb_id, context_id, plan):
        """The inserted chunks' ids of the write `plan(current)` makes (a `Planned`)."""
        return self._drive(codec.write_records(self._state, lambda current: plan(Current(*current))))

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
