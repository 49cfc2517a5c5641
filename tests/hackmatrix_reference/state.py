"""The game state, kept close to Swift's object model.

Swift (Grid.swift, Enemy.swift, Player.swift, GameState.swift) -> here:

* ``Cell`` (content ``.empty`` / ``.block(BlockType)`` / ``.dataSiphon`` /
  ``.exit``, ``resources``, ``isSiphoned``, ``siphonCenter``) -> :class:`Cell`
  with ``content`` in ``"empty" | "block" | "data_siphon" | "exit"`` and
  ``block`` a :class:`Block` when ``content == "block"``; ``resources`` is
  ``None``, ``("credits", n)`` or ``("energy", n)``.
* ``BlockType`` ``.data(points, transmissionSpawn)``, ``.program(Program,
  transmissionSpawn)``, ``.question(isData, points, program, transmissionSpawn)``
  -> :class:`Block` (immutable, like the Swift enum value).
* ``Enemy`` -> :class:`Enemy` (``id`` is an int instead of a UUID).
* ``Transmission`` -> :class:`Transmission` (only the ``.spawning(turns)``
  state is kept: Swift removes a transmission in the same
  ``processTransmissions`` call that moves it to ``.spawned``).
* ``Player`` -> :class:`Player` (``health`` is the PlayerHealth raw value 0-3).
* ``GameState`` -> :class:`GameState`; ``GameStateSnapshot`` -> :class:`Snapshot`.

No capacity limits anywhere: enemies and transmissions are plain lists.

Also here: the GameState helpers that make no random draw and are shared by
the rules and the programs (snapshots, kill bookkeeping), :meth:`GameState.canonical`
and :func:`from_description` / :func:`describe`.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

from .constants import (
    ENEMY_MAX_HP, ENEMY_TYPES, GRID_SIZE, INITIAL_SCHEDULED_TASK_INTERVAL, MAX_HP,
    PROGRAM_SPAWN_COST, PROGRAMS,
)


@dataclass
class Fixes:
    """Opt-in fixes of evident Swift bugs (all off = Swift behaviour). Each is
    described where the code reads it (grep ``SWIFT-BUG``)."""

    #: UNDO history survives a stage change, so UNDO can restore the previous
    #: stage's board under the new stage's exit position (restoreSnapshot).
    clear_history_on_stage_change: bool = False
    #: Winning (completing stage 8) pays stageRewards[6] = 64, not 100
    #: (RewardCalculator.calculate reads currentStage - 1 after completeStage,
    #: which leaves currentStage at 8 on victory).
    stage8_reward_100: bool = False
    #: restoreSnapshot rebuilds enemies/transmissions without their
    #: isFromScheduledTask / spawnedFromSiphon flags.
    undo_keeps_spawn_flags: bool = False
    #: placeBlocksWithValidation loops forever when fewer than blockCount
    #: non-corner cells are free of enemies/transmissions. Off: raise
    #: :class:`SwiftHang`. On: place as many blocks as fit.
    block_placement_caps_count: bool = False


class SwiftHang(RuntimeError):
    """The Swift code would loop forever here."""


# ---------------------------------------------------------------- Grid.swift
@dataclass(frozen=True)
class Block:
    """Grid.swift ``BlockType``: kind ``"data"`` (points, spawn), ``"program"``
    (program, spawn) or ``"question"`` (is_data, points or program, spawn)."""

    kind: str
    spawn: int
    points: Optional[int] = None
    program: Optional[str] = None
    is_data: Optional[bool] = None  # question blocks only

    def with_spawn(self, spawn: int) -> "Block":
        """The same BlockType with another transmissionSpawn (executeProgram(.reduc))."""
        return Block(self.kind, spawn, self.points, self.program, self.is_data)

    def key(self):
        return (self.kind, self.spawn, self.points, self.program, self.is_data)


def data_block(points: int, spawn: Optional[int] = None) -> Block:
    """Grid.swift BlockType.data(points, transmissionSpawn: points) (spawn = points, as placeBlocksWithValidation)."""
    return Block("data", points if spawn is None else spawn, points=points)


def program_block(program: str, spawn: Optional[int] = None) -> Block:
    """Grid.swift BlockType.program(Program, transmissionSpawn: Program.enemySpawnCost)."""
    return Block("program", PROGRAM_SPAWN_COST[program] if spawn is None else spawn, program=program)


def question_block(points: Optional[int] = None, program: Optional[str] = None,
                   spawn: Optional[int] = None) -> Block:
    """Grid.swift BlockType.question(isData, points, program, transmissionSpawn)."""
    if (points is None) == (program is None):
        raise ValueError("a question block hides either points or a program")
    if points is not None:
        return Block("question", points if spawn is None else spawn, points=points, is_data=True)
    return Block("question", PROGRAM_SPAWN_COST[program] if spawn is None else spawn,
                 program=program, is_data=False)


@dataclass
class Cell:
    """Grid.swift ``Cell``."""

    row: int
    col: int
    content: str = "empty"          # "empty" | "block" | "data_siphon" | "exit"
    block: Optional[Block] = None   # set iff content == "block"
    resources: Optional[Tuple[str, int]] = None  # ("credits", n) | ("energy", n) | None
    is_siphoned: bool = False
    siphon_center: bool = False

    @property
    def has_block(self) -> bool:
        """Grid.swift Cell.hasBlock."""
        return self.content == "block"

    @property
    def has_data_siphon(self) -> bool:
        """Grid.swift Cell.hasDataSiphon."""
        return self.content == "data_siphon"

    @property
    def is_exit(self) -> bool:
        """Grid.swift Cell.isExit."""
        return self.content == "exit"

    def set_block(self, block: Optional[Block]):
        """Assign ``cell.content = .block(b)`` (or ``.empty`` for None)."""
        if block is None:
            self.content, self.block = "empty", None
        else:
            self.content, self.block = "block", block

    def set_content(self, content: str):
        """Assign ``cell.content = .empty / .dataSiphon / .exit``."""
        assert content in ("empty", "data_siphon", "exit")
        self.content, self.block = content, None

    def key(self):
        return (self.row, self.col, self.content, self.block.key() if self.block else None,
                self.resources, self.is_siphoned, self.siphon_center)


class Grid:
    """Grid.swift ``Grid``: ``cells[row][col]``."""

    def __init__(self):
        self.cells = [[Cell(r, c) for c in range(GRID_SIZE)] for r in range(GRID_SIZE)]

    @staticmethod
    def is_valid_position(row: int, col: int) -> bool:
        """Grid.swift Grid.isValidPosition."""
        return 0 <= row < GRID_SIZE and 0 <= col < GRID_SIZE

    def cell_at(self, row: int, col: int) -> Optional[Cell]:
        """Grid.swift Grid.cellAt."""
        return self.cells[row][col] if self.is_valid_position(row, col) else None

    @staticmethod
    def get_corner_positions() -> List[Tuple[int, int]]:
        """Grid.swift Grid.getCornerPositions (order (0,0), (0,5), (5,0), (5,5))."""
        n = GRID_SIZE - 1
        return [(0, 0), (0, n), (n, 0), (n, n)]

    def get_siphon_cells(self, center_row: int, center_col: int) -> List[Cell]:
        """Grid.getSiphonCells: centre, then up, down, left, right (on the board)."""
        from .constants import DIRECTIONS, DIRECTION_OFFSET
        out = []
        c = self.cell_at(center_row, center_col)
        if c is not None:
            out.append(c)
        for d in DIRECTIONS:
            dr, dc = DIRECTION_OFFSET[d]
            c = self.cell_at(center_row + dr, center_col + dc)
            if c is not None:
                out.append(c)
        return out

    def all_cells(self):
        """Row-major iteration, as Swift's nested ``for row / for col`` loops."""
        for row in self.cells:
            yield from row


