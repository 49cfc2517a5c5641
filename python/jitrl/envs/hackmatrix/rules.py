"""The HackMatrix transition (docs/hackmatrix-rules.md).

``transition(key, state, action, params) -> (state, events)`` applies one
action and, when the turn ends, the enemy turn. It does *not* lay out the next
stage's board: when ``events['stage_completed']`` (and not ``events['won']``)
the caller runs :func:`advance_board` (split so that the environment can share
one board generation between a stage change and an auto-reset).

Player actions
--------------
* 0-3 (up = row + 1, down, left, right): scan the line from the player; the
  first cell holding an enemy or a transmission is hit, unless a block comes
  first (an enemy standing on a block, a glitch, is hit). A transmission is
  destroyed; an enemy takes ``player_attack`` damage and is stunned if it
  survives. With nothing to hit the player moves one cell if it holds no block,
  picks up a data siphon lying there, and completes the stage on the exit.
* 4 siphon: uses one data siphon; every not-yet-siphoned cell of the cross
  (centre + 4 neighbours) is taken and marked siphoned: a data block adds its
  points to the score, a program block gives its program, a question block is
  revealed (becomes its real kind) and resolved the same way; each block's
  spawn count is owed as transmissions placed at random empty cells at the end
  of the enemy turn; cells without a block give their credits and energy. The
  spawn interval drops by 1 (minimum ``spawn_interval_min``) and the next
  scheduled spawn moves ``siphon_spawn_delay`` turns later.
* 5-27 programs: ``programs.apply_program``. Only WAIT ends the turn (``programs.ends_turn``).

A masked (illegal) action changes nothing but the step counter and
``last_action``; it does not end the turn and earns only the step reward.

Turn order
----------
Moves, attacks, siphon and WAIT end the turn: a snapshot is pushed on the UNDO
history first. Reaching the exit completes the stage with no enemy turn. If
STEP is pending the enemy turn is skipped (the whole turn: no tick, no spawn)
and the flag clears. Otherwise the enemy turn runs:

1. turn counter +1;
2. transmissions tick; at 0 turns left each becomes its enemy (full HP,
   ``just_spawned``) on its cell;
3. enemies act (``_enemies_act``, Swift's ``executeEnemyStepWithCapture``):
   every enemy's sub-step 0 in a random order, then the viruses' sub-step 1
   in a fresh random order; stunned and just-spawned enemies do nothing; an
   enemy next to the player attacks (HP -1, and skips its second sub-step),
   otherwise it moves by Swift's deterministic ``findNextMove`` and fallbacks;
4. the scheduled spawn: unless CALM is active, ``turns_to_spawn`` counts down
   and at 0 one transmission appears on a random empty cell and the countdown
   restarts at ``spawn_interval``;
5. transmissions owed by siphons are placed (``from_siphon``; one slot per
   cell, so only a failed cell search drops one, as in Swift);
6. stuns and ``just_spawned`` clear.

Stage completion: stage +1, HP +1 (max 3), spawn interval and countdown reset
to ``13 - stage``, SHOW, CALM, STEP and ATK+ uses cleared (attack damage is
kept), the UNDO history cleared, and a new board around the player's corner;
enemies, transmissions and owed siphon spawns carry over (``generation.new_stage``).
Completing stage 8 wins (the episode terminates). HP 0 terminates (death).
"""
from __future__ import annotations

from typing import Dict, Tuple

import jax
import jax.numpy as jnp

from jitrl.envs.hackmatrix import bitboard as bb
from jitrl.envs.hackmatrix import common, generation, programs
from jitrl.envs.hackmatrix.pathfinding import bfs_distances, first_reached, neighbour_cells
from jitrl.envs.hackmatrix.state import (
    ACTION_SIPHON, BLOCK_DATA, BLOCK_NONE, BLOCK_PROGRAM, DIRECTIONS, ENEMY_MAX_HP,
    ENEMY_SPEED,
    GLITCH, GRID, MAX_ENEMIES, MAX_HP, MAX_TRANSMISSIONS, NUM_PROGRAMS, NUM_STAGES,
    PROGRAM_OFFSET, EnvParams, EnvState, GameState, clear_history, history_overflow,
    push_history, select_state,
)


