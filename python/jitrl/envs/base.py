"""The environment API every jitrl environment implements (gymnax-compatible).

An environment is a stateless object holding only static configuration; all
dynamic data lives in an ``EnvState`` pytree and all tunable numbers in an
``EnvParams`` pytree (both ``flax.struct`` dataclasses). Subclasses implement
the *raw* transition ``step_env`` / ``reset_env``; the base class adds
auto-reset, so ``step`` never returns a terminal state.

Conventions (shared by the trainer):

* ``step(key, state, action, params) -> (obs, state, reward, terminated,
  truncated, info)``. When ``terminated | truncated`` the returned ``obs`` and
  ``state`` already belong to the next episode; ``info["final_obs"]`` holds the
  observation of the step's true next state (used to bootstrap the value on
  truncation).
* ``action_mask(state, params) -> bool[num_actions]``: True where an action is
  legal. Envs without masks return all True.
* ``log_rates(state, params) -> float32[num_actions]`` or ``None``: envs whose
  event choice is reweighted by physical rates (the KMC env) return log-rates
  with ``-inf`` where infeasible; the trainer then samples from the fused
  distribution ``softmax(policy_logits + log_rates)``.
* ``sample_physical(key, state, params) -> int32`` or ``None``: a rate env's
  own exact sampler of ``Gamma_a / Z`` (the neutral policy's law); benchmarks
  use it where available.
* ``metric_keys``: scalar ``info`` entries the trainer averages into its
  per-update metrics (documented by each env).
* ``default_network``: name of the network (see ``jitrl.networks``) that suits
  the observation layout.
"""
from __future__ import annotations

from typing import Any, Dict, Optional, Tuple

import chex
import jax
import jax.numpy as jnp

Info = Dict[str, Any]


class Environment:
    """Base class: subclasses implement ``reset_env``, ``step_env``, ``num_actions``,
    ``observation_shape`` and ``default_params``; may override ``action_mask``,
    ``log_rates`` and the metadata below."""

    name: str = "env"
    #: Scalar info entries averaged into training metrics (mean over every step).
    metric_keys: Tuple[str, ...] = ()
    #: Info entries averaged over the final step of completed episodes only.
    episode_metric_keys: Tuple[str, ...] = ()
    #: Network name (``jitrl.networks.make_network``) that fits this observation.
    default_network: str = "mlp"
    #: True when ``log_rates`` returns rates that steer sampling (SwarmThinkers).
    has_rates: bool = False

    # ---- to implement -------------------------------------------------
    @property
    def default_params(self) -> Any:
        raise NotImplementedError

    def num_actions(self, params: Any = None) -> int:
        raise NotImplementedError

    def observation_shape(self, params: Any = None) -> Tuple[int, ...]:
        raise NotImplementedError

    def reset_env(self, key: chex.PRNGKey, params: Any) -> Tuple[chex.Array, Any]:
        raise NotImplementedError

    def step_env(
        self, key: chex.PRNGKey, state: Any, action: chex.Array, params: Any
    ) -> Tuple[chex.Array, Any, chex.Array, chex.Array, chex.Array, Info]:
        """Raw transition without auto-reset: (obs, state, reward, terminated, truncated, info)."""
        raise NotImplementedError

    # ---- optional -------------------------------------------------------
    def action_mask(self, state: Any, params: Any = None) -> chex.Array:
        return jnp.ones((self.num_actions(params),), dtype=bool)

    def log_rates(self, state: Any, params: Any = None) -> Optional[chex.Array]:
        return None

    def sample_physical(self, key: chex.PRNGKey, state: Any, params: Any = None) -> Optional[chex.Array]:
        """One int32 action drawn from the env's own exact physical law (rate envs:
        probability ``Gamma_a / Z``, plain BKL KMC), or ``None`` when the env has no
        such sampler (the default). For a rate env this is the same law as the
        trainer's fused proposal under a neutral policy (all policy logits equal),
        usually much cheaper than building the dense ``[num_actions]`` logits."""
        return None

    def rate_reward(self, ess_ratio: chex.Array, params: Any) -> Tuple[chex.Array, Info]:
        """Reward term that depends on the policy's proposal (rate envs only).

        The trainer computes the step's expected ESS ratio of the fused
        proposal (``jitrl.ppo.importance.expected_ess_ratio``) and adds the
        returned term to the env reward; the info entries join the metrics.
        """
        return jnp.zeros((), jnp.float32), {}

    def get_obs(self, state: Any, params: Any = None) -> chex.Array:
        raise NotImplementedError

    # ---- viewing (used by scripts/watch_jax_agent.py; host-side, not jitted) ----
    def action_names(self, params: Any = None) -> Tuple[str, ...]:
        return tuple(str(i) for i in range(self.num_actions(params)))

    def render_text(self, state: Any, params: Any = None) -> str:
        raise NotImplementedError(f"{self.name} has no text renderer")

    def render_rgb(self, state: Any, params: Any = None):
        raise NotImplementedError(f"{self.name} has no RGB renderer")

    def episode_summary(self, infos: Any, final_state: Any, params: Any = None) -> Dict[str, Any]:
        """Per-episode facts for replays (e.g. highest stage, cause of end).

        ``infos`` is a list of per-step info dicts (host numpy), ``final_state``
        the last pre-reset state of the episode.
        """
        return {}

    def observation_dtype(self):
        return jnp.float32

    # ---- provided -------------------------------------------------------
    def reset(self, key: chex.PRNGKey, params: Any = None) -> Tuple[chex.Array, Any]:
        if params is None:
            params = self.default_params
        return self.reset_env(key, params)

    def step(
        self, key: chex.PRNGKey, state: Any, action: chex.Array, params: Any = None
    ) -> Tuple[chex.Array, Any, chex.Array, chex.Array, chex.Array, Info]:
        """Step with auto-reset; ``info['final_obs']`` is the pre-reset observation."""
        if params is None:
            params = self.default_params
        key_step, key_reset = jax.random.split(key)
        obs_st, state_st, reward, terminated, truncated, info = self.step_env(
            key_step, state, action, params
        )
        done = jnp.logical_or(terminated, truncated)
        obs_re, state_re = self.reset_env(key_reset, params)
        state = jax.tree_util.tree_map(
            lambda r, s: jax.lax.select(done, r, s), state_re, state_st
        )
        obs = jax.lax.select(done, obs_re, obs_st)
        info = dict(info)
        info["final_obs"] = obs_st
        return (
            obs,
            state,
            jnp.asarray(reward, jnp.float32),
            jnp.asarray(terminated, bool),
            jnp.asarray(truncated, bool),
            info,
        )
