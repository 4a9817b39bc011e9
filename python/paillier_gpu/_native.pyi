"""Type stubs of the Rust extension (what an editor completes and documents)."""

from os import PathLike
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np

import paillier_gpu._sdk
import numpy.typing as npt

__version__: str

_Path = Union[str, PathLike]
_Vectors = Union[npt.ArrayLike, Sequence[Sequence[int]]]
_Context = Union["ExecutionContext", "PublicContext"]
_Selection = Union[None, range, slice, Sequence[int], Sequence[bool], npt.NDArray[np.bool_]]

def configure_gpu(
    adapter_name: Optional[str] = None,
    adapter_index: Optional[int] = None,
    spot_checks: Optional[int] = None,
    min_batch: Optional[int] = None,
) -> None:
    """Sets this process's GPU options once, before the first GPU is opened (adapter_index
    tells identical GPUs apart)."""

def set_cpu_engine(name: str) -> None:
    """Chooses the CPU engine from now on, process-wide: "auto" (the fastest this CPU runs),
    "ifma", "avx512f", "avx2" or "portable"; keys and contexts made before keep theirs. Raises
    InvalidInputError for an unknown name or an engine this CPU lacks."""

def cpu_engine() -> str:
    """The CPU engine new keys and contexts get now: "ifma", "avx512f", "avx2" or "portable"."""

class KeyProviderProtocol:
    """What a key provider written in Python provides (no need to inherit from this)."""

    provider_id: str
    def data_key(self) -> bytes:
        """The 32-byte AES data key."""
    def wrapped_key(self) -> bytes:
        """Bytes stored beside the context that let `reconstruct` recover the key."""
    def reconstruct(self, wrapped: bytes) -> "KeyProviderProtocol":
        """A provider for the key `wrapped` protects."""

class Ciphertexts:
    """Encrypted vectors under one public key: one record (one or more ciphertexts) per vector,
    each checked once when the object was made (0 < c < n²)."""

    def __len__(self) -> int: ...
    def __getitem__(self, key: Union[int, slice]) -> "Ciphertexts":
        """One vector, or a slice of them, as `Ciphertexts`."""
    def __eq__(self, other: object) -> bool: ...
    @property
    def key_fingerprint(self) -> str:
        """The public key's fingerprint (64 hex digits)."""
    @property
    def chunks_per_vector(self) -> int:
        """Ciphertexts per vector."""
    def to_b64(self) -> List[List[str]]:
        """The SDK's form: per vector, a list of base64 little-endian chunks."""
    def to_ints(self) -> List[List[int]]:
        """The SDK's in-memory form: per vector, a list of ints (one per chunk)."""
    @staticmethod
    def from_b64(context: _Context, rows: Union[Sequence[Sequence[str]], Sequence[str]]) -> "Ciphertexts":
        """Reads the SDK's form (a flat list of strings is one vector)."""
    def to_bytes(self) -> bytes:
        """The binary file form, with the key's fingerprint in its header."""
    @staticmethod
    def from_bytes(context: _Context, data: bytes) -> "Ciphertexts":
        """Reads the binary form; a file of another key is refused (KeyMismatchError)."""
    def save(self, path: _Path, overwrite: bool = False) -> None:
        """Writes `.jsonl` (base64 JSON Lines) or, for any other name, the binary form; atomic."""
    @staticmethod
    def load(context: _Context, path: _Path) -> "Ciphertexts":
        """Reads a file written by `save` or by the CLI."""
    @staticmethod
    def concat(parts: Sequence["Ciphertexts"]) -> "Ciphertexts":
        """Every part's vectors in order (all under one key)."""

