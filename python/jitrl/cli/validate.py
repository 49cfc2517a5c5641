"""``scripts/validate_spec.py``: check spec and curriculum files (``--check``), or
train one spec and judge its ``validation:`` criteria.

Exit codes: 0 valid / PASS, 1 a criterion FAILed (or a NaN stop), 2 bad flags,
specs or paths (one line per problem, no traceback).
"""
from __future__ import annotations

import sys
from typing import List, Optional

from jitrl.cli.common import USAGE, CleanParser, add_spec_flags, guarded, print_problems, spec_flags
from jitrl.config import ConfigError
from jitrl.workflow import validation as V


@guarded
def main(argv: Optional[List[str]] = None) -> int:
    p = CleanParser(prog="validate_spec.py", description="Check spec files (--check), or train one and judge its "
                    "validation: criteria (PASS/FAIL table, validation_report.md; exit 1 on FAIL).")
    p.add_argument("specs", nargs="+", help="spec file(s); a validation run takes exactly one")
    p.add_argument("--check", action="store_true", help="validate the files without training")
    p.add_argument("--mode", choices=("smoke", "full"), default="smoke")
    p.add_argument("--timesteps", type=int, default=None, help="env steps per seed (overrides --mode's budget)")
    p.add_argument("--seeds", type=int, default=None, help="seeds (default: the spec's num_seeds)")
    p.add_argument("--verbose", action="store_true", help="show the training log")
    add_spec_flags(p, skip=("total_timesteps",), title="spec overrides (win over every spec's value)")
    ns = p.parse_args(argv)
    if ns.check:
        results = V.check_specs(ns.specs, spec_flags(ns))
        for path, problems in results.items():
            if problems:
                print_problems(ConfigError(problems))
            else:
                print(f"ok: {path}")
        return USAGE if any(results.values()) else 0
    if len(ns.specs) != 1:
        return print_problems(ConfigError([f"specs: {len(ns.specs)} files -- a validation run takes one spec "
                                           f"(use --check to validate several)"]))
    try:
        res = V.run_validation(ns.specs[0], ns.mode, timesteps=ns.timesteps, seeds=ns.seeds, flags=spec_flags(ns),
                               quiet=not ns.verbose)
    except ConfigError as exc:
        return print_problems(exc)
    print("\n".join(V.format_table(V.table(res.verdicts), V.HEADER)))
    print(f"\n{'PASS' if res.passed else 'FAIL'} ({res.stop_reason}); report: {res.report}")
    return res.exit_code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
