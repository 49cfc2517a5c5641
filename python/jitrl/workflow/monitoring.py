"""Trainer callbacks that watch the logged records and stop a run with a reason.

* :class:`EssEarlyStop` (seed 000's ``ESSMonitorCallback``): stop when the
  mean ESS ratio (``ess``, over the batch of the log's last update) stays
  below ``ess_threshold`` for ``ess_patience`` consecutive logs. The Trainer
  then keeps a checkpoint and ends with ``early-stop: <reason>``.
* :class:`MetricWindow` (a curriculum stage's advance rule, seed 003): stop
  when every condition's metric, averaged over the last ``window`` logs,
  passes its threshold, once ``min_timesteps`` env steps are done.

A callback is ``cb(record) -> None | str`` (see ``jitrl.training.trainer``).
Both can be primed with a run's earlier records so a resumed run keeps its
count.
"""
from __future__ import annotations

import math
from collections import deque
from typing import Any, Dict, List, Mapping, Optional, Sequence

from jitrl.workflow.criteria import OPS


def _num(v) -> Optional[float]:
    if v is None or isinstance(v, bool):
        return None
    f = float(v)
    return None if math.isnan(f) else f


class EssEarlyStop:
    """Stop after ``patience`` consecutive logs with mean ESS below ``threshold``."""

    def __init__(self, threshold: float, patience: int, metric: str = "ess"):
        self.threshold = float(threshold)
        self.patience = int(patience)
        self.metric = metric
        self.low: List[Any] = []  # (update, ess) of the current run of low logs

    def prime(self, records: Sequence[Mapping[str, Any]]) -> "EssEarlyStop":
        for r in records:
            self._see(r)
        return self

    def _see(self, rec: Mapping[str, Any]) -> None:
        v = _num(rec.get(self.metric))
        if v is None:
            return  # no ESS in this env / log: the count neither grows nor resets
        if v < self.threshold:
            self.low.append((rec["update"], v))
        else:
            self.low = []

    def __call__(self, rec: Dict[str, Any]) -> Optional[str]:
        self._see(rec)
        if len(self.low) >= self.patience:
            first, last = self.low[-self.patience][0], self.low[-1][0]
            worst = min(v for _, v in self.low[-self.patience:])
            return (f"mean ESS below ess_threshold {self.threshold:g} for {self.patience} consecutive logs "
                    f"(updates {first}-{last}, lowest {worst:.3f}, last {self.low[-1][1]:.3f}): the policy's "
                    f"proposals drifted too far from the physical rates; raise ent_coef or lower the LR")
        return None


def ess_callbacks(cfg, prior_records: Sequence[Mapping[str, Any]] = ()) -> List[Any]:
    """The monitors a resolved config asks for (``ess_threshold > 0``)."""
    if cfg.run.ess_threshold > 0:
        return [EssEarlyStop(cfg.run.ess_threshold, cfg.run.ess_patience).prime(prior_records)]
    return []


class MetricWindow:
    """Stop (``advance: ...``) when all conditions hold on the window means.

    ``conditions``: mappings ``{metric, op, threshold}``; ``window``: logs;
    ``min_timesteps``: env steps (per seed) before the rule may fire.
    """

    def __init__(self, conditions: Sequence[Mapping[str, Any]], window: int, min_timesteps: int):
        self.conditions = [dict(c) for c in conditions]
        self.window = int(window)
        self.min_timesteps = int(min_timesteps)
        self.history: Dict[str, deque] = {c["metric"]: deque(maxlen=self.window) for c in self.conditions}

    def prime(self, records: Sequence[Mapping[str, Any]]) -> "MetricWindow":
        for r in records:
            self._see(r)
        return self

    def _see(self, rec: Mapping[str, Any]) -> None:
        for m, q in self.history.items():
            q.append(_num(rec.get(m)))

    def means(self) -> Dict[str, Optional[float]]:
        out = {}
        for m, q in self.history.items():
            vals = [v for v in q if v is not None]
            out[m] = sum(vals) / len(vals) if len(q) == self.window and len(vals) == self.window else None
        return out

    def __call__(self, rec: Dict[str, Any]) -> Optional[str]:
        self._see(rec)
        if rec["env_steps"] < self.min_timesteps:
            return None
        means = self.means()
        parts = []
        for c in self.conditions:
            v = means[c["metric"]]
            if v is None or not OPS[c["op"]](v, c["threshold"]):
                return None
            parts.append(f"{c['metric']} {v:.4g} {c['op']} {c['threshold']:g}")
        return (f"advance: mean over the last {self.window} logs " + ", ".join(parts)
                + f" after {rec['env_steps']} env steps (>= {self.min_timesteps})")