class ExecutionContext:
    """The data owner's context: the key pair, the data key's provider, the vector layout and
    the compute device. Byte-compatible with the XTrace SDK's contexts."""

    @staticmethod
    def create(
        passphrase: Optional[str] = None,
        homomorphic_client_type: str = "paillier",
        embedding_length: int = 512,
        key_len: int = 1024,
        salt: Optional[bytes] = None,
        path: Optional[_Path] = None,
        key_provider: Optional[KeyProviderProtocol] = None,
        device: str = "cpu",
        alpha_len: Optional[int] = None,
        insecure: bool = False,
        overwrite: bool = False,
        sdk_compatible: bool = False,
    ) -> "ExecutionContext":
        """Generates keys (key_len bits per prime); saves to `path` when given, refusing an
        existing file unless `overwrite`. `insecure` allows key_len < 1024 and alpha_len < 512
        (tests only). `sdk_compatible` writes the XTrace SDK's form (the SDK opens it) instead
        of our authenticated one."""
    @staticmethod
    def load_from_disk(
        passphrase: Optional[str] = None,
        path: _Path = "",
        key_provider: Optional[KeyProviderProtocol] = None,
        device: str = "cpu",
    ) -> "ExecutionContext":
        """Loads a context file (the SDK's or ours); a weak one raises a UserWarning."""
    def save_to_disk(
        self, path: _Path, overwrite: bool = False, sdk_compatible: Optional[bool] = None
    ) -> None:
        """Writes the context file atomically, owner-only; an existing file is refused unless
        `overwrite`. The context's own form unless `sdk_compatible` is given (True: the SDK's
        form; False: ours); a change of form is kept and changes the content key too."""
    @property
    def sdk_compatible(self) -> bool:
        """True when the context writes the XTrace SDK's form."""
    def hash(self) -> str:
        """The context id (the SDK's hash of the keys; the same on every device)."""
    def to_dict_enc(self) -> dict:
        """The SDK's encrypted dict."""
    def is_stored_as(self, data: Union[str, dict]) -> bool:
        """Whether `data`, as a service stored it under this context's id, is this context
        (it opens under this context's key provider as that id, with the same public key)."""
    @staticmethod
    def from_json(
        data: Union[str, dict],
        passphrase: Optional[str] = None,
        key_provider: Optional[KeyProviderProtocol] = None,
        device: str = "cpu",
        context_id: Optional[str] = None,
    ) -> "ExecutionContext":
        """A context from its file's JSON text or the SDK's dict; with `context_id`, only if it
        is the context stored under that id (else ContextAlteredError)."""
    def save_to_remote(self, integration: Any) -> Any:
        """`await ctx.save_to_remote(xtrace_integration)`: stores the SDK's encrypted dict on an
        XTrace service (or `paillier-gpu serve`) and gives the context id."""
    @staticmethod
    def load_from_remote(
        passphrase: Optional[str] = None,
        context_id: str = "",
        integration: Any = None,
        key_provider: Optional[KeyProviderProtocol] = None,
        device: str = "cpu",
    ) -> Any:
        """`await ExecutionContext.load_from_remote(passphrase, context_id, integration)`: the
        stored context, only if it is the one stored under `context_id` (its public key matches
        its secret key and it opens as that id); else ContextAlteredError."""
    def to_dict_plain(self) -> dict:
        """The SDK's plaintext dict: the secret key in clear. Never store or send it."""
    def serialize_exec_context(self) -> str:
        """The context file's JSON text."""
    def dump_tables(self) -> dict:
        """The lookup scheme's tables in the SDK's form (`{}` for paillier)."""
    device: str
    """"cpu", "gpu" or "auto"; setting it never changes `hash()`."""
    @property
    def embedding_length(self) -> int: ...
    @property
    def key_len(self) -> int: ...
    @property
    def homomorphic_client_type(self) -> str: ...
    @property
    def key_fingerprint(self) -> str: ...
    def project(self, embeddings: Any) -> npt.NDArray[np.uint8]:
        """Float embeddings (rows × dimensions) as the context's bit vectors (rows ×
        embedding_length, uint8), by random hyperplanes keyed by the context's data key."""
    def public_context(self) -> "PublicContext":
        """The public part, for a search backend or an encryption worker."""
    def paillier_keys(self) -> Tuple["PaillierPublicKey", "PaillierPrivateKey"]:
        """This (classic) context's key pair as number keys, on its device."""
    def sdk(self) -> "paillier_gpu._sdk.SdkExecutionContext":
        """The XTrace SDK's view of this context, for its DataLoader and Retriever."""
    def encrypt_vec_one(self, vector: npt.ArrayLike) -> Ciphertexts:
        """Encrypts one binary vector."""
    def encrypt_vec_batch(self, vectors: _Vectors) -> Ciphertexts:
        """Encrypts binary vectors (2-D uint8, int8, bool or int64, or nested lists of 0/1)."""
    def decode_hamming_client_batch(
        self, ciphertexts: Union[Ciphertexts, Sequence[Sequence[Union[str, bytes, int]]]]
    ) -> npt.NDArray[np.uint32]:
        """Hamming distances of aggregated responses; a dishonest response raises
        InvalidResponseError."""
    @staticmethod
    def top_k(distances: Sequence[int], k: int) -> Tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint32]]:
        """(ids, distances) of the k nearest, nearest first."""
    def encrypt_content(self, content: Union[bytes, str]) -> str:
        """AES-GCM with the context's data key, in the SDK's base64 form."""
    def decrypt_content(self, encoded: str) -> bytes:
        """Decrypts `encrypt_content`'s output; a tampered text raises AuthenticationError."""

