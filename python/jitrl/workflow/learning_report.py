"""The learning report: what a trained policy does, beside baselines, on the same boards.

:func:`play_episodes` plays one episode in each of ``episodes`` envs at once
(``vmap``) for a fixed number of steps in one jitted ``lax.scan`` (default:
the env's ``max_steps``, so every episode ends); an env that has ended stops
counting. Each policy gets the same reset keys and the same per-step env
keys, so every policy plays the same boards with the same enemy dice (common
random numbers: differences between policies are not board luck). Episodes
still running at the last step are left out and counted as unfinished.

Per episode it records the return, the length, every reward term the env
declares (its step metrics named ``r_*``), the env's episode metrics at the
last step (HackMatrix: highest stage, won, died, programs and siphons used),
how the episode ended (stage 8 cleared / death / truncation), how often each
action was taken, and the siphon's "strategic use" signal of the users' earlier SB3 HackMatrix agent: of the
steps where the siphon becomes legal (legal now, not on the step before), the
fraction where it is used at once.

:func:`write_report` loads a run directory (newest readable checkpoint, as
``watch_jax_agent.py`` does), plays the trained policy greedy and sampled, the
random masked policy and the scripted baselines (:mod:`jitrl.workflow.scripted`)
and writes ``learning_report.md`` plus PNG plots (when matplotlib is installed)
and ``learning_report.json`` into ``<run_dir>/learning_report/``, with the
trained policy's advantages by action (:mod:`jitrl.workflow.advantages`: is a
rare action unlearned because its advantage is negative?) in ``advantages.json``
and a section of the markdown.
"""
from __future__ import annotations

import dataclasses
import json
import os
import time
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from jitrl.common.files import atomic_write
from jitrl.config import ConfigError
from jitrl.envs.contract import EPISODE, STEP, ActionLaw
from jitrl.envs.registry import split_overrides
from jitrl.ppo.acting import make_acting
from jitrl.training.replay import load_policy
from jitrl.workflow import advantages, scripted
from jitrl.workflow.advantages import legal_mask
from jitrl.workflow.plots import _plt

PolicyFn = Callable[[jax.Array, jax.Array, jax.Array], jax.Array]  # (key, obs, mask) -> action

CAUSES = ("stage 8 cleared", "death", "truncation", "other")
#: the scripted baselines of a report unless told otherwise
DEFAULT_BASELINES = ("exit-seeker", "siphon-programmer", "collector")


@dataclasses.dataclass
class Episodes:
    """Completed episodes of one policy (numpy, one entry per episode)."""

    name: str
    returns: np.ndarray
    lengths: np.ndarray
    causes: np.ndarray  # int index into CAUSES
    terms: Dict[str, np.ndarray]  # reward term -> per-episode sum
    episode_metrics: Dict[str, np.ndarray]  # env episode metric -> value at the last step
    action_counts: np.ndarray  # [episodes, num_actions]
    siphon_onsets: np.ndarray  # steps where the siphon became legal
    siphon_at_onset: np.ndarray  # ... and was used at once
    unfinished: int
    action_names: tuple

    @property
    def n(self) -> int:
        return int(self.returns.shape[0])


def _metric_names(env):
    step = tuple(m.name for m in env.metrics if m.reduce == STEP and m.name.startswith("r_"))
    episode = tuple(m.name for m in env.metrics if m.reduce == EPISODE)
    return step, episode


def episode_limit(env_params) -> int:
    """The env's step limit per episode (``max_steps``, gymnax's ``max_steps_in_episode``)."""
    for name in ("max_steps", "max_steps_in_episode"):
        if hasattr(env_params, name):
            return int(getattr(env_params, name))
    raise ConfigError(["--steps: this env declares no step limit per episode; give --steps N"])


