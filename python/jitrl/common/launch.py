"""``jax.distributed.initialize`` from the launch variables, before anything starts JAX.

It has to run before any JAX array exists, and importing gymnax (which the env
registry does) already creates arrays, so ``jitrl/__init__.py`` calls
:func:`maybe_initialize` first thing; the train script turns its launch flags
into these variables before it imports jitrl. The variables (see
:mod:`jitrl.training.distributed` for the rest of the story):
``JAX_COORDINATOR_ADDRESS`` (``host:port`` of process 0; unset = a single-process
run), ``JAX_NUM_PROCESSES``, ``JAX_PROCESS_ID``, and optional
``JITRL_HEARTBEAT_TIMEOUT_S`` (default 60), ``JITRL_INIT_TIMEOUT_S`` (300),
``JITRL_SHUTDOWN_TIMEOUT_S`` (30). On CPU the collectives go through gloo.
"""
from __future__ import annotations

import os
from typing import Optional

import jax

ENV_COORDINATOR = "JAX_COORDINATOR_ADDRESS"
ENV_NUM_PROCESSES = "JAX_NUM_PROCESSES"
ENV_PROCESS_ID = "JAX_PROCESS_ID"
ENV_HEARTBEAT = "JITRL_HEARTBEAT_TIMEOUT_S"
ENV_INIT_TIMEOUT = "JITRL_INIT_TIMEOUT_S"
ENV_SHUTDOWN_TIMEOUT = "JITRL_SHUTDOWN_TIMEOUT_S"
#: the train script's launch flags and the variables they set
FLAGS = {"--coordinator-address": ENV_COORDINATOR, "--num-processes": ENV_NUM_PROCESSES,
         "--process-id": ENV_PROCESS_ID, "--heartbeat-timeout": ENV_HEARTBEAT}


class LaunchError(ValueError):
    """A launch variable that cannot be used (named, with what is allowed)."""


def _int_env(name: str, default: Optional[int]) -> Optional[int]:
    text = os.environ.get(name)
    if text is None or text == "":
        return default
    try:
        return int(text)
    except ValueError:
        raise LaunchError(f"{name}: {text!r} -- must be an integer") from None


def maybe_initialize() -> bool:
    """``jax.distributed.initialize`` from the variables above, once, when
    ``JAX_COORDINATOR_ADDRESS`` is set. True when it ran."""
    address = os.environ.get(ENV_COORDINATOR)
    if not address or jax.distributed.is_initialized():
        return False
    num = _int_env(ENV_NUM_PROCESSES, None)
    pid = _int_env(ENV_PROCESS_ID, None)
    if num is None or pid is None or num < 1 or not 0 <= pid < num:
        raise LaunchError(f"{ENV_NUM_PROCESSES}/{ENV_PROCESS_ID}: {num}/{pid} -- with {ENV_COORDINATOR} set, "
                          "give the number of processes (>= 1) and this process's id (0 .. number - 1)")
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(address, num, pid,
                               heartbeat_timeout_seconds=_int_env(ENV_HEARTBEAT, 60),
                               initialization_timeout=_int_env(ENV_INIT_TIMEOUT, 300),
                               shutdown_timeout_seconds=_int_env(ENV_SHUTDOWN_TIMEOUT, 30))
    return True
