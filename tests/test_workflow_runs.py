"""Sweeps, validation runs, curricula, ESS early stopping and run comparison on tiny CartPole runs
(4 envs x 16 steps, a few updates: each Trainer compiles in ~5 s on 2 cores)."""
import csv
import json
import os
import textwrap

import jax
import numpy as np
import pytest

import jitrl
import jitrl.training
from jitrl.cli.compare import main as compare_main
from jitrl.cli.sweep import main as sweep_main
from jitrl.cli.train import main as train_main
from jitrl.cli.validate import main as validate_main
from jitrl.training.runlog import read_metrics
from jitrl.workflow.monitoring import EssEarlyStop
from toys import ThreeRates

BASE = """
env: CartPole-v1
num_envs: 4
num_steps: 16
auto_scale: false
log_interval: 2
checkpoint_interval: 100
network: {kind: mlp, net_arch: [16, 16]}
"""


def write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(textwrap.dedent(text))
    return str(p)


@pytest.fixture
def counted_trainers(monkeypatch):
    """Records every Trainer built through ``jitrl.training.Trainer`` (kwargs and result)."""
    made = []
    Base = jitrl.training.Trainer

    class Counting(Base):
        def __init__(self, cfg, **kw):
            super().__init__(cfg, **kw)
            made.append({"trainer": self, "kwargs": kw})

        def run(self, *a, **k):
            res = super().run(*a, **k)
            made[-1 if made[-1]["trainer"] is self else [m["trainer"] for m in made].index(self)]["result"] = res
            return res

    monkeypatch.setattr(jitrl.training, "Trainer", Counting)
    return made


def test_smoke_sweep_two_variants_two_seeds_in_one_program(tmp_path, counted_trainers, capsys):
    write(tmp_path, "base.yaml", BASE)
    write(tmp_path, "ppo_sweep_a.yaml", "extends: base.yaml\nsweep_variant: a\nlearning_rate: 1.0e-3\n")
    write(tmp_path, "ppo_sweep_b.yaml", "extends: base.yaml\nsweep_variant: b\nent_coef: 0.05\ngamma: 0.9\n")
    out = tmp_path / "sweep"
    rc = sweep_main([str(tmp_path / "ppo_sweep_*.yaml"), "--mode", "smoke", "--seeds", "2", "--timesteps",
                     str(4 * 16 * 4), "--out", str(out)])
    assert rc == 0
    assert len(counted_trainers) == 1  # one Trainer call ...
    tr = counted_trainers[0]["trainer"]
    assert list(tr._compiled) == [2]  # ... compiling one program (chunks of log_interval = 2 updates)
    hp = counted_trainers[0]["kwargs"]["hparams"]
    np.testing.assert_allclose(np.asarray(hp.learning_rate), [1e-3, 1e-3, 2.5e-4, 2.5e-4], rtol=1e-6)
    np.testing.assert_allclose(np.asarray(hp.ent_coef), [0.01, 0.01, 0.05, 0.05], rtol=1e-6)
    np.testing.assert_allclose(np.asarray(hp.gamma), [0.99, 0.99, 0.9, 0.9], rtol=1e-6)
    res = counted_trainers[0]["result"]
    assert res.stop_reason == "done" and len(res.records[-1]["mean_episode_return_seeds"]) == 4
    # the state carries each row's hyperparameters: variants really trained with their own values
    np.testing.assert_allclose(np.asarray(res.state.hparams.ent_coef), [0.01, 0.01, 0.05, 0.05], rtol=1e-6)
    for f in ("sweep_summary.md", "sweep_summary.csv", "learning_curves.png"):
        assert (out / f).exists(), f
    rows = list(csv.DictReader(open(out / "sweep_summary.csv")))
    assert sorted(r["variant"] for r in rows) == ["a", "b"] and {r["program"] for r in rows} == {"0"}
    last = res.records[-1]["mean_episode_return_seeds"]
    by = {r["variant"]: r for r in rows}
    # variant a = rows 0, 1 and b = rows 2, 3 of the program: the summary's final return is their mean
    assert float(by["a"]["final_return_mean"]) == pytest.approx(np.mean(last[:2]))
    assert float(by["b"]["final_return_mean"]) == pytest.approx(np.mean(last[2:]))
    assert "Ranking" in capsys.readouterr().out


