"""The 23 HackMatrix programs (actions 5-27): when each is usable, and its effect.

Public API
==========
* :func:`program_conditions` ``(state, params) -> bool[23]``: program ``i`` is
  usable when it is owned, the player can pay ``PROGRAM_CREDITS[i]`` credits and
  ``PROGRAM_ENERGY[i]`` energy, and its "usable when" condition holds.
* :func:`apply_program` ``(state, program_index, key, params) -> state``: pays
  the cost, counts the use (``programs_used``), applies the effect through a
  ``lax.switch`` over 23 pure branch functions. It assumes the program is
  usable (the rules mask illegal actions before calling it).
* :data:`ENDS_TURN` / :func:`ends_turn`: only WAIT ends the turn (the rules then
  push an UNDO snapshot and run the enemy turn); every other program, STEP
  included, is free and can be chained. STEP only sets ``step_skip_pending``;
  the rules skip the next enemy turn when they see it.

Effects (rules of the Swift game; where it is silent the choice is written here)
==============================================================================
Enemies are all alive enemies, hidden cryptogs included (as in the original
game, whose conditions look at every enemy). "Attack damage" is
``player_attack``; damaged survivors are stunned; kills are counted in
``game.kills`` (Swift's ``removeDeadEnemies`` / ``removeEnemy`` /
``removeTransmission``: enemies and transmissions, not those from scheduled
spawns; a cell cleared at once counts one).

* PUSH 0/2, any enemy (Swift's ``executeProgram(.push)``): every enemy's
  wanted cell is computed on the board before any move: with (dr, dc) =
  sign(enemy - player), the diagonal (r+dr, c+dc), the row step (r+dr, c) if
  dr != 0 and the column step (r, c+dc) if dc != 0, each only required to be
  on the board; the first farthest from the player (Manhattan) is wanted.
  Then, in list order, an enemy moves unless an earlier enemy already moved
  to that cell. Blocks, transmissions, the exit and enemies that do not move
  are not checked: non-glitches can land on blocks, enemies on transmissions,
  and two enemies can share a cell.
* PULL 0/2, any enemy: the same toward the player (first nearest candidate),
  never into the player's cell.
* CRASH 3/2, a block, enemy or transmission in the 8 surrounding cells: those
  cells lose their blocks (the cell becomes empty; resources under it and its
  ``siphoned`` flag stay), their enemies die and their transmissions vanish.
* WARP 2/2, any enemy or transmission: one target, drawn uniformly among the
  enemies then the transmissions, wherever it is; the player takes its cell
  (even a block under a glitch, the exit or a data-siphon corner, which it
  does not collect) and removes the enemies (target an enemy) or the
  transmissions (target a transmission) there. Landing on the exit position
  completes the stage (the rules do that).
* POLY 1/1, any enemy: each enemy becomes one of the three other types
  (uniform); damage carries over: ``hp = new_max - (old_max - old_hp)``, so a
  1-HP daemon dies. Stun and other flags are kept.
* WAIT 0/1, always: no effect; ends the turn.
* DEBUG 3/0, an enemy on a block: those take attack damage.
* ROW 3/1, COL 3/1, an enemy in the player's row / column: attack damage to them.
* UNDO 1/0, history not empty: pops the newest snapshot (taken at the end of
  the last enemy turn) and restores what Swift's ``restoreSnapshot`` restores
  (:func:`state.restore_snapshot`); the 1 credit paid is overwritten by the
  restored credits, so UNDO needs a credit but is free. The first UNDO after
  a turn takes back only the free programs used since; two take back a turn.
  Episode counters (steps, programs used, kills) are not rolled back.
* STEP 0/3, always: ``step_skip_pending`` = True.
* SIPH+ 5/0, always: +1 data siphon.
* EXCH 4/0, credits >= 4: -4 credits (its cost), +4 energy.
* SHOW 2/0, SHOW not active: ``show_active`` = True.
* RESET 0/4, HP < 3: HP = 3.
* CALM 2/4, CALM not active: ``calm_active`` = True.
* D_BOM 3/0, a daemon exists: the daemon nearest the player (Manhattan; ties:
  first in list order) dies; every enemy in its 8 neighbouring cells takes 1 damage.
* DELAY 1/2, any transmission: +3 turns on each.
* ANTI-V 3/0, a virus exists: 1 damage to every virus.
* SCORE 0/5, stage < 8: score += 8 - stage.
* REDUC 2/1, an unsiphoned block with spawn > 0: spawn -1 on each such block.
* ATK+ 4/4, fewer than 2 uses this stage: attack +1, ``atk_plus_uses`` +1.
* HACK 2/2, any siphoned cell: attack damage to enemies on siphoned cells.
"""
from __future__ import annotations

