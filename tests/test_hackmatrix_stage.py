"""Issue 8, items 1, 3, 4 and the generation parts of 8: stage set-up as Swift's
``initializeStage`` (GameState.swift), checked against the plain-Python Swift
reference (tests/hackmatrix_reference) or exact laws derived from the Swift source."""
import jax
import jax.numpy as jnp
import numpy as np

import jitrl
from jitrl.envs.hackmatrix import common
from jitrl.envs.hackmatrix import generation as G
from jitrl.envs.hackmatrix.state import (
    BLOCK_DATA, BLOCK_NONE, BLOCK_PROGRAM, CORNERS, DAEMON, GLITCH, VIRUS, EnvParams, wrap_game,
)
from tests import hackmatrix_reference as ref
from tests.hackmatrix_reference import generation as ref_gen
from tests.hackmatrix_builders import build, random_crowded, to_description, units

PARAMS = EnvParams()
ENV, _ = jitrl.make("hackmatrix")
STEP = jax.jit(lambda k, s, a: ENV.step_env(k, s, a, PARAMS))
NEW_STAGE = jax.jit(lambda k, g: G.new_stage(k, g, PARAMS))
CORNER_SET = {tuple(c) for c in CORNERS.tolist()}


def test_line_of_fire_and_empty_cells_match_the_reference():
    """``isPositionInLineOfFire`` / ``isPositionEmpty`` on 150 random crowded boards."""
    lof = jax.jit(G.line_of_fire)
    empty = jax.jit(G.spawn_cells)
    for seed in range(150):
        g = random_crowded(seed)
        s = ref.from_description(to_description(g))
        got_e, got_l = np.asarray(empty(g)), np.asarray(lof(g))
        for r in range(6):
            for c in range(6):
                e = ref_gen.is_position_empty(s, r, c)
                assert got_e[r, c] == e, (seed, r, c)
                if e:  # Swift only asks about empty cells (the player's cell would hang)
                    assert got_l[r, c] == ref_gen.is_position_in_line_of_fire(s, r, c), (seed, r, c)


def test_enemies_and_transmissions_persist_and_new_blocks_avoid_them():
    """Item 1: stepping onto the exit keeps every enemy and transmission (HP,
    flags, turns) and the owed siphon spawns; the next board puts no block under
    them and adds ``stage`` transmissions."""
    enemies = [(VIRUS, 2, 2), (DAEMON, 3, 1), (GLITCH, 1, 4), (VIRUS, 4, 4)]
    trans = [(2, 3, 2, DAEMON), (3, 3, 1, VIRUS), (1, 1, 3, GLITCH)]
    for seed in range(12):
        g = build(player=(5, 4), exit=(5, 5), enemies=enemies, transmissions=trans,
                  pending_siphon_spawns=3)
        g = g.replace(enemy_hp=g.enemy_hp.at[1].set(1))
        _, s, _, _, _, info = STEP(jax.random.PRNGKey(seed), wrap_game(g), 3)  # right: onto the exit
        n = s.game
        assert float(info["stage_completed"]) == 1.0 and int(n.stage) == 2
        en, tr = units(n)
        assert en == sorted((r, c) for _, r, c in enemies)
        old_t = {(r, c) for r, c, _, _ in trans}
        assert old_t <= set(tr) and len(tr) == len(trans) + 2  # stage 2 adds 2
        assert int(n.enemy_hp[1]) == 1 and int(n.pending_siphon_spawns) == 3
        kept_turns = sorted(int(t) for t, a, r, c in zip(n.trans_turns, n.trans_alive, n.trans_row, n.trans_col)
                            if a and (int(r), int(c)) in old_t)
        assert kept_turns == [1, 2, 3]
        blocks = np.asarray(n.block_kind != BLOCK_NONE)
        assert not any(blocks[c] for c in en + tr)
        assert 5 <= blocks.sum() <= 11


