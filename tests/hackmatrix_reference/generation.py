"""New game and stage set-up: GameState.swift (init, initializeStage,
placeBlocksWithValidation, placeResources, spawnRandomTransmissions and the
empty-cell search) and GridValidator.swift."""
from __future__ import annotations

from typing import Optional, Tuple

from .constants import (
    BLOCK_COUNT_RANGE, BLOCK_PLACEMENT_ATTEMPTS, DIRECTIONS, DIRECTION_OFFSET,
    EMPTY_CELL_ATTEMPTS, ENEMY_TYPES, GRID_SIZE, PROGRAMS, PROGRAM_SPAWN_COST,
    QUESTION_PROBABILITY, STARTING_ENEMIES,
)
from .state import Block, Fixes, GameState, Grid, Player, SwiftHang, Transmission


# ---------------------------------------------------------------- GameState.init
def new_game(rng, options: Optional[Fixes] = None) -> GameState:
    """GameState.init() (what HeadlessGame.reset() builds): a random corner, a
    random starting bonus, then initializeStage() for stage 1."""
    corner = rng.choice("init.player_corner", Grid.get_corner_positions())
    s = GameState(Player(corner[0], corner[1]), options)
    bonus = rng.choice("init.bonus", ["credits10", "energy11", "dataSiphon1"])
    if bonus == "credits10":
        s.player.credits = 10
    elif bonus == "energy11":
        s.player.energy = 11
    else:
        s.player.data_siphons = 1
    initialize_stage(s, rng)
    return s


# ---------------------------------------------------------------- initializeStage
def initialize_stage(s: GameState, rng):
    """GameState.initializeStage(): enemies and transmissions are *kept*; a new
    grid; the exit on a random corner other than the player's; data siphons on
    the remaining corners; blocks, resources, then ``startingEnemies[stage-1]``
    new transmissions."""
    s.turn_count = 0
    s.next_scheduled_task_turn = s.scheduled_task_interval
    s.show_activated = False
    s.scheduled_tasks_disabled = False
    s.step_active = False
    s.atk_plus_uses_this_stage = 0
    s.grid = Grid()
    corners = Grid.get_corner_positions()
    available = [c for c in corners if c != (s.player.row, s.player.col)]
    exit_corner = rng.choice("stage.exit_corner", available)
    available = [c for c in available if c != exit_corner]
    s.grid.cells[exit_corner[0]][exit_corner[1]].set_content("exit")
    s.exit_position = exit_corner
    for (r, c) in available:
        s.grid.cells[r][c].set_content("data_siphon")
    new_count = STARTING_ENEMIES[s.current_stage - 1]
    place_blocks_with_validation(s, rng)
    place_resources(s, rng)
    spawn_random_transmissions(s, rng, new_count)


def _is_corner(row, col) -> bool:
    """placeBlocksWithValidation's ``isCorner`` test."""
    n = GRID_SIZE - 1
    return row in (0, n) and col in (0, n)


