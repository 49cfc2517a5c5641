"""Collecting experience: ``num_steps`` vmapped env steps in one ``lax.scan``.

Returns the trajectory (what the update needs) and per-update metric
summaries reduced inside jit (fixed size whatever the run length).
"""
from __future__ import annotations

from typing import Any, Dict, Tuple

import jax
import jax.numpy as jnp

from jitrl.ppo import acting, distributions, importance
from jitrl.ppo.state import EpisodeTracker, RunnerState, Transition


def _masked_mean(x: jax.Array, m: jax.Array) -> Tuple[jax.Array, jax.Array]:
    m = m.astype(jnp.float32)
    n = jnp.sum(m)
    return jnp.sum(jnp.where(m > 0, x, 0.0)) / jnp.maximum(n, 1.0), n


def collect(
    env: Any, env_params: Any, network: Any, num_steps: int, rs: RunnerState
) -> Tuple[RunnerState, Transition, jax.Array, Dict[str, jax.Array]]:
    """Run ``num_steps`` steps of every env. Returns (state, trajectory [T, N],
    last value [N], metrics)."""
    gamma = rs.hparams.gamma
    metric_keys = tuple(env.metric_keys)
    episode_keys = tuple(env.episode_metric_keys)

    def step(carry, _):
        env_state, obs, ep, key = carry
        key, k_act, k_env = jax.random.split(key, 3)
        bias = acting.action_bias(env, env_state, env_params)
        logits, value = acting.policy(network, env, rs.params, obs, bias)
        action = distributions.sample(k_act, logits)
        log_prob = distributions.log_prob(logits, action)
        n = obs.shape[0]
        obs2, env_state2, reward, term, trunc, info = jax.vmap(env.step, in_axes=(0, 0, 0, None))(
            jax.random.split(k_env, n), env_state, action, env_params
        )
        out: Dict[str, jax.Array] = {k: info[k].astype(jnp.float32) for k in metric_keys + episode_keys}
        log_w = jnp.zeros((n,), jnp.float32)
        if env.has_rates:
            log_w = importance.step_log_weight(bias, logits, action)
            ess_expected = importance.expected_ess_ratio(bias, logits)
            rate_r, rate_info = jax.vmap(env.rate_reward, in_axes=(0, None))(ess_expected, env_params)
            reward = reward + rate_r
            out.update({k: v.astype(jnp.float32) for k, v in rate_info.items()})
            out["ess_expected"] = ess_expected
            out["log_w"] = log_w
        # Truncation is not termination: bootstrap from the true next state.
        v_final = jax.lax.cond(
            jnp.any(trunc),
            lambda: network.apply(rs.params, info["final_obs"])[1].astype(jnp.float32),
            lambda: jnp.zeros((n,), jnp.float32),
        )
        done = jnp.logical_or(term, trunc)
        ep_ret = ep.ret + reward
        ep_len = ep.length + 1
        ep_logw = ep.log_weight + log_w
        out.update(done=done, ep_return=ep_ret, ep_length=ep_len, ep_log_weight=ep_logw)
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
            bias=bias,
        )
        return (env_state2, obs2, ep2, key), (trans, out)

    (env_state, obs, ep, key), (traj, out) = jax.lax.scan(
        step, (rs.env_state, rs.obs, rs.episodes, rs.key), None, length=num_steps
    )
    _, last_value = network.apply(rs.params, obs)
    rs = rs.replace(env_state=env_state, obs=obs, episodes=ep, key=key)

    done = out["done"]
    metrics: Dict[str, jax.Array] = {}
    metrics["mean_episode_return"], n_eps = _masked_mean(out["ep_return"], done)
    metrics["mean_episode_length"], _ = _masked_mean(out["ep_length"].astype(jnp.float32), done)
    metrics["episodes"] = n_eps
    for k in metric_keys:
        metrics[k] = jnp.mean(out[k])
    for k in episode_keys:
        metrics[f"episode_{k}"], _ = _masked_mean(out[k], done)
    if env.has_rates:
        metrics["ess"] = importance.ess_ratio(out["log_w"])
        metrics["ess_episode"] = importance.ess_ratio(out["ep_log_weight"], done)
        metrics["ess_expected"] = jnp.mean(out["ess_expected"])
        for k in out:
            if k not in metrics and k not in ("done", "ep_return", "ep_length", "ep_log_weight", "log_w", "ess_expected"):
                metrics[k] = jnp.mean(out[k])
    return rs, traj, last_value.astype(jnp.float32), metrics
