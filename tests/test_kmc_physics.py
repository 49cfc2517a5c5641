"""KMC physics against independent truths: a plain-Python brute-force rate sum,
the exponential residence-time law, chi-square event frequencies, Arrhenius."""
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

import jitrl
from jitrl.envs.kmc import physics, sampling
from jitrl.envs.kmc.state import EnvParams
from jitrl.ppo import distributions, importance

from kmc_reference import KB, event_log_rates, log_sum, random_state


def _state(env, params, heights, species):
    return env.state_from_lattice(heights, species, params)


@pytest.mark.parametrize("temperature", [180.0, 450.0, 900.0])
def test_rates_and_z_match_brute_force(temperature):
    rng = np.random.default_rng(0)
    p = EnvParams(temperature=temperature)
    for size in [(8, 8, 5), (3, 4, 3), (5, 3, 6)]:
        env, _ = jitrl.make("kmc-tio2", lattice_size=size)
        for _ in range(4):
            hs, sp = random_state(rng, *size)
            s = _state(env, p, hs, sp)
            ref = event_log_rates(hs, sp, p)
            got = np.asarray(env.log_rates(s, p), np.float64)
            feas_ref = np.array([v is not None for v in ref])
            np.testing.assert_array_equal(np.isfinite(got), feas_ref)
            np.testing.assert_array_equal(np.asarray(env.action_mask(s, p)), feas_ref)
            # float32 log-rates of magnitude <= ~200: 1e-4 relative is a few ulps of the barrier/kT division
            np.testing.assert_allclose(got[feas_ref], [v for v in ref if v is not None], rtol=1e-5, atol=2e-4)
            log_z = float(physics.log_total_rate(env.log_rates(s, p)))
            # the cached per-column closed-form sums and log Z agree with the brute-force total
            assert abs(float(s.log_z) - log_sum(ref)) < 2e-4 * max(1.0, abs(log_sum(ref)))
            assert abs(log_z - log_sum(ref)) < 2e-4 * max(1.0, abs(log_sum(ref)))


def test_local_update_equals_full_recompute():
    rng = np.random.default_rng(1)
    p = EnvParams(temperature=500.0)
    for size in [(8, 8, 4), (3, 3, 3), (4, 6, 3), (4, 3, 40)]:
        env_w, _ = jitrl.make("kmc-tio2", lattice_size=size, rate_update="local")
        env_f, _ = jitrl.make("kmc-tio2", lattice_size=size, rate_update="full")
        hs, sp = random_state(rng, *size)
        s0 = _state(env_w, p, hs, sp)

        def body(carry, key):
            sw, sf = carry
            ka, ks = jax.random.split(key)
            # uniform over feasible events, so rare events (desorption, edges) are exercised too
            a = distributions.sample(ka, jnp.where(env_w.action_mask(sw, p), 0.0, -jnp.inf))
            _, sw, *_ = env_w.step_env(ks, sw, a, p)
            _, sf, *_ = env_f.step_env(ks, sf, a, p)
            return (sw, sf), (sw.heights, sf.heights, sw.col_log_rates, sf.col_log_rates)

        run = jax.jit(lambda s, k: jax.lax.scan(body, (s, s), jax.random.split(k, 300)))
        (sw, _), (hw, hf, rw, rf) = run(s0, jax.random.PRNGKey(3))
        np.testing.assert_array_equal(np.asarray(hw), np.asarray(hf))
        # same formula, different XLA fusion: equal up to float32 rounding (a few ulps)
        np.testing.assert_array_equal(np.isfinite(rw), np.isfinite(rf))
        np.testing.assert_allclose(np.asarray(rw), np.asarray(rf), rtol=1e-6, atol=1e-5)
        # and the cache equals a fresh logsumexp of the 7 per-event log-rates (the closed
        # form of column_log_sum against the plain sum)
        fresh, _, _, _ = physics.full_log_rates(sw.abs_heights, sw.obits, p, size[2], sw.offset)
        np.testing.assert_allclose(
            np.asarray(jax.nn.logsumexp(fresh, axis=-1)), np.asarray(sw.col_log_rates), rtol=1e-6, atol=2e-5
        )
        # and the rates of the final lattice equal the plain-Python reference
        ref = event_log_rates(np.asarray(sw.heights).tolist(), np.asarray(sw.species).tolist(), p)
        feas = np.array([v is not None for v in ref])
        got = np.asarray(env_w.log_rates(sw, p), np.float64)
        np.testing.assert_array_equal(np.isfinite(got), feas)
        np.testing.assert_allclose(got[feas], [v for v in ref if v is not None], rtol=1e-5, atol=2e-4)


