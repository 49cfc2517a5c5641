"""Scripted HackMatrix baselines as jittable policies ``(key, obs, mask) -> action``.

They see what the agent sees: the board is decoded from the observation by
channel *name* (:class:`jitrl.networks.cells.BoardLayout`, built from the
env's ``CHANNELS``), the legal actions from the env's mask, and the moves'
directions from the env's action table (``ACTION_NAMES``, ``DIRECTIONS``).
No offset is hard-coded, so a new channel or player feature breaks nothing.

* ``exit-seeker``: breadth-first distances to the exit over the cells without
  a block (:func:`exit_distances`); takes the legal move whose target cell is
  nearest the exit. A move whose line of fire holds an enemy or transmission
  attacks it (the game's rule), so an enemy in the way is attacked, not walked
  around. With no legal move it takes the first legal action.
* ``siphoner``: the exit-seeker, but siphons (when the mask allows it) where
  the siphon cross of the player's cell holds at least ``min_blocks``
  unsiphoned blocks.
* ``programmer``: the exit-seeker, but first runs any legal program (in the
  action table's order) except WAIT, UNDO and RESET.
* ``siphon-programmer``: both.
* ``collector``: the siphon-programmer that first walks to the data-siphon
  pickups (two a stage, in the corners that hold neither the player nor the
  exit) while any is on the board -- the same BFS with the pickups as targets
  -- and also siphons where the cross holds one unsiphoned program block.
  It plays the strategy programs need (siphons come from pickups, programs
  from siphoned program blocks), so the report can say whether that pays.

So the learning report can answer "does siphoning / running a program pay
under the game's rewards?" on the same boards as the never-siphoning,
never-programming exit-seeker.
"""
from __future__ import annotations

from typing import Callable, Dict, Tuple

import jax
import jax.numpy as jnp
import numpy as np

from jitrl.envs.hackmatrix import state as hm_state
from jitrl.networks.cells import BoardLayout, board_layout

Policy = Callable[[jax.Array, jax.Array, jax.Array], jax.Array]  # (key, obs, mask) -> int32 action

#: programs the scripted "programmer" never runs: WAIT only ends the turn, UNDO
#: takes a turn back, RESET is penalised at 2 HP and the policy does not read HP.
SKIPPED_PROGRAMS = ("WAIT", "UNDO", "RESET")
MOVE_NAMES = ("UP", "DOWN", "LEFT", "RIGHT")


def exit_distances(blocked: jax.Array, exit_map: jax.Array) -> jax.Array:
    """int32[R, C]: steps from each cell to the exit through cells without a block
    (4-neighbour moves); blocked or unreachable cells get ``R * C``. A plain
    wavefront: ``R * C - 1`` relaxation sweeps in one ``lax.scan`` (exact)."""
    r, c = blocked.shape
    inf = r * c
    d0 = jnp.where(exit_map, 0, inf).astype(jnp.int32)
    open_ = ~blocked | exit_map

    def sweep(d, _):
        p = jnp.pad(d, 1, constant_values=inf)
        nb = jnp.minimum(jnp.minimum(p[:-2, 1:-1], p[2:, 1:-1]), jnp.minimum(p[1:-1, :-2], p[1:-1, 2:]))
        return jnp.where(open_, jnp.minimum(d, nb + 1), inf).astype(jnp.int32), None

    d, _ = jax.lax.scan(sweep, d0, None, length=inf - 1)
    return jnp.minimum(d, inf)


class Board:
    """Decoded views of one observation's board (by channel name)."""

    def __init__(self, layout: BoardLayout):
        self.layout = layout
        self.i_player = layout.channel("player")
        self.i_exit = layout.channel("exit")
        self.i_siphoned = layout.channel("siphoned")
        self.i_pickup = layout.channel("pickup")
        self.i_program = layout.channel("block_program")
        self.i_blocks = layout.channels_with_prefix("block_")
        if not self.i_blocks:
            raise ValueError("scripted policies need block_* channels in the observation")

    def decode(self, obs):
        b = self.layout.board(obs)
        blocked = jnp.sum(b[..., jnp.asarray(self.i_blocks)], axis=-1) > 0
        player = b[..., self.i_player] > 0
        exit_ = b[..., self.i_exit] > 0
        siphoned = b[..., self.i_siphoned] > 0
        return blocked, player, exit_, siphoned

    def pickups_and_programs(self, obs):
        """(pickup cells, program-block cells) of one observation."""
        b = self.layout.board(obs)
        return b[..., self.i_pickup] > 0, b[..., self.i_program] > 0


