"""Generated stages obey the set-up rules of issue 3 (checked in plain Python)."""
from collections import deque

import jax
import jax.numpy as jnp
import numpy as np

from jitrl.envs.hackmatrix import generation as G
from jitrl.envs.hackmatrix.state import (
    BLOCK_DATA, BLOCK_NONE, BLOCK_PROGRAM, BLOCK_QUESTION, EnvParams, PROGRAM_SPAWN,
)

CORNERS = {(0, 0), (0, 5), (5, 0), (5, 5)}


def py_connected(blocked):
    open_cells = [(r, c) for r in range(6) for c in range(6) if not blocked[r][c]]
    seen = {open_cells[0]}
    q = deque([open_cells[0]])
    while q:
        r, c = q.popleft()
        for dr, dc in ((1, 0), (-1, 0), (0, 1), (0, -1)):
            n = (r + dr, c + dc)
            if 0 <= n[0] < 6 and 0 <= n[1] < 6 and not blocked[n] and n not in seen:
                seen.add(n)
                q.append(n)
    return len(seen) == len(open_cells)


def py_blocks_touch_open(blocked):
    for r in range(6):
        for c in range(6):
            if blocked[r, c]:
                nb = [(r + dr, c + dc) for dr, dc in ((1, 0), (-1, 0), (0, 1), (0, -1))
                      if 0 <= r + dr < 6 and 0 <= c + dc < 6]
                if all(blocked[n] for n in nb):
                    return False
    return True


N_SEEDS = 600


def _games():
    keys = jax.random.split(jax.random.PRNGKey(42), N_SEEDS)
    return jax.tree_util.tree_map(np.asarray, jax.jit(jax.vmap(
        lambda k: G.initial_game(k, EnvParams())))(keys))


def test_initial_stages_follow_the_rules():
    g = _games()
    n_question = n_blocks = 0
    bonus_kinds = set()
    for i in range(N_SEEDS):
        kind = g.block_kind[i]
        blocked = kind != BLOCK_NONE
        assert 5 <= blocked.sum() <= 11
        assert not any(blocked[rc] for rc in CORNERS)
        assert py_connected(blocked), i
        assert py_blocks_touch_open(blocked), i
        player = (int(g.player_row[i]), int(g.player_col[i]))
        exit_ = (int(g.exit_row[i]), int(g.exit_col[i]))
        assert player in CORNERS and exit_ in CORNERS and player != exit_
        pickups = {(r, c) for r in range(6) for c in range(6) if g.siphon_pickup[i, r, c]}
        assert pickups == CORNERS - {player, exit_}
        real = g.block_hidden_kind[i]
        n_data = int((real == BLOCK_DATA).sum())
        n_prog = int((real == BLOCK_PROGRAM).sum())
        assert n_data + n_prog == blocked.sum() and abs(n_data - n_prog) <= 1
        progs = g.block_program[i][real == BLOCK_PROGRAM]
        assert len(set(progs.tolist())) == len(progs)  # each program at most once
        assert np.all(g.block_spawn[i][real == BLOCK_PROGRAM] == PROGRAM_SPAWN[progs])
        pts = g.block_points[i][real == BLOCK_DATA]
        assert np.all((pts >= 1) & (pts <= 9))
        assert np.all(g.block_spawn[i][real == BLOCK_DATA] == pts)
        q = kind == BLOCK_QUESTION
        assert np.all(kind[~q] == real[~q])
        n_question += q.sum()
        n_blocks += blocked.sum()
        # resources: only on open non-corner cells, 1-3 units, never both kinds
        res = g.credits[i] + g.energy[i]
        assert np.all((g.credits[i] == 0) | (g.energy[i] == 0))
        for r in range(6):
            for c in range(6):
                if blocked[r, c] or (r, c) in CORNERS:
                    assert res[r, c] == 0
                else:
                    assert 1 <= res[r, c] <= 3
        # stage 1: one transmission, 1 turn left, on an empty cell
        ta = g.trans_alive[i]
        assert ta.sum() == 1 and not g.enemy_alive[i].any()
        t = int(np.argmax(ta))
        tc = (int(g.trans_row[i, t]), int(g.trans_col[i, t]))
        assert not blocked[tc] and tc not in CORNERS and g.trans_turns[i, t] == 1
        bonus = (int(g.player_credits[i]), int(g.player_energy[i]), int(g.player_siphons[i]))
        assert bonus in {(10, 0, 0), (0, 11, 0), (0, 0, 1)}
        bonus_kinds.add(bonus)
        assert g.stage[i] == 1 and g.player_hp[i] == 3 and g.spawn_interval[i] == 12
    assert len(bonus_kinds) == 3
    # question share: binomial(n_blocks ~ 4800, 0.1): sd ~ sqrt(0.09 / 4800) ~ 0.0043;
    # +-0.025 is ~6 sd
    assert abs(n_question / n_blocks - 0.1) < 0.025


