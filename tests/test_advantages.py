"""Advantages by action (``jitrl.workflow.advantages``) against hand-computed GAE.

A one-step bandit (the ``Counter`` toy ending after 1 step; reward 1 for action 0,
0 for action 1) and a fixed "network" (logits ``[log 3, 0]``: P(action 0) = 0.75;
value ``0.5 + obs``, the observation being the step count, 0 at reset and 1 after
the step). With every episode one step long GAE is the one-step TD error:

* terminated: A = r - V(s0) = r - 0.5  -> +0.5 for action 0, -0.5 for action 1;
* truncated:  A = r + gamma * V(final obs) - V(s0) = r + 0.9 * 1.5 - 0.5
  -> +1.85 and +0.85 (the trainer's bootstrap from ``final_obs``).

Both are exact, so the means match to float32 rounding and the s.e. is 0. The
share of action 0 is binomial: 64 x 32 = 2048 draws, s.e. sqrt(.75 * .25 / 2048)
= 0.0096; the tolerance 0.04 is ~4 s.e.
"""
import jax.numpy as jnp
import numpy as np
import pytest

from jitrl.workflow import advantages
from toys import Counter, CounterParams


class Bandit(Counter):
    def step_env(self, key, state, action, params):
        obs, st, _, term, trunc, info = super().step_env(key, state, action, params)
        return obs, st, (action == 0).astype(jnp.float32), term, trunc, info

    def action_names(self, params=None):
        return ("PAY", "NOTHING")


class FixedNet:
    def apply(self, params, obs):
        b = obs.shape[0]
        logits = jnp.tile(jnp.array([jnp.log(3.0), 0.0]), (b, 1))
        return logits, 0.5 + obs[:, 0]


@pytest.mark.parametrize("terminate, want", [(True, (0.5, -0.5)), (False, (1.85, 0.85))])
def test_advantages_equal_hand_computed_td_errors(terminate, want):
    env = Bandit()
    params = CounterParams(limit=1, terminate=terminate)
    res = advantages.action_advantages(env, params, FixedNet(), None, num_envs=64, num_steps=32,
                                       gamma=0.9, gae_lambda=0.95, seed=3)
    rows = {r["action"]: r for r in res["rows"]}
    assert res["steps"] == 64 * 32
    for name, adv in zip(("PAY", "NOTHING"), want):
        r = rows[name]
        assert r["legal"] == 1.0 and r["prob_when_legal"] == pytest.approx(0.75 if name == "PAY" else 0.25)
        assert r["adv_mean"] == pytest.approx(adv, abs=1e-5) and r["adv_se"] < 1e-5
        assert r["adv_pos"] == float(adv > 0)
    assert rows["PAY"]["taken"] == pytest.approx(0.75, abs=0.04)
    assert rows["PAY"]["n"] + rows["NOTHING"]["n"] == 64 * 32
    md = advantages.markdown(res)
    assert "| PAY |" in md and f"{want[0]:+.4f}" in md


def test_summarize_counts_and_skips_untaken_actions():
    acts = np.array([[0, 0, 2]])
    adv = np.array([[1.0, 3.0, -1.0]])
    masks = np.array([[[1, 1, 1], [1, 0, 1], [1, 0, 1]]], bool)
    probs = np.array([[[0.5, 0.25, 0.25], [0.5, 0.0, 0.5], [0.9, 0.0, 0.1]]])
    res = advantages.summarize(("A", "B", "C"), acts, adv, masks, probs)
    a, b, c = res["rows"]
    assert (a["n"], a["adv_mean"], a["adv_se"]) == (2, 2.0, pytest.approx(1.0))  # std([1, 3], ddof=1) / sqrt 2
    assert b["n"] == 0 and np.isnan(b["adv_mean"]) and b["legal"] == pytest.approx(1 / 3)
    assert c["prob_when_legal"] == pytest.approx((0.25 + 0.5 + 0.1) / 3)
    assert res["mean_advantage"] == pytest.approx(1.0)
    assert "| B | 0.3333 | 0.0000 | 0.2500 | 0 | n/a | n/a |" in advantages.markdown(
        dict(res, num_envs=1, num_steps=3, gamma=0.99, gae_lambda=0.95))
