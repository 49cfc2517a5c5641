"""The learning report and the scripted HackMatrix baselines (issue 12).

* BFS distances of the scripted policies against a plain-Python BFS on random boards.
* The board decoded from the observation (by channel name) against the env state.
* Accounting of :func:`play_episodes` against the env's own figures: the return
  is the sum of the reward terms, the siphon/program action counts equal the
  env's ``siphons_used`` / ``programs_used``, every policy sees the same boards.
* End to end: a tiny trained run's report (CLI) beside the random masked policy
  and the scripted exit-seeker; the exit-seeker beats random on highest stage.
  Measured (seed 12345 boards, 64 episodes, current rules, commit aa10330):
  random 1.20 +- 0.06, exit-seeker 3.33 +- 0.14 (mean +- s.e.); with 48 episodes
  the s.e. of the difference is ~0.17, so the margin of 1.0 stage is ~6 s.e.
"""
import json
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jitrl
from jitrl.cli.learning_report import main as report_main
from jitrl.config import resolve
from jitrl.envs.hackmatrix.state import BLOCK_NONE, BLOCK_PROGRAM
from jitrl.networks.cells import board_layout
from jitrl.training import Trainer
from jitrl.workflow import learning_report as lr
from jitrl.workflow import scripted
from toys import grid_bfs as python_bfs


def test_exit_distances_match_python_bfs():
    rng = np.random.default_rng(0)
    f = jax.jit(jax.vmap(scripted.exit_distances))
    for shape, density in (((6, 6), 0.3), ((6, 6), 0.5), ((4, 7), 0.35)):
        boards, exits, want = [], [], []
        for _ in range(40):
            blocked = rng.random(shape) < density
            e = (int(rng.integers(shape[0])), int(rng.integers(shape[1])))
            blocked[e] = False
            em = np.zeros(shape, bool)
            em[e] = True
            boards.append(blocked), exits.append(em), want.append(python_bfs(blocked, e))
        got = np.asarray(f(jnp.asarray(np.stack(boards)), jnp.asarray(np.stack(exits))))
        np.testing.assert_array_equal(got, np.stack(want))


def test_board_decoded_from_the_observation_matches_the_state():
    env, params = jitrl.make("hackmatrix")
    board = scripted.Board(board_layout(env, params))
    obs, st = jax.jit(jax.vmap(lambda k: env.reset(k, params)))(jax.random.split(jax.random.PRNGKey(3), 16))
    blocked, player, exit_, _ = jax.vmap(board.decode)(obs)
    g = st.game
    np.testing.assert_array_equal(np.asarray(blocked), np.asarray(g.block_kind != BLOCK_NONE))
    rows, cols = np.nonzero(np.asarray(player).reshape(16, -1))[1] // 6, np.nonzero(np.asarray(player).reshape(16, -1))[1] % 6
    np.testing.assert_array_equal(rows, np.asarray(g.player_row))
    np.testing.assert_array_equal(cols, np.asarray(g.player_col))
    er = np.nonzero(np.asarray(exit_).reshape(16, -1))[1]
    np.testing.assert_array_equal(er, np.asarray(g.exit_row) * 6 + np.asarray(g.exit_col))


@pytest.fixture(scope="module")
def played():
    """Random, exit-seeker and siphon-programmer on the same 48 boards (one compiled program)."""
    env, params = jitrl.make("hackmatrix")
    pols = lr.baseline_policies(env, params, ("exit-seeker", "siphon-programmer"))
    return env, params, lr.play_episodes(env, params, pols, episodes=48, seed=12345, num_steps=120)


def test_accounting_matches_the_env(played):
    env, params, res = played
    names = env.action_names(params)
    si = names.index("SIPHON")
    for ep in res:
        assert ep.n + ep.unfinished == 48 and ep.n >= 40
        np.testing.assert_allclose(ep.returns, sum(ep.terms.values()), atol=1e-3)
        np.testing.assert_array_equal(ep.action_counts.sum(1), ep.lengths)
        np.testing.assert_array_equal(ep.action_counts[:, si], ep.episode_metrics["siphons_used"])
        np.testing.assert_array_equal(ep.action_counts[:, si + 1:].sum(1), ep.episode_metrics["programs_used"])
        np.testing.assert_array_equal(ep.episode_metrics["episode_steps"], ep.lengths)
        assert np.all(ep.siphon_at_onset <= ep.siphon_onsets)
        assert set(np.unique(ep.causes)) <= {0, 1, 2}  # every ended episode has a named cause
        assert sum(lr.summarize(ep)["causes"].values()) == ep.n
    sp = res[2]
    assert sp.name == "scripted siphon-programmer"
    assert sp.action_counts[:, si].sum() > 0 and sp.action_counts[:, si + 1:].sum() > 0
    # the exit-seeker never siphons nor runs a program
    assert res[1].action_counts[:, si:].sum() == 0


def test_exit_seeker_beats_random_on_highest_stage(played):
    _, _, (rnd, ex, _) = played
    hs_r, hs_e = rnd.episode_metrics["highest_stage"].mean(), ex.episode_metrics["highest_stage"].mean()
    assert hs_e > hs_r + 1.0, (hs_e, hs_r)


