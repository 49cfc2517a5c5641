"""Per-column observation ``float32[nx, ny, NUM_FEATURES]`` (size-agnostic: every
feature is local or a global scalar broadcast to every column, normalised by
constants that do not depend on the lattice size).

Channels:

* 0-3   height difference to each lateral neighbour (+x, -x, +y, -y), ``(h_nb - h) / 4`` clipped to [-1, 1]
* 4-6   top species one-hot (substrate, Ti, O)
* 7-8   lateral neighbours of the top atom at its level: n_Ti / 4, n_O / 4
* 9     height relative to the mean, ``(h - mean h) / 4`` clipped to [-2, 2]
* 10    fill fraction ``h / nz``
* 11-17 the column's 7 event log-rates as ``log10(Gamma) / 10`` clipped to [-3, 2]; ``-3.5`` when infeasible
* 18    coverage (global)
* 19    time scale (global): ``log10(Z / (nx ny)) / 10`` clipped to [-3, 3] (per-column total rate)
* 20    O/Ti (global): ``(o_ti_ratio - target_o_ti) / 2`` clipped to [-1, 1]
* 21    episode progress (global): ``step / max_steps``
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

from jitrl.envs.kmc import constants as C
from jitrl.envs.kmc import physics, rewards
from jitrl.envs.kmc.state import EnvParams, EnvState

NUM_FEATURES = 22
LN10 = 2.302585092994046
INFEASIBLE_FEATURE = -3.5


def normalised_log_rates(log_rates: jax.Array) -> jax.Array:
    x = jnp.clip(log_rates / (10.0 * LN10), -3.0, 2.0)
    return jnp.where(jnp.isfinite(log_rates), x, INFEASIBLE_FEATURE)


def observe(state: EnvState, params: EnvParams) -> jax.Array:
    h = state.heights
    nx, ny = h.shape
    nz = state.nz
    nb_h = [physics.neighbour(h, k) for k in range(4)]
    log_rates, top, n_ti, n_o = physics.full_log_rates(state.abs_heights, state.obits, params, nz, state.offset)
    hf = h.astype(jnp.float32)
    diffs = [jnp.clip((n.astype(jnp.float32) - hf) / 4.0, -1.0, 1.0) for n in nb_h]
    onehot = [(top == s).astype(jnp.float32) for s in (C.EMPTY, C.TI, C.O)]
    rel = jnp.clip((hf - jnp.mean(hf)) / 4.0, -2.0, 2.0)
    fill = hf / nz
    rates = normalised_log_rates(log_rates)
    log_z = state.log_z
    cov = (state.sum_h + nx * ny * state.offset).astype(jnp.float32) / (nx * ny * nz)
    tscale = jnp.clip((log_z - jnp.log(float(nx * ny))) / (10.0 * LN10), -3.0, 3.0)
    ratio = jnp.clip((rewards.o_ti_ratio(state.n_ti, state.n_o) - params.target_o_ti) / 2.0, -1.0, 1.0)
    progress = state.step.astype(jnp.float32) / jnp.asarray(params.max_steps, jnp.float32)
    glob = [jnp.full((nx, ny), g, jnp.float32) for g in (cov, tscale, ratio, progress)]
    local = jnp.stack(diffs + onehot + [n_ti.astype(jnp.float32) / 4.0, n_o.astype(jnp.float32) / 4.0, rel, fill], axis=-1)
    obs = jnp.concatenate([local, rates, jnp.stack(glob, axis=-1)], axis=-1)
    return obs.astype(jnp.float32)
