"""HackMatrix programs (actions 5-27): every effect and mask condition on hand-built
states, against hand-computed expectations (issue 3's program table).

Every state here is built cell by cell from ``state.empty_game()``; the
expectations in comments are worked out by hand from the rules in the
``programs`` module docstring. One jitted ``apply_program`` (program index
traced) and one jitted ``program_conditions`` serve all tests, so compilation
happens once per session.
"""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jitrl.envs.hackmatrix import common
from jitrl.envs.hackmatrix import programs as P
from jitrl.envs.hackmatrix import state as S
from jitrl.envs.hackmatrix.state import (
    BLOCK_DATA, BLOCK_PROGRAM, CRYPTOG, DAEMON, GLITCH, HISTORY_LEN, NUM_PROGRAMS, VIRUS,
)

PARAMS = S.EnvParams()
_APPLY = jax.jit(P.apply_program)
_COND = jax.jit(P.program_conditions)
KEY = jax.random.PRNGKey(0)


def apply(st, prog, key=KEY):
    return _APPLY(st, jnp.int32(prog), key, PARAMS)


def cond(st):
    return np.asarray(_COND(st, PARAMS))


# ---------------------------------------------------------------- builders
def game(player=(2, 2), credits=20, energy=20, hp=3, owned_all=True, **kw):
    g = S.empty_game().replace(
        player_row=jnp.int32(player[0]), player_col=jnp.int32(player[1]),
        player_credits=jnp.int32(credits), player_energy=jnp.int32(energy),
        player_hp=jnp.int32(hp),
        owned=jnp.full((NUM_PROGRAMS,), owned_all, bool),
        exit_row=jnp.int32(5), exit_col=jnp.int32(5),
    )
    return g.replace(**{k: (jnp.asarray(v) if not hasattr(v, "shape") else v) for k, v in kw.items()})


def enemy(g, etype, r, c, hp=None, stunned=False):
    g = common.add_enemy(g, etype, r, c, from_siphon=False, just_spawned=False)
    slot = int(np.argmax(np.asarray(g.enemy_alive & (g.enemy_row == r) & (g.enemy_col == c))))
    if hp is not None:
        g = g.replace(enemy_hp=g.enemy_hp.at[slot].set(hp))
    return g.replace(enemy_stunned=g.enemy_stunned.at[slot].set(stunned))


def trans(g, r, c, turns=1, etype=VIRUS):
    return common.add_transmission(g, etype, r, c, turns, from_siphon=False)


def block(g, r, c, kind=BLOCK_DATA, points=5, spawn=None, program=-1, siphoned=False):
    spawn = points if spawn is None else spawn
    return g.replace(
        block_kind=g.block_kind.at[r, c].set(kind),
        block_hidden_kind=g.block_hidden_kind.at[r, c].set(kind),
        block_points=g.block_points.at[r, c].set(points if kind == BLOCK_DATA else 0),
        block_program=g.block_program.at[r, c].set(program),
        block_spawn=g.block_spawn.at[r, c].set(spawn),
        siphoned=g.siphoned.at[r, c].set(siphoned),
    )


def wrap(g):
    return S.wrap_game(g)


def enemies_of(st):
    """{(row, col): (type, hp, stunned)} of alive enemies."""
    g = st.game
    out = {}
    for i in np.flatnonzero(np.asarray(g.enemy_alive)):
        out[(int(g.enemy_row[i]), int(g.enemy_col[i]))] = (
            int(g.enemy_type[i]), int(g.enemy_hp[i]), bool(g.enemy_stunned[i]))
    return out


def trans_of(st):
    g = st.game
    return {(int(g.trans_row[i]), int(g.trans_col[i])): int(g.trans_turns[i])
            for i in np.flatnonzero(np.asarray(g.trans_alive))}


def rich_state():
    """A state where every program's own condition holds (player (2,2), HP 2, stage 1)."""
    g = game(hp=2)
    g = block(g, 3, 3, points=4)                    # adjacent block (CRASH), spawn 4 (REDUC)
    g = block(g, 0, 4, points=2)                    # glitch stands on it (DEBUG)
    g = block(g, 4, 0, points=1, siphoned=True)     # a siphoned cell (HACK)
    g = enemy(g, VIRUS, 2, 5)                       # player's row (ROW), a virus (ANTI-V)
    g = enemy(g, DAEMON, 5, 2)                      # player's column (COL), a daemon (D_BOM)
    g = enemy(g, GLITCH, 0, 4)                      # on a block
    g = trans(g, 1, 0)                              # DELAY, WARP target
    st = wrap(g)
    return S.push_history(st)                       # UNDO has a snapshot


# ---------------------------------------------------------------- mask and costs
def test_every_condition_holds_on_the_rich_state():
    assert cond(rich_state()).all()


