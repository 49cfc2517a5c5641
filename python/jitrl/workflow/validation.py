"""Spec validation runs: train a spec, judge its ``validation:`` criteria, report.

``--mode smoke`` trains ``smoke_timesteps`` (or five updates) and
``--mode full`` the spec's ``total_timesteps``. A criterion whose horizon lies
past the end of a smoke run is ``SHORT`` (undecided, not a failure); in a full
run an undecided criterion fails. The run directory gets
``validation_report.md`` (the PASS/FAIL table, the config, plots of the
criteria's metrics with their thresholds) and ``validation.json``.
"""
from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import os
from typing import Any, Dict, List, Mapping, Optional, Sequence

from jitrl.config import ConfigError, ResolvedConfig, describe, flat_values, resolve
from jitrl.workflow import criteria as C
from jitrl.workflow.monitoring import ess_callbacks
from jitrl.workflow.sweep import budget

REPORT = "validation_report.md"


@dataclasses.dataclass
class ValidationResult:
    run_dir: str
    verdicts: List[C.Verdict]
    passed: bool
    stop_reason: str
    report: str

    @property
    def exit_code(self) -> int:
        return 0 if self.passed else 1


def check_specs(paths: Sequence[str], flags: Optional[Mapping[str, Any]] = None) -> Dict[str, List[str]]:
    """Resolve every spec without training: ``{path: [problem, ...]}`` (empty list = valid)."""
    from jitrl.workflow.curriculum import check_curriculum, is_curriculum_file

    out: Dict[str, List[str]] = {}
    for p in paths:
        try:
            if is_curriculum_file(p):
                check_curriculum(p, flags or {})
                out[p] = []
                continue
            cfg = resolve(p, flags or {})
            C.parse_criteria(cfg.extra("validation"))
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
    crit = C.parse_criteria(cfg.extra("validation"))
    if not crit:
        raise ConfigError([f"{spec}: validation: missing -- a validation run needs criteria (see jitrl.workflow.criteria)"])
    run = dataclasses.replace(cfg.run, total_timesteps=budget(cfg, mode, timesteps))
    if seeds is not None:
        run = dataclasses.replace(run, num_seeds=int(seeds))
    if not (flags or {}).get("run_name"):
        stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        run = dataclasses.replace(run, run_name=f"validate_{cfg.meta.agent_id or cfg.env.name}_{mode}_{stamp}")
    return cfg.replace(run=run)


def run_validation(spec: str, mode: str = "smoke", *, timesteps: Optional[int] = None, seeds: Optional[int] = None,
                   flags: Optional[Mapping[str, Any]] = None, quiet: bool = True, log=print) -> ValidationResult:
    from jitrl.training import Trainer

    cfg = prepare(spec, mode, timesteps, seeds, flags)
    crit = C.parse_criteria(cfg.extra("validation"))
    trainer = Trainer(cfg, callbacks=ess_callbacks(cfg), quiet=quiet)
    log(f"Validation run of {spec} ({mode}: {cfg.num_updates()} updates, {cfg.run.num_seeds} seed(s)) "
        f"-> {trainer.run_dir}")
    res = trainer.run()
    verdicts = C.evaluate(crit, res.records, flat_values(cfg))
    outcome = C.summarize(verdicts, short_fails=(mode == "full"))
    passed = outcome["passed"] and res.stop_reason != "nan"
    report = write_report(cfg, spec, mode, res, verdicts, passed)
    return ValidationResult(res.run_dir, verdicts, passed, res.stop_reason, report)


def write_report(cfg: ResolvedConfig, spec: str, mode: str, res, verdicts: Sequence[C.Verdict], passed: bool) -> str:
    from jitrl.workflow import plots

    d = res.run_dir
    rows = C.table(verdicts)
    metrics = []
    lines: Dict[str, List[float]] = {}
    for v in verdicts:
        m = v.criterion.checked_metric
        if m is None:
            continue
        if m not in metrics:
            metrics.append(m)
        lines.setdefault(m, []).append(float(v.criterion.value))
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
    with open(path, "w") as fh:
        fh.write("\n".join(md))
    with open(os.path.join(d, "validation.json"), "w") as fh:
        json.dump({"spec": spec, "mode": mode, "passed": passed, "stop_reason": res.stop_reason,
                   "criteria": [dict(zip(HEADER, r)) for r in rows]}, fh, indent=1)
    return path
