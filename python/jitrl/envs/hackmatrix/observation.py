"""Fixed-size float32 observation (flat vector, ``OBS_SIZE`` = 16 + 23 + 36 * 48).

Layout: ``[player (16) | owned programs (23) | board (6 * 6 * 48, row-major, channel last)]``.

Player features: row / 5, col / 5, HP / 3, credits / 10, energy / 10,
stage / 8, data siphons / 5, attack / 3, SHOW active, CALM active, STEP
pending, ATK+ uses / 2, turns to the next scheduled spawn (next scheduled
turn - turn) / 13, spawn interval / 13, UNDO available, score / 50.

Board channels per cell (``CHANNELS``): player, exit, data-siphon pickup,
enemy type one-hot (4), enemy HP / 3, enemy stunned, enemy spawned by a
siphon, block kind one-hot (data, program, question), data points / 9,
program one-hot (23), spawn count / 9 (0 once siphoned, as Swift rewrites the
block), siphoned, siphon centre (Swift's ``siphonCenter``), transmission present,
transmission turns left / 5, transmission type one-hot (4; only while SHOW is
active), credits / 3, energy / 3.

Hidden information stays hidden: enemy channels show only visible enemies
(cryptogs outside the player's row and column are left out unless SHOW is
active); a question block shows as "question" with no points, program or spawn
count until it is siphoned.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

from jitrl.envs.hackmatrix import common
from jitrl.envs.hackmatrix.state import (
    BLOCK_DATA, BLOCK_PROGRAM, BLOCK_QUESTION, GRID, NUM_ENEMY_TYPES, NUM_PROGRAMS, EnvState,
)

CHANNELS = (
    ("player",) + ("exit", "pickup") + tuple(f"enemy_{t}" for t in range(4))
    + ("enemy_hp", "enemy_stunned", "enemy_from_siphon", "block_data", "block_program",
       "block_question", "points") + tuple(f"program_{i}" for i in range(NUM_PROGRAMS))
    + ("spawn", "siphoned", "siphon_center", "trans", "trans_turns") + tuple(f"trans_type_{t}" for t in range(4))
    + ("credits", "energy")
)
NUM_CHANNELS = len(CHANNELS)
NUM_PLAYER = 16
OBS_SIZE = NUM_PLAYER + NUM_PROGRAMS + GRID * GRID * NUM_CHANNELS


def _slot_value(maps, values):
    """[GRID, GRID] float: values[i] where slot map i is set (slots do not overlap)."""
    return jnp.sum(maps * values[:, None, None].astype(jnp.float32), axis=0)


def get_obs(state: EnvState) -> jax.Array:
    g = state.game
    f = lambda x: jnp.asarray(x, jnp.float32)
    player = jnp.stack([
        f(g.player_row) / 5, f(g.player_col) / 5, f(g.player_hp) / 3, f(g.player_credits) / 10,
        f(g.player_energy) / 10, f(g.stage) / 8, f(g.player_siphons) / 5, f(g.player_attack) / 3,
        f(g.show_active), f(g.calm_active), f(g.step_skip_pending), f(g.atk_plus_uses) / 2,
        f(g.next_task_turn - g.turn) / 13, f(g.spawn_interval) / 13, f(state.history_depth > 0),
        f(g.score) / 50,
    ])
    visible = common.enemy_visible(g)
    emaps = common.slot_maps(g.enemy_row, g.enemy_col, visible).astype(jnp.float32)
    tmaps = common.slot_maps(g.trans_row, g.trans_col, g.trans_alive).astype(jnp.float32)
    etype = jax.nn.one_hot(g.enemy_type, NUM_ENEMY_TYPES)  # [E, 4]
    ttype = jax.nn.one_hot(g.trans_type, NUM_ENEMY_TYPES) * f(g.show_active)
    shown = g.block_kind != BLOCK_QUESTION
    is_data = shown & (g.block_kind == BLOCK_DATA)
    is_prog = shown & (g.block_kind == BLOCK_PROGRAM)
    prog_oh = jax.nn.one_hot(jnp.where(is_prog, g.block_program, -1), NUM_PROGRAMS)  # [H, W, 23]
    chans = [
        f(common.player_map(g))[..., None],
        f(common.exit_map(g))[..., None],
        f(g.siphon_pickup)[..., None],
        jnp.einsum("ehw,et->hwt", emaps, etype),
        (_slot_value(emaps, g.enemy_hp) / 3)[..., None],
        _slot_value(emaps, g.enemy_stunned)[..., None],
        _slot_value(emaps, g.enemy_from_siphon)[..., None],
        f(is_data)[..., None],
        f(is_prog)[..., None],
        f(g.block_kind == BLOCK_QUESTION)[..., None],
        (f(jnp.where(is_data, g.block_points, 0)) / 9)[..., None],
        prog_oh,
        (f(jnp.where(shown, g.block_spawn, 0)) / 9)[..., None],
        f(g.siphoned)[..., None],
        f(g.siphon_center)[..., None],
        jnp.sum(tmaps, axis=0)[..., None],
        (_slot_value(tmaps, g.trans_turns) / 5)[..., None],
        jnp.einsum("thw,tk->hwk", tmaps, ttype),
        (f(g.credits) / 3)[..., None],
        (f(g.energy) / 3)[..., None],
    ]
    board = jnp.concatenate(chans, axis=-1)
    return jnp.concatenate([player, f(g.owned), board.reshape(-1)])
