"""Lattice KMC physics as pure functions: local bond counts, log-rates of every
event, event application and the residence time.

All rates are kept as natural-log rates (``log Gamma``, ``-inf`` = infeasible)
so that a 2.5 eV barrier at 180 K (Gamma ~ 1e13 * exp(-161) ~ 1e-57 /s, below
float32's smallest normal) neither underflows to 0 nor produces NaN; totals are
``logsumexp``.

Rates (issue 4; k_B T in eV, nu the attempt frequency):

* deposit species s on a column:   log F_s                     (feasible iff h < nz and F_s > 0)
* hop of the top atom to neighbour: log nu - (E_d(s) + E_b + E_ES [h_nb + 1 < h]) / k_B T
  (feasible iff h > 0 and h_nb < nz); the atom lands on the neighbour's top
* desorb the top atom:             log nu - (E_des(s) + E_b) / k_B T   (feasible iff h > 0)

``E_b`` is the sum of lateral bond energies of the top atom (level ``h``) with
the atoms at the same level in the 4 lateral neighbour columns (periodic in x, y):
Ti-O ``E_TiO``, Ti-Ti ``E_TiTi``, O-O ``E_OO``. The substrate has no species and
no lateral bonds; a column of height 0 has no moving atom.

Two ways to refresh the cached rates after an event, with identical results:
``full_log_rates`` recomputes every column; ``local_update`` recomputes only the
columns within distance 1 of the changed columns (source and hop target), the
only ones whose rates can change: O(1) work per event whatever the lattice size.
"""
from __future__ import annotations

from typing import Sequence, Tuple

import jax
import jax.numpy as jnp

from jitrl.envs.kmc import constants as C
from jitrl.envs.kmc.state import EnvParams

#: dt is capped at this many seconds so it stays finite in float32 (reached
#: only when every feasible rate is below ~1e-30 /s).
MAX_DT = 1.0e30
LOG_MAX_DT = float(jnp.log(jnp.float32(MAX_DT)))

_DI = jnp.array([0, 0, 1, -1, 0, 0, 0], jnp.int32)
_DJ = jnp.array([0, 0, 0, 0, 1, -1, 0], jnp.int32)


def level_species(h: jax.Array, column: jax.Array) -> jax.Array:
    """Species of ``column[..., nz]`` at film index ``h - 1`` (the level of an atom
    on top of a column of height ``h``); 0 (empty) where ``h == 0`` or unoccupied."""
    k = jnp.arange(column.shape[-1], dtype=jnp.int32)
    hit = k == (h[..., None] - 1)
    return jnp.sum(jnp.where(hit, column.astype(jnp.int32), 0), axis=-1)


def local_log_rates(
    h: jax.Array,
    sp: jax.Array,
    nb_h: Sequence[jax.Array],
    nb_sp: Sequence[jax.Array],
    params: EnvParams,
    nz: int,
) -> Tuple[jax.Array, jax.Array, jax.Array, jax.Array]:
    """Log-rates ``[..., NUM_EVENTS]`` of columns given their own data and their 4
    neighbours' (in hop order +x, -x, +y, -y).

    ``h`` int[...], ``sp`` int[..., nz]; ``nb_h[k]`` / ``nb_sp[k]`` the same for
    neighbour ``k``. Also returns the top species and the lateral neighbour
    counts (n_Ti, n_O) at the top level.
    """
    top = level_species(h, sp)
    nb_level = [level_species(h, s) for s in nb_sp]
    n_ti = sum((s == C.TI).astype(jnp.int32) for s in nb_level)
    n_o = sum((s == C.O).astype(jnp.int32) for s in nb_level)

    p = params
    kT = jnp.float32(C.K_B) * jnp.asarray(p.temperature, jnp.float32)
    log_nu = jnp.log(jnp.asarray(p.nu, jnp.float32))
    is_ti = top == C.TI
    e_bond = jnp.where(
        is_ti,
        p.E_TiTi * n_ti.astype(jnp.float32) + p.E_TiO * n_o.astype(jnp.float32),
        p.E_TiO * n_ti.astype(jnp.float32) + p.E_OO * n_o.astype(jnp.float32),
    )
    e_d = jnp.where(is_ti, p.E_d_Ti, p.E_d_O)
    e_des = jnp.where(is_ti, p.E_des_Ti, p.E_des_O)
    has_atom = h > 0
    neg_inf = jnp.float32(-jnp.inf)

    dep_ok = h < nz
    log_f_ti = jnp.log(jnp.asarray(p.F_Ti, jnp.float32))
    log_f_o = jnp.log(jnp.asarray(p.F_O, jnp.float32))
    out = [
        jnp.where(dep_ok, log_f_ti, neg_inf),
        jnp.where(dep_ok, log_f_o, neg_inf),
    ]
    hop_on = has_atom & (jnp.asarray(p.hops_enabled) > 0)
    for hn in nb_h:
        down = (hn + 1 < h).astype(jnp.float32)
        barrier = e_d + e_bond + p.E_ES * down
        out.append(jnp.where(hop_on & (hn < nz), log_nu - barrier / kT, neg_inf))
    des_on = has_atom & (jnp.asarray(p.desorption_enabled) > 0)
    out.append(jnp.where(des_on, log_nu - (e_des + e_bond) / kT, neg_inf))
    rates = jnp.stack(out, axis=-1).astype(jnp.float32)
    return rates, top, n_ti, n_o


def _neighbour(x: jax.Array, k: int) -> jax.Array:
    """``x`` shifted so that entry (i, j) holds neighbour k of column (i, j) (periodic)."""
    di, dj = C.NEIGHBOUR_OFFSETS[k]
    return jnp.roll(x, shift=(-di, -dj), axis=(0, 1))


