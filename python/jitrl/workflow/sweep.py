"""Sweeps: train every variant of a set of specs for several seeds and rank them.

Variants whose resolved configs differ only in sweepable hyperparameters (the
settings declared ``sweepable``, carried traced in :class:`jitrl.ppo.state.HParams`:
learning rate, gamma, GAE lambda, clip range, entropy and value coefficients,
max grad norm) form one *group*
and train together in ONE jitted program: one Trainer call whose ``hparams``
has one row per variant x seed (row ``i * seeds + j`` is variant ``i``, seed
``j``), vmapped. Variants that differ in anything structural (env, batch
shape, epochs, network, budget...) run as separate programs.

Outputs in the sweep directory: one run directory per group (its
``sweep_rows.json`` maps rows to variants), ``sweep_summary.md``,
``sweep_summary.csv`` and ``learning_curves.png``.
"""
from __future__ import annotations

import csv
import dataclasses
import glob
import io
import json
import math
import os
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from jitrl import training
from jitrl.common.files import atomic_write, stamped_name
from jitrl.config import ConfigError, ResolvedConfig, flat_values, resolve
from jitrl.ppo.state import SWEEPABLE, HParams
from jitrl.workflow import plots

#: spec keys that may differ inside one group (HParams fields are spec keys of the same name)
FLOAT_KEYS = SWEEPABLE
#: keys that never split groups (names, bookkeeping)
_IGNORED = ("agent_id", "name", "version", "sweep_variant", "description", "run_name", "checkpoint_dir",
            "num_seeds", "smoke_timesteps", "ess_threshold", "ess_patience")


@dataclasses.dataclass
class Variant:
    name: str
    path: str
    cfg: ResolvedConfig


@dataclasses.dataclass
class VariantSummary:
    name: str
    path: str
    group: int
    seeds: int
    final_return: float
    final_return_std: float
    best_return: float
    best_return_std: float
    final_return_seeds: List[Optional[float]]
    approx_kl: float
    approx_kl_max: float
    clip_frac: float
    clip_frac_max: float
    entropy: float
    sps: float  # env steps/s of this variant's rows (its share of its program's throughput)
    program_sps: float
    env_steps: int
    hparams: Dict[str, float]
    curve_steps: List[int] = dataclasses.field(default_factory=list)
    curve_seeds: List[List[Optional[float]]] = dataclasses.field(default_factory=list)  # [log][seed]
    kl_curve: List[float] = dataclasses.field(default_factory=list)
    entropy_curve: List[float] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class SweepResult:
    directory: str
    variants: List[VariantSummary]
    groups: List[List[str]]  # variant names per program
    programs: int
    compile_s: List[float]
    stop_reasons: List[str]

    def ranking(self) -> List[VariantSummary]:
        def key(v):
            f = v.final_return if math.isfinite(v.final_return) else -math.inf
            b = v.best_return if math.isfinite(v.best_return) else -math.inf
            return (-f, -b, v.name)

        return sorted(self.variants, key=key)


def expand(patterns: Sequence[str]) -> List[str]:
    """Spec paths from glob patterns (sorted, de-duplicated); a pattern matching nothing is an error."""
    paths: List[str] = []
    problems = []
    for pat in patterns:
        hits = sorted(glob.glob(pat)) if any(ch in pat for ch in "*?[") else ([pat] if os.path.exists(pat) else [])
        if not hits:
            problems.append(f"{pat}: no spec file matches")
        paths += [h for h in hits if h not in paths]
    if problems:
        raise ConfigError(problems)
    return paths


def variant_name(path: str, cfg: ResolvedConfig) -> str:
    return cfg.meta.sweep_variant or os.path.splitext(os.path.basename(path))[0]


