"""Weighted estimators (issue 9): for a non-neutral proposal the importance-
weighted estimate of an observable of the trajectory equals its physical
expectation, computed exactly by enumerating every 3-event history of a 3x3
lattice with the plain-Python reference rates (``kmc_reference``); with the
full fused proposal and with sampling-importance-resampling of k = 1, 2, 8
candidates and the averaged weight."""
import copy
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jitrl
from jitrl.ppo import estimation

from kmc_reference import NEIGHBOURS, event_log_rates, log_sum
from kmc_steered import steered_episodes

SIZE = (3, 3, 4)
T = 3  # events per history
THRESHOLD = 0.45  # rare event: roughness after 3 events below 0.45 (some atom hopped)
PARAMS = dict(temperature=200.0, E_d_Ti=0.5, E_d_O=0.5)  # hops and depositions comparable


def _apply(heights, species, a):
    nx, ny = len(heights), len(heights[0])
    col, e = divmod(a, 7)
    i, j = divmod(col, ny)
    h, s = copy.deepcopy(heights), copy.deepcopy(species)
    if e <= 1:
        s[i][j][h[i][j]] = e + 1
        h[i][j] += 1
        return h, s
    top = s[i][j][h[i][j] - 1]
    s[i][j][h[i][j] - 1] = 0
    h[i][j] -= 1
    if e <= 5:
        di, dj = NEIGHBOURS[e - 2]
        ti, tj = (i + di) % nx, (j + dj) % ny
        s[ti][tj][h[ti][tj]] = top
        h[ti][tj] += 1
    return h, s


def _roughness(heights):
    x = np.asarray(heights, np.float64)
    return float(np.sqrt(np.mean((x - x.mean()) ** 2)))


def _exact(p):
    """E_q[roughness_T] and P_q(roughness_T < THRESHOLD) over every history."""
    nx, ny, nz = SIZE

    def rec(h, s, depth):
        if depth == T:
            r = _roughness(h)
            return np.array([r, float(r < THRESHOLD)])
        lr = event_log_rates(h, s, p)
        lz = log_sum(lr)
        tot = np.zeros(2)
        for a, v in enumerate(lr):
            if v is not None:
                tot += math.exp(v - lz) * rec(*_apply(h, s, a), depth + 1)
        return tot

    h0 = [[0] * ny for _ in range(nx)]
    s0 = [[[0] * nz for _ in range(ny)] for _ in range(nx)]
    return rec(h0, s0, 0)


def _episodes(env, p, policy, k, n, key):
    lw, r = steered_episodes(env, p, lambda s, lg: policy, T, n, key, k)
    return np.asarray(lw, np.float64), np.asarray(r, np.float64)


@pytest.mark.parametrize("k", [None, 1, 2, 8])
def test_weighted_estimate_equals_exact_expectation(k):
    env, p = jitrl.make("kmc-tio2", lattice_size=SIZE, **PARAMS)
    exact = _exact(p)
    assert 0.05 < exact[1] < 0.95  # a non-degenerate event
    # a non-neutral proposal: hops favoured (x e^0.7) and random per-event logits; its
    # weights stay light-tailed (trajectory ESS ~0.67) so the 4.5-se bounds are reliable
    hop = jnp.tile(jnp.array([0.0, 0, 1, 1, 1, 1, 0]), SIZE[0] * SIZE[1])
    policy = 0.7 * hop + 0.3 * jax.random.normal(jax.random.PRNGKey(7), (env.num_actions(p),))
    n = 20_000
    lw, r = _episodes(env, p, policy, k, n, jax.random.PRNGKey(11 + (k or 0)))
    w = np.exp(lw)
    for j, f in enumerate((r, (r < THRESHOLD).astype(np.float64))):
        # unbiased: mean of W f (standard error from the sample)
        wf = w * f
        assert abs(wf.mean() - exact[j]) < 4.5 * wf.std() / math.sqrt(n), (k, j, wf.mean(), exact[j])
        # self-normalised, with its delta-method standard error (jitrl.ppo.estimation)
        est, se = estimation.weighted_mean(jnp.asarray(lw, jnp.float32), jnp.asarray(f, jnp.float32))
        assert abs(float(est) - exact[j]) < 4.5 * float(se), (k, j, float(est), float(se), exact[j])
    if k in (None, 1):
        # the proposal is far from the physics: unweighted, it measures another growth law
        f = (r < THRESHOLD).astype(np.float64)
        assert abs(f.mean() - exact[1]) > 20 * f.std() / math.sqrt(n)  # measured: ~38 se
        assert float(estimation.kish_ess(jnp.asarray(lw, jnp.float32))) < 0.9
