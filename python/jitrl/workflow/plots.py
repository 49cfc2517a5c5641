"""Matplotlib figures of the workflow reports (headless ``Agg``; None when
matplotlib is not installed -- it is in the ``viz``/``dev`` extras)."""
from __future__ import annotations

import math
from typing import Any, Dict, List, Mapping, Optional, Sequence

import numpy as np


def _plt():
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    return plt


def _arr(xs) -> np.ndarray:
    return np.array([np.nan if x is None else float(x) for x in xs], dtype=np.float64)


def sweep_curves(variants: Sequence[Any], path: str) -> Optional[str]:
    """Return, KL and entropy against env steps, one line per variant (mean over
    seeds) with the min-max band over seeds around the return."""
    plt = _plt()
    if plt is None:
        return None
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.5))
    for v in variants:
        x = np.array(v.curve_steps)
        if x.size == 0:
            continue
        m = np.array([_arr(r) for r in v.curve_seeds])  # [logs, seeds]
        with np.errstate(all="ignore"):
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                mean, lo, hi = np.nanmean(m, 1), np.nanmin(m, 1), np.nanmax(m, 1)
        mk = "o" if len(x) < 30 else None  # a short smoke sweep may log only once
        (line,) = axes[0].plot(x, mean, marker=mk, label=f"{v.name} ({v.seeds} seeds)")
        axes[0].fill_between(x, lo, hi, color=line.get_color(), alpha=0.2)
        axes[1].plot(x, _arr(v.kl_curve), color=line.get_color(), marker=mk, label=v.name)
        axes[2].plot(x, _arr(v.entropy_curve), color=line.get_color(), marker=mk, label=v.name)
    for ax, t in zip(axes, ("mean episode return (band: min-max over seeds)", "approx KL", "entropy")):
        ax.set_title(t)
        ax.set_xlabel("env steps per seed")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def metric_panels(records: Sequence[Mapping[str, Any]], metrics: Sequence[str], path: str,
                  lines: Optional[Dict[str, List[float]]] = None, title: str = "") -> Optional[str]:
    """One panel per metric against the update number; ``lines`` adds horizontal
    threshold lines per metric (e.g. validation criteria)."""
    plt = _plt()
    if plt is None or not records:
        return None
    n = len(metrics)
    cols = min(3, n)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5.2 * cols, 3.6 * rows), squeeze=False)
    x = np.array([r["update"] for r in records])
    for ax, m in zip(axes.flat, metrics):
        ax.plot(x, _arr(r.get(m) for r in records), marker="." if len(x) < 30 else None)
        for y in (lines or {}).get(m, []):
            ax.axhline(y, color="red", linestyle="--", linewidth=1)
        ax.set_title(m)
        ax.set_xlabel("update")
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def comparison(runs: Sequence[Mapping[str, Any]], metrics: Sequence[str], path: str) -> Optional[str]:
    """Each metric against env steps (left) and wall time (right), one line per run.
    ``runs``: ``{"name": str, "records": [...]}``."""
    plt = _plt()
    if plt is None:
        return None
    fig, axes = plt.subplots(len(metrics), 2, figsize=(12, 3.6 * len(metrics)), squeeze=False)
    for run in runs:
        recs = run["records"]
        if not recs:
            continue
        steps = np.array([r["env_steps"] for r in recs])
        wall = np.array([r.get("elapsed_s", np.nan) for r in recs])
        for i, m in enumerate(metrics):
            y = _arr(r.get(m) for r in recs)
            mk = "." if len(steps) < 30 else None
            axes[i, 0].plot(steps, y, marker=mk, label=run["name"])
            axes[i, 1].plot(wall, y, marker=mk, label=run["name"])
    for i, m in enumerate(metrics):
        axes[i, 0].set_ylabel(m)
        axes[i, 0].set_xlabel("env steps per seed")
        axes[i, 1].set_xlabel("wall time (s)")
        for ax in axes[i]:
            ax.grid(alpha=0.3)
    axes[0, 0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path
