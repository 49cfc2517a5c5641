"""Stage set-up (issue 3, "Stage set-up").

* The player stands in a corner (a random one at the start of the episode; at a
  later stage the corner of the exit just taken); the exit goes to one of the
  three other corners, data-siphon pickups to the remaining two.
* 5-11 blocks on non-corner cells, half data and half program (an odd count
  gives the extra block to either kind with equal odds), each program at most
  once per stage. Data blocks hold 1-9 points and spawn as many transmissions
  when siphoned; program blocks spawn ``PROGRAM_SPAWN`` of their program. Each
  block is hidden as a question block with probability ``question_prob``.
* Block layouts are re-drawn until every open cell is connected and every block
  touches an open cell. Drawing and checking ~2 candidate layouts per stage
  was half the cost of an env step (under ``vmap`` every env pays for a new
  board at every step), so valid layouts come from a pool instead:
  ``POOL_SIZE`` (65,536) layouts drawn once, at first use, by plain rejection
  sampling in numpy (``build_layout_pool``: n uniform in 5..11, a uniform
  n-subset of the 32 non-corner cells, kept only if valid; fixed seed
  ``POOL_SEED``, so every process has the same pool). A stage takes a uniform
  pool entry and applies a uniform one of the 8 symmetries of the square:
  they map corners to corners and neighbours to neighbours, so validity and
  the layout distribution are preserved (it is symmetric), and
  ``8 * POOL_SIZE`` = 524,288 layouts can occur (fewer only where a layout is
  itself symmetric). Everything else on the board (which blocks are data or
  program, points, programs, question flags, resources, corner roles,
  transmissions, the episode bonus) is drawn fresh at every stage.
* Every open non-corner cell gets resources: 1 unit (45%), 2 (45%) or 3 (10%),
  credits or energy with equal odds.
* Enemies and transmissions of the previous stage are gone; stage N starts with
  N transmissions (``transmission_turns`` turns left, uniform enemy type) on
  random empty cells.
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
    NUM_ENEMY_TYPES, NUM_PROGRAMS, NUM_STAGES, PROGRAM_SPAWN, EnvParams, GameState, empty_game,
)

MIN_BLOCKS, MAX_BLOCKS = 5, 11
POOL_SIZE = 1 << 16
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
def layout_valid_np(blocks: np.ndarray) -> np.ndarray:
    """bool[M] for boards bool[M, 6, 6] (corners open): every open cell is
    4-connected to (0, 0) and every block touches an open cell."""
    open_ = ~blocks
    reached = np.zeros_like(blocks)
    reached[:, 0, 0] = True
    while True:
        grown = reached.copy()
        grown[:, 1:] |= reached[:, :-1]
        grown[:, :-1] |= reached[:, 1:]
        grown[:, :, 1:] |= reached[:, :, :-1]
        grown[:, :, :-1] |= reached[:, :, 1:]
        grown &= open_
        if np.array_equal(grown, reached):
            break
        reached = grown
    conn = np.all(reached | blocks, axis=(1, 2))
    pad = np.pad(open_, ((0, 0), (1, 1), (1, 1)))
    touches = pad[:, 2:, 1:-1] | pad[:, :-2, 1:-1] | pad[:, 1:-1, 2:] | pad[:, 1:-1, :-2]
    return conn & np.all(touches | ~blocks, axis=(1, 2))


def build_layout_pool(size: int = POOL_SIZE, seed: int = POOL_SEED) -> np.ndarray:
    """int32[size] valid layouts as non-corner bit masks (bit i = ``_NONCORNER[i]``),
    by rejection sampling: n uniform in ``MIN_BLOCKS..MAX_BLOCKS``, then a
    uniform n-subset of the 32 non-corner cells, kept when valid."""
    rng = np.random.default_rng(seed)
    kept = []
    total = 0
    while total < size:
        m = 2 * size
        n = rng.integers(MIN_BLOCKS, MAX_BLOCKS + 1, m)
        rank = np.argsort(np.argsort(rng.random((m, N_NONCORNER)), axis=1), axis=1)
        chosen = rank < n[:, None]
        boards = np.zeros((m, GRID, GRID), bool)
        boards[:, _NONCORNER[:, 0], _NONCORNER[:, 1]] = chosen
        ok = layout_valid_np(boards)
        bits = (chosen[ok].astype(np.uint64) << np.arange(N_NONCORNER, dtype=np.uint64)).sum(axis=1)
        kept.append(bits.astype(np.uint32).view(np.int32))
        total += int(ok.sum())
    return np.concatenate(kept)[:size]


@functools.lru_cache(maxsize=None)
def layout_pool() -> np.ndarray:
    """The env's pool (built once per process, ~0.5 s)."""
    return build_layout_pool()


