"""The kmc-tio2 state's incremental quantities against their from-scratch
recomputation over a few hundred random events (hops, deposits, desorption,
auto-resets): packed O bits vs the species stack, running sums of h and h^2
(roughness, coverage, termination), the height histogram, cached per-column and
per-row log-sums and log Z."""
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
    fresh = jax.vmap(lambda st: env._state(st.abs_heights, st.obits, p, st.offset))(traj)
    np.testing.assert_array_equal(np.asarray(fresh.obits), np.asarray(traj.obits))
    # cached per-column sums and log Z: the local refresh equals a full recompute
    np.testing.assert_allclose(np.asarray(traj.col_log_rates), np.asarray(fresh.col_log_rates), rtol=1e-6, atol=1e-5)
    np.testing.assert_allclose(np.asarray(traj.log_z), np.asarray(fresh.log_z), rtol=1e-6, atol=1e-5)
    # cached row log-sums (each refreshed from its ny columns when an event touched it):
    # equal to a fresh logsumexp of the cached columns (same reduction, float32 rounding
    # at most a few ulps of |log| <= ~100) and to the fresh state's rows
    rows_fresh = np.asarray(jax.nn.logsumexp(traj.col_log_rates, axis=-1))
    np.testing.assert_allclose(np.asarray(traj.row_log_rates), rows_fresh, rtol=1e-6, atol=1e-5)
    np.testing.assert_allclose(np.asarray(traj.row_log_rates), np.asarray(fresh.row_log_rates), rtol=1e-6, atol=1e-5)
    # the height histogram is exact (integers)
    hist = np.stack([np.bincount(x.reshape(-1), minlength=nz + 1) for x in np.asarray(traj.heights)])
    np.testing.assert_array_equal(np.asarray(traj.height_hist), hist)
    full = jax.vmap(lambda st: physics.log_total_rate(env.log_rates(st, p)))(traj)
    np.testing.assert_allclose(np.asarray(traj.log_z), np.asarray(full), rtol=1e-5, atol=2e-5)


def test_window_limit_ends_the_episode():
    """A column reaching the top of the window (here the last empty column of a
    3 x 3 x 1 box) ends the episode, never a silent cap: under ``morphology`` a
    termination charged for the events left (tests/test_kmc_window_end.py), under
    ``rare-event`` a reported truncation."""
    hs = [[1, 1, 1], [1, 1, 1], [1, 1, 0]]
    sp = [[[1], [2], [1]], [[2], [2], [1]], [[1], [2], [0]]]
    for objective, ends_as_term in (("morphology", True), ("rare-event", False)):
        env, p = jitrl.make("kmc-tio2", lattice_size=(3, 3, 1), hops_enabled=0.0, desorption_enabled=0.0,
                            objective=objective)
        s = env.state_from_lattice(hs, sp, p)
        _, s1, _, term, trunc, info = env.step_env(jax.random.PRNGKey(0), s, (2 * 3 + 2) * 7 + 1, p)
        assert bool(term) == ends_as_term and bool(trunc) != ends_as_term
        assert float(info["window_limit"]) == 1.0 and int(s1.sum_h) == 9
        assert (float(info["reward_window"]) < 0) == ends_as_term
        _, s2, _, term2, trunc2, _ = env.step(jax.random.PRNGKey(0), s, (2 * 3 + 2) * 7 + 1, p)
        assert bool(term2 | trunc2) and int(s2.sum_h) == 0 and int(s2.sum_h2) == 0  # auto-reset: bare substrate


def test_cached_sums_after_many_events_equal_recomputation():
    """5,000 plain-BKL events through the O(nx + ny) path (local column refresh, the
    touched rows' sums, log Z over the rows, histogram-driven window that only moves
    its floor): at the end every cache equals a from-scratch recomputation of the
    final lattice. The rows are recomputed, never adjusted by differences, so nothing
    drifts: float32 rounding of one logsumexp, |log| <= ~60 here, is within rtol 1e-6
    / atol 1e-5. The window's 32-level O-bit ring wraps (the film grows past level
    32), and the whole run equals, bitwise, an uncapped absolute-frame run whose
    64-level ring never wraps: so stale ring bits are never read."""
    size = (6, 5, 24)
    # 225 K, E_d = 0.5 eV: ~18% depositions, the rest hops (edges too); measured: the
    # window moves 18 levels and never reaches its limit (step_env: no auto-reset)
    kw = dict(temperature=225.0, E_d_Ti=0.5, E_d_O=0.5, max_steps=10**6)
    env, p = jitrl.make("kmc-tio2", lattice_size=size, **kw)
    ref, _ = jitrl.make("kmc-tio2", lattice_size=(6, 5, 64), moving_window=False, **kw)

    def run(e):
        def body(st, key):
            ka, ks = jax.random.split(key)
            a = e.sample_physical(ka, st, p)
            _, st, *_ = e.step_env(ks, st, a, p)
            return st, (a, st.log_z, st.abs_heights)

        _, s0 = e.reset(jax.random.PRNGKey(0), p)
        return jax.jit(lambda s, k: jax.lax.scan(body, s, jax.random.split(k, 5000)))(s0, jax.random.PRNGKey(8))

    s, out = run(env)
    r, out_ref = run(ref)
    assert int(s.offset) >= 10 and int(s.step) == 5000  # the window moved, no reset
    assert int(np.max(np.asarray(s.abs_heights))) > 32 and int(np.max(np.asarray(r.abs_heights))) < 64
    for x, y in zip(out, out_ref):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))
    fresh = env._state(s.abs_heights, s.obits, p, s.offset)
    np.testing.assert_allclose(np.asarray(s.col_log_rates), np.asarray(fresh.col_log_rates), rtol=1e-6, atol=1e-5)
    np.testing.assert_allclose(np.asarray(s.row_log_rates), np.asarray(fresh.row_log_rates), rtol=1e-6, atol=1e-5)
    np.testing.assert_allclose(float(s.log_z), float(fresh.log_z), rtol=1e-6, atol=1e-5)
    np.testing.assert_array_equal(np.asarray(s.height_hist), np.asarray(fresh.height_hist))
    # the window's species view equals the reference's absolute stack at the window's levels
    off = int(s.offset)
    np.testing.assert_array_equal(np.asarray(s.species), np.asarray(r.species)[..., off:off + size[2]])
    # and log Z against the plain logsumexp over all 7 nx ny per-event log-rates
    full = float(physics.log_total_rate(env.log_rates(s, p)))
    np.testing.assert_allclose(float(s.log_z), full, rtol=1e-5, atol=2e-5)