# ------------------------------------------------------------------ line of fire
def line_target(game: GameState, direction):
    """What action ``direction`` (0-3) fires at (Swift's ``findTargetInLineOfFire``).

    Walking from the player, the first cell holding a transmission or an
    enemy is the target: on that cell a transmission is taken before an
    enemy, and of several enemies the first in list order; a block without
    either stops the line.
    Returns (kind, slot, first_cell_open): kind 0 nothing, 1 enemy, 2
    transmission; ``slot`` the enemy/transmission slot; ``first_cell_open``
    True when the neighbouring cell is on the board and holds no block.
    """
    d = jnp.asarray(DIRECTIONS)[direction]
    k = jnp.arange(1, GRID)
    rows = game.player_row + d[0] * k
    cols = game.player_col + d[1] * k
    on = (rows >= 0) & (rows < GRID) & (cols >= 0) & (cols < GRID)
    rc, cc = jnp.clip(rows, 0, GRID - 1), jnp.clip(cols, 0, GRID - 1)
    e_hit = (game.enemy_alive[None, :] & (game.enemy_row[None, :] == rows[:, None])
             & (game.enemy_col[None, :] == cols[:, None]))  # [K, E]
    t_hit = (game.trans_alive[None, :] & (game.trans_row[None, :] == rows[:, None])
             & (game.trans_col[None, :] == cols[:, None]))  # [K, T]
    has_e = jnp.any(e_hit, axis=1) & on
    has_t = jnp.any(t_hit, axis=1) & on
    block = (game.block_kind[rc, cc] != BLOCK_NONE) & on
    stop = has_e | has_t | block
    first = jnp.argmax(stop)
    any_stop = jnp.any(stop)
    kind = jnp.where(any_stop & has_t[first], 2, jnp.where(any_stop & has_e[first], 1, 0))
    e_first = common.first_in_list(e_hit[first], game.enemy_seq)
    slot = jnp.where(kind == 1, jnp.argmax(e_first), jnp.argmax(t_hit[first]))
    first_open = on[0] & ~block[0]
    return kind.astype(jnp.int32), slot.astype(jnp.int32), first_open


def move_legal(game: GameState) -> jax.Array:
    """bool[4]: target on the board and (no block there or something to hit)."""
    def one(d):
        kind, _, first_open = line_target(game, d)
        dr, dc = jnp.asarray(DIRECTIONS)[d]
        r, c = game.player_row + dr, game.player_col + dc
        on = (r >= 0) & (r < GRID) & (c >= 0) & (c < GRID)
        return on & (first_open | (kind > 0))
    return jax.vmap(one)(jnp.arange(4))


def action_mask(state: EnvState, params: EnvParams) -> jax.Array:
    game = state.game
    return jnp.concatenate([
        move_legal(game),
        (game.player_siphons > 0)[None],
        programs.program_conditions(state, params),
    ])


def player_direction(game: GameState, direction) -> Tuple[GameState, jax.Array, jax.Array]:
    """Fire or move (action 0-3, Swift's ``tryAttackOrMove``). Returns (game,
    reached_exit, picked_up_a_data_siphon). A shot transmission counts in
    ``kills`` unless it came from a scheduled spawn."""
    kind, slot, first_open = line_target(game, direction)
    hit_e = (kind == 1) & (jnp.arange(MAX_ENEMIES) == slot)
    game = common.damage_enemies(game, hit_e, game.player_attack)
    hit_t = (kind == 2) & (jnp.arange(MAX_TRANSMISSIONS) == slot)
    game = game.replace(trans_alive=game.trans_alive & ~hit_t,
                        kills=game.kills + jnp.any(hit_t & ~game.trans_from_task).astype(jnp.int32))
    move = (kind == 0) & first_open
    d = jnp.asarray(DIRECTIONS)[direction]
    r = jnp.where(move, game.player_row + d[0], game.player_row)
    c = jnp.where(move, game.player_col + d[1], game.player_col)
    here = common.onehot_cell(r, c)
    pick = move & jnp.any(here & game.siphon_pickup)  # not when standing on one (WARP)
    game = game.replace(
        player_row=r, player_col=c,
        siphon_pickup=game.siphon_pickup & ~(here & pick),
        player_siphons=game.player_siphons + pick.astype(jnp.int32),
    )
    reached = move & jnp.any(here & game.exit_cell)
    return game, reached, pick


