"""Name -> network factory registry and the network config."""
from __future__ import annotations

from typing import Any, Callable, Dict, Tuple

import flax.linen as nn
from flax import struct

from jitrl.common.fields import setting

ACTIVATIONS = ("tanh", "relu", "elu", "gelu", "silu")


def _widths(v) -> bool:
    return len(v) >= 1 and all(x >= 1 for x in v)


@struct.dataclass(frozen=True)
class NetworkConfig:
    """Network choice (spec keys ``network.kind``, ``network.net_arch``,
    ``network.activation_fn``). ``kind='auto'`` takes the env's ``default_network``.

    ``net_arch`` is the hidden widths (MLP layers, or per-site channels for
    the lattice network); ``activation`` one of ``ACTIVATIONS``.
    """

    kind: str = setting("auto", doc="auto (the env's default) or a registered network name", flag="--network")
    net_arch: Tuple[int, ...] = setting((64, 64), check=_widths, doc="a list of positive integers, e.g. [256, 256]")
    activation: str = setting("tanh", choices=ACTIVATIONS, key="network.activation_fn")


_NETWORKS: Dict[str, Callable[..., nn.Module]] = {}


def register_network(name: str):
    def deco(fn):
        _NETWORKS[name] = fn
        return fn

    return deco


def network_names() -> Tuple[str, ...]:
    """Every registered network (``jitrl.networks`` registers the shipped ones on import)."""
    return tuple(sorted(_NETWORKS))


def activation_fn(name: str):
    return {"tanh": nn.tanh, "relu": nn.relu, "elu": nn.elu, "gelu": nn.gelu, "silu": nn.silu}[name]


def make_network(env: Any, env_params: Any, cfg: NetworkConfig) -> nn.Module:
    kind = env.default_network if cfg.kind == "auto" else cfg.kind
    names = network_names()
    if kind not in _NETWORKS:
        raise ValueError(f"network.kind: unknown network {kind!r}; allowed: auto, {', '.join(names)}")
    return _NETWORKS[kind](env, env_params, cfg)
