"""Paillier-encrypted Hamming search over binary vectors, on the CPU or a GPU.

The XTrace SDK's names, on the paillier-gpu engine: contexts and ciphertexts are byte-compatible
with the SDK, so existing files load here and the other way round.

>>> import numpy as np, paillier_gpu as pg
>>> ctx = pg.ExecutionContext.create("passphrase", embedding_length=8, key_len=256, insecure=True)
>>> index = pg.EncryptedIndex(ctx.public_context())
>>> index.insert(ctx.encrypt_vec_batch(np.array([[0, 1, 1, 0, 1, 0, 0, 1], [1, 1, 1, 1, 0, 0, 0, 0]])))
range(0, 2)
>>> responses = index.aggregate(ctx.encrypt_vec_one([0, 1, 1, 0, 1, 0, 0, 0]))
>>> ctx.decode_hamming_client_batch(responses).tolist()
[1, 3]
"""

from . import _runtime_dir, errors
from ._native import (
    MAX_META_BYTES,
    Ciphertexts,
    EncryptedArray,
    EncryptedIndex,
    ExecutionContext,
    LinearModel,
    DigestRebuild,
    Driver,
    OwnerDigest,
    OwnerState,
    PackedArray,
    PaillierPrivateKey,
    PaillierPublicKey,
    PartitionModel,
    PublicContext,
    Query,
    RecordCodec,
    StoredRecords,
    __version__,
    auto_partitions,
    configure_gpu,
    cpu_engine,
    generate_paillier_keypair,
    set_cpu_engine,
)
from .errors import *  # noqa: F401,F403  (the exception classes at the top level too)

_runtime_dir.ensure()  # before any GPU is opened: importing _native opens none

__all__ = [
    "MAX_META_BYTES",
    "Ciphertexts",
    "EncryptedArray",
    "EncryptedIndex",
    "ExecutionContext",
    "LinearModel",
    "DigestRebuild",
    "Driver",
    "OwnerDigest",
    "OwnerState",
    "PackedArray",
    "PaillierPrivateKey",
    "PaillierPublicKey",
    "PartitionModel",
    "PublicContext",
    "Query",
    "RecordCodec",
    "StoredRecords",
    "auto_partitions",
    "configure_gpu",
    "cpu_engine",
    "generate_paillier_keypair",
    "set_cpu_engine",
    "errors",
    "__version__",
    *errors.__all__,
]
