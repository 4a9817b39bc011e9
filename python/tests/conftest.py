"""Shared fixtures: the SDK's reference files, small contexts, the CLI binary, a Ray cluster, a
private PostgreSQL."""

import glob
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest

import paillier_gpu as pg

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "xtrace_reference.json"


@pytest.fixture(scope="session", autouse=True)
def owner_state_dir(tmp_path_factory):
    """The owner's digests seen (`Client`'s and the CLI's state folder) in a folder of the
    session's, not the user's data folder; the programs the tests start inherit it."""
    folder = tmp_path_factory.mktemp("owner-state")
    previous = os.environ.get("PAILLIER_GPU_STATE_DIR")
    os.environ["PAILLIER_GPU_STATE_DIR"] = str(folder)
    yield folder
    if previous is None:
        os.environ.pop("PAILLIER_GPU_STATE_DIR", None)
    else:
        os.environ["PAILLIER_GPU_STATE_DIR"] = previous


@pytest.fixture(scope="session")
def sdk_cases():
    """The XTrace SDK's own files: contexts, encrypted databases and queries, aggregates."""
    with open(FIXTURES) as f:
        return json.load(f)


@pytest.fixture(scope="session")
def small_ctx():
    """A fast, INSECURE paillier context (256-bit primes) for property tests."""
    return pg.ExecutionContext.create(
        "test-passphrase", embedding_length=40, key_len=256, insecure=True
    )


@pytest.fixture(scope="session")
def lookup_ctx():
    """A fast, INSECURE paillier_lookup context."""
    return pg.ExecutionContext.create(
        "test-passphrase",
        homomorphic_client_type="paillier_lookup",
        embedding_length=40,
        key_len=256,
        alpha_len=64,
        insecure=True,
    )


def cargo_target_dir():
    """Where cargo puts this checkout's builds: `target/` unless CARGO_TARGET_DIR or a cargo
    config says otherwise, so ask cargo rather than guess."""
    try:
        done = subprocess.run(
            ["cargo", "metadata", "--format-version", "1", "--no-deps"],
            cwd=REPO, capture_output=True, text=True, check=True,
        )
    except FileNotFoundError:
        pytest.fail("cargo is not on the PATH: the CLI tests need it to find or build "
                    "the paillier-gpu binary", pytrace=False)
    except subprocess.CalledProcessError as failed:
        pytest.fail(f"`cargo metadata` failed: {failed.stderr.strip()}", pytrace=False)
    return Path(json.loads(done.stdout)["target_directory"])


@pytest.fixture(scope="session")
def cli():
    """The paillier-gpu binary of this checkout, built if `cargo test` has not built it; or the
    program PAILLIER_GPU_TEST_PROGRAM names (tools/test-deep names the portable build's, to test
    the wheel where cargo is not on the PATH)."""
    named = os.environ.get("PAILLIER_GPU_TEST_PROGRAM")
    if named:
        if not os.access(named, os.X_OK):
            pytest.fail(f"PAILLIER_GPU_TEST_PROGRAM={named} is not an executable program",
                        pytrace=False)
        return Path(named)
    binary = cargo_target_dir() / "release" / "paillier-gpu"
    if not binary.exists():
        built = subprocess.run(
            ["cargo", "build", "--release", "--bin", "paillier-gpu"],
            cwd=REPO, capture_output=True, text=True,
        )
        if built.returncode != 0 or not binary.exists():
            last = built.stderr.strip().splitlines()[-1:] or ["no output"]
            pytest.fail(f"the paillier-gpu binary is not at {binary} and "
                        f"`cargo build --release --bin paillier-gpu` did not make it: {last[0]}",
                        pytrace=False)
    return binary


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(cli, tmp_path_factory):
    """`paillier-gpu serve` on 127.0.0.1 with a fresh store and one organisation, for a module:
    {"url", "org", "admin"}."""
    data = tmp_path_factory.mktemp("server")
    init = subprocess.run([cli, "server", "init", "--data-dir", data, "--org", "acme"],
                          capture_output=True, text=True, check=True)
    org = json.loads(init.stdout)
    port = free_port()
    process = subprocess.Popen(
        [cli, "serve", "--data-dir", data, "--listen", f"127.0.0.1:{port}", "--device", "cpu"],
        stderr=subprocess.PIPE, text=True)
    line = process.stderr.readline()
    assert "serving on" in line, line
    yield {"url": f"http://127.0.0.1:{port}", "org": org["org_id"], "admin": org["admin_key"]}
    process.terminate()
    assert process.wait(timeout=30) == 0


def integration(server, api_key="unused", admin_key=None):
    """The SDK's own client, pointed at `server`."""
    from xtrace_sdk.integrations.xtrace import XTraceIntegration

    return XTraceIntegration(server["org"], api_key=api_key, admin_key=admin_key,
                             api_url=server["url"], admin_api_url=server["url"] + "/api")


@pytest.fixture(scope="session")
def ray_cluster():
    """A local Ray cluster for the distributed tests, stopped at the end of the session."""
    import ray  # a missing Ray is a failure, not a skip: the README's test command installs it

    ray.init(num_cpus=2, log_to_driver=False, include_dashboard=False)
    yield ray
    ray.shutdown()


def hamming(a, b):
    return int(np.count_nonzero(np.asarray(a) != np.asarray(b)))


def random_bits(rng, rows, dims, dtype=np.uint8):
    return rng.integers(0, 2, size=(rows, dims)).astype(dtype)


@pytest.fixture(scope="module")
def postgres_url():
    """A private PostgreSQL cluster for a module (Debian's binaries; initdb in a temporary folder,
    run as `nobody` when the tests run as root): the URL of its `postgres` database. Skipped
    without PostgreSQL, except under CI (`CI` set), where that is a failure."""
    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda b: int(b.split("/")[-2]))
    if not bins:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is not installed (apt-get install postgresql), and CI needs it")
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql)")
    # Not under pytest's own folder, which is private to root: nobody must reach it.
    folder = Path(tempfile.mkdtemp(prefix="paillier-pg-"))
    as_nobody = {}
    if os.geteuid() == 0:
        os.chown(folder, 65534, 65534)
        as_nobody = {"user": 65534, "group": 65534}
    data = folder / "data"
    subprocess.run([f"{bins[-1]}/initdb", "--auth=trust", "--username=paillier", "-D", data],
                   check=True, capture_output=True, cwd=folder, **as_nobody)
    port = free_port()
    process = subprocess.Popen([f"{bins[-1]}/postgres", "-D", data, "-p", str(port), "-c", "fsync=off",
                                "-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories="],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=folder,
                               **as_nobody)
    deadline = time.monotonic() + 60
    while subprocess.run([f"{bins[-1]}/pg_isready", "-h", "127.0.0.1", "-p", str(port)],
                         capture_output=True).returncode != 0:
        assert time.monotonic() < deadline, "PostgreSQL did not start in 60 s"
        time.sleep(0.1)
    yield f"postgres://paillier@127.0.0.1:{port}/postgres"
    process.terminate()
    process.wait(timeout=60)
    shutil.rmtree(folder, ignore_errors=True)


def serve_on(cli, store, extra=()):
    """`paillier-gpu serve` on `store` (a PostgreSQL URL) on a free port: (process, url)."""
    port = free_port()
    process = subprocess.Popen([cli, "serve", "--store", store, "--listen", f"127.0.0.1:{port}",
                                "--device", "cpu", *extra], stderr=subprocess.PIPE, text=True)
    line = process.stderr.readline()
    assert "serving on" in line, line
    return process, f"http://127.0.0.1:{port}"
