"""Board queries and small state edits shared by the rules and the programs.

Everything here is a pure function of a :class:`GameState` (no RNG except where a
key is passed). Board maps are ``bool/int32[GRID, GRID]`` indexed ``[row, col]``;
per-slot maps are built with one-hot comparisons (cheaper than scatters on CPU
and free of write conflicts).
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

from jitrl.envs.hackmatrix.state import (
    BLOCK_NONE, CRYPTOG, ENEMY_MAX_HP, GRID, MAX_ENEMIES, MAX_TRANSMISSIONS, GameState,
)

_AR = jnp.arange(GRID, dtype=jnp.int32)


def onehot_cell(row, col) -> jax.Array:
    """bool[GRID, GRID], True at (row, col) (all False when off the board)."""
    return (_AR[:, None] == row) & (_AR[None, :] == col)


def slot_maps(rows, cols, alive) -> jax.Array:
    """bool[N, GRID, GRID]: slot i's cell where ``alive[i]``."""
    return (
        (_AR[None, :, None] == rows[:, None, None])
        & (_AR[None, None, :] == cols[:, None, None])
        & alive[:, None, None]
    )


def enemy_occupancy(game: GameState) -> jax.Array:
    """bool[GRID, GRID]: an alive enemy stands there."""
    return jnp.any(slot_maps(game.enemy_row, game.enemy_col, game.enemy_alive), axis=0)


def trans_occupancy(game: GameState) -> jax.Array:
    """bool[GRID, GRID]: an alive transmission lies there."""
    return jnp.any(slot_maps(game.trans_row, game.trans_col, game.trans_alive), axis=0)


def block_map(game: GameState) -> jax.Array:
    """bool[GRID, GRID]: a block (siphoned or not) stands there."""
    return game.block_kind != BLOCK_NONE


def player_map(game: GameState) -> jax.Array:
    return onehot_cell(game.player_row, game.player_col)


def exit_map(game: GameState) -> jax.Array:
    """bool[GRID, GRID]: the exit cell(s) of the board (Swift's cell content
    ``.exit``; one cell, at the exit position, except after an UNDO across a stage)."""
    return game.exit_cell


def empty_cells(game: GameState) -> jax.Array:
    """bool[GRID, GRID]: cells where something new may be placed: no block, enemy,
    transmission, player, exit or data-siphon pickup."""
    return ~(
        block_map(game) | enemy_occupancy(game) | trans_occupancy(game)
        | player_map(game) | exit_map(game) | game.siphon_pickup
    )


def enemy_visible(game: GameState) -> jax.Array:
    """bool[MAX_ENEMIES]: alive and visible (cryptogs only in the player's row or
    column, or while SHOW is active)."""
    seen = (
        (game.enemy_type != CRYPTOG)
        | game.show_active
        | (game.enemy_row == game.player_row)
        | (game.enemy_col == game.player_col)
    )
    return game.enemy_alive & seen


def enemy_on_block(game: GameState) -> jax.Array:
    """bool[MAX_ENEMIES]: alive enemies standing on a block (glitches)."""
    blocks = block_map(game)
    return game.enemy_alive & blocks[game.enemy_row, game.enemy_col]


def damage_enemies(game: GameState, hit: jax.Array, damage) -> GameState:
    """Deal ``damage`` to every alive enemy with ``hit[i]``; the dead die (counted
    in ``kills`` unless from a scheduled spawn: Swift's ``removeDeadEnemies``),
    the survivors are stunned."""
    hit = hit & game.enemy_alive
    hp = jnp.where(hit, game.enemy_hp - damage, game.enemy_hp)
    died = hit & (hp <= 0)
    return game.replace(
        enemy_hp=hp,
        enemy_alive=game.enemy_alive & ~died,
        enemy_stunned=game.enemy_stunned | (hit & ~died),
        kills=game.kills + jnp.sum(died & ~game.enemy_from_task).astype(jnp.int32),
    )


def first_in_list(alive: jax.Array, seq: jax.Array) -> jax.Array:
    """bool[N]: the entry of ``alive`` that comes first in Swift's list order
    (lowest ``seq``); all False when none is alive."""
    key = jnp.where(alive, seq, jnp.iinfo(jnp.int32).max)
    return alive & (jnp.arange(alive.shape[0]) == jnp.argmin(key))


