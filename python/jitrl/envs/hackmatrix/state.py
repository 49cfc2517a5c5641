"""HackMatrix state, params and constants (shared by every module of the game).

Layout
======
``EnvState`` = ``GameState`` (everything UNDO restores) + episode bookkeeping
(step counter, accumulators, UNDO history). All arrays have fixed shapes
(``GRID`` x ``GRID`` board, ``MAX_ENEMIES`` enemy slots, ``MAX_TRANSMISSIONS``
transmission slots, ``HISTORY_LEN`` undo snapshots), all integers are int32.

Coordinates: ``row`` 0-5, ``col`` 0-5; action 0 "up" is ``row + 1``, 1 "down"
``row - 1``, 2 "left" ``col - 1``, 3 "right" ``col + 1``.

GameState fields
----------------
Board channels, ``int32/bool[6, 6]`` indexed ``[row, col]``:

* ``block_kind``: ``BLOCK_NONE`` / ``BLOCK_DATA`` / ``BLOCK_PROGRAM`` /
  ``BLOCK_QUESTION``. A question block shows as ``BLOCK_QUESTION`` until it is
  siphoned; then it becomes its real kind (``block_hidden_kind``).
* ``block_hidden_kind``: the real kind behind a question block
  (``BLOCK_DATA`` or ``BLOCK_PROGRAM``); equals ``block_kind`` for ordinary
  blocks and ``BLOCK_NONE`` where there is no block.
* ``block_points``: points of a data block (1-9), 0 otherwise.
* ``block_program``: program index 0-22 of a program block, -1 otherwise.
* ``block_spawn``: transmissions the block spawns when siphoned (data block:
  its points; program block: that program's ``PROGRAM_SPAWN``). REDUC lowers it.
* ``siphoned``: bool, the cell was already siphoned (blocks stay as obstacles).
* ``credits`` / ``energy``: resource units lying on the cell (0-3).
* ``siphon_pickup``: bool, a data-siphon pickup lies on the cell (walk onto it).

Exit: ``exit_row``, ``exit_col`` (scalars: Swift's ``exitPosition``, used by
distance shaping and WARP) and ``exit_cell`` (bool board: Swift's cell content
``.exit``, entered to complete the stage; UNDO restores it, the position not,
so after an UNDO across a stage the two differ as in Swift).
``siphon_center``: bool board, the player stood there when siphoning (Swift's
``Cell.siphonCenter``; observation only).

Enemy slots, ``[MAX_ENEMIES]``: ``enemy_alive`` (bool), ``enemy_type``
(``VIRUS``/``DAEMON``/``GLITCH``/``CRYPTOG``), ``enemy_row``, ``enemy_col``,
``enemy_hp``, ``enemy_stunned`` (bool; skips its next move, cleared at the end
of the enemy turn), ``enemy_from_siphon`` (bool, came from a siphon-spawned
transmission), ``enemy_from_task`` (bool, came from a scheduled spawn: killing
it pays no kill reward), ``enemy_just_spawned`` (bool, appeared during this
enemy turn and does not act until the next one; cleared at the end of the
enemy turn), ``enemy_seq`` (int, Swift's list order: lower = earlier in
``enemies``; decides PUSH/PULL collisions, D_BOM ties and which of several
enemies on one cell is hit).
Dead slots keep stale values; always test ``enemy_alive``.

Transmission slots, ``[MAX_TRANSMISSIONS]``: ``trans_alive``, ``trans_row``,
``trans_col``, ``trans_turns`` (turns left; ticks at the enemy turn and spawns
its enemy when it reaches 0), ``trans_type`` (enemy type it will become),
``trans_from_siphon``, ``trans_from_task`` (bool), ``trans_seq`` (list order).
``next_seq``: the next list position handed out (new units are appended).

Player scalars: ``player_row``, ``player_col``, ``player_hp`` (max 3),
``player_credits``, ``player_energy``, ``player_siphons`` (data siphons held),
``player_attack`` (attack damage, 1 + ATK+ uses), ``score``, ``stage`` (1-8).

``owned``: bool[23], programs the player owns (index = action - 5).

Flags/counters: ``show_active`` (SHOW used this stage), ``calm_active`` (CALM:
scheduled spawns off for this stage), ``step_skip_pending`` (STEP: the next
enemy turn is skipped), ``atk_plus_uses`` (ATK+ uses this stage),
``spawn_interval`` (turns between scheduled spawns), ``next_task_turn``
(Swift's ``nextScheduledTaskTurn``: the scheduled spawn fires at the enemy
turn where ``turn >= next_task_turn``), ``pending_siphon_spawns`` (transmissions
owed by siphoned blocks, placed at the end of the enemy turn), ``turn``
(Swift's ``turnCount``: enemy turns taken this stage), ``kills`` (Swift's
``totalKills`` summed over the episode: enemies and transmissions destroyed,
scheduled spawns excluded; UNDO does not restore it, so an UNDO pays no kill
reward).

EnvState fields
---------------
``game`` (above); ``history`` (a ``GameState`` whose leaves have a leading
``HISTORY_LEN`` axis: ring buffer of UNDO snapshots, Swift's ``gameHistory``,
one pushed at the end of every enemy turn that runs), ``history_head`` (slot
the next push writes), ``history_depth`` (Swift's ``gameHistory.count``: the
snapshots the game holds, unbounded), ``history_count`` (how many of the
newest of them the ring still stores, ``min(depth, HISTORY_LEN)`` after
pushes; an UNDO with ``history_depth > 0`` but ``history_count == 0`` needs a
snapshot the ring dropped: the episode ends there, truncated, with
``events['history_overflow']``; see ``HISTORY_LEN``); ``steps`` (env steps this
episode), ``programs_used``, ``siphons_used`` (counts), ``highest_stage``,
``stage_rewards_earned`` (sum of stage-completion rewards so far, for the death
penalty), ``last_action`` (-1 before the first), ``won``, ``dead`` (how the
episode ended; read by ``episode_summary``).
"""
from __future__ import annotations

