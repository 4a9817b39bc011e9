"""`paillier_gpu.client.Client` against a real `serve` behind a tampering proxy
(`tools/tamper-proxy.py`): each lie the proxy tells is refused with AnswerRejectedError and its
message; honest searches through it raise no alarm and equal the plaintext ranking; private
metadata's filters are tokenised and what tokens cannot answer is refused."""

import json
import os
import re
import subprocess
import sys
import urllib.request

import numpy as np
import pytest

import paillier_gpu as pg
from paillier_gpu.client import Client, RemoteError, RemoteUnreachableError

from conftest import REPO, free_port, hamming

EMBED = 48
RECORDS = 40
HONEST_SEARCHES = int(os.environ.get("PAILLIER_GPU_HONEST_SEARCHES", "30"))


def admin(server, method, path, body=None):
    request = urllib.request.Request(f"{server['url']}/api/v1/{path}", method=method,
                                     data=None if body is None else json.dumps(body).encode())
    request.add_header("x-xtrace-key", server["admin"])
    request.add_header("x-xtrace-org-id", server["org"])
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request) as answer:
        return json.loads(answer.read() or b"null")


@pytest.fixture(scope="module")
def weak_server(cli, tmp_path_factory):
    """`serve` taking test-sized contexts, one knowledge base pair and a key with all rights."""
    data = tmp_path_factory.mktemp("trustless")
    init = json.loads(subprocess.run([cli, "server", "init", "--data-dir", data, "--org", "acme"],
                                     capture_output=True, text=True, check=True).stdout)
    port = free_port()
    process = subprocess.Popen([cli, "serve", "--data-dir", data, "--listen", f"127.0.0.1:{port}",
                                "--device", "cpu", "--allow-weak-contexts"],
                               stderr=subprocess.PIPE, text=True)
    assert "serving on" in process.stderr.readline()
    server = {"url": f"http://127.0.0.1:{port}", "org": init["org_id"], "admin": init["admin_key"]}
    names = ("main", "other", "main-one-bit", "other-one-bit")
    kbs = [admin(server, "POST", "kbs", {"name": name, "description": ""})["id"] for name in names]
    key = admin(server, "POST", "keys", {"name": "owner", "description": ""})
    for kb in kbs:
        admin(server, "PUT", f"keys/{key['apiKey']['hash']}/permissions/{kb}", {"permission": 7})
    server.update(kb=kbs[0], other_kb=kbs[1], one_bit_kbs=kbs[2:], key=key["secretKey"],
                  key_hash=key["apiKey"]["hash"])
    yield server
    process.terminate()
    process.wait(timeout=30)


@pytest.fixture(scope="module")
def proxy(weak_server):
    process = subprocess.Popen([sys.executable, REPO / "tools" / "tamper-proxy.py", "--upstream", weak_server["url"]],
                               stdout=subprocess.PIPE, text=True)
    url = process.stdout.readline().strip().removeprefix("listening on ")

    def lie(**attack):
        request = urllib.request.Request(f"{url}/_tamper", data=json.dumps(attack or {"kind": "none"}).encode(),
                                         method="POST")
        urllib.request.urlopen(request).read()

    lie.url = url
    yield lie
    process.kill()
    process.wait()


def upload_owner(server, key_len, kb, other_kb):
    """A context of `key_len`, the stored vectors and their chunk ids, uploaded verifiable and
    private into `kb` (and three of them into `other_kb`)."""
    ctx = pg.ExecutionContext.create("pw", embedding_length=EMBED, key_len=key_len, insecure=True)
    client = Client(server["url"], server["org"], server["key"])
    client.push_context(ctx)
    rng = np.random.default_rng(1)
    vectors = rng.integers(0, 2, (RECORDS, EMBED), dtype=np.uint8)
    documents = [{"content": f"document {i}", "name": f"n{i}",
                  "meta_data": {"tag1": f"t{i % 4}", "facets": ["all", f"f{i % 3}"]}} for i in range(RECORDS)]
    uploaded = client.upload(kb, ctx, vectors, documents, verifiable=True, private_meta=True)
    client.upload(other_kb, ctx, vectors[:3], verifiable=True, private_meta=True)
    assert len({nonce for _, nonce in uploaded}) == RECORDS
    return ctx, vectors, [chunk_id for chunk_id, _ in uploaded], documents


