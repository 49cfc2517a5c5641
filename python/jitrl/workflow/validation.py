"""Spec validation runs: train a spec, judge its ``validation:`` criteria, report.

``--mode smoke`` trains ``smoke_timesteps`` (or five updates) and
``--mode full`` the spec's ``total_timesteps``. A criterion whose horizon lies
past the end of a smoke run is ``SHORT`` (undecided, not a failure); in a full
run an undecided criterion fails. The run directory gets
``validation_report.md`` (the PASS/FAIL table, the config, plots of the
criteria's metrics with their thresholds) and ``validation.json``.

The criteria are parsed by :mod:`jitrl.config.criteria`; :func:`evaluate`
judges them on a run's records. Verdicts: ``PASS``, ``FAIL``, or ``SHORT`` when
the run ended before the criterion's horizon without deciding it (a smoke run
of a 1000-update criterion); each says where it failed or was met.
"""
from __future__ import annotations

import dataclasses
import json
import os
from typing import Any, Dict, List, Mapping, Optional, Sequence

from jitrl import training
from jitrl.common.files import atomic_write, stamped_name
from jitrl.config import ConfigError, ResolvedConfig, describe, flat_values, resolve
from jitrl.config.conditions import OPS, Window
from jitrl.config.criteria import Criterion, metric_conditions, parse_criteria
from jitrl.training.metric_names import logged_metrics, unknown_metric_problems
from jitrl.workflow.sweep import budget
from jitrl.workflow.curriculum import check_curriculum, is_curriculum_file
from jitrl.workflow.monitoring import ess_callbacks

REPORT = "validation_report.md"


@dataclasses.dataclass(frozen=True)
class Verdict:
    criterion: Criterion
    status: str  # PASS | FAIL | SHORT
    observed: Any  # the value the verdict rests on
    where: str  # update of the failure / of first success, or why undecided

    @property
    def passed(self) -> bool:
        return self.status == "PASS"


@dataclasses.dataclass
class ValidationResult:
    run_dir: str
    verdicts: List[Verdict]
    passed: bool
    stop_reason: str
    report: str

    @property
    def exit_code(self) -> int:
        return 0 if self.passed else 1


def check_metric_names(cfg: ResolvedConfig, crit: Sequence[Criterion], spec: str) -> None:
    """ConfigError naming each criterion whose metric no run of ``cfg`` logs (a typo)."""
    problems = unknown_metric_problems(metric_conditions(list(crit)), logged_metrics(cfg)) if crit else []
    if problems:
        raise ConfigError([f"{spec}: {line}" for line in problems])


def check_specs(paths: Sequence[str], flags: Optional[Mapping[str, Any]] = None) -> Dict[str, List[str]]:
    """Resolve every spec without training: ``{path: [problem, ...]}`` (empty list = valid)."""
    out: Dict[str, List[str]] = {}
    for p in paths:
        try:
            if is_curriculum_file(p):
                check_curriculum(p, flags or {})
                out[p] = []
                continue
            cfg = resolve(p, flags or {})
            check_metric_names(cfg, parse_criteria(cfg.extra("validation")), p)
            out[p] = []
        except ConfigError as exc:
            out[p] = list(exc.problems)
    return out


def format_table(rows: Sequence[Sequence[str]], header: Sequence[str]) -> List[str]:
    widths = [max(len(str(r[i])) for r in list(rows) + [header]) for i in range(len(header))]
    fmt = "  ".join("{:<%d}" % w for w in widths)
    return [fmt.format(*header), fmt.format(*("-" * w for w in widths))] + [fmt.format(*map(str, r)) for r in rows]


HEADER = ("criterion", "checked on", "observed", "verdict", "where")


