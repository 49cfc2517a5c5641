"""The acting distribution: how an action is drawn from the network's logits and
the env's :class:`~jitrl.envs.contract.ActionLaw`, chosen once when a program is
built (:func:`make_acting`).

* :class:`MaskedCategorical` -- ``softmax(policy_logits)`` restricted to the
  law's mask (every action when the env has none).
* :class:`RateFused` -- SwarmThinkers' proposal ``P(a) ∝ pi(a) Gamma_a`` over a
  rate env's physical log-rates, with the step importance weight
  ``w = (Gamma_a / Z) / P(a)`` and the ESS penalty on the reward that the env
  declares (``Environment.ess_penalty``). With a neutral policy ``P`` is the
  physical (BKL) law and every ``w = 1``.

Both own sampling, log-probabilities and entropy of their final logits, the
per-step extras (importance log-weights, the policy-dependent reward term) and
the metrics those extras reduce to. Nothing outside this module branches on
what kind of env it drives.
"""
from __future__ import annotations

from typing import Any, Dict, Tuple

import jax
import jax.numpy as jnp

from jitrl.envs.contract import ActionLaw, Metric
from jitrl.ppo import distributions, importance


class MaskedCategorical:
    """Categorical over the policy logits; masked actions carry no probability."""

    name = "masked-categorical"
    metrics: Tuple[Metric, ...] = ()

    def logits(self, policy_logits: jax.Array, law: ActionLaw) -> jax.Array:
        """Final logits: the ones actions are drawn from and PPO trains."""
        return distributions.masked_logits(policy_logits, law.mask)

    def sample(self, key: jax.Array, logits: jax.Array) -> jax.Array:
        return distributions.sample(key, logits)

    def log_prob(self, logits: jax.Array, action: jax.Array) -> jax.Array:
        return distributions.log_prob(logits, action)

    def entropy(self, logits: jax.Array) -> jax.Array:
        return distributions.entropy(logits)

    def greedy(self, logits: jax.Array) -> jax.Array:
        return distributions.greedy(logits)

    def on_step(self, law: ActionLaw, logits: jax.Array, action: jax.Array,
                reward: jax.Array) -> Tuple[jax.Array, jax.Array, Dict[str, jax.Array]]:
        """(reward with the policy-dependent terms, step importance log-weight, extras)."""
        return reward, jnp.zeros(action.shape, jnp.float32), {}

    def summarize(self, extras: Dict[str, jax.Array], ep_log_weight: jax.Array,
                  done: jax.Array) -> Dict[str, jax.Array]:
        """Per-update metrics of a rollout's extras (``[T, N]`` each)."""
        return {}


class RateFused(MaskedCategorical):
    """``P(a) ∝ pi(a) Gamma_a`` with importance weights and the ESS penalty
    ``-ess_weight * max(0, ess_target - ess)`` on each step's expected ESS ratio."""

    name = "rate-fused"
    metrics = (
        Metric("ess", tag="train/ess_mean", hparam=True, console=".2f"),
        Metric("ess_episode", tag="train/ess_episode_mean"),
        Metric("ess_expected", tag="train/ess_expected_mean"),
        Metric("reward_ess", tag="reward/ess"),
    )

    def __init__(self, ess_weight: Any = 0.0, ess_target: Any = 0.0):
        self.ess_weight, self.ess_target = ess_weight, ess_target

    def logits(self, policy_logits: jax.Array, law: ActionLaw) -> jax.Array:
        return importance.fused_logits(policy_logits, law.log_rates)

    def ess_reward(self, ess_expected: jax.Array) -> jax.Array:
        """``-ess_weight * max(0, ess_target - ess_expected)`` (float32)."""
        return jnp.asarray(-self.ess_weight * jnp.maximum(0.0, self.ess_target - ess_expected), jnp.float32)

    def on_step(self, law, logits, action, reward):
        log_w = importance.step_log_weight(law.log_rates, logits, action)
        ess_expected = importance.expected_ess_ratio(law.log_rates, logits)
        penalty = self.ess_reward(ess_expected)
        return reward + penalty, log_w, {"reward_ess": penalty, "ess_expected": ess_expected, "log_w": log_w}

    def summarize(self, extras, ep_log_weight, done):
        return {
            "ess": importance.ess_ratio(extras["log_w"]),
            "ess_episode": importance.ess_ratio(ep_log_weight, done),
            "ess_expected": jnp.mean(extras["ess_expected"]),
            "reward_ess": jnp.mean(extras["reward_ess"]),
        }


def make_acting(env: Any, env_params: Any) -> MaskedCategorical:
    """The acting distribution for ``env``: rate-fused when its action law carries
    log-rates (read from the law's structure, no computation), else masked categorical."""
    law = jax.eval_shape(lambda k: env.action_law(env.reset(k, env_params)[1], env_params), jax.random.PRNGKey(0))
    if law.log_rates is not None:
        return RateFused(*env.ess_penalty(env_params))
    return MaskedCategorical()


def policy(network: Any, acting: MaskedCategorical, params: Any, obs: jax.Array,
           law: ActionLaw) -> Tuple[jax.Array, jax.Array]:
    """(final logits, value) of the network at ``obs`` under ``law``."""
    logits, value = network.apply(params, obs)
    return acting.logits(logits, law), value