@pytest.fixture(scope="module")
def owner(weak_server):
    """Two-bit records: at key_len 256 the one-bit layout does not fit 48 dimensions."""
    return upload_owner(weak_server, 256, weak_server["kb"], weak_server["other_kb"])


@pytest.fixture(scope="module")
def owner_one_bit(weak_server):
    """One-bit records: key_len 512 takes up to 126 dimensions in one bit each."""
    return upload_owner(weak_server, 512, *weak_server["one_bit_kbs"])


def near(vector):
    query = vector.copy()
    query[:2] ^= 1
    return query


@pytest.mark.parametrize("layout", ["two-bit", "one-bit"])
def test_every_lie_is_refused_with_its_message(weak_server, proxy, layout, request):
    ctx, vectors, ids, _ = request.getfixturevalue("owner" if layout == "two-bit" else "owner_one_bit")
    client = Client(proxy.url, weak_server["org"], weak_server["key"])
    kb, other_kb = (weak_server["kb"], weak_server["other_kb"]) if layout == "two-bit" else weak_server["one_bit_kbs"]
    codec = pg.RecordCodec(ctx, kb, True, True)
    stored = client._request("GET", "owner_digest", tail=f"/{kb}/{ctx.hash()}")
    version, sealed = stored["version"], stored["sealed"]
    assert codec.open_digest(version, sealed).layout == layout
    query = near(vectors[0])
    n = str(ctx.paillier_keys()[0].n)
    search = lambda **extra: client.search(kb, ctx, query, top_k=3, verify=True, private_meta=True, **extra)
    # Bits of the tag and above everything, in this layout.
    record_bits = (2 if layout == "two-bit" else 1) * EMBED + 256
    proxy()
    honest = search(expect_count=RECORDS)
    assert {k: honest[0][k] for k in ("chunk_id", "distance")} == {"chunk_id": ids[0], "distance": 2}
    nearest, second, far = ids[0], honest[1]["chunk_id"], ids[30]
    cases = [
        (dict(kind="forge", chunk_id=far, n=n), {}, "forged"),
        (dict(kind="shift", chunk_id=far, bit=1, n=n), {}, "altered"),
        (dict(kind="shift", chunk_id=far, bit=record_bits - 128 + 9, n=n), {}, "altered"),
        (dict(kind="shift", chunk_id=far, bit=record_bits + 128 + 4, n=n), {}, "altered"),
        (dict(kind="subtract", chunk_id=far, bit=0, n=n), {}, "altered"),
        (dict(kind="unquery", chunk_id=far, n=n), {}, "altered"),
        (dict(kind="guess", chunk_id=far, guess=[int(b) for b in query], n=n, layout=layout), {}, "altered"),
        # The owner's digest counts (chunk id, nonce) pairs: relabelled answers are not those.
        (dict(kind="swap", a=nearest, b=far), {}, "owner's digest counts"),
        (dict(kind="duplicate", source=nearest, target=far), {}, "one record under several ids"),
        (dict(kind="same_id", chunk_id=second), {}, "the same id twice"),
        (dict(kind="drop", chunk_id=far), {"expect_count": RECORDS}, "missing"),
        (dict(kind="drop", chunk_id=far), {}, "owner's digest counts"),
        (dict(kind="content_swap", a=nearest, b=second), {}, "content mismatch"),
    ]
    for attack, extra, words in cases:
        proxy(**attack)
        with pytest.raises(pg.AnswerRejectedError, match=words):
            search(**extra)
    proxy()
    client.search(kb, ctx, near(vectors[9]), top_k=1, verify=True)
    proxy(kind="replay")
    with pytest.raises(pg.AnswerRejectedError, match="replayed"):
        search()
    proxy()
    client.search(other_kb, ctx, query, top_k=1, verify=True)
    proxy(kind="foreign", from_kb=other_kb, chunk_id=far)
    with pytest.raises(pg.AnswerRejectedError, match=f"foreign.*chunk {far}"):
        search()
    proxy(kind="drop_filter")
    with pytest.raises(pg.AnswerRejectedError, match=f"outside the filter.*{nearest}"):
        search(filter={"tag1": "t3"})
    with pytest.raises(pg.AnswerRejectedError, match="outside the filter"):
        client.find(kb, ctx, {"tag1": "t3"}, verifiable=True, private_meta=True)
    proxy()
    assert search(expect_count=RECORDS) == honest