# ------------------------------------------------------------------ siphon
def cross_cells(row, col) -> jax.Array:
    """bool[GRID, GRID]: (row, col) and its 4 neighbours on the board."""
    ar = jnp.arange(GRID)
    dr = jnp.abs(ar[:, None] - row)
    dc = jnp.abs(ar[None, :] - col)
    return (dr + dc) <= 1


def siphon(game: GameState, params: EnvParams) -> GameState:
    take = cross_cells(game.player_row, game.player_col) & ~game.siphoned
    blocks = game.block_kind != BLOCK_NONE
    taken_blocks = take & blocks
    real = game.block_hidden_kind
    data = taken_blocks & (real == BLOCK_DATA)
    prog = taken_blocks & (real == BLOCK_PROGRAM)
    got_prog = jnp.any(
        prog[None, :, :] & (game.block_program[None, :, :] == jnp.arange(NUM_PROGRAMS)[:, None, None]),
        axis=(1, 2))
    res = take & ~blocks
    here = common.onehot_cell(game.player_row, game.player_col)
    return game.replace(
        score=game.score + jnp.sum(jnp.where(data, game.block_points, 0)),
        owned=game.owned | got_prog,
        block_kind=jnp.where(taken_blocks, real, game.block_kind),
        pending_siphon_spawns=game.pending_siphon_spawns
        + jnp.sum(jnp.where(taken_blocks, game.block_spawn, 0)),
        block_spawn=jnp.where(taken_blocks, 0, game.block_spawn),  # Swift rewrites it with spawn 0
        siphon_center=game.siphon_center | here,
        player_credits=game.player_credits + jnp.sum(jnp.where(res, game.credits, 0)),
        player_energy=game.player_energy + jnp.sum(jnp.where(res, game.energy, 0)),
        credits=jnp.where(res, 0, game.credits),
        energy=jnp.where(res, 0, game.energy),
        siphoned=game.siphoned | take,
        player_siphons=game.player_siphons - 1,
        spawn_interval=jnp.maximum(game.spawn_interval - 1, params.spawn_interval_min),
        next_task_turn=game.next_task_turn + params.siphon_spawn_delay,
    )


# ------------------------------------------------------------------ enemy turn
def _tick_transmissions(game: GameState) -> GameState:
    """Transmissions tick; those at 0 become enemies (full HP, ``just_spawned``)
    on their cells: the k-th hatching one (slot order) takes the k-th free
    enemy slot, as adding them one after another to the first free slot would
    (a hatch finding no free slot is reported by :func:`hatch_overflow`)."""
    turns = jnp.where(game.trans_alive, game.trans_turns - 1, game.trans_turns)
    hatch = game.trans_alive & (turns <= 0)
    h_rank = jnp.cumsum(hatch) - 1
    e_free = ~game.enemy_alive
    e_rank = jnp.cumsum(e_free) - 1
    assign = hatch[None, :] & e_free[:, None] & (h_rank[None, :] == e_rank[:, None])  # [enemy, trans]
    write = jnp.any(assign, axis=1)
    src = jnp.argmax(assign, axis=1)
    etype = game.trans_type[src]
    # Swift appends the new enemies in transmission list order
    list_rank = jnp.sum(hatch[None, :] & (game.trans_seq[None, :] < game.trans_seq[:, None]), axis=1)
    return game.replace(
        trans_turns=turns,
        trans_alive=game.trans_alive & ~hatch,
        enemy_alive=game.enemy_alive | write,
        enemy_type=jnp.where(write, etype, game.enemy_type),
        enemy_row=jnp.where(write, game.trans_row[src], game.enemy_row),
        enemy_col=jnp.where(write, game.trans_col[src], game.enemy_col),
        enemy_hp=jnp.where(write, jnp.asarray(ENEMY_MAX_HP)[etype], game.enemy_hp),
        enemy_stunned=jnp.where(write, False, game.enemy_stunned),
        enemy_from_siphon=jnp.where(write, game.trans_from_siphon[src], game.enemy_from_siphon),
        enemy_from_task=jnp.where(write, game.trans_from_task[src], game.enemy_from_task),
        enemy_just_spawned=game.enemy_just_spawned | write,
        enemy_seq=jnp.where(write, game.next_seq + list_rank[src], game.enemy_seq),
        next_seq=game.next_seq + jnp.sum(hatch).astype(jnp.int32),
    )


