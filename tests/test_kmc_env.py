"""The kmc-tio2 env API: construction and validation, shapes, episode ends,
determinism (same key => same trajectory), vmap == loop, rendering."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jitrl
from jitrl.envs.kmc import KMCTiO2
from jitrl.ppo import distributions, importance
from jitrl.ppo.acting import RateFused, make_acting


def test_make_and_validation():
    env, p = jitrl.make("kmc-tio2", lattice_size=(6, 5, 4), temperature=300.0, deposition_rate=0.5)
    assert isinstance(env, KMCTiO2) and env.lattice_size == (6, 5, 4)
    assert float(p.temperature) == 300.0 and float(p.F_Ti) == 0.5 and float(p.F_O) == 1.0
    assert env.num_actions(p) == 6 * 5 * 7 and env.observation_shape(p) == (6, 5, 22)
    assert env.default_network == "lattice-conv" and isinstance(make_acting(env, p), RateFused)
    # n_swarm: only the full set (a random subset of agents would bias the weights);
    # n_proposals: the full set, or k candidates by SIR (tests/test_kmc_sir.py)
    assert KMCTiO2((6, 5, 4), n_swarm=30, n_proposals=210).n_proposals is None
    with pytest.raises(ValueError, match="biased"):
        KMCTiO2((6, 5, 4), n_swarm=8)
    assert KMCTiO2((6, 5, 4), n_proposals=32).n_proposals == 32
    with pytest.raises(ValueError, match="n_proposals: 211; allowed"):
        KMCTiO2((6, 5, 4), n_proposals=211)
    with pytest.raises(ValueError, match="lattice_size"):
        KMCTiO2((2, 5, 4))
    with pytest.raises(ValueError, match="rate_update"):
        KMCTiO2((6, 5, 4), rate_update="sometimes")
    with pytest.raises(ValueError, match="objective: 'physical'; allowed: morphology, rare-event"):
        KMCTiO2((6, 5, 4), objective="physical")
    with pytest.raises(ValueError, match="observable: 'height'; allowed: roughness, o_ti_ratio"):
        KMCTiO2((6, 5, 4), observable="height")


def _neutral_rollout(env, p, key, n):
    def body(carry, k):
        st = carry
        ka, ks = jax.random.split(k)
        logits = importance.fused_logits(jnp.zeros(env.num_actions(p)), env.log_rates(st, p))
        a = distributions.sample(ka, logits)
        obs, st, r, term, trunc, info = env.step(ks, st, a, p)
        return st, (obs, r, term, trunc, info["sim_time"], info["roughness"], a)

    _, s = env.reset(key, p)
    return jax.lax.scan(body, s, jax.random.split(key, n))[1]


def test_same_key_same_trajectory_and_vmap_equals_loop():
    env, p = jitrl.make("kmc-tio2", lattice_size=(5, 4, 3), temperature=500.0, max_steps=30)
    run = jax.jit(lambda k: _neutral_rollout(env, p, k, 80))
    keys = jax.random.split(jax.random.PRNGKey(0), 4)
    batched = jax.jit(jax.vmap(lambda k: _neutral_rollout(env, p, k, 80)))(keys)
    for i in range(4):
        one = run(keys[i])
        again = run(keys[i])
        for x, y, z in zip(one, again, batched):
            np.testing.assert_array_equal(np.asarray(x), np.asarray(y))
            np.testing.assert_array_equal(np.asarray(x), np.asarray(z[i]))
    # different keys give different trajectories
    assert not np.array_equal(np.asarray(batched[-1][0]), np.asarray(batched[-1][1]))


def test_truncation_termination_and_info():
    # truncation at max_steps (auto-reset afterwards)
    env, p = jitrl.make("kmc-tio2", lattice_size=(4, 4, 3), max_steps=7)
    obs, r, term, trunc, t, rough, a = jax.jit(lambda k: _neutral_rollout(env, p, k, 21))(jax.random.PRNGKey(1))
    assert np.array_equal(np.asarray(trunc), np.arange(1, 22) % 7 == 0) and not np.asarray(term).any()
    # no silent ceiling: a column reaching the top of the window (3 x 3 x 2, deposition
    # only) ends the episode -- under morphology a termination charged for the events
    # left (tests/test_kmc_window_end.py) -- and is reported
    env, p = jitrl.make("kmc-tio2", lattice_size=(3, 3, 2), hops_enabled=0.0, desorption_enabled=0.0)
    obs, r, term, trunc, t, rough, a = jax.jit(lambda k: _neutral_rollout(env, p, k, 18))(jax.random.PRNGKey(2))
    term = np.asarray(term)
    assert term.any() and not np.asarray(trunc).any()
    first = int(np.argmax(term))
    assert 1 <= first <= 9  # pigeonhole: 10 deposits on 9 columns put two on one column
    # the step after the end starts from a bare substrate again
    assert float(t[first + 1]) < float(t[first])
    # info: same keys every step, metric keys present, an invalid action is a no-op
    env, p = jitrl.make("kmc-tio2", lattice_size=(4, 4, 3))
    _, s = env.reset(jax.random.PRNGKey(0), p)
    o1, s1, r1, _, _, i1 = env.step(jax.random.PRNGKey(1), s, 2, p)  # hop from a bare column: infeasible
    assert float(i1["invalid_action"]) == 1.0 and np.array_equal(np.asarray(s1.heights), np.asarray(s.heights))
    o2, s2, r2, _, _, i2 = env.step(jax.random.PRNGKey(1), s1, 1, p)  # deposit O on column (0, 0)
    assert int(s2.heights[0, 0]) == 1 and int(s2.n_o) == 1 and float(i2["invalid_action"]) == 0.0
    assert set(i1) == set(i2)
    for k in {m.name for m in env.metrics}:
        assert np.shape(i2[k]) == ()
    rate = make_acting(env, p)  # the ESS penalty the env declares, added by the rate-fused distribution
    r_ess = rate.ess_reward(jnp.float32(0.2))
    assert np.isclose(float(r_ess), -0.3 * 0.3) and "reward_ess" in {m.name for m in rate.metrics}
    assert np.isclose(float(rate.ess_reward(jnp.float32(0.9))), 0.0)
    # reward = sum of its terms
    assert np.isclose(float(r2), float(i2["reward_roughness"] + i2["reward_coverage"] + i2["reward_ratio"]))


def test_render_and_summary():
    env, p = jitrl.make("kmc-tio2", lattice_size=(5, 6, 4), hops_enabled=0.0)
    _, s = env.reset(jax.random.PRNGKey(0), p)
    for a in (0, 1, 1, 7 * 7 + 0):
        _, s, *_ = env.step_env(jax.random.PRNGKey(0), s, a, p)
    text = env.render_text(s, p, color=False)
    rows = text.splitlines()
    assert rows[0] == "300000" and rows[1] == "010000"
    assert "\x1b[" in env.render_text(s, p)
    img = env.render_rgb(s, p)
    assert img.dtype == np.uint8 and img.shape == (5 * 16, 6 * 16, 3)
    assert not np.array_equal(img[0, 0], img[0, 16])  # occupied vs bare differ
    summ = env.episode_summary([], s, p)
    assert summ["deposited"] == 4 and summ["n_Ti"] == 2 and summ["n_O"] == 2
