"""Orbax checkpoints of the whole ``RunnerState`` (params, optimiser, env
states, RNG keys, update counter), so a resumed run continues bit for bit.

Orbax writes each step into a temporary directory and renames it when
complete, so a crash mid-write never leaves a half checkpoint that a resume
would pick up. Saves are synchronous: when :meth:`CheckpointStore.save`
returns, the checkpoint is on disk.

A checkpoint damaged later (a truncated or corrupted file, a disk fault) is
not the end of a run: :meth:`CheckpointStore.restore` reads the newest step,
and when that fails it names the step and the reason and falls back to the
next older one. :meth:`CheckpointStore.set_aside` renames a damaged step to
``<step>.damaged`` (kept for inspection, ignored by orbax) so that a resumed
run can write that step again.

In a multi-process run (:mod:`jitrl.training.distributed`) only process 0
opens the orbax manager (its only active process): every process gathers the
state (a collective), process 0 writes it, so a checkpoint is written once and
is the same as a single-process run's; on resume process 0 reads and
broadcasts the step and the state.
"""
from __future__ import annotations

import os
import sys
from typing import Any, Callable, Dict, List, Optional, Tuple

import jax
import numpy as np
import orbax.checkpoint as ocp

from jitrl.config import ConfigError
from jitrl.training import distributed

CHECKPOINT_SUBDIR = "checkpoints"
DAMAGED_SUFFIX = ".damaged"


def _quiet_abandoned_reads() -> None:
    """After a failed restore, orbax has closed the event loop of that restore while
    tensorstore still completes the other leaves' reads; each then reports "Event loop
    is closed" through ``sys.unraisablehook`` (a traceback per leaf, nothing lost).
    Drop exactly those; every other unraisable exception goes to the previous hook."""
    previous = sys.unraisablehook
    if getattr(previous, "_jitrl_quiet", False):
        return

    def hook(unraisable):
        exc = unraisable.exc_value
        if isinstance(exc, RuntimeError) and str(exc) == "Event loop is closed":
            return
        previous(unraisable)

    hook._jitrl_quiet = True
    sys.unraisablehook = hook


def warn(message: str) -> None:
    """A warning line on stderr (a damaged checkpoint: what, why, what instead)."""
    sys.stderr.write(f"warning: {message}\n")
    sys.stderr.flush()


def latest_run(checkpoint_dir: str) -> str:
    """The run directory under ``checkpoint_dir`` whose newest checkpoint was written
    last (a run is a directory with a ``config.yaml`` and at least one checkpoint step).
    Raises ConfigError naming the directory when it holds none."""
    newest, when = None, None
    root = os.path.abspath(checkpoint_dir)
    names = sorted(os.listdir(root)) if os.path.isdir(root) else []
    for name in names:
        run_dir = os.path.join(root, name)
        ckpts = os.path.join(run_dir, CHECKPOINT_SUBDIR)
        if not (os.path.isfile(os.path.join(run_dir, "config.yaml")) and os.path.isdir(ckpts)):
            continue
        times = [os.path.getmtime(os.path.join(ckpts, d)) for d in os.listdir(ckpts) if d.isdigit()]
        if times and (when is None or max(times) > when):
            newest, when = run_dir, max(times)
    if newest is None:
        why = "holds no run with a checkpoint" if os.path.isdir(root) else "is not a directory"
        raise ConfigError([f"--checkpoint-dir: {checkpoint_dir!r} -- {why}; train one with train_purejaxrl.py "
                           f"or give --checkpoint RUN_DIR"])
    return newest


