"""``scripts/run_sweep.py``: train every sweep variant for several seeds; variants
that differ only in sweepable (float) hyperparameters train together in one
vmapped program.

Exit codes: 0 success, 1 a NaN stop, 2 bad flags or specs (one line per problem).
"""
from __future__ import annotations

import sys
from typing import List, Optional

from jitrl.cli.common import CleanParser, add_spec_flags, guarded, print_problems, spec_flags
from jitrl.config import ConfigError
from jitrl.workflow import sweep


@guarded
def main(argv: Optional[List[str]] = None) -> int:
    p = CleanParser(prog="run_sweep.py", description="Train every sweep variant for several seeds; variants "
                    "differing only in float hyperparameters train together in one vmapped program.")
    p.add_argument("patterns", nargs="+", help="spec files or glob patterns (quote them)")
    p.add_argument("--mode", choices=("smoke", "full"), default="smoke",
                   help="smoke: smoke_timesteps (or 5 updates) per variant; full: the spec's total_timesteps")
    p.add_argument("--seeds", type=int, default=3, help="seeds per variant")
    p.add_argument("--timesteps", type=int, default=None, help="env steps per seed (overrides --mode's budget)")
    p.add_argument("--out", default=None, help="sweep directory (default <checkpoint_dir>/sweep_<agent>_<mode>_<time>)")
    p.add_argument("--verbose", action="store_true", help="show each program's training log")
    add_spec_flags(p, skip=("total_timesteps", "run_name", "num_seeds"),
                   title="spec overrides (win over every spec's value)")
    ns = p.parse_args(argv)
    try:
        res = sweep.run_sweep(ns.patterns, mode=ns.mode, seeds=ns.seeds, timesteps=ns.timesteps,
                              flags=spec_flags(ns), out_dir=ns.out, quiet=not ns.verbose)
    except ConfigError as exc:
        return print_problems(exc)
    print("\nRanking (by final mean episode return, mean +- std over seeds):")
    print("\n".join(sweep.ranking_lines(res)))
    print(f"\nWrote {res.directory}/sweep_summary.md, sweep_summary.csv, learning_curves.png")
    return 1 if any(r == "nan" for r in res.stop_reasons) else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