def test_block_count_is_uniform_on_5_to_11():
    """Item 4: n drawn once, uniform on 5..11 (Swift mean 8). 4,000 stages,
    chi-square against uniform, 6 dof, bound 27.9 (its 1e-4 quantile)."""
    keys = jax.random.split(jax.random.PRNGKey(11), 4000)
    g = jax.jit(jax.vmap(lambda k: G.initial_game(k, PARAMS)))(keys)
    n = np.asarray((g.block_kind != BLOCK_NONE).sum(axis=(1, 2)))
    counts = np.bincount(n, minlength=12)[5:12]
    assert counts.sum() == 4000
    exp = 4000 / 7
    assert ((counts - exp) ** 2 / exp).sum() < 27.9, counts


def _py_valid(blocked, exit_cell):
    """GridValidator.isValidPlacement on a board with its exit (the reference's port)."""
    grid = ref.state.Grid()
    grid.cells[exit_cell[0]][exit_cell[1]].set_content("exit")
    for r in range(6):
        for c in range(6):
            if blocked[r, c]:
                grid.cells[r][c].set_block(ref.state.Block("data", 1, points=1))
    return ref_gen.is_valid_placement(grid)


def test_layouts_are_valid_for_their_exit_and_avoid_occupied_cells():
    """Item 8: the exit is a dead end for layout validation; the pools hold
    exactly n blocks; occupied cells never get a block."""
    rng = np.random.default_rng(3)
    draw = jax.jit(G.draw_layout)
    for i in range(300):
        exit_idx = i % 4
        occ = np.zeros((6, 6), bool)
        cells = rng.choice(36, int(rng.integers(0, 8)), replace=False)
        occ.reshape(-1)[cells] = True
        for c in CORNERS:
            occ[c[0], c[1]] = False
        b = np.asarray(draw(jax.random.PRNGKey(i), exit_idx, jnp.asarray(occ)))
        assert not (b & occ).any() and not any(b[c] for c in CORNER_SET)
        assert _py_valid(b, tuple(CORNERS[exit_idx])), i
    pool = G.layout_pool()
    for d in (0, 1):
        for k, n in enumerate(range(5, 12)):
            boards = np.asarray(jax.vmap(G.mask_to_board)(jnp.asarray(pool[d, k, :200])))
            assert (boards.sum(axis=(1, 2)) == n).all()
            assert all(_py_valid(b, (5, 5) if d else (0, 0)) for b in boards)
    # a layout with a pocket reachable only through the exit is rejected
    pocket = np.zeros((6, 6), bool)
    pocket[4, 4] = pocket[3, 5] = True  # (4, 5) is reached only through the exit (5, 5)
    assert not G.layout_valid_np(pocket[None], (5, 5))[0] and not _py_valid(pocket, (5, 5))
    assert G.layout_valid_np(pocket[None])[0]  # valid when the exit is expanded


def test_block_contents_coin_per_block_and_resources_on_corners():
    """Item 8: data or program by one coin per block (so all-data stages occur);
    resources on every non-block cell but the exit, the corners included."""
    keys = jax.random.split(jax.random.PRNGKey(5), 3000)
    g = jax.tree_util.tree_map(np.asarray, jax.jit(jax.vmap(lambda k: G.initial_game(k, PARAMS)))(keys))
    blocks = g.block_kind != BLOCK_NONE
    n = blocks.sum(axis=(1, 2))
    n_data = (g.block_hidden_kind == BLOCK_DATA).sum(axis=(1, 2))
    assert ((g.block_hidden_kind == BLOCK_PROGRAM).sum(axis=(1, 2)) + n_data == n).all()
    # share of data blocks: binomial(~24,000, 0.5), sd 0.0032; bound 0.016 = 5 sd
    assert abs(n_data.sum() / n.sum() - 0.5) < 0.016
    # per-stage spread: E[(n_data - n/2)^2] = n/4 under independent coins
    # (an exact half split gives <= 1/4); 3,000 stages, bound at 80% of the mean
    dev = ((n_data - n / 2) ** 2).mean()
    assert dev > 0.8 * (n / 4).mean(), dev
    res = g.credits + g.energy
    for i in range(300):
        ex = (int(g.exit_row[i]), int(g.exit_col[i]))
        for r in range(6):
            for c in range(6):
                if blocks[i, r, c] or (r, c) == ex:
                    assert res[i, r, c] == 0
                else:
                    assert 1 <= res[i, r, c] <= 3, (i, r, c)


