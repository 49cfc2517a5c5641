"""Host-side views of one HackMatrix state: a coloured ANSI text board and an RGB image.

Both take a single, unbatched ``EnvState`` (or its ``GameState``), copy it to
numpy once and draw with plain Python/numpy (never jitted; used by
``scripts/watch_jax_agent.py`` and the env's ``render_text`` / ``render_rgb``).

The board is drawn with row 5 at the top (action "up" is ``row + 1``), column 0
on the left. The renderers show the true state, hidden things included, but mark
them: a cryptog the player cannot see is drawn in parentheses / dimmed, and a
question block shows ``?`` (its content is drawn only once siphoned).

Text glyphs (one 5-character cell each; see :data:`LEGEND`):
``@`` player, ``V2`` / ``D3`` / ``G2`` / ``C2`` virus / daemon / glitch /
cryptog with HP (``*`` = stunned, ``(C2)`` = hidden cryptog), ``T1v`` a
transmission with turns left and its enemy type (``?`` until SHOW), ``[5]`` a
data block with its points, ``[PSH]`` a program block, ``[?]`` a question block
(siphoned blocks in lower case / dimmed), ``EX`` exit, ``$`` data-siphon pickup,
``c2`` / ``e1`` credits / energy on the cell, ``.`` empty.
"""
from __future__ import annotations

from typing import Any, Dict, Optional

import numpy as np

from jitrl.envs.hackmatrix.state import (
    BLOCK_DATA, BLOCK_NONE, BLOCK_PROGRAM, BLOCK_QUESTION, CRYPTOG, DAEMON, ENEMY_MAX_HP,
    GLITCH, GRID, MAX_HP, NUM_STAGES, PROGRAM_NAMES, VIRUS,
)

ENEMY_LETTERS = {VIRUS: "V", DAEMON: "D", GLITCH: "G", CRYPTOG: "C"}
#: Three-letter program labels for program blocks (in program order).
PROGRAM_SHORT = (
    "PSH", "PUL", "CRS", "WRP", "PLY", "WAI", "DBG", "ROW", "COL", "UND", "STP", "SI+",
    "EXC", "SHW", "RST", "CLM", "DBM", "DLY", "ANV", "SCO", "RDC", "AT+", "HCK",
)
LEGEND = (
    "@ player  V/D/G/C virus/daemon/glitch/cryptog + HP (* stunned, (C) hidden)  "
    "T<turns><type> transmission  [5] data block  [PSH] program block  [?] question  "
    "lower case = siphoned  EX exit  $ data siphon  c/e credits/energy  ~ siphoned cell"
)

# ---------------------------------------------------------------- numpy view


def _host(state: Any) -> Dict[str, np.ndarray]:
    """Dict of numpy arrays of the game (accepts an EnvState or a GameState)."""
    game = getattr(state, "game", state)
    out = {k: np.asarray(getattr(game, k)) for k in game.__dataclass_fields__}
    for extra in ("steps", "programs_used", "siphons_used", "last_action", "history_count"):
        if hasattr(state, extra):
            out["_" + extra] = np.asarray(getattr(state, extra))
    return out


def _visible(g, i) -> bool:
    if int(g["enemy_type"][i]) != CRYPTOG:
        return True
    return bool(g["show_active"]) or int(g["enemy_row"][i]) == int(g["player_row"]) or (
        int(g["enemy_col"][i]) == int(g["player_col"]))


def _cell_index(g):
    """{(row, col): enemy slot} and {(row, col): transmission slot} of alive ones."""
    enemies = {(int(g["enemy_row"][i]), int(g["enemy_col"][i])): i
               for i in np.flatnonzero(g["enemy_alive"])}
    trans = {(int(g["trans_row"][i]), int(g["trans_col"][i])): i
             for i in np.flatnonzero(g["trans_alive"])}
    return enemies, trans


# ---------------------------------------------------------------- text
_RESET = "\033[0m"
_FG = {
    "player": "\033[1;97m", VIRUS: "\033[1;91m", DAEMON: "\033[1;33m", GLITCH: "\033[1;95m",
    CRYPTOG: "\033[1;96m", "hidden": "\033[2;96m", "trans": "\033[93m", "exit": "\033[1;92m",
    "pickup": "\033[1;96m", "credits": "\033[33m", "energy": "\033[94m", "empty": "\033[90m",
}
_BG = {
    BLOCK_DATA: "\033[44m", BLOCK_PROGRAM: "\033[45m", BLOCK_QUESTION: "\033[43m",
    "siphoned_block": "\033[100m", "siphoned": "\033[42m",
}


