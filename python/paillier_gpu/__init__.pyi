from . import errors as errors
from ._native import (
    Ciphertexts as Ciphertexts,
    EncryptedIndex as EncryptedIndex,
    ExecutionContext as ExecutionContext,
    PublicContext as PublicContext,
    __version__ as __version__,
    configure_gpu as configure_gpu,
)
from .errors import (
    AuthenticationError as AuthenticationError,
    FileError as FileError,
    GpuError as GpuError,
    InsecureParametersError as InsecureParametersError,
    InvalidCiphertextError as InvalidCiphertextError,
    InvalidInputError as InvalidInputError,
    InvalidResponseError as InvalidResponseError,
    InvalidSelectionError as InvalidSelectionError,
    InvalidVectorError as InvalidVectorError,
    KeyMismatchError as KeyMismatchError,
    KeyProviderError as KeyProviderError,
    MalformedFileError as MalformedFileError,
    PaillierGpuError as PaillierGpuError,
)
