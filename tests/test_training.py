"""The host loop: exact resume, determinism, Ctrl-C, NaN stop, devices, config errors."""
import json
import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import jitrl
from jitrl.cli.train import main as train_main
from jitrl.cli.watch import main as watch_main
from jitrl.config import resolve
from jitrl.training import Trainer
from jitrl.training.runlog import read_metrics
from toys import NanAfter, Painter, leaves_equal, strip



def small_cfg(tmp_path, name="run", **flags):
    base = {
        "env.name": "CartPole-v1", "num_envs": "4", "num_steps": "16", "total_timesteps": str(4 * 16 * 8),
        "log_interval": "2", "checkpoint_interval": "2", "checkpoint_dir": str(tmp_path), "run_name": name,
        "auto_scale": "false", "num_seeds": "2",
    }
    base.update({k: str(v) for k, v in flags.items()})
    return resolve(None, base)


def test_same_seed_identical_and_resume_after_ctrl_c_equals_no_stop(tmp_path):
    full = Trainer(small_cfg(tmp_path, "full"), quiet=True).run()
    assert full.stop_reason == "done" and full.records[-1]["update"] == 8
    again = Trainer(small_cfg(tmp_path, "again"), quiet=True).run()
    assert strip(again.records) == strip(full.records)
    assert leaves_equal(again.state.params, full.state.params)

    # Ctrl-C during update 4's chunk: the loop finishes the chunk, saves, stops.
    def press_ctrl_c(rec):
        if rec["update"] == 4:
            os.kill(os.getpid(), signal.SIGINT)
        return None

    cut = Trainer(small_cfg(tmp_path, "cut"), quiet=True, callbacks=[press_ctrl_c]).run()
    assert cut.stop_reason == "interrupted" and cut.last_checkpoint == 4
    rc = train_main(["--resume", os.path.join(str(tmp_path), "cut"), "--quiet"])
    assert rc == 0
    resumed = read_metrics(os.path.join(str(tmp_path), "cut"))
    assert [r["update"] for r in resumed] == [2, 4, 6, 8]
    assert strip(resumed) == strip(read_metrics(os.path.join(str(tmp_path), "full")))
    # the final checkpoints hold bitwise-equal states
    from jitrl.training.checkpoint import CheckpointStore

    a, _ = CheckpointStore(os.path.join(str(tmp_path), "full")).restore(full.state)
    b, meta = CheckpointStore(os.path.join(str(tmp_path), "cut")).restore(full.state)
    assert meta["update"] == 8
    assert leaves_equal(a, b)