def place_blocks_with_validation(s: GameState, rng):
    """GameState.placeBlocksWithValidation().

    The block count is drawn *once*; each of up to 100 attempts re-draws only
    the placement (and the contents). Candidate cells are drawn as two
    ``Int.random(in: 0..<6)``; corners and cells holding an enemy or a
    transmission are skipped (draws wasted), as are cells already holding a
    block of this attempt. Each placed block draws: is_data coin, question
    roll, then points (1-9) or a program not yet used in this attempt (data
    when all 23 are used). After 100 invalid attempts no block is placed.
    """
    block_count = rng.randint("stage.block_count", *BLOCK_COUNT_RANGE)
    occupied = {(e.row, e.col) for e in s.enemies} | {(t.row, t.col) for t in s.transmissions}
    eligible = sum(1 for r in range(GRID_SIZE) for c in range(GRID_SIZE)
                   if not _is_corner(r, c) and (r, c) not in occupied)
    if eligible < block_count:
        # SWIFT-BUG: `while placed < blockCount` never ends when fewer than
        # blockCount non-corner cells are free of enemies/transmissions.
        if not s.options.block_placement_caps_count:
            raise SwiftHang(f"placeBlocksWithValidation: {block_count} blocks, "
                            f"{eligible} eligible cells")
        block_count = eligible
    exit_corner = next((c.row, c.col) for c in s.grid.all_cells() if c.is_exit)
    for _attempt in range(BLOCK_PLACEMENT_ATTEMPTS):
        temp = Grid()
        corners = [c for c in Grid.get_corner_positions()
                   if c != (s.player.row, s.player.col) and c != exit_corner]
        temp.cells[exit_corner[0]][exit_corner[1]].set_content("exit")
        for (r, c) in corners:
            temp.cells[r][c].set_content("data_siphon")
        placed = 0
        used_programs = set()
        wasted = 0
        while placed < block_count:
            row = rng.randint("stage.block.row", 0, GRID_SIZE - 1)
            col = rng.randint("stage.block.col", 0, GRID_SIZE - 1)
            cell = temp.cells[row][col]
            if _is_corner(row, col) or (row, col) in occupied or cell.content != "empty":
                # (Swift: `continue` for each of the three; not in Swift: a guard
                # against a scripted rng that keeps offering unusable cells)
                wasted += 1
                if wasted > 100_000:
                    raise SwiftHang("placeBlocksWithValidation: the rng offers no usable cell")
                continue
            is_data = rng.coin("stage.block.is_data")
            is_question = rng.uniform("stage.block.question_roll") < QUESTION_PROBABILITY
            if not is_data:
                available = [p for p in PROGRAMS if p not in used_programs]
                if not available:
                    is_data = True  # "If no programs available, skip this block (make it data instead)"
            if is_data:
                pts = rng.randint("stage.block.points", 1, 9)
                blk = (Block("question", pts, points=pts, is_data=True) if is_question
                       else Block("data", pts, points=pts))
            else:
                prog = rng.choice("stage.block.program", available)
                used_programs.add(prog)
                blk = (Block("question", PROGRAM_SPAWN_COST[prog], program=prog, is_data=False)
                       if is_question else Block("program", PROGRAM_SPAWN_COST[prog], program=prog))
            cell.set_block(blk)
            placed += 1
        if is_valid_placement(temp):
            for c in temp.all_cells():
                if c.has_block:
                    s.grid.cells[c.row][c.col].set_block(c.block)
            return True
    # Swift: print("Warning: Could not find valid block placement ...") and no blocks.
    return False


def _roll_amount(roll: float) -> int:
    """placeResources's 45% / 45% / 10% ladder."""
    return 1 if roll < 0.45 else (2 if roll < 0.9 else 3)


def place_resources(s: GameState, rng):
    """GameState.placeResources(): row-major over the grid; every ``.empty`` cell
    (the player's corner and cells under enemies/transmissions included) and
    every data-siphon corner gets 1 (45%), 2 (45%) or 3 (10%) credits or energy
    (coin). Blocks and the exit get none."""
    for row in s.grid.cells:
        for cell in row:
            if cell.content in ("empty", "data_siphon"):
                amount = _roll_amount(rng.uniform("stage.resource.amount_roll"))
                cell.resources = ("credits" if rng.coin("stage.resource.is_credits")
                                  else "energy", amount)


# ---------------------------------------------------------------- transmissions
def spawn_random_transmissions(s: GameState, rng, count: int, is_from_scheduled_task=False,
                               spawned_from_siphon=False):
    """GameState.spawnRandomTransmissions(count:): each one tries 100 random
    cells out of the line of fire, then 100 random empty cells, else is
    dropped. Its enemy type is drawn after its cell (Transmission.init)."""
    for _ in range(count):
        pos = find_empty_cell_out_of_line_of_fire(s, rng)
        if pos is None:
            pos = find_empty_cell(s, rng)
        if pos is not None:
            etype = rng.choice("transmission.type", list(ENEMY_TYPES))
            s.transmissions.append(Transmission(s.new_id(), pos[0], pos[1], 1, etype,
                                                is_from_scheduled_task, spawned_from_siphon))


