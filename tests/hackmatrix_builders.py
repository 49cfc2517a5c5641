"""Board builders shared by the HackMatrix tests: hand-built jitrl states.

``build(player=(r, c), exit=(r, c), blocks={(r, c): points}, enemies=[(type, r, c)],
transmissions=[(r, c, turns, type)], **game_fields)`` returns a ``GameState``
with the given units in the first slots (no ``just_spawned``/stun flags), so a
test states a position in one call instead of chaining slot edits.
"""
from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from jitrl.envs.hackmatrix.state import (
    BLOCK_DATA, ENEMY_MAX_HP, MAX_ENEMIES, MAX_TRANSMISSIONS, empty_game,
)


def build(player=(0, 0), exit=(5, 5), blocks=None, enemies=(), transmissions=(), **fields):
    g = empty_game()
    kind = np.zeros((6, 6), np.int32)
    pts = np.zeros((6, 6), np.int32)
    for (r, c), p in (blocks or {}).items():
        kind[r, c] = BLOCK_DATA
        pts[r, c] = p
    e_alive = np.zeros(MAX_ENEMIES, bool)
    e = np.zeros((3, MAX_ENEMIES), np.int32)
    for i, (t, r, c) in enumerate(enemies):
        e_alive[i] = True
        e[:, i] = (t, r, c)
    t_alive = np.zeros(MAX_TRANSMISSIONS, bool)
    t = np.zeros((4, MAX_TRANSMISSIONS), np.int32)
    for i, (r, c, turns, typ) in enumerate(transmissions):
        t_alive[i] = True
        t[:, i] = (r, c, turns, typ)
    g = g.replace(
        player_row=jnp.int32(player[0]), player_col=jnp.int32(player[1]),
        exit_row=jnp.int32(exit[0]), exit_col=jnp.int32(exit[1]),
        block_kind=jnp.asarray(kind), block_hidden_kind=jnp.asarray(kind),
        block_points=jnp.asarray(pts), block_spawn=jnp.asarray(pts),
        enemy_alive=jnp.asarray(e_alive), enemy_type=jnp.asarray(e[0]),
        enemy_row=jnp.asarray(e[1]), enemy_col=jnp.asarray(e[2]),
        enemy_hp=jnp.asarray(np.where(e_alive, ENEMY_MAX_HP[e[0]], 0).astype(np.int32)),
        trans_alive=jnp.asarray(t_alive), trans_row=jnp.asarray(t[0]), trans_col=jnp.asarray(t[1]),
        trans_turns=jnp.asarray(t[2]), trans_type=jnp.asarray(t[3]),
    )
    return g.replace(**{k: jnp.asarray(v, getattr(g, k).dtype) for k, v in fields.items()})


def units(g):
    """(enemy cells, transmission cells) of a GameState as sorted lists."""
    ea, ta = np.asarray(g.enemy_alive), np.asarray(g.trans_alive)
    en = sorted(zip(np.asarray(g.enemy_row)[ea].tolist(), np.asarray(g.enemy_col)[ea].tolist()))
    tr = sorted(zip(np.asarray(g.trans_row)[ta].tolist(), np.asarray(g.trans_col)[ta].tolist()))
    return en, tr