from typing import Callable, Tuple

import chex
import jax
import jax.numpy as jnp

from jitrl.envs.hackmatrix import common
from jitrl.envs.hackmatrix.state import (
    ANTI_V, ATK_PLUS, BLOCK_NONE, CALM, COL, CRASH, D_BOM, DAEMON, DEBUG, DELAY,
    ENEMY_MAX_HP, EXCH, GRID, HACK, MAX_ENEMIES, MAX_HP, NUM_ENEMY_TYPES,
    NUM_PROGRAMS, NUM_STAGES, POLY, PROGRAM_CREDITS, PROGRAM_ENERGY, PULL, PUSH, REDUC,
    RESET, ROW, SCORE, SHOW, SIPH_PLUS, STEP, UNDO, VIRUS, WAIT, WARP, EnvParams, EnvState,
    GameState, pop_history, restore_snapshot,
)

#: ``ENDS_TURN[i]``: program ``i`` ends the player's turn (only WAIT).
ENDS_TURN: Tuple[bool, ...] = tuple(i == WAIT for i in range(NUM_PROGRAMS))

#: Turns DELAY adds to every transmission; ATK+ uses allowed per stage.
DELAY_TURNS = 3
ATK_PLUS_MAX_USES = 2
EXCH_AMOUNT = 4


def ends_turn(program_index) -> jax.Array:
    """bool: the program ends the turn (jittable form of :data:`ENDS_TURN`)."""
    return jnp.asarray(ENDS_TURN)[program_index]


# ---------------------------------------------------------------- board helpers
def _neighbours8(row, col) -> jax.Array:
    """bool[GRID, GRID]: the (up to) 8 cells around (row, col), not the cell itself."""
    ar = jnp.arange(GRID, dtype=jnp.int32)
    near = (jnp.abs(ar[:, None] - row) <= 1) & (jnp.abs(ar[None, :] - col) <= 1)
    return near & ~common.onehot_cell(row, col)


def _enemy_cell_value(board: jax.Array, game: GameState) -> jax.Array:
    """``board[enemy_row, enemy_col]`` per enemy slot."""
    return board[game.enemy_row, game.enemy_col]


def _in_player_row(game: GameState) -> jax.Array:
    return game.enemy_alive & (game.enemy_row == game.player_row)


def _in_player_col(game: GameState) -> jax.Array:
    return game.enemy_alive & (game.enemy_col == game.player_col)


def _on_siphoned(game: GameState) -> jax.Array:
    return game.enemy_alive & _enemy_cell_value(game.siphoned, game)


def _reducible_blocks(game: GameState) -> jax.Array:
    """bool[GRID, GRID]: unsiphoned blocks with a spawn count above 0."""
    return common.block_map(game) & ~game.siphoned & (game.block_spawn > 0)


def _nearest_daemon(game: GameState) -> Tuple[jax.Array, jax.Array]:
    """(slot, exists) of the alive daemon nearest the player (ties: first in list order)."""
    is_daemon = game.enemy_alive & (game.enemy_type == DAEMON)
    dist = jnp.abs(game.enemy_row - game.player_row) + jnp.abs(game.enemy_col - game.player_col)
    near = is_daemon & (dist == jnp.min(jnp.where(is_daemon, dist, 4 * GRID)))
    return jnp.argmax(common.first_in_list(near, game.enemy_seq)).astype(jnp.int32), jnp.any(is_daemon)