# ---------------------------------------------------------------- Enemy.swift
@dataclass
class Enemy:
    """Enemy.swift ``Enemy``."""

    id: int
    type: str
    row: int
    col: int
    hp: int
    disabled_turns: int = 0
    is_stunned: bool = False
    last_known_row: Optional[int] = None
    last_known_col: Optional[int] = None
    is_from_scheduled_task: bool = False
    spawned_from_siphon: bool = False

    @classmethod
    def new(cls, eid: int, etype: str, row: int, col: int, is_from_scheduled_task=False,
            spawned_from_siphon=False) -> "Enemy":
        """Enemy.init: full HP, not disabled or stunned; a cryptog's last known
        position starts at its cell."""
        e = cls(eid, etype, row, col, ENEMY_MAX_HP[etype],
                is_from_scheduled_task=is_from_scheduled_task,
                spawned_from_siphon=spawned_from_siphon)
        if etype == "cryptog":
            e.last_known_row, e.last_known_col = row, col
        return e

    @property
    def is_disabled(self) -> bool:
        """Enemy.swift Enemy.isDisabled."""
        return self.disabled_turns > 0

    def take_damage(self, amount: int):
        """Enemy.takeDamage: hp = max(0, hp - amount)."""
        self.hp = max(0, self.hp - amount)

    def decrement_disable(self):
        """Enemy.swift Enemy.decrementDisable."""
        if self.disabled_turns > 0:
            self.disabled_turns -= 1

    def key(self, with_last_known=True):
        k = (self.row, self.col, self.type, self.hp, self.disabled_turns, self.is_stunned,
             self.is_from_scheduled_task, self.spawned_from_siphon)
        if with_last_known:
            k += (self.last_known_row, self.last_known_col)
        return k


