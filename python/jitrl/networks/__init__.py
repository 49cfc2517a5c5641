"""Networks chosen by name. Every network maps a batch of observations
``[B, *obs_shape]`` to ``(logits [B, num_actions], value [B])``.

Register a new one with::

    @register_network("my-net")
    def _build(env, env_params, cfg: NetworkConfig) -> flax.linen.Module: ...
"""
from jitrl.networks.registry import NetworkConfig, make_network, network_names, register_network
from jitrl.networks import mlp as _mlp  # noqa: F401  (registers "mlp", "mlp-shared")
from jitrl.networks import lattice as _lattice  # noqa: F401  (registers "lattice-conv", "lattice-local")
from jitrl.networks import cells as _cells  # noqa: F401  (registers "cells")

__all__ = ["NetworkConfig", "make_network", "network_names", "register_network"]