class PublicContext:
    """The public part of a context: encrypts and builds indexes, decrypts nothing."""

    @staticmethod
    def load(path: _Path, device: str = "cpu", insecure: bool = False) -> "PublicContext":
        """Reads the public part of a context file (no passphrase). A weak context raises a
        UserWarning; public-key encryption under a lookup alpha_len below 512 needs
        `insecure`."""
    @staticmethod
    def from_json(json: str, device: str = "cpu", insecure: bool = False) -> "PublicContext":
        """Reads the public part from a context's JSON text (as `load`)."""
    def check_ciphertext_file(self, path: _Path) -> int:
        """Checks that a binary ciphertext file is whole and made under this key (header and
        length only); returns its record count."""
    def to_json(self) -> str:
        """The public fields only (pk, type, config): safe to send to workers."""
    @property
    def device(self) -> str: ...
    @property
    def embedding_length(self) -> int: ...
    @property
    def key_len(self) -> int: ...
    @property
    def homomorphic_client_type(self) -> str: ...
    @property
    def key_fingerprint(self) -> str: ...
    def encrypt_vec_batch(self, vectors: _Vectors) -> Ciphertexts:
        """Encrypts with the public key only."""
    def encrypt_file(
        self,
        input: _Path,
        output: _Path,
        resume: bool = False,
        batch: Optional[int] = None,
        overwrite: bool = False,
    ) -> int:
        """Encrypts a vector file into a ciphertext file, as `paillier-gpu encrypt` does
        (streamed, atomic, resumable, one run per output); returns the vectors encrypted. An
        existing output that is not a ciphertext file needs `overwrite`."""

class EncryptedIndex:
    """A search backend's encrypted database: aggregates queries, decrypts nothing."""

    def __init__(self, public_context: PublicContext, device: str = "cpu") -> None: ...
    def __len__(self) -> int: ...
    @property
    def device(self) -> str: ...
    def insert(self, ciphertexts: Ciphertexts) -> range:
        """Appends vectors; returns their ids."""
    def aggregate(self, query: Ciphertexts, ids: _Selection = None) -> Ciphertexts:
        """One response per selected record (all by default, or a range, slice, list of ids or
        boolean mask), in selection order. Safe to call from several threads."""
    def aggregate_many(self, queries: Ciphertexts, ids: _Selection = None) -> List[Ciphertexts]:
        """Several queries (one vector each) in one call: one `Ciphertexts` of responses per
        query, each as `aggregate` gives it."""


_Numbers = Union[npt.ArrayLike, float, int]

def generate_paillier_keypair(
    n_length: int = 2048, device: str = "cpu", insecure: bool = False
) -> Tuple["PaillierPublicKey", "PaillierPrivateKey"]:
    """A key pair as python-paillier makes one (n of n_length bits); below 2048 needs
    insecure=True."""

class PaillierPublicKey:
    """python-paillier's public key: encrypts arrays of integers and floats."""

    n: int
    n_length: int
    max_int: int
    fingerprint: str
    device: str
    def encrypt_array(self, values: _Numbers, precision: Optional[float] = None) -> "EncryptedArray":
        """Encrypts numbers with phe's encoding (precision: one exponent for all)."""
    def encrypt_packed(
        self,
        values: _Numbers,
        max_abs: float,
        precision: Optional[float] = None,
        headroom_bits: int = 48,
    ) -> "PackedArray":
        """Encrypts samples × features, many samples per ciphertext (|value| ≤ max_abs)."""
    def with_device(self, device: str) -> "PaillierPublicKey":
        """The same key on another device ("cpu", "gpu", "auto")."""
    @staticmethod
    def from_phe(public_key: Any, device: str = "cpu") -> "PaillierPublicKey":
        """A key from a phe.paillier.PaillierPublicKey."""
    def to_phe(self) -> Any:
        """This key as a phe.paillier.PaillierPublicKey."""

class PaillierPrivateKey:
    """python-paillier's private key: decrypts arrays (int64 for integers, float64 otherwise)."""

    public_key: PaillierPublicKey
    def decrypt_array(self, array: "EncryptedArray") -> npt.NDArray[Any]:
        """Decrypts; a result beyond ±max_int raises InvalidNumberError."""
    def decrypt_packed(self, array: "PackedArray") -> npt.NDArray[Any]:
        """Decrypts packed samples to samples × features."""
    @staticmethod
    def from_phe(private_key: Any, device: str = "cpu") -> "PaillierPrivateKey":
        """A key from a phe.paillier.PaillierPrivateKey."""
    def to_phe(self) -> Any:
        """This key as a phe.paillier.PaillierPrivateKey."""

