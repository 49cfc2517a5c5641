"""Fixed-size float32 observation (flat vector, ``OBS_SIZE`` = 31 + 23 + 36 * 48 = 1782).

Layout: ``[player (31) | owned programs (23) | board (6 * 6 * 48, row-major, channel last)]``.

Player features: row / 5, col / 5, HP / 3, credits / 10, energy / 10,
stage / 8, data siphons / 5, attack / 3, SHOW active, CALM active, STEP
pending, ATK+ uses / 2, turns to the next scheduled spawn (next scheduled
turn - turn) / 13, spawn interval / 13, UNDO available, score / 50; then the
player-relative guide (:func:`guide`, ``NUM_GUIDE`` = 15): BFS steps to the exit
/ 36, and for each move (UP, DOWN, LEFT, RIGHT, the action order) whether its
target cell is nearer the exit and how many visible enemies stand on or next to
that cell / 4; then what a siphon here would take, as far as the board shows it
(the not yet siphoned cells of the player's cross): shown data points / 9, shown
program blocks of programs not owned / 2, question blocks / 2, shown spawn
counts / 9, credits / 3 and energy / 3 on its open cells. The guide is a function
of what the board shows; it spares a network over absolute cell positions from
learning shortest paths and relative positions from scratch (issue 12: the MLP
agent walked 49 steps a stage where the BFS exit-seeker walks 29).

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
from jitrl.envs.hackmatrix.pathfinding import bfs_distances
from jitrl.envs.hackmatrix.rules import cross_cells
from jitrl.envs.hackmatrix.state import (
    ACTION_NAMES, BLOCK_DATA, BLOCK_NONE, BLOCK_PROGRAM, BLOCK_QUESTION, DIRECTIONS, GRID, NUM_ENEMY_TYPES,
    NUM_PROGRAMS, EnvState, GameState,
)

CHANNELS = (
    ("player",) + ("exit", "pickup") + tuple(f"enemy_{t}" for t in range(4))
    + ("enemy_hp", "enemy_stunned", "enemy_from_siphon", "block_data", "block_program",
       "block_question", "points") + tuple(f"program_{i}" for i in range(NUM_PROGRAMS))
    + ("spawn", "siphoned", "siphon_center", "trans", "trans_turns") + tuple(f"trans_type_{t}" for t in range(4))
    + ("credits", "energy")
)
NUM_CHANNELS = len(CHANNELS)
MOVES = ("UP", "DOWN", "LEFT", "RIGHT")
NUM_SIPHON_GUIDE = 6
NUM_GUIDE = 1 + 2 * len(MOVES) + NUM_SIPHON_GUIDE
NUM_PLAYER = 16 + NUM_GUIDE
OBS_SIZE = NUM_PLAYER + NUM_PROGRAMS + GRID * GRID * NUM_CHANNELS


def _slot_value(maps, values):
    """[GRID, GRID] float: values[i] where slot map i is set (slots do not overlap)."""
    return jnp.sum(maps * values[:, None, None].astype(jnp.float32), axis=0)


def guide(g: GameState) -> jax.Array:
    """float32[NUM_GUIDE]: ``[exit steps / 36, nearer[4], enemies near[4] / 4]``, moves in
    :data:`MOVES` order. Exit steps: BFS through the cells without a block (as the
    ``r_distance`` reward counts them; 36 when unreachable). ``nearer[m]``: move ``m``'s
    target cell is on the board, holds no block and is fewer BFS steps from the exit
    than the player's cell. ``enemies near[m]``: visible enemies on the target cell or
    4-adjacent to it (the cells from which they attack after the move)."""
    inf = GRID * GRID
    dist = bfs_distances(common.block_map(g), (g.exit_row, g.exit_col))
    pr, pc = g.player_row, g.player_col
    dirs = jnp.asarray(DIRECTIONS[[ACTION_NAMES.index(m) for m in MOVES]])
    tr, tc = pr + dirs[:, 0], pc + dirs[:, 1]
    on = (tr >= 0) & (tr < GRID) & (tc >= 0) & (tc < GRID)
    here = dist[pr, pc]
    nearer = on & (dist[jnp.clip(tr, 0, GRID - 1), jnp.clip(tc, 0, GRID - 1)] < here)
    visible = common.enemy_visible(g)
    manhattan = jnp.abs(g.enemy_row[None, :] - tr[:, None]) + jnp.abs(g.enemy_col[None, :] - tc[:, None])
    near = jnp.sum(visible[None, :] & (manhattan <= 1) & on[:, None], axis=1)
    f = lambda x: jnp.asarray(x, jnp.float32)
    return jnp.concatenate([f(jnp.minimum(here, inf))[None] / inf, f(nearer), f(near) / 4, siphon_guide(g)])


def siphon_guide(g: GameState) -> jax.Array:
    """float32[NUM_SIPHON_GUIDE]: the visible yield of a siphon at the player's cell
    (the cross's cells not yet siphoned): ``[data points / 9, new programs / 2,
    question blocks / 2, spawn counts / 9, credits / 3, energy / 3]``. Question
    blocks count as such: what they hold stays hidden, as on the board."""
    take = cross_cells(g.player_row, g.player_col) & ~g.siphoned  # what rules.siphon takes
    blocks = g.block_kind != BLOCK_NONE
    data = take & (g.block_kind == BLOCK_DATA)
    prog = take & (g.block_kind == BLOCK_PROGRAM) & ~g.owned[jnp.clip(g.block_program, 0, NUM_PROGRAMS - 1)]
    shown = take & blocks & (g.block_kind != BLOCK_QUESTION)
    res = take & ~blocks
    s = lambda m, v=1: jnp.sum(jnp.where(m, v, 0)).astype(jnp.float32)
    return jnp.stack([
        s(data, g.block_points) / 9, s(prog) / 2, s(take & (g.block_kind == BLOCK_QUESTION)) / 2,
        s(shown, g.block_spawn) / 9, s(res, g.credits) / 3, s(res, g.energy) / 3,
    ])


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
    player = jnp.concatenate([player, guide(g)])
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
