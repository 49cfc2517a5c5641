"""One frozen dataclass per concern of a run, and the resolved whole.

Each field is declared once, with :func:`jitrl.common.fields.setting`, in the
dataclass that receives it: ``PPOConfig`` in :mod:`jitrl.ppo.config`,
``NetworkConfig`` in :mod:`jitrl.networks.registry`, the others here.
:data:`SECTIONS` says which dataclass holds which spec keys; the schema
(:mod:`jitrl.config.schema`) is read from it. A :class:`ResolvedConfig` also
records where every value came from (``default``, ``auto-scale``,
``file:<path>``, ``flag``).
"""
from __future__ import annotations

import dataclasses
from typing import Any, Dict, Optional, Tuple

from jitrl.common.fields import setting
from jitrl.networks.registry import NetworkConfig
from jitrl.ppo.config import PPOConfig


def _run_name(v) -> bool:
    return v is None or ("/" not in v and v not in ("", ".", ".."))


@dataclasses.dataclass(frozen=True)
class SpecMeta:
    """Identification of a spec (the earlier trainer's versioned agent configs)."""

    agent_id: Optional[str] = setting(None, doc="a name, e.g. ppo_agent")
    name: Optional[str] = setting(None, doc="a display name")
    algorithm: str = setting("PPO", choices=("PPO", "MaskablePPO"))
    version: int = setting(1, minimum=1)
    sweep_variant: Optional[str] = setting(None, doc="a variant name or null")
    description: Optional[str] = setting(None, doc="free text")


@dataclasses.dataclass(frozen=True)
class EnvSpec:
    """Env name and its overrides (EnvParams fields and constructor settings)."""

    name: str = setting("hackmatrix", flag="--env",
                        doc="a registered env (hackmatrix, kmc-tio2) or a gymnax name (CartPole-v1, ...)")
    #: a mapping in a spec; kept as sorted ``(name, value)`` pairs so the section stays hashable
    params: Tuple[Tuple[str, Any], ...] = setting((), kind="mapping", doc="a mapping of env parameter names to values")

    def overrides(self) -> Dict[str, Any]:
        return {k: (tuple(v) if isinstance(v, list) else v) for k, v in self.params}


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """The run: budget, seeds, logging, checkpoints, monitors."""

    total_timesteps: int = setting(100_000_000, minimum=1, flag="--total-timesteps")
    seed: int = setting(0, minimum=0, maximum=2**32 - 1, doc="(a 32-bit PRNG seed)", flag="--seed")
    num_seeds: int = setting(1, minimum=1, flag="--num-seeds")
    log_interval: int = setting(10, minimum=1, doc="(updates)", flag="--log-interval")
    checkpoint_interval: int = setting(50, minimum=1, doc="(updates; rounded up to a multiple of log_interval)",
                                       flag="--checkpoint-interval")
    checkpoint_minutes: float = setting(0.0, minimum=0, flag="--checkpoint-minutes",
                                        doc="(wall minutes; 0 = off): also checkpoint when this long has passed "
                                            "since the last save")
    keep_checkpoints: int = setting(3, minimum=1)
    checkpoint_dir: str = setting("checkpoints", doc="a directory path", flag="--checkpoint-dir")
    run_name: Optional[str] = setting(None, check=_run_name, doc="a directory name (default: <env>_<date>)",
                                      flag="--run-name")
    ess_threshold: float = setting(0.0, minimum=0, flag="--ess-threshold",
                                   doc="(0 = off): stop when the mean ESS ratio (at most 1) stays below it for "
                                       "ess_patience logs")
    ess_patience: int = setting(10, minimum=1, doc="(consecutive logs)", flag="--ess-patience")
    smoke_timesteps: int = setting(0, minimum=0, doc="(env steps per seed of a --mode smoke run; 0 = 5 updates)")
    wandb: bool = setting(False, flag="--wandb",
                          doc="(also log to Weights & Biases; needs the wandb extra; WANDB_MODE=offline works "
                              "without network)")
    wandb_project: Optional[str] = setting(None, flag="--wandb-project", doc="a wandb project (default: jitrl)")
    wandb_entity: Optional[str] = setting(None, flag="--wandb-entity", doc="a wandb entity (default: yours)")
    progress_seconds: float = setting(30.0, minimum=0, flag="--progress-seconds",
                                      doc="(wall seconds between console progress lines within a chunk of "
                                          "log_interval updates, from a host callback after each update; the "
                                          "run's first update always prints one; 0 = after every update)")
    report_episodes: int = setting(1000, minimum=0, flag="--report-episodes",
                                   doc="(episodes per policy of the learning report written to RUN_DIR/"
                                       "learning_report at the end of a run of an env the scripted baselines "
                                       "read, HackMatrix; 0 = none)")
    replay_steps: int = setting(200, minimum=0, flag="--replay-steps",
                                doc="(steps of the final-policy replay GIF written to the run and TensorBoard "
                                    "when the env renders; 0 = none)")


#: (section name, dataclass, spec-key prefix), in the order the schema, the saved
#: ``config.yaml`` and the docs table list them.
SECTIONS = (
    ("meta", SpecMeta, ""),
    ("env", EnvSpec, "env."),
    ("ppo", PPOConfig, ""),
    ("network", NetworkConfig, "network."),
    ("run", RunConfig, ""),
)
SECTION_TYPES = {name: cls for name, cls, _ in SECTIONS}


@dataclasses.dataclass(frozen=True)
class ResolvedConfig:
    meta: SpecMeta
    env: EnvSpec
    ppo: PPOConfig
    network: NetworkConfig
    run: RunConfig
    #: spec key -> "default" | "auto-scale" | "file:<path>" | "flag"
    sources: Tuple[Tuple[str, str], ...] = ()
    #: raw values of keys that are not section fields (the ``validation`` criteria), by key.
    extras: Tuple[Tuple[str, Any], ...] = ()

    def source(self, key: str) -> str:
        return dict(self.sources).get(key, "default")

    def extra(self, key: str, default: Any = None) -> Any:
        return dict(self.extras).get(key, default)

    def num_updates(self) -> int:
        return max(1, self.run.total_timesteps // self.ppo.batch_size)

    def replace(self, **sections: Any) -> "ResolvedConfig":
        return dataclasses.replace(self, **sections)
