"""MLP actor-critics with orthogonal init (PureJaxRL's layout: sqrt(2) gain on
hidden layers, 0.01 on the policy head, 1.0 on the value head).

* ``mlp``: separate actor and critic towers (PureJaxRL's default).
* ``mlp-shared``: one trunk feeding both heads. On a wide observation
  (HackMatrix: 1731 features) the first layer dominates the cost, so sharing
  it roughly halves the FLOPs per env step (measured on a 2-core CPU: ~25k vs
  ~12k steps/s ceilings for a 256-256 MLP); the policy and value gradients then
  both shape the trunk.
"""
from __future__ import annotations

from typing import Callable, Sequence

import flax.linen as nn
import jax.numpy as jnp
import numpy as np
from flax.linen.initializers import constant, orthogonal

from jitrl.networks.registry import NetworkConfig, activation_fn, register_network


def _tower(x, hidden: Sequence[int], activation: Callable):
    for h in hidden:
        x = activation(nn.Dense(h, kernel_init=orthogonal(np.sqrt(2)), bias_init=constant(0.0))(x))
    return x


def _policy_head(x, num_actions: int):
    return nn.Dense(num_actions, kernel_init=orthogonal(0.01), bias_init=constant(0.0))(x)


def _value_head(x):
    return jnp.squeeze(nn.Dense(1, kernel_init=orthogonal(1.0), bias_init=constant(0.0))(x), -1)


class MLPActorCritic(nn.Module):
    num_actions: int
    hidden: Sequence[int]
    activation: Callable

    @nn.compact
    def __call__(self, obs):
        x = obs.reshape((obs.shape[0], -1)).astype(jnp.float32)
        logits = _policy_head(_tower(x, self.hidden, self.activation), self.num_actions)
        return logits, _value_head(_tower(x, self.hidden, self.activation))


class SharedMLPActorCritic(nn.Module):
    num_actions: int
    hidden: Sequence[int]
    activation: Callable

    @nn.compact
    def __call__(self, obs):
        x = obs.reshape((obs.shape[0], -1)).astype(jnp.float32)
        trunk = _tower(x, self.hidden, self.activation)
        return _policy_head(trunk, self.num_actions), _value_head(trunk)


def _build(cls):
    def build(env, env_params, cfg: NetworkConfig) -> nn.Module:
        return cls(num_actions=env.num_actions(env_params), hidden=tuple(cfg.net_arch),
                   activation=activation_fn(cfg.activation))

    return build


register_network("mlp")(_build(MLPActorCritic))
register_network("mlp-shared")(_build(SharedMLPActorCritic))