# ---------------------------------------------------------------- conditions
def program_usable_when(game: GameState, history_depth) -> jax.Array:
    """bool[23]: each program's own "usable when" condition (no ownership/cost)."""
    any_enemy = jnp.any(game.enemy_alive)
    any_trans = jnp.any(game.trans_alive)
    around = _neighbours8(game.player_row, game.player_col)
    something = common.block_map(game) | common.enemy_occupancy(game) | common.trans_occupancy(game)
    true = jnp.asarray(True)
    conds = [None] * NUM_PROGRAMS
    conds[PUSH] = any_enemy
    conds[PULL] = any_enemy
    conds[CRASH] = jnp.any(around & something)
    conds[WARP] = any_enemy | any_trans
    conds[POLY] = any_enemy
    conds[WAIT] = true
    conds[DEBUG] = jnp.any(common.enemy_on_block(game))
    conds[ROW] = jnp.any(_in_player_row(game))
    conds[COL] = jnp.any(_in_player_col(game))
    conds[UNDO] = history_depth > 0
    conds[STEP] = true
    conds[SIPH_PLUS] = true
    conds[EXCH] = game.player_credits >= EXCH_AMOUNT
    conds[SHOW] = ~game.show_active
    conds[RESET] = game.player_hp < MAX_HP
    conds[CALM] = ~game.calm_active
    conds[D_BOM] = jnp.any(game.enemy_alive & (game.enemy_type == DAEMON))
    conds[DELAY] = any_trans
    conds[ANTI_V] = jnp.any(game.enemy_alive & (game.enemy_type == VIRUS))
    conds[SCORE] = game.stage < NUM_STAGES
    conds[REDUC] = jnp.any(_reducible_blocks(game))
    conds[ATK_PLUS] = game.atk_plus_uses < ATK_PLUS_MAX_USES
    conds[HACK] = jnp.any(game.siphoned)
    return jnp.stack([jnp.asarray(c, bool) for c in conds])


def program_conditions(state: EnvState, params: EnvParams = None) -> jax.Array:
    """bool[23]: owned AND affordable AND usable (the program part of the mask)."""
    game = state.game
    afford = (game.player_credits >= jnp.asarray(PROGRAM_CREDITS)) & (
        game.player_energy >= jnp.asarray(PROGRAM_ENERGY))
    mask = game.owned & afford & program_usable_when(game, state.history_depth)
    chex.assert_shape(mask, (NUM_PROGRAMS,))
    return mask


# ---------------------------------------------------------------- effects
def _shift_enemies(game: GameState, away) -> GameState:
    """PUSH (``away`` True) / PULL as Swift's ``executeProgram(.push / .pull)``
    (see the module docstring): wanted cells from the unchanged board, then an
    enemy moves unless an enemy earlier in list order moved to the same cell.

    ``away`` may be traced: :func:`apply_program` runs this once for both
    programs (under ``vmap`` every ``lax.switch`` branch is evaluated)."""
    away = jnp.asarray(away, bool)
    sgn = jnp.where(away, 1, -1)
    pr, pc = game.player_row, game.player_col
    r, c = game.enemy_row, game.enemy_col  # [E]
    dr = sgn * jnp.sign(r - pr)
    dc = sgn * jnp.sign(c - pc)
    cand_r = jnp.stack([r + dr, r + dr, r])  # [3, E]: diagonal, row step, column step
    cand_c = jnp.stack([c + dc, c, c + dc])
    exists = jnp.stack([jnp.ones_like(dr, bool), dr != 0, dc != 0])
    on_board = (cand_r >= 0) & (cand_r < GRID) & (cand_c >= 0) & (cand_c < GRID)
    not_player = away | (cand_r != pr) | (cand_c != pc)
    valid = exists & on_board & not_player
    dist = jnp.abs(cand_r - pr) + jnp.abs(cand_c - pc)
    score = jnp.where(valid, sgn * dist, -10 * GRID)
    best = jnp.argmax(score, axis=0)  # first extreme: diagonal, row, column
    wants = game.enemy_alive & jnp.any(valid, axis=0)
    wr = jnp.take_along_axis(cand_r, best[None], axis=0)[0]
    wc = jnp.take_along_axis(cand_c, best[None], axis=0)[0]
    # an earlier enemy (list order) wanting the same cell moves there first
    same = wants[None, :] & (wr[None, :] == wr[:, None]) & (wc[None, :] == wc[:, None])
    earlier = game.enemy_seq[None, :] < game.enemy_seq[:, None]
    move = wants & ~jnp.any(same & earlier, axis=1)
    return game.replace(enemy_row=jnp.where(move, wr, r), enemy_col=jnp.where(move, wc, c))


