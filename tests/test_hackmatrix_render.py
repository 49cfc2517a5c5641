"""HackMatrix text and RGB renderers on a hand-built state: every glyph at its cell
(row 5 on top), the status line, and the colours of the RGB image's cells."""
import re

import jax.numpy as jnp
import numpy as np

from jitrl.envs.hackmatrix import common
from jitrl.envs.hackmatrix import render as R
from jitrl.envs.hackmatrix import state as S
from jitrl.envs.hackmatrix.state import (
    BLOCK_DATA, BLOCK_PROGRAM, BLOCK_QUESTION, CRYPTOG, DAEMON, GLITCH, VIRUS,
)

ANSI = re.compile(r"\033\[[0-9;]*m")


def _block(g, r, c, kind, points=0, program=-1, siphoned=False):
    return g.replace(
        block_kind=g.block_kind.at[r, c].set(kind),
        block_hidden_kind=g.block_hidden_kind.at[r, c].set(kind),
        block_points=g.block_points.at[r, c].set(points),
        block_program=g.block_program.at[r, c].set(program),
        siphoned=g.siphoned.at[r, c].set(siphoned),
    )


def _enemy(g, t, r, c, hp, stunned=False):
    g = common.add_enemy(g, t, r, c, from_siphon=False, just_spawned=False)
    i = int(np.argmax(np.asarray(g.enemy_alive & (g.enemy_row == r) & (g.enemy_col == c))))
    return g.replace(enemy_hp=g.enemy_hp.at[i].set(hp), enemy_stunned=g.enemy_stunned.at[i].set(stunned))


def board_state(show=False):
    """Player (2,2); every kind of thing on its own cell (see EXPECTED)."""
    g = S.empty_game().replace(
        player_row=jnp.int32(2), player_col=jnp.int32(2), player_hp=jnp.int32(2),
        player_credits=jnp.int32(7), player_energy=jnp.int32(11), player_siphons=jnp.int32(1),
        score=jnp.int32(13), stage=jnp.int32(4), exit_row=jnp.int32(5), exit_col=jnp.int32(5),
        show_active=jnp.asarray(show),
        owned=jnp.zeros((S.NUM_PROGRAMS,), bool).at[S.PUSH].set(True).at[S.HACK].set(True),
    )
    g = _block(g, 3, 3, BLOCK_DATA, points=4)
    g = _block(g, 4, 0, BLOCK_DATA, points=1, siphoned=True)
    g = _block(g, 1, 4, BLOCK_PROGRAM, program=S.CRASH)
    g = _block(g, 4, 4, BLOCK_QUESTION)
    g = _block(g, 0, 4, BLOCK_DATA, points=2)
    g = _enemy(g, VIRUS, 2, 5, hp=2)
    g = _enemy(g, DAEMON, 5, 2, hp=2, stunned=True)
    g = _enemy(g, GLITCH, 0, 4, hp=1)             # on the block at (0, 4)
    g = _enemy(g, CRYPTOG, 4, 3, hp=2)            # not in the player's row/column: hidden
    g = common.add_transmission(g, DAEMON, 1, 0, 2, from_siphon=False)
    g = g.replace(
        credits=g.credits.at[3, 1].set(3), energy=g.energy.at[0, 1].set(1),
        siphon_pickup=g.siphon_pickup.at[0, 0].set(True), siphoned=g.siphoned.at[2, 1].set(True),
    )
    return S.wrap_game(g)


# (row, col) -> glyph in the plain text board
EXPECTED = {
    (2, 2): "@", (2, 5): "V2", (5, 2): "D2*", (0, 4): "G1", (4, 3): "(C2)", (1, 0): "T2?",
    (3, 3): "[4]", (4, 0): "[1]", (1, 4): "[CRS]", (4, 4): "[?]", (5, 5): "EX", (0, 0): "$",
    (3, 1): "c3", (0, 1): "e1", (2, 1): "~", (0, 2): ".",
}


def board_cells(text):
    """{(row, col): glyph} parsed from the board lines ' r |' + 6 cells of 5 chars + '|'."""
    cells = {}
    for line in text.splitlines():
        m = re.match(r"^ (\d) \|(.{30})\|$", line)
        if m:
            r = int(m.group(1))
            for c in range(S.GRID):
                cells[(r, c)] = m.group(2)[5 * c:5 * c + 5].strip()
    return cells


def test_text_board_glyphs_and_orientation():
    text = R.render_text(board_state(), color=False)
    cells = board_cells(text)
    assert len(cells) == 36
    for pos, glyph in EXPECTED.items():
        assert cells[pos] == glyph, (pos, cells[pos], glyph)
    # row 5 is printed first (on top), row 0 last
    rows = [int(l[1]) for l in text.splitlines() if re.match(r"^ \d \|", l)]
    assert rows == [5, 4, 3, 2, 1, 0]


def test_text_status_programs_and_legend():
    text = R.render_text(board_state(), last_action_name="SIPHON", color=False)
    status = text.splitlines()[0]
    for part in ("Stage 4/8", "HP 2/3", "Credits 7", "Energy 11", "Siphons 1", "Score 13",
                 "Attack 1", "Last: SIPHON"):
        assert part in status, part
    assert "Programs: PUSH HACK" in text
    assert "Legend:" in text