def _damage(step_dir, how):
    """Truncate every data file of a checkpoint step to half, or overwrite its metadata with garbage."""
    if how == "truncate":
        for d, _, files in os.walk(os.path.join(step_dir, "state")):
            for f in files:
                if os.path.basename(d) == "d":
                    path = os.path.join(d, f)
                    with open(path, "r+b") as fh:
                        fh.truncate(os.path.getsize(path) // 2)
    else:
        with open(os.path.join(step_dir, "state", "_METADATA"), "wb") as fh:
            fh.write(b"\x00garbage{")


def test_damaged_newest_checkpoints_fall_back_to_an_older_one(tmp_path, capsys):
    full = Trainer(small_cfg(tmp_path, "whole"), quiet=True).run()
    paused = Trainer(small_cfg(tmp_path, "dmg"), quiet=True).run(max_updates=6)
    assert paused.stop_reason == "paused" and paused.last_checkpoint == 6
    ckdir = os.path.join(str(tmp_path), "dmg", "checkpoints")
    assert sorted(x for x in os.listdir(ckdir) if x.isdigit()) == ["2", "4", "6"]
    _damage(os.path.join(ckdir, "6"), "truncate")
    _damage(os.path.join(ckdir, "4"), "garble")
    capsys.readouterr()
    # watching the run reads the newest good checkpoint too, and leaves the damaged ones in place
    assert watch_main(["--checkpoint", os.path.join(str(tmp_path), "dmg"), "--episodes", "1", "--no-show"]) == 0
    out = capsys.readouterr()
    assert "checkpoint at update 2" in out.out and "falling back to step 2" in out.err
    assert sorted(x for x in os.listdir(ckdir) if x.isdigit()) == ["2", "4", "6"]
    assert train_main(["--resume", os.path.join(str(tmp_path), "dmg"), "--quiet"]) == 0
    err = capsys.readouterr().err
    # each damaged step is named, with why, and what comes instead
    assert f"checkpoint {ckdir}/6 cannot be read (" in err and "falling back to step 4" in err, err
    assert f"checkpoint {ckdir}/4 cannot be read (" in err and "falling back to step 2" in err, err
    assert f"{ckdir}/6.damaged" in err and "Traceback" not in err
    # the damaged steps are kept aside; the run went on from step 2 exactly as an uninterrupted run
    assert {"6.damaged", "4.damaged", "8"} <= set(os.listdir(ckdir))
    resumed = read_metrics(os.path.join(str(tmp_path), "dmg"))
    assert [r["update"] for r in resumed] == [2, 4, 6, 8]
    assert strip(resumed) == strip(full.records)
    from jitrl.training.checkpoint import CheckpointStore

    b, meta = CheckpointStore(os.path.join(str(tmp_path), "dmg")).restore(full.state)
    assert meta["update"] == 8 and leaves_equal(b, full.state)


def test_no_readable_checkpoint_is_one_message_per_step(tmp_path, capsys):
    Trainer(small_cfg(tmp_path, "gone", total_timesteps=4 * 16 * 4), quiet=True).run()
    ckdir = os.path.join(str(tmp_path), "gone", "checkpoints")
    steps = sorted(x for x in os.listdir(ckdir) if x.isdigit())
    for st in steps:
        _damage(os.path.join(ckdir, st), "truncate")
    capsys.readouterr()
    assert train_main(["--resume", os.path.join(str(tmp_path), "gone"), "--quiet"]) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error: ")]
    assert [f"{ckdir}/{st}: cannot be read" in " ".join(err) for st in steps] == [True] * len(steps)
    assert err[-1] == f"error: {ckdir}: no checkpoint can be read"
    assert sorted(x for x in os.listdir(ckdir) if x.isdigit()) == steps  # nothing set aside when nothing reads


def test_run_directory_contents(tmp_path):
    res = Trainer(small_cfg(tmp_path, "r", total_timesteps=4 * 16 * 4), quiet=True).run()
    d = res.run_dir
    assert sorted(os.listdir(d)) == ["checkpoints", "config.yaml", "metrics.jsonl", "tb"]
    rec = read_metrics(d)[-1]
    for key in ("update", "env_steps", "sps", "elapsed_s", "approx_kl", "clip_frac", "entropy", "policy_loss",
                "value_loss", "explained_variance", "grad_norm", "learning_rate", "mean_episode_return",
                "mean_episode_length"):
        assert key in rec, key
    assert any(f.startswith("events.out.tfevents") for f in os.listdir(os.path.join(d, "tb")))
    text = open(os.path.join(d, "config.yaml")).read()
    assert "num_envs: 4  # flag" in text and "gamma: 0.99  # default" in text
    # the saved config resolves back to the same values
    again = resolve(os.path.join(d, "config.yaml"))
    assert again.ppo == res_cfg(tmp_path).ppo


def res_cfg(tmp_path):
    return small_cfg(tmp_path, "r", total_timesteps=4 * 16 * 4)


def test_refuses_to_overwrite_a_run(tmp_path, capsys):
    Trainer(small_cfg(tmp_path, "x", total_timesteps=64 * 2), quiet=True).run()
    rc = train_main(["--env", "CartPole-v1", "--num-envs", "4", "--num-steps", "16", "--checkpoint-dir",
                     str(tmp_path), "--run-name", "x", "--quiet", "--total-timesteps", "128"])
    assert rc == 2
    assert "already holds a run" in capsys.readouterr().err


# --- NaN handling -------------------------------------------------------------------
def test_nan_stops_run_and_keeps_last_good_checkpoint(tmp_path, capsys):
    jitrl.register("nan-test", NanAfter)
    # 16 steps per update: the env crosses 200 steps in update 13
    rc = train_main(["--env", "nan-test", "--num-envs", "4", "--num-steps", "16", "--total-timesteps",
                     str(4 * 16 * 40), "--log-interval", "2", "--checkpoint-interval", "4", "--no-auto-scale",
                     "--checkpoint-dir", str(tmp_path), "--run-name", "n", "--num-seeds", "1"])
    out = capsys.readouterr()
    assert rc == 1
    assert "NaN/inf in the loss or parameters at update 13" in out.out + out.err
    ckpts = sorted(int(x) for x in os.listdir(os.path.join(str(tmp_path), "n", "checkpoints")) if x.isdigit())
    assert ckpts[-1] == 12
    assert max(r["update"] for r in read_metrics(os.path.join(str(tmp_path), "n"))) == 12


# --- config errors -----------------------------------------------------------------
def test_bad_flag_value_one_line_exit_2(capsys):
    rc = train_main(["--num-envs", "abc", "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1
    assert "--num-envs" in err[0] and "'abc'" in err[0] and "integer" in err[0]


def test_unknown_flag_exit_2(capsys):
    with pytest.raises(SystemExit) as e:
        train_main(["--learning-rat", "1e-3"])
    assert e.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "unrecognized arguments" in err[0]


def test_bad_spec_lists_every_problem(tmp_path, capsys):
    spec = tmp_path / "bad.yaml"
    spec.write_text(textwrap.dedent("""
        env: CartPole-v1
        num_envs: 100
        num_steps: 10
        num_minibatches: 7
        gamma: 1.5
        network: {activation_fn: sigmoid}
        lerning_rate: 0.1
    """))
    rc = train_main(["--config", str(spec), "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2
    assert any("lerning_rate: unknown key" in e for e in err)
    spec.write_text(spec.read_text().replace("lerning_rate: 0.1\n", ""))
    rc = train_main(["--config", str(spec), "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2
    assert any("gamma: 1.5" in e and "[0, 1]" in e for e in err), err
    assert any("network.activation_fn: 'sigmoid'" in e for e in err), err
    spec.write_text(spec.read_text().replace("gamma: 1.5\n", "").replace("{activation_fn: sigmoid}", "{activation_fn: relu}"))
    rc = train_main(["--config", str(spec), "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1
    assert "num_minibatches: 7" in err[0] and "must divide" in err[0] and "1000" in err[0]
    assert all(str(spec) in e for e in err)


def test_precedence_default_autoscale_file_flag(tmp_path):
    spec = tmp_path / "s.yaml"
    spec.write_text("env: CartPole-v1\nnum_envs: 2048\nnum_steps: 128\nupdate_epochs: 3\n")  # 8 x the reference batch
    cfg = resolve(str(spec), {"ent_coef": "0.05"})
    assert cfg.ppo.num_minibatches == 32 and cfg.source("num_minibatches") == "auto-scale"
    assert cfg.ppo.update_epochs == 3 and cfg.source("update_epochs") == f"file:{spec}"
    assert cfg.ppo.learning_rate == pytest.approx(2.5e-4 * 16 / (32 * 3))
    assert cfg.ppo.ent_coef == 0.05 and cfg.source("ent_coef") == "flag"
    assert cfg.source("gamma") == "default"
    off = resolve(str(spec), {"auto_scale": "false"})
    assert (off.ppo.num_minibatches, off.ppo.learning_rate) == (4, 2.5e-4)


# --- devices -------------------------------------------------------------------------
_DEVICE_SCRIPT = textwrap.dedent("""
    import json, sys, jax, numpy as np
    from jitrl.config import resolve
    from jitrl.training import Trainer
    cfg = resolve(None, {"env.name": "CartPole-v1", "num_envs": "8", "num_steps": "16",
                         "total_timesteps": str(8 * 16 * 3), "log_interval": "3", "checkpoint_dir": sys.argv[1],
                         "run_name": "d", "num_seeds": "2", "auto_scale": "false"})
    res = Trainer(cfg, quiet=True).run()
    leaves = [np.asarray(x, np.float64).ravel() for x in jax.tree_util.tree_leaves(res.state.params)]
    rec = res.records[-1]
    print(json.dumps({"devices": jax.device_count(), "params": np.concatenate(leaves).tolist(),
                      "metrics": {k: rec[k] for k in ("approx_kl", "value_loss", "entropy", "policy_loss")}}))
""")


def _run_devices(tmp_path, n):
    env = dict(os.environ, XLA_FLAGS=f"--xla_force_host_platform_device_count={n}", JAX_PLATFORMS="cpu")
    out = subprocess.run([sys.executable, "-c", _DEVICE_SCRIPT, str(tmp_path / f"dev{n}")], env=env,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_two_forced_cpu_devices_match_one(tmp_path):
    one, two = _run_devices(tmp_path, 1), _run_devices(tmp_path, 2)
    assert (one["devices"], two["devices"]) == (1, 2)
    # Same keys and data; only the order of float reductions differs across devices.
    np.testing.assert_allclose(two["params"], one["params"], rtol=1e-4, atol=1e-5)
    for k, v in one["metrics"].items():
        assert two["metrics"][k] == pytest.approx(v, rel=1e-3, abs=1e-5), k


# --- the final policy's replay ------------------------------------------------------
def test_final_policy_replay_gif_in_run_and_tensorboard(tmp_path):
    import imageio.v2 as imageio

    jitrl.register("painter-test", Painter)
    res = Trainer(small_cfg(tmp_path, "p", **{"env.name": "painter-test", "total_timesteps": 4 * 16 * 2}),
                  quiet=True).run()
    assert res.stop_reason == "done"
    frames = imageio.mimread(os.path.join(res.run_dir, "replay.gif"))
    # reset frame + 5 steps, the last one showing t = 5
    assert len(frames) == 6 and frames[0].shape[:2] == (4, 6)
    assert int(np.asarray(frames[-1])[0, 0, 0]) == 200
    tb = os.path.join(res.run_dir, "tb")
    blob = b"".join(open(os.path.join(tb, f), "rb").read() for f in os.listdir(tb) if "tfevents" in f)
    assert b"replay/final_policy" in blob and b"GIF89a" in blob
    # envs that cannot render get no replay
    assert not os.path.exists(os.path.join(Trainer(small_cfg(tmp_path, "q", total_timesteps=128), quiet=True).run().run_dir,
                                           "replay.gif"))


# --- console progress within a chunk ------------------------------------------------
def test_progress_lines_come_within_a_chunk(tmp_path, capsys):
    """A host callback after each update prints a line before the chunk's log line."""
    res = Trainer(small_cfg(tmp_path, "prog", log_interval=4, progress_seconds=0)).run()
    assert res.stop_reason == "done"
    lines = [ln for ln in capsys.readouterr().out.splitlines() if ln.lstrip().lower().startswith("update ")]
    heads = [ln.split("|")[0].strip() for ln in lines]
    # updates 1-3 report from inside the first chunk, before its log line "Update 4/8"; the same in the second
    assert heads == ["update 1/8", "update 2/8", "update 3/8", "Update 4/8",
                     "update 5/8", "update 6/8", "update 7/8", "Update 8/8"], heads
    assert "| step 192 |" in lines[2]  # 3 updates x 4 envs x 16 steps, per seed
    # the run's first update always prints, even with lines far apart
    capsys.readouterr()
    Trainer(small_cfg(tmp_path, "prog2", log_interval=4, progress_seconds=3600)).run()
    heads = [ln.split("|")[0].strip() for ln in capsys.readouterr().out.splitlines()
             if ln.lstrip().lower().startswith("update ")]
    assert heads == ["update 1/8", "Update 4/8", "Update 8/8"], heads


def test_progress_averages_every_seed_of_an_update():
    """The host side of the callback: an update is printed once all its seeds reported,
    with the episode-weighted return of the chunk so far and the seeds' mean KL."""
    from jitrl.training.progress import Progress

    out = []
    prog = Progress(out.append, num_updates=10, batch=100, num_seeds=2, every_s=0)
    prog.start_chunk(0, 5)
    prog(1, {"episodes": 2.0, "mean_episode_return": 1.0, "approx_kl": 0.01, "entropy": 1.0})
    assert out == []  # one seed of two
    prog(1, {"episodes": 0.0, "mean_episode_return": float("nan"), "approx_kl": 0.03, "entropy": 2.0})
    prog(2, {"episodes": 1.0, "mean_episode_return": 4.0, "approx_kl": 0.0, "entropy": 1.0})
    prog(2, {"episodes": 1.0, "mean_episode_return": 7.0, "approx_kl": 0.0, "entropy": 1.0})
    prog(5, {"episodes": 1.0, "mean_episode_return": 7.0, "approx_kl": 0.0, "entropy": 1.0})
    prog(5, {"episodes": 1.0, "mean_episode_return": 7.0, "approx_kl": 0.0, "entropy": 1.0})
    assert len(out) == 2  # update 5 ends the chunk: its log line follows, no progress line
    assert "update 1/10 | step 100 |" in out[0] and "return 1.00 (2 episodes" in out[0] and "KL 0.02" in out[0]
    assert "entropy 1.50" in out[0]
    assert "update 2/10 | step 200 |" in out[1] and "return 3.25 (4 episodes" in out[1]  # (2 x 1 + 4 + 7) / 4