def test_nothing_is_usable_without_ownership():
    st = rich_state()
    st = st.replace(game=st.game.replace(owned=jnp.zeros((NUM_PROGRAMS,), bool)))
    assert not cond(st).any()
    # owning exactly one program enables exactly that one
    for p in (S.PUSH, S.HACK):
        st1 = st.replace(game=st.game.replace(owned=st.game.owned.at[p].set(True)))
        assert np.flatnonzero(cond(st1)).tolist() == [p]


@pytest.mark.parametrize("prog", range(NUM_PROGRAMS))
def test_cost_must_be_affordable(prog):
    st = rich_state()
    c, e = int(S.PROGRAM_CREDITS[prog]), int(S.PROGRAM_ENERGY[prog])
    exact = st.replace(game=st.game.replace(player_credits=jnp.int32(c), player_energy=jnp.int32(e)))
    # EXCH also needs credits >= 4, which is its cost: exactly affordable is usable
    assert cond(exact)[prog]
    if c > 0:
        poor = exact.replace(game=exact.game.replace(player_credits=jnp.int32(c - 1)))
        assert not cond(poor)[prog]
    if e > 0:
        poor = exact.replace(game=exact.game.replace(player_energy=jnp.int32(e - 1)))
        assert not cond(poor)[prog]


@pytest.mark.parametrize("prog", [p for p in range(NUM_PROGRAMS) if p != S.UNDO])
def test_cost_is_paid_and_use_counted(prog):
    st = rich_state()
    out = apply(st, prog)
    gain_energy = P.EXCH_AMOUNT if prog == S.EXCH else 0
    assert int(out.game.player_credits) == 20 - S.PROGRAM_CREDITS[prog]
    assert int(out.game.player_energy) == 20 - S.PROGRAM_ENERGY[prog] + gain_energy
    assert int(out.programs_used) == 1


def test_only_wait_ends_the_turn():
    assert P.ENDS_TURN[S.WAIT] and sum(P.ENDS_TURN) == 1
    assert [bool(P.ends_turn(jnp.int32(i))) for i in range(NUM_PROGRAMS)] == list(P.ENDS_TURN)


def test_empty_board_conditions():
    """No enemies, transmissions, blocks, history; full HP; stage 1: only the
    always-usable programs, SHOW/CALM (not active), EXCH (credits 20), SCORE,
    ATK+ are usable."""
    got = set(np.flatnonzero(cond(wrap(game()))).tolist())
    assert got == {S.WAIT, S.STEP, S.SIPH_PLUS, S.EXCH, S.SHOW, S.CALM, S.SCORE, S.ATK_PLUS}


def test_vmap_over_programs_equals_loop():
    st = rich_state()
    progs = jnp.arange(NUM_PROGRAMS, dtype=jnp.int32)
    keys = jax.random.split(KEY, NUM_PROGRAMS)
    batched = jax.vmap(lambda p, k: P.apply_program(st, p, k, PARAMS))(progs, keys)
    for i in range(NUM_PROGRAMS):
        one = apply(st, i, keys[i])
        jax.tree_util.tree_map(
            lambda a, b: np.testing.assert_array_equal(np.asarray(a)[i], np.asarray(b)), batched, one)


# ---------------------------------------------------------------- PUSH / PULL
def test_push():
    g = game()                                   # player (2, 2)
    g = block(g, 0, 2)                           # under the glitch's push
    g = block(g, 4, 0)                           # blocks E4's diagonal
    g = enemy(g, VIRUS, 2, 4)                    # E0: same row -> (2, 5)
    g = enemy(g, DAEMON, 4, 3)                   # E1: diag (5,4) d5 beats (5,3)/(4,4) d4
    g = enemy(g, GLITCH, 1, 2)                   # E2: straight down onto the block (glitch)
    g = enemy(g, VIRUS, 2, 0)                    # E3: off the board -> stays
    g = enemy(g, DAEMON, 3, 1)                   # E4: diag (4,0) d4, a block: not checked -> (4,0)
    g = enemy(g, VIRUS, 1, 3)                    # E5: diag (0,4): E6 leaves it -> (0,4)
    g = enemy(g, VIRUS, 0, 4)                    # E6: only the column step (0,5)
    st = wrap(g)
    assert cond(st)[S.PUSH]
    out = apply(st, S.PUSH)
    g2 = out.game
    got = [(int(g2.enemy_row[i]), int(g2.enemy_col[i])) for i in range(7)]
    assert got == [(2, 5), (5, 4), (0, 2), (2, 0), (4, 0), (0, 4), (0, 5)]
    assert int(g2.kills) == 0 and np.asarray(g2.enemy_alive).sum() == 7


