"""Pytrees carried by the jitted training program."""
from __future__ import annotations

from typing import Any, Sequence

import jax
import jax.numpy as jnp
from flax import struct

from jitrl.common.fields import sweepable_names
from jitrl.ppo.config import PPOConfig


#: PPOConfig fields declared ``sweepable``: the float hyperparameters a sweep may
#: vary inside one compiled program (learning_rate, gamma, gae_lambda, clip_range,
#: ent_coef, vf_coef, max_grad_norm).
SWEEPABLE = sweepable_names(PPOConfig)


def _from_config(cls, cfg: PPOConfig) -> "HParams":
    """One row: the config's sweepable values as float32 scalars."""
    return cls(**{name: jnp.asarray(getattr(cfg, name), jnp.float32) for name in SWEEPABLE})


def _rows(cls, cfgs: Sequence[PPOConfig]) -> "HParams":
    """One row per config, stacked on a leading axis (seeds, sweep variants x seeds)."""
    return jax.tree_util.tree_map(lambda *xs: jnp.stack(xs), *[cls.from_config(c) for c in cfgs])


#: The sweepable hyperparameters as traced values (one float32 field per name in
#: ``SWEEPABLE``, in that order), so that seeds and sweep variants ``vmap`` over
#: them. Derived from the ``PPOConfig`` declarations, never written out by hand.
HParams = struct.dataclass(type("HParams", (), {
    "__module__": __name__,
    "__qualname__": "HParams",
    "__doc__": "Sweepable PPO hyperparameters as traced float32 values (fields: SWEEPABLE).",
    "__annotations__": {name: jax.Array for name in SWEEPABLE},
    "from_config": classmethod(_from_config),
    "rows": classmethod(_rows),
}))


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