def load_variants(paths: Sequence[str], flags: Optional[Mapping[str, Any]] = None) -> List[Variant]:
    """Resolve every spec (flags apply to all); all problems of all files are raised together."""
    problems: List[str] = []
    out: List[Variant] = []
    for p in paths:
        try:
            cfg = resolve(p, flags or {})
        except ConfigError as exc:
            problems += exc.problems
            continue
        out.append(Variant(variant_name(p, cfg), p, cfg))
    names = [v.name for v in out]
    for n in sorted(set(x for x in names if names.count(x) > 1)):
        problems.append(f"sweep: {n!r} -- two specs give the same variant name; set distinct sweep_variant values")
    if problems:
        raise ConfigError(problems)
    return out


def structure_key(cfg: ResolvedConfig) -> Tuple:
    """Everything that shapes the compiled program (all but float hparams and names)."""
    vals = flat_values(cfg)
    return tuple(sorted((k, repr(v)) for k, v in vals.items() if k not in FLOAT_KEYS and k not in _IGNORED))


def group_variants(variants: Sequence[Variant]) -> List[List[Variant]]:
    groups: Dict[Tuple, List[Variant]] = {}
    for v in variants:
        groups.setdefault(structure_key(v.cfg), []).append(v)
    return list(groups.values())


def budget(cfg: ResolvedConfig, mode: str, timesteps: Optional[int]) -> int:
    """Env steps per seed: ``--timesteps``, else smoke_timesteps (or 5 updates) in smoke mode, else the spec's."""
    if timesteps is not None:
        return int(timesteps)
    if mode == "smoke":
        return cfg.run.smoke_timesteps or 5 * cfg.ppo.batch_size
    return cfg.run.total_timesteps


def stacked_hparams(cfgs: Sequence[ResolvedConfig], seeds: int) -> HParams:
    """HParams with one row per (config, seed): row i*seeds + j."""
    return HParams.rows([c.ppo for c in cfgs for _ in range(seeds)])


def _nanstat(xs: Sequence[Optional[float]]) -> Tuple[float, float]:
    a = np.array([np.nan if x is None else x for x in xs], dtype=np.float64)
    if a.size == 0 or np.all(np.isnan(a)):
        return float("nan"), float("nan")
    return float(np.nanmean(a)), float(np.nanstd(a))


def summarize_group(variants: Sequence[Variant], seeds: int, records: Sequence[Mapping[str, Any]],
                    group: int) -> List[VariantSummary]:
    """Per-variant figures from a group's records (rows ``i*seeds .. i*seeds+seeds-1``)."""
    rows_total = len(variants) * seeds
    out = []
    for i, v in enumerate(variants):
        sl = slice(i * seeds, (i + 1) * seeds)

        def rows(rec, key):
            vals = rec.get(key + "_seeds")
            return list(vals[sl]) if vals is not None else [rec.get(key)] * seeds

        curve = [rows(r, "mean_episode_return") for r in records]
        per_seed_best = []
        for j in range(seeds):
            col = [c[j] for c in curve if c[j] is not None]
            per_seed_best.append(max(col) if col else None)
        last = records[-1] if records else {}
        final = rows(last, "mean_episode_return") if records else [None] * seeds
        fm, fs = _nanstat(final)
        bm, bs = _nanstat(per_seed_best)
        kl_max = max((max(rows(r, "approx_kl_max")) for r in records), default=float("nan"))
        clip_max = max((max(rows(r, "clip_frac_max")) for r in records), default=float("nan"))
        prog_sps = float(np.mean([r["sps"] for r in records])) if records else float("nan")
        out.append(VariantSummary(
            name=v.name, path=v.path, group=group, seeds=seeds,
            final_return=fm, final_return_std=fs, best_return=bm, best_return_std=bs,
            final_return_seeds=final,
            approx_kl=_nanstat(rows(last, "approx_kl"))[0] if records else float("nan"),
            approx_kl_max=float(kl_max),
            clip_frac=_nanstat(rows(last, "clip_frac"))[0] if records else float("nan"),
            clip_frac_max=float(clip_max),
            entropy=_nanstat(rows(last, "entropy"))[0] if records else float("nan"),
            sps=prog_sps * seeds / rows_total, program_sps=prog_sps,
            env_steps=int(last.get("env_steps", 0)),
            hparams={k: float(getattr(v.cfg.ppo, k)) for k in FLOAT_KEYS},
            curve_steps=[int(r["env_steps"]) for r in records],
            curve_seeds=curve,
            kl_curve=[_nanstat(rows(r, "approx_kl"))[0] for r in records],
            entropy_curve=[_nanstat(rows(r, "entropy"))[0] for r in records],
        ))
    return out


