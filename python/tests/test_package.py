"""The package itself: its doctest, its stubs, and the GIL released during heavy calls."""

import ast
import doctest
import threading
from pathlib import Path

import numpy as np

import paillier_gpu as pg

PACKAGE = Path(pg.__file__).parent


def test_the_module_docstring_example_runs():
    assert doctest.testmod(pg).failed == 0


def test_the_stubs_name_every_public_method():
    stubs = ast.parse((PACKAGE / "_native.pyi").read_text())
    stubbed = {
        node.name: {f.name for f in node.body if isinstance(f, ast.FunctionDef)}
        | {t.target.id for t in node.body if isinstance(t, ast.AnnAssign)}
        for node in stubs.body
        if isinstance(node, ast.ClassDef)
    }
    for cls in [
        pg.ExecutionContext,
        pg.PublicContext,
        pg.Ciphertexts,
        pg.EncryptedIndex,
        pg.PaillierPublicKey,
        pg.PaillierPrivateKey,
        pg.EncryptedArray,
        pg.LinearModel,
        pg.RecordCodec,
        pg.Query,
        pg.StoredRecords,
        pg.OwnerDigest,
        pg.OwnerState,
        pg.Driver,
        pg.PartitionModel,
    ]:
        public = {name for name in dir(cls) if not name.startswith("_")}
        assert public <= stubbed[cls.__name__], (cls.__name__, public - stubbed[cls.__name__])
        for name in public:
            assert getattr(cls, name).__doc__, f"{cls.__name__}.{name} has no docstring"


def test_heavy_calls_release_the_gil(small_ctx):
    """While one thread encrypts, another runs Python: with the GIL held by the call, the
    counter below could not advance until the call returned (apart from one switch interval,
    5 ms, at its very start: far below the bound)."""
    vectors = np.random.default_rng(0).integers(0, 2, (8000, small_ctx.embedding_length), dtype=np.uint8)
    state = {"inside": False, "done": False}

    def encrypt():
        state["inside"] = True
        small_ctx.encrypt_vec_batch(vectors)
        state["done"] = True

    worker = threading.Thread(target=encrypt)
    worker.start()
    counted = 0
    while not state["done"]:
        if state["inside"]:
            counted += 1
    worker.join()
    assert counted > 100_000, f"Python ran only {counted} loop turns during the call"


def test_configure_gpu_is_once_per_process_and_reaches_the_backend():
    """In a fresh interpreter (the options are process-wide): an adapter index past the end is
    a GpuError naming it, and a second call is refused."""
    import subprocess
    import sys

    script = """
import numpy as np, paillier_gpu as pg
pg.configure_gpu(adapter_index=1000)
try:
    pg.configure_gpu(adapter_index=0)
except pg.InvalidInputError as e:
    print("second call refused:", e)
ctx = pg.ExecutionContext.create("pw", embedding_length=8, key_len=256, insecure=True)
public = ctx.public_context()
gpu = pg.PublicContext.from_json(public.to_json(), device="gpu")
try:
    gpu.encrypt_vec_batch(np.zeros((2, 8), dtype=np.uint8))
except pg.GpuError as e:
    print("gpu:", e)
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "second call refused: invalid parameter: the process-wide GPU options are already set" in done.stdout
    assert "adapter index 1000" in done.stdout or "no Vulkan" in done.stdout, done.stdout


def test_mesas_runtime_dir_complaint_never_reaches_the_user(tmp_path):
    """Without XDG_RUNTIME_DIR (cron, containers, CI) Mesa's Vulkan layer prints an `error:` line
    whenever GPUs are listed; the package points the variable at a private folder first. A value
    the user set is left as it is."""
    import os
    import subprocess
    import sys

    script = (
        "import os, paillier_gpu as pg\n"
        "print(os.environ.get('XDG_RUNTIME_DIR', ''))\n"
        "ctx = pg.ExecutionContext.create('p', embedding_length=8, key_len=256, insecure=True)\n"
        "try:\n"
        "    ctx.device = 'gpu'\n"
        "    ctx.encrypt_vec_batch(np.zeros((1, 8), dtype=np.uint8))\n"
        "except pg.errors.GpuError:\n"
        "    pass  # no adapter at all: nothing was listed that could complain\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "XDG_RUNTIME_DIR"}
    done = subprocess.run([sys.executable, "-c", "import numpy as np\n" + script],
                          env=env, capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "XDG_RUNTIME_DIR" not in done.stderr and "error:" not in done.stderr, done.stderr
    folder = done.stdout.splitlines()[0]
    assert folder and os.stat(folder).st_mode & 0o777 == 0o700

    mine = tmp_path / "mine"
    env["XDG_RUNTIME_DIR"] = str(mine)
    done = subprocess.run([sys.executable, "-c", "import os, paillier_gpu\n"
                           "print(os.environ['XDG_RUNTIME_DIR'])"],
                          env=env, capture_output=True, text=True)
    assert done.stdout.strip() == str(mine), done.stderr
