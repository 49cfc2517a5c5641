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
  touches an open cell: ``NUM_CANDIDATES`` layouts are drawn in parallel and the
  first valid one is used (the same distribution as drawing one after another
  until one is valid). If all candidates fail (one layout fails with p ~ 0.5,
  so all fail with ~0.5 ** 24 ~ 6e-8,
  see tests), a layout drawn from ``FALLBACK_CELLS`` (any subset of which is
  valid by construction) is used.
* Every open non-corner cell gets resources: 1 unit (45%), 2 (45%) or 3 (10%),
  credits or energy with equal odds.
* Enemies and transmissions of the previous stage are gone; stage N starts with
  N transmissions (``transmission_turns`` turns left, uniform enemy type) on
  random empty cells.
* Episode start: stage 1, HP 3, attack 1, and one random bonus: 10 credits,
  11 energy or 1 data siphon.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from jitrl.envs.hackmatrix import common
from jitrl.envs.hackmatrix.state import (
    BLOCK_DATA, BLOCK_NONE, BLOCK_PROGRAM, BLOCK_QUESTION, CORNERS, GRID, MAX_TRANSMISSIONS,
    NUM_ENEMY_TYPES, NUM_PROGRAMS, NUM_STAGES, PROGRAM_SPAWN, EnvParams, GameState, empty_game,
)

MIN_BLOCKS, MAX_BLOCKS = 5, 11
NUM_CANDIDATES = 24

_corner_np = np.zeros((GRID, GRID), bool)
for _r, _c in CORNERS:
    _corner_np[_r, _c] = True
CORNER_MASK = _corner_np

# Rows 1, 3 and 4, columns 1-4: rows 0, 2 and 5 and columns 0 and 5 stay open and
# connected, every open cell of rows 1, 3, 4 touches one of them, and every block
# touches row 0, 2 or 5. So any subset of these 12 cells is a valid layout.
_fb = np.zeros((GRID, GRID), bool)
_fb[[1, 3, 4], 1:GRID - 1] = True
FALLBACK_CELLS = _fb


def reachable(open_: jax.Array, start) -> jax.Array:
    """bool[H, W]: cells of ``open_`` 4-connected to ``start`` (bit-row flood fill,
    ``H * W - 1`` fixed sweeps)."""
    h, w = open_.shape
    full = (1 << w) - 1
    bits = jnp.left_shift(jnp.int32(1), jnp.arange(w, dtype=jnp.int32))
    rows_open = jnp.sum(jnp.where(open_, bits, 0), axis=1).astype(jnp.int32)
    x0 = jnp.sum(jnp.where(common.onehot_cell(start[0], start[1]) & open_, bits, 0),
                 axis=1).astype(jnp.int32)
    zero = jnp.zeros((1,), jnp.int32)

    def sweep(x, _):
        up = jnp.concatenate([x[1:], zero])
        down = jnp.concatenate([zero, x[:-1]])
        return (x | up | down | ((x << 1) & full) | (x >> 1)) & rows_open, None

    x, _ = jax.lax.scan(sweep, x0, None, length=h * w - 1)
    return ((x[:, None] >> jnp.arange(w)[None, :]) & 1) == 1


def layout_valid(blocks: jax.Array) -> jax.Array:
    """Every open cell connected to the others and every block touching an open cell.
    (Corners are never blocks, so (0, 0) is open and serves as the flood start.)"""
    open_ = ~blocks
    conn = jnp.all(reachable(open_, (0, 0)) | blocks)
    pad = jnp.pad(open_, 1, constant_values=False)
    touches = pad[2:, 1:-1] | pad[:-2, 1:-1] | pad[1:-1, 2:] | pad[1:-1, :-2]
    return conn & jnp.all(touches | ~blocks)


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


def draw_layout(key) -> jax.Array:
    """bool[H, W] block cells: first valid of ``NUM_CANDIDATES`` parallel draws
    (each: n uniform in 5..11, then a uniform n-subset of the 32 non-corner
    cells), else an n-subset of ``FALLBACK_CELLS``."""
    words = MAX_BLOCKS // 2 + 1  # 6 words: 12 draws, 11 for Floyd + 1 for n
    h = _halves(key, (NUM_CANDIDATES + 1) * words).reshape(2, NUM_CANDIDATES + 1, words)
    h = jnp.concatenate([h[0], h[1]], axis=1)  # [C + 1, 12]
    ns = MIN_BLOCKS + _below(h[:, -1], MAX_BLOCKS - MIN_BLOCKS + 1)
    masks = jax.vmap(lambda hh, n: floyd_subset(hh, n, N_NONCORNER, MAX_BLOCKS))(h[:-1], ns[:-1])
    cands = jax.vmap(mask_to_board)(masks)
    valid = jax.vmap(layout_valid)(cands)
    first = jnp.argmax(valid)
    fb_cells = np.argwhere(FALLBACK_CELLS)
    fb_mask = floyd_subset(h[-1], ns[-1], len(fb_cells), MAX_BLOCKS)
    fb_on = ((fb_mask >> jnp.arange(len(fb_cells))) & 1) == 1
    fallback = jnp.zeros((GRID, GRID), bool).at[fb_cells[:, 0], fb_cells[:, 1]].set(fb_on)
    return jnp.where(jnp.any(valid), cands[first], fallback)


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


def place_transmissions(key, game: GameState, count, turns, from_siphon,
                        max_count: int = NUM_STAGES) -> GameState:
    """Place ``count`` (traced, <= ``max_count``) transmissions of uniform random
    type on distinct random empty cells (fewer if the board or the slots run out)."""
    h = _halves(key, max_count)
    free = common.empty_cells(game).reshape(-1)
    n = jnp.minimum(count, jnp.sum(free))
    cells = ordered_sample(h[:max_count], n, GRID * GRID, free)
    types = h[max_count:] & (NUM_ENEMY_TYPES - 1)  # low bits of independent draws

    def body(g, i):
        cell = jnp.maximum(cells[i], 0)
        g = common.add_transmission(g, types[i], cell // GRID, cell % GRID, turns, from_siphon,
                                    enabled=cells[i] >= 0)
        return g, None

    game, _ = jax.lax.scan(body, game, jnp.arange(max_count))
    return game


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
