"""The one condition type: ``{metric, op, value, window}``.

A condition compares a logged metric with a value: ``op`` is one of
:data:`OPS`; with ``window: N`` the metric's mean over the last N logs is
compared (default 1: the log's own value). Validation criteria
(:mod:`jitrl.config.criteria`), a curriculum stage's advance rule and early
stopping (:mod:`jitrl.workflow.monitoring`) all use it, parsed by
:func:`parse_condition` and evaluated by :class:`Window`.

A log where the metric is missing (absent, null or NaN) leaves the window
undecided: :meth:`Window.see` then returns ``None``, which never passes.
"""
from __future__ import annotations

import dataclasses
import math
import operator
from collections import deque
from typing import Any, Iterable, List, Mapping, Optional, Tuple

from jitrl.config.schema import unknown_keys

OPS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "==": operator.eq, "!=": operator.ne}
#: the ops a threshold on a noisy metric may use
ORDER_OPS = ("<", "<=", ">", ">=")
KEYS = ("metric", "op", "value", "window")
#: old spellings that are errors naming the new one
RENAMED = {"threshold": "value"}


@dataclasses.dataclass(frozen=True)
class Condition:
    metric: str
    op: str
    value: Any
    window: int = 1  # logs whose mean is compared

    def holds(self, observed: Any) -> bool:
        return observed is not None and bool(OPS[self.op](observed, self.value))

    def label(self) -> str:
        mean = f" (mean of {self.window} logs)" if self.window > 1 else ""
        return f"{self.metric} {self.op} {self.value}{mean}"


def as_number(v: Any) -> Any:
    """YAML 1.1 reads ``1.0e6`` (no sign in the exponent) as a string: accept it as a number."""
    if isinstance(v, str):
        try:
            return float(v)
        except ValueError:
            return v
    return v


def is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def number(v: Any) -> Optional[float]:
    """A logged value as a float, or None when it is missing (absent, null, NaN or not a number)."""
    if v is None or isinstance(v, bool):
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else f


def parse_condition(raw: Any, at: str, *, ops: Iterable[str] = tuple(OPS), extra_keys: Iterable[str] = (),
                    default_window: int = 1) -> Tuple[Optional[Condition], List[str]]:
    """``(condition, [])`` from a mapping ``{metric, op, value[, window]}``, or
    ``(None, problems)``, one line each (``<at>.<key>: <value> -- <allowed>``).
    ``extra_keys`` may appear beside them (the caller reads them); ``window``
    defaults to ``default_window``."""
    ops = tuple(ops)
    if not isinstance(raw, dict):
        return None, [f"{at}: {raw!r} -- a mapping {{metric, op, value}}"]
    problems: List[str] = []
    for old, new in RENAMED.items():
        if old in raw:
            problems.append(f"{at}.{old}: renamed -- write {new}: {raw[old]!r} (a condition is metric, op, value)")
    problems += unknown_keys({k: v for k, v in raw.items() if k not in RENAMED}, KEYS + tuple(extra_keys), f"{at}.")
    metric = raw.get("metric")
    if not isinstance(metric, str) or not metric:
        problems.append(f"{at}.metric: {metric!r} -- a logged metric name")
    if raw.get("op") not in ops:
        problems.append(f"{at}.op: {raw.get('op')!r} -- one of {', '.join(ops)}")
    value = as_number(raw.get("value"))
    if "value" not in raw:
        if not any(old in raw for old in RENAMED):
            problems.append(f"{at}.value: missing -- the number to compare with")
    elif not is_number(value):
        problems.append(f"{at}.value: {raw['value']!r} -- a number")
    window = raw.get("window", default_window)
    if not is_int(window) or window < 1:
        problems.append(f"{at}.window: {window!r} -- an integer >= 1 (logs whose mean is compared)")
    if problems:
        return None, problems
    return Condition(metric, raw["op"], value, window), []


class Window:
    """The mean of a condition's metric over the last ``window`` logs seen."""

    def __init__(self, condition: Condition):
        self.condition = condition
        self.values: deque = deque(maxlen=condition.window)

    def see(self, rec: Mapping[str, Any]) -> Optional[float]:
        """Take one log; the window mean, or None while the window is not full of values."""
        self.values.append(number(rec.get(self.condition.metric)))
        return self.mean()

    def mean(self) -> Optional[float]:
        vals = [v for v in self.values if v is not None]
        if len(self.values) < self.condition.window or len(vals) < self.condition.window:
            return None
        return sum(vals) / len(vals)

    def holds(self) -> bool:
        return self.condition.holds(self.mean())
