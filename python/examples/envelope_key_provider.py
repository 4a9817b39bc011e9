"""A key provider written in Python: KMS-style envelope encryption.

A key management service keeps a master key that never leaves it. Each context gets a fresh
random data key; the context file stores only that data key wrapped (encrypted) under the
master key. Loading asks the service to unwrap it. Here the service is simulated in-process
with AES-256-GCM (the `cryptography` package); a real one would call AWS KMS, GCP KMS, Vault...

    python python/examples/envelope_key_provider.py
"""

import os
import sys
import tempfile

import numpy as np
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

import paillier_gpu as pg


class SimulatedKms:
    """Stand-in for a remote KMS: wraps and unwraps data keys under a master key it keeps."""

    def __init__(self):
        self._master = AESGCM(AESGCM.generate_key(bit_length=256))

    def wrap(self, key: bytes) -> bytes:
        nonce = os.urandom(12)
        return nonce + self._master.encrypt(nonce, key, b"paillier-gpu data key")

    def unwrap(self, wrapped: bytes) -> bytes:
        return self._master.decrypt(wrapped[:12], wrapped[12:], b"paillier-gpu data key")


class EnvelopeKeyProvider:
    """The provider protocol paillier_gpu calls: provider_id, data_key(), wrapped_key() and
    reconstruct(wrapped)."""

    provider_id = "envelope_kms"

    def __init__(self, kms: SimulatedKms, wrapped: bytes = None):
        self._kms = kms
        if wrapped is None:  # a new context: a fresh data key, wrapped at once
            self._key = os.urandom(32)
            self._wrapped = kms.wrap(self._key)
        else:  # a stored context: unwrapped when the key is first asked for
            self._key = None
            self._wrapped = wrapped

    def data_key(self) -> bytes:
        if self._key is None:
            self._key = self._kms.unwrap(self._wrapped)
        return self._key

    def wrapped_key(self) -> bytes:
        return self._wrapped

    def reconstruct(self, wrapped: bytes) -> "EnvelopeKeyProvider":
        return EnvelopeKeyProvider(self._kms, wrapped)


def main() -> int:
    kms = SimulatedKms()
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "ctx.json")
        # Small INSECURE keys keep the example fast; drop key_len/insecure for real use.
        ctx = pg.ExecutionContext.create(
            key_provider=EnvelopeKeyProvider(kms), embedding_length=16, key_len=256,
            insecure=True, path=path,
        )
        again = pg.ExecutionContext.load_from_disk(path=path, key_provider=EnvelopeKeyProvider(kms))
        assert again.hash() == ctx.hash()
        vectors = np.eye(16, dtype=np.uint8)[:4]
        index = pg.EncryptedIndex(again.public_context())
        index.insert(ctx.encrypt_vec_batch(vectors))
        distances = again.decode_hamming_client_batch(index.aggregate(ctx.encrypt_vec_one(vectors[2])))
        print(f"context {ctx.hash()[:16]}… reloaded through the KMS; distances {distances.tolist()}")
        # Another KMS (another master key) cannot open the file.
        try:
            pg.ExecutionContext.load_from_disk(path=path, key_provider=EnvelopeKeyProvider(SimulatedKms()))
        except pg.KeyProviderError as e:
            print(f"a foreign KMS is refused: {type(e).__name__}")
        else:
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
