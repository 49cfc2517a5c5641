"""Board builders shared by the HackMatrix tests: hand-built jitrl states.

``build(player=(r, c), exit=(r, c), blocks={(r, c): points}, enemies=[(type, r, c)],
transmissions=[(r, c, turns, type)], **game_fields)`` returns a ``GameState``
with the given units in the first slots (no ``just_spawned``/stun flags), so a
test states a position in one call instead of chaining slot edits.
"""
from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from jitrl.envs.hackmatrix.state import (
    BLOCK_DATA, ENEMY_MAX_HP, MAX_ENEMIES, MAX_TRANSMISSIONS, empty_game,
)


def build(player=(0, 0), exit=(5, 5), blocks=None, enemies=(), transmissions=(), **fields):
    g = empty_game()
    kind = np.zeros((6, 6), np.int32)
    pts = np.zeros((6, 6), np.int32)
    for (r, c), p in (blocks or {}).items():
        kind[r, c] = BLOCK_DATA
        pts[r, c] = p
    e_alive = np.zeros(MAX_ENEMIES, bool)
    e = np.zeros((3, MAX_ENEMIES), np.int32)
    for i, (t, r, c) in enumerate(enemies):
        e_alive[i] = True
        e[:, i] = (t, r, c)
    t_alive = np.zeros(MAX_TRANSMISSIONS, bool)
    t = np.zeros((4, MAX_TRANSMISSIONS), np.int32)
    for i, (r, c, turns, typ) in enumerate(transmissions):
        t_alive[i] = True
        t[:, i] = (r, c, turns, typ)
    g = g.replace(
        player_row=jnp.int32(player[0]), player_col=jnp.int32(player[1]),
        exit_row=jnp.int32(exit[0]), exit_col=jnp.int32(exit[1]),
        exit_cell=jnp.asarray(np.arange(36).reshape(6, 6) == exit[0] * 6 + exit[1]),
        block_kind=jnp.asarray(kind), block_hidden_kind=jnp.asarray(kind),
        block_points=jnp.asarray(pts), block_spawn=jnp.asarray(pts),
        enemy_alive=jnp.asarray(e_alive), enemy_type=jnp.asarray(e[0]),
        enemy_row=jnp.asarray(e[1]), enemy_col=jnp.asarray(e[2]),
        enemy_hp=jnp.asarray(np.where(e_alive, ENEMY_MAX_HP[e[0]], 0).astype(np.int32)),
        trans_alive=jnp.asarray(t_alive), trans_row=jnp.asarray(t[0]), trans_col=jnp.asarray(t[1]),
        trans_turns=jnp.asarray(t[2]), trans_type=jnp.asarray(t[3]),
        # list order: enemies in slot order, then transmissions in slot order
        enemy_seq=jnp.arange(MAX_ENEMIES, dtype=jnp.int32),
        trans_seq=jnp.arange(MAX_TRANSMISSIONS, dtype=jnp.int32) + MAX_ENEMIES,
        next_seq=jnp.int32(MAX_ENEMIES + MAX_TRANSMISSIONS),
    )
    return g.replace(**{k: jnp.asarray(v, getattr(g, k).dtype) for k, v in fields.items()})


def units(g):
    """(enemy cells, transmission cells) of a GameState as sorted lists."""
    ea, ta = np.asarray(g.enemy_alive), np.asarray(g.trans_alive)
    en = sorted(zip(np.asarray(g.enemy_row)[ea].tolist(), np.asarray(g.enemy_col)[ea].tolist()))
    tr = sorted(zip(np.asarray(g.trans_row)[ta].tolist(), np.asarray(g.trans_col)[ta].tolist()))
    return en, tr


# ---------------------------------------------------------------- jitrl -> reference
_KIND_NAMES = {1: "data", 2: "program", 3: "question"}


