"""``scripts/learning_report.py``: the learning report of a run directory, or of the
baselines alone (``--env NAME``). Exit codes: 0 written, 2 a bad flag or path."""
from __future__ import annotations

import sys
from typing import Any, Dict, List, Optional

from jitrl.cli.common import USAGE, CleanParser, env_param_overrides, guarded, print_problems
from jitrl.config import ConfigError
from jitrl.config.loader import resolve
from jitrl.envs import UnknownEnvError, make
from jitrl.workflow import learning_report, scripted


@guarded
def main(argv: Optional[List[str]] = None) -> int:
    p = CleanParser(prog="learning_report.py",
                    description="Play a trained policy (greedy and sampled), the random masked policy and scripted "
                                "baselines on the same boards; write learning_report.md and plots.")
    p.add_argument("run_dir", nargs="?", metavar="RUN_DIR", help="a run directory written by train_purejaxrl.py")
    p.add_argument("--env", help="without RUN_DIR: report the baselines alone on this env")
    p.add_argument("--config", metavar="SPEC.yaml",
                   help="without RUN_DIR: report the baselines alone on the spec's env and env.params")
    p.add_argument("--env-param", action="append", default=[], metavar="NAME=VALUE",
                   help="replace an env parameter for this report (repeatable; YAML values), e.g. the reward "
                        "weights: rewards do not change the game, so the same policy can be scored under "
                        "other rewards")
    p.add_argument("--episodes", type=int, default=1000, help="episodes per policy (default 1000)")
    p.add_argument("--steps", type=int, default=None,
                   help="scan length (default: the env's max_steps, so every episode ends)")
    p.add_argument("--seed", type=int, default=12345)
    p.add_argument("--out", help="output folder (default RUN_DIR/learning_report)")
    p.add_argument("--baselines", default=",".join(learning_report.DEFAULT_BASELINES),
                   help=f"comma-separated scripted policies ({', '.join(scripted.SCRIPTED)}), or 'none'")
    p.add_argument("--advantage-envs", type=int, default=256,
                   help="envs of the sampled rollout whose advantages by action the report shows (0: none)")
    p.add_argument("--advantage-steps", type=int, default=256, help="steps of that rollout (default 256)")
    a = p.parse_args(argv)
    names = () if a.baselines == "none" else tuple(x for x in a.baselines.split(",") if x)
    bad = [n for n in names if n not in scripted.SCRIPTED]
    if bad:
        return print_problems(ConfigError([f"--baselines: {bad[0]!r}; allowed: {', '.join(scripted.SCRIPTED)}, none"]))
    if a.episodes < 1:
        return print_problems(ConfigError([f"--episodes: {a.episodes}; allowed: a positive integer"]))
    for flag, v in (("--advantage-envs", a.advantage_envs), ("--advantage-steps", a.advantage_steps)):
        if v < 0:
            return print_problems(ConfigError([f"{flag}: {v}; allowed: an integer >= 0"]))
    if a.steps is not None and a.steps < 1:
        return print_problems(ConfigError([f"--steps: {a.steps}; allowed: a positive integer"]))
    try:
        over = env_param_overrides(a.env_param)
    except ConfigError as exc:
        return print_problems(exc)
    try:
        if a.run_dir:
            path = learning_report.write_report(a.run_dir, episodes=a.episodes, out=a.out, seed=a.seed,
                                                num_steps=a.steps, baselines=names, env_param_overrides=over,
                                                advantage_envs=a.advantage_envs,
                                                advantage_steps=a.advantage_steps)
        elif a.env or a.config:
            env_name, spec_params = a.env, {}
            if a.config:
                cfg = resolve(a.config, {"env.name": a.env} if a.env else {})
                env_name, spec_params = cfg.env.name, cfg.env.overrides()
            env, env_params = make(env_name, **spec_params)
            env_params = learning_report.override_params(env, env_params, over)
            pols = learning_report.baseline_policies(env, env_params, names)
            res = learning_report.play_episodes(env, env_params, pols, episodes=a.episodes, seed=a.seed,
                                                num_steps=a.steps)
            notes = [f"env {env_name} {_describe(spec_params, over)}, {a.episodes} episodes per policy, seed {a.seed}, same boards for every policy"]
            path = learning_report.write(res, a.out or "learning_report", "Baselines report", notes)
        else:
            p.error("give RUN_DIR, or --env NAME / --config SPEC.yaml for the baselines alone")
            return USAGE
    except UnknownEnvError as exc:
        return print_problems(ConfigError([f"--env: {exc}"]))
    except ConfigError as exc:
        return print_problems(exc)
    except ValueError as exc:  # an env the scripted policies cannot read
        return print_problems(ConfigError([str(exc)]))
    print(f"wrote {path}")
    print(open(path).read().split("## End of episodes")[0])
    return 0


def _describe(spec_params: Dict[str, Any], over: Dict[str, Any]) -> str:
    both = {**spec_params, **over}
    return "(params: " + ", ".join(f"{k}={v}" for k, v in sorted(both.items())) + ")" if both else "(default params)"


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