def _order_bits(key) -> jax.Array:
    """uint32[2, MAX_ENEMIES]: the random words that order sub-steps 0 and 1."""
    return jax.random.bits(key, (2, MAX_ENEMIES), jnp.uint32)


def enemy_orders(key) -> jax.Array:
    """int32[2, MAX_ENEMIES]: the slot order of sub-step 0 and of sub-step 1
    (Swift's ``enemies.shuffled()``, fresh at each sub-step; dead slots are skipped):
    the slots sorted by their random words (stable: ties by slot)."""
    return jnp.argsort(_order_bits(key), axis=1).astype(jnp.int32)


def _first(mask):
    """(index of the first True of bool[4], any True)."""
    return jnp.argmax(mask).astype(jnp.int32), jnp.any(mask)


def acting_turns(words, ready, fast):
    """When each enemy acts: the enemies with ``ready`` in the order of
    :func:`enemy_orders` ``[0]`` (sub-step 0), then those with ``fast`` in the
    order ``[1]`` (sub-step 1), numbered 0, 1, ... without gaps. ``words``:
    the uint32[2, MAX_ENEMIES] random words of :func:`_order_bits`.

    Returns (int32[2, MAX_ENEMIES] turn of each slot in each sub-step, -1 where
    it does not act; int32 number of turns). The turn is a slot's rank among
    the acting slots by (random word, slot), the order the stable sort of
    ``enemy_orders`` gives, counted by comparisons: no sort (a [batch, 2, 36]
    sort was most of the enemy phase's time) and no scatter. Skipping the
    other slots changes nothing: an enemy that may not act keeps its cell and
    deals no damage."""
    u = words
    slot = jnp.arange(MAX_ENEMIES)
    before = (u[:, :, None] < u[:, None, :]) | (
        (u[:, :, None] == u[:, None, :]) & (slot[:, None] < slot[None, :]))  # [k, t, s]: t before s
    acting = jnp.stack([ready, fast])
    rank = jnp.sum((before & acting[:, :, None]).astype(jnp.int32), axis=1)
    n0 = jnp.sum(ready.astype(jnp.int32))
    turn = rank + jnp.stack([jnp.int32(0), n0])[:, None]
    return jnp.where(acting, turn, -1), n0 + jnp.sum(fast.astype(jnp.int32))