def play_episodes(env, env_params, policies: Mapping[str, PolicyFn], *, episodes: int, seed: int = 0,
                  num_steps: Optional[int] = None) -> List[Episodes]:
    """One episode per env for ``episodes`` envs per policy (see the module docstring).

    All policies run in one jitted program (one compilation of the env step):
    ``len(policies) * episodes`` envs, policy ``i`` acting in envs
    ``i * episodes ...`` through a ``lax.switch`` on the env's policy index, with
    the reset and step keys of env ``j`` the same for every policy."""
    if num_steps is None:
        num_steps = episode_limit(env_params)
    labels = tuple(policies)
    fns = tuple(policies.values())
    n_pol = len(fns)
    total = n_pol * episodes
    names = tuple(env.action_names(env_params))
    n_act = env.num_actions(env_params)
    siphon = names.index("SIPHON") if "SIPHON" in names else -1
    term_names, ep_names = _metric_names(env)
    key = jax.random.PRNGKey(seed)
    k_reset, k_steps = jax.random.split(key)
    reset_keys = jnp.tile(jax.random.split(k_reset, episodes), (n_pol, 1))
    which = jnp.repeat(jnp.arange(n_pol), episodes)

    def act(i, key, obs, mask):
        if n_pol == 1:
            return fns[0](key, obs, mask)
        return jax.lax.switch(i, fns, key, obs, mask)

    def one_step(carry, t):
        state, obs, done, prev_siphon, acc = carry
        keys = jax.random.split(jax.random.fold_in(k_steps, t), episodes * 2).reshape(episodes, 2, -1)
        keys = jnp.tile(keys, (n_pol, 1, 1))
        mask = jax.vmap(lambda s: legal_mask(env, s, env_params))(state)
        action = jax.vmap(act)(which, keys[:, 0], obs, mask).astype(jnp.int32)
        obs2, state2, reward, term, trunc, info = jax.vmap(
            lambda k, s, a: env.step_env(k, s, a, env_params))(keys[:, 1], state, action)
        live = ~done
        ended = live & (term | trunc)
        f = lambda x: jnp.asarray(x, jnp.float32)
        avail = mask[:, siphon] if siphon >= 0 else jnp.zeros((total,), bool)
        onset = live & avail & ~prev_siphon
        won = f(info["won"]) > 0 if "won" in info else jnp.zeros((total,), bool)
        died = f(info["died"]) > 0 if "died" in info else jnp.zeros((total,), bool)
        cause = jnp.where(won, 0, jnp.where(died, 1, jnp.where(trunc, 2, 3)))
        acc = dict(
            ret=acc["ret"] + jnp.where(live, f(reward), 0.0),
            length=acc["length"] + live.astype(jnp.int32),
            terms={k: acc["terms"][k] + jnp.where(live, f(info[k]), 0.0) for k in term_names},
            final={k: jnp.where(ended, f(info[k]), acc["final"][k]) for k in ep_names},
            cause=jnp.where(ended, cause, acc["cause"]),
            counts=acc["counts"] + (live[:, None] & (action[:, None] == jnp.arange(n_act))).astype(jnp.int32),
            onsets=acc["onsets"] + onset.astype(jnp.int32),
            at_onset=acc["at_onset"] + (onset & (action == siphon)).astype(jnp.int32),
        )
        keep = lambda old, new: jnp.where(done.reshape(done.shape + (1,) * (new.ndim - 1)), old, new)
        state = jax.tree_util.tree_map(keep, state, state2)
        obs = keep(obs, obs2)
        return (state, obs, done | ended, jnp.where(live, avail, prev_siphon), acc), None

    @jax.jit
    def run():
        obs, state = jax.vmap(lambda k: env.reset(k, env_params))(reset_keys)
        z = jnp.zeros((total,), jnp.float32)
        acc = dict(ret=z, length=jnp.zeros((total,), jnp.int32), terms={k: z for k in term_names},
                   final={k: z for k in ep_names}, cause=jnp.full((total,), 3, jnp.int32),
                   counts=jnp.zeros((total, n_act), jnp.int32),
                   onsets=jnp.zeros((total,), jnp.int32), at_onset=jnp.zeros((total,), jnp.int32))
        carry = (state, obs, jnp.zeros((total,), bool), jnp.zeros((total,), bool), acc)
        (_, _, done, _, acc), _ = jax.lax.scan(one_step, carry, jnp.arange(num_steps))
        return done, acc

    done, acc = jax.device_get(run())
    out = []
    for i, label in enumerate(labels):
        sl = slice(i * episodes, (i + 1) * episodes)
        d = np.asarray(done[sl])
        pick = lambda v: np.asarray(v[sl])[d]
        out.append(Episodes(
            name=label, returns=pick(acc["ret"]), lengths=pick(acc["length"]), causes=pick(acc["cause"]),
            terms={k: pick(v) for k, v in acc["terms"].items()},
            episode_metrics={k: pick(v) for k, v in acc["final"].items()},
            action_counts=pick(acc["counts"]), siphon_onsets=pick(acc["onsets"]),
            siphon_at_onset=pick(acc["at_onset"]), unfinished=int((~d).sum()), action_names=names,
        ))
    return out


