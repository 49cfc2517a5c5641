"""The environment API every jitrl environment implements (gymnax-compatible).

An environment is a stateless object holding only static configuration; all
dynamic data lives in an ``EnvState`` pytree and all tunable numbers in an
``EnvParams`` pytree (both ``flax.struct`` dataclasses). Subclasses implement
the *raw* transition ``step_env`` / ``reset_env``; the base class adds
auto-reset, once, in :meth:`Environment.transition`.

Two faces of one step:

* ``transition(key, state, action, params, law=None) -> (state, TimeStep)`` is
  the typed step the trainer uses (:mod:`jitrl.envs.contract`): observation,
  reward, termination, truncation, the pre-reset observation, the env's
  per-step ``info`` and the next decision's :class:`ActionLaw`, computed once.
  ``law`` is the law the env returned for ``state`` (the one the action was
  chosen under), so an env need not recompute its mask to judge the action.
* ``step(key, state, action, params) -> (obs, state, reward, terminated,
  truncated, info)`` is the gymnax-style face of the same step; when
  ``terminated | truncated`` the returned ``obs`` and ``state`` already belong
  to the next episode and ``info["final_obs"]`` holds the observation of the
  step's true next state (used to bootstrap the value on truncation).

Queries: ``action_mask(state, params) -> bool[num_actions]`` (True = legal; all
True by default), ``log_rates(state, params) -> float32[num_actions]`` or
``None`` (envs whose event choice is reweighted by physical rates, ``-inf`` where
infeasible), ``action_law(state, params)`` (both, as the acting distribution
takes them), ``sample_physical(key, state, params)`` (a rate env's own exact
sampler of ``Gamma_a / Z``, or ``None``).

Declarations the trainer reads: ``metrics`` (which ``info`` entries it reduces,
how, under which TensorBoard tags), ``default_network``, ``ess_penalty`` (a rate
env's ESS penalty on the reward).
"""
from __future__ import annotations

from typing import Any, Dict, Optional, Tuple

import chex
import jax
import jax.numpy as jnp
from flax import struct

from jitrl.envs.contract import ActionLaw, Metric, TimeStep

Info = Dict[str, Any]


@struct.dataclass
class Pending:
    """A stepped env before auto-reset (what ``Environment.next_state`` resolves)."""

    obs: jax.Array  # observation of the stepped state (``TimeStep.final_obs``)
    state: Any
    reward: jax.Array
    terminated: jax.Array
    truncated: jax.Array
    info: Info
    reset_key: jax.Array
    carry: Any = None  # env-specific data for ``next_state``


class Environment:
    """Base class: subclasses implement ``reset_env``, ``step_env``, ``num_actions``,
    ``observation_shape`` and ``default_params``; may override ``action_mask``,
    ``log_rates`` and the declarations below."""

    name: str = "env"
    #: ``info`` entries the trainer reduces into its per-update metrics.
    metrics: Tuple[Metric, ...] = ()
    #: Network name (``jitrl.networks.make_network``) that fits this observation.
    default_network: str = "mlp"

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

    def observation_bounds(self, params: Any = None) -> Tuple[Any, Any]:
        """(low, high) of every observation entry (scalars or arrays of the
        observation's shape), for exported spaces; unbounded by default."""
        return -jnp.inf, jnp.inf

    def log_rates(self, state: Any, params: Any = None) -> Optional[chex.Array]:
        return None

    def action_law(self, state: Any, params: Any = None) -> ActionLaw:
        """The acting distribution's input at ``state``: the mask when this env
        defines one (overrides ``action_mask``) and the log-rates of a rate env."""
        masked = type(self).action_mask is not Environment.action_mask
        return ActionLaw(mask=self.action_mask(state, params) if masked else None,
                         log_rates=self.log_rates(state, params))

    def ess_penalty(self, params: Any) -> Tuple[Any, Any]:
        """``(weight, target)`` of the reward term ``-weight * max(0, target - ess)``
        a rate env's objective puts on each step's expected ESS ratio of the
        policy's proposal (the acting distribution adds it; it depends on the policy)."""
        return 0.0, 0.0

    def sample_physical(self, key: chex.PRNGKey, state: Any, params: Any = None) -> Optional[chex.Array]:
        """One int32 action drawn from the env's own exact physical law (rate envs:
        probability ``Gamma_a / Z``, plain BKL KMC), or ``None`` when the env has no
        such sampler (the default). For a rate env this is the same law as the
        trainer's fused proposal under a neutral policy (all policy logits equal),
        usually much cheaper than building the dense ``[num_actions]`` logits."""
        return None

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

    # ---- the step, with auto-reset (written once) ---------------------------
    def step_pending(self, key: chex.PRNGKey, state: Any, action: chex.Array, params: Any,
                     law: Optional[ActionLaw] = None) -> Pending:
        """The raw step as a :class:`Pending` (default: ``step_env`` on one half of the key)."""
        key_step, key_reset = jax.random.split(key)
        obs, st, reward, terminated, truncated, info = self.step_env(key_step, state, action, params)
        return Pending(obs, st, reward, terminated, truncated, info, key_reset)

    def next_state(self, pending: Pending, done: jax.Array, params: Any) -> Tuple[chex.Array, Any]:
        """(obs, state) the next action is chosen in: a fresh episode where ``done``,
        else the stepped state. An env may override *how* the fresh episode is made
        (e.g. share work with the stepped state's own next stage), not this contract."""
        obs_re, state_re = self.reset_env(pending.reset_key, params)
        state = jax.tree_util.tree_map(lambda r, s: jax.lax.select(done, r, s), state_re, pending.state)
        return jax.lax.select(done, obs_re, pending.obs), state

    def transition(self, key: chex.PRNGKey, state: Any, action: chex.Array, params: Any = None,
                   law: Optional[ActionLaw] = None) -> Tuple[Any, TimeStep]:
        """One auto-resetting step as ``(state, TimeStep)`` (see the module docstring)."""
        if params is None:
            params = self.default_params
        p = self.step_pending(key, state, action, params, law)
        terminated = jnp.asarray(p.terminated, bool)
        truncated = jnp.asarray(p.truncated, bool)
        obs, nxt = self.next_state(p, jnp.logical_or(terminated, truncated), params)
        ts = TimeStep(obs=obs, reward=jnp.asarray(p.reward, jnp.float32), terminated=terminated,
                      truncated=truncated, final_obs=p.obs, info=dict(p.info), law=self.action_law(nxt, params))
        return nxt, ts

    # ---- provided -------------------------------------------------------
    def reset(self, key: chex.PRNGKey, params: Any = None) -> Tuple[chex.Array, Any]:
        if params is None:
            params = self.default_params
        return self.reset_env(key, params)

    def step(
        self, key: chex.PRNGKey, state: Any, action: chex.Array, params: Any = None
    ) -> Tuple[chex.Array, Any, chex.Array, chex.Array, chex.Array, Info]:
        """Step with auto-reset; ``info['final_obs']`` is the pre-reset observation."""
        state, ts = self.transition(key, state, action, params)
        info = dict(ts.info)
        info["final_obs"] = ts.final_obs
        return ts.obs, state, ts.reward, ts.terminated, ts.truncated, info