def prepare(spec: str, mode: str = "smoke", timesteps: Optional[int] = None, seeds: Optional[int] = None,
            flags: Optional[Mapping[str, Any]] = None) -> ResolvedConfig:
    if mode not in ("smoke", "full"):
        raise ConfigError([f"--mode: {mode!r} -- smoke or full"])
    cfg = resolve(spec, flags or {})
    crit = parse_criteria(cfg.extra("validation"))
    check_metric_names(cfg, crit, spec)
    if not crit:
        raise ConfigError([f"{spec}: validation: missing -- a validation run needs criteria (see jitrl.config.criteria)"])
    run = dataclasses.replace(cfg.run, total_timesteps=budget(cfg, mode, timesteps))
    if seeds is not None:
        run = dataclasses.replace(run, num_seeds=int(seeds))
    if not (flags or {}).get("run_name"):
        run = dataclasses.replace(run, run_name=stamped_name("validate", cfg.meta.agent_id or cfg.env.name, mode))
    return cfg.replace(run=run)


def run_validation(spec: str, mode: str = "smoke", *, timesteps: Optional[int] = None, seeds: Optional[int] = None,
                   flags: Optional[Mapping[str, Any]] = None, quiet: bool = True, log=print) -> ValidationResult:
    cfg = prepare(spec, mode, timesteps, seeds, flags)
    crit = parse_criteria(cfg.extra("validation"))
    trainer = training.Trainer(cfg, callbacks=ess_callbacks(cfg), quiet=quiet)
    log(f"Validation run of {spec} ({mode}: {cfg.num_updates()} updates, {cfg.run.num_seeds} seed(s)) "
        f"-> {trainer.run_dir}")
    res = trainer.run()
    verdicts = evaluate(crit, res.records, flat_values(cfg))
    outcome = summarize(verdicts, short_fails=(mode == "full"))
    passed = outcome["passed"] and res.stop_reason != "nan"
    report = write_report(cfg, spec, mode, res, verdicts, passed)
    return ValidationResult(res.run_dir, verdicts, passed, res.stop_reason, report)


def write_report(cfg: ResolvedConfig, spec: str, mode: str, res, verdicts: Sequence[Verdict], passed: bool) -> str:
    from jitrl.workflow import plots

    d = res.run_dir
    rows = table(verdicts)
    metrics = []
    lines: Dict[str, List[float]] = {}
    for v in verdicts:
        m = v.criterion.checked_metric
        if m is None:
            continue
        if m not in metrics:
            metrics.append(m)
        lines.setdefault(m, []).append(float(v.criterion.condition.value))
    for m in ("mean_episode_return", "entropy", "approx_kl_max"):
        if m not in metrics:
            metrics.append(m)
    png = plots.metric_panels(res.records, metrics, os.path.join(d, "validation_metrics.png"), lines,
                              title=f"{os.path.basename(spec)} ({mode})")
    md = [f"# Validation of `{spec}` ({mode} run): {'PASS' if passed else 'FAIL'}", "",
          f"Run directory: `{d}`; stop reason: {res.stop_reason}; {res.records[-1]['update'] if res.records else 0} "
          f"updates, {res.records[-1]['env_steps'] if res.records else 0} env steps per seed; compile "
          f"{res.compile_s:.1f} s.", "",
          "SHORT = the run ended before the criterion's horizon without deciding it "
          + ("(counts as FAIL in a full run)." if mode == "full" else "(not a failure in a smoke run)."), "",
          "| " + " | ".join(HEADER) + " |", "|" + " --- |" * len(HEADER)]
    md += ["| " + " | ".join(str(c).replace("|", "\\|") for c in r) + " |" for r in rows]
    md += ["", f"![criteria metrics]({os.path.basename(png)})" if png else "(matplotlib missing: no plot)", "",
           "## Resolved config", "", "```", describe(cfg), "```", ""]
    path = os.path.join(d, REPORT)
    atomic_write(path, "\n".join(md))
    atomic_write(os.path.join(d, "validation.json"), json.dumps(
        {"spec": spec, "mode": mode, "passed": passed, "stop_reason": res.stop_reason,
         "criteria": [dict(zip(HEADER, r)) for r in rows]}, indent=1))
    return path