# ------------------------------------------------------------------ policies
def network_policy(env, env_params, network, params, mode: str) -> PolicyFn:
    """The trained network acting ``greedy`` or ``sample`` (through the env's acting distribution)."""
    acting = make_acting(env, env_params)

    def policy(key, obs, mask):
        policy_logits = network.apply(params, obs[None])[0][0]
        logits = acting.logits(policy_logits, ActionLaw(mask=mask))
        return (acting.greedy(logits) if mode == "greedy" else acting.sample(key, logits[None])[0]).astype(jnp.int32)

    return policy


def baseline_policies(env, env_params, names: Sequence[str] = DEFAULT_BASELINES) -> Dict[str, PolicyFn]:
    out: Dict[str, PolicyFn] = {"random (masked)": scripted.random_masked}
    for n in names:
        out[f"scripted {n}"] = scripted.make_scripted(n, env, env_params)
    return out


# ------------------------------------------------------------------ summaries
def _mean_se(x) -> tuple:
    x = np.asarray(x, np.float64)
    if x.size == 0:
        return float("nan"), float("nan")
    se = float(x.std(ddof=1) / np.sqrt(x.size)) if x.size > 1 else float("nan")
    return float(x.mean()), se


def summarize(ep: Episodes) -> Dict[str, Any]:
    """Headline figures of one policy's episodes (means with standard errors)."""
    names = ep.action_names
    siphon = names.index("SIPHON") if "SIPHON" in names else -1
    prog_ids = [i for i in range(len(names)) if siphon >= 0 and i > siphon]
    out: Dict[str, Any] = {"policy": ep.name, "episodes": ep.n, "unfinished": ep.unfinished}
    out["return"] = _mean_se(ep.returns)
    out["episode_length"] = _mean_se(ep.lengths)
    for k, v in ep.episode_metrics.items():
        out[k] = _mean_se(v)
    if "highest_stage" in ep.episode_metrics:
        hs = ep.episode_metrics["highest_stage"].astype(int)
        out["highest_stage_hist"] = {int(s): int((hs == s).sum()) for s in range(1, max(hs.max(initial=1), 8) + 1)}
    out["causes"] = {c: int((ep.causes == i).sum()) for i, c in enumerate(CAUSES)}
    out["win_rate"] = float((ep.causes == 0).mean()) if ep.n else float("nan")
    if prog_ids:
        out["programs_per_episode"] = _mean_se(ep.action_counts[:, prog_ids].sum(1))
        out["by_program"] = {names[i]: float(ep.action_counts[:, i].mean()) for i in prog_ids}
    if siphon >= 0:
        out["siphons_per_episode"] = _mean_se(ep.action_counts[:, siphon])
        onsets = int(ep.siphon_onsets.sum())
        out["siphon_onsets"] = onsets
        out["siphon_used_at_onset"] = float(ep.siphon_at_onset.sum() / onsets) if onsets else float("nan")
    out["reward_terms"] = {k: _mean_se(v) for k, v in ep.terms.items()}
    return out


def _fmt(v) -> str:
    if isinstance(v, tuple):
        m, se = v
        return "n/a" if np.isnan(m) else (f"{m:.3f} ± {se:.3f}" if not np.isnan(se) else f"{m:.3f}")
    if isinstance(v, float):
        return "n/a" if np.isnan(v) else f"{v:.3f}"
    return str(v)


def markdown(summaries: Sequence[Mapping[str, Any]], title: str, notes: Sequence[str] = (),
             plots: Sequence[str] = (), sections: Sequence[str] = ()) -> str:
    cols = [s["policy"] for s in summaries]
    lines = [f"# {title}", ""] + [f"{n}  " for n in notes] + [""]

    def table(rows, header="figure"):
        out = [f"| {header} | " + " | ".join(cols) + " |", "| --- |" + " --- |" * len(cols)]
        for label, get in rows:
            out.append(f"| {label} | " + " | ".join(_fmt(get(s)) for s in summaries) + " |")
        return out + [""]

    head = [("episodes (completed)", lambda s: s["episodes"]), ("unfinished at the last step", lambda s: s["unfinished"]),
            ("return (mean ± s.e.)", lambda s: s["return"])]
    for k in ("highest_stage", "won", "died", "programs_used", "siphons_used", "episode_steps", "score"):
        if k in summaries[0]:
            head.append((k, lambda s, k=k: s.get(k, "n/a")))
    head += [("win rate (stage 8 cleared)", lambda s: s["win_rate"]),
             ("episode length", lambda s: s["episode_length"])]
    if "programs_per_episode" in summaries[0]:
        head.append(("programs used per episode", lambda s: s["programs_per_episode"]))
    if "siphons_per_episode" in summaries[0]:
        head += [("siphons used per episode", lambda s: s["siphons_per_episode"]),
                 ("siphon became legal (steps, all episodes)", lambda s: s["siphon_onsets"]),
                 ("... used on that first step", lambda s: s["siphon_used_at_onset"])]
    lines += ["## Headline", ""] + table(head)
    lines += ["## End of episodes", ""] + table([(c, lambda s, c=c: s["causes"][c]) for c in CAUSES], "cause")
    if "highest_stage_hist" in summaries[0]:
        stages = sorted({k for s in summaries for k in s["highest_stage_hist"]})
        lines += ["## Highest stage reached (episodes)", ""] + table(
            [(str(st), lambda s, st=st: s["highest_stage_hist"].get(st, 0)) for st in stages], "stage")
    terms = list(summaries[0]["reward_terms"])
    if terms:
        lines += ["## Reward per episode by term (mean ± s.e.)", ""] + table(
            [(t, lambda s, t=t: s["reward_terms"][t]) for t in terms], "term")
    if "by_program" in summaries[0]:
        progs = list(summaries[0]["by_program"])
        used = [p for p in progs if any(s["by_program"][p] > 0 for s in summaries)]
        lines += ["## Programs used per episode, by program (programs never used by any policy left out)", ""]
        lines += table([(p, lambda s, p=p: s["by_program"][p]) for p in used], "program") if used else ["none used", ""]
    for sec in sections:
        lines += [sec]
    for p in plots:
        lines += [f"![{os.path.basename(p)}]({os.path.basename(p)})", ""]
    return "\n".join(lines) + "\n"


