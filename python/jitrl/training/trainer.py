"""The host loop: build the jitted program, run it chunk by chunk, and between
chunks log, checkpoint, watch for NaN, Ctrl-C and early-stop requests.

A chunk is ``log_interval`` updates compiled as one ``lax.scan`` inside one
``jit`` (vmapped over seeds, the runner state donated), so the host touches
the device once per log line. Chunk boundaries are multiples of
``log_interval`` counted from update 0, so a run resumed from a checkpoint
replays exactly the programs an uninterrupted run executes: on CPU the
result is bitwise identical.

:meth:`Trainer.run` is five steps: open the run directory, start (fresh, or
from the newest readable checkpoint), train chunk by chunk, finish (the
final message and the replay), close (TensorBoard hparams, files).
"""
from __future__ import annotations

import dataclasses
import json
import os
import time
from typing import Any, Callable, Dict, List, Optional, Sequence

import jax
import jax.numpy as jnp

from jitrl.common.files import atomic_write, unwritable
from jitrl.config import ConfigError, ResolvedConfig, flat_values, to_yaml
from jitrl.ppo.state import HParams, RunnerState
from jitrl.training import devices, distributed, interrupts, memory, progress
from jitrl.training import resume as resume_check
from jitrl.training.checkpoint import CHECKPOINT_SUBDIR, CheckpointStore, warn
from jitrl.training.metrics import chunk_record, first_nonfinite
from jitrl.training.program import build_program, seed_hparams
from jitrl.training.replay import final_policy_replay, gif_bytes
from jitrl.training.runlog import RunLogger, truncate_metrics
from jitrl.training.schedule import CheckpointSchedule
from jitrl.training.wandb_log import open_wandb, require as require_wandb

CONFIG_FILE = "config.yaml"
REPLAY_FILE = "replay.gif"
#: metrics written beside the hyperparameters at the end of a run (with the declared ``hparam`` ones)
HEADLINE = ("mean_episode_return", "mean_episode_length", "entropy", "approx_kl")
#: spec keys left out of the TensorBoard hparams (paths, names, free text; env params go one by one)
_NOT_HPARAMS = ("env.params", "run_name", "checkpoint_dir", "description")

#: ``callback(record) -> None | str``: a string stops the run, with that reason.
Callback = Callable[[Dict[str, Any]], Optional[str]]


@dataclasses.dataclass
class TrainResult:
    run_dir: str
    state: Any  # host copy of the final RunnerState ([num_seeds, ...])
    records: List[Dict[str, Any]]
    stop_reason: str  # done | paused | interrupted | nan | early-stop: <why>
    compile_s: float
    last_checkpoint: Optional[int]

    @property
    def ok(self) -> bool:
        return self.stop_reason in ("done", "paused") or self.stop_reason.startswith("early-stop")


@dataclasses.dataclass
class _Progress:
    """Where a run stands between the steps of :meth:`Trainer.run`."""

    rs: RunnerState
    start: int  # update the run (or this resumption) began at
    update: int
    stop_at: int
    elapsed0: float  # wall seconds of earlier sessions of this run
    last_ckpt: Optional[int]
    t_run: float = 0.0
    stop: str = "done"
    records: List[Dict[str, Any]] = dataclasses.field(default_factory=list)


