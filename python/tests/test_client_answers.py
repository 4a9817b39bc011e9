"""`paillier_gpu.client.Client` reading answers a service should not give: each is refused with
`RemoteUnreachableError` (or the caller's mistake with `ValueError`) before anything is decoded,
and integers longer than Python reads at once are read whole. No server: the client's HTTP call
is replaced by the answer under test."""

import json

import pytest

import paillier_gpu as pg
from paillier_gpu import client as remote
from paillier_gpu.client import Client, RemoteUnreachableError

EMBED = 16


@pytest.fixture(scope="module")
def ctx():
    return pg.ExecutionContext.create("pw", embedding_length=EMBED, key_len=256, insecure=True)


#: The owner's digest of a knowledge base never written (what a verified read asks first).
NO_DIGEST = {"version": 0, "sealed": None, "next_chunk_id": 0, "chunks": 0}


def answering(answer):
    """A client whose every request but the owner's digest's gets `answer`."""
    client = Client("http://127.0.0.1:9", "org", "key")
    client._request = lambda method, route, *args, **kwargs: NO_DIGEST if route == "owner_digest" else answer
    # The owner's digest is read by the library's driver, which Client._carry carries.
    client._carry = lambda method, route, *args: (
        200, json.dumps(NO_DIGEST if route == "owner_digest" else answer).encode(), False)
    return client


@pytest.mark.parametrize("answer", [{}, {"chunk_ids": []}, {"chunk_ids": [1, 2, 3]}, {"chunk_ids": ["1", 2]},
                                    {"chunk_ids": [True, 2]}, {"chunk_ids": [4, 4]}, [1, 2]])
def test_an_insert_answered_without_its_ids_is_refused(ctx, answer):
    with pytest.raises(RemoteUnreachableError, match="without 2 chunk ids"):
        answering(answer).upload("kb", ctx, [[0] * EMBED, [1] * EMBED])


@pytest.mark.parametrize("answer", [{"results": []}, "text", None])
def test_a_search_answer_that_is_not_a_list_is_refused(ctx, answer):
    with pytest.raises(RemoteUnreachableError, match="not a list"):
        answering(answer).search("kb", ctx, [0] * EMBED)


@pytest.mark.parametrize("answer", [{}, {"deleted_count": "3"}, {"would_delete_count": 3}, []])
def test_a_delete_answered_without_its_count_is_refused(ctx, answer):
    # The delete by id that a delete by metadata ends with too (the library's DeleteChunks).
    with pytest.raises(RemoteUnreachableError, match="without a count"):
        answering(answer).delete("kb", ctx, [7])


def test_a_metadata_search_answer_that_is_not_a_list_is_refused(ctx):
    with pytest.raises(RemoteUnreachableError, match="expected a list of chunks"):
        answering({"chunk_ids": [1]}).delete_by_meta("kb", ctx, {"tag1": "a"})


def test_a_count_is_refused_where_it_is_not_checked(ctx):
    client = answering([])
    with pytest.raises(ValueError, match="only on a verified search"):
        client.search("kb", ctx, [0] * EMBED, expect_count=3)
    with pytest.raises(ValueError, match="no filter and no range"):
        client.search("kb", ctx, [0] * EMBED, expect_count=3, verify=True, range=(1, 2))


def test_long_integers_are_read_whole_and_longer_ones_refused():
    # 4,902 digits, a ciphertext's size at key_len 4096 (Python's str() refuses to write it).
    digits = "3" + "0" * 4_899 + "17"
    value = 3 * 10**4_901 + 17
    assert remote._integer(digits) == value
    assert remote._integer("-" + digits) == -value
    with pytest.raises(ValueError, match="digits"):
        remote._integer("9" * (remote.MAX_DIGITS + 1))


def test_deeply_nested_answers_are_refused_not_a_crash():
    client = Client("http://127.0.0.1:9", "org", "key")

    class Answer:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def read(self):
            return b"[" * 100_000 + b"]" * 100_000

    original = remote.urllib.request.urlopen
    remote.urllib.request.urlopen = lambda *args, **kwargs: Answer()
    try:
        with pytest.raises(RemoteUnreachableError, match="not JSON"):
            client._request("GET", "chunk")
    finally:
        remote.urllib.request.urlopen = original


def hamming_answer(ctx, pieces=None, chunk_id=100):
    """One record of a compute_hamming answer: `pieces` (default: an honest encryption's, as
    integers) under `chunk_id`."""
    if pieces is None:
        pieces = ctx.sdk().homomorphic.encrypt_vec_one([0] * EMBED)
    return [[pieces, chunk_id]]


def modulus(ctx):
    return int(ctx.paillier_keys()[0].n)


@pytest.mark.parametrize("verify", [False, True])
@pytest.mark.parametrize("piece", ["zero", "n", "n squared", "above n squared", -5, "abc", 1.5, None, True])
def test_a_bad_piece_raises_the_answer_error_naming_the_chunk(ctx, verify, piece):
    n = modulus(ctx)
    piece = {"zero": 0, "n": n, "n squared": n * n, "above n squared": n * n + 1}.get(piece, piece)
    honest = ctx.sdk().homomorphic.encrypt_vec_one([0] * EMBED)
    error = pg.AnswerRejectedError if verify else RemoteUnreachableError
    with pytest.raises(error, match="chunk 100"):
        answering(hamming_answer(ctx, [piece] + honest[1:])).search("kb", ctx, [0] * EMBED, verify=verify)


@pytest.mark.parametrize("verify", [False, True])
@pytest.mark.parametrize("extra", [-1, 1])
def test_a_wrong_piece_count_raises_the_answer_error_naming_the_chunk(ctx, verify, extra):
    honest = ctx.sdk().homomorphic.encrypt_vec_one([0] * EMBED)
    pieces = honest[:-1] if extra < 0 else honest + honest[:1]
    error = pg.AnswerRejectedError if verify else RemoteUnreachableError
    with pytest.raises(error, match="chunk 100: .* pieces where the context has"):
        answering(hamming_answer(ctx, pieces)).search("kb", ctx, [0] * EMBED, verify=verify)


@pytest.mark.parametrize("verify", [False, True])
@pytest.mark.parametrize("chunk_id", [2**70, 2**63, "100", 100.9, -1, True, None])
def test_a_chunk_id_that_is_not_one_raises_the_answer_error(ctx, verify, chunk_id):
    error = pg.AnswerRejectedError if verify else RemoteUnreachableError
    with pytest.raises(error, match="chunk id .*not an integer from 0 to 2\\^63 - 1"):
        answering(hamming_answer(ctx, chunk_id=chunk_id)).search("kb", ctx, [0] * EMBED, verify=verify)


@pytest.mark.parametrize("record", [[1], "x", [[1], 2, 3]])
def test_a_record_that_is_not_a_pair_raises_the_answer_error(ctx, record):
    with pytest.raises(RemoteUnreachableError, match="is not \\[pieces, chunk_id\\]"):
        answering([record]).search("kb", ctx, [0] * EMBED)


def test_an_honest_record_of_the_largest_chunk_id_is_ranked(ctx):
    hits = answering(hamming_answer(ctx, chunk_id=2**63 - 1)).search("kb", ctx, [0] * EMBED)
    assert hits == [{"chunk_id": 2**63 - 1, "distance": 0}]
