#!/usr/bin/env python3
"""Load on `paillier-gpu serve`, against the in-process engine, in one run.

Starts a server on 127.0.0.1 with a fresh store, ingests RECORDS encrypted vectors in the SDK's
batches of 500 (chunks/s, every batch committed before its answer), then runs compute_hamming
over all of them with 1, 4 and 16 concurrent clients (requests/s, p50 and p99, msgpack
answers), reports the server's resident memory against the ciphertext bytes it holds, and runs
`paillier-gpu bench` on the same device for the in-process aggregation rate.

    target/python-venv/bin/python tools/server-load.py --records 8192 [--device cpu] [--seconds 20]

With `--store postgres` the store is a private PostgreSQL cluster made for the run (Debian's
`postgresql` binaries; initdb in a temporary folder, run as `nobody` when this is root, default
durability settings), and `--replicas N` starts N servers on it: requests go to them in turn
(ingest a batch each, search clients one replica each), and with two or more the run also
times a replica's first search after 10,000 inserts made through another (its catch-up;
`--catch-up-records` changes the count).

Needs the paillier_gpu package (tools/test-all installs it into target/python-venv) and a
release build of the binary (cargo build --release). Prints one JSON object.
"""

import argparse
import glob
import json
import os
import shutil
import socket
import statistics
import subprocess
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np

import paillier_gpu as pg