def test_show_reveals_cryptog_and_transmission_type():
    cells = board_cells(R.render_text(board_state(show=True), color=False))
    assert cells[(4, 3)] == "C2"
    assert cells[(1, 0)] == "T2d"
    assert "[SHOW]" in R.render_text(board_state(show=True), color=False)


def test_colour_text_is_plain_text_plus_ansi():
    plain = R.render_text(board_state(), color=False)
    coloured = R.render_text(board_state())
    assert "\033[" in coloured
    assert ANSI.sub("", coloured) == plain


def _center(img, r, c, p=32):
    y, x = R.cell_origin(r, c, p)
    return tuple(int(v) for v in img[y + p // 2, x + p // 2])


def test_rgb_shape_dtype_and_cell_colours():
    st = board_state()
    img = R.render_rgb(st)
    assert img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3
    assert img.shape[1] == 6 * 32 and img.shape[0] > 6 * 32   # board + status strip
    p = 32
    assert _center(img, 2, 2) == R.PLAYER_COLOR                # player at (2, 2)
    assert _center(img, 5, 5) == R.EXIT_COLOR
    assert _center(img, 0, 0) == R.PICKUP_COLOR

    def at(r, c, dy, dx):
        y, x = R.cell_origin(r, c, p)
        return tuple(int(v) for v in img[y + dy, x + dx])

    # enemy discs in their type colour (below the HP pips, inside the disc)
    assert at(2, 5, p // 2 + p // 4, p // 2) == R.ENEMY_COLORS[VIRUS]
    assert at(5, 2, p // 2 + p // 4, p // 2) == R.ENEMY_COLORS[DAEMON]
    assert at(0, 4, p // 2 + p // 4, p // 2) == R.ENEMY_COLORS[GLITCH]
    # stunned daemon: yellow ring just outside its disc
    assert at(5, 2, p // 2 + p * 3 // 8, p // 2) == R.STUN_COLOR
    # hidden cryptog: dimmed, not its full colour
    assert at(4, 3, p // 2 + p // 4, p // 2) != R.ENEMY_COLORS[CRYPTOG]
    # blocks by kind (bottom-right corner of the cell, away from the label)
    assert at(3, 3, p - 3, p - 3) == R.BLOCK_COLORS[BLOCK_DATA]
    assert at(1, 4, p - 3, p - 3) == R.BLOCK_COLORS[BLOCK_PROGRAM]
    assert at(4, 4, p - 3, p - 3) == R.BLOCK_COLORS[BLOCK_QUESTION]
    assert at(4, 0, p - 3, p - 3) == tuple(int(v) for v in (np.array(R.BLOCK_COLORS[BLOCK_DATA], np.float32) * 0.45).astype(np.uint8))
    assert at(2, 1, p // 2, p // 2) == R.SIPHONED_FLOOR
    assert at(0, 2, p // 2, p // 2) == R.FLOOR
    # HP pips: the virus (2 HP) shows 2 white pips, the glitch (1 HP) 1, counted on the pip row
    def pips(r, c):
        y, x = R.cell_origin(r, c, p)
        row = np.all(img[y + p // 2, x:x + p] == R.HP_PIP_COLOR, axis=-1).astype(int)
        return int(np.sum(np.diff(np.concatenate([[0], row])) == 1))
    assert pips(2, 5) == 2 and pips(0, 4) == 1
    # the HP strip: 2 of 3 pips lit
    strip = img[6 * p:]
    assert np.any(np.all(strip == (220, 30, 30), axis=-1))


def test_rgb_colours_are_distinct():
    colours = [R.PLAYER_COLOR, R.EXIT_COLOR, R.PICKUP_COLOR, R.FLOOR, R.SIPHONED_FLOOR,
               R.TRANS_COLOR, *R.ENEMY_COLORS.values(), *R.BLOCK_COLORS.values()]
    assert len(set(colours)) == len(colours)


def test_rgb_sizes_and_game_state_input():
    st = board_state()
    assert R.render_rgb(st, cell_px=16, status_strip=False).shape == (96, 96, 3)
    a = R.render_rgb(st.game, cell_px=20)
    b = R.render_rgb(st, cell_px=20)
    assert a.shape[:2][1] == 120 and np.array_equal(a, b)
    assert _center(a, 2, 2, 20) == R.PLAYER_COLOR


def test_env_render_methods_delegate():
    from jitrl.envs.hackmatrix import HackMatrix
    env = HackMatrix()
    st = board_state().replace(last_action=jnp.int32(S.PROGRAM_OFFSET + S.WAIT))
    text = env.render_text(st)
    assert "Last: WAIT" in text and ANSI.sub("", text) == R.render_text(st, last_action_name="WAIT", color=False)
    assert np.array_equal(env.render_rgb(st), R.render_rgb(st))
    assert "Last:" not in ANSI.sub("", env.render_text(board_state()))   # before the first action
