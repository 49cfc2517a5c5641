"""Importance weights for rate-steered event selection (SwarmThinkers).

An env with physical log-rates ``log_gamma`` (``-inf`` where infeasible) is
stepped with events drawn from the fused proposal
``P(a) = softmax(policy_logits + log_gamma)``. The physical (BKL) law is
``q(a) = Gamma_a / Z``. A step's importance weight is ``w = q(a) / P(a)``;
a trajectory's log-weight is the sum of its steps' log-weights. With a
neutral policy (all logits equal) ``P == q`` and every ``w == 1``.

With ``k`` proposals (``sir_*``: sampling-importance-resampling) a step draws
``k`` candidates i.i.d. from ``P``, selects one with probability proportional
to ``r_i = q(a_i) / P(a_i)`` and carries the averaged weight
``w = mean_i r_i``: unbiased for every ``k``. Its action, for a policy
gradient, is the extended one (candidates and selected slot), whose
log-probability is ``sir_log_prob``.
"""
from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from jitrl.envs.kmc.sampling import log_race
from jitrl.ppo.distributions import log_softmax


def fused_logits(policy_logits: jax.Array, log_gamma: jax.Array) -> jax.Array:
    """Logits of P ∝ pi * Gamma; infeasible events (log_gamma = -inf) stay -inf."""
    return jnp.where(jnp.isfinite(log_gamma), policy_logits.astype(jnp.float32) + log_gamma, -jnp.inf)


def physical_log_probs(log_gamma: jax.Array) -> jax.Array:
    """log q(a) = log Gamma_a - log Z."""
    return log_softmax(log_gamma)


def step_log_weight(log_gamma: jax.Array, fused: jax.Array, action: jax.Array) -> jax.Array:
    """log w = log q(a) - log P(a) for the sampled action."""
    lq = physical_log_probs(log_gamma)
    lp = log_softmax(fused)
    a = action[..., None].astype(jnp.int32)
    return (jnp.take_along_axis(lq, a, -1) - jnp.take_along_axis(lp, a, -1))[..., 0]


def expected_ess_ratio(log_gamma: jax.Array, fused: jax.Array) -> jax.Array:
    """ESS/n of weights drawn from P: (E_P w)^2 / E_P w^2 = 1 / sum_a q(a)^2 / P(a).

    Equals 1 exactly when P == q and falls toward 0 as P departs from q.
    """
    lq = physical_log_probs(log_gamma)
    lp = log_softmax(fused)
    terms = jnp.where(jnp.isfinite(lq), 2.0 * lq - jnp.where(jnp.isfinite(lq), lp, 0.0), -jnp.inf)
    return jnp.exp(-jax.nn.logsumexp(terms, axis=-1))


def ess_ratio(log_w: jax.Array, valid: jax.Array | None = None) -> jax.Array:
    """(sum w)^2 / (n sum w^2) over the entries where ``valid`` (all if None).

    Computed from log-weights with a max shift, so huge or tiny weights do not
    overflow. Returns 1.0 when no entry is valid.
    """
    log_w = log_w.reshape(-1).astype(jnp.float32)
    valid = jnp.ones_like(log_w, bool) if valid is None else valid.reshape(-1)
    n = jnp.sum(valid)
    m = jnp.max(jnp.where(valid, log_w, -jnp.inf))
    m = jnp.where(jnp.isfinite(m), m, 0.0)
    w = jnp.where(valid, jnp.exp(log_w - m), 0.0)
    s1, s2 = jnp.sum(w), jnp.sum(w * w)
    return jnp.where(n > 0, s1 * s1 / (jnp.maximum(n, 1) * jnp.where(s2 > 0, s2, 1.0)), 1.0)


