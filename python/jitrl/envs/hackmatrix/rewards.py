"""Reward terms, one function output each; the reward is their sum.

Swift's ``RewardCalculator.calculate`` with the inputs ``tryExecuteAction``
gives it, term for term. Every term is computed from the state before the
step (``prev``), the state after the step *before* a new board is laid out
(``after``) and the step's events, with weights from :class:`EnvParams`.

| info key | formula |
| --- | --- |
| ``r_step`` | ``w_step`` (-0.01) every step |
| ``r_stage`` | ``stage_rewards[stage - 1]`` (1, 2, 4, ..., 64) on completing a stage; stage 8 pays ``stage_rewards[6]`` = 64 as in Swift unless ``fix_stage8_reward`` (100) |
| ``r_score`` | ``w_score`` (0.5) x score change (signed: an UNDO pays it back) |
| ``r_kill`` | ``w_kill`` (0.3) x kills: enemies and transmissions destroyed, not those from scheduled spawns (``kills`` is not restored by UNDO, which pays 0) |
| ``r_siphon_pickup`` | ``w_siphon_pickup`` (1.0) when the player walked onto a data-siphon pickup |
| ``r_distance`` | ``w_distance`` (0.05) x max(d_before - d_after, 0), d = BFS steps to the exit position through non-block cells (0 when unreachable); on the step reaching the exit d_after = 0; 0 on death. With ``distance_potential`` the signed d_before - d_after (potential-based shaping, not Swift) |
| ``r_hp`` | -``w_hp_lost`` (1.0) x HP lost + ``w_hp_gained`` (1.0) x HP gained (stage completion's +1 included) |
| ``r_victory`` | ``victory_base`` (500) + ``victory_per_score`` (100) x score, on winning |
| ``r_death`` | -``death_fraction`` (0.5) x stage rewards earned so far, and -``siphon_death_penalty`` (10) more when an enemy spawned by a siphon stands next to the player, on death |
| ``r_resource`` | ``w_resource`` (0.05) x change in credits + energy |
| ``r_resource_hold`` | ``w_resource_hold`` (0.01) x (credits + energy) on completing a stage |
| ``r_reset_waste`` | -``reset_waste_penalty`` (0.3) for RESET used at 2 HP |
| ``r_siphon_quality`` | -``w_siphon_quality`` (0.025) x resources missed, Swift's ``checkForBetterSiphonPosition`` (see :func:`siphon_missed`) |
"""
from __future__ import annotations

from typing import Dict

import jax
import jax.numpy as jnp
import numpy as np

from jitrl.envs.hackmatrix import bitboard as bb
from jitrl.envs.hackmatrix.pathfinding import target_distance
from jitrl.envs.hackmatrix.rules import stage_reward
from jitrl.envs.hackmatrix.state import (
    ACTION_SIPHON, BLOCK_DATA, BLOCK_NONE, BLOCK_PROGRAM, GRID, NUM_PROGRAMS, PROGRAM_OFFSET,
    RESET, EnvParams, EnvState, GameState,
)

TERMS = (
    "r_step", "r_stage", "r_score", "r_kill", "r_siphon_pickup", "r_distance", "r_hp",
    "r_victory", "r_death", "r_resource", "r_resource_hold", "r_reset_waste",
    "r_siphon_quality",
)

_cells = np.array([(r, c) for r in range(GRID) for c in range(GRID)])
#: CROSS[i, j]: cell j is in the siphon cross of cell i (row-major indices).
CROSS = (np.abs(_cells[:, None, :] - _cells[None, :, :]).sum(-1) <= 1)


def exit_distance(game: GameState) -> jax.Array:
    """BFS steps from the player to the exit position through non-block cells
    (Swift's ``Pathfinding.findDistance ?? 0``: 0 when unreachable)."""
    # the player's own cell is a BFS start even on a block (WARP onto a glitch)
    blocks = bb.pack((game.block_kind != BLOCK_NONE)
                     & ~((jnp.arange(GRID)[:, None] == game.player_row)
                         & (jnp.arange(GRID)[None, :] == game.player_col)))
    d = target_distance(blocks, (game.exit_row, game.exit_col),
                        (game.player_row, game.player_col))
    return jnp.where(d >= GRID * GRID, 0, d)


