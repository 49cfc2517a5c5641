"""Plain BKL event selection from the cached rates (the neutral policy without
building the full ``[nx * ny * 7]`` distribution).

Two levels: a column with probability ``Gamma_col / Z`` (from the cached
per-column log-sums, ``nx * ny`` exps), then an event within it with
probability ``Gamma_a / Gamma_col`` (7 exps). The product is exactly
``Gamma_a / Z``, the distribution the trainer's fused proposal reduces to when
all policy logits are equal; it costs O(nx ny + 7) per event instead of
O(7 nx ny). Used for pure-KMC runs and benchmarks; training samples the fused
distribution (``jitrl.ppo.distributions.sample``) because the policy changes
every event's probability.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

from jitrl.envs.kmc import constants as C
from jitrl.envs.kmc.state import EnvState


def _inverse_cdf(u: jax.Array, log_w: jax.Array) -> jax.Array:
    """Index drawn with probability proportional to exp(log_w) (``-inf`` never drawn)."""
    m = jnp.max(log_w)
    w = jnp.exp(log_w - m)
    cdf = jnp.cumsum(w)
    target = u * cdf[-1]
    n = log_w.shape[0]
    idx = jnp.arange(n, dtype=jnp.int32)
    first = jnp.min(jnp.where((cdf > target) & (w > 0), idx, n))
    last = jnp.max(jnp.where(w > 0, idx, -1))  # u * total rounding up to total
    return jnp.where(first < n, first, last).astype(jnp.int32)


def sample_physical(key: jax.Array, state: EnvState) -> jax.Array:
    """One flat action drawn with probability ``Gamma_a / Z`` (plain BKL)."""
    k_col, k_ev = jax.random.split(key)
    ny = state.heights.shape[1]
    col = _inverse_cdf(jax.random.uniform(k_col, (), jnp.float32), state.col_log_rates.reshape(-1))
    rates = state.log_rates[col // ny, col % ny]
    ev = _inverse_cdf(jax.random.uniform(k_ev, (), jnp.float32), rates)
    return col * C.NUM_EVENTS + ev
