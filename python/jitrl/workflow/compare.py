"""Side-by-side comparison of finished (or running) runs from their ``metrics.jsonl``."""
from __future__ import annotations

import os
from typing import Any, Dict, List, Optional, Sequence

from jitrl.config import ConfigError
from jitrl.config.conditions import number
from jitrl.training.runlog import read_metrics
from jitrl.workflow import plots
from jitrl.workflow.validation import format_table

DEFAULT_METRICS = ("mean_episode_return", "mean_episode_length", "entropy", "approx_kl")


def load_runs(run_dirs: Sequence[str]) -> List[Dict[str, Any]]:
    problems, runs = [], []
    for d in run_dirs:
        recs = read_metrics(d) if os.path.isdir(d) else None
        if recs is None:
            problems.append(f"{d}: not a directory")
        elif not recs:
            problems.append(f"{d}: no metrics.jsonl records (not a run directory, or nothing logged yet)")
        else:
            runs.append({"name": os.path.basename(os.path.normpath(d)), "dir": d, "records": recs})
    if problems:
        raise ConfigError(problems)
    names = [r["name"] for r in runs]
    for r in runs:  # same basename in different folders: use the longer path
        if names.count(r["name"]) > 1:
            r["name"] = os.path.normpath(r["dir"])
    return runs


def summary_rows(runs: Sequence[Dict[str, Any]], metrics: Sequence[str]) -> List[List[str]]:
    rows = []
    for r in runs:
        recs = r["records"]
        last = recs[-1]
        row = [r["name"], str(last["update"]), f"{last['env_steps']:,}", f"{last.get('elapsed_s', float('nan')):.1f}",
               f"{sum(x['sps'] for x in recs) / len(recs):,.0f}"]
        for m in metrics:
            vals = [v for v in (number(x.get(m)) for x in recs) if v is not None]
            fin = number(last.get(m))
            best = (min if m in ("approx_kl", "value_loss", "clip_frac") else max)(vals) if vals else None
            row.append(f"{'n/a' if fin is None else format(fin, '.4g')} / {'n/a' if best is None else format(best, '.4g')}")
        rows.append(row)
    return rows


def compare(run_dirs: Sequence[str], metrics: Sequence[str] = DEFAULT_METRICS, out: Optional[str] = None):
    """Returns (table lines, png path or None). ``out``: folder for comparison.png (default: cwd)."""
    runs = load_runs(run_dirs)
    header = ["run", "updates", "env steps", "wall s", "mean SPS"] + [f"{m} final / best" for m in metrics]
    lines = format_table(summary_rows(runs, metrics), header)
    out = out or "."
    os.makedirs(out, exist_ok=True)
    png = plots.comparison(runs, metrics, os.path.join(out, "comparison.png"))
    return lines, png
