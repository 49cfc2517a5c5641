"""What a resumed run may change, and the check that nothing else changed.

Every checkpoint's meta records the config it was trained with (:func:`config_record`).
A resume compares that record, and the shapes of the restored state, with the
run's ``config.yaml`` (as edited, plus any ``--resume`` flags): a value that
shapes or steers the training (``num_envs``, ``learning_rate``, the env, the
network, ...) must be the same, else the resume is refused naming each
difference and what may change (:data:`RESUMABLE`: the budget, logging and
checkpoint cadence, monitors, names). A checkpoint written before configs were
recorded is checked by its state shapes alone.
"""
from __future__ import annotations

import json
import os
from typing import Any, Dict, List, Optional

import jax

from jitrl.common.files import atomic_write
from jitrl.config import ConfigError, ResolvedConfig, flat_values, load_saved, schema, to_yaml

#: meta key of the recorded config
CONFIG_META = "config"
#: spec keys a resumed run may change (all others must equal the checkpoint's)
RESUMABLE = ("total_timesteps", "log_interval", "checkpoint_interval", "keep_checkpoints", "ess_threshold",
             "ess_patience", "replay_steps", "smoke_timesteps", "checkpoint_dir", "run_name", "agent_id", "name",
             "version", "sweep_variant", "description")


def config_record(cfg: ResolvedConfig) -> Dict[str, Any]:
    """``{spec key: value}`` of ``cfg`` as JSON values (stored in each checkpoint's meta)."""
    return json.loads(json.dumps(flat_values(cfg), default=list))


def resumable_flags() -> List[str]:
    """The flags ``--resume`` accepts (the :data:`RESUMABLE` keys that have one)."""
    return [schema.FIELDS_BY_KEY[k].flag for k in RESUMABLE
            if schema.FIELDS_BY_KEY[k].flag and k not in ("checkpoint_dir", "run_name")]  # those name the run


def _allowed_text() -> str:
    return "only " + ", ".join(RESUMABLE) + " may change on resume"


def differences(cfg: ResolvedConfig, meta: Dict[str, Any], config_path: str) -> List[str]:
    """Problems between ``cfg`` (the edited config.yaml) and the checkpoint's recorded config."""
    saved: Optional[Dict[str, Any]] = meta.get(CONFIG_META)
    if not saved:
        return []
    now = config_record(cfg)
    problems = []
    for key in sorted(set(saved) | set(now)):
        if key in RESUMABLE or saved.get(key) == now.get(key):
            continue
        problems.append(f"{config_path}: {key}: {now.get(key)!r} -- the checkpoint was trained with "
                        f"{saved.get(key)!r}; set it back ({_allowed_text()})")
    done = int(meta.get("env_steps", 0))
    if cfg.run.total_timesteps < done:
        problems.append(f"{config_path}: total_timesteps: {cfg.run.total_timesteps} -- the checkpoint is already "
                        f"at {done} env steps; allowed: at least {done} (extend it to train on)")
    return problems


def shape_differences(restored: Any, template: Any, config_path: str) -> List[str]:
    """Problems when the restored state's array shapes differ from the config's (an edited
    config.yaml of a run whose checkpoints record no config)."""
    got = jax.tree_util.tree_leaves_with_path(restored)
    want = jax.tree_util.tree_leaves(template)
    bad = [(jax.tree_util.keystr(p), tuple(a.shape), tuple(b.shape)) for (p, a), b in zip(got, want)
           if tuple(a.shape) != tuple(b.shape)]
    if len(got) != len(want):
        bad.append(("(structure)", len(got), len(want)))
    if not bad:
        return []
    where, a, b = bad[0]
    return [f"{config_path}: does not match the checkpoint: state{where} has shape {a} there, {b} by this config "
            f"({len(bad)} arrays differ) -- was num_envs, num_steps, the env or the network edited? Set them back "
            f"({_allowed_text()})"]


def check(cfg: ResolvedConfig, meta: Dict[str, Any], restored: Any, template: Any, run_dir: str) -> None:
    """Raise ConfigError naming every difference between the checkpoint and ``cfg``."""
    path = os.path.join(run_dir, "config.yaml")
    problems = differences(cfg, meta, path) or shape_differences(restored, template, path)
    if problems:
        raise ConfigError(problems)


def record_changes(cfg: ResolvedConfig, run_dir: str) -> None:
    """Rewrite ``config.yaml`` when a resume changed (allowed) values through flags."""
    path = os.path.join(run_dir, "config.yaml")
    if config_record(load_saved(path)) != config_record(cfg):
        atomic_write(path, to_yaml(cfg))
