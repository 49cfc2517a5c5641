"""Wavefront BFS and the enemy move choice against plain-Python references."""
from collections import deque

import jax
import jax.numpy as jnp
import numpy as np

from jitrl.envs.hackmatrix.pathfinding import bfs_distances, choose_move

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


def test_enemy_always_steps_onto_a_shortest_path_cell():
    """On random boards with random other enemies, the chosen cell is a neighbour
    whose BFS distance (others blocking) is the minimum over free neighbours; when
    no such path exists it follows the enemy-free BFS or reduces Manhattan distance."""
    rng = np.random.default_rng(1)
    n = 400
    blocked, targets = _boards(n, 2)
    others = rng.uniform(size=(n, H, W)) < 0.1
    pos = rng.integers(0, H, size=(n, 2))
    for i in range(n):  # the enemy and the player stand on open, distinct cells
        blocked[i, pos[i, 0], pos[i, 1]] = False
        others[i, pos[i, 0], pos[i, 1]] = False
        others[i, targets[i, 0], targets[i, 1]] = False
        if tuple(pos[i]) == tuple(targets[i]):
            pos[i] = (targets[i] + 1) % H

    def one(key, b, o, t, p):
        tgt = (t[0], t[1])
        dist_all = bfs_distances(b | o, tgt)
        dist_free = bfs_distances(b, tgt)
        no_pref = jnp.zeros((H, W), bool)
        return choose_move(key, p[0], p[1], tgt, dist_all, dist_free, ~b, o, no_pref)

    keys = jax.random.split(jax.random.PRNGKey(0), n)
    nr, nc, moved = jax.jit(jax.vmap(one))(keys, jnp.asarray(blocked), jnp.asarray(others),
                                           jnp.asarray(targets), jnp.asarray(pos))
    nr, nc, moved = map(np.asarray, (nr, nc, moved))
    checked_shortest = 0
    for i in range(n):
        r, c = pos[i]
        t = tuple(targets[i])
        d_all = py_bfs(blocked[i] | others[i], t)
        d_free = py_bfs(blocked[i], t)
        nbrs = [(r + dr, c + dc) for dr, dc in ((1, 0), (-1, 0), (0, -1), (0, 1))
                if 0 <= r + dr < H and 0 <= c + dc < W]
        enter = [q for q in nbrs if not blocked[i][q] and q != t]
        free = [q for q in enter if not others[i][q]]
        best_all = min([d_all[q] for q in free], default=INF)
        if best_all < INF:
            assert moved[i]
            assert d_all[nr[i], nc[i]] == best_all, i
            assert abs(nr[i] - r) + abs(nc[i] - c) == 1
            checked_shortest += 1
            continue
        best_free = min([d_free[q] for q in enter], default=INF)
        if best_free < INF:
            ok = [q for q in enter if d_free[q] == best_free and not others[i][q]]
            if ok:
                assert moved[i] and (nr[i], nc[i]) in ok, i
            else:
                assert not moved[i], i
            continue
        man = lambda q: abs(q[0] - t[0]) + abs(q[1] - t[1])
        better = [q for q in free if man(q) < man((r, c))]
        if better:
            m = min(man(q) for q in better)
            assert moved[i] and (nr[i], nc[i]) in [q for q in better if man(q) == m], i
        else:
            assert not moved[i] and (nr[i], nc[i]) == (r, c), i
    assert checked_shortest > 200  # most cases exercise the main rule


def test_ties_are_broken_at_random_and_preference_wins():
    blocked = jnp.zeros((H, W), bool)
    tgt = (0, 0)
    d = bfs_distances(blocked, tgt)
    # enemy at (2, 2): neighbours (1, 2) and (2, 1) both at distance 3
    occ = jnp.zeros((H, W), bool)
    f = jax.jit(jax.vmap(lambda k, pref: choose_move(k, 2, 2, tgt, d, d, ~blocked, occ, pref),
                         in_axes=(0, None)))
    keys = jax.random.split(jax.random.PRNGKey(3), 200)
    r, c, _ = f(keys, jnp.zeros((H, W), bool))
    picks = set(zip(np.asarray(r).tolist(), np.asarray(c).tolist()))
    assert picks == {(1, 2), (2, 1)}
    pref = jnp.zeros((H, W), bool).at[2, 1].set(True)
    r, c, _ = f(keys, pref)
    assert set(zip(np.asarray(r).tolist(), np.asarray(c).tolist())) == {(2, 1)}
