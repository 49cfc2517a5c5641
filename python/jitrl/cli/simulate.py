"""``scripts/kmc_simulate.py``: run a trained (or neutral) kmc-tio2 proposal on a
large lattice, vmapped over replicas, and write the weighted and unweighted
observables with error bars, the trajectory ESS and a height-map picture.
Exit codes: 0 done, 2 a bad flag or path."""
from __future__ import annotations

import sys
from typing import List, Optional

from jitrl.cli.common import CleanParser, guarded, print_problems
from jitrl.config import ConfigError
from jitrl.envs import make
from jitrl.training.replay import load_policy
from jitrl.workflow.simulate import simulate, write


def _lattice(text: str):
    try:
        v = tuple(int(x) for x in text.split(","))
    except ValueError:
        v = ()
    if len(v) != 3 or min(v) < 1:
        raise ConfigError([f"--lattice: {text!r} -- expected NX,NY,NZ (positive integers), e.g. 200,200,50"])
    return v


@guarded
def main(argv: Optional[List[str]] = None) -> int:
    p = CleanParser(prog="kmc_simulate.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--checkpoint", metavar="RUN", help="a kmc-tio2 run directory written by train_purejaxrl.py")
    p.add_argument("--lattice", default="200,200,50", help="NX,NY,NZ (default 200,200,50)")
    p.add_argument("--events", type=int, default=100_000, help="events per replica (default 100000)")
    p.add_argument("--replicas", type=int, default=8, help="vmapped independent trajectories (default 8)")
    p.add_argument("--out", required=True, metavar="DIR", help="where results.json and heightmap.png go")
    p.add_argument("--neutral", action="store_true", help="plain BKL (neutral policy), no network")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--chunk", type=int, default=1000, help="events per jitted chunk (progress granularity)")
    a = p.parse_args(argv)
    for name in ("events", "replicas", "chunk"):
        if getattr(a, name) < 1:
            return print_problems(ConfigError([f"--{name}: {getattr(a, name)} -- must be >= 1"]))
    try:
        lattice = _lattice(a.lattice)
        network = params = None
        overrides = {}
        if a.checkpoint:
            cfg, _, _, network, params, meta = load_policy(a.checkpoint)
            if cfg.env.name != "kmc-tio2":
                raise ConfigError([f"--checkpoint: {a.checkpoint!r} -- a {cfg.env.name} run, not kmc-tio2"])
            overrides = {k: v for k, v in cfg.env.overrides().items() if k != "lattice_size"}
            print(f"{a.checkpoint}: checkpoint at update {meta.get('update')}")
        elif not a.neutral:
            raise ConfigError(["--checkpoint: give a run directory, or --neutral for plain KMC"])
        try:
            env, env_params = make("kmc-tio2", lattice_size=lattice, **overrides)
        except ValueError as exc:
            raise ConfigError([f"--lattice: {exc}"])
    except ConfigError as exc:
        return print_problems(exc)
    res = simulate(env, env_params, network, params, a.events, a.replicas, seed=a.seed, neutral=a.neutral,
                   chunk=a.chunk)
    paths = write(res, env, a.out)
    print(f"{res['proposal']}: {a.replicas} replicas x {a.events} events on {lattice}, "
          f"{res['events_per_s']:.3g} events/s; trajectory ESS {res['ess_trajectory']:.3f}")
    for name, o in res["observables"].items():
        print(f"  {name:12s} weighted {o['weighted']:.6g} +- {o['weighted_se']:.2g}   "
              f"unweighted (steered) {o['unweighted']:.6g} +- {o['unweighted_se']:.2g}")
    if res["stopped_at_window_limit"]:
        print(f"  {res['stopped_at_window_limit']} replicas stopped at the window limit "
              f"(fewest events {res['events_done_min']}): raise NZ")
    print(f"wrote {paths['results']}, {paths['heightmap']}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
