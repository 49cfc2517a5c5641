"""Stage set-up: Swift's ``initializeStage`` (GameState.swift).

* The player stands in a corner (a random one at the start of the episode; at a
  later stage the corner of the exit just taken); the exit goes to one of the
  three other corners, data-siphon pickups to the remaining two.
* Enemies and transmissions of the previous stage persist (HP, flags, turns
  left, and the siphon spawns still owed); new blocks avoid their cells.
* Blocks (``placeBlocksWithValidation``): the count n is uniform on 5..11,
  drawn once; the placement is retried until ``GridValidator.isValidPlacement``
  holds: every open cell reached by a BFS from (0, 0) in which the exit is a
  dead end (entered, not expanded; expanded when the exit is (0, 0), the BFS
  start), and every block touches an open cell. Each block is data or program
  by its own coin, hidden as a question block with probability
  ``question_prob``; data holds 1-9 points (and spawns as many transmissions
  when siphoned), a program block a program not yet used this stage (spawns
  ``PROGRAM_SPAWN``).
* Layouts come from pools instead of being drawn and validated per step (under
  ``vmap`` every env pays for a new board at every step): per block count and
  exit rule, ``POOL_SIZE`` uniform valid layouts drawn once per process by
  rejection sampling in numpy (``build_layout_pool``; fixed seed). A stage
  draws n, then pool entries under a symmetry of the square that keeps the
  validity rule (any of the 8 when the exit is (0, 0); else one of the two
  that send ``POOL_EXIT`` to the exit); the first of ``LAYOUT_CANDIDATES``
  that avoids the persisting units is used (Swift's conditional law). On a
  board so crowded that none does, the first candidate minus the occupied
  cells is used (fewer blocks; Swift would hang there when fewer than n cells
  are free).
* Resources (``placeResources``): every non-block cell but the exit (the
  corners and cells under units included) gets 1 unit (45%), 2 (45%) or 3
  (10%), credits or energy with equal odds.
* Stage N adds N transmissions (``transmission_turns`` turns left, uniform
  enemy type), placed as every transmission is (:func:`place_transmissions`,
  ``spawnRandomTransmissions``): an empty cell outside the player's line of
  fire if 100 random draws find one, else any empty cell if 100 more do, else
  none; the exit and pickups count as empty.
* Episode start: stage 1, HP 3, attack 1, and one random bonus: 10 credits,
  11 energy or 1 data siphon.
"""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from jitrl.envs.hackmatrix import common
from jitrl.envs.hackmatrix.state import (
    BLOCK_DATA, BLOCK_NONE, BLOCK_PROGRAM, BLOCK_QUESTION, CORNERS, GRID, MAX_TRANSMISSIONS,
    NUM_ENEMY_TYPES, NUM_PROGRAMS, PROGRAM_SPAWN, EnvParams, GameState, empty_game,
)

MIN_BLOCKS, MAX_BLOCKS = 5, 11
POOL_SIZE = 1 << 14  # per (exit rule, block count) pool
POOL_SEED = 868

_corner_np = np.zeros((GRID, GRID), bool)
for _r, _c in CORNERS:
    _corner_np[_r, _c] = True
CORNER_MASK = _corner_np


# ------------------------------------------------------------ cheap sampling
# Sorting and one uniform per cell are slow on CPU under vmap, so the samplers
# below draw raw 32-bit words (two 16-bit draws per word) and pick integers by
# multiply-shift: ``(h * m) >> 16`` is uniform on [0, m) up to a relative bias of
# at most m / 65536 (< 0.06% for m <= 36).
_NONCORNER = np.argwhere(~CORNER_MASK)  # the 32 non-corner cells, row-major
_BIT_OF_CELL = np.full((GRID, GRID), 31, np.int32)
_BIT_OF_CELL[_NONCORNER[:, 0], _NONCORNER[:, 1]] = np.arange(len(_NONCORNER))
N_NONCORNER = len(_NONCORNER)
assert N_NONCORNER == 32