def to_description(g, index=None):
    """A ``hackmatrix_reference.from_description`` dict of a jitrl ``GameState``
    (``index``: pick one env of a batched state). Covers the board, the units
    (in list order, ``seq``), the player, the schedule and the stage flags
    (not the UNDO history)."""
    from tests.hackmatrix_reference.constants import ENEMY_TYPES, PROGRAMS
    a = {k: np.asarray(v) if index is None else np.asarray(v)[index] for k, v in vars(g).items()}
    i = lambda k: int(a[k])
    blocks, resources, siphoned = [], [], []
    for r in range(6):
        for c in range(6):
            kind = int(a["block_kind"][r, c])
            if kind:
                real = int(a["block_hidden_kind"][r, c])
                d = dict(row=r, col=c, kind=_KIND_NAMES[kind], spawn=int(a["block_spawn"][r, c]),
                         siphoned=bool(a["siphoned"][r, c]))
                if real == 1:
                    d["points"] = int(a["block_points"][r, c])
                else:
                    d["program"] = PROGRAMS[int(a["block_program"][r, c])]
                blocks.append(d)
            elif a["siphoned"][r, c]:
                siphoned.append((r, c))
            if a["credits"][r, c]:
                resources.append(dict(row=r, col=c, credits=int(a["credits"][r, c])))
            if a["energy"][r, c]:
                resources.append(dict(row=r, col=c, energy=int(a["energy"][r, c])))
    # Swift's list order is jitrl's ``seq`` order
    e_slots = sorted(np.flatnonzero(a["enemy_alive"]), key=lambda k: int(a["enemy_seq"][k]))
    t_slots = sorted(np.flatnonzero(a["trans_alive"]), key=lambda k: int(a["trans_seq"][k]))
    enemies = [dict(type=ENEMY_TYPES[int(a["enemy_type"][k])], row=int(a["enemy_row"][k]),
                    col=int(a["enemy_col"][k]), hp=int(a["enemy_hp"][k]),
                    stunned=bool(a["enemy_stunned"][k]), disabled=int(a["enemy_just_spawned"][k]),
                    from_siphon=bool(a["enemy_from_siphon"][k]),
                    scheduled=bool(a["enemy_from_task"][k]))
               for k in e_slots]
    trans = [dict(row=int(a["trans_row"][k]), col=int(a["trans_col"][k]), turns=int(a["trans_turns"][k]),
                  type=ENEMY_TYPES[int(a["trans_type"][k])], from_siphon=bool(a["trans_from_siphon"][k]),
                  scheduled=bool(a["trans_from_task"][k]))
             for k in t_slots]
    return dict(
        player=dict(row=i("player_row"), col=i("player_col"), hp=i("player_hp"),
                    credits=i("player_credits"), energy=i("player_energy"),
                    data_siphons=i("player_siphons"), score=i("score"), attack=i("player_attack")),
        stage=i("stage"), turn=i("turn"),
        owned=[PROGRAMS[p] for p in np.flatnonzero(a["owned"])],
        show=bool(a["show_active"]), calm=bool(a["calm_active"]), step=bool(a["step_skip_pending"]),
        atk_plus_uses=i("atk_plus_uses"), pending_siphon=i("pending_siphon_spawns"),
        interval=i("spawn_interval"), next_task=i("next_task_turn"),
        exit=(i("exit_row"), i("exit_col")),
        siphons=[(r, c) for r in range(6) for c in range(6) if a["siphon_pickup"][r, c]],
        blocks=blocks, resources=resources, siphoned=siphoned, enemies=enemies, transmissions=trans,
        centers=[(r, c) for r in range(6) for c in range(6) if a["siphon_center"][r, c]],
    )


def random_crowded(seed, n_enemies=(0, 14), n_trans=(0, 14), n_blocks=(0, 11)):
    """A random jitrl GameState: blocks, enemies and transmissions on distinct
    random cells (player excluded), for differential tests."""
    rng = np.random.default_rng(seed)
    cells = [(r, c) for r in range(6) for c in range(6)]
    order = rng.permutation(36)
    player = cells[order[0]]
    k_b = int(rng.integers(n_blocks[0], n_blocks[1] + 1))
    k_e = int(rng.integers(n_enemies[0], n_enemies[1] + 1))
    k_t = int(rng.integers(n_trans[0], n_trans[1] + 1))
    rest = [cells[j] for j in order[1:]]
    blk = rest[:k_b]
    en = rest[k_b:k_b + k_e]
    tr = rest[k_b + k_e:k_b + k_e + k_t]
    corners = [(0, 0), (0, 5), (5, 0), (5, 5)]
    exit_ = corners[int(rng.integers(4))]
    return build(player=player, exit=exit_, blocks={c: int(rng.integers(1, 10)) for c in blk},
                 enemies=[(int(rng.integers(4)), r, c) for r, c in en],
                 transmissions=[(r, c, 1, int(rng.integers(4))) for r, c in tr])
