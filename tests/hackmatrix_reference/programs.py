"""The 23 programs: GameState.swift canExecuteProgram, isProgramApplicable,
executeProgram, findNearestEnemy.

Only WAIT ends the turn (tryExecuteAction); every other program is free to
chain. The cost is paid before the effect, so UNDO's 1 credit is overwritten
by the restored credits (free in effect, but 1 credit must be held)."""
from __future__ import annotations

from .constants import (
    ATK_PLUS_USES_PER_STAGE, DELAY_TURNS, ENEMY_MAX_HP, ENEMY_TYPES, PROGRAM_COST, TOTAL_STAGES,
)
from .state import GameState, Grid


def can_execute_program(s: GameState, ptype: str):
    """GameState.canExecuteProgram -> (ok, reason): owned, affordable, applicable."""
    if ptype not in s.owned_programs:
        return False, "Not owned"
    credits, energy = PROGRAM_COST[ptype]
    if s.player.credits < credits:
        return False, f"Need {credits} credits"
    if s.player.energy < energy:
        return False, f"Need {energy} energy"
    if not is_program_applicable(s, ptype):
        return False, "N/A"
    return True, None


def _around(row, col):
    """The ``for rowOffset in -1...1 { for colOffset in -1...1`` loops (centre skipped) of CRASH / D_BOM."""
    for dr in (-1, 0, 1):
        for dc in (-1, 0, 1):
            if dr == 0 and dc == 0:
                continue
            yield row + dr, col + dc


def is_program_applicable(s: GameState, ptype: str) -> bool:
    """GameState.isProgramApplicable (every enemy counts, hidden cryptogs too)."""
    p = s.player
    if ptype in ("push", "pull", "poly"):
        return bool(s.enemies)
    if ptype == "crash":
        for r, c in _around(p.row, p.col):
            if Grid.is_valid_position(r, c):
                if (s.grid.cells[r][c].has_block or s.enemies_at(r, c) or s.transmissions_at(r, c)):
                    return True
        return False
    if ptype == "warp":
        return bool(s.enemies) or bool(s.transmissions)
    if ptype == "exch":
        return p.credits >= 4
    if ptype == "show":
        return not s.show_activated
    if ptype == "reset":
        return p.health < 3
    if ptype == "d_bom":
        return any(e.type == "daemon" for e in s.enemies)
    if ptype == "anti-v":
        return any(e.type == "virus" for e in s.enemies)
    if ptype == "calm":
        return not s.scheduled_tasks_disabled
    if ptype == "delay":
        return bool(s.transmissions)
    if ptype == "atk+":
        return s.atk_plus_uses_this_stage < ATK_PLUS_USES_PER_STAGE
    if ptype == "row":
        return any(e.row == p.row for e in s.enemies)
    if ptype == "col":
        return any(e.col == p.col for e in s.enemies)
    if ptype == "debug":
        return any(s.grid.cells[e.row][e.col].has_block for e in s.enemies)
    if ptype == "reduc":
        return any(c.has_block and not c.is_siphoned and c.block.spawn > 0
                   for c in s.grid.all_cells())
    if ptype == "score":
        return s.current_stage < TOTAL_STAGES
    if ptype == "hack":
        return any(c.is_siphoned for c in s.grid.all_cells())
    if ptype == "undo":
        return bool(s.game_history)
    if ptype in ("siph+", "wait", "step"):
        return True
    raise ValueError(ptype)


def find_nearest_enemy(s: GameState, etype: str):
    """GameState.findNearestEnemy(ofType:): the first (list order) of the
    nearest by Manhattan distance (Swift's min(by:) keeps the first minimum)."""
    best = None
    best_d = None
    for e in s.enemies:
        if e.type != etype:
            continue
        d = abs(e.row - s.player.row) + abs(e.col - s.player.col)
        if best is None or d < best_d:
            best, best_d = e, d
    return best


def _damage_and_stun(s: GameState, targets, amount):
    """executeProgram's repeated ``takeDamage; if hp > 0 { isStunned = true }``."""
    for e in targets:
        e.take_damage(amount)
        if e.hp > 0:
            e.is_stunned = True