def exact_sample(key: jax.Array, logits: jax.Array) -> jax.Array:
    """One index per row of ``logits [..., A]`` with probability ``softmax(logits)``,
    through a two-level hierarchy in log space: the A entries are split into
    ``R = ceil(sqrt A)`` blocks, a block is drawn by a race over the blocks'
    log-sums, then an entry of it by a race over its logits (``log_race``).
    O(sqrt A) random draws, no float32 cumulative sum: an event whose share is
    1e-10 is drawn at that rate (the single inverse CDF over all A entries gives
    it a zero-width step below ~1e-8 of the total)."""
    logits = jax.lax.stop_gradient(logits.astype(jnp.float32))
    a = logits.shape[-1]
    c = int(math.ceil(math.sqrt(a)))
    r = -(-a // c)
    pad = r * c - a
    if pad:
        logits = jnp.concatenate([logits, jnp.full(logits.shape[:-1] + (pad,), -jnp.inf, jnp.float32)], -1)
    blocks = logits.reshape(logits.shape[:-1] + (r, c))
    k_blk, k_ent = jax.random.split(key)
    b = log_race(k_blk, jax.nn.logsumexp(blocks, axis=-1))
    row = jnp.take_along_axis(blocks, b[..., None, None], axis=-2)[..., 0, :]
    e = log_race(k_ent, row)
    return (b * c + e).astype(jnp.int32)


def sir_candidates(key: jax.Array, fused: jax.Array, k: int) -> jax.Array:
    """``k`` candidates drawn i.i.d. from ``P = softmax(fused)``: int32 ``[..., k]``."""
    cand = jax.vmap(lambda kk: exact_sample(kk, fused))(jax.random.split(key, k))  # [k, ...]
    return jnp.moveaxis(cand, 0, -1)


def sir_log_ratios(lq: jax.Array, fused: jax.Array, cand: jax.Array) -> jax.Array:
    """``log r_i = log q(a_i) - log P(a_i)`` of the candidates ``cand [..., k]``
    (``lq``: the physical log-probabilities; differentiable in ``fused``)."""
    take = lambda x: jnp.take_along_axis(x, cand.astype(jnp.int32), -1)
    return take(lq) - take(log_softmax(fused))


def sir_draw(key: jax.Array, lq: jax.Array, fused: jax.Array, k: int):
    """One SIR decision: (candidates ``[..., k]``, selected slot ``[...]``, ``log r [..., k]``).
    The slot is drawn with probability ``r_i / sum_j r_j`` by a log-space race."""
    k_cand, k_sel = jax.random.split(key)
    cand = sir_candidates(k_cand, fused, k)
    log_r = sir_log_ratios(lq, fused, cand)
    return cand, log_race(k_sel, log_r).astype(jnp.int32), log_r


def sir_log_weight(log_r: jax.Array) -> jax.Array:
    """The averaged weight's log: ``log mean_i r_i``."""
    return jax.nn.logsumexp(log_r, axis=-1) - jnp.log(jnp.float32(log_r.shape[-1]))


def sir_log_prob(lq: jax.Array, fused: jax.Array, cand: jax.Array, slot: jax.Array) -> jax.Array:
    """Log-probability of the extended action (candidates ``a_1..a_k``, selected
    ``slot``) under the proposal: ``sum_i log P(a_i) + log(r_slot / sum_j r_j)``.
    Both terms depend on the policy (``r_j = q(a_j) / P(a_j)``), so this is the
    log-probability a policy gradient must differentiate. ``k = 1``: ``log P(a_1)``."""
    lp_c = jnp.take_along_axis(log_softmax(fused), cand.astype(jnp.int32), -1)
    log_r = sir_log_ratios(lq, fused, cand)
    log_sel = jnp.take_along_axis(log_r, slot[..., None].astype(jnp.int32), -1)[..., 0]
    return jnp.sum(lp_c, axis=-1) + log_sel - jax.nn.logsumexp(log_r, axis=-1)


def sir_expected_ess_ratio(log_gamma: jax.Array, fused: jax.Array, k: int) -> jax.Array:
    """ESS/n of the averaged weights ``w = mean_i r_i``: ``E w = 1`` and
    ``E w^2 = 1 + (E_P r^2 - 1) / k`` with ``E_P r^2 = sum_a q(a)^2 / P(a)``, so
    ``1 / (1 + (1 / ess_1 - 1) / k)`` with ``ess_1`` the single-draw ratio."""
    inv = 1.0 / expected_ess_ratio(log_gamma, fused)
    return 1.0 / (1.0 + (inv - 1.0) / k)


def sir_step(key: jax.Array, log_gamma: jax.Array, fused: jax.Array, k: int):
    """Sampling-importance-resampling with the averaged weight (one decision).

    Draws ``k`` candidates ``a_1..a_k`` i.i.d. from the fused proposal ``P``,
    selects one with probability proportional to ``r_i = q(a_i) / P(a_i)`` and
    returns ``(action, log mean_i r_i)``. For every ``k`` the pair is a proper
    weighting of ``q``: ``E[w f(a)] = sum_i E[r_i f(a_i)] / k = E_q[f]``, so the
    trajectory products stay unbiased (``k = 1`` is plain importance sampling;
    as ``k`` grows the selected action's law tends to ``q`` and ``w`` to 1).
    The PPO rollout draws the same way (``jitrl.ppo.acting.RateFusedSIR``).
    """
    cand, sel, log_r = sir_draw(key, physical_log_probs(log_gamma), fused, k)
    action = jnp.take_along_axis(cand, sel[..., None], -1)[..., 0]
    return action.astype(jnp.int32), sir_log_weight(log_r)
