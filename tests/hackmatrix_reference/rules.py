"""One action and the enemy turn: GameState.swift (tryExecuteAction,
tryAttackOrMove, findTargetInLineOfFire, performSiphon and its yield helpers,
runEnemyTurn, executeEnemyStepWithCapture, processTransmissions,
maybeExecuteScheduledTask, completeStage, getValidActions)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional, Tuple

from .constants import (
    ACTION_PROGRAM, ACTION_SIPHON, DIRECTIONS, DIRECTION_OFFSET, ENEMY_MOVE_SPEED,
    GRID_SIZE, MIN_SCHEDULED_TASK_INTERVAL, NUM_ACTIONS, PROGRAMS, SIPHON_SCHEDULE_DELAY,
    TOTAL_STAGES, can_move_on_blocks,
)
from . import generation, pathfinding, programs, rewards
from .state import Block, GameState


@dataclass
class EnemyStepResult:
    """GameState.EnemyStepResult."""
    step: int
    movements: List[Tuple[int, int, int, int, int]] = field(default_factory=list)  # id, from, to
    attacks: List[int] = field(default_factory=list)  # enemy ids


@dataclass
class ActionResult:
    """GameState.ActionResult (animation-only fields dropped, a few kept for tests)."""
    success: bool
    exit_reached: bool = False
    stage_advanced: bool = False
    game_won: bool = False
    player_died: bool = False
    data_siphon_collected: bool = False
    reward: rewards.RewardBreakdown = field(default_factory=rewards.RewardBreakdown)
    enemy_steps: List[EnemyStepResult] = field(default_factory=list)
    enemies_killed: int = 0
    transmissions_killed: int = 0
    attacked_target: Optional[Tuple[int, int]] = None
    moved_to: Optional[Tuple[int, int]] = None


FAILED = ActionResult(False)  # ActionResult.failed: its RewardBreakdown() totals 0 (no step penalty)


# ---------------------------------------------------------------- tryExecuteAction
def try_execute_action(s: GameState, action: int, rng) -> ActionResult:
    """GameState.tryExecuteAction: player action, stage completion, enemy turn
    (moves, siphon and WAIT only; not when the exit was reached), reward."""
    enemies_killed = 0
    transmissions_killed = 0
    from_row, from_col = s.player.row, s.player.col
    old_score = s.player.score
    old_hp = s.player.health
    old_credits = s.player.credits
    old_energy = s.player.energy
    old_distance = pathfinding.find_distance((from_row, from_col), s.exit_position, s.grid) or 0

    exit_reached = False
    should_run_enemy_turn = False
    moved_to = attacked = None
    blocks_siphoned = programs_acquired = credits_gained = energy_gained = 0
    data_siphon_collected = False
    siphon_used = False
    siphon_optimal = True
    missed_credits = missed_energy = 0
    reset_wasteful = False
    died_to_siphon_enemy = False

    if action < 4:
        r = try_attack_or_move(s, DIRECTIONS[action])
        success = r["success"]
        exit_reached = r["exit_reached"]
        moved_to, attacked = r["moved_to"], r["attacked_target"]
        data_siphon_collected = r["data_siphon_collected"]
        enemies_killed += r["enemies_killed"]
        transmissions_killed += r["transmissions_killed"]
        should_run_enemy_turn = success and not exit_reached
    elif action == ACTION_SIPHON:
        r = perform_siphon(s)
        success = r["success"]
        should_run_enemy_turn = success
        blocks_siphoned = r["blocks_siphoned"]
        programs_acquired = r["programs_acquired"]
        credits_gained, energy_gained = r["credits_gained"], r["energy_gained"]
        siphon_used = True
        siphon_optimal = r["was_optimal"]
        missed_credits, missed_energy = r["missed_credits"], r["missed_energy"]
    elif action in ACTION_PROGRAM:
        ptype = ACTION_PROGRAM[action]
        if ptype == "reset" and old_hp == 2:
            reset_wasteful = True
        r = programs.execute_program(s, ptype, rng)
        success = r["success"]
        enemies_killed += r["enemies_killed"]
        transmissions_killed += r["transmissions_killed"]
        if ptype == "warp" and success and (s.player.row, s.player.col) == tuple(s.exit_position):
            exit_reached = True  # WARP onto the exit completes the stage
        should_run_enemy_turn = ptype == "wait" and success and not exit_reached
    else:
        raise ValueError(f"Invalid action index: {action}")  # HeadlessGame: fatalError

    if not success:
        return ActionResult(False)

    stage_advanced = game_won = False
    if exit_reached:
        game_continues = complete_stage(s, rng)
        stage_advanced = True
        game_won = not game_continues

    enemy_steps: List[EnemyStepResult] = []
    if should_run_enemy_turn:
        enemy_steps = run_enemy_turn(s, rng)
        if s.player.health == 0:
            # any adjacent siphon-spawned enemy, whether or not it attacked
            for e in s.enemies:
                if s.is_adjacent_to_player(e) and e.spawned_from_siphon:
                    died_to_siphon_enemy = True
                    break

    player_died = s.player.health == 0
    total_kills = enemies_killed + transmissions_killed
    if player_died:
        distance_delta = 0
    elif exit_reached:
        distance_delta = old_distance
    else:
        new_distance = pathfinding.find_distance((s.player.row, s.player.col), s.exit_position,
                                                 s.grid) or 0
        distance_delta = old_distance - new_distance

    breakdown = rewards.calculate(
        old_score=old_score, current_score=s.player.score, current_stage=s.current_stage,
        old_hp=old_hp, current_hp=s.player.health, old_credits=old_credits,
        current_credits=s.player.credits, old_energy=old_energy, current_energy=s.player.energy,
        player_died=player_died, game_won=game_won, stage_advanced=stage_advanced,
        blocks_siphoned=blocks_siphoned, programs_acquired=programs_acquired,
        credits_gained=credits_gained, energy_gained=energy_gained, total_kills=total_kills,
        data_siphon_collected=data_siphon_collected, distance_to_exit_delta=distance_delta,
        siphon_was_used=siphon_used, siphon_was_optimal=siphon_optimal,
        siphon_missed_credits=missed_credits, siphon_missed_energy=missed_energy,
        reset_was_wasteful=reset_wasteful, died_to_siphon_enemy=died_to_siphon_enemy,
        stage8_reward_100=s.options.stage8_reward_100,
    )
    return ActionResult(True, exit_reached, stage_advanced, game_won, player_died,
                        data_siphon_collected, breakdown, enemy_steps, enemies_killed,
                        transmissions_killed, attacked, moved_to)


# ---------------------------------------------------------------- player moves
def find_target_in_line_of_fire(s: GameState, direction: str):
    """GameState.findTargetInLineOfFire: walk from the player; at each cell the
    first transmission (list order), else the first enemy (list order) is the
    target; a block with neither stops the line; the edge ends it.
    Returns ``(transmission, enemy)`` (at most one set)."""
    dr, dc = DIRECTION_OFFSET[direction]
    r, c = s.player.row, s.player.col
    while True:
        r += dr
        c += dc
        if not (0 <= r < GRID_SIZE and 0 <= c < GRID_SIZE):
            return None, None
        t = next((t for t in s.transmissions if t.row == r and t.col == c), None)
        if t is not None:
            return t, None
        e = next((e for e in s.enemies if e.row == r and e.col == c), None)
        if e is not None:
            return None, e
        if s.grid.cells[r][c].has_block:
            return None, None


def try_attack_or_move(s: GameState, direction: str) -> dict:
    """GameState.tryAttackOrMove: destroy the transmission, or hit the enemy
    (attackDamage; stunned if it survives, removed if not), or step (onto a
    non-block cell on the board: collects a data siphon; the exit ends the stage)."""
    out = dict(success=False, exit_reached=False, moved_to=None, attacked_target=None,
               data_siphon_collected=False, enemies_killed=0, transmissions_killed=0)
    trans, enemy = find_target_in_line_of_fire(s, direction)
    if trans is not None:
        out["attacked_target"] = (trans.row, trans.col)
        out["transmissions_killed"] = s.remove_transmission(lambda t: t.id == trans.id)
        out["success"] = True
        return out
    if enemy is not None:
        out["attacked_target"] = (enemy.row, enemy.col)
        enemy.take_damage(s.player.attack_damage)
        if enemy.hp > 0:
            enemy.is_stunned = True
        else:
            out["enemies_killed"] = s.remove_enemy(lambda e: e.id == enemy.id)
        out["success"] = True
        return out
    dr, dc = DIRECTION_OFFSET[direction]
    nr, nc = s.player.row + dr, s.player.col + dc
    # Player.canMoveTo: on the board and no block
    if 0 <= nr < GRID_SIZE and 0 <= nc < GRID_SIZE and not s.grid.cells[nr][nc].has_block:
        s.player.row, s.player.col = nr, nc
        cell = s.grid.cells[nr][nc]
        if cell.has_data_siphon:
            s.player.data_siphons += 1
            s.total_data_siphons_collected += 1
            cell.set_content("empty")
            out["data_siphon_collected"] = True
        out["moved_to"] = (nr, nc)
        out["success"] = True
        out["exit_reached"] = cell.is_exit
    return out


# ---------------------------------------------------------------- siphon
def calculate_siphon_yield_at(s: GameState, row: int, col: int):
    """GameState.calculateSiphonYieldAt -> (credits, energy, sorted data points,
    frozenset of not-owned programs) over the unsiphoned cells of the cross.
    (0, 0, [], {}) when standing on a block."""
    if s.grid.cells[row][col].has_block:
        return (0, 0, [], frozenset())
    credits = energy = 0
    values: List[int] = []
    progs = set()
    for cell in s.grid.get_siphon_cells(row, col):
        if cell.is_siphoned:
            continue
        if cell.has_block:
            b = cell.block
            if b.kind == "data":
                values.append(b.points)
            elif b.kind == "program":
                if b.program not in s.owned_programs:
                    progs.add(b.program)
            else:
                if b.is_data and b.points is not None:
                    values.append(b.points)
                elif b.program is not None and b.program not in s.owned_programs:
                    progs.add(b.program)
        else:
            if cell.resources is not None:
                kind, amount = cell.resources
                if kind == "credits":
                    credits += amount
                else:
                    energy += amount
    values.sort()
    return (credits, energy, values, frozenset(progs))


def check_for_better_siphon_position(s: GameState):
    """GameState.checkForBetterSiphonPosition -> (exists, missed_credits,
    missed_energy): a position dominates when it yields exactly the same data
    values and programs, >= credits and >= energy, and more of one. The
    positions checked: those whose cross covers every unsiphoned block of the
    player's cross (when the player's yield has blocks), else every non-block cell."""
    cur = calculate_siphon_yield_at(s, s.player.row, s.player.col)
    to_check: List[Tuple[int, int]] = []
    if cur[2] or cur[3]:
        block_positions = [(c.row, c.col) for c in s.grid.get_siphon_cells(s.player.row, s.player.col)
                           if c.has_block and not c.is_siphoned]
        if block_positions:
            lists = []
            for (br, bc) in block_positions:
                cands = []
                for (cr, cc) in [(br - 1, bc), (br + 1, bc), (br, bc - 1), (br, bc + 1), (br, bc)]:
                    if 0 <= cr < 6 and 0 <= cc < 6 and not s.grid.cells[cr][cc].has_block:
                        cands.append((cr, cc))
                lists.append(cands)
            inter = lists[0]
            for lst in lists[1:]:
                inter = [p for p in inter if p in lst]
            to_check = inter
    else:
        to_check = [(r, c) for r in range(6) for c in range(6) if not s.grid.cells[r][c].has_block]
    best_c, best_e = cur[0], cur[1]
    found = False
    for (r, c) in to_check:
        y = calculate_siphon_yield_at(s, r, c)
        if y[2] == cur[2] and y[3] == cur[3]:
            if y[0] >= cur[0] and y[1] >= cur[1] and (y[0] > cur[0] or y[1] > cur[1]):
                found = True
                best_c = max(best_c, y[0])
                best_e = max(best_e, y[1])
    return found, best_c - cur[0], best_e - cur[1]


def perform_siphon(s: GameState) -> dict:
    """GameState.performSiphon: needs a data siphon. Marks the player's cell
    ``siphonCenter``; for each unsiphoned cell of the cross (centre, up, down,
    left, right): a block gives its points (data), its program (if not owned)
    or its hidden content (question, revealed as a data/program block), owes
    its spawn count as transmissions and is rewritten with spawn 0 (it stays a
    block); a cell without a block gives its credits or energy; the cell is
    marked siphoned. Then the interval drops (min 4) and the next scheduled
    spawn moves 5 turns later. The spawns are placed at the end of the enemy turn."""
    if s.player.data_siphons <= 0:
        return dict(success=False, blocks_siphoned=0, programs_acquired=0, credits_gained=0,
                    energy_gained=0, was_optimal=True, missed_credits=0, missed_energy=0)
    better, missed_c, missed_e = check_for_better_siphon_position(s)
    cells = s.grid.get_siphon_cells(s.player.row, s.player.col)
    s.grid.cells[s.player.row][s.player.col].siphon_center = True
    blocks = progs = credits = energy = 0
    for cell in cells:
        if cell.is_siphoned:
            continue
        if cell.has_block:
            blocks += 1
            b = cell.block
            if b.kind == "data":
                s.player.score += b.points
                s.pending_siphon_transmissions += b.spawn
                cell.set_block(Block("data", 0, points=b.points))
            elif b.kind == "program":
                if b.program not in s.owned_programs:
                    s.owned_programs.append(b.program)
                    progs += 1
                s.pending_siphon_transmissions += b.spawn
                cell.set_block(Block("program", 0, program=b.program))
            else:
                if b.is_data and b.points is not None:
                    s.player.score += b.points
                    cell.set_block(Block("data", 0, points=b.points))
                elif b.program is not None:
                    if b.program not in s.owned_programs:
                        s.owned_programs.append(b.program)
                        progs += 1
                    cell.set_block(Block("program", 0, program=b.program))
                s.pending_siphon_transmissions += b.spawn
        else:
            if cell.resources is not None:
                kind, amount = cell.resources
                if kind == "credits":
                    s.player.credits += amount
                    credits += amount
                else:
                    s.player.energy += amount
                    energy += amount
                cell.resources = None
        cell.is_siphoned = True
    s.player.data_siphons -= 1
    s.total_siphon_uses += 1
    s.scheduled_task_interval = max(MIN_SCHEDULED_TASK_INTERVAL, s.scheduled_task_interval - 1)
    s.next_scheduled_task_turn += SIPHON_SCHEDULE_DELAY
    return dict(success=True, blocks_siphoned=blocks, programs_acquired=progs,
                credits_gained=credits, energy_gained=energy, was_optimal=not better,
                missed_credits=missed_c, missed_energy=missed_e)


# ---------------------------------------------------------------- enemy turn
def process_transmissions(s: GameState):
    """GameState.processTransmissions: every transmission ticks (list order);
    one at <= 1 turn hatches: an enemy of its type on its cell, full HP,
    ``disabledTurns = 1`` (does not act this turn), the transmission's flags;
    new enemies are appended in transmission order."""
    new_enemies = []
    keep = []
    for t in s.transmissions:
        if t.turns_remaining <= 1:
            e = s.new_enemy(t.enemy_type, t.row, t.col, t.is_from_scheduled_task,
                            t.spawned_from_siphon)
            e.disabled_turns = 1
            new_enemies.append(e)
        else:
            t.turns_remaining -= 1
            keep.append(t)
    s.enemies.extend(new_enemies)
    s.transmissions = keep


def maybe_execute_scheduled_task(s: GameState, rng):
    """GameState.maybeExecuteScheduledTask: unless CALM, at turnCount >=
    nextScheduledTaskTurn one scheduled transmission, and the next one
    ``interval`` turns later."""
    if s.scheduled_tasks_disabled or s.scheduled_task_interval <= 0:
        return
    if s.turn_count >= s.next_scheduled_task_turn:
        generation.spawn_random_transmissions(s, rng, 1, is_from_scheduled_task=True)
        s.next_scheduled_task_turn = s.turn_count + s.scheduled_task_interval


def run_enemy_turn(s: GameState, rng) -> List[EnemyStepResult]:
    """GameState.runEnemyTurn.

    STEP pending: the whole turn is skipped (flag cleared; no turn count, no
    hatching, no scheduled or siphon spawns, stuns and disables stay, and *no
    UNDO snapshot*). Otherwise: turn +1; transmissions hatch; enemy sub-steps
    0 .. maxSpeed-1 (each with a fresh shuffle; every enemy's step 0 runs
    before any virus's step 1); the scheduled spawn; the siphon spawns;
    disables tick and stuns clear; a snapshot is saved.
    """
    if s.step_active:
        s.step_active = False
        return []
    s.turn_count += 1
    process_transmissions(s)
    results = []
    attacked = set()
    max_steps = s.get_max_enemy_steps()
    for step in range(max_steps):
        results.append(execute_enemy_step_with_capture(s, step, attacked, rng))
    maybe_execute_scheduled_task(s, rng)
    if s.pending_siphon_transmissions > 0:
        generation.spawn_random_transmissions(s, rng, s.pending_siphon_transmissions,
                                              spawned_from_siphon=True)
        s.pending_siphon_transmissions = 0
    for e in s.enemies:
        e.decrement_disable()
        e.is_stunned = False
    s.save_snapshot()
    return results


def execute_enemy_step_with_capture(s: GameState, step: int, attacked: set, rng) -> EnemyStepResult:
    """GameState.executeEnemyStepWithCapture: in a shuffled order, each enemy
    not disabled, not stunned, that has not attacked this turn and is fast
    enough for ``step``: attacks if orthogonally adjacent to the player
    (HP -1), else moves one cell: Pathfinding.findNextMove (other enemies and
    all transmissions block), else the on-board, enterable, unoccupied
    neighbour nearest the player by Manhattan distance (first in up, down,
    left, right order; it may be farther than the enemy's own cell), else stays.
    Positions update immediately (later enemies see them)."""
    res = EnemyStepResult(step)
    max_steps = max((ENEMY_MOVE_SPEED[e.type] for e in s.enemies), default=1)
    if step >= max_steps:
        return res
    for enemy in rng.shuffle("enemy.order", s.enemies):
        if enemy.is_disabled or enemy.is_stunned:
            continue
        if enemy.id in attacked:
            continue
        if step >= ENEMY_MOVE_SPEED[enemy.type]:
            continue
        orow, ocol = enemy.row, enemy.col
        if s.is_adjacent_to_player(enemy):
            s.player.take_damage()
            attacked.add(enemy.id)
            res.attacks.append(enemy.id)
        else:
            occupied = s.get_occupied_positions(enemy)
            nxt = pathfinding.find_next_move((enemy.row, enemy.col), (s.player.row, s.player.col),
                                             s.grid, can_move_on_blocks(enemy.type), occupied,
                                             rng, enemy.type)
            if nxt is not None:
                enemy.row, enemy.col = nxt
            else:
                best = None
                best_d = None
                for d in DIRECTIONS:
                    dr, dc = DIRECTION_OFFSET[d]
                    nr, nc = enemy.row + dr, enemy.col + dc
                    if not (0 <= nr < GRID_SIZE and 0 <= nc < GRID_SIZE):
                        continue
                    if s.grid.cells[nr][nc].has_block and not can_move_on_blocks(enemy.type):
                        continue
                    if (nr, nc) in occupied:
                        continue
                    dist = abs(s.player.row - nr) + abs(s.player.col - nc)
                    if best_d is None or dist < best_d:
                        best_d, best = dist, (nr, nc)
                if best is not None:
                    enemy.row, enemy.col = best
            if enemy.type == "cryptog" and (enemy.row, enemy.col) != (orow, ocol):
                if enemy.row == s.player.row or enemy.col == s.player.col:
                    enemy.last_known_row, enemy.last_known_col = enemy.row, enemy.col
        if (enemy.row, enemy.col) != (orow, ocol):
            res.movements.append((enemy.id, orow, ocol, enemy.row, enemy.col))
    return res


# ---------------------------------------------------------------- stage completion
def complete_stage(s: GameState, rng) -> bool:
    """GameState.completeStage: HP +1 (max 3); below stage 8: stage +1,
    interval = 13 - stage, initializeStage (enemies, transmissions and the
    UNDO history carry over). Returns False on victory (stage 8 done)."""
    if s.player.health < 3:
        s.player.health += 1
    if s.current_stage < TOTAL_STAGES:
        s.current_stage += 1
        s.scheduled_task_interval = 13 - s.current_stage
        if s.options.clear_history_on_stage_change:
            s.game_history.clear()
        # SWIFT-BUG: otherwise the history keeps the previous stage's
        # snapshots; UNDO then restores the old board (old exit cell, old
        # blocks) while exitPosition and currentStage stay the new ones.
        generation.initialize_stage(s, rng)
        return True
    return False


# ---------------------------------------------------------------- action mask
def get_valid_actions(s: GameState) -> List[int]:
    """GameState.getValidActions (HeadlessGame.getValidActions) as indices:
    a direction when the neighbour is on the board and is no block, or is a
    block with an enemy on it; siphon with a data siphon; each program by
    canExecuteProgram."""
    out = []
    pr, pc = s.player.row, s.player.col

    def can_move_or_attack(r, c):
        """getValidActions' nested canMoveOrAttack(toRow:toCol:)."""
        if not (0 <= r < 6 and 0 <= c < 6):
            return False
        if s.grid.cells[r][c].has_block:
            return any(e.row == r and e.col == c for e in s.enemies)
        return True

    for i, d in enumerate(DIRECTIONS):
        dr, dc = DIRECTION_OFFSET[d]
        if can_move_or_attack(pr + dr, pc + dc):
            out.append(i)
    if s.player.data_siphons > 0:
        out.append(ACTION_SIPHON)
    for i, p in enumerate(PROGRAMS):
        if programs.can_execute_program(s, p)[0]:
            out.append(5 + i)
    return out


def action_mask(s: GameState) -> List[bool]:
    """getValidActions as 28 booleans (index = GameAction.toIndex)."""
    valid = set(get_valid_actions(s))
    return [a in valid for a in range(NUM_ACTIONS)]
