"""Wavefront BFS and the enemy move choice against plain-Python references."""
from collections import deque

import jax
import jax.numpy as jnp
import numpy as np

from jitrl.envs.hackmatrix.pathfinding import bfs_distances

H = W = 6
INF = H * W


def py_bfs(blocked, target):
    """Textbook queue BFS (independent reference)."""
    dist = [[INF] * W for _ in range(H)]
    tr, tc = target
    dist[tr][tc] = 0
    q = deque([(tr, tc)])
    while q:
        r, c = q.popleft()
        for dr, dc in ((1, 0), (-1, 0), (0, -1), (0, 1)):
            nr, nc = r + dr, c + dc
            if 0 <= nr < H and 0 <= nc < W and not blocked[nr][nc] and dist[nr][nc] == INF:
                if (nr, nc) != (tr, tc):
                    dist[nr][nc] = dist[r][c] + 1
                    q.append((nr, nc))
    return np.array(dist)


def _boards(n, seed):
    rng = np.random.default_rng(seed)
    # densities from 0 to 0.6 so that walls, corridors, snakes and islands all occur
    dens = rng.uniform(0.0, 0.6, size=(n, 1, 1))
    blocked = rng.uniform(size=(n, H, W)) < dens
    targets = rng.integers(0, H, size=(n, 2))
    return blocked, targets


def test_bfs_matches_python_on_1000_random_boards():
    blocked, targets = _boards(1000, 0)
    got = jax.jit(jax.vmap(lambda b, t: bfs_distances(b, (t[0], t[1]))))(
        jnp.asarray(blocked), jnp.asarray(targets))
    got = np.asarray(got)
    for i in range(1000):
        np.testing.assert_array_equal(got[i], py_bfs(blocked[i], tuple(targets[i])), err_msg=f"board {i}")


def test_bfs_long_snake_is_exact():
    # a serpentine corridor: exact distances need many more sweeps than the board width
    blocked = np.zeros((H, W), bool)
    for r in (1, 3):
        blocked[r, :W - 1] = True
    blocked[5, 1:] = False
    for r in (2, 4):
        blocked[r, :] = False
    blocked[3, W - 1] = True
    blocked[3, 0] = False
    ref = py_bfs(blocked, (0, 0))
    got = np.asarray(bfs_distances(jnp.asarray(blocked), (0, 0)))
    np.testing.assert_array_equal(got, ref)
    assert ref[ref < INF].max() >= 15


def test_target_distance_matches_python_bfs():
    from jitrl.envs.hackmatrix import bitboard as bb
    from jitrl.envs.hackmatrix.pathfinding import target_distance
    blocked, targets = _boards(500, 4)
    sources = np.random.default_rng(5).integers(0, H, size=(500, 2))
    got = np.asarray(jax.jit(jax.vmap(lambda b, t, s: target_distance(
        bb.pack(b), (t[0], t[1]), (s[0], s[1]))))(
        jnp.asarray(blocked), jnp.asarray(targets), jnp.asarray(sources)))
    for i in range(500):
        assert got[i] == py_bfs(blocked[i], tuple(targets[i]))[tuple(sources[i])], i
