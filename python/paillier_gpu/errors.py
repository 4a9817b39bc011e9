"""The exceptions paillier_gpu raises: one class per kind of error, each with the library's
whole message. Every one derives from ``PaillierGpuError``; bad input also derives from
``ValueError``, file problems from ``OSError`` and GPU failures from ``RuntimeError``."""


class PaillierGpuError(Exception):
    """The base of every error this package raises."""


class InvalidInputError(PaillierGpuError, ValueError):
    """A bad argument: a parameter, a shape, a selection."""


class InsecureParametersError(InvalidInputError):
    """Parameters that can be broken (key_len below 1024, alpha_len below 512) without
    ``insecure=True``."""


class InvalidVectorError(InvalidInputError):
    """A vector of the wrong length or with a value other than 0 and 1."""


class InvalidCiphertextError(InvalidInputError):
    """A ciphertext that is not valid under the key (zero, not below n², wrong shape)."""


class InvalidResponseError(InvalidInputError):
    """A response that cannot be an honest aggregate: decoding refuses to believe it."""


class KeyMismatchError(InvalidInputError):
    """Ciphertexts, a file or an index made under another public key."""


class InvalidNumberError(InvalidInputError, ArithmeticError):
    """A number that cannot be encoded (NaN, an infinity, beyond the key's ``max_int``), or a
    decrypted result beyond ±max_int (an overflow) or outside int64/float64."""


class ShapeMismatchError(InvalidInputError):
    """Arrays, matrices or models whose shapes do not fit together."""


class InvalidSelectionError(InvalidInputError, IndexError):
    """Record ids outside the index."""


class MalformedFileError(InvalidInputError):
    """A context or ciphertext file that cannot be read."""


class AuthenticationError(PaillierGpuError, ValueError):
    """A wrong passphrase or key, or a file or content that was tampered with."""


class ContextAlteredError(AuthenticationError):
    """A context fetched from a service is not the one its owner stored under that id (its
    public key does not match its secret key, or it opens as another context): someone
    replaced it. Do not use it; delete it on the service and store your own copy again."""


class AnswerRejectedError(PaillierGpuError):
    """A verified search's answer failed a check (a record forged, altered, duplicated, missing,
    replayed, foreign, or a content swapped); the message names each failure and its chunk ids,
    and nothing of the answer is returned. `rolled_back` is True where it shows the service
    rolled the knowledge base back or forked its history."""

    rolled_back = False


class ConcurrentWriteError(PaillierGpuError):
    """Another writer changed a knowledge base while a write of several steps was under way (an
    upload placed in partitions that changed meanwhile, a partitions rebuild): nothing more was
    written, and the message says how to go on (a rebuild resumes when run again)."""


class PrivateMetadataError(InvalidInputError):
    """Private metadata cannot carry a value, or answer a filter or a sort, on tokens."""


class KeyProviderError(PaillierGpuError):
    """A key provider failed (a Python provider's own exception is in the message)."""


class GpuError(PaillierGpuError, RuntimeError):
    """No GPU answered, or a GPU call failed (device lost, spot check mismatch)."""


class FileError(PaillierGpuError, OSError):
    """A file could not be read or written (missing folder, would overwrite, I/O)."""


__all__ = [
    "PaillierGpuError",
    "InvalidInputError",
    "InsecureParametersError",
    "InvalidVectorError",
    "InvalidCiphertextError",
    "InvalidResponseError",
    "AnswerRejectedError",
    "ConcurrentWriteError",
    "PrivateMetadataError",
    "KeyMismatchError",
    "InvalidNumberError",
    "ShapeMismatchError",
    "InvalidSelectionError",
    "MalformedFileError",
    "AuthenticationError",
    "ContextAlteredError",
    "KeyProviderError",
    "GpuError",
    "FileError",
    "RemoteError",
    "RemoteUnreachableError",
]


class RemoteError(PaillierGpuError):
    """The service answered with an error status; `status` is it, the message the service's,
    `body` its JSON answer (None when it is not JSON)."""

    def __init__(self, status, message, body=None):
        super().__init__(f"the service answered {status}: {message}")
        self.status, self.message, self.body = status, message, body


class RemoteUnreachableError(PaillierGpuError):
    """The service could not be reached, or its answer could not be read."""
