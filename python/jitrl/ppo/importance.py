"""Importance weights for rate-steered event selection (SwarmThinkers).

An env with physical log-rates ``log_gamma`` (``-inf`` where infeasible) is
stepped with events drawn from the fused proposal
``P(a) = softmax(policy_logits + log_gamma)``. The physical (BKL) law is
``q(a) = Gamma_a / Z``. A step's importance weight is ``w = q(a) / P(a)``;
a trajectory's log-weight is the sum of its steps' log-weights. With a
neutral policy (all logits equal) ``P == q`` and every ``w == 1``.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

from jitrl.ppo.distributions import log_softmax


def fused_logits(policy_logits: jax.Array, log_gamma: jax.Array) -> jax.Array:
    """Logits of P ∝ pi * Gamma; infeasible events (log_gamma = -inf) stay -inf."""
    return jnp.where(jnp.isfinite(log_gamma), policy_logits.astype(jnp.float32) + log_gamma, -jnp.inf)


def physical_log_probs(log_gamma: jax.Array) -> jax.Array:
    """log q(a) = log Gamma_a - log Z."""
    return log_softmax(log_gamma)


def step_log_weight(log_gamma: jax.Array, fused: jax.Array, action: jax.Array) -> jax.Array:
    """log w = log q(a) - log P(a) for the sampled action."""
    lq = physical_log_probs(log_gamma)
    lp = log_softmax(fused)
    a = action[..., None].astype(jnp.int32)
    return (jnp.take_along_axis(lq, a, -1) - jnp.take_along_axis(lp, a, -1))[..., 0]


def expected_ess_ratio(log_gamma: jax.Array, fused: jax.Array) -> jax.Array:
    """ESS/n of weights drawn from P: (E_P w)^2 / E_P w^2 = 1 / sum_a q(a)^2 / P(a).

    Equals 1 exactly when P == q and falls toward 0 as P departs from q.
    """
    lq = physical_log_probs(log_gamma)
    lp = log_softmax(fused)
    terms = jnp.where(jnp.isfinite(lq), 2.0 * lq - jnp.where(jnp.isfinite(lq), lp, 0.0), -jnp.inf)
    return jnp.exp(-jax.nn.logsumexp(terms, axis=-1))


def ess_ratio(log_w: jax.Array, valid: jax.Array | None = None) -> jax.Array:
    """(sum w)^2 / (n sum w^2) over the entries where ``valid`` (all if None).

    Computed from log-weights with a max shift, so huge or tiny weights do not
    overflow. Returns 1.0 when no entry is valid.
    """
    log_w = log_w.reshape(-1).astype(jnp.float32)
    valid = jnp.ones_like(log_w, bool) if valid is None else valid.reshape(-1)
    n = jnp.sum(valid)
    m = jnp.max(jnp.where(valid, log_w, -jnp.inf))
    m = jnp.where(jnp.isfinite(m), m, 0.0)
    w = jnp.where(valid, jnp.exp(log_w - m), 0.0)
    s1, s2 = jnp.sum(w), jnp.sum(w * w)
    return jnp.where(n > 0, s1 * s1 / (jnp.maximum(n, 1) * jnp.where(s2 > 0, s2, 1.0)), 1.0)
