"""Multi-process training through ``jax.distributed`` (several hosts, or several
processes on one host), one mesh over every process's devices.

A run is launched once per process with the usual variables (or the train
script's flags, which set them; :mod:`jitrl.common.launch` reads them when jitrl
is imported): ``JAX_COORDINATOR_ADDRESS`` (``host:port`` of
process 0), ``JAX_NUM_PROCESSES`` and ``JAX_PROCESS_ID``; optional
``JITRL_HEARTBEAT_TIMEOUT_S`` (default 60: a process silent that long counts as
dead and the others stop), ``JITRL_INIT_TIMEOUT_S`` (300: how long to wait for
every process to join) and ``JITRL_SHUTDOWN_TIMEOUT_S`` (30). On CPU the
collectives go through gloo. Every process runs the same program on its shard
of the env batch (:mod:`jitrl.training.devices`); process 0 (the *primary*)
alone writes the run directory: ``config.yaml``, metrics, TensorBoard, wandb,
the replay and the checkpoints, which are the ordinary single-process ones
(the whole state gathered to the host), so a single-process run can resume or
watch them. On resume process 0 reads the checkpoint and broadcasts it.

When a process dies, the next collective of the others fails (or, when one
hangs, the coordination service's heartbeat timeout ends them); the train script
then prints one line saying so and exits with :data:`LOST_PROCESS` without
waiting in jax's shutdown barrier (:func:`exit_lost_process`).
"""
from __future__ import annotations

import os
import sys
from typing import Any, NoReturn, Optional

import jax
import numpy as np
from jax.experimental import multihost_utils

from jitrl.common.launch import maybe_initialize  # noqa: F401  (re-exported: the trainer's entry point)

#: exit status of a process whose distributed run lost another process
LOST_PROCESS = 3


def is_multiprocess() -> bool:
    return jax.distributed.is_initialized() and jax.process_count() > 1


def is_primary() -> bool:
    """Process 0 writes the run directory; every process of a single-process run is it."""
    return jax.process_index() == 0


def to_host(tree: Any) -> Any:
    """Numpy copies of ``tree``'s arrays, whole (a collective in a multi-process run:
    every process must call it at the same point)."""
    if not is_multiprocess():
        return jax.device_get(tree)
    return jax.tree_util.tree_map(
        lambda x: np.asarray(x) if not isinstance(x, jax.Array) or x.is_fully_addressable
        else np.asarray(multihost_utils.process_allgather(x, tiled=True)), tree)


def broadcast(tree: Any) -> Any:
    """Process 0's values of ``tree`` on every process (the others pass any tree of the
    same structure, shapes and dtypes); a no-op in a single-process run."""
    if not is_multiprocess():
        return tree
    return jax.device_get(multihost_utils.broadcast_one_to_all(tree))


def exit_lost_process(exc: BaseException, run_dir: Optional[str]) -> NoReturn:
    """One line about a failed distributed run, then exit at once (``os._exit``: jax's
    shutdown barrier would wait for the lost process, then abort)."""
    first = " ".join(str(exc).split())[:300]
    again = f"--resume {run_dir}" if run_dir else "--resume RUN_DIR"
    sys.stdout.flush()
    sys.stderr.write(
        f"error: process {jax.process_index()} of {jax.process_count()}: the distributed run failed "
        f"({type(exc).__name__}: {first}); another process has most likely died. Start all "
        f"{jax.process_count()} processes again with {again} to continue from the last checkpoint\n")
    sys.stderr.flush()
    os._exit(LOST_PROCESS)
