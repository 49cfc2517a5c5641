"""Issue 8: the jitrl HackMatrix env against the plain-Python port of the Swift
game (tests/hackmatrix_reference/), step for step.

Random positions (crowded boards, every program owned, random stage, flags,
HP, resources, stunned and flagged units) are converted to the reference
(``to_description``); then both play the same random legal actions. Every
random choice of the jitrl step (enemy order, new transmissions' cells and
types, POLY types, the WARP target, a new stage's board) is fed to the
reference's ``ScriptedRng`` / stage set-up, and after every step the whole
state (player, stage, schedule, flags, all 36 cells, enemies and
transmissions in list order, UNDO depth), the action mask and every reward
term are compared. All cases run as one batch through one jitted step.
"""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jitrl.envs.hackmatrix import rules
from jitrl.envs.hackmatrix.env import HackMatrix
from jitrl.envs.hackmatrix.state import (
    BLOCK_PROGRAM, BLOCK_QUESTION, CORNERS, ENEMY_MAX_HP, MAX_ENEMIES, NUM_PROGRAMS,
    PROGRAM_OFFSET, PROGRAM_SPAWN, EnvParams, wrap_game,
)
from tests import hackmatrix_reference as ref
from tests.hackmatrix_reference import generation as ref_gen
from tests.hackmatrix_reference import rules as ref_rules
from tests.hackmatrix_reference.state import Fixes, Transmission
from tests.hackmatrix_builders import random_crowded, to_description

UNDO_ACTION = PROGRAM_OFFSET + 9
STAGE_REWARDS = (1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 100.0)
#: reference reward field(s) -> jitrl term
TERMS = {
    "r_step": ("step_penalty",), "r_stage": ("stage_completion",), "r_score": ("score_gain",),
    "r_kill": ("kills",), "r_siphon_pickup": ("data_siphon_collected",),
    "r_distance": ("distance_shaping",), "r_victory": ("victory",),
    "r_death": ("death_penalty", "siphon_death_penalty"), "r_resource": ("resource_gain",),
    "r_resource_hold": ("resource_holding",), "r_hp": ("damage_penalty", "hp_recovery"),
    "r_siphon_quality": ("siphon_quality",), "r_reset_waste": ("program_waste",),
}


