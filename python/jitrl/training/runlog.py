"""Where a run's metrics go: ``metrics.jsonl``, TensorBoard and the console.

``metrics.jsonl`` gets one JSON object per logged update (``update``,
``env_steps``, ``sps``, ``elapsed_s`` and every metric of
:func:`jitrl.training.metrics.chunk_record`). ``env_steps`` counts the steps
of one seed (the x axis of a learning curve); ``sps`` counts the steps of all
seeds per second of wall time (the throughput).
"""
from __future__ import annotations

import json
import math
import os
import sys
from typing import Any, Dict, Optional, Sequence, Tuple

from jitrl.common.files import atomic_write
from jitrl.config import ConfigError
from jitrl.training.wandb_log import WandbRun

METRICS_FILE = "metrics.jsonl"
TB_DIR = "tb"


def _json_safe(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, list):
        return [_json_safe(x) for x in v]
    return v


def read_metrics(run_dir: str):
    """The records of ``metrics.jsonl`` (none when it is missing). A last line without
    its newline is a write torn by a crash and is dropped (a resume re-logs it); any
    other line that is not a JSON record raises ConfigError naming the file and line."""
    path = os.path.join(run_dir, METRICS_FILE)
    if not os.path.exists(path):
        return []
    with open(path, "rb") as fh:
        lines = fh.read().split(b"\n")
    out = []
    for i, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        try:
            rec = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            if i == len(lines):  # no newline after it: torn by a crash mid-write
                break
            raise ConfigError([f"{path}: line {i}: not a JSON record ({exc}); the file is damaged -- "
                               f"delete or repair that line"]) from None
        if not isinstance(rec, dict) or "update" not in rec:
            raise ConfigError([f"{path}: line {i}: {raw[:60]!r} -- a JSON object with update, env_steps, ..."])
        out.append(rec)
    return out


def truncate_metrics(run_dir: str, last_update: int) -> None:
    """Drop records past ``last_update`` (a resumed run re-logs them); atomic rewrite."""
    path = os.path.join(run_dir, METRICS_FILE)
    if not os.path.exists(path):
        return
    keep = [r for r in read_metrics(run_dir) if r["update"] <= last_update]
    atomic_write(path, "".join(json.dumps(r) + "\n" for r in keep))


def format_line(rec: Dict[str, Any], num_updates: int, total_steps: int,
                console: Sequence[Tuple[str, str]] = ()) -> str:
    """The console line of a record; ``console`` adds ``(metric, format)`` pairs
    (declared by the env and the acting distribution)."""
    def f(name, fmt):
        v = rec.get(name)
        return "n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else format(v, fmt)

    line = (
        f"Update {rec['update']}/{num_updates} | Step {rec['env_steps']}/{total_steps} | "
        f"SPS {rec['sps']:,.0f} | return {f('mean_episode_return', '.2f')} | "
        f"length {f('mean_episode_length', '.1f')} | KL {f('approx_kl', '.4f')} | "
        f"clip {f('clip_frac', '.3f')} | entropy {f('entropy', '.2f')}"
    )
    for name, fmt in console:
        if name in rec:
            line += f" | {name.upper()} {f(name, fmt)}"
    return line


