"""Lattice KMC physics as pure functions: local bond counts, log-rates of every
event, event application and the residence time.

All rates are kept as natural-log rates (``log Gamma``, ``-inf`` = infeasible)
so that a 2.5 eV barrier at 180 K (Gamma ~ 1e13 * exp(-161) ~ 1e-57 /s, below
float32's smallest normal) neither underflows to 0 nor produces NaN; totals are
``logsumexp``.

Rates (k_B T in eV, nu the attempt frequency):

* deposit species s on a column:   log F_s                     (feasible iff h < nz and F_s > 0)
* hop of the top atom to neighbour: log nu - (E_d(s) + E_b + E_ES [h_nb + 1 != h]) / k_B T
  (feasible iff h > 0, h_nb < nz and |h_nb + 1 - h| <= 1: the atom lands on the
  neighbour's top, one level up, level or one level down, as in standard SOS
  models; the step-edge barrier E_ES is paid both down and up a step, so the
  transition-state energy of crossing an edge is the same both ways and the
  rates obey detailed balance with respect to the bond energies)
* desorb the top atom:             log nu - (E_des(s) + E_b) / k_B T   (feasible iff h > 0)

``E_b`` is the sum of lateral bond energies of the top atom (level ``h``) with
the atoms at the same level in the 4 lateral neighbour columns (periodic in x, y):
Ti-O ``E_TiO``, Ti-Ti ``E_TiTi``, O-O ``E_OO``. The substrate has no species and
no lateral bonds; a column of height 0 has no moving atom.

Packed lattice (see ``state``): absolute ``heights[i, j]`` and O-bit rings
``obits[w, i, j]``: the site at absolute level ``L`` of column (i, j) is O iff
bit ``L mod 32 W`` of its ring is 1 (a site below the height with its bit 0 is
Ti). The moving window's floor (``floor``, the state's ``offset``) enters only
where the window's bounds matter: a column moves an atom only above the floor
and accepts one only below ``floor + nz``; everything else depends on height
differences and same-level species, so moving the window rewrites nothing. One event changes one bit and one height per
changed column, and a column's rates read one height and one word of each
neighbour, so a column and its 4 neighbours are ``5 * (1 + W)`` int32 loads.
Word planes are kept separate (not interleaved with the heights): XLA:CPU
vectorises the rate arithmetic over contiguous planes ~3x better.

Two ways to refresh the cached per-column log-sums after an event, with
identical results: ``full_col_log_rates`` recomputes every column (rolls, no
gathers); ``local_update`` recomputes only the columns within distance 1 of the
changed columns (source and hop target), the only ones whose rates can change:
O(1) work per event whatever the lattice size.
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


def o_bit(words: Sequence[jax.Array], level: jax.Array) -> jax.Array:
    """1 where the film site at absolute ``level`` (0-based, any int; a negative
    level reads level 0) of the columns whose O-bit rings are ``words`` (W arrays,
    ring length 32 W: level L is bit ``L mod 32 W``) holds O, else 0."""
    lv = jnp.maximum(level, 0) % (32 * len(words))
    shift = lv % 32
    if len(words) == 1:
        word = words[0]
    else:
        w = lv // 32
        word = sum(jnp.where(w == k, words[k], 0) for k in range(len(words)))
    return jnp.right_shift(word, shift) & 1


Column = Tuple[jax.Array, Sequence[jax.Array]]  # (heights, O-bit words), same shapes


def column_log_rates(
    col: Column, nbs: Sequence[Column], params: EnvParams, nz: int, floor: jax.Array = 0
) -> Tuple[jax.Array, jax.Array, jax.Array, jax.Array]:
    """Log-rates ``float32[..., NUM_EVENTS]`` of columns given their own
    ``(height, words)`` and their 4 neighbours' (in hop order +x, -x, +y, -y),
    heights absolute and ``floor`` the window's (``offset``): a column moves an
    atom only above the floor and accepts one only below ``floor + nz``.

    Also returns the top species (``EMPTY``/``TI``/``O``) and the lateral
    neighbour counts (n_Ti, n_O) of the top atom at its level.
    """
    h = col[0]
    has_atom = h > floor
    top = jnp.where(has_atom, 1 + o_bit(col[1], h - 1), C.EMPTY)
    nb_h = [n[0] for n in nbs]
    # a neighbour atom at the top atom's level exists iff the neighbour is at least as high
    nb_occ = [has_atom & (hn >= h) for hn in nb_h]
    nb_o = [o_bit(n[1], h - 1) for n in nbs]
    n_o = sum((occ & (b == 1)).astype(jnp.int32) for occ, b in zip(nb_occ, nb_o))
    n_ti = sum(occ.astype(jnp.int32) for occ in nb_occ) - n_o

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
    neg_inf = jnp.float32(-jnp.inf)

    dep_ok = h - floor < nz
    log_f_ti = jnp.log(jnp.asarray(p.F_Ti, jnp.float32))
    log_f_o = jnp.log(jnp.asarray(p.F_O, jnp.float32))
    out = [
        jnp.where(dep_ok, log_f_ti, neg_inf),
        jnp.where(dep_ok, log_f_o, neg_inf),
    ]
    hop_on = has_atom & (jnp.asarray(p.hops_enabled) > 0)
    for hn in nb_h:
        d = hn + 1 - h  # level change of the moving atom
        edge = (d != 0).astype(jnp.float32)
        barrier = e_d + e_bond + p.E_ES * edge
        ok = hop_on & (hn - floor < nz) & (jnp.abs(d) <= 1)
        out.append(jnp.where(ok, log_nu - barrier / kT, neg_inf))
    des_on = has_atom & (jnp.asarray(p.desorption_enabled) > 0)
    out.append(jnp.where(des_on, log_nu - (e_des + e_bond) / kT, neg_inf))
    rates = jnp.stack(out, axis=-1).astype(jnp.float32)
    return rates, top, n_ti, n_o


def column_log_sum(col: Column, nbs: Sequence[Column], params: EnvParams, nz: int, floor: jax.Array = 0) -> jax.Array:
    """``logsumexp`` of a column's 7 event log-rates (``float32[...]``, ``-inf`` when
    nothing is feasible) in closed form, equal to ``logsumexp(column_log_rates)``
    up to float32 rounding and about 5x cheaper on CPU (one output, so XLA does
    not recompute the bond counts once per event as it does for the 7 outputs).

    The 4 hops share the barrier ``E_d + E_b`` and differ only in the step-edge
    term, so with ``n_flat`` / ``n_down`` feasible hops without / with it (one
    level down or up):
    ``log Gamma_hops = log nu - (E_d + E_b) / kT + log(n_flat + n_down exp(-E_ES / kT))``,
    taken as ``log n_down - E_ES / kT`` (no exp) when ``n_flat = 0``, so a huge
    E_ES never underflows a column's only moves. Deposition is ``log(F_Ti + F_O)``.
    """
    h = col[0]
    has_atom = h > floor
    is_o = o_bit(col[1], h - 1) == 1
    nb_h = [n[0] for n in nbs]
    nb_occ = [has_atom & (hn >= h) for hn in nb_h]
    n_o = sum((occ & (o_bit(n[1], h - 1) == 1)).astype(jnp.float32) for occ, n in zip(nb_occ, nbs))
    n_ti = sum(occ.astype(jnp.float32) for occ in nb_occ) - n_o

    p = params
    inv_kt = 1.0 / (jnp.float32(C.K_B) * jnp.asarray(p.temperature, jnp.float32))
    log_nu = jnp.log(jnp.asarray(p.nu, jnp.float32))
    neg_inf = jnp.float32(-jnp.inf)
    e_bond = jnp.where(is_o, p.E_TiO * n_ti + p.E_OO * n_o, p.E_TiTi * n_ti + p.E_TiO * n_o)
    e_d = jnp.where(is_o, p.E_d_O, p.E_d_Ti)
    e_des = jnp.where(is_o, p.E_des_O, p.E_des_Ti)

    log_dep = jnp.where(h - floor < nz, jnp.log(jnp.asarray(p.F_Ti + p.F_O, jnp.float32)), neg_inf)
    feas = [(hn - floor < nz) & (jnp.abs(hn + 1 - h) <= 1) for hn in nb_h]
    n_down = sum((f & (hn + 1 != h)).astype(jnp.float32) for f, hn in zip(feas, nb_h))
    n_flat = sum(f.astype(jnp.float32) for f in feas) - n_down
    es = jnp.asarray(p.E_ES, jnp.float32) * inv_kt
    log_mult = jnp.where(n_flat > 0, jnp.log(n_flat + n_down * jnp.exp(-es)), jnp.log(n_down) - es)
    hop_on = has_atom & (jnp.asarray(p.hops_enabled) > 0)
    log_hop = jnp.where(hop_on, log_nu - (e_d + e_bond) * inv_kt + log_mult, neg_inf)
    des_on = has_atom & (jnp.asarray(p.desorption_enabled) > 0)
    log_des = jnp.where(des_on, log_nu - (e_des + e_bond) * inv_kt, neg_inf)
    m = jnp.maximum(jnp.maximum(log_dep, log_hop), log_des)
    m_safe = jnp.where(jnp.isfinite(m), m, 0.0)
    tot = jnp.exp(log_dep - m_safe) + jnp.exp(log_hop - m_safe) + jnp.exp(log_des - m_safe)
    return (m_safe + jnp.log(tot)).astype(jnp.float32)


def neighbour(x: jax.Array, k: int) -> jax.Array:
    """``x [..., nx, ny]`` shifted so that entry (i, j) holds neighbour k of column (i, j) (periodic)."""
    di, dj = C.NEIGHBOUR_OFFSETS[k]
    return jnp.roll(x, shift=(-di, -dj), axis=(-2, -1))


def _rolled(heights: jax.Array, obits: jax.Array) -> Tuple[Column, list]:
    words = [obits[w] for w in range(obits.shape[0])]
    nbs = [(neighbour(heights, k), [neighbour(x, k) for x in words]) for k in range(4)]
    return (heights, words), nbs


def full_log_rates(heights: jax.Array, obits: jax.Array, params: EnvParams, nz: int, floor: jax.Array = 0):
    """Log-rates ``float32[nx, ny, NUM_EVENTS]`` of every column (absolute
    ``heights``, window floor ``floor``), plus the top species and lateral
    (n_Ti, n_O) counts ``int32[nx, ny]`` (rolls, no gathers)."""
    me, nbs = _rolled(heights, obits)
    return column_log_rates(me, nbs, params, nz, floor)


def full_col_log_rates(heights: jax.Array, obits: jax.Array, params: EnvParams, nz: int,
                       floor: jax.Array = 0) -> jax.Array:
    """Per-column ``logsumexp`` of the 7 event log-rates, ``float32[nx, ny]`` (rolls)."""
    me, nbs = _rolled(heights, obits)
    return column_log_sum(me, nbs, params, nz, floor)


def gather_plus(heights: jax.Array, obits: jax.Array, i: jax.Array, j: jax.Array) -> Tuple[Column, list]:
    """(height, words) of columns (i, j) and of their 4 neighbours (hop order), periodic."""
    nx, ny = heights.shape

    def at(a, b):
        a, b = a % nx, b % ny
        return heights[a, b], [obits[w, a, b] for w in range(obits.shape[0])]

    return at(i, j), [at(i + di, j + dj) for di, dj in C.NEIGHBOUR_OFFSETS]


def site_log_rates(heights: jax.Array, obits: jax.Array, i: jax.Array, j: jax.Array, params: EnvParams, nz: int,
                   floor: jax.Array = 0) -> jax.Array:
    """The 7 log-rates of column (i, j) (5 column loads)."""
    me, nbs = gather_plus(heights, obits, i, j)
    return column_log_rates(me, nbs, params, nz, floor)[0]


_PI = (0, 1, -1, 0, 0)
_PJ = (0, 0, 0, 1, -1)


def local_update(
    col_log_rates: jax.Array,
    heights: jax.Array,
    obits: jax.Array,
    ci: jax.Array,
    cj: jax.Array,
    ti: jax.Array,
    tj: jax.Array,
    params: EnvParams,
    nz: int,
    floor: jax.Array = 0,
) -> jax.Array:
    """Refresh the cached per-column log-sums after an event that changed
    columns (ci, cj) and (ti, tj) (the same column for a deposition or a
    desorption); ``heights`` / ``obits`` are the lattice after the event.

    A column's rates read only its own stack and its 4 neighbours' (heights for
    feasibility and the step-down term, species at its top level for bonds), so
    exactly the columns in the two plus shapes (a changed column and its 4
    neighbours) can change: 10 columns are recomputed (duplicates, e.g. for a
    deposition, get identical values), each from its own and its neighbours'
    data, whatever the lattice size.
    """
    nx, ny = heights.shape
    pi = jnp.array(_PI, jnp.int32)
    pj = jnp.array(_PJ, jnp.int32)
    xi = jnp.concatenate([ci + pi, ti + pi]) % nx
    xj = jnp.concatenate([cj + pj, tj + pj]) % ny
    me, nbs = gather_plus(heights, obits, xi, xj)
    return col_log_rates.at[xi, xj].set(column_log_sum(me, nbs, params, nz, floor))


def full_row_log_rates(col_log_rates: jax.Array) -> jax.Array:
    """Per-row ``logsumexp`` of the per-column log-sums, ``float32[nx]``."""
    return jax.nn.logsumexp(col_log_rates, axis=-1)


def changed_rows(ci: jax.Array, ti: jax.Array, nx: int) -> jax.Array:
    """The rows ``int32[6]`` whose columns ``local_update`` may have changed:
    rows ci-1..ci+1 and ti-1..ti+1 (periodic; duplicates allowed)."""
    d = jnp.array((-1, 0, 1), jnp.int32)
    return jnp.concatenate([ci + d, ti + d]) % nx


def row_update(row_log_rates: jax.Array, col_log_rates: jax.Array, rows: jax.Array) -> jax.Array:
    """Refresh the cached row log-sums of ``rows`` from the (refreshed) column
    log-sums: each is recomputed from its ``ny`` columns (never adjusted by a
    difference, so no rounding drifts in), O(ny) per row; duplicate rows get
    identical values."""
    return row_log_rates.at[rows].set(full_row_log_rates(col_log_rates[rows]))


def log_z_from_rows(row_log_rates: jax.Array) -> jax.Array:
    """log Z from the cached row log-sums, O(nx)."""
    return jax.nn.logsumexp(row_log_rates, axis=-1)


def height_histogram(heights: jax.Array, nz: int) -> jax.Array:
    """``int32[nz + 1]``: how many columns have each height 0..nz."""
    return jnp.zeros((nz + 1,), jnp.int32).at[heights.reshape(-1)].add(1)


def hist_update(hist: jax.Array, hs: jax.Array, ht: jax.Array, removes: jax.Array, adds: jax.Array) -> jax.Array:
    """The histogram after an event whose source (height ``hs`` before it) lost
    an atom where ``removes`` and whose target (height ``ht`` before it) gained
    one where ``adds`` (see ``apply_event``); O(1)."""
    nz = hist.shape[-1] - 1
    rm = removes.astype(jnp.int32)
    ad = adds.astype(jnp.int32)
    idx = jnp.clip(jnp.stack([hs, hs - 1, ht, ht + 1]), 0, nz)
    return hist.at[idx].add(jnp.stack([-rm, rm, -ad, ad]))


def hist_min_max(hist: jax.Array) -> Tuple[jax.Array, jax.Array]:
    """(lowest, highest) column height from the histogram, O(nz)."""
    nz = hist.shape[-1] - 1
    occ = hist > 0
    return jnp.argmax(occ).astype(jnp.int32), (nz - jnp.argmax(occ[::-1])).astype(jnp.int32)


def decode_action(action: jax.Array, ny: int) -> Tuple[jax.Array, jax.Array, jax.Array]:
    """Flat action -> (column i, column j, event) for the layout ``[nx, ny, NUM_EVENTS]``."""
    a = action.astype(jnp.int32)
    col = a // C.NUM_EVENTS
    return col // ny, col % ny, a % C.NUM_EVENTS


def _bit_delta(level: jax.Array, num_words: int) -> jax.Array:
    """int32[num_words] with only the ring bit of absolute ``level`` set
    (``level mod 32 num_words``; two's-complement wrap at bit 31)."""
    pos = level % (32 * num_words)
    w = jnp.arange(num_words, dtype=jnp.int32)
    return jnp.where(w == pos // 32, jnp.left_shift(jnp.int32(1), pos % 32), 0)


def apply_event(heights: jax.Array, obits: jax.Array, action: jax.Array, valid: jax.Array):
    """Apply the event ``action`` (a no-op where ``valid`` is False) to the
    absolute heights and O-bit rings.

    Returns (heights, obits, d_ti, d_o, deposited, removes, adds, ci, cj, ti, tj,
    hs, ht): ``removes`` / ``adds`` whether an atom left the source / arrived
    on the target, the source column, the target column (the source itself
    unless a hop) and their (absolute) heights before the event. Two
    scatter-adds of two entries do the whole change: the source loses its top
    atom (hop, desorb: height - 1, its O bit cleared), the target gains one
    (deposit, hop: height + 1, the ring bit of the new site written: set for O,
    cleared for Ti, since it may hold a stale bit of a level below the window).
    """
    nw, nx, ny = obits.shape
    ci, cj, ev = decode_action(action, ny)
    hs = heights[ci, cj]
    top = jnp.where(hs > 0, 1 + o_bit([obits[w, ci, cj] for w in range(nw)], hs - 1), C.EMPTY)
    is_dep = ev <= C.DEP_O
    removes = valid & jnp.logical_not(is_dep)
    adds = valid & jnp.logical_not(ev == C.DESORB)
    ti = (ci + _DI[ev]) % nx
    tj = (cj + _DJ[ev]) % ny
    ht = heights[ti, tj]  # before the event (a deposit's target is the source)
    s_add = jnp.where(is_dep, ev + 1, top)  # DEP_TI -> TI (1), DEP_O -> O (2)
    rows, cols_ = jnp.stack([ci, ti]), jnp.stack([cj, tj])
    # the new heights are written as values computed from the gathered ones (a set,
    # not an add): the write then depends on the reads, so XLA updates the carried
    # buffer in place instead of copying the whole lattice every event. A deposit or
    # a desorption has source == target: both entries get the same value.
    rm, ad = removes.astype(jnp.int32), adds.astype(jnp.int32)
    same = (ci == ti) & (cj == tj)
    new_src = hs - rm + jnp.where(same, ad, 0)
    new_tgt = ht + ad - jnp.where(same, rm, 0)
    heights = heights.at[rows, cols_].set(jnp.stack([new_src, new_tgt]))
    d_src = jnp.where(removes & (top == C.O), -_bit_delta(hs - 1, nw), 0)
    old_bit = o_bit([obits[w, ti, tj] for w in range(nw)], ht)
    new_bit = (s_add == C.O).astype(jnp.int32)
    d_tgt = jnp.where(adds, (new_bit - old_bit) * _bit_delta(ht, nw), 0)
    obits = obits.at[:, rows, cols_].add(jnp.stack([d_src, d_tgt], axis=-1))
    dep = valid & is_dep
    des = valid & (ev == C.DESORB)
    d_ti = (dep & (ev == C.DEP_TI)).astype(jnp.int32) - (des & (top == C.TI)).astype(jnp.int32)
    d_o = (dep & (ev == C.DEP_O)).astype(jnp.int32) - (des & (top == C.O)).astype(jnp.int32)
    return heights, obits, d_ti, d_o, dep.astype(jnp.int32), removes, adds, ci, cj, ti, tj, hs, ht


def log_total_rate(log_rates: jax.Array) -> jax.Array:
    """log Z over every feasible event (``-inf`` entries contribute nothing); also
    accepts the cached per-column log-sums ``[nx, ny]`` (same Z, fewer exps)."""
    return jax.nn.logsumexp(log_rates.reshape(-1))


def residence_time(key: jax.Array, log_z: jax.Array) -> jax.Array:
    """dt = -ln(u) / Z, computed as exp(log(-ln u) - log Z) so that it never
    overflows through 1/Z; capped at ``MAX_DT`` (finite in float32)."""
    e = jax.random.exponential(key, (), jnp.float32)  # -ln(u), u ~ U(0, 1]
    return jnp.exp(jnp.minimum(jnp.log(e) - log_z, LOG_MAX_DT))


def clock_add(hi: jax.Array, lo: jax.Array, dt: jax.Array) -> Tuple[jax.Array, jax.Array]:
    """``(hi, lo) + dt`` as a compensated two-float sum (Knuth's TwoSum, then a
    renormalisation): ``hi + lo`` carries ~48 significant bits, so the clock of
    a long run equals the float64 sum of its dt's where a float32 accumulator
    loses percents (each add rounds to 2^-24 of the running total)."""
    s = hi + dt
    bp = s - hi
    err = (hi - (s - bp)) + (dt - bp)
    lo = lo + err
    hi2 = s + lo
    lo2 = lo - (hi2 - s)
    return hi2, lo2


#: levels kept below the lowest column's top by the moving window (``KMCTiO2._transition``).
WINDOW_KEEP = 2
