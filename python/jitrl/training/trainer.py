"""The host loop: build the jitted program, run it chunk by chunk, and between
chunks log, checkpoint, watch for NaN, Ctrl-C and early-stop requests.

A chunk is ``log_interval`` updates compiled as one ``lax.scan`` inside one
``jit`` (vmapped over seeds, the runner state donated), so the host touches
the device once per log line. Chunk boundaries are multiples of
``log_interval`` counted from update 0, so a run resumed from a checkpoint
replays exactly the programs an uninterrupted run executes: on CPU the
result is bitwise identical.
"""
from __future__ import annotations

import dataclasses
import json
import os
import signal
import time
from typing import Any, Callable, Dict, List, Optional, Sequence

import jax
import jax.numpy as jnp

from jitrl.config import ResolvedConfig, to_yaml
from jitrl.config.loader import ConfigError
from jitrl.envs import make
from jitrl.networks import make_network
from jitrl.ppo.learner import PPOProgram
from jitrl.ppo.state import HParams, RunnerState
from jitrl.training import devices
from jitrl.training.checkpoint import CheckpointStore
from jitrl.training.metrics import chunk_record, first_nonfinite
from jitrl.training.runlog import RunLogger, truncate_metrics

CONFIG_FILE = "config.yaml"
REPLAY_FILE = "replay.gif"

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


def _atomic_write(path: str, text: str) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w") as fh:
        fh.write(text)
    os.replace(tmp, path)


def seed_hparams(cfg: ResolvedConfig, n: int) -> HParams:
    """The config's float hyperparameters, repeated for ``n`` seeds."""
    return jax.tree_util.tree_map(lambda x: jnp.broadcast_to(x, (n,)), HParams.from_config(cfg.ppo))