class EncryptedArray:
    """Encrypted numbers of a shape: +, - (encrypted or plain), * and / by plain numbers,
    @ with a plain matrix or vector, sum(), negation and numpy indexing."""

    shape: Tuple[int, ...]
    size: int
    ndim: int
    is_integer: bool
    exponents: npt.NDArray[np.int64]
    fingerprint: str
    def __len__(self) -> int: ...
    def __add__(self, other: Union["EncryptedArray", _Numbers]) -> "EncryptedArray": ...
    def __radd__(self, other: _Numbers) -> "EncryptedArray": ...
    def __sub__(self, other: Union["EncryptedArray", _Numbers]) -> "EncryptedArray": ...
    def __rsub__(self, other: _Numbers) -> "EncryptedArray": ...
    def __neg__(self) -> "EncryptedArray": ...
    def __mul__(self, other: _Numbers) -> "EncryptedArray": ...
    def __rmul__(self, other: _Numbers) -> "EncryptedArray": ...
    def __truediv__(self, other: _Numbers) -> "EncryptedArray": ...
    def __matmul__(self, other: npt.ArrayLike) -> "EncryptedArray": ...
    def __getitem__(self, key: Any) -> "EncryptedArray": ...
    def sum(self) -> "EncryptedArray":
        """The sum of every element (0-d)."""
    def to_phe(self) -> List[Any]:
        """The elements, row-major, as phe.paillier.EncryptedNumber."""
    @staticmethod
    def from_phe(
        numbers: Iterable[Any], public_key: PaillierPublicKey, shape: Optional[Sequence[int]] = None
    ) -> "EncryptedArray":
        """An array from phe.paillier.EncryptedNumber under public_key's n."""

class LinearModel:
    """y = W·x + b over encrypted features. `weights` has one row per output and one weight per
    input feature (the inference service, scikit-learn's coef_, PyTorch's Linear.weight);
    weight_rows="per_input" reads numpy's x @ W."""

    inputs: int
    outputs: int
    def __init__(
        self,
        weights: npt.ArrayLike,
        biases: Optional[npt.ArrayLike] = None,
        precision: Optional[float] = None,
        weight_rows: str = "per_output",
    ) -> None: ...
    @staticmethod
    def from_sklearn(estimator: Any, precision: Optional[float] = None) -> "LinearModel":
        """A fitted scikit-learn linear model or classifier: its coef_ and intercept_."""
    @staticmethod
    def from_json(json: str, precision: Optional[float] = None, weight_rows: str = "per_output") -> "LinearModel":
        """A model from the inference service's {"weights": [[...]], "biases": [...]}."""
    @staticmethod
    def load(path: _Path, precision: Optional[float] = None, weight_rows: str = "per_output") -> "LinearModel":
        """from_json of a file, read as a stream."""
    def infer(self, encrypted: EncryptedArray) -> EncryptedArray:
        """Runs the model on encrypted samples, on their key's device."""
    def infer_packed(self, packed: "PackedArray") -> "PackedArray":
        """Runs the model on packed samples; refuses outputs that could leave their slot."""

class PackedArray:
    """Samples × features, many samples per ciphertext, exact at one precision."""

    shape: Tuple[int, int]
    slots: int
    slot_bits: int
    exponent: int
    ciphertext_count: int
    fingerprint: str
    def to_bytes(self) -> bytes:
        """The packed-numbers file's bytes (what `numbers encrypt --packed` writes)."""
    @staticmethod
    def from_bytes(public_key: PaillierPublicKey, data: bytes) -> PackedArray:
        """Reads packed-numbers bytes made under `public_key`."""
    def save(self, path: _Path, overwrite: bool = False) -> None:
        """Writes a packed-numbers file atomically (the CLI reads it)."""
    @staticmethod
    def load(public_key: PaillierPublicKey, path: _Path) -> PackedArray:
        """Reads a packed-numbers file (from `save` or the CLI) made under `public_key`."""
    def __len__(self) -> int: ...

_Counted = Tuple[int, str, Optional[str]]

class Query:
    """A query encrypted by `RecordCodec.encrypt_query`; its vector and nonce stay inside."""

    @property
    def pieces(self) -> List[str]:
        """The encrypted query as compute_hamming's `query` field (base64, one a piece)."""
    def __len__(self) -> int: ...

class StoredRecords:
    """Stored verifiable records read back by `RecordCodec.stored`, each checked; their bits
    stay inside, for `RecordCodec.encrypt_again` and `PartitionModel`."""

    @property
    def nonces(self) -> List[str]:
        """Each record's nonce, in order, as 32 hexadecimal digits."""
    @staticmethod
    def join(parts: Sequence[StoredRecords]) -> StoredRecords:
        """`parts` (read a page at a time) as one, in order."""
    def select(self, positions: Sequence[int]) -> StoredRecords:
        """Records at `positions` (in the order given) as a StoredRecords of their own."""
    def __len__(self) -> int: ...

#: The metadata field holding a verifiable record's partition (sealed in its document, sent as
#: a token): "partition".
PARTITION_FIELD: str

_Bits = Union[_Vectors, StoredRecords]

