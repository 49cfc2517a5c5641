"""Curricula: train a list of stages (each a spec) in order, each stage starting
from the previous stage's final network parameters.

A curriculum file::

    name: kmc_tio2
    description: ...
    transfer: best          # best (the seed row with the best final return) | first
    stages:
      - spec: stage1_small.yaml          # relative to this file
        advance:                         # optional: leave before the stage's budget
          when:                          # every condition, on its mean over `window` logs
            - {metric: mean_episode_return, op: ">", value: -1.5}
          window: 5                      # logs (a condition may give its own window)
          min_timesteps: 50000           # env steps per seed before the rule may fire
      - spec: stage2_medium.yaml

The conditions are :class:`~jitrl.config.conditions.Condition` s (``metric, op,
value`` and an optional ``window``; ``threshold:`` is the old spelling of
``value:`` and an error). A stage ends after its spec's budget (``total_timesteps``) or when its advance
rule fires (``early-stop: advance: ...``); then its final parameters (one seed
row) are saved as ``final_params.msgpack`` in its run directory and handed to
the next stage as ``initial_params`` (the optimiser starts fresh). A stage
stopped by ESS early stopping, a NaN or Ctrl-C halts the curriculum.

Everything lives in one curriculum directory: ``curriculum_state.json`` (the
curriculum file, the flags, each stage's status, run directory and stop
reason) and one run directory per stage (``stage<i>_<name>``). Re-running with
``--resume <curriculum dir>`` skips finished stages, resumes a stage stopped
mid-way from its last checkpoint, and starts the rest.
"""
from __future__ import annotations

import dataclasses
import json
import os
import shutil
from typing import Any, Dict, List, Mapping, Optional, Sequence

import jax
import numpy as np
import yaml
from flax import serialization

from jitrl import training
from jitrl.common.files import atomic_write, stamped_name
from jitrl.config import ConfigError, ResolvedConfig, resolve
from jitrl.config.conditions import ORDER_OPS, is_int, parse_condition
from jitrl.config.loader import read_yaml_mapping
from jitrl.config.schema import unknown_keys
from jitrl.training.checkpoint import CheckpointStore
from jitrl.training.metric_names import logged_metrics, unknown_metric_problems
from jitrl.training.runlog import read_metrics
from jitrl.workflow.monitoring import AdvanceRule, ess_callbacks

STATE_FILE = "curriculum_state.json"
PARAMS_FILE = "final_params.msgpack"
_TOP = ("name", "description", "transfer", "stages")
_STAGE = ("spec", "name", "advance")
_ADVANCE = ("when", "window", "min_timesteps")


@dataclasses.dataclass(frozen=True)
class Stage:
    index: int  # 1-based
    name: str
    spec: str  # path
    when: tuple = ()  # Conditions
    min_timesteps: int = 0


@dataclasses.dataclass(frozen=True)
class Curriculum:
    path: str
    name: str
    description: str
    transfer: str
    stages: tuple