def symmetry(board: jax.Array, s) -> jax.Array:
    """Symmetry ``s`` (0-7) of the square: bit 0 flips rows, bit 1 flips
    columns, bit 2 transposes (together the 8 elements of the dihedral group)."""
    board = jnp.where((s & 1) == 1, board[::-1, :], board)
    board = jnp.where((s & 2) == 2, board[:, ::-1], board)
    return jnp.where((s & 4) == 4, board.T, board)


def draw_layout(key) -> jax.Array:
    """bool[H, W] block cells: a uniform pool layout under a uniform symmetry."""
    w = jax.random.bits(key, (), jnp.uint32)
    idx = (w & (POOL_SIZE - 1)).astype(jnp.int32)
    sym = (w >> 29).astype(jnp.int32)
    mask = jnp.asarray(layout_pool())[idx]
    return symmetry(mask_to_board(mask), sym)


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
    """Contents of the block cells: (kind, hidden_kind, points, program, spawn)."""
    k_kind, k_cell = jax.random.split(key)
    hk = _halves(k_kind, 12)  # 24 draws: 1 odd coin, 11 Floyd, 6 programs (+6 spare)
    n = jnp.sum(blocks).astype(jnp.int32)
    n_data = n // 2 + ((n % 2 == 1) & (hk[0] < 32768)).astype(jnp.int32)
    data_ord = floyd_subset(hk[1:12], n_data, n, MAX_BLOCKS)  # which ordinals 0..n-1 are data
    progs = ordered_sample(hk[12:12 + (MAX_BLOCKS + 1) // 2], n - n_data, NUM_PROGRAMS)
    ordinal = (jnp.cumsum(blocks.reshape(-1)) - 1).reshape(blocks.shape)
    is_data = blocks & (((data_ord >> jnp.clip(ordinal, 0, 31)) & 1) == 1)
    is_prog = blocks & ~is_data
    # the k-th program block (in row-major order) gets progs[k]
    prog_ord = (jnp.cumsum(is_prog.reshape(-1)) - 1).reshape(blocks.shape)
    prog = progs[jnp.clip(prog_ord, 0, progs.shape[0] - 1)]
    hc = _halves(k_cell, GRID * GRID).reshape(2, GRID, GRID)
    points = 1 + _below(hc[0], 9)
    q_threshold = jnp.round(params.question_prob * 65536.0).astype(jnp.int32)
    question = blocks & (hc[1] < q_threshold)
    real = jnp.where(is_data, BLOCK_DATA, jnp.where(is_prog, BLOCK_PROGRAM, BLOCK_NONE))
    kind = jnp.where(question, BLOCK_QUESTION, real)
    pts = jnp.where(is_data, points, 0)
    program = jnp.where(is_prog, prog, -1)
    spawn = jnp.where(is_data, points, jnp.where(is_prog, jnp.asarray(PROGRAM_SPAWN)[prog], 0))
    return (kind.astype(jnp.int32), real.astype(jnp.int32), pts.astype(jnp.int32),
            program.astype(jnp.int32), spawn.astype(jnp.int32))


def new_stage(key, game: GameState, params: EnvParams) -> GameState:
    """Lay out stage ``game.stage`` around the player's corner.

    Keeps the player's stats, programs and flags (the rules update those at a
    stage change); replaces the board, exit, pickups, enemies and transmissions.
    """
    k_exit, k_layout, k_fill, k_amt, k_tr = jax.random.split(key, 5)
    corners = jnp.asarray(CORNERS)
    at_player = (corners[:, 0] == game.player_row) & (corners[:, 1] == game.player_col)
    # exit: uniform among the other corners
    # exit: the t-th of the three other corners
    t = jax.random.randint(k_exit, (), 0, 3)
    exit_idx = jnp.argmax(~at_player & (jnp.cumsum(~at_player) - 1 == t))
    is_exit = jnp.arange(4) == exit_idx
    pickup_corner = ~at_player & ~is_exit
    pickups = jnp.any(
        common.slot_maps(corners[:, 0], corners[:, 1], pickup_corner), axis=0)

    blocks = draw_layout(k_layout)
    kind, hidden, pts, prog, spawn = fill_blocks(k_fill, blocks, params)

    open_res = ~blocks & ~jnp.asarray(CORNER_MASK)
    hr = _halves(k_amt, GRID * GRID).reshape(2, GRID, GRID)
    # 45% / 45% / 10% of 65536 draws: [0, 29491) -> 1, [29491, 58982) -> 2, else 3
    amount = 1 + (hr[0] >= 29491).astype(jnp.int32) + (hr[0] >= 58982).astype(jnp.int32)
    is_credit = hr[1] < 32768
    credits = jnp.where(open_res & is_credit, amount, 0).astype(jnp.int32)
    energy = jnp.where(open_res & ~is_credit, amount, 0).astype(jnp.int32)

    fresh = empty_game()
    game = game.replace(
        block_kind=kind, block_hidden_kind=hidden, block_points=pts, block_program=prog,
        block_spawn=spawn, siphoned=jnp.zeros_like(blocks), credits=credits, energy=energy,
        siphon_pickup=pickups, exit_row=corners[exit_idx, 0], exit_col=corners[exit_idx, 1],
        enemy_alive=fresh.enemy_alive, enemy_stunned=fresh.enemy_stunned,
        enemy_just_spawned=fresh.enemy_just_spawned, enemy_from_siphon=fresh.enemy_from_siphon,
        trans_alive=fresh.trans_alive, trans_from_siphon=fresh.trans_from_siphon,
        pending_siphon_spawns=jnp.int32(0),
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


def place_transmissions(key, game: GameState, count, turns, from_siphon) -> GameState:
    """Place ``count`` (traced) transmissions of uniform random type on distinct
    random empty cells (fewer if the board or the slots run out).

    Same result as placing them one after another, each on a uniform empty cell
    and in the first free slot: the cells are the first ``count`` of a uniform
    random ordering of the empty cells, and the k-th goes to the k-th free slot.
    ``from_siphon``: bool, or bool[MAX_TRANSMISSIONS] per placement (k-th entry
    for the k-th transmission placed)."""
    k_cells, k_types = jax.random.split(key)
    free = common.empty_cells(game).reshape(-1)
    rank = random_ranks(k_cells, free)
    chosen = free & (rank < count)
    slot_free = ~game.trans_alive
    slot_rank = (jnp.cumsum(slot_free) - 1).astype(jnp.int32)
    assign = chosen[None, :] & slot_free[:, None] & (rank[None, :] == slot_rank[:, None])  # [slot, cell]
    write = jnp.any(assign, axis=1)
    cell = jnp.argmax(assign, axis=1).astype(jnp.int32)
    k = jnp.clip(slot_rank, 0, MAX_TRANSMISSIONS - 1)
    types = (jax.random.bits(k_types, (MAX_TRANSMISSIONS,), jnp.uint32)
             & (NUM_ENEMY_TYPES - 1)).astype(jnp.int32)
    siph = jnp.broadcast_to(jnp.asarray(from_siphon, bool), (MAX_TRANSMISSIONS,))
    return game.replace(
        trans_alive=game.trans_alive | write,
        trans_type=jnp.where(write, types[k], game.trans_type),
        trans_row=jnp.where(write, cell // GRID, game.trans_row),
        trans_col=jnp.where(write, cell % GRID, game.trans_col),
        trans_turns=jnp.where(write, jnp.asarray(turns, jnp.int32), game.trans_turns),
        trans_from_siphon=jnp.where(write, siph[k], game.trans_from_siphon),
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
        turns_to_spawn=jnp.asarray(params.spawn_interval_start, jnp.int32),
    )


def initial_game(key, params: EnvParams) -> GameState:
    """Stage 1 of a new episode: ``initial_player`` and its first board."""
    k_player, k_stage = jax.random.split(key)
    return new_stage(k_stage, initial_player(k_player, params), params)


assert NUM_STAGES <= MAX_TRANSMISSIONS
