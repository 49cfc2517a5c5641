"""The jitted PPO program: init, one update (rollout + GAE + minibatch epochs),
and a chunk of updates in one ``lax.scan``."""
from __future__ import annotations

from typing import Any, Dict, Tuple

import chex
import jax
import jax.numpy as jnp
import optax

from jitrl.ppo import rollout, shuffle
from jitrl.ppo.acting import make_acting, policy
from jitrl.ppo.config import PPOConfig, nearest_divisor
from jitrl.ppo.losses import gae, normalized, ppo_loss, ppo_row_terms, total_loss
from jitrl.ppo.state import EpisodeTracker, HParams, RunnerState, Transition

ADAM_EPS = 1e-5

#: Rows per gradient chunk: a minibatch over ``4 x GRAD_CHUNK_ROWS`` rows is differentiated
#: in chunks of about this many rows whose gradients are summed (the same gradient up to
#: float rounding). A 64-wide layer's activations for 2,048 rows (512 KiB) stay in cache;
#: on the 2-core CPU a CartPole minibatch of 65,536 rows differentiates ~5x faster in
#: chunks, while HackMatrix's 8,192-row minibatches (a 1,731-wide first layer, whose
#: weight gradient wants long rows) are fastest whole.
GRAD_CHUNK_ROWS = 2048


def grad_chunks(minibatch_size: int) -> int:
    """How many chunks a minibatch's gradient is summed over (1: whole)."""
    if minibatch_size <= 4 * GRAD_CHUNK_ROWS:
        return 1
    return minibatch_size // nearest_divisor(minibatch_size, GRAD_CHUNK_ROWS)


def make_optimizer() -> optax.GradientTransformation:
    """Adam moments; clipping and the (traced, possibly annealed) LR are applied in ``_apply``."""
    return optax.scale_by_adam(eps=ADAM_EPS)


def learning_rate_at(hp: HParams, update: jax.Array, num_updates: int, anneal: bool) -> jax.Array:
    if not anneal:
        return hp.learning_rate
    frac = 1.0 - update.astype(jnp.float32) / float(max(num_updates, 1))
    return hp.learning_rate * frac


