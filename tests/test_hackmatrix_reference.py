"""Tests of the plain-Python Swift reference (tests/hackmatrix_reference).

Each test checks the reference against an independent truth: a port of a
Swift unit test (named), a scenario whose result was derived by hand from the
Swift source (the function is named), or invariants over random play.
"""
import random
from collections import Counter, deque

import pytest

from hackmatrix_reference import (
    Fixes, HeadlessGame, RandomRng, RecordingRng, ScriptedRng, SwiftHang, action_index,
    build_observation, describe, from_description, get_valid_actions, new_game,
    try_execute_action,
)
from hackmatrix_reference import generation, pathfinding, programs, rewards, rules
from hackmatrix_reference.constants import (
    DIRECTIONS, DIRECTION_OFFSET, ENEMY_MAX_HP, PROGRAMS, PROGRAM_COST, STARTING_ENEMIES,
)
from hackmatrix_reference.rng import SITES, SITE_KINDS

UP, DOWN, LEFT, RIGHT, SIPHON = 0, 1, 2, 3, 4
P = action_index  # program name -> action


_CELL_SITES = ("stage.block.row", "stage.block.col", "spawn.lof.row", "spawn.lof.col",
               "spawn.any.row", "spawn.any.col")
_cells_rnd = random.Random(0)


def first(site, cands):
    """Oracle: the first candidate, identity shuffles, coin False, uniform 0.5;
    random cells for the rejection loops (block placement, empty-cell search),
    which a constant answer would never end."""
    if site in _CELL_SITES:
        return _cells_rnd.choice(cands)
    if cands is None:
        return 0.5
    if site == "enemy.order":
        return list(cands)
    return cands[0]


FIRST = ScriptedRng(first)


def state(**kw):
    kw.setdefault("player", dict(row=0, col=0))
    return from_description(kw)


def act(s, action, rng=FIRST):
    return try_execute_action(s, action, rng)


def enemies(s):
    return sorted((e.type, e.row, e.col, e.hp) for e in s.enemies)


def wall_row1_except(*cols):
    """Blocks on row 1 except the given columns (a corridor along row 0)."""
    return [dict(row=1, col=c, kind="data", points=1) for c in range(6) if c not in cols]


# =============================================================== Swift's own tests
# GameLogicTests.swift: StartingBonusTests
def test_swift_testStartingBonusIsApplied():
    for seed in range(20):
        p = new_game(RandomRng(seed)).player
        assert p.credits == 10 or p.energy == 11 or p.data_siphons == 1


def test_swift_testStartingBonusRandomness():
    counts = Counter()
    for seed in range(60):
        p = new_game(RandomRng(seed)).player
        counts["c" if p.credits == 10 else "e" if p.energy == 11 else "s"] += 1
    assert counts["c"] > 0 and counts["e"] > 0 and counts["s"] > 0


# GameLogicTests.swift: ScheduledTaskTests
def test_swift_testInitialScheduledTaskState():
    s = new_game(RandomRng(1))
    assert s.scheduled_task_interval == 12 and s.next_scheduled_task_turn == 12


def test_swift_testSiphonAffectsScheduledTiming():
    s = new_game(RandomRng(2))
    s.player.data_siphons = 1
    i0, n0 = s.scheduled_task_interval, s.next_scheduled_task_turn
    rules.perform_siphon(s)
    assert s.scheduled_task_interval == i0 - 1 and s.next_scheduled_task_turn == n0 + 5


def test_swift_testScheduledTaskIntervalMinimum():
    s = new_game(RandomRng(3))
    s.scheduled_task_interval = 5
    s.player.data_siphons = 2
    rules.perform_siphon(s)
    assert s.scheduled_task_interval == 4
    rules.perform_siphon(s)
    assert s.scheduled_task_interval == 4


def test_swift_testScheduledTaskTriggersAtCorrectTurn():
    s = new_game(RandomRng(4))
    s.scheduled_tasks_disabled = False
    n0 = len(s.transmissions)
    s.turn_count = 11
    rules.maybe_execute_scheduled_task(s, RandomRng(0))
    assert len(s.transmissions) == n0
    s.turn_count = 12
    rules.maybe_execute_scheduled_task(s, RandomRng(0))
    assert len(s.transmissions) > n0
    assert s.transmissions[-1].is_from_scheduled_task
    assert s.next_scheduled_task_turn == 12 + s.scheduled_task_interval


def test_swift_testStageChangeResetsInterval():
    s = new_game(RandomRng(5))
    s.player.data_siphons = 3
    for _ in range(3):
        rules.perform_siphon(s)
    assert s.scheduled_task_interval == 9
    # the Swift test's manual simulation ...
    s2 = s.clone()
    s2.current_stage, s2.turn_count = 2, 20
    s2.scheduled_task_interval = 13 - s2.current_stage
    s2.next_scheduled_task_turn = s2.turn_count + s2.scheduled_task_interval
    assert (s2.scheduled_task_interval, s2.next_scheduled_task_turn) == (11, 31)
    # ... and the real completeStage (turnCount restarts at 0: next = 11)
    s.turn_count = 20
    assert rules.complete_stage(s, RandomRng(0))
    assert (s.current_stage, s.scheduled_task_interval, s.next_scheduled_task_turn) == (2, 11, 11)


# RewardCalculatorTests.swift
def test_swift_testSuboptimalSiphonIsNegativePenalty():
    b = rewards.calculate(siphon_was_used=True, siphon_was_optimal=False, siphon_missed_credits=10)
    assert b.siphon_quality < 0 and b.siphon_quality == pytest.approx(-0.25, abs=1e-10)


def test_swift_testSuboptimalSiphonMissedBothResources():
    b = rewards.calculate(siphon_was_used=True, siphon_was_optimal=False,
                          siphon_missed_credits=10, siphon_missed_energy=10)
    assert b.siphon_quality == pytest.approx(-0.5, abs=1e-10)


def test_swift_testOptimalSiphonNoPenalty():
    assert rewards.calculate(siphon_was_used=True, siphon_was_optimal=True).siphon_quality == 0.0


def test_swift_testNoSiphonNoPenalty():
    b = rewards.calculate(siphon_was_used=False, siphon_was_optimal=False,
                          siphon_missed_credits=20, siphon_missed_energy=20)
    assert b.siphon_quality == 0.0


def test_swift_testSuboptimalSiphonAffectsTotal():
    base = rewards.calculate()
    sub = rewards.calculate(siphon_was_used=True, siphon_was_optimal=False, siphon_missed_credits=10)
    assert sub.total < base.total