def _siphon_yields(game: GameState):
    """Swift's ``calculateSiphonYieldAt`` for every cell (row-major): credits
    [36], energy [36], data points [36, 10] (a histogram: the sorted list of
    values), not-owned programs [36, 23]; all 0 on block cells."""
    blocks = (game.block_kind != BLOCK_NONE).reshape(-1)
    open_ = ~game.siphoned.reshape(-1)
    cross = jnp.asarray(CROSS)
    res = open_ & ~blocks
    credits = cross.astype(jnp.int32) @ jnp.where(res, game.credits.reshape(-1), 0)
    energy = cross.astype(jnp.int32) @ jnp.where(res, game.energy.reshape(-1), 0)
    taken = open_ & blocks
    real = game.block_hidden_kind.reshape(-1)
    data = taken & (real == BLOCK_DATA)
    pts = jax.nn.one_hot(jnp.where(data, game.block_points.reshape(-1), -1), 10, dtype=jnp.int32)
    prog = taken & (real == BLOCK_PROGRAM)
    p_oh = jax.nn.one_hot(jnp.where(prog, game.block_program.reshape(-1), -1), NUM_PROGRAMS,
                          dtype=jnp.int32) * ~game.owned[None, :]
    values = cross.astype(jnp.int32) @ pts
    progs = (cross.astype(jnp.int32) @ p_oh) > 0
    z = lambda x: jnp.where(blocks.reshape((-1,) + (1,) * (x.ndim - 1)), 0, x)
    return z(credits), z(energy), z(values), z(progs)


def siphon_missed(game: GameState) -> jax.Array:
    """Resources missed by siphoning here, as Swift's ``checkForBetterSiphonPosition``:
    a candidate cell dominates when its yield has the same data values and the
    same not-owned programs, >= credits and >= energy, and more of one; the
    candidates are the non-block cells whose cross covers every unsiphoned block
    of the player's cross (all non-block cells when the player's yield has no
    data or new program). Missed = (max credits - mine) + (max energy - mine)
    over the dominating cells (the maxima may come from different cells)."""
    credits, energy, values, progs = _siphon_yields(game)
    me = game.player_row * GRID + game.player_col
    blocks = (game.block_kind != BLOCK_NONE).reshape(-1)
    unsiphoned_blocks = blocks & ~game.siphoned.reshape(-1)
    cross = jnp.asarray(CROSS)
    mine = cross[me] & unsiphoned_blocks
    has_items = jnp.any(values[me] > 0) | jnp.any(progs[me])
    covers = jnp.all(~mine[None, :] | cross, axis=1)
    # with no data or new program here, Swift checks every non-block cell
    cand = ~blocks & jnp.where(has_items, covers & jnp.any(mine), True)
    same = jnp.all(values == values[me][None, :], axis=1) & jnp.all(progs == progs[me][None, :], axis=1)
    better = (cand & same & (credits >= credits[me]) & (energy >= energy[me])
              & ((credits > credits[me]) | (energy > energy[me])))
    best_c = jnp.max(jnp.where(better, credits, credits[me]))
    best_e = jnp.max(jnp.where(better, energy, energy[me]))
    return (best_c - credits[me]) + (best_e - energy[me])


def reward_terms(prev: EnvState, after: EnvState, action, events: Dict[str, jax.Array],
                 params: EnvParams) -> Dict[str, jax.Array]:
    p, a = prev.game, after.game
    f = lambda x: jnp.asarray(x, jnp.float32)
    legal = events["legal"]
    done_stage = events["stage_completed"]
    res_prev = p.player_credits + p.player_energy
    res_after = a.player_credits + a.player_energy
    d_before = exit_distance(p)
    d_after = jnp.where(done_stage, 0, exit_distance(a))
    hp_delta = a.player_hp - p.player_hp
    terms = {
        "r_step": f(params.w_step),
        "r_stage": jnp.where(done_stage, stage_reward(p.stage, events["won"], params), 0.0),
        "r_score": params.w_score * f(a.score - p.score),
        "r_kill": params.w_kill * f(a.kills - p.kills),
        "r_siphon_pickup": params.w_siphon_pickup * f(events["picked_siphon"]),
        "r_distance": jnp.where(events["died"], 0.0, params.w_distance * f(
            jnp.where(params.distance_potential, d_before - d_after, jnp.maximum(d_before - d_after, 0)))),
        "r_hp": -params.w_hp_lost * f(jnp.maximum(-hp_delta, 0))
        + params.w_hp_gained * f(jnp.maximum(hp_delta, 0)),
        "r_victory": jnp.where(events["won"], params.victory_base + params.victory_per_score * f(a.score), 0.0),
        "r_death": jnp.where(events["died"], -params.death_fraction * prev.stage_rewards_earned
                             - params.siphon_death_penalty * f(events["siphon_death"]), 0.0),
        "r_resource": params.w_resource * f(res_after - res_prev),
        "r_resource_hold": jnp.where(done_stage, params.w_resource_hold * f(res_after), 0.0),
        "r_reset_waste": jnp.where(legal & (action == PROGRAM_OFFSET + RESET) & (p.player_hp == 2),
                                   -params.reset_waste_penalty, 0.0),
        "r_siphon_quality": jnp.where(legal & (action == ACTION_SIPHON),
                                      -params.w_siphon_quality * f(siphon_missed(p)), 0.0),
    }
    return {k: jnp.asarray(v, jnp.float32) for k, v in terms.items()}