def test_push_lands_on_blocks_and_stacks_and_earlier_movers_win():
    """Swift's PUSH checks nothing but the board edge (diff 19): a non-glitch
    lands on a block, an enemy moves onto one that stays, and of two enemies
    wanting one cell the earlier in list order moves, the later stays."""
    g = block(game(), 0, 2)
    g = enemy(g, DAEMON, 1, 2)                   # only candidate (0,2) is a block
    out = apply(wrap(g), S.PUSH)
    assert enemies_of(out) == {(0, 2): (DAEMON, 3, False)}
    g = enemy(enemy(game(), VIRUS, 2, 4), DAEMON, 2, 5)  # the daemon cannot move: stacked
    g2 = apply(wrap(g), S.PUSH).game
    assert [(int(g2.enemy_row[i]), int(g2.enemy_col[i])) for i in range(2)] == [(2, 5), (2, 5)]
    g = enemy(enemy(game(), VIRUS, 1, 3), DAEMON, 0, 3)  # both want (0, 4)
    g2 = apply(wrap(g), S.PUSH).game
    assert [(int(g2.enemy_row[i]), int(g2.enemy_col[i])) for i in range(2)] == [(0, 4), (0, 3)]
    # list order (seq), not the slot, decides
    g = g.replace(enemy_seq=jnp.zeros_like(g.enemy_seq).at[0].set(5).at[1].set(2))
    g2 = apply(wrap(g), S.PUSH).game
    assert [(int(g2.enemy_row[i]), int(g2.enemy_col[i])) for i in range(2)] == [(1, 3), (0, 4)]


def test_pull():
    g = game()                                   # player (2, 2)
    g = trans(g, 1, 2)
    g = enemy(g, VIRUS, 2, 5)                    # -> (2, 4)
    g = enemy(g, DAEMON, 4, 4)                   # diag (3,3) d2 beats (3,4)/(4,3) d3
    g = enemy(g, VIRUS, 2, 3)                    # adjacent: only candidate is the player -> stays
    g = enemy(g, GLITCH, 0, 2)                   # (1,2) holds a transmission: not checked -> (1,2)
    st = wrap(g)
    assert cond(st)[S.PULL]
    g2 = apply(st, S.PULL).game
    got = [(int(g2.enemy_row[i]), int(g2.enemy_col[i])) for i in range(4)]
    assert got == [(2, 4), (3, 3), (2, 3), (1, 2)]


def test_push_pull_poly_need_an_enemy():
    st = wrap(trans(game(), 0, 0))
    c = cond(st)
    assert not c[S.PUSH] and not c[S.PULL] and not c[S.POLY]
    c = cond(wrap(enemy(game(), CRYPTOG, 5, 5)))  # a hidden cryptog is still an enemy
    assert c[S.PUSH] and c[S.PULL] and c[S.POLY]


# ---------------------------------------------------------------- CRASH / WARP / POLY
def test_crash():
    g = game()                                   # player (2, 2)
    g = block(g, 3, 3, points=5)
    g = g.replace(credits=g.credits.at[3, 3].set(2))
    g = block(g, 1, 1, kind=BLOCK_PROGRAM, program=S.ROW, spawn=2, siphoned=True)
    g = block(g, 4, 4)                           # two cells away: stays
    g = enemy(g, VIRUS, 2, 3)                    # killed
    g = enemy(g, DAEMON, 0, 2)                   # two cells away: stays
    g = trans(g, 1, 2)                           # removed
    g = trans(g, 5, 5)                           # stays
    st = wrap(g)
    assert cond(st)[S.CRASH]
    out = apply(st, S.CRASH)
    g2 = out.game
    kinds = np.asarray(g2.block_kind)
    assert kinds[3, 3] == 0 and kinds[1, 1] == 0 and kinds[4, 4] == BLOCK_DATA
    assert int(g2.block_program[1, 1]) == -1 and int(g2.block_spawn[3, 3]) == 0
    assert int(g2.credits[3, 3]) == 2             # resources under the block stay
    assert bool(g2.siphoned[1, 1])                # the siphoned flag stays
    assert enemies_of(out) == {(0, 2): (DAEMON, 3, False)}
    assert trans_of(out) == {(5, 5): 1}
    assert int(g2.kills) == 2                     # an enemy and a transmission


def test_crash_condition():
    assert not cond(wrap(block(game(), 4, 4)))[S.CRASH]          # two cells away
    assert cond(wrap(block(game(player=(0, 0)), 1, 1)))[S.CRASH]  # diagonal neighbour
    assert cond(wrap(trans(game(), 1, 3)))[S.CRASH]
    assert cond(wrap(enemy(game(), VIRUS, 3, 2)))[S.CRASH]
    assert not cond(wrap(game(player=(0, 0))))[S.CRASH]


