"""The observation's player-relative guide against a plain-Python recomputation.

States come from random masked play (enemies, blocks, siphons, stage changes),
and for every one the guide (exit steps, "move m brings the player nearer the
exit", visible enemies around move m's target cell, the visible yield of a siphon
at the player's cell) is recomputed in Python from the state with a textbook BFS (``toys.grid_bfs``) and plain loops.
"""
import jax
import jax.numpy as jnp
import numpy as np

import jitrl
from jitrl.envs.hackmatrix import observation as obs_mod
from jitrl.envs.hackmatrix.state import (
    ACTION_NAMES, BLOCK_DATA, BLOCK_NONE, BLOCK_PROGRAM, BLOCK_QUESTION, CRYPTOG, DIRECTIONS, GRID,
)
from toys import grid_bfs


def _random_play(n_envs=16, n_steps=40, seed=0):
    env, params = jitrl.make("hackmatrix")

    def step(carry, key):
        obs, st = carry
        k_act, k_step = jax.random.split(key)
        mask = jax.vmap(lambda s: env.action_mask(s, params))(st)
        a = jax.random.categorical(k_act, jnp.where(mask, 0.0, -jnp.inf))
        obs2, st2, *_ = jax.vmap(lambda k, s, x: env.step(k, s, x, params))(
            jax.random.split(k_step, n_envs), st, a)
        return (obs2, st2), (obs, st)

    @jax.jit
    def run(key):
        k0, k1 = jax.random.split(key)
        obs, st = jax.vmap(lambda k: env.reset(k, params))(jax.random.split(k0, n_envs))
        return jax.lax.scan(step, (obs, st), jax.random.split(k1, n_steps))[1]

    obs, st = run(jax.random.PRNGKey(seed))
    return np.asarray(obs).reshape(-1, obs.shape[-1]), jax.tree_util.tree_map(
        lambda x: np.asarray(x).reshape((-1,) + x.shape[2:]), st.game)


def _python_guide(g, i):
    blocked = g.block_kind[i] != BLOCK_NONE
    dist = grid_bfs(blocked, (int(g.exit_row[i]), int(g.exit_col[i])))
    pr, pc = int(g.player_row[i]), int(g.player_col[i])
    here = min(dist[pr, pc], GRID * GRID)
    out = [here / (GRID * GRID)]
    targets = []
    for m in obs_mod.MOVES:
        dr, dc = DIRECTIONS[ACTION_NAMES.index(m)]
        targets.append((pr + dr, pc + dc))
    nearer = [float(0 <= r < GRID and 0 <= c < GRID and dist[r, c] < dist[pr, pc]) for r, c in targets]
    near = []
    for r, c in targets:
        n = 0
        if 0 <= r < GRID and 0 <= c < GRID:
            for e in range(len(g.enemy_alive[i])):
                if not g.enemy_alive[i][e]:
                    continue
                er, ec = int(g.enemy_row[i][e]), int(g.enemy_col[i][e])
                seen = (g.enemy_type[i][e] != CRYPTOG or g.show_active[i] or er == pr or ec == pc)
                if seen and abs(er - r) + abs(ec - c) <= 1:
                    n += 1
        near.append(n / 4)
    # siphon yield: the player's cell and its 4 neighbours, those not yet siphoned
    pts = progs = quest = spawn = credits = energy = 0
    for r in range(GRID):
        for c in range(GRID):
            if abs(r - pr) + abs(c - pc) > 1 or g.siphoned[i][r, c]:
                continue
            kind = g.block_kind[i][r, c]
            if kind == BLOCK_NONE:
                credits += int(g.credits[i][r, c])
                energy += int(g.energy[i][r, c])
            elif kind == BLOCK_QUESTION:
                quest += 1
            else:
                spawn += int(g.block_spawn[i][r, c])
                if kind == BLOCK_DATA:
                    pts += int(g.block_points[i][r, c])
                elif kind == BLOCK_PROGRAM and not g.owned[i][int(g.block_program[i][r, c])]:
                    progs += 1
    siphon = [pts / 9, progs / 2, quest / 2, spawn / 9, credits / 3, energy / 3]
    return np.array(out + nearer + near + siphon, np.float32)


def test_guide_matches_python_recomputation():
    obs, g = _random_play()
    start = obs_mod.NUM_PLAYER - obs_mod.NUM_GUIDE
    got = obs[:, start:obs_mod.NUM_PLAYER]
    want = np.stack([_python_guide(g, i) for i in range(obs.shape[0])])
    np.testing.assert_allclose(got, want, atol=1e-6)
    # the sample is not degenerate: moves nearer and away, enemies near, walls of blocks
    assert 0.2 < got[:, 1:5].mean() < 0.8
    assert (got[:, 5:9] > 0).any(axis=1).mean() > 0.05
    for j in range(9, 15):  # every siphon-yield feature seen non-zero
        assert (got[:, j] > 0).mean() > 0.01, j
    assert obs.shape[1] == obs_mod.OBS_SIZE