def _action_index(names: Tuple[str, ...], name: str) -> int:
    if name not in names:
        raise ValueError(f"action {name!r} not in the env's action table: {', '.join(names)}")
    return names.index(name)


def make_scripted(name: str, env, env_params=None, min_blocks: int = 2) -> Policy:
    """The scripted policy ``name`` (one of :data:`SCRIPTED`) for HackMatrix."""
    if name not in SCRIPTED:
        raise ValueError(f"scripted policy {name!r}; allowed: {', '.join(SCRIPTED)}")
    use_siphon, use_programs, collects = SCRIPTED[name]
    names = tuple(env.action_names(env_params))
    layout = board_layout(env, env_params)
    board = Board(layout)
    moves = jnp.asarray([_action_index(names, m) for m in MOVE_NAMES], jnp.int32)
    dirs = jnp.asarray(np.asarray(hm_state.DIRECTIONS)[[hm_state.ACTION_NAMES.index(m) for m in MOVE_NAMES]],
                       jnp.int32)
    siphon = _action_index(names, "SIPHON")
    prog_ids = [i for i, n in enumerate(names) if i > siphon and n not in SKIPPED_PROGRAMS]
    programs = np.zeros(len(names), bool)
    programs[prog_ids] = True
    programs = jnp.asarray(programs)
    rr, cc = np.meshgrid(np.arange(layout.rows), np.arange(layout.cols), indexing="ij")

    def policy(key, obs, mask):
        del key  # deterministic
        blocked, player, exit_, siphoned = board.decode(obs)
        target = exit_
        if collects:
            pickup, program_block = board.pickups_and_programs(obs)
            target = jnp.where(jnp.any(pickup), pickup, exit_)
        dist = exit_distances(blocked, target)
        pr = jnp.sum(jnp.where(player, rr, 0))
        pc = jnp.sum(jnp.where(player, cc, 0))
        tr, tc = pr + dirs[:, 0], pc + dirs[:, 1]
        on = (tr >= 0) & (tr < layout.rows) & (tc >= 0) & (tc < layout.cols)
        d_here = dist[pr, pc]
        d_next = dist[jnp.clip(tr, 0, layout.rows - 1), jnp.clip(tc, 0, layout.cols - 1)]
        # a legal move onto a block only attacks what stands on it: no progress
        target_blocked = blocked[jnp.clip(tr, 0, layout.rows - 1), jnp.clip(tc, 0, layout.cols - 1)]
        score = jnp.where(target_blocked, d_here + 1, d_next)
        legal_move = mask[moves] & on
        big = layout.rows * layout.cols * 4
        best = moves[jnp.argmin(jnp.where(legal_move, score, big))]
        action = jnp.where(jnp.any(legal_move), best, jnp.argmax(mask)).astype(jnp.int32)
        if use_siphon:
            cross = (jnp.abs(rr - pr) + jnp.abs(cc - pc)) <= 1
            worth = jnp.sum(cross & blocked & ~siphoned) >= min_blocks
            if collects:
                worth = worth | jnp.any(cross & program_block & ~siphoned)
            action = jnp.where(mask[siphon] & worth, siphon, action)
        if use_programs:
            legal_prog = mask & programs
            action = jnp.where(jnp.any(legal_prog), jnp.argmax(legal_prog), action)
        return action.astype(jnp.int32)

    return policy


def random_masked(key, obs, mask) -> jax.Array:
    """Uniform over the legal actions."""
    del obs
    return jax.random.categorical(key, jnp.where(mask, 0.0, -jnp.inf)).astype(jnp.int32)


#: name -> (siphons, runs programs, walks to the pickups first)
SCRIPTED: Dict[str, Tuple[bool, bool, bool]] = {
    "exit-seeker": (False, False, False),
    "siphoner": (True, False, False),
    "programmer": (False, True, False),
    "siphon-programmer": (True, True, False),
    "collector": (True, True, True),
}