def _text_cell(g, r, c, enemies, trans):
    """(5-char text, fg code, bg code) of one cell."""
    kind = int(g["block_kind"][r, c])
    sip = bool(g["siphoned"][r, c])
    bg = ""
    if kind != BLOCK_NONE:
        bg = _BG["siphoned_block"] if sip else _BG[kind]
    elif sip:
        bg = _BG["siphoned"]
    if (r, c) == (int(g["player_row"]), int(g["player_col"])):
        return "@", _FG["player"], bg
    if (r, c) in enemies:
        i = enemies[(r, c)]
        t = int(g["enemy_type"][i])
        s = f"{ENEMY_LETTERS[t]}{int(g['enemy_hp'][i])}" + ("*" if g["enemy_stunned"][i] else "")
        if not _visible(g, i):
            return f"({s})", _FG["hidden"], bg
        return s, _FG[t], bg
    if (r, c) in trans:
        i = trans[(r, c)]
        typ = ENEMY_LETTERS[int(g["trans_type"][i])].lower() if g["show_active"] else "?"
        return f"T{int(g['trans_turns'][i])}{typ}", _FG["trans"], bg
    if kind != BLOCK_NONE:
        if kind == BLOCK_DATA:
            s = f"[{int(g['block_points'][r, c])}]"
        elif kind == BLOCK_PROGRAM:
            s = f"[{PROGRAM_SHORT[int(g['block_program'][r, c])]}]"
        else:
            s = "[?]"
        return (s.lower() if sip else s), "\033[97m", bg
    if (r, c) == (int(g["exit_row"]), int(g["exit_col"])):
        return "EX", _FG["exit"], bg
    if g["siphon_pickup"][r, c]:
        return "$", _FG["pickup"], bg
    if g["credits"][r, c] > 0:
        return f"c{int(g['credits'][r, c])}", _FG["credits"], bg
    if g["energy"][r, c] > 0:
        return f"e{int(g['energy'][r, c])}", _FG["energy"], bg
    return ("~" if sip else "."), _FG["empty"], bg


def status_line(state: Any, last_action_name: Optional[str] = None) -> str:
    """One-line status: stage, HP, credits, energy, siphons, score, attack, flags, last action."""
    g = _host(state)
    hp = int(g["player_hp"])
    flags = [name for name, on in (("SHOW", g["show_active"]), ("CALM", g["calm_active"]),
                                   ("STEP", g["step_skip_pending"])) if on]
    parts = [
        f"Stage {int(g['stage'])}/{NUM_STAGES}",
        f"HP {hp}/{MAX_HP}",
        f"Credits {int(g['player_credits'])}",
        f"Energy {int(g['player_energy'])}",
        f"Siphons {int(g['player_siphons'])}",
        f"Score {int(g['score'])}",
        f"Attack {int(g['player_attack'])}",
        f"Turn {int(g['turn'])}",
    ]
    if "_steps" in g:
        parts.append(f"Step {int(g['_steps'])}")
    if flags:
        parts.append(" ".join(f"[{f}]" for f in flags))
    if last_action_name is not None:
        parts.append(f"Last: {last_action_name}")
    return " | ".join(parts)


def owned_line(state: Any) -> str:
    g = _host(state)
    owned = [PROGRAM_NAMES[i] for i in np.flatnonzero(g["owned"])]
    return "Programs: " + (" ".join(owned) if owned else "(none)")


def render_text(state: Any, params: Any = None, last_action_name: Optional[str] = None,
                color: bool = True) -> str:
    """The board (row 5 on top) with a status line, owned programs and a legend.

    ``color=False`` gives the same text without ANSI escape codes.
    """
    g = _host(state)
    enemies, trans = _cell_index(g)
    lines = [status_line(state, last_action_name), owned_line(state)]
    lines.append("    " + "".join(f"{c:^5}" for c in range(GRID)))
    for r in range(GRID - 1, -1, -1):
        cells = []
        for c in range(GRID):
            s, fg, bg = _text_cell(g, r, c, enemies, trans)
            s = f"{s:^5}"
            cells.append(f"{bg}{fg}{s}{_RESET}" if color else s)
        lines.append(f" {r} |" + "".join(cells) + "|")
    lines.append("Legend: " + LEGEND)
    return "\n".join(lines)


# ---------------------------------------------------------------- RGB
FLOOR = (28, 28, 34)
GRID_LINE = (60, 60, 70)
SIPHONED_FLOOR = (30, 70, 45)
PLAYER_COLOR = (255, 255, 255)
EXIT_COLOR = (40, 210, 90)
PICKUP_COLOR = (0, 220, 230)
CREDITS_COLOR = (235, 200, 40)
ENERGY_COLOR = (80, 150, 255)
STUN_COLOR = (255, 240, 0)
BLOCK_COLORS = {BLOCK_DATA: (45, 80, 190), BLOCK_PROGRAM: (140, 60, 190),
                BLOCK_QUESTION: (200, 130, 30)}