def test_report_of_a_trained_run(tmp_path, capsys):
    """A run's report through the CLI (CartPole: the report needs nothing HackMatrix-specific)."""
    cfg = resolve(None, {"env.name": "CartPole-v1", "num_envs": "4", "num_steps": "16", "total_timesteps": "128",
                         "checkpoint_dir": str(tmp_path), "run_name": "cp", "auto_scale": "false"})
    Trainer(cfg, quiet=True).run()
    out = tmp_path / "rep"
    rc = report_main([str(tmp_path / "cp"), "--episodes", "16", "--baselines", "none",
                      "--out", str(out)])
    assert rc == 0, capsys.readouterr().err
    md = (out / "learning_report.md").read_text()
    for head in ("trained greedy", "trained sampled", "random (masked)", "## End of episodes",
                 "checkpoint at update 2"):
        assert head in md, head
    assert os.path.getsize(out / "learning_report.png") > 0
    # the trained policy's advantages by action: every CartPole step takes one of the 2 actions
    assert "## Advantages by action" in md
    adv = json.loads((out / "advantages.json").read_text())
    assert sum(r["n"] for r in adv["rows"]) == adv["steps"] == 256 * 256
    sums = {s["policy"]: s for s in json.loads((out / "learning_report.json").read_text())}
    # the default scan length is the env's limit (gymnax max_steps_in_episode): every episode ends
    for s in sums.values():
        assert s["episodes"] == 16 and s["unfinished"] == 0
        assert abs(s["return"][0] - s["episode_length"][0]) < 1e-6  # CartPole pays 1 a step


def test_cli_names_a_bad_baseline(capsys):
    assert report_main(["--env", "hackmatrix", "--baselines", "nope"]) == 2
    err = capsys.readouterr().err
    assert "--baselines: 'nope'; allowed: exit-seeker" in err
    with pytest.raises(SystemExit) as e:
        report_main([])
    assert e.value.code == 2 and "give RUN_DIR, or --env NAME" in capsys.readouterr().err


def test_the_train_script_writes_the_report_at_the_end(tmp_path, capsys, monkeypatch):
    """``report_episodes`` > 0: the train script reports the final checkpoint of a finished run, for
    an env the scripted baselines read (HackMatrix). CartPole stands in for it (made reportable
    here: its report has the trained and random policies alone) to keep the test small."""
    from jitrl.cli.train import main as train_main

    assert lr.reportable(*jitrl.make("hackmatrix"))
    assert not lr.reportable(*jitrl.make("CartPole-v1"))  # no board: no report by default
    monkeypatch.setattr(lr, "reportable", lambda env, params: True)
    flags = ["--env", "CartPole-v1", "--num-envs", "4", "--num-steps", "16", "--total-timesteps", "192",
             "--log-interval", "3", "--checkpoint-dir", str(tmp_path), "--no-auto-scale", "--replay-steps", "0"]
    assert train_main(flags + ["--run-name", "rep", "--report-episodes", "12"]) == 0
    assert "Wrote the learning report" in capsys.readouterr().out
    md = (tmp_path / "rep" / "learning_report" / "learning_report.md").read_text()
    assert "checkpoint at update 3" in md and "12 episodes per policy" in md
    sums = json.loads((tmp_path / "rep" / "learning_report" / "learning_report.json").read_text())
    assert [s["policy"] for s in sums] == ["trained greedy", "trained sampled", "random (masked)"]
    assert all(s["episodes"] == 12 for s in sums)
    assert train_main(flags + ["--run-name", "none", "--report-episodes", "0"]) == 0
    assert not (tmp_path / "none" / "learning_report").exists()


def test_report_at_end_skips_unfinished_runs_and_survives_ctrl_c(monkeypatch):
    cfg = resolve(None, {"env.name": "CartPole-v1"})
    env, params = jitrl.make("CartPole-v1")
    monkeypatch.setattr(lr, "reportable", lambda env, params: True)
    calls = []
    monkeypatch.setattr(lr, "write_report", lambda *a, **k: calls.append(a) or "x.md")
    for stop in ("paused", "interrupted", "nan"):
        assert lr.report_at_end(cfg, env, params, "RUN", stop, say=lambda t: None) is None
    assert calls == []
    assert lr.report_at_end(cfg, env, params, "RUN", "early-stop: ess", say=lambda t: None) == "x.md"

    def ctrl_c(*a, **k):
        raise KeyboardInterrupt

    said = []
    monkeypatch.setattr(lr, "write_report", ctrl_c)
    assert lr.report_at_end(cfg, env, params, "RUN", "done", say=said.append) is None
    assert said[-1] == "Learning report interrupted; write it with: python scripts/learning_report.py RUN"