# =============================================================== rng
def test_every_site_is_documented_with_a_kind():
    import hackmatrix_reference
    for site in SITES:
        assert site in hackmatrix_reference.__doc__ or site.rsplit(".", 1)[0] in hackmatrix_reference.__doc__
        assert SITE_KINDS[site] in ("randint", "choice", "shuffle", "coin", "uniform")


def test_recorded_game_replays_exactly_through_the_scripted_rng():
    rec = RecordingRng(RandomRng(11))
    g = HeadlessGame(rng=rec)
    pol = random.Random(3)
    actions = []
    for _ in range(150):
        a = pol.choice(g.valid_actions())
        actions.append(a)
        if g.step(a)[2]:
            break
    used = {s for s in rec.sites()}
    assert used <= set(SITES)
    replay = ScriptedRng.from_list(rec.answers())
    g2 = HeadlessGame(rng=replay)
    for a in actions:
        g2.step(a)
    assert replay.remaining == []
    assert g2.state.canonical(last_known=True) == g.state.canonical(last_known=True)


def test_scripted_rng_rejects_an_answer_outside_the_candidates():
    rng = ScriptedRng(lambda site, c: 99)
    with pytest.raises(ValueError):
        rng.randint("stage.block_count", 5, 11)


# =============================================================== pathfinding
def _bfs_dist(target, blocked):
    dist = {target: 0}
    q = deque([target])
    while q:
        r, c = q.popleft()
        for d in DIRECTIONS:
            dr, dc = DIRECTION_OFFSET[d]
            n = (r + dr, c + dc)
            if 0 <= n[0] < 6 and 0 <= n[1] < 6 and n not in dist and n not in blocked:
                dist[n] = dist[(r, c)] + 1
                q.append(n)
    return dist


@pytest.mark.parametrize("target,expected", [
    ((4, 4), (3, 2)),  # up (row+1) and right tie: up
    ((0, 0), (1, 2)),  # down and left: down
    ((0, 4), (1, 2)),  # down and right: down
    ((4, 0), (3, 2)),  # up and left: up
    ((2, 5), (2, 3)),  # right only
])
def test_bfs_first_step_tie_order_up_down_left_right(target, expected):
    s = state(player=dict(row=target[0], col=target[1]))
    got = pathfinding.find_next_move((2, 2), target, s.grid, False, set(), FIRST)
    assert got == expected


def test_bfs_first_step_is_first_direction_on_a_shortest_path_random_boards():
    # truth: distances by an independent BFS from the target; the first direction
    # (up, down, left, right) whose neighbour is one step closer
    rnd = random.Random(7)
    checked = 0
    for _ in range(400):
        blocked = {(rnd.randrange(6), rnd.randrange(6)) for _ in range(rnd.randrange(14))}
        start = (rnd.randrange(6), rnd.randrange(6))
        target = (rnd.randrange(6), rnd.randrange(6))
        if start in blocked or target in blocked or start == target:
            continue
        s = state(player=dict(row=target[0], col=target[1]),
                  blocks=[dict(row=r, col=c, kind="data", points=1) for r, c in blocked])
        dist = _bfs_dist(target, blocked)
        moves = pathfinding.find_path(start, target, s.grid, False, set())
        if start not in dist:
            assert moves == set()
            continue
        want = None
        for d in DIRECTIONS:
            dr, dc = DIRECTION_OFFSET[d]
            n = (start[0] + dr, start[1] + dc)
            if dist.get(n, 99) == dist[start] - 1:
                want = n
                break
        assert moves == {want}
        checked += 1
    assert checked > 200


def test_second_bfs_ignoring_enemies_then_free_first_move():
    # corridor on row 0; A (daemon) at (0,2) stunned, B at (0,4): first BFS has no
    # path (A blocks), the second (ignoring enemies) gives (0,3), which is free.
    s = state(blocks=wall_row1_except(), enemies=[
        dict(type="daemon", row=0, col=2, stunned=True), dict(type="daemon", row=0, col=4)],
        owned=["wait"], player=dict(row=0, col=0, energy=5))
    act(s, P("wait"))
    assert enemies(s) == [("daemon", 0, 2, 3), ("daemon", 0, 3, 3)]


def test_manhattan_fallback_may_step_away_from_the_player():
    # as above with B at (0,3): the second BFS's move (0,2) is taken by A, so
    # executeEnemyStepWithCapture's fallback takes the free neighbour nearest the
    # player by Manhattan distance: only (0,4), one step farther.
    s = state(blocks=wall_row1_except(), enemies=[
        dict(type="daemon", row=0, col=2, stunned=True), dict(type="daemon", row=0, col=3)],
        owned=["wait"], player=dict(row=0, col=0, energy=5))
    act(s, P("wait"))
    assert enemies(s) == [("daemon", 0, 2, 3), ("daemon", 0, 4, 3)]


def test_transmissions_block_both_bfs_and_the_fallback():
    # transmission T at (0,2) in the corridor: B at (0,3) cannot pass; fallback (0,4)
    s = state(blocks=wall_row1_except(), enemies=[dict(type="daemon", row=0, col=3)],
              transmissions=[dict(row=0, col=2, turns=5, type="virus")],
              owned=["wait"], player=dict(row=0, col=0, energy=5))
    act(s, P("wait"))
    assert enemies(s) == [("daemon", 0, 4, 3)]


def test_longer_path_around_an_enemy():
    # player (0,0); stunned daemon at (0,1); daemon at (0,2) -> path (1,2),(1,1),(1,0),(0,0)
    s = state(enemies=[dict(type="daemon", row=0, col=1, stunned=True),
                       dict(type="daemon", row=0, col=2)],
              owned=["wait"], player=dict(row=0, col=0, energy=5))
    act(s, P("wait"))
    assert enemies(s) == [("daemon", 0, 1, 3), ("daemon", 1, 2, 3)]


def test_glitch_walks_over_blocks_others_go_around():
    blocks = [dict(row=r, col=2, kind="data", points=1) for r in range(5)]  # wall col 2, gap at row 5
    s = state(blocks=blocks, player=dict(row=0, col=0, energy=5), owned=["wait"],
              enemies=[dict(type="glitch", row=0, col=4), dict(type="daemon", row=1, col=4)])
    act(s, P("wait"))
    got = {e.type: (e.row, e.col) for e in s.enemies}
    assert got["glitch"] == (0, 3)      # straight left
    assert got["daemon"] == (2, 4)      # up, towards the gap at (5, 2)