def test_structural_variants_run_as_separate_programs(tmp_path):
    from jitrl.config import resolve
    from jitrl.workflow.sweep import Variant, group_variants

    write(tmp_path, "base.yaml", BASE)
    a = write(tmp_path, "a.yaml", "extends: base.yaml\nlearning_rate: 1.0e-3\n")
    b = write(tmp_path, "b.yaml", "extends: base.yaml\nclip_range: 0.1\nmax_grad_norm: 1.0\n")
    c = write(tmp_path, "c.yaml", "extends: base.yaml\nupdate_epochs: 2\n")
    d = write(tmp_path, "d.yaml", "extends: base.yaml\nnetwork: {net_arch: [32]}\n")
    groups = group_variants([Variant(p, p, resolve(p)) for p in (a, b, c, d)])
    assert [[v.name for v in g] for g in groups] == [[a, b], [c], [d]]


VALIDATION = BASE + """
total_timesteps: 384
validation:
  - {config: update_epochs, op: "==", value: 4}
  - {metric: entropy, op: ">", value: 0.5}
  - {metric: mean_episode_return, op: ">", value: 5.0, by: 4}
"""


def test_validation_run_passes_met_criteria_and_fails_missed_ones(tmp_path, capsys):
    ok = write(tmp_path, "ok.yaml", VALIDATION)
    # a 2-action policy starts near log 2 = 0.69 entropy and CartPole pays ~1 per step (episodes >= 8 steps)
    rc = validate_main([ok, "--mode", "full", "--checkpoint-dir", str(tmp_path), "--run-name", "ok", "--seeds", "1"])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert out.count("PASS") >= 4 and "FAIL" not in out
    report = tmp_path / "ok" / "validation_report.md"
    assert report.exists() and "PASS" in report.read_text()
    extra = ['  - {metric: mean_episode_return, op: ">", value: 1.0e6, by: 4}',
             '  - {config: num_minibatches, op: "==", value: 8}',
             '  - {metric: entropy, op: ">", value: 0.5, through: 100}']
    bad = write(tmp_path, "bad.yaml", VALIDATION + "\n".join(extra) + "\n")
    rc = validate_main([bad, "--mode", "smoke", "--timesteps", "384", "--checkpoint-dir", str(tmp_path),
                        "--run-name", "bad", "--seeds", "1"])
    out = capsys.readouterr().out
    assert rc == 1
    rows = {line.split("  ")[0]: line for line in out.splitlines() if " by update " in line or "config" in line
            or "through" in line}
    fail_ret = next(v for k, v in rows.items() if "1000000" in k)
    assert "FAIL" in fail_ret and "never met by update 4" in fail_ret
    assert "FAIL" in next(v for k, v in rows.items() if k.startswith("num_minibatches"))
    assert "SHORT" in next(v for k, v in rows.items() if "through update 100" in k)  # smoke: undecided, not FAIL
    assert json.load(open(tmp_path / "bad" / "validation.json"))["passed"] is False


