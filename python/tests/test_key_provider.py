"""Key providers written in Python."""

import runpy
import sys
from pathlib import Path

import pytest

import paillier_gpu as pg

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "envelope_key_provider.py"


def test_the_envelope_example_runs(capsys):
    module = runpy.run_path(str(EXAMPLE))
    assert module["main"]() == 0
    assert "a foreign KMS is refused" in capsys.readouterr().out


class FixedKey:
    provider_id = "fixed"

    def __init__(self, key):
        self.key = key

    def data_key(self):
        return self.key

    def wrapped_key(self):
        return b"label"

    def reconstruct(self, wrapped):
        assert wrapped == b"label"
        return FixedKey(self.key)


class Failing(FixedKey):
    def data_key(self):
        raise RuntimeError("the KMS is down")


def test_a_provider_round_trips_and_its_failures_are_errors(tmp_path):
    path = tmp_path / "ctx.json"
    ctx = pg.ExecutionContext.create(
        key_provider=FixedKey(b"k" * 32), embedding_length=8, key_len=256, insecure=True, path=str(path)
    )
    assert pg.ExecutionContext.load_from_disk(path=str(path), key_provider=FixedKey(b"k" * 32)).hash() == ctx.hash()
    with pytest.raises(pg.AuthenticationError):
        pg.ExecutionContext.load_from_disk(path=str(path), key_provider=FixedKey(b"j" * 32))
    with pytest.raises(pg.KeyProviderError, match="32"):
        pg.ExecutionContext.create(key_provider=FixedKey(b"short"), embedding_length=8, key_len=256, insecure=True)
    with pytest.raises(pg.KeyProviderError, match="the KMS is down"):
        pg.ExecutionContext.create(key_provider=Failing(b"k" * 32), embedding_length=8, key_len=256, insecure=True)
    with pytest.raises(AttributeError):
        pg.ExecutionContext.create(key_provider=object(), embedding_length=8, key_len=256, insecure=True)
    with pytest.raises(pg.InvalidInputError, match="not both"):
        pg.ExecutionContext.create("pw", key_provider=FixedKey(b"k" * 32))
