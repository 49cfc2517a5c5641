"""Random-deposition limit (hops and desorption switched off by params) against
exact results: <W^2> = theta (1 - 1/N), first-layer coverage 1 - exp(-F t),
O/Ti -> F_O / F_Ti = 2."""
import math

import jax
import jax.numpy as jnp
import numpy as np

import jitrl
from jitrl.ppo import distributions, importance

NX, NY, NZ = 8, 8, 40  # nz high enough that no column fills at theta = 4 (P(h >= 40) ~ 1e-20)
M = 512  # independent lattices
EVENTS = 256  # theta = 256 / 64 = 4 layers


def _run(nx=NX, ny=NY, m=M, events=EVENTS):
    env, p = jitrl.make("kmc-tio2", lattice_size=(nx, ny, NZ), hops_enabled=0.0, desorption_enabled=0.0, max_steps=10_000)

    def one(key):
        _, s = env.reset(key, p)

        def body(st, k):
            ka, ks = jax.random.split(k)
            # neutral policy through the trainer's fused proposal: P = Gamma / Z
            logits = importance.fused_logits(jnp.zeros(env.num_actions(p)), env.log_rates(st, p))
            a = distributions.sample(ka, logits)
            _, st, _, _, _, info = env.step_env(ks, st, a, p)
            return st, (info["sim_time"], jnp.mean(st.heights >= 1), info["roughness"])

        return jax.lax.scan(body, s, jax.random.split(key, events))

    return env, p, jax.jit(jax.vmap(one))(jax.random.split(jax.random.PRNGKey(11), m))


def test_random_deposition_exact_results():
    env, p, (s, (times, first_layer, rough)) = _run()
    n_cols = NX * NY
    h = np.asarray(s.heights)
    assert np.all(h.sum(axis=(1, 2)) == EVENTS) and h.max() < NZ
    # (1) roughness: every event is a deposition on a uniformly chosen column, so the
    # heights are multinomial(EVENTS, 1/N): E[population variance] = theta (1 - 1/N) exactly.
    theta = EVENTS / n_cols
    w2 = np.asarray(rough[:, -1], np.float64) ** 2
    # tolerance: 4 standard errors of the mean over M lattices (measured spread; Poisson
    # estimate sqrt((mu4 - sigma^4) / N) / sqrt(M) = sqrt((52 - 16) / 64 / 512) = 0.033)
    assert abs(w2.mean() - theta * (1 - 1 / n_cols)) < 4 * w2.std() / math.sqrt(M), w2.mean()
    # same at theta = 1 (event 64)
    w2_1 = np.asarray(rough[:, n_cols - 1], np.float64) ** 2
    assert abs(w2_1.mean() - 1.0 * (1 - 1 / n_cols)) < 4 * w2_1.std() / math.sqrt(M)

    # (2) first-layer coverage at time t: each column receives atoms as a Poisson
    # process of rate F = F_Ti + F_O, so P(h >= 1 at t) = 1 - exp(-F t). The state at t
    # is the one after the last event with time <= t (times: [M, EVENTS]).
    F = float(p.F_Ti + p.F_O)
    times = np.asarray(times, np.float64)
    first_layer = np.asarray(first_layer, np.float64)
    assert times[:, -1].min() > 8.0  # every run reaches the latest check time
    for t in (0.5, 1.0, 3.0, 6.0, 8.0):
        idx = (times <= t).sum(axis=1) - 1
        cov = np.where(idx >= 0, first_layer[np.arange(M), np.maximum(idx, 0)], 0.0)
        expect = 1 - math.exp(-F * t)
        # per lattice the 64 columns are independent Bernoulli(expect): std of the mean
        # over M lattices = sqrt(expect (1 - expect) / 64 / M); 4 sigma
        tol = 4 * math.sqrt(expect * (1 - expect) / n_cols / M)
        assert abs(cov.mean() - expect) < tol, (t, cov.mean(), expect)

    # (3) O/Ti: each deposition is O with probability F_O / (F_Ti + F_O) = 2/3, so
    # n_O / n_Ti -> 2; for n = M * EVENTS atoms the ratio's std is sqrt(18 / n) (delta
    # method), 4 sigma = 0.047 here.
    n_ti, n_o = int(np.asarray(s.n_ti).sum()), int(np.asarray(s.n_o).sum())
    n = M * EVENTS
    assert n_ti + n_o == n
    assert abs(n_o / n_ti - 2.0) < 4 * math.sqrt(18.0 / n), n_o / n_ti


def test_random_deposition_finite_size_term():
    """On 3 x 3 the finite-size factor (1 - 1/N) is large enough to resolve:
    theta (1 - 1/9) = 3.556 vs theta = 4 at theta = 4; the standard error of the
    mean of W^2 over 4096 lattices is ~0.033 (Poisson estimate of var(S^2) =
    (mu4 - sigma^4 (N-3)/(N-1)) / N = 4.4), so 4 sigma = 0.13 < 0.44."""
    m = 4096
    _, _, (s, (_, _, rough)) = _run(nx=3, ny=3, m=m, events=36)
    w2 = np.asarray(rough[:, -1], np.float64) ** 2
    tol = 4 * w2.std() / math.sqrt(m)
    assert tol < 0.2
    assert abs(w2.mean() - 4.0 * (1 - 1 / 9)) < tol, w2.mean()
