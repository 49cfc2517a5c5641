"""Plain BKL event selection from the cached per-column log-sums (the neutral
policy without building the full ``[nx * ny * 7]`` distribution).

Three levels: a row ``i`` with probability ``Gamma_row / Z`` (row totals of
the weights ``exp(col_log_rates - log Z)``, ``nx * ny`` exps and adds), a
column of that row with probability ``Gamma_col / Gamma_row`` (``ny``), then
an event of that column with probability ``Gamma_a / Gamma_col`` (its 7
log-rates computed from its own and its 4 neighbours' words). The product is
exactly ``Gamma_a / Z``, the distribution the trainer's fused proposal reduces
to when all policy logits are equal; the searches are over ``nx``, ``ny`` and 7
entries instead of ``7 nx ny``. Used for pure-KMC runs and benchmarks
(``KMCTiO2.sample_physical``); training samples the fused distribution
(``jitrl.ppo.distributions.sample``) because the policy changes every event's
probability.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

from jitrl.envs.kmc import constants as C
from jitrl.envs.kmc import physics
from jitrl.envs.kmc.state import EnvParams, EnvState


def _inverse_cdf_w(u: jax.Array, w: jax.Array) -> jax.Array:
    """Index drawn with probability proportional to the weights ``w >= 0`` (zero never drawn)."""
    cdf = jnp.cumsum(w)
    target = u * cdf[-1]
    n = w.shape[0]
    idx = jnp.arange(n, dtype=jnp.int32)
    first = jnp.min(jnp.where((cdf > target) & (w > 0), idx, n))
    last = jnp.max(jnp.where(w > 0, idx, -1))  # u * total rounding up to total
    return jnp.where(first < n, first, last).astype(jnp.int32)


def _inverse_cdf(u: jax.Array, log_w: jax.Array) -> jax.Array:
    """Index drawn with probability proportional to exp(log_w) (``-inf`` never drawn)."""
    return _inverse_cdf_w(u, jnp.exp(log_w - jnp.max(log_w)))


def sample_physical(key: jax.Array, state: EnvState, params: EnvParams) -> jax.Array:
    """One flat action drawn with probability ``Gamma_a / Z`` (plain BKL)."""
    k_row, k_col, k_ev = jax.random.split(key, 3)
    nx, ny = state.col_log_rates.shape
    w = jnp.exp(state.col_log_rates - state.log_z)  # Gamma_col / Z, <= 1: no overflow
    i = _inverse_cdf_w(jax.random.uniform(k_row, (), jnp.float32), jnp.sum(w, axis=1))
    j = _inverse_cdf_w(jax.random.uniform(k_col, (), jnp.float32), w[i])
    rates = physics.site_log_rates(state.heights, state.obits, i, j, params, state.nz)
    ev = _inverse_cdf(jax.random.uniform(k_ev, (), jnp.float32), rates)
    return (i * ny + j) * C.NUM_EVENTS + ev
