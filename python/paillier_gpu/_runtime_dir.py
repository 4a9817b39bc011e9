"""Keeps Mesa's "XDG_RUNTIME_DIR is invalid or not set" off the user's terminal.

Mesa's Vulkan device-selection layer connects to a Wayland display while GPUs are enumerated and,
without XDG_RUNTIME_DIR, prints that line on stderr (twice) every time. Where the variable is
unset (containers, cron, CI, ssh without a session) nothing else in the process can be relying on
it, so the package points it at a private folder, as the CLI does. A value the user set is never
touched, even one Mesa cannot use: that is theirs to fix.
"""

import os
import stat
import tempfile


def ensure() -> None:
    if "XDG_RUNTIME_DIR" in os.environ or not hasattr(os, "getuid"):
        return
    folder = os.path.join(tempfile.gettempdir(), f"paillier-gpu-runtime-{os.getuid()}")
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
        info = os.lstat(folder)
    except OSError:
        return
    # What Mesa asks of it; a folder someone else planted there is not used.
    if stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid() and info.st_mode & 0o777 == 0o700:
        os.environ["XDG_RUNTIME_DIR"] = folder