class RunLogger:
    """Writes records to metrics.jsonl and TensorBoard, lines to the console.

    ``metrics`` are the declared :class:`~jitrl.envs.contract.Metric` s of the
    env and the acting distribution: their TensorBoard tags and console columns.
    Every other scalar is logged as ``train/<name>``. ``wandb`` (a
    :class:`~jitrl.training.wandb_log.WandbRun`, optional) gets the same scalars
    under the same names and steps, and the same GIFs. ``primary=False`` (processes
    other than 0 of a multi-process run) writes nothing and prints nothing."""

    def __init__(self, run_dir: str, num_updates: int, total_steps: int, start_update: int = 0,
                 quiet: bool = False, hparams: Optional[Dict[str, Any]] = None, metrics: Sequence[Any] = (),
                 wandb: Optional[WandbRun] = None, primary: bool = True):
        self.run_dir = run_dir
        self._wandb = wandb
        self.primary = primary
        self.tags = {m.logged_name: m.tb_tag for m in metrics}
        self.console = tuple((m.logged_name, m.console) for m in metrics if m.console)
        self.num_updates = num_updates
        self.total_steps = total_steps
        self.quiet = quiet or not primary
        self._jsonl = open(os.path.join(run_dir, METRICS_FILE), "a") if primary else None
        self._tb = self._open_tensorboard(hparams if start_update == 0 else None) if primary else None
        self._bar = None
        if not self.quiet:
            from tqdm import tqdm

            self._bar = tqdm(total=num_updates, initial=start_update, unit="upd", dynamic_ncols=True,
                             file=sys.stderr, leave=False,
                             disable=not sys.stderr.isatty())

    def _open_tensorboard(self, hparams: Optional[Dict[str, Any]]):
        try:
            from tensorboardX import SummaryWriter
        except ImportError:  # pragma: no cover - tensorboardX is a core dependency
            return None
        tb = SummaryWriter(os.path.join(self.run_dir, TB_DIR))
        if hparams:
            tb.add_text("config/hparams", json.dumps(hparams, indent=1, default=str), 0)
        return tb

    def message(self, text: str) -> None:
        if self.quiet:
            return
        if self._bar is not None:
            self._bar.write(text)
        else:
            print(text, flush=True)

    def log(self, rec: Dict[str, Any]) -> None:
        if not self.primary:
            return
        self._jsonl.write(json.dumps({k: _json_safe(v) for k, v in rec.items()}) + "\n")
        self._jsonl.flush()
        step = int(rec["env_steps"])
        scalars = {self.tags.get(k, f"train/{k}"): v for k, v in rec.items()
                   if isinstance(v, (int, float)) and k not in ("update", "env_steps") and math.isfinite(v)}
        if self._tb is not None:
            for tag, v in scalars.items():
                self._tb.add_scalar(tag, v, step)
            self._tb.flush()
        if self._wandb is not None:
            self._wandb.log(scalars, step)
        if self._bar is not None:
            self._bar.n = rec["update"]
            self._bar.refresh()
        self.message(format_line(rec, self.num_updates, self.total_steps, self.console))

    def add_hparams(self, hparams: Dict[str, Any], metrics: Dict[str, Any]) -> None:
        """The run's hyperparameters (scalars/strings) with its final metrics, for
        TensorBoard's HPARAMS tab (written under ``tb/hparams``)."""
        if self._tb is None:
            return
        hp = {k: (v if isinstance(v, (int, float, str, bool)) else str(v)) for k, v in hparams.items()}
        mt = {f"hparam/{k}": float(v) for k, v in metrics.items()
              if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)}
        try:
            self._tb.add_hparams(hp, mt, name="hparams")
        except Exception as exc:  # pragma: no cover - a TensorBoard quirk must never fail a run
            self.message(f"(could not write TensorBoard hparams: {exc})")

    def add_gif(self, tag: str, gif_bytes: bytes, height: int, width: int, step: int) -> None:
        """An animated GIF as a TensorBoard image (the image dashboard plays it), and in wandb."""
        if self._wandb is not None:
            self._wandb.add_gif(tag, gif_bytes, step)
        if self._tb is None:
            return
        from tensorboardX.proto.summary_pb2 import Summary

        image = Summary.Image(height=height, width=width, colorspace=3, encoded_image_string=gif_bytes)
        self._tb._get_file_writer().add_summary(Summary(value=[Summary.Value(tag=tag, image=image)]), step)
        self._tb.flush()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
        if self._jsonl is not None:
            self._jsonl.close()
        if self._tb is not None:
            self._tb.close()
        if self._wandb is not None:
            self._wandb.close()