from typing import Tuple

import numpy as np
import jax
import jax.numpy as jnp
from flax import struct

# ---------------------------------------------------------------- sizes
GRID = 6
NUM_CELLS = GRID * GRID
#: Enemy and transmission slots: one per cell. Enemies and transmissions never
#: share a cell with each other or with the player (transmissions are placed on
#: empty cells, enemies hatch on their transmission's cell and only move or are
#: pushed onto cells free of both), so at most 35 are on the board at once;
#: nothing is ever dropped for lack of a slot (asserted by
#: ``tests/test_hackmatrix_capacity.py``).
MAX_ENEMIES = GRID * GRID
MAX_TRANSMISSIONS = GRID * GRID
#: UNDO snapshots stored per env (a ring). Swift's history is unbounded; the
#: ring only has to hold the snapshots an UNDO chain can reach. Reaching the
#: snapshot d below the top takes d + 1 UNDOs in a row, each with a credit in
#: hand, so a chain deeper than 16 is very rare; when one happens the episode
#: is truncated and reported (``events['history_overflow']``), never played
#: on with a wrong board. Size: one snapshot is one ``GameState`` (2,978
#: bytes), so the ``EnvState`` is 50.7 KB per env (104 MB at 2048 envs).
HISTORY_LEN = 16
NUM_STAGES = 8
MAX_HP = 3

# ---------------------------------------------------------------- actions
ACTION_UP, ACTION_DOWN, ACTION_LEFT, ACTION_RIGHT = 0, 1, 2, 3
ACTION_SIPHON = 4
PROGRAM_OFFSET = 5
NUM_PROGRAMS = 23
NUM_ACTIONS = PROGRAM_OFFSET + NUM_PROGRAMS  # 28

#: (d_row, d_col) of the four move actions (up = row + 1).
DIRECTIONS = np.array([[1, 0], [-1, 0], [0, -1], [0, 1]], dtype=np.int32)

PROGRAM_NAMES = (
    "PUSH", "PULL", "CRASH", "WARP", "POLY", "WAIT", "DEBUG", "ROW", "COL", "UNDO",
    "STEP", "SIPH+", "EXCH", "SHOW", "RESET", "CALM", "D_BOM", "DELAY", "ANTI-V",
    "SCORE", "REDUC", "ATK+", "HACK",
)
(PUSH, PULL, CRASH, WARP, POLY, WAIT, DEBUG, ROW, COL, UNDO, STEP, SIPH_PLUS, EXCH,
 SHOW, RESET, CALM, D_BOM, DELAY, ANTI_V, SCORE, REDUC, ATK_PLUS, HACK) = range(NUM_PROGRAMS)

#: Program costs (credits, energy) and spawn count as a block, in program order.
PROGRAM_CREDITS = np.array(
    [0, 0, 3, 2, 1, 0, 3, 3, 3, 1, 0, 5, 4, 2, 0, 2, 3, 1, 3, 0, 2, 4, 2], dtype=np.int32)