def test_warp_single_targets():
    # a glitch on a block is a target: the player lands on the block (Swift)
    g = enemy(block(game(), 3, 3), GLITCH, 3, 3)
    out = apply(wrap(g), S.WARP)
    assert (int(out.game.player_row), int(out.game.player_col)) == (3, 3)
    assert enemies_of(out) == {} and int(out.game.kills) == 1
    # only a transmission: destroyed, and it counts as a kill
    out = apply(wrap(trans(game(), 0, 5)), S.WARP)
    assert (int(out.game.player_row), int(out.game.player_col)) == (0, 5)
    assert trans_of(out) == {} and int(out.game.kills) == 1
    # only an enemy
    out = apply(wrap(enemy(game(), DAEMON, 4, 1)), S.WARP)
    assert (int(out.game.player_row), int(out.game.player_col)) == (4, 1)
    assert enemies_of(out) == {} and int(out.game.kills) == 1


def test_warp_random_target():
    g = enemy(game(), VIRUS, 4, 4)
    g = trans(g, 0, 1)
    st = wrap(g)
    landed = set()
    for k in jax.random.split(jax.random.PRNGKey(3), 16):
        out = apply(st, S.WARP, k)
        pos = (int(out.game.player_row), int(out.game.player_col))
        assert pos in {(4, 4), (0, 1)}
        # the target at the landing cell is destroyed, the other remains
        left = set(enemies_of(out)) | set(trans_of(out))
        assert left == {(4, 4), (0, 1)} - {pos}
        landed.add(pos)
    # both targets are drawn (a fixed seed; each of 16 draws picks one of 2 uniformly,
    # so a uniform sampler misses one with probability 2 * 2**-16)
    assert landed == {(4, 4), (0, 1)}


def test_warp_targets_anything_and_landing_on_the_exit_completes_the_stage():
    """Swift's WARP (diff 20): any enemy or transmission, wherever it stands;
    landing on the exit position completes the stage (no enemy turn); landing
    on a data-siphon pickup does not collect it."""
    assert not cond(wrap(game()))[S.WARP]
    for g in (enemy(block(game(), 3, 3), GLITCH, 3, 3), enemy(game(), VIRUS, 5, 5),
              trans(game(), 5, 5)):
        assert cond(wrap(g))[S.WARP]
    _, step = _env_step()
    _, out, r, term, trunc, info = step(KEY, wrap(enemy(game(), VIRUS, 5, 5)), S.PROGRAM_OFFSET + S.WARP)
    assert float(info["stage_completed"]) == 1.0 and int(out.game.stage) == 2
    assert float(info["r_kill"]) == pytest.approx(0.3) and float(info["r_stage"]) == 1.0
    g = enemy(game(), DAEMON, 0, 0).replace(siphon_pickup=jnp.zeros((6, 6), bool).at[0, 0].set(True))
    out = apply(wrap(g), S.WARP)
    assert bool(out.game.siphon_pickup[0, 0]) and int(out.game.player_siphons) == 0


def test_poly():
    g = enemy(game(), DAEMON, 0, 0, hp=1)        # damage 2 -> any 2-HP type at 0 HP: dies (Swift)
    g = enemy(g, VIRUS, 0, 5, hp=1)              # damage 1 -> daemon 2, others 1
    g = enemy(g, CRYPTOG, 5, 0, hp=2, stunned=True)  # no damage -> full HP of the new type
    st = wrap(g)
    seen = set()
    for k in jax.random.split(jax.random.PRNGKey(1), 12):
        g2 = apply(st, S.POLY, k).game
        t = [int(x) for x in np.asarray(g2.enemy_type)[:3]]
        hp = [int(x) for x in np.asarray(g2.enemy_hp)[:3]]
        assert t[0] != DAEMON and t[1] != VIRUS and t[2] != CRYPTOG
        assert hp[0] == 0 and not bool(g2.enemy_alive[0]) and int(g2.kills) == 1
        assert hp[1] == (2 if t[1] == DAEMON else 1)
        assert hp[2] == int(S.ENEMY_MAX_HP[t[2]])
        assert bool(g2.enemy_stunned[2]) and np.asarray(g2.enemy_alive)[1:3].all()
        seen.add(t[0])
    # 12 draws of 3 equally likely types: missing one has probability < 3 * (2/3)**12 = 0.023
    # under a uniform sampler; the seed is fixed, so this is deterministic.
    assert seen == {VIRUS, GLITCH, CRYPTOG}


# ---------------------------------------------------------------- WAIT / DEBUG / ROW / COL
def test_wait_changes_nothing_but_its_cost():
    st = rich_state()
    out = apply(st, S.WAIT)
    expect = st.replace(game=st.game.replace(player_energy=jnp.int32(19)), programs_used=jnp.int32(1))
    jax.tree_util.tree_map(lambda a, b: np.testing.assert_array_equal(a, b), out, expect)


