"""Pytrees of the TiO2 KMC env: ``EnvParams`` (every physical number and
reward weight, traced so sweeps can vmap them) and ``EnvState`` (one lattice).

Lattice convention (used everywhere in this package):

* the simulated box is ``nx x ny x nz`` film sites above a flat, fixed,
  infinite substrate layer (the issue's ``z = 0``); film site ``k`` of a
  column (0-based) sits at level ``z = k + 1``;
* ``heights[i, j]`` in ``0..nz`` counts the film atoms of column ``(i, j)``;
  the substrate is never counted (so a bare substrate has height 0, roughness
  0 and coverage 0);
* ``species[i, j, k]`` is ``EMPTY``/``TI``/``O`` (``constants``) for film site
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


@struct.dataclass
class EnvState:
    heights: jax.Array  # int32[nx, ny] film atoms per column (substrate not counted)
    species: jax.Array  # int8[nx, ny, nz] EMPTY / TI / O per film site
    log_rates: jax.Array  # float32[nx, ny, NUM_EVENTS] cached log Gamma (-inf = infeasible)
    col_log_rates: jax.Array  # float32[nx, ny] cached logsumexp of each column's log_rates
    n_ti: jax.Array  # int32 Ti atoms in the film
    n_o: jax.Array  # int32 O atoms in the film
    n_deposited: jax.Array  # int32 deposition events so far (desorbed atoms stay counted)
    time: jax.Array  # float32 simulated time in seconds
    step: jax.Array  # int32 events so far in this episode


def empty_state(nx: int, ny: int, nz: int, log_rates: jax.Array) -> EnvState:
    return EnvState(
        heights=jnp.zeros((nx, ny), jnp.int32),
        species=jnp.zeros((nx, ny, nz), jnp.int8),
        log_rates=log_rates,
        col_log_rates=jax.nn.logsumexp(log_rates, axis=-1),
        n_ti=jnp.zeros((), jnp.int32),
        n_o=jnp.zeros((), jnp.int32),
        n_deposited=jnp.zeros((), jnp.int32),
        time=jnp.zeros((), jnp.float32),
        step=jnp.zeros((), jnp.int32),
    )