REPO = Path(__file__).resolve().parents[1]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_bytes(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def start_postgres():
    """A private cluster: (process, url, folder)."""
    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda b: int(b.split("/")[-2]))
    if not bins:
        raise SystemExit("--store postgres needs PostgreSQL (apt-get install postgresql)")
    bin_dir = bins[-1]
    folder = tempfile.mkdtemp(prefix="server-load-pg-")
    data = os.path.join(folder, "data")
    as_nobody = {}
    if os.geteuid() == 0:
        os.chown(folder, 65534, 65534)
        as_nobody = {"user": 65534, "group": 65534}
    subprocess.run([f"{bin_dir}/initdb", "--auth=trust", "--username=load", "-D", data],
                   check=True, capture_output=True, cwd=folder, **as_nobody)
    port = free_port()
    process = subprocess.Popen([f"{bin_dir}/postgres", "-D", data, "-p", str(port),
                                "-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories="],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=folder,
                               **as_nobody)
    url = f"postgres://load@127.0.0.1:{port}/postgres"
    for _ in range(300):
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.1)
    time.sleep(0.5)
    return process, url, folder


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=8192)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--embed-len", type=int, default=512)
    parser.add_argument("--clients", default="1,4,16",
                        help="concurrent clients to measure, comma-separated (each 1 M-record "
                             "answer is 512 MiB in the server and in the client)")
    parser.add_argument("--bench-batch", type=int, default=None,
                        help="records of the in-process aggregation (default: RECORDS)")
    parser.add_argument("--store", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--replicas", type=int, default=1,
                        help="servers on the one store (PostgreSQL for more than one)")
    parser.add_argument("--catch-up-records", type=int, default=10_000,
                        help="with two replicas or more: records inserted through the first before "
                             "the second's search is timed")
    parser.add_argument("--ingest-only", action="store_true",
                        help="measure ingest alone: no searches, no in-process comparison")
    parser.add_argument("--binary", default=os.environ.get("CARGO_TARGET_DIR", str(REPO / "target")) + "/release/paillier-gpu")
    args = parser.parse_args()

    if args.replicas > 1 and args.store != "postgres":
        raise SystemExit("replicas share a PostgreSQL store: add --store postgres")
    data = tempfile.mkdtemp(prefix="server-load-")
    postgres = start_postgres() if args.store == "postgres" else None
    store = ["--store", postgres[1]] if postgres else ["--data-dir", data]
    org = json.loads(subprocess.run([args.binary, "server", "init", "--org", "load", *store],
                                    capture_output=True, text=True, check=True).stdout)
    servers, urls = [], []
    metrics_port = free_port()
    for replica in range(args.replicas):
        port = free_port()
        metrics = ["--metrics-listen", f"127.0.0.1:{metrics_port}"] if replica == 0 else []
        server = subprocess.Popen([args.binary, "serve", *store, "--listen", f"127.0.0.1:{port}",
                                   *metrics, "--device", args.device],
                                  stderr=subprocess.PIPE, text=True)
        assert "serving on" in server.stderr.readline()
        # Whatever it says later must not fill the pipe and stall it.
        threading.Thread(target=server.stderr.read, daemon=True).start()
        servers.append(server)
        urls.append(f"http://127.0.0.1:{port}")
    server = servers[0]
    turn = iter(range(1 << 62))

    def call(method, path, body, headers, raw=False, replica=None):
        url = urls[next(turn) % len(urls) if replica is None else replica]
        request = urllib.request.Request(url + path, method=method, data=json.dumps(body).encode(),
                                         headers={"content-type": "application/json", **headers})
        with urllib.request.urlopen(request, timeout=600) as answer:
            payload = answer.read()
            return payload if raw else json.loads(payload)

    report = {"records": args.records, "device": args.device, "embed_len": args.embed_len,
              "store": args.store, "replicas": args.replicas}
    try:
        admin = {"x-xtrace-key": org["admin_key"], "x-xtrace-org-id": org["org_id"]}
        kb = call("POST", "/api/v1/kbs", {"name": "load"}, admin)["id"]
        key = call("POST", "/api/v1/keys", {"name": "load"}, admin)
        call("PUT", f"/api/v1/keys/{key['apiKey']['hash']}/permissions/{kb}", {"permission": 7}, admin)
        user = {"x-api-key": key["secretKey"]}
        ctx = pg.ExecutionContext.create("load", embedding_length=args.embed_len, key_len=1024, sdk_compatible=True)
        cid = ctx.hash()
        call("POST", f"/v1/exec_context/{org['org_id']}", {"data": ctx.to_dict_enc(), "context_id": cid}, user)

        rng = np.random.default_rng(0)

        def batches_of(records):
            batches = []
            for start in range(0, records, 500):
                n = min(500, records - start)
                pieces = ctx.encrypt_vec_batch(rng.integers(0, 2, (n, args.embed_len)).astype(np.uint8)).to_b64()
                batches.append({"kb_id": kb, "context_id": cid, "chunks": [
                    {"chunk_content": "", "index": p, "name": f"chunk {start + i}",
                     "meta_data": {"tag1": f"group-{(start + i) % 16:02d}", "facets": ["load"]}}
                    for i, p in enumerate(pieces)]})
            return batches

        batches = batches_of(args.records)
        started = time.perf_counter()
        for body in batches:
            call("POST", f"/v1/chunk/{org['org_id']}", body, user)
        report["ingest_chunks_per_s"] = round(args.records / (time.perf_counter() - started))
        if args.ingest_only:
            print(json.dumps(report, indent=2))
            return

        query = ctx.encrypt_vec_one(rng.integers(0, 2, args.embed_len).astype(np.uint8)).to_b64()[0]
        body = {"kb_id": kb, "context_id": cid, "query": query}
        rss_before = rss_bytes(server.pid)
        first = time.perf_counter()
        call("POST", f"/v1/compute_hamming/{org['org_id']}", body, user, raw=True, replica=0)
        report["first_search_s"] = round(time.perf_counter() - first, 3)
        pieces = len(query)
        width = 4 * 1024 // 8  # a ciphertext modulo n² at key_len 1024: 4096 bits
        ciphertext_bytes = args.records * pieces * width
        report["ciphertext_bytes"] = ciphertext_bytes
        report["resident_growth_bytes"] = rss_bytes(server.pid) - rss_before
        report["rss_growth_over_ciphertexts"] = round(report["resident_growth_bytes"] / ciphertext_bytes, 3)
        for replica in range(1, len(urls)):
            call("POST", f"/v1/compute_hamming/{org['org_id']}", body, user, raw=True, replica=replica)
        with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics") as answer:
            metrics = answer.read().decode()
        index_bytes = next(int(line.split()[1]) for line in metrics.splitlines()
                           if line.startswith("paillier_gpu_resident_host_bytes "))
        report["index_host_bytes"] = index_bytes
        report["index_over_ciphertexts"] = round(index_bytes / ciphertext_bytes, 3)

        for clients in [int(c) for c in args.clients.split(",")]:
            latencies = []
            stop = time.perf_counter() + args.seconds
            lock = threading.Lock()

            def client(replica):
                # At least one request each, however late the thread starts.
                first = True
                while first or time.perf_counter() < stop:
                    first = False
                    t = time.perf_counter()
                    call("POST", f"/v1/compute_hamming/{org['org_id']}", body, user, raw=True,
                         replica=replica)
                    with lock:
                        latencies.append(time.perf_counter() - t)

            began = time.perf_counter()
            threads = [threading.Thread(target=client, args=(c % len(urls),)) for c in range(clients)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            elapsed = time.perf_counter() - began
            latencies.sort()
            report[f"clients_{clients}"] = {
                "requests_per_s": round(len(latencies) / elapsed, 2),
                "records_per_s": round(len(latencies) * args.records / elapsed),
                "p50_ms": round(1e3 * statistics.median(latencies), 1),
                "p99_ms": round(1e3 * latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))], 1),
            }
        if len(urls) > 1:
            # Catch-up: inserts through the first replica, then the second's next search.
            for more in batches_of(args.catch_up_records):
                call("POST", f"/v1/chunk/{org['org_id']}", more, user, replica=0)
            timed = []
            for _ in range(2):
                began = time.perf_counter()
                call("POST", f"/v1/compute_hamming/{org['org_id']}", body, user, raw=True, replica=1)
                timed.append(time.perf_counter() - began)
            report["catch_up"] = {"records": args.catch_up_records,
                                  "first_search_s": round(timed[0], 3),
                                  "next_search_s": round(timed[1], 3)}
    finally:
        for running in servers:
            running.terminate()
            running.wait(timeout=60)
        if postgres:
            postgres[0].terminate()
            postgres[0].wait(timeout=60)
            shutil.rmtree(postgres[2], ignore_errors=True)

    bench = subprocess.run([args.binary, "bench", "--device", args.device, "--key-len", "1024",
                            "--embed-len", str(args.embed_len), "--batch", str(args.bench_batch or args.records), "--repeat", "3",
                            "--no-numbers", "--json", os.path.join(data, "bench.json")],
                           capture_output=True, text=True, check=True)
    measured = json.loads(Path(data, "bench.json").read_text())["measurements"]
    aggregate = next(m for m in measured if m["operation"] == "aggregate")
    report["in_process_records_per_s"] = round(aggregate["per_second"])
    for clients in [int(c) for c in args.clients.split(",")]:
        report[f"clients_{clients}_over_in_process"] = round(
            report[f"clients_{clients}"]["records_per_s"] / report["in_process_records_per_s"], 3)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
