"""Ctrl-C in every phase of a run.

* Training: the first Ctrl-C asks the loop to save and stop after the running
  chunk; a second one stops at once (the last checkpoint is kept).
* Saving: Ctrl-C never interrupts a checkpoint being written; it prints
  "saving, please wait" and the run stops once the save is on disk.
* Compiling, and waiting for a chunk on the device: the main thread waits in
  short polls (compilation runs in a worker thread), so Python sees Ctrl-C at
  once instead of when XLA returns. Ctrl-C while the first chunk compiles
  stops the run: nothing has been trained since its start, so nothing is lost.
* A fresh run that stops (Ctrl-C or any error) before its first checkpoint
  leaves no run folder behind (:func:`discard_unstarted`).
"""
from __future__ import annotations

import os
import shutil
import signal
import sys
import threading
import time
from typing import Any, Callable, Optional

import jax

#: seconds between polls while the main thread waits on XLA
POLL_S = 0.05


class Interrupted(KeyboardInterrupt):
    """A Ctrl-C that stopped the run; ``str()`` says what was kept."""


class Latch:
    """The SIGINT handler of a training loop (a context manager; the active one is
    :func:`active`)."""

    _active: Optional["Latch"] = None

    def __init__(self):
        self.hit = False
        self.saving = False
        self._old = None

    def __enter__(self):
        try:
            self._old = signal.signal(signal.SIGINT, self._handle)
        except ValueError:  # not the main thread: Ctrl-C stays Python's default
            self._old = None
        Latch._active = self
        return self

    def _handle(self, signum, frame):
        if self.saving:
            sys.stderr.write("saving a checkpoint, please wait (the run stops once it is on disk)\n")
            sys.stderr.flush()
            self.hit = True
            return
        if self.hit:
            raise Interrupted("interrupted (second Ctrl-C): stopped at once; the last checkpoint is kept")
        self.hit = True

    def __exit__(self, *exc):
        Latch._active = None
        if self._old is not None:
            signal.signal(signal.SIGINT, self._old)
        return False


def active() -> Optional[Latch]:
    return Latch._active


class saving:
    """``with saving(): store.save(...)`` -- Ctrl-C waits for the save (see :class:`Latch`)."""

    def __enter__(self):
        latch = active()
        if latch is not None:
            latch.saving = True
        return self

    def __exit__(self, *exc):
        latch = active()
        if latch is not None:
            latch.saving = False
        return False


def compile_interruptibly(compile_fn: Callable[[], Any], stop_on_ctrl_c: bool) -> Any:
    """``compile_fn()`` in a worker thread while the main thread polls, so Ctrl-C is seen
    during XLA compilation. With ``stop_on_ctrl_c`` (nothing trained yet) a Ctrl-C raises
    :class:`Interrupted` at once (the compile thread is abandoned); otherwise the compile
    finishes and the loop stops after the chunk as usual."""
    out: dict = {}

    def work():
        try:
            out["value"] = compile_fn()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the main thread
            out["error"] = exc

    t = threading.Thread(target=work, name="jitrl-compile", daemon=True)
    t.start()
    while t.is_alive():
        t.join(POLL_S)
        latch = active()
        if stop_on_ctrl_c and latch is not None and latch.hit:
            raise Interrupted("interrupted while compiling: nothing had been trained since the start, so nothing "
                              "was lost")
    if "error" in out:
        raise out["error"]
    return out["value"]


def wait_ready(tree: Any) -> None:
    """Return once every array of ``tree`` is computed, polling (Ctrl-C is seen meanwhile)."""
    leaves = [x for x in jax.tree_util.tree_leaves(tree) if hasattr(x, "is_ready")]
    while not all(x.is_ready() for x in leaves):
        time.sleep(POLL_S)


def discard_unstarted(run_dir: str, checkpoint_dir: str) -> bool:
    """Remove a fresh run's folder when it holds no checkpoint (the run stopped before its
    first save, so nothing in it can be resumed); True when removed."""
    if os.path.isdir(checkpoint_dir) and any(n.isdigit() for n in os.listdir(checkpoint_dir)):
        return False
    shutil.rmtree(run_dir, ignore_errors=True)
    return True
