"""Pathfinding.swift, line by line.

Key fact (Pathfinding.findPath): the BFS marks a cell visited when it is
*enqueued*, the player's cell included, so the target is enqueued once, by the
first path that reaches it, and ``candidateFirstMoves`` never holds more than
one move. FIFO order with neighbours tried up (row + 1), down, left, right
makes that path the lexicographically first shortest path in that direction
order; hence the first step is the first direction, in the order up, down,
left, right, that starts some shortest path. ``selectBestMove``'s type
preferences (glitches prefer blocks, cryptogs hidden cells) therefore never
apply: it always gets one candidate. It is ported anyway (site
``path.tiebreak``; a one-candidate draw is not forwarded to the rng).

Positions are ``(row, col)`` tuples; Swift's ``"r,c"`` string keys become tuples.
"""
from __future__ import annotations

from collections import deque
from typing import Optional, Set, Tuple

from .constants import DIRECTIONS, DIRECTION_OFFSET
from .state import Grid

Pos = Tuple[int, int]


def find_next_move(start: Pos, target: Pos, grid: Grid, can_move_on_blocks: bool,
                   occupied_positions: Set[Pos], rng, enemy_type: Optional[str] = None
                   ) -> Optional[Pos]:
    """Pathfinding.findNextMove.

    1. BFS where ``occupied_positions`` block (except the target);
    2. else BFS ignoring them, and its move only if that cell is not occupied;
    3. else ``None`` (the caller, executeEnemyStepWithCapture, then falls back
       to the nearest free neighbour by Manhattan distance).
    """
    candidates = find_path(start, target, grid, can_move_on_blocks, occupied_positions)
    if candidates:
        return select_best_move(candidates, enemy_type, target, grid, rng)
    ignoring = find_path(start, target, grid, can_move_on_blocks, set())
    valid = [m for m in ignoring if m not in occupied_positions]
    if valid:
        return select_best_move(valid, enemy_type, target, grid, rng)
    return None


def select_best_move(candidates, enemy_type, player_position: Pos, grid: Grid, rng) -> Pos:
    """Pathfinding.selectBestMove (Swift ``Set<String>``: the candidate order
    handed to the rng is sorted, Swift's is unspecified)."""
    cands = sorted(candidates)
    if len(cands) <= 1 or enemy_type is None:
        return rng.choice("path.tiebreak", cands)
    if enemy_type == "cryptog":
        hidden = [m for m in cands if m[0] != player_position[0] and m[1] != player_position[1]]
        return rng.choice("path.tiebreak", hidden or cands)
    if enemy_type == "glitch":
        on_block = [m for m in cands if grid.cells[m[0]][m[1]].has_block]
        return rng.choice("path.tiebreak", on_block or cands)
    return rng.choice("path.tiebreak", cands)


def find_path(start: Pos, target: Pos, grid: Grid, can_move_on_blocks: bool,
              occupied_positions: Set[Pos]) -> Set[Pos]:
    """Pathfinding.findPath: BFS over paths; returns the set of first moves of
    the shortest paths it records (at most one, see the module docstring)."""
    queue = deque([(start, [start])])
    visited = {start}
    shortest = None
    first_moves: Set[Pos] = set()
    while queue:
        cur, path = queue.popleft()
        if shortest is not None and len(path) > shortest:
            break
        if cur == target:
            if len(path) > 1:
                if shortest is None:
                    shortest = len(path)
                    first_moves.add(path[1])
                elif len(path) == shortest:
                    first_moves.add(path[1])
            continue  # don't expand from the target
        for d in DIRECTIONS:
            dr, dc = DIRECTION_OFFSET[d]
            nr, nc = cur[0] + dr, cur[1] + dc
            if not grid.is_valid_position(nr, nc):
                continue
            key = (nr, nc)
            if key in visited:
                continue
            if grid.cells[nr][nc].has_block and not can_move_on_blocks:
                continue  # (the target too: a player on a block is unreachable)
            if key != target and key in occupied_positions:
                continue
            visited.add(key)
            queue.append((key, path + [key]))
    return first_moves


def get_occupied_positions(enemies, excluding_id=None) -> Set[Pos]:
    """Pathfinding.getOccupiedPositions (unused by the game, which calls
    GameState.getOccupiedPositions: that one adds transmissions)."""
    return {(e.row, e.col) for e in enemies if excluding_id is None or e.id != excluding_id}


def find_distance(start: Pos, target: Pos, grid: Grid) -> Optional[int]:
    """Pathfinding.findDistance: BFS steps through non-block cells; the target
    is accepted as soon as it is a neighbour, even on a block; ``None`` when
    unreachable."""
    if start == target:
        return 0
    queue = deque([(start, 0)])
    visited = {start}
    while queue:
        cur, dist = queue.popleft()
        for d in DIRECTIONS:
            dr, dc = DIRECTION_OFFSET[d]
            nr, nc = cur[0] + dr, cur[1] + dc
            if not grid.is_valid_position(nr, nc):
                continue
            key = (nr, nc)
            if key in visited:
                continue
            if key == target:
                return dist + 1
            if grid.cells[nr][nc].has_block:
                continue
            visited.add(key)
            queue.append((key, dist + 1))
    return None
