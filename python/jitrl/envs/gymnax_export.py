"""jitrl environments as gymnax environments, for other JAX RL libraries.

``to_gymnax(env)`` (or ``jitrl.make(name, api="gymnax")``) returns a
:class:`GymnaxExport`: a subclass of gymnax's ``Environment`` with gymnax's own
signatures (gymnax >= 1.0): ``reset(key, params) -> (obs, state)``,
``step(key, state, action, params) -> (obs, state, reward, terminated,
truncated, info)`` with auto-reset, ``step_env``/``reset_env``/``is_truncated``
for consumers that assemble the step themselves, ``action_space(params)``
(``spaces.Discrete``), ``observation_space(params)`` (``spaces.Box``),
``default_params``, ``num_actions`` and ``name``.

``step`` is the jitrl env's own auto-resetting ``transition`` (the same
trajectory a jitrl run takes from the same key); ``info`` carries gymnax's
``terminated``, ``truncated`` and ``final_observation`` entries, every entry of
the env's own info, and ``action_mask`` (bool ``[num_actions]``, legal actions
of the observation just returned). A consumer that can mask (e.g. a masked
categorical) reads ``info["action_mask"]`` after each step and
``env.action_mask(state, params)`` after a reset; one that cannot simply samples
every action: an illegal HackMatrix action changes nothing but the step count,
and an infeasible KMC event is a no-op. The KMC env's physical log-rates are
``env.log_rates(state, params)``.

The exported state wraps the jitrl state (``GymnaxExportState.env_state``)
with the truncation flag of the last raw step, so ``is_truncated`` agrees with
``step_env``.
"""
from __future__ import annotations

from functools import partial
from typing import Any, Optional

import jax
import jax.numpy as jnp
from flax import struct
from gymnax.environments import environment, spaces

from jitrl.envs.base import Environment


@struct.dataclass
class GymnaxExportState:
    env_state: Any
    truncated: jax.Array  # bool: the last raw step (step_env) was truncated


class GymnaxExport(environment.Environment):
    """A jitrl :class:`~jitrl.envs.base.Environment` behind gymnax's API."""

    def __init__(self, env: Environment):
        self.env = env

    def __hash__(self):  # gymnax jits step/reset with ``self`` static
        return id(self)

    def __eq__(self, other):
        return self is other

    # ---- description -------------------------------------------------------
    @property
    def name(self) -> str:
        return self.env.name

    @property
    def default_params(self) -> Any:
        return self.env.default_params

    @property
    def num_actions(self) -> int:
        return int(self.env.num_actions(self.env.default_params))

    def action_space(self, params: Optional[Any] = None) -> spaces.Discrete:
        return spaces.Discrete(int(self.env.num_actions(params or self.env.default_params)))

    def observation_space(self, params: Optional[Any] = None) -> spaces.Box:
        params = params or self.env.default_params
        low, high = self.env.observation_bounds(params)
        return spaces.Box(low, high, tuple(self.env.observation_shape(params)), jnp.float32)

    # ---- the raw pieces (gymnax's base ``step`` could assemble these) ----------
    def reset_env(self, key: jax.Array, params: Any):
        obs, st = self.env.reset_env(key, params)
        return obs, GymnaxExportState(st, jnp.zeros((), bool))

    def step_env(self, key: jax.Array, state: GymnaxExportState, action, params: Any):
        action = jnp.asarray(action, jnp.int32)
        obs, st, reward, terminated, truncated, info = self.env.step_env(key, state.env_state, action, params)
        info = dict(info)
        info["action_mask"] = self.env.action_mask(st, params)
        return (obs, GymnaxExportState(st, jnp.asarray(truncated, bool)), jnp.asarray(reward, jnp.float32),
                jnp.asarray(terminated, bool), info)

    def is_truncated(self, state: GymnaxExportState, params: Any) -> jax.Array:
        return state.truncated

    def is_terminated(self, state: GymnaxExportState, params: Any) -> jax.Array:
        raise NotImplementedError(f"{self.name}: termination is known only from step/step_env")

    def get_obs(self, state: GymnaxExportState, params: Any = None, key: Any = None) -> jax.Array:
        return self.env.get_obs(state.env_state, params or self.env.default_params)

    # ---- the step consumers use ----------------------------------------------------
    @partial(jax.jit, static_argnames=("self",))
    def step(self, key: jax.Array, state: GymnaxExportState, action, params: Optional[Any] = None):
        params = self.env.default_params if params is None else params
        st, ts = self.env.transition(key, state.env_state, jnp.asarray(action, jnp.int32), params)
        info = dict(ts.info)
        info.update(terminated=ts.terminated, truncated=ts.truncated, final_observation=ts.final_obs,
                    action_mask=self._mask(ts.law, params))
        return ts.obs, GymnaxExportState(st, jnp.zeros((), bool)), ts.reward, ts.terminated, ts.truncated, info

    @partial(jax.jit, static_argnames=("self",))
    def reset(self, key: jax.Array, params: Optional[Any] = None):
        return self.reset_env(key, self.env.default_params if params is None else params)

    def action_mask(self, state: GymnaxExportState, params: Optional[Any] = None) -> jax.Array:
        """bool ``[num_actions]``: the legal actions at ``state``."""
        return self.env.action_mask(state.env_state, params or self.env.default_params)

    def log_rates(self, state: GymnaxExportState, params: Optional[Any] = None):
        return self.env.log_rates(state.env_state, params or self.env.default_params)

    def _mask(self, law, params) -> jax.Array:
        if law.mask is not None:
            return law.mask
        if law.log_rates is not None:
            return jnp.isfinite(law.log_rates)
        return jnp.ones((self.env.num_actions(params),), bool)


def to_gymnax(env: Environment) -> GymnaxExport:
    """``env`` as a gymnax environment (see the module docstring)."""
    if not isinstance(env, Environment):
        raise TypeError(f"to_gymnax: expected a jitrl Environment, got {type(env).__name__}")
    return GymnaxExport(env)


__all__ = ["GymnaxExport", "GymnaxExportState", "to_gymnax"]