def _halves(key, n_words):
    """int32[2 * n_words] independent 16-bit draws."""
    w = jax.random.bits(key, (n_words,), jnp.uint32)
    lo = (w & 0xFFFF).astype(jnp.int32)
    hi = (w >> 16).astype(jnp.int32)
    return jnp.concatenate([lo, hi])


def _below(h, m):
    """Integer in [0, m) from a 16-bit draw ``h``."""
    return (h * m) >> 16


def floyd_subset(h, n, universe: int, max_n: int):
    """Uniform ``n``-subset of ``range(universe)`` (R. Floyd's algorithm) as a bit
    mask (``universe`` <= 32, bit 31 in the sign). ``h``: ``max_n`` 16-bit draws."""
    def body(mask, i):
        j = universe - n + i
        t = _below(h[i], j + 1)
        has_t = ((mask >> t) & 1) == 1
        pick = jnp.where(has_t, j, t)
        new = mask | jnp.left_shift(jnp.int32(1), pick)
        return jnp.where(i < n, new, mask), None

    mask, _ = jax.lax.scan(body, jnp.int32(0), jnp.arange(max_n))
    return mask


def mask_to_board(mask) -> jax.Array:
    """bool[GRID, GRID] of a non-corner-cell bit mask."""
    on = ((mask >> jnp.asarray(_BIT_OF_CELL)) & 1) == 1
    return on & ~jnp.asarray(CORNER_MASK)


# ------------------------------------------------------------ layout pool
def layout_valid_np(blocks: np.ndarray, exit_cell=None) -> np.ndarray:
    """bool[M] for boards bool[M, 6, 6] (corners open): ``GridValidator.isValidPlacement``.

    Every open cell is reached by a BFS from (0, 0) (``isPathConnected``) and
    every block touches an open cell (``areAllBlocksSiphonable``). With
    ``exit_cell`` (a corner other than (0, 0)) the exit is entered but not
    expanded, as in Swift: a cell reachable only through the exit is invalid.
    (When the exit is (0, 0) it is the BFS start and is expanded: pass None.)"""
    open_ = ~blocks
    through = open_.copy()
    if exit_cell is not None:
        through[:, exit_cell[0], exit_cell[1]] = False
    reached = np.zeros_like(blocks)
    reached[:, 0, 0] = True
    while True:
        src = reached & through
        grown = reached.copy()
        grown[:, 1:] |= src[:, :-1]
        grown[:, :-1] |= src[:, 1:]
        grown[:, :, 1:] |= src[:, :, :-1]
        grown[:, :, :-1] |= src[:, :, 1:]
        grown &= open_
        if np.array_equal(grown, reached):
            break
        reached = grown
    conn = np.all(reached | blocks, axis=(1, 2))
    pad = np.pad(open_, ((0, 0), (1, 1), (1, 1)))
    touches = pad[:, 2:, 1:-1] | pad[:, :-2, 1:-1] | pad[:, 1:-1, 2:] | pad[:, 1:-1, :-2]
    return conn & np.all(touches | ~blocks, axis=(1, 2))


#: Canonical exit of the "exit is a dead end" pools; a stage maps it onto its exit
#: with one of the two symmetries of the square that send (5, 5) there.
POOL_EXIT = (GRID - 1, GRID - 1)
N_COUNTS = MAX_BLOCKS - MIN_BLOCKS + 1  # 7 block counts


