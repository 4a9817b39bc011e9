"""Shared fixtures: the SDK's reference files, small contexts, the CLI binary, a Ray cluster."""

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

import paillier_gpu as pg

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "xtrace_reference.json"


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


@pytest.fixture(scope="session")
def cli():
    """The paillier-gpu binary of this checkout, built if `cargo test` has not built it."""
    binary = REPO / "target" / "release" / "paillier-gpu"
    if not binary.exists():
        subprocess.run(
            ["cargo", "build", "--release", "--bin", "paillier-gpu"], cwd=REPO, check=True
        )
    return binary


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