def test_a_service_claiming_no_digest_is_refused_on_a_fresh_machine(weak_server, proxy, owner, tmp_path):
    ctx, vectors, _, _ = owner
    kb = weak_server["kb"]
    # A fresh machine: a state folder that has seen nothing.
    client = Client(proxy.url, weak_server["org"], weak_server["key"], state_dir=tmp_path)
    proxy(kind="no_digest")
    with pytest.raises(pg.AnswerRejectedError, match="no owner's digest.*digest rebuild"):
        client.search(kb, ctx, vectors[0], top_k=3, verify=True, private_meta=True)
    with pytest.raises(pg.AnswerRejectedError, match="no owner's digest"):
        client.find(kb, ctx, {"tag1": "t1"}, verifiable=True, private_meta=True)
    proxy(kind="no_digest_routes")
    with pytest.raises(RemoteError, match="without the digest routes"):
        client.search(kb, ctx, vectors[0], top_k=3, verify=True, private_meta=True)
    proxy()
    assert client.search(kb, ctx, vectors[0], top_k=1, verify=True, private_meta=True)[0]["distance"] == 0


def test_a_document_from_before_a_partition_move_no_longer_opens(weak_server, proxy, owner, tmp_path):
    ctx, vectors, _, _ = owner
    kb = admin(weak_server, "POST", "kbs", {"name": "moved", "description": ""})["id"]
    admin(weak_server, "PUT", f"keys/{weak_server['key_hash']}/permissions/{kb}", {"permission": 7})
    client = Client(proxy.url, weak_server["org"], weak_server["key"], state_dir=tmp_path)
    proxy()
    client.upload(kb, ctx, vectors, verifiable=True, private_meta=True, partitions=4)
    partition_of = lambda: {record["chunk_id"]: record["meta_data"]["partition"]
                            for record in client.find(kb, ctx, {}, verifiable=True, private_meta=True)}
    before = partition_of()
    client.rebuild_partitions(kb, ctx, partitions=3, private_meta=True)
    after = partition_of()
    moved = next(chunk_id for chunk_id in before if before[chunk_id] != after[chunk_id])
    # Its document from before the move beside its ciphertext of now: sealed to another nonce.
    proxy(kind="old_content", chunk_id=moved)
    with pytest.raises(pg.AnswerRejectedError, match=f"content mismatch.*{moved}"):
        client.find(kb, ctx, {}, verifiable=True, private_meta=True)
    proxy()
    assert partition_of() == after


def test_honest_searches_raise_no_alarm(weak_server, proxy, owner):
    ctx, vectors, ids, documents = owner
    client = Client(proxy.url, weak_server["org"], weak_server["key"])
    proxy()
    rng = np.random.default_rng(2)
    for i in range(HONEST_SEARCHES):
        query = rng.integers(0, 2, EMBED, dtype=np.uint8)
        hits = client.search(weak_server["kb"], ctx, query, top_k=4, verify=True, private_meta=True,
                             expect_count=RECORDS, with_content=i % 10 == 0)
        expected = sorted((hamming(v, query), chunk_id) for chunk_id, v in zip(ids, vectors))[:4]
        assert [(h["distance"], h["chunk_id"]) for h in hits] == expected
        if i % 10 == 0:
            position = ids.index(hits[0]["chunk_id"])
            assert hits[0]["content"] == documents[position]["content"]
            assert hits[0]["meta_data"] == documents[position]["meta_data"]


