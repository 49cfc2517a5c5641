"""Toy environments and builders the tests share.

* :class:`Counter`: obs ``[t]``, reward 1, the episode ends after ``limit`` steps
  as a truncation (or a termination).
* :class:`NanAfter`: reward 1 until ``nan_after`` env steps, NaN after.
* :class:`Painter`: 5-step episodes whose RGB frame shows the step count.
* :class:`ThreeRates`: a rate env with fixed log-rates (0, 1, 2).
* :func:`ppo_program`: a ``PPOProgram`` and its initial runner state from PPO settings.
"""
from __future__ import annotations

import collections

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from jitrl.envs.base import Environment
from jitrl.networks import NetworkConfig, make_network
from jitrl.ppo.config import PPOConfig
from jitrl.ppo.learner import PPOProgram
from jitrl.ppo.state import HParams


@struct.dataclass
class StepCount:
    t: jnp.ndarray  # int32 steps taken in the episode


class _OneFloatObs(Environment):
    """Two actions, a one-float observation, a step counter as the state."""

    def num_actions(self, params=None):
        return 2

    def observation_shape(self, params=None):
        return (1,)

    def reset_env(self, key, params):
        return jnp.zeros((1,), jnp.float32), StepCount(t=jnp.zeros((), jnp.int32))


@struct.dataclass
class CounterParams:
    limit: int = 3
    terminate: bool = False


class Counter(_OneFloatObs):
    """obs = [t]; reward 1 per step; the episode ends after ``limit`` steps,
    as a truncation (or a termination when ``terminate``)."""

    @property
    def default_params(self):
        return CounterParams()

    def step_env(self, key, state, action, params):
        t = state.t + 1
        end = t >= params.limit
        obs = jnp.array([t], jnp.float32)
        return obs, StepCount(t=t), jnp.float32(1.0), end & params.terminate, end & ~params.terminate, {}


@struct.dataclass
class NanParams:
    nan_after: int = 200


class NanAfter(_OneFloatObs):
    """Reward 1 until the env has taken ``nan_after`` steps, NaN after (episodes never end)."""

    name = "nan-test"

    @property
    def default_params(self):
        return NanParams()

    def step_env(self, key, state, action, params):
        t = state.t + 1
        r = jnp.where(t > params.nan_after, jnp.nan, 1.0)
        return (jnp.zeros((1,), jnp.float32), StepCount(t=t), r, jnp.zeros((), bool), jnp.zeros((), bool), {})


class Painter(NanAfter):
    """A 5-step episode whose RGB frame shows the step count."""

    name = "painter-test"

    @property
    def default_params(self):
        return NanParams(nan_after=10**9)

    def step_env(self, key, state, action, params):
        obs, st, r, term, trunc, info = super().step_env(key, state, action, params)
        return obs, st, r, st.t >= 5, trunc, info

    def render_rgb(self, state, params=None):
        return np.full((4, 6, 3), 40 * int(state.t), np.uint8)


@struct.dataclass
class RateParams:
    max_steps: int = 8


class ThreeRates(Environment):
    """A rate env with fixed log-rates (0, 1, 2) and 8-step episodes: the trainer samples from
    softmax(logits + log-rates); with any policy the batch ESS ratio is <= 1."""

    name = "three-rates"

    @property
    def default_params(self):
        return RateParams()

    def num_actions(self, params=None):
        return 3

    def observation_shape(self, params=None):
        return (2,)

    def get_obs(self, state, params=None):
        return jnp.stack([state.t.astype(jnp.float32) / 8.0, jnp.ones(())])

    def reset_env(self, key, params):
        s = StepCount(t=jnp.zeros((), jnp.int32))
        return self.get_obs(s), s

    def log_rates(self, state, params=None):
        return jnp.array([0.0, 1.0, 2.0], jnp.float32)

    def step_env(self, key, state, action, params):
        s = StepCount(t=state.t + 1)
        r = (action == 2).astype(jnp.float32)
        return self.get_obs(s), s, r, jnp.zeros((), bool), s.t >= params.max_steps, {}


def ppo_program(env, params, network, num_updates: int = 1, seed: int = 0, **ppo):
    """``(cfg, program, runner state)``: ``PPOConfig(**ppo)`` (no auto-scaling unless
    asked), a ``PPOProgram`` over ``network`` (a flax module, or a ``NetworkConfig``
    built for the env) and its initial state from ``PRNGKey(seed)``."""
    cfg = PPOConfig(**{"auto_scale": False, **ppo})
    if isinstance(network, NetworkConfig):
        network = make_network(env, params, network)
    prog = PPOProgram(env, params, network, cfg, num_updates)
    return cfg, prog, prog.init(jax.random.PRNGKey(seed), HParams.from_config(cfg))


#: record keys that measure wall time (differ between otherwise identical runs)
TIMING = ("sps", "elapsed_s")


def strip(records):
    """Metric records without their timing keys, for comparing two runs."""
    return [{k: v for k, v in r.items() if k not in TIMING} for r in records]


def leaves_equal(a, b):
    """Two pytrees with the same leaves, bit for bit."""
    la, lb = jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)
    return len(la) == len(lb) and all(np.array_equal(np.asarray(x), np.asarray(y)) for x, y in zip(la, lb))


def grid_bfs(blocked, start):
    """Plain breadth-first distances from ``start`` over the cells not ``blocked``
    (4-neighbour moves; unreachable cells hold rows * cols)."""
    r, c = blocked.shape
    inf = r * c
    d = np.full((r, c), inf, int)
    d[start] = 0
    q = collections.deque([start])
    while q:
        y, x = q.popleft()
        for dy, dx in ((1, 0), (-1, 0), (0, 1), (0, -1)):
            ny, nx = y + dy, x + dx
            if 0 <= ny < r and 0 <= nx < c and not blocked[ny, nx] and d[ny, nx] == inf:
                d[ny, nx] = d[y, x] + 1
                q.append((ny, nx))
    return d
