"""One frozen dataclass per concern of a run, and the resolved whole.

``PPOConfig`` lives in :mod:`jitrl.ppo.config` and ``NetworkConfig`` in
:mod:`jitrl.networks.registry`; the others are here. A
:class:`ResolvedConfig` also records where every value came from
(``default``, ``auto-scale``, ``file:<path>``, ``flag``).
"""
from __future__ import annotations

import dataclasses
from typing import Any, Dict, Optional, Tuple

from jitrl.networks.registry import NetworkConfig
from jitrl.ppo.config import PPOConfig


@dataclasses.dataclass(frozen=True)
class SpecMeta:
    agent_id: Optional[str] = None
    name: Optional[str] = None
    algorithm: str = "PPO"
    version: int = 1
    sweep_variant: Optional[str] = None
    description: Optional[str] = None


@dataclasses.dataclass(frozen=True)
class EnvSpec:
    """Env name and its overrides (EnvParams fields and constructor settings)."""

    name: str = "hackmatrix"
    params: Tuple[Tuple[str, Any], ...] = ()

    def overrides(self) -> Dict[str, Any]:
        return {k: (tuple(v) if isinstance(v, list) else v) for k, v in self.params}


@dataclasses.dataclass(frozen=True)
class RunConfig:
    total_timesteps: int = 100_000_000
    seed: int = 0
    num_seeds: int = 1
    log_interval: int = 10
    checkpoint_interval: int = 50
    keep_checkpoints: int = 3
    checkpoint_dir: str = "checkpoints"
    run_name: Optional[str] = None
    ess_threshold: float = 0.0  # 0 = ESS early stopping off
    ess_patience: int = 10
    smoke_timesteps: int = 0  # 0 = five updates
    replay_steps: int = 200  # final-policy replay GIF length (0 = none)


SECTION_TYPES = {"meta": SpecMeta, "env": EnvSpec, "ppo": PPOConfig, "network": NetworkConfig, "run": RunConfig}


@dataclasses.dataclass(frozen=True)
class ResolvedConfig:
    meta: SpecMeta
    env: EnvSpec
    ppo: PPOConfig
    network: NetworkConfig
    run: RunConfig
    #: spec key -> "default" | "auto-scale" | "file:<path>" | "flag"
    sources: Tuple[Tuple[str, str], ...] = ()
    #: raw values of keys owned by other modules (e.g. ``validation``), by key.
    extras: Tuple[Tuple[str, Any], ...] = ()

    def source(self, key: str) -> str:
        return dict(self.sources).get(key, "default")

    def extra(self, key: str, default: Any = None) -> Any:
        return dict(self.extras).get(key, default)

    def num_updates(self) -> int:
        return max(1, self.run.total_timesteps // self.ppo.batch_size)

    def replace(self, **sections: Any) -> "ResolvedConfig":
        return dataclasses.replace(self, **sections)
