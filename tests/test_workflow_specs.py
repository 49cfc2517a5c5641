"""Spec files, validation criteria and curriculum files: loading, mistakes, precedence (no training)."""
import glob
import os
import textwrap

import pytest

from jitrl.cli.validate import main as validate_main
from jitrl.config import ConfigError, resolve
from jitrl.config import criteria as C
from jitrl.workflow import validation as V
from jitrl.workflow.curriculum import check_curriculum, is_curriculum_file, load_curriculum

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SPECS = sorted(glob.glob(os.path.join(ROOT, "specs", "*", "*.yaml")))


def write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(textwrap.dedent(text))
    return str(p)


def test_every_shipped_spec_validates():
    names = {os.path.relpath(p, ROOT) for p in SPECS}
    for need in ("specs/hackmatrix/ppo_agent_v1.yaml", "specs/hackmatrix/ppo_agent_v2.yaml",
                 "specs/kmc_tio2/stage1_small.yaml", "specs/kmc_tio2/stage2_medium.yaml",
                 "specs/kmc_tio2/stage3_large.yaml", "specs/kmc_tio2/curriculum.yaml",
                 "specs/hackmatrix/curriculum.yaml", "specs/cartpole/ppo_cartpole_v1.yaml") + tuple(
            f"specs/hackmatrix/ppo_agent_sweep_{v}.yaml" for v in ("lr_high", "lr_low", "gamma_high", "ent_high")):
        assert need in names, need
    for p in SPECS:
        if is_curriculum_file(p):
            check_curriculum(p)  # resolves every stage's spec, env construction included
        else:
            cfg = resolve(p)  # constructs the env with the spec's params
            C.parse_criteria(cfg.extra("validation"))
            base = os.path.basename(p)
            assert base == f"{cfg.meta.agent_id}_v{cfg.meta.version}.yaml" or (
                base == f"{cfg.meta.agent_id}_sweep_{cfg.meta.sweep_variant}.yaml") or "stage" in base, base
    assert validate_main(["--check"] + SPECS) == 0


def test_seed_values_resolve():
    v2 = resolve(os.path.join(ROOT, "specs/hackmatrix/ppo_agent_v2.yaml"))
    p = v2.ppo
    # the HackMatrix tuning spec: 2048 x 128 -> 32 minibatches x 2 epochs (the raised floor), LR 6.25e-5, ent 0.15
    assert (p.num_envs, p.num_steps, p.num_minibatches, p.update_epochs) == (2048, 128, 32, 2)
    assert p.learning_rate == pytest.approx(6.25e-5) and p.ent_coef == pytest.approx(0.15)
    assert v2.source("update_epochs") == "auto-scale" and v2.source("learning_rate").startswith("file:")
    labels = [c.label() for c in C.parse_criteria(v2.extra("validation"))]
    assert any("approx_kl < 0.06" in s for s in labels) and any("-1.5" in s and "1000" in s for s in labels)
    for name, lattice, envs, lr, ent, total in (("stage1_small", (8, 8, 5), 8, 3e-4, 0.01, 100_000),
                                                ("stage2_medium", (20, 20, 10), 8, 1e-4, 0.005, 500_000),
                                                ("stage3_large", (50, 50, 20), 4, 3e-5, 0.001, 1_000_000)):
        cfg = resolve(os.path.join(ROOT, f"specs/kmc_tio2/{name}.yaml"))
        assert tuple(cfg.env.overrides()["lattice_size"]) == lattice
        assert cfg.ppo.num_envs == envs and cfg.ppo.learning_rate == pytest.approx(lr)
        assert cfg.ppo.ent_coef == pytest.approx(ent) and cfg.run.total_timesteps == total
        assert cfg.ppo.minibatch_size == 64 and cfg.ppo.update_epochs == 10  # SB3 batch_size 64, n_epochs 10
        assert (cfg.run.ess_threshold, cfg.run.ess_patience) == (0.3, 10)
    sweep = [resolve(p) for p in sorted(glob.glob(os.path.join(ROOT, "specs/hackmatrix/ppo_agent_sweep_*.yaml")))]
    from jitrl.workflow.sweep import group_variants, Variant

    assert len(group_variants([Variant(c.meta.sweep_variant, "", c) for c in sweep])) == 1  # one program


