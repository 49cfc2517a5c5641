"""Per-cell actor-critic for board games (``network: cells``).

A flat observation ``[B, G + R * C * K]`` is read through a :class:`BoardLayout`:
the trailing ``R * C * K`` entries are an ``R x C`` board with ``K`` channels
(row-major, channel last), the leading ``G`` entries are global features (for
HackMatrix: the player's features and the programs it owns). The layout comes
from the env (:func:`board_layout`), never from constants here, so a new board
channel or player feature changes the network's input width and nothing else.

Network: every cell gets its channels concatenated with a learned embedding of
the global features; ``len(net_arch)`` 3 x 3 convolutions (zero padding, shared
weights; written as im2col + dense, which XLA runs much faster on CPU than a
convolution inside the training scans, see ``lattice.py``) mix neighbouring
cells; the cell features are flattened (position matters on a small board:
the exit sits in a corner) and, concatenated with the global embedding, feed a
policy head (orthogonal init, gain 0.01) and a value MLP.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Callable, Sequence, Tuple

import flax.linen as nn
import jax.numpy as jnp
import numpy as np
from flax.linen.initializers import constant, orthogonal

from jitrl.envs.hackmatrix import observation as hm_observation
from jitrl.envs.hackmatrix import state as hm_state
from jitrl.networks.registry import NetworkConfig, activation_fn, register_network


@dataclasses.dataclass(frozen=True)
class BoardLayout:
    """How a flat observation splits into global features and an ``rows x cols`` board."""

    rows: int
    cols: int
    channels: Tuple[str, ...]  # one name per board channel, in observation order

    @property
    def num_channels(self) -> int:
        return len(self.channels)

    @property
    def board_size(self) -> int:
        return self.rows * self.cols * self.num_channels

    def channel(self, name: str) -> int:
        """Index of a board channel by name (ValueError naming the known ones)."""
        if name not in self.channels:
            raise ValueError(f"board channel {name!r} not in the observation; channels: {', '.join(self.channels)}")
        return self.channels.index(name)

    def channels_with_prefix(self, prefix: str) -> Tuple[int, ...]:
        return tuple(i for i, n in enumerate(self.channels) if n.startswith(prefix))

    def board(self, obs):
        """``[..., rows, cols, K]`` board of flat observations ``[..., N]``."""
        return obs[..., obs.shape[-1] - self.board_size:].reshape(
            obs.shape[:-1] + (self.rows, self.cols, self.num_channels))

    def globals(self, obs):
        """``[..., N - board_size]``: the features before the board."""
        return obs[..., : obs.shape[-1] - self.board_size]


def board_layout(env: Any, env_params: Any = None) -> BoardLayout:
    """The env's board layout: its ``board_layout(params)`` method when it has one,
    else HackMatrix's from its observation module (``CHANNELS``) and its grid size.
    ValueError for an env with no board."""
    own = getattr(env, "board_layout", None)
    if callable(own):
        return own(env_params)
    if getattr(env, "name", None) == "hackmatrix":
        return BoardLayout(rows=hm_state.GRID, cols=hm_state.GRID, channels=tuple(hm_observation.CHANNELS))
    raise ValueError(f"network.kind: 'cells' needs a board observation; {getattr(env, 'name', env)!r} "
                     f"declares no board layout (define board_layout(params) on the env)")


def zero_padded_patches(x: jnp.ndarray) -> jnp.ndarray:
    """``[B, R, C, K] -> [B, R, C, 9 K]``: each cell's 3 x 3 neighbourhood, zeros off the board."""
    p = jnp.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    r, c = x.shape[1], x.shape[2]
    parts = [p[:, 1 + di: 1 + di + r, 1 + dj: 1 + dj + c] for di in (-1, 0, 1) for dj in (-1, 0, 1)]
    return jnp.concatenate(parts, axis=-1)


def _dense(width: int, gain: float = float(np.sqrt(2)), name=None):
    return nn.Dense(width, kernel_init=orthogonal(gain), bias_init=constant(0.0), name=name)


class CellsActorCritic(nn.Module):
    num_actions: int
    layout: BoardLayout
    channels: Sequence[int]
    activation: Callable
    global_width: int = 64
    head_width: int = 128

    @nn.compact
    def __call__(self, obs):
        obs = obs.reshape((obs.shape[0], -1)).astype(jnp.float32)
        expected = self.layout.board_size
        assert obs.shape[1] >= expected, f"cells: observation width {obs.shape[1]} < board size {expected}"
        board = self.layout.board(obs)  # [B, R, C, K]
        g = self.activation(_dense(self.global_width)(self.layout.globals(obs)))  # [B, Gw]
        b, r, c = board.shape[:3]
        x = jnp.concatenate([board, jnp.broadcast_to(g[:, None, None, :], (b, r, c, g.shape[-1]))], axis=-1)
        for width in self.channels:
            x = self.activation(_dense(width)(zero_padded_patches(x)))
        flat = jnp.concatenate([x.reshape((b, -1)), g], axis=-1)
        pi = self.activation(_dense(self.head_width)(flat))
        logits = _dense(self.num_actions, 0.01, name="policy_head")(pi)
        v = self.activation(_dense(self.head_width)(flat))
        value = _dense(1, 1.0, name="value_head")(v)
        return logits, jnp.squeeze(value, -1)


@register_network("cells")
def build_cells(env, env_params, cfg: NetworkConfig) -> nn.Module:
    layout = board_layout(env, env_params)
    shape = env.observation_shape(env_params)
    width = int(np.prod(shape))
    if width < layout.board_size:
        raise ValueError(f"network.kind: 'cells' -- {env.name}'s observation has {width} entries, fewer "
                         f"than its {layout.rows}x{layout.cols}x{layout.num_channels} board")
    return CellsActorCritic(num_actions=env.num_actions(env_params), layout=layout,
                            channels=tuple(cfg.net_arch), activation=activation_fn(cfg.activation))
