"""``scripts/compare_runs.py``: a table of final/best metrics of several runs and
``comparison.png``. Exit codes: 0 success, 2 a bad path (one line per problem)."""
from __future__ import annotations

import sys
from typing import List, Optional

from jitrl.cli.common import CleanParser, guarded, print_problems
from jitrl.config import ConfigError
from jitrl.workflow import compare as K


@guarded
def main(argv: Optional[List[str]] = None) -> int:
    p = CleanParser(prog="compare_runs.py", description="Compare runs: a table of final/best metrics and "
                    "comparison.png (learning curves against env steps and wall time).")
    p.add_argument("runs", nargs="+", help="run directories (holding metrics.jsonl)")
    p.add_argument("--metric", action="append", default=None,
                   help=f"metric to compare (repeatable; default {', '.join(K.DEFAULT_METRICS)})")
    p.add_argument("--out", default=".", help="folder for comparison.png")
    ns = p.parse_args(argv)
    try:
        lines, png = K.compare(ns.runs, ns.metric or K.DEFAULT_METRICS, ns.out)
    except ConfigError as exc:
        return print_problems(exc)
    print("\n".join(lines))
    print(f"\nWrote {png}" if png else "\n(matplotlib missing: no comparison.png)")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
