"""Truncation is not termination: on a truncated step the trainer adds
gamma * V(true next state) to the reward (the episode is cut, not over);
on a terminated step it adds nothing."""
import flax.linen as nn
import jax.numpy as jnp
import numpy as np

from jitrl.ppo.rollout import collect
from toys import Counter, CounterParams, ppo_program


class ValueIsObs(nn.Module):
    """V(obs) = 10 * obs[0]; uniform policy."""

    @nn.compact
    def __call__(self, obs):
        self.param("unused", nn.initializers.zeros, (1,))
        return jnp.zeros((obs.shape[0], 2)), 10.0 * obs[:, 0]


def _rollout(terminate):
    env, params = Counter(), CounterParams(limit=3, terminate=terminate)
    cfg, prog, rs = ppo_program(env, params, ValueIsObs(), num_envs=2, num_steps=7, num_minibatches=1,
                                update_epochs=1, gamma=0.9)
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