@dataclass
class Transmission:
    """Enemy.swift ``Transmission`` in state ``.spawning(turnsRemaining)``."""

    id: int
    row: int
    col: int
    turns_remaining: int
    enemy_type: str
    is_from_scheduled_task: bool = False
    spawned_from_siphon: bool = False

    def key(self):
        return (self.row, self.col, self.turns_remaining, self.enemy_type,
                self.is_from_scheduled_task, self.spawned_from_siphon)


# ---------------------------------------------------------------- Player.swift
@dataclass
class Player:
    """Player.swift ``Player`` (``health`` = PlayerHealth.rawValue)."""

    row: int
    col: int
    health: int = MAX_HP
    credits: int = 0
    energy: int = 0
    data_siphons: int = 0
    score: int = 0
    attack_damage: int = 1

    def take_damage(self):
        """PlayerHealth.takeDamage: one step down, never below 0 (dead)."""
        if self.health > 0:
            self.health -= 1

    def key(self):
        return (self.row, self.col, self.health, self.credits, self.energy, self.data_siphons,
                self.score, self.attack_damage)


# ---------------------------------------------------------------- GameState.swift
@dataclass
class Snapshot:
    """GameState.swift ``GameStateSnapshot`` (with EnemySnapshot,
    TransmissionSnapshot, CellSnapshot). Enemy/transmission entries keep the
    spawn flags only so that the opt-in fix ``undo_keeps_spawn_flags`` can
    restore them; Swift's snapshot structs do not have them."""

    player: Tuple
    turn_count: int
    owned_programs: Tuple[str, ...]
    enemies: Tuple
    transmissions: Tuple
    grid_cells: Tuple
    show_activated: bool
    scheduled_tasks_disabled: bool
    atk_plus_uses_this_stage: int

    def key(self):
        return (self.player, self.turn_count, self.owned_programs,
                tuple(e[:-2] for e in self.enemies),        # Swift keeps no spawn flags
                tuple(t[:-2] for t in self.transmissions),
                self.grid_cells, self.show_activated, self.scheduled_tasks_disabled,
                self.atk_plus_uses_this_stage)


