"""The memory a run needs, estimated before anything is allocated.

A batch too large for the machine would otherwise block inside XLA's allocator
(no error, Ctrl-C ignored). :func:`check` refuses such a config up front, in
one line naming the estimate and the machine's memory.

The estimate is a lower bound built from exact shapes (``jax.eval_shape`` of
the runner state; nothing is computed): the runner state (parameters,
optimiser, every env's state and observation), plus twice the rollout buffer
(``num_steps`` observations, action-law inputs and eight 4-byte scalars --
action, log-prob, value, reward, done, truncation, advantage, return -- per
env: once as collected, once as the shuffled minibatch copy). Activations and
XLA's scratch come on top, so a config refused here cannot fit; one accepted
may still be tight.
"""
from __future__ import annotations

import dataclasses
import os
from typing import Optional

import jax

from jitrl.config import ConfigError, ResolvedConfig
from jitrl.training.program import abstract_state

#: 4-byte scalars a rollout keeps per env step besides the observation and the action law
SCALARS_PER_STEP = 8


def _bytes(tree) -> int:
    return int(sum(x.size * x.dtype.itemsize for x in jax.tree_util.tree_leaves(tree)))


def gib(n: float) -> str:
    return f"{n / 2**30:,.1f} GiB"


@dataclasses.dataclass(frozen=True)
class Estimate:
    state: int  # bytes of the runner state, all seeds
    rollout: int  # bytes of one rollout buffer, all seeds

    @property
    def total(self) -> int:
        return self.state + 2 * self.rollout


def estimate(cfg: ResolvedConfig, num_seeds: int) -> Estimate:
    st = abstract_state(cfg, num_seeds)
    per_env_step = (_bytes(st.obs) + _bytes(st.law)) // max(1, num_seeds * cfg.ppo.num_envs) + 4 * SCALARS_PER_STEP
    rollout = num_seeds * cfg.ppo.num_envs * cfg.ppo.num_steps * per_env_step
    return Estimate(state=_bytes(st), rollout=rollout)


def machine_memory() -> "tuple[Optional[int], str]":
    """(bytes, what) of the memory the run's arrays live in: the accelerators' limits
    summed, or the host's physical memory for CPU (None when unknown)."""
    devs = jax.devices()
    limits = [(d.memory_stats() or {}).get("bytes_limit") for d in devs] if devs[0].platform != "cpu" else []
    if limits and all(limits):
        return int(sum(limits)), f"{len(devs)} x {devs[0].device_kind}"
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"), "this machine's RAM (cpu)"
    except (ValueError, OSError, AttributeError):
        return None, "unknown"


def check(cfg: ResolvedConfig, num_seeds: int) -> Estimate:
    """Raise ConfigError (one line) when the estimate exceeds the machine's memory."""
    est = estimate(cfg, num_seeds)
    have, what = machine_memory()
    if have is not None and est.total > have:
        p = cfg.ppo
        raise ConfigError([
            f"num_envs x num_steps = {p.num_envs} x {p.num_steps} (x {num_seeds} seeds): needs at least "
            f"{gib(est.total)} (runner state {gib(est.state)} + rollout buffer 2 x {gib(est.rollout)}) but "
            f"{what} has {gib(have)} -- lower --num-envs, --num-steps or --num-seeds"
        ])
    return est