def plots(results: Sequence[Episodes], out_dir: str) -> List[str]:
    """PNG figures (empty list without matplotlib)."""
    plt = _plt()
    if plt is None:
        return []
    paths = []
    fig, axes = plt.subplots(2, 2, figsize=(13, 8))
    w = 0.8 / max(len(results), 1)
    for i, ep in enumerate(results):
        if "highest_stage" in ep.episode_metrics and ep.n:
            hs = ep.episode_metrics["highest_stage"].astype(int)
            st = np.arange(1, 9)
            axes[0, 0].bar(st + (i - len(results) / 2) * w, [(hs == s).mean() for s in st], w, label=ep.name)
        axes[0, 1].hist(ep.returns, bins=40, histtype="step", label=ep.name)
        axes[1, 0].hist(ep.lengths, bins=40, histtype="step", label=ep.name)
    for ax, t in zip(axes.flat, ("highest stage (fraction of episodes)", "return", "episode length")):
        ax.set_title(t)
        ax.grid(alpha=0.3)
    axes[0, 1].legend(fontsize=8)
    names = results[0].action_names if results else ()
    siphon = names.index("SIPHON") if "SIPHON" in names else len(names)
    ids = list(range(siphon, len(names)))
    for i, ep in enumerate(results):
        if ep.n:
            axes[1, 1].bar(np.arange(len(ids)) + (i - len(results) / 2) * w, ep.action_counts[:, ids].mean(0), w,
                           label=ep.name)
    axes[1, 1].set_xticks(np.arange(len(ids)), [names[i] for i in ids], rotation=90, fontsize=7)
    axes[1, 1].set_title("siphon and programs used per episode")
    axes[1, 1].grid(alpha=0.3)
    fig.tight_layout()
    path = os.path.join(out_dir, "learning_report.png")
    fig.savefig(path, dpi=90)
    plt.close(fig)
    paths.append(path)
    return paths


def write(results: Sequence[Episodes], out_dir: str, title: str, notes: Sequence[str] = (),
          action_advantages: Optional[Mapping[str, Any]] = None) -> str:
    """learning_report.md / .json / .png (and ``advantages.json`` when given the trained
    policy's :func:`advantages.action_advantages`) into ``out_dir``; returns the markdown's path."""
    os.makedirs(out_dir, exist_ok=True)
    sums = [summarize(r) for r in results]
    figs = plots(results, out_dir)
    sections = []
    if action_advantages is not None:
        sections.append(advantages.markdown(action_advantages))
        atomic_write(os.path.join(out_dir, "advantages.json"),
                     json.dumps(action_advantages, indent=1, default=float).encode())
    md = markdown(sums, title, notes, figs, sections)
    path = os.path.join(out_dir, "learning_report.md")
    atomic_write(path, md.encode())
    atomic_write(os.path.join(out_dir, "learning_report.json"), json.dumps(sums, indent=1, default=float).encode())
    return path


def reportable(env, env_params) -> bool:
    """Whether the trainer writes this env's report at the end of a run: the scripted
    baselines can read its observation (a HackMatrix board) and it declares a step
    limit. (``scripts/learning_report.py`` reports any env with a step limit.)"""
    try:
        episode_limit(env_params)
    except ConfigError:
        return False
    return scripted_reads(env, env_params)