def _group_cfg(group: Sequence[Variant], directory: str, run_name: str, steps: int, seeds: int) -> ResolvedConfig:
    base = group[0].cfg
    run = dataclasses.replace(base.run, checkpoint_dir=directory, run_name=run_name, total_timesteps=steps,
                              num_seeds=len(group) * seeds, ess_threshold=0.0)
    meta = dataclasses.replace(
        base.meta, sweep_variant=None,
        description=f"sweep program over variants {', '.join(v.name for v in group)} x {seeds} seeds; the float "
                    f"hyperparameters of each row are in sweep_rows.json (the values below are the first variant's)")
    return base.replace(run=run, meta=meta)


def run_sweep(patterns: Sequence[str], *, mode: str = "smoke", seeds: int = 3, timesteps: Optional[int] = None,
              flags: Optional[Mapping[str, Any]] = None, out_dir: Optional[str] = None, quiet: bool = True,
              log=print) -> SweepResult:
    """Run a sweep; see the module docstring. Raises ConfigError on bad specs."""
    if mode not in ("smoke", "full"):
        raise ConfigError([f"--mode: {mode!r} -- smoke or full"])
    if seeds < 1:
        raise ConfigError([f"--seeds: {seeds} -- an integer >= 1"])
    variants = load_variants(expand(patterns), flags)
    # the budget is structural (static trip counts): apply it before grouping
    variants = [dataclasses.replace(v, cfg=v.cfg.replace(run=dataclasses.replace(
        v.cfg.run, total_timesteps=budget(v.cfg, mode, timesteps)))) for v in variants]
    groups = group_variants(variants)
    if out_dir is None:
        agent = variants[0].cfg.meta.agent_id or variants[0].cfg.env.name
        out_dir = os.path.join(variants[0].cfg.run.checkpoint_dir, stamped_name("sweep", agent, mode))
    os.makedirs(out_dir, exist_ok=True)
    log(f"Sweep of {len(variants)} variants x {seeds} seeds in {len(groups)} program(s) -> {out_dir}")
    summaries: List[VariantSummary] = []
    compile_s, reasons = [], []
    for gi, group in enumerate(groups):
        names = [v.name for v in group]
        steps = group[0].cfg.run.total_timesteps
        run_name = f"group{gi}_" + "-".join(names)[:80]
        cfg = _group_cfg(group, out_dir, run_name, steps, seeds)
        log(f"  program {gi}: {', '.join(names)} ({len(group) * seeds} rows vmapped, {cfg.num_updates()} updates "
            f"of {cfg.ppo.batch_size} env steps per row)")
        trainer = training.Trainer(cfg, hparams=stacked_hparams([v.cfg for v in group], seeds), quiet=quiet)
        res = trainer.run()
        rows = [{"row": i * seeds + j, "variant": v.name, "spec": v.path, "seed_index": j,
                 **{k: float(getattr(v.cfg.ppo, k)) for k in FLOAT_KEYS}}
                for i, v in enumerate(group) for j in range(seeds)]
        atomic_write(os.path.join(trainer.run_dir, "sweep_rows.json"), json.dumps(rows, indent=1))
        compile_s.append(res.compile_s)
        reasons.append(res.stop_reason)
        summaries += summarize_group(group, seeds, res.records, gi)
    result = SweepResult(out_dir, summaries, [[v.name for v in g] for g in groups], len(groups), compile_s, reasons)
    write_summary(result, mode, seeds)
    return result


