"""``scripts/bench.py``: env-only and full-training steps/s, compile seconds and
peak memory, each case in its own process (see :mod:`jitrl.workflow.bench`)."""
from __future__ import annotations

import json
import sys
from typing import List, Optional

from jitrl.cli.common import CleanParser, env_param_overrides, guarded
from jitrl.workflow import bench as B


@guarded
def main(argv: Optional[List[str]] = None) -> int:
    p = CleanParser(prog="bench.py", description=B.__doc__.split("\n\n")[0])
    p.add_argument("--env", default="hackmatrix")
    p.add_argument("--num-envs", default="2048", help="comma-separated list, e.g. 2048,16384")
    p.add_argument("--num-steps", type=int, default=128)
    p.add_argument("--lattice", action="append", help="kmc lattice nx,ny,nz (repeatable)")
    p.add_argument("--cases", default="env,train", help="comma-separated: env, train, phases (where an update's time goes)")
    p.add_argument("--repeats", type=int, default=5, help="timed env rollouts")
    p.add_argument("--train-repeats", type=int, default=3, help="timed PPO updates")
    p.add_argument("--update-epochs", help="override (else auto-scaled)")
    p.add_argument("--num-minibatches", help="override (else auto-scaled)")
    p.add_argument("--no-auto-scale", action="store_true")
    p.add_argument("--env-param", action="append", default=[], metavar="NAME=VALUE",
                   help="an env parameter or constructor setting (repeatable; YAML values), e.g. n_proposals=8")
    p.add_argument("--network", help="network kind override")
    p.add_argument("--net-arch", help="network.net_arch override, comma-separated widths, e.g. 32,32")
    p.add_argument("--no-obs", action="store_true",
                   help="env case: don't encode observations (pure simulation speed, e.g. KMC events/s)")
    p.add_argument("--no-reset", action="store_true",
                   help="env case: step without auto-reset (step_env: one long trajectory per env, as "
                        "scripts/kmc_simulate.py runs; the auto-reset's select over the whole state is left out)")
    p.add_argument("--timeout", type=int, default=1800, help="seconds per case")
    p.add_argument("--json", help="also write the rows to this file")
    p.add_argument("--suite", choices=sorted(B.SUITES),
                   help="a preset set of cases instead of --env/--num-envs/--lattice (gpu: scripts/gpu_bench.sh)")
    p.add_argument("--dry-run", action="store_true", help="print the planned cases and stop")
    a = p.parse_args(argv)
    env_params = env_param_overrides(a.env_param)
    flags = {}
    if a.update_epochs:
        flags["update_epochs"] = a.update_epochs
    if a.num_minibatches:
        flags["num_minibatches"] = a.num_minibatches
    if a.no_auto_scale:
        flags["auto_scale"] = "false"
    if a.network:
        flags["network.kind"] = a.network
    if a.net_arch:
        flags["network.net_arch"] = a.net_arch
    if a.suite:
        planned = B.suite_cases(a.suite, a.repeats, a.train_repeats)
    else:
        planned = [{"case": case, "env": a.env, "num_envs": n, "num_steps": a.num_steps, "lattice": lattice,
                    "repeats": a.repeats, "train_repeats": a.train_repeats, "flags": flags, "with_obs": not a.no_obs,
                    "with_reset": not a.no_reset, "env_params": env_params}
                   for lattice in (a.lattice or [None]) for n in [int(x) for x in a.num_envs.split(",")]
                   for case in a.cases.split(",")]
    if a.dry_run:
        for c in planned:
            print(f"{c['case']:6} {c['env']:12} lattice {c['lattice'] or '-':9} envs {c['num_envs']:>6} "
                  f"steps {c['num_steps']}")
        return 0
    rows = []
    for args in planned:
        row = B.subprocess_case(args, a.timeout)
        rows.append(row)
        print(B.format_table([row]).splitlines()[2], flush=True)
    print()
    print(B.format_table(rows))
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(rows, fh, indent=1)
    return 0 if all("error" not in r for r in rows) else 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
