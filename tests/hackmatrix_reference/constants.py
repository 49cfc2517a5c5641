"""Constants of the Swift game (Constants.swift, Program.swift, Enemy.swift, Player.swift).

Coordinates are Swift's: ``row`` 0 is the bottom row, direction ``up`` is
``row + 1`` (Constants.swift, ``Direction.offset``).
"""
from __future__ import annotations

# Constants.swift: enum Constants
GRID_SIZE = 6
TOTAL_STAGES = 8
#: Constants.startingEnemies: transmissions placed when stage N starts.
STARTING_ENEMIES = (1, 2, 3, 4, 5, 6, 7, 8)

# Constants.swift: enum Direction (CaseIterable order: up, down, left, right)
DIRECTIONS = ("up", "down", "left", "right")
DIRECTION_OFFSET = {"up": (1, 0), "down": (-1, 0), "left": (0, -1), "right": (0, 1)}

# Constants.swift: enum StartingBonus (CaseIterable order)
STARTING_BONUSES = ("credits10", "energy11", "dataSiphon1")

# Enemy.swift: enum EnemyType (CaseIterable order: virus, daemon, glitch, cryptog)
ENEMY_TYPES = ("virus", "daemon", "glitch", "cryptog")
ENEMY_MAX_HP = {"virus": 2, "daemon": 3, "glitch": 2, "cryptog": 2}
ENEMY_MOVE_SPEED = {"virus": 2, "daemon": 1, "glitch": 1, "cryptog": 1}


def can_move_on_blocks(enemy_type: str) -> bool:
    """EnemyType.canMoveOnBlocks (Enemy.swift)."""
    return enemy_type == "glitch"


# Program.swift: enum ProgramType (CaseIterable order) with rawValue names.
PROGRAMS = (
    "push", "pull", "crash", "warp", "poly", "wait", "debug", "row", "col", "undo", "step",
    "siph+", "exch", "show", "reset", "calm", "d_bom", "delay", "anti-v", "score", "reduc",
    "atk+", "hack",
)
#: ProgramType.actionIndex (Program.swift): 5 + CaseIterable position.
PROGRAM_ACTION_INDEX = {p: 5 + i for i, p in enumerate(PROGRAMS)}
ACTION_PROGRAM = {v: k for k, v in PROGRAM_ACTION_INDEX.items()}

#: Program.cost (Program.swift): (credits, energy).
PROGRAM_COST = {
    "push": (0, 2), "pull": (0, 2), "crash": (3, 2), "warp": (2, 2), "poly": (1, 1),
    "wait": (0, 1), "debug": (3, 0), "row": (3, 1), "col": (3, 1), "undo": (1, 0),
    "step": (0, 3), "siph+": (5, 0), "exch": (4, 0), "show": (2, 0), "reset": (0, 4),
    "calm": (2, 4), "d_bom": (3, 0), "delay": (1, 2), "anti-v": (3, 0), "score": (0, 5),
    "reduc": (2, 1), "atk+": (4, 4), "hack": (2, 2),
}
#: Program.enemySpawnCost (Program.swift): transmissions a program block spawns.
PROGRAM_SPAWN_COST = {
    "push": 4, "pull": 4, "crash": 6, "warp": 5, "poly": 3, "wait": 1, "debug": 4,
    "row": 2, "col": 2, "undo": 3, "step": 4, "siph+": 7, "exch": 3, "show": 2,
    "reset": 2, "calm": 6, "d_bom": 4, "delay": 4, "anti-v": 4, "score": 5, "reduc": 3,
    "atk+": 8, "hack": 4,
}

# GameState.swift: GameAction.toIndex / fromIndex
NUM_ACTIONS = 5 + len(PROGRAMS)  # 28
ACTION_SIPHON = 4


def action_name(index: int) -> str:
    """Human name of action ``index`` (GameAction.fromIndex order)."""
    if index < 4:
        return DIRECTIONS[index]
    if index == ACTION_SIPHON:
        return "siphon"
    return ACTION_PROGRAM[index]


def action_index(name: str) -> int:
    """Inverse of :func:`action_name` (GameAction.toIndex)."""
    if name in DIRECTIONS:
        return DIRECTIONS.index(name)
    if name == "siphon":
        return ACTION_SIPHON
    return PROGRAM_ACTION_INDEX[name]


# Player.swift: PlayerHealth raw values
MAX_HP = 3

# GameState.swift: stored property defaults
INITIAL_SCHEDULED_TASK_INTERVAL = 12
MIN_SCHEDULED_TASK_INTERVAL = 4  # performSiphon: max(4, interval - 1)
SIPHON_SCHEDULE_DELAY = 5        # performSiphon: nextScheduledTaskTurn += 5
BLOCK_COUNT_RANGE = (5, 11)      # placeBlocksWithValidation: Int.random(in: 5...11)
BLOCK_PLACEMENT_ATTEMPTS = 100   # placeBlocksWithValidation: maxAttempts
EMPTY_CELL_ATTEMPTS = 100        # findEmptyCellOutOfLineOfFire / findEmptyCell
QUESTION_PROBABILITY = 0.1       # placeBlocksWithValidation: Double.random < 0.1
DELAY_TURNS = 3                  # executeProgram(.delay)
ATK_PLUS_USES_PER_STAGE = 2      # isProgramApplicable(.atkPlus)