def find_empty_cell_out_of_line_of_fire(s: GameState, rng) -> Optional[Tuple[int, int]]:
    """GameState.findEmptyCellOutOfLineOfFire(): up to 100 draws."""
    for _ in range(EMPTY_CELL_ATTEMPTS):
        row = rng.randint("spawn.lof.row", 0, GRID_SIZE - 1)
        col = rng.randint("spawn.lof.col", 0, GRID_SIZE - 1)
        if is_position_empty(s, row, col) and not is_position_in_line_of_fire(s, row, col):
            return (row, col)
    return None


def find_empty_cell(s: GameState, rng) -> Optional[Tuple[int, int]]:
    """GameState.findEmptyCell(): up to 100 draws."""
    for _ in range(EMPTY_CELL_ATTEMPTS):
        row = rng.randint("spawn.any.row", 0, GRID_SIZE - 1)
        col = rng.randint("spawn.any.col", 0, GRID_SIZE - 1)
        if is_position_empty(s, row, col):
            return (row, col)
    return None


def is_position_empty(s: GameState, row: int, col: int) -> bool:
    """GameState.isPositionEmpty: not the player, no enemy, no transmission, no
    block. The exit and data-siphon corners count as empty."""
    if not Grid.is_valid_position(row, col):
        return False
    if (s.player.row, s.player.col) == (row, col):
        return False
    if any(e.row == row and e.col == col for e in s.enemies):
        return False
    if any(t.row == row and t.col == col for t in s.transmissions):
        return False
    return not s.grid.cells[row][col].has_block


def is_position_in_line_of_fire(s: GameState, row: int, col: int) -> bool:
    """GameState.isPositionInLineOfFire: same row or column as the player and
    nothing in between: the trace stops (False) at an enemy or a block before
    the cell. Transmissions do not stop it."""
    pr, pc = s.player.row, s.player.col
    if row != pr and col != pc:
        return False
    dr = 0 if row == pr else (1 if row > pr else -1)
    dc = 0 if col == pc else (1 if col > pc else -1)
    if dr == 0 and dc == 0:
        # Swift loops forever here; callers test isPositionEmpty first (the
        # player's cell is never empty), so it cannot happen.
        raise SwiftHang("isPositionInLineOfFire(player's own cell)")
    r, c = pr, pc
    while True:
        r += dr
        c += dc
        if (r, c) == (row, col):
            return True
        if any(e.row == r and e.col == c for e in s.enemies):
            return False
        if s.grid.cells[r][c].has_block:
            return False


# ---------------------------------------------------------------- GridValidator.swift
def is_path_connected(grid: Grid) -> bool:
    """GridValidator.isPathConnected: BFS from the first non-block cell
    (row-major) reaches every non-block cell; the exit is entered but not
    expanded (a dead end)."""
    walkable = [(c.row, c.col) for c in grid.all_cells() if not c.has_block]
    if not walkable:
        return True
    start = walkable[0]
    visited = {start}
    queue = [start]
    while queue:
        cur = queue.pop(0)
        for d in DIRECTIONS:
            dr, dc = DIRECTION_OFFSET[d]
            nr, nc = cur[0] + dr, cur[1] + dc
            if not grid.is_valid_position(nr, nc) or (nr, nc) in visited:
                continue
            cell = grid.cells[nr][nc]
            if cell.has_block:
                continue
            visited.add((nr, nc))
            if cell.is_exit:
                continue
            queue.append((nr, nc))
    # SWIFT-BUG (harmless here): if the BFS *starts* on the exit it is expanded;
    # (0, 0) is the first walkable cell, so that happens when the exit is (0, 0).
    return len(visited) == len(walkable)


def are_all_blocks_siphonable(grid: Grid) -> bool:
    """GridValidator.areAllBlocksSiphonable: every block has a non-block neighbour."""
    for c in grid.all_cells():
        if c.has_block:
            ok = False
            for d in DIRECTIONS:
                dr, dc = DIRECTION_OFFSET[d]
                n = grid.cell_at(c.row + dr, c.col + dc)
                if n is not None and not n.has_block:
                    ok = True
                    break
            if not ok:
                return False
    return True


def is_valid_placement(grid: Grid) -> bool:
    """GridValidator.isValidPlacement."""
    return is_path_connected(grid) and are_all_blocks_siphonable(grid)
