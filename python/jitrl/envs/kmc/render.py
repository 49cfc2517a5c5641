"""Host-side views of a KMC state (numpy; never jitted).

``render_text``: one character per column, the height as a digit (``0-9``,
then ``a-z``) coloured by the species of the top atom (ANSI: Ti cyan, O red,
bare substrate grey). ``render_rgb``: top view ``uint8[nx*scale, ny*scale, 3]``,
the top species' hue with brightness rising with the height.
"""
from __future__ import annotations

import numpy as np

from jitrl.envs.kmc import constants as C

_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"
_ANSI = {C.EMPTY: "\x1b[90m", C.TI: "\x1b[36m", C.O: "\x1b[31m"}
_RESET = "\x1b[0m"
_BASE_RGB = {C.EMPTY: (90, 90, 90), C.TI: (60, 190, 230), C.O: (230, 70, 60)}


def _top_species(heights: np.ndarray, species: np.ndarray) -> np.ndarray:
    k = np.clip(heights - 1, 0, species.shape[-1] - 1)
    top = np.take_along_axis(species, k[..., None], axis=-1)[..., 0].astype(np.int64)
    return np.where(heights > 0, top, C.EMPTY)


def render_text(state, color: bool = True) -> str:
    h = np.asarray(state.heights)
    sp = np.asarray(state.species)
    top = _top_species(h, sp)
    nz = sp.shape[-1]
    lines = []
    for i in range(h.shape[0]):
        row = []
        for j in range(h.shape[1]):
            ch = _DIGITS[min(int(h[i, j]), len(_DIGITS) - 1)]
            row.append(f"{_ANSI[int(top[i, j])]}{ch}{_RESET}" if color else ch)
        lines.append("".join(row))
    n_ti, n_o = int(np.asarray(state.n_ti)), int(np.asarray(state.n_o))
    rough = float(np.sqrt(np.mean((h - h.mean()) ** 2)))
    lines.append(
        f"t={float(np.asarray(state.time)):.4g}s events={int(np.asarray(state.step))} "
        f"Ti={n_ti} O={n_o} coverage={h.mean() / nz:.3f} roughness={rough:.3f}"
    )
    if color:
        lines.append(f"{_ANSI[C.TI]}Ti{_RESET} {_ANSI[C.O]}O{_RESET} {_ANSI[C.EMPTY]}substrate{_RESET}; digit = height")
    return "\n".join(lines)


def render_rgb(state, scale: int = 16) -> np.ndarray:
    h = np.asarray(state.heights)
    sp = np.asarray(state.species)
    top = _top_species(h, sp)
    nz = sp.shape[-1]
    base = np.zeros(h.shape + (3,), np.float64)
    for s, rgb in _BASE_RGB.items():
        base[top == s] = rgb
    bright = 0.35 + 0.65 * (h / max(nz, 1))[..., None]
    img = np.clip(base * np.where(h[..., None] > 0, bright, 1.0), 0, 255).astype(np.uint8)
    return np.repeat(np.repeat(img, scale, axis=0), scale, axis=1)
