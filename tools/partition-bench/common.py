"""What the partition benchmark's modules share: where the repository is, the passphrase of its
throwaway contexts, and its log line."""

import os
import sys
from pathlib import Path

# One thread each for BLAS and FAISS unless told otherwise: the benchmark measures our work.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent

PASSPHRASE = "partition bench: not a secret"


def log(*args):
    print("[partition-bench]", *args, file=sys.stderr, flush=True)
