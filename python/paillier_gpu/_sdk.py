"""The XTrace SDK's view of a paillier_gpu context: what the SDK's ``DataLoader``, ``Retriever``
and ``XTraceIntegration`` use of their own ``ExecutionContext``, with the SDK's names and types,
computed by our engine. ``ctx.sdk()`` returns it; our own API stays as it is.

>>> import paillier_gpu as pg
>>> ctx = pg.ExecutionContext.create("pw", embedding_length=8, key_len=256, insecure=True)
>>> sdk = ctx.sdk()
>>> sdk.embed_len(), sdk.id == ctx.hash()
(8, True)
>>> pieces = sdk.homomorphic.encrypt_vec_one([0, 1, 1, 0, 1, 0, 0, 1])
>>> sdk.homomorphic.decode_hamming_client_one(pieces)
4
>>> sdk.aes.decrypt(sdk.aes.encrypt("hello"))
'hello'
"""

import json

_NO_PICKLE = (
    "a paillier_gpu context holds a secret key and is never pickled. The Retriever's "
    "parallel=True sends the decoder to a process pool by pickling it; paillier_gpu already "
    "decodes on every core (and on the GPU with device='gpu'), so pass parallel=False."
)


def _never_pickled(self, *args):
    raise TypeError(_NO_PICKLE)


def _pieces(cipher) -> list:
    """A response's pieces as we read them: bytes and ints as they are, any other integer type
    (the SDK's gmpy2 `mpz`) as an int."""
    return [p if isinstance(p, (bytes, int)) else int(p) for p in cipher]


class SdkHomomorphicClient:
    """The SDK's ``PaillierClient`` / ``PaillierLookupClient`` calls, on our engine: vectors in
    as lists of 0/1, ciphertexts out as lists of Python ints (one per piece), responses in as the
    service sends them (ints or little-endian bytes)."""

    __reduce__ = __reduce_ex__ = _never_pickled

    def __init__(self, context):
        self._context = context

    @property
    def device(self) -> str:
        return self._context.device

    @property
    def embed_len(self) -> int:
        return self._context.embedding_length

    @property
    def key_len(self) -> int:
        return self._context.key_len

    def encrypt_vec_one(self, embd) -> list:
        """One binary vector → its ciphertext pieces, as ints."""
        return self._context.encrypt_vec_one(embd).to_ints()[0]

    def encrypt_vec_batch(self, embds) -> list:
        """Binary vectors → one list of pieces (ints) per vector."""
        return self._context.encrypt_vec_batch(embds).to_ints()

    def decode_hamming_client_one(self, cipher) -> int:
        """One aggregated response → its Hamming distance."""
        return int(self._context.decode_hamming_client_batch([_pieces(cipher)])[0])

    def decode_hamming_client_batch(self, ciphers) -> list:
        """Aggregated responses → their Hamming distances, as a list of ints."""
        ciphers = [_pieces(c) for c in ciphers]
        if not ciphers:
            return []
        return self._context.decode_hamming_client_batch(ciphers).tolist()

    def stringify_pk(self) -> str:
        return self._context.to_dict_enc()["pk"]

    def stringify_config(self) -> str:
        return self._context.to_dict_enc()["config"]


class SdkAesClient:
    """The SDK's ``AESClient``: AES-GCM under the context's data key, the SDK's base64 layout."""

    __reduce__ = __reduce_ex__ = _never_pickled

    def __init__(self, context):
        self._context = context

    def encrypt(self, raw) -> bytes:
        """A str or bytes → the SDK's base64 ciphertext, as bytes."""
        return self._context.encrypt_content(raw).encode("ascii")

    def decrypt(self, enc) -> str:
        """What ``encrypt`` (or the SDK) made, as bytes or str → the text."""
        if isinstance(enc, (bytes, bytearray)):
            enc = bytes(enc).decode("ascii")
        return self._context.decrypt_content(enc).decode("utf-8")


class SdkExecutionContext:
    """What the SDK uses of its ``ExecutionContext``, backed by a paillier_gpu context (both
    schemes; contexts we create and contexts the SDK saved). ``.context`` is ours."""

    __reduce__ = __reduce_ex__ = _never_pickled

    def __init__(self, context):
        self.context = context
        self.homomorphic = SdkHomomorphicClient(context)
        self.aes = SdkAesClient(context)
        self.id = context.hash()

    @property
    def device(self) -> str:
        return self.context.device

    def embed_len(self) -> int:
        return self.context.embedding_length

    def key_len(self) -> int:
        return self.context.key_len

    def hash(self) -> str:
        return self.context.hash()

    def to_dict_enc(self) -> dict:
        return self.context.to_dict_enc()

    def serialize_exec_context(self) -> str:
        return self.context.serialize_exec_context()

    async def save_to_remote(self, integration) -> str:
        """Stores the context on an XTrace service through the SDK's integration."""
        return await self.context.save_to_remote(integration)

    def save_to_disk(self, path: str) -> None:
        self.context.save_to_disk(path)

    def __eq__(self, other) -> bool:
        other_id = getattr(other, "id", None)
        return isinstance(other_id, str) and other_id == self.id

    def __hash__(self) -> int:
        return int(self.id, 16)

    def __str__(self) -> str:
        return json.dumps(self.to_dict_enc(), indent=2)

    def __repr__(self) -> str:
        return f"SdkExecutionContext({self.context!r})"
