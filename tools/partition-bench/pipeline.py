"""The benchmark's `cli` step: a fresh `paillier-gpu serve` on SQLite, a context and a knowledge
base, the verifiable upload with partitions, then `remote search --verify --probe P` for each
P, all through the CLI."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np

from common import PASSPHRASE, log
from report import summarise


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Cli:
    """`paillier-gpu` with the environment a step needs; every call's stdout parsed as JSON
    lines."""

    def __init__(self, binary: Path, env: dict):
        self.binary = binary
        self.env = dict(os.environ, **env)

    def command(self, *args) -> list[str]:
        return [str(self.binary), *map(str, args)]

    def run(self, *args, check=True) -> tuple[list[dict], str, float]:
        started = time.perf_counter()
        done = subprocess.run(self.command(*args), env=self.env, capture_output=True, text=True)
        seconds = time.perf_counter() - started
        if check and done.returncode != 0:
            raise RuntimeError(f"{' '.join(self.command(*args))} exited {done.returncode}:\n"
                               f"{done.stderr.strip()}")
        lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
        return lines, done.stderr, seconds

    def help_text(self, *args) -> str:
        done = subprocess.run(self.command(*args, "--help"), env=self.env, capture_output=True,
                              text=True)
        return done.stdout + done.stderr


class Server:
    """A fresh `paillier-gpu serve` on a SQLite store in `folder`, with its metrics served."""

    def __init__(self, cli: Cli, folder: Path, device: str):
        self.folder = folder
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        init, _, _ = cli.run("server", "init", "--data-dir", folder / "data", "--org", "bench")
        self.org, self.admin_key = init[0]["org_id"], init[0]["admin_key"]
        self.port, self.metrics_port = free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = folder / "serve.log"
        self.log_file = open(self.log_path, "w")
        self.process = subprocess.Popen(
            cli.command("serve", "--data-dir", folder / "data", "--listen",
                        f"127.0.0.1:{self.port}", "--device", device, "--metrics-listen",
                        f"127.0.0.1:{self.metrics_port}"),
            env=cli.env, stdout=self.log_file, stderr=subprocess.STDOUT)
        for _ in range(300):
            if "serving on" in self.log_path.read_text():
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"serve did not start:\n{self.log_path.read_text()}")

    def memory(self) -> dict:
        """VmRSS and VmHWM (the peak) of the serve process, in KiB."""
        out = {}
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0])
        return out

    def metrics(self) -> dict:
        """The metrics this benchmark reads (counters and gauges without labels, and the
        seconds and count of the route a search asks: compute_hamming, or sealed_pages)."""
        text = urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics",
                                      timeout=30).read().decode()
        out = {}
        for line in text.splitlines():
            if line.startswith("#") or not line.strip():
                continue
            name, _, value = line.rpartition(" ")
            if name in ("paillier_gpu_records_aggregated_total", "paillier_gpu_resident_records",
                        "paillier_gpu_resident_host_bytes", "paillier_gpu_resident_indexes"):
                out[name] = float(value)
            elif (("compute_hamming" in name or "sealed_pages" in name)
                  and name.startswith("paillier_gpu_request_seconds_")):
                key = name.split("{")[0]
                if key.endswith(("_sum", "_count")):
                    out[key] = out.get(key, 0.0) + float(value)
        return out

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log_file.close()


def probe_list(spec: str) -> list[str]:
    """'1,2,4,all' as given, or 'pow2' for 1, 2, 4, … 2^12 and all (values past the number of
    partitions are dropped once it is known)."""
    if spec == "pow2":
        return [str(2 ** i) for i in range(13)] + ["all"]
    return [p.strip() for p in spec.split(",") if p.strip()]


def search(cli: Cli, server: Server, base: list, queries: Path, probe: str | None,
           expected: int, stats: bool = False, decoys: int = 0) -> dict:
    """One `remote search` over every query of `queries`: each answer line, when it arrived,
    and the server's counters around it."""
    args = ["remote", "search", *base, "--query", queries, "--top-k", 10, "--verify",
            "--private-meta"]
    if probe is not None:
        args += ["--probe", probe]
        if decoys:
            args += ["--decoys", decoys]
    if stats:
        args.append("--stats")
    before = server.metrics()
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as err:
        process = subprocess.Popen(cli.command(*args), env=cli.env, stdout=subprocess.PIPE,
                                   stderr=err, text=True)
        lines, arrivals = [], []
        for line in process.stdout:
            if line.startswith("{"):
                arrivals.append(time.perf_counter() - started)
                lines.append(json.loads(line))
        process.wait()
        err.seek(0)
        stderr = err.read()
    wall = time.perf_counter() - started
    after = server.metrics()
    if process.returncode != 0 or len(lines) != expected:
        raise RuntimeError(f"{' '.join(cli.command(*args))} exited {process.returncode} with "
                           f"{len(lines)} of {expected} answers:\n{stderr.strip()}")
    delta = {k: after.get(k, 0.0) - before.get(k, 0.0) for k in after}
    return {"command": cli.command(*args), "lines": lines, "arrivals": arrivals, "wall_s": wall,
            "metrics_delta": delta, "stderr_tail": stderr[-2000:]}


