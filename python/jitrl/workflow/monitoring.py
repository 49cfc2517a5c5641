"""Trainer callbacks that watch the logged records and stop a run with a reason.

Both are built on :class:`~jitrl.config.conditions.Condition`:

* :class:`EssEarlyStop` (the SB3 KMC trainer's ``ESSMonitorCallback``): the
  condition ``ess < ess_threshold`` (``ess``: the mean ESS ratio over the batch
  of the log's last update) held on ``ess_patience`` consecutive logs. The
  Trainer then keeps a checkpoint and ends with ``early-stop: <reason>``.
  A log without the metric neither counts nor resets the count.
* :class:`AdvanceRule` (a curriculum stage's advance rule): every condition
  holds on its window mean, once ``min_timesteps`` env steps are done.

A callback is ``cb(record) -> None | str`` (see ``jitrl.training.trainer``).
Both can be primed with a run's earlier records so a resumed run keeps its
count.
"""
from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Sequence

from jitrl.config.conditions import Condition, Window


class _Primed:
    def prime(self, records: Sequence[Mapping[str, Any]]):
        """Feed a run's earlier records (a resumed run keeps its counts)."""
        for r in records:
            self._see(r)
        return self

    def _see(self, rec: Mapping[str, Any]) -> None:
        raise NotImplementedError


class ConditionStop(_Primed):
    """Stop once ``condition`` held on ``patience`` consecutive logs that report its
    metric (``reason(held)`` words why; ``held`` is ``[(update, value), ...]``)."""

    def __init__(self, condition: Condition, patience: int):
        self.condition = condition
        self.patience = int(patience)
        self.window = Window(condition)
        self.held: List[Any] = []  # (update, value) of the current run of logs where it holds

    def _see(self, rec: Mapping[str, Any]) -> None:
        v = self.window.see(rec)
        if v is None:
            return  # not reported in this log: the count neither grows nor resets
        if self.condition.holds(v):
            self.held.append((rec["update"], v))
        else:
            self.held = []

    def reason(self, held: Sequence[Any]) -> str:
        return (f"{self.condition.label()} for {self.patience} consecutive logs "
                f"(updates {held[0][0]}-{held[-1][0]})")

    def __call__(self, rec: Dict[str, Any]) -> Optional[str]:
        self._see(rec)
        if len(self.held) >= self.patience:
            return self.reason(self.held[-self.patience:])
        return None


class EssEarlyStop(ConditionStop):
    """Stop after ``patience`` consecutive logs with mean ESS below ``threshold``."""

    def __init__(self, threshold: float, patience: int, metric: str = "ess"):
        super().__init__(Condition(metric, "<", float(threshold)), patience)
        self.threshold = float(threshold)

    def reason(self, held):
        worst = min(v for _, v in held)
        return (f"mean ESS below ess_threshold {self.threshold:g} for {self.patience} consecutive logs "
                f"(updates {held[0][0]}-{held[-1][0]}, lowest {worst:.3f}, last {held[-1][1]:.3f}): the policy's "
                f"proposals drifted too far from the physical rates; raise ent_coef or lower the LR")


def ess_callbacks(cfg, prior_records: Sequence[Mapping[str, Any]] = ()) -> List[Any]:
    """The monitors a resolved config asks for (``ess_threshold > 0``)."""
    if cfg.run.ess_threshold > 0:
        return [EssEarlyStop(cfg.run.ess_threshold, cfg.run.ess_patience).prime(prior_records)]
    return []


class AdvanceRule(_Primed):
    """Stop (``advance: ...``) when every condition holds on its window mean,
    after ``min_timesteps`` env steps (per seed)."""

    def __init__(self, conditions: Sequence[Condition], min_timesteps: int):
        self.windows = [Window(c) for c in conditions]
        self.min_timesteps = int(min_timesteps)

    def _see(self, rec: Mapping[str, Any]) -> None:
        for w in self.windows:
            w.see(rec)

    def __call__(self, rec: Dict[str, Any]) -> Optional[str]:
        self._see(rec)
        if rec["env_steps"] < self.min_timesteps:
            return None
        parts = []
        for w in self.windows:
            if not w.holds():
                return None
            c = w.condition
            parts.append(f"{c.metric} {w.mean():.4g} {c.op} {c.value:g} (mean of the last {c.window} logs)")
        return "advance: " + ", ".join(parts) + f" after {rec['env_steps']} env steps (>= {self.min_timesteps})"