def test_events_apply_solid_on_solid_and_conserve():
    rng = np.random.default_rng(2)
    p = EnvParams(temperature=600.0)
    env, _ = jitrl.make("kmc-tio2", lattice_size=(4, 4, 3))
    hs, sp = random_state(rng, 4, 4, 3)
    s = _state(env, p, hs, sp)
    step = jax.jit(env.step_env)
    key = jax.random.PRNGKey(0)
    for _ in range(200):
        key, ka, ks = jax.random.split(key, 3)
        a = int(distributions.sample(ka, jnp.where(env.action_mask(s, p), 0.0, -jnp.inf)))
        h0, sp0 = np.asarray(s.heights), np.asarray(s.species)
        _, s, *_ = step(ks, s, a, p)
        h1, sp1 = np.asarray(s.heights), np.asarray(s.species)
        col, ev = divmod(a, 7)
        i, j = divmod(col, 4)
        if ev in (2, 3, 4, 5):
            di, dj = ((1, 0), (-1, 0), (0, 1), (0, -1))[ev - 2]
            ti, tj = (i + di) % 4, (j + dj) % 4
            assert h1[i, j] == h0[i, j] - 1 and h1[ti, tj] == h0[ti, tj] + 1
            assert sp1[ti, tj, h1[ti, tj] - 1] == sp0[i, j, h0[i, j] - 1]
            assert h1.sum() == h0.sum()
        elif ev < 2:
            assert h1[i, j] == h0[i, j] + 1 and sp1[i, j, h1[i, j] - 1] == ev + 1
        else:
            assert h1[i, j] == h0[i, j] - 1
        # solid-on-solid: occupied exactly below the height
        occ = sp1 > 0
        assert np.array_equal(occ, np.arange(3)[None, None, :] < h1[..., None])
        assert int(s.n_ti) == int((sp1 == 1).sum()) and int(s.n_o) == int((sp1 == 2).sum())


def test_residence_time_exponential():
    """dt * Z ~ Exp(1): mean 1 (std of the mean 1/sqrt(n)) and variance 1 (std of
    the sample variance sqrt((mu4 - 1)/n) = sqrt(8/n) for Exp(1)); 4 sigma bounds."""
    env, p = jitrl.make("kmc-tio2", lattice_size=(8, 8, 5))
    rng = np.random.default_rng(4)
    hs, sp = random_state(rng, 8, 8, 5)
    s = _state(env, p, hs, sp)
    n = 40000
    keys = jax.random.split(jax.random.PRNGKey(5), n)
    a = jnp.argmax(env.log_rates(s, p))
    _, _, _, _, _, info = jax.jit(jax.vmap(env.step_env, in_axes=(0, None, None, None)))(keys, s, a, p)
    x = np.asarray(info["dt"], np.float64) * np.exp(np.asarray(info["log_z"], np.float64))
    assert abs(x.mean() - 1.0) < 4.0 / math.sqrt(n)
    assert abs(x.var() - 1.0) < 4.0 * math.sqrt(8.0 / n)
    # Z of the state equals the brute-force sum
    assert abs(float(info["log_z"][0]) - log_sum(event_log_rates(hs, sp, p))) < 1e-3