PROGRAM_ENERGY = np.array(
    [2, 2, 2, 2, 1, 1, 0, 1, 1, 0, 3, 0, 0, 0, 4, 4, 0, 2, 0, 5, 1, 4, 2], dtype=np.int32)
PROGRAM_SPAWN = np.array(
    [4, 4, 6, 5, 3, 1, 4, 2, 2, 3, 4, 7, 3, 2, 2, 6, 4, 4, 4, 5, 3, 8, 4], dtype=np.int32)

ACTION_NAMES = ("UP", "DOWN", "LEFT", "RIGHT", "SIPHON") + PROGRAM_NAMES

# ---------------------------------------------------------------- enemies
VIRUS, DAEMON, GLITCH, CRYPTOG = 0, 1, 2, 3
NUM_ENEMY_TYPES = 4
ENEMY_NAMES = ("virus", "daemon", "glitch", "cryptog")
ENEMY_MAX_HP = np.array([2, 3, 2, 2], dtype=np.int32)
ENEMY_SPEED = np.array([2, 1, 1, 1], dtype=np.int32)

# ---------------------------------------------------------------- blocks
BLOCK_NONE, BLOCK_DATA, BLOCK_PROGRAM, BLOCK_QUESTION = 0, 1, 2, 3

CORNERS = np.array([[0, 0], [0, GRID - 1], [GRID - 1, 0], [GRID - 1, GRID - 1]], dtype=np.int32)


@struct.dataclass
class EnvParams:
    """Tunable numbers (all traced; override with ``jitrl.make('hackmatrix', name=value)``)."""

    max_steps: int = 500
    # spawn schedule
    spawn_interval_start: int = 12  # interval at stage 1; stage N starts at 13 - N
    spawn_interval_min: int = 4
    siphon_spawn_delay: int = 5  # a siphon pushes the next scheduled spawn back this much
    transmission_turns: int = 1  # turns left of every new transmission
    # stage set-up probabilities
    question_prob: float = 0.1
    # reward weights (see rewards.py for each term)
    w_step: float = -0.01
    stage_rewards: tuple = (1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 100.0)
    w_score: float = 0.5
    w_kill: float = 0.3
    w_siphon_pickup: float = 1.0
    w_distance: float = 0.05
    #: False (Swift): ``r_distance`` pays only steps towards the exit, so walking
    #: away and back earns it again; True pays the signed change (potential-based
    #: shaping: a round trip nets 0, so it cannot be farmed)
    distance_potential: bool = False
    w_hp_lost: float = 1.0
    w_hp_gained: float = 1.0
    victory_base: float = 500.0
    victory_per_score: float = 100.0
    death_fraction: float = 0.5
    siphon_death_penalty: float = 10.0  # Swift pays it when dying next to a siphon-spawned enemy
    w_resource: float = 0.05
    w_resource_hold: float = 0.01
    reset_waste_penalty: float = 0.3
    w_siphon_quality: float = 0.025
    # Swift bugs: False = Swift's behaviour (the default), True = the fix
    #: Swift pays ``stage_rewards[6]`` (64) for completing stage 8 (it reads
    #: ``currentStage - 1`` after ``completeStage``, which stays at 8 on
    #: victory); True pays ``stage_rewards[7]`` (100).
    fix_stage8_reward: bool = False
    #: Swift keeps the UNDO history across a stage change, so UNDO can restore
    #: the previous stage's board (its exit cell included) while the stage
    #: number and exit position stay new; True clears it at a stage change.
    fix_undo_across_stages: bool = False
    #: Swift's ``restoreSnapshot`` rebuilds enemies and transmissions without
    #: their scheduled-spawn / siphon-spawn flags; True keeps them.
    fix_undo_keeps_spawn_flags: bool = False


@struct.dataclass
class GameState:
    # board
    block_kind: jax.Array
    block_hidden_kind: jax.Array
    block_points: jax.Array
    block_program: jax.Array
    block_spawn: jax.Array
    siphoned: jax.Array
    credits: jax.Array
    energy: jax.Array
    siphon_pickup: jax.Array
    exit_row: jax.Array
    exit_col: jax.Array
    exit_cell: jax.Array
    siphon_center: jax.Array
    # enemies
    enemy_alive: jax.Array
    enemy_type: jax.Array
    enemy_row: jax.Array
    enemy_col: jax.Array
    enemy_hp: jax.Array
    enemy_stunned: jax.Array
    enemy_from_siphon: jax.Array
    enemy_from_task: jax.Array
    enemy_just_spawned: jax.Array
    enemy_seq: jax.Array
    # transmissions
    trans_alive: jax.Array
    trans_row: jax.Array
    trans_col: jax.Array
    trans_turns: jax.Array
    trans_type: jax.Array
    trans_from_siphon: jax.Array
    trans_from_task: jax.Array
    trans_seq: jax.Array
    next_seq: jax.Array
    # player
    player_row: jax.Array
    player_col: jax.Array
    player_hp: jax.Array
    player_credits: jax.Array
    player_energy: jax.Array
    player_siphons: jax.Array
    player_attack: jax.Array
    score: jax.Array
    stage: jax.Array
    owned: jax.Array
    # flags / counters
    show_active: jax.Array
    calm_active: jax.Array
    step_skip_pending: jax.Array
    atk_plus_uses: jax.Array
    spawn_interval: jax.Array
    next_task_turn: jax.Array
    pending_siphon_spawns: jax.Array
    turn: jax.Array
    kills: jax.Array