def test_debug():
    g = block(game(), 0, 0)
    g = block(g, 5, 5)
    g = block(g, 4, 4)
    g = enemy(g, GLITCH, 0, 0, hp=2)             # -> 1, stunned
    g = enemy(g, GLITCH, 5, 5, hp=1)             # dies
    g = enemy(g, VIRUS, 3, 3, hp=2)              # not on a block
    st = wrap(g)
    assert cond(st)[S.DEBUG]
    out = apply(st, S.DEBUG)
    assert enemies_of(out) == {(0, 0): (GLITCH, 1, True), (3, 3): (VIRUS, 2, False)}
    assert int(out.game.kills) == 1
    assert not cond(wrap(enemy(block(game(), 1, 1), VIRUS, 3, 3)))[S.DEBUG]


def test_debug_uses_attack_damage():
    g = block(game(), 0, 0)
    g = enemy(g, DAEMON, 0, 0).replace(player_attack=jnp.int32(2))   # a daemon on a block (after POLY)
    out = apply(wrap(g), S.DEBUG)
    assert enemies_of(out) == {(0, 0): (DAEMON, 1, True)}


def test_row_and_col():
    g = game()                                   # player (2, 2)
    g = enemy(g, VIRUS, 2, 0, hp=2)              # row
    g = enemy(g, DAEMON, 2, 5, hp=1)             # row, dies
    g = enemy(g, DAEMON, 5, 2, hp=3)             # column
    g = enemy(g, CRYPTOG, 0, 2, hp=2)            # column (visible there)
    g = enemy(g, GLITCH, 4, 4, hp=2)             # neither
    st = wrap(g)
    out = apply(st, S.ROW)
    assert enemies_of(out) == {(2, 0): (VIRUS, 1, True), (5, 2): (DAEMON, 3, False),
                               (0, 2): (CRYPTOG, 2, False), (4, 4): (GLITCH, 2, False)}
    assert int(out.game.kills) == 1
    st2 = st.replace(game=st.game.replace(player_attack=jnp.int32(2)))
    out = apply(st2, S.COL)
    assert enemies_of(out) == {(2, 0): (VIRUS, 2, False), (2, 5): (DAEMON, 1, False),
                               (5, 2): (DAEMON, 1, True), (4, 4): (GLITCH, 2, False)}
    assert int(out.game.kills) == 1


def test_row_col_conditions():
    c = cond(wrap(enemy(game(), VIRUS, 4, 4)))
    assert not c[S.ROW] and not c[S.COL]
    c = cond(wrap(enemy(game(), VIRUS, 2, 4)))
    assert c[S.ROW] and not c[S.COL]
    c = cond(wrap(enemy(game(), VIRUS, 0, 2)))
    assert not c[S.ROW] and c[S.COL]


# ---------------------------------------------------------------- UNDO
def test_undo_multi_level():
    """Three snapshots (the game at the end of three enemy turns); three UNDOs
    walk back through them newest first. Each needs a credit and is free: the
    restore overwrites the credit paid (Swift)."""
    st = wrap(game(player=(0, 0), credits=5))
    snaps = []
    for t, pos in enumerate([(0, 0), (1, 0), (2, 0)]):
        g = st.game.replace(player_row=jnp.int32(pos[0]), player_col=jnp.int32(pos[1]),
                            player_credits=jnp.int32(5 + t), turn=jnp.int32(t))
        st = S.push_history(st.replace(game=g))
        snaps.append((pos, 5 + t, t))
    st = st.replace(game=st.game.replace(player_row=jnp.int32(3), turn=jnp.int32(3)))
    assert int(st.history_count) == 3 and cond(st)[S.UNDO]
    for level, (pos, credits, turn) in enumerate(reversed(snaps)):
        st = apply(st, S.UNDO)
        g = st.game
        assert (int(g.player_row), int(g.player_col)) == pos
        assert int(g.turn) == turn
        assert int(g.player_credits) == credits
        assert int(st.history_count) == 2 - level and int(st.history_depth) == 2 - level
        assert int(st.programs_used) == level + 1
    assert not cond(st)[S.UNDO]