class CheckpointStore:
    def __init__(self, run_dir: str, keep: int = 3):
        self.directory = os.path.abspath(os.path.join(run_dir, CHECKPOINT_SUBDIR))
        self.primary = distributed.is_primary()
        self._mngr = None
        if self.primary:
            only_this = {}
            if distributed.is_multiprocess():  # orbax's own barriers over process 0 alone
                os.makedirs(self.directory, exist_ok=True)  # (orbax cannot create it then)
                only_this = {"create": False, "multiprocessing_options": ocp.options.MultiprocessingOptions(
                    primary_host=0, active_processes={0})}
            self._mngr = ocp.CheckpointManager(
                self.directory,
                options=ocp.CheckpointManagerOptions(
                    **{"max_to_keep": keep, "enable_async_checkpointing": False, "create": True, **only_this}
                ),
            )

    def latest_step(self) -> Optional[int]:
        mine = self._mngr.latest_step() if self.primary else None
        step = int(distributed.broadcast(np.int64(-1 if mine is None else mine)))
        return None if step < 0 else step

    def path(self, step: int) -> str:
        return os.path.join(self.directory, str(int(step)))

    def save(self, step: int, state: Any, meta: Dict[str, Any]) -> str:
        state = distributed.to_host(state)
        if not self.primary:
            return self.path(step)
        self._mngr.save(
            int(step),
            args=ocp.args.Composite(state=ocp.args.StandardSave(state), meta=ocp.args.JsonSave(meta)),
            force=True,
        )
        self._mngr.wait_until_finished()
        return self.path(step)

    def _read(self, step: int, template: Any) -> Tuple[Any, Dict[str, Any]]:
        abstract = jax.tree_util.tree_map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype), template)
        out = self._mngr.restore(
            int(step),
            args=ocp.args.Composite(state=ocp.args.StandardRestore(abstract), meta=ocp.args.JsonRestore()),
        )
        return out.state, dict(out.meta)

    def restore_newest(self, template: Any, warn: Callable[[str], None] = warn
                       ) -> Tuple[int, Any, Dict[str, Any], List[int]]:
        """``(step, state, meta, damaged)``: the newest checkpoint that reads, restored into
        the structure (and shapes/dtypes) of ``template`` (arrays or ``ShapeDtypeStruct`` s).
        Each newer step that fails to read is reported through ``warn`` (its path and
        why) and listed in ``damaged``. Raises ConfigError when there is no checkpoint or
        none reads (every failure named). In a multi-process run process 0 reads, and
        every process returns its result (``damaged`` only on process 0)."""
        if not distributed.is_multiprocess():
            return self._restore_newest(template, warn)
        found, problems = None, None
        if self.primary:
            try:
                found = self._restore_newest(template, warn)
            except ConfigError as exc:
                problems = exc.problems
        step, elapsed = distributed.broadcast((np.int64(-1 if found is None else found[0]),
                                               np.float64(found[2].get("elapsed_s", 0.0) if found else 0.0)))
        if int(step) < 0:
            raise ConfigError(problems or [f"{self.directory}: process 0 could not restore a checkpoint"])
        host = jax.tree_util.tree_map(lambda x: np.zeros(x.shape, x.dtype), template)
        state = distributed.broadcast(found[1] if found else host)
        meta = found[2] if found else {"update": int(step), "elapsed_s": float(elapsed)}
        return int(step), state, meta, (found[3] if found else [])

    def _restore_newest(self, template: Any, warn: Callable[[str], None]
                        ) -> Tuple[int, Any, Dict[str, Any], List[int]]:
        steps = sorted(self._mngr.all_steps(), reverse=True)
        if not steps:
            raise ConfigError([f"{self.directory}: no checkpoint to restore"])
        failures: List[Tuple[int, str]] = []
        for step in steps:
            try:
                state, meta = self._read(step, template)
            except Exception as exc:  # noqa: BLE001 - orbax/tensorstore raise many types on a damaged file
                _quiet_abandoned_reads()
                failures.append((step, " ".join(f"{type(exc).__name__}: {exc}".split())[:300]))
                continue
            for i, (bad, why) in enumerate(failures):
                older = failures[i + 1][0] if i + 1 < len(failures) else step
                warn(f"checkpoint {self.path(bad)} cannot be read ({why}); falling back to step {older}")
            return step, state, meta, [bad for bad, _ in failures]
        raise ConfigError([f"{self.path(bad)}: cannot be read ({why})" for bad, why in failures]
                          + [f"{self.directory}: no checkpoint can be read"])

    def restore(self, template: Any, step: Optional[int] = None) -> Tuple[Any, Dict[str, Any]]:
        """Restore into the structure (and shapes/dtypes) of ``template``: exactly ``step``,
        or (by default) the newest checkpoint that reads (see :meth:`restore_newest`)."""
        if step is not None:
            return self._read(step, template)
        _, state, meta, _ = self.restore_newest(template)
        return state, meta

    def set_aside(self, step: int) -> str:
        """Rename a damaged step to ``<step>.damaged`` (kept, no longer a checkpoint)."""
        src = self.path(step)
        dst = src + DAMAGED_SUFFIX
        n = 1
        while os.path.exists(dst):
            n += 1
            dst = f"{src}{DAMAGED_SUFFIX}{n}"
        if self.primary:
            os.rename(src, dst)
            self._mngr.reload()
        return dst

    def close(self) -> None:
        if self._mngr is not None:
            self._mngr.close()
