"""Success criteria of a spec validation run: the spec's ``validation:`` key
(the HackMatrix tuning spec's "Success Criteria", machine-checkable).

One mapping each::

    validation:
      - {metric: approx_kl, op: "<", value: 0.06}                 # every update
      - {metric: entropy, op: ">", value: 1.0, through: 500}      # every log up to update 500
      - {metric: mean_episode_return, op: ">", value: -1.5, by: 1000}  # reached at some log <= 1000
      - {metric: mean_episode_length, op: ">", value: 30, final: true}  # the last log
      - {metric: mean_episode_return, op: ">", value: 0, window: 5, final: true}  # mean of the last 5 logs
      - {config: update_epochs, op: "==", value: 2}               # the resolved config

A metric criterion is a :class:`~jitrl.config.conditions.Condition` (``metric,
op, value, window``) with exactly one scope: none (every logged update, the
default), ``through: N``, ``by: N`` or ``final: true``. Every-update upper
bounds (``<``, ``<=``) on ``approx_kl`` / ``clip_frac`` are checked on
``approx_kl_max`` / ``clip_frac_max``, the maxima over every update and seed
of each logged chunk, so a spike between two log lines is not missed. A config
criterion compares a resolved spec value and has no scope or window.

Judging a run against them is :mod:`jitrl.workflow.validation`.
"""
from __future__ import annotations

import dataclasses
from typing import Any, List, Optional, Tuple

from jitrl.config.conditions import KEYS, OPS, Condition, is_int, parse_condition
from jitrl.config.schema import FIELDS_BY_KEY, unknown_keys

#: every-update upper bounds use the chunk maxima the trainer logs
MAX_ALIASES = {"approx_kl": "approx_kl_max", "clip_frac": "clip_frac_max"}
SCOPES = ("through", "by", "final")
_KEYS = ("name",) + KEYS + ("config",) + SCOPES


@dataclasses.dataclass(frozen=True)
class Criterion:
    condition: Condition  # for a config criterion, ``metric`` is the spec key
    on_config: bool = False
    through: Optional[int] = None
    by: Optional[int] = None
    final: bool = False
    name: Optional[str] = None

    @property
    def scope(self) -> str:
        if self.on_config:
            return "config"
        if self.through is not None:
            return f"through update {self.through}"
        if self.by is not None:
            return f"by update {self.by}"
        if self.final:
            return "final log"
        return "every update"

    @property
    def checked_metric(self) -> Optional[str]:
        """The logged metric the verdict reads (None for a config criterion)."""
        c = self.condition
        if self.on_config:
            return None
        if self.by is None and not self.final and c.op in ("<", "<=") and c.metric in MAX_ALIASES:
            return MAX_ALIASES[c.metric]
        return c.metric

    def label(self) -> str:
        if self.name:
            return self.name
        c = self.condition
        if self.on_config:
            return f"{c.metric} {c.op} {c.value}"
        return f"{c.label()} ({self.scope})"


def metric_conditions(criteria: List[Criterion]) -> List[Tuple[str, Condition]]:
    """``(where, condition)`` of each metric criterion (its metric name is checked against
    the names a run logs by :mod:`jitrl.training.metric_names`)."""
    return [(f"validation[{i}]", c.condition) for i, c in enumerate(criteria) if not c.on_config]


def validate_criteria(raw: Any) -> List[str]:
    """Problems with a ``validation:`` value, one line each (``<field>: <value> -- <allowed>``)."""
    return _parse(raw)[1]


def parse_criteria(raw: Any) -> List[Criterion]:
    """Criteria from a ``validation:`` value (``[]`` for None); ValueError on a bad one."""
    criteria, problems = _parse(raw)
    if problems:
        raise ValueError("; ".join(problems))
    return criteria


def _parse(raw: Any):
    if raw is None:  # no criteria (a child spec may drop its parent's)
        return [], []
    if not isinstance(raw, list):
        return [], [f"validation: {raw!r} -- a list of criteria, e.g. [{{metric: approx_kl, op: '<', value: 0.06}}]"]
    problems: List[str] = []
    out: List[Criterion] = []
    for i, c in enumerate(raw):
        at = f"validation[{i}]"
        if not isinstance(c, dict):
            problems.append(f"{at}: {c!r} -- a mapping with metric or config, op and value")
            continue
        p: List[str] = []
        if ("metric" in c) == ("config" in c):
            p.append(f"{at}: {c!r} -- exactly one of metric (a logged metric) or config (a spec key)")
        if "name" in c and (not isinstance(c["name"], str) or not c["name"]):
            p.append(f"{at}.name: {c['name']!r} -- a non-empty string")
        for k in ("through", "by"):
            if k in c and (not is_int(c[k]) or c[k] < 1):
                p.append(f"{at}.{k}: {c[k]!r} -- an update number >= 1")
        if "final" in c and not isinstance(c["final"], bool):
            p.append(f"{at}.final: {c['final']!r} -- true or false")
        scopes = [k for k in ("through", "by") if k in c] + (["final"] if c.get("final") else [])
        if len(scopes) > 1:
            p.append(f"{at}: {', '.join(scopes)} -- at most one of through, by, final")
        if "config" in c and "metric" not in c:
            cond, q = _config_condition(c, at, scopes)
        elif "metric" in c and "config" not in c:
            cond, q = parse_condition(c, at, extra_keys=("name",) + SCOPES)
        else:
            cond, q = None, unknown_keys(c, _KEYS, f"{at}.")
        p += q
        problems += p
        if not p:
            out.append(Criterion(cond, on_config="config" in c, through=c.get("through"), by=c.get("by"),
                                 final=bool(c.get("final", False)), name=c.get("name")))
    return out, problems


def _config_condition(c: dict, at: str, scopes: List[str]):
    p = unknown_keys(c, ("name", "config", "op", "value"), f"{at}.")
    if not isinstance(c["config"], str) or not c["config"]:
        p.append(f"{at}.config: {c['config']!r} -- a non-empty string")
    elif c["config"] not in FIELDS_BY_KEY:
        p.append(f"{at}.config: {c['config']!r} -- a spec key, e.g. update_epochs, num_minibatches, learning_rate")
    if c.get("op") not in OPS:
        p.append(f"{at}.op: {c.get('op')!r} -- one of {', '.join(OPS)}")
    if "value" not in c:
        p.append(f"{at}.value: missing -- the config value to compare with")
    if scopes:
        p.append(f"{at}: {', '.join(scopes)} -- a config criterion has no scope")
    if p:
        return None, p
    return Condition(c["config"], c["op"], c["value"]), []
