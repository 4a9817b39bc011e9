"""`paillier_gpu.client.Client` reading answers a service should not give: each is refused with
`RemoteUnreachableError` (or the caller's mistake with `ValueError`) before anything is decoded,
and integers longer than Python reads at once are read whole. No server: the client's HTTP call
is replaced by the answer under test."""

import pytest

import paillier_gpu as pg
from paillier_gpu import client as remote
from paillier_gpu.client import Client, RemoteUnreachableError

EMBED = 16


@pytest.fixture(scope="module")
def ctx():
    return pg.ExecutionContext.create("pw", embedding_length=EMBED, key_len=256, insecure=True)


def answering(answer):
    """A client whose every request gets `answer`."""
    client = Client("http://127.0.0.1:9", "org", "key")
    client._request = lambda *args, **kwargs: answer
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
    client = answering(answer)
    client._find = lambda *args, **kwargs: [({"chunk_id": 7}, None)]  # found and opened
    with pytest.raises(RemoteUnreachableError, match="without a count"):
        client.delete_by_meta("kb", ctx, {"tag1": "a"})


def test_a_metadata_search_answer_that_is_not_a_list_is_refused(ctx):
    with pytest.raises(RemoteUnreachableError, match="not a list"):
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