def _enemies_act(key, game: GameState) -> GameState:
    """Step 3 of the enemy turn, as ``runEnemyTurn`` / ``executeEnemyStepWithCapture``
    and ``Pathfinding.findNextMove`` (docs/hackmatrix-rules.md).

    Sub-step 0 for every enemy in a random order, then, when a virus exists,
    sub-step 1 (a fresh random order) for the viruses. An enemy that is
    stunned, just spawned or has attacked this turn does nothing; next to the
    player it attacks (HP -1); otherwise it moves one cell:

    1. BFS to the player where blocks (not for glitches), other enemies and
       transmissions block: the first direction, in the order up, down, left,
       right, that starts a shortest path (Swift's BFS records only the first
       path to reach the player, so this is deterministic);
    2. else the same BFS ignoring enemies and transmissions, taken only if that
       first cell is free of them;
    3. else the enterable free neighbour nearest the player by Manhattan
       distance (first in direction order; it may be farther than the enemy's
       own cell); else it stays.

    Positions update at once (later enemies see them). Only the enemies that
    may act are visited (:func:`acting_turns`: both sub-steps in one
    ``while_loop``, as many trips as acting enemies), each with one bit-board
    wavefront that stops when it meets the enemy's free neighbours
    (``pathfinding.first_reached``); the BFS of rule 2 does not depend on the
    units, so it is one distance map per turn (blocks; a glitch's is the
    Manhattan distance)."""
    blocks = game.block_kind != BLOCK_NONE
    pr, pc = game.player_row, game.player_col
    blk = bb.pack(blocks)
    trn = bb.union_of_cells(game.trans_row, game.trans_col, game.trans_alive)
    tgt = bb.cell(pr, pc)
    d_block = bfs_distances(blocks, (pr, pc))
    inf = GRID * GRID
    ready = game.enemy_alive & ~game.enemy_stunned & ~game.enemy_just_spawned
    turns, count = acting_turns(_order_bits(key), ready,
                                ready & (jnp.asarray(ENEMY_SPEED)[game.enemy_type] > 1))
    is_glitch = game.enemy_type == GLITCH
    zero = jnp.zeros((), jnp.int32)

    def body(carry):
        j, rows, cols, hp, attacked = carry
        me = jnp.any(turns == j, axis=0)  # the one slot whose turn it is
        glitch = jnp.any(me & is_glitch)
        active = ~jnp.any(me & attacked)
        r, c = jnp.sum(jnp.where(me, rows, 0)), jnp.sum(jnp.where(me, cols, 0))
        adjacent = (jnp.abs(r - pr) + jnp.abs(c - pc)) == 1
        attack = active & adjacent
        others = bb.union_of_cells(rows, cols, game.enemy_alive & ~me)
        occupied = bb.b_or(others, trn)
        enterable = bb.b_where(glitch, (zero + bb.WORD, zero + bb.WORD), bb.b_not(blk))
        open_ = bb.b_or(bb.b_and(enterable, bb.b_not(occupied)), tgt)
        here = bb.cell(r, c)
        free_nbrs = bb.b_and(bb.b_and(bb.dilate(here), bb.b_not(here)),
                             bb.b_and(open_, bb.b_not(tgt)))
        moves = active & ~adjacent
        found, layer = first_reached(open_, tgt, bb.b_where(moves, free_nbrs, (zero, zero)))
        nr, nc, on = neighbour_cells(r, c)
        rc, cc = jnp.clip(nr, 0, GRID - 1), jnp.clip(nc, 0, GRID - 1)
        can_enter = on & bb.test(enterable, rc, cc)
        occ = bb.test(occupied, rc, cc)
        i1, ok1 = _first(can_enter & ~occ & bb.test(layer, rc, cc) & found)
        man = jnp.abs(nr - pr) + jnp.abs(nc - pc)
        d2 = jnp.where(can_enter, jnp.where(glitch, man, d_block[rc, cc]), inf)
        i2 = jnp.argmin(d2).astype(jnp.int32)  # first minimum
        ok2 = (d2[i2] < inf) & ~occ[i2]
        m3 = jnp.where(can_enter & ~occ, man, inf)
        i3 = jnp.argmin(m3).astype(jnp.int32)
        ok3 = m3[i3] < inf
        idx = jnp.where(ok1, i1, jnp.where(ok2, i2, i3))
        go = moves & (ok1 | ok2 | ok3)
        rows = jnp.where(me & go, nr[idx], rows)
        cols = jnp.where(me & go, nc[idx], cols)
        hp = hp - attack.astype(jnp.int32)
        attacked = attacked | (me & attack)
        return j + 1, rows, cols, hp, attacked

    carry = (zero, game.enemy_row, game.enemy_col, game.player_hp,
             jnp.zeros((MAX_ENEMIES,), bool))
    _, rows, cols, hp, _ = jax.lax.while_loop(lambda cr: cr[0] < count, body, carry)
    return game.replace(enemy_row=rows, enemy_col=cols, player_hp=jnp.maximum(hp, 0))


