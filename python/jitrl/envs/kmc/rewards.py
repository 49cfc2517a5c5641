"""Morphology measures and the per-step reward (weight names of the users' SB3 KMC trainer).

Exact definitions (``h`` = film heights ``int[nx, ny]``, substrate not counted):

* ``roughness = sqrt(mean((h - mean(h))**2))``: the *population* standard
  deviation of the column heights (divide by N = nx*ny, not N - 1). Counting the
  flat substrate or not does not change it (a constant shift).
* ``coverage = mean(h + offset) / nz``: film atoms per column (absolute, the
  moving window's ``offset`` included) over the box height, 0 for a bare
  substrate; it can exceed 1 once the window has moved.
* ``o_ti_ratio = n_O / max(n_Ti, 1)``: O atoms over Ti atoms in the film
  (``n_O`` itself while there is no Ti).

Reward of a step (computed on the state after the event):
``-roughness_weight * roughness + coverage_weight * coverage
 - ratio_weight * |o_ti_ratio - target_o_ti|`` plus, added by the trainer's
rate-fused acting distribution because it depends on the policy (the env
declares the weights in ``KMCTiO2.ess_penalty``), ``-ess_weight * max(0,
ess_target - ess_ratio)`` with ``ess_ratio`` the step's expected ESS ratio of
the fused proposal (``jitrl.ppo.importance.expected_ess_ratio``).

A window-limit end under ``morphology`` (the film's spread reached the box, at
event ``step < max_steps``) is a termination whose reward also charges each of
the ``max_steps - step`` events left ``window_charge``: the final coverage and
ratio terms, the roughest film the box can hold (``nz / 2``: the largest
population standard deviation of heights in ``0..nz``) and the largest ESS
penalty (``ess_weight * ess_target``). Why: PARAMETERS.md, "Episode ends".
"""
from __future__ import annotations

from typing import Dict, Tuple

import jax
import jax.numpy as jnp

from jitrl.envs.kmc.state import EnvParams, EnvState


def o_ti_ratio(n_ti: jax.Array, n_o: jax.Array) -> jax.Array:
    return n_o.astype(jnp.float32) / jnp.maximum(n_ti, 1).astype(jnp.float32)


def roughness_from_sums(sum_h: jax.Array, sum_h2: jax.Array, n: int) -> jax.Array:
    """``roughness`` from the exact integer running sums S1 = sum h, S2 = sum h^2
    over ``n`` columns, O(1). With m = S1 // n and r = S1 - m n (0 <= r < n),
    Q = sum (h - m)^2 = S2 - 2 m S1 + n m^2 is an exact small integer and the
    population variance is Q / n - (r / n)^2: no cancellation between two large
    float32 numbers (needs 2 n nz^2 < 2^31, checked by the env)."""
    m = sum_h // n
    r = (sum_h - m * n).astype(jnp.float32)
    q = (sum_h2 - 2 * m * sum_h + n * m * m).astype(jnp.float32)
    var = q / n - jnp.square(r / n)
    return jnp.sqrt(jnp.maximum(var, 0.0))


def morphology(state: EnvState) -> Dict[str, jax.Array]:
    """O(1): from the state's exact running sums of h and h^2 (equal to the
    definitions above up to float32 rounding; tests/test_kmc_incremental.py)."""
    nx, ny = state.abs_heights.shape[-2:]
    n = nx * ny
    return {
        "roughness": roughness_from_sums(state.sum_h, state.sum_h2, n),
        "coverage": (state.sum_h + n * state.offset).astype(jnp.float32) / (n * state.nz),
        "o_ti_ratio": o_ti_ratio(state.n_ti, state.n_o),
    }


def step_reward(state: EnvState, params: EnvParams,
                observable: str = "roughness") -> Tuple[jax.Array, Dict[str, jax.Array]]:
    """Env part of the ``morphology`` reward and its terms (each already multiplied
    by its weight), and ``rare_event = 1[observable < threshold]`` on this state."""
    m = morphology(state)
    m["rare_event"] = (m[observable] < params.threshold).astype(jnp.float32)
    terms = {
        "reward_roughness": -params.roughness_weight * m["roughness"],
        "reward_coverage": params.coverage_weight * m["coverage"],
        "reward_ratio": -params.ratio_weight * jnp.abs(m["o_ti_ratio"] - params.target_o_ti),
    }
    reward = terms["reward_roughness"] + terms["reward_coverage"] + terms["reward_ratio"]
    return reward.astype(jnp.float32), {**m, **{k: v.astype(jnp.float32) for k, v in terms.items()}}


def window_charge(info: Dict[str, jax.Array], params: EnvParams, nz: int) -> jax.Array:
    """Per event not simulated after a window-limit end (``morphology``): the
    final state's coverage and ratio terms (``info`` of ``step_reward``) plus the
    worst roughness term the box allows and the worst ESS penalty. No continuation
    scores less on those two terms on any event: roughness <= nz / 2 always, the
    trainer's penalty ``-ess_weight * max(0, ess_target - ess) >= -ess_weight * ess_target``."""
    worst_rough = jnp.minimum(0.0, -params.roughness_weight * nz / 2.0)
    worst_ess = jnp.minimum(0.0, -params.ess_weight * jnp.maximum(params.ess_target, 0.0))
    return (info["reward_coverage"] + info["reward_ratio"] + worst_rough + worst_ess).astype(jnp.float32)