def test_private_filters_find_the_records_as_written_and_refuse_what_tokens_cannot_answer(weak_server, owner):
    ctx, vectors, ids, documents = owner
    client = Client(weak_server["url"], weak_server["org"], weak_server["key"])
    kb = weak_server["kb"]
    found = client.find(kb, ctx, {"tag1": "t1", "facets": {"$contains": "f2"}}, verifiable=True, private_meta=True)
    expected = [i for i, d in enumerate(documents) if d["meta_data"]["tag1"] == "t1" and "f2" in d["meta_data"]["facets"]]
    assert sorted(ids.index(f["chunk_id"]) for f in found) == expected
    assert all(f["meta_data"] == documents[ids.index(f["chunk_id"])]["meta_data"] for f in found)
    hits = client.search(kb, ctx, vectors[5], top_k=RECORDS, verify=True, private_meta=True,
                         filter={"tag1": {"$in": ["t1", "t2"]}})
    assert sorted(ids.index(h["chunk_id"]) for h in hits) == [i for i in range(RECORDS) if i % 4 in (1, 2)]
    for bad, reason in [({"tag1": {"$gt": "t1"}}, "order"), ({"tag1": {"$begins_with": "t"}}, "prefix"),
                        ({"tag1": {"$contains": "t"}}, "substring")]:
        with pytest.raises(pg.PrivateMetadataError, match=reason):
            client.search(kb, ctx, vectors[0], verify=True, private_meta=True, filter=bad)
    with pytest.raises(pg.PrivateMetadataError, match="sorting by tag1"):
        client.find(kb, ctx, {"tag2": {"$exists": False}}, verifiable=True, private_meta=True, sort_by="tag1")
    assert client.delete_by_meta(kb, ctx, {"tag1": "t3"}, verifiable=True, private_meta=True,
                                 dry_run=True) == RECORDS // 4
    # In the wrong mode a plain $ne selects every record; opening them fails, nothing is deleted.
    with pytest.raises(pg.PaillierGpuError):
        client.delete_by_meta(kb, ctx, {"tag1": {"$ne": "x"}})
    assert len(client.find(kb, ctx, {"facets": "all"}, verifiable=True, private_meta=True)) == RECORDS
    assert "redacted" in repr(client) and weak_server["key"] not in repr(client)