class GameState:
    """GameState.swift ``GameState`` (fields in Swift's names, snake_case).

    Build one with :func:`generation.new_game` (Swift ``GameState()``) or
    :func:`from_description`. ``options`` holds the opt-in bug fixes
    (:class:`Fixes`); ``next_id`` numbers new enemies and transmissions.
    """

    def __init__(self, player: Player, options: Optional[Fixes] = None):
        self.player = player
        self.grid = Grid()
        self.enemies: List[Enemy] = []
        self.transmissions: List[Transmission] = []
        self.current_stage = 1
        self.turn_count = 0
        self.owned_programs: List[str] = []
        self.show_activated = False
        self.scheduled_tasks_disabled = False
        self.step_active = False
        self.game_history: List[Snapshot] = []
        self.pending_siphon_transmissions = 0
        self.atk_plus_uses_this_stage = 0
        self.exit_position = (0, 0)
        self.scheduled_task_interval = INITIAL_SCHEDULED_TASK_INTERVAL
        self.next_scheduled_task_turn = INITIAL_SCHEDULED_TASK_INTERVAL
        # lifetime stats (Swift keeps them for logging only)
        self.total_data_siphons_collected = 0
        self.total_siphon_uses = 0
        self.total_enemies_killed = 0
        self.total_program_uses = 0
        self.options = options or Fixes()
        self.next_id = 1

    # -- ids ---------------------------------------------------------------
    def new_id(self) -> int:
        """Stand-in for Swift's ``UUID()`` (reference-only)."""
        i = self.next_id
        self.next_id += 1
        return i

    def new_enemy(self, etype, row, col, is_from_scheduled_task=False, spawned_from_siphon=False):
        """Enemy.swift Enemy.init with a fresh id."""
        return Enemy.new(self.new_id(), etype, row, col, is_from_scheduled_task, spawned_from_siphon)

    def clone(self) -> "GameState":
        """Deep copy (reference-only, for tests)."""
        return copy.deepcopy(self)

    # -- queries (GameState.swift) -----------------------------------------
    def enemies_at(self, row, col) -> List[Enemy]:
        """Swift's ``enemies.filter { $0.row == row && $0.col == col }``."""
        return [e for e in self.enemies if e.row == row and e.col == col]

    def transmissions_at(self, row, col) -> List[Transmission]:
        """Swift's ``transmissions.filter { ... }`` on one cell."""
        return [t for t in self.transmissions if t.row == row and t.col == col]

    def is_adjacent_to_player(self, enemy: Enemy) -> bool:
        """GameState.isAdjacentToPlayer."""
        dr, dc = abs(enemy.row - self.player.row), abs(enemy.col - self.player.col)
        return (dr == 1 and dc == 0) or (dr == 0 and dc == 1)

    def get_occupied_positions(self, moving: Optional[Enemy]) -> set:
        """GameState.getOccupiedPositions(for:): other enemies' cells and every
        transmission's cell."""
        pos = {(e.row, e.col) for e in self.enemies if moving is None or e.id != moving.id}
        pos |= {(t.row, t.col) for t in self.transmissions}
        return pos

    def get_max_enemy_steps(self) -> int:
        """GameState.getMaxEnemySteps: max moveSpeed, 1 with no enemies."""
        from .constants import ENEMY_MOVE_SPEED
        return max((ENEMY_MOVE_SPEED[e.type] for e in self.enemies), default=1)

    # -- kill tracking helpers (GameState.swift extension) -------------------
    def remove_dead_enemies(self) -> int:
        """removeDeadEnemies: drop hp <= 0; count those not from a scheduled task."""
        killed = 0
        for e in self.enemies:
            if e.hp <= 0 and not e.is_from_scheduled_task:
                killed += 1
                self.total_enemies_killed += 1
        self.enemies = [e for e in self.enemies if e.hp > 0]
        return killed

    def remove_enemy(self, predicate) -> int:
        """removeEnemy(where:): removes *every* match, counts at most one kill
        (the first match, unless it came from a scheduled task)."""
        killed = 0
        first = next((e for e in self.enemies if predicate(e)), None)
        if first is not None and not first.is_from_scheduled_task:
            killed = 1
            self.total_enemies_killed += 1
        self.enemies = [e for e in self.enemies if not predicate(e)]
        return killed

    def remove_transmission(self, predicate) -> int:
        """removeTransmission(where:): as removeEnemy, for transmissions."""
        first = next((t for t in self.transmissions if predicate(t)), None)
        killed = 1 if first is not None and not first.is_from_scheduled_task else 0
        self.transmissions = [t for t in self.transmissions if not predicate(t)]
        return killed

    # -- snapshots (GameState.saveSnapshot / restoreSnapshot) ----------------
    def make_snapshot(self) -> Snapshot:
        """GameState.saveSnapshot's GameStateSnapshot(...) literal."""
        return Snapshot(
            player=self.player.key(),
            turn_count=self.turn_count,
            owned_programs=tuple(self.owned_programs),
            enemies=tuple((e.type, e.row, e.col, e.hp, e.disabled_turns, e.is_stunned,
                           e.last_known_row, e.last_known_col,
                           e.is_from_scheduled_task, e.spawned_from_siphon) for e in self.enemies),
            transmissions=tuple((t.row, t.col, t.turns_remaining, t.enemy_type,
                                 t.is_from_scheduled_task, t.spawned_from_siphon)
                                for t in self.transmissions),
            grid_cells=tuple(tuple((c.content, c.block, c.resources, c.is_siphoned, c.siphon_center)
                                   for c in row) for row in self.grid.cells),
            show_activated=self.show_activated,
            scheduled_tasks_disabled=self.scheduled_tasks_disabled,
            atk_plus_uses_this_stage=self.atk_plus_uses_this_stage,
        )

    def save_snapshot(self):
        """GameState.saveSnapshot: append (history is unbounded)."""
        self.game_history.append(self.make_snapshot())

    def restore_snapshot(self) -> bool:
        """GameState.restoreSnapshot: pop the newest snapshot and restore it.

        Not restored (Swift's snapshot lacks them): currentStage, exitPosition,
        stepActive, pendingSiphonTransmissions, scheduledTaskInterval,
        nextScheduledTaskTurn, and the lifetime stats. Enemies and
        transmissions are rebuilt with new ids.
        """
        if not self.game_history:
            return False
        s = self.game_history.pop()
        p = self.player
        (p.row, p.col, p.health, p.credits, p.energy, p.data_siphons, p.score,
         p.attack_damage) = s.player
        self.turn_count = s.turn_count
        self.owned_programs = list(s.owned_programs)
        keep = self.options.undo_keeps_spawn_flags
        self.enemies = []
        for (etype, row, col, hp, dis, stun, lkr, lkc, sched, siph) in s.enemies:
            # SWIFT-BUG: Enemy(type:row:col:) is rebuilt without
            # isFromScheduledTask / spawnedFromSiphon, so after UNDO a scheduled
            # spawn pays the kill reward and a siphon spawn no longer triggers
            # the siphon-death penalty. Fix: Fixes.undo_keeps_spawn_flags.
            e = self.new_enemy(etype, row, col, sched if keep else False, siph if keep else False)
            e.hp, e.disabled_turns, e.is_stunned = hp, dis, stun
            e.last_known_row, e.last_known_col = lkr, lkc
            self.enemies.append(e)
        self.transmissions = [
            # SWIFT-BUG: same loss of the two flags for transmissions.
            Transmission(self.new_id(), row, col, turns, etype,
                         sched if keep else False, siph if keep else False)
            for (row, col, turns, etype, sched, siph) in s.transmissions
        ]
        for r, row in enumerate(s.grid_cells):
            for c, (content, block, res, siph, centre) in enumerate(row):
                cell = self.grid.cells[r][c]
                cell.content, cell.block, cell.resources = content, block, res
                cell.is_siphoned, cell.siphon_center = siph, centre
        self.show_activated = s.show_activated
        self.scheduled_tasks_disabled = s.scheduled_tasks_disabled
        self.atk_plus_uses_this_stage = s.atk_plus_uses_this_stage
        return True

    # -- comparison ----------------------------------------------------------
    def canonical_dict(self, history: bool = True, last_known: bool = True) -> Dict[str, Any]:
        """Everything that matters for the game, as plain hashable values.
        Enemies and transmissions are sorted multisets (ids and list order left
        out); ``owned_programs`` is a sorted tuple (``owned_order`` keeps
        Swift's acquisition order, which the observation lists)."""
        p = self.player
        d = dict(
            player_row=p.row, player_col=p.col, player_hp=p.health, credits=p.credits,
            energy=p.energy, data_siphons=p.data_siphons, score=p.score,
            attack_damage=p.attack_damage,
            stage=self.current_stage, turn_count=self.turn_count,
            owned_programs=tuple(sorted(self.owned_programs)),
            owned_order=tuple(self.owned_programs),
            show_activated=self.show_activated,
            scheduled_tasks_disabled=self.scheduled_tasks_disabled,
            step_active=self.step_active,
            pending_siphon_transmissions=self.pending_siphon_transmissions,
            atk_plus_uses_this_stage=self.atk_plus_uses_this_stage,
            exit_position=tuple(self.exit_position),
            scheduled_task_interval=self.scheduled_task_interval,
            next_scheduled_task_turn=self.next_scheduled_task_turn,
            cells=tuple(c.key() for c in self.grid.all_cells()),
            enemies=tuple(sorted(e.key(last_known) for e in self.enemies)),
            transmissions=tuple(sorted(t.key() for t in self.transmissions)),
            history_len=len(self.game_history),
        )
        if history:
            d["history"] = tuple(s.key() for s in self.game_history)
        return d

    def canonical(self, history: bool = True, last_known: bool = True) -> Tuple:
        """:meth:`canonical_dict` as a sorted tuple of (name, value) pairs (hashable)."""
        return tuple(sorted(self.canonical_dict(history, last_known).items()))