def test_virus_moves_twice_or_moves_then_attacks_or_attacks_once():
    far = state(player=dict(row=0, col=0, energy=5), owned=["wait"],
                enemies=[dict(type="virus", row=0, col=3)])
    act(far, P("wait"))
    assert enemies(far) == [("virus", 0, 1, 2)] and far.player.health == 3
    mid = state(player=dict(row=0, col=0, energy=5), owned=["wait"],
                enemies=[dict(type="virus", row=0, col=2)])
    act(mid, P("wait"))
    assert enemies(mid) == [("virus", 0, 1, 2)] and mid.player.health == 2
    near = state(player=dict(row=0, col=0, energy=5), owned=["wait"],
                 enemies=[dict(type="virus", row=0, col=1)])
    act(near, P("wait"))
    assert enemies(near) == [("virus", 0, 1, 2)] and near.player.health == 2


def test_enemy_order_is_reshuffled_every_substep():
    rec = RecordingRng(ScriptedRng(first))
    s = state(player=dict(row=0, col=0, energy=5), owned=["wait"],
              enemies=[dict(type="virus", row=5, col=5), dict(type="daemon", row=5, col=0)])
    act(s, P("wait"), rec)
    assert rec.sites().count("enemy.order") == 2
    rec2 = RecordingRng(ScriptedRng(first))
    s2 = state(player=dict(row=0, col=0, energy=5), owned=["wait"],
               enemies=[dict(type="glitch", row=5, col=5), dict(type="daemon", row=5, col=0)])
    act(s2, P("wait"), rec2)
    assert rec2.sites().count("enemy.order") == 1


def test_all_step0_moves_run_before_the_virus_second_step():
    # corridor; player (0,0), daemon at (0,2), virus at (0,4). Virus first at
    # step 0: blocked by the daemon -> (0,3) (second BFS); daemon -> (0,1);
    # step 1: virus -> (0,2). (Two virus steps before the daemon's would end at (0,4).)
    order = []

    def cb(site, cands):
        if site == "enemy.order":
            order.append([e.type for e in cands])
            return sorted(cands, key=lambda e: e.type != "virus")  # virus first
        return first(site, cands)

    s = state(blocks=wall_row1_except(), player=dict(row=0, col=0, energy=5), owned=["wait"],
              enemies=[dict(type="daemon", row=0, col=2), dict(type="virus", row=0, col=4)])
    act(s, P("wait"), ScriptedRng(cb))
    assert enemies(s) == [("daemon", 0, 1, 3), ("virus", 0, 2, 2)]
    assert len(order) == 2


def test_hatched_enemy_is_disabled_for_its_first_turn():
    s = state(player=dict(row=0, col=0, energy=5), owned=["wait"],
              transmissions=[dict(row=0, col=3, turns=1, type="daemon")])
    act(s, P("wait"))
    assert enemies(s) == [("daemon", 0, 3, 3)] and s.enemies[0].disabled_turns == 0
    act(s, P("wait"))
    assert enemies(s) == [("daemon", 0, 2, 3)]


def test_stunned_enemy_skips_one_move():
    s = state(player=dict(row=0, col=0, energy=5), owned=["wait"],
              enemies=[dict(type="daemon", row=0, col=3)])
    act(s, RIGHT)  # hit: 3 -> 2 HP, stunned, then the enemy turn (it skips)
    assert enemies(s) == [("daemon", 0, 3, 2)] and not s.enemies[0].is_stunned
    act(s, P("wait"))
    assert enemies(s) == [("daemon", 0, 2, 2)]


def test_cryptog_last_known_position_updates_only_when_visible():
    s = state(player=dict(row=0, col=0, energy=5), owned=["wait"],
              enemies=[dict(type="cryptog", row=3, col=3)])
    act(s, P("wait"))           # moves down to (2,3): hidden
    e = s.enemies[0]
    assert (e.row, e.col) == (2, 3) and (e.last_known_row, e.last_known_col) == (3, 3)
    obs = build_observation(s)
    assert obs.cells[2][3].enemy is None and obs.cryptog_hints == ((3, 3),)
    s.player.col = 3           # same column: visible
    assert build_observation(s).cells[2][3].enemy.type == "cryptog"


# =============================================================== player actions
def test_line_of_fire_hits_first_target_transmission_before_enemy_blocks_stop():
    s = state(player=dict(row=0, col=0), transmissions=[dict(row=0, col=3, type="virus")],
              enemies=[dict(type="daemon", row=0, col=4)])
    r = act(s, RIGHT)
    assert r.success and r.transmissions_killed == 1 and s.transmissions == []
    assert r.reward.kills == pytest.approx(0.3)  # transmissions count as kills
    s = state(player=dict(row=0, col=0), blocks=[dict(row=0, col=2, kind="data", points=1)],
              enemies=[dict(type="daemon", row=0, col=4)])
    r = act(s, RIGHT)
    assert r.moved_to == (0, 1)  # the block stops the line: move


def test_glitch_on_a_block_is_a_target_and_makes_the_move_legal():
    s = state(player=dict(row=0, col=0), blocks=[dict(row=0, col=1, kind="data", points=1)],
              enemies=[dict(type="glitch", row=0, col=1, hp=1)])
    assert RIGHT in get_valid_actions(s)
    r = act(s, RIGHT)
    assert r.enemies_killed == 1 and s.enemies == []
    assert RIGHT not in get_valid_actions(s)


def test_scheduled_spawns_pay_no_kill_reward():
    s = state(player=dict(row=0, col=0), enemies=[dict(type="virus", row=0, col=1, hp=1, scheduled=True)])
    r = act(s, RIGHT)
    assert r.enemies_killed == 0 and r.reward.kills == 0.0
    s = state(player=dict(row=0, col=0), transmissions=[dict(row=0, col=3, type="virus", scheduled=True)])
    assert act(s, RIGHT).reward.kills == 0.0


def test_walking_onto_a_data_siphon_collects_it():
    s = state(player=dict(row=0, col=0), siphons=[(0, 1)])
    r = act(s, RIGHT)
    assert s.player.data_siphons == 1 and r.reward.data_siphon_collected == 1.0
    assert s.grid.cells[0][1].content == "empty"


def test_invalid_action_fails_with_zero_reward_and_ends_the_headless_episode():
    g = HeadlessGame.from_description(dict(player=dict(row=0, col=0)), rng=FIRST)
    obs, reward, done, info = g.step(DOWN)
    assert reward == 0.0 and done and info["invalid_action"]


