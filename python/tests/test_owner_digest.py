"""`paillier_gpu.client.Client` with the owner's digest (#84) against a real `serve`, behind
`tools/tamper-proxy.py` where the service lies: honest uploads, updates, patches and deletes pass
verified searches with no count given, and a dropped record, two records swapped with their
documents, a stale record after an update or a patch, a deleted record served again and a store
rolled back to an earlier copy are each refused with AnswerRejectedError. The top k's documents
are fetched in ascending id order, and the owner's state file is private."""

import base64
import json
import shutil
import stat
import subprocess
import sys
import threading
import urllib.parse
import urllib.request

import numpy as np
import pytest

import paillier_gpu as pg
from paillier_gpu import client as remote
from paillier_gpu.client import Client

from conftest import REPO, free_port, hamming

EMBED = 32
RECORDS = 12
STORE = "paillier-gpu.sqlite3"


class Server:
    """`serve` on a data folder of its own, stopped and started again on the same port."""

    def __init__(self, cli, data):
        self.cli, self.data, self.port = cli, data, free_port()
        init = subprocess.run([cli, "server", "init", "--data-dir", data, "--org", "acme"],
                              capture_output=True, text=True, check=True)
        init = json.loads(init.stdout)
        self.url, self.org, self.admin_key = f"http://127.0.0.1:{self.port}", init["org_id"], init["admin_key"]
        self.process = None
        self.start()

    def start(self):
        self.process = subprocess.Popen([self.cli, "serve", "--data-dir", self.data, "--listen",
                                         f"127.0.0.1:{self.port}", "--device", "cpu", "--allow-weak-contexts"],
                                        stderr=subprocess.PIPE, text=True)
        assert "serving on" in self.process.stderr.readline()
        # Its log read on, so that a full pipe never stalls it.
        threading.Thread(target=self.process.stderr.read, daemon=True).start()

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=60)

    def admin(self, method, path, body=None):
        request = urllib.request.Request(f"{self.url}/api/v1/{path}", method=method,
                                         data=None if body is None else json.dumps(body).encode())
        request.add_header("x-xtrace-key", self.admin_key)
        request.add_header("x-xtrace-org-id", self.org)
        request.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(request) as answer:
            return json.loads(answer.read() or b"null")

    def kb_and_key(self, name):
        """A new knowledge base, and the owner's key (one for all, as contexts are the key's)."""
        if not hasattr(self, "key"):
            self.key = self.admin("POST", "keys", {"name": "owner", "description": ""})
        kb = self.admin("POST", "kbs", {"name": name, "description": ""})["id"]
        self.admin("PUT", f"keys/{self.key['apiKey']['hash']}/permissions/{kb}", {"permission": 7})
        return kb, self.key["secretKey"]


