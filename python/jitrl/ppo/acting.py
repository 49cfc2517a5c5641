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
* :class:`RateFusedSIR` -- the same proposal with ``k`` candidates per step
  (the env's ``n_proposals = k``): sampling-importance-resampling with the
  averaged weight ``w = mean_i q(a_i) / P(a_i)``. Its action is the extended one,
  the ``k`` candidate indices and the selected slot (int32 ``[k + 1]``), so PPO's
  ratio is that of the extended action's probability under the policy.

All own sampling, log-probabilities and entropy of their final logits, the
per-step extras (importance log-weights, the policy-dependent reward term) and
the metrics those extras reduce to, and ``env_action``: the env's action of
an acting action (the identity except for SIR's extended action). Nothing
outside this module branches on what kind of env it drives.
"""
from __future__ import annotations

from typing import Any, Dict, Tuple

import jax
import jax.numpy as jnp

from jitrl.envs.contract import ActionLaw, Metric
from jitrl.ppo import distributions, estimation, importance


class MaskedCategorical:
    """Categorical over the policy logits; masked actions carry no probability."""

    name = "masked-categorical"
    metrics: Tuple[Metric, ...] = ()

    def logits(self, policy_logits: jax.Array, law: ActionLaw) -> jax.Array:
        """Final logits: the ones actions are drawn from and PPO trains."""
        return distributions.masked_logits(policy_logits, law.mask)

    def sample(self, key: jax.Array, logits: jax.Array) -> jax.Array:
        return distributions.sample(key, logits)

    def env_action(self, action: jax.Array) -> jax.Array:
        """The env's action for an acting ``action`` (what ``sample`` returned)."""
        return action

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
                  done: jax.Array, info: Dict[str, jax.Array] | None = None) -> Dict[str, jax.Array]:
        """Per-update metrics of a rollout's extras and the env's metric infos (``[T, N]`` each)."""
        return {}


class RateFused(MaskedCategorical):
    """``P(a) ∝ pi(a) Gamma_a`` with importance weights and the ESS penalty
    ``-ess_weight * max(0, ess_target - ess)`` on each step's expected ESS ratio.

    Sampling is exact in log space (``importance.exact_sample``). ``log_w_reward``
    (the env's ``objective: rare-event``) adds ``log w_t`` to each step's reward:
    with the env's terminal ``lambda g(O)`` the return is the KL-regularised
    control objective whose optimum is the tilted law ``q exp(lambda g)``.

    Metrics: ``ess`` = ``ess_trajectory`` (Kish over the trajectory weights ``W`` of
    the episodes that ended in the update; of the running episodes' weights when
    none ended) -- the one ESS that early stopping (``ess_threshold``) and the
    curriculum gates read; ``ess_step`` (the pooled per-step ratio, a health
    figure only: trajectory ESS ~ per-step ESS^T), ``log_w_var``, and for each
    name in ``weighted`` (episode-final observables of the env) the
    self-normalised weighted estimate ``<name>_weighted`` and its standard error
    ``<name>_weighted_se`` (the steered value is the env's ``episode_<name>``).
    """

    name = "rate-fused"

    def __init__(self, ess_weight: Any = 0.0, ess_target: Any = 0.0, log_w_reward: bool = False,
                 weighted: Tuple[str, ...] = ()):
        self.ess_weight, self.ess_target = ess_weight, ess_target
        self.log_w_reward = bool(log_w_reward)
        self.weighted = tuple(weighted)
        self.metrics = (
            Metric("ess", tag="train/ess_mean", hparam=True, console=".2f"),
            Metric("ess_trajectory", tag="train/ess_trajectory"),
            Metric("ess_step", tag="train/ess_step_mean"),
            Metric("ess_expected", tag="train/ess_expected_mean"),
            Metric("log_w_var", tag="train/log_w_var"),
            Metric("reward_ess", tag="reward/ess"),
        ) + tuple(Metric(f"{n}{suffix}", tag=f"weighted/{n}{suffix}")
                  for n in self.weighted for suffix in ("_weighted", "_weighted_se"))

    def logits(self, policy_logits: jax.Array, law: ActionLaw) -> jax.Array:
        return importance.fused_logits(policy_logits, law.log_rates)

    def sample(self, key: jax.Array, logits: jax.Array) -> jax.Array:
        return importance.exact_sample(key, logits)

    def ess_reward(self, ess_expected: jax.Array) -> jax.Array:
        """``-ess_weight * max(0, ess_target - ess_expected)`` (float32)."""
        return jnp.asarray(-self.ess_weight * jnp.maximum(0.0, self.ess_target - ess_expected), jnp.float32)

    def step_log_weight(self, law: ActionLaw, logits: jax.Array, action: jax.Array) -> jax.Array:
        """The step's importance log-weight ``log q(a) - log P(a)``."""
        return importance.step_log_weight(law.log_rates, logits, action)

    def expected_ess(self, law: ActionLaw, logits: jax.Array) -> jax.Array:
        """The step's expected ESS ratio ``(E w)^2 / E w^2``."""
        return importance.expected_ess_ratio(law.log_rates, logits)

    def on_step(self, law, logits, action, reward):
        log_w = self.step_log_weight(law, logits, action)
        ess_expected = self.expected_ess(law, logits)
        penalty = self.ess_reward(ess_expected)
        total = reward + penalty + (log_w if self.log_w_reward else 0.0)
        return total, log_w, {"reward_ess": penalty, "ess_expected": ess_expected, "log_w": log_w}

    def summarize(self, extras, ep_log_weight, done, info=None):
        ended = jnp.any(done)
        ess_traj = jnp.where(ended, estimation.kish_ess(ep_log_weight, done),
                             estimation.kish_ess(ep_log_weight[-1]))
        out = {
            "ess": ess_traj,
            "ess_trajectory": ess_traj,
            "ess_step": importance.ess_ratio(extras["log_w"]),
            "ess_expected": jnp.mean(extras["ess_expected"]),
            "log_w_var": estimation.log_w_var(ep_log_weight, done),
            "reward_ess": jnp.mean(extras["reward_ess"]),
        }
        for n in self.weighted:
            out[f"{n}_weighted"], out[f"{n}_weighted_se"] = estimation.weighted_mean(ep_log_weight, info[n], done)
        return out


class RateFusedSIR(RateFused):
    """:class:`RateFused` with ``k`` proposals per step by sampling-importance-
    resampling (``jitrl.ppo.importance.sir_draw``): ``k`` candidates i.i.d. from
    ``P``, one selected with probability ``r_i / sum_j r_j``, ``r_i = q(a_i) / P(a_i)``;
    the step's log-weight is ``log mean_i r_i`` (unbiased for every ``k``) and its
    expected ESS ratio ``1 / (1 + (1 / ess_1 - 1) / k)``.

    The acting action is int32 ``[..., k + 1]``: the candidates, then the selected
    slot; ``env_action`` picks the selected event. ``log_prob`` is the extended
    action's ``sum_i log P(a_i) + log(r_slot / sum_j r_j)`` (both terms depend on
    the policy). Final logits are ``[..., 2, A]``: the fused logits and the physical
    log-probabilities ``log q``. ``entropy`` is that of ``P`` (one candidate's law,
    the regulariser; not the extended action's). ``greedy`` puts the most probable
    event in every slot.
    """

    name = "rate-fused-sir"

    def __init__(self, k: int, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.k = int(k)

    def logits(self, policy_logits, law):
        fused = importance.fused_logits(policy_logits, law.log_rates)
        return jnp.stack([fused, importance.physical_log_probs(law.log_rates)], axis=-2)

    def sample(self, key, logits):
        cand, slot, _ = importance.sir_draw(key, logits[..., 1, :], logits[..., 0, :], self.k)
        return jnp.concatenate([cand, slot[..., None]], axis=-1).astype(jnp.int32)

    def env_action(self, action):
        return jnp.take_along_axis(action[..., :-1], action[..., -1:], -1)[..., 0]

    def log_prob(self, logits, action):
        return importance.sir_log_prob(logits[..., 1, :], logits[..., 0, :], action[..., :-1], action[..., -1])

    def entropy(self, logits):
        return distributions.entropy(logits[..., 0, :])

    def greedy(self, logits):
        a = distributions.greedy(logits[..., 0, :])
        return jnp.concatenate([jnp.repeat(a[..., None], self.k, -1), jnp.zeros_like(a)[..., None]], -1)

    def step_log_weight(self, law, logits, action):
        return importance.sir_log_weight(importance.sir_log_ratios(logits[..., 1, :], logits[..., 0, :],
                                                                   action[..., :-1]))

    def expected_ess(self, law, logits):
        return importance.sir_expected_ess_ratio(law.log_rates, logits[..., 0, :], self.k)


def make_acting(env: Any, env_params: Any) -> MaskedCategorical:
    """The acting distribution for ``env``: rate-fused when its action law carries
    log-rates (read from the law's structure, no computation) -- with SIR when the
    env declares ``n_proposals = k`` (None: the full set) -- else masked categorical."""
    law = jax.eval_shape(lambda k: env.action_law(env.reset(k, env_params)[1], env_params), jax.random.PRNGKey(0))
    if law.log_rates is not None:
        # an env that declares them (kmc-tio2): the log-weight reward of its objective
        # and the episode observables to estimate with the weights
        args = env.ess_penalty(env_params)
        kw = dict(log_w_reward=getattr(env, "log_weight_reward", False),
                  weighted=getattr(env, "weighted_observables", ()))
        k = getattr(env, "n_proposals", None)
        return RateFused(*args, **kw) if k is None else RateFusedSIR(k, *args, **kw)
    return MaskedCategorical()


def policy(network: Any, acting: MaskedCategorical, params: Any, obs: jax.Array,
           law: ActionLaw) -> Tuple[jax.Array, jax.Array]:
    """(final logits, value) of the network at ``obs`` under ``law``."""
    logits, value = network.apply(params, obs)
    return acting.logits(logits, law), value