def scripted_reads(env, env_params) -> bool:
    """Whether the scripted baselines can read the env's observation and actions."""
    try:
        scripted.make_scripted("exit-seeker", env, env_params)
    except ValueError:
        return False
    return True


def report_at_end(cfg, env, env_params, run_dir: str, stop_reason: str, say: Callable[[str], None] = print
                  ) -> Optional[str]:
    """The report of a run that has just finished (``done`` or an early stop) when
    ``report_episodes`` > 0 and the env is :func:`reportable`; the markdown's path or
    None. Only process 0 of a multi-process run writes it."""
    n = cfg.run.report_episodes
    if (n == 0 or not (stop_reason == "done" or stop_reason.startswith("early-stop"))
            or jax.process_index() != 0 or not reportable(env, env_params)):
        return None
    say(f"Writing the learning report ({n} episodes per policy: the trained policy greedy and sampled, random, "
        f"scripted baselines; --report-episodes 0 skips it)...")
    t0 = time.perf_counter()
    names = DEFAULT_BASELINES if scripted_reads(env, env_params) else ()  # random (masked) is always there
    try:
        path = write_report(run_dir, episodes=n, seed=cfg.run.seed, baselines=names)
    except KeyboardInterrupt:  # the run itself is saved: say how to get the report later
        say(f"Learning report interrupted; write it with: python scripts/learning_report.py {run_dir}")
        return None
    say(f"Wrote the learning report in {time.perf_counter() - t0:.0f} s: {path}")
    return path


def override_params(env, env_params, overrides: Mapping[str, Any]):
    """``env_params`` with fields replaced (e.g. reward weights, to score the same play under other
    rewards; the split of :func:`jitrl.envs.registry.split_overrides`); a name that is not a field
    raises :class:`ConfigError`."""
    fields, bad = split_overrides(env, dict(overrides))
    if bad:
        allowed = sorted(f.name for f in dataclasses.fields(env_params)) if dataclasses.is_dataclass(env_params) else []
        raise ConfigError([f"--env-param: {sorted(bad)[0]!r} is not a parameter of this env; allowed: "
                           f"{', '.join(allowed)}"])
    fixed = {k: (tuple(v) if isinstance(v, list) else v) for k, v in fields.items()}
    return env_params.replace(**fixed) if fixed else env_params


def write_report(run_dir: str, *, episodes: int = 1000, out: Optional[str] = None, seed: int = 12345,
                 num_steps: Optional[int] = None, baselines: Sequence[str] = DEFAULT_BASELINES,
                 include_baselines: bool = True, env_param_overrides: Optional[Mapping[str, Any]] = None,
                 advantage_envs: int = 256, advantage_steps: int = 256) -> str:
    """The learning report of a run directory (see the module docstring); returns the markdown's path.
    The train script calls it at the end of a run (:func:`report_at_end`). ``env_param_overrides``
    replaces env parameters for the report (:func:`override_params`). The trained policy's
    advantages by action come from an ``advantage_envs`` x ``advantage_steps`` sampled rollout
    with the run's ``gamma`` and ``gae_lambda`` (0 envs: left out)."""
    cfg, env, env_params, network, params, meta = load_policy(run_dir)
    env_params = override_params(env, env_params, env_param_overrides or {})
    policies: Dict[str, PolicyFn] = {
        "trained greedy": network_policy(env, env_params, network, params, "greedy"),
        "trained sampled": network_policy(env, env_params, network, params, "sample"),
    }
    if include_baselines:
        policies.update(baseline_policies(env, env_params, baselines))
    results = play_episodes(env, env_params, policies, episodes=episodes, seed=seed, num_steps=num_steps)
    notes = [f"run: `{run_dir}`, env {cfg.env.name}, checkpoint at update {meta.get('update')}"
             + (f", env parameters replaced for this report: {dict(env_param_overrides)}"
                if env_param_overrides else ""),
             f"{episodes} episodes per policy, seed {seed}, every policy on the same boards (same reset and "
             f"step keys); steps per episode at most {num_steps or episode_limit(env_params)}"]
    adv = None
    if advantage_envs > 0 and advantage_steps > 0:
        adv = advantages.action_advantages(env, env_params, network, params, num_envs=advantage_envs,
                                           num_steps=advantage_steps, gamma=cfg.ppo.gamma,
                                           gae_lambda=cfg.ppo.gae_lambda, seed=seed)
    return write(results, out or os.path.join(run_dir, "learning_report"), "Learning report", notes, adv)