def enemy_turn(key, game: GameState, params: EnvParams) -> GameState:
    k_move, k_sched = jax.random.split(key)
    game = game.replace(turn=game.turn + 1)
    game = _tick_transmissions(game)
    game = _enemies_act(k_move, game)
    # scheduled spawn (maybeExecuteScheduledTask): unless CALM, at turn >= next
    due = ~game.calm_active & (game.turn >= game.next_task_turn)
    game = game.replace(next_task_turn=jnp.where(due, game.turn + game.spawn_interval,
                                                 game.next_task_turn))
    # the scheduled transmission first, then those owed by siphons (one placement)
    first = due.astype(jnp.int32)
    order = jnp.arange(MAX_TRANSMISSIONS)
    game = generation.place_transmissions(
        k_sched, game, first + game.pending_siphon_spawns, params.transmission_turns,
        order >= first, from_task=order < first)
    return game.replace(
        pending_siphon_spawns=jnp.int32(0),
        enemy_stunned=jnp.zeros_like(game.enemy_stunned),
        enemy_just_spawned=jnp.zeros_like(game.enemy_just_spawned),
    )


# ------------------------------------------------------------------ stage change
def complete_stage(state: EnvState, params: EnvParams) -> EnvState:
    """Bookkeeping of a completed stage (``completeStage`` and the part of
    ``initializeStage`` that is not the board, which ``advance_board`` lays
    out): HP +1 (max 3); below stage 8 the stage +1, the spawn interval
    ``13 - stage``, ``turn`` 0 and the next scheduled spawn at ``interval``;
    SHOW, CALM, STEP and ATK+ uses cleared (on victory only the HP changes).
    The UNDO history is kept (Swift)
    unless ``params.fix_undo_across_stages``."""
    g = state.game
    old_stage = g.stage
    stage = g.stage + 1
    interval = jnp.asarray(NUM_STAGES + 5, jnp.int32) - stage  # 13 - stage
    won = stage > NUM_STAGES
    keep = lambda old, new: jnp.where(won, old, new)  # victory: completeStage stops there
    g = g.replace(
        stage=jnp.minimum(stage, NUM_STAGES),
        player_hp=jnp.minimum(g.player_hp + 1, MAX_HP),
        spawn_interval=keep(g.spawn_interval, interval),
        turn=keep(g.turn, 0), next_task_turn=keep(g.next_task_turn, interval),
        show_active=keep(g.show_active, False), calm_active=keep(g.calm_active, False),
        step_skip_pending=keep(g.step_skip_pending, False),
        atk_plus_uses=keep(g.atk_plus_uses, 0),
    )
    reward = stage_reward(old_stage, won, params)
    state = state.replace(game=g)
    cleared = clear_history(state)
    clear = jnp.asarray(params.fix_undo_across_stages, bool) & ~won
    state = state.replace(
        history_head=jnp.where(clear, cleared.history_head, state.history_head),
        history_count=jnp.where(clear, cleared.history_count, state.history_count),
        history_depth=jnp.where(clear, cleared.history_depth, state.history_depth),
    )
    return state.replace(
        won=won,
        highest_stage=jnp.maximum(state.highest_stage, g.stage),
        stage_rewards_earned=state.stage_rewards_earned + reward,
    )


def stage_reward(stage, won, params: EnvParams) -> jax.Array:
    """Reward for completing ``stage`` (1-8): ``stage_rewards[stage - 1]``,
    except that Swift pays ``stage_rewards[6]`` for the last stage (it reads
    ``currentStage - 1`` after ``completeStage``, which stays at 8 on victory)
    unless ``params.fix_stage8_reward``."""
    table = jnp.asarray(params.stage_rewards, jnp.float32)
    index = jnp.where(won & ~jnp.asarray(params.fix_stage8_reward, bool), stage - 2, stage - 1)
    return table[jnp.clip(index, 0, NUM_STAGES - 1)]


def advance_board(key, state: EnvState, params: EnvParams) -> EnvState:
    return state.replace(game=generation.new_stage(key, state.game, params))


def hatch_overflow(game: GameState) -> jax.Array:
    """bool: the enemy turn about to run hatches more transmissions than there
    are free enemy slots. Reachable only with Swift's PUSH/PULL stacking (units
    otherwise hold distinct cells, at most 35); the env ends the episode there
    and reports it rather than drop an enemy."""
    hatching = jnp.sum(game.trans_alive & (game.trans_turns <= 1))
    return hatching > jnp.sum(~game.enemy_alive)