class PPOProgram:
    """Builds the pure functions of one training configuration.

    ``init(key, hparams) -> RunnerState`` and ``run_chunk(state, n_updates)``
    (``n_updates`` static) are pure and jittable; the host loop
    (``jitrl.training``) jits, vmaps over seeds and shards them.
    """

    def __init__(self, env: Any, env_params: Any, network: Any, cfg: PPOConfig, num_updates: int):
        if cfg.batch_size % cfg.num_minibatches:
            raise ValueError(
                f"num_minibatches: {cfg.num_minibatches} does not divide the batch "
                f"{cfg.num_envs} x {cfg.num_steps} = {cfg.batch_size}"
            )
        self.env, self.env_params, self.network, self.cfg = env, env_params, network, cfg
        self.acting = make_acting(env, env_params)
        self.num_updates = int(num_updates)
        self.optimizer = make_optimizer()

    # -- init ------------------------------------------------------------
    def init(self, key: jax.Array, hparams: HParams) -> RunnerState:
        cfg = self.cfg
        k_net, k_env, k_run = jax.random.split(key, 3)
        obs, env_state = jax.vmap(self.env.reset, in_axes=(0, None))(
            jax.random.split(k_env, cfg.num_envs), self.env_params
        )
        params = self.network.init(k_net, obs[:1])
        return RunnerState(
            params=params,
            opt_state=self.optimizer.init(params),
            env_state=env_state,
            obs=obs,
            law=jax.vmap(self.env.action_law, in_axes=(0, None))(env_state, self.env_params),
            episodes=EpisodeTracker.zeros(cfg.num_envs),
            key=k_run,
            update=jnp.zeros((), jnp.int32),
            hparams=hparams,
        )

    # -- one update ----------------------------------------------------------
    def _loss(self, params, mb: Transition, adv, targets, hp: HParams):
        logits, values = policy(self.network, self.acting, params, mb.obs, mb.law)
        return ppo_loss(
            logits,
            values.astype(jnp.float32),
            mb.action,
            mb.log_prob,
            mb.value,
            adv,
            targets,
            hp.clip_range,
            hp.vf_coef,
            hp.ent_coef,
            clip_value_loss=self.cfg.clip_value_loss,
            normalize_advantages=self.cfg.normalize_advantages,
            dist=self.acting,
        )

    def _apply(self, params, opt_state, grads, hp: HParams, lr):
        gnorm = jnp.sqrt(sum(jnp.sum(jnp.square(g)) for g in jax.tree_util.tree_leaves(grads)))
        scale = jnp.minimum(1.0, hp.max_grad_norm / (gnorm + 1e-6))
        grads = jax.tree_util.tree_map(lambda g: g * scale, grads)
        updates, opt_state = self.optimizer.update(grads, opt_state, params)
        params = jax.tree_util.tree_map(lambda p, u: p - lr * u, params, updates)
        return params, opt_state, gnorm

    # The phases of one update (``update`` composes them; ``jitrl.workflow.bench``
    # compiles and times each alone).
    def rollout(self, rs: RunnerState):
        """(state, trajectory [T, N], last value [N], rollout metrics)."""
        return rollout.collect(self.env, self.env_params, self.network, self.acting, self.cfg.num_steps, rs)

    def flat_batch(self, traj: Transition, last_value: jax.Array, hp: HParams):
        """GAE, then the trajectory, advantages and targets flattened to ``[batch, ...]``."""
        adv, targets = gae(traj.reward, traj.value, traj.done, last_value, hp.gamma, hp.gae_lambda)
        flat = jax.tree_util.tree_map(lambda x: x.reshape((self.cfg.batch_size,) + x.shape[2:]), (traj, adv, targets))
        chex.assert_shape(flat[1], (self.cfg.batch_size,))
        return flat, targets

    def _chunk_loss(self, params, mb: Transition, adv, targets, hp: HParams, rows: int):
        """A chunk's share of the minibatch loss: row terms summed, divided by the
        minibatch's ``rows`` (advantages already normalised over the whole minibatch)."""
        logits, values = policy(self.network, self.acting, params, mb.obs, mb.law)
        terms = ppo_row_terms(logits, values.astype(jnp.float32), mb.action, mb.log_prob, mb.value, adv, targets,
                              hp.clip_range, clip_value_loss=self.cfg.clip_value_loss, dist=self.acting)
        stats = {k: jnp.sum(v) / rows for k, v in terms.items()}
        return total_loss(stats, hp.vf_coef, hp.ent_coef), stats

    def loss_and_grad(self, params, mb, hp: HParams):
        """((loss, stats), grads) of one minibatch, whole or summed over chunks (``grad_chunks``)."""
        m_traj, m_adv, m_tgt = mb
        rows = m_adv.shape[0]
        k = grad_chunks(rows)
        if k == 1:
            return jax.value_and_grad(self._loss, has_aux=True)(params, m_traj, m_adv, m_tgt, hp)
        if self.cfg.normalize_advantages:
            m_adv = normalized(m_adv)
        chunks = jax.tree_util.tree_map(lambda x: x.reshape((k, rows // k) + x.shape[1:]), (m_traj, m_adv, m_tgt))
        grad_fn = jax.value_and_grad(self._chunk_loss, has_aux=True)

        def body(acc, chunk):
            out = grad_fn(params, *chunk, hp, rows)
            return jax.tree_util.tree_map(jnp.add, acc, out), None

        zeros = jax.tree_util.tree_map(jnp.zeros_like, jax.eval_shape(grad_fn, params, *jax.tree_util.tree_map(
            lambda x: x[0], chunks), hp, rows))
        return jax.lax.scan(body, zeros, chunks)[0]

    def minibatch_step(self, carry, mb, hp: HParams, lr):
        """One gradient step on one minibatch ``(transitions, advantages, targets)``."""
        params, opt_state = carry
        (loss, stats), grads = self.loss_and_grad(params, mb, hp)
        params, opt_state, gnorm = self._apply(params, opt_state, grads, hp, lr)
        return (params, opt_state), dict(stats, total_loss=loss, grad_norm=gnorm)

    def minibatch_rows(self, key: jax.Array) -> jax.Array:
        """One epoch's shuffled rows, ``[num_minibatches, minibatch_size]``."""
        cfg = self.cfg
        return shuffle.permutation(key, cfg.batch_size).reshape((cfg.num_minibatches, cfg.minibatch_size))

    def epoch(self, carry, key, flat, hp: HParams, lr):
        """One epoch of minibatch steps over ``flat`` in a fresh random order."""
        # Gather each minibatch's rows inside the scan: the shuffled batch is never
        # materialised whole (it would double the rollout's memory).
        def gathered_step(c, rows):
            return self.minibatch_step(c, jax.tree_util.tree_map(lambda x: jnp.take(x, rows, axis=0), flat), hp, lr)

        return jax.lax.scan(gathered_step, carry, self.minibatch_rows(key))

    def update(self, rs: RunnerState) -> Tuple[RunnerState, Dict[str, jax.Array]]:
        cfg, hp = self.cfg, rs.hparams
        rs, traj, last_value, metrics = self.rollout(rs)
        flat, targets = self.flat_batch(traj, last_value, hp)
        lr = learning_rate_at(hp, rs.update, self.num_updates, cfg.anneal_lr)

        key, k_epochs = jax.random.split(rs.key)
        (params, opt_state), stats = jax.lax.scan(
            lambda c, k: self.epoch(c, k, flat, hp, lr), (rs.params, rs.opt_state),
            jax.random.split(k_epochs, cfg.update_epochs),
        )
        stats = jax.tree_util.tree_map(jnp.mean, stats)

        var_t = jnp.var(targets)
        explained = jnp.where(var_t > 0, 1.0 - jnp.var(targets - traj.value) / jnp.where(var_t > 0, var_t, 1.0), 0.0)
        finite = jnp.all(jnp.stack([jnp.all(jnp.isfinite(x)) for x in jax.tree_util.tree_leaves(params)]))
        metrics.update(stats)
        metrics.update(
            explained_variance=explained,
            learning_rate=lr,
            finite=jnp.logical_and(finite, jnp.isfinite(stats["total_loss"])).astype(jnp.float32),
        )
        rs = rs.replace(params=params, opt_state=opt_state, key=key, update=rs.update + 1)
        return rs, metrics

    # -- a chunk of updates ----------------------------------------------------
    def run_chunk(self, rs: RunnerState, n_updates: int, on_update: Any = None
                  ) -> Tuple[RunnerState, Dict[str, jax.Array]]:
        """``n_updates`` updates in one scan; metrics stacked as ``[n_updates]``.
        ``on_update(state, metrics)`` (optional) is traced after each update, for a
        host callback that reports progress (it must not change the results)."""
        def step(s, _):
            s, m = self.update(s)
            if on_update is not None:
                on_update(s, m)
            return s, m

        return jax.lax.scan(step, rs, None, length=n_updates)