def test_the_server_guide_python_block_runs_as_printed(weak_server, tmp_path):
    page = (REPO / "docs" / "server.md").read_text()
    blocks = [b for b in re.findall(r"```python\n(.*?)```", page, flags=re.S)
              if "from paillier_gpu.client import Client" in b]
    assert len(blocks) == 1, "docs/server.md shows the Python client in one block"
    ctx = pg.ExecutionContext.create("guide passphrase", embedding_length=128)
    ctx.save_to_disk(tmp_path / "ctx.json")
    kb = admin(weak_server, "POST", "kbs", {"name": "guide", "description": ""})["id"]
    key = admin(weak_server, "POST", "keys", {"name": "guide", "description": ""})
    admin(weak_server, "PUT", f"keys/{key['apiKey']['hash']}/permissions/{kb}", {"permission": 7})
    (tmp_path / "guide.py").write_text(blocks[0])
    env = dict(os.environ, PAILLIER_GPU_PASSPHRASE="guide passphrase", PAILLIER_GPU_ORG=weak_server["org"],
               PAILLIER_GPU_REMOTE=weak_server["url"],
               PAILLIER_GPU_API_KEY=key["secretKey"], PAILLIER_GPU_KB=kb)
    done = subprocess.run([sys.executable, "guide.py"], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "True 0 text 3", done.stdout


def test_an_insert_whose_answer_is_lost_is_not_sent_again(weak_server, proxy):
    ctx = pg.ExecutionContext.create("pw", embedding_length=EMBED, key_len=256, insecure=True)
    kb = admin(weak_server, "POST", "kbs", {"name": "lost", "description": ""})["id"]
    key = admin(weak_server, "POST", "keys", {"name": "lost", "description": ""})
    admin(weak_server, "PUT", f"keys/{key['apiKey']['hash']}/permissions/{kb}", {"permission": 7})
    client = Client(proxy.url, weak_server["org"], key["secretKey"])
    client.push_context(ctx)
    vectors = np.random.default_rng(5).integers(0, 2, (520, EMBED), dtype=np.uint8)
    proxy(kind="lose_insert")
    with pytest.raises(RemoteUnreachableError, match="may have been committed: it is not sent again"):
        client.upload(kb, ctx, vectors, verifiable=True)
    proxy()
    hits = client.search(kb, ctx, vectors[7], top_k=1, verify=True, expect_count=500)
    assert hits[0]["distance"] == 0


def test_the_proxy_help_lists_every_attack_one_a_line():
    # The proxy's attacks live in tools/tamper-proxy.py and the tamper_*.py modules it loads.
    kinds = set()
    for path in (REPO / "tools").glob("tamper*.py"):
        source = path.read_text()
        kinds |= set(re.findall(r'kind"?\]?\)? == "([a-z_]+)"', source))
        for group in re.findall(r'kind in \(([^)]*)\)', source):
            kinds |= set(re.findall(r'"([a-z_]+)"', group))
    assert len(kinds) == 35, kinds
    shown = subprocess.run([sys.executable, REPO / "tools" / "tamper-proxy.py", "--help"],
                           capture_output=True, text=True, check=True).stdout
    listed = {line.split()[0] for line in shown.splitlines() if line.startswith("  ") and line.split()[0] in kinds}
    assert listed == kinds, shown
    # docs/server.md names the same attacks.
    page = (REPO / "docs" / "server.md").read_text()
    assert all(kind in page for kind in kinds)


def test_a_context_pushed_again_changes_nothing_and_another_under_its_id_is_refused(weak_server, cli, tmp_path):
    client = Client(weak_server["url"], weak_server["org"], weak_server["key"])
    env = dict(os.environ, PAILLIER_GPU_PASSPHRASE="pw", PAILLIER_GPU_ORG=weak_server["org"],
               PAILLIER_GPU_REMOTE=weak_server["url"], PAILLIER_GPU_API_KEY=weak_server["key"])

    def cli_push(name):
        done = subprocess.run([cli, "context", "push", "--context", name], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)["context_id"]

    # Each push seals the secret key anew: other bytes than the stored ones, the same context.
    ctx = pg.ExecutionContext.create("pw", embedding_length=EMBED, key_len=256, insecure=True)
    assert client.push_context(ctx) == ctx.hash()
    assert client.push_context(ctx) == ctx.hash()
    ctx.save_to_disk(tmp_path / "ctx.json")
    assert cli_push("ctx.json") == ctx.hash()
    # The CLI first, then a program.
    later = pg.ExecutionContext.create("pw", embedding_length=EMBED, key_len=256, insecure=True)
    later.save_to_disk(tmp_path / "later.json")
    assert cli_push("later.json") == later.hash()
    assert client.push_context(later) == later.hash()
    # Another context stored under an id stays the service's 409.
    other = pg.ExecutionContext.create("pw", embedding_length=EMBED, key_len=256, insecure=True)
    client._request("POST", "exec_context", {"data": ctx.to_dict_enc(), "context_id": other.hash()})
    with pytest.raises(RemoteError) as refused:
        client.push_context(other)
    assert refused.value.status == 409


def test_the_package_readme_client_block_runs_as_printed(weak_server, tmp_path):
    page = (REPO / "python" / "README.md").read_text()
    blocks = [b for b in re.findall(r"```python\n(.*?)```", page, flags=re.S)
              if "from paillier_gpu.client import Client" in b]
    assert len(blocks) == 1, "python/README.md shows the client in one block"
    kb = admin(weak_server, "POST", "kbs", {"name": "readme", "description": ""})["id"]
    key = admin(weak_server, "POST", "keys", {"name": "readme", "description": ""})
    admin(weak_server, "PUT", f"keys/{key['apiKey']['hash']}/permissions/{kb}", {"permission": 7})
    (tmp_path / "readme.py").write_text(blocks[0] + "\nprint(len(drafts), deleted)\n")
    env = dict(os.environ, PAILLIER_GPU_ORG=weak_server["org"], PAILLIER_GPU_REMOTE=weak_server["url"],
               PAILLIER_GPU_API_KEY=key["secretKey"], PAILLIER_GPU_KB=kb)
    done = subprocess.run([sys.executable, "readme.py"], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:2] == ["True 0 note 7", "50 50"], done.stdout