class Trainer:
    """One training run of a resolved config.

    ``hparams`` (optional) gives per-seed float hyperparameters (an
    ``HParams`` with a leading axis) -- sweeps pass one row per variant x
    seed; by default every seed uses the config's values.
    ``initial_params`` (optional) starts every seed from these network
    parameters (curriculum transfer); the optimiser starts fresh.
    """

    def __init__(
        self,
        cfg: ResolvedConfig,
        *,
        hparams: Optional[HParams] = None,
        initial_params: Any = None,
        callbacks: Sequence[Callback] = (),
        quiet: bool = False,
    ):
        devices.maybe_init_distributed()
        require_wandb(cfg)
        self.cfg = cfg
        self.num_updates = cfg.num_updates()
        self.env, self.env_params, self.network, self.program = build_program(cfg, self.num_updates)
        #: declared metrics (TensorBoard tags, console columns, headline figures)
        self.metrics = tuple(self.env.metrics) + tuple(self.program.acting.metrics)
        self.hparams = hparams if hparams is not None else seed_hparams(cfg, cfg.run.num_seeds)
        self.num_seeds = int(jax.tree_util.tree_leaves(self.hparams)[0].shape[0])
        memory.check(cfg, self.num_seeds)  # before anything is allocated: too large a batch would hang XLA
        self.initial_params = initial_params
        self.callbacks = list(callbacks)
        self.quiet = quiet
        self.run_dir = os.path.join(cfg.run.checkpoint_dir, cfg.run.run_name)
        self.mesh = devices.make_mesh(cfg.ppo.num_envs)
        self._compiled: Dict[int, Any] = {}
        self._progress: Optional[progress.Progress] = None  # the host side of the per-update callback
        self.compile_s = 0.0
        run = cfg.run
        self.schedule = CheckpointSchedule(run.checkpoint_interval, run.log_interval, self.num_updates,
                                           run.checkpoint_minutes)

    # -- building blocks ---------------------------------------------------------------
    def init_state(self) -> RunnerState:
        keys = jax.random.split(jax.random.PRNGKey(self.cfg.run.seed), self.num_seeds)
        # lax.map, not vmap: a vmapped init batches the orthogonal initialiser's QR
        # factorisations, and jaxlib's batched LAPACK QR (ParallelBatchMap) deadlocked
        # the CPU thread pool at random (gdb: workers parked in lapack_sgeqrf_ffi).
        rs = jax.jit(lambda k, h: jax.lax.map(lambda a: self.program.init(*a), (k, h)))(keys, self.hparams)
        if self.initial_params is not None:
            params = jax.tree_util.tree_map(
                lambda p, q: jnp.broadcast_to(jnp.asarray(q, p.dtype), p.shape), rs.params, self.initial_params
            )
            rs = rs.replace(params=params, opt_state=jax.vmap(self.program.optimizer.init)(params))
        return devices.shard_state(rs, self.mesh)

    def chunk_fn(self, n_updates: int, rs: RunnerState):
        """The compiled program for ``n_updates`` updates (compiled once per size)."""
        if n_updates not in self._compiled:
            fn = jax.jit(jax.vmap(lambda r: self.program.run_chunk(r, n_updates, on_update=self._emit_progress)),
                         donate_argnums=0)
            t0 = time.perf_counter()
            self._compiled[n_updates] = fn.lower(rs).compile()
            self.compile_s += time.perf_counter() - t0
        return self._compiled[n_updates]

    def _emit_progress(self, rs: RunnerState, metrics: Dict[str, jax.Array]) -> None:
        """Traced after each update of a chunk: its scalars to the host (:mod:`jitrl.training.progress`)."""
        progress.emit(rs.update, metrics, self._on_progress)

    def _on_progress(self, update, values) -> None:
        if self._progress is not None:
            self._progress(update, values)

    def _chunk_size(self, update: int) -> int:
        li = self.cfg.run.log_interval
        return min(li - update % li, self.num_updates - update)

    def _checkpoint_due(self, update: int) -> bool:
        return self.schedule.due(update)

    # -- the run, in five steps -------------------------------------------------------
    def run(self, resume: bool = False, max_updates: Optional[int] = None) -> TrainResult:
        """Train to ``total_timesteps`` (or ``max_updates`` more updates, then save
        and return with ``stop_reason='paused'``). A fresh run that fails or is
        interrupted before its first checkpoint leaves no run folder."""
        self._open_run_dir(resume)
        try:
            return self._run(resume, max_updates)
        except BaseException:
            if not resume:
                interrupts.discard_unstarted(self.run_dir, os.path.join(self.run_dir, CHECKPOINT_SUBDIR))
            raise

    def _run(self, resume: bool, max_updates: Optional[int]) -> TrainResult:
        store = CheckpointStore(self.run_dir, keep=self.cfg.run.keep_checkpoints)
        try:
            p = self._start(store, resume, max_updates)
        except BaseException:
            store.close()
            raise
        log = self._open_log(p, resume)
        try:
            self._train(p, store, log)
            self._finish(p, log)
        finally:
            self._close(p, log, store)
        return TrainResult(self.run_dir, distributed.to_host(p.rs) if p.stop != "nan" else None, p.records, p.stop,
                           self.compile_s, p.last_ckpt)

    def _open_run_dir(self, resume: bool) -> None:
        """Step 1: the run directory (never over another run) and its ``config.yaml`` (process 0's)."""
        if not distributed.is_primary():
            return
        if os.path.isdir(self.run_dir) and not resume and os.listdir(self.run_dir):
            raise ConfigError([
                f"run_name: {self.cfg.run.run_name!r} -- {self.run_dir} already holds a run; "
                f"resume it with --resume {self.run_dir} or choose another --run-name"
            ])
        why = unwritable(self.run_dir)
        if why:
            raise ConfigError([f"checkpoint_dir: {self.cfg.run.checkpoint_dir!r} -- {why}; give --checkpoint-dir a "
                               f"folder this user can write"])
        os.makedirs(self.run_dir, exist_ok=True)
        if not resume:
            atomic_write(os.path.join(self.run_dir, CONFIG_FILE), to_yaml(self.cfg))

    def _start(self, store: CheckpointStore, resume: bool, max_updates: Optional[int]) -> _Progress:
        """Step 2: a fresh runner state, or the newest checkpoint that reads (a damaged
        newer one is named, set aside and skipped); metrics past it are dropped."""
        rs = self.init_state()
        elapsed0, last_ckpt = 0.0, None
        if resume:
            if store.latest_step() is None:
                raise ConfigError([f"resume: {self.run_dir} -- has no checkpoint to resume from"])
            step, host_state, meta, damaged = store.restore_newest(rs, warn=warn)
            resume_check.check(self.cfg, meta, host_state, rs, self.run_dir)
            resume_check.record_changes(self.cfg, self.run_dir)
            for bad in damaged:
                warn(f"set the damaged checkpoint aside as {store.set_aside(bad)}; resuming from step {step}")
            rs = devices.shard_state(jax.tree_util.tree_map(jnp.asarray, host_state), self.mesh)
            elapsed0 = float(meta.get("elapsed_s", 0.0))
            last_ckpt = step
            if distributed.is_primary():
                truncate_metrics(self.run_dir, step)
        start = int(jax.device_get(rs.update).reshape(-1)[0])
        stop_at = self.num_updates if max_updates is None else min(self.num_updates, start + max_updates)
        return _Progress(rs=rs, start=start, update=start, stop_at=stop_at, elapsed0=elapsed0, last_ckpt=last_ckpt)

    def _open_log(self, p: _Progress, resume: bool) -> RunLogger:
        total_steps = self.num_updates * self.cfg.ppo.batch_size
        log = RunLogger(self.run_dir, self.num_updates, total_steps, start_update=p.start, quiet=self.quiet,
                        hparams=json.loads(json.dumps(dict(self.cfg.sources), default=str)), metrics=self.metrics,
                        wandb=open_wandb(self.cfg, self.run_dir, resume) if distributed.is_primary() else None,
                        primary=distributed.is_primary())
        if resume:
            log.message(f"Resumed {self.run_dir} at update {p.start}/{self.num_updates}")
        return log

    def _train(self, p: _Progress, store: CheckpointStore, log: RunLogger) -> None:
        """Step 3: chunk after chunk until done, paused, NaN, Ctrl-C or an early stop."""
        p.t_run = time.perf_counter()
        self.schedule.start()
        self._progress = progress.Progress(log.message, self.num_updates, self.cfg.ppo.batch_size, self.num_seeds,
                                           self.cfg.run.progress_seconds)
        with interrupts.Latch() as latch:
            while p.update < p.stop_at:
                rec = self._run_chunk(p, log)
                if rec is None:  # NaN: nothing of this chunk is kept
                    break
                reason = None
                for cb in self.callbacks:
                    reason = reason or cb(rec)
                if reason:
                    p.stop = f"early-stop: {reason}"
                    log.message(f"Stopping early: {reason}")
                if latch.hit:
                    p.stop = "interrupted"
                self._maybe_save(p, store, log)
                if p.stop != "done":
                    if p.stop == "interrupted":
                        log.message(f"Interrupted: saved at update {p.update}; continue with --resume {self.run_dir}")
                    break

    def _run_chunk(self, p: _Progress, log: RunLogger) -> Optional[Dict[str, Any]]:
        """One compiled chunk; its log record, or None (and ``stop='nan'``) when it went non-finite."""
        n = min(self._chunk_size(p.update), p.stop_at - p.update)
        fn = interrupts.compile_interruptibly(lambda: self.chunk_fn(n, p.rs), stop_on_ctrl_c=p.update == p.start)
        if p.update == p.start:
            log.message(f"Compiled the training chunk ({n} updates) in {self.compile_s:.1f} s")
        self._progress.start_chunk(p.update, p.update + n)
        t0 = time.perf_counter()
        p.rs, metrics = fn(p.rs)
        interrupts.wait_ready(metrics)
        metrics = distributed.to_host(metrics)
        dt = time.perf_counter() - t0
        bad = first_nonfinite(metrics)
        if bad is not None:
            seed, off = bad
            where = f"{self.run_dir}/checkpoints/{p.last_ckpt}" if p.last_ckpt is not None else "none yet"
            log.message(
                f"NaN/inf in the loss or parameters at update {p.update + off + 1} (seed {seed}): "
                f"stopping without saving this state. Last good checkpoint: {where}. "
                f"Lower the learning rate or check the env's rewards/observations."
            )
            p.stop = "nan"
            return None
        p.update += n
        batch = self.cfg.ppo.batch_size
        rec = {
            "update": p.update,
            "env_steps": p.update * batch,
            "sps": n * batch * self.num_seeds / max(dt, 1e-9),
            "elapsed_s": p.elapsed0 + time.perf_counter() - p.t_run,
            **chunk_record(metrics),
        }
        log.log(rec)
        self._progress.chunk_logged()
        p.records.append(rec)
        return rec

    def _maybe_save(self, p: _Progress, store: CheckpointStore, log: RunLogger) -> None:
        """A checkpoint when due, at the end, and whenever the run stops."""
        last = p.stop != "done" or p.update >= p.stop_at
        if not (self._checkpoint_due(p.update) or last):
            return
        meta = {"update": p.update, "env_steps": p.update * self.cfg.ppo.batch_size,
                "elapsed_s": p.records[-1]["elapsed_s"], resume_check.CONFIG_META: resume_check.config_record(self.cfg)}
        with interrupts.saving():
            path = store.save(p.update, p.rs, meta)
        self.schedule.saved()
        p.last_ckpt = p.update
        if last:
            log.message(f"Saved checkpoint {path}")

    def _finish(self, p: _Progress, log: RunLogger) -> None:
        """Step 4: ``paused`` short of the budget; the final message and the replay."""
        if p.stop == "done" and p.update < self.num_updates:
            p.stop = "paused"
        if p.stop == "done":
            log.message(f"Done: {p.update} updates, {p.update * self.cfg.ppo.batch_size} env steps per seed, "
                        f"run in {self.run_dir}")
        if p.stop == "done" or p.stop.startswith("early-stop"):
            self._write_replay(p.rs, log, p.update * self.cfg.ppo.batch_size)

    def _write_replay(self, rs: RunnerState, log: RunLogger, step: int) -> None:
        """The final policy (seed 0, greedy) playing one episode, as replay.gif and in TensorBoard."""
        params = jax.tree_util.tree_map(lambda x: x[0], distributed.to_host(rs.params))
        if not distributed.is_primary():
            return
        frames = final_policy_replay(self.env, self.env_params, self.network, params,
                                     self.cfg.run.replay_steps, seed=self.cfg.run.seed)
        if not frames:
            return
        data = gif_bytes(frames, fps=4.0)
        path = os.path.join(self.run_dir, REPLAY_FILE)
        atomic_write(path, data)
        h, w = frames[0].shape[:2]
        log.add_gif("replay/final_policy", data, h, w, step)
        log.message(f"Wrote the final policy's replay ({len(frames)} frames): {path}")

    def _close(self, p: _Progress, log: RunLogger, store: CheckpointStore) -> None:
        """Step 5: the hyperparameters as TensorBoard hparams with the final metrics; close files."""
        try:
            if p.records:
                cfg = self.cfg
                hp = {k: v for k, v in flat_values(cfg).items() if k not in _NOT_HPARAMS}
                hp.update({f"env.{k}": (v if isinstance(v, (int, float, str, bool)) else str(v))
                           for k, v in cfg.env.params})
                headline = HEADLINE + tuple(m.logged_name for m in self.metrics if m.hparam)
                log.add_hparams(hp, {k: p.records[-1].get(k) for k in headline})
        finally:
            log.close()
            store.close()