def test_undo_restores_what_swift_restores():
    """restoreSnapshot: board, units, player, turn, SHOW/CALM/ATK+; not the
    stage, exit position, STEP flag, owed spawns, schedule or kills; the
    spawn flags of units are lost unless fix_undo_keeps_spawn_flags."""
    g = enemy(block(game(), 3, 3), VIRUS, 2, 5, hp=2)
    g = g.replace(enemy_from_task=g.enemy_from_task.at[0].set(True),
                  enemy_from_siphon=g.enemy_from_siphon.at[0].set(True))
    st = S.push_history(wrap(g))
    g2 = st.game.replace(enemy_hp=st.game.enemy_hp.at[0].set(1), score=jnp.int32(5),
                         siphoned=st.game.siphoned.at[3, 3].set(True), stage=jnp.int32(2),
                         exit_row=jnp.int32(0), step_skip_pending=jnp.asarray(True),
                         pending_siphon_spawns=jnp.int32(4), spawn_interval=jnp.int32(7),
                         next_task_turn=jnp.int32(30), kills=jnp.int32(3), show_active=jnp.asarray(True))
    out = apply(st.replace(game=g2), S.UNDO)
    n = out.game
    assert enemies_of(out) == {(2, 5): (VIRUS, 2, False)}
    assert int(n.score) == 0 and not bool(n.siphoned[3, 3]) and not bool(n.show_active)
    assert (int(n.stage), int(n.exit_row), bool(n.step_skip_pending), int(n.pending_siphon_spawns),
            int(n.spawn_interval), int(n.next_task_turn), int(n.kills)) == (2, 0, True, 4, 7, 30, 3)
    assert not bool(n.enemy_from_task[0]) and not bool(n.enemy_from_siphon[0])
    kept = _APPLY(st.replace(game=g2), jnp.int32(S.UNDO), KEY,
                  PARAMS.replace(fix_undo_keeps_spawn_flags=True)).game
    assert bool(kept.enemy_from_task[0]) and bool(kept.enemy_from_siphon[0])


def test_undo_past_the_ring_is_reported_not_played():
    """The ring keeps the newest HISTORY_LEN snapshots; an UNDO that needs an
    older one truncates the episode with the overflow flag."""
    st = wrap(game(credits=9))
    for t in range(HISTORY_LEN + 2):
        st = S.push_history(st.replace(game=st.game.replace(turn=jnp.int32(t))))
    assert int(st.history_count) == HISTORY_LEN and int(st.history_depth) == HISTORY_LEN + 2
    turns = []
    for _ in range(HISTORY_LEN):
        st = apply(st, S.UNDO)
        turns.append(int(st.game.turn))
    assert turns == list(range(HISTORY_LEN + 1, 1, -1))
    assert cond(st)[S.UNDO] and bool(S.history_overflow(st))  # Swift could still UNDO
    _, step = _env_step()
    _, out, r, term, trunc, info = step(KEY, st, S.PROGRAM_OFFSET + S.UNDO)
    assert bool(trunc) and not bool(term) and float(info["overflow"]) == 1.0


def test_undo_needs_a_credit_and_is_free():
    st = S.push_history(wrap(game(credits=0)))
    assert not cond(st)[S.UNDO]
    st = st.replace(game=st.game.replace(player_credits=jnp.int32(3)))
    out = apply(st, S.UNDO)
    assert int(out.game.player_credits) == 0  # the snapshot's credits


# ---------------------------------------------------------------- simple flags/resources
def test_step():
    out = apply(wrap(game()), S.STEP)
    assert bool(out.game.step_skip_pending) and int(out.game.player_energy) == 17
    assert not P.ENDS_TURN[S.STEP]


def test_siph_plus():
    out = apply(wrap(game()), S.SIPH_PLUS)
    assert int(out.game.player_siphons) == 1 and int(out.game.player_credits) == 15


def test_exch():
    out = apply(wrap(game(credits=10, energy=0)), S.EXCH)
    assert (int(out.game.player_credits), int(out.game.player_energy)) == (6, 4)
    assert not cond(wrap(game(credits=3)))[S.EXCH]


def test_show():
    st = wrap(game())
    out = apply(st, S.SHOW)
    assert bool(out.game.show_active) and not cond(out)[S.SHOW]


def test_reset():
    st = wrap(game(hp=1))
    assert cond(st)[S.RESET]
    out = apply(st, S.RESET)
    assert int(out.game.player_hp) == 3 and not cond(out)[S.RESET]


def test_calm():
    out = apply(wrap(game()), S.CALM)
    assert bool(out.game.calm_active) and not cond(out)[S.CALM]


def test_d_bom():
    g = game(player=(0, 0))
    g = enemy(g, DAEMON, 3, 3)                   # distance 6: survives
    g = enemy(g, DAEMON, 1, 2)                   # distance 3: nearest, dies
    g = enemy(g, VIRUS, 2, 2, hp=2)              # diagonal neighbour: 1 damage, stunned
    g = enemy(g, VIRUS, 1, 3, hp=1)              # neighbour: dies
    g = enemy(g, GLITCH, 1, 4, hp=2)             # two cells away: untouched
    st = wrap(g.replace(player_attack=jnp.int32(2)))   # D_BOM always deals 1
    assert cond(st)[S.D_BOM]
    out = apply(st, S.D_BOM)
    assert enemies_of(out) == {(3, 3): (DAEMON, 3, False), (2, 2): (VIRUS, 1, True),
                               (1, 4): (GLITCH, 2, False)}
    assert int(out.game.kills) == 2
    assert not cond(wrap(enemy(game(), VIRUS, 1, 1)))[S.D_BOM]


