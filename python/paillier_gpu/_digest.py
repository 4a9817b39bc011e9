"""The owner's digest, for `Client`: read and checked, and rebuilt, by the library's drivers
(`RecordCodec.read_digest`, `rebuild_digest`), which `Client._drive` carries over HTTP."""

from collections import namedtuple

from ._native import RecordCodec

#: The digest as the service holds it, opened and checked: the digest (version 0: none stored),
#: the id the knowledge base's next inserted chunk gets, and how many chunks it holds.
Current = namedtuple("Current", "digest next_chunk_id chunks")


class Digests:
    """The digest's operations, for `Client` (which provides `_drive` and `_state`)."""

    def _current_digest(self, codec, kb_id=None, context_id=None):
        return Current(*self._drive(codec.read_digest(self._state)))

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