ENEMY_COLORS = {VIRUS: (230, 40, 40), DAEMON: (255, 130, 0), GLITCH: (255, 0, 200),
                CRYPTOG: (0, 180, 170)}
TRANS_COLOR = (170, 170, 170)
HP_PIP_COLOR = (255, 255, 255)
TEXT_COLOR = (230, 230, 230)
STRIP_BG = (12, 12, 16)

# 3x5 bitmap font (rows top to bottom, 3 bits each) for the digits and a few letters
_FONT = {
    "0": ("111", "101", "101", "101", "111"), "1": ("010", "110", "010", "010", "111"),
    "2": ("111", "001", "111", "100", "111"), "3": ("111", "001", "111", "001", "111"),
    "4": ("101", "101", "111", "001", "001"), "5": ("111", "100", "111", "001", "111"),
    "6": ("111", "100", "111", "101", "111"), "7": ("111", "001", "010", "010", "010"),
    "8": ("111", "101", "111", "101", "111"), "9": ("111", "101", "111", "001", "111"),
    "?": ("111", "001", "011", "000", "010"), "P": ("111", "101", "111", "100", "100"),
    "S": ("111", "100", "111", "001", "111"), "H": ("101", "101", "111", "101", "101"),
    "C": ("111", "100", "100", "100", "111"), "E": ("111", "100", "111", "100", "111"),
    "/": ("001", "001", "010", "100", "100"), " ": ("000",) * 5, "T": ("111", "010", "010", "010", "010"),
    "A": ("010", "101", "111", "101", "101"), "G": ("111", "100", "101", "101", "111"),
}


def _text(img, y, x, s, color, scale=1):
    """Draw ``s`` with the 3x5 font, top-left at (y, x); clipped to the image."""
    for ch in s:
        rows = _FONT.get(ch.upper(), _FONT["?"])
        for dy, bits in enumerate(rows):
            for dx, bit in enumerate(bits):
                if bit == "1":
                    y0, x0 = y + dy * scale, x + dx * scale
                    img[max(y0, 0):max(y0 + scale, 0), max(x0, 0):max(x0 + scale, 0)] = color
        x += 4 * scale


def _rect(img, y0, x0, y1, x1, color):
    img[max(y0, 0):max(y1, 0), max(x0, 0):max(x1, 0)] = color


def _disc(img, cy, cx, radius, color):
    h, w = img.shape[:2]
    yy, xx = np.ogrid[:h, :w]
    img[(yy - cy) ** 2 + (xx - cx) ** 2 <= radius ** 2] = color


def _diamond(img, cy, cx, radius, color):
    h, w = img.shape[:2]
    yy, xx = np.ogrid[:h, :w]
    img[np.abs(yy - cy) + np.abs(xx - cx) <= radius] = color


def cell_origin(row: int, col: int, cell_px: int = 32):
    """(y, x) pixel of the top-left corner of board cell (row, col) (row 5 on top)."""
    return (GRID - 1 - row) * cell_px, col * cell_px


