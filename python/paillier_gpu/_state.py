"""The owner's own copy of each knowledge base's digest, under a state folder of its machine: the
highest version it has seen and its sealed bytes, so that a service that later serves an older
one (rolled back, or deleted) is caught across runs. The layout is the Rust client's and the
CLI's, so that they and Python share one folder: `<state>/digests/<hex of the context id>/<hex of
the knowledge base id>.json` holding `{"version": n, "sealed": "..."}`, folders 0700, files
0600, each replaced atomically under a lock so that two processes of one owner never lower it.
Beside it, an empty `<hex of the knowledge base id>.rolled-back` says this owner found the
knowledge base rolled back or forked and has not rebuilt its digest since."""

import fcntl
import json
import os
import tempfile
from pathlib import Path

from .errors import FileError


def default_state_dir():
    """`$PAILLIER_GPU_STATE_DIR`, else `paillier-gpu/state` in the user's data folder
    (`$XDG_DATA_HOME`, else `~/.local/share`), as the CLI chooses it."""
    chosen = os.environ.get("PAILLIER_GPU_STATE_DIR")
    if chosen:
        return Path(chosen)
    data = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(data) / "paillier-gpu" / "state"


class StateDir:
    """A folder of the owner's digests (created, private, on first write)."""

    def __init__(self, root):
        self.root = Path(root)

    def path(self, context_id, kb_id):
        """Where the digest of `kb_id` under `context_id` is kept; both named in hex, since a
        knowledge base's id is the service's and may hold any character."""
        return self.root / "digests" / context_id.encode().hex() / f"{kb_id.encode().hex()}.json"

    def rollback_path(self, context_id, kb_id):
        """Where the mark of a rollback found in `kb_id` under `context_id` is kept."""
        return self.path(context_id, kb_id).with_suffix(".rolled-back")

    def rollback_noted(self, context_id, kb_id):
        """Whether this owner found `kb_id` rolled back or forked and has not rebuilt its digest
        since."""
        return self.rollback_path(context_id, kb_id).exists()

    def note_rollback(self, context_id, kb_id):
        """Keeps the mark that `kb_id` was found rolled back or forked, until a digest rebuild
        `replace`s what was seen."""
        path = self.rollback_path(context_id, kb_id)
        try:
            _private_folders(path.parent)
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
            directory = os.open(path.parent, os.O_RDONLY)
            try:
                os.fsync(directory)
            finally:
                os.close(directory)
        except OSError as error:
            raise FileError(f"the owner's state: cannot write {path}: {error}") from None

    def read(self, context_id, kb_id):
        """The highest digest seen, `(version, sealed)`, or None."""
        return _read(self.path(context_id, kb_id))

    def keep(self, context_id, kb_id, seen):
        """Keeps `seen` (`(version, sealed)`) if it is newer than the one kept; the one kept
        after."""
        return self._write(context_id, kb_id, seen, replace=False)

    def replace(self, context_id, kb_id, seen):
        """Keeps `seen` whatever was kept, and forgets a rollback noted: only for a digest the owner
        rebuilt from the records."""
        return self._write(context_id, kb_id, seen, replace=True)

    def _write(self, context_id, kb_id, seen, replace):
        path = self.path(context_id, kb_id)
        folder = path.parent
        try:
            _private_folders(folder)
            lock = os.open(folder / ".lock", os.O_WRONLY | os.O_CREAT, 0o600)
        except OSError as error:
            raise FileError(f"the owner's state: cannot create {folder}: {error}") from None
        try:
            fcntl.flock(lock, fcntl.LOCK_EX)
            kept = _read(path)
            if kept is not None and not replace and kept[0] >= seen[0]:
                return kept
            _replace_file(path, json.dumps({"version": seen[0], "sealed": seen[1]}).encode())
            if replace:
                self.rollback_path(context_id, kb_id).unlink(missing_ok=True)
            return seen
        except OSError as error:
            raise FileError(f"the owner's state: cannot write {path}: {error}") from None
        finally:
            os.close(lock)


def _read(path):
    try:
        text = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as error:
        raise FileError(f"the owner's state: cannot read {path}: {error}") from None
    try:
        value = json.loads(text)
        version, sealed = value["version"], value["sealed"]
        if type(version) is not int or not isinstance(sealed, str):
            raise ValueError("not a version and sealed bytes")
    except (ValueError, KeyError, TypeError) as error:
        raise FileError(f"{path} is not a digest this client wrote ({error}): move it away only if you "
                        "know the knowledge base's latest state") from None
    return version, sealed


def _private_folders(folder):
    """Creates `folder` and those above it that are missing, each 0700; one that exists keeps
    its mode (os.makedirs gives the mode to the last folder only)."""
    missing = []
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    for created in reversed(missing):
        try:
            os.mkdir(created, 0o700)
        except FileExistsError:
            pass


def _replace_file(path, data):
    """Writes `path` whole or not at all: a private temporary file beside it, synced, renamed over
    it, and the folder synced so that the rename survives a crash."""
    folder = path.parent
    fd, temporary = tempfile.mkstemp(prefix=".digest-", dir=folder)  # created 0600
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except FileNotFoundError:
            pass
        raise
    directory = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)