def build_layout_pool(n_blocks: int, dead_end_exit: bool, size: int = POOL_SIZE,
                      seed: int = POOL_SEED) -> np.ndarray:
    """int32[size] valid layouts of exactly ``n_blocks`` blocks as non-corner bit
    masks (bit i = ``_NONCORNER[i]``): uniform ``n_blocks``-subsets of the 32
    non-corner cells, kept when valid (``layout_valid_np``, with the exit at
    ``POOL_EXIT`` as a dead end when ``dead_end_exit``). This is Swift's
    ``placeBlocksWithValidation``: the count is drawn once, only the placement
    is retried until valid."""
    rng = np.random.default_rng([seed, n_blocks, int(dead_end_exit)])
    kept = []
    total = 0
    m = size
    while total < size:
        pick = np.argpartition(rng.random((m, N_NONCORNER)), n_blocks, axis=1)[:, :n_blocks]
        chosen = np.zeros((m, N_NONCORNER), bool)
        np.put_along_axis(chosen, pick, True, axis=1)
        boards = np.zeros((m, GRID, GRID), bool)
        boards[:, _NONCORNER[:, 0], _NONCORNER[:, 1]] = chosen
        ok = layout_valid_np(boards, POOL_EXIT if dead_end_exit else None)
        bits = (chosen[ok].astype(np.uint64) << np.arange(N_NONCORNER, dtype=np.uint64)).sum(axis=1)
        kept.append(bits.astype(np.uint32).view(np.int32))
        total += int(ok.sum())
        m = min(8 * size, 2 * m)
    return np.concatenate(kept)[:size]


@functools.lru_cache(maxsize=None)
def layout_pool() -> np.ndarray:
    """int32[2, N_COUNTS, POOL_SIZE]: ``[dead_end_exit, n - MIN_BLOCKS]`` pools
    (built once per process, ~1 s)."""
    return np.stack([np.stack([build_layout_pool(n, bool(d)) for n in range(MIN_BLOCKS, MAX_BLOCKS + 1)])
                     for d in (0, 1)])


def symmetry(board: jax.Array, s) -> jax.Array:
    """Symmetry ``s`` (0-7) of the square: bit 0 flips rows, bit 1 flips
    columns, bit 2 transposes (together the 8 elements of the dihedral group)."""
    board = jnp.where((s & 1) == 1, board[::-1, :], board)
    board = jnp.where((s & 2) == 2, board[:, ::-1], board)
    return jnp.where((s & 4) == 4, board.T, board)


def _symmetry_np(board, s):
    board = board[::-1, :] if s & 1 else board
    board = board[:, ::-1] if s & 2 else board
    return board.T if s & 4 else board


def _syms_to_corner() -> np.ndarray:
    """int32[4, 2]: the two symmetries that send ``POOL_EXIT`` to corner i."""
    out = np.zeros((4, 2), np.int32)
    for i, (r, c) in enumerate(CORNERS):
        hits = []
        for s in range(8):
            b = np.zeros((GRID, GRID), bool)
            b[POOL_EXIT] = True
            if _symmetry_np(b, s)[r, c]:
                hits.append(s)
        out[i] = hits
    return out


SYMS_TO_CORNER = _syms_to_corner()
#: Layout candidates drawn per stage; the first that avoids the cells of the
#: enemies and transmissions that persist from the previous stage is used.
LAYOUT_CANDIDATES = 16