class PartitionModel:
    """Binary vectors split into partitions around centroids (FAISS's IndexBinaryIVF), so that
    a query searches only the partitions nearest to it, with the owner's recall estimate per
    probe. A knowledge base's own is its digest's (`OwnerDigest.partition_model`)."""

    @staticmethod
    def train(
        vectors: _Bits,
        partitions: int,
        *,
        balance: Optional[float] = None,
        recall_target: Optional[float] = None,
        top_k: Optional[int] = None,
        max_train_sample: Optional[int] = None,
        held_out: Optional[int] = None,
        iterations: Optional[int] = None,
        seed: int = 0,
    ) -> Tuple[PartitionModel, List[int]]:
        """Trains `partitions` partitions over `vectors` (k-means as FAISS trains it, no partition
        above ceil(balance · records / partitions)): the model and each vector's partition. An
        option left out is the library's default (balance 1.5, recall target 0.9, top 10, 256
        training vectors a partition, 10,000 held-out queries at most, 10 iterations)."""
    def assign(self, vector: npt.ArrayLike) -> int:
        """The partition whose centroid is nearest to `vector` (ties: the lowest index)."""
    def assign_many(self, vectors: _Bits) -> List[int]:
        """`assign` of each vector, in order."""
    def assign_balanced(self, vectors: _Bits) -> List[int]:
        """Each vector's partition, none holding more than `capacity(len(vectors))`."""
    def nearest(self, query: npt.ArrayLike, probe: int) -> List[int]:
        """The `probe` partitions nearest to `query`, nearest first (probe 0 raises)."""
    @property
    def partitions(self) -> int:
        """How many partitions."""
    @property
    def dim(self) -> int:
        """The vectors' dimensions."""
    @property
    def default_probe(self) -> int:
        """The smallest probe whose estimated recall reached the training's target."""
    @property
    def balance(self) -> float:
        """The balance factor it was trained with."""
    @property
    def recall_target(self) -> float:
        """The recall target the default probe was chosen for."""
    @property
    def top_k(self) -> int:
        """The k of the recall@k estimate."""
    @property
    def recall(self) -> List[dict]:
        """The recall table by ascending probe: [{"probe", "recall", "share"}]."""
    def capacity(self, records: int) -> int:
        """The most records a partition holds when `assign_balanced` places `records`."""
    def probe_for(self, target: float) -> int:
        """The smallest probe in the table whose recall reaches `target`."""
    def centroid(self, index: int) -> List[int]:
        """Partition `index`'s centroid as 0/1 values."""
    def __eq__(self, other: object) -> bool: ...

MAX_META_BYTES: int
WRITE_ATTEMPTS: int
"""How many times a write of records is planned again after other writers moved the digest on."""
UPLOAD_BATCH: int
"""Chunks per insert request; a write of verifiable records sends this many at most."""
IDS_PER_REQUEST: int
"""Ids per `GET /v1/chunk` request."""
"""The most links of the owner's digest a client gathers for one read."""
"""The most metadata one record may carry, as the JSON text the service stores: a record past
it is refused before anything is sent."""

def check_search(
    verified: bool, probe: Union[None, str, int], decoys: int, filtered: bool, expect_count: bool
) -> None:
    """Refuses a search's options that do not go together (an expected count with a filter, a
    range, an unverified search or a probe of some partitions; partitions or decoys on an
    unverified search): raises `InvalidInputError`."""

def auto_partitions(records: int) -> int:
    """A partition count for `records` records: round(√records), at least 1."""

def partitions_filter(partitions: Sequence[int]) -> str:
    """The owner's filter (JSON) that selects whole partitions."""

def check_unreserved(meta_data: str) -> None:
    """Raises PrivateMetadataError when `meta_data` (a JSON object) sets "partition"."""

def counted_value(meta_data: Optional[str], field: Optional[str]) -> Optional[str]:
    """The value of the counted field `field` in `meta_data` (JSON; None: none) as the digest
    counts it: the string the service's filter compares (a number or a boolean as its JSON
    text), else None."""

def filter_selects(filter: str, meta_data: Optional[str]) -> bool:
    """Whether `filter` (JSON) selects a record of metadata `meta_data` (a JSON object, the
    owner's own; None: none), by the rule the service's filter follows."""

def placed_meta(meta_data: Optional[str], partition: int) -> str:
    """`meta_data` (a JSON object; None: none) placed in `partition`, as JSON. Raises
    PrivateMetadataError when it names a partition of its own."""

