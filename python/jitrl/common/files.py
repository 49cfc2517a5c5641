"""Writing files so that a crash never leaves half of one, and naming runs."""
from __future__ import annotations

import datetime as _dt
import os
from typing import Union


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