def test_event_frequencies_chi_square():
    """Neutral fused sampling (the trainer's sampler) draws event a with
    probability Gamma_a / Z; Pearson chi-square over cells with >= 5 expected
    counts (the rest pooled), rejecting at p < 1e-4."""
    p = EnvParams(temperature=420.0)
    env, _ = jitrl.make("kmc-tio2", lattice_size=(4, 4, 3))
    rng = np.random.default_rng(6)
    hs, sp = random_state(rng, 4, 4, 3, fill=0.7)
    s = _state(env, p, hs, sp)
    ref = np.array([v if v is not None else -np.inf for v in event_log_rates(hs, sp, p)])
    q = np.exp(ref - log_sum([v for v in ref if np.isfinite(v)]))
    n = 200_000
    logits = jnp.broadcast_to(jnp.zeros(q.shape[0]) + env.log_rates(s, p), (n, q.shape[0]))
    fused_draws = np.asarray(jax.jit(distributions.sample)(jax.random.PRNGKey(7), logits))
    # the env's two-level BKL sampler (cached per-column sums) must draw the same law
    bkl_draws = np.asarray(
        jax.jit(jax.vmap(sampling.sample_physical, in_axes=(0, None, None)))(jax.random.split(jax.random.PRNGKey(8), n), s, p)
    )
    # the env API's sampler (what bench.py uses for the neutral policy)
    env_draws = np.asarray(
        jax.jit(jax.vmap(env.sample_physical, in_axes=(0, None, None)))(jax.random.split(jax.random.PRNGKey(9), n), s, p)
    )
    for acts in (fused_draws, bkl_draws, env_draws):
        counts = np.bincount(acts, minlength=q.shape[0])
        assert counts[q == 0].sum() == 0
        exp = n * q
        big = exp >= 5
        assert big.sum() >= 10  # the test state spreads probability over many events
        obs_c = np.append(counts[big], counts[~big].sum())
        exp_c = np.append(exp[big], exp[~big].sum())
        keep = exp_c > 0
        chi2 = float((((obs_c - exp_c) ** 2)[keep] / exp_c[keep]).sum())
        assert chi2 < stats.chi2.ppf(1 - 1e-4, keep.sum() - 1), chi2


@pytest.mark.parametrize("species,e_d", [(1, 0.30), (2, 0.40)])
def test_single_adatom_arrhenius(species, e_d):
    """One adatom on a flat substrate (deposition and desorption off): the hop
    rate measured from the simulation (hops per simulated second over 4
    directions) follows Arrhenius with slope -E_d / k_B. Each temperature's
    estimate n/T of a Poisson rate has relative std 1/sqrt(n) = 1.6% (n=4000);
    the fitted slope over 1/T in [1/300, 1/150] is then good to ~0.3%; allow 3%."""
    env, _ = jitrl.make("kmc-tio2", lattice_size=(6, 6, 3))
    temps = np.array([150.0, 180.0, 220.0, 260.0, 300.0])
    n = 4000
    hs = [[0] * 6 for _ in range(6)]
    sp = [[[0] * 3 for _ in range(6)] for _ in range(6)]
    hs[2][3] = 1
    sp[2][3][0] = species
    ps = [EnvParams(temperature=float(t), F_Ti=0.0, F_O=0.0, desorption_enabled=0.0) for t in temps]
    for t, p in zip(temps, ps):  # analytic log-rate of each of the 4 hops
        lr = np.asarray(env.log_rates(_state(env, p, hs, sp), p))
        np.testing.assert_allclose(lr[(2 * 6 + 3) * 7 + 2:(2 * 6 + 3) * 7 + 6], math.log(1e13) - e_d / (KB * t), rtol=1e-5)
    pv = jax.tree_util.tree_map(lambda *x: jnp.stack([jnp.asarray(v, jnp.float32) for v in x]), *ps)
    pv = pv.replace(max_steps=jnp.full((len(temps),), 1000, jnp.int32))

    def run(p, key):
        def body(st, k):
            ka, ks = jax.random.split(k)
            a = distributions.sample(ka, env.log_rates(st, p))
            _, st, _, _, _, info = env.step_env(ks, st, a, p)
            return st, (info["dt"], st.heights.sum())

        return jax.lax.scan(body, _state(env, p, hs, sp), jax.random.split(key, n))[1]

    dts, tot = jax.jit(jax.vmap(run))(pv, jax.random.split(jax.random.PRNGKey(species), len(temps)))
    assert np.all(np.asarray(tot) == 1)
    rate_per_dir = n / np.sum(np.asarray(dts, np.float64), axis=1) / 4.0
    logk = np.log(rate_per_dir)
    slope = np.polyfit(1.0 / temps, np.array(logk), 1)[0]
    assert abs(slope - (-e_d / KB)) < 0.03 * e_d / KB, (slope, -e_d / KB)


