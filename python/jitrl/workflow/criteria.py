"""Success criteria of a spec validation run (seed 004's "Success Criteria").

A spec lists them under ``validation:``, one mapping each::

    validation:
      - {metric: approx_kl, op: "<", value: 0.06}                 # every update
      - {metric: entropy, op: ">", value: 1.0, through: 500}      # every log up to update 500
      - {metric: mean_episode_return, op: ">", value: -1.5, by: 1000}  # reached at some log <= 1000
      - {metric: mean_episode_length, op: ">", value: 30, final: true}  # the last log
      - {config: update_epochs, op: "==", value: 2}               # the resolved config

A metric criterion has exactly one scope: none (every logged update, the
default), ``through: N``, ``by: N`` or ``final: true``. Every-update upper
bounds (``<``, ``<=``) on ``approx_kl`` / ``clip_frac`` are checked on
``approx_kl_max`` / ``clip_frac_max``, the maxima over every update and seed
of each logged chunk, so a spike between two log lines is not missed.

Verdicts: ``PASS``, ``FAIL``, or ``SHORT`` when the run ended before the
criterion's horizon without deciding it (a smoke run of a 1000-update
criterion); :func:`evaluate` says where each failed.
"""
from __future__ import annotations

import dataclasses
import math
import operator
from typing import Any, Dict, List, Mapping, Optional, Sequence

OPS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "==": operator.eq, "!=": operator.ne}
#: every-update upper bounds use the chunk maxima the trainer logs
MAX_ALIASES = {"approx_kl": "approx_kl_max", "clip_frac": "clip_frac_max"}
_KEYS = ("name", "metric", "config", "op", "value", "through", "by", "final")


@dataclasses.dataclass(frozen=True)
class Criterion:
    op: str
    value: Any
    metric: Optional[str] = None
    config: Optional[str] = None
    through: Optional[int] = None
    by: Optional[int] = None
    final: bool = False
    name: Optional[str] = None

    @property
    def scope(self) -> str:
        if self.config is not None:
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
        if self.metric is None:
            return None
        if self.by is None and not self.final and self.op in ("<", "<=") and self.metric in MAX_ALIASES:
            return MAX_ALIASES[self.metric]
        return self.metric

    def label(self) -> str:
        if self.name:
            return self.name
        what = self.config if self.config is not None else self.metric
        v = self.value
        return f"{what} {self.op} {v}" + ("" if self.config is not None else f" ({self.scope})")


@dataclasses.dataclass(frozen=True)
class Verdict:
    criterion: Criterion
    status: str  # PASS | FAIL | SHORT
    observed: Any  # the value the verdict rests on
    where: str  # update of the failure / of first success, or why undecided

    @property
    def passed(self) -> bool:
        return self.status == "PASS"


def _as_number(v):
    """YAML 1.1 reads ``1.0e6`` (no sign in the exponent) as a string: accept it as a number."""
    if isinstance(v, str):
        try:
            return float(v)
        except ValueError:
            return v
    return v


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def validate_criteria(raw: Any) -> List[str]:
    """Problems with a ``validation:`` value, one line each (``<field>: <value> -- <allowed>``)."""
    from jitrl.config.loader import unknown_keys  # not at module level: jitrl.config imports this module

    if raw is None:  # no criteria (a child spec may drop its parent's)
        return []
    if not isinstance(raw, list):
        return [f"validation: {raw!r} -- a list of criteria, e.g. [{{metric: approx_kl, op: '<', value: 0.06}}]"]
    problems: List[str] = []
    for i, c in enumerate(raw):
        at = f"validation[{i}]"
        if not isinstance(c, dict):
            problems.append(f"{at}: {c!r} -- a mapping with metric or config, op and value")
            continue
        problems += unknown_keys(c, _KEYS, f"{at}.")
        has_m, has_c = "metric" in c, "config" in c
        if has_m == has_c:
            problems.append(f"{at}: {c!r} -- exactly one of metric (a logged metric) or config (a spec key)")
        for k in ("metric", "config", "name"):
            if k in c and (not isinstance(c[k], str) or not c[k]):
                problems.append(f"{at}.{k}: {c[k]!r} -- a non-empty string")
        if c.get("op") not in OPS:
            problems.append(f"{at}.op: {c.get('op')!r} -- one of {', '.join(OPS)}")
        if "value" not in c:
            problems.append(f"{at}.value: missing -- the number (or config value) to compare with")
        elif has_m and not _is_num(_as_number(c["value"])):
            problems.append(f"{at}.value: {c['value']!r} -- a number")
        scopes = [k for k in ("through", "by") if k in c] + (["final"] if c.get("final") else [])
        for k in ("through", "by"):
            if k in c and (not _is_int(c[k]) or c[k] < 1):
                problems.append(f"{at}.{k}: {c[k]!r} -- an update number >= 1")
        if "final" in c and not isinstance(c["final"], bool):
            problems.append(f"{at}.final: {c['final']!r} -- true or false")
        if len(scopes) > 1:
            problems.append(f"{at}: {', '.join(scopes)} -- at most one of through, by, final")
        if has_c and scopes:
            problems.append(f"{at}: {', '.join(scopes)} -- a config criterion has no scope")
    if not problems:
        problems.extend(_unknown_config_keys(raw))
    return problems