def _remove_at(alive, rows, cols, seq, from_task, cells):
    """(units removed bool[N], kills counted) of Swift's ``remove*(where: position)``
    on every cell of ``cells``: every unit there goes; a cell counts one kill
    when its first unit in list order is not from a scheduled spawn."""
    here = slot_maps(rows, cols, alive) & cells[None]  # [N, H, W]
    key = jnp.where(here, seq[:, None, None], jnp.iinfo(jnp.int32).max)
    first = here & (key == jnp.min(key, axis=0, keepdims=True))
    counted = jnp.any(first & ~from_task[:, None, None], axis=0)
    return jnp.any(here, axis=(1, 2)), jnp.sum(counted).astype(jnp.int32)


def remove_enemies_at(game: GameState, cells: jax.Array) -> GameState:
    """Swift's ``removeEnemy(where: position)`` on every cell of ``cells``
    (bool[GRID, GRID]), counted in ``kills``."""
    gone, n = _remove_at(game.enemy_alive, game.enemy_row, game.enemy_col, game.enemy_seq,
                         game.enemy_from_task, cells)
    return game.replace(enemy_alive=game.enemy_alive & ~gone, kills=game.kills + n)


def remove_transmissions_at(game: GameState, cells: jax.Array) -> GameState:
    """Swift's ``removeTransmission(where: position)``: as :func:`remove_enemies_at`."""
    gone, n = _remove_at(game.trans_alive, game.trans_row, game.trans_col, game.trans_seq,
                         game.trans_from_task, cells)
    return game.replace(trans_alive=game.trans_alive & ~gone, kills=game.kills + n)


def _first_free(alive: jax.Array):
    free = ~alive
    return jnp.argmax(free).astype(jnp.int32), jnp.any(free)


def add_enemy(game: GameState, etype, row, col, from_siphon, just_spawned=True,
              enabled=True, from_task=False) -> GameState:
    """Put a new full-HP enemy in the first free slot, last in list order
    (dropped when ``enabled`` is False or all ``MAX_ENEMIES`` slots are taken;
    for building states: the rules place units through ``generation``)."""
    slot, ok = _first_free(game.enemy_alive)
    write = (jnp.arange(MAX_ENEMIES) == slot) & ok & enabled
    etype = jnp.asarray(etype, jnp.int32)
    return game.replace(
        enemy_alive=game.enemy_alive | write,
        enemy_type=jnp.where(write, etype, game.enemy_type),
        enemy_row=jnp.where(write, row, game.enemy_row),
        enemy_col=jnp.where(write, col, game.enemy_col),
        enemy_hp=jnp.where(write, jnp.asarray(ENEMY_MAX_HP)[etype], game.enemy_hp),
        enemy_stunned=jnp.where(write, False, game.enemy_stunned),
        enemy_from_siphon=jnp.where(write, from_siphon, game.enemy_from_siphon),
        enemy_from_task=jnp.where(write, from_task, game.enemy_from_task),
        enemy_just_spawned=jnp.where(write, just_spawned, game.enemy_just_spawned),
        enemy_seq=jnp.where(write, game.next_seq, game.enemy_seq),
        next_seq=game.next_seq + jnp.any(write).astype(jnp.int32),
    )


def add_transmission(game: GameState, etype, row, col, turns, from_siphon,
                     enabled=True, from_task=False) -> GameState:
    """Put a new transmission in the first free slot (dropped when ``enabled`` is
    False or all ``MAX_TRANSMISSIONS`` slots are taken)."""
    slot, ok = _first_free(game.trans_alive)
    write = (jnp.arange(MAX_TRANSMISSIONS) == slot) & ok & enabled
    return game.replace(
        trans_alive=game.trans_alive | write,
        trans_type=jnp.where(write, etype, game.trans_type),
        trans_row=jnp.where(write, row, game.trans_row),
        trans_col=jnp.where(write, col, game.trans_col),
        trans_turns=jnp.where(write, turns, game.trans_turns),
        trans_from_siphon=jnp.where(write, from_siphon, game.trans_from_siphon),
        trans_from_task=jnp.where(write, from_task, game.trans_from_task),
        trans_seq=jnp.where(write, game.next_seq, game.trans_seq),
        next_seq=game.next_seq + jnp.any(write).astype(jnp.int32),
    )
