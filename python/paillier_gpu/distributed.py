"""Ray for what outgrows one machine: encrypting a folder of vector files on many workers, and an
encrypted index spread over many actors.

Ray is the scheduler; this module only says what each worker does. Workers receive the public
part of a context (``PublicContext.to_json()``), never the secret key or the passphrase.

Command line::

    python -m paillier_gpu.distributed encrypt --context CTX --input IN_DIR --output OUT_DIR \\
        [--address ADDR] [--workers W] [--gpus-per-worker G] [--cpus-per-worker C]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, List, Optional, Sequence, Tuple, Union

from ._native import Ciphertexts, EncryptedIndex, PublicContext, configure_gpu

try:  # Ray is an optional dependency: `pip install "paillier-gpu[distributed]"`.
    import ray
except ImportError:  # pragma: no cover - exercised only without ray
    ray = None


def _require_ray():
    if ray is None:
        raise ImportError(
            "paillier_gpu.distributed needs Ray: pip install 'paillier-gpu[distributed]'"
        )
    return ray


def _use_the_assigned_gpu(device: str) -> None:
    """In a Ray actor given a GPU: open that GPU (by its index on the node), not the first.

    Ray hides the other GPUs from CUDA, but Vulkan lists them all; the index Ray assigned is the
    adapter's position among the node's GPUs in the driver's order."""
    if device == "cpu" or ray is None:
        return
    ids = ray.get_gpu_ids()
    if ids:
        configure_gpu(adapter_index=int(ids[0]))


def _ensure_ray(address: Optional[str]) -> None:
    """Connects to the cluster at ``address``, or starts a local one when none is given."""
    _require_ray()
    if ray.is_initialized():
        return
    if address:
        ray.init(address=address, log_to_driver=False)
    else:
        ray.init(log_to_driver=False)


# ---------------------------------------------------------------------------------------------
# Encrypting a folder of vector files.


@dataclass
class EncryptReport:
    """What a distributed encryption did."""

    #: Files encrypted now.
    encrypted: int
    #: Files skipped because their output was already complete.
    skipped: int
    #: Vectors encrypted now.
    vectors: int
    #: Wall-clock seconds of the whole run (after the cluster was reached).
    seconds: float

    @property
    def vectors_per_second(self) -> float:
        return self.vectors / self.seconds if self.seconds > 0 else 0.0


class _Encryptor:
    """A Ray actor: one public context, loaded once, encrypting whole files."""

    def __init__(self, public_json: str, device: str):
        _use_the_assigned_gpu(device)
        self.public = PublicContext.from_json(public_json, device=device)

    def encrypt(self, source: str, target: str) -> int:
        # resume=True: an interrupted earlier attempt on this file continues where it stopped;
        # the output appears under its final name only once complete.
        return self.public.encrypt_file(source, target, resume=True)


def output_name(source: Path) -> str:
    """The ciphertext file a vector file becomes: ``name.npy`` -> ``name.bin``."""
    return source.stem + ".bin"