def test_each_kind_of_mistake_gets_its_own_line(tmp_path, capsys):
    bad = write(tmp_path, "bad.yaml", """
        env: CartPole-v1
        learning_rat: 1.0e-3
        num_envs: many
        gamma: 1.5
        num_steps: 10
        num_minibatches: 3
        network: {activation_fn: sigmoid}
        validation:
          - {metric: entropy, op: "=<", value: 1.0}
          - {config: no_such_key, op: "==", value: 2}
          - {metric: approx_kl, op: "<", value: 0.06, by: 10, final: true}
    """)
    with pytest.raises(ConfigError) as e:
        resolve(bad)
    lines = e.value.problems
    # an unknown key hides nothing: it is listed with every value problem (issue 14)
    assert sum("learning_rat: unknown key" in line for line in lines) == 1 and lines[0].startswith(bad)
    assert any("num_envs: 'many' -- an integer" in line for line in lines), lines
    # with the unknown key gone, every value problem is listed together, one line each
    text = open(bad).read().replace("learning_rat: 1.0e-3\n", "")
    open(bad, "w").write(text)
    assert validate_main(["--check", bad]) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line]
    want = ["num_envs: 'many' -- an integer", "gamma: 1.5 -- a float in [0, 1]",
            "network.activation_fn: 'sigmoid' -- one of", "validation[0].op: '=<' -- one of",
            "validation[2]: by, final -- at most one of"]
    for w in want:
        assert sum(w in line for line in err) == 1, (w, err)
    assert all(line.startswith(f"error: {bad}: ") for line in err)
    # divisibility and unknown config keys of criteria are judged once the values are valid
    write(tmp_path, "div.yaml", """
        env: CartPole-v1
        num_envs: 4
        num_steps: 10
        num_minibatches: 3
        auto_scale: false
        validation: [{config: no_such_key, op: "==", value: 2}]
    """)
    with pytest.raises(ConfigError) as e:
        resolve(str(tmp_path / "div.yaml"))
    assert any("validation[0].config: 'no_such_key' -- a spec key" in line for line in e.value.problems)
    text = (tmp_path / "div.yaml").read_text().replace("validation: [{config: no_such_key, op: \"==\", value: 2}]", "")
    (tmp_path / "div.yaml").write_text(text)
    with pytest.raises(ConfigError) as e:
        resolve(str(tmp_path / "div.yaml"))
    assert e.value.problems == [f"{tmp_path / 'div.yaml'}: num_minibatches: 3 -- must divide the batch "
                                f"num_envs x num_steps = 4 x 10 = 40"]
    # a missing parent and a bad env are named with their file
    write(tmp_path, "orphan.yaml", "extends: nowhere.yaml\n")
    with pytest.raises(ConfigError) as e:
        resolve(str(tmp_path / "orphan.yaml"))
    orphan = tmp_path / "orphan.yaml"
    assert e.value.problems == [f"{orphan}: extends: 'nowhere.yaml' -- no such file ({tmp_path / 'nowhere.yaml'}); "
                                f"a path to another spec file, relative to {orphan}"]