def draw_layout(key, exit_idx=3, occupied=None, n_blocks=None) -> jax.Array:
    """bool[H, W] block cells for a stage whose exit is corner ``exit_idx``.

    The block count is uniform on 5..11 (drawn once, as Swift); the layout is
    uniform among the valid layouts of that count for that exit (a pool entry
    under a symmetry that keeps validity: any of the 8 when the exit is (0, 0),
    else one of the two sending ``POOL_EXIT`` to the exit). ``occupied``: cells
    that may not hold a block (persisting enemies and transmissions): the first
    of ``LAYOUT_CANDIDATES`` candidates that avoids them is the conditional
    distribution Swift samples; when none does (only on very crowded boards),
    the first candidate's blocks on occupied cells are left out."""
    w = jax.random.bits(key, (LAYOUT_CANDIDATES + 1,), jnp.uint32)
    if n_blocks is None:
        n_idx = _below((w[0] & 0xFFFF).astype(jnp.int32), N_COUNTS)
    else:
        n_idx = jnp.asarray(n_blocks, jnp.int32) - MIN_BLOCKS
    exit_idx = jnp.asarray(exit_idx, jnp.int32)
    dead_end = (exit_idx != 0).astype(jnp.int32)  # corner 0 = (0, 0): the BFS start
    idx = (w[1:] & (POOL_SIZE - 1)).astype(jnp.int32)
    sym_any = (w[1:] >> 29).astype(jnp.int32)
    sym_two = jnp.asarray(SYMS_TO_CORNER)[exit_idx][(w[1:] >> 31).astype(jnp.int32)]
    sym = jnp.where(dead_end == 1, sym_two, sym_any)
    masks = jnp.asarray(layout_pool())[dead_end, n_idx][idx]
    boards = jax.vmap(lambda m, s: symmetry(mask_to_board(m), s))(masks, sym)
    if occupied is None:
        return boards[0]
    clash = jnp.any(boards & occupied[None], axis=(1, 2))
    first = jnp.argmax(~clash)
    return jnp.where(jnp.any(~clash), boards[first], boards[0] & ~occupied)


def ordered_sample(h, n, universe: int, allowed=None):
    """``len(h)`` distinct draws from ``range(universe)`` in random order (draw i
    takes the ``t``-th still unused value); entries at or beyond ``n`` are -1.
    ``allowed``: optional bool[universe] of usable values (count must be >= n)."""
    free0 = jnp.ones((universe,), bool) if allowed is None else allowed

    def body(free, i):
        cnt = jnp.sum(free)
        t = _below(h[i], jnp.maximum(cnt, 1))
        pos = jnp.cumsum(free) - 1
        hit = free & (pos == t)
        val = jnp.argmax(hit).astype(jnp.int32)
        ok = (i < n) & (cnt > 0)
        return jnp.where(ok, free & ~hit, free), jnp.where(ok, val, -1)

    _, vals = jax.lax.scan(body, free0, jnp.arange(h.shape[0]))
    return vals