def execute_program(s: GameState, ptype: str, rng) -> dict:
    """GameState.executeProgram -> dict(success, enemies_killed, transmissions_killed)."""
    out = dict(success=False, enemies_killed=0, transmissions_killed=0)
    if not can_execute_program(s, ptype)[0]:
        return out
    credits, energy = PROGRAM_COST[ptype]
    p = s.player
    p.credits -= credits
    p.energy -= energy
    s.total_program_uses += 1
    killed = 0
    tkilled = 0

    if ptype == "exch":
        p.energy += 4
    elif ptype == "show":
        s.show_activated = True
    elif ptype == "siph+":
        p.data_siphons += 1
        s.total_data_siphons_collected += 1
    elif ptype == "reset":
        p.health = 3
    elif ptype == "calm":
        s.scheduled_tasks_disabled = True
    elif ptype == "atk+":
        p.attack_damage += 1
        s.atk_plus_uses_this_stage += 1
    elif ptype == "d_bom":
        # the nearest daemon dies; enemies in its 8 neighbouring cells take 1
        # damage (stunned if they survive); enemies sharing its cell are spared
        d = find_nearest_enemy(s, "daemon")
        if d is not None:
            dr0, dc0 = d.row, d.col
            killed += s.remove_enemy(lambda e: e.id == d.id)
            for r, c in _around(dr0, dc0):
                _damage_and_stun(s, [e for e in s.enemies if e.row == r and e.col == c], 1)
            killed += s.remove_dead_enemies()
    elif ptype == "anti-v":
        _damage_and_stun(s, [e for e in s.enemies if e.type == "virus"], 1)
        killed += s.remove_dead_enemies()
    elif ptype == "delay":
        for t in s.transmissions:
            t.turns_remaining += DELAY_TURNS
    elif ptype == "poly":
        # each enemy becomes one of the three other types; the damage taken
        # carries over, so a 1-HP daemon always dies (3 - 1 = 2 damage)
        for e in s.enemies:
            damage = ENEMY_MAX_HP[e.type] - e.hp
            new_type = rng.choice("poly.type", [t for t in ENEMY_TYPES if t != e.type])
            e.type = new_type
            e.hp = ENEMY_MAX_HP[new_type] - damage
            if new_type == "cryptog":
                e.last_known_row, e.last_known_col = e.row, e.col
        killed += s.remove_dead_enemies()
    elif ptype == "reduc":
        for c in s.grid.all_cells():
            if c.has_block and not c.is_siphoned:
                c.set_block(c.block.with_spawn(max(0, c.block.spawn - 1)))
    elif ptype == "score":
        p.score += TOTAL_STAGES - s.current_stage
    elif ptype == "row":
        _damage_and_stun(s, [e for e in s.enemies if e.row == p.row], p.attack_damage)
        killed += s.remove_dead_enemies()
    elif ptype == "col":
        _damage_and_stun(s, [e for e in s.enemies if e.col == p.col], p.attack_damage)
        killed += s.remove_dead_enemies()
    elif ptype == "debug":
        _damage_and_stun(s, [e for e in s.enemies if s.grid.cells[e.row][e.col].has_block],
                         p.attack_damage)
        killed += s.remove_dead_enemies()
    elif ptype == "hack":
        _damage_and_stun(s, [e for e in s.enemies if s.grid.cells[e.row][e.col].is_siphoned],
                         p.attack_damage)
        killed += s.remove_dead_enemies()
    elif ptype in ("push", "pull"):
        _push_pull(s, away=ptype == "push")
    elif ptype == "crash":
        # the 8 surrounding cells: blocks vanish (resources and isSiphoned
        # stay), every enemy and transmission there dies (removeEnemy/
        # removeTransmission count one kill per cell)
        for r, c in _around(p.row, p.col):
            if Grid.is_valid_position(r, c):
                cell = s.grid.cells[r][c]
                if cell.has_block:
                    cell.set_block(None)
                killed += s.remove_enemy(lambda e: e.row == r and e.col == c)
                tkilled += s.remove_transmission(lambda t: t.row == r and t.col == c)
    elif ptype == "warp":
        # a uniform target among enemies (list order) then transmissions; the
        # player takes its cell (even the exit, a data siphon, or a block under
        # a glitch: no pickup on landing) and destroys what is there
        targets = [(e.row, e.col, True) for e in s.enemies] + \
                  [(t.row, t.col, False) for t in s.transmissions]
        if targets:
            tr, tc, is_enemy = rng.choice("warp.target", targets)
            p.row, p.col = tr, tc
            if is_enemy:
                killed += s.remove_enemy(lambda e: e.row == tr and e.col == tc)
            else:
                tkilled += s.remove_transmission(lambda t: t.row == tr and t.col == tc)
    elif ptype == "wait":
        pass
    elif ptype == "step":
        s.step_active = True
    elif ptype == "undo":
        if not s.restore_snapshot():
            return dict(success=False, enemies_killed=0, transmissions_killed=0)
    else:
        raise ValueError(ptype)
    return dict(success=True, enemies_killed=killed, transmissions_killed=tkilled)


def _push_pull(s: GameState, away: bool):
    """executeProgram(.push / .pull): every enemy's wanted cell is computed
    from the board before any move: with (dr, dc) = sign(enemy - player)
    (negated for PULL), the candidates are the diagonal (r+dr, c+dc), the row
    step (r+dr, c) if dr != 0, the column step (r, c+dc) if dc != 0, each on
    the board (PULL: and not the player's cell); PUSH takes the first farthest
    from the player (Manhattan), PULL the first nearest. Then, in list order,
    an enemy moves unless an earlier enemy already *moved* to that cell.
    Nothing else is checked: blocks, transmissions, the exit and enemies that
    do not move do not stop a push or pull (non-glitches can land on blocks,
    two enemies can share a cell)."""
    pr, pc = s.player.row, s.player.col
    sgn = 1 if away else -1
    wanted = {}
    for e in s.enemies:
        rd, cd = e.row - pr, e.col - pc
        dr = 0 if rd == 0 else sgn * (1 if rd > 0 else -1)
        dc = 0 if cd == 0 else sgn * (1 if cd > 0 else -1)
        cands = []

        def add(r, c):
            if Grid.is_valid_position(r, c) and (away or (r, c) != (pr, pc)):
                cands.append((r, c, abs(r - pr) + abs(c - pc)))

        add(e.row + dr, e.col + dc)
        if dr != 0:
            add(e.row + dr, e.col)
        if dc != 0:
            add(e.row, e.col + dc)
        if cands:
            best = cands[0]
            for cand in cands[1:]:
                if (cand[2] > best[2]) if away else (cand[2] < best[2]):
                    best = cand  # Swift max(by:)/min(by:) keep the first extreme
            wanted[e.id] = (best[0], best[1])
    taken = set()
    for e in s.enemies:
        if e.id in wanted:
            pos = wanted[e.id]
            if pos not in taken:
                e.row, e.col = pos
                taken.add(pos)