def random_position(seed):
    """A random mid-game jitrl EnvState (see the module docstring)."""
    rng = np.random.default_rng(10_000 + seed)
    g = random_crowded(seed, n_enemies=(0, 5 + seed % 6), n_trans=(0, 8), n_blocks=(0, 11))
    kind = np.asarray(g.block_kind).copy()
    pts = np.asarray(g.block_points).copy()
    spawn = np.asarray(g.block_spawn).copy()
    er, ec = int(g.exit_row), int(g.exit_col)
    kind[er, ec] = pts[er, ec] = spawn[er, ec] = 0  # a Swift cell is a block or the exit
    prog = np.full((6, 6), -1, np.int32)
    hidden = kind.copy()
    siphoned = np.zeros((6, 6), bool)
    credits = np.zeros((6, 6), np.int32)
    energy = np.zeros((6, 6), np.int32)
    progs = list(rng.permutation(NUM_PROGRAMS))
    for r in range(6):
        for c in range(6):
            if kind[r, c]:
                u = rng.uniform()
                if u < 0.35 and progs:
                    p = progs.pop()
                    kind[r, c] = hidden[r, c] = BLOCK_PROGRAM
                    prog[r, c], pts[r, c], spawn[r, c] = p, 0, PROGRAM_SPAWN[p]
                if rng.uniform() < 0.15:
                    kind[r, c] = BLOCK_QUESTION
                if rng.uniform() < 0.15 and kind[r, c] != BLOCK_QUESTION:
                    siphoned[r, c] = True
                    spawn[r, c] = 0
            else:
                if rng.uniform() < 0.6:
                    (credits if rng.uniform() < 0.5 else energy)[r, c] = rng.integers(1, 4)
                siphoned[r, c] = rng.uniform() < 0.05
    player = (int(g.player_row), int(g.player_col))
    exit_ = (int(g.exit_row), int(g.exit_col))
    pickup = np.zeros((6, 6), bool)
    for r, c in CORNERS:
        if (r, c) not in (player, exit_) and not kind[r, c] and rng.uniform() < 0.5:
            pickup[r, c] = True
            credits[r, c] = energy[r, c] = 0  # Swift: a data-siphon cell holds no block
    alive = np.asarray(g.enemy_alive)
    etype = np.asarray(g.enemy_type)
    hp = np.where(alive, rng.integers(1, 4, MAX_ENEMIES), 0)
    hp = np.minimum(hp, ENEMY_MAX_HP[etype]).astype(np.int32)
    stage = int(rng.integers(1, 9))
    turn = int(rng.integers(0, 10))
    interval = int(rng.integers(4, 13))
    owned = rng.uniform(size=NUM_PROGRAMS) < 0.85
    g = g.replace(
        block_kind=jnp.asarray(kind), block_hidden_kind=jnp.asarray(hidden),
        block_points=jnp.asarray(pts), block_program=jnp.asarray(prog),
        block_spawn=jnp.asarray(spawn), siphoned=jnp.asarray(siphoned),
        credits=jnp.asarray(credits), energy=jnp.asarray(energy), siphon_pickup=jnp.asarray(pickup),
        enemy_hp=jnp.asarray(hp),
        enemy_stunned=jnp.asarray(alive & (rng.uniform(size=MAX_ENEMIES) < 0.1)),
        enemy_from_siphon=jnp.asarray(alive & (rng.uniform(size=MAX_ENEMIES) < 0.3)),
        enemy_from_task=jnp.asarray(alive & (rng.uniform(size=MAX_ENEMIES) < 0.3)),
        trans_from_siphon=jnp.asarray(rng.uniform(size=MAX_ENEMIES) < 0.3) & g.trans_alive,
        trans_from_task=jnp.asarray(rng.uniform(size=MAX_ENEMIES) < 0.3) & g.trans_alive,
        trans_turns=jnp.where(g.trans_alive, jnp.asarray(rng.integers(1, 4, MAX_ENEMIES)), 0),
        player_hp=jnp.int32(3 if rng.uniform() < 0.85 else rng.integers(1, 3)), player_credits=jnp.int32(rng.integers(0, 25)),
        player_energy=jnp.int32(rng.integers(0, 25)), player_siphons=jnp.int32(rng.integers(0, 4)),
        player_attack=jnp.int32(rng.integers(1, 3)), score=jnp.int32(rng.integers(0, 30)),
        stage=jnp.int32(stage), turn=jnp.int32(turn), spawn_interval=jnp.int32(interval),
        next_task_turn=jnp.int32(turn + rng.integers(1, interval + 1)),
        owned=jnp.asarray(owned), show_active=jnp.asarray(rng.uniform() < 0.2),
        calm_active=jnp.asarray(rng.uniform() < 0.15),
        step_skip_pending=jnp.asarray(rng.uniform() < 0.1),
        atk_plus_uses=jnp.int32(rng.integers(0, 3)),
        pending_siphon_spawns=jnp.int32(rng.integers(0, 3) * (rng.uniform() < 0.3)),
    )
    st = wrap_game(g)
    return st.replace(stage_rewards_earned=jnp.float32(sum(STAGE_REWARDS[:stage - 1])))


def _pick(mask, rng, toward):
    """A random legal action: half the time a move toward the exit when one is
    legal (so that stages get completed), else programs and siphons favoured
    over moves; -1 when nothing is legal."""
    legal = np.flatnonzero(mask)
    if legal.size == 0:
        return -1
    closer = [a for a in toward if mask[a]]
    if closer and rng.uniform() < 0.5:
        return int(rng.choice(closer))
    w = np.where(legal >= 4, 3.0, 1.0)
    w[legal == UNDO_ACTION] = 12.0  # UNDO chains
    return int(rng.choice(legal, p=w / w.sum()))


