"""Issue 8, item 5: the enemy phase equals the Swift reference's
``executeEnemyStepWithCapture`` (tests/hackmatrix_reference/rules.py, a port of
GameState.swift / Pathfinding.swift) step for step: same board, same random
enemy order (jitrl's ``rules.enemy_orders`` fed to the reference's
``enemy.order`` shuffles), whole unit multiset and player HP compared."""
import jax
import jax.numpy as jnp
import numpy as np

from jitrl.envs.hackmatrix import rules
from jitrl.envs.hackmatrix.state import MAX_ENEMIES
from tests import hackmatrix_reference as ref
from tests.hackmatrix_reference import rules as ref_rules
from tests.hackmatrix_builders import random_crowded, to_description

N_CASES = 300


def _case(seed):
    rng = np.random.default_rng(1000 + seed)
    g = random_crowded(seed, n_enemies=(1, 16), n_trans=(0, 8), n_blocks=(0, 11))
    n = int(np.asarray(g.enemy_alive).sum())
    # some enemies stunned or just spawned (they stay), a few glitches onto blocks
    g = g.replace(enemy_stunned=jnp.asarray(rng.uniform(size=MAX_ENEMIES) < 0.1) & g.enemy_alive,
                  enemy_just_spawned=jnp.asarray(rng.uniform(size=MAX_ENEMIES) < 0.1) & g.enemy_alive,
                  enemy_hp=g.enemy_hp)
    return g, n


def _reference_phase(g, orders):
    s = ref.from_description(to_description(g))
    alive = np.flatnonzero(np.asarray(g.enemy_alive))  # s.enemies is in this slot order
    ids = {id(e): int(alive[j]) for j, e in enumerate(s.enemies)}
    calls = []

    def answer(site, items):
        if site == "path.tiebreak":  # Swift's BFS always yields one candidate
            assert len(items) == 1, items
            return items[0]
        assert site == "enemy.order"
        sub = len(calls)
        calls.append(site)
        rank = {int(slot): k for k, slot in enumerate(np.asarray(orders[sub]))}
        return sorted(items, key=lambda e: rank[ids[id(e)]])

    rng = ref.ScriptedRng(answer, forward_trivial=True)
    attacked = set()
    for step in range(s.get_max_enemy_steps()):
        ref_rules.execute_enemy_step_with_capture(s, step, attacked, rng)
    return s


def test_enemy_phase_matches_the_swift_reference_step_for_step():
    cases = [_case(i) for i in range(N_CASES)]
    batch = jax.tree_util.tree_map(lambda *x: jnp.stack(x), *[c[0] for c in cases])
    keys = jax.random.split(jax.random.PRNGKey(8), N_CASES)
    out = jax.jit(jax.vmap(rules._enemies_act))(keys, batch)
    orders = np.asarray(jax.vmap(rules.enemy_orders)(keys))
    moved = virus2 = attacks = 0
    for k, (g, n) in enumerate(cases):
        s = _reference_phase(g, orders[k])
        alive = np.asarray(g.enemy_alive)
        got = sorted(zip(np.asarray(out.enemy_row[k])[alive].tolist(),
                         np.asarray(out.enemy_col[k])[alive].tolist(),
                         np.asarray(g.enemy_type)[alive].tolist()))
        want = sorted((e.row, e.col, ref.ENEMY_TYPES.index(e.type)) for e in s.enemies)
        assert got == want, (k, got, want)
        assert int(out.player_hp[k]) == max(s.player.health, 0), k
        before = np.stack([np.asarray(g.enemy_row), np.asarray(g.enemy_col)], 1)[alive]
        after = np.stack([np.asarray(out.enemy_row[k]), np.asarray(out.enemy_col[k])], 1)[alive]
        step = np.abs(after - before).sum(1)
        moved += int((step > 0).sum())
        virus2 += int((step == 2).sum())
        attacks += 3 - s.player.health
    assert moved > 400 and virus2 > 30 and attacks > 30, (moved, virus2, attacks)


def test_acting_turns_follow_the_stable_sort_of_the_order_words():
    """The enemy phase numbers the acting enemies by comparisons instead of
    sorting: the numbering must be the stable argsort's order (ties by slot),
    sub-step 0's ready enemies first, then sub-step 1's fast ones. Words drawn
    from a tiny range so that ties are common."""
    rng = np.random.default_rng(13)
    n = 500
    words = rng.integers(0, 6, size=(n, 2, MAX_ENEMIES)).astype(np.uint32)
    ready = rng.uniform(size=(n, MAX_ENEMIES)) < rng.uniform(0, 1, size=(n, 1))
    fast = ready & (rng.uniform(size=(n, MAX_ENEMIES)) < 0.4)
    turns, count = jax.jit(jax.vmap(rules.acting_turns))(
        jnp.asarray(words), jnp.asarray(ready), jnp.asarray(fast))
    turns, count = np.asarray(turns), np.asarray(count)
    ties = 0
    for k in range(n):
        want = -np.ones((2, MAX_ENEMIES), int)
        nxt = 0
        for sub, acting in ((0, ready[k]), (1, fast[k])):
            for slot in np.argsort(words[k, sub], kind="stable"):
                if acting[slot]:
                    want[sub, slot] = nxt
                    nxt += 1
        np.testing.assert_array_equal(turns[k], want, err_msg=str(k))
        assert count[k] == nxt
        ties += len(np.unique(words[k, 0][ready[k]])) < ready[k].sum()
    assert ties > n // 2
