"""The kmc-tio2 state's incremental quantities against their from-scratch
recomputation over a few hundred random events (hops, deposits, desorption,
auto-resets): packed O bits vs the species stack, running sums of h and h^2
(roughness, coverage, termination), cached per-column log-sums and log Z."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jitrl
from jitrl.envs.kmc import physics
from jitrl.envs.kmc.state import EnvParams
from jitrl.ppo import distributions

from kmc_reference import random_state


@pytest.mark.parametrize("size,temperature", [((6, 5, 4), 600.0), ((3, 4, 40), 900.0), ((4, 4, 2), 450.0)])
def test_running_quantities_equal_recomputation(size, temperature):
    nx, ny, nz = size
    p = EnvParams(temperature=temperature, max_steps=97)  # auto-resets happen inside the run
    env, _ = jitrl.make("kmc-tio2", lattice_size=size)
    rng = np.random.default_rng(sum(size))
    hs, sp = random_state(rng, *size, fill=0.6)
    s0 = env.state_from_lattice(hs, sp, p)
    # the packed lattice unpacks to the given one
    np.testing.assert_array_equal(np.asarray(s0.species), np.asarray(sp))

    def body(st, key):
        ka, ks = jax.random.split(key)
        # uniform over feasible events: every event type is exercised
        a = distributions.sample(ka, jnp.where(env.action_mask(st, p), 0.0, -jnp.inf))
        _, st, _, term, trunc, info = env.step(ks, st, a, p)
        return st, (st, info["roughness"], info["coverage"], term | trunc)

    _, (traj, rough, cov, done) = jax.jit(lambda s: jax.lax.scan(body, s, jax.random.split(jax.random.PRNGKey(5), 300)))(s0)
    h = np.asarray(traj.heights, np.float64)
    assert np.asarray(done).any()  # the reset path is covered
    assert len(np.unique(h.sum(axis=(1, 2)))) > 5  # and the film changes
    # roughness = population std of the heights: float32 from exact integer sums, so
    # only the final rounding of Q/n - (r/n)^2 and the sqrt remain (~1e-6 relative)
    # (info describes the pre-reset state: compare on the steps without a reset)
    live = ~np.asarray(done)
    np.testing.assert_allclose(np.asarray(rough)[live], h.reshape(len(h), -1).std(axis=1)[live], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(np.asarray(cov)[live], h.mean(axis=(1, 2))[live] / nz, rtol=1e-6)
    np.testing.assert_array_equal(np.asarray(traj.sum_h), h.sum(axis=(1, 2)))
    np.testing.assert_array_equal(np.asarray(traj.sum_h2), (h * h).sum(axis=(1, 2)))
    sp_t = np.asarray(traj.species)
    np.testing.assert_array_equal(np.asarray(traj.n_o), (sp_t == 2).sum(axis=(1, 2, 3)))
    np.testing.assert_array_equal(np.asarray(traj.n_ti), (sp_t == 1).sum(axis=(1, 2, 3)))
    # solid-on-solid, and no stray O bits above the heights
    occ = sp_t > 0
    np.testing.assert_array_equal(occ, np.arange(nz) < h[..., None])
    fresh = jax.vmap(lambda st: env._state(st.heights, st.obits, p))(traj)
    np.testing.assert_array_equal(np.asarray(fresh.obits), np.asarray(traj.obits))
    # cached per-column sums and log Z: the local refresh equals a full recompute
    np.testing.assert_allclose(np.asarray(traj.col_log_rates), np.asarray(fresh.col_log_rates), rtol=1e-6, atol=1e-5)
    np.testing.assert_allclose(np.asarray(traj.log_z), np.asarray(fresh.log_z), rtol=1e-6, atol=1e-5)
    full = jax.vmap(lambda st: physics.log_total_rate(env.log_rates(st, p)))(traj)
    np.testing.assert_allclose(np.asarray(traj.log_z), np.asarray(full), rtol=1e-5, atol=2e-5)


def test_window_limit_ends_the_episode():
    """A column reaching the top of the window (here the last empty column of a
    3 x 3 x 1 box) ends the episode as a reported truncation, never a silent cap."""
    env, p = jitrl.make("kmc-tio2", lattice_size=(3, 3, 1), hops_enabled=0.0, desorption_enabled=0.0)
    hs = [[1, 1, 1], [1, 1, 1], [1, 1, 0]]
    sp = [[[1], [2], [1]], [[2], [2], [1]], [[1], [2], [0]]]
    s = env.state_from_lattice(hs, sp, p)
    _, s1, _, term, trunc, info = env.step_env(jax.random.PRNGKey(0), s, (2 * 3 + 2) * 7 + 1, p)
    assert not bool(term) and bool(trunc) and float(info["window_limit"]) == 1.0 and int(s1.sum_h) == 9
    _, s2, _, _, trunc2, _ = env.step(jax.random.PRNGKey(0), s, (2 * 3 + 2) * 7 + 1, p)
    assert bool(trunc2) and int(s2.sum_h) == 0 and int(s2.sum_h2) == 0  # auto-reset to a bare substrate
