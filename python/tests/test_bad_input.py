"""Bad input raises the package's exceptions (ValueError and friends) with the library's
message; nothing panics into Python."""

import numpy as np
import pytest

import paillier_gpu as pg
from paillier_gpu import errors


def test_vectors_are_checked(small_ctx):
    dims = small_ctx.embedding_length
    with pytest.raises(errors.InvalidVectorError, match="dimension 3: 2 is not 0 or 1"):
        small_ctx.encrypt_vec_batch(np.array([[0, 0, 0, 2] + [0] * (dims - 4)], dtype=np.uint8))
    # A wide integer is checked before narrowing: 257 is not read as 1.
    with pytest.raises(errors.InvalidVectorError, match="vector 1, dimension 0: 257"):
        small_ctx.encrypt_vec_batch(np.array([[0] * dims, [257] + [0] * (dims - 1)]))
    with pytest.raises(errors.InvalidVectorError, match="-1"):
        small_ctx.encrypt_vec_one([-1] + [0] * (dims - 1))
    with pytest.raises(errors.InvalidVectorError, match=f"expected {dims} dimensions, found 3"):
        small_ctx.encrypt_vec_batch([[0, 1, 1]])
    with pytest.raises(errors.InvalidInputError, match="not float64"):
        small_ctx.encrypt_vec_batch(np.zeros((2, dims)))
    with pytest.raises(ValueError, match="2-D"):
        small_ctx.encrypt_vec_batch([0] * dims)
    with pytest.raises(ValueError):
        small_ctx.encrypt_vec_batch([[0] * dims, [0] * (dims - 1)])  # ragged
    assert len(small_ctx.encrypt_vec_batch([])) == 0


def test_ciphertexts_are_checked(small_ctx, lookup_ctx):
    enc = small_ctx.encrypt_vec_batch([[0] * small_ctx.embedding_length])
    rows = enc.to_b64()
    width = len(__import__("base64").b64decode(rows[0][0]))
    zero = __import__("base64").b64encode(bytes(width)).decode()
    with pytest.raises(errors.InvalidCiphertextError, match="zero"):
        pg.Ciphertexts.from_b64(small_ctx, [[zero]])
    too_big = __import__("base64").b64encode(b"\xff" * width).decode()
    with pytest.raises(errors.InvalidCiphertextError):
        pg.Ciphertexts.from_b64(small_ctx, [[too_big]])
    with pytest.raises(errors.InvalidCiphertextError, match="2 chunks where 1"):
        pg.Ciphertexts.from_b64(small_ctx, [[rows[0][0], rows[0][0]]])
    with pytest.raises(errors.MalformedFileError):
        pg.Ciphertexts.from_b64(small_ctx, [["not base64!"]])
    with pytest.raises(errors.MalformedFileError, match="magic"):
        pg.Ciphertexts.from_bytes(small_ctx, b"x" * 80)
    # A file made under another key is refused by its fingerprint.
    with pytest.raises(errors.KeyMismatchError):
        pg.Ciphertexts.from_bytes(lookup_ctx, enc.to_bytes())
    with pytest.raises(IndexError):
        enc[5]
    with pytest.raises(errors.InvalidInputError, match="ExecutionContext or a PublicContext"):
        pg.Ciphertexts.from_b64("not a context", rows)


def test_indexes_refuse_foreign_keys_and_bad_selections(small_ctx, lookup_ctx):
    index = pg.EncryptedIndex(small_ctx.public_context())
    index.insert(small_ctx.encrypt_vec_batch([[0] * small_ctx.embedding_length] * 3))
    foreign = lookup_ctx.encrypt_vec_batch([[0] * lookup_ctx.embedding_length])
    with pytest.raises(errors.KeyMismatchError):
        index.insert(foreign)
    q = small_ctx.encrypt_vec_one([0] * small_ctx.embedding_length)
    with pytest.raises(errors.InvalidSelectionError, match="outside"):
        index.aggregate(q, [0, 3])
    with pytest.raises(errors.InvalidSelectionError):
        index.aggregate(q, range(1, 9))
    with pytest.raises(errors.InvalidInputError, match="negative"):
        index.aggregate(q, [-1])
    with pytest.raises(errors.InvalidCiphertextError, match="not 1"):
        index.aggregate(small_ctx.encrypt_vec_batch([[0] * small_ctx.embedding_length] * 2))
    with pytest.raises(errors.InvalidInputError, match="device"):
        pg.EncryptedIndex(small_ctx.public_context(), device="tpu")


def test_decoding_refuses_a_shifted_response(small_ctx):
    dims = small_ctx.embedding_length
    index = pg.EncryptedIndex(small_ctx.public_context())
    index.insert(small_ctx.encrypt_vec_batch([[1] * dims]))
    q = small_ctx.encrypt_vec_one([1] * dims)
    # A slot holding 2 + 1 = 3: no honest aggregate of two vectors has one.
    response = index.aggregate(q)
    shifted = pg.EncryptedIndex(small_ctx.public_context())
    shifted.insert(response)
    with pytest.raises(errors.InvalidResponseError):
        small_ctx.decode_hamming_client_batch(shifted.aggregate(q))


def test_contexts_and_passphrases(small_ctx, tmp_path):
    path = tmp_path / "ctx.json"
    small_ctx.save_to_disk(str(path))
    with pytest.raises(errors.AuthenticationError):
        pg.ExecutionContext.load_from_disk("wrong", str(path))
    with pytest.raises(errors.FileError):
        pg.ExecutionContext.load_from_disk("pw", str(tmp_path / "missing.json"))
    with pytest.raises(errors.FileError):
        pg.PublicContext.load(str(tmp_path / "missing.json"))
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(errors.MalformedFileError):
        pg.PublicContext.load(str(tmp_path / "bad.json"))
    with pytest.raises(errors.InsecureParametersError):
        pg.ExecutionContext.create("pw", embedding_length=8, key_len=256)
    with pytest.raises(errors.InvalidInputError, match="homomorphic_client_type"):
        pg.ExecutionContext.create("pw", homomorphic_client_type="rsa")
    with pytest.raises(errors.InvalidInputError, match="passphrase or a key_provider"):
        pg.ExecutionContext.create(embedding_length=8, key_len=256, insecure=True)
    with pytest.raises(errors.InvalidInputError, match="device"):
        small_ctx.device = "tpu"
    with pytest.raises(errors.AuthenticationError):
        small_ctx.decrypt_content(small_ctx.encrypt_content("x")[:-4] + "AAAA")


def test_every_error_is_a_paillier_gpu_error():
    for name in errors.__all__:
        assert issubclass(getattr(errors, name), errors.PaillierGpuError)
        assert getattr(pg, name) is getattr(errors, name)