@struct.dataclass
class EnvState:
    game: GameState
    history: GameState
    history_head: jax.Array
    history_depth: jax.Array
    history_count: jax.Array
    steps: jax.Array
    programs_used: jax.Array
    siphons_used: jax.Array
    highest_stage: jax.Array
    stage_rewards_earned: jax.Array
    last_action: jax.Array
    won: jax.Array
    dead: jax.Array


def _i(x=0):
    return jnp.asarray(x, jnp.int32)


def _b(x=False):
    return jnp.asarray(x, bool)


def empty_game() -> GameState:
    """An all-empty board, no enemies, player at (0, 0) with stage-1 stats."""
    zi = jnp.zeros((GRID, GRID), jnp.int32)
    zb = jnp.zeros((GRID, GRID), bool)
    ei = jnp.zeros((MAX_ENEMIES,), jnp.int32)
    eb = jnp.zeros((MAX_ENEMIES,), bool)
    ti = jnp.zeros((MAX_TRANSMISSIONS,), jnp.int32)
    tb = jnp.zeros((MAX_TRANSMISSIONS,), bool)
    return GameState(
        block_kind=zi, block_hidden_kind=zi, block_points=zi,
        block_program=jnp.full((GRID, GRID), -1, jnp.int32), block_spawn=zi,
        siphoned=zb, credits=zi, energy=zi, siphon_pickup=zb,
        exit_row=_i(GRID - 1), exit_col=_i(GRID - 1),
        exit_cell=zb.at[GRID - 1, GRID - 1].set(True), siphon_center=zb,
        enemy_alive=eb, enemy_type=ei, enemy_row=ei, enemy_col=ei, enemy_hp=ei,
        enemy_stunned=eb, enemy_from_siphon=eb, enemy_from_task=eb, enemy_just_spawned=eb,
        enemy_seq=ei,
        trans_alive=tb, trans_row=ti, trans_col=ti, trans_turns=ti, trans_type=ti,
        trans_from_siphon=tb, trans_from_task=tb, trans_seq=ti, next_seq=_i(),
        player_row=_i(), player_col=_i(), player_hp=_i(MAX_HP), player_credits=_i(),
        player_energy=_i(), player_siphons=_i(), player_attack=_i(1), score=_i(), stage=_i(1),
        owned=jnp.zeros((NUM_PROGRAMS,), bool),
        show_active=_b(), calm_active=_b(), step_skip_pending=_b(), atk_plus_uses=_i(),
        spawn_interval=_i(12), next_task_turn=_i(12), pending_siphon_spawns=_i(),
        turn=_i(), kills=_i(),
    )


def wrap_game(game: GameState, history: GameState = None) -> EnvState:
    """A fresh episode state around ``game`` (empty history, zeroed accumulators).

    ``history``: a ring buffer to reuse (an auto-reset passes the finished
    episode's: with ``history_count`` 0 its snapshots are never read, and
    reusing it saves building and selecting a new one); default: ``game``
    broadcast to every slot."""
    if history is None:
        history = jax.tree_util.tree_map(
            lambda x: jnp.broadcast_to(x, (HISTORY_LEN,) + x.shape), game)
    return EnvState(
        game=game, history=history, history_head=_i(), history_depth=_i(), history_count=_i(),
        steps=_i(),
        programs_used=_i(), siphons_used=_i(), highest_stage=jnp.asarray(game.stage, jnp.int32),
        stage_rewards_earned=jnp.zeros((), jnp.float32), last_action=_i(-1), won=_b(), dead=_b(),
    )