def _unknown_config_keys(raw: Sequence[Mapping[str, Any]]) -> List[str]:
    from jitrl.config import schema

    return [
        f"validation[{i}].config: {c['config']!r} -- a spec key, e.g. update_epochs, num_minibatches, learning_rate"
        for i, c in enumerate(raw)
        if "config" in c and c["config"] not in schema.FIELDS_BY_KEY
    ]


def parse_criteria(raw: Any) -> List[Criterion]:
    """Criteria from a validated ``validation:`` value (``[]`` for None)."""
    if raw is None:
        return []
    bad = validate_criteria(raw)
    if bad:
        raise ValueError("; ".join(bad))
    return [Criterion(**{k: (_as_number(v) if k == "value" and "metric" in c else v) for k, v in c.items()})
            for c in raw]


def _num(v) -> Optional[float]:
    if v is None or isinstance(v, bool):
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else f


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def evaluate(criteria: Sequence[Criterion], records: Sequence[Mapping[str, Any]],
             config_values: Mapping[str, Any]) -> List[Verdict]:
    """Judge each criterion on a run's logged records and its resolved config values."""
    last_update = records[-1]["update"] if records else 0
    out: List[Verdict] = []
    for c in criteria:
        cmp = OPS[c.op]
        if c.config is not None:
            obs = config_values.get(c.config)
            if isinstance(obs, tuple):
                obs = list(obs)
            ok = obs is not None and cmp(obs, c.value)
            out.append(Verdict(c, "PASS" if ok else "FAIL", obs, "resolved config"))
            continue
        key = c.checked_metric
        series = [(r["update"], _num(r.get(key))) for r in records]
        series = [(u, v) for u, v in series if v is not None]
        if c.by is not None:
            within = [(u, v) for u, v in series if u <= c.by]
            hit = next(((u, v) for u, v in within if cmp(v, c.value)), None)
            if hit is not None:
                out.append(Verdict(c, "PASS", hit[1], f"first met at update {hit[0]}"))
            else:
                best = (max if c.op in (">", ">=") else min)((v for _, v in within), default=None)
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
                out.append(Verdict(c, "PASS" if cmp(v, c.value) else "FAIL", v, f"update {u}"))
            continue
        horizon = c.through
        window = [(u, v) for u, v in series if horizon is None or u <= horizon]
        bad = next(((u, v) for u, v in window if not cmp(v, c.value)), None)
        if bad is not None:
            out.append(Verdict(c, "FAIL", bad[1], f"first broken at update {bad[0]}"))
        elif not window:
            out.append(Verdict(c, "FAIL", None, f"{key} never logged"))
        else:
            worst = (min if c.op in (">", ">=") else max)(v for _, v in window)
            if horizon is not None and last_update < horizon:
                out.append(Verdict(c, "SHORT", worst, f"held to update {last_update}; run ended before {horizon}"))
            else:
                out.append(Verdict(c, "PASS", worst, f"held over {len(window)} logs (worst shown)"))
    return out


def table(verdicts: Sequence[Verdict]) -> List[List[str]]:
    """Rows ``[criterion, checked on, observed, verdict, where]`` for printing."""
    rows = []
    for v in verdicts:
        on = v.criterion.config if v.criterion.config is not None else v.criterion.checked_metric
        rows.append([v.criterion.label(), on, "n/a" if v.observed is None else _fmt(v.observed), v.status, v.where])
    return rows


def summarize(verdicts: Sequence[Verdict], short_fails: bool) -> Dict[str, Any]:
    """Overall outcome: FAIL if any criterion failed (or, with ``short_fails``, was left undecided)."""
    fails = [v for v in verdicts if v.status == "FAIL" or (short_fails and v.status == "SHORT")]
    return {"passed": not fails, "failed": [v.criterion.label() for v in fails],
            "short": [v.criterion.label() for v in verdicts if v.status == "SHORT"]}
