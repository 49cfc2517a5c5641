"""What a resolved config builds: the env, the network, the PPO program, the
per-seed hyperparameters and the shapes of the runner state (what a
checkpoint restores into). The Trainer, the replay and curriculum transfer
all build through here."""
from __future__ import annotations

from typing import Any, Optional, Tuple

import jax

from jitrl.config import ResolvedConfig
from jitrl.envs import make
from jitrl.networks import make_network
from jitrl.ppo.learner import PPOProgram
from jitrl.ppo.state import HParams, RunnerState


def build_program(cfg: ResolvedConfig, num_updates: Optional[int] = None) -> Tuple[Any, Any, Any, PPOProgram]:
    """``(env, env_params, network, program)`` of a resolved config."""
    env, env_params = make(cfg.env.name, **cfg.env.overrides())
    network = make_network(env, env_params, cfg.network)
    program = PPOProgram(env, env_params, network, cfg.ppo, cfg.num_updates() if num_updates is None else num_updates)
    return env, env_params, network, program


def seed_hparams(cfg: ResolvedConfig, n: int) -> HParams:
    """The config's sweepable hyperparameters, one row per seed."""
    return HParams.rows([cfg.ppo] * n)


def abstract_state(cfg: ResolvedConfig, num_seeds: Optional[int] = None) -> RunnerState:
    """Shapes and dtypes (``ShapeDtypeStruct`` s, nothing computed) of the RunnerState a
    run of ``cfg`` carries: with a leading seed axis of ``num_seeds``, or of one seed
    when ``num_seeds`` is None."""
    _, _, _, program = build_program(cfg, num_updates=1)
    key = jax.random.PRNGKey(0)
    if num_seeds is None:
        return jax.eval_shape(program.init, key, HParams.from_config(cfg.ppo))
    return jax.eval_shape(jax.vmap(program.init), jax.random.split(key, num_seeds), seed_hparams(cfg, num_seeds))