class OwnerDigest:
    """The owner's digest of a knowledge base at one version; its tallies stay inside."""

    @property
    def partition_summary(self) -> Optional[Dict[str, Any]]:
        """What the owner knows of the partitions (None: not partitioned)."""
    def version(self) -> int:
        """Its version on the service (0: none stored)."""
    @property
    def count(self) -> int:
        """How many records it counts."""
    @property
    def layout(self) -> str:
        """The layout of the knowledge base's records: "one-bit", "two-bit" or "sealed-vectors"."""
    @property
    def counted_field(self) -> Optional[str]:
        """The metadata field it also counts per value, if any."""
    def write_counted_field(self, placed: bool) -> Optional[str]:
        """The field a write counts its records by: "partition" when it places them in
        partitions, else `counted_field`."""
    def check_partitions_counted(self) -> None:
        """Raises `InvalidInputError` when it counts another field per value than the partitions."""
    def upload_partitions(
        self, kb: str, partitions: Union[None, str, int] = None
    ) -> Tuple[str, Optional[str], Optional[int]]:
        """What an upload asking for `partitions` does: `("follow", note, None)` or `("train",
        None, count)` (count None: about √records)."""
    def check_placement(
        self, model: Optional[PartitionModel], trained: bool, write: str
    ) -> Optional[Tuple[PartitionModel, Optional[PartitionModel]]]:
        """The partitions a write placed by `model` installs; raises `ConcurrentWriteError` when
        they changed since ("upload" or "update" says how to go on)."""
    @property
    def counted_values(self) -> int:
        """How many values of the counted field hold records."""
    def covers_filter(self, filter: str) -> bool:
        """Whether this digest counts exactly what `filter` (JSON) selects, so that the
        service's selection can be checked complete."""
    @property
    def partition_model(self) -> Optional[PartitionModel]:
        """The model new records are placed by and searches probe (None: not partitioned)."""
    @property
    def next_partition_model(self) -> Optional[PartitionModel]:
        """The model a rebuild under way moves the records to, if any."""
    @property
    def partition_sizes(self) -> List[int]:
        """Each partition's records, as the digest counts them (empty: not partitioned)."""
    def with_partitions(
        self, model: Optional[PartitionModel], next: Optional[PartitionModel] = None
    ) -> OwnerDigest:
        """This digest with its partitions set (counting the partition per value): the base of
        the next digest of the write that installs them."""
    def write(self, expected_version: int, sealed: str) -> str:
        """The write that stores this digest over `expected_version` (JSON: `{expected_version,
        version, sealed, link}`)."""

class DigestRebuild:
    """A rebuild of the owner's digest as `RecordCodec.plan_rebuild` planned it."""

    @property
    def expected_version(self) -> int:
        """The version the service holds, which the write expects."""
    @property
    def version(self) -> int:
        """The version it writes."""
    @property
    def counted_field(self) -> Optional[str]:
        """The field it counts per value ("partition" for a partitioned knowledge base)."""

class OwnerState:
    """The owner's state: the highest digest version seen of each knowledge base and the
    rollbacks found, in `folder` (shared with the CLI and the Rust client) and in memory."""

    def __init__(self, folder: Optional[Union[str, PathLike]] = None) -> None: ...
    @staticmethod
    def default_folder(
        chosen: Optional[str] = None, data_home: Optional[str] = None, home: Optional[str] = None
    ) -> Optional[Path]:
        """The folder used when none is chosen (`$PAILLIER_GPU_STATE_DIR`, `$XDG_DATA_HOME`,
        `$HOME`, read by the caller)."""
    @property
    def folder(self) -> Optional[Path]:
        """The state folder, or None."""
    def path(self, context_id: str, kb_id: str) -> Optional[Path]:
        """Where the digest of `kb_id` under `context_id` is kept, or None."""
    def seen(self, context_id: str, kb_id: str) -> Optional[Tuple[int, str]]:
        """The highest digest seen: `(version, sealed)`, or None."""
    def rollback_noted(self, context_id: str, kb_id: str) -> bool:
        """Whether a rollback or fork was found and not rebuilt since."""

def delete_chunks(kb_id: str, chunk_ids: Sequence[int]) -> Driver:
    """The driver of a delete of chunks by id; it ends with how many the service deleted."""

def push_context(context: ExecutionContext) -> Driver:
    """The driver of the push of a context under its id; it ends with the id."""

class Driver:
    """One operation of the owner's protocol, stepped by `Client._drive`."""

    def step(self, answer: Optional[Union[str, Tuple[int, bytes, bool]]] = None) -> Tuple[Any, ...]:
        """`("send", method, route, tail, query, body, msgpack)` or `("done", outcome)`."""

