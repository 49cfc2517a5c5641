"""MLP actor-critic with separate actor and critic towers, orthogonal init
(PureJaxRL's layout: sqrt(2) gain on hidden layers, 0.01 on the policy head,
1.0 on the value head)."""
from __future__ import annotations

from typing import Callable, Sequence

import flax.linen as nn
import jax.numpy as jnp
import numpy as np
from flax.linen.initializers import constant, orthogonal

from jitrl.networks.registry import NetworkConfig, activation_fn, register_network


class MLPActorCritic(nn.Module):
    num_actions: int
    hidden: Sequence[int]
    activation: Callable

    @nn.compact
    def __call__(self, obs):
        x = obs.reshape((obs.shape[0], -1)).astype(jnp.float32)
        a = x
        for h in self.hidden:
            a = self.activation(nn.Dense(h, kernel_init=orthogonal(np.sqrt(2)), bias_init=constant(0.0))(a))
        logits = nn.Dense(self.num_actions, kernel_init=orthogonal(0.01), bias_init=constant(0.0))(a)
        c = x
        for h in self.hidden:
            c = self.activation(nn.Dense(h, kernel_init=orthogonal(np.sqrt(2)), bias_init=constant(0.0))(c))
        value = nn.Dense(1, kernel_init=orthogonal(1.0), bias_init=constant(0.0))(c)
        return logits, jnp.squeeze(value, -1)


@register_network("mlp")
def build_mlp(env, env_params, cfg: NetworkConfig) -> nn.Module:
    return MLPActorCritic(
        num_actions=env.num_actions(env_params),
        hidden=tuple(cfg.net_arch),
        activation=activation_fn(cfg.activation),
    )