def render_rgb(state: Any, params: Any = None, cell_px: int = 32,
               status_strip: bool = True) -> np.ndarray:
    """uint8[H, W, 3]: the board (``GRID * cell_px`` square, row 5 on top), plus a
    status strip below it (HP pips, credits, energy, siphons, score, stage) when
    ``status_strip``.

    Colours: floor dark grey (siphoned cells green-tinted), blocks by kind
    (data blue with its points, program purple, question orange; siphoned ones
    darker), exit green square, data-siphon pickup cyan diamond, credits gold
    dots and energy blue dots (one per unit), the player a white disc, enemies
    discs in their type colour with one white pip per HP (hidden cryptogs half
    transparent, stunned ones ringed yellow), transmissions grey hollow squares
    (their type colour after SHOW) with the turns left.
    """
    if cell_px < 12:
        raise ValueError("render_rgb: cell_px must be at least 12")
    g = _host(state)
    enemies, trans = _cell_index(g)
    p = cell_px
    strip = (2 * 7 + 4) * max(1, p // 16) if status_strip else 0
    img = np.zeros((GRID * p + strip, GRID * p, 3), np.uint8)
    img[:] = STRIP_BG
    s = max(1, p // 16)  # font scale
    for r in range(GRID):
        for c in range(GRID):
            y, x = cell_origin(r, c, p)
            cell = img[y:y + p, x:x + p]
            cell[:] = SIPHONED_FLOOR if g["siphoned"][r, c] else FLOOR
            cell[0, :] = GRID_LINE
            cell[:, 0] = GRID_LINE
            kind = int(g["block_kind"][r, c])
            cy, cx = p // 2, p // 2
            if kind != BLOCK_NONE:
                col = np.array(BLOCK_COLORS[kind], np.float32)
                if g["siphoned"][r, c]:
                    col = col * 0.45
                _rect(cell, 2, 2, p - 1, p - 1, col.astype(np.uint8))
                label = (str(int(g["block_points"][r, c])) if kind == BLOCK_DATA
                         else "P" if kind == BLOCK_PROGRAM else "?")
                _text(cell, 3, 3, label, TEXT_COLOR, s)
            else:
                if (r, c) == (int(g["exit_row"]), int(g["exit_col"])):
                    _rect(cell, p // 6, p // 6, p - p // 6, p - p // 6, EXIT_COLOR)
                if g["siphon_pickup"][r, c]:
                    _diamond(cell, cy, cx, p // 3, PICKUP_COLOR)
                dot = max(2, p // 10)
                for k in range(int(g["credits"][r, c])):
                    _rect(cell, p - 2 * dot, 2 + k * (dot + 1), p - dot, 2 + k * (dot + 1) + dot,
                          CREDITS_COLOR)
                for k in range(int(g["energy"][r, c])):
                    x0 = p - 2 - (k + 1) * (dot + 1)
                    _rect(cell, p - 2 * dot, x0, p - dot, x0 + dot, ENERGY_COLOR)
            if (r, c) in trans:
                i = trans[(r, c)]
                tcol = ENEMY_COLORS[int(g["trans_type"][i])] if g["show_active"] else TRANS_COLOR
                m = p // 5
                _rect(cell, m, m, p - m, p - m, tcol)
                _rect(cell, m + 2, m + 2, p - m - 2, p - m - 2,
                      SIPHONED_FLOOR if g["siphoned"][r, c] else FLOOR)
                _text(cell, cy - 2 * s, cx - s, str(min(int(g["trans_turns"][i]), 9)), tcol, s)
            if (r, c) in enemies:
                i = enemies[(r, c)]
                t = int(g["enemy_type"][i])
                ecol = np.array(ENEMY_COLORS[t], np.float32)
                if not _visible(g, i):
                    ecol = 0.5 * ecol + 0.5 * np.array(FLOOR, np.float32)
                if g["enemy_stunned"][i]:
                    _disc(cell, cy, cx, p * 3 // 8 + 1, STUN_COLOR)
                _disc(cell, cy, cx, p * 3 // 8 - 1, ecol.astype(np.uint8))
                pip = max(2, p // 10)
                for k in range(int(g["enemy_hp"][i])):
                    px = cx - (int(ENEMY_MAX_HP[t]) * (pip + 1)) // 2 + k * (pip + 1)
                    _rect(cell, cy - pip // 2, px, cy - pip // 2 + pip, px + pip, HP_PIP_COLOR)
            if (r, c) == (int(g["player_row"]), int(g["player_col"])):
                _disc(cell, cy, cx, p * 3 // 8, PLAYER_COLOR)
    if status_strip:
        _status_strip(img[GRID * p:], g, s)
    return img


def _status_strip(strip: np.ndarray, g, s: int) -> None:
    """HP pips, then 'C<credits> E<energy> S<siphons> <score>' and the stage."""
    pip = 5 * s
    y = 2 * s
    for k in range(MAX_HP):
        color = (220, 30, 30) if k < int(g["player_hp"]) else (70, 30, 30)
        _rect(strip, y, 2 * s + k * (pip + s), y + pip, 2 * s + k * (pip + s) + pip, color)
    x = 2 * s + MAX_HP * (pip + s) + 2 * s
    _text(strip, y, x, f"C{int(g['player_credits'])}", CREDITS_COLOR, s)
    x += 4 * s * (1 + len(str(int(g["player_credits"])))) + 2 * s
    _text(strip, y, x, f"E{int(g['player_energy'])}", ENERGY_COLOR, s)
    x += 4 * s * (1 + len(str(int(g["player_energy"])))) + 2 * s
    _text(strip, y, x, f"S{int(g['player_siphons'])}", PICKUP_COLOR, s)
    y2 = y + 7 * s
    _text(strip, y2, 2 * s, f"{int(g['score'])}", TEXT_COLOR, s)
    _text(strip, y2, strip.shape[1] - 4 * s * 4, f"{int(g['stage'])}/{NUM_STAGES}", EXIT_COLOR, s)
