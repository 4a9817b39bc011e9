"""Knowledge bases of sealed vectors through `paillier_gpu.client.Client` and a real `serve`: an
upload with `sealed_vectors=True` stores pages (no Paillier ciphertext), a verified search opens
and ranks them and finds exactly what a knowledge base of Paillier records of the same vectors
finds, for a fraction of the bytes; finds, edits, filtered searches and a partitions rebuild
work over them; what needs Paillier records is refused with a reason. The Rust client's
`crates/client/tests/owner/sealed_vectors.rs` and `sealed_edits.rs`, from Python."""

import pytest

import paillier_gpu as pg
from paillier_gpu.client import Client, RemoteError

from test_owner_digest import Server, proxy  # noqa: F401  (the tampering proxy's fixture)
from conftest import hamming
from test_partitions import BOTH, EMBED, clustered, documents


@pytest.fixture(scope="module")
def server(cli, tmp_path_factory):
    server = Server(cli, tmp_path_factory.mktemp("sealed-server"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def ctx():
    return pg.ExecutionContext.create("pw", embedding_length=EMBED, key_len=256, insecure=True)


def uploaded(server, ctx, name, tmp_path, vectors, **sealed):
    kb, key = server.kb_and_key(name)
    client = Client(server.url, server.org, key, state_dir=tmp_path / name)
    client.push_context(ctx)
    ids = client.upload(kb, ctx, vectors, documents(len(vectors)), partitions=8, **BOTH, **sealed)
    return client, kb, [chunk_id for chunk_id, _ in ids]


def search(client, kb, ctx, query, **options):
    hits, cost = client.search(kb, ctx, query, top_k=10, verify=True, private_meta=True, stats=True,
                               with_content=True, **options)
    return hits, cost


def test_sealed_vectors_are_searched_as_paillier_records_of_the_same_vectors(server, ctx, tmp_path):
    stored = clustered(300, 8, 21)
    sealed, kb, ids = uploaded(server, ctx, "sealed", tmp_path, stored, sealed_vectors=True)
    paillier, paillier_kb, paillier_ids = uploaded(server, ctx, "paillier", tmp_path, stored)
    # Sealed vectors go partition by partition: the same ids, given to other records.
    assert sorted(ids) == sorted(paillier_ids) and ids != paillier_ids
    for query in clustered(3, 8, 22):
        for probe in ("all", 2, None):
            hits, cost = search(sealed, kb, ctx, query, probe=probe)
            paillier_hits, paillier_cost = search(paillier, paillier_kb, ctx, query, probe=probe)
            found = [(h["chunk_id"], h["distance"]) for h in hits]
            assert [d for _, d in found] == [h["distance"] for h in paillier_hits], probe
            assert (cost["records"], cost["partitions"]) == (paillier_cost["records"], paillier_cost["partitions"])
            assert cost["answer_bytes"] * 4 < paillier_cost["answer_bytes"]
            assert set(cost["times_ms"]) == {"digest", "service", "transfer", "opening", "ranking", "documents"}
            for hit in hits:
                assert hit["content"] == f"doc {ids.index(hit['chunk_id'])}"
            truth = {chunk_id: hamming(vector, query) for chunk_id, vector in zip(ids, stored)}
            assert all(truth[chunk_id] == distance for chunk_id, distance in found)
            if probe == "all":
                assert [d for _, d in found] == sorted(truth.values())[:10]


def test_what_needs_paillier_records_says_so(server, ctx, tmp_path):
    stored = clustered(40, 8, 23)
    client, kb, ids = uploaded(server, ctx, "sealed-refusals", tmp_path, stored, sealed_vectors=True)
    # Without verification the service is asked for compute_hamming.
    with pytest.raises(RemoteError) as refused:
        client.search(kb, ctx, stored[0], top_k=3, private_meta=True)
    assert refused.value.status == 400 and "sealed vectors" in refused.value.message
    with pytest.raises(ValueError, match="verifiable=True"):
        client.upload(kb, ctx, stored[:2], sealed_vectors=True, private_meta=True)
    # A later upload follows the knowledge base's layout, asked or not.
    added = client.upload(kb, ctx, stored[:2], **BOTH)
    hits = client.search(kb, ctx, stored[1], top_k=1, verify=True, private_meta=True, probe="all")
    assert hits[0]["distance"] == 0 and hits[0]["chunk_id"] in (added[1][0], ids[1])


def test_sealed_vectors_are_found_edited_searched_by_filter_and_partitioned_again(server, ctx, tmp_path):
    stored = clustered(120, 8, 31)
    client, kb, ids = uploaded(server, ctx, "sealed-edits", tmp_path, stored, sealed_vectors=True)
    mine = dict(verifiable=True, private_meta=True)
    found = client.find(kb, ctx, {"tag1": "t1"}, **mine)
    assert sorted(r["content"] for r in found) == sorted(f"doc {i}" for i in range(120) if i % 3 == 1)

    def nearest(vector, **options):
        return client.search(kb, ctx, vector, top_k=1, verify=True, private_meta=True, with_content=True,
                             **{"probe": "all", **options})[0]

    # Each edit seals its records' pages again whole: their other records are still found.
    assert client.delete(kb, ctx, [ids[0]], **mine) == 1
    assert nearest(stored[0])["chunk_id"] != ids[0]
    moved = [1 - bit for bit in stored[1]]
    client.update(kb, ctx, [ids[1]], [moved], [{"content": "updated", "meta_data": {"tag1": "t1"}}], **mine)
    hit = nearest(moved)
    assert (hit["chunk_id"], hit["distance"], hit["content"]) == (ids[1], 0, "updated")
    assert len(client.patch_by_meta(kb, ctx, {"tag1": "t2"}, {"tag2": "p"}, **mine)) == 40
    assert len(client.find(kb, ctx, {"tag2": "p"}, **mine)) == 40
    assert client.delete_by_meta(kb, ctx, {"tag1": "t0"}, **mine) == 39
    assert client.find(kb, ctx, {"tag1": "t0"}, **mine) == []
    for i in (4, 5, 7):
        hit = nearest(stored[i])
        assert (hit["chunk_id"], hit["distance"]) == (ids[i], 0)

    # A filtered search ranks the filter's records only, as a brute force over them does.
    query = stored[8]
    hits = client.search(kb, ctx, query, top_k=5, verify=True, private_meta=True, with_content=True,
                         filter={"tag1": "t2"})
    truth = sorted(hamming(stored[i], query) for i in range(120) if i % 3 == 2)
    assert [h["distance"] for h in hits] == truth[:5]
    assert all(h["meta_data"]["tag2"] == "p" for h in hits)

    # The partitions trained again: whole pages move, and every record is still found.
    client.rebuild_partitions(kb, ctx, partitions=4, private_meta=True)
    for i in (4, 5, 7):
        hit = nearest(stored[i], probe=2)
        assert (hit["chunk_id"], hit["distance"]) == (ids[i], 0)


def test_each_lie_about_sealed_pages_is_refused(server, proxy, ctx, tmp_path):
    kb, key = server.kb_and_key("sealed-lies")
    client = Client(proxy.url, server.org, key, state_dir=tmp_path / "lied-to")
    client.push_context(ctx)
    stored = clustered(200, 8, 24)
    ids = client.upload(kb, ctx, stored, documents(200), partitions=8, sealed_vectors=True, **BOTH)
    query = stored[5]

    def searched(**options):
        return client.search(kb, ctx, query, top_k=5, verify=True, private_meta=True, **options)

    assert searched(probe=2)[0]["chunk_id"] == ids[5][0]
    lies = ["page_drop", "page_twice", "page_flip", "page_ids", "page_partition"]
    for kind in lies:
        proxy(kind=kind, vector_bytes=EMBED // 8)
        with pytest.raises(pg.AnswerRejectedError):
            searched(probe=3)
    # Another knowledge base's page, of the same context.
    proxy(kind="none")
    other_kb, other_key = server.kb_and_key("sealed-lies-other")
    other = Client(proxy.url, server.org, other_key, state_dir=tmp_path / "other")
    other.push_context(ctx)
    other.upload(other_kb, ctx, stored[:50], partitions=2, sealed_vectors=True, **BOTH)
    other.search(other_kb, ctx, query, top_k=1, verify=True, private_meta=True, probe="all")
    proxy(kind="page_foreign", vector_bytes=EMBED // 8, from_kb=other_kb)
    with pytest.raises(pg.AnswerRejectedError):
        searched(probe=3)
    # Another query's partitions, answered for this one's.
    proxy(kind="none")
    client.search(kb, ctx, stored[150], top_k=5, verify=True, private_meta=True, probe=2)
    proxy(kind="page_replay", vector_bytes=EMBED // 8)
    with pytest.raises(pg.AnswerRejectedError):
        searched(probe=2)
    # The partitions asked for changed on the way: one left out, one replaced, all replaced.
    for kind in ("drop_partition", "swap_partition", "other_tokens"):
        proxy(kind=kind)
        with pytest.raises(pg.AnswerRejectedError):
            searched(probe=2)
    proxy(kind="none")
    assert searched(probe=2)[0]["chunk_id"] == ids[5][0]


def test_a_knowledge_base_of_paillier_records_moves_to_sealed_vectors(server, proxy, ctx, tmp_path):
    stored = clustered(120, 8, 25)
    kb, key = server.kb_and_key("moved")
    client = Client(server.url, server.org, key, state_dir=tmp_path / "mover")
    client.push_context(ctx)
    client.upload(kb, ctx, stored, documents(120), partitions=4, **BOTH)
    query = stored[9]
    before = client.search(kb, ctx, query, top_k=5, verify=True, private_meta=True, with_content=True, probe="all")
    # Cut short after its first write of 50 records; searches refused between; run again.
    lied_to = Client(proxy.url, server.org, key, state_dir=tmp_path / "mover")
    proxy(kind="refuse_writes", after=1)
    with pytest.raises(RemoteError):
        lied_to.seal_vectors(kb, ctx, private_meta=True, batch=50)
    proxy(kind="none")
    with pytest.raises(RemoteError, match="sealed vectors"):
        client.search(kb, ctx, query, top_k=5, verify=True, private_meta=True, probe="all")
    report = client.seal_vectors(kb, ctx, private_meta=True, batch=50)
    assert report == {"records": 120, "moved": 70, "resumed": True}
    assert client._digest(kb, ctx, True).layout == "sealed-vectors"
    after, cost = client.search(kb, ctx, query, top_k=5, verify=True, private_meta=True, with_content=True,
                                probe="all", stats=True)
    assert after == [{**hit, "nonce": after[i]["nonce"]} for i, hit in enumerate(before)]
    assert cost["answer_bytes"] < 120 * 100
    assert client.seal_vectors(kb, ctx, private_meta=True) == {"records": 120, "moved": 0, "resumed": False}
