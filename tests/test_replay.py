"""scripts/watch_jax_agent.py: plays a saved policy or a random one, prints the
per-episode summary, writes a GIF of the env's RGB frames."""
import os

import imageio.v2 as imageio
import numpy as np

from jitrl.config import resolve
from jitrl.cli.watch import main as watch_main
from jitrl.training import Trainer


def test_watch_a_trained_checkpoint(tmp_path, capsys):
    cfg = resolve(None, {"env.name": "CartPole-v1", "num_envs": "4", "num_steps": "16", "total_timesteps": "128",
                         "checkpoint_dir": str(tmp_path), "run_name": "cp", "auto_scale": "false",
                         "num_seeds": "2"})
    Trainer(cfg, quiet=True).run()
    rc = watch_main(["--checkpoint", str(tmp_path / "cp"), "--episodes", "2", "--no-show", "--sample"])
    out = capsys.readouterr().out
    assert rc == 0
    assert "checkpoint at update 2" in out
    lines = [line for line in out.splitlines() if line.startswith("episode: ")]
    assert len(lines) == 2 and all("steps: " in line and "return: " in line for line in lines)


def test_watch_random_hackmatrix_writes_gif_and_summary(tmp_path, capsys):
    gif = tmp_path / "hm.gif"
    rc = watch_main(["--random", "--env", "hackmatrix", "--episodes", "1", "--max-steps", "12", "--no-show",
                     "--gif", str(gif)])
    out = capsys.readouterr().out
    assert rc == 0
    summary = [line for line in out.splitlines() if line.startswith("episode: 1")][0]
    for key in ("steps:", "return:", "highest_stage:", "programs_used:", "siphons_used:", "cause:"):
        assert key in summary, (key, summary)
    frames = imageio.mimread(str(gif))
    steps = int(summary.split("steps: ")[1].split()[0])
    assert len(frames) == steps + 1 and np.asarray(frames[0]).ndim == 3


def test_watch_needs_a_checkpoint_or_random_env(capsys):
    try:
        watch_main(["--episodes", "1"])
    except SystemExit as e:
        assert e.code == 2
    else:
        raise AssertionError("expected a usage error")
    assert watch_main(["--checkpoint", "/nonexistent/run"]) == 2
    assert "not a run directory" in capsys.readouterr().err
