"""Pytrees of the TiO2 KMC env: ``EnvParams`` (every physical number and
reward weight, traced so sweeps can vmap them) and ``EnvState`` (one lattice).

Lattice convention (used everywhere in this package):

* the simulated box is ``nx x ny x nz`` film sites above a flat, fixed,
  infinite substrate layer (the issue's ``z = 0``); film site ``k`` of a
  column (0-based) sits at level ``z = k + 1``;
* ``heights[i, j]`` in ``0..nz`` counts the film atoms of column ``(i, j)``
  above the window's floor, ``offset`` levels above the substrate (moving
  window: once every column is higher than ``WINDOW_KEEP`` levels, the window
  moves up one level: ``offset`` grows, nothing else is rewritten); the
  substrate is never counted (so a bare substrate has height 0, roughness 0
  and coverage 0). The state stores ``abs_heights = heights + offset``;
* ``species[i, j, k]`` is ``EMPTY``/``TI``/``O`` (``constants``) for window site
  ``k``; sites ``k >= heights[i, j]`` are ``EMPTY`` (solid-on-solid).
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct

from jitrl.envs.kmc import constants as C


@struct.dataclass
class EnvParams:
    """Tunable numbers (defaults and sources: ``constants`` / PARAMETERS.md)."""

    temperature: float = C.TEMPERATURE
    nu: float = C.NU
    F_Ti: float = C.F_TI
    F_O: float = C.F_O
    E_d_Ti: float = C.E_D_TI
    E_d_O: float = C.E_D_O
    E_des_Ti: float = C.E_DES_TI
    E_des_O: float = C.E_DES_O
    E_ES: float = C.E_ES
    E_TiO: float = C.E_TIO
    E_TiTi: float = C.E_TITI
    E_OO: float = C.E_OO
    #: 1.0 enables hops / desorption; 0.0 makes those events infeasible (masked),
    #: e.g. for the random-deposition limit.
    hops_enabled: float = 1.0
    desorption_enabled: float = 1.0
    roughness_weight: float = C.ROUGHNESS_WEIGHT
    coverage_weight: float = C.COVERAGE_WEIGHT
    ratio_weight: float = C.RATIO_WEIGHT
    ess_weight: float = C.ESS_WEIGHT
    target_o_ti: float = C.TARGET_O_TI
    ess_target: float = C.ESS_TARGET
    max_steps: int = C.MAX_STEPS
    #: ``objective: rare-event``: the episode ends at this coverage (deposited atoms
    #: per column, ML), the observable is read there.
    target_coverage: float = 1.0
    #: ``objective: rare-event``: threshold of the event ``observable < threshold``.
    threshold: float = 0.5
    #: ``objective: rare-event``: weight of the terminal reward ``lambda * 1[O < threshold]``.
    rare_lambda: float = 5.0


def num_bit_words(nz: int) -> int:
    """int32 words of O bits per column (one bit per film site)."""
    return (nz + 31) // 32


@struct.dataclass
class EnvState:
    """One lattice, packed, in the absolute frame: ``abs_heights[i, j]`` counts the
    film atoms of column (i, j) above the substrate, and the O bit of the site at
    absolute level ``L`` (0-based) is bit ``L mod R`` of the column's ``R = 32 W``
    bit ring ``obits[:, i, j]`` (1 = O, 0 = Ti). The moving window (``offset``
    levels above the substrate, ``nz`` high) only moves ``offset``: no column is
    rewritten, so moving it costs O(1). Ring bits outside a column's occupied
    window levels ``[offset, abs_heights)`` are stale and never read (an event
    writes the bit of every site it fills). ``heights`` (relative to the window)
    and ``species`` are views computed from them (O(nx ny), outside the event path)."""

    abs_heights: jax.Array  # int32[nx, ny] film atoms per column above the substrate (absolute)
    obits: jax.Array  # int32[W, nx, ny] O-bit ring per column, W = ceil(nz / 32) words
    col_log_rates: jax.Array  # float32[nx, ny] cached logsumexp of each column's 7 event log-rates
    log_z: jax.Array  # float32 cached log Z = logsumexp(row_log_rates) of this state
    sum_h: jax.Array  # int32 running sum of the window heights (exact)
    sum_h2: jax.Array  # int32 running sum of the squared window heights (exact)
    n_ti: jax.Array  # int32 Ti atoms in the film
    n_o: jax.Array  # int32 O atoms in the film
    n_deposited: jax.Array  # int32 deposition events so far (desorbed atoms stay counted)
    time: jax.Array  # float32 simulated time in seconds (high part of a two-float sum)
    step: jax.Array  # int32 events so far in this episode
    row_log_rates: jax.Array  # float32[nx] cached logsumexp of each row of col_log_rates (log Z = logsumexp of these)
    height_hist: jax.Array  # int32[nz + 1] columns at each window height 0..nz (min / max height in O(nz))
    time_lo: jax.Array = 0.0  # float32 low part: time + time_lo is the clock to ~1e-14 (compensated)
    offset: jax.Array = 0  # int32 the window's floor: levels below it (abs_heights = heights + offset)
    nz: int = struct.field(pytree_node=False, default=0)  # static: film sites per column

    @property
    def heights(self) -> jax.Array:
        """int32[..., nx, ny] film atoms per column above the window's floor (``0..nz``)."""
        return self.abs_heights - jnp.asarray(self.offset, jnp.int32)[..., None, None]

    @property
    def species(self) -> jax.Array:
        """int8[..., nx, ny, nz] ``EMPTY`` / ``TI`` / ``O`` per window site (unpacked view)."""
        h = self.heights
        ring = 32 * self.obits.shape[-3]
        off = jnp.asarray(self.offset, jnp.int32)[..., None, None]
        levels = []
        for k in range(self.nz):
            pos = (k + off) % ring
            word = sum(jnp.where(pos // 32 == w, self.obits[..., w, :, :], 0) for w in range(self.obits.shape[-3]))
            bit = jnp.right_shift(word, pos % 32) & 1
            levels.append(jnp.where(k < h, 1 + bit, 0))
        return jnp.stack(levels, axis=-1).astype(jnp.int8)


def pack_o_bits(heights: jax.Array, species: jax.Array) -> jax.Array:
    """``heights int[nx, ny]``, ``species int[nx, ny, nz]`` (solid-on-solid) -> ``obits int32[W, nx, ny]``."""
    nz = species.shape[-1]
    h = jnp.asarray(heights, jnp.int32)
    is_o = (jnp.asarray(species) == C.O) & (jnp.arange(nz) < h[..., None])
    words = []
    for w in range(num_bit_words(nz)):
        ks = range(32 * w, min(32 * w + 32, nz))
        words.append(sum(jnp.left_shift(is_o[..., k].astype(jnp.int32), k - 32 * w) for k in ks))
    return jnp.stack(words, axis=0).astype(jnp.int32)
