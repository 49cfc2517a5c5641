"""HackMatrix rules on hand-built states, reward bookkeeping and env invariants."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jitrl
from jitrl.envs.hackmatrix import common, rewards, rules
from jitrl.envs.hackmatrix.state import (
    ACTION_SIPHON, BLOCK_DATA, BLOCK_PROGRAM, BLOCK_QUESTION, DAEMON, GLITCH, PROGRAM_OFFSET,
    HISTORY_LEN, MAX_ENEMIES, PROGRAM_SPAWN, ROW, SIPH_PLUS, VIRUS, WAIT, empty_game, wrap_game,
)
from jitrl.envs.hackmatrix.state import STEP as STEP_P

UP, DOWN, LEFT, RIGHT = 0, 1, 2, 3
ENV, PARAMS = jitrl.make("hackmatrix")
STEP = jax.jit(lambda k, s, a: ENV.step_env(k, s, a, PARAMS))
KEY = jax.random.PRNGKey(0)


def game(**kw):
    g = empty_game().replace(exit_row=jnp.int32(5), exit_col=jnp.int32(5))
    # same dtypes as the fields (no weak types), so the jitted STEP compiles once
    return g.replace(**{k: jnp.asarray(v, getattr(g, k).dtype) for k, v in kw.items()})


def with_enemy(g, etype, r, c, **kw):
    g = common.add_enemy(g, etype, r, c, kw.pop("from_siphon", False), just_spawned=False)
    return g.replace(**kw)


def put(arr, r, c, v):
    return arr.at[r, c].set(v)


def test_siphon_takes_the_cross_and_owes_transmissions():
    g = game(player_row=2, player_col=2, player_siphons=1)
    g = g.replace(
        block_kind=put(put(put(put(g.block_kind, 2, 3, BLOCK_DATA), 1, 2, BLOCK_PROGRAM), 3, 2, BLOCK_QUESTION), 2, 1, BLOCK_DATA),
        block_hidden_kind=put(put(put(put(g.block_hidden_kind, 2, 3, BLOCK_DATA), 1, 2, BLOCK_PROGRAM), 3, 2, BLOCK_DATA), 2, 1, BLOCK_DATA),
        block_points=put(put(put(g.block_points, 2, 3, 5), 3, 2, 2), 2, 1, 9),
        block_program=put(g.block_program, 1, 2, ROW),
        block_spawn=put(put(put(put(g.block_spawn, 2, 3, 5), 1, 2, int(PROGRAM_SPAWN[ROW])), 3, 2, 2), 2, 1, 9),
        siphoned=put(g.siphoned, 2, 1, True),  # already siphoned: skipped
        credits=put(put(g.credits, 2, 2, 2), 0, 0, 3),  # (0, 0) is outside the cross
        energy=put(g.energy, 4, 4, 1),
    )
    s, r, term, trunc, info = (lambda o: (o[1], o[2], o[3], o[4], o[5]))(STEP(KEY, wrap_game(g), ACTION_SIPHON))
    n = s.game
    assert int(n.score) == 5 + 2
    assert bool(n.owned[ROW]) and int(n.owned.sum()) == 1
    assert int(n.block_kind[3, 2]) == BLOCK_DATA  # question revealed
    assert int(n.player_credits) == 2 and int(n.credits[2, 2]) == 0 and int(n.credits[0, 0]) == 3
    cross = np.zeros((6, 6), bool)
    for rr, cc in ((2, 2), (1, 2), (3, 2), (2, 1), (2, 3)):
        cross[rr, cc] = True
    assert np.array_equal(np.asarray(n.siphoned), cross)
    assert int(n.player_siphons) == 0 and int(s.siphons_used) == 1
    # 5 + 2 + 2 owed transmissions, placed at the end of the enemy turn
    assert int(n.trans_alive.sum()) == 9 and bool(n.trans_from_siphon[n.trans_alive].all())
    assert int(n.pending_siphon_spawns) == 0
    assert int(n.spawn_interval) == 11 and int(n.next_task_turn) == 12 + 5
    assert int(n.block_kind[2, 3]) == BLOCK_DATA  # siphoned blocks stay
    # Swift rewrites a siphoned block with spawn 0 and marks the siphon centre
    assert int(n.block_spawn[2, 3]) == 0 and int(n.block_spawn[3, 2]) == 0
    assert np.flatnonzero(np.asarray(n.siphon_center)).tolist() == [2 * 6 + 2]


def test_line_attack_stuns_and_blocks_stop_the_line():
    g = with_enemy(game(player_row=0, player_col=0), DAEMON, 3, 0)
    s = STEP(KEY, wrap_game(g), UP)[1]
    assert int(s.game.enemy_hp[0]) == 2 and int(s.game.player_row) == 0  # fired, did not move
    assert int(s.game.enemy_row[0]) == 3  # stunned: did not move; stun cleared after the turn
    assert not bool(s.game.enemy_stunned[0])
    # a block at (2, 0) hides the daemon: UP now moves the player
    g2 = g.replace(block_kind=put(g.block_kind, 2, 0, BLOCK_DATA),
                   block_hidden_kind=put(g.block_hidden_kind, 2, 0, BLOCK_DATA))
    s = STEP(KEY, wrap_game(g2), UP)[1]
    assert int(s.game.enemy_hp[0]) == 3 and int(s.game.player_row) == 1
    # a transmission in line is destroyed
    g3 = common.add_transmission(game(player_row=0, player_col=0), VIRUS, 0, 4, 3, False)
    s = STEP(KEY, wrap_game(g3), RIGHT)[1]
    assert not bool(s.game.trans_alive.any()) and int(s.game.player_col) == 0
    # killing counts
    g4 = with_enemy(game(player_row=0, player_col=0), VIRUS, 0, 2, enemy_hp=jnp.full((MAX_ENEMIES,), 1, jnp.int32))
    s, info = (lambda o: (o[1], o[5]))(STEP(KEY, wrap_game(g4), RIGHT))
    assert int(s.game.kills) == 1 and not bool(s.game.enemy_alive.any())
    assert float(info["r_kill"]) == pytest.approx(0.3)


def test_turn_order_spawn_then_enemies_then_stun_clear():
    g = game(player_row=0, player_col=0)
    g = common.add_transmission(g, DAEMON, 3, 3, 1, False)  # hatches this turn, must not act
    g = with_enemy(g, DAEMON, 1, 1)  # adjacent once the player has moved right
    s = STEP(KEY, wrap_game(g), RIGHT)[1].game
    assert int(s.turn) == 1
    assert int(s.player_col) == 1 and int(s.player_hp) == 2  # attacked instead of moving
    assert (int(s.enemy_row[0]), int(s.enemy_col[0])) == (1, 1)
    hatched = np.asarray(s.enemy_alive) & (np.asarray(s.enemy_row) == 3) & (np.asarray(s.enemy_col) == 3)
    assert hatched.sum() == 1 and not bool(s.trans_alive.any())
    assert not bool(s.enemy_just_spawned.any())  # cleared at the end of the turn
    # a virus moves twice; a stunned daemon does nothing
    g = with_enemy(game(player_row=0, player_col=0), VIRUS, 5, 0)
    g = with_enemy(g, DAEMON, 0, 5)
    s = STEP(KEY, wrap_game(g), RIGHT)[1].game  # RIGHT hits (and stuns) the daemon
    assert (int(s.enemy_row[0]), int(s.enemy_col[0])) == (3, 0)
    assert (int(s.enemy_row[1]), int(s.enemy_col[1])) == (0, 5) and int(s.enemy_hp[1]) == 2
    # a virus may move and then attack; an adjacent virus attacks once, not twice
    g = with_enemy(game(player_row=0, player_col=0), VIRUS, 2, 1)
    s = STEP(KEY, wrap_game(g), RIGHT)[1].game
    assert (int(s.enemy_row[0]), int(s.enemy_col[0])) == (1, 1) and int(s.player_hp) == 2
    g = with_enemy(game(player_row=0, player_col=0), VIRUS, 1, 1)
    s = STEP(KEY, wrap_game(g), RIGHT)[1].game
    assert int(s.player_hp) == 2


def test_step_skips_the_enemy_turn_and_calm_stops_scheduled_spawns():
    g = with_enemy(game(player_row=0, player_col=0, step_skip_pending=True), DAEMON, 4, 4)
    s = STEP(KEY, wrap_game(g), RIGHT)[1].game
    assert (int(s.enemy_row[0]), int(s.enemy_col[0])) == (4, 4) and int(s.turn) == 0
    assert not bool(s.step_skip_pending)
    g = game(player_row=0, player_col=0, next_task_turn=1)
    s = STEP(KEY, wrap_game(g), RIGHT)[1].game
    assert int(s.trans_alive.sum()) == 1 and int(s.next_task_turn) == 1 + int(g.spawn_interval)
    assert bool(s.trans_from_task.any())
    s = STEP(KEY, wrap_game(g.replace(calm_active=jnp.asarray(True))), RIGHT)[1].game
    assert int(s.trans_alive.sum()) == 0 and int(s.next_task_turn) == 1


def test_enemy_turns_push_undo_snapshots_and_free_programs_do_not():
    """Swift's saveSnapshot: at the end of every enemy turn that runs (the
    snapshot is the game after it), none for free programs or a STEP-skipped
    turn; the depth is unbounded, the ring stores the newest HISTORY_LEN."""
    owned = jnp.zeros((23,), bool).at[SIPH_PLUS].set(True).at[WAIT].set(True).at[STEP_P].set(True)
    g = game(player_row=0, player_col=0, player_credits=10, player_energy=50, owned=owned)
    s0 = wrap_game(g)
    s1 = STEP(KEY, s0, RIGHT)[1]
    assert int(s1.history_count) == 1 and int(s1.history_depth) == 1
    snap = jax.tree_util.tree_map(lambda h: h[0], s1.history)
    assert all(np.array_equal(a, b) for a, b in zip(jax.tree_util.tree_leaves(snap),
                                                     jax.tree_util.tree_leaves(s1.game)))
    s2 = STEP(KEY, s1, PROGRAM_OFFSET + SIPH_PLUS)[1]  # free: no push, no enemy turn
    assert int(s2.history_count) == 1 and int(s2.game.turn) == int(s1.game.turn)
    assert int(s2.game.player_siphons) == 1 and int(s2.game.player_credits) == 5
    s3 = STEP(KEY, s2, PROGRAM_OFFSET + WAIT)[1]  # WAIT ends the turn
    assert int(s3.history_count) == 2 and int(s3.game.turn) == int(s2.game.turn) + 1
    s4 = STEP(KEY, STEP(KEY, s3, PROGRAM_OFFSET + STEP_P)[1], PROGRAM_OFFSET + WAIT)[1]
    assert int(s4.history_depth) == 2 and int(s4.game.turn) == int(s3.game.turn)  # skipped: no snapshot
    for _ in range(HISTORY_LEN + 1):
        s4 = STEP(KEY, s4, PROGRAM_OFFSET + WAIT)[1]
    assert int(s4.history_count) == HISTORY_LEN and int(s4.history_depth) == HISTORY_LEN + 3


def test_stage_change_and_victory():
    g = with_enemy(game(player_row=5, player_col=4, player_hp=2, stage=1, calm_active=True,
                        atk_plus_uses=1, player_attack=2), DAEMON, 4, 4)
    s0 = wrap_game(g).replace(history_count=jnp.int32(2), history_depth=jnp.int32(2))
    _, s, r, term, trunc, info = STEP(KEY, s0, RIGHT)
    n = s.game
    assert int(n.stage) == 2 and int(n.player_hp) == 3 and not bool(term)
    assert (int(n.player_row), int(n.player_col)) == (5, 5)
    assert (int(n.exit_row), int(n.exit_col)) in {(0, 0), (0, 5), (5, 0)}
    # the daemon persists into stage 2 (Swift's initializeStage keeps enemies)
    assert int(n.trans_alive.sum()) == 2 and int(n.enemy_alive.sum()) == 1
    assert (int(n.enemy_row[0]), int(n.enemy_col[0])) == (4, 4) and int(n.block_kind[4, 4]) == 0
    assert int(n.spawn_interval) == 11 and not bool(n.calm_active) and int(n.atk_plus_uses) == 0
    # Swift keeps the UNDO history across a stage (fix_undo_across_stages clears it)
    assert int(n.player_attack) == 2 and int(s.history_depth) == 2 and int(n.turn) == 0
    assert int(n.next_task_turn) == 11
    # the exit step pays the distance shaping of its last cell (Swift: old distance 1)
    assert float(info["r_stage"]) == 1.0 and float(info["r_hp"]) == 1.0
    assert float(info["r_distance"]) == pytest.approx(0.05)
    fixed = jax.jit(lambda k, s, a: ENV.step_env(k, s, a, PARAMS.replace(fix_undo_across_stages=True)))
    assert int(fixed(KEY, s0, RIGHT)[1].history_depth) == 0
    assert float(s.stage_rewards_earned) == 1.0
    # victory: completing stage 8
    g = game(player_row=5, player_col=4, stage=8, score=7)
    _, s, r, term, trunc, info = STEP(KEY, wrap_game(g), RIGHT)
    assert bool(term) and bool(s.won) and float(info["r_victory"]) == 500 + 700
    assert float(info["r_stage"]) == 64.0  # Swift's bug: stage 8 pays stage_rewards[6]
    fixed = ENV.step_env(KEY, wrap_game(g), RIGHT, PARAMS.replace(fix_stage8_reward=True))
    assert float(fixed[5]["r_stage"]) == 100.0


def test_death_penalty_and_siphon_death():
    g = with_enemy(game(player_row=0, player_col=0, player_hp=1), DAEMON, 1, 1, from_siphon=True)
    s0 = wrap_game(g).replace(stage_rewards_earned=jnp.float32(7.0))
    _, s, r, term, trunc, info = STEP(KEY, s0, RIGHT)
    assert bool(term) and bool(s.dead) and int(s.game.player_hp) == 0
    assert float(info["r_death"]) == pytest.approx(-0.5 * 7.0 - 10.0)
    assert float(info["r_hp"]) == -1.0


def test_masked_action_changes_nothing_but_the_step_counter():
    g = game(player_row=0, player_col=0)  # no siphons, no programs; DOWN is off the board
    s0 = wrap_game(g)
    mask = np.asarray(ENV.action_mask(s0, PARAMS))
    assert mask.tolist()[:5] == [True, False, False, True, False]
    for a in (DOWN, ACTION_SIPHON, PROGRAM_OFFSET + WAIT):
        _, s, r, term, trunc, info = STEP(KEY, s0, a)
        assert float(r) == pytest.approx(PARAMS.w_step) and float(info["legal"]) == 0.0
        assert int(s.steps) == 1 and int(s.last_action) == a
        for x, y in zip(jax.tree_util.tree_leaves(s.game), jax.tree_util.tree_leaves(g)):
            assert np.array_equal(x, y)


def test_glitch_walks_over_blocks():
    g = game(player_row=0, player_col=0)
    blocks = jnp.zeros((6, 6), jnp.int32).at[1, :5].set(BLOCK_DATA)
    g = g.replace(block_kind=blocks, block_hidden_kind=blocks)
    g = with_enemy(g, GLITCH, 2, 0)
    s = STEP(KEY, wrap_game(g), RIGHT)[1].game  # player to (0, 1)
    assert (int(s.enemy_row[0]), int(s.enemy_col[0])) in {(1, 0), (2, 1)}
    assert int(s.enemy_row[0]) == 1  # prefers the block cell on a shortest path


def _rollout(key, n_steps=64):
    obs, s = ENV.reset(key, PARAMS)

    def body(s, k):
        k1, k2 = jax.random.split(k)
        m = ENV.action_mask(s, PARAMS)
        a = jax.random.categorical(k1, jnp.where(m, 0.0, -1e9))
        obs, s, r, te, tr, info = ENV.step(k2, s, a, PARAMS)
        terms = sum(info[t] for t in rewards.TERMS)
        return s, (obs, r, te, tr, terms, info["legal"], m.sum())

    return jax.lax.scan(body, s, jax.random.split(key, n_steps))


N_ROLL = 24
ROLL = jax.jit(lambda k: _rollout(k, N_ROLL))
VROLL = jax.jit(jax.vmap(lambda k: _rollout(k, N_ROLL)))
KEYS64 = jax.random.split(jax.random.PRNGKey(5), 64)
_cache = {}


def vroll64():
    if "v" not in _cache:
        _cache["v"] = VROLL(KEYS64)
    return _cache["v"]


def test_reward_terms_add_up_and_random_play_is_legal():
    _, (obs, r, te, tr, terms, legal, nm) = vroll64()
    np.testing.assert_allclose(np.asarray(r), np.asarray(terms), rtol=1e-6, atol=1e-6)
    assert float(legal.min()) == 1.0 and float(nm.min()) >= 1.0  # never stuck without a legal action
    assert np.isfinite(np.asarray(obs)).all()
    assert int(te.sum()) > 0  # random play dies within 24 steps at least once in 64 envs


def test_vmap_over_64_envs_equals_a_loop_and_same_key_same_episode():
    keys = KEYS64
    vm = vroll64()
    one = ROLL
    for i in range(0, 64, 9):
        single = one(keys[i])
        for a, b in zip(jax.tree_util.tree_leaves(single), jax.tree_util.tree_leaves(vm)):
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b)[i])
    again = one(keys[0])
    for a, b in zip(jax.tree_util.tree_leaves(again), jax.tree_util.tree_leaves(one(keys[0]))):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    other = one(keys[1])
    assert not np.array_equal(np.asarray(other[1][0]), np.asarray(again[1][0]))


def test_hatching_fills_free_enemy_slots_like_one_at_a_time():
    """``_tick_transmissions`` against a plain-Python loop that adds the hatching
    transmissions one after another to the first free enemy slot."""
    from jitrl.envs.hackmatrix.state import ENEMY_MAX_HP, MAX_ENEMIES, MAX_TRANSMISSIONS
    rng = np.random.default_rng(4)
    tick = jax.jit(rules._tick_transmissions)
    for case in range(40):
        e_alive = rng.uniform(size=MAX_ENEMIES) < rng.uniform(0, 1)
        t_alive = rng.uniform(size=MAX_TRANSMISSIONS) < 0.7
        turns = rng.integers(1, 3, MAX_TRANSMISSIONS)
        g = game().replace(
            enemy_alive=jnp.asarray(e_alive), enemy_type=jnp.asarray(rng.integers(0, 4, MAX_ENEMIES), jnp.int32),
            enemy_hp=jnp.full((MAX_ENEMIES,), 1, jnp.int32), enemy_just_spawned=jnp.zeros((MAX_ENEMIES,), bool),
            trans_alive=jnp.asarray(t_alive), trans_turns=jnp.asarray(turns, jnp.int32),
            trans_type=jnp.asarray(rng.integers(0, 4, MAX_TRANSMISSIONS), jnp.int32),
            trans_row=jnp.asarray(rng.integers(0, 6, MAX_TRANSMISSIONS), jnp.int32),
            trans_col=jnp.asarray(rng.integers(0, 6, MAX_TRANSMISSIONS), jnp.int32),
            trans_from_siphon=jnp.asarray(rng.uniform(size=MAX_TRANSMISSIONS) < 0.5))
        ref = jax.tree_util.tree_map(lambda x: np.array(x), g)
        for t in range(MAX_TRANSMISSIONS):
            if not ref.trans_alive[t]:
                continue
            ref.trans_turns[t] -= 1
            if ref.trans_turns[t] > 0:
                continue
            ref.trans_alive[t] = False
            free = np.flatnonzero(~ref.enemy_alive)
            if len(free) == 0:
                continue
            e = free[0]
            ref.enemy_alive[e] = True
            ref.enemy_type[e] = ref.trans_type[t]
            ref.enemy_row[e], ref.enemy_col[e] = ref.trans_row[t], ref.trans_col[t]
            ref.enemy_hp[e] = ENEMY_MAX_HP[ref.trans_type[t]]
            ref.enemy_stunned[e] = False
            ref.enemy_from_siphon[e] = ref.trans_from_siphon[t]
            ref.enemy_just_spawned[e] = True
        got = tick(g)
        for name in ("enemy_alive", "enemy_type", "enemy_row", "enemy_col", "enemy_hp",
                     "enemy_stunned", "enemy_from_siphon", "enemy_just_spawned", "trans_alive",
                     "trans_turns"):
            assert np.array_equal(np.asarray(getattr(got, name)), getattr(ref, name)), (case, name)


def test_distance_shaping_swift_pays_round_trips_potential_does_not():
    """Swift's r_distance pays only steps towards the exit (a walk away and back earns
    it again); ``distance_potential`` pays the signed change, so the round trip nets 0
    and a step away costs what the step back pays. (The reward terms alone, eagerly: the
    full step's Swift side is the differential test's.)"""
    at = lambda col: wrap_game(game(player_row=2, player_col=col))  # empty board, exit (5, 5)
    no = jnp.asarray(False)
    events = dict(legal=jnp.asarray(True), stage_completed=no, won=no, picked_siphon=no, died=no,
                  siphon_death=no)
    for params, want in ((PARAMS, (0.0, 0.05)), (PARAMS.replace(distance_potential=True), (-0.05, 0.05))):
        away = rewards.reward_terms(at(2), at(1), LEFT, events, params)["r_distance"]  # d 6 -> 7
        back = rewards.reward_terms(at(1), at(2), RIGHT, events, params)["r_distance"]  # d 7 -> 6
        assert (float(away), float(back)) == pytest.approx(want)