# =============================================================== siphon
def test_siphon_cross_yield_spawn_count_and_reveal():
    s = state(player=dict(row=2, col=2, data_siphons=1), owned=["row"], blocks=[
        dict(row=3, col=2, kind="data", points=5),                  # up: 5 points, spawns 5
        dict(row=1, col=2, kind="program", program="push"),         # down: spawns 4
        dict(row=2, col=1, kind="question", points=3),              # left: 3 points, spawns 3
        dict(row=2, col=3, kind="program", program="row"),          # right: owned, still spawns 2
    ], resources=[dict(row=2, col=2, credits=2)])
    r = act(s, SIPHON, RandomRng(0))
    assert r.success
    assert s.player.score == 8 and s.player.credits == 2 and s.owned_programs == ["row", "push"]
    assert s.pending_siphon_transmissions == 0  # placed at the end of the enemy turn
    assert len(s.transmissions) == 5 + 4 + 3 + 2
    assert all(t.spawned_from_siphon and not t.is_from_scheduled_task for t in s.transmissions)
    g = s.grid.cells
    assert g[2][1].block.kind == "data" and g[2][1].block.spawn == 0   # question revealed
    assert all(g[r_][c].has_block and g[r_][c].block.spawn == 0 and g[r_][c].is_siphoned
               for r_, c in [(3, 2), (1, 2), (2, 1), (2, 3)])
    assert g[2][2].siphon_center and g[2][2].resources is None
    assert s.scheduled_task_interval == 11 and s.next_scheduled_task_turn == 12 + 5 - 0
    assert r.reward.score_gain == 4.0


def test_siphon_skips_already_siphoned_cells():
    s = state(player=dict(row=2, col=2, data_siphons=2), blocks=[
        dict(row=3, col=2, kind="data", points=4, siphoned=True)])
    act(s, SIPHON)
    assert s.player.score == 0 and len(s.transmissions) == 0


def test_siphon_quality_is_a_dominance_test():
    # checkForBetterSiphonPosition: no blocks in the cross -> every non-block cell is
    # checked; (5,5)'s cross has 3 credits more and the same (no) blocks.
    res = [dict(row=5, col=5, credits=3)]
    s = state(player=dict(row=0, col=0, data_siphons=1), resources=res, exit=(0, 5))
    r = act(s, SIPHON)
    assert r.reward.siphon_quality == pytest.approx(-0.5 * 3 * 0.05)
    # the better cell must have >= of both: 3 credits vs 1 energy is not dominance
    res = [dict(row=5, col=5, credits=3), dict(row=0, col=0, energy=1)]
    s = state(player=dict(row=0, col=0, data_siphons=1), resources=res, exit=(0, 5))
    s.grid.cells[5][5].resources = ("credits", 3)
    s.grid.cells[0][0].resources = ("energy", 4)
    assert act(s, SIPHON).reward.siphon_quality == 0.0


# =============================================================== programs
def prog_state(program, **kw):
    kw.setdefault("player", dict(row=2, col=2))
    pl = dict(kw["player"])
    pl.setdefault("credits", 20)
    pl.setdefault("energy", 20)
    kw["player"] = pl
    kw.setdefault("owned", [program])
    return state(**kw)


def test_every_program_pays_its_cost_and_only_wait_runs_the_enemy_turn():
    for p in PROGRAMS:
        if p == "undo":
            continue
        s = prog_state(p, player=dict(row=2, col=2, hp=2), enemies=[
            dict(type="daemon", row=2, col=4), dict(type="virus", row=4, col=2),
            dict(type="glitch", row=3, col=3)],
            transmissions=[dict(row=0, col=0, type="virus", turns=3)],
            blocks=[dict(row=3, col=3, kind="data", points=2)], siphoned=[(2, 3)])
        ok, why = programs.can_execute_program(s, p)
        assert ok, (p, why)
        r = act(s, P(p))
        assert r.success, p
        c, e = PROGRAM_COST[p]
        gain_e = 4 if p == "exch" else 0
        assert s.player.credits == 20 - c, p
        assert s.player.energy == 20 - e + gain_e, p
        assert (s.turn_count == 1) == (p == "wait"), p


def test_push_diagonal_first_and_no_block_or_enemy_checks():
    # enemy at (3,3), player (2,2): diagonal (4,4). Enemy at (2,4): row step n/a -> (2,5).
    s = prog_state("push", enemies=[dict(type="daemon", row=3, col=3), dict(type="daemon", row=2, col=4)],
                   blocks=[dict(row=4, col=4, kind="data", points=1)])
    act(s, P("push"))
    assert enemies(s) == [("daemon", 2, 5, 3), ("daemon", 4, 4, 3)]  # onto the block


def test_push_collision_keeps_the_later_enemy_and_can_stack():
    # A (2,3) wants (2,4); B (2,4) wants (2,5); C (2,5) has no candidate (edge) and
    # stays: A moves to (2,4), B moves to (2,5) = C's cell (stacked).
    s = prog_state("push", enemies=[dict(type="daemon", row=2, col=3), dict(type="virus", row=2, col=4),
                                    dict(type="glitch", row=2, col=5)])
    act(s, P("push"))
    assert enemies(s) == [("daemon", 2, 4, 3), ("glitch", 2, 5, 2), ("virus", 2, 5, 2)]
    # two enemies wanting the same cell: the first in list order gets it
    s = prog_state("push", player=dict(row=0, col=0),
                   enemies=[dict(type="daemon", row=1, col=5), dict(type="virus", row=0, col=5)])
    act(s, P("push"))  # daemon wants (2,5); virus has no candidate (col 6, row 0 fixed) -> stays
    assert enemies(s) == [("daemon", 2, 5, 3), ("virus", 0, 5, 2)]


def test_pull_never_enters_the_player_cell():
    s = prog_state("pull", enemies=[dict(type="daemon", row=2, col=3),   # adjacent: stays
                                    dict(type="virus", row=3, col=3),    # diagonal: (2,2) excluded -> row step (2,3)? taken later
                                    dict(type="glitch", row=4, col=4)])  # -> (3,3)
    act(s, P("pull"))
    # virus wants row-only (2,3) (first nearest after the excluded diagonal); the
    # daemon has no candidate and is not in the taken set, so the virus stacks on it
    assert enemies(s) == [("daemon", 2, 3, 3), ("glitch", 3, 3, 2), ("virus", 2, 3, 2)]