def test_new_transmissions_avoid_the_line_of_fire():
    """Item 3 on 2,000 stage-1 boards: outside the line of fire whenever an empty
    cell outside it exists (P(100 draws all miss) <= (35/36)^100 = 6% only with a
    single such cell; stage-1 boards have ~15, so the expected count in the line
    of fire is << 1)."""
    keys = jax.random.split(jax.random.PRNGKey(21), 2000)
    g = jax.jit(jax.vmap(lambda k: G.initial_game(k, PARAMS)))(keys)
    lof = jax.vmap(G.line_of_fire)(g)
    hit = jax.vmap(lambda gg, l: jnp.sum(common.slot_maps(gg.trans_row, gg.trans_col, gg.trans_alive) & l[None]))(g, lof)
    assert int(np.asarray(hit).sum()) <= 1


def _corner_board(extra_blocks, pickup=None):
    # player (0, 0); (0, 3) and (3, 0) shield the far ends of its row and column
    blocks = {(r, c): 1 for r in range(1, 6) for c in range(1, 6) if (r, c) != (5, 5)}
    blocks.update({(0, 3): 1, (3, 0): 1})
    blocks.update({c: 1 for c in extra_blocks})
    for c in ((3, 3), (5, 0)):
        if c not in extra_blocks:
            blocks.pop(c, None)
    pick = jnp.zeros((6, 6), bool) if pickup is None else jnp.zeros((6, 6), bool).at[pickup].set(True)
    return build(player=(0, 0), exit=(5, 5), blocks=blocks,
                 transmissions=[(0, 4, 1, 0), (4, 0, 1, 0), (0, 5, 1, 0)], siphon_pickup=pick)


def _one_placement(g, n):
    keys = jax.random.split(jax.random.PRNGKey(2), n)
    out = jax.jit(jax.vmap(lambda k: G.place_transmissions(k, g, 1, 1, False)))(keys)
    slot = 3  # slots 0-2 hold the board's transmissions
    cell = np.asarray(out.trans_row[:, slot] * 6 + out.trans_col[:, slot])
    return cell, np.asarray(out.trans_alive[:, slot])


def test_placement_law_matches_the_swift_searches():
    """``findEmptyCellOutOfLineOfFire`` (100 draws) then ``findEmptyCell`` (100
    draws). Board 1: the exit is the only empty cell outside the line of fire (A),
    4 empty cells in it (B): P(exit) = 1 - (35/36)^100 + (35/36)^100 (1 - (31/36)^100) / 5
    = 0.952, P(B) = 0.048. Board 2: A = {exit, pickup, (3, 3)}, each 1/3. 6,000
    draws each, tolerance 5 sd of a binomial share."""
    g = _corner_board([(3, 3), (5, 0)])
    free, lof = np.asarray(G.spawn_cells(g)), np.asarray(G.line_of_fire(g))
    cells = lambda m: {(r, c) for r in range(6) for c in range(6) if m[r, c]}
    assert cells(free & ~lof) == {(5, 5)} and cells(free & lof) == {(0, 1), (0, 2), (1, 0), (2, 0)}
    cell, placed = _one_placement(g, 6000)
    miss1, miss2 = (35 / 36) ** 100, (31 / 36) ** 100
    p_exit = 1 - miss1 + miss1 * (1 - miss2) / 5
    share = (cell[placed] == 35).mean()
    assert placed.all() and abs(share - p_exit) < 5 * np.sqrt(p_exit * (1 - p_exit) / 6000), share
    g = _corner_board([], pickup=(5, 0))
    free, lof = np.asarray(G.spawn_cells(g)), np.asarray(G.line_of_fire(g))
    assert cells(free & ~lof) == {(5, 5), (5, 0), (3, 3)}
    cell, placed = _one_placement(g, 6000)
    assert placed.all()
    for c in (35, 30, 21):
        share = (cell == c).mean()
        assert abs(share - 1 / 3) < 5 * np.sqrt(2 / 9 / 6000), (c, share)
