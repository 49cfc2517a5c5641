"""Ending an episode at the box top cannot pay under ``objective: morphology``
(docs/benchmarks.md: PPO learned to grow one column to the top of the 5-level
box, because each step's morphology reward is negative and the window limit
ended the episode early). A window-limit end is now a termination charged for
the events left (``rewards.window_charge``). Truth: the returns of two scripted
trajectories, computed by hand in numpy from the reward's definition."""
import jax
import numpy as np

import jitrl

NX, NY, NZ = 3, 3, 3
MAX_STEPS = 12
W = dict(roughness_weight=1.0, coverage_weight=0.5, ratio_weight=0.2, ess_weight=0.3, ess_target=0.5)


def _run(env, p, columns):
    """Deposit Ti on ``columns`` in turn with ``step_env``; (rewards, terminated, truncated) per event,
    stopping at the first end."""
    _, s = env.reset(jax.random.PRNGKey(0), p)
    out = []
    for c in columns:
        _, s, r, term, trunc, _ = env.step_env(jax.random.PRNGKey(1), s, c * 7 + 0, p)
        out.append((float(r), bool(term), bool(trunc)))
        if term or trunc:
            break
    return out


def _reward(h):
    """The morphology reward of a Ti-only film of heights ``h`` (n_O = 0: ratio 0)."""
    h = np.asarray(h, np.float64)
    return (-W["roughness_weight"] * h.std() + W["coverage_weight"] * h.mean() / NZ
            - W["ratio_weight"] * abs(0.0 - 2.0))


def test_growing_a_column_to_the_box_top_does_not_pay():
    env, p = jitrl.make("kmc-tio2", lattice_size=(NX, NY, NZ), hops_enabled=0.0, desorption_enabled=0.0,
                        max_steps=MAX_STEPS, **W)
    # column-growing: 3 deposits on column 0 bring it to the top of the box at event 3
    col = _run(env, p, [0] * MAX_STEPS)
    assert len(col) == 3 and col[-1][1] and not col[-1][2]  # a termination, not a truncation
    h = np.zeros(NX * NY)
    hand_col = []
    for _ in range(3):
        h[0] += 1
        hand_col.append(_reward(h))
    # the 9 events left, each charged the final coverage and ratio terms, the roughest
    # film the box holds (std of heights in 0..3 is at most 1.5) and the largest ESS penalty
    charge = (MAX_STEPS - 3) * (W["coverage_weight"] * h.mean() / NZ - W["ratio_weight"] * 2.0
                                - W["roughness_weight"] * NZ / 2 - W["ess_weight"] * W["ess_target"])
    hand_col[-1] += charge
    np.testing.assert_allclose([r for r, _, _ in col], hand_col, atol=1e-5)
    # uniform: one deposit per column in turn, 12 events, heights never above 2: the
    # episode runs to max_steps (a truncation)
    uni = _run(env, p, [t % (NX * NY) for t in range(MAX_STEPS)])
    assert len(uni) == MAX_STEPS and uni[-1][2] and not any(t for _, t, _ in uni)
    h = np.zeros(NX * NY)
    hand_uni = []
    for t in range(MAX_STEPS):
        h[t % (NX * NY)] += 1
        hand_uni.append(_reward(h))
    np.testing.assert_allclose([r for r, _, _ in uni], hand_uni, atol=1e-5)
    # before: the early end paid (3 negative rewards against 12); now it costs more
    # than the whole uniform episode, even with the uniform steps' ESS penalty at its worst
    assert sum(hand_col[:3]) - charge > sum(hand_uni)
    assert sum(hand_col) < sum(hand_uni) - MAX_STEPS * W["ess_weight"] * W["ess_target"]
    # the charge never applies to an episode that reaches max_steps, nor under rare-event
    env_r, p_r = jitrl.make("kmc-tio2", lattice_size=(NX, NY, NZ), hops_enabled=0.0, desorption_enabled=0.0,
                            max_steps=MAX_STEPS, objective="rare-event", target_coverage=5.0, **W)
    rare = _run(env_r, p_r, [0] * MAX_STEPS)
    assert len(rare) == 3 and rare[-1] == (0.0, False, True)
