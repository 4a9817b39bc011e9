"""`paillier-gpu serve` killed with SIGKILL in the middle of a stream of inserts, then started
again on the same store: every batch it answered 200 is there, and no batch is there in part."""

import json
import os
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request

import numpy as np

import paillier_gpu as pg

BATCH = 50


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(cli, data, port):
    process = subprocess.Popen(
        [cli, "serve", "--data-dir", data, "--listen", f"127.0.0.1:{port}", "--device", "cpu"],
        stderr=subprocess.PIPE, text=True)
    line = process.stderr.readline()
    assert "serving on" in line, line
    return process


def call(url, method, path, body, headers):
    request = urllib.request.Request(url + path, method=method, data=json.dumps(body).encode()
                                     if body is not None else None,
                                     headers={"content-type": "application/json", **headers})
    with urllib.request.urlopen(request, timeout=60) as answer:
        return json.loads(answer.read())


def test_every_answered_batch_survives_a_kill(cli, tmp_path):
    data = tmp_path / "store"
    org = json.loads(subprocess.run([cli, "server", "init", "--data-dir", data, "--org", "o"],
                                    capture_output=True, text=True, check=True).stdout)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    admin = {"x-xtrace-key": org["admin_key"], "x-xtrace-org-id": org["org_id"]}
    process = start(cli, data, port)
    kb = call(url, "POST", "/api/v1/kbs", {"name": "k"}, admin)["id"]
    key = call(url, "POST", "/api/v1/keys", {"name": "w"}, admin)
    call(url, "PUT", f"/api/v1/keys/{key['apiKey']['hash']}/permissions/{kb}", {"permission": 7}, admin)
    user = {"x-api-key": key["secretKey"]}
    ctx = pg.ExecutionContext.create("pw", embedding_length=16, key_len=1024, sdk_compatible=True)
    call(url, "POST", f"/v1/exec_context/{org['org_id']}", {"data": ctx.to_dict_enc(), "context_id": ctx.hash()}, user)
    pieces = ctx.encrypt_vec_batch(np.zeros((BATCH, 16), dtype=np.uint8)).to_b64()
    chunks = [{"chunk_content": "x", "index": p, "meta_data": {}, "name": "n"} for p in pieces]

    answered = []
    stop = threading.Event()

    def insert_forever():
        while not stop.is_set():
            try:
                reply = call(url, "POST", f"/v1/chunk/{org['org_id']}",
                             {"kb_id": kb, "context_id": ctx.hash(), "chunks": chunks}, user)
            except (urllib.error.URLError, ConnectionError, OSError):
                return
            answered.append(reply["chunk_ids"])

    writer = threading.Thread(target=insert_forever)
    writer.start()
    while len(answered) < 5 and writer.is_alive():
        time.sleep(0.01)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    stop.set()
    writer.join()

    process = start(cli, data, port)
    try:
        stored = call(url, "GET", f"/api/v1/kbs/{kb}", None, admin)["numberOfVectors"]
        acknowledged = sum(len(ids) for ids in answered)
        # Every answered batch, and at most the one in flight, whole.
        assert stored in (acknowledged, acknowledged + BATCH), (stored, acknowledged)
        for ids in answered:
            query = "&".join(f"chunk_ids={i}" for i in ids[:: BATCH - 1])
            found = call(url, "GET", f"/v1/chunk/{org['org_id']}?kb_id={kb}&{query}&projection=chunk_id", None, user)
            assert [c["chunk_id"] for c in found] == ids[:: BATCH - 1]
    finally:
        process.terminate()
        process.wait(timeout=30)
