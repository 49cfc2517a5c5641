"""Wavefront BFS distances and the enemy move choice.

``bfs_distances`` grows the reached set from the target one step per sweep:
no shortest path on an ``H x W`` board is longer than ``H * W - 1`` steps, so
that many sweeps are exact. Unreachable cells get ``H * W``. On the 6 x 6 bit
boards the sweeps run in a ``while_loop`` that stops as soon as the answer
cannot change any more (the reached set stops growing, or the cells asked
about are reached): under ``vmap`` the batch pays its slowest member's
sweeps, usually far fewer than ``H * W - 1``; the results are those of the
full count.

The enemy turn does not need whole distance maps for its "other enemies
block" BFS, only which free neighbours of the enemy are nearest to the player:
:func:`first_reached` runs the same wavefront on bit boards
(:mod:`bitboard`) and keeps the reached set of the sweep that first touches
those neighbours. The move rule itself (Swift's ``findNextMove``) is
``rules._enemies_act``.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

from jitrl.envs.hackmatrix import bitboard as bb
from jitrl.envs.hackmatrix.state import DIRECTIONS


def bfs_distances(blocked: jax.Array, target) -> jax.Array:
    """Steps from every cell to ``target`` moving N/S/E/W through unblocked cells.

    Args:
      blocked: bool[H, W] (``W`` < 31); vmap for batches.
      target: (row, col) int scalars; the target counts as open.
    Returns:
      int32[H, W]; blocked or unreachable cells hold ``H * W``.

    Implementation: a sweep dilates the reached set by one step, masked by the
    open cells; a bit-sliced counter (one bit plane per binary digit,
    ripple-carry add) counts for every cell the sweeps it was still unreached
    before, which is its distance. The 6 x 6 board runs on two-word bit boards
    (:mod:`bitboard`); other sizes keep one ``W``-bit integer per row.
    """
    h, w = blocked.shape
    if (h, w) == (bb.GRID, bb.GRID):
        return _bfs_bitboard(blocked, target)
    return _bfs_rows(blocked, target)


def _bfs_bitboard(blocked: jax.Array, target) -> jax.Array:
    inf = bb.GRID * bb.GRID
    n_planes = int(inf).bit_length()
    tr, tc = target
    start = bb.cell(tr, tc)
    open_ = bb.b_or(bb.b_not(bb.pack(blocked)), start)

    def cond(carry):
        k, _, grew, _ = carry
        return grew & (k < inf - 1)

    def sweep(carry):
        k, x, _, planes = carry
        c_lo, c_hi = bb.b_not(x)  # cells not reached before this sweep
        new = []
        for p_lo, p_hi in planes:
            new.append((p_lo ^ c_lo, p_hi ^ c_hi))
            c_lo, c_hi = p_lo & c_lo, p_hi & c_hi
        nx = bb.b_and(bb.dilate(x), open_)
        return k + 1, nx, (nx[0] != x[0]) | (nx[1] != x[1]), tuple(new)

    zero = jnp.zeros((), jnp.int32)
    planes0 = tuple((zero, zero) for _ in range(n_planes))
    # once the reached set stops growing, later sweeps only count up cells that
    # end as unreachable (``inf``): stopping there changes no distance
    _, x, _, planes = jax.lax.while_loop(cond, sweep, (zero, start, jnp.asarray(True), planes0))
    count = sum(bb.unpack(pl).astype(jnp.int32) << p for p, pl in enumerate(planes))
    return jnp.where(bb.unpack(x), count, inf).astype(jnp.int32)


def _bfs_rows(blocked: jax.Array, target) -> jax.Array:
    """Any board size: each row a ``W``-bit integer."""
    h, w = blocked.shape
    inf = h * w
    n_planes = max(1, int(inf).bit_length())
    full = (1 << w) - 1
    col_bits = jnp.left_shift(jnp.int32(1), jnp.arange(w, dtype=jnp.int32))
    tr, tc = target
    at_target = (jnp.arange(h)[:, None] == tr) & (jnp.arange(w)[None, :] == tc)
    open_rows = jnp.sum(jnp.where(~blocked | at_target, col_bits, 0), axis=1).astype(jnp.int32)
    x0 = jnp.sum(jnp.where(at_target, col_bits, 0), axis=1).astype(jnp.int32)
    zero = jnp.zeros((1,), jnp.int32)

    def sweep(carry, _):
        x, planes = carry
        c = ~x & full  # cells not reached before this sweep
        new_planes = []
        for p in range(n_planes):
            new_planes.append(planes[p] ^ c)
            c = planes[p] & c
        up = jnp.concatenate([x[1:], zero])   # reached at row + 1
        down = jnp.concatenate([zero, x[:-1]])  # reached at row - 1
        x = (x | up | down | ((x << 1) & full) | (x >> 1)) & open_rows
        return (x, jnp.stack(new_planes)), None

    planes0 = jnp.zeros((n_planes, h), jnp.int32)
    (x, planes), _ = jax.lax.scan(sweep, (x0, planes0), None, length=inf - 1)
    shifts = jnp.arange(w, dtype=jnp.int32)
    digits = (planes[:, :, None] >> shifts[None, None, :]) & 1  # [plane, row, col]
    weights = jnp.left_shift(1, jnp.arange(n_planes, dtype=jnp.int32))
    count = jnp.sum(digits * weights[:, None, None], axis=0)
    reached = ((x[:, None] >> shifts[None, :]) & 1) == 1
    return jnp.where(reached, count, inf).astype(jnp.int32)


def target_distance(blocked: bb.Bits, target, source) -> jax.Array:
    """BFS steps from ``source`` to ``target`` (both (row, col)) through the
    cells not in the bit board ``blocked`` (the target counts as open;
    ``H * W`` when unreachable): one wavefront from the target that counts the
    sweeps before it reaches ``source`` (no distance map), stopping when it
    does or when the wavefront stops growing."""
    inf = bb.GRID * bb.GRID
    start = bb.cell(*target)
    open_ = bb.b_or(bb.b_not(blocked), start)
    src = bb.cell(*source)

    def cond(carry):
        n, x, grew = carry
        return grew & ~bb.b_any(bb.b_and(x, src)) & (n < inf - 1)

    def sweep(carry):
        n, x, _ = carry
        nx = bb.b_and(bb.dilate(x), open_)
        return n + 1, nx, (nx[0] != x[0]) | (nx[1] != x[1])

    n, x, _ = jax.lax.while_loop(cond, sweep, (jnp.int32(0), start, jnp.asarray(True)))
    return jnp.where(bb.b_any(bb.b_and(x, src)), n, inf).astype(jnp.int32)


def first_reached(open_: bb.Bits, target: bb.Bits, goal: bb.Bits):
    """Wavefront from ``target`` through ``open_`` until it first meets ``goal``.

    With ``x_k`` the cells within ``k`` steps of the target (BFS through
    ``open_``) and ``k`` the smallest with ``x_k & goal`` non-empty, returns
    ``(found, x_k)`` (``found`` False and an empty board when no goal cell is
    reachable). The sweeps stop as soon as the goal is met, the wavefront
    stops growing (nothing more is reachable) or after ``H * W - 1`` sweeps
    (no BFS distance is longer), so the result is that of the full sweep
    count; under ``vmap`` the loop runs as long as the batch's slowest member.
    An empty ``goal`` costs no sweep.

    For an enemy, ``goal`` = its free neighbours: ``goal & x_k`` are the free
    neighbours at the least BFS distance (``k``). After it steps onto one of
    them, ``x_k`` also gives the next step: the grid graph is bipartite, so the
    neighbours of a cell at distance ``k`` are at ``k - 1`` or ``k + 1``, and
    those in ``x_k`` are exactly the ones at ``k - 1`` (the least). So a virus's
    second step needs no second BFS.
    """
    zero = jnp.zeros((), jnp.int32)

    def cond(carry):
        k, _, done, _ = carry
        return ~done & (k < bb.GRID * bb.GRID - 1)

    def sweep(carry):
        k, x, _, _ = carry
        nx = bb.b_and(bb.dilate(x), open_)
        hit = bb.b_any(bb.b_and(nx, goal))
        stalled = (nx[0] == x[0]) & (nx[1] == x[1])
        return k + 1, nx, hit | stalled, bb.b_where(hit, nx, (zero, zero))

    init = (zero, target, ~bb.b_any(goal), (zero, zero))
    _, _, _, cur = jax.lax.while_loop(cond, sweep, init)
    return bb.b_any(cur), cur


def neighbour_cells(row, col):
    """(rows, cols, on_board) of the four neighbours in action order
    (up = row + 1, down, left, right)."""
    dirs = jnp.asarray(DIRECTIONS)
    rows = row + dirs[:, 0]
    cols = col + dirs[:, 1]
    h = w = 6
    on = (rows >= 0) & (rows < h) & (cols >= 0) & (cols < w)
    return rows, cols, on