# ---------------------------------------------------------------- descriptions
def from_description(desc: Dict[str, Any], options: Optional[Fixes] = None) -> GameState:
    """Build a state directly (what HeadlessGame.setState does, and more).

    Keys (all optional except ``player``)::

        player: {row, col, hp=3, credits=0, energy=0, data_siphons=0, score=0, attack=1}
        stage=1, turn=0, owned=[program names, acquisition order]
        show=False, calm=False (scheduledTasksDisabled), step=False (stepActive)
        atk_plus_uses=0, pending_siphon=0
        interval=12 (scheduledTaskInterval), next_task=12 (nextScheduledTaskTurn)
        exit=(r, c)            default (5, 5), as setState
        siphons=[(r, c), ...]  data-siphon pickups
        blocks=[{row, col, kind: data|program|question, points, program, spawn,
                 siphoned=False}, ...]  (or Block objects under key "block")
        resources=[{row, col, credits=n | energy=n}, ...]
        siphoned=[(r, c), ...], centers=[(r, c), ...]  (extra isSiphoned / siphonCenter)
        enemies=[{type, row, col, hp=max, disabled=0, stunned=False,
                  scheduled=False, from_siphon=False, last_known=(r, c)|None}, ...]
        transmissions=[{row, col, turns=1, type, scheduled=False, from_siphon=False}, ...]
        history=[desc, ...]    snapshots (oldest first), each a description
        history_snapshots=[Snapshot, ...]  snapshots as they are (what describe gives)

    Nothing is validated: any board can be set up (crowded, stacked, ...).
    """
    pd = desc["player"]
    player = Player(pd["row"], pd["col"], pd.get("hp", MAX_HP), pd.get("credits", 0),
                    pd.get("energy", 0), pd.get("data_siphons", 0), pd.get("score", 0),
                    pd.get("attack", 1))
    s = GameState(player, options)
    s.current_stage = desc.get("stage", 1)
    s.turn_count = desc.get("turn", 0)
    s.owned_programs = list(desc.get("owned", []))
    for p in s.owned_programs:
        assert p in PROGRAMS, p
    s.show_activated = desc.get("show", False)
    s.scheduled_tasks_disabled = desc.get("calm", False)
    s.step_active = desc.get("step", False)
    s.atk_plus_uses_this_stage = desc.get("atk_plus_uses", 0)
    s.pending_siphon_transmissions = desc.get("pending_siphon", 0)
    s.scheduled_task_interval = desc.get("interval", INITIAL_SCHEDULED_TASK_INTERVAL)
    s.next_scheduled_task_turn = desc.get("next_task", s.scheduled_task_interval)
    er, ec = desc.get("exit", (5, 5))
    s.grid.cells[er][ec].set_content("exit")
    s.exit_position = (er, ec)
    for (r, c) in desc.get("siphons", []):
        s.grid.cells[r][c].set_content("data_siphon")
    for b in desc.get("blocks", []):
        cell = s.grid.cells[b["row"]][b["col"]]
        if "block" in b:
            blk = b["block"]
        elif b["kind"] == "data":
            blk = data_block(b["points"], b.get("spawn"))
        elif b["kind"] == "program":
            blk = program_block(b["program"], b.get("spawn"))
        else:
            blk = question_block(b.get("points"), b.get("program"), b.get("spawn"))
        cell.set_block(blk)
        cell.is_siphoned = b.get("siphoned", False)
    for rd in desc.get("resources", []):
        cell = s.grid.cells[rd["row"]][rd["col"]]
        if rd.get("credits"):
            cell.resources = ("credits", rd["credits"])
        elif rd.get("energy"):
            cell.resources = ("energy", rd["energy"])
    for (r, c) in desc.get("siphoned", []):
        s.grid.cells[r][c].is_siphoned = True
    for (r, c) in desc.get("centers", []):
        s.grid.cells[r][c].siphon_center = True
    for ed in desc.get("enemies", []):
        t = ed["type"]
        assert t in ENEMY_TYPES, t
        e = s.new_enemy(t, ed["row"], ed["col"], ed.get("scheduled", False),
                        ed.get("from_siphon", False))
        e.hp = ed.get("hp", ENEMY_MAX_HP[t])
        e.disabled_turns = ed.get("disabled", 0)
        e.is_stunned = ed.get("stunned", False)
        if "last_known" in ed:
            lk = ed["last_known"]
            e.last_known_row, e.last_known_col = (None, None) if lk is None else lk
        s.enemies.append(e)
    for td in desc.get("transmissions", []):
        s.transmissions.append(Transmission(
            s.new_id(), td["row"], td["col"], td.get("turns", 1), td["type"],
            td.get("scheduled", False), td.get("from_siphon", False)))
    for hd in desc.get("history", []):
        s.game_history.append(from_description(hd).make_snapshot())
    s.game_history.extend(desc.get("history_snapshots", []))
    return s