def test_extends_and_precedence(tmp_path):
    write(tmp_path, "parent.yaml", """
        env: {name: CartPole-v1}
        num_envs: 1024
        num_steps: 64
        learning_rate: 2.0e-4
        ent_coef: 0.02
        gamma: 0.95
        validation: [{metric: entropy, op: ">", value: 0.1}]
    """)
    child = write(tmp_path, "child.yaml", """
        extends: parent.yaml
        ent_coef: 0.05
        update_epochs: 3
    """)
    cfg = resolve(child, {"gamma": "0.9"})
    par, chi = f"file:{tmp_path / 'parent.yaml'}", f"file:{child}"
    # default < auto-scale < parent file < child file < flag
    assert cfg.ppo.ent_coef == 0.05 and cfg.source("ent_coef") == chi          # child over parent
    assert cfg.ppo.num_envs == 1024 and cfg.source("num_envs") == par          # inherited
    assert cfg.ppo.gamma == 0.9 and cfg.source("gamma") == "flag"              # flag over both files
    assert cfg.ppo.update_epochs == 3 and cfg.source("update_epochs") == chi   # file over auto-scale
    # batch 1024 x 64 = 2 x reference: auto-scale sets 8 minibatches; the file's LR is kept
    assert cfg.ppo.num_minibatches == 8 and cfg.source("num_minibatches") == "auto-scale"
    assert cfg.ppo.learning_rate == 2.0e-4 and cfg.source("learning_rate") == par
    # without an LR in a file, the default base LR follows the 8 x 3 gradient steps actually taken
    write(tmp_path, "nolr.yaml", "extends: child.yaml\n")
    text = (tmp_path / "parent.yaml").read_text().replace("learning_rate: 2.0e-4\n", "")
    (tmp_path / "parent.yaml").write_text(text)
    scaled = resolve(str(tmp_path / "nolr.yaml"))
    assert scaled.ppo.learning_rate == pytest.approx(2.5e-4 * 16 / 24) and scaled.source("learning_rate") == "auto-scale"
    assert cfg.source("validation") == par and cfg.extra("validation")[0]["metric"] == "entropy"
    assert resolve(child, {"learning_rate": "1e-3"}).ppo.learning_rate == 1e-3  # a flag beats auto-scaling
    # a child can drop its parent's criteria
    write(tmp_path, "plain.yaml", "extends: parent.yaml\nvalidation: null\n")
    assert C.parse_criteria(resolve(str(tmp_path / "plain.yaml")).extra("validation")) == []


def test_curriculum_file_mistakes(tmp_path):
    write(tmp_path, "s.yaml", "env: CartPole-v1\nnum_envs: 4\nnum_steps: 8\n")
    bad = write(tmp_path, "cur.yaml", """
        name: c
        transfer: worst
        stages:
          - spec: s.yaml
            advance: {when: [{metric: mean_episode_return, op: "==", value: high}], window: 0}
          - {spec: missing.yaml, colour: red}
    """)
    with pytest.raises(ConfigError) as e:
        load_curriculum(bad)
    got = e.value.problems
    for w in ("transfer: 'worst' -- best or first", "stages[0].advance.window: 0 -- an integer >= 1",
              "stages[0].advance.when[0].op: '==' -- one of <, <=, >, >=",
              "stages[0].advance.when[0].value: 'high' -- a number",
              "stages[1].colour: unknown key", "stages[1].spec: 'missing.yaml' -- no such file"):
        assert sum(w in line for line in got) == 1, (w, got)
    assert len(got) == 6


def test_criteria_judge_synthetic_records():
    recs = [{"update": u, "env_steps": 10 * u, "approx_kl": 0.01, "approx_kl_max": kmax, "entropy": ent,
             "mean_episode_return": ret}
            for u, kmax, ent, ret in ((5, 0.02, 1.5, -3.0), (10, 0.07, 1.2, -1.6), (15, 0.03, 0.9, -1.4))]
    crit = C.parse_criteria([
        {"metric": "approx_kl", "op": "<", "value": 0.06},                   # max 0.07 at update 10: FAIL
        {"metric": "approx_kl", "op": "<", "value": 0.06, "final": True},    # last logged value 0.01: PASS
        {"metric": "entropy", "op": ">", "value": 1.0, "through": 10},       # 1.5, 1.2: PASS
        {"metric": "entropy", "op": ">", "value": 1.0, "through": 15},       # 0.9 at 15: FAIL
        {"metric": "entropy", "op": ">", "value": 0.5, "through": 100},      # holds, run too short: SHORT
        {"metric": "mean_episode_return", "op": ">", "value": -1.5, "by": 15},   # -1.4 at 15: PASS
        {"metric": "mean_episode_return", "op": ">", "value": -1.5, "by": 10},   # never by 10: FAIL
        {"metric": "mean_episode_return", "op": ">", "value": 0.0, "by": 50},    # SHORT
        {"config": "update_epochs", "op": "==", "value": 2},
        {"config": "update_epochs", "op": "==", "value": 4},
    ])
    v = V.evaluate(crit, recs, {"update_epochs": 2})
    assert [x.status for x in v] == ["FAIL", "PASS", "PASS", "FAIL", "SHORT", "PASS", "FAIL", "SHORT", "PASS", "FAIL"]
    assert v[0].observed == 0.07 and "update 10" in v[0].where and v[0].criterion.checked_metric == "approx_kl_max"
    assert v[3].observed == 0.9 and "update 15" in v[3].where
    assert v[5].observed == -1.4 and "update 15" in v[5].where
    assert v[6].observed == -1.6  # the best value seen by update 10
    assert V.summarize(v, short_fails=False)["passed"] is False
    ok = [x for x in v if x.status != "FAIL"]
    assert V.summarize(ok, short_fails=False)["passed"] and not V.summarize(ok, short_fails=True)["passed"]


