"""docs/deployment.md's proxy configurations, as printed there: its HAProxy configuration passes
`haproxy -c` as printed, and, with only its listen address and its two servers' addresses
replaced by 127.0.0.1 ports, runs in front of two replicas over one PostgreSQL while searches
go through it from two threads and one replica is killed with SIGKILL: every search sent after
the kill is answered 200 with the right distances (the ones in flight at the kill may fail).
Its nginx blocks pass `nginx -t` inside a minimal nginx.conf. Without haproxy or nginx these
are skipped, except under CI (`CI` set), where that is a failure."""

import base64
import datetime
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request

import numpy as np
import pytest

import paillier_gpu as pg
from conftest import REPO, free_port, serve_on

# Some 15 s and a proxy of its own: tools/test-deep runs it (CI); the README's test command
# leaves it out.
pytestmark = pytest.mark.deep

PAGE = REPO / "docs" / "deployment.md"
DIMS = 16
RECORDS = 40
# Searches go on this long after the kill: past the health check's time to take the replica
# out (inter 2s x fall 3), so that requests are sent both before and after it does.
AFTER_KILL_S = 8.0


def blocks(language):
    return re.findall(rf"^```{language}\n(.*?)^```", PAGE.read_text(), flags=re.S | re.M)


def tool(name):
    """The path of haproxy or nginx; a skip without it, or a failure under CI."""
    found = shutil.which(name) or next(
        (p for p in (f"/usr/sbin/{name}", f"/sbin/{name}") if os.access(p, os.X_OK)), None)
    if found is None:
        message = f"{name} is not installed (apt-get install {name}): docs/deployment.md's " \
                  f"configuration for it is not checked"
        if os.environ.get("CI"):
            pytest.fail(message + ", and CI needs it", pytrace=False)
        pytest.skip(message)
    return found


def haproxy_config():
    found = blocks("haproxy")
    assert len(found) == 1, "docs/deployment.md should print exactly one ```haproxy block"
    return found[0]


def replace_once(text, pattern, replacement):
    changed, count = re.subn(pattern, replacement, text, flags=re.M)
    assert count == 1, f"{pattern!r} is on the page's configuration {count} times, not once"
    return changed


def local_haproxy_config(listen, a, b):
    """The page's configuration with its listen port and its servers on 127.0.0.1: only the
    `bind` line's address and the two servers' addresses change."""
    text = replace_once(haproxy_config(), r"^(\s*bind\s+)\S+", rf"\g<1>127.0.0.1:{listen}")
    text = replace_once(text, r"\b10\.0\.0\.11:8742\b", f"127.0.0.1:{a}")
    return replace_once(text, r"\b10\.0\.0\.12:8742\b", f"127.0.0.1:{b}")


def haproxy_check(haproxy, path):
    done = subprocess.run([haproxy, "-c", "-f", path], capture_output=True, text=True, timeout=30)
    said = done.stdout + done.stderr
    assert done.returncode == 0, said
    assert "WARNING" not in said and "ALERT" not in said, said


def test_the_haproxy_configuration_is_valid_as_printed(tmp_path):
    haproxy = tool("haproxy")
    printed = tmp_path / "printed.cfg"
    printed.write_text(haproxy_config())
    haproxy_check(haproxy, printed)
    local = tmp_path / "local.cfg"
    local.write_text(local_haproxy_config(free_port(), free_port(), free_port()))
    haproxy_check(haproxy, local)