def fill_blocks(key, blocks: jax.Array, params: EnvParams):
    """Contents of the block cells: (kind, hidden_kind, points, program, spawn).

    As ``placeBlocksWithValidation``: each block is data or program by its own
    coin (``Bool.random()``), hidden as a question block with probability
    ``question_prob``; data holds 1-9 points, a program block a program not yet
    used on this stage (the k-th program block in row-major order takes the
    k-th of a uniform random sequence of distinct programs: the same law as
    Swift's draws in placement order)."""
    k_seq, k_cell = jax.random.split(key)
    hk = _halves(k_seq, (MAX_BLOCKS + 1) // 2)
    progs = ordered_sample(hk[:MAX_BLOCKS], MAX_BLOCKS, NUM_PROGRAMS)
    hc = _halves(k_cell, GRID * GRID * 3 // 2).reshape(3, GRID, GRID)
    is_data = blocks & (hc[0] < 32768)
    is_prog = blocks & ~is_data
    # the k-th program block (in row-major order) gets progs[k]
    prog_ord = (jnp.cumsum(is_prog.reshape(-1)) - 1).reshape(blocks.shape)
    prog = progs[jnp.clip(prog_ord, 0, MAX_BLOCKS - 1)]
    points = 1 + _below(hc[1], 9)
    q_threshold = jnp.round(params.question_prob * 65536.0).astype(jnp.int32)
    question = blocks & (hc[2] < q_threshold)
    real = jnp.where(is_data, BLOCK_DATA, jnp.where(is_prog, BLOCK_PROGRAM, BLOCK_NONE))
    kind = jnp.where(question, BLOCK_QUESTION, real)
    pts = jnp.where(is_data, points, 0)
    program = jnp.where(is_prog, prog, -1)
    spawn = jnp.where(is_data, points, jnp.where(is_prog, jnp.asarray(PROGRAM_SPAWN)[prog], 0))
    return (kind.astype(jnp.int32), real.astype(jnp.int32), pts.astype(jnp.int32),
            program.astype(jnp.int32), spawn.astype(jnp.int32))


def new_stage(key, game: GameState, params: EnvParams) -> GameState:
    """Lay out stage ``game.stage`` around the player's corner (``initializeStage``).

    Keeps the player's stats, programs and flags (the rules update those at a
    stage change), and the enemies and transmissions (they persist across
    stages, with their flags and the owed siphon spawns); replaces the board,
    exit and pickups, then adds ``stage`` new transmissions.
    """
    k_exit, k_layout, k_fill, k_amt, k_tr = jax.random.split(key, 5)
    corners = jnp.asarray(CORNERS)
    at_player = (corners[:, 0] == game.player_row) & (corners[:, 1] == game.player_col)
    # exit: the t-th of the three other corners
    t = jax.random.randint(k_exit, (), 0, 3)
    exit_idx = jnp.argmax(~at_player & (jnp.cumsum(~at_player) - 1 == t))
    is_exit = jnp.arange(4) == exit_idx
    pickup_corner = ~at_player & ~is_exit
    pickups = jnp.any(
        common.slot_maps(corners[:, 0], corners[:, 1], pickup_corner), axis=0)
    exit_map = common.onehot_cell(corners[exit_idx, 0], corners[exit_idx, 1])

    units = common.enemy_occupancy(game) | common.trans_occupancy(game)
    blocks = draw_layout(k_layout, exit_idx, units)
    kind, hidden, pts, prog, spawn = fill_blocks(k_fill, blocks, params)

    # placeResources: every non-block cell but the exit (corners and cells under units too)
    open_res = ~blocks & ~exit_map
    hr = _halves(k_amt, GRID * GRID).reshape(2, GRID, GRID)
    # 45% / 45% / 10% of 65536 draws: [0, 29491) -> 1, [29491, 58982) -> 2, else 3
    amount = 1 + (hr[0] >= 29491).astype(jnp.int32) + (hr[0] >= 58982).astype(jnp.int32)
    is_credit = hr[1] < 32768
    credits = jnp.where(open_res & is_credit, amount, 0).astype(jnp.int32)
    energy = jnp.where(open_res & ~is_credit, amount, 0).astype(jnp.int32)

    game = game.replace(
        block_kind=kind, block_hidden_kind=hidden, block_points=pts, block_program=prog,
        block_spawn=spawn, siphoned=jnp.zeros_like(blocks), credits=credits, energy=energy,
        siphon_pickup=pickups, exit_row=corners[exit_idx, 0], exit_col=corners[exit_idx, 1],
        exit_cell=exit_map, siphon_center=jnp.zeros_like(blocks),
    )
    return place_transmissions(k_tr, game, game.stage, params.transmission_turns, False)


def random_ranks(key, allowed: jax.Array) -> jax.Array:
    """int32[N]: a uniformly random ordering of the ``allowed`` entries (bool[N]):
    entry j has rank r (0 first) among them; other entries get ranks too (ignore).
    iid 31-bit priorities, ties broken by index (one [N, N] comparison, no scan)."""
    n = allowed.shape[0]
    prio = (jax.random.bits(key, (n,), jnp.uint32) >> 1).astype(jnp.int32)
    idx = jnp.arange(n)
    ahead = (prio[None, :] > prio[:, None]) | (
        (prio[None, :] == prio[:, None]) & (idx[None, :] < idx[:, None]))
    return jnp.sum(ahead & allowed[None, :], axis=1).astype(jnp.int32)


#: ``MISS[k]`` = P(100 uniform cell draws all miss a set of k of the 36 cells),
#: in 1/2^24 units: Swift's 100-draw cell searches (``findEmptyCell*``).
SEARCH_DRAWS = 100
_MISS = np.array([(1.0 - k / (GRID * GRID)) ** SEARCH_DRAWS for k in range(GRID * GRID + 1)])
MISS = np.round(_MISS * (1 << 24)).astype(np.int32)


def line_of_fire(game: GameState) -> jax.Array:
    """bool[GRID, GRID]: ``isPositionInLineOfFire``: same row or column as the
    player with no enemy or block strictly between (transmissions do not
    shield); the player's cell is not in it."""
    ar = jnp.arange(GRID)
    pr, pc = game.player_row, game.player_col
    stop = common.block_map(game) | common.enemy_occupancy(game)
    row_stop = stop[pr, :]  # cells of the player's row
    col_stop = stop[:, pc]
    # a cell is shielded when a stop lies strictly between it and the player
    between_c = ((ar[None, :] > jnp.minimum(ar[:, None], pc)) & (ar[None, :] < jnp.maximum(ar[:, None], pc)))
    between_r = ((ar[None, :] > jnp.minimum(ar[:, None], pr)) & (ar[None, :] < jnp.maximum(ar[:, None], pr)))
    clear_c = ~jnp.any(between_c & row_stop[None, :], axis=1)  # [col]
    clear_r = ~jnp.any(between_r & col_stop[None, :], axis=1)  # [row]
    in_row = (ar[:, None] == pr) & clear_c[None, :]
    in_col = (ar[None, :] == pc) & clear_r[:, None]
    return (in_row | in_col) & ~common.onehot_cell(pr, pc)


def spawn_cells(game: GameState) -> jax.Array:
    """bool[GRID, GRID]: ``isPositionEmpty``: no player, enemy, transmission or
    block (the exit and data-siphon corners count as empty)."""
    return ~(common.block_map(game) | common.enemy_occupancy(game) | common.trans_occupancy(game)
             | common.player_map(game))


def place_transmissions(key, game: GameState, count, turns, from_siphon,
                        from_task=False) -> GameState:
    """Place ``count`` (traced) transmissions as ``spawnRandomTransmissions``:
    each, one after another, tries 100 random cells for an empty one outside
    the player's line of fire, then 100 random cells for any empty one, and is
    dropped when both searches fail; its enemy type is uniform.

    Same law, with fixed shapes: the empty cells outside (A) and inside (B) the
    line of fire each get a uniform random order; placement k takes the next
    cell of A when the first search succeeds (probability 1 - MISS[|A left|]),
    else, when the second succeeds (1 - MISS[|A| + |B| left]), the next cell of
    A or of B with probability proportional to what is left of each (a uniform
    empty cell). The k-th placed transmission goes to the k-th free slot and
    is appended to the list (``seq``) in placement order.
    ``from_siphon``, ``from_task``: bool, or bool[MAX_TRANSMISSIONS] per
    placement (k-th entry for the k-th placement attempt)."""
    k_a, k_b, k_u, k_types = jax.random.split(key, 4)
    free = spawn_cells(game).reshape(-1)
    lof = line_of_fire(game).reshape(-1)
    in_a, in_b = free & ~lof, free & lof
    rank_a, rank_b = random_ranks(k_a, in_a), random_ranks(k_b, in_b)
    n_a, n_b = jnp.sum(in_a).astype(jnp.int32), jnp.sum(in_b).astype(jnp.int32)
    u = (jax.random.bits(k_u, (3, MAX_TRANSMISSIONS), jnp.uint32) >> 8).astype(jnp.int32)  # 24 bits
    miss = jnp.asarray(MISS)
    count = jnp.asarray(count, jnp.int32)

    def body(carry, k):
        ta, tb = carry
        la, lb = n_a - ta, n_b - tb
        first = u[0, k] >= miss[la]
        second = ~first & (u[1, k] >= miss[la + lb])
        pick_a = first | (second & ((u[2, k] * (la + lb)) >> 24 < la))
        pick_b = second & ~pick_a
        active = k < count
        pick_a, pick_b = active & pick_a, active & pick_b
        out = jnp.where(pick_a, ta, jnp.where(pick_b, MAX_TRANSMISSIONS + tb, -1))
        return (ta + pick_a.astype(jnp.int32), tb + pick_b.astype(jnp.int32)), out

    _, code = jax.lax.scan(body, (jnp.int32(0), jnp.int32(0)), jnp.arange(MAX_TRANSMISSIONS))
    # code[k]: rank in A (k-th placement to A), MAX_TRANSMISSIONS + rank in B, or -1
    cell_code = jnp.where(in_a, rank_a, jnp.where(in_b, MAX_TRANSMISSIONS + rank_b, -2))
    match = code[:, None] == cell_code[None, :]  # [placement, cell]
    placed = code >= 0
    p_rank = (jnp.cumsum(placed) - 1).astype(jnp.int32)  # order among placed
    slot_free = ~game.trans_alive
    slot_rank = (jnp.cumsum(slot_free) - 1).astype(jnp.int32)
    # slot s takes the placement whose rank among placed equals s's rank among free slots
    take = slot_free[:, None] & placed[None, :] & (p_rank[None, :] == slot_rank[:, None])  # [slot, k]
    write = jnp.any(take, axis=1)
    k_of = jnp.argmax(take, axis=1)
    cell = jnp.argmax(match[k_of], axis=1).astype(jnp.int32)
    types = (jax.random.bits(k_types, (MAX_TRANSMISSIONS,), jnp.uint32)
             & (NUM_ENEMY_TYPES - 1)).astype(jnp.int32)
    siph = jnp.broadcast_to(jnp.asarray(from_siphon, bool), (MAX_TRANSMISSIONS,))
    task = jnp.broadcast_to(jnp.asarray(from_task, bool), (MAX_TRANSMISSIONS,))
    return game.replace(
        trans_alive=game.trans_alive | write,
        trans_type=jnp.where(write, types[k_of], game.trans_type),
        trans_row=jnp.where(write, cell // GRID, game.trans_row),
        trans_col=jnp.where(write, cell % GRID, game.trans_col),
        trans_turns=jnp.where(write, jnp.asarray(turns, jnp.int32), game.trans_turns),
        trans_from_siphon=jnp.where(write, siph[k_of], game.trans_from_siphon),
        trans_from_task=jnp.where(write, task[k_of], game.trans_from_task),
        trans_seq=jnp.where(write, game.next_seq + p_rank[k_of], game.trans_seq),
        next_seq=game.next_seq + jnp.sum(placed).astype(jnp.int32),
    )


def initial_player(key, params: EnvParams) -> GameState:
    """A new episode's game before its first board: random corner, stage 1, HP 3,
    attack 1, and one random bonus (10 credits, 11 energy or 1 data siphon)."""
    k_corner, k_bonus = jax.random.split(key)
    corner = jnp.asarray(CORNERS)[jax.random.randint(k_corner, (), 0, 4)]
    bonus = jax.random.randint(k_bonus, (), 0, 3)
    return empty_game().replace(
        player_row=corner[0], player_col=corner[1],
        player_credits=jnp.where(bonus == 0, 10, 0).astype(jnp.int32),
        player_energy=jnp.where(bonus == 1, 11, 0).astype(jnp.int32),
        player_siphons=jnp.where(bonus == 2, 1, 0).astype(jnp.int32),
        spawn_interval=jnp.asarray(params.spawn_interval_start, jnp.int32),
        next_task_turn=jnp.asarray(params.spawn_interval_start, jnp.int32),
    )


def initial_game(key, params: EnvParams) -> GameState:
    """Stage 1 of a new episode: ``initial_player`` and its first board."""
    k_player, k_stage = jax.random.split(key)
    return new_stage(k_stage, initial_player(k_player, params), params)


