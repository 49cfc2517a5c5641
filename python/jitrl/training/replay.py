"""Playing a policy: a saved run's (``scripts/watch_jax_agent.py``), or the
final policy of a run that just finished (its ``replay.gif``).

Loads a run directory (its ``config.yaml`` names the env and network, its
newest readable checkpoint holds the parameters), plays episodes one step at
a time with a jitted single-env step, animates ``env.render_text`` in the
terminal and optionally collects ``env.render_rgb`` frames for an animated GIF.
"""
from __future__ import annotations

import io
import os
import sys
import time
from typing import Any, Dict, List, Optional

import jax
import jax.numpy as jnp
import numpy as np

from jitrl.common.files import atomic_write
from jitrl.config import ConfigError, load_saved
from jitrl.ppo.acting import make_acting
from jitrl.training.checkpoint import CheckpointStore
from jitrl.training.program import abstract_state, build_program


def load_policy(run_dir: str, seed_index: int = 0):
    """(cfg, env, env_params, network, params, meta) of a run's newest readable checkpoint."""
    path = os.path.join(run_dir, "config.yaml")
    if not os.path.isfile(path):
        raise ConfigError([f"--checkpoint: {run_dir!r} -- not a run directory (no config.yaml)"])
    cfg = load_saved(path)
    env, env_params, network, _ = build_program(cfg, num_updates=1)
    store = CheckpointStore(run_dir)
    try:
        if store.latest_step() is None:
            raise ConfigError([f"--checkpoint: {run_dir!r} -- holds no checkpoint yet"])
        state, meta = store.restore(abstract_state(cfg, cfg.run.num_seeds))
    finally:
        store.close()
    params = jax.tree_util.tree_map(lambda x: jnp.asarray(x[seed_index]), state.params)
    return cfg, env, env_params, network, params, meta


def make_stepper(env, env_params, network, params, mode: str):
    """A jitted ``(key, state, obs) -> (action, prob, next_obs, next_state, reward, term, trunc, info)``
    for one env; ``mode`` is greedy, sample or random. ``prob`` is the probability of
    the drawn acting action (with ``n_proposals = k``: of the k candidates and the
    selection), ``action`` the env's event."""

    acting = make_acting(env, env_params)

    def step(key, state, obs):
        k_act, k_env = jax.random.split(key)
        law = env.action_law(state, env_params)
        if mode == "random" or params is None:
            policy_logits = jnp.zeros((env.num_actions(env_params),), jnp.float32)
        else:
            policy_logits = network.apply(params, obs[None])[0][0]
        logits = acting.logits(policy_logits, law)
        if mode == "greedy":
            action = acting.greedy(logits)
        else:
            action = acting.sample(k_act, logits[None])[0]
        prob = jnp.exp(acting.log_prob(logits[None], action[None])[0])
        action = acting.env_action(action)  # the env's event (SIR: the selected candidate)
        obs2, state2, reward, term, trunc, info = env.step_env(k_env, state, action, env_params)
        return action, prob, obs2, state2, reward, term, trunc, info

    return jax.jit(step)


def _render_text(env, state, env_params) -> Optional[str]:
    try:
        return env.render_text(state, env_params)
    except NotImplementedError:
        return None


def _render_rgb(env, state, env_params):
    try:
        return np.asarray(env.render_rgb(state, env_params))
    except NotImplementedError:
        return None


def play(env, env_params, network, params, *, episodes: int, max_steps: int, mode: str, seed: int,
         delay: float, show: bool = True, collect_frames: bool = False, out=None) -> Dict[str, Any]:
    """Play ``episodes`` episodes; returns per-episode summaries and (optionally) RGB frames."""
    out = sys.stdout if out is None else out
    stepper = make_stepper(env, env_params, network, params, mode)
    names = env.action_names(env_params)
    key = jax.random.PRNGKey(seed)
    summaries: List[Dict[str, Any]] = []
    frames: List[np.ndarray] = []
    for ep in range(episodes):
        key, k_reset = jax.random.split(key)
        obs, state = env.reset(k_reset, env_params)
        infos: List[Dict[str, Any]] = []
        ret, steps, cause = 0.0, 0, "step limit"
        last_state = state
        if collect_frames:
            f = _render_rgb(env, state, env_params)
            if f is not None:
                frames.append(f)
        for t in range(max_steps):
            key, k = jax.random.split(key)
            action, prob, obs, state, reward, term, trunc, info = stepper(k, state, obs)
            a = int(action)
            ret += float(reward)
            steps += 1
            last_state = state
            host_info = {k2: np.asarray(v) for k2, v in info.items() if k2 != "final_obs"}
            infos.append(host_info)
            if show:
                board = _render_text(env, state, env_params)
                out.write("\x1b[2J\x1b[H" if out.isatty() else "\n")
                out.write(f"episode {ep + 1}/{episodes}  step {steps}  action {names[a]} (p={float(prob):.2f})  "
                          f"reward {float(reward):+.3f}  return {ret:+.2f}\n")
                if board is not None:
                    out.write(board + "\n")
                else:
                    out.write(f"obs {np.round(np.asarray(obs), 3).tolist()}\n")
                out.flush()
                if delay > 0:
                    time.sleep(delay)
            if collect_frames:
                f = _render_rgb(env, state, env_params)
                if f is not None:
                    frames.append(f)
            if bool(term) or bool(trunc):
                cause = "terminated" if bool(term) else "truncated"
                break
        summary = {"episode": ep + 1, "steps": steps, "return": ret, "end": cause}
        summary.update(env.episode_summary(infos, last_state, env_params))
        if "cause" in summary:  # the env names how its episode ended; keep one account
            summary.pop("end")
            if cause == "step limit":
                summary["cause"] = "step limit (--max-steps)"
        summaries.append(summary)
        out.write("  ".join(f"{k}: {v:.2f}" if isinstance(v, float) else f"{k}: {v}" for k, v in summary.items()) + "\n")
        out.flush()
    return {"episodes": summaries, "frames": frames}


def gif_bytes(frames: List[np.ndarray], fps: float) -> bytes:
    """Frames as an animated GIF (looping)."""
    import imageio.v2 as imageio  # an optional dependency (the viz/dev extras): only GIF writing needs it

    if not frames:
        raise ValueError("this env has no RGB renderer: no GIF can be written")
    buf = io.BytesIO()
    imageio.mimsave(buf, [np.asarray(f, np.uint8) for f in frames], format="GIF",
                    duration=1.0 / max(fps, 0.1), loop=0)
    return buf.getvalue()


def write_gif(frames: List[np.ndarray], path: str, fps: float) -> None:
    atomic_write(path, gif_bytes(frames, fps))


def can_render(env, env_params) -> bool:
    try:
        _, state = env.reset(jax.random.PRNGKey(0), env_params)
        env.render_rgb(state, env_params)
        return True
    except NotImplementedError:
        return False


def final_policy_replay(env, env_params, network, params, max_steps: int, seed: int = 0):
    """RGB frames of one greedy episode (at most ``max_steps`` steps) of ``params``,
    or None when the env cannot render."""
    if max_steps <= 0 or not can_render(env, env_params):
        return None
    res = play(env, env_params, network, params, episodes=1, max_steps=max_steps, mode="greedy", seed=seed,
               delay=0.0, show=False, collect_frames=True, out=io.StringIO())
    return res["frames"]