def test_crash_clears_the_8_neighbours_keeps_resources():
    s = prog_state("crash", blocks=[dict(row=3, col=3, kind="data", points=2),
                                    dict(row=4, col=4, kind="data", points=2)],
                   resources=[dict(row=3, col=3, energy=2)],
                   enemies=[dict(type="daemon", row=1, col=1), dict(type="virus", row=2, col=4)],
                   transmissions=[dict(row=1, col=2, type="virus")])
    r = act(s, P("crash"))
    assert not s.grid.cells[3][3].has_block and s.grid.cells[3][3].resources == ("energy", 2)
    assert s.grid.cells[4][4].has_block
    assert enemies(s) == [("virus", 2, 4, 2)] and s.transmissions == []
    assert r.reward.kills == pytest.approx(0.6)


def test_warp_targets_enemies_then_transmissions_and_can_complete_the_stage():
    s = prog_state("warp", exit=(5, 5), transmissions=[dict(row=5, col=5, type="virus")],
                   enemies=[dict(type="daemon", row=0, col=4)])
    seen = []

    def cb(site, cands):
        if site == "warp.target":
            seen.append(list(cands))
            return cands[1]  # the transmission on the exit
        return first(site, cands)

    r = act(s, P("warp"), ScriptedRng(cb))
    assert seen == [[(0, 4, True), (5, 5, False)]]
    assert r.stage_advanced and s.current_stage == 2
    assert r.reward.stage_completion == 1.0
    assert enemies(s) == [("daemon", 0, 4, 3)]  # enemies persist into stage 2


def test_warp_onto_a_data_siphon_does_not_collect_it():
    s = prog_state("warp", siphons=[(0, 5)], transmissions=[dict(row=0, col=5, type="virus")])
    act(s, P("warp"))
    assert (s.player.row, s.player.col) == (0, 5) and s.player.data_siphons == 0
    assert s.grid.cells[0][5].has_data_siphon


def test_poly_changes_every_type_and_kills_a_one_hp_daemon():
    s = prog_state("poly", enemies=[dict(type="daemon", row=0, col=0, hp=1),
                                    dict(type="virus", row=5, col=5, hp=1),
                                    dict(type="daemon", row=5, col=0, hp=3)])
    seen = []

    def cb(site, cands):
        seen.append(list(cands))
        return cands[-1]

    r = act(s, P("poly"), ScriptedRng(cb))
    assert seen[0] == ["virus", "glitch", "cryptog"] and seen[1] == ["daemon", "glitch", "cryptog"]
    assert enemies(s) == [("cryptog", 5, 0, 2), ("cryptog", 5, 5, 1)]
    assert r.enemies_killed == 1


def test_damage_programs():
    # ROW / COL: attack damage to every enemy in the line, blocks ignored
    s = prog_state("row", player=dict(row=2, col=0, attack=2),
                   blocks=[dict(row=2, col=1, kind="data", points=1)],
                   enemies=[dict(type="daemon", row=2, col=4), dict(type="virus", row=2, col=5),
                            dict(type="virus", row=3, col=0)])
    act(s, P("row"))
    assert enemies(s) == [("daemon", 2, 4, 1), ("virus", 3, 0, 2)] and s.enemies[0].is_stunned
    s = prog_state("col", enemies=[dict(type="cryptog", row=5, col=2)])
    act(s, P("col"))
    assert enemies(s) == [("cryptog", 5, 2, 1)]
    # DEBUG: enemies on blocks
    s = prog_state("debug", blocks=[dict(row=4, col=4, kind="data", points=1)],
                   enemies=[dict(type="glitch", row=4, col=4), dict(type="virus", row=0, col=0)])
    act(s, P("debug"))
    assert enemies(s) == [("glitch", 4, 4, 1), ("virus", 0, 0, 2)]
    # HACK: enemies on siphoned cells
    s = prog_state("hack", siphoned=[(0, 0)], enemies=[dict(type="virus", row=0, col=0, hp=1),
                                                       dict(type="virus", row=0, col=1)])
    assert act(s, P("hack")).enemies_killed == 1 and enemies(s) == [("virus", 0, 1, 2)]
    # ANTI-V: 1 damage to every virus
    s = prog_state("anti-v", player=dict(row=2, col=2, attack=3),
                   enemies=[dict(type="virus", row=0, col=0), dict(type="daemon", row=0, col=1)])
    act(s, P("anti-v"))
    assert enemies(s) == [("daemon", 0, 1, 3), ("virus", 0, 0, 1)]


def test_d_bom_kills_nearest_daemon_and_splashes_neighbours():
    s = prog_state("d_bom", enemies=[dict(type="daemon", row=5, col=5),
                                     dict(type="daemon", row=2, col=4),   # nearest (2)
                                     dict(type="virus", row=3, col=5, hp=1),
                                     dict(type="glitch", row=1, col=3),
                                     dict(type="virus", row=2, col=4)])   # same cell: spared
    r = act(s, P("d_bom"))
    assert enemies(s) == [("daemon", 5, 5, 3), ("glitch", 1, 3, 1), ("virus", 2, 4, 2)]
    assert r.enemies_killed == 2


def test_flag_and_resource_programs():
    s = prog_state("delay", transmissions=[dict(row=0, col=0, type="virus", turns=1)])
    act(s, P("delay"))
    assert s.transmissions[0].turns_remaining == 4
    s = prog_state("reduc", blocks=[dict(row=0, col=1, kind="data", points=3),
                                    dict(row=0, col=2, kind="data", points=3, siphoned=True),
                                    dict(row=0, col=3, kind="question", program="push")])
    act(s, P("reduc"))
    g = s.grid.cells[0]
    assert (g[1].block.spawn, g[2].block.spawn, g[3].block.spawn) == (2, 3, 3)
    s = prog_state("score", stage=3)
    act(s, P("score"))
    assert s.player.score == 5
    assert not programs.can_execute_program(prog_state("score", stage=8), "score")[0]
    s = prog_state("atk+")
    act(s, P("atk+"))
    act(s, P("atk+"))
    assert s.player.attack_damage == 3 and not programs.can_execute_program(s, "atk+")[0]
    s = prog_state("exch", player=dict(row=0, col=0, credits=4, energy=0))
    act(s, P("exch"))
    assert (s.player.credits, s.player.energy) == (0, 4)
    s = prog_state("reset", player=dict(row=0, col=0, hp=2))
    r = act(s, P("reset"))
    assert s.player.health == 3 and r.reward.program_waste == -0.3 and r.reward.hp_recovery == 1.0
    for name, attr in [("show", "show_activated"), ("calm", "scheduled_tasks_disabled"),
                       ("step", "step_active")]:
        s = prog_state(name)
        act(s, P(name))
        assert getattr(s, attr)
    s = prog_state("siph+")
    act(s, P("siph+"))
    assert s.player.data_siphons == 1


