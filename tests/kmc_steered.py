"""Test helper: episodes of kmc-tio2 steered by a proposal, with their log
trajectory weights (the estimators' input), outside the PPO rollout."""
import time

import jax
import jax.numpy as jnp

from jitrl.ppo import importance


def steered_episodes(env, p, policy_fn, n_steps, n, key, k=None, observable="roughness", timed=False):
    """``n`` episodes of ``n_steps`` events from bare substrates, each event drawn
    from the fused proposal ``softmax(policy_fn(state) + log Gamma)`` (``k = None``:
    the full proposal; else SIR with ``k`` candidates). Returns (log W [n],
    ``info[observable]`` after the last event [n]), and with ``timed`` also the
    wall seconds of a second, compiled run (for reporting, never asserted)."""

    def one(key):
        _, s = env.reset(key, p)

        def body(c, kk):
            s, lw = c
            ka, ks = jax.random.split(kk)
            lg = env.log_rates(s, p)
            fused = importance.fused_logits(policy_fn(s, lg), lg)
            if k is None:
                a = importance.exact_sample(ka, fused)
                w = importance.step_log_weight(lg, fused, a)
            else:
                a, w = importance.sir_step(ka, lg, fused, k)
            _, s, _, _, _, info = env.step_env(ks, s, a, p)
            return (s, lw + w), info[observable]

        (_, lw), x = jax.lax.scan(body, (s, jnp.float32(0.0)), jax.random.split(key, n_steps))
        return lw, x[-1]

    run = jax.jit(jax.vmap(one))
    keys = jax.random.split(key, n)
    out = jax.block_until_ready(run(keys))
    if not timed:
        return out
    t0 = time.perf_counter()
    out = jax.block_until_ready(run(keys))
    return out + (time.perf_counter() - t0,)