def encrypt_folder(
    context: Union[str, os.PathLike],
    input_dir: Union[str, os.PathLike],
    output_dir: Union[str, os.PathLike],
    address: Optional[str] = None,
    workers: Optional[int] = None,
    gpus_per_worker: float = 0,
    cpus_per_worker: Optional[float] = None,
    progress: bool = True,
) -> EncryptReport:
    """Encrypts every ``.npy`` file of ``input_dir`` into ``output_dir/<name>.bin`` on Ray workers.

    Files whose output already exists are skipped (outputs appear only when complete) once the
    output is checked to be whole and made under this context's key (else ``KeyMismatchError`` or
    ``MalformedFileError`` names it). Each
    worker is a Ray actor holding the public key; with ``gpus_per_worker`` > 0 it encrypts on
    its GPU, else on ``cpus_per_worker`` cores (default: the cluster's CPUs shared among the
    workers). ``workers`` defaults to one per GPU when GPUs are asked for, else the number of
    files, at most the cluster's CPUs.
    """
    _ensure_ray(address)
    public = PublicContext.load(context)
    sources = sorted(Path(input_dir).glob("*.npy"))
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    todo = []
    for source in sources:
        target = out / output_name(source)
        if target.exists():
            # Skipped only when it is a whole file under this key: a file made under another
            # key (or cut short) raises, naming it, rather than pass for done.
            public.check_ciphertext_file(str(target))
        else:
            todo.append(source)
    skipped = len(sources) - len(todo)
    if not todo:
        return EncryptReport(encrypted=0, skipped=skipped, vectors=0, seconds=0.0)

    resources = ray.cluster_resources()
    cluster_cpus = max(1, int(resources.get("CPU", 1)))
    if workers is None:
        if gpus_per_worker > 0:
            workers = max(1, int(resources.get("GPU", 0) // gpus_per_worker))
        else:
            workers = min(len(todo), cluster_cpus)
    workers = max(1, min(workers, len(todo)))
    if cpus_per_worker is None:
        cpus_per_worker = max(1, cluster_cpus // workers)
    device = "gpu" if gpus_per_worker > 0 else "cpu"
    actor = ray.remote(_Encryptor).options(
        num_cpus=cpus_per_worker,
        num_gpus=gpus_per_worker,
        # The Rust side runs on rayon: as many threads as the worker's share of cores.
        runtime_env={"env_vars": {"RAYON_NUM_THREADS": str(max(1, int(cpus_per_worker)))}},
    )
    pool = [actor.remote(public.to_json(), device) for _ in range(workers)]

    started = time.perf_counter()
    pending = {}
    queue = list(todo)
    idle = list(pool)
    vectors = 0
    done = 0
    while queue or pending:
        while queue and idle:
            source = queue.pop(0)
            worker = idle.pop()
            ref = worker.encrypt.remote(str(source), str(out / output_name(source)))
            pending[ref] = (worker, source)
        ready, _ = ray.wait(list(pending), num_returns=1)
        for ref in ready:
            worker, source = pending.pop(ref)
            vectors += ray.get(ref)  # re-raises the worker's exception, named by Ray
            done += 1
            idle.append(worker)
            if progress:
                elapsed = time.perf_counter() - started
                print(
                    f"\rencrypted {done}/{len(todo)} files, {vectors} vectors, "
                    f"{vectors / elapsed if elapsed > 0 else 0:,.0f} vectors/s",
                    end="",
                    file=sys.stderr,
                    flush=True,
                )
    seconds = time.perf_counter() - started
    if progress:
        print(file=sys.stderr)
    for worker in pool:
        ray.kill(worker)
    return EncryptReport(encrypted=len(todo), skipped=skipped, vectors=vectors, seconds=seconds)


# ---------------------------------------------------------------------------------------------
# An encrypted index over many actors.


class _Shard:
    """A Ray actor holding one part of a sharded index."""

    def __init__(self, public_json: str, device: str):
        _use_the_assigned_gpu(device)
        self.public = PublicContext.from_json(public_json)
        self.index = EncryptedIndex(self.public, device=device)

    def insert(self, data: bytes) -> Tuple[int, int]:
        ids = self.index.insert(Ciphertexts.from_bytes(self.public, data))
        return ids.start, ids.stop

    def aggregate(self, query: bytes, ids: Optional[List[int]]) -> bytes:
        q = Ciphertexts.from_bytes(self.public, query)
        return self.index.aggregate(q, ids).to_bytes()

    def __len__(self) -> int:
        return len(self.index)

    def length(self) -> int:
        return len(self.index)


class ShardedIndex:
    """An ``EncryptedIndex`` split across Ray actors (one per GPU or node).

    ``insert`` spreads each batch over the shards in contiguous parts; ``aggregate`` sends the
    query to every shard at once and gathers the responses in record order, so the result is
    the same ciphertexts one ``EncryptedIndex`` would return.
    """

    def __init__(
        self,
        public_context: PublicContext,
        shards: int = 2,
        device: str = "cpu",
        gpus_per_shard: float = 0,
        cpus_per_shard: float = 1,
        address: Optional[str] = None,
    ):
        if shards < 1:
            raise ValueError("a sharded index needs at least one shard")
        _ensure_ray(address)
        self._public = public_context
        actor = ray.remote(_Shard).options(num_cpus=cpus_per_shard, num_gpus=gpus_per_shard)
        self._shards = [actor.remote(public_context.to_json(), device) for _ in range(shards)]
        # Global record order: (shard, first local id, count) per inserted part.
        self._segments: List[Tuple[int, int, int]] = []
        self._len = 0

    def __len__(self) -> int:
        return self._len

    @property
    def shards(self) -> int:
        return len(self._shards)

    def insert(self, ciphertexts: Ciphertexts) -> range:
        """Appends encrypted vectors; returns the ids they got (as in ``EncryptedIndex``)."""
        total = len(ciphertexts)
        first = self._len
        if total == 0:
            return range(first, first)
        n = len(self._shards)
        bounds = [total * i // n for i in range(n + 1)]
        refs = []
        for shard, (a, b) in enumerate(zip(bounds, bounds[1:])):
            if b > a:
                part = ciphertexts[a:b].to_bytes()
                refs.append((shard, b - a, self._shards[shard].insert.remote(part)))
        for shard, count, ref in refs:
            start, stop = ray.get(ref)
            self._segments.append((shard, start, count))
        self._len += total
        return range(first, self._len)

    def _locate(self, ids: Sequence[int]) -> List[Tuple[int, int]]:
        """(shard, local id) of each global id."""
        starts = []
        position = 0
        for shard, local, count in self._segments:
            starts.append((position, shard, local, count))
            position += count
        out = []
        import bisect

        keys = [s[0] for s in starts]
        for gid in ids:
            if not 0 <= gid < self._len:
                raise IndexError(f"id {gid} is outside the {self._len} records")
            i = bisect.bisect_right(keys, gid) - 1
            begin, shard, local, _ = starts[i]
            out.append((shard, local + gid - begin))
        return out

    def aggregate(
        self, query: Ciphertexts, ids: Union[None, range, slice, Iterable[int]] = None
    ) -> Ciphertexts:
        """One response per selected record, in selection order (all records by default)."""
        if ids is None:
            ids = range(self._len)
        elif isinstance(ids, slice):
            ids = range(*ids.indices(self._len))
        ids = list(ids)
        if not ids:
            return query[0:0]
        located = self._locate(ids)
        per_shard: dict = {}
        for position, (shard, local) in enumerate(located):
            per_shard.setdefault(shard, []).append((position, local))
        q = query.to_bytes()
        refs = {
            shard: self._shards[shard].aggregate.remote(q, [local for _, local in items])
            for shard, items in per_shard.items()
        }
        parts = {shard: Ciphertexts.from_bytes(self._public, ray.get(ref)) for shard, ref in refs.items()}
        # Back into selection order: runs of consecutive positions from one shard at a time.
        order = []
        for shard, items in per_shard.items():
            for k, (position, _) in enumerate(items):
                order.append((position, shard, k))
        order.sort()
        pieces = []
        run_start = 0
        while run_start < len(order):
            _, shard, k0 = order[run_start]
            run_end = run_start + 1
            while (
                run_end < len(order)
                and order[run_end][1] == shard
                and order[run_end][2] == order[run_end - 1][2] + 1
            ):
                run_end += 1
            pieces.append(parts[shard][k0 : k0 + (run_end - run_start)])
            run_start = run_end
        return Ciphertexts.concat(pieces)

    def close(self) -> None:
        """Stops the shard actors."""
        for shard in self._shards:
            ray.kill(shard)
        self._shards = []


# ---------------------------------------------------------------------------------------------
# Command line.


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m paillier_gpu.distributed",
        description="Encrypt vector files on a Ray cluster.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    enc = commands.add_parser(
        "encrypt",
        help="encrypt every .npy file of a folder into binary ciphertext files",
        description=(
            "Every .npy file of INPUT becomes OUTPUT/<name>.bin (readable by `paillier-gpu "
            "aggregate`). Workers need only the public key; a rerun skips complete outputs."
        ),
    )
    enc.add_argument("--context", required=True, help="the context file (only its public key is read)")
    enc.add_argument("--input", required=True, help="folder of .npy vector files")
    enc.add_argument("--output", required=True, help="folder for the ciphertext files")
    enc.add_argument("--address", default=None, help="Ray cluster address (default: start a local cluster)")
    enc.add_argument("--workers", type=int, default=None, help="encrypting actors (default: see docs)")
    enc.add_argument("--gpus-per-worker", type=float, default=0, help="GPUs per worker (0: CPU)")
    enc.add_argument("--cpus-per-worker", type=float, default=None, help="cores per CPU worker")
    args = parser.parse_args(argv)
    from .errors import PaillierGpuError

    try:
        report = encrypt_folder(
            args.context,
            args.input,
            args.output,
            address=args.address,
            workers=args.workers,
            gpus_per_worker=args.gpus_per_worker,
            cpus_per_worker=args.cpus_per_worker,
        )
    except (PaillierGpuError, OSError) as e:
        print(f"paillier_gpu.distributed: error: {e}", file=sys.stderr)
        return 1
    print(
        f"encrypted {report.encrypted} file(s) ({report.vectors} vectors, "
        f"{report.vectors_per_second:,.0f} vectors/s), skipped {report.skipped} complete",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
