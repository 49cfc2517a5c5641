"""Reward terms, one function output each; the reward is their sum.

Every term is computed from the state before the step (``prev``), the state
after the step *before* a new board is laid out (``after``) and the step's
events, with weights from :class:`EnvParams`. Quantities that UNDO can take
back (score, kills, resources, pickups, HP) are paid as signed differences, so
undoing a turn also undoes its reward.

| info key | formula |
| --- | --- |
| ``r_step`` | ``w_step`` (-0.01) every step |
| ``r_stage`` | ``stage_rewards[stage - 1]`` (1, 2, 4, ..., 64, 100) on completing a stage |
| ``r_score`` | ``w_score`` (0.5) x score gained |
| ``r_kill`` | ``w_kill`` (0.3) x enemies killed |
| ``r_siphon_pickup`` | ``w_siphon_pickup`` (1.0) x data-siphon pickups taken from the board |
| ``r_distance`` | ``w_distance`` (0.05) x max(d_before - d_after, 0), d = BFS steps to the exit through non-block cells; 0 on a stage change |
| ``r_hp`` | -``w_hp_lost`` (1.0) x HP lost + ``w_hp_gained`` (1.0) x HP gained (stage completion's +1 included) |
| ``r_victory`` | ``victory_base`` (500) + ``victory_per_score`` (100) x score, on winning |
| ``r_death`` | -``death_fraction`` (0.5) x stage rewards earned so far, and -``siphon_death_penalty`` (10) more when an enemy spawned by a siphon stands next to the player, on death |
| ``r_resource`` | ``w_resource`` (0.05) x change in credits + energy |
| ``r_resource_hold`` | ``w_resource_hold`` (0.01) x (credits + energy) on completing a stage |
| ``r_reset_waste`` | -``reset_waste_penalty`` (0.3) for RESET used at 2 HP |
| ``r_siphon_quality`` | -``w_siphon_quality`` (0.025) x resources missed: over the non-block cells whose siphon cross holds the same unsiphoned blocks as the player's, the best cross's resources minus the player's (0 when the player's is best) |
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
    ACTION_SIPHON, BLOCK_NONE, GRID, PROGRAM_OFFSET, RESET, EnvParams, EnvState, GameState,
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
    """BFS steps from the player to the exit through non-block cells."""
    blocks = bb.pack(game.block_kind != BLOCK_NONE)
    return target_distance(blocks, (game.exit_row, game.exit_col),
                           (game.player_row, game.player_col))


def siphon_missed(game: GameState) -> jax.Array:
    """Resources the player's siphon misses versus the best cross with the same blocks."""
    blocks = (game.block_kind != BLOCK_NONE).reshape(-1)
    take_block = blocks & ~game.siphoned.reshape(-1)
    res = jnp.where(~blocks & ~game.siphoned.reshape(-1),
                    (game.credits + game.energy).reshape(-1), 0)
    cross = jnp.asarray(CROSS)
    me = game.player_row * GRID + game.player_col
    same = jnp.all((cross & take_block[None, :]) == (cross[me] & take_block)[None, :], axis=1)
    value = cross.astype(jnp.int32) @ res
    best = jnp.max(jnp.where(same & ~blocks, value, 0))
    return jnp.maximum(best - value[me], 0)


def reward_terms(prev: EnvState, after: EnvState, action, events: Dict[str, jax.Array],
                 params: EnvParams) -> Dict[str, jax.Array]:
    p, a = prev.game, after.game
    f = lambda x: jnp.asarray(x, jnp.float32)
    legal = events["legal"]
    done_stage = events["stage_completed"]
    same_stage = ~done_stage
    res_prev = p.player_credits + p.player_energy
    res_after = a.player_credits + a.player_energy
    d_before = exit_distance(p)
    d_after = exit_distance(a)
    pickups = jnp.sum(p.siphon_pickup) - jnp.sum(a.siphon_pickup)
    hp_delta = a.player_hp - p.player_hp
    terms = {
        "r_step": f(params.w_step),
        "r_stage": jnp.where(done_stage, stage_reward(p.stage, params), 0.0),
        "r_score": params.w_score * f(a.score - p.score),
        "r_kill": params.w_kill * f(a.kills - p.kills),
        "r_siphon_pickup": params.w_siphon_pickup * f(jnp.where(same_stage, pickups, 0)),
        "r_distance": jnp.where(same_stage, params.w_distance * f(jnp.maximum(d_before - d_after, 0)), 0.0),
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