def _push(state: EnvState, key, params) -> EnvState:
    return state.replace(game=_shift_enemies(state.game, away=True))


def _pull(state: EnvState, key, params) -> EnvState:
    return state.replace(game=_shift_enemies(state.game, away=False))


def _crash(state: EnvState, key, params) -> EnvState:
    game = state.game
    area = _neighbours8(game.player_row, game.player_col)
    game = game.replace(
        block_kind=jnp.where(area, BLOCK_NONE, game.block_kind),
        block_hidden_kind=jnp.where(area, BLOCK_NONE, game.block_hidden_kind),
        block_points=jnp.where(area, 0, game.block_points),
        block_program=jnp.where(area, -1, game.block_program),
        block_spawn=jnp.where(area, 0, game.block_spawn),
    )
    game = common.remove_enemies_at(game, area)
    game = common.remove_transmissions_at(game, area)
    return state.replace(game=game)


def _warp(state: EnvState, key, params) -> EnvState:
    game = state.game
    targets = jnp.concatenate([game.enemy_alive, game.trans_alive])
    u = jax.random.uniform(key, targets.shape)
    pick = jnp.argmax(jnp.where(targets, u, -1.0))
    ok = jnp.any(targets)
    on_enemy = ok & (pick < MAX_ENEMIES)
    rows = jnp.concatenate([game.enemy_row, game.trans_row])
    cols = jnp.concatenate([game.enemy_col, game.trans_col])
    row = jnp.where(ok, rows[pick], game.player_row)
    col = jnp.where(ok, cols[pick], game.player_col)
    cell = common.onehot_cell(row, col)
    game = common.remove_enemies_at(game, cell & on_enemy)
    game = common.remove_transmissions_at(game, cell & ok & ~on_enemy)
    return state.replace(game=game.replace(player_row=row, player_col=col))


def _poly(state: EnvState, key, params) -> EnvState:
    game = state.game
    shift = jax.random.randint(key, (MAX_ENEMIES,), 1, NUM_ENEMY_TYPES)
    new_type = (game.enemy_type + shift) % NUM_ENEMY_TYPES
    max_hp = jnp.asarray(ENEMY_MAX_HP)
    damage = max_hp[game.enemy_type] - game.enemy_hp
    new_hp = max_hp[new_type] - damage
    alive = game.enemy_alive
    died = alive & (new_hp <= 0)  # a 1-HP daemon becomes a 0-HP enemy: removeDeadEnemies
    return state.replace(game=game.replace(
        enemy_type=jnp.where(alive, new_type, game.enemy_type),
        enemy_hp=jnp.where(alive, new_hp, game.enemy_hp),
        enemy_alive=alive & ~died,
        kills=game.kills + jnp.sum(died & ~game.enemy_from_task).astype(jnp.int32),
    ))


def _wait(state: EnvState, key, params) -> EnvState:
    return state


def _damage(state: EnvState, hit: jax.Array, damage=None) -> EnvState:
    game = state.game
    dmg = game.player_attack if damage is None else damage
    return state.replace(game=common.damage_enemies(game, hit, dmg))


def _debug(state: EnvState, key, params) -> EnvState:
    return _damage(state, common.enemy_on_block(state.game))


def _row(state: EnvState, key, params) -> EnvState:
    return _damage(state, _in_player_row(state.game))


def _col(state: EnvState, key, params) -> EnvState:
    return _damage(state, _in_player_col(state.game))


def _undo(state: EnvState, key, params) -> EnvState:
    ok = state.history_count > 0  # else the snapshot was dropped: the rules truncate
    state, snap = pop_history(state)
    keep = False if params is None else params.fix_undo_keeps_spawn_flags
    restored = restore_snapshot(state.game, snap, keep)
    return state.replace(game=jax.tree_util.tree_map(
        lambda a, b: jnp.where(ok, a, b), restored, state.game))


def _step(state: EnvState, key, params) -> EnvState:
    return state.replace(game=state.game.replace(step_skip_pending=jnp.asarray(True)))


def _siph_plus(state: EnvState, key, params) -> EnvState:
    g = state.game
    return state.replace(game=g.replace(player_siphons=g.player_siphons + 1))


