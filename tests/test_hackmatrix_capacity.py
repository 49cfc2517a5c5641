"""Issue 8, item 2: no capacity limit. A siphon next to four 9-point data blocks
owes 36 transmissions (the Swift worst case); every one that finds an empty cell
must be placed, and every placed one must hatch into an enemy."""
import jax
import jax.numpy as jnp
import numpy as np

import jitrl
from jitrl.envs.hackmatrix import common
from jitrl.envs.hackmatrix.state import (
    ACTION_SIPHON, MAX_ENEMIES, MAX_TRANSMISSIONS, NUM_PROGRAMS, PROGRAM_OFFSET, VIRUS, WAIT,
    wrap_game,
)
from tests.hackmatrix_builders import build, units

ENV, PARAMS = jitrl.make("hackmatrix")
STEP = jax.jit(lambda k, s, a: ENV.step_env(k, s, a, PARAMS))
CROSS = {(1, 2): 9, (3, 2): 9, (2, 1): 9, (2, 3): 9}


def _empty_cells(g):
    occupied = np.asarray(common.block_map(g) | common.enemy_occupancy(g)
                          | common.trans_occupancy(g) | common.player_map(g))
    return int((~occupied).sum())


def _owned_wait():
    return jnp.zeros((NUM_PROGRAMS,), bool).at[WAIT].set(True)


def test_slots_hold_a_full_board():
    # 35 = every cell but the player's: the most units that can be on the board at once
    assert MAX_ENEMIES >= 35 and MAX_TRANSMISSIONS >= 35


def test_siphon_owing_36_fills_every_empty_cell_and_all_hatch():
    for n_enemies in (0, 6, 14):
        cells = [(r, c) for r in range(6) for c in range(6)
                 if (r, c) not in CROSS and (r, c) != (2, 2) and abs(r - 2) + abs(c - 2) > 2]
        enemies = [(VIRUS, r, c) for r, c in cells[:n_enemies]]
        g = build(player=(2, 2), blocks=CROSS, enemies=enemies, player_siphons=1,
                  player_energy=5, owned=_owned_wait())
        _, s, *_ = STEP(jax.random.PRNGKey(n_enemies), wrap_game(g), ACTION_SIPHON)
        n = s.game
        en, tr = units(n)
        assert len(en) == n_enemies  # nobody reached the player's cell through the cross
        assert int(n.pending_siphon_spawns) == 0
        # placed = owed (36) capped only by the empty cells (Swift's isPositionEmpty:
        # not the player, a block or an enemy; the exit counts as empty)
        free = 36 - 1 - len(CROSS) - n_enemies
        assert len(tr) == min(36, free) and len(tr) > 12, (n_enemies, len(tr), free)
        assert _empty_cells(n) == 0
        assert len(set(tr)) == len(tr) and not set(tr) & set(en)
        # the next enemy turn hatches every one of them
        _, s2, *_ = STEP(jax.random.PRNGKey(100 + n_enemies), s, PROGRAM_OFFSET + WAIT)
        en2, tr2 = units(s2.game)
        assert len(en2) == n_enemies + len(tr), (n_enemies, len(en2), len(tr))
        assert len(set(en2)) == len(en2)
