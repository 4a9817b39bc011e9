"""Partitioned knowledge bases through `paillier_gpu.client.Client` and a real `serve`: the first
upload trains (over all its vectors), later ones follow; a search probes the partitions nearest
its query and its answer is exactly their records' top k, verified against the owner's digest;
updates, patches and deletes keep partitions and digest consistent; bad requests are refused
with a reason; a rebuild moves records (and resumes one cut short). The Rust client's
`crates/client/tests/owner/partitions.rs`, from Python."""

import json
import math
import os
import subprocess

import numpy as np
import pytest

import paillier_gpu as pg
from paillier_gpu.client import UPLOAD_BATCH, Client

from conftest import hamming
from test_owner_digest import Server

EMBED = 48
#: Both record options, as the Rust test's `BOTH`.
BOTH = {"verifiable": True, "private_meta": True}


@pytest.fixture(scope="module")
def server(cli, tmp_path_factory):
    server = Server(cli, tmp_path_factory.mktemp("partitions-server"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def ctx():
    return pg.ExecutionContext.create("pw", embedding_length=EMBED, key_len=256, insecure=True)


def owner(server, ctx, name, tmp_path):
    kb, key = server.kb_and_key(name)
    client = Client(server.url, server.org, key, state_dir=tmp_path / "state")
    client.push_context(ctx)
    return client, kb


def clustered(count, clusters, seed):
    """`count` vectors in `clusters` clusters: each a random centre with about one bit in eight
    flipped, so partitions mean something and still overlap."""
    rng = np.random.default_rng(seed)
    centres = rng.integers(0, 2, (clusters, EMBED), dtype=np.uint8)
    flips = (rng.random((count, EMBED)) < 1 / 8).astype(np.uint8)
    return centres[np.arange(count) % clusters] ^ flips


def documents(count, start=0):
    return [{"content": f"doc {start + i}", "meta_data": {"tag1": f"t{(start + i) % 3}"}, "name": f"n{start + i}"}
            for i in range(count)]


def expected(written, query, partitions=None, k=10):
    """The top `k` of the owner's copy `written` ({chunk_id: (vector, partition)}) in
    `partitions` (all when None), nearest first, ties by id."""
    found = [(hamming(vector, query), chunk_id) for chunk_id, (vector, p) in written.items()
             if partitions is None or p in partitions]
    return [(chunk_id, distance) for distance, chunk_id in sorted(found)[:k]]


def search(client, kb, ctx, query, **options):
    hits, cost = client.search(kb, ctx, query, top_k=10, verify=True, private_meta=True, stats=True, **options)
    return [(h["chunk_id"], h["distance"]) for h in hits], cost


def check_searches(client, kb, ctx, model, written, queries):
    """Every search of `queries`, exhaustive and at probes 1, 2 and all partitions, against the
    owner's copy; the default probe is the owner's recommendation."""
    for query in queries:
        found, cost = search(client, kb, ctx, query, probe="all")
        assert found == expected(written, query)
        assert (cost["records"], cost["partitions"]) == (len(written), None)
        per_record = cost["answer_bytes"] // len(written)
        assert per_record * len(written) == cost["answer_bytes"] and per_record > 0
        for probe in (1, 2, model.partitions):
            nearest = model.nearest(query, probe)
            found, cost = search(client, kb, ctx, query, probe=probe)
            assert found == expected(written, query, nearest), probe
            selected = sum(1 for _, p in written.values() if p in nearest)
            assert (cost["records"], cost["partitions"]) == (selected, len(nearest)), probe
            assert cost["answer_bytes"] == selected * per_record
        found, cost = search(client, kb, ctx, query)
        assert cost["partitions"] == model.default_probe
        assert found == expected(written, query, model.nearest(query, model.default_probe))


def test_a_partitioned_knowledge_base_is_searched_by_partitions_and_verified_whole(server, ctx, tmp_path):
    client, kb = owner(server, ctx, "partitioned", tmp_path)
    assert client.partitions(kb, ctx, private_meta=True) is None

    # The first upload trains over all its vectors, as PartitionModel.train does (seed 0); its
    # first batch stores the model, the second follows it.
    count = UPLOAD_BATCH + 140
    stored = clustered(count, 12, 1)
    uploaded = client.upload(kb, ctx, stored, documents(count), partitions=12, **BOTH)
    local, placed = pg.PartitionModel.train(stored, 12)
    model, records = client.partition_model(kb, ctx, private_meta=True)
    assert (model, records) == (local, count)
    written = {chunk_id: (vector, p) for (chunk_id, _), vector, p in zip(uploaded, stored, placed)}
    summary = client.partitions(kb, ctx, private_meta=True)
    assert (summary["records"], summary["partitions"], summary["rebuilding"]) == (count, 12, False)
    assert summary["sizes"] == [placed.count(p) for p in range(12)]
    assert max(summary["sizes"]) <= math.ceil(1.5 * count / 12) == model.capacity(count)
    assert summary["recommended_probe"] == model.default_probe and summary["balance"] == 1.5
    assert summary["recall"] == model.recall and summary["recall"][-1]["probe"] == 12
    assert math.isclose(summary["largest_over_mean"], max(summary["sizes"]) / (count / 12))

    # Later uploads follow, with or without `partitions`: each record in its nearest partition.
    later = clustered(40, 12, 2)
    added = client.upload(kb, ctx, later[:20], documents(20, count), **BOTH)
    with pytest.warns(UserWarning, match="already has 12 partitions"):
        added += client.upload(kb, ctx, later[20:], documents(20, count + 20), partitions=5, **BOTH)
    for (chunk_id, _), vector in zip(added, later):
        written[chunk_id] = (vector, model.assign(vector))
    assert client.partitions(kb, ctx, private_meta=True)["sizes"] == [
        sum(1 for _, p in written.values() if p == q) for q in range(12)]
    queries = clustered(3, 12, 3)
    check_searches(client, kb, ctx, model, written, queries)

    # The documents carry their partition (sealed); the service holds a token of it.
    hits = client.search(kb, ctx, queries[0], top_k=3, verify=True, private_meta=True, with_content=True)
    for hit in hits:
        assert hit["meta_data"]["partition"] == str(written[hit["chunk_id"]][1])
        assert hit["meta_data"]["tag1"] in ("t0", "t1", "t2")

    # An update moves a record to its new vector's partition; a patch keeps each record's
    # partition; a delete (by id or by metadata) takes records out.
    ids = sorted(written)[:3]
    moved = clustered(3, 5, 4)
    client.update(kb, ctx, ids, moved, documents(3, 900), **BOTH)
    for chunk_id, vector in zip(ids, moved):
        written[chunk_id] = (vector, model.assign(vector))
    patched = client.patch_by_meta(kb, ctx, {"tag1": "t1"}, {"tag2": "seen"}, **BOTH)
    found = client.find(kb, ctx, {"tag1": "t1"}, **BOTH)
    assert sorted(patched) == sorted(f["chunk_id"] for f in found)
    assert all(f["meta_data"]["partition"] == str(written[f["chunk_id"]][1]) for f in found)
    gone = sorted(written)[10:12]
    assert client.delete(kb, ctx, gone, **BOTH) == 2
    gone += [f["chunk_id"] for f in client.find(kb, ctx, {"tag1": "t2"}, **BOTH)]
    assert client.delete_by_meta(kb, ctx, {"tag1": "t2"}, **BOTH) == len(gone) - 2
    for chunk_id in gone:
        del written[chunk_id]
    check_searches(client, kb, ctx, model, written, queries)
    assert sum(client.partitions(kb, ctx, private_meta=True)["sizes"]) == len(written)

    # Decoys: more partitions probed (and checked), the nearest among them.
    found, cost = search(client, kb, ctx, queries[1], probe=1, decoys=2)
    [nearest] = model.nearest(queries[1], 1)
    # Its group of four (three decoys asked, rounded up to a power of two) under the owner's
    # key, the same for this query every time.
    group = pg.RecordCodec(ctx, kb, True, True).probe_with_decoys(12, model.nearest(queries[1], 12), 1, 4)
    assert cost["partitions"] == len(group) == 4 and nearest in group
    sizes = [sum(1 for _, p in written.values() if p == q) for q in range(12)]
    assert sum(sizes[q] for q in group) == cost["records"]
    best = expected(written, queries[1], [nearest])
    assert len(found) == 10 and all(d <= e for (_, d), (_, e) in zip(found, best))


def test_bad_partition_requests_are_refused_with_a_reason(server, ctx, tmp_path):
    client, kb = owner(server, ctx, "refusals", tmp_path)
    vectors = clustered(30, 3, 5)
    with pytest.raises(pg.InvalidInputError, match="partitions must be 1 to the number of records"):
        client.upload(kb, ctx, vectors, partitions=31, **BOTH)
    for bad in (0, -1, True, "many", 2.5):
        with pytest.raises(pg.InvalidInputError, match="at least 1"):
            client.upload(kb, ctx, vectors, partitions=bad, **BOTH)
    with pytest.raises(pg.InvalidInputError, match="need verifiable records"):
        client.upload(kb, ctx, vectors, partitions=3)
    with pytest.raises(pg.PrivateMetadataError, match="partitions' own"):
        client.upload(kb, ctx, vectors[:2], [{"content": "x", "meta_data": {"partition": "1"}}] * 2,
                      partitions=2, **BOTH)
    assert client.partition_model(kb, ctx, private_meta=True) == (None, 0)

    uploaded = client.upload(kb, ctx, vectors, partitions="auto", **BOTH)
    model, _ = client.partition_model(kb, ctx, private_meta=True)
    assert model.partitions == pg.auto_partitions(30) == 5
    query = vectors[0]
    refusals = [
        (dict(probe=0), pg.InvalidInputError, "at least 1 partition"),
        (dict(probe="some"), pg.InvalidInputError, "number of partitions or \"all\""),
        (dict(probe=2, filter={"tag1": "a"}), pg.InvalidInputError, "probe partitions without one"),
        (dict(probe=2, range=(0, 10)), pg.InvalidInputError, "probe partitions without one"),
        (dict(probe=2, expect_count=30), pg.InvalidInputError, "expected count is of the whole"),
        (dict(probe="all", decoys=1), pg.InvalidInputError, "decoys hide"),
        (dict(decoys=-1), pg.InvalidInputError, "at least 0"),
    ]
    for options, error, message in refusals:
        with pytest.raises(error, match=message):
            client.search(kb, ctx, query, verify=True, private_meta=True, **options)
    with pytest.raises(pg.InvalidInputError, match="verified search only"):
        client.search(kb, ctx, query, probe=2, private_meta=True)
    with pytest.raises(pg.PrivateMetadataError, match="partitions' own"):
        client.patch_by_meta(kb, ctx, {"tag1": "a"}, {"partition": "0"}, **BOTH)
    with pytest.raises(pg.PrivateMetadataError, match="partitions' own"):
        client.update(kb, ctx, [uploaded[0][0]], vectors[:1], [{"content": "x", "meta_data": {"partition": "4"}}],
                      **BOTH)
    with pytest.raises(pg.InvalidInputError, match="partitions must be 1 to the number of records"):
        client.rebuild_partitions(kb, ctx, partitions=100_000, private_meta=True)
    # A count holds for the whole knowledge base: the search then reads every record.
    hits, cost = client.search(kb, ctx, query, verify=True, private_meta=True, expect_count=30, stats=True)
    assert (len(hits), cost["records"], cost["partitions"]) == (10, 30, None)
    assert client.partitions(kb, ctx, private_meta=True)["partitions"] == 5

    # A knowledge base with records and no partitions: an upload with partitions is refused,
    # naming the rebuild; probing it too.
    plain, plain_kb = owner(server, ctx, "plain", tmp_path)
    plain.upload(plain_kb, ctx, vectors, **BOTH)
    with pytest.raises(pg.InvalidInputError, match="without partitions.*rebuild_partitions"):
        plain.upload(plain_kb, ctx, vectors[:3], partitions=2, **BOTH)
    with pytest.raises(pg.InvalidInputError, match="not partitioned"):
        plain.search(plain_kb, ctx, query, verify=True, private_meta=True, probe=2)
    assert len(plain.search(plain_kb, ctx, query, verify=True, private_meta=True, probe="all")) == 10
    assert plain.partitions(plain_kb, ctx, private_meta=True) is None


def test_the_model_binding_matches_the_library():
    vectors = clustered(200, 4, 7)
    model, placed = pg.PartitionModel.train(vectors, 4, balance=1.2, seed=3)
    assert (model.partitions, model.dim, model.balance, model.top_k) == (4, EMBED, 1.2, 10)
    assert placed == model.assign_balanced(vectors)
    assert max(placed.count(p) for p in range(4)) <= model.capacity(200) == math.ceil(1.2 * 200 / 4)
    assert model.assign_many(vectors[:5]) == [model.assign(v) for v in vectors[:5]]
    assert sorted(model.nearest(vectors[0], 10)) == [0, 1, 2, 3] and model.nearest(vectors[0], 1)[0] == model.assign(
        vectors[0])
    assert model.probe_for(model.recall_target) == model.default_probe
    assert [point["probe"] for point in model.recall] == sorted({1, 2, model.default_probe, 4})
    assert len(model.centroid(3)) == EMBED and model == pg.PartitionModel.train(vectors, 4, balance=1.2, seed=3)[0]
    assert model != pg.PartitionModel.train(vectors, 4, seed=4)[0] and model != "a model"
    with pytest.raises(pg.InvalidInputError, match="probe 0"):
        model.nearest(vectors[0], 0)
    with pytest.raises(pg.InvalidVectorError):
        model.assign(vectors[0][:10])
    with pytest.raises(IndexError):
        model.centroid(4)
    assert json.loads(pg._native.partitions_filter([3, 17])) == {"partition": {"$in": ["3", "17"]}}


def test_a_records_counted_value_and_placement_are_the_librarys():
    """What the digest counts of a record's metadata, and the metadata placed in a partition,
    come from the library: a string counts, anything else (and no metadata) counts as none, and
    metadata naming a partition of its own is refused."""
    native = pg._native
    assert native.counted_value(json.dumps({"tag1": "a", "tag2": 3}), "tag1") == "a"
    # A number counts as the text the service's filter compares.
    assert native.counted_value(json.dumps({"tag1": "a", "tag2": 3}), "tag2") == "3"
    assert native.counted_value(json.dumps({"tag1": "a", "tag2": [3]}), "tag2") is None
    assert native.counted_value(json.dumps(["tag1"]), "tag1") is None
    assert native.counted_value(None, "tag1") is None
    assert native.counted_value(json.dumps({"tag1": "a"}), None) is None
    assert json.loads(native.placed_meta(json.dumps({"tag1": "a"}), 7)) == {"tag1": "a", "partition": "7"}
    assert json.loads(native.placed_meta(None, 0)) == {"partition": "0"}
    with pytest.raises(pg.PrivateMetadataError):
        native.placed_meta(json.dumps({"partition": "1"}), 2)


def test_the_cli_and_python_search_each_others_partitions(server, ctx, cli, tmp_path):
    """A knowledge base the CLI (the Rust client) partitioned is searched and written from
    Python, and the CLI searches the records Python placed."""
    client, kb = owner(server, ctx, "interop", tmp_path)
    env = dict(os.environ, PAILLIER_GPU_PASSPHRASE="pw", PAILLIER_GPU_ORG=server.org, PAILLIER_GPU_REMOTE=server.url,
               PAILLIER_GPU_API_KEY=server.key["secretKey"], PAILLIER_GPU_STATE_DIR=str(tmp_path / "cli-state"))
    ctx.save_to_disk(tmp_path / "ctx.json")

    def run(*args):
        done = subprocess.run([cli, "remote", *args, "--context", "ctx.json", "--kb", kb, "--private-meta"], cwd=tmp_path,
                              env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        return [json.loads(line) for line in done.stdout.splitlines()]

    vectors = clustered(200, 8, 11)
    (tmp_path / "vectors.jsonl").write_text("".join(json.dumps(v.tolist()) + "\n" for v in vectors))
    run("upload", "--vectors", "vectors.jsonl", "--verifiable", "--partitions", "8", "--ids-out", "ids.jsonl")
    ids = [json.loads(line)["chunk_id"] for line in (tmp_path / "ids.jsonl").read_text().splitlines()]
    model, records = client.partition_model(kb, ctx, private_meta=True)
    trained, placed = pg.PartitionModel.train(vectors, 8)
    assert (model, records) == (trained, 200)
    written = {i: (v, p) for i, v, p in zip(ids, vectors, placed)}
    later = clustered(10, 8, 12)
    for (chunk_id, _), vector in zip(client.upload(kb, ctx, later, **BOTH), later):
        written[chunk_id] = (vector, model.assign(vector))
    queries = clustered(2, 8, 13)
    check_searches(client, kb, ctx, model, written, queries)
    (tmp_path / "queries.jsonl").write_text("".join(json.dumps(q.tolist()) + "\n" for q in queries))
    lines = run("search", "--query", "queries.jsonl", "--verify", "--probe", "2", "--stats")
    for line, query in zip(lines, queries):
        nearest = model.nearest(query, 2)
        assert [(h["chunk_id"], h["distance"]) for h in line["results"]] == expected(written, query, nearest)
        assert (line["records"], line["partitions"]) == (sum(1 for _, p in written.values() if p in nearest), 2)


def test_a_model_read_back_from_the_sealed_digest_is_the_one_trained(ctx):
    codec = pg.RecordCodec(ctx, "kb", True, False, "two-bit")
    empty, _ = codec.rebuilt_digest(codec.plan_rebuild(0), [])
    for seed in range(6):
        vectors = np.random.default_rng(seed).integers(0, 2, (120, EMBED), dtype=np.uint8)
        model, _ = pg.PartitionModel.train(vectors, 4 + seed % 5)
        opened = codec.open_digest(1, codec.seal_digest(empty.with_partitions(model, model)))
        assert opened.partition_model == model == opened.next_partition_model
        assert (opened.counted_field, opened.partition_sizes) == ("partition", [0] * model.partitions)
        assert "partitions=" in repr(opened) and empty.partition_model is None


def test_a_rebuild_moves_records_resumes_when_cut_short_and_stops_for_another_writer(server, ctx, tmp_path,
                                                                                  monkeypatch):
    client, kb = owner(server, ctx, "rebuild", tmp_path)
    vectors = clustered(120, 6, 8)
    uploaded = client.upload(kb, ctx, vectors, documents(120), **BOTH)
    ids = [chunk_id for chunk_id, _ in uploaded]

    def owners_copy(model):
        return {i: (v, p) for i, v, p in zip(ids, vectors, model.assign_balanced(vectors))}

    # A knowledge base uploaded without partitions is partitioned: every record moves.
    report = client.rebuild_partitions(kb, ctx, partitions=6, private_meta=True)
    assert report == {"partitions": 6, "records": 120, "moved": 120, "resumed": False}
    model, _ = client.partition_model(kb, ctx, private_meta=True)
    assert model == pg.PartitionModel.train(vectors, 6)[0]
    summary = client.partitions(kb, ctx, private_meta=True)
    assert sum(summary["sizes"]) == 120 and max(summary["sizes"]) <= model.capacity(120)
    assert not summary["rebuilding"]
    queries = clustered(2, 6, 9)
    check_searches(client, kb, ctx, model, owners_copy(model), queries)

    # A rebuild cut short before its last write (the model installed, every record moved, not
    # yet made the one searches probe): the digest still holds both models, every search
    # verifies, and running it again resumes with the model it had trained.
    writes = []
    real = Client._carry

    def cut_short(self, method, route, *args):
        if route == "records":
            if len(writes) == 2:
                raise KeyboardInterrupt("cut short")
            writes.append(1)
        return real(self, method, route, *args)

    monkeypatch.setattr(Client, "_carry", cut_short)
    with pytest.raises(KeyboardInterrupt):
        client.rebuild_partitions(kb, ctx, partitions=4, private_meta=True)
    monkeypatch.setattr(Client, "_carry", real)
    summary = client.partitions(kb, ctx, private_meta=True)
    assert (summary["partitions"], summary["rebuilding"]) == (6, True)
    found, cost = search(client, kb, ctx, queries[0], probe="all")
    assert cost["records"] == 120 and len(found) == 10
    # A probe of some partitions would miss the records of the other model: refused, naming
    # what finishes the rebuild.
    for probe in ({}, {"probe": 1}):
        with pytest.raises(pg.InvalidInputError, match="between two partition models.*rebuild_partitions"):
            search(client, kb, ctx, queries[0], **probe)
    report = client.rebuild_partitions(kb, ctx, partitions=3, private_meta=True)
    assert (report["partitions"], report["resumed"]) == (4, True)
    model, _ = client.partition_model(kb, ctx, private_meta=True)
    assert model == pg.PartitionModel.train(vectors, 4)[0]
    check_searches(client, kb, ctx, model, owners_copy(model), queries)

    # Another writer between two steps stops the rebuild; running it again finishes it.
    other = Client(server.url, server.org, server.key["secretKey"], state_dir=tmp_path / "other")

    def interrupted(self, method, route, *args):
        # The rebuild's second write (its moves, after it installed its model).
        if self is client and route == "records":
            writes.append(1)
            if len(writes) == 2:
                extra = other.upload(kb, ctx, clustered(1, 6, 10), **BOTH)
                ids.append(extra[0][0])
        return real(self, method, route, *args)

    writes.clear()
    monkeypatch.setattr(Client, "_carry", interrupted)
    with pytest.raises(pg.ConcurrentWriteError, match="another client during the rebuild.*again to resume"):
        client.rebuild_partitions(kb, ctx, partitions=5, private_meta=True)
    monkeypatch.setattr(Client, "_carry", real)
    assert len(writes) == 2
    vectors = np.concatenate([vectors, clustered(1, 6, 10)])
    report = client.rebuild_partitions(kb, ctx, private_meta=True)
    assert (report["partitions"], report["records"], report["resumed"]) == (5, 121, True)
    model, _ = client.partition_model(kb, ctx, private_meta=True)
    check_searches(client, kb, ctx, model, owners_copy(model), queries)
    assert client.rebuild_digest(kb, ctx)["counted_field"] == "partition"
    assert client.partitions(kb, ctx, private_meta=True)["partitions"] == 5


def test_a_rebuild_names_the_record_whose_metadata_cannot_take_its_partition(server, ctx, tmp_path):
    client, kb = owner(server, ctx, "near-the-limit", tmp_path)
    vectors = clustered(40, 4, 3)
    # Record 7's metadata is 8 bytes short of the service's limit ({"note":"…"} is 11 bytes
    # around the value): it fits, and its partition's token does not.
    notes = ["x" * (pg.MAX_META_BYTES - 11 - 8) if i == 7 else f"note {i}" for i in range(40)]
    docs = [{"content": f"document {i}", "meta_data": {"note": note}} for i, note in enumerate(notes)]
    uploaded = client.upload(kb, ctx, vectors, docs, verifiable=True)
    with pytest.raises(pg.InvalidInputError, match=f"record {uploaded[7][0]} cannot move to partition .*shorten.*again to resume"):
        client.rebuild_partitions(kb, ctx, partitions=4)
    # Nothing of the refused batch was sent: every record still verifies, whole.
    hits = client.search(kb, ctx, vectors[3], top_k=1, verify=True, probe="all")
    assert (hits[0]["chunk_id"], hits[0]["distance"]) == (uploaded[3][0], 0)


def test_the_decoys_a_rebuild_seals_are_the_fewest_every_search_takes(server, ctx, tmp_path):
    client, kb = owner(server, ctx, "sealed-decoys", tmp_path)
    vectors = clustered(64, 8, 11)
    client.upload(kb, ctx, vectors, documents(64), partitions=8, **BOTH)
    query = clustered(1, 8, 12)[0]
    assert search(client, kb, ctx, query, probe=1)[1]["partitions"] == 1
    client.rebuild_partitions(kb, ctx, partitions=8, private_meta=True, decoys=3)
    # Whatever a query asks below the sealed decoys, it names one whole group of 4.
    named = {decoys: search(client, kb, ctx, query, probe=1, decoys=decoys)[1]["partitions"] for decoys in (0, 1, 3, 7)}
    assert named == {0: 4, 1: 4, 3: 4, 7: 8}
    # A later rebuild asking none keeps them.
    client.rebuild_partitions(kb, ctx, partitions=8, private_meta=True)
    assert search(client, kb, ctx, query, probe=1)[1]["partitions"] == 4
    with pytest.raises(pg.InvalidInputError, match="decoys is a number"):
        client.rebuild_partitions(kb, ctx, private_meta=True, decoys=-1)



def test_the_decoys_a_first_upload_seals_with_its_partitions_are_the_fewest_every_search_takes(server, ctx,
                                                                                               tmp_path):
    client, kb = owner(server, ctx, "upload-decoys", tmp_path)
    vectors = clustered(64, 8, 13)
    with pytest.raises(pg.InvalidInputError, match="pass partitions too"):
        client.upload(kb, ctx, vectors, decoys=3, **BOTH)
    client.upload(kb, ctx, vectors[:32], partitions=8, decoys=3, **BOTH)
    assert client.partitions(kb, ctx, private_meta=True)["decoys"] == 3
    query = clustered(1, 8, 14)[0]
    assert search(client, kb, ctx, query, probe=1)[1]["partitions"] == 4
    # A later upload follows the partitions, and their decoys, whatever it asks.
    client.upload(kb, ctx, vectors[32:], partitions=8, decoys=0, **BOTH)
    assert search(client, kb, ctx, query, probe=1)[1]["partitions"] == 4