def test_two_stage_curriculum_hands_parameters_on_and_resumes(tmp_path, counted_trainers, capsys):
    write(tmp_path, "s1.yaml", BASE + "total_timesteps: 256\nnum_seeds: 2\n")
    write(tmp_path, "s2.yaml", BASE + "total_timesteps: 128\nlearning_rate: 1.0e-4\nnum_seeds: 1\n")
    cur = write(tmp_path, "cur.yaml", """
        name: tiny
        stages:
          - spec: s1.yaml
          - spec: s2.yaml
    """)
    d = tmp_path / "runs" / "c"
    # stage 1 only, then resume the curriculum: stage 1 is skipped, stage 2 starts from its parameters
    assert train_main(["--curriculum", cur, "--stage", "1", "--checkpoint-dir", str(tmp_path / "runs"),
                       "--run-name", "c", "--quiet"]) == 0
    state = json.load(open(d / "curriculum_state.json"))
    assert [s["status"] for s in state["stages"]] == ["done", "pending"]
    assert train_main(["--resume", str(d), "--quiet"]) == 0
    assert len(counted_trainers) == 2
    first, second = counted_trainers
    seed = json.load(open(d / "curriculum_state.json"))["stages"][0]["transfer_seed"]
    final_rows = first["result"].state.params  # [2 seeds, ...]
    init = second["kwargs"]["initial_params"]
    la = jax.tree_util.tree_leaves(jax.tree_util.tree_map(lambda x: x[seed], final_rows))
    lb = jax.tree_util.tree_leaves(init)
    assert len(la) == len(lb) > 0 and all(np.array_equal(np.asarray(a), np.asarray(b)) for a, b in zip(la, lb))
    # and the second stage's runner state really starts from them
    start = second["trainer"].init_state().params
    assert all(np.array_equal(np.asarray(a)[0], np.asarray(b))
               for a, b in zip(jax.tree_util.tree_leaves(start), lb))
    state = json.load(open(d / "curriculum_state.json"))
    assert [s["status"] for s in state["stages"]] == ["done", "done"]
    assert state["stages"][1]["from_params"].endswith("stage1_s1/final_params.msgpack")
    # compare the two stages' runs side by side
    assert compare_main([str(d / "stage1_s1"), str(d / "stage2_s2"), "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "stage1_s1" in out and "stage2_s2" in out and (tmp_path / "comparison.png").exists()


# --- ESS early stopping ---------------------------------------------------------------
def test_ess_callback_counts_consecutive_low_logs():
    cb = EssEarlyStop(0.3, 3)
    seq = [0.2, 0.1, 0.5, 0.2, None, 0.25, 0.1]  # None (no ESS logged) neither counts nor resets
    out = [cb({"update": i + 1, "ess": v}) for i, v in enumerate(seq)]
    assert out[:6] == [None] * 6 and out[6] is not None
    assert "updates 4-7" in out[6] and "lowest 0.100" in out[6]
    assert EssEarlyStop(0.3, 2).prime([{"update": 1, "ess": 0.1}])({"update": 2, "ess": 0.1}) is not None


def test_ess_early_stop_triggers_below_threshold(tmp_path, capsys):
    jitrl.register("three-rates", ThreeRates)
    common = ["--env", "three-rates", "--num-envs", "4", "--num-steps", "16", "--total-timesteps", str(64 * 8),
              "--log-interval", "1", "--no-auto-scale", "--checkpoint-dir", str(tmp_path), "--num-seeds", "1",
              "--ess-patience", "3"]
    # ESS ratio <= 1 always, so a threshold of 1.01 is missed on every log: stop after the 3rd
    assert train_main(common + ["--run-name", "low", "--ess-threshold", "1.01"]) == 0
    out = capsys.readouterr().out
    assert "Stopping early: mean ESS below ess_threshold 1.01 for 3 consecutive logs (updates 1-3" in out
    recs = read_metrics(str(tmp_path / "low"))
    assert [r["update"] for r in recs] == [1, 2, 3] and all(r["ess"] <= 1.0 for r in recs)
    ckpts = sorted(int(x) for x in os.listdir(tmp_path / "low" / "checkpoints") if x.isdigit())
    assert ckpts[-1] == 3  # the checkpoint is kept
    # threshold 0 (off): the same run goes to the end
    assert train_main(common + ["--run-name", "off", "--ess-threshold", "0", "--quiet"]) == 0
    assert read_metrics(str(tmp_path / "off"))[-1]["update"] == 8