class _SigintLatch:
    """First Ctrl-C asks the loop to save and stop after the running chunk;
    a second one interrupts at once."""

    def __init__(self):
        self.hit = False
        self._old = None

    def __enter__(self):
        try:
            self._old = signal.signal(signal.SIGINT, self._handle)
        except ValueError:  # not the main thread
            self._old = None
        return self

    def _handle(self, signum, frame):
        if self.hit:
            raise KeyboardInterrupt
        self.hit = True

    def __exit__(self, *exc):
        if self._old is not None:
            signal.signal(signal.SIGINT, self._old)
        return False


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
        self.cfg = cfg
        self.env, self.env_params = make(cfg.env.name, **cfg.env.overrides())
        self.network = make_network(self.env, self.env_params, cfg.network)
        self.num_updates = cfg.num_updates()
        self.program = PPOProgram(self.env, self.env_params, self.network, cfg.ppo, self.num_updates)
        #: declared metrics (TensorBoard tags, console columns, headline figures)
        self.metrics = tuple(self.env.metrics) + tuple(self.program.acting.metrics)
        self.hparams = hparams if hparams is not None else seed_hparams(cfg, cfg.run.num_seeds)
        self.num_seeds = int(jax.tree_util.tree_leaves(self.hparams)[0].shape[0])
        self.initial_params = initial_params
        self.callbacks = list(callbacks)
        self.quiet = quiet
        self.run_dir = os.path.join(cfg.run.checkpoint_dir, cfg.run.run_name)
        self.mesh = devices.make_mesh(cfg.ppo.num_envs)
        self._compiled: Dict[int, Any] = {}
        self.compile_s = 0.0

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
            fn = jax.jit(jax.vmap(lambda r: self.program.run_chunk(r, n_updates)), donate_argnums=0)
            t0 = time.perf_counter()
            self._compiled[n_updates] = fn.lower(rs).compile()
            self.compile_s += time.perf_counter() - t0
        return self._compiled[n_updates]

    def _write_replay(self, rs: RunnerState, log: RunLogger, step: int) -> None:
        """The final policy (seed 0, greedy) playing one episode, as replay.gif and in TensorBoard."""
        from jitrl.replay import final_policy_replay, gif_bytes

        params = jax.tree_util.tree_map(lambda x: x[0], jax.device_get(rs.params))
        frames = final_policy_replay(self.env, self.env_params, self.network, params,
                                     self.cfg.run.replay_steps, seed=self.cfg.run.seed)
        if not frames:
            return
        data = gif_bytes(frames, fps=4.0)
        path = os.path.join(self.run_dir, REPLAY_FILE)
        with open(path, "wb") as fh:
            fh.write(data)
        h, w = frames[0].shape[:2]
        log.add_gif("replay/final_policy", data, h, w, step)
        log.message(f"Wrote the final policy's replay ({len(frames)} frames): {path}")

    def _chunk_size(self, update: int) -> int:
        li = self.cfg.run.log_interval
        return min(li - update % li, self.num_updates - update)

    def _checkpoint_due(self, update: int) -> bool:
        li = self.cfg.run.log_interval
        every = -(-self.cfg.run.checkpoint_interval // li) * li
        return update % every == 0 or update >= self.num_updates

    # -- the loop ------------------------------------------------------------------------
    def run(self, resume: bool = False, max_updates: Optional[int] = None) -> TrainResult:
        """Train to ``total_timesteps`` (or ``max_updates`` more updates, then save
        and return with ``stop_reason='paused'``)."""
        cfg = self.cfg
        if os.path.isdir(self.run_dir) and not resume and os.listdir(self.run_dir):
            raise ConfigError([
                f"run_name: {cfg.run.run_name!r} -- {self.run_dir} already holds a run; "
                f"resume it with --resume {self.run_dir} or choose another --run-name"
            ])
        os.makedirs(self.run_dir, exist_ok=True)
        if not resume:
            _atomic_write(os.path.join(self.run_dir, CONFIG_FILE), to_yaml(cfg))
        store = CheckpointStore(self.run_dir, keep=cfg.run.keep_checkpoints)
        rs = self.init_state()
        elapsed0 = 0.0
        last_ckpt = None
        if resume:
            step = store.latest_step()
            if step is None:
                raise ConfigError([f"resume: {self.run_dir} -- has no checkpoint to resume from"])
            host_state, meta = store.restore(rs)
            rs = devices.shard_state(jax.tree_util.tree_map(jnp.asarray, host_state), self.mesh)
            elapsed0 = float(meta.get("elapsed_s", 0.0))
            last_ckpt = step
            truncate_metrics(self.run_dir, step)
        start = int(jax.device_get(rs.update).reshape(-1)[0])
        batch = cfg.ppo.batch_size
        total_steps = self.num_updates * batch
        log = RunLogger(self.run_dir, self.num_updates, total_steps, start_update=start, quiet=self.quiet,
                        hparams=json.loads(json.dumps(dict(cfg.sources), default=str)), metrics=self.metrics)
        if resume:
            log.message(f"Resumed {self.run_dir} at update {start}/{self.num_updates}")
        records: List[Dict[str, Any]] = []
        stop = "done"
        update = start
        stop_at = self.num_updates if max_updates is None else min(self.num_updates, start + max_updates)
        t_run = time.perf_counter()
        try:
            with _SigintLatch() as latch:
                while update < stop_at:
                    n = min(self._chunk_size(update), stop_at - update)
                    fn = self.chunk_fn(n, rs)
                    if update == start:
                        log.message(f"Compiled the training chunk ({n} updates) in {self.compile_s:.1f} s")
                    t0 = time.perf_counter()
                    rs, metrics = fn(rs)
                    metrics = jax.device_get(metrics)
                    dt = time.perf_counter() - t0
                    bad = first_nonfinite(metrics)
                    if bad is not None:
                        seed, off = bad
                        where = f"{self.run_dir}/checkpoints/{last_ckpt}" if last_ckpt is not None else "none yet"
                        log.message(
                            f"NaN/inf in the loss or parameters at update {update + off + 1} (seed {seed}): "
                            f"stopping without saving this state. Last good checkpoint: {where}. "
                            f"Lower the learning rate or check the env's rewards/observations."
                        )
                        stop = "nan"
                        break
                    update += n
                    rec = {
                        "update": update,
                        "env_steps": update * batch,
                        "sps": n * batch * self.num_seeds / max(dt, 1e-9),
                        "elapsed_s": elapsed0 + time.perf_counter() - t_run,
                        **chunk_record(metrics),
                    }
                    log.log(rec)
                    records.append(rec)
                    reason = None
                    for cb in self.callbacks:
                        reason = reason or cb(rec)
                    if reason:
                        stop = f"early-stop: {reason}"
                        log.message(f"Stopping early: {reason}")
                    if latch.hit:
                        stop = "interrupted"
                    if self._checkpoint_due(update) or stop != "done" or update >= stop_at:
                        meta = {"update": update, "env_steps": update * batch, "elapsed_s": rec["elapsed_s"]}
                        path = store.save(update, rs, meta)
                        last_ckpt = update
                        if stop != "done" or update >= stop_at:
                            log.message(f"Saved checkpoint {path}")
                    if stop != "done":
                        if stop == "interrupted":
                            log.message(f"Interrupted: saved at update {update}; continue with --resume {self.run_dir}")
                        break
            if stop == "done" and update < self.num_updates:
                stop = "paused"
            if stop == "done":
                log.message(f"Done: {update} updates, {update * batch} env steps per seed, run in {self.run_dir}")
            if stop == "done" or stop.startswith("early-stop"):
                self._write_replay(rs, log, update * batch)
        finally:
            if records:  # hyperparameters as TensorBoard hparams, with the final metrics
                from jitrl.config import flat_values

                hp = {k: v for k, v in flat_values(cfg).items() if k not in ("env.params", "run_name",
                                                                                 "checkpoint_dir", "description")}
                hp.update({f"env.{k}": (v if isinstance(v, (int, float, str, bool)) else str(v))
                           for k, v in cfg.env.params})
                headline = ("mean_episode_return", "mean_episode_length", "entropy", "approx_kl") + tuple(
                    m.logged_name for m in self.metrics if m.hparam)
                final = {k: records[-1].get(k) for k in headline}
                log.add_hparams(hp, final)
            log.close()
            store.close()
        return TrainResult(self.run_dir, jax.device_get(rs) if stop != "nan" else None, records, stop,
                           self.compile_s, last_ckpt)


def train(cfg: ResolvedConfig, resume: bool = False, **kwargs) -> TrainResult:
    """Train one resolved config (see :class:`Trainer` for the keyword options)."""
    max_updates = kwargs.pop("max_updates", None)
    return Trainer(cfg, **kwargs).run(resume=resume, max_updates=max_updates)
