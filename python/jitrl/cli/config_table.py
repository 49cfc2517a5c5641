"""``scripts/config_table.py``: write ``docs/config.md``, the table of every spec
key, from the field declarations (``--check``: exit 1 when the file is stale)."""
from __future__ import annotations

import os
import sys
from typing import List, Optional

from jitrl.cli.common import CleanParser, guarded, print_problems
from jitrl.common.files import atomic_write
from jitrl.config import ConfigError
from jitrl.config.loader import yaml_scalar
from jitrl.config.schema import FIELDS

HEADER = """# Config fields

Every key a spec file may set, with its type, default, what is allowed, the
command-line flag that sets it and whether it is sweepable (carried as a traced
value, so one compiled program trains several values side by side; see
`scripts/run_sweep.py`). Precedence, auto-scaling and spec files: README.md,
"Configuration".

Generated from the field declarations (`jitrl.common.fields.setting` in
`jitrl/ppo/config.py`, `jitrl/networks/registry.py`, `jitrl/config/sections.py`)
by `python scripts/config_table.py`; do not edit by hand (a test fails when this
file is stale).

"""


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("<", "&lt;")


def markdown_table() -> str:
    """One row per spec key: key, kind, default (spelt as in a spec), allowed, flag, sweepable."""
    rows = ["| key | type | default | allowed | flag | sweepable |", "| --- | --- | --- | --- | --- | --- |"]
    for f in FIELDS:
        cells = [f"`{f.key}`", f.kind.replace("_", " "), f"`{yaml_scalar(f.default)}`", _cell(f.allowed),
                 f"`{f.flag}`" if f.flag else "", "yes" if f.sweepable else ""]
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows) + "\n"


def render() -> str:
    """The whole of ``docs/config.md``."""
    return HEADER + markdown_table()


@guarded
def main(argv: Optional[List[str]] = None) -> int:
    p = CleanParser(prog="config_table.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default=os.path.join("docs", "config.md"), help="the file to write (or check)")
    p.add_argument("--check", action="store_true", help="exit 1 when the file differs from the declarations")
    a = p.parse_args(argv)
    text = render()
    if a.check:
        current = open(a.out).read() if os.path.isfile(a.out) else None
        if current != text:
            print_problems(ConfigError([f"{a.out} is stale; regenerate it with python scripts/config_table.py"]))
            return 1
        print(f"ok: {a.out}")
        return 0
    atomic_write(a.out, text)
    print(f"wrote {a.out}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