def _toward_exit(dr, dc):
    """Move actions (0 up = row + 1, 1 down, 2 left, 3 right) that bring the
    player nearer the exit position, (dr, dc) away."""
    return [a for a, ok in ((0, dr > 0), (1, dr < 0), (2, dc < 0), (3, dc > 0)) if ok]


class Oracle:
    """Answers the reference's random draws with the jitrl step's choices."""

    def __init__(self, s, pre, post, key, action):
        self.s, self.pre, self.post = s, pre, post
        a = lambda x: np.asarray(x)
        self.a, self.b = {k: a(v) for k, v in vars(pre.game).items()}, {
            k: a(v) for k, v in vars(post.game).items()}
        k_core, _ = jax.random.split(key)
        k_prog, k_enemy = jax.random.split(k_core)
        k_move, _ = jax.random.split(k_enemy)
        self.orders = np.asarray(rules.enemy_orders(k_move))
        self.k_prog = k_prog
        self.action = action
        # reference list order = jitrl slots sorted by seq
        e_alive = np.flatnonzero(self.a["enemy_alive"])
        self.e_slots = sorted(e_alive, key=lambda k: int(self.a["enemy_seq"][k]))
        self.slot_of = {id(e): int(k) for e, k in zip(s.enemies, self.e_slots)}
        self.ids_done = False
        self.calls = 0
        # new transmissions of the jitrl step, in placement (list) order
        b = self.b
        new = [k for k in np.flatnonzero(b["trans_alive"]) if b["trans_seq"][k] >= self.a["next_seq"]]
        new.sort(key=lambda k: int(b["trans_seq"][k]))
        queue = [(int(b["trans_row"][k]), int(b["trans_col"][k]), int(b["trans_type"][k]))
                 for k in new]
        self.sched = [q for q, k in zip(queue, new) if b["trans_from_task"][k]]
        self.rest = [q for q, k in zip(queue, new) if not b["trans_from_task"][k]]
        self.queue = None
        self.any_count = 0

    def _start_queue(self):
        """At the turn's first placement draw: the reference is in
        maybeExecuteScheduledTask when the task is due (it precedes the siphon
        spawns), so the scheduled placement (or a failed one) comes first."""
        s = self.s
        due = not s.scheduled_tasks_disabled and s.turn_count >= s.next_scheduled_task_turn
        self.queue = ((self.sched or [None]) if due else []) + self.rest

    def _map_hatched(self):
        """Slots of the enemies hatched this turn: the k-th hatching
        transmission (jitrl slot order) takes the k-th free enemy slot."""
        s, a = self.s, self.a
        survivors = {self.slot_of[id(e)] for e in s.enemies if id(e) in self.slot_of}
        free = [k for k in range(MAX_ENEMIES) if k not in survivors]
        t_at = {(int(a["trans_row"][k]), int(a["trans_col"][k])): int(k)
                for k in np.flatnonzero(a["trans_alive"])}
        hatched = [e for e in s.enemies if id(e) not in self.slot_of]
        order = sorted(hatched, key=lambda e: t_at[(e.row, e.col)])
        for j, e in enumerate(order):
            self.slot_of[id(e)] = free[j]

    def _target(self):
        return self.queue[0] if self.queue else None

    def __call__(self, site, items):
        s = self.s
        if site == "path.tiebreak":
            assert len(items) == 1, items
            return items[0]
        if site == "enemy.order":
            if not self.ids_done:
                self._map_hatched()
                self.ids_done = True
            rank = {int(slot): k for k, slot in enumerate(self.orders[self.calls])}
            self.calls += 1
            return sorted(items, key=lambda e: rank[self.slot_of[id(e)]])
        if site.startswith("spawn."):
            if self.queue is None:
                self._start_queue()
            t = self._target()
            pr, pc = s.player.row, s.player.col
            if site.startswith("spawn.lof"):
                ok = t is not None and ref_gen.is_position_empty(s, t[0], t[1]) and \
                    not ref_gen.is_position_in_line_of_fire(s, t[0], t[1])
            else:
                ok = t is not None
                if t is None and site.endswith(".col"):
                    self.any_count += 1
                    if self.any_count == 100:
                        self.queue.pop(0) if self.queue else None
                        self.any_count = 0
            if not ok:
                return pr if site.endswith(".row") else pc
            return t[0] if site.endswith(".row") else t[1]
        if site == "transmission.type":
            t = self.queue.pop(0)
            self.any_count = 0
            return ref.ENEMY_TYPES[t[2]]
        if site == "poly.type":
            raise AssertionError("poly draws are answered per enemy by poly_answer")
        if site == "warp.target":
            u = np.asarray(jax.random.uniform(self.k_prog, (2 * MAX_ENEMIES,)))
            alive = np.concatenate([self.a["enemy_alive"], self.a["trans_alive"]])
            pick = int(np.argmax(np.where(alive, u, -1.0)))
            if pick < MAX_ENEMIES:
                want = (int(self.a["enemy_row"][pick]), int(self.a["enemy_col"][pick]), True)
            else:
                k = pick - MAX_ENEMIES
                want = (int(self.a["trans_row"][k]), int(self.a["trans_col"][k]), False)
            assert want in items, (want, items)
            return want
        raise AssertionError(site)