def test_one_condition_type_serves_criteria_advance_rules_and_early_stopping(tmp_path):
    from jitrl.config.conditions import Condition, parse_condition
    from jitrl.workflow.monitoring import AdvanceRule, EssEarlyStop

    # the old curriculum spelling is an error that names the new one (not a silent alias)
    cond, problems = parse_condition({"metric": "ess_episode", "op": ">=", "threshold": 0.7}, "when[0]")
    assert cond is None and problems == ["when[0].threshold: renamed -- write value: 0.7 (a condition is metric, "
                                         "op, value)"]
    write(tmp_path, "s.yaml", "env: CartPole-v1\nnum_envs: 4\nnum_steps: 8\n")
    old = write(tmp_path, "old.yaml", """
        stages:
          - spec: s.yaml
            advance: {when: [{metric: mean_episode_return, op: ">", threshold: 3.0}], min_timesteps: 0}
    """)
    with pytest.raises(ConfigError) as e:
        load_curriculum(old)
    assert e.value.problems == [f"{old}: stages[0].advance.when[0].threshold: renamed -- write value: 3.0 "
                                f"(a condition is metric, op, value)"]
    # the same condition, spelt the same, in a curriculum (its own window beats the stage's) ...
    new = write(tmp_path, "new.yaml", """
        stages:
          - spec: s.yaml
            advance:
              when: [{metric: r, op: ">", value: 2.0, window: 2}, {metric: k, op: "<", value: 1.0}]
              window: 3
    """)
    (a, b) = load_curriculum(new).stages[0].when
    assert (a, b) == (Condition("r", ">", 2.0, 2), Condition("k", "<", 1.0, 3))
    rule = AdvanceRule([a], min_timesteps=0)
    seen = [rule({"update": u, "env_steps": u, "r": r}) for u, r in enumerate((1.0, 4.0, 0.5, 3.9), 1)]
    # window means: -, 2.5, 2.25, 2.2 -> the rule fires at the second log
    assert seen[0] is None and seen[1].startswith("advance: r 2.5 > 2 (mean of the last 2 logs)")
    # ... in a validation criterion ...
    recs = [{"update": u, "r": r} for u, r in ((1, 1.0), (2, 4.0), (3, 0.5), (4, 3.9))]
    crit = C.parse_criteria([{"metric": "r", "op": ">", "value": 2.1, "window": 2, "final": True},
                             {"metric": "r", "op": ">", "value": 2.4, "window": 2, "by": 4},
                             {"metric": "r", "op": ">", "value": 1.0, "window": 3}])
    v = V.evaluate(crit, recs, {})
    assert [x.status for x in v] == ["PASS", "PASS", "PASS"]
    assert v[0].observed == pytest.approx(2.2) and "update 4" in v[0].where      # mean of 0.5, 3.9
    assert v[1].observed == pytest.approx(2.5) and "update 2" in v[1].where      # mean of 1.0, 4.0
    assert v[2].observed == pytest.approx(5.5 / 3)                                 # worst of 5.5/3, 8.4/3
    assert "window" in C.validate_criteria([{"metric": "r", "op": ">", "value": 1, "window": 0}])[0]
    assert "window" in C.validate_criteria([{"config": "gamma", "op": "==", "value": 1, "window": 2}])[0]
    # ... and in early stopping: ess < threshold on consecutive logs
    stop = EssEarlyStop(0.5, 2)
    assert stop.condition == Condition("ess", "<", 0.5)
    assert [stop({"update": u, "ess": e}) is not None for u, e in enumerate((0.4, 0.6, 0.4, 0.3), 1)] == [
        False, False, False, True]
