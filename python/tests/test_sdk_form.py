"""`sdk_compatible=True` writes the XTrace SDK's context form. The file is opened here the way the
SDK's `load_from_disk` opens it (scrypt N=2^14, r=8, p=1 over the stored salt, then AES-GCM with a
16-byte nonce and no associated data), written independently of the package."""

import base64
import hashlib
import json

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

import paillier_gpu as pg

PASSPHRASE = "sdk-form-passphrase"


def open_like_the_sdk(path, passphrase=PASSPHRASE):
    """The secret key's JSON, read as the SDK reads it; raises if the SDK could not."""
    with open(path) as f:
        file = json.load(f)
    salt = base64.b64decode(file["wrapped_key"])
    key = hashlib.scrypt(passphrase.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32)
    raw = base64.b64decode(file["sk"])
    nonce, tag, ciphertext = raw[:16], raw[16:32], raw[32:]
    return json.loads(AESGCM(key).decrypt(nonce, ciphertext + tag, None)), file


def new_context(tmp_path, name, **kwargs):
    return pg.ExecutionContext.create(
        PASSPHRASE, embedding_length=16, key_len=256, insecure=True,
        path=str(tmp_path / name), **kwargs,
    )


def test_create_with_sdk_compatible_writes_what_the_sdk_opens(tmp_path):
    ctx = new_context(tmp_path, "sdk.json", sdk_compatible=True)
    assert ctx.sdk_compatible
    sk, file = open_like_the_sdk(tmp_path / "sdk.json")
    assert "format" not in file and file["key_provider"] == "passphrase"
    assert json.loads(ctx.to_dict_plain()["sk"]) == sk
    again = pg.ExecutionContext.load_from_disk(PASSPHRASE, str(tmp_path / "sdk.json"))
    assert again.hash() == ctx.hash() and again.sdk_compatible


def test_our_form_is_the_default_and_the_sdk_cannot_open_it(tmp_path):
    ctx = new_context(tmp_path, "ours.json")
    assert not ctx.sdk_compatible
    with open(tmp_path / "ours.json") as f:
        assert json.load(f)["format"] == "paillier-gpu/2"
    with pytest.raises(Exception):
        open_like_the_sdk(tmp_path / "ours.json")


def test_save_to_disk_writes_either_form_and_keeps_the_choice(tmp_path):
    ctx = new_context(tmp_path, "ours.json")
    ctx.save_to_disk(str(tmp_path / "sdk.json"), sdk_compatible=True)
    assert ctx.sdk_compatible
    sk, _ = open_like_the_sdk(tmp_path / "sdk.json")
    assert json.loads(ctx.to_dict_plain()["sk"]) == sk
    # Without the flag the context's form (now the SDK's) is kept.
    ctx.save_to_disk(str(tmp_path / "sdk2.json"))
    open_like_the_sdk(tmp_path / "sdk2.json")
    # Content encrypted in the new form decrypts after loading that file.
    token = ctx.encrypt_content(b"a document")
    loaded = pg.ExecutionContext.load_from_disk(PASSPHRASE, str(tmp_path / "sdk.json"))
    assert loaded.decrypt_content(token) == b"a document"
    assert loaded.hash() == ctx.hash()
    ctx.save_to_disk(str(tmp_path / "back.json"), sdk_compatible=False)
    with open(tmp_path / "back.json") as f:
        assert json.load(f)["format"] == "paillier-gpu/2"
    assert pg.ExecutionContext.load_from_disk(PASSPHRASE, str(tmp_path / "back.json")).hash() == ctx.hash()
