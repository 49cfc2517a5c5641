"""Pytrees carried by the jitted training program."""
from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from flax import struct

from jitrl.ppo.config import PPOConfig


@struct.dataclass
class HParams:
    """Float hyperparameters as traced values, so that sweeps can ``vmap`` over them."""

    learning_rate: jax.Array
    gamma: jax.Array
    gae_lambda: jax.Array
    clip_range: jax.Array
    ent_coef: jax.Array
    vf_coef: jax.Array
    max_grad_norm: jax.Array

    @classmethod
    def from_config(cls, cfg: PPOConfig) -> "HParams":
        f = lambda v: jnp.asarray(v, jnp.float32)  # noqa: E731
        return cls(
            learning_rate=f(cfg.learning_rate),
            gamma=f(cfg.gamma),
            gae_lambda=f(cfg.gae_lambda),
            clip_range=f(cfg.clip_range),
            ent_coef=f(cfg.ent_coef),
            vf_coef=f(cfg.vf_coef),
            max_grad_norm=f(cfg.max_grad_norm),
        )


#: HParams fields a sweep may vary inside one program.
SWEEPABLE = tuple(HParams.__dataclass_fields__)


@struct.dataclass
class EpisodeTracker:
    """Running per-env episode statistics (reset when an episode ends)."""

    ret: jax.Array  # float32[N] undiscounted return so far
    length: jax.Array  # int32[N]
    log_weight: jax.Array  # float32[N] trajectory importance log-weight (rate envs)

    @classmethod
    def zeros(cls, num_envs: int) -> "EpisodeTracker":
        return cls(
            ret=jnp.zeros((num_envs,), jnp.float32),
            length=jnp.zeros((num_envs,), jnp.int32),
            log_weight=jnp.zeros((num_envs,), jnp.float32),
        )


@struct.dataclass
class RunnerState:
    """Everything a run needs to continue exactly: checkpoints hold this pytree."""

    params: Any
    opt_state: Any
    env_state: Any
    obs: jax.Array
    law: Any  # ActionLaw of the next decision, as the env returned it
    episodes: EpisodeTracker
    key: jax.Array
    update: jax.Array  # int32 scalar: updates done so far
    hparams: HParams


#: RunnerState fields whose leading axis is the env batch (sharded over devices).
ENV_BATCHED_FIELDS = ("env_state", "obs", "law", "episodes")


@struct.dataclass
class Transition:
    obs: jax.Array
    action: jax.Array
    log_prob: jax.Array
    value: jax.Array
    reward: jax.Array  # includes gamma * V(final_obs) on truncated steps
    done: jax.Array
    law: Any  # the ActionLaw the action was drawn under (the learner rebuilds the logits from it)
