"""``scripts/watch_jax_agent.py``: watch a trained (or random) agent play in the
terminal, or write the replay as a GIF. Exit codes: 0 done, 2 a bad flag or path."""
from __future__ import annotations

import os
import sys
from typing import List, Optional

from jitrl.cli.common import USAGE, CleanParser, guarded, print_problems
from jitrl.config import ConfigError, load_saved
from jitrl.envs import UnknownEnvError, make
from jitrl.training import CONFIG_FILE
from jitrl.training.checkpoint import latest_run
from jitrl.training.replay import can_render, load_policy, play, write_gif

#: the seeds ``jax.random.PRNGKey`` tells apart (without x64)
MAX_SEED = 2**32 - 1


def check_flags(a) -> List[str]:
    """Problems with the numeric flags and the --gif path (before anything is loaded or played)."""
    p: List[str] = []
    if a.episodes < 1:
        p.append(f"--episodes: {a.episodes} -- an integer >= 1")
    if a.max_steps < 1:
        p.append(f"--max-steps: {a.max_steps} -- an integer >= 1")
    if not 0 <= a.seed <= MAX_SEED:
        p.append(f"--seed: {a.seed} -- an integer in [0, {MAX_SEED}]")
    if not a.delay >= 0:
        p.append(f"--delay: {a.delay} -- seconds >= 0")
    if a.gif:
        folder = os.path.dirname(os.path.abspath(a.gif))
        if os.path.isdir(a.gif):
            p.append(f"--gif: {a.gif!r} -- a folder; give a file name, e.g. {os.path.join(a.gif, 'replay.gif')}")
        elif not os.path.isdir(folder):
            p.append(f"--gif: {a.gif!r} -- the folder {folder} does not exist; create it or give another path")
        elif not os.access(folder, os.W_OK):
            p.append(f"--gif: {a.gif!r} -- the folder {folder} is not writable")
    return p


@guarded
def main(argv: Optional[List[str]] = None) -> int:
    p = CleanParser(prog="watch_jax_agent.py", description="Watch a trained (or random) agent play.")
    p.add_argument("--checkpoint", metavar="RUN_DIR", help="a run directory written by train_purejaxrl.py")
    p.add_argument("--latest", action="store_true",
                   help="watch the run under --checkpoint-dir whose newest checkpoint was written last")
    p.add_argument("--checkpoint-dir", default="checkpoints", help="where --latest looks for runs")
    p.add_argument("--env", help="env to play with --random (default: the run's env)")
    p.add_argument("--episodes", type=int, default=3)
    p.add_argument("--max-steps", type=int, default=500)
    g = p.add_mutually_exclusive_group()
    g.add_argument("--greedy", action="store_true", help="take the most probable action (default)")
    g.add_argument("--sample", action="store_true", help="sample actions from the policy")
    g.add_argument("--random", action="store_true", help="uniform over legal actions (no checkpoint needed)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--delay", type=float, default=0.3, help="seconds between frames in the terminal")
    p.add_argument("--gif", metavar="OUT.gif", help="also write the replay as an animated GIF")
    p.add_argument("--no-show", action="store_true", help="don't animate in the terminal (summaries only)")
    a = p.parse_args(argv)
    if a.latest and a.checkpoint:
        p.error("give --checkpoint RUN_DIR or --latest, not both")
    try:
        problems = check_flags(a)
        if problems:
            raise ConfigError(problems)
        if a.latest:
            a.checkpoint = latest_run(a.checkpoint_dir)
        if a.checkpoint:
            saved = os.path.join(a.checkpoint, CONFIG_FILE)
            env_name = load_saved(saved).env.name if os.path.isfile(saved) else None
            if a.env and env_name and a.env != env_name:
                raise ConfigError([f"--env: {a.env!r} -- {a.checkpoint} holds a {env_name} agent; leave --env "
                                   f"out (a checkpoint plays its own env) or give --env {env_name}"])
            cfg, env, env_params, network, params, meta = load_policy(a.checkpoint)
            print(f"{a.checkpoint}: {cfg.env.name}, checkpoint at update {meta.get('update')}")
        elif a.random and a.env:
            env, env_params = make(a.env)
            network, params = None, None
        else:
            p.error("give --checkpoint RUN_DIR, or --random with --env NAME")
            return USAGE
        if a.gif and not can_render(env, env_params):
            raise ConfigError([f"--gif: {a.gif!r} -- this env ({a.env or cfg.env.name}) has no RGB renderer, so no GIF "
                               f"can be written; leave --gif out"])
    except UnknownEnvError as exc:
        return print_problems(ConfigError([f"--env: {exc}"]))
    except ConfigError as exc:
        return print_problems(exc)
    mode = "random" if a.random else ("sample" if a.sample else "greedy")
    res = play(env, env_params, network, params, episodes=a.episodes, max_steps=a.max_steps, mode=mode,
               seed=a.seed, delay=0.0 if a.no_show else a.delay, show=not a.no_show,
               collect_frames=bool(a.gif))
    if a.gif:
        try:
            write_gif(res["frames"], a.gif, fps=1.0 / a.delay if a.delay > 0 else 4.0)
        except (ValueError, OSError) as exc:
            return print_problems(ConfigError([f"--gif: {a.gif!r} -- {exc}"]))
        print(f"wrote {a.gif} ({len(res['frames'])} frames)")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
