"""ObservationBuilder.swift / Observation.swift as plain (frozen) dataclasses."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Tuple

from .constants import PROGRAM_ACTION_INDEX
from .state import GameState


@dataclass(frozen=True)
class EnemyObservation:
    type: str
    hp: int
    is_stunned: bool
    spawned_from_siphon: bool


@dataclass(frozen=True)
class BlockObservation:
    block_type: str                 # "data" | "program" | "question"
    is_siphoned: bool
    points: Optional[int]
    program_type: Optional[str]
    program_action_index: Optional[int]
    transmission_spawn_count: Optional[int]


@dataclass(frozen=True)
class TransmissionObservation:
    turns_until_spawn: int
    enemy_type: Optional[str]       # only while SHOW is active


@dataclass(frozen=True)
class CellObservation:
    row: int
    col: int
    enemy: Optional[EnemyObservation]
    block: Optional[BlockObservation]
    transmission: Optional[TransmissionObservation]
    credits: Optional[int]
    energy: Optional[int]
    is_data_siphon: bool
    is_exit: bool
    siphon_center: bool


@dataclass(frozen=True)
class GameObservation:
    player_row: int
    player_col: int
    player_hp: int
    credits: int
    energy: int
    stage: int
    turn: int
    data_siphons: int
    base_attack: int
    score: int
    cells: Tuple[Tuple[CellObservation, ...], ...]   # cells[row][col]
    cryptog_hints: Tuple[Tuple[int, int], ...]
    show_activated: bool
    scheduled_tasks_disabled: bool
    owned_programs: Tuple[int, ...]                   # action indices, acquisition order


def build(s: GameState) -> GameObservation:
    """ObservationBuilder.build."""
    hints = []
    rows = []
    for r in range(6):
        rows.append(tuple(_observe_cell(s, r, c, hints) for c in range(6)))
    p = s.player
    return GameObservation(
        p.row, p.col, p.health, p.credits, p.energy, s.current_stage, s.turn_count,
        p.data_siphons, p.attack_damage, p.score, tuple(rows), tuple(hints),
        s.show_activated, s.scheduled_tasks_disabled,
        tuple(PROGRAM_ACTION_INDEX[x] for x in s.owned_programs))


def _observe_cell(s: GameState, row: int, col: int, hints: list) -> CellObservation:
    """ObservationBuilder.observeCell."""
    cell = s.grid.cells[row][col]
    enemy_obs = None
    # the first enemy (list order) on the cell with hp > 0
    e = next((e for e in s.enemies if e.row == row and e.col == col and e.hp > 0), None)
    if e is not None:
        if e.type == "cryptog":
            if row == s.player.row or col == s.player.col or s.show_activated:
                enemy_obs = EnemyObservation(e.type, e.hp, e.is_stunned, e.spawned_from_siphon)
            elif e.last_known_row is not None and e.last_known_col is not None:
                hints.append((e.last_known_row, e.last_known_col))
        else:
            enemy_obs = EnemyObservation(e.type, e.hp, e.is_stunned, e.spawned_from_siphon)
    block_obs = None
    if cell.has_block:
        b = cell.block
        if b.kind == "data":
            block_obs = BlockObservation("data", cell.is_siphoned, b.points, None, None, b.spawn)
        elif b.kind == "program":
            block_obs = BlockObservation("program", cell.is_siphoned, 0, b.program,
                                         PROGRAM_ACTION_INDEX[b.program], b.spawn)
        else:
            sh = cell.is_siphoned
            block_obs = BlockObservation(
                "question", sh, b.points if sh else None, b.program if sh else None,
                PROGRAM_ACTION_INDEX[b.program] if sh and b.program else None,
                b.spawn if sh else None)
    t_obs = None
    t = next((t for t in s.transmissions if t.row == row and t.col == col), None)
    if t is not None:
        t_obs = TransmissionObservation(t.turns_remaining,
                                        t.enemy_type if s.show_activated else None)
    credits = energy = None
    if block_obs is None or cell.is_siphoned:
        if cell.resources is not None:
            kind, amount = cell.resources
            if kind == "credits":
                credits = amount
            else:
                energy = amount
    return CellObservation(row, col, enemy_obs, block_obs, t_obs, credits, energy,
                           cell.has_data_siphon, cell.is_exit, cell.siphon_center)