def test_calm_stops_scheduled_spawns():
    s = prog_state("calm", turn=11, owned=["calm", "wait"])
    act(s, P("calm"))
    act(s, P("wait"))
    assert s.turn_count == 12 and s.transmissions == []
    s = prog_state("wait", turn=11)
    act(s, P("wait"))
    assert len(s.transmissions) == 1 and s.transmissions[0].is_from_scheduled_task
    assert s.next_scheduled_task_turn == 24


def test_step_skips_the_whole_next_enemy_turn_without_a_snapshot():
    s = prog_state("step", player=dict(row=0, col=0, energy=10), owned=["step", "wait"],
                   enemies=[dict(type="daemon", row=0, col=4)],
                   transmissions=[dict(row=5, col=5, type="virus", turns=1)])
    act(s, P("step"))
    act(s, UP)  # the turn that STEP skips
    assert s.turn_count == 0 and enemies(s) == [("daemon", 0, 4, 3)] and len(s.transmissions) == 1
    assert s.game_history == [] and not s.step_active
    act(s, P("wait"))
    assert s.turn_count == 1 and len(s.game_history) == 1 and len(s.enemies) == 2


# =============================================================== UNDO
def test_undo_chain_restores_turn_ends_and_refunds_its_cost():
    s = prog_state("undo", player=dict(row=0, col=0, credits=3), owned=["undo"],
                   enemies=[dict(type="daemon", row=5, col=5)])
    act(s, UP)      # turn 1 -> snapshot A (player (1,0))
    act(s, UP)      # turn 2 -> snapshot B (player (2,0))
    assert len(s.game_history) == 2
    act(s, P("undo"))  # restores B: the current turn end (nothing visible changes)
    assert (s.player.row, s.player.col, s.player.credits) == (2, 0, 3) and s.turn_count == 2
    act(s, P("undo"))  # restores A
    assert (s.player.row, s.player.col, s.player.credits) == (1, 0, 3) and s.turn_count == 1
    assert enemies(s) == [("daemon", 4, 5, 3)]
    assert not programs.can_execute_program(s, "undo")[0]  # history empty


def test_undo_takes_back_free_programs_and_loses_spawn_flags():
    s = prog_state("undo", player=dict(row=0, col=0, credits=10), owned=["undo", "crash"],
                   blocks=[dict(row=1, col=1, kind="data", points=1)],
                   enemies=[dict(type="daemon", row=5, col=5, from_siphon=True)])
    act(s, UP)
    assert s.enemies[0].spawned_from_siphon
    act(s, P("crash"))      # clears (1,1)? player at (1,0): its neighbours include (1,1)
    assert not s.grid.cells[1][1].has_block and s.player.credits == 7
    act(s, P("undo"))
    assert s.grid.cells[1][1].has_block and s.player.credits == 10
    assert not s.enemies[0].spawned_from_siphon          # SWIFT-BUG kept
    s2 = from_description(describe(s), Fixes(undo_keeps_spawn_flags=True))
    assert s2.canonical() == s.canonical()


def test_undo_history_crosses_a_stage_unless_fixed():
    def run(fixes):
        s = from_description(dict(player=dict(row=4, col=5, credits=5), owned=["undo"],
                                  exit=(5, 5)), fixes)
        act(s, LEFT)          # a turn: snapshot with the stage-1 board
        act(s, RIGHT)
        act(s, UP)            # exit: stage 2, history kept
        return s

    s = run(None)
    assert s.current_stage == 2 and len(s.game_history) == 2
    exit_before = s.exit_position
    assert act(s, P("undo")).success
    assert s.grid.cells[5][5].is_exit and s.exit_position == exit_before  # old board, new exit pos
    s = run(Fixes(clear_history_on_stage_change=True))
    assert s.game_history == [] and not programs.can_execute_program(s, "undo")[0]


# =============================================================== stages
def test_enemies_and_transmissions_persist_and_new_blocks_avoid_them():
    for seed in range(30):
        s = state(player=dict(row=4, col=5), exit=(5, 5),
                  enemies=[dict(type="daemon", row=2, col=2), dict(type="virus", row=3, col=1)],
                  transmissions=[dict(row=1, col=3, type="glitch", turns=2)])
        r = act(s, UP, RandomRng(seed))
        assert r.stage_advanced and s.current_stage == 2
        assert enemies(s) == [("daemon", 2, 2, 3), ("virus", 3, 1, 2)]
        old = [t for t in s.transmissions if t.enemy_type == "glitch" and (t.row, t.col) == (1, 3)]
        assert len(old) == 1 and old[0].turns_remaining == 2
        assert len(s.transmissions) == 1 + STARTING_ENEMIES[1]
        for (r_, c) in [(2, 2), (3, 1), (1, 3)]:
            assert not s.grid.cells[r_][c].has_block
        assert s.player.health == 3 and s.turn_count == 0


def test_block_count_is_drawn_once_and_only_the_placement_retried():
    # scripted: n = 5; attempt 1 walls in the player's corner (0,0) with (0,1)
    # and (1,0) and three more cells -> invalid (isolated), attempt 2 is valid.
    cells = [(0, 1), (1, 0), (2, 2), (2, 3), (3, 2)] + [(2, 2), (2, 3), (3, 2), (3, 3), (1, 2)]
    answers = []

    def cb(site, cands):
        if site == "stage.block_count":
            answers.append("n")
            return 5
        if site in ("stage.block.row", "stage.block.col"):
            if site.endswith("row"):
                cb.cur = cells.pop(0)
                return cb.cur[0]
            return cb.cur[1]
        return first(site, cands)

    rec = RecordingRng(ScriptedRng(cb))
    s = state(player=dict(row=0, col=0), exit=(5, 5))
    s.grid.cells[5][5].set_content("exit")
    generation.place_blocks_with_validation(s, rec)
    assert answers == ["n"] and cells == []
    blocks = sorted((c.row, c.col) for c in s.grid.all_cells() if c.has_block)
    assert blocks == [(1, 2), (2, 2), (2, 3), (3, 2), (3, 3)]


def test_block_count_matches_the_single_draw_over_many_stages():
    counts = Counter()
    for seed in range(300):
        rec = RecordingRng(RandomRng(seed))
        s = new_game(rec)
        draws = [v for (site, _, _, v) in rec.log if site == "stage.block_count"]
        assert len(draws) == 1
        n = sum(c.has_block for c in s.grid.all_cells())
        assert n == draws[0]
        assert generation.is_valid_placement(s.grid)
        counts[n] += 1
    assert set(counts) == set(range(5, 12))


