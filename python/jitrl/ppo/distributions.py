"""Masked categorical distribution over logits.

Masked actions get logit ``-inf``: they are never sampled and carry no
probability in log-probs, entropy or KL (their ``p * log p`` terms are taken
as 0, never NaN). Sampling is inverse-CDF (one uniform per row), which on CPU
is several times cheaper than Gumbel-max over wide action spaces.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

NEG_INF = -jnp.inf


def masked_logits(logits: jax.Array, mask: jax.Array | None) -> jax.Array:
    logits = logits.astype(jnp.float32)
    if mask is None:
        return logits
    return jnp.where(mask, logits, NEG_INF)


def log_softmax(logits: jax.Array) -> jax.Array:
    """log-probabilities; ``-inf`` stays ``-inf`` (rows need one finite entry)."""
    m = jax.lax.stop_gradient(jnp.max(logits, axis=-1, keepdims=True))
    z = logits - m
    lse = jnp.log(jnp.sum(jnp.exp(z), axis=-1, keepdims=True))
    return z - lse


def log_prob(logits: jax.Array, action: jax.Array) -> jax.Array:
    lp = log_softmax(logits)
    return jnp.take_along_axis(lp, action[..., None].astype(jnp.int32), axis=-1)[..., 0]


def entropy(logits: jax.Array) -> jax.Array:
    lp = log_softmax(logits)
    p = jnp.exp(lp)
    return -jnp.sum(jnp.where(p > 0, p * jnp.where(p > 0, lp, 0.0), 0.0), axis=-1)


def sample(key: jax.Array, logits: jax.Array) -> jax.Array:
    """Draw one action per row by inverse CDF; never returns a zero-probability action."""
    lp = log_softmax(jax.lax.stop_gradient(logits))
    p = jnp.exp(lp)
    cdf = jnp.cumsum(p, axis=-1)
    total = cdf[..., -1:]
    u = jax.random.uniform(key, logits.shape[:-1] + (1,), dtype=jnp.float32) * total
    # First index whose cdf exceeds u has p > 0 (a zero entry never raises the cdf).
    hit = (cdf > u) & (p > 0)
    n = logits.shape[-1]
    idx = jnp.arange(n, dtype=jnp.int32)
    first = jnp.min(jnp.where(hit, idx, n), axis=-1)
    # u rounding up to the total: fall back to the last action with p > 0.
    last = jnp.max(jnp.where(p > 0, idx, -1), axis=-1)
    return jnp.where(first < n, first, last).astype(jnp.int32)


def greedy(logits: jax.Array) -> jax.Array:
    return jnp.argmax(logits, axis=-1).astype(jnp.int32)
