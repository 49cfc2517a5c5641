"""Wavefront BFS distances and the enemy move choice.

``bfs_distances`` grows the reached set from the target one step per sweep,
``H * W - 1`` sweeps in a fixed ``lax.scan`` (no ``while_loop``): no shortest
path on an ``H x W`` board is longer than ``H * W - 1`` steps, so the result is
exact. Unreachable cells get ``H * W``.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

from jitrl.envs.hackmatrix.state import DIRECTIONS


def bfs_distances(blocked: jax.Array, target) -> jax.Array:
    """Steps from every cell to ``target`` moving N/S/E/W through unblocked cells.

    Args:
      blocked: bool[H, W] (``W`` < 31); vmap for batches.
      target: (row, col) int scalars; the target counts as open.
    Returns:
      int32[H, W]; blocked or unreachable cells hold ``H * W``.

    Implementation: each board row is a ``W``-bit integer. A sweep dilates the
    reached set by one step (``x | x << 1 | x >> 1 | row above | row below``,
    masked by the open cells); a bit-sliced counter (one bit plane per binary
    digit, ripple-carry add) counts for every cell the sweeps it was still
    unreached before, which is its distance. This works on ``int32[H]`` instead
    of ``int32[H, W]`` and is ~3x faster than relaxing a distance grid.
    """
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


def neighbour_cells(row, col):
    """(rows, cols, on_board) of the four neighbours in action order
    (up = row + 1, down, left, right)."""
    dirs = jnp.asarray(DIRECTIONS)
    rows = row + dirs[:, 0]
    cols = col + dirs[:, 1]
    h = w = 6
    on = (rows >= 0) & (rows < h) & (cols >= 0) & (cols < w)
    return rows, cols, on


def _gather(grid, rows, cols, on, fill):
    rc = jnp.clip(rows, 0, grid.shape[0] - 1)
    cc = jnp.clip(cols, 0, grid.shape[1] - 1)
    return jnp.where(on, grid[rc, cc], fill)


def _pick(key, cand, prefer):
    """Random index among ``cand`` (bool[4]), restricted to ``prefer`` when any
    preferred candidate exists."""
    pc = cand & prefer
    cand = jnp.where(jnp.any(pc), pc, cand)
    u = jax.random.uniform(key, (4,))
    return jnp.argmax(jnp.where(cand, u, -1.0)), jnp.any(cand)


def choose_move(key, row, col, target, dist_all, dist_free, enterable, enemy_occ, prefer):
    """The enemy's next cell towards ``target`` (the player).

    Rules (issue 3): step to a neighbour on a shortest path in ``dist_all`` (BFS
    where other enemies and transmissions block); if none exists, use
    ``dist_free`` (BFS ignoring enemies) and step there if that cell is not taken
    by an enemy; if that gives no path either, step to the enterable neighbour
    that most reduces the Manhattan distance. Ties are broken at random, first
    restricted to ``prefer`` cells (blocks for a glitch, hidden cells for a
    cryptog).

    Args:
      row, col: the enemy's cell; target: (row, col) of the player.
      dist_all, dist_free: int32[H, W] BFS distances to the target.
      enterable: bool[H, W] cells the enemy may step on when free of enemies
        (open for its kind, no transmission).
      enemy_occ: bool[H, W] cells taken by other enemies.
      prefer: bool[H, W] tie-break preference.
    Returns: (new_row, new_col, moved).
    """
    h, w = dist_all.shape
    inf = h * w
    rows, cols, on = neighbour_cells(row, col)
    not_target = ~((rows == target[0]) & (cols == target[1]))
    can_enter = _gather(enterable, rows, cols, on, False) & not_target
    occ = _gather(enemy_occ, rows, cols, on, True)
    pref = _gather(prefer, rows, cols, on, False)

    def shortest(dist, ok):
        d = jnp.where(ok, _gather(dist, rows, cols, on, inf), inf)
        best = jnp.min(d)
        return ok & (d == best) & (best < inf)

    free_ok = can_enter & ~occ
    c1 = shortest(dist_all, free_ok)
    c2 = shortest(dist_free, can_enter) & ~occ
    any_free_path = jnp.any(shortest(dist_free, can_enter))
    man_self = jnp.abs(row - target[0]) + jnp.abs(col - target[1])
    man = jnp.abs(rows - target[0]) + jnp.abs(cols - target[1])
    man_m = jnp.where(free_ok & (man < man_self), man, inf)
    c3 = (man_m == jnp.min(man_m)) & (man_m < inf)
    cand = jnp.where(jnp.any(c1), c1, jnp.where(any_free_path, c2, c3))
    idx, moved = _pick(key, cand, pref)
    return (jnp.where(moved, rows[idx], row).astype(jnp.int32),
            jnp.where(moved, cols[idx], col).astype(jnp.int32), moved)
