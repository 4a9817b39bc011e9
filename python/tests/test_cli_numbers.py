"""The CLI's encrypted-numbers files and python-paillier: phe decrypts what `numbers encrypt` and
`linear` write, and `numbers decrypt` reads a file built from phe's own ciphertexts."""

import os
import struct
import subprocess

import numpy as np
import phe
import pytest

import paillier_gpu as pg


def run(cli, *args, passphrase="cli-numbers"):
    env = dict(os.environ, PAILLIER_GPU_PASSPHRASE=passphrase, PAILLIER_GPU_DEVICE="cpu")
    done = subprocess.run([str(cli), *map(str, args)], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done


def read_numbers_file(path, phe_public):
    """The file's fields (the layout in docs/formats.md), as phe.EncryptedNumbers."""
    data = path.read_bytes()
    magic, version, kind, per_element, width, ndim, shared, count = struct.unpack_from(
        "<8sHBBIIiQ", data, 0)
    assert (magic, version) == (b"PGPUNUMS", 1)
    offset = 64
    shape = struct.unpack_from(f"<{ndim}Q", data, offset)
    offset += 8 * ndim
    if per_element:
        exponents = struct.unpack_from(f"<{count}i", data, offset)
        offset += 4 * count
    else:
        exponents = [shared] * count
    numbers = []
    for i in range(count):
        c = int.from_bytes(data[offset + i * width: offset + (i + 1) * width], "little")
        numbers.append(phe.EncryptedNumber(phe_public, c, exponents[i]))
    return kind, list(shape), numbers


def write_numbers_file(path, fingerprint, width, shape, numbers, floats=True):
    """A file in the CLI's layout, from phe.EncryptedNumbers (exponents per element)."""
    header = struct.pack("<8sHBBIIiQ", b"PGPUNUMS", 1, 1 if floats else 0, 1, width, len(shape),
                         0, len(numbers)) + bytes.fromhex(fingerprint)
    body = struct.pack(f"<{len(shape)}Q", *shape)
    body += struct.pack(f"<{len(numbers)}i", *[n.exponent for n in numbers])
    body += b"".join(n.ciphertext(be_secure=False).to_bytes(width, "little") for n in numbers)
    path.write_bytes(header + body)


def test_phe_reads_the_clis_files_and_the_cli_reads_phes(cli, tmp_path):
    ctx_path = tmp_path / "ctx.json"
    ctx = pg.ExecutionContext.create("cli-numbers", embedding_length=8, key_len=256,
                                     insecure=True, path=str(ctx_path))
    public, private = ctx.paillier_keys()
    phe_public, phe_private = public.to_phe(), private.to_phe()
    width = public.n_length // 4  # n² in bytes

    x = np.array([[1.5, -2.0, 3.25], [0.1, 4.0, -7e-3]])
    np.save(tmp_path / "x.npy", x)
    run(cli, "numbers", "encrypt", "--context", ctx_path, "--input", tmp_path / "x.npy",
        "--output", tmp_path / "x.enc")
    kind, shape, numbers = read_numbers_file(tmp_path / "x.enc", phe_public)
    assert (kind, shape) == (1, [2, 3])
    assert [phe_private.decrypt(n) for n in numbers] == x.ravel().tolist()

    # The linear layer's outputs decrypt with phe to the exact model (up to float rounding).
    weights = [[0.5, -1.0], [2.0, 0.0], [1.0, 1.0]]
    (tmp_path / "model.json").write_text(
        '{"weights": [[0.5, 2.0, 1.0], [-1.0, 0.0, 1.0]], "biases": [1.0, -0.5]}')
    run(cli, "linear", "--context", ctx_path, "--model", tmp_path / "model.json",
        "--input", tmp_path / "x.enc", "--output", tmp_path / "y.enc")
    kind, shape, outputs = read_numbers_file(tmp_path / "y.enc", phe_public)
    expected = x @ np.array(weights) + np.array([1.0, -0.5])
    assert shape == [2, 2]
    assert np.allclose([phe_private.decrypt(n) for n in outputs], expected.ravel(), atol=1e-12)

    # phe's ciphertexts, in the CLI's layout, decrypt with the CLI (mixed exponents, negatives).
    values = [2.5, -0.125, 1e-3, -7.0]
    encrypted = [phe_public.encrypt(v) for v in values]
    write_numbers_file(tmp_path / "phe.enc", ctx.key_fingerprint, width, [2, 2], encrypted)
    run(cli, "numbers", "decrypt", "--context", ctx_path, "--input", tmp_path / "phe.enc",
        "--output", tmp_path / "phe.npy")
    decrypted = np.load(tmp_path / "phe.npy")
    assert decrypted.dtype == np.float64 and decrypted.shape == (2, 2)
    assert decrypted.ravel().tolist() == values

    # Integers stay integers, through JSON Lines both ways.
    (tmp_path / "i.jsonl").write_text("[1, -2]\n[3, 40000000000]\n")
    run(cli, "numbers", "encrypt", "--context", ctx_path, "--input", tmp_path / "i.jsonl",
        "--output", tmp_path / "i.enc")
    run(cli, "numbers", "decrypt", "--context", ctx_path, "--input", tmp_path / "i.enc",
        "--output", tmp_path / "i.npy")
    ints = np.load(tmp_path / "i.npy")
    assert ints.dtype == np.int64 and ints.tolist() == [[1, -2], [3, 40000000000]]


def test_packed_files_move_between_python_and_the_cli(cli, tmp_path):
    ctx_path = tmp_path / "ctx.json"
    ctx = pg.ExecutionContext.create("cli-numbers", embedding_length=8, key_len=256,
                                     insecure=True, path=str(ctx_path))
    public, private = ctx.paillier_keys()
    x = np.arange(-30, 30).reshape(20, 3) / 8.0
    packed = public.encrypt_packed(x, max_abs=4.0, precision=1 / 16, headroom_bits=16)
    packed.save(tmp_path / "x.pack")
    assert pg.PackedArray.from_bytes(public, packed.to_bytes()).shape == (20, 3)

    (tmp_path / "model.json").write_text('{"weights": [[1.0, -0.5, 2.0]], "biases": [0.25]}')
    run(cli, "linear", "--context", ctx_path, "--model", tmp_path / "model.json",
        "--input", tmp_path / "x.pack", "--output", tmp_path / "y.pack")
    y = pg.PackedArray.load(public, tmp_path / "y.pack")
    assert y.shape == (20, 1)
    weights = np.array([[1.0], [-0.5], [2.0]])
    assert np.array_equal(private.decrypt_packed(y), x @ weights + 0.25)
    run(cli, "numbers", "decrypt", "--context", ctx_path, "--input", tmp_path / "x.pack",
        "--output", tmp_path / "x.npy")
    assert np.array_equal(np.load(tmp_path / "x.npy"), x)

    # Bytes that are not a packed file, or one of another key, are refused.
    data = packed.to_bytes()
    for bad in (data[:50], b"PGPUNUMS" + data[8:], data[:-1]):
        with pytest.raises(ValueError):
            pg.PackedArray.from_bytes(public, bad)
    other, _ = pg.generate_paillier_keypair(n_length=512, insecure=True)
    with pytest.raises(ValueError, match="key"):
        pg.PackedArray.from_bytes(other, data)
