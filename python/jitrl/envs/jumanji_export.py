"""jitrl environments as Jumanji environments (optional extra: ``pip install -e '.[jumanji]'``).

``to_jumanji(env, params=None)`` (or ``jitrl.make(name, api="jumanji")``)
returns a :class:`JumanjiExport`, a ``jumanji.Environment``: ``reset(key) ->
(state, TimeStep)``, ``step(state, action) -> (state, TimeStep)`` without
auto-reset (as Jumanji environments are; wrap it in Jumanji's
``AutoResetWrapper`` / ``VmapAutoResetWrapper``), ``observation_spec``,
``action_spec`` (``DiscreteArray``), ``reward_spec`` and ``discount_spec``.

The observation is :class:`Observation` ``(observation, action_mask)``, as
Jumanji's own environments carry their masks. A terminated step is a
``termination`` (discount 0), a truncated one (the env's step limit) a
``truncation`` (discount 1, so a learner bootstraps it); ``extras`` holds the
env's per-step info (zeros on the first step, same structure throughout).
The state carries the jitrl state and the key Jumanji's wrappers expect.
The params are fixed at construction (Jumanji's API has none).
"""
from __future__ import annotations

from functools import cached_property
from typing import Any, NamedTuple, Optional, Tuple

import jax
import jax.numpy as jnp
from flax import struct
from jumanji import specs
from jumanji.env import Environment as JumanjiEnvironment
from jumanji.types import StepType, TimeStep

from jitrl.envs.base import Environment


class Observation(NamedTuple):
    observation: jax.Array  # float32, the jitrl env's observation
    action_mask: jax.Array  # bool[num_actions]


@struct.dataclass
class JumanjiExportState:
    env_state: Any
    key: jax.Array


class JumanjiExport(JumanjiEnvironment):
    """A jitrl :class:`~jitrl.envs.base.Environment` behind Jumanji's API."""

    def __init__(self, env: Environment, params: Optional[Any] = None):
        self.env = env
        self.params = env.default_params if params is None else params
        super().__init__()

    def __repr__(self) -> str:
        return f"JumanjiExport({self.env.name})"

    def _observation(self, obs: jax.Array, env_state: Any) -> Observation:
        law = self.env.action_law(env_state, self.params)
        if law.mask is not None:
            mask = law.mask
        elif law.log_rates is not None:
            mask = jnp.isfinite(law.log_rates)
        else:
            mask = jnp.ones((self.env.num_actions(self.params),), bool)
        return Observation(observation=obs, action_mask=mask)

    def _raw_step(self, key, env_state, action):
        return self.env.step_env(key, env_state, jnp.asarray(action, jnp.int32), self.params)

    def _zero_extras(self, env_state: Any):
        shapes = jax.eval_shape(lambda s: self._raw_step(jax.random.PRNGKey(0), s, 0)[5], env_state)
        return jax.tree_util.tree_map(lambda x: jnp.zeros(x.shape, x.dtype), shapes)

    def reset(self, key: jax.Array) -> Tuple[JumanjiExportState, TimeStep[Observation]]:
        k_reset, k_next = jax.random.split(key)
        obs, st = self.env.reset_env(k_reset, self.params)
        ts = TimeStep(step_type=StepType.FIRST, reward=jnp.zeros((), jnp.float32),
                      discount=jnp.ones((), jnp.float32), observation=self._observation(obs, st),
                      extras=self._zero_extras(st))
        return JumanjiExportState(st, k_next), ts

    def step(self, state: JumanjiExportState, action: jax.Array) -> Tuple[JumanjiExportState, TimeStep[Observation]]:
        k_step, k_next = jax.random.split(state.key)
        obs, st, reward, terminated, truncated, info = self._raw_step(k_step, state.env_state, action)
        last = jnp.logical_or(terminated, truncated)
        ts = TimeStep(
            step_type=jnp.where(last, StepType.LAST, StepType.MID),
            reward=jnp.asarray(reward, jnp.float32),
            discount=jnp.where(terminated, 0.0, 1.0).astype(jnp.float32),
            observation=self._observation(obs, st),
            extras=dict(info),
        )
        return JumanjiExportState(st, k_next), ts

    @cached_property
    def observation_spec(self) -> specs.Spec[Observation]:
        n = int(self.env.num_actions(self.params))
        low, high = self.env.observation_bounds(self.params)
        shape = tuple(self.env.observation_shape(self.params))
        if jnp.all(jnp.isinf(jnp.asarray(low))) and jnp.all(jnp.isinf(jnp.asarray(high))):
            obs_spec = specs.Array(shape=shape, dtype=jnp.float32, name="observation")
        else:
            obs_spec = specs.BoundedArray(shape=shape, dtype=jnp.float32, minimum=low, maximum=high,
                                          name="observation")
        return specs.Spec(
            Observation, "ObservationSpec",
            observation=obs_spec,
            action_mask=specs.BoundedArray(shape=(n,), dtype=bool, minimum=False, maximum=True, name="action_mask"),
        )

    @cached_property
    def action_spec(self) -> specs.DiscreteArray:
        return specs.DiscreteArray(int(self.env.num_actions(self.params)), name="action")

    @cached_property
    def reward_spec(self) -> specs.Array:
        return specs.Array(shape=(), dtype=jnp.float32, name="reward")

    @cached_property
    def discount_spec(self) -> specs.BoundedArray:
        return specs.BoundedArray(shape=(), dtype=jnp.float32, minimum=0.0, maximum=1.0, name="discount")

    def render(self, state: JumanjiExportState) -> Any:
        return self.env.render_rgb(state.env_state, self.params)


def to_jumanji(env: Environment, params: Optional[Any] = None) -> JumanjiExport:
    """``env`` (with ``params``, default its own) as a Jumanji environment."""
    if not isinstance(env, Environment):
        raise TypeError(f"to_jumanji: expected a jitrl Environment, got {type(env).__name__}")
    return JumanjiExport(env, params)
