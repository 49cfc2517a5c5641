"""Collecting experience: ``num_steps`` vmapped env steps in one ``lax.scan``.

Returns the trajectory (what the update needs) and per-update metric
summaries reduced inside jit (fixed size whatever the run length). The stored
action is the acting distribution's (e.g. SIR's candidates and selected slot),
its log-probability the one the learner recomputes; the env is stepped with
``acting.env_action`` of it.
"""
from __future__ import annotations

from typing import Any, Dict, Tuple

import jax
import jax.numpy as jnp

from jitrl.envs.contract import STEP
from jitrl.ppo.acting import policy
from jitrl.ppo.state import EpisodeTracker, RunnerState, Transition


def _masked_mean(x: jax.Array, m: jax.Array) -> Tuple[jax.Array, jax.Array]:
    m = m.astype(jnp.float32)
    n = jnp.sum(m)
    return jnp.sum(jnp.where(m > 0, x, 0.0)) / jnp.maximum(n, 1.0), n


def collect(
    env: Any, env_params: Any, network: Any, acting: Any, num_steps: int, rs: RunnerState
) -> Tuple[RunnerState, Transition, jax.Array, Dict[str, jax.Array]]:
    """Run ``num_steps`` steps of every env. Returns (state, trajectory [T, N],
    last value [N], metrics)."""
    gamma = rs.hparams.gamma
    names = tuple(dict.fromkeys(m.name for m in env.metrics))

    def step(carry, _):
        env_state, obs, law, ep, key = carry
        key, k_act, k_env = jax.random.split(key, 3)
        logits, value = policy(network, acting, rs.params, obs, law)
        action = acting.sample(k_act, logits)
        log_prob = acting.log_prob(logits, action)
        n = obs.shape[0]
        env_state2, ts = jax.vmap(env.transition, in_axes=(0, 0, 0, None, 0))(
            jax.random.split(k_env, n), env_state, acting.env_action(action), env_params, law
        )
        out: Dict[str, jax.Array] = {k: ts.info[k].astype(jnp.float32) for k in names}
        reward, log_w, extras = acting.on_step(law, logits, action, ts.reward)
        # Truncation is not termination: bootstrap from the true next state.
        trunc = ts.truncated
        v_final = jax.lax.cond(
            jnp.any(trunc),
            lambda: network.apply(rs.params, ts.final_obs)[1].astype(jnp.float32),
            lambda: jnp.zeros((n,), jnp.float32),
        )
        done = jnp.logical_or(ts.terminated, trunc)
        ep_ret = ep.ret + reward
        ep_len = ep.length + 1
        ep_logw = ep.log_weight + log_w
        keep = jnp.logical_not(done)
        ep2 = EpisodeTracker(
            ret=jnp.where(keep, ep_ret, 0.0),
            length=jnp.where(keep, ep_len, 0),
            log_weight=jnp.where(keep, ep_logw, 0.0),
        )
        trans = Transition(
            obs=obs,
            action=action,
            log_prob=log_prob,
            value=value.astype(jnp.float32),
            reward=reward + gamma * v_final * trunc.astype(jnp.float32),
            done=done,
            law=law,
        )
        summary = dict(out=out, extras=extras, done=done, ep_return=ep_ret, ep_length=ep_len,
                       ep_log_weight=ep_logw)
        return (env_state2, ts.obs, ts.law, ep2, key), (trans, summary)

    (env_state, obs, law, ep, key), (traj, out) = jax.lax.scan(
        step, (rs.env_state, rs.obs, rs.law, rs.episodes, rs.key), None, length=num_steps
    )
    _, last_value = network.apply(rs.params, obs)
    rs = rs.replace(env_state=env_state, obs=obs, law=law, episodes=ep, key=key)

    done = out["done"]
    metrics: Dict[str, jax.Array] = {}
    metrics["mean_episode_return"], n_eps = _masked_mean(out["ep_return"], done)
    metrics["mean_episode_length"], _ = _masked_mean(out["ep_length"].astype(jnp.float32), done)
    metrics["episodes"] = n_eps
    for m in env.metrics:
        x = out["out"][m.name]
        metrics[m.logged_name] = jnp.mean(x) if m.reduce == STEP else _masked_mean(x, done)[0]
    metrics.update(acting.summarize(out["extras"], out["ep_log_weight"], done, out["out"]))
    return rs, traj, last_value.astype(jnp.float32), metrics