def self_signed(folder):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1)).sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def nginx_check(nginx, folder, http_block):
    """`nginx -t` on a minimal nginx.conf holding `http_block` in its `http {}`, with every file
    nginx writes in `folder` (so that it needs no root folder)."""
    temp = {kind: folder / kind for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")}
    for path in temp.values():
        path.mkdir(exist_ok=True)
    conf = folder / "nginx.conf"
    conf.write_text(
        f"pid {folder}/nginx.pid;\nerror_log {folder}/error.log;\nevents {{}}\nhttp {{\n"
        f"    access_log {folder}/access.log;\n"
        + "".join(f"    {kind}_temp_path {path};\n" for kind, path in temp.items())
        + http_block + "}\n")
    done = subprocess.run([nginx, "-t", "-p", f"{folder}/", "-e", f"{folder}/error.log", "-c", conf],
                          capture_output=True, text=True, timeout=30)
    said = done.stdout + done.stderr
    assert done.returncode == 0, said
    assert "[warn]" not in said and "[emerg]" not in said, said


def test_the_nginx_blocks_pass_nginx_t(tmp_path):
    nginx = tool("nginx")
    found = blocks("nginx")
    assert len(found) == 2, "docs/deployment.md should print the nginx block and its TLS lines"
    whole, tls = found
    assert "upstream paillier" in whole and "proxy_pass http://paillier;" in whole, whole
    # What the page says of retries: never non_idempotent (POSTs are inserts and searches).
    assert "non_idempotent" not in whole
    (tmp_path / "plain").mkdir()
    nginx_check(nginx, tmp_path / "plain", whole)
    # The TLS variant: its lines in place of `listen 8080;`, on a certificate made here.
    assert "ssl_certificate " in tls and "ssl_certificate_key " in tls, tls
    cert, key = self_signed(tmp_path)
    tls = replace_once(tls, r"^(\s*ssl_certificate\s+)\S+;", rf"\g<1>{cert};")
    tls = replace_once(tls, r"^(\s*ssl_certificate_key\s+)\S+;", rf"\g<1>{key};")
    (tmp_path / "tls").mkdir()
    nginx_check(nginx, tmp_path / "tls", replace_once(whole, r"^\s*listen 8080;\n", tls))


def call(url, method, path, body, headers, timeout=60):
    request = urllib.request.Request(url + path, method=method, data=json.dumps(body).encode(),
                                     headers={"content-type": "application/json",
                                              "accept": "application/json", **headers})
    with urllib.request.urlopen(request, timeout=timeout) as answer:
        return answer.status, answer.read()


def test_haproxy_sends_every_request_after_a_kill_to_the_live_replica(cli, postgres_url, tmp_path):
    haproxy = tool("haproxy")
    org = json.loads(subprocess.run([cli, "server", "init", "--store", postgres_url, "--org", "acme"],
                                    capture_output=True, text=True, check=True, timeout=60).stdout)
    replicas = [serve_on(cli, postgres_url) for _ in range(2)]
    for process, _ in replicas:
        # Nothing reads their log otherwise: a full pipe would stop them.
        threading.Thread(target=process.stderr.read, daemon=True).start()
    (killed, url_a), (survivor, url_b) = replicas
    listen = free_port()
    proxy_url = f"http://127.0.0.1:{listen}"
    config = tmp_path / "haproxy.cfg"
    config.write_text(local_haproxy_config(listen, url_a.rsplit(":", 1)[1], url_b.rsplit(":", 1)[1]))
    log_path = tmp_path / "haproxy.log"
    with open(log_path, "w") as log:
        proxy = subprocess.Popen([haproxy, "-db", "-f", config], stdout=log, stderr=subprocess.STDOUT)
    threads = []
    stop_at = [time.monotonic() + 60]  # moved to the kill + AFTER_KILL_S once it happens
    try:
        deadline = time.monotonic() + 10
        while True:
            assert proxy.poll() is None, log_path.read_text()
            try:
                with urllib.request.urlopen(proxy_url + "/healthz", timeout=5) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, "HAProxy did not answer /healthz in 10 s"
            time.sleep(0.05)

        # The world, set up through the proxy.
        admin = {"x-xtrace-key": org["admin_key"], "x-xtrace-org-id": org["org_id"]}
        kb = json.loads(call(proxy_url, "POST", "/api/v1/kbs", {"name": "k"}, admin)[1])["id"]
        key = json.loads(call(proxy_url, "POST", "/api/v1/keys", {"name": "w"}, admin)[1])
        call(proxy_url, "PUT", f"/api/v1/keys/{key['apiKey']['hash']}/permissions/{kb}",
             {"permission": 7}, admin)
        user = {"x-api-key": key["secretKey"]}
        ctx = pg.ExecutionContext.create("pw", embedding_length=DIMS, key_len=1024, sdk_compatible=True)
        cid = ctx.hash()
        call(proxy_url, "POST", f"/v1/exec_context/{org['org_id']}",
             {"data": ctx.to_dict_enc(), "context_id": cid}, user)
        rng = np.random.default_rng(78)
        vectors = rng.integers(0, 2, (RECORDS, DIMS)).astype(np.uint8)
        chunks = [{"chunk_content": f"c{i}", "index": p, "meta_data": {}, "name": f"n{i}"}
                  for i, p in enumerate(ctx.encrypt_vec_batch(vectors).to_b64())]
        ids = json.loads(call(proxy_url, "POST", f"/v1/chunk/{org['org_id']}",
                              {"kb_id": kb, "context_id": cid, "chunks": chunks}, user)[1])["chunk_ids"]
        assert len(ids) == RECORDS
        query = rng.integers(0, 2, DIMS).astype(np.uint8)
        expected = {i: int(np.count_nonzero(v != query)) for i, v in zip(ids, vectors)}
        search = {"kb_id": kb, "context_id": cid, "query": ctx.encrypt_vec_one(query).to_b64()[0]}
        width = len(base64.b64decode(search["query"][0]))

        checked = {}  # answer body -> whether its distances are the plaintexts'

        def correct(body):
            if body not in checked:
                try:
                    answer = json.loads(body)
                    rows = [[base64.b64encode(int(p).to_bytes(width, "little")).decode() for p in pieces]
                            for pieces, _ in answer]
                    distances = ctx.decode_hamming_client_batch(rows)
                    checked[body] = dict(zip((i for _, i in answer), (int(d) for d in distances))) == expected
                except (ValueError, TypeError):
                    checked[body] = False
            return checked[body]

        # Searches through the proxy from two threads: (start, end, outcome, body).
        outcomes = []
        lock = threading.Lock()

        def searcher():
            while time.monotonic() < stop_at[0]:
                start = time.monotonic()
                try:
                    status, body = call(proxy_url, "POST", f"/v1/compute_hamming/{org['org_id']}",
                                        search, user, timeout=30)
                    outcome = status
                except urllib.error.HTTPError as e:
                    outcome, body = e.code, e.read()
                except (OSError, ValueError, http.client.HTTPException) as e:
                    outcome, body = repr(e), b""
                with lock:
                    outcomes.append((start, time.monotonic(), outcome, body))

        threads += [threading.Thread(target=searcher) for _ in range(2)]
        for t in threads:
            t.start()
        # Both replicas in rotation before the kill: HAProxy's log names the server of each request.
        deadline = time.monotonic() + 20
        while not all(re.search(rf"paillier/{s} \S+ 200 .*\"POST /v1/compute_hamming/", log_path.read_text())
                      for s in "ab"):
            assert time.monotonic() < deadline, "both replicas did not answer through HAProxy in 20 s"
            assert all(t.is_alive() for t in threads)
            time.sleep(0.05)
        time.sleep(0.5)
        kill_started = time.monotonic()
        os.kill(killed.pid, signal.SIGKILL)
        assert killed.wait(timeout=10) == -signal.SIGKILL
        killed_at = time.monotonic()
        stop_at[0] = killed_at + AFTER_KILL_S
        for t in threads:
            t.join(timeout=AFTER_KILL_S + 60)
            assert not t.is_alive()

        log = log_path.read_text()
        before = [o for o in outcomes if o[1] < kill_started]
        in_flight = [o for o in outcomes if o[0] < killed_at and o[1] >= kill_started]
        after = [o for o in outcomes if o[0] >= killed_at]
        assert before and all(o[2] == 200 and correct(o[3]) for o in before), \
            [o[2] for o in before if o[2] != 200]
        # The test can fail: searches were sent after the kill, some of them before the health
        # check took the replica out, and HAProxy tried the dead one for some and went elsewhere.
        assert len(after) >= 10, len(after)
        failed = [(round(o[0] - killed_at, 2), round(o[1] - o[0], 2), o[2], o[3][:100]) for o in after
                  if o[2] != 200 or not correct(o[3])]
        assert failed == [], failed
        assert re.search(r"paillier/a is DOWN", log), log[-3000:]
        redispatched = re.findall(r"paillier/b \S+ 200 .* \d+/\d+/\d+/\d+/\+\d+ ", log)
        assert redispatched, log[-3000:]
        # Report what happened (pytest -s shows it).
        print(f"\n{len(before)} searches before the kill, {len(in_flight)} in flight at it "
              f"({sum(o[2] != 200 for o in in_flight)} failed: "
              f"{sorted({str(o[2])[:60] for o in in_flight if o[2] != 200})}), "
              f"{len(after)} after it (all 200), "
              f"{len(redispatched)} of them redispatched from the dead replica; the slowest after it "
              f"took {max(o[1] - o[0] for o in after):.3f} s")
        # The survivor served throughout, and stops cleanly.
        assert survivor.poll() is None
    finally:
        stop_at[0] = 0
        for t in threads:
            t.join(timeout=60)
        proxy.kill()
        proxy.wait(timeout=30)
        for process, _ in replicas:
            if process.poll() is None:
                process.terminate()
    assert survivor.wait(timeout=30) == 0