class RecordCodec:
    """The records of one knowledge base as one owner writes and reads them: verifiable (a nonce
    and a tag in each plaintext, the document sealed to the record), with private metadata
    (tokens), both or neither. A binding of the library's `paillier_gpu::verifiable::RecordCodec`,
    what `paillier_gpu.client.Client` runs; JSON crosses as text, nonces as 32 hex digits, and
    what is secret (a query's vector and nonce, stored records' bits, the digest's tallies)
    stays in `Query`, `StoredRecords` and `OwnerDigest`."""

    def __init__(
        self,
        context: ExecutionContext,
        kb_id: str,
        verifiable: bool = False,
        private_meta: bool = False,
        layout: Optional[str] = None,
    ) -> None:
        """`layout` ("one-bit", "two-bit" or "sealed-vectors"): the records' layout, where no
        digest says it."""
    @property
    def layout(self) -> Optional[str]:
        """The records' layout, once the digest (`open_digest`) or the constructor gave it."""
    def layouts_to_try(self) -> List[str]:
        """The layouts to try where the digest did not open: the one held, or every layout the
        context fits, its preferred first."""
    def chunks(
        self, vectors: _Vectors, documents: Optional[str] = None, partitions: Optional[Sequence[int]] = None
    ) -> Tuple[str, Optional[List[str]]]:
        """The chunks to send for `vectors` and `documents` (JSON), each document placed in its
        partition of `partitions` when given, as a JSON list, and each verifiable record's fresh
        nonce (None otherwise)."""
    def filter(self, filter: str) -> str:
        """A filter (JSON) as the service must get it: tokenised for private metadata."""
    def check_sort(self, sort_by: Optional[str] = None) -> None:
        """Raises PrivateMetadataError for a sort by a private field."""
    def opens_documents(self, with_content: bool) -> bool:
        """Whether a search opens its top records' documents (always for verifiable records)."""
    def encrypt_query(self, vector: npt.ArrayLike) -> Query:
        """`vector` encrypted as this codec's query (with a fresh nonce for verifiable records)."""
    def rank(
        self,
        query: Query,
        responses: Sequence[Sequence[Union[int, str, bytes]]],
        chunk_ids: Sequence[int],
        top_k: int,
        range: Optional[Tuple[int, int]] = None,
        expect_count: Optional[int] = None,
        digest: Optional[OwnerDigest] = None,
        filter: Optional[str] = None,
    ) -> List[Tuple[int, int, Optional[str]]]:
        """The top_k nearest as (chunk_id, distance, nonce), nearest first; verified for
        verifiable records, against `digest` where it covers the owner's `filter` (JSON) and
        `range`."""
    def stored(
        self,
        indexes: Sequence[Sequence[str]],
        chunk_ids: Sequence[int],
        digest: Optional[OwnerDigest] = None,
        filter: Optional[str] = None,
    ) -> StoredRecords:
        """Stored verifiable records, each checked, and against `digest` where it covers
        `filter` (JSON; None: the whole knowledge base)."""
    def encrypt_again(self, stored: StoredRecords) -> List[Tuple[List[str], str]]:
        """`stored`'s records encrypted again under fresh nonces: [(index pieces, nonce)]."""
    def open_digest(
        self,
        version: int,
        sealed: Optional[str] = None,
        seen: Optional[Tuple[int, str]] = None,
        chunks: int = 0,
        links: Optional[str] = None,
    ) -> OwnerDigest:
        """The service's copy of the digest, refused (AnswerRejectedError) when older than
        `seen`, not the one seen at its version, later but not extending it through `links`
        (JSON: the service's links after it), or not opening under the owner's key. It fixes
        the codec's layout: the digest's, or with no digest the context's preferred one (two-bit
        where the service says it holds `chunks`: records from before layouts)."""
    def probe_with_decoys(self, partitions: int, ranked: Sequence[int], wanted: int, group: int) -> List[int]:
        """The partitions a search probes over `partitions` ranked nearest first: the whole
        groups of `group` (under the owner's key) of the nearest until `wanted` distinct groups
        are named, each padded to `group` with partitions past the last."""
    def probed_partitions(
        self,
        digest: Optional[OwnerDigest],
        vector: Any,
        probe: Union[None, str, int] = None,
        filtered: bool = False,
        decoys: int = 0,
    ) -> Optional[List[int]]:
        """The partitions a search of `vector` probes (ascending); None: every record it selects."""
    def next_digest(
        self, current: OwnerDigest, removed: Sequence[_Counted], added: Sequence[_Counted]
    ) -> Tuple[OwnerDigest, str]:
        """The digest one version on, records (chunk_id, nonce, counted value) taken out and put
        in, and its sealed bytes."""
    def check_chunks_counted(self, current: OwnerDigest, chunks: int) -> None:
        """Raises AnswerRejectedError for a knowledge base with chunks and no owner's digest."""
    def plan_rebuild(
        self,
        stored: int,
        sealed: Optional[str] = None,
        seen: Optional[Tuple[int, str]] = None,
        links: Optional[str] = None,
        counted_field: Optional[str] = None,
        rollback_noted: bool = False,
        after_rollback: bool = False,
    ) -> DigestRebuild:
        """A rebuild of the digest over the service's version: raises AnswerRejectedError after a
        rollback or a fork unless `after_rollback`."""
    def read_digest(self, state: OwnerState) -> Driver:
        """The driver of a checked read of the owner's digest; it ends with `(digest,
        next_chunk_id, chunks)`."""
    def find_records(
        self,
        state: OwnerState,
        filter: str,
        page: Optional[Tuple[Optional[str], str, Optional[int]]] = None,
    ) -> Driver:
        """The driver of a find by metadata; it ends with the records as JSON."""
    def delete_by_meta(self, state: OwnerState, filter: str) -> Driver:
        """The driver of a delete of the verifiable records `filter` selects; it ends with how
        many."""
    def patch_by_meta(self, state: OwnerState, filter: str, patch: str) -> Driver:
        """The driver of a patch of the verifiable records `filter` selects; it ends with the
        patched ids."""
    def update_records(
        self, state: OwnerState, chunk_ids: Sequence[int], vectors: Any, documents: Optional[str] = None
    ) -> Driver:
        """The driver of a replacement of verifiable records; it ends with `[(chunk_id, nonce)]`."""
    def rebuild_partitions(
        self,
        state: OwnerState,
        partitions: Optional[int] = None,
        balance: Optional[float] = None,
        recall_target: Optional[float] = None,
        seed: int = 0,
        decoys: Optional[int] = None,
    ) -> Driver:
        """The driver of a partitions rebuild (`decoys`: sealed, the fewest every search takes); it ends with `{"partitions", "records", "moved",
        "resumed"}`."""
    def search(
        self,
        state: OwnerState,
        vector: Any,
        top_k: int,
        filter: Optional[str] = None,
        range: Optional[Tuple[int, int]] = None,
        expect_count: Optional[int] = None,
        with_content: bool = False,
        probe: Optional[Union[int, str]] = None,
        decoys: int = 0,
    ) -> Driver:
        """The driver of the owner's search; it ends with `(hits as JSON, stats)`."""
    def insert_chunks(self, vectors: Any, documents: Optional[str] = None, partitions: Any = None) -> Driver:
        """The driver of an insert of records that are not verifiable (`partitions` refused);
        it ends with the ids."""
    def replace_chunks(self, chunk_ids: Sequence[int], vectors: Any, documents: Optional[str] = None) -> Driver:
        """The driver of a replacement by id of records that are not verifiable."""
    def delete_found(self, state: OwnerState, filter: str, dry_run: bool = False) -> Driver:
        """The driver of a delete by metadata of records that are not verifiable (or a count);
        it ends with how many."""
    def patch_chunks(self, filter: str, patch: str) -> Driver:
        """The driver of a patch by metadata of records that are not verifiable; it ends with
        the patched ids."""
    def upload_records(
        self,
        state: OwnerState,
        vectors: Any,
        documents: Optional[str] = None,
        partitions: Optional[Union[int, str]] = None,
        balance: Optional[float] = None,
        recall_target: Optional[float] = None,
    ) -> Driver:
        """The driver of an upload of verifiable records; it ends with `([(chunk_id, nonce)],
        note)`."""
    def delete_records(self, state: OwnerState, chunk_ids: Sequence[int]) -> Driver:
        """The driver of a delete of verifiable records by id; it ends with `[]`."""
    def rebuild_digest(
        self, state: OwnerState, counted_field: Optional[str] = None, after_rollback: bool = False
    ) -> Driver:
        """The driver of a rebuild of the owner's digest; it ends with the digest written."""
    def seal_vectors(self, state: OwnerState, batch: Optional[int] = None) -> Driver:
        """The driver of a move of the knowledge base's Paillier records to sealed vectors,
        `batch` records a write (None: the library's); it ends with `{"records", "moved",
        "resumed"}`."""
    def rebuilt_digest(self, plan: DigestRebuild, records: Sequence[_Counted]) -> Tuple[OwnerDigest, str]:
        """The digest `plan` rebuilds from records (chunk_id, nonce, counted value), and its
        sealed bytes."""
    def seal_digest(self, digest: OwnerDigest) -> str:
        """`digest` sealed as the service stores it."""
    def check_counted(self, digest: OwnerDigest, chunk_ids: Sequence[int], nonces: Sequence[str]) -> None:
        """Raises AnswerRejectedError unless these records are exactly those `digest` counts."""
    def open(self, records: str, filter: Optional[str] = None) -> str:
        """The documents of records (JSON list of {chunk_id, nonce, chunk_content, meta_data,
        name}), as a JSON list; sealed ones must pass `filter` (JSON) when given."""
    def patched(self, chunk_id: int, document: str, patch: str, nonce: Optional[str] = None) -> str:
        """{chunk_id, chunk_content, meta_data, name} (JSON) of a document patched and sealed
        again (for a verifiable record, under its new nonce)."""