def test_no_nan_inf_at_180K_with_2p5_eV_barriers():
    p = EnvParams(temperature=180.0, E_d_Ti=2.5, E_d_O=2.5, E_des_Ti=2.5, E_des_O=2.5)
    env, _ = jitrl.make("kmc-tio2", lattice_size=(4, 4, 2))
    rng = np.random.default_rng(8)
    for fill in (0.0, 0.5, 1.0):
        hs, sp = random_state(rng, 4, 4, 2, fill=fill)
        s = _state(env, p, hs, sp)
        lr = np.asarray(env.log_rates(s, p))
        assert not np.any(np.isnan(lr)) and not np.any(lr == np.inf)
        ref = event_log_rates(hs, sp, p)
        np.testing.assert_allclose(lr[np.isfinite(lr)], [v for v in ref if v is not None], rtol=1e-5)
    # a full lattice: only desorption (log rate ~ -131) is feasible; Z ~ 1e-56 /s, dt must stay finite
    hs = [[2] * 4 for _ in range(4)]
    sp = [[[1, 2] for _ in range(4)] for _ in range(4)]
    s = _state(env, p, hs, sp)
    assert np.isfinite(float(physics.log_total_rate(env.log_rates(s, p))))
    assert np.isfinite(float(s.log_z)) and abs(float(s.log_z) - log_sum(event_log_rates(hs, sp, p))) < 1e-3
    a = int(jnp.argmax(env.log_rates(s, p)))
    obs, s2, r, term, trunc, info = jax.jit(env.step_env)(jax.random.PRNGKey(0), s, a, p)
    for k, v in {"obs": obs, "reward": r, **info}.items():
        assert np.all(np.isfinite(np.asarray(v))), k
    assert np.all(np.isfinite(np.asarray(env.get_obs(s, p))))
    # a long neutral run from a bare substrate stays finite
    s = env._initial_state(p)

    def body(st, key):
        ka, ks = jax.random.split(key)
        a = distributions.sample(ka, env.log_rates(st, p))
        o, st, r, _, _, info = env.step(ks, st, a, p)
        ok = jnp.all(jnp.isfinite(o)) & jnp.isfinite(r) & jnp.isfinite(info["sim_time"]) & jnp.isfinite(info["dt"])
        return st, ok

    _, ok = jax.jit(lambda st: jax.lax.scan(body, st, jax.random.split(jax.random.PRNGKey(1), 300)))(s)
    assert bool(np.all(np.asarray(ok)))


def test_env_sampler_agrees_in_law_with_fused_neutral_sampler():
    """Two-sample chi-square homogeneity test (no reference law used): the env's
    sample_physical and the trainer's fused sampler with all policy logits equal
    draw the same distribution over events. Cells with >= 5 expected counts in
    both samples, the rest pooled; reject at p < 1e-4."""
    p = EnvParams(temperature=700.0)  # warm enough that many events share the probability
    env, _ = jitrl.make("kmc-tio2", lattice_size=(3, 5, 4))
    rng = np.random.default_rng(11)
    hs, sp = random_state(rng, 3, 5, 4, fill=0.6)
    s = _state(env, p, hs, sp)
    n = 100_000
    na = env.num_actions(p)
    logits = jnp.broadcast_to(importance.fused_logits(jnp.zeros(na), env.log_rates(s, p)), (n, na))
    a = np.bincount(np.asarray(jax.jit(distributions.sample)(jax.random.PRNGKey(12), logits)), minlength=na)
    b = np.bincount(
        np.asarray(jax.jit(jax.vmap(env.sample_physical, in_axes=(0, None, None)))(jax.random.split(jax.random.PRNGKey(13), n), s, p)),
        minlength=na,
    )
    mask = np.asarray(env.action_mask(s, p))
    assert a[~mask].sum() == 0 and b[~mask].sum() == 0
    exp_each = (a + b) / 2.0  # equal sample sizes: expected count of each sample in a cell
    big = exp_each >= 5
    assert big.sum() >= 10
    oa = np.append(a[big], a[~big].sum())
    ob = np.append(b[big], b[~big].sum())
    e = (oa + ob) / 2.0
    keep = e > 0
    chi2 = float((((oa - e) ** 2 + (ob - e) ** 2)[keep] / e[keep]).sum())
    assert chi2 < stats.chi2.ppf(1 - 1e-4, keep.sum() - 1), chi2
