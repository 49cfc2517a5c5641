"""Optional Weights & Biases logging, beside TensorBoard (``--wandb``).

The run logger (:mod:`jitrl.training.runlog`) hands every record to
:class:`WandbRun` with the same metric names as its TensorBoard tags and the
same x axis (``env_steps`` of one seed, as wandb's ``step``); the resolved
config (every spec key, :func:`jitrl.config.flat_values`) is the wandb run's
config, and the final policy's replay GIF is logged as a video under the same
tag as in TensorBoard. ``wandb`` is an optional extra (``pip install -e
'.[wandb]'``): a run asking for it without the package stops before training
with one message. ``WANDB_MODE=offline`` writes the run under
``<run_dir>/wandb/`` with no network (``wandb sync`` uploads it later).

A resumed run continues the same wandb run: its id is kept in
``<run_dir>/wandb_id``. (wandb ignores the records a resumed run re-logs for
steps it has already seen.)
"""
from __future__ import annotations

import os
import uuid
from typing import Any, Dict, Optional

from jitrl.common.files import atomic_write
from jitrl.config import ConfigError, ResolvedConfig, flat_values

ID_FILE = "wandb_id"
#: the project a run goes to when ``wandb_project`` is not given
DEFAULT_PROJECT = "jitrl"


def require(cfg: ResolvedConfig) -> None:
    """Raise ConfigError (one line) when the config asks for wandb and it is not installed."""
    if not cfg.run.wandb:
        return
    try:
        import wandb  # noqa: F401  (optional dependency)
    except ImportError:
        raise ConfigError(["wandb: true -- the wandb package is not installed; install it with "
                           "pip install -e '.[wandb]' (or pip install wandb), or leave out --wandb"]) from None


class WandbRun:
    """One wandb run of a training run (see the module docstring)."""

    def __init__(self, run_dir: str, config: Dict[str, Any], project: Optional[str], entity: Optional[str],
                 name: str, resume: bool):
        import wandb  # optional dependency, checked by require()

        self._wandb = wandb
        self.run_dir = run_dir
        id_path = os.path.join(run_dir, ID_FILE)
        run_id = None
        if resume and os.path.isfile(id_path):
            with open(id_path) as fh:
                run_id = fh.read().strip() or None
        run_id = run_id or uuid.uuid4().hex[:12]
        atomic_write(id_path, run_id + "\n")
        self._run = wandb.init(project=project or DEFAULT_PROJECT, entity=entity, name=name, id=run_id,
                               resume="allow", dir=run_dir, config=config, reinit="create_new",
                               settings=wandb.Settings(silent=True, console="off"))

    def log(self, scalars: Dict[str, float], step: int) -> None:
        self._run.log(dict(scalars), step=int(step))

    def add_gif(self, tag: str, gif_bytes: bytes, step: int) -> None:
        path = os.path.join(self.run_dir, "wandb", tag.replace("/", "_") + ".gif")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        atomic_write(path, gif_bytes)
        self._run.log({tag: self._wandb.Video(path, format="gif")}, step=int(step))

    def close(self) -> None:
        """Finish the run, then shut wandb's service down: ``finish()`` alone can return
        before the service has written the run's records (an offline run's ``.wandb`` file
        was seen holding only its header, 1 time in 4 on a loaded 2-core machine), and the
        ``atexit`` teardown that would wait for it does not run after a Ctrl-C, whose process
        ends with ``os._exit`` (:func:`jitrl.cli.common.exit_with`). ``teardown()`` waits until
        everything is written (or uploaded)."""
        self._run.finish()
        self._wandb.teardown()


def open_wandb(cfg: ResolvedConfig, run_dir: str, resume: bool) -> Optional[WandbRun]:
    """The wandb run of a training run, or None when ``wandb`` is off."""
    if not cfg.run.wandb:
        return None
    require(cfg)
    return WandbRun(run_dir, flat_values(cfg), cfg.run.wandb_project, cfg.run.wandb_entity,
                    name=cfg.run.run_name, resume=resume)
