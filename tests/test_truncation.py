"""Truncation is not termination: on a truncated step the trainer adds
gamma * V(true next state) to the reward (the episode is cut, not over);
on a terminated step it adds nothing."""
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from jitrl.envs.base import Environment
from jitrl.ppo.config import PPOConfig
from jitrl.ppo.learner import PPOProgram
from jitrl.ppo.rollout import collect
from jitrl.ppo.state import HParams


@struct.dataclass
class _S:
    t: jnp.ndarray


@struct.dataclass
class _P:
    limit: int = 3
    terminate: bool = False


class Counter(Environment):
    """obs = [t]; reward 1 per step; the episode ends after ``limit`` steps,
    as a truncation (or a termination when ``terminate``)."""

    @property
    def default_params(self):
        return _P()

    def num_actions(self, params=None):
        return 2

    def observation_shape(self, params=None):
        return (1,)

    def reset_env(self, key, params):
        return jnp.zeros((1,), jnp.float32), _S(t=jnp.zeros((), jnp.int32))

    def step_env(self, key, state, action, params):
        t = state.t + 1
        end = t >= params.limit
        obs = jnp.array([t], jnp.float32)
        return obs, _S(t=t), jnp.float32(1.0), end & params.terminate, end & ~params.terminate, {}


class ValueIsObs(nn.Module):
    """V(obs) = 10 * obs[0]; uniform policy."""

    @nn.compact
    def __call__(self, obs):
        self.param("unused", nn.initializers.zeros, (1,))
        return jnp.zeros((obs.shape[0], 2)), 10.0 * obs[:, 0]


def _rollout(terminate):
    env, params = Counter(), _P(limit=3, terminate=terminate)
    cfg = PPOConfig(num_envs=2, num_steps=7, num_minibatches=1, update_epochs=1, gamma=0.9, auto_scale=False)
    prog = PPOProgram(env, params, ValueIsObs(), cfg, 1)
    rs = prog.init(jax.random.PRNGKey(0), HParams.from_config(cfg))
    _, traj, _, metrics = collect(env, params, ValueIsObs(), prog.acting, cfg.num_steps, rs)
    return np.asarray(traj.reward), np.asarray(traj.done), metrics


def test_truncated_steps_bootstrap_from_final_obs():
    reward, done, metrics = _rollout(terminate=False)
    # steps 3 and 6 (1-based) truncate; the true next state has t = 3 -> V = 30.
    expected = np.array([1, 1, 1 + 0.9 * 30, 1, 1, 1 + 0.9 * 30, 1], np.float32)
    np.testing.assert_allclose(reward[:, 0], expected, rtol=1e-6)
    assert done[:, 0].tolist() == [False, False, True, False, False, True, False]
    # episode stats count the env's own reward only
    assert float(metrics["mean_episode_return"]) == 3.0 and float(metrics["mean_episode_length"]) == 3.0


def test_terminated_steps_do_not_bootstrap():
    reward, done, _ = _rollout(terminate=True)
    np.testing.assert_allclose(reward[:, 0], np.ones(7), rtol=1e-6)
    assert done[:, 0].tolist() == [False, False, True, False, False, True, False]
