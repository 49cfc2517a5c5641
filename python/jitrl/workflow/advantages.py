"""Advantages by action: what the trained critic says each action is worth where
the policy takes it (issue 12: "inspect advantages of the rare actions").

:func:`action_advantages` rolls the trained policy out (sampled, through the
env's acting distribution, ``num_envs`` envs x ``num_steps`` steps with
auto-reset, as training does), takes the critic's values and computes GAE
exactly as the trainer does (:func:`jitrl.ppo.losses.gae`; a truncated step
gets ``gamma * V(final_obs)`` added to its reward). Per action it reports how
often the action was legal and taken, the policy's mean probability of it where
legal, and the mean raw (not normalised) advantage of the steps that took it
with its standard error and the fraction of those advantages above 0.

How to read it: PPO raises the probability of an action by its (normalised)
advantage, so an action whose mean advantage is below the overall mean is
pushed down on average. A rare action with a negative mean advantage is being
unlearned *because the critic and the returns say it loses*; with a positive
one and a falling probability something else (entropy, clipping, too few
samples) is at work.
"""
from __future__ import annotations

from typing import Any, Dict, List

import jax
import jax.numpy as jnp
import numpy as np

from jitrl.envs.contract import ActionLaw
from jitrl.ppo.acting import make_acting
from jitrl.ppo.losses import gae


def legal_mask(env, state, env_params) -> jax.Array:
    """bool[A]: the env's legal actions in ``state`` (every action when its law has no mask)."""
    law = env.action_law(state, env_params)
    if law.mask is None:
        return jnp.ones((env.num_actions(env_params),), bool)
    return law.mask


def action_advantages(env, env_params, network, params, *, num_envs: int = 256, num_steps: int = 256,
                      gamma: float = 0.99, gae_lambda: float = 0.95, seed: int = 0) -> Dict[str, Any]:
    """Per-action advantage statistics of a sampled rollout (see the module docstring).

    Returns ``{"rows": [...], "mean_advantage": float, "steps": int, ...}``; each row has
    ``action``, ``legal`` (fraction of steps where legal), ``taken`` (fraction of
    steps), ``prob_when_legal``, ``n``, ``adv_mean``, ``adv_se``, ``adv_pos``."""
    acting = make_acting(env, env_params)
    masks = jax.vmap(lambda s: legal_mask(env, s, env_params))

    def head(obs, mask):
        logits, value = network.apply(params, obs)
        return jax.vmap(lambda lo, m: acting.logits(lo, ActionLaw(mask=m)))(logits, mask), value

    def step(carry, key):
        state, obs = carry
        k_act, k_env = jax.random.split(key)
        mask = masks(state)
        logits, value = head(obs, mask)
        action = acting.sample(k_act, logits)
        obs2, state2, reward, term, trunc, info = jax.vmap(lambda k, s, a: env.step(k, s, a, env_params))(
            jax.random.split(k_env, num_envs), state, action)
        v_final = network.apply(params, info["final_obs"])[1]
        # as the trainer: a truncated (not terminated) step bootstraps from V(final_obs)
        reward = jnp.asarray(reward, jnp.float32) + jnp.where(trunc & ~term, gamma * v_final, 0.0)
        out = dict(action=action, reward=reward, done=term | trunc, value=value,
                   prob=jax.nn.softmax(logits, axis=-1), mask=mask)
        return (state2, obs2), out

    @jax.jit
    def run(key):
        k_reset, k_steps = jax.random.split(key)
        obs, state = jax.vmap(lambda k: env.reset(k, env_params))(jax.random.split(k_reset, num_envs))
        (state, obs), out = jax.lax.scan(step, (state, obs), jax.random.split(k_steps, num_steps))
        last_value = network.apply(params, obs)[1]
        adv, _ = gae(out["reward"], out["value"], out["done"], last_value, jnp.float32(gamma),
                     jnp.float32(gae_lambda))
        return out, adv

    out, adv = jax.device_get(run(jax.random.PRNGKey(seed)))
    return summarize(tuple(env.action_names(env_params)), out["action"], adv, out["mask"], out["prob"]) | {
        "num_envs": num_envs, "num_steps": num_steps, "gamma": gamma, "gae_lambda": gae_lambda}


def summarize(names, actions, advantages, masks, probs) -> Dict[str, Any]:
    """Per-action rows of ``[T, N]`` actions and advantages, ``[T, N, A]`` masks and probabilities."""
    a = np.asarray(actions).reshape(-1)
    adv = np.asarray(advantages, np.float64).reshape(-1)
    mask = np.asarray(masks).reshape(a.size, -1)
    prob = np.asarray(probs, np.float64).reshape(a.size, -1)
    rows: List[Dict[str, Any]] = []
    for i, name in enumerate(names):
        took = a == i
        n = int(took.sum())
        legal = mask[:, i]
        x = adv[took]
        rows.append(dict(
            action=name, legal=float(legal.mean()), taken=float(took.mean()),
            prob_when_legal=float(prob[legal, i].mean()) if legal.any() else float("nan"),
            n=n, adv_mean=float(x.mean()) if n else float("nan"),
            adv_se=float(x.std(ddof=1) / np.sqrt(n)) if n > 1 else float("nan"),
            adv_pos=float((x > 0).mean()) if n else float("nan"),
        ))
    return {"rows": rows, "mean_advantage": float(adv.mean()), "steps": int(a.size)}


def markdown(res: Dict[str, Any]) -> str:
    """A markdown section of :func:`action_advantages` (actions never legal left out)."""
    lines = [
        "## Advantages by action (trained policy, sampled)", "",
        f"{res['num_envs']} envs x {res['num_steps']} steps ({res['steps']} steps), GAE gamma {res['gamma']}, "
        f"lambda {res['gae_lambda']} as in training; mean advantage over all steps {res['mean_advantage']:+.4f}. "
        "An action whose mean advantage is below that mean is pushed down by PPO on average.", "",
        "| action | legal (share of steps) | taken (share of steps) | policy prob. where legal | times taken "
        "| advantage mean ± s.e. | advantage > 0 |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in res["rows"]:
        if r["legal"] == 0:
            continue
        adv = "n/a" if r["n"] == 0 else (f"{r['adv_mean']:+.4f}" + ("" if r["n"] < 2 else f" ± {r['adv_se']:.4f}"))
        pos = "n/a" if r["n"] == 0 else f"{r['adv_pos']:.2f}"
        lines.append(f"| {r['action']} | {r['legal']:.4f} | {r['taken']:.4f} | {r['prob_when_legal']:.4f} | {r['n']} "
                     f"| {adv} | {pos} |")
    return "\n".join(lines) + "\n"
