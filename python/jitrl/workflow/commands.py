"""Command lines of ``scripts/run_sweep.py``, ``scripts/validate_spec.py`` and
``scripts/compare_runs.py`` (the scripts only call these).

Exit codes: 0 success, 1 a validation FAIL (or a NaN stop), 2 bad flags,
specs or paths (one line per problem, no traceback).
"""
from __future__ import annotations

import argparse
import sys
from typing import List, Optional

from jitrl.cli.train import CleanParser
from jitrl.config import ConfigError, schema


def _add_spec_flags(p: argparse.ArgumentParser, skip=()) -> None:
    g = p.add_argument_group("spec overrides (win over every spec's value)")
    for f in schema.FIELDS:
        if f.flag and f.key not in skip:
            g.add_argument(f.flag, dest="set:" + f.key, metavar=f.kind.upper().replace("OPTIONAL_", ""),
                           help=f"{f.key}: {f.allowed}")


def _flags(ns) -> dict:
    return {k[4:]: v for k, v in vars(ns).items() if k.startswith("set:") and v is not None}


def _errors(exc: ConfigError) -> int:
    for line in exc.problems:
        sys.stderr.write(f"error: {line}\n")
    return 2


# ---------------------------------------------------------------------------------------------
def sweep_main(argv: Optional[List[str]] = None) -> int:
    p = CleanParser(prog="run_sweep.py", description="Train every sweep variant for several seeds; variants "
                    "differing only in float hyperparameters train together in one vmapped program.")
    p.add_argument("patterns", nargs="+", help="spec files or glob patterns (quote them)")
    p.add_argument("--mode", choices=("smoke", "full"), default="smoke",
                   help="smoke: smoke_timesteps (or 5 updates) per variant; full: the spec's total_timesteps")
    p.add_argument("--seeds", type=int, default=3, help="seeds per variant")
    p.add_argument("--timesteps", type=int, default=None, help="env steps per seed (overrides --mode's budget)")
    p.add_argument("--out", default=None, help="sweep directory (default <checkpoint_dir>/sweep_<agent>_<mode>_<time>)")
    p.add_argument("--verbose", action="store_true", help="show each program's training log")
    _add_spec_flags(p, skip=("total_timesteps", "run_name", "num_seeds"))
    ns = p.parse_args(argv)
    from jitrl.workflow import sweep

    try:
        res = sweep.run_sweep(ns.patterns, mode=ns.mode, seeds=ns.seeds, timesteps=ns.timesteps, flags=_flags(ns),
                              out_dir=ns.out, quiet=not ns.verbose)
    except ConfigError as exc:
        return _errors(exc)
    print("\nRanking (by final mean episode return, mean +- std over seeds):")
    print("\n".join(sweep.ranking_lines(res)))
    print(f"\nWrote {res.directory}/sweep_summary.md, sweep_summary.csv, learning_curves.png")
    return 1 if any(r == "nan" for r in res.stop_reasons) else 0


# ---------------------------------------------------------------------------------------------
def validate_main(argv: Optional[List[str]] = None) -> int:
    p = CleanParser(prog="validate_spec.py", description="Check spec files (--check), or train one and judge its "
                    "validation: criteria (PASS/FAIL table, validation_report.md; exit 1 on FAIL).")
    p.add_argument("specs", nargs="+", help="spec file(s); a validation run takes exactly one")
    p.add_argument("--check", action="store_true", help="validate the files without training")
    p.add_argument("--mode", choices=("smoke", "full"), default="smoke")
    p.add_argument("--timesteps", type=int, default=None, help="env steps per seed (overrides --mode's budget)")
    p.add_argument("--seeds", type=int, default=None, help="seeds (default: the spec's num_seeds)")
    p.add_argument("--verbose", action="store_true", help="show the training log")
    _add_spec_flags(p, skip=("total_timesteps",))
    ns = p.parse_args(argv)
    from jitrl.workflow import validation as V

    if ns.check:
        results = V.check_specs(ns.specs, _flags(ns))
        for path, problems in results.items():
            if problems:
                for line in problems:
                    sys.stderr.write(f"error: {line}\n")
            else:
                print(f"ok: {path}")
        return 2 if any(results.values()) else 0
    if len(ns.specs) != 1:
        return _errors(ConfigError([f"specs: {len(ns.specs)} files -- a validation run takes one spec "
                                    f"(use --check to validate several)"]))
    try:
        res = V.run_validation(ns.specs[0], ns.mode, timesteps=ns.timesteps, seeds=ns.seeds, flags=_flags(ns),
                               quiet=not ns.verbose)
    except ConfigError as exc:
        return _errors(exc)
    from jitrl.workflow import criteria as C

    print("\n".join(V.format_table(C.table(res.verdicts), V.HEADER)))
    print(f"\n{'PASS' if res.passed else 'FAIL'} ({res.stop_reason}); report: {res.report}")
    return res.exit_code


# ---------------------------------------------------------------------------------------------
def compare_main(argv: Optional[List[str]] = None) -> int:
    from jitrl.workflow import compare as K

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
        return _errors(exc)
    print("\n".join(lines))
    print(f"\nWrote {png}" if png else "\n(matplotlib missing: no comparison.png)")
    return 0
