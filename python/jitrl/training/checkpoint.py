"""Orbax checkpoints of the whole ``RunnerState`` (params, optimiser, env
states, RNG keys, update counter), so a resumed run continues bit for bit.

Orbax writes each step into a temporary directory and renames it when
complete, so a crash mid-write never leaves a half checkpoint that a resume
would pick up. Saves are synchronous: when :meth:`save` returns, the
checkpoint is on disk.
"""
from __future__ import annotations

import os
from typing import Any, Dict, Optional, Tuple

import jax
import orbax.checkpoint as ocp

CHECKPOINT_SUBDIR = "checkpoints"


class CheckpointStore:
    def __init__(self, run_dir: str, keep: int = 3):
        self.directory = os.path.abspath(os.path.join(run_dir, CHECKPOINT_SUBDIR))
        self._mngr = ocp.CheckpointManager(
            self.directory,
            options=ocp.CheckpointManagerOptions(
                max_to_keep=keep, enable_async_checkpointing=False, create=True
            ),
        )

    def latest_step(self) -> Optional[int]:
        return self._mngr.latest_step()

    def save(self, step: int, state: Any, meta: Dict[str, Any]) -> str:
        state = jax.device_get(state)
        self._mngr.save(
            int(step),
            args=ocp.args.Composite(state=ocp.args.StandardSave(state), meta=ocp.args.JsonSave(meta)),
            force=True,
        )
        self._mngr.wait_until_finished()
        return os.path.join(self.directory, str(int(step)))

    def restore(self, template: Any, step: Optional[int] = None) -> Tuple[Any, Dict[str, Any]]:
        """Restore into the structure (and shapes/dtypes) of ``template`` (arrays or ``ShapeDtypeStruct`` s)."""
        step = self.latest_step() if step is None else step
        if step is None:
            raise FileNotFoundError(f"no checkpoint in {self.directory}")
        abstract = jax.tree_util.tree_map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype), template)
        out = self._mngr.restore(
            step,
            args=ocp.args.Composite(state=ocp.args.StandardRestore(abstract), meta=ocp.args.JsonRestore()),
        )
        return out.state, dict(out.meta)

    def close(self) -> None:
        self._mngr.close()