def test_failed_placement_after_100_attempts_leaves_no_blocks():
    # every attempt draws the same 5 cells that isolate (0,0): always invalid
    cyc = [(0, 1), (1, 0), (2, 2), (2, 3), (3, 2)]

    def cb(site, cands):
        if site == "stage.block_count":
            return 5
        if site == "stage.block.row":
            cb.i = getattr(cb, "i", -1) + 1
            return cyc[cb.i % 5][0]
        if site == "stage.block.col":
            return cyc[cb.i % 5][1]
        return first(site, cands)

    s = state(player=dict(row=0, col=0), exit=(5, 5))
    assert not generation.place_blocks_with_validation(s, ScriptedRng(cb))
    assert cb.i == 499 and not any(c.has_block for c in s.grid.all_cells())


def test_exit_is_a_dead_end_for_layout_validation():
    # (0,4) reachable only through the exit (0,5): invalid
    s = state(player=dict(row=0, col=0), exit=(0, 5),
              blocks=[dict(row=0, col=3, kind="data", points=1), dict(row=1, col=4, kind="data", points=1)])
    s.grid.cells[1][5].set_content("data_siphon")
    assert not generation.is_path_connected(s.grid)
    s.grid.cells[0][5].set_content("empty")
    assert generation.is_path_connected(s.grid)


def test_block_placement_hangs_in_swift_when_the_board_is_full_of_enemies():
    ens = [dict(type="daemon", row=r, col=c) for r in range(1, 5) for c in range(6)]
    s = state(player=dict(row=0, col=0), exit=(5, 5), enemies=ens)
    with pytest.raises(SwiftHang):
        generation.place_blocks_with_validation(s, RandomRng(0))


def test_transmissions_avoid_the_line_of_fire_and_may_sit_on_the_exit():
    for seed in range(200):
        s = new_game(RandomRng(seed))
        for t in s.transmissions:
            in_line = (t.row == s.player.row or t.col == s.player.col)
            if in_line:  # then something (a block or an enemy) must stand in between
                dr = (t.row > s.player.row) - (t.row < s.player.row)
                dc = (t.col > s.player.col) - (t.col < s.player.col)
                r, c = s.player.row + dr, s.player.col + dc
                between = []
                while (r, c) != (t.row, t.col):
                    between.append(s.grid.cells[r][c].has_block)
                    r, c = r + dr, c + dc
                assert any(between), seed
    # scripted: first offer a cell in the line of fire (rejected), then the exit corner
    offers = [(0, 3), (5, 5)]

    def cb(site, cands):
        if site.startswith("spawn.lof"):
            if site.endswith("row"):
                cb.cur = offers.pop(0)
                return cb.cur[0]
            return cb.cur[1]
        return first(site, cands)

    s = state(player=dict(row=0, col=0), exit=(5, 5))
    generation.spawn_random_transmissions(s, ScriptedRng(cb), 1)
    assert [(t.row, t.col) for t in s.transmissions] == [(5, 5)]


def test_resources_on_empty_and_siphon_cells_not_on_exit_or_blocks():
    for seed in range(20):
        s = new_game(RandomRng(seed))
        for c in s.grid.all_cells():
            if c.content in ("empty", "data_siphon"):
                assert c.resources is not None and 1 <= c.resources[1] <= 3
            else:
                assert c.resources is None
        pc = s.grid.cells[s.player.row][s.player.col]
        assert pc.content == "empty" and pc.resources is not None


def test_stage_8_completion_pays_64_unless_fixed():
    def win(fixes):
        s = from_description(dict(player=dict(row=4, col=5, hp=2), stage=8, exit=(5, 5)), fixes)
        return act(s, UP)

    r = win(None)
    assert r.game_won and r.reward.stage_completion == 64.0 and r.reward.hp_recovery == 1.0
    assert r.reward.victory == 500.0
    assert win(Fixes(stage8_reward_100=True)).reward.stage_completion == 100.0


def test_distance_shaping_on_the_exit_step_and_none_on_death():
    s = state(player=dict(row=5, col=3), exit=(5, 5))
    s.grid.cells[5][5].set_content("exit")
    r = act(s, RIGHT)
    assert r.reward.distance_shaping == pytest.approx(0.05)
    r = act(s, RIGHT)
    assert r.stage_advanced and r.reward.distance_shaping == pytest.approx(0.05)
    s = state(player=dict(row=0, col=0, hp=1), exit=(5, 5), stage=3,
              enemies=[dict(type="daemon", row=1, col=1, from_siphon=True)])
    r = act(s, RIGHT)  # one step nearer the exit, then the daemon (now adjacent) attacks
    assert r.player_died and r.reward.distance_shaping == 0.0
    assert r.reward.death_penalty == -1.5 and r.reward.siphon_death_penalty == -10.0


# =============================================================== observation, mask
def test_observation_hides_question_blocks_and_resources_under_blocks():
    s = state(player=dict(row=0, col=0), blocks=[dict(row=2, col=2, kind="question", points=4),
                                                 dict(row=3, col=3, kind="program", program="push")],
              resources=[dict(row=2, col=2, credits=2), dict(row=1, col=1, energy=3)],
              transmissions=[dict(row=4, col=4, type="glitch", turns=2)])
    o = build_observation(s)
    q = o.cells[2][2].block
    assert q.block_type == "question" and q.points is None and q.transmission_spawn_count is None
    assert o.cells[2][2].credits is None and o.cells[1][1].energy == 3
    assert o.cells[3][3].block.program_action_index == P("push") and o.cells[3][3].block.points == 0
    assert o.cells[4][4].transmission.enemy_type is None and o.cells[4][4].transmission.turns_until_spawn == 2
    s.show_activated = True
    assert build_observation(s).cells[4][4].transmission.enemy_type == "glitch"


def test_round_trip_description():
    for seed in range(10):
        g = HeadlessGame(seed=seed)
        pol = random.Random(seed)
        for _ in range(20):
            if g.step(pol.choice(g.valid_actions()))[2]:
                break
        s2 = from_description(describe(g.state))
        if "extra_exits" not in describe(g.state):
            assert s2.canonical() == g.state.canonical()


