"""Plain BKL event selection from the cached per-column log-sums (the neutral
policy without building the full ``[nx * ny * 7]`` distribution).

Three levels: a row ``i`` with probability ``Gamma_row / Z`` (the state's
cached row log-sums, kept up to date by the env after each event), a column of that row with probability
``Gamma_col / Gamma_row`` (``ny``), then
an event of that column with probability ``Gamma_a / Gamma_col`` (its 7
log-rates computed from its own and its 4 neighbours' words). The product is
exactly ``Gamma_a / Z``, the distribution the trainer's fused proposal reduces
to when all policy logits are equal; the searches are over ``nx``, ``ny`` and 7
entries instead of ``7 nx ny``, each an exponential race in log space
(``log_race``), so no event with a positive rate has zero probability. Used for pure-KMC runs and benchmarks
(``KMCTiO2.sample_physical``); training samples the fused distribution through the same kind of
hierarchical race (``jitrl.ppo.importance.exact_sample``).
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

from jitrl.envs.kmc import constants as C
from jitrl.envs.kmc import physics
from jitrl.envs.kmc.state import EnvParams, EnvState


#: 2^-23: the spacing of ``jax.random.uniform``'s float32 draws.
_ULP = 2.0 ** -23


def log_race(key: jax.Array, log_w: jax.Array) -> jax.Array:
    """Index along the last axis drawn with probability ``exp(log_w) / sum exp(log_w)``
    (``-inf`` never drawn), in log space: an exponential race
    ``argmin_i log(E_i) - log_w_i`` with ``E_i ~ Exp(1)`` independent.

    No cumulative sum, so no share is rounded away: an entry with share ``s``
    wins with probability ``s`` down to ``s ~ 1e-13``, because each ``E_i`` is
    made from a 46-bit uniform (``u = u1 + 2^-23 u2`` of two float32 draws,
    spacing 2^-46 near 0; a single float32 uniform stops at 2^-23 ~ 1e-7, which
    is also where Gumbel-max with float32 noise stops).
    """
    k1, k2 = jax.random.split(key)
    u1 = jax.random.uniform(k1, log_w.shape, jnp.float32)
    u2 = jax.random.uniform(k2, log_w.shape, jnp.float32)
    u = u1 + u2 * jnp.float32(_ULP)
    log_e = jnp.log(-jnp.log1p(-u))
    score = jnp.where(jnp.isfinite(log_w), log_e - log_w, jnp.inf)
    return jnp.argmin(score, axis=-1).astype(jnp.int32)


def sample_physical(key: jax.Array, state: EnvState, params: EnvParams) -> jax.Array:
    """One flat action drawn with probability ``Gamma_a / Z`` (plain BKL), a
    race per level in log space (see ``log_race``)."""
    k_row, k_col, k_ev = jax.random.split(key, 3)
    nx, ny = state.col_log_rates.shape
    i = log_race(k_row, state.row_log_rates)
    j = log_race(k_col, state.col_log_rates[i])
    rates = physics.site_log_rates(state.abs_heights, state.obits, i, j, params, state.nz, state.offset)
    ev = log_race(k_ev, rates)
    return (i * ny + j) * C.NUM_EVENTS + ev
