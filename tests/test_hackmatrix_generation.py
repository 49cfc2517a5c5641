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
        assert n_data + n_prog == blocked.sum()  # one coin per block (tests/test_hackmatrix_stage.py)
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
        # resources: on every open cell but the exit, 1-3 units, never both kinds
        res = g.credits[i] + g.energy[i]
        assert np.all((g.credits[i] == 0) | (g.energy[i] == 0))
        for r in range(6):
            for c in range(6):
                if blocked[r, c] or (r, c) == exit_:
                    assert res[r, c] == 0
                else:
                    assert 1 <= res[r, c] <= 3
        # stage 1: one transmission, 1 turn left, on an empty cell (the exit and
        # pickups count as empty, as Swift's isPositionEmpty)
        ta = g.trans_alive[i]
        assert ta.sum() == 1 and not g.enemy_alive[i].any()
        t = int(np.argmax(ta))
        tc = (int(g.trans_row[i, t]), int(g.trans_col[i, t]))
        assert not blocked[tc] and tc != player and g.trans_turns[i, t] == 1
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
        # the stage-1 transmission would persist (tests/test_hackmatrix_stage.py): clear it
        g = g.replace(player_row=jnp.int32(5), player_col=jnp.int32(0), stage=stage,
                      trans_alive=jnp.zeros_like(g.trans_alive))
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


NONCORNER = [(r, c) for r in range(6) for c in range(6) if (r, c) not in CORNERS]


def py_dead_end_connected(blocked, exit_cell=(5, 5)):
    """GridValidator.isPathConnected: BFS from (0, 0); the exit is entered, not expanded."""
    seen = {(0, 0)}
    q = deque([(0, 0)])
    while q:
        r, c = q.popleft()
        if (r, c) == exit_cell:
            continue
        for dr, dc in ((1, 0), (-1, 0), (0, 1), (0, -1)):
            n = (r + dr, c + dc)
            if 0 <= n[0] < 6 and 0 <= n[1] < 6 and not blocked[n] and n not in seen:
                seen.add(n)
                q.append(n)
    return len(seen) == int((~blocked).sum())


def py_fresh_layouts(n, seed):
    """Plain-Python ``placeBlocksWithValidation`` with the exit at (5, 5): the
    count uniform in 5..11 drawn *once*, then a uniform placement of that many
    blocks on the non-corner cells, re-drawn until valid (Swift's rule)."""
    import random
    rng = random.Random(seed)
    out = []
    while len(out) < n:
        k = rng.randint(5, 11)
        while True:
            b = np.zeros((6, 6), bool)
            for cell in rng.sample(NONCORNER, k):
                b[cell] = True
            if py_dead_end_connected(b) and py_blocks_touch_open(b):
                break
        out.append(b)
    return np.array(out)


def _env_layouts(n, seed):
    keys = jax.random.split(jax.random.PRNGKey(seed), n)
    return np.asarray(jax.jit(jax.vmap(lambda k: G.draw_layout(k, 3)))(keys))  # exit (5, 5)


def test_pool_and_drawn_layouts_pass_the_python_checks():
    pool = G.layout_pool()
    assert pool.shape == (2, 7, G.POOL_SIZE)
    assert min(len(np.unique(p)) for p in pool.reshape(14, -1)) > 0.9 * G.POOL_SIZE
    rng = np.random.default_rng(0)
    flat = pool[1].reshape(-1)
    boards = np.asarray(jax.jit(jax.vmap(G.mask_to_board))(jnp.asarray(flat[rng.choice(len(flat), 1500)])))
    drawn = _env_layouts(1500, 1)  # pool entries under the symmetries that keep the exit
    for b in np.concatenate([boards, drawn]):
        assert 5 <= b.sum() <= 11 and not any(b[c] for c in CORNERS)
        assert py_dead_end_connected(b) and py_blocks_touch_open(b)
    # the numpy validity check used to build the pool agrees with the Python one
    rand = rng.uniform(size=(400, 6, 6)) < rng.uniform(0.1, 0.45, size=(400, 1, 1))
    for c in CORNERS:
        rand[:, c[0], c[1]] = False
    got = G.layout_valid_np(rand)
    ref = np.array([py_connected(b) and py_blocks_touch_open(b) for b in rand])
    assert np.array_equal(got, ref) and 40 < ref.sum() < 360  # both outcomes occur


