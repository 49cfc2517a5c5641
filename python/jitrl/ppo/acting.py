"""From observations to the acting distribution: network logits, action masks
and (for rate envs) the fused SwarmThinkers proposal."""
from __future__ import annotations

from typing import Any, Tuple

import jax
import jax.numpy as jnp

from jitrl.ppo import distributions, importance


def action_bias(env: Any, env_state: Any, env_params: Any) -> jax.Array:
    """Per-env data the acting distribution needs besides the network output:
    the boolean action mask, or the log-rates (``-inf`` = masked) of a rate env."""
    if env.has_rates:
        return jax.vmap(env.log_rates, in_axes=(0, None))(env_state, env_params)
    return jax.vmap(env.action_mask, in_axes=(0, None))(env_state, env_params)


def final_logits(env: Any, policy_logits: jax.Array, bias: jax.Array) -> jax.Array:
    """Logits of the distribution actions are drawn from and PPO trains."""
    if env.has_rates:
        return importance.fused_logits(policy_logits, bias)
    return distributions.masked_logits(policy_logits, bias)


def policy(network: Any, env: Any, params: Any, obs: jax.Array, bias: jax.Array) -> Tuple[jax.Array, jax.Array]:
    logits, value = network.apply(params, obs)
    return final_logits(env, logits, bias), value
