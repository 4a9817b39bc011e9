"""The owner's digest without a service: the binding's digest rules (a rollback, another copy at
the seen version, stored records against the digest) and the state folder the client shares with
the CLI (its layout, its modes, only a newer version replacing the one kept)."""

import json
import stat

import numpy as np
import pytest

import paillier_gpu as pg

EMBED = 16


@pytest.fixture(scope="module")
def ctx():
    return pg.ExecutionContext.create("pw", embedding_length=EMBED, key_len=256, insecure=True)


@pytest.fixture(scope="module")
def written(ctx):
    """Four verifiable records as stored under ids 10 to 13, and the digest that counts them."""
    # A knowledge base without a digest: opening it fixes the layout (two-bit at key_len 256).
    probe = pg.RecordCodec(ctx, "kb", True, False)
    assert probe.layout is None
    assert probe.open_digest(0).layout == probe.layout == "two-bit"
    codec = pg.RecordCodec(ctx, "kb", True, False, "two-bit")
    vectors = np.random.default_rng(3).integers(0, 2, (4, EMBED), dtype=np.uint8)
    docs = [{"content": f"d{i}", "meta_data": {"tag1": f"t{i % 2}"}, "name": None} for i in range(4)]
    chunks, nonces = codec.chunks(vectors, json.dumps(docs))
    indexes = [chunk["index"] for chunk in json.loads(chunks)]
    counted = [(10 + i, nonce, f"t{i % 2}") for i, nonce in enumerate(nonces)]
    digest, sealed = codec.rebuilt_digest(codec.plan_rebuild(0, counted_field="tag1"), counted)
    # Opened as the service's copy: verified records under "no digest" would be refused.
    codec.open_digest(1, sealed)
    return codec, indexes, nonces, digest, sealed


def test_a_digest_older_than_the_one_seen_or_another_at_its_version_is_refused(ctx, written):
    codec, _, nonces, first, sealed_1 = written
    assert (first.version, first.count, first.counted_field, first.counted_values) == (1, 4, "tag1", 2)
    second, sealed_2 = codec.next_digest(first, [(10, nonces[0], "t0")], [])
    assert (second.version, second.count) == (2, 3)
    assert codec.open_digest(2, sealed_2, (1, sealed_1)).count == 3
    with pytest.raises(pg.AnswerRejectedError, match="rolled back.*version 1.*seen version 2"):
        codec.open_digest(1, sealed_1, (2, sealed_2))
    with pytest.raises(pg.AnswerRejectedError, match="rolled back"):
        codec.open_digest(0, None, (2, sealed_2))
    other, sealed_other = codec.next_digest(first, [], [])
    with pytest.raises(pg.AnswerRejectedError, match="forked.*not the version 2 this owner saw"):
        codec.open_digest(2, sealed_other, (2, sealed_2))
    assert other.count == 4 and "tag1" in repr(other) and sealed_1 not in repr(other)
    with pytest.raises(pg.AnswerRejectedError, match="does not open"):
        pg.RecordCodec(ctx, "other kb", True, False).open_digest(1, sealed_1)