def test_cli_env_params_from_a_spec_and_flags(tmp_path, capsys):
    """``--config`` takes the spec's env and env.params, ``--env-param`` replaces one more
    (CartPole's episode limit stands in for a reward weight: it shows in every length);
    a name that is not a parameter gets one clear message."""
    spec = tmp_path / "s.yaml"
    spec.write_text("env:\n  name: CartPole-v1\n  params:\n    max_steps_in_episode: 12\n")
    for extra, limit in (([], 12), (["--env-param", "max_steps_in_episode=7"], 7)):
        out = tmp_path / f"rep{limit}"
        rc = report_main(["--config", str(spec), "--episodes", "64", "--baselines", "none", "--out", str(out)]
                         + extra)
        assert rc == 0, capsys.readouterr().err
        s = json.loads((out / "learning_report.json").read_text())[0]
        # a random CartPole policy lasts ~22 steps: the cap binds (a few fall before it), and it is
        # the one asked for
        assert s["episodes"] == 64 and limit - 0.5 < s["episode_length"][0] <= limit
        assert f"max_steps_in_episode={limit}" in (out / "learning_report.md").read_text()
    assert report_main(["--env", "CartPole-v1", "--env-param", "nope=1", "--baselines", "none"]) == 2
    assert "--env-param: 'nope' is not a parameter of this env; allowed:" in capsys.readouterr().err


def _collector_reference(g, mask, names):
    """The collector's decision in plain Python from the game state (not the observation)."""
    skipped = {names.index(n) for n in scripted.SKIPPED_PROGRAMS}
    si = names.index("SIPHON")
    for a in range(si + 1, len(names)):
        if mask[a] and a not in skipped:
            return a
    kind = np.asarray(g.block_kind)
    blocked, siphoned = kind != BLOCK_NONE, np.asarray(g.siphoned)
    pr, pc = int(g.player_row), int(g.player_col)
    if mask[si]:
        cross = [(pr + dy, pc + dx) for dy, dx in ((0, 0), (1, 0), (-1, 0), (0, 1), (0, -1))
                 if 0 <= pr + dy < 6 and 0 <= pc + dx < 6]
        fresh = [(y, x) for y, x in cross if blocked[y, x] and not siphoned[y, x]]
        if len(fresh) >= 2 or any(kind[y, x] == BLOCK_PROGRAM for y, x in fresh):
            return si
    pickups = np.asarray(g.siphon_pickup)
    targets = list(zip(*np.nonzero(pickups))) or [(int(g.exit_row), int(g.exit_col))]
    dist = np.min([python_bfs(blocked & ~np.eye(1, 36, t[0] * 6 + t[1], dtype=bool).reshape(6, 6), t)
                   for t in targets], axis=0)  # a BFS from each target; the nearest one counts
    best, best_score = None, None
    for m in ("UP", "DOWN", "LEFT", "RIGHT"):
        a = names.index(m)
        dy, dx = {"UP": (1, 0), "DOWN": (-1, 0), "LEFT": (0, -1), "RIGHT": (0, 1)}[m]
        ty, tx = pr + dy, pc + dx
        if not mask[a] or not (0 <= ty < 6 and 0 <= tx < 6):
            continue
        score = dist[pr, pc] + 1 if blocked[ty, tx] else dist[ty, tx]
        if best_score is None or score < best_score:
            best, best_score = a, score
    return best if best is not None else int(np.argmax(mask))


def test_collector_walks_to_the_pickups_then_siphons_program_blocks():
    """The ``collector`` baseline against a plain-Python version that reads the game state:
    programs first, a siphon where the cross holds two fresh blocks or one program block, else
    the legal move nearest (plain BFS) a data-siphon pickup while one is on the board, else the
    exit. 24 boards x 40 random-play steps; the sample must hold each kind of decision."""
    env, params = jitrl.make("hackmatrix")
    policy = scripted.make_scripted("collector", env, params)
    names = tuple(env.action_names(params))
    n, t_max = 24, 40

    def step(carry, key):
        obs, st = carry
        k_act, k_step = jax.random.split(key)
        mask = jax.vmap(lambda s: env.action_mask(s, params))(st)
        act = jax.vmap(policy)(jax.random.split(k_act, n), obs, mask)
        rnd = jax.vmap(scripted.random_masked)(jax.random.split(k_act, n), obs, mask)
        obs2, st2 = jax.vmap(lambda k, s, a: env.step(k, s, a, params))(jax.random.split(k_step, n), st, rnd)[:2]
        return (obs2, st2), (st, mask, act)

    obs, st = jax.vmap(lambda k: env.reset(k, params))(jax.random.split(jax.random.PRNGKey(5), n))
    _, (states, masks, acts) = jax.jit(lambda c, ks: jax.lax.scan(step, c, ks))((obs, st), jax.random.split(
        jax.random.PRNGKey(6), t_max))
    masks, acts = np.asarray(masks), np.asarray(acts)
    seen = set()
    for t in range(t_max):
        for i in range(n):
            g = jax.tree_util.tree_map(lambda x: np.asarray(x)[t, i], states.game)
            want = _collector_reference(g, masks[t, i], names)
            assert acts[t, i] == want, (t, i, names[acts[t, i]], names[want])
            seen.add("program" if want > names.index("SIPHON") else names[want] if want == names.index("SIPHON")
                     else "move to pickup" if np.asarray(g.siphon_pickup).any() else "move to exit")
    assert seen == {"program", "SIPHON", "move to pickup", "move to exit"}, seen
