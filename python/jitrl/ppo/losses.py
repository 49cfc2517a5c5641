"""GAE and the clipped PPO objective (pure functions, no env or network state)."""
from __future__ import annotations

from typing import Any, Dict, Tuple

import jax
import jax.numpy as jnp

from jitrl.ppo import distributions


def gae(
    rewards: jax.Array,
    values: jax.Array,
    dones: jax.Array,
    last_value: jax.Array,
    gamma: jax.Array,
    gae_lambda: jax.Array,
) -> Tuple[jax.Array, jax.Array]:
    """Generalised advantage estimation over a ``[T, ...]`` rollout.

    ``dones[t]`` ends the episode after step t (the value of the next stored
    state is not used). Truncation is handled by the caller, which adds
    ``gamma * V(final_obs)`` to the reward of truncated steps.
    Returns ``(advantages, returns)``.
    """
    next_values = jnp.concatenate([values[1:], last_value[None]], axis=0)
    not_done = 1.0 - dones.astype(jnp.float32)
    deltas = rewards + gamma * next_values * not_done - values

    def body(carry, x):
        delta, nd = x
        carry = delta + gamma * gae_lambda * nd * carry
        return carry, carry

    _, adv = jax.lax.scan(body, jnp.zeros_like(last_value), (deltas, not_done), reverse=True)
    return adv, adv + values


def normalized(advantages: jax.Array) -> jax.Array:
    """Advantages shifted and scaled to mean 0, std 1 over the minibatch."""
    return (advantages - advantages.mean()) / (advantages.std() + 1e-8)


#: per-row PPO terms whose minibatch means are the losses and statistics
ROW_TERMS = ("policy_loss", "value_loss", "entropy", "approx_kl", "clip_frac")


def ppo_row_terms(logits: jax.Array, values: jax.Array, actions: jax.Array, old_log_probs: jax.Array,
                  old_values: jax.Array, advantages: jax.Array, targets: jax.Array, clip_range: jax.Array,
                  clip_value_loss: bool = True, dist: Any = distributions) -> Dict[str, jax.Array]:
    """The per-row terms (``ROW_TERMS``) of the clipped objective; ``advantages``
    already normalised if they are to be. Their means over a minibatch are
    :func:`ppo_loss`'s statistics, so a minibatch may be summed chunk by chunk."""
    log_probs = dist.log_prob(logits, actions)
    log_ratio = log_probs - old_log_probs
    ratio = jnp.exp(log_ratio)
    pg1 = ratio * advantages
    pg2 = jnp.clip(ratio, 1.0 - clip_range, 1.0 + clip_range) * advantages
    v_err = jnp.square(values - targets)
    if clip_value_loss:
        v_clipped = old_values + jnp.clip(values - old_values, -clip_range, clip_range)
        v_err = jnp.maximum(v_err, jnp.square(v_clipped - targets))
    return {
        "policy_loss": -jnp.minimum(pg1, pg2),
        "value_loss": 0.5 * v_err,
        "entropy": dist.entropy(logits),
        "approx_kl": (ratio - 1.0) - log_ratio,
        "clip_frac": (jnp.abs(ratio - 1.0) > clip_range).astype(jnp.float32),
    }


def total_loss(stats: Dict[str, jax.Array], vf_coef: jax.Array, ent_coef: jax.Array) -> jax.Array:
    """policy + vf_coef * value - ent_coef * entropy (of means, or of sums)."""
    return stats["policy_loss"] + vf_coef * stats["value_loss"] - ent_coef * stats["entropy"]


def ppo_loss(logits: jax.Array, values: jax.Array, actions: jax.Array, old_log_probs: jax.Array,
             old_values: jax.Array, advantages: jax.Array, targets: jax.Array, clip_range: jax.Array,
             vf_coef: jax.Array, ent_coef: jax.Array, clip_value_loss: bool = True,
             normalize_advantages: bool = True, dist: Any = distributions) -> Tuple[jax.Array, Dict[str, jax.Array]]:
    """Clipped surrogate + (clipped) value loss - entropy bonus over one minibatch.

    ``logits`` are the final (masked / fused) logits of the acting
    distribution ``dist`` (anything with ``log_prob`` and ``entropy`` of final
    logits, e.g. a :mod:`jitrl.ppo.acting` distribution): masked actions carry no
    probability.
    """
    if normalize_advantages:
        advantages = normalized(advantages)
    terms = ppo_row_terms(logits, values, actions, old_log_probs, old_values, advantages, targets, clip_range,
                          clip_value_loss, dist)
    stats = {k: jnp.mean(v) for k, v in terms.items()}
    return total_loss(stats, vf_coef, ent_coef), stats
