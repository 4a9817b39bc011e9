"""Every Python example of python/README.md runs as written, in a fresh folder, in order (a
later example may go on from an earlier one). The Ray cluster example needs a cluster at the
address it names, and the client example a service: they are left out here, and
`test_trustless_client.py` runs the client example against `serve`."""

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks():
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_the_readme_has_its_examples():
    blocks = python_blocks()
    assert len(blocks) >= 4
    assert any("ray.init(address=" in block for block in blocks)


def test_every_example_runs_as_written(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace = {}
    ran = 0
    for block in python_blocks():
        if "ray.init(address=" in block or "from paillier_gpu.client import Client" in block:
            continue
        exec(compile(block, str(README), "exec"), namespace)  # noqa: S102 - our own README
        ran += 1
    assert ran >= 3
    # What the examples say they leave behind.
    assert namespace["ids"][0] == 42
    assert namespace["classes"].shape == (200,)
    assert (tmp_path / "ctx.json").exists() and (tmp_path / "model.json").exists()