def load_curriculum(path: str) -> Curriculum:
    """Read and check a curriculum file; every problem is raised together (ConfigError)."""
    doc = read_yaml_mapping(path, "a mapping with name and stages")
    p: List[str] = []
    p += unknown_keys(doc, _TOP, f"{path}: ")
    transfer = doc.get("transfer", "best")
    if transfer not in ("best", "first"):
        p.append(f"{path}: transfer: {transfer!r} -- best or first")
    raw = doc.get("stages")
    if not isinstance(raw, list) or not raw:
        p.append(f"{path}: stages: {raw!r} -- a non-empty list of stages, each with spec")
        raise ConfigError(p)
    base = os.path.dirname(path)
    stages = []
    for i, s in enumerate(raw):
        at = f"{path}: stages[{i}]"
        if not isinstance(s, dict):
            p.append(f"{at}: {s!r} -- a mapping with spec (and optional name, advance)")
            continue
        p += unknown_keys(s, _STAGE, f"{at}.")
        spec = s.get("spec")
        if not isinstance(spec, str):
            p.append(f"{at}.spec: {spec!r} -- a path to a spec file (relative to the curriculum)")
            continue
        spec_path = spec if os.path.isabs(spec) else os.path.join(base, spec)
        if not os.path.isfile(spec_path):
            p.append(f"{at}.spec: {spec!r} -- no such file ({spec_path})")
        name = s.get("name", os.path.splitext(os.path.basename(spec))[0])
        if not isinstance(name, str) or "/" in name or not name:
            p.append(f"{at}.name: {name!r} -- a directory-safe name")
        adv = s.get("advance") or {}
        when, min_ts = (), 0
        if not isinstance(adv, dict):
            p.append(f"{at}.advance: {adv!r} -- a mapping with when, window, min_timesteps")
        else:
            p += unknown_keys(adv, _ADVANCE, f"{at}.advance.")
            window = adv.get("window", 5)
            if not is_int(window) or window < 1:
                p.append(f"{at}.advance.window: {window!r} -- an integer >= 1 (logs)")
                window = 5
            min_ts = adv.get("min_timesteps", 0)
            if not is_int(min_ts) or min_ts < 0:
                p.append(f"{at}.advance.min_timesteps: {min_ts!r} -- an integer >= 0 (env steps per seed)")
                min_ts = 0
            conds = adv.get("when", [])
            if adv and (not isinstance(conds, list) or not conds):
                p.append(f"{at}.advance.when: {conds!r} -- a non-empty list of {{metric, op, value}}")
                conds = []
            parsed = [parse_condition(c, f"{at}.advance.when[{j}]", ops=ORDER_OPS, default_window=window)
                      for j, c in enumerate(conds)]
            p += [line for _, problems in parsed for line in problems]
            when = tuple(c for c, _ in parsed if c is not None)
        stages.append(Stage(i + 1, name, spec_path, when, min_ts))
    names = [s.name for s in stages]
    for n in sorted(set(x for x in names if names.count(x) > 1)):
        p.append(f"{path}: stages: name {n!r} used twice -- stage names must differ")
    if p:
        raise ConfigError(p)
    return Curriculum(path, str(doc.get("name", os.path.splitext(os.path.basename(path))[0])),
                      str(doc.get("description", "")), transfer, tuple(stages))


def is_curriculum_file(path: str) -> bool:
    """A YAML mapping with a ``stages`` key (specs never have one)."""
    try:
        with open(path) as fh:
            doc = yaml.safe_load(fh)
    except (OSError, UnicodeDecodeError, yaml.YAMLError):  # not a readable curriculum: the spec reader says why
        return False
    return isinstance(doc, dict) and "stages" in doc


def stage_config(cur: Curriculum, stage: Stage, directory: str, flags: Mapping[str, Any]) -> ResolvedConfig:
    flags = {k: v for k, v in flags.items() if k not in ("run_name", "checkpoint_dir")}
    flags.update({"checkpoint_dir": directory, "run_name": f"stage{stage.index}_{stage.name}"})
    return resolve(stage.spec, flags)


def check_curriculum(path: str, flags: Optional[Mapping[str, Any]] = None) -> Curriculum:
    """Load the curriculum and resolve every stage's spec (all problems together)."""
    cur = load_curriculum(path)
    problems = []
    for s in cur.stages:
        try:
            cfg = stage_config(cur, s, "checkpoints", flags or {})
        except ConfigError as exc:
            problems += exc.problems
            continue
        if s.when:  # an advance rule on a metric no run logs would never fire
            problems += unknown_metric_problems(
                [(f"{path}: stages[{s.index - 1}].advance.when[{j}]", c) for j, c in enumerate(s.when)],
                logged_metrics(cfg))
    if problems:
        raise ConfigError(problems)
    return cur


# ---------------------------------------------------------------------------------------------
# parameters between stages
# ---------------------------------------------------------------------------------------------
def save_params(params: Any, path: str) -> None:
    atomic_write(path, serialization.msgpack_serialize(serialization.to_state_dict(params)))


