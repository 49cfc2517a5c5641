"""Weighted estimators of a steered (importance-sampled) process.

Episodes are drawn from a proposal (the fused policy x rate law) and carry the
log trajectory weight ``log W = sum_t log w_t`` (``jitrl.ppo.importance``), so
for any observable ``O`` of the episode's end ``E_q[O] = E_P[W O]``: the
physical expectation. The steered (sampled) mean ``E_P[O]`` is a different,
non-physical growth law. Given ``n`` episodes (entries where ``valid``):

* ``kish_ess``: ``(sum W)^2 / (n sum W^2)``, the trajectory ESS ratio (Kish);
  the one ESS that drives early stopping and curriculum gates (logged as
  ``ess`` and ``ess_trajectory``);
* ``log_w_var``: the variance of ``log W``;
* ``weighted_mean``: the self-normalised estimate ``sum W O / sum W`` and its
  delta-method standard error ``sqrt(sum Wn^2 (O - mean)^2)`` with
  ``Wn = W / sum W`` (the usual SNIS error; consistent, bias O(1/n)).

Everything is computed from log-weights with a max shift, so huge or tiny
weights neither overflow nor vanish.
"""
from __future__ import annotations

from typing import Optional, Tuple

import jax
import jax.numpy as jnp

from jitrl.ppo.importance import ess_ratio


def _flat(log_w: jax.Array, valid: Optional[jax.Array]):
    log_w = log_w.reshape(-1).astype(jnp.float32)
    valid = jnp.ones_like(log_w, bool) if valid is None else valid.reshape(-1)
    return log_w, valid


def normalised_weights(log_w: jax.Array, valid: Optional[jax.Array] = None) -> jax.Array:
    """``W_i / sum W`` over the valid entries (0 elsewhere; all 0 if none is valid)."""
    log_w, valid = _flat(log_w, valid)
    m = jnp.max(jnp.where(valid, log_w, -jnp.inf))
    m = jnp.where(jnp.isfinite(m), m, 0.0)
    w = jnp.where(valid, jnp.exp(log_w - m), 0.0)
    return w / jnp.maximum(jnp.sum(w), 1e-30)


def kish_ess(log_w: jax.Array, valid: Optional[jax.Array] = None) -> jax.Array:
    """Kish ESS ratio of the trajectory weights (1.0 when nothing is valid)."""
    return ess_ratio(log_w, valid)


def log_w_var(log_w: jax.Array, valid: Optional[jax.Array] = None) -> jax.Array:
    """Variance of ``log W`` over the valid entries (0 when fewer than one)."""
    log_w, valid = _flat(log_w, valid)
    n = jnp.maximum(jnp.sum(valid), 1)
    mean = jnp.sum(jnp.where(valid, log_w, 0.0)) / n
    return jnp.sum(jnp.where(valid, jnp.square(log_w - mean), 0.0)) / n


def weighted_mean(log_w: jax.Array, x: jax.Array, valid: Optional[jax.Array] = None) -> Tuple[jax.Array, jax.Array]:
    """Self-normalised weighted estimate of ``E_q[x]`` and its standard error
    (NaN when no entry is valid: there is nothing to estimate from)."""
    wn = normalised_weights(log_w, valid)
    _, v = _flat(log_w, valid)
    x = jnp.where(v, x.reshape(-1).astype(jnp.float32), 0.0)
    mean = jnp.sum(wn * x)
    se = jnp.sqrt(jnp.sum(jnp.square(wn) * jnp.square(x - mean)))
    none = jnp.sum(v) == 0
    return jnp.where(none, jnp.nan, mean), jnp.where(none, jnp.nan, se)


def plain_mean(x: jax.Array, valid: Optional[jax.Array] = None) -> Tuple[jax.Array, jax.Array]:
    """Unweighted mean of ``x`` over the valid entries and its standard error."""
    return weighted_mean(jnp.zeros(x.shape, jnp.float32), x, valid)