def _poly_rng(oracle, s):
    """POLY's draws: one per enemy in list order; jitrl's new type of its slot."""
    it = iter(list(s.enemies))

    def cb(site, items):
        if site == "poly.type":
            e = next(it)
            return ref.ENEMY_TYPES[int(oracle.b["enemy_type"][oracle.slot_of[id(e)]])]
        return oracle(site, items)
    return cb


def _jitrl_view(st):
    """The reference's canonical dict of a (single) jitrl EnvState. The exit
    cell content comes from ``exit_cell`` (after an UNDO across a stage it is
    the old board's, away from the exit position, as in Swift)."""
    r = ref.from_description(to_description(st.game))
    exit_cell = np.asarray(st.game.exit_cell)
    for cell in r.grid.all_cells():
        if exit_cell[cell.row, cell.col]:
            cell.set_content("exit")
        elif cell.is_exit:
            cell.set_content("empty")
    d = r.canonical_dict(history=False, last_known=False)
    d["history_len"] = int(st.history_depth)
    d["enemy_list"] = _list(r.enemies)
    return d


def _list(enemies):
    return tuple((e.row, e.col, e.type, e.hp) for e in enemies)


def _ref_view(s):
    d = s.canonical_dict(history=False, last_known=False)
    d["enemy_list"] = _list(s.enemies)
    return d


def _compare(d_ref, d_jit, ctx):
    bad = {k: (d_ref[k], d_jit[k]) for k in d_ref if k != "owned_order" and d_ref[k] != d_jit[k]}
    if "cells" in bad:
        bad["cells"] = [(a, b) for a, b in zip(*bad["cells"]) if a != b]
    assert not bad, (ctx, bad)


