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

import contextlib
import errno
import logging
import os
import shutil
import sys
from typing import Any, Callable, Dict, List, Optional, Tuple

import jax
import numpy as np
import orbax.checkpoint as ocp

from jitrl.config import ConfigError
from jitrl.training import distributed

CHECKPOINT_SUBDIR = "checkpoints"
DAMAGED_SUFFIX = ".damaged"
#: what orbax puts in the name of a step folder it is still writing, and the file that marks one complete
TMP_MARK = "orbax-checkpoint-tmp"
COMMIT_FILE = "commit_success.txt"


class CheckpointWriteError(OSError):
    """A checkpoint that could not be written (its partial folder removed): one line naming
    the step, why, and the newest checkpoint that is still there."""

    def __init__(self, step: int, directory: str, kept: Optional[int], cause: BaseException):
        why = " ".join(str(getattr(cause, "strerror", None) or cause).split())[:200]
        if "No space left" in str(cause):
            why = "No space left on device"
        kept_text = f"the last good checkpoint, step {kept}, is kept" if kept is not None else "no checkpoint is kept"
        super().__init__(errno.EIO, f"checkpoint {step} could not be written to {directory} ({why}); the partial "
                                    f"checkpoint was removed and {kept_text}; free space or fix the folder, then "
                                    f"--resume the run")


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


def _is_closed_loop(exc: BaseException) -> bool:
    return isinstance(exc, RuntimeError) and str(exc) == "Event loop is closed"


@contextlib.contextmanager
def _quiet_failing_write():
    """While a save runs: orbax logs a failed write of each leaf through absl (ERROR lines
    with tracebacks) and, once it has closed that save's event loop, tensorstore's late
    completions print "Event loop is closed" through ``sys.excepthook`` (also after the save
    returns). The failure itself is raised to the caller (one line); these echoes are
    dropped, every other exception is still printed."""
    _quiet_abandoned_reads()
    if not getattr(sys.excepthook, "_jitrl_quiet", False):
        previous = sys.excepthook

        def hook(kind, exc, tb):
            if not _is_closed_loop(exc):
                previous(kind, exc, tb)

        hook._jitrl_quiet = True
        sys.excepthook = hook
    absl = logging.getLogger("absl")
    level = absl.level
    absl.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        absl.setLevel(level)


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
        """Write ``step``; when that fails (disk full, folder gone read-only, ...) the
        partial write is removed, older checkpoints are untouched, and
        :class:`CheckpointWriteError` says so in one line."""
        state = distributed.to_host(state)
        if not self.primary:
            return self.path(step)
        try:
            with _quiet_failing_write():
                self._save(step, state, meta)
        except BaseException as exc:
            self._remove_partial(step)
            if not isinstance(exc, Exception):  # KeyboardInterrupt, SystemExit
                raise
            raise CheckpointWriteError(step, self.directory, self.latest_good(), exc) from None
        return self.path(step)

    def _save(self, step: int, state: Any, meta: Dict[str, Any]) -> None:
        self._mngr.save(
            int(step),
            args=ocp.args.Composite(state=ocp.args.StandardSave(state), meta=ocp.args.JsonSave(meta)),
            force=True,
        )
        self._mngr.wait_until_finished()

    def latest_good(self) -> Optional[int]:
        """The newest complete step on disk (after a reload), or None."""
        try:
            self._mngr.reload()
        except Exception:  # noqa: BLE001 - a listing that fails leaves nothing to name
            return None
        return self._mngr.latest_step()

    def _remove_partial(self, step: int) -> None:
        """Remove the temporary folder (and an uncommitted ``<step>`` folder) of a failed save."""
        if not os.path.isdir(self.directory):
            return
        for name in os.listdir(self.directory):
            full = os.path.join(self.directory, name)
            partial = name.startswith(f"{int(step)}.") and TMP_MARK in name
            uncommitted = name == str(int(step)) and not os.path.exists(os.path.join(full, COMMIT_FILE))
            if partial or uncommitted:
                shutil.rmtree(full, ignore_errors=True)

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
        for name in sorted(os.listdir(self.directory)) if os.path.isdir(self.directory) else []:
            if TMP_MARK in name:  # a save cut short by a crash (kill -9, power loss): never a checkpoint
                shutil.rmtree(os.path.join(self.directory, name), ignore_errors=True)
                warn(f"removed {os.path.join(self.directory, name)}, a checkpoint whose writing was cut short")
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