def test_stage_n_has_n_transmissions_and_keeps_player_corner():
    keys = jax.random.split(jax.random.PRNGKey(7), 8 * 20)
    params = EnvParams()

    def one(k, stage):
        g = G.initial_game(k, params)
        g = g.replace(player_row=jnp.int32(5), player_col=jnp.int32(0), stage=stage)
        return G.new_stage(jax.random.fold_in(k, 1), g, params)

    stages = jnp.repeat(jnp.arange(1, 9, dtype=jnp.int32), 20)
    g = jax.tree_util.tree_map(np.asarray, jax.jit(jax.vmap(one))(keys, stages))
    for i in range(len(stages)):
        assert g.trans_alive[i].sum() == stages[i]
        cells = {(int(r), int(c)) for r, c, a in zip(g.trans_row[i], g.trans_col[i], g.trans_alive[i]) if a}
        assert len(cells) == stages[i]  # distinct cells
        assert (g.player_row[i], g.player_col[i]) == (5, 0)
        assert (int(g.exit_row[i]), int(g.exit_col[i])) in CORNERS - {(5, 0)}
        assert py_connected(g.block_kind[i] != BLOCK_NONE)


def test_candidate_failure_rate_makes_fallback_negligible():
    """P(one random layout invalid) = p; the fallback is used with p ** NUM_CANDIDATES."""
    keys = jax.random.split(jax.random.PRNGKey(3), 4000)
    ns = jax.random.randint(jax.random.PRNGKey(4), (4000,), 5, 12)
    lay = jax.jit(jax.vmap(lambda k, n: G.mask_to_board(
        G.floyd_subset(G._halves(k, 6), n, 32, 11))))(keys, ns)
    assert np.array_equal(np.asarray(lay).sum(axis=(1, 2)), np.asarray(ns))
    valid = np.asarray(jax.jit(jax.vmap(G.layout_valid))(lay))
    lay = np.asarray(lay)
    for i in range(300):  # the jitted validity check agrees with the Python one
        assert valid[i] == (py_connected(lay[i]) and py_blocks_touch_open(lay[i]))
    p = 1 - valid.mean()
    assert p ** G.NUM_CANDIDATES < 1e-6, p


def test_fallback_cells_are_always_valid():
    rng = np.random.default_rng(0)
    cells = np.argwhere(G.FALLBACK_CELLS)
    for _ in range(300):
        n = rng.integers(5, 12)
        pick = cells[rng.choice(len(cells), n, replace=False)]
        b = np.zeros((6, 6), bool)
        b[pick[:, 0], pick[:, 1]] = True
        assert py_connected(b) and py_blocks_touch_open(b)


def test_samplers_are_uniform_and_distinct():
    """Floyd subsets of 3 out of 5: each of the 10 subsets ~ 1/10 (20000 draws:
    sd of a share ~ sqrt(0.09 / 20000) ~ 0.0021, bound 0.012 ~ 5.6 sd);
    ordered samples are distinct and each value leads ~ 1/23."""
    keys = jax.random.split(jax.random.PRNGKey(9), 20000)
    masks = np.asarray(jax.jit(jax.vmap(lambda k: G.floyd_subset(G._halves(k, 2), 3, 5, 3)))(keys))
    vals, counts = np.unique(masks, return_counts=True)
    assert len(vals) == 10 and all(bin(v).count("1") == 3 for v in vals)
    assert np.abs(counts / 20000 - 0.1).max() < 0.012
    seqs = np.asarray(jax.jit(jax.vmap(lambda k: G.ordered_sample(G._halves(k, 3), 6, 23)))(keys))
    assert all(len(set(s)) == 6 for s in seqs[:2000])
    share = np.bincount(seqs[:, 0], minlength=23) / 20000
    # sd ~ sqrt(0.0435 * 0.9565 / 20000) ~ 0.0014; bound 0.008 ~ 5.5 sd
    assert np.abs(share - 1 / 23).max() < 0.008