def test_a_later_digest_on_another_branch_is_a_fork_and_one_extending_the_seen_one_passes(written):
    codec, _, nonces, first, sealed_1 = written

    def link(digest, sealed):
        return json.loads(digest.write(digest.version - 1, sealed))["link"]

    second, sealed_2 = codec.next_digest(first, [(10, nonces[0], "t0")], [])
    third, sealed_3 = codec.next_digest(second, [], [])
    fourth, sealed_4 = codec.next_digest(third, [], [])
    # Another machine's branch from version 1, after a restore: versions 2' and 3'.
    other_2, sealed_o2 = codec.next_digest(first, [], [(20, nonces[1], "t1")])
    other_3, sealed_o3 = codec.next_digest(other_2, [], [])
    main_links = json.dumps([link(third, sealed_3)])
    assert codec.open_digest(4, sealed_4, (2, sealed_2), links=main_links).version == 4
    for links in ([], [link(other_2, sealed_o2)], [link(second, sealed_2)]):
        with pytest.raises(pg.AnswerRejectedError, match="forked"):
            codec.open_digest(3, sealed_o3, (2, sealed_2), links=json.dumps(links))
    with pytest.raises(pg.AnswerRejectedError, match="forked.*no link for version 3"):
        codec.open_digest(4, sealed_4, (2, sealed_2), links="[]")
    with pytest.raises(pg.InvalidInputError, match="not a JSON list"):
        codec.open_digest(4, sealed_4, (2, sealed_2), links="{")
    # A rebuild over the fork is refused unless the owner takes that branch.
    with pytest.raises(pg.AnswerRejectedError, match="forked.*after.rollback"):
        codec.plan_rebuild(3, sealed_o3, (2, sealed_2), "[]")
    plan = codec.plan_rebuild(3, sealed_o3, (2, sealed_2), "[]", after_rollback=True)
    assert (plan.expected_version, plan.version, plan.counted_field) == (3, 4, None)
    rebuilt, sealed_r = codec.rebuilt_digest(plan, [])
    assert codec.open_digest(4, sealed_r, (3, sealed_o3)).version == 4


def test_stored_records_are_checked_against_the_digest_where_it_covers_the_filter(written):
    codec, indexes, nonces, digest, _ = written
    stored = codec.stored(indexes, [10, 11, 12, 13], digest)
    assert stored.nonces == nonces and len(stored) == 4 and nonces[0] not in repr(stored)
    t1 = codec.stored([indexes[1], indexes[3]], [11, 13], digest, json.dumps({"tag1": "t1"}))
    assert t1.nonces == [nonces[1], nonces[3]]
    for ids, rows, filter in [([10, 11, 12], indexes[:3], None), ([11], indexes[1:2], {"tag1": "t1"}),
                              ([11, 10], [indexes[0], indexes[1]], None), ([], [], {"tag1": "t0"})]:
        with pytest.raises(pg.AnswerRejectedError, match="owner's digest counts"):
            codec.stored(rows, ids, digest, None if filter is None else json.dumps(filter))
    # An uncounted field is not covered: only each record's own checks apply.
    assert len(codec.stored(indexes[:1], [10], digest, json.dumps({"tag2": "x"}))) == 1
    again = codec.encrypt_again(stored)
    assert [len(index) for index, _ in again] == [len(i) for i in indexes]
    assert all(new != old for (_, new), old in zip(again, nonces))
    assert codec.stored([index for index, _ in again], [10, 11, 12, 13]).nonces == [n for _, n in again]


def test_a_query_shows_only_its_encrypted_pieces(written):
    codec = written[0]
    query = codec.encrypt_query([1] * EMBED)
    assert len(query) == len(query.pieces) >= 1 and all(isinstance(p, str) for p in query.pieces)
    assert "pieces" in repr(query) and query.pieces[0] not in repr(query)
    assert not [name for name in dir(query) if not name.startswith("_") and name != "pieces"]


def test_the_default_state_folder_is_the_clis(tmp_path):
    default = pg.OwnerState.default_folder
    assert default(str(tmp_path / "chosen"), str(tmp_path / "data"), str(tmp_path / "home")) == tmp_path / "chosen"
    assert default(None, str(tmp_path / "data"), str(tmp_path / "home")) == tmp_path / "data" / "paillier-gpu" / "state"
    assert default("", "", str(tmp_path / "home")) == tmp_path / "home" / ".local" / "share" / "paillier-gpu" / "state"
    assert default() is None
    state = pg.OwnerState(tmp_path / "state")
    # The Rust client's layout: both ids in hex.
    assert state.path("ctx", "kb/1") == tmp_path / "state" / "digests" / b"ctx".hex() / f"{b'kb/1'.hex()}.json"
    assert state.seen("ctx", "kb/1") is None and not state.rollback_noted("ctx", "kb/1")
    assert pg.OwnerState().path("ctx", "kb") is None