def load_params(path: str, template: Any, where: str) -> Any:
    """Params saved by :func:`save_params`, in the structure of ``template`` (shapes checked)."""
    with open(path, "rb") as fh:
        sd = serialization.msgpack_restore(fh.read())
    try:
        params = serialization.from_state_dict(template, sd)
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigError([f"{where}: the previous stage's parameters ({path}) do not fit this stage's network "
                           f"({exc}); transfer needs the same network kind and widths"]) from None
    bad = [(jax.tree_util.keystr(k), np.shape(a), tuple(b.shape))
           for (k, a), b in zip(jax.tree_util.tree_leaves_with_path(params), jax.tree_util.tree_leaves(template))
           if np.shape(a) != tuple(b.shape)]
    if bad:
        k, a, b = bad[0]
        raise ConfigError([f"{where}: parameter {k} has shape {a} in the previous stage and {b} here; transfer "
                           f"needs a size-agnostic network (e.g. lattice-conv for kmc-tio2)"])
    return params


def params_template(cfg: ResolvedConfig) -> Any:
    """Shapes/dtypes of one seed's network params for ``cfg`` (nothing computed)."""
    return training.abstract_state(cfg, num_seeds=None).params


def pick_seed(records: Sequence[Mapping[str, Any]], how: str) -> int:
    if how == "first" or not records:
        return 0
    vals = records[-1].get("mean_episode_return_seeds") or []
    scored = [(v, -i) for i, v in enumerate(vals) if v is not None]
    return -max(scored)[1] if scored else 0


# ---------------------------------------------------------------------------------------------
# running
# ---------------------------------------------------------------------------------------------
@dataclasses.dataclass
class CurriculumResult:
    directory: str
    stages: List[Dict[str, Any]]
    halted: Optional[str]  # why the curriculum stopped before its last selected stage, or None

    @property
    def exit_code(self) -> int:
        if self.halted is None:
            return 0
        if "nan" in self.halted:
            return 1
        if "interrupted" in self.halted:
            return 130
        return 0  # a monitor's early stop: reported, like train_purejaxrl.py


def _write_state(directory: str, state: Dict[str, Any]) -> None:
    atomic_write(os.path.join(directory, STATE_FILE), json.dumps(state, indent=1))


def read_state(directory: str) -> Optional[Dict[str, Any]]:
    path = os.path.join(directory, STATE_FILE)
    if not os.path.isfile(path):
        return None
    with open(path) as fh:
        return json.load(fh)


def _select(cur: Curriculum, stage: str) -> List[Stage]:
    if stage == "all":
        return list(cur.stages)
    try:
        i = int(stage)
    except ValueError:
        i = 0
    if not 1 <= i <= len(cur.stages):
        raise ConfigError([f"--stage: {stage!r} -- all or a stage number 1..{len(cur.stages)} of {cur.path}"])
    return [cur.stages[i - 1]]