def full_log_rates(heights: jax.Array, species: jax.Array, params: EnvParams):
    """Log-rates ``float32[nx, ny, NUM_EVENTS]`` of every column, plus the top
    species and lateral (n_Ti, n_O) counts ``int32[nx, ny]``."""
    nz = species.shape[-1]
    nb_h = [_neighbour(heights, k) for k in range(4)]
    nb_sp = [_neighbour(species, k) for k in range(4)]
    return local_log_rates(heights, species, nb_h, nb_sp, params, nz)


def local_update(
    log_rates: jax.Array,
    col_log_rates: jax.Array,
    heights: jax.Array,
    species: jax.Array,
    ci: jax.Array,
    cj: jax.Array,
    ti: jax.Array,
    tj: jax.Array,
    params: EnvParams,
) -> Tuple[jax.Array, jax.Array]:
    """Refresh the cached rates (and per-column log-sums) after an event that
    changed columns (ci, cj) and (ti, tj) (the same column for a deposition or a
    desorption).

    A column's rates read only its own stack and its 4 neighbours' (heights for
    feasibility and the step-down term, species at its top level for bonds), so
    exactly the columns in the two plus shapes (a changed column and its 4
    neighbours) can change: 10 columns are recomputed (duplicates, e.g. for a
    deposition, get identical values), each from its own and its neighbours'
    data, whatever the lattice size.
    """
    nx, ny, nz = species.shape
    pi = jnp.array([0, 1, -1, 0, 0], jnp.int32)
    pj = jnp.array([0, 0, 0, 1, -1], jnp.int32)
    xi = jnp.concatenate([ci + pi, ti + pi]) % nx
    xj = jnp.concatenate([cj + pj, tj + pj]) % ny
    nb = [((xi + di) % nx, (xj + dj) % ny) for di, dj in C.NEIGHBOUR_OFFSETS]
    rates, _, _, _ = local_log_rates(
        heights[xi, xj], species[xi, xj], [heights[n] for n in nb], [species[n] for n in nb], params, nz
    )
    return log_rates.at[xi, xj].set(rates), col_log_rates.at[xi, xj].set(jax.nn.logsumexp(rates, axis=-1))


def decode_action(action: jax.Array, ny: int) -> Tuple[jax.Array, jax.Array, jax.Array]:
    """Flat action -> (column i, column j, event) for the layout ``[nx, ny, NUM_EVENTS]``."""
    a = action.astype(jnp.int32)
    col = a // C.NUM_EVENTS
    return col // ny, col % ny, a % C.NUM_EVENTS


def apply_event(heights: jax.Array, species: jax.Array, action: jax.Array, valid: jax.Array):
    """Apply the event ``action`` (a no-op where ``valid`` is False).

    Returns (heights, species, d_ti, d_o, deposited, ci, cj, ti, tj): the source
    column and the target column (the source itself unless a hop).
    """
    nx, ny, nz = species.shape
    ci, cj, ev = decode_action(action, ny)
    hc = heights[ci, cj]
    top = species[ci, cj, jnp.maximum(hc - 1, 0)].astype(jnp.int32)
    is_dep = ev <= C.DEP_O
    removes = valid & jnp.logical_not(is_dep)
    adds = valid & jnp.logical_not(ev == C.DESORB)
    # remove the top atom of the source (hop, desorb)
    k_rm = jnp.maximum(hc - 1, 0)
    species = species.at[ci, cj, k_rm].set(jnp.where(removes, jnp.int8(0), species[ci, cj, k_rm]))
    heights = heights.at[ci, cj].add(-removes.astype(jnp.int32))
    # add an atom on the target column (deposit: the source; hop: the neighbour)
    ti = (ci + _DI[ev]) % nx
    tj = (cj + _DJ[ev]) % ny
    s_add = jnp.where(is_dep, ev + 1, top).astype(jnp.int8)  # DEP_TI -> TI (1), DEP_O -> O (2)
    ht = heights[ti, tj]
    k_add = jnp.minimum(ht, nz - 1)
    species = species.at[ti, tj, k_add].set(jnp.where(adds, s_add, species[ti, tj, k_add]))
    heights = heights.at[ti, tj].add(adds.astype(jnp.int32))
    dep = valid & is_dep
    des = valid & (ev == C.DESORB)
    d_ti = (dep & (ev == C.DEP_TI)).astype(jnp.int32) - (des & (top == C.TI)).astype(jnp.int32)
    d_o = (dep & (ev == C.DEP_O)).astype(jnp.int32) - (des & (top == C.O)).astype(jnp.int32)
    return heights, species, d_ti, d_o, dep.astype(jnp.int32), ci, cj, ti, tj


def log_total_rate(log_rates: jax.Array) -> jax.Array:
    """log Z over every feasible event (``-inf`` entries contribute nothing); also
    accepts the cached per-column log-sums ``[nx, ny]`` (same Z, fewer exps)."""
    return jax.nn.logsumexp(log_rates.reshape(-1))


def residence_time(key: jax.Array, log_z: jax.Array) -> jax.Array:
    """dt = -ln(u) / Z, computed as exp(log(-ln u) - log Z) so that it never
    overflows through 1/Z; capped at ``MAX_DT`` (finite in float32)."""
    e = jax.random.exponential(key, (), jnp.float32)  # -ln(u), u ~ U(0, 1]
    return jnp.exp(jnp.minimum(jnp.log(e) - log_z, LOG_MAX_DT))