# =============================================================== random play
def _invariants(s):
    p = s.player
    assert 0 <= p.health <= 3 and p.credits >= 0 and p.energy >= 0 and p.data_siphons >= 0
    assert 1 <= s.current_stage <= 8
    for e in s.enemies:
        assert 1 <= e.hp <= ENEMY_MAX_HP[e.type]
        assert (e.row, e.col) != (p.row, p.col)
        assert 0 <= e.row < 6 and 0 <= e.col < 6
    cells = [(t.row, t.col) for t in s.transmissions]
    assert len(set(cells)) == len(cells)
    for t in s.transmissions:
        assert not s.grid.cells[t.row][t.col].has_block and (t.row, t.col) != (p.row, p.col)
        assert t.turns_remaining >= 1
    assert s.pending_siphon_transmissions >= 0


def test_random_play_many_seeds_invariants_and_mask_consistency():
    steps = 0
    deepest = 1
    for seed in range(120):
        fixes = Fixes(clear_history_on_stage_change=True) if seed % 2 else None
        g = HeadlessGame(seed=seed, options=fixes)
        pol = random.Random(1000 + seed)
        for _ in range(250):
            valid = g.valid_actions()
            if not valid:  # possible: walled in by blocks, no siphon, no usable program
                break
            if steps % 7 == 0:  # every action the mask refuses fails (no state change)
                bad = [a for a in range(28) if a not in valid]
                a = pol.choice(bad)
                c = g.state.clone()
                assert not try_execute_action(c, a, RandomRng(0)).success
                assert c.canonical() == g.state.canonical()
            # bias towards the exit so that later stages are reached
            a = pol.choice(valid)
            if pol.random() < 0.5:
                ex = g.state.exit_position
                best = [m for m in valid if m < 4 and (
                    abs(g.state.player.row + DIRECTION_OFFSET[DIRECTIONS[m]][0] - ex[0])
                    + abs(g.state.player.col + DIRECTION_OFFSET[DIRECTIONS[m]][1] - ex[1])
                    < abs(g.state.player.row - ex[0]) + abs(g.state.player.col - ex[1]))]
                if best:
                    a = pol.choice(best)
            try:
                obs, reward, done, info = g.step(a)
            except SwiftHang:
                break
            steps += 1
            assert g.last_result.success, (seed, a)
            _invariants(g.state)
            if fixes is not None:
                ex = g.state.exit_position
                assert [(c.row, c.col) for c in g.state.grid.all_cells() if c.is_exit] == [ex]
            deepest = max(deepest, g.state.current_stage)
            if done:
                break
    assert steps > 3000 and deepest >= 3


# =============================================================== doc entries pinned
def test_transmission_is_hit_before_an_enemy_on_the_same_cell():
    # findTargetInLineOfFire checks transmissions first (docs entry 9)
    s = state(player=dict(row=0, col=0), enemies=[dict(type="daemon", row=0, col=2)],
              transmissions=[dict(row=0, col=2, type="virus", turns=3)])
    r = act(s, RIGHT)  # the daemon is not hit (full HP) and then steps next to the player
    assert r.transmissions_killed == 1 and enemies(s) == [("daemon", 0, 1, 3)]


def test_undo_restores_turn_count_but_not_the_schedule():
    # GameStateSnapshot has turnCount, not nextScheduledTaskTurn / interval (docs entry 8)
    s = prog_state("undo", player=dict(row=0, col=0, credits=5, data_siphons=1), owned=["undo"],
                   exit=(5, 5))
    act(s, UP)                       # turn 1, snapshot A
    act(s, SIPHON, RandomRng(0))     # turn 2: interval 11, next 17
    assert (s.turn_count, s.scheduled_task_interval, s.next_scheduled_task_turn) == (2, 11, 17)
    act(s, P("undo"))
    act(s, P("undo"))                # back to A
    assert s.turn_count == 1 and s.player.data_siphons == 1
    assert (s.scheduled_task_interval, s.next_scheduled_task_turn) == (11, 17)


def test_siphon_on_a_step_skipped_turn_leaves_its_spawns_pending_until_the_next_turn():
    s = prog_state("step", player=dict(row=2, col=2, energy=10, data_siphons=1),
                   owned=["step", "wait"], blocks=[dict(row=3, col=2, kind="data", points=2)])
    act(s, P("step"))
    act(s, SIPHON)                  # enemy turn skipped: nothing placed
    assert s.pending_siphon_transmissions == 2 and s.transmissions == [] and s.game_history == []
    act(s, P("wait"), RandomRng(1))
    assert s.pending_siphon_transmissions == 0 and len(s.transmissions) == 2


def test_warp_onto_a_glitch_on_a_block_puts_the_player_on_the_block():
    s = prog_state("warp", blocks=[dict(row=4, col=4, kind="data", points=3)],
                   enemies=[dict(type="glitch", row=4, col=4)], owned=["warp"])
    act(s, P("warp"))
    assert (s.player.row, s.player.col) == (4, 4) and s.grid.cells[4][4].has_block
    # calculateSiphonYieldAt is 0 on a block, but the siphon still takes the block under the player
    assert rules.calculate_siphon_yield_at(s, 4, 4) == (0, 0, [], frozenset())
    s.player.data_siphons = 1
    act(s, SIPHON, RandomRng(0))
    assert s.player.score == 3


def test_crash_counts_one_kill_per_cell_even_with_stacked_enemies():
    # removeEnemy(where: position) removes every enemy on the cell, counts one
    s = prog_state("crash", enemies=[dict(type="daemon", row=3, col=3), dict(type="virus", row=3, col=3),
                                     dict(type="glitch", row=1, col=1, scheduled=True)])
    r = act(s, P("crash"))
    assert s.enemies == [] and r.enemies_killed == 1


def test_block_placement_cap_fix_places_what_fits():
    ens = [dict(type="daemon", row=r, col=c) for r in range(1, 5) for c in range(6)]
    s = from_description(dict(player=dict(row=0, col=0), exit=(5, 5), enemies=ens),
                         Fixes(block_placement_caps_count=True))
    rng = ScriptedRng(lambda site, c: 11 if site == "stage.block_count" else first(site, c))
    generation.place_blocks_with_validation(s, rng)
    # the 8 free non-corner cells (rows 0 and 5) all take blocks only if valid; else none
    n = sum(c.has_block for c in s.grid.all_cells())
    assert n in (0, 8)


def test_observation_reports_siphon_center_and_enemy_flags():
    s = state(player=dict(row=2, col=2, data_siphons=1),
              enemies=[dict(type="daemon", row=5, col=5, from_siphon=True, stunned=True)])
    act(s, SIPHON, RandomRng(0))
    o = build_observation(s)
    assert o.cells[2][2].siphon_center
    e = o.cells[5][5].enemy
    assert e.spawned_from_siphon and not e.is_stunned  # stuns clear at the end of the enemy turn
