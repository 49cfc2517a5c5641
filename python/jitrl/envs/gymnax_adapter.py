"""Adapter: any gymnax environment behind the jitrl API.

Termination and truncation are kept apart: gymnax >= 1.0 reports the time
limit through ``is_truncated``; older gymnax folds it into ``done``, and a done
step whose state reached ``params.max_steps_in_episode`` is then taken as a
truncation. A truncated step's value is bootstrapped by the trainer.
"""
from __future__ import annotations

from typing import Tuple

import jax.numpy as jnp

from jitrl.envs.base import Environment


def gymnax_names() -> Tuple[str, ...]:
    import gymnax

    return tuple(gymnax.registered_envs)


class GymnaxEnv(Environment):
    def __init__(self, name: str):
        import gymnax

        self.name = name
        self._env, self._params = gymnax.make(name)

    @property
    def default_params(self):
        return self._params

    def num_actions(self, params=None) -> int:
        return int(self._env.action_space(params or self._params).n)

    def observation_shape(self, params=None):
        return tuple(self._env.observation_space(params or self._params).shape)

    def reset_env(self, key, params):
        obs, state = self._env.reset_env(key, params)
        return jnp.asarray(obs, jnp.float32).reshape(self.observation_shape(params)), state

    def step_env(self, key, state, action, params):
        out = self._env.step_env(key, state, action, params)
        if len(out) == 5 and hasattr(self._env, "is_truncated"):
            # gymnax >= 1.0: step_env reports termination only; the time limit is is_truncated
            obs, state, reward, terminated, _ = out
            terminated = jnp.asarray(terminated, bool)
            truncated = jnp.logical_and(jnp.asarray(self._env.is_truncated(state, params), bool),
                                        jnp.logical_not(terminated))
        else:
            # gymnax < 1.0 folds the time limit into done: split it back
            obs, state, reward, done, _ = out
            done = jnp.asarray(done, bool)
            limit = getattr(params, "max_steps_in_episode", None)
            time = getattr(state, "time", None)
            if limit is not None and time is not None:
                truncated = jnp.logical_and(done, time >= limit)
            else:
                truncated = jnp.zeros((), bool)
            terminated = jnp.logical_and(done, jnp.logical_not(truncated))
        obs = jnp.asarray(obs, jnp.float32).reshape(self.observation_shape(params))
        return obs, state, jnp.asarray(reward, jnp.float32), terminated, truncated, {}
