"""Plain-Python (float64, loops) reference of the TiO2 KMC rates, written from
the formulas of issue 4 independently of ``jitrl.envs.kmc.physics``."""
from __future__ import annotations

import math

KB = 8.617333262e-5
NEIGHBOURS = ((1, 0), (-1, 0), (0, 1), (0, -1))
TI, O = 1, 2


def bond(a: int, b: int, p) -> float:
    if a == 0 or b == 0:
        return 0.0
    if a != b:
        return float(p.E_TiO)
    return float(p.E_TiTi) if a == TI else float(p.E_OO)


def event_log_rates(heights, species, p):
    """List over (i, j, e) in action order of log rates (None = infeasible)."""
    nx, ny = len(heights), len(heights[0])
    nz = len(species[0][0])
    kT = KB * float(p.temperature)
    out = []
    for i in range(nx):
        for j in range(ny):
            h = int(heights[i][j])
            top = int(species[i][j][h - 1]) if h > 0 else 0
            eb = 0.0
            if h > 0:
                for di, dj in NEIGHBOURS:
                    ni, nj = (i + di) % nx, (j + dj) % ny
                    if int(heights[ni][nj]) >= h:
                        eb += bond(top, int(species[ni][nj][h - 1]), p)
            ed = float(p.E_d_Ti if top == TI else p.E_d_O)
            edes = float(p.E_des_Ti if top == TI else p.E_des_O)
            for flux in (float(p.F_Ti), float(p.F_O)):
                out.append(math.log(flux) if (h < nz and flux > 0) else None)
            for di, dj in NEIGHBOURS:
                hn = int(heights[(i + di) % nx][(j + dj) % ny])
                # one level at most (standard SOS); the edge barrier up and down alike
                if h > 0 and hn < nz and abs(hn + 1 - h) <= 1 and float(p.hops_enabled) > 0:
                    barrier = ed + eb + (float(p.E_ES) if hn + 1 != h else 0.0)
                    out.append(math.log(float(p.nu)) - barrier / kT)
                else:
                    out.append(None)
            if h > 0 and float(p.desorption_enabled) > 0:
                out.append(math.log(float(p.nu)) - (edes + eb) / kT)
            else:
                out.append(None)
    return out


def log_sum(values) -> float:
    vals = [v for v in values if v is not None]
    m = max(vals)
    return m + math.log(sum(math.exp(v - m) for v in vals))


def random_state(rng, nx, ny, nz, fill=0.5):
    """A random solid-on-solid state as nested lists (heights, species)."""
    heights = [[int(rng.integers(0, nz + 1)) if rng.random() < fill else 0 for _ in range(ny)] for _ in range(nx)]
    species = [[[int(rng.integers(1, 3)) if k < heights[i][j] else 0 for k in range(nz)] for j in range(ny)] for i in range(nx)]
    return heights, species
