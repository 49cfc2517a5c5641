"""scripts/watch_jax_agent.py: plays a saved policy or a random one, prints the
per-episode summary, writes a GIF of the env's RGB frames."""
import os

import imageio.v2 as imageio
import numpy as np

from jitrl.config import resolve
from jitrl.cli.watch import main as watch_main
from jitrl.training import Trainer
from jitrl.training.checkpoint import latest_run


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


def test_watch_latest_picks_the_run_with_the_newest_checkpoint(tmp_path, capsys):
    cfg = resolve(None, {"env.name": "CartPole-v1", "num_envs": "4", "num_steps": "16", "total_timesteps": "64",
                         "checkpoint_dir": str(tmp_path), "run_name": "trained", "auto_scale": "false"})
    Trainer(cfg, quiet=True).run()
    # an older run (its checkpoint an hour older) and a newer directory without any checkpoint
    older = tmp_path / "older"
    (older / "checkpoints" / "7").mkdir(parents=True)
    (older / "config.yaml").write_text("env:\n  name: CartPole-v1\n")
    hour_ago = os.path.getmtime(tmp_path / "trained" / "checkpoints" / "1") - 3600
    os.utime(older / "checkpoints" / "7", (hour_ago, hour_ago))
    (tmp_path / "empty" / "checkpoints").mkdir(parents=True)
    (tmp_path / "empty" / "config.yaml").write_text("env:\n  name: CartPole-v1\n")
    assert latest_run(str(tmp_path)) == str(tmp_path / "trained")
    rc = watch_main(["--latest", "--checkpoint-dir", str(tmp_path), "--episodes", "1", "--max-steps", "5",
                     "--no-show"])
    assert rc == 0 and f"{tmp_path / 'trained'}: CartPole-v1, checkpoint at update 1" in capsys.readouterr().out
    # newer again: the older run's checkpoint touched now
    os.utime(older / "checkpoints" / "7")
    assert latest_run(str(tmp_path)) == str(older)
    assert watch_main(["--latest", "--checkpoint-dir", str(tmp_path / "empty")]) == 2
    assert "holds no run with a checkpoint" in capsys.readouterr().err