@pytest.fixture(scope="module")
def server(cli, tmp_path_factory):
    server = Server(cli, tmp_path_factory.mktemp("digest-server"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def proxy(server):
    process = subprocess.Popen([sys.executable, REPO / "tools" / "tamper-proxy.py", "--upstream", server.url],
                               stdout=subprocess.PIPE, text=True)
    url = process.stdout.readline().strip().removeprefix("listening on ")

    def lie(**attack):
        request = urllib.request.Request(f"{url}/_tamper", data=json.dumps(attack or {"kind": "none"}).encode(),
                                         method="POST")
        urllib.request.urlopen(request).read()

    lie.url = url

    def probes():
        """The partition tokens of each partitioned search since the last attack was set."""
        with urllib.request.urlopen(f"{url}/_tamper/log") as answer:
            return json.loads(answer.read())["probes"]

    lie.probes = probes
    yield lie
    process.kill()
    process.wait()


@pytest.fixture(scope="module")
def ctx():
    return pg.ExecutionContext.create("pw", embedding_length=EMBED, key_len=256, insecure=True)


def documents(count):
    return [{"content": f"document {i}", "name": f"n{i}", "meta_data": {"tag1": f"t{i % 3}"}} for i in range(count)]


def owner(server, ctx, name, url=None, state_dir=None):
    """A knowledge base of RECORDS verifiable, private records, and a client of it (through
    `url`, the proxy, when given); `(client, kb, vectors, uploaded)`."""
    kb, key = server.kb_and_key(name)
    client = Client(url or server.url, server.org, key, state_dir=state_dir)
    client.push_context(ctx)
    vectors = np.random.default_rng(len(name)).integers(0, 2, (RECORDS, EMBED), dtype=np.uint8)
    uploaded = client.upload(kb, ctx, vectors, documents(RECORDS), verifiable=True, private_meta=True)
    return client, kb, vectors, uploaded


def keep_store(data, to):
    """A copy of the SQLite store in `data` (the database and its journal) in `to`."""
    to.mkdir(exist_ok=True)
    for name in (STORE, STORE + "-wal", STORE + "-shm"):
        if (data / name).exists():
            shutil.copy2(data / name, to / name)


def put_back_store(server, data, earlier):
    """The store in `data` put back, whole, to the copy in `earlier` (the server stopped and
    started again)."""
    server.stop()
    for name in (STORE, STORE + "-wal", STORE + "-shm"):
        (data / name).unlink(missing_ok=True)
        if (earlier / name).exists():
            shutil.copy2(earlier / name, data / name)
    server.start()


def search(client, kb, ctx, vector, **extra):
    return client.search(kb, ctx, vector, top_k=RECORDS, verify=True, private_meta=True, **extra)


def test_honest_writes_pass_verified_searches_with_no_count(server, ctx, tmp_path):
    client, kb, vectors, uploaded = owner(server, ctx, "honest", state_dir=tmp_path / "state")
    ids = [chunk_id for chunk_id, _ in uploaded]
    assert len(set(ids)) == RECORDS and all(len(nonce) == 32 for _, nonce in uploaded)
    hits = search(client, kb, ctx, vectors[4], with_content=True)
    assert sorted((h["distance"], h["chunk_id"]) for h in hits) == sorted(
        (hamming(v, vectors[4]), i) for i, v in zip(ids, vectors))
    by_nonce = {nonce: i for i, (_, nonce) in enumerate(uploaded)}
    assert all(h["content"] == f"document {by_nonce[h['nonce']]}" for h in hits)

    # An update gives the record a new nonce; its old one is no longer in any answer.
    new_vector = 1 - vectors[2]
    [(updated, new_nonce)] = client.update(kb, ctx, [ids[2]], [new_vector], [{"content": "updated", "meta_data": {"tag1": "t2"}}],
                                           verifiable=True, private_meta=True)
    assert (updated, new_nonce != uploaded[2][1]) == (ids[2], True)
    top = search(client, kb, ctx, new_vector, with_content=True)[0]
    assert (top["chunk_id"], top["distance"], top["nonce"], top["content"]) == (ids[2], 0, new_nonce, "updated")

    # A patch by metadata encrypts each record found again under a fresh nonce.
    before = {f["chunk_id"]: f["nonce"] for f in client.find(kb, ctx, {"tag1": "t1"}, verifiable=True, private_meta=True)}
    patched = client.patch_by_meta(kb, ctx, {"tag1": "t1"}, {"tag2": "seen"}, verifiable=True, private_meta=True)
    assert sorted(patched) == sorted(before)
    after = client.find(kb, ctx, {"tag1": "t1"}, verifiable=True, private_meta=True)
    assert all(f["meta_data"]["tag2"] == "seen" and f["nonce"] != before[f["chunk_id"]] for f in after)

    assert client.delete(kb, ctx, [ids[0]], verifiable=True, private_meta=True) == 1
    assert client.delete_by_meta(kb, ctx, {"tag1": "t0"}, verifiable=True, private_meta=True) == RECORDS // 3 - 1
    hits = search(client, kb, ctx, vectors[5])
    assert len(hits) == RECORDS - RECORDS // 3
    assert search(client, kb, ctx, vectors[5], filter={"tag1": "t1"})

    # Upload, update, patch, two deletes: five versions, the last kept in a private file.
    path = client._state.path(ctx.hash(), kb)
    assert json.loads(path.read_text())["version"] == 5
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    for folder in (path.parent, path.parent.parent, tmp_path / "state"):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder


def test_what_the_digest_covers_catches_each_lie(server, proxy, ctx):
    proxy()
    client, kb, vectors, uploaded = owner(server, ctx, "lies", url=proxy.url)
    ids = [chunk_id for chunk_id, _ in uploaded]
    query = vectors[0]
    refused = lambda: pytest.raises(pg.AnswerRejectedError, match="owner's digest counts")
    for attack in (dict(kind="drop", chunk_id=ids[5]), dict(kind="joint_swap", a=ids[0], b=ids[7])):
        proxy(**attack)
        with refused():
            search(client, kb, ctx, query, with_content=True)
    proxy()
    assert len(search(client, kb, ctx, query)) == RECORDS


@pytest.mark.parametrize("write", ["update", "patch", "delete"])
def test_a_record_the_service_kept_as_it_was_is_refused(server, proxy, ctx, write):
    proxy()
    client, kb, vectors, uploaded = owner(server, ctx, f"stale-{write}", url=proxy.url)
    target = uploaded[1][0]
    # The service commits the owner's new digest and keeps the record as it was.
    proxy(kind="keep_stale", chunk_id=target)
    if write == "update":
        client.update(kb, ctx, [target], [1 - vectors[1]], verifiable=True, private_meta=True)
    elif write == "patch":
        assert sorted(client.patch_by_meta(kb, ctx, {"tag1": "t1"}, {"tag2": "x"}, verifiable=True,
                                           private_meta=True)) == [uploaded[i][0] for i in (1, 4, 7, 10)]
    else:
        client.delete(kb, ctx, [target], verifiable=True, private_meta=True)
    proxy()
    with pytest.raises(pg.AnswerRejectedError, match="owner's digest counts"):
        search(client, kb, ctx, vectors[1])


def test_a_store_rolled_back_is_refused_to_an_owner_that_saw_the_later_one(cli, ctx, tmp_path):
    server = Server(cli, tmp_path / "data")
    try:
        state = tmp_path / "state"
        client, kb, vectors, uploaded = owner(server, ctx, "rollback", state_dir=state)
        server.stop()
        keep_store(tmp_path / "data", tmp_path / "earlier")
        server.start()
        client.update(kb, ctx, [uploaded[3][0]], [1 - vectors[3]], verifiable=True, private_meta=True)
        put_back_store(server, tmp_path / "data", tmp_path / "earlier")
        # The same client (in memory), and another process of the owner's (its state folder).
        for owner_client in (client, Client(server.url, server.org, client._key, state_dir=state)):
            with pytest.raises(pg.AnswerRejectedError, match="rolled back"):
                search(owner_client, kb, ctx, vectors[3])
        # A machine that never saw the later version cannot tell (SECURITY.md says so).
        fresh = Client(server.url, server.org, client._key, state_dir=tmp_path / "fresh")
        assert search(fresh, kb, ctx, vectors[3])[0]["nonce"] == uploaded[3][1]
        # A rebuild would count the earlier copy as it is: refused unless the owner says so,
        # and then written past the version seen (3, not a second 2).
        with pytest.raises(pg.AnswerRejectedError, match="rolled back.*after.rollback"):
            client.rebuild_digest(kb, ctx)
        assert client.rebuild_digest(kb, ctx, after_rollback=True)["version"] == 3
        assert search(client, kb, ctx, vectors[3])[0]["nonce"] == uploaded[3][1]
    finally:
        server.stop()


def test_a_rollback_found_is_kept_until_the_owner_takes_the_records(cli, ctx, tmp_path):
    server = Server(cli, tmp_path / "data")
    try:
        state = tmp_path / "state"
        client, kb, vectors, uploaded = owner(server, ctx, "rollback-kept", state_dir=state)
        server.stop()
        keep_store(tmp_path / "data", tmp_path / "earlier")
        server.start()
        client.delete(kb, ctx, [uploaded[3][0]], verifiable=True, private_meta=True)
        later = client._state.seen(ctx.hash(), kb)
        put_back_store(server, tmp_path / "data", tmp_path / "earlier")
        with pytest.raises(pg.AnswerRejectedError, match="rolled back") as refused:
            search(client, kb, ctx, vectors[3])
        assert refused.value.rolled_back
        mark = state / "digests" / ctx.hash().encode().hex() / f"{kb.encode().hex()}.rolled-back"
        assert mark.exists()
        # The service then shows the later digest it kept beside the earlier records: every
        # version check passes, yet a plain rebuild (which would bring the deleted record back)
        # is still refused, by this client and by another process of the owner's.
        write = {"expected_version": later[0] - 1, "version": later[0], "sealed": later[1]}
        client._request("PUT", "owner_digest", write, tail=f"/{kb}/{ctx.hash()}")
        for owner_client in (client, Client(server.url, server.org, client._key, state_dir=state)):
            with pytest.raises(pg.AnswerRejectedError, match="rolled back or forked earlier"):
                owner_client.rebuild_digest(kb, ctx)
        # Taken knowingly: the earlier copy counted, the mark gone.
        assert client.rebuild_digest(kb, ctx, after_rollback=True)["records"] == RECORDS
        assert not mark.exists()
        assert client.rebuild_digest(kb, ctx)["records"] == RECORDS
    finally:
        server.stop()


def test_a_rebuild_over_a_digest_that_does_not_open_is_refused(server, ctx, tmp_path):
    client, kb, vectors, _ = owner(server, ctx, "unopenable", state_dir=tmp_path / "state")
    version = client._state.seen(ctx.hash(), kb)[0]
    junk = base64.b64encode(bytes(range(64))).decode()
    client._request("PUT", "owner_digest", {"expected_version": version, "version": version + 5, "sealed": junk},
                    tail=f"/{kb}/{ctx.hash()}")
    with pytest.raises(pg.AnswerRejectedError, match="does not open"):
        client.rebuild_digest(kb, ctx)
    with pytest.raises(pg.AnswerRejectedError, match="does not open"):
        search(client, kb, ctx, vectors[0])
    assert client.rebuild_digest(kb, ctx, after_rollback=True)["version"] == version + 6


def test_an_empty_filter_is_checked_as_the_whole_knowledge_base(server, proxy, ctx):
    proxy()
    client, kb, vectors, uploaded = owner(server, ctx, "empty-filter", url=proxy.url)
    for empty in ({}, {"$and": []}):
        assert len(search(client, kb, ctx, vectors[2], filter=empty)) == RECORDS
    proxy(kind="drop", chunk_id=uploaded[2][0])
    try:
        for empty in ({}, {"$and": []}):
            with pytest.raises(pg.AnswerRejectedError):
                search(client, kb, ctx, vectors[2], filter=empty)
    finally:
        proxy()


def test_a_verifiable_delete_by_metadata_deletes_a_record_the_service_hides(server, proxy, ctx):
    proxy()
    client, kb, vectors, uploaded = owner(server, ctx, "hidden-delete", url=proxy.url)
    hidden = uploaded[1][0]  # tag1 "t1": records 1, 4, 7 and 10
    # Hidden from every list: the whole knowledge base does not add up, nothing is deleted.
    proxy(kind="hide_listed", chunk_id=hidden)
    try:
        with pytest.raises(pg.AnswerRejectedError, match="owner's digest counts"):
            client.delete_by_meta(kb, ctx, {"tag1": "t1"}, verifiable=True, private_meta=True)
        # Hidden from the filtered list only: found in the whole, and deleted.
        proxy(kind="hide_listed", chunk_id=hidden, filtered_only=True)
        assert client.delete_by_meta(kb, ctx, {"tag1": "t1"}, verifiable=True, private_meta=True) == 4
    finally:
        proxy()
    hits = search(client, kb, ctx, vectors[1])
    assert len(hits) == RECORDS - 4 and hidden not in [h["chunk_id"] for h in hits]


def test_a_counted_field_counts_what_the_services_filter_selects(server, ctx, tmp_path):
    kb, key = server.kb_and_key("counted-numbers")
    client = Client(server.url, server.org, key, state_dir=tmp_path / "state")
    client.push_context(ctx)
    vectors = np.random.default_rng(3).integers(0, 2, (RECORDS, EMBED), dtype=np.uint8)
    tags = [5, "5", "6"] * (RECORDS // 3)
    docs = [{"content": f"d{i}", "meta_data": {"tag1": tag}} for i, tag in enumerate(tags)]
    client.upload(kb, ctx, vectors, docs, verifiable=True)
    with pytest.raises(pg.InvalidInputError, match="not facets"):
        client.rebuild_digest(kb, ctx, counted_field="facets")
    assert client.rebuild_digest(kb, ctx, counted_field="tag1")["counted_values"] == 2
    for wanted in ("5", 5, {"$in": ["5"]}):
        hits = client.search(kb, ctx, vectors[0], top_k=RECORDS, verify=True, filter={"tag1": wanted})
        assert len(hits) == 2 * RECORDS // 3


def test_a_write_lost_to_a_fork_is_refused_by_the_machine_that_made_it(cli, ctx, tmp_path):
    server = Server(cli, tmp_path / "data")
    try:
        a, kb, vectors, uploaded = owner(server, ctx, "fork", state_dir=tmp_path / "state-a")
        server.stop()
        keep_store(tmp_path / "data", tmp_path / "earlier")
        server.start()
        # Machine A writes version 2; the store is then put back to version 1.
        a.update(kb, ctx, [uploaded[3][0]], [1 - vectors[3]], verifiable=True, private_meta=True)
        put_back_store(server, tmp_path / "data", tmp_path / "earlier")
        # Machine B, which never saw version 2, writes versions 2 and 3 on version 1.
        b = Client(server.url, server.org, a._key, state_dir=tmp_path / "state-b")
        b.delete(kb, ctx, [uploaded[5][0]], verifiable=True, private_meta=True)
        b.delete(kb, ctx, [uploaded[6][0]], verifiable=True, private_meta=True)
        assert search(b, kb, ctx, vectors[3])[0]["nonce"] == uploaded[3][1]
        # A's update is lost: version 3 is later than A's 2 but does not extend it.
        again = Client(server.url, server.org, a._key, state_dir=tmp_path / "state-a")
        for machine_a in (a, again):
            with pytest.raises(pg.AnswerRejectedError, match="forked.*does not extend version 2"):
                search(machine_a, kb, ctx, vectors[3])
        with pytest.raises(pg.AnswerRejectedError, match="forked.*after.rollback"):
            a.rebuild_digest(kb, ctx)
        rebuilt = a.rebuild_digest(kb, ctx, after_rollback=True)
        assert (rebuilt["version"], rebuilt["records"]) == (4, RECORDS - 2)
        for machine in (a, b):
            assert search(machine, kb, ctx, vectors[3])[0]["nonce"] == uploaded[3][1]
    finally:
        server.stop()


def test_the_top_k_documents_are_fetched_in_ascending_id_order(server, ctx, monkeypatch):
    client, kb, vectors, uploaded = owner(server, ctx, "order")
    fetched = []
    real = urllib.request.urlopen

    def recording(request, *args, **kwargs):
        url = urllib.parse.urlparse(request.full_url)
        if request.get_method() == "GET" and url.path.startswith("/v1/chunk/"):
            fetched.append([int(i) for i in urllib.parse.parse_qs(url.query)["chunk_ids"]])
        return real(request, *args, **kwargs)

    monkeypatch.setattr(remote.urllib.request, "urlopen", recording)
    for vector in vectors[:4]:
        fetched.clear()
        hits = client.search(kb, ctx, vector, top_k=6, verify=True, private_meta=True, with_content=True)
        assert fetched == [sorted(h["chunk_id"] for h in hits)]


def test_a_digest_counting_a_field_covers_searches_of_its_values(server, proxy, ctx):
    proxy()
    client, kb, vectors, uploaded = owner(server, ctx, "counted", url=proxy.url)
    summary = client.rebuild_digest(kb, ctx, counted_field="tag1")
    assert summary == {"version": 2, "records": RECORDS, "counted_field": "tag1", "counted_values": 3,
                       "layout": "two-bit"}
    t1 = [uploaded[i][0] for i in range(RECORDS) if i % 3 == 1]
    assert len(search(client, kb, ctx, vectors[1], filter={"tag1": "t1"})) == len(t1)
    proxy(kind="drop", chunk_id=t1[1])
    with pytest.raises(pg.AnswerRejectedError, match="owner's digest counts"):
        search(client, kb, ctx, vectors[1], filter={"tag1": {"$in": ["t1", "t2"]}})
    proxy()


def test_links_paged_for_ever_are_read_a_few_pages_and_the_gap_is_refused(server, proxy, ctx, tmp_path):
    """A service that answers every page of the digest's links with the same page, saying more
    follow, neither keeps the owner reading nor gets the versions it left out past it."""
    a, kb, vectors, _ = owner(server, ctx, "endless-links", url=proxy.url, state_dir=tmp_path / "a")
    search(a, kb, ctx, vectors[0])
    b = Client(server.url, server.org, a._key, state_dir=tmp_path / "b")
    for i in range(3):
        b.upload(kb, ctx, vectors[i : i + 1], documents(1), verifiable=True, private_meta=True)
    proxy(kind="endless_links")
    try:
        with pytest.raises(pg.AnswerRejectedError, match="forked.*no link for version 2"):
            search(a, kb, ctx, vectors[0])
        with urllib.request.urlopen(f"{proxy.url}/_tamper/log") as answer:
            reads = json.loads(answer.read())["link_reads"]
        # The first page after version 1, then once more from its last link, which did not move on.
        assert reads == [1, 3], reads
    finally:
        proxy()
    assert search(a, kb, ctx, vectors[0])


def test_decoy_groups_hold_whatever_decoys_a_query_asks(server, proxy, ctx):
    proxy()
    kb, key = server.kb_and_key("decoy-groups")
    client = Client(proxy.url, server.org, key)
    client.push_context(ctx)
    rng = np.random.default_rng(41)
    centres = rng.integers(0, 2, (16, EMBED), dtype=np.uint8)
    flips = (rng.random((256, EMBED)) < 1 / 8).astype(np.uint8)
    vectors = centres[np.arange(256) % 16] ^ flips
    client.upload(kb, ctx, vectors[:240], verifiable=True, private_meta=True, partitions=16)

    def named(query, probe, decoys):
        proxy()
        search(client, kb, ctx, query, probe=probe, decoys=decoys)
        return {token for probed in proxy.probes() for token in probed}

    for query in vectors[240:]:
        # Groups of 2, 4 and 8 nested: the three token sets meet in a whole group of 2, never
        # in the one partition wanted.
        sets = [named(query, 1, decoys) for decoys in (1, 2, 4)]
        assert [len(s) for s in sets] == [2, 4, 8]
        assert len(sets[0] & sets[1] & sets[2]) == 2
        # A probe of 2 with one decoy names two groups of two, whether or not its two nearest
        # partitions share a group.
        assert len(named(query, 2, 1)) == 4