def test_d_bom_tie_takes_the_first_in_list_order():
    g = enemy(game(), DAEMON, 2, 4)              # slot 0, distance 2
    g = enemy(g, DAEMON, 4, 2)                   # slot 1, distance 2
    out = apply(wrap(g), S.D_BOM)
    assert enemies_of(out) == {(4, 2): (DAEMON, 3, False)}
    out = apply(wrap(g.replace(enemy_seq=g.enemy_seq.at[0].set(9))), S.D_BOM)
    assert enemies_of(out) == {(2, 4): (DAEMON, 3, False)}


def test_delay():
    g = trans(game(), 0, 0, turns=1)
    g = trans(g, 4, 4, turns=2)
    st = wrap(g)
    st = st.replace(game=st.game.replace(trans_turns=st.game.trans_turns.at[5].set(7)))  # dead slot
    out = apply(st, S.DELAY)
    assert trans_of(out) == {(0, 0): 4, (4, 4): 5}
    assert int(out.game.trans_turns[5]) == 7
    assert not cond(wrap(game()))[S.DELAY]


def test_anti_v():
    g = enemy(game(), VIRUS, 0, 0, hp=2)         # -> 1, stunned
    g = enemy(g, VIRUS, 5, 0, hp=1)              # dies
    g = enemy(g, DAEMON, 0, 5, hp=3)             # untouched
    st = wrap(g.replace(player_attack=jnp.int32(2)))
    out = apply(st, S.ANTI_V)
    assert enemies_of(out) == {(0, 0): (VIRUS, 1, True), (0, 5): (DAEMON, 3, False)}
    assert int(out.game.kills) == 1
    assert not cond(wrap(enemy(game(), DAEMON, 0, 0)))[S.ANTI_V]


def test_score():
    st = wrap(game(stage=jnp.int32(3), score=jnp.int32(10)))
    out = apply(st, S.SCORE)
    assert int(out.game.score) == 15
    assert not cond(wrap(game(stage=jnp.int32(8))))[S.SCORE]
    assert cond(wrap(game(stage=jnp.int32(7))))[S.SCORE]


def test_reduc():
    g = block(game(), 0, 1, points=3)            # 3 -> 2
    g = block(g, 0, 2, points=1, spawn=0)        # 0 stays 0
    g = block(g, 0, 3, points=2, siphoned=True)  # siphoned: stays 2
    g = block(g, 1, 1, kind=BLOCK_PROGRAM, program=S.ROW, spawn=2)  # 2 -> 1
    st = wrap(g)
    assert cond(st)[S.REDUC]
    out = apply(st, S.REDUC)
    sp = np.asarray(out.game.block_spawn)
    assert (sp[0, 1], sp[0, 2], sp[0, 3], sp[1, 1]) == (2, 0, 2, 1)
    assert int(out.game.block_points[0, 1]) == 3
    g0 = block(block(game(), 0, 2, points=1, spawn=0), 0, 3, siphoned=True)
    assert not cond(wrap(g0))[S.REDUC]


def test_atk_plus_twice_per_stage():
    st = wrap(game())
    st = apply(st, S.ATK_PLUS)
    assert (int(st.game.player_attack), int(st.game.atk_plus_uses)) == (2, 1)
    assert cond(st)[S.ATK_PLUS]
    st = apply(st, S.ATK_PLUS)
    assert (int(st.game.player_attack), int(st.game.atk_plus_uses)) == (3, 2)
    assert not cond(st)[S.ATK_PLUS]
    assert (int(st.game.player_credits), int(st.game.player_energy)) == (12, 12)


def test_hack():
    g = game().replace(player_attack=jnp.int32(1))
    g = g.replace(siphoned=g.siphoned.at[1, 1].set(True).at[1, 2].set(True).at[4, 4].set(True))
    g = enemy(g, DAEMON, 1, 1, hp=3)             # -> 2, stunned
    g = enemy(g, VIRUS, 1, 2, hp=1)              # dies
    g = enemy(g, VIRUS, 3, 3, hp=2)              # not on a siphoned cell
    st = wrap(g)
    assert cond(st)[S.HACK]
    out = apply(st, S.HACK)
    assert enemies_of(out) == {(1, 1): (DAEMON, 2, True), (3, 3): (VIRUS, 2, False)}
    assert int(out.game.kills) == 1
    assert not cond(wrap(game()))[S.HACK]