def select_state(pred, a: EnvState, b: EnvState) -> EnvState:
    """``where(pred, a, b)`` on every field except the UNDO ring buffer, which
    is taken from ``b``. For states that share their buffer (only
    :func:`push_history` writes it): selecting four snapshots per env for
    nothing was a large part of an env step."""
    strip = lambda s: s.replace(history=None)
    out = jax.tree_util.tree_map(lambda x, y: jnp.where(pred, x, y), strip(a), strip(b))
    return out.replace(history=b.history)


# ---------------------------------------------------------------- UNDO history
def push_history(state: EnvState, snap: GameState = None, cond=True) -> EnvState:
    """Push ``snap`` (default: the current game) onto the ring buffer where
    ``cond`` holds (Swift's ``saveSnapshot``); otherwise nothing changes. The
    depth always counts the push; the ring keeps the newest ``HISTORY_LEN``.

    The write is a select against a one-hot slot mask (cheaper under ``vmap`` than
    a scatter, and no copy of the buffer is selected afterwards)."""
    snap = state.game if snap is None else snap
    cond = jnp.asarray(cond, bool)
    head = state.history_head
    slot = (jnp.arange(HISTORY_LEN) == head) & cond
    history = jax.tree_util.tree_map(
        lambda h, g: jnp.where(slot.reshape((HISTORY_LEN,) + (1,) * g.ndim), g[None], h),
        state.history, snap)
    return state.replace(
        history=history,
        history_head=jnp.where(cond, (head + 1) % HISTORY_LEN, head),
        history_depth=state.history_depth + cond.astype(jnp.int32),
        history_count=jnp.where(cond, jnp.minimum(state.history_count + 1, HISTORY_LEN),
                                state.history_count),
    )


def history_overflow(state: EnvState) -> jax.Array:
    """bool: the game holds a snapshot (Swift would UNDO) that the ring dropped."""
    return (state.history_depth > 0) & (state.history_count == 0)


def restore_snapshot(game: GameState, snap: GameState, keep_spawn_flags=False) -> GameState:
    """Swift's ``restoreSnapshot``: ``game`` with the fields a ``GameStateSnapshot``
    holds taken from ``snap``: the player (cell, HP, credits, energy, data
    siphons, score, attack), ``turn``, owned programs, every cell (blocks,
    resources, siphoned, siphon centre, pickups, the exit cell), the enemies
    (list order, HP, stun, hatch flag) and transmissions, SHOW, CALM and ATK+
    uses. Not restored: the stage, exit position, STEP flag, owed siphon
    spawns, spawn interval and next scheduled turn, ``kills`` and ``next_seq``.
    Enemies and transmissions come back without their scheduled-spawn and
    siphon-spawn flags (Swift rebuilds them with ``Enemy(type:row:col:)``)
    unless ``keep_spawn_flags``."""
    keep = jnp.asarray(keep_spawn_flags, bool)
    restored = (
        "player_row", "player_col", "player_hp", "player_credits", "player_energy",
        "player_siphons", "score", "player_attack", "turn", "owned",
        "block_kind", "block_hidden_kind", "block_points", "block_program", "block_spawn",
        "siphoned", "credits", "energy", "siphon_pickup", "exit_cell", "siphon_center",
        "enemy_alive", "enemy_type", "enemy_row", "enemy_col", "enemy_hp", "enemy_stunned",
        "enemy_just_spawned", "enemy_seq",
        "trans_alive", "trans_row", "trans_col", "trans_turns", "trans_type", "trans_seq",
        "show_active", "calm_active", "atk_plus_uses",
    )
    flags = ("enemy_from_siphon", "enemy_from_task", "trans_from_siphon", "trans_from_task")
    out = {k: getattr(snap, k) for k in restored}
    out.update({k: keep & getattr(snap, k) for k in flags})
    return game.replace(**out)


def pop_history(state: EnvState) -> Tuple[EnvState, GameState]:
    """Drop the newest snapshot (UNDO). Returns (state, that snapshot); when the
    ring holds none the state is unchanged and the snapshot is stale."""
    nonempty = state.history_count > 0
    head = (state.history_head - 1) % HISTORY_LEN
    snap = jax.tree_util.tree_map(
        lambda h: jax.lax.dynamic_index_in_dim(h, head, 0, keepdims=False), state.history)
    return state.replace(
        history_head=jnp.where(nonempty, head, state.history_head),
        history_count=jnp.where(nonempty, state.history_count - 1, 0),
        history_depth=jnp.where(nonempty, state.history_depth - 1, state.history_depth),
    ), snap


def clear_history(state: EnvState) -> EnvState:
    return state.replace(history_head=_i(), history_count=_i(), history_depth=_i())