def cli_step(folder: Path, args, meta: dict) -> dict:
    binary = args.bin
    if not binary.exists():
        raise SystemExit(f"{binary} is missing: cargo build --release -p paillier-gpu-cli "
                         "(run.sh does it), or pass --bin")
    state = folder / "cli"
    env = {"PAILLIER_GPU_PASSPHRASE": PASSPHRASE,
           "PAILLIER_GPU_STATE_DIR": str(state / "owner-state")}
    cli = Cli(binary, env)
    has_partitions = ("--partitions" in cli.help_text("remote", "upload")
                      and "--probe" in cli.help_text("remote", "search"))
    mode = args.cli_mode
    if mode == "auto":
        mode = "partitions" if has_partitions else "today"
    if mode == "partitions" and not has_partitions:
        raise SystemExit(f"{binary} has no --partitions / --probe: build a CLI with them, or "
                         "pass --cli-mode today for the dry run")
    # A CLI that prints per-query figures (records decoded, answer bytes, time) with --stats:
    # used where it has the flag, else measured around it (see summarise).
    stats = "--stats" in cli.help_text("remote", "search")
    if mode == "today":
        log("the CLI has no --partitions/--probe (or --cli-mode today): uploading without "
            "partitions and searching the whole knowledge base only (the `all` point)")
    records, dim = meta["records"], meta["dim"]
    queries_n = min(args.cli_queries or (50 if records <= 200_000 else 20), meta["queries"])
    if state.exists():
        shutil.rmtree(state)
    state.mkdir(parents=True)
    q_path = state / "queries.npy"
    np.save(q_path, np.load(folder / "queries.npy")[:queries_n])

    server = Server(cli, state / "server", args.device)
    result: dict = {"mode": mode, "records": records, "dim": dim, "key_len": args.key_len,
                    "queries": queries_n, "device": args.device, "binary": str(binary)}
    try:
        cli.env.update(PAILLIER_GPU_REMOTE=server.url, PAILLIER_GPU_ORG=server.org,
                       PAILLIER_GPU_ADMIN_KEY=server.admin_key)
        kb = cli.run("admin", "kb", "create", "--name", folder.name)[0][0]["id"]
        key = cli.run("admin", "key", "create", "--name", "bench")[0][0]
        cli.run("admin", "key", "grant", key["apiKey"]["hash"], kb, "all")
        cli.env.update(PAILLIER_GPU_API_KEY=key["secretKey"], PAILLIER_GPU_KB=kb)
        ctx = state / "ctx.json"
        created, _, ctx_s = cli.run("context", "create", "--key-len", args.key_len,
                                    "--embed-len", dim, "--output", ctx)
        shape = created[0]
        cli.run("context", "push", "--context", ctx)
        result["context"] = {**shape, "create_s": ctx_s}
        piece_bytes = 4 * args.key_len // 8  # a ciphertext mod n², n of 2·key_len bits
        record_bytes = shape["chunks_per_vector"] * piece_bytes
        base = ["--context", ctx, "--kb", kb]

        upload = ["remote", "upload", *base, "--vectors", folder / "corpus.npy",
                  "--ids-out", state / "ids.jsonl", "--verifiable", "--private-meta"]
        if mode == "partitions":
            upload += ["--partitions", args.partitions]
        if getattr(args, "sealed_vectors", False):
            upload.append("--sealed-vectors")
            result["sealed_vectors"] = True
        log(f"{folder.name}: uploading {records:,} records: {' '.join(map(str, upload))}")
        out, err, upload_s = cli.run(*upload)
        result["upload"] = {"command": cli.command(*upload), "wall_s": upload_s,
                            "records_per_s": records / upload_s, "stdout": out,
                            "stderr_tail": err[-2000:], "training": upload_note(err),
                            "server_memory_kib": server.memory()}
        # ids.jsonl maps each chunk id to its record (row of corpus.npy), for a closer look.

        if mode == "partitions":
            shown, err, _ = cli.run("remote", "partitions", "show", *base, check=False)
            result["partitions_show"] = shown if shown else {"error": err[-2000:]}

        # A first search builds the resident index; the memory after it is what serving costs.
        # It searches everything unless the exhaustive search is left out (40 minutes at
        # 1,000,000 records on 2 cores); then it probes the default.
        one = state / "one_query.npy"
        np.save(one, np.load(q_path)[:1])
        no_all = args.truth == "plaintext" and args.all_queries == 0
        first_probe = "all" if mode == "partitions" and not no_all else None
        first = search(cli, server, base, one, first_probe, 1, stats)
        result["first_search"] = {"probe": first_probe or "default", "wall_s": first["wall_s"]}
        result["server_after_first_search"] = {**server.memory(), **server.metrics()}

        probes = probe_list(args.probes) if mode == "partitions" else ["all"]
        partitions = partition_count(result.get("partitions_show"))
        if partitions:
            probes = [p for p in probes if p == "all" or int(p) < partitions]
        recommended = recommended_probe(result.get("partitions_show"))
        if mode == "partitions" and recommended and str(recommended) not in probes:
            probes.append(str(recommended))  # the probe a search uses by default
        result["recommended_probe"] = recommended
        # `all` first: it is the ground truth of the others.
        order = ["all"] + [p for p in probes if p != "all"]
        if no_all:
            order.remove("all")  # the exhaustive search left out: its time is not measured
        # With --truth plaintext, `all` runs on fewer queries: its time, and a check that its
        # distances are the plaintext ones; the recall is then against the plaintext top 10.
        all_n = queries_n
        if args.truth == "plaintext":
            all_n = min(args.all_queries, queries_n)
            all_path = state / "all_queries.npy"
            np.save(all_path, np.load(q_path)[:all_n])
        runs = {}
        for probe in order:
            n, path = (all_n, all_path) if probe == "all" and all_n < queries_n else (queries_n, q_path)
            log(f"{folder.name}: {n} verified searches, probe {probe}")
            runs[probe] = search(cli, server, base, path,
                                 probe if mode == "partitions" else None, n, stats, args.decoys)
        # Every answer as it came, to summarise again without searching again.
        (state / "answers.json").write_text(json.dumps(
            {p: {k: v for k, v in r.items() if k != "stderr_tail"} for p, r in runs.items()},
            default=str) + "\n")
        result["truth"] = args.truth
        result["searches"] = summarise(runs, order, folder, records, record_bytes, args.truth)
        result["server_after_searches"] = {**server.memory(), **server.metrics()}
        result["server_log_tail"] = server.log_path.read_text()[-3000:]
    finally:
        server.stop()
    return result