# ---------------------------------------------------------------------------------------------
# reports
# ---------------------------------------------------------------------------------------------
CSV_COLUMNS = ("rank", "variant", "spec", "program", "seeds", "env_steps", "final_return_mean", "final_return_std",
               "best_return_mean", "best_return_std", "approx_kl_final", "approx_kl_max", "clip_frac_final",
               "clip_frac_max", "entropy_final", "sps_variant", "sps_program") + FLOAT_KEYS


def _f(x, fmt=".4g") -> str:
    return "n/a" if x is None or (isinstance(x, float) and not math.isfinite(x)) else format(x, fmt)


def ranking_lines(result: SweepResult) -> List[str]:
    lines = [f"{'rank':>4}  {'variant':<24} {'final return':>20} {'best return':>20} {'KL max':>8} "
             f"{'clip max':>8} {'entropy':>8} {'steps/s':>10}"]
    for i, v in enumerate(result.ranking(), 1):
        fr = f"{_f(v.final_return, '.3f')} +- {_f(v.final_return_std, '.3f')}"
        br = f"{_f(v.best_return, '.3f')} +- {_f(v.best_return_std, '.3f')}"
        lines.append(f"{i:>4}  {v.name:<24} {fr:>20} {br:>20} {_f(v.approx_kl_max, '.4f'):>8} "
                     f"{_f(v.clip_frac_max, '.3f'):>8} {_f(v.entropy, '.3f'):>8} {_f(v.sps, ',.0f'):>10}")
    return lines


def write_summary(result: SweepResult, mode: str, seeds: int) -> None:
    d = result.directory
    ranked = result.ranking()
    buf = io.StringIO(newline="")
    w = csv.writer(buf)
    w.writerow(CSV_COLUMNS)
    for i, v in enumerate(ranked, 1):
        w.writerow([i, v.name, v.path, v.group, v.seeds, v.env_steps, v.final_return, v.final_return_std,
                    v.best_return, v.best_return_std, v.approx_kl, v.approx_kl_max, v.clip_frac,
                    v.clip_frac_max, v.entropy, v.sps, v.program_sps] + [v.hparams[k] for k in FLOAT_KEYS])
    atomic_write(os.path.join(d, "sweep_summary.csv"), buf.getvalue())
    md = [f"# Sweep summary ({mode}, {seeds} seeds per variant)", "",
          f"{len(result.variants)} variants in {result.programs} jitted program(s): "
          + "; ".join(f"program {i}: {', '.join(g)} (compile {result.compile_s[i]:.1f} s, {result.stop_reasons[i]})"
                      for i, g in enumerate(result.groups)), "",
          "Return = mean episode return of the last log (final) or the best log (best), mean +- std over seeds. "
          "KL / clip max = the largest over every update and seed. steps/s = this variant's share of its "
          "program's throughput (the program's total is in the CSV).", "",
          "| rank | variant | final return | best return | KL final | KL max | clip final | clip max | entropy "
          "| steps/s | learning_rate | gamma | ent_coef | clip_range |",
          "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for i, v in enumerate(ranked, 1):
        md.append(f"| {i} | {v.name} | {_f(v.final_return, '.3f')} +- {_f(v.final_return_std, '.3f')} | "
                  f"{_f(v.best_return, '.3f')} +- {_f(v.best_return_std, '.3f')} | {_f(v.approx_kl, '.4f')} | "
                  f"{_f(v.approx_kl_max, '.4f')} | {_f(v.clip_frac, '.3f')} | {_f(v.clip_frac_max, '.3f')} | "
                  f"{_f(v.entropy, '.3f')} | {_f(v.sps, ',.0f')} | {v.hparams['learning_rate']:.3g} | "
                  f"{v.hparams['gamma']:.4g} | {v.hparams['ent_coef']:.3g} | {v.hparams['clip_range']:.3g} |")
    png = plots.sweep_curves(result.variants, os.path.join(d, "learning_curves.png"))
    md += ["", f"![learning curves]({os.path.basename(png)})" if png else "(matplotlib missing: no plot)", ""]
    atomic_write(os.path.join(d, "sweep_summary.md"), "\n".join(md))
