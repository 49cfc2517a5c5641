"""Placing a run on devices: the env batch is sharded over every device of a
1-D mesh (axis ``env``); parameters, optimiser state and RNG keys are
replicated. The jitted chunk follows these input shardings (GSPMD), so the
rollout runs data-parallel and the minibatch gradients are reduced across
devices by the compiler. One config runs unchanged on 1 CPU, N forced CPU
devices (``XLA_FLAGS=--xla_force_host_platform_device_count=N``), a GPU or a
TPU slice.

Multi-host: when ``JAX_COORDINATOR_ADDRESS`` (with ``JAX_NUM_PROCESSES`` and
``JAX_PROCESS_ID``) is set, :func:`maybe_init_distributed` calls
``jax.distributed.initialize()`` first (:mod:`jitrl.training.distributed`) so
the mesh spans every process's devices; each process then places its own
shards of the (identical) host state.
"""
from __future__ import annotations

from typing import Any, Optional

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

from jitrl.ppo.state import ENV_BATCHED_FIELDS
from jitrl.training import distributed


def maybe_init_distributed() -> bool:
    return distributed.maybe_initialize()


def _place(x: Any, sharding: NamedSharding) -> jax.Array:
    if not distributed.is_multiprocess():
        return jax.device_put(x, sharding)
    host = np.asarray(x)  # every process holds the same whole value; each places its shards
    return jax.make_array_from_callback(host.shape, sharding, lambda index: host[index])


def make_mesh(num_envs: int) -> Optional[Mesh]:
    """A 1-D mesh over all devices, or None on a single device. Raises ValueError when
    ``num_envs`` is not a multiple of the device count (the env batch is split evenly)."""
    devices = jax.devices()
    if len(devices) <= 1:
        return None
    if num_envs % len(devices):
        raise ValueError(
            f"num_envs: {num_envs} -- must be a multiple of the {len(devices)} devices to shard the env batch"
        )
    return Mesh(np.array(devices), ("env",))


def shard_state(state: Any, mesh: Optional[Mesh]) -> Any:
    """Place a seed-batched RunnerState ``[S, ...]``: env-batched fields split on axis 1."""
    if mesh is None:
        return state
    replicated = NamedSharding(mesh, P())
    split = NamedSharding(mesh, P(None, "env"))
    placed = {}
    for name in state.__dataclass_fields__:
        value = getattr(state, name)
        sharding = split if name in ENV_BATCHED_FIELDS else replicated
        placed[name] = jax.tree_util.tree_map(lambda x: _place(x, sharding), value)
    return state.replace(**placed)
