"""The epoch shuffle (``jitrl.ppo.shuffle.permutation``) against exact facts of a
uniform random permutation."""
import itertools

import jax
import numpy as np

from jitrl.ppo import shuffle


def test_is_a_permutation_for_awkward_sizes():
    for n in (1, 2, 3, 7, 64, 1000, 4097):
        p = np.asarray(jax.jit(shuffle.permutation, static_argnums=1)(jax.random.PRNGKey(n), n))
        assert p.dtype == np.int32
        np.testing.assert_array_equal(np.sort(p), np.arange(n))


def test_rounds_follow_jax_criterion():
    # 3 ln n / (random bits ln 2) rounds: 262,144 rows leave 14 random bits -> 4 rounds
    assert shuffle.rounds_for(262_144) == 4
    assert shuffle.rounds_for(2) == 1
    assert shuffle.rounds_for(1 << 25) == 0  # under 8 random bits: jax's own shuffle


def test_all_orders_of_four_equally_likely():
    # 24 orders of 4 rows, 24,000 draws: each count ~ Binomial(24000, 1/24), mean 1000, sd 31.
    # Chi-square with 23 degrees of freedom: mean 23, sd 6.8; 60 is ~5.5 sd (p < 1e-4).
    keys = jax.random.split(jax.random.PRNGKey(0), 24_000)
    perms = np.asarray(jax.jit(jax.vmap(lambda k: shuffle.permutation(k, 4)))(keys))
    index = {p: i for i, p in enumerate(itertools.permutations(range(4)))}
    counts = np.bincount([index[tuple(p)] for p in perms], minlength=24)
    chi2 = float(np.sum((counts - 1000.0) ** 2 / 1000.0))
    assert chi2 < 60, (chi2, counts)


def test_positions_uniform_at_a_packed_size():
    # n = 1000 rows (10 index bits, 22 random bits, 2 rounds):
    # where row 0 and row 999 land over 2,000 draws is uniform over 10 bins of 100 positions:
    # each bin count ~ Binomial(2000, 0.1), mean 200, sd 13.4; chi-square 9 dof < 40 (p < 1e-5).
    n = 1000
    assert shuffle.rounds_for(n) == 2
    keys = jax.random.split(jax.random.PRNGKey(1), 2000)
    perms = np.asarray(jax.jit(jax.vmap(lambda k: shuffle.permutation(k, n)))(keys))
    for row in (0, n - 1):
        where = np.argmax(perms == row, axis=1)
        counts = np.bincount(where // 100, minlength=10)
        chi2 = float(np.sum((counts - 200.0) ** 2 / 200.0))
        assert chi2 < 40, (row, chi2, counts)
    # adjacent rows keep their order half of the time: mean 0.5, sd sqrt(0.25/2000) = 0.011
    frac = np.mean(np.argmax(perms == 1, axis=1) > np.argmax(perms == 0, axis=1))
    assert abs(frac - 0.5) < 0.06, frac