def run_curriculum(path: Optional[str] = None, *, stage: str = "all", flags: Optional[Mapping[str, Any]] = None,
                   resume_dir: Optional[str] = None, quiet: bool = False, log=print) -> CurriculumResult:
    """Train a curriculum (or resume one: ``resume_dir`` = its directory). See the module docstring."""
    flags = dict(flags or {})
    if resume_dir is not None:
        state = read_state(resume_dir)
        if state is None:
            raise ConfigError([f"--resume: {resume_dir!r} -- not a curriculum directory (no {STATE_FILE})"])
        if path is not None and os.path.abspath(path) != state["curriculum"]:
            raise ConfigError([f"--curriculum: {path!r} -- {resume_dir} was started from {state['curriculum']}"])
        if flags:
            raise ConfigError([f"--resume: {', '.join(sorted(flags))} -- a resumed curriculum keeps the flags it "
                               f"started with ({state['flags']}); pass only --curriculum/--stage/--resume"])
        path, flags, directory = state["curriculum"], dict(state["flags"]), resume_dir
    if path is None:
        raise ConfigError(["--curriculum: missing -- a curriculum file (or --resume a curriculum directory)"])
    cur = check_curriculum(path, flags)
    selected = _select(cur, stage)
    if resume_dir is None:
        directory = os.path.join(flags.get("checkpoint_dir", "checkpoints"),
                                 flags.get("run_name") or stamped_name("curriculum", cur.name))
        if read_state(directory) is not None:
            raise ConfigError([f"run_name: {os.path.basename(directory)!r} -- {directory} already holds a "
                               f"curriculum; continue it with --resume {directory}"])
        state = {"curriculum": os.path.abspath(path), "name": cur.name, "flags": flags,
                 "stages": [{"index": s.index, "name": s.name, "spec": s.spec, "status": "pending",
                             "run_dir": None, "stop_reason": None, "transfer_seed": None, "from_params": None}
                            for s in cur.stages]}
        os.makedirs(directory, exist_ok=True)
        _write_state(directory, state)
    log(f"Curriculum {cur.name}: {len(cur.stages)} stages, running {', '.join(str(s.index) for s in selected)} "
        f"in {directory}")
    halted = None
    for s in selected:
        st = state["stages"][s.index - 1]
        if st["status"] == "done":
            log(f"Stage {s.index} ({s.name}) already done: {st['stop_reason']}")
            continue
        if st["status"] == "stopped":
            halted = f"stage {s.index} ({s.name}) {st['stop_reason']}"
            log(f"Curriculum halted earlier: {halted}. To retrain that stage, move {st['run_dir']} away and "
                f"set its status to pending in {os.path.join(directory, STATE_FILE)}")
            break
        cfg = stage_config(cur, s, directory, flags)
        run_dir = os.path.join(directory, cfg.run.run_name)
        init = None
        from_params = None
        if s.index > 1:
            prev = state["stages"][s.index - 2]
            ppath = os.path.join(prev["run_dir"], PARAMS_FILE) if prev["run_dir"] else None
            if ppath and prev["status"] == "done" and os.path.isfile(ppath):
                init = load_params(ppath, params_template(cfg), f"stage {s.index} ({s.name})")
                from_params = ppath
            else:
                log(f"Stage {s.index} ({s.name}): stage {s.index - 1} has no final parameters in {directory}; "
                    f"starting from scratch")
        resume = False
        if st["status"] == "running" and os.path.isdir(run_dir):
            store = CheckpointStore(run_dir)
            resume = store.latest_step() is not None
            store.close()
            if not resume:  # died before its first checkpoint: nothing worth keeping
                shutil.rmtree(run_dir)
        prior = read_metrics(run_dir) if resume else []
        callbacks = ess_callbacks(cfg, prior)
        if s.when:
            callbacks.append(AdvanceRule(s.when, s.min_timesteps).prime(prior))
        st.update(status="running", run_dir=run_dir, from_params=from_params)
        _write_state(directory, state)
        log(f"Stage {s.index}/{len(cur.stages)} ({s.name}): {cfg.env.name} {dict(cfg.env.params)}, "
            f"{cfg.run.total_timesteps} env steps, " + (f"from {from_params}" if from_params else "from scratch")
            + (" (resumed)" if resume else ""))
        res = training.Trainer(cfg, initial_params=init, callbacks=callbacks, quiet=quiet).run(resume=resume)
        st["stop_reason"] = res.stop_reason
        if res.stop_reason == "done" or res.stop_reason.startswith("early-stop: advance:"):
            recs = read_metrics(run_dir)
            seed = pick_seed(recs, cur.transfer)
            params = jax.tree_util.tree_map(lambda x: x[seed], res.state.params)
            save_params(params, os.path.join(run_dir, PARAMS_FILE))
            st.update(status="done", transfer_seed=seed,
                      final_update=recs[-1]["update"] if recs else 0,
                      final_return=recs[-1].get("mean_episode_return") if recs else None)
            _write_state(directory, state)
            log(f"Stage {s.index} ({s.name}) done: {res.stop_reason}; handing on seed row {seed}'s parameters")
            continue
        st["status"] = "running" if res.stop_reason in ("interrupted", "paused") else "stopped"
        _write_state(directory, state)
        halted = f"stage {s.index} ({s.name}) {res.stop_reason}"
        log(f"Curriculum halted: {halted}" + (f"; continue with --resume {directory}" if st["status"] == "running"
                                              else ""))
        break
    return CurriculumResult(directory, state["stages"], halted)
