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


def _py_move_options(pos, target, solid, others, prefer):
    """Cells the move rule of ``choose_move`` allows (empty: the enemy stays)."""
    d_all = py_bfs(solid | others, target)
    d_free = py_bfs(solid, target)
    r, c = pos
    nbrs = [(r + dr, c + dc) for dr, dc in ((1, 0), (-1, 0), (0, -1), (0, 1))
            if 0 <= r + dr < H and 0 <= c + dc < W]
    enter = [q for q in nbrs if not solid[q] and q != target]
    free = [q for q in enter if not others[q]]
    best_all = min([d_all[q] for q in free], default=INF)
    if best_all < INF:
        cand = [q for q in free if d_all[q] == best_all]
    else:
        best_free = min([d_free[q] for q in enter], default=INF)
        if best_free < INF:
            cand = [q for q in enter if d_free[q] == best_free and not others[q]]
        else:
            man = lambda q: abs(q[0] - target[0]) + abs(q[1] - target[1])
            better = [q for q in free if man(q) < man(pos)]
            m = min([man(q) for q in better], default=INF)
            cand = [q for q in better if man(q) == m]
    pref = [q for q in cand if prefer[q]]
    return pref or cand


def test_enemy_phase_follows_the_rules_against_a_python_reference():
    """The whole enemy phase (``rules._enemies_act``: one shared wavefront per
    enemy, virus second step from the same wavefront) on 300 random crowded
    boards, replayed enemy by enemy against plain-Python BFS and the move rule:
    every enemy's final cell must be reachable by allowed moves (a virus: two,
    unless it attacked), and the player's HP must drop by the attacks."""
    from jitrl.envs.hackmatrix import rules
    from jitrl.envs.hackmatrix.state import (
        BLOCK_DATA, CRYPTOG, GLITCH, MAX_ENEMIES, MAX_TRANSMISSIONS, VIRUS, empty_game)
    rng = np.random.default_rng(11)
    n = 300
    games, refs = [], []
    for _ in range(n):
        blocks = rng.uniform(size=(H, W)) < rng.uniform(0.0, 0.45)
        player = tuple(rng.integers(0, H, 2))
        blocks[player] = False
        free = [(r, c) for r in range(H) for c in range(W) if (r, c) != player]
        rng.shuffle(free)
        n_t = int(rng.integers(0, 4))
        trans = [q for q in free if not blocks[q]][:n_t]
        rest = [q for q in free if q not in trans]
        n_e = int(rng.integers(1, MAX_ENEMIES + 1))
        types = rng.integers(0, 4, n_e)
        cells = []
        for t in types:  # glitches may stand on blocks, others on open cells
            opts = [q for q in rest if q not in cells and (t == GLITCH or not blocks[q])]
            cells.append(opts[0] if opts else None)
        keep = [i for i, q in enumerate(cells) if q is not None]
        types, cells = types[keep], [cells[i] for i in keep]
        m = len(cells)
        alive = np.zeros(MAX_ENEMIES, bool)
        alive[:m] = True
        if m > 2:
            alive[rng.integers(0, m)] = False  # a dead slot in between
        stunned = rng.uniform(size=MAX_ENEMIES) < 0.15
        just = rng.uniform(size=MAX_ENEMIES) < 0.1
        er = np.zeros(MAX_ENEMIES, np.int32)
        ec = np.zeros(MAX_ENEMIES, np.int32)
        et = np.zeros(MAX_ENEMIES, np.int32)
        er[:m] = [q[0] for q in cells]
        ec[:m] = [q[1] for q in cells]
        et[:m] = types
        ta = np.zeros(MAX_TRANSMISSIONS, bool)
        ta[:len(trans)] = True
        tr = np.zeros(MAX_TRANSMISSIONS, np.int32)
        tcol = np.zeros(MAX_TRANSMISSIONS, np.int32)
        tr[:len(trans)] = [q[0] for q in trans]
        tcol[:len(trans)] = [q[1] for q in trans]
        g = empty_game().replace(
            block_kind=jnp.asarray(np.where(blocks, BLOCK_DATA, 0), jnp.int32),
            enemy_alive=jnp.asarray(alive), enemy_type=jnp.asarray(et), enemy_row=jnp.asarray(er),
            enemy_col=jnp.asarray(ec), enemy_hp=jnp.full((MAX_ENEMIES,), 2, jnp.int32),
            enemy_stunned=jnp.asarray(stunned), enemy_just_spawned=jnp.asarray(just),
            trans_alive=jnp.asarray(ta), trans_row=jnp.asarray(tr), trans_col=jnp.asarray(tcol),
            player_row=jnp.int32(player[0]), player_col=jnp.int32(player[1]),
            player_hp=jnp.int32(3), show_active=jnp.asarray(bool(rng.integers(0, 2))))
        games.append(g)
        refs.append((blocks, player, trans))
    batch = jax.tree_util.tree_map(lambda *x: jnp.stack(x), *games)
    keys = jax.random.split(jax.random.PRNGKey(2), n)
    out = jax.jit(jax.vmap(rules._enemies_act))(keys, batch)
    out_r, out_c, out_hp = map(np.asarray, (out.enemy_row, out.enemy_col, out.player_hp))
    moved_total = virus_double = 0
    for k in range(n):
        blocks, player, trans = refs[k]
        g = jax.tree_util.tree_map(lambda x: np.asarray(x)[k], batch)
        tmap = np.zeros((H, W), bool)
        for q in trans:
            tmap[q] = True
        line = np.zeros((H, W), bool)
        line[player[0], :] = True
        line[:, player[1]] = True
        pos = {i: (int(g.enemy_row[i]), int(g.enemy_col[i])) for i in range(MAX_ENEMIES) if g.enemy_alive[i]}
        attacks = 0
        for i in sorted(pos):
            final = (int(out_r[k, i]), int(out_c[k, i]))
            if g.enemy_stunned[i] or g.enemy_just_spawned[i]:
                assert final == pos[i], (k, i)
                continue
            t = int(g.enemy_type[i])
            solid = (blocks if t != GLITCH else np.zeros_like(blocks)) | tmap
            others = np.zeros((H, W), bool)
            for j, q in pos.items():
                if j != i:
                    others[q] = True
            prefer = blocks if t == GLITCH else (~line if t == CRYPTOG else np.zeros_like(blocks))
            adj = lambda q: abs(q[0] - player[0]) + abs(q[1] - player[1]) == 1

            def outcomes(q, steps):  # {(final cell, attacks)}
                if adj(q):
                    return {(q, 1)}
                opts = _py_move_options(q, player, solid, others, prefer) or [q]
                if steps == 1:
                    return {(o, 0) for o in opts}
                return set().union(*(outcomes(o, 1) if o != q else {(q, 0)} for o in opts))

            allowed = outcomes(pos[i], 2 if t == VIRUS else 1)
            match = [a for f, a in allowed if f == final]
            assert match, (k, i, pos[i], final, allowed)
            attacks += match[0]
            moved_total += final != pos[i]
            virus_double += t == VIRUS and abs(final[0] - pos[i][0]) + abs(final[1] - pos[i][1]) == 2
            pos[i] = final
        assert out_hp[k] == max(3 - attacks, 0), k
    assert moved_total > 300 and virus_double > 30  # the cases are exercised
