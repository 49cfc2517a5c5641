"""Name -> network factory registry and the network config."""
from __future__ import annotations

from typing import Any, Callable, Dict, Tuple

import flax.linen as nn
from flax import struct

ACTIVATIONS = ("tanh", "relu", "elu", "gelu", "silu")


@struct.dataclass(frozen=True)
class NetworkConfig:
    """Network choice. ``kind='auto'`` takes the env's ``default_network``.

    ``net_arch`` is the hidden widths (MLP layers, or per-site channels for
    the lattice network); ``activation`` one of ``ACTIVATIONS``.
    """

    kind: str = struct.field(pytree_node=False, default="auto")
    net_arch: Tuple[int, ...] = struct.field(pytree_node=False, default=(64, 64))
    activation: str = struct.field(pytree_node=False, default="tanh")


_NETWORKS: Dict[str, Callable[..., nn.Module]] = {}


def register_network(name: str):
    def deco(fn):
        _NETWORKS[name] = fn
        return fn

    return deco


def network_names() -> Tuple[str, ...]:
    import jitrl.envs.builtin  # noqa: F401  (env packages register their networks)

    return tuple(sorted(_NETWORKS))


def activation_fn(name: str):
    return {"tanh": nn.tanh, "relu": nn.relu, "elu": nn.elu, "gelu": nn.gelu, "silu": nn.silu}[name]


def make_network(env: Any, env_params: Any, cfg: NetworkConfig) -> nn.Module:
    kind = env.default_network if cfg.kind == "auto" else cfg.kind
    names = network_names()
    if kind not in _NETWORKS:
        raise ValueError(f"network.kind: unknown network {kind!r}; allowed: auto, {', '.join(names)}")
    return _NETWORKS[kind](env, env_params, cfg)
