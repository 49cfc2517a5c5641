"""The names a run logs in ``metrics.jsonl``, so that validation criteria and
curriculum rules naming a metric no run logs (a typo) are refused up front.

Derived, never listed: the per-update metrics of the PPO program are read from
``jax.eval_shape`` of one update (the env's declared ``Environment.metrics``,
the acting distribution's, the learner's losses; nothing is computed), passed
through the same reduction the trainer logs (:func:`chunk_record`, which adds
``*_max`` and ``*_seeds``), plus the host's own keys.
"""
from __future__ import annotations

import difflib
from typing import Dict, Iterable, List, Tuple

import jax
import numpy as np

from jitrl.config import ResolvedConfig
from jitrl.config.conditions import Condition
from jitrl.training.metrics import chunk_record
from jitrl.training.program import abstract_state, build_program

#: keys the trainer's host loop adds to every record (see ``Trainer._run_chunk``)
HOST_KEYS = ("update", "env_steps", "sps", "elapsed_s")


#: ``repr`` of (env, network, ppo) sections -> names (tracing an update costs seconds)
_CACHE: Dict[str, Tuple[str, ...]] = {}


def logged_metrics(cfg: ResolvedConfig) -> Tuple[str, ...]:
    """Every name a record of a run of ``cfg`` holds, sorted."""
    key = repr((cfg.env, cfg.network, cfg.ppo))
    if key not in _CACHE:
        _, _, _, program = build_program(cfg, num_updates=1)
        _, metrics = jax.eval_shape(jax.vmap(lambda r: program.run_chunk(r, 1)), abstract_state(cfg, 1))
        rec = chunk_record({k: np.ones(v.shape, np.float64) for k, v in metrics.items()})
        _CACHE[key] = tuple(sorted(set(rec) | set(HOST_KEYS)))
    return _CACHE[key]


def unknown_metric_problems(conditions: Iterable[Tuple[str, Condition]], allowed: Iterable[str]) -> List[str]:
    """One line per ``(where, condition)`` whose metric is not logged: the value, the
    closest names and every allowed one."""
    allowed = list(allowed)
    out = []
    for where, c in conditions:
        if c.metric in allowed:
            continue
        near = difflib.get_close_matches(c.metric, allowed, n=2)
        hint = f"did you mean {' or '.join(near)}? " if near else ""
        out.append(f"{where}.metric: {c.metric!r} -- not a metric this run logs; {hint}allowed: {', '.join(allowed)}")
    return out