def describe(s: GameState, history: bool = True) -> Dict[str, Any]:
    """The inverse of :func:`from_description`: ``from_description(describe(s))``
    has the same :meth:`GameState.canonical` when the board has exactly one exit
    cell, at ``exit_position`` (else ``extra_exits`` lists them)."""
    p = s.player
    d: Dict[str, Any] = dict(
        player=dict(row=p.row, col=p.col, hp=p.health, credits=p.credits, energy=p.energy,
                    data_siphons=p.data_siphons, score=p.score, attack=p.attack_damage),
        stage=s.current_stage, turn=s.turn_count, owned=list(s.owned_programs),
        show=s.show_activated, calm=s.scheduled_tasks_disabled, step=s.step_active,
        atk_plus_uses=s.atk_plus_uses_this_stage, pending_siphon=s.pending_siphon_transmissions,
        interval=s.scheduled_task_interval, next_task=s.next_scheduled_task_turn,
        exit=tuple(s.exit_position), siphons=[], blocks=[], resources=[], siphoned=[],
        centers=[], enemies=[], transmissions=[],
    )
    ex = s.grid.cells[s.exit_position[0]][s.exit_position[1]]
    exits = [(c.row, c.col) for c in s.grid.all_cells() if c.is_exit]
    if not ex.is_exit or len(exits) != 1:
        d["extra_exits"] = exits  # informational: from_description places exactly one
    for c in s.grid.all_cells():
        if c.has_data_siphon:
            d["siphons"].append((c.row, c.col))
        if c.has_block:
            d["blocks"].append(dict(row=c.row, col=c.col, block=c.block, siphoned=c.is_siphoned))
        elif c.is_siphoned:
            d["siphoned"].append((c.row, c.col))
        if c.resources:
            d["resources"].append({"row": c.row, "col": c.col, c.resources[0]: c.resources[1]})
        if c.siphon_center:
            d["centers"].append((c.row, c.col))
    for e in s.enemies:
        d["enemies"].append(dict(type=e.type, row=e.row, col=e.col, hp=e.hp,
                                 disabled=e.disabled_turns, stunned=e.is_stunned,
                                 scheduled=e.is_from_scheduled_task,
                                 from_siphon=e.spawned_from_siphon,
                                 last_known=None if e.last_known_row is None
                                 else (e.last_known_row, e.last_known_col)))
    for t in s.transmissions:
        d["transmissions"].append(dict(row=t.row, col=t.col, turns=t.turns_remaining,
                                       type=t.enemy_type, scheduled=t.is_from_scheduled_task,
                                       from_siphon=t.spawned_from_siphon))
    if history:
        d["history_snapshots"] = list(s.game_history)
    return d
