"""Production KMC runs (the large-lattice runs a materials scientist does after training): a trained (or
neutral) proposal runs on a large lattice, vmapped over replicas, and the
weighted (physical) and unweighted (steered) observables are written with
their standard errors, the trajectory ESS and a height-map picture.

Each replica is one long trajectory from a bare substrate (no resets). A
replica that reaches the moving window's limit (``info["window_limit"]``) is
frozen there and reported (``stopped``); its observables are those of its last
state. With ``neutral`` the events are plain BKL (``sample_physical``, every
weight 1); otherwise each is drawn by the acting distribution the policy was
trained with (``jitrl.ppo.acting.make_acting``): the fused proposal ``pi x Gamma``
(``importance.exact_sample``), or with ``n_proposals = k`` its SIR form (``k``
candidates, one selected by ``q / P``, the step weight the mean of the ratios),
and its ``log w`` summed into the replica's ``log W``.
"""
from __future__ import annotations

import json
import os
import time
from typing import Any, Dict

import jax
import jax.numpy as jnp
import numpy as np

from jitrl.envs.kmc import rewards
from jitrl.ppo import estimation
from jitrl.ppo.acting import make_acting

OBSERVABLES = ("roughness", "coverage", "o_ti_ratio", "sim_time", "n_deposited")


def _chunk_fn(env, p, network, params, neutral: bool, n_events: int):
    acting = None if neutral else make_acting(env, p)

    def one_event(carry, key):
        s, lw, stopped, done_events = carry
        ka, ks = jax.random.split(key)
        if neutral:
            a = env.sample_physical(ka, s, p)
            w = jnp.float32(0.0)
        else:
            law = env.action_law(s, p)
            logits = acting.logits(network.apply(params, env.get_obs(s, p)[None])[0][0], law)
            drawn = acting.sample(ka, logits)  # the event, or SIR's [candidates, selected slot]
            a = acting.env_action(drawn)
            w = acting.step_log_weight(law, logits, drawn)
        keep = stopped  # a stopped replica stays where it stopped:
        # its event is made invalid (-1), which leaves the lattice (heights, O bits)
        # exactly as it is (the cached sums of the few columns around column 0 are
        # recomputed from that same lattice), so only the small leaves (clock,
        # counters, row sums, ...) need a select; one over the lattice would be
        # O(nx ny) per event
        a = jnp.where(keep, -1, a)
        _, s2, _, _, _, info = env.step_env(ks, s, a, p)
        s2 = jax.tree_util.tree_map(lambda old, new: new if old.ndim >= 2 else jnp.where(keep, old, new), s, s2)
        lw = jnp.where(keep, lw, lw + w)
        done_events = done_events + jnp.logical_not(keep).astype(jnp.int32)
        stopped = stopped | (info["window_limit"] > 0)
        return (s2, lw, stopped, done_events), None

    def run(carry, key):
        return jax.lax.scan(one_event, carry, jax.random.split(key, n_events))[0]

    return jax.jit(jax.vmap(run))


def simulate(env, env_params, network, params, events: int, replicas: int, seed: int = 0,
             neutral: bool = False, chunk: int = 1000, log=print) -> Dict[str, Any]:
    """Run ``replicas`` trajectories of ``events`` events; returns the results dict."""
    key = jax.random.PRNGKey(seed)
    key, k0 = jax.random.split(key)
    _, s = jax.vmap(lambda k: env.reset(k, env_params))(jax.random.split(k0, replicas))
    carry = (s, jnp.zeros((replicas,), jnp.float32), jnp.zeros((replicas,), bool), jnp.zeros((replicas,), jnp.int32))
    fns = {}
    done, t0 = 0, time.time()
    t_first = None  # after the first chunk (its compile): events/s are timed from there
    while done < events:
        n = min(chunk, events - done)
        if n not in fns:
            fns[n] = _chunk_fn(env, env_params, network, params, neutral, n)
        key, k = jax.random.split(key)
        carry = fns[n](carry, jax.random.split(k, replicas))
        jax.block_until_ready(carry[1])
        done += n
        if t_first is None:
            t_first, first = time.time(), done
        log(f"  {done}/{events} events x {replicas} replicas, {time.time() - t0:.1f} s")
    wall = time.time() - t0
    timed = done - first
    rate = timed * replicas / max(time.time() - t_first, 1e-9) if timed else float("nan")
    s, lw, stopped, n_events = carry
    m = jax.vmap(rewards.morphology)(s)
    values = {
        "roughness": m["roughness"], "coverage": m["coverage"], "o_ti_ratio": m["o_ti_ratio"],
        "sim_time": s.time + s.time_lo, "n_deposited": s.n_deposited.astype(jnp.float32),
    }
    res: Dict[str, Any] = {
        "lattice": list(env.lattice_size), "events": int(events), "replicas": int(replicas),
        "proposal": "neutral (plain BKL)" if neutral else "trained policy x rates (steered, reweighted)" + (
            f", SIR with k = {env.n_proposals} proposals" if getattr(env, "n_proposals", None) else ""),
        "wall_s": wall, "events_per_s": float(rate),  # after the first chunk (compile); nan if only one
        "ess_trajectory": float(estimation.kish_ess(lw)), "log_w_var": float(estimation.log_w_var(lw)),
        "stopped_at_window_limit": int(np.sum(np.asarray(stopped))),
        "events_done_min": int(np.min(np.asarray(n_events))), "observables": {},
    }
    for name in OBSERVABLES:
        x = values[name]
        uw, uw_se = estimation.plain_mean(x)
        wm, wm_se = estimation.weighted_mean(lw, x)
        res["observables"][name] = {"unweighted": float(uw), "unweighted_se": float(uw_se),
                                    "weighted": float(wm), "weighted_se": float(wm_se)}
    res["_state0"] = jax.tree_util.tree_map(lambda x: x[0], s)
    return res


def write(res: Dict[str, Any], env, out_dir: str) -> Dict[str, str]:
    """``results.json`` and ``heightmap.png`` (replica 0's top view) under ``out_dir``."""
    os.makedirs(out_dir, exist_ok=True)
    state0 = res.pop("_state0")
    paths = {"results": os.path.join(out_dir, "results.json"), "heightmap": os.path.join(out_dir, "heightmap.png")}
    with open(paths["results"], "w") as fh:
        json.dump(res, fh, indent=1)
        fh.write("\n")
    import imageio.v2 as imageio  # optional dependency (the viz/dev extras), needed only to write the picture

    nx = env.lattice_size[0]
    imageio.imwrite(paths["heightmap"], env.render_rgb(state0, scale=max(1, 512 // nx)))
    return paths