def test_symmetries_are_the_eight_of_the_square():
    b = np.zeros((6, 6), bool)
    b[0, 1] = b[0, 2] = b[3, 4] = True  # no symmetry of its own
    imgs = {np.asarray(G.symmetry(jnp.asarray(b), s)).tobytes() for s in range(8)}
    ref = set()
    for k in range(4):
        r = np.rot90(b, k)
        ref |= {r.tobytes(), np.fliplr(r).tobytes()}
    assert imgs == ref and len(ref) == 8


def test_drawn_layouts_match_fresh_generation_in_distribution():
    """Block counts (7 bins) of 20,000 env draws vs 3,000 plain-Python fresh
    layouts: two-sample chi-square, 6 dof; 27.9 is its 1e-4 quantile. Per-cell
    block frequencies: two-proportion z-scores, |z| < 4.5 (a 32-cell false alarm
    rate ~2e-4); this also catches a wrong bit order or symmetry."""
    env = _env_layouts(20000, 2)
    ref = py_fresh_layouts(3000, 3)
    n1 = np.bincount(env.sum(axis=(1, 2)), minlength=12)[5:12].astype(float)
    n2 = np.bincount(ref.sum(axis=(1, 2)), minlength=12)[5:12].astype(float)
    k1, k2 = np.sqrt(n2.sum() / n1.sum()), np.sqrt(n1.sum() / n2.sum())
    chi2 = np.sum((k1 * n1 - k2 * n2) ** 2 / (n1 + n2))
    assert chi2 < 27.9, (chi2, n1, n2)
    p1, p2 = env.mean(axis=0), ref.mean(axis=0)
    pooled = (env.sum(axis=0) + ref.sum(axis=0)) / (len(env) + len(ref))
    se = np.sqrt(pooled * (1 - pooled) * (1 / len(env) + 1 / len(ref)))
    for r, c in NONCORNER:
        assert abs(p1[r, c] - p2[r, c]) < 4.5 * se[r, c], (r, c, p1[r, c], p2[r, c])


def test_place_transmissions_fills_free_slots_in_order_on_empty_cells():
    from jitrl.envs.hackmatrix.state import MAX_TRANSMISSIONS
    g0 = G.initial_game(jax.random.PRNGKey(0), EnvParams())
    taken = jnp.zeros((MAX_TRANSMISSIONS,), bool).at[jnp.array([0, 2, 3, 7])].set(True)
    g0 = g0.replace(trans_alive=taken, trans_row=jnp.zeros_like(g0.trans_row),
                    trans_col=jnp.arange(MAX_TRANSMISSIONS, dtype=jnp.int32) % 6)
    empty0 = np.asarray(G.spawn_cells(g0))
    siph = jnp.arange(MAX_TRANSMISSIONS) >= 1  # the first placed is not from a siphon
    place = jax.jit(lambda k, n: G.place_transmissions(k, g0, n, 2, siph))
    for n in (0, 1, 5, 8, 20):
        g = jax.tree_util.tree_map(np.asarray, place(jax.random.PRNGKey(n), n))
        new = g.trans_alive & ~np.asarray(taken)
        expect = min(n, MAX_TRANSMISSIONS - 4, int(empty0.sum()))  # 4 slots taken
        assert new.sum() == expect
        slots = np.flatnonzero(new)
        assert list(slots) == list(np.flatnonzero(~np.asarray(taken))[:expect])
        cells = [(g.trans_row[s], g.trans_col[s]) for s in slots]
        assert len(set(cells)) == expect and all(empty0[c] for c in cells)
        assert all(g.trans_turns[s] == 2 for s in slots)
        assert [bool(g.trans_from_siphon[s]) for s in slots] == [k >= 1 for k in range(expect)]
    # one placement is uniform over the empty cells outside the line of fire (plenty
    # here, so the first 100-draw search never fails in practice): chi-square over
    # those cells of 12,000 draws (dof = cells - 1); bound = mean + 6 sd of chi2
    keys = jax.random.split(jax.random.PRNGKey(9), 12000)
    g = jax.jit(jax.vmap(lambda k: G.place_transmissions(k, g0, 1, 1, False)))(keys)
    slot = int(np.flatnonzero(~np.asarray(taken))[0])
    idx = np.asarray(g.trans_row[:, slot] * 6 + g.trans_col[:, slot])
    cells = np.flatnonzero((empty0 & ~np.asarray(G.line_of_fire(g0))).reshape(-1))
    counts = np.array([(idx == c).sum() for c in cells])
    assert counts.sum() == 12000
    dof = len(cells) - 1
    exp = 12000 / len(cells)
    assert ((counts - exp) ** 2 / exp).sum() < dof + 6 * np.sqrt(2 * dof)


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
