"""Writing files so that a crash never leaves half of one, and naming runs."""
from __future__ import annotations

import datetime as _dt
import os
import tempfile
from typing import Optional, Union


def atomic_write(path: str, data: Union[str, bytes]) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename: a reader
    sees the old file or the new one, never a part."""
    tmp = path + ".tmp"
    with open(tmp, "wb" if isinstance(data, bytes) else "w") as fh:
        fh.write(data)
    os.replace(tmp, path)


def stamped_name(*parts: str) -> str:
    """``<part>_<part>_..._<YYYYmmdd-HHMMSS>``: the default name of a run, sweep,
    validation run or curriculum directory."""
    return "_".join(list(parts) + [_dt.datetime.now().strftime("%Y%m%d-%H%M%S")])


def unwritable(directory: str) -> Optional[str]:
    """Why files cannot be created in ``directory`` (created if missing), or None.
    Probed with a real file (permission bits say nothing for root or a read-only mount)."""
    probe_dir = os.path.abspath(directory)
    while not os.path.exists(probe_dir):
        probe_dir = os.path.dirname(probe_dir)
    if not os.path.isdir(probe_dir):
        return f"{probe_dir} is a file, not a folder"
    try:
        fd, probe = tempfile.mkstemp(prefix=".jitrl-write-probe-", dir=probe_dir)
        os.close(fd)
        os.remove(probe)
    except OSError as exc:
        return f"{probe_dir} is not writable ({exc.strerror or exc})"
    return None