def _exch(state: EnvState, key, params) -> EnvState:
    g = state.game  # the 4 credits are the program's cost, already paid
    return state.replace(game=g.replace(player_energy=g.player_energy + EXCH_AMOUNT))


def _show(state: EnvState, key, params) -> EnvState:
    return state.replace(game=state.game.replace(show_active=jnp.asarray(True)))


def _reset(state: EnvState, key, params) -> EnvState:
    return state.replace(game=state.game.replace(player_hp=jnp.asarray(MAX_HP, jnp.int32)))


def _calm(state: EnvState, key, params) -> EnvState:
    return state.replace(game=state.game.replace(calm_active=jnp.asarray(True)))


def _d_bom(state: EnvState, key, params) -> EnvState:
    game = state.game
    slot, ok = _nearest_daemon(game)
    hit = ok & (jnp.arange(MAX_ENEMIES) == slot)
    row, col = game.enemy_row[slot], game.enemy_col[slot]
    game = common.damage_enemies(game, hit, game.enemy_hp)  # dies outright
    splash = ok & _enemy_cell_value(_neighbours8(row, col), game)
    game = common.damage_enemies(game, splash, 1)
    return state.replace(game=game)


def _delay(state: EnvState, key, params) -> EnvState:
    g = state.game
    turns = jnp.where(g.trans_alive, g.trans_turns + DELAY_TURNS, g.trans_turns)
    return state.replace(game=g.replace(trans_turns=turns))


def _anti_v(state: EnvState, key, params) -> EnvState:
    g = state.game
    return _damage(state, g.enemy_alive & (g.enemy_type == VIRUS), 1)


def _score(state: EnvState, key, params) -> EnvState:
    g = state.game
    return state.replace(game=g.replace(score=g.score + (NUM_STAGES - g.stage)))


def _reduc(state: EnvState, key, params) -> EnvState:
    g = state.game
    spawn = jnp.where(_reducible_blocks(g), g.block_spawn - 1, g.block_spawn)
    return state.replace(game=g.replace(block_spawn=spawn))


def _atk_plus(state: EnvState, key, params) -> EnvState:
    g = state.game
    return state.replace(game=g.replace(
        player_attack=g.player_attack + 1, atk_plus_uses=g.atk_plus_uses + 1))


def _hack(state: EnvState, key, params) -> EnvState:
    return _damage(state, _on_siphoned(state.game))


#: Branch ``i`` of the ``lax.switch`` applies program ``i``'s effect (cost already paid).
BRANCHES: Tuple[Callable[[EnvState, jax.Array, EnvParams], EnvState], ...] = (
    _push, _pull, _crash, _warp, _poly, _wait, _debug, _row, _col, _undo, _step,
    _siph_plus, _exch, _show, _reset, _calm, _d_bom, _delay, _anti_v, _score, _reduc,
    _atk_plus, _hack,
)
assert len(BRANCHES) == NUM_PROGRAMS


def apply_program(state: EnvState, program_index, key: chex.PRNGKey,
                  params: EnvParams = None) -> EnvState:
    """Pay program ``program_index``'s cost, count the use and apply its effect.

    Assumes the program is usable (:func:`program_conditions`); ending the turn
    (WAIT, see :data:`ENDS_TURN`) is the rules' job. UNDO's paid credit is
    overwritten by the restore (see the module docstring).
    """
    program_index = jnp.asarray(program_index, jnp.int32)
    chex.assert_shape(program_index, ())
    game = state.game
    credits = jnp.asarray(PROGRAM_CREDITS)[program_index]
    energy = jnp.asarray(PROGRAM_ENERGY)[program_index]
    game = game.replace(
        player_credits=game.player_credits - credits,
        player_energy=game.player_energy - energy,
    )
    state = state.replace(game=game, programs_used=state.programs_used + 1)
    shifted = _shift_enemies(game, away=program_index == PUSH)

    def shift(s, k, p):
        return s.replace(game=shifted)

    # PUSH and PULL share one shift (same result as ``_push`` / ``_pull``)
    branches = (shift, shift) + tuple(BRANCHES[2:])
    return jax.lax.switch(program_index, branches, state, key, params)