# ------------------------------------------------------------------ transition
def transition(key, state: EnvState, action, params: EnvParams,
               mask=None) -> Tuple[EnvState, Dict[str, jax.Array]]:
    """One env step without laying out a new board; see the module docstring.
    ``mask`` is ``action_mask(state, params)`` when the caller already has it.

    events: legal, turn_ended, enemy_turn, stage_completed, won, died,
    siphon_death (killed next to an enemy spawned by a siphon), picked_siphon
    (walked onto a data-siphon pickup), overflow (the step needed an UNDO
    snapshot the ring dropped, or an enemy slot that does not exist: the env
    truncates the episode).
    """
    k_prog, k_enemy = jax.random.split(key)
    action = jnp.asarray(action, jnp.int32)
    legal = (action_mask(state, params) if mask is None else mask)[action]
    is_dir = action < ACTION_SIPHON
    is_siphon = action == ACTION_SIPHON
    is_prog = action >= PROGRAM_OFFSET
    prog_idx = jnp.clip(action - PROGRAM_OFFSET, 0, NUM_PROGRAMS - 1)
    turn_ends = legal & (is_dir | is_siphon | (is_prog & programs.ends_turn(prog_idx)))

    game0 = state.game
    g_dir, reached, picked = player_direction(game0, jnp.clip(action, 0, 3))
    g_siph = siphon(game0, params)
    s_prog = programs.apply_program(state, prog_idx, k_prog, params)

    game = jax.tree_util.tree_map(
        lambda a, b, c, z: jnp.where(legal, jnp.where(is_dir, a, jnp.where(is_siphon, b, c)), z),
        g_dir, g_siph, s_prog.game, game0)
    prog_used = legal & is_prog  # programs move the history only by UNDO (head, count, depth)
    undo_lost = prog_used & (prog_idx == programs.UNDO) & history_overflow(state)
    after = state.replace(
        game=game,
        siphons_used=state.siphons_used + (legal & is_siphon).astype(jnp.int32),
        programs_used=state.programs_used + prog_used.astype(jnp.int32),
        history_head=jnp.where(prog_used, s_prog.history_head, state.history_head),
        history_count=jnp.where(prog_used, s_prog.history_count, state.history_count),
        history_depth=jnp.where(prog_used, s_prog.history_depth, state.history_depth),
    )
    # WARP onto the exit position completes the stage (tryExecuteAction)
    warped_out = prog_used & (prog_idx == programs.WARP) & (
        (game.player_row == game.exit_row) & (game.player_col == game.exit_col))
    stage_done = (legal & is_dir & reached) | warped_out
    skip = after.game.step_skip_pending
    run_enemies = turn_ends & ~stage_done & ~skip
    full = run_enemies & hatch_overflow(after.game)
    g_enemy = enemy_turn(k_enemy, after.game, params)
    game = jax.tree_util.tree_map(lambda a, b: jnp.where(run_enemies, a, b), g_enemy, after.game)
    game = game.replace(step_skip_pending=jnp.where(turn_ends & ~stage_done, False,
                                                    game.step_skip_pending))
    # saveSnapshot at the end of every enemy turn that runs (not a STEP-skipped one)
    after = push_history(after.replace(game=game), game, run_enemies)

    # death (judged before the stage bookkeeping can add HP)
    died = after.game.player_hp <= 0
    g = after.game
    adj = (jnp.abs(g.enemy_row - g.player_row) + jnp.abs(g.enemy_col - g.player_col)) == 1
    siphon_death = died & jnp.any(g.enemy_alive & g.enemy_from_siphon & adj)

    completed = complete_stage(after, params)
    after = select_state(stage_done, completed, after)
    after = after.replace(
        steps=state.steps + 1,
        last_action=action,
        dead=died,
    )
    events = dict(
        legal=legal, turn_ended=turn_ends, enemy_turn=run_enemies,
        stage_completed=stage_done, won=after.won, died=died, siphon_death=siphon_death,
        picked_siphon=legal & is_dir & picked, overflow=undo_lost | full,
    )
    return after, events