def recommended_probe(shown) -> int | None:
    """The probe a search uses by default, from `remote partitions show`, if it says."""
    if shown and isinstance(shown, list) and isinstance(shown[0], dict):
        v = shown[0].get("recommended_probe")
        return v if isinstance(v, int) else None
    return None


def upload_note(stderr: str) -> dict:
    """What the upload said about training on stderr ("trained N partitions over M records in
    S s; a search probes P by default (estimated recall@10 R)"), as numbers."""
    import re

    m = re.search(r"trained (\d+) partitions over (\d+) records in ([\d.]+) s"
                  r"(?:; a search probes (\d+) by default \(estimated recall@10 ([\d.]+)\))?",
                  stderr)
    if not m:
        return {}
    out = {"partitions": int(m[1]), "trained_over": int(m[2]), "train_s": float(m[3])}
    if m[4]:
        out.update(recommended_probe=int(m[4]), estimated_recall=float(m[5]))
    return out


def partition_count(shown) -> int | None:
    """The number of partitions, from `remote partitions show`'s JSON, if it says (a `sizes`
    list or a `partitions` count or list)."""
    if not shown or not isinstance(shown, list) or not isinstance(shown[0], dict):
        return None
    s = shown[0]
    for key in ("sizes", "partitions"):
        v = s.get(key)
        if isinstance(v, list):
            return len(v)
        if isinstance(v, int):
            return v
    return None