def test_branch_table_push_pull_match_apply():
    """apply_program shares one shift between PUSH and PULL; the standalone branch
    functions in BRANCHES give the same boards (cost aside)."""
    g = enemy(enemy(game(), VIRUS, 4, 4), DAEMON, 2, 0)
    st = wrap(g)
    for prog in (S.PUSH, S.PULL):
        via_apply = apply(st, prog).game
        direct = P.BRANCHES[prog](st, KEY, PARAMS).game
        np.testing.assert_array_equal(via_apply.enemy_row, direct.enemy_row)
        np.testing.assert_array_equal(via_apply.enemy_col, direct.enemy_col)
    assert enemies_of(apply(st, S.PUSH)) == {(5, 5): (VIRUS, 2, False), (2, 0): (DAEMON, 3, False)}
    assert enemies_of(apply(st, S.PULL)) == {(3, 3): (VIRUS, 2, False), (2, 1): (DAEMON, 3, False)}


# ---------------------------------------------------------------- through env.step
_ENV = None


def _env_step():
    global _ENV
    if _ENV is None:
        from jitrl.envs.hackmatrix import HackMatrix
        env = HackMatrix()
        _ENV = (env, jax.jit(lambda k, s, a: env.step(k, s, a, PARAMS)))
    return _ENV


def _step(st, action, seed=0):
    env, step = _env_step()
    obs, st2, reward, term, trunc, info = step(jax.random.PRNGKey(seed), st, jnp.int32(action))
    assert not bool(term) and not bool(trunc)
    return st2


def _daemon_state():
    """Player (2,2), a daemon far away at (0,5) (Manhattan 5), everything owned."""
    return wrap(enemy(game(), DAEMON, 0, 5))


def _daemon_dist(st):
    g = st.game
    return abs(int(g.enemy_row[0]) - int(g.player_row)) + abs(int(g.enemy_col[0]) - int(g.player_col))


def test_env_mask_uses_program_conditions():
    env, _ = _env_step()
    st = rich_state()
    np.testing.assert_array_equal(np.asarray(env.action_mask(st, PARAMS))[S.PROGRAM_OFFSET:], cond(st))


def test_env_free_programs_chain_without_enemy_turn_and_wait_ends_it():
    st = _daemon_state()
    st = _step(st, S.PROGRAM_OFFSET + S.SIPH_PLUS)           # free
    st = _step(st, S.PROGRAM_OFFSET + S.SHOW)                # free, chained
    g = st.game
    assert int(g.player_siphons) == 1 and bool(g.show_active)
    assert (int(g.player_credits), int(g.player_energy)) == (20 - 5 - 2, 20)
    assert int(g.turn) == 0 and _daemon_dist(st) == 5        # no enemy turn yet
    assert int(st.history_count) == 0 and int(st.programs_used) == 2 and int(st.steps) == 2
    st = _step(st, S.PROGRAM_OFFSET + S.WAIT)                # ends the turn
    assert int(st.game.turn) == 1 and _daemon_dist(st) == 4  # the daemon stepped closer
    assert int(st.history_count) == 1 and int(st.game.player_energy) == 19
    # the snapshot is the end of that enemy turn: UNDO restores it (free)
    st = _step(st, S.PROGRAM_OFFSET + S.UNDO)
    assert int(st.game.turn) == 1 and _daemon_dist(st) == 4
    assert int(st.history_count) == 0 and int(st.game.player_energy) == 19
    assert int(st.game.player_credits) == 13 and int(st.programs_used) == 4


def test_env_step_program_skips_next_enemy_turn():
    st = _step(_daemon_state(), S.PROGRAM_OFFSET + S.STEP)
    assert bool(st.game.step_skip_pending) and int(st.game.turn) == 0
    st = _step(st, S.PROGRAM_OFFSET + S.WAIT)                # this enemy turn is skipped
    assert int(st.game.turn) == 0 and _daemon_dist(st) == 5
    assert not bool(st.game.step_skip_pending)
    st = _step(st, S.PROGRAM_OFFSET + S.WAIT)                # the next one runs
    assert int(st.game.turn) == 1 and _daemon_dist(st) == 4


def test_env_program_effect_and_unowned_program_rejected():
    g = enemy(game(), VIRUS, 2, 5, hp=2)
    st = wrap(g)
    out = _step(st, S.PROGRAM_OFFSET + S.ROW)
    assert enemies_of(out) == {(2, 5): (VIRUS, 1, True)} and int(out.game.turn) == 0
    assert int(out.game.player_credits) == 17 and int(out.game.player_energy) == 19
    # not owned: masked, nothing but the step counter changes
    st_no = wrap(g.replace(owned=jnp.zeros((NUM_PROGRAMS,), bool)))
    out = _step(st_no, S.PROGRAM_OFFSET + S.ROW)
    assert enemies_of(out) == {(2, 5): (VIRUS, 2, False)}
    assert int(out.game.player_credits) == 20 and int(out.programs_used) == 0