def _run(n_cases, n_steps, params, fixes, seed):
    env = HackMatrix()
    cases = [random_position(seed * 1000 + i) for i in range(n_cases)]
    batch = jax.tree_util.tree_map(lambda *x: jnp.stack(x), *cases)
    step = jax.jit(jax.vmap(env.step_env, in_axes=(0, 0, 0, None)))
    mask_fn = jax.jit(jax.vmap(env.action_mask, in_axes=(0, None)))
    refs = [ref.from_description(to_description(c.game), fixes) for c in cases]
    live = [True] * n_cases
    rng = np.random.default_rng(seed)
    seen = np.zeros(28, int)
    stats = dict(stage=0, undo_chain=0, won=0, died=0, steps=0, overflow=0)
    orig_init = ref_gen.initialize_stage
    prev_actions = None
    for t in range(n_steps):
        masks = np.asarray(mask_fn(batch, params))
        actions = []
        g = batch.game
        drs = np.asarray(g.exit_row) - np.asarray(g.player_row)
        dcs = np.asarray(g.exit_col) - np.asarray(g.player_col)
        for i, m in enumerate(masks):
            a = _pick(m, rng, _toward_exit(drs[i], dcs[i])) if live[i] else 0
            if a < 0:  # no legal action (walled in, nothing affordable): the case ends
                assert not any(ref_rules.action_mask(refs[i]))
                live[i], a = False, 0
            actions.append(a)
        actions = np.array(actions)
        keys = jax.random.split(jax.random.PRNGKey(seed * 7919 + t), n_cases)
        _, post, reward, term, trunc, info = step(keys, batch, jnp.asarray(actions), params)
        info = {k: np.asarray(v) for k, v in info.items()}
        for i in range(n_cases):
            if not live[i]:
                continue
            s = refs[i]
            pre_i = jax.tree_util.tree_map(lambda x: x[i], batch)
            post_i = jax.tree_util.tree_map(lambda x: x[i], post)
            ctx = dict(case=i, step=t, action=rules_name(actions[i]))
            assert ref_rules.action_mask(s) == [bool(x) for x in masks[i]], ctx
            if info["overflow"][i]:
                stats["overflow"] += 1
                live[i] = False
                continue
            oracle = Oracle(s, pre_i, post_i, keys[i], actions[i])
            cb = _poly_rng(oracle, s) if actions[i] == PROGRAM_OFFSET + 4 else oracle

            def init_stage(s_, rng_, post_i=post_i):
                """initializeStage with jitrl's new board (its own random draws)."""
                s_.turn_count = 0
                s_.next_scheduled_task_turn = s_.scheduled_task_interval
                s_.show_activated = s_.scheduled_tasks_disabled = s_.step_active = False
                s_.atk_plus_uses_this_stage = 0
                board = ref.from_description(to_description(post_i.game))
                s_.grid, s_.exit_position = board.grid, board.exit_position
                have = {(tr.row, tr.col) for tr in s_.transmissions}
                for tr in board.transmissions:
                    if (tr.row, tr.col) not in have:
                        s_.transmissions.append(Transmission(s_.new_id(), tr.row, tr.col,
                                                             tr.turns_remaining, tr.enemy_type))
            ref_gen.initialize_stage = init_stage
            try:
                res = ref_rules.try_execute_action(s, int(actions[i]), ref.ScriptedRng(cb, forward_trivial=True))
            finally:
                ref_gen.initialize_stage = orig_init
            assert res.success, ctx
            seen[actions[i]] += 1
            stats["steps"] += 1
            stats["stage"] += res.stage_advanced
            stats["undo_chain"] += bool(t > 0 and actions[i] == prev_actions[i] == PROGRAM_OFFSET + 9)
            _compare(_ref_view(s), _jitrl_view(post_i), ctx)
            rb = res.reward
            for term_name, fields in TERMS.items():
                want = sum(getattr(rb, f) for f in fields)
                assert info[term_name][i] == pytest.approx(want, abs=1e-4), (ctx, term_name, want,
                                                                             info[term_name][i])
            assert bool(term[i]) == (res.player_died or res.game_won), ctx
            if res.player_died or res.game_won:
                stats["won" if res.game_won else "died"] += 1
                live[i] = False
        prev_actions = actions
        batch = post
    return seen, stats


def rules_name(a):
    from jitrl.envs.hackmatrix.state import ACTION_NAMES
    return ACTION_NAMES[int(a)]


def test_env_matches_the_swift_reference_step_for_step():
    seen, stats = _run(n_cases=160, n_steps=24, params=EnvParams(), fixes=Fixes(), seed=1)
    assert (seen > 0).all(), seen      # every action type and every program was played
    assert stats["stage"] >= 40 and stats["won"] >= 1 and stats["undo_chain"] >= 15, stats
    assert stats["died"] >= 50 and stats["steps"] >= 1800, stats


def test_env_with_the_fix_switches_matches_the_fixed_reference():
    params = EnvParams(fix_stage8_reward=True, fix_undo_across_stages=True,
                       fix_undo_keeps_spawn_flags=True)
    fixes = Fixes(clear_history_on_stage_change=True, stage8_reward_100=True,
                  undo_keeps_spawn_flags=True)
    seen, stats = _run(n_cases=48, n_steps=16, params=params, fixes=fixes, seed=2)
    assert stats["steps"] > 400 and stats["stage"] >= 10, stats