# ---------------------------------------------------------------------------------------------
# judging
# ---------------------------------------------------------------------------------------------
def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def _series(c: Criterion, records: Sequence[Mapping[str, Any]]):
    """``[(update, value)]`` of the criterion's checked metric (its window mean), where decided."""
    w = Window(dataclasses.replace(c.condition, metric=c.checked_metric))
    series = [(r["update"], w.see(r)) for r in records]
    return [(u, v) for u, v in series if v is not None]


def evaluate(criteria: Sequence[Criterion], records: Sequence[Mapping[str, Any]],
             config_values: Mapping[str, Any]) -> List[Verdict]:
    """Judge each criterion on a run's logged records and its resolved config values."""
    last_update = records[-1]["update"] if records else 0
    out: List[Verdict] = []
    for c in criteria:
        cond = c.condition
        cmp = OPS[cond.op]
        if c.on_config:
            obs = config_values.get(cond.metric)
            if isinstance(obs, tuple):
                obs = list(obs)
            ok = obs is not None and cmp(obs, cond.value)
            out.append(Verdict(c, "PASS" if ok else "FAIL", obs, "resolved config"))
            continue
        key = c.checked_metric
        series = _series(c, records)
        if c.by is not None:
            within = [(u, v) for u, v in series if u <= c.by]
            hit = next(((u, v) for u, v in within if cmp(v, cond.value)), None)
            if hit is not None:
                out.append(Verdict(c, "PASS", hit[1], f"first met at update {hit[0]}"))
            else:
                best = (max if cond.op in (">", ">=") else min)((v for _, v in within), default=None)
                if last_update < c.by:
                    out.append(Verdict(c, "SHORT", best, f"not met yet; run ended at update {last_update} < {c.by}"))
                else:
                    out.append(Verdict(c, "FAIL", best, f"never met by update {c.by} (best shown)"))
            continue
        if c.final:
            if not series:
                out.append(Verdict(c, "FAIL", None, f"{key} never logged"))
            else:
                u, v = series[-1]
                out.append(Verdict(c, "PASS" if cmp(v, cond.value) else "FAIL", v, f"update {u}"))
            continue
        horizon = c.through
        window = [(u, v) for u, v in series if horizon is None or u <= horizon]
        bad = next(((u, v) for u, v in window if not cmp(v, cond.value)), None)
        if bad is not None:
            out.append(Verdict(c, "FAIL", bad[1], f"first broken at update {bad[0]}"))
        elif not window:
            out.append(Verdict(c, "FAIL", None, f"{key} never logged"))
        else:
            worst = (min if cond.op in (">", ">=") else max)(v for _, v in window)
            if horizon is not None and last_update < horizon:
                out.append(Verdict(c, "SHORT", worst, f"held to update {last_update}; run ended before {horizon}"))
            else:
                out.append(Verdict(c, "PASS", worst, f"held over {len(window)} logs (worst shown)"))
    return out


def table(verdicts: Sequence[Verdict]) -> List[List[str]]:
    """Rows ``[criterion, checked on, observed, verdict, where]`` for printing."""
    rows = []
    for v in verdicts:
        on = v.criterion.condition.metric if v.criterion.on_config else v.criterion.checked_metric
        rows.append([v.criterion.label(), on, "n/a" if v.observed is None else _fmt(v.observed), v.status, v.where])
    return rows


def summarize(verdicts: Sequence[Verdict], short_fails: bool) -> Dict[str, Any]:
    """Overall outcome: FAIL if any criterion failed (or, with ``short_fails``, was left undecided)."""
    fails = [v for v in verdicts if v.status == "FAIL" or (short_fails and v.status == "SHORT")]
    return {"passed": not fails, "failed": [v.criterion.label() for v in fails],
            "short": [v.criterion.label() for v in verdicts if v.status == "SHORT"]}
