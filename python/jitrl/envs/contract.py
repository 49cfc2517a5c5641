"""The typed step contract every env and the trainer share.

* :class:`ActionLaw` is the input of the action law at one decision, computed by
  the env once per step for the state the next action is chosen in: a boolean
  ``mask`` (``True`` = legal), physical ``log_rates`` for envs whose event choice
  is reweighted by rates (``-inf`` = infeasible), or neither. A field an env does
  not use is ``None`` (an empty pytree: no memory, no work).
* :class:`TimeStep` is what one auto-resetting ``Environment.transition`` returns
  besides the new state: observation, reward, termination and truncation, the
  pre-reset observation (``final_obs``, used to bootstrap truncated steps), the
  env's per-step ``info`` and the next decision's :class:`ActionLaw`.
* :class:`Metric` declares one entry of ``info`` the trainer reduces into its
  per-update metrics: how it is reduced and under which TensorBoard tag it is
  logged. The trainer knows no env's metric names; it reads these declarations.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Dict, Optional

import jax
from flax import struct

#: how a declared metric is reduced over a rollout
STEP = "step"  # mean over every step of every env; logged as ``<name>``
EPISODE = "episode"  # mean over the last step of each completed episode; logged as ``episode_<name>``


@struct.dataclass
class ActionLaw:
    mask: Optional[jax.Array] = None  # bool[..., A], or None (every action legal)
    log_rates: Optional[jax.Array] = None  # float32[..., A] physical log-rates, or None


@struct.dataclass
class TimeStep:
    obs: jax.Array  # observation the next action is chosen from (after auto-reset)
    reward: jax.Array  # float32
    terminated: jax.Array  # bool
    truncated: jax.Array  # bool
    final_obs: jax.Array  # observation of the step's true next state (before auto-reset)
    info: Dict[str, Any]  # the env's per-step metrics (every scalar it reports)
    law: ActionLaw  # action-law input of the next decision (after auto-reset)


@dataclasses.dataclass(frozen=True)
class Metric:
    """One ``info`` entry the trainer reduces. ``reduce`` is :data:`STEP` or
    :data:`EPISODE`; ``tag`` is the TensorBoard tag (default ``train/<logged name>``);
    ``hparam`` marks a headline figure written beside the hyperparameters at the end
    of a run; ``console`` is a format spec (e.g. ``".2f"``) to show it on the console line."""

    name: str
    reduce: str = STEP
    tag: Optional[str] = None
    hparam: bool = False
    console: Optional[str] = None

    def __post_init__(self):
        if self.reduce not in (STEP, EPISODE):
            raise ValueError(f"Metric {self.name!r}: reduce {self.reduce!r}; allowed: {STEP}, {EPISODE}")

    @property
    def logged_name(self) -> str:
        return self.name if self.reduce == STEP else f"episode_{self.name}"

    @property
    def tb_tag(self) -> str:
        return self.tag or f"train/{self.logged_name}"
