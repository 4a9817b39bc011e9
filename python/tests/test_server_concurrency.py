"""64 concurrent clients of `paillier-gpu serve` mixing inserts, deletes and searches: each
search aggregates the records committed at one instant between its start and its end (every
batch whole or absent, everything answered before it began present unless a delete had begun,
nothing begun after it ended), and its distances are those of the plaintexts."""

import base64
import json
import socket
import subprocess
import threading
import time
import urllib.request

import numpy as np

import paillier_gpu as pg

DIMS = 16
CLIENTS = 64


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_searches_see_one_instant_of_the_store(cli, tmp_path):
    org = json.loads(subprocess.run([cli, "server", "init", "--data-dir", tmp_path, "--org", "o"],
                                    capture_output=True, text=True, check=True).stdout)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen([cli, "serve", "--data-dir", tmp_path, "--listen", f"127.0.0.1:{port}",
                                "--device", "cpu"], stderr=subprocess.PIPE, text=True)
    assert "serving on" in process.stderr.readline()

    def call(method, path, body, headers, accept="application/json"):
        request = urllib.request.Request(url + path, method=method, data=json.dumps(body).encode(),
                                         headers={"content-type": "application/json", "accept": accept,
                                                  **headers})
        with urllib.request.urlopen(request, timeout=120) as answer:
            return json.loads(answer.read())

    try:
        admin = {"x-xtrace-key": org["admin_key"], "x-xtrace-org-id": org["org_id"]}
        kb = call("POST", "/api/v1/kbs", {"name": "k"}, admin)["id"]
        key = call("POST", "/api/v1/keys", {"name": "w"}, admin)
        call("PUT", f"/api/v1/keys/{key['apiKey']['hash']}/permissions/{kb}", {"permission": 7}, admin)
        user = {"x-api-key": key["secretKey"]}
        ctx = pg.ExecutionContext.create("pw", embedding_length=DIMS, key_len=1024, sdk_compatible=True)
        cid = ctx.hash()
        call("POST", f"/v1/exec_context/{org['org_id']}", {"data": ctx.to_dict_enc(), "context_id": cid}, user)
        width = len(base64.b64decode(ctx.encrypt_vec_one(np.zeros(DIMS, np.uint8)).to_b64()[0][0]))
        rng = np.random.default_rng(64)
        query = rng.integers(0, 2, DIMS).astype(np.uint8)
        encrypted_query = ctx.encrypt_vec_one(query).to_b64()[0]
        vectors = {}          # chunk id -> plaintext vector
        inserts = []          # (start, end, ids)
        deletes = []          # (start, ids)
        searches = []         # (start, end, {id: distance})
        lock = threading.Lock()

        def insert(n):
            batch = rng.integers(0, 2, (n, DIMS)).astype(np.uint8)
            pieces = ctx.encrypt_vec_batch(batch).to_b64()
            start = time.monotonic()
            ids = call("POST", f"/v1/chunk/{org['org_id']}", {"kb_id": kb, "context_id": cid, "chunks": [
                {"chunk_content": "c", "index": p, "meta_data": {}, "name": "n"} for p in pieces]}, user)["chunk_ids"]
            with lock:
                inserts.append((start, time.monotonic(), ids))
                vectors.update(zip(ids, batch))
            return ids

        def delete(ids):
            with lock:
                deletes.append((time.monotonic(), ids))
            query_string = "&".join(f"chunk_ids={i}" for i in ids)
            request = urllib.request.Request(f"{url}/v1/chunk/{org['org_id']}?kb_id={kb}&{query_string}",
                                             method="DELETE", headers=user)
            urllib.request.urlopen(request, timeout=120).read()

        def search():
            start = time.monotonic()
            answer = call("POST", f"/v1/compute_hamming/{org['org_id']}",
                          {"kb_id": kb, "context_id": cid, "query": encrypted_query}, user)
            end = time.monotonic()
            rows = [[base64.b64encode(int(p).to_bytes(width, "little")).decode() for p in pieces]
                    for pieces, _ in answer]
            distances = ctx.decode_hamming_client_batch(rows) if rows else []
            with lock:
                searches.append((start, end, dict(zip((i for _, i in answer), (int(d) for d in distances)))))

        for _ in range(4):
            insert(8)

        def client(n):
            if n % 4 == 0:
                ids = insert(4)
                if n % 8 == 0:
                    delete(ids[:2])
            elif n % 4 == 1:
                with lock:
                    first = sorted(vectors)[n % 16] if len(vectors) > 16 else None
                if first is not None:
                    delete([first])
                search()
            else:
                search()

        failures = []

        def guarded(n):
            try:
                client(n)
            except Exception as e:  # noqa: BLE001 - every failure fails the test below
                with lock:
                    failures.append(repr(e) + (e.read().decode() if hasattr(e, "read") else ""))

        threads = [threading.Thread(target=guarded, args=(n,)) for n in range(CLIENTS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

        assert failures == []
        assert len(searches) >= CLIENTS // 2
        for start, end, seen in searches:
            for inserted_at, acked_at, ids in inserts:
                present = [i in seen for i in ids]
                deleted_before_end = {i for at, d in deletes if at < end for i in d}
                whole = [i for i in ids if i not in deleted_before_end]
                if acked_at < start:
                    assert all(i in seen for i in whole), (ids, seen)
                if inserted_at > end:
                    assert not any(present), (ids, seen)
                # Never part of a batch (a delete may remove some of its ids as a whole).
                kept = [i in seen for i in whole]
                assert all(kept) or not any(kept), (ids, seen)
            for i, distance in seen.items():
                assert distance == int(np.count_nonzero(vectors[i] != query)), i
    finally:
        process.terminate()
        assert process.wait(timeout=60) == 0
