"""PPO hyperparameters and the batch-size auto-scaling rule."""
from __future__ import annotations

import dataclasses
from typing import Dict, Tuple

from jitrl.common.fields import setting

#: Reference batch: 256 envs x 128 steps, 4 minibatches x 4 epochs at the base LR.
REFERENCE_BATCH = 256 * 128
REFERENCE_MINIBATCHES = 4
REFERENCE_EPOCHS = 4
MIN_EPOCHS = 2  # the HackMatrix tuning spec's floor: one epoch starves rare actions of signal

#: Fields auto-scaling may set (never over a value given in a file or a flag).
AUTO_SCALED = ("num_minibatches", "update_epochs", "learning_rate")


@dataclasses.dataclass(frozen=True)
class PPOConfig:
    """PPO's settings (spec keys of the same names). The seven ``sweepable`` floats
    are also carried as traced arrays in ``jitrl.ppo.state.HParams``."""

    num_envs: int = setting(2048, minimum=1, flag="--num-envs")
    num_steps: int = setting(16, minimum=1, flag="--num-steps",
                             doc="(per env and update; 16 x the default 2048 envs = the reference batch: "
                                 "docs/learning.md)")
    learning_rate: float = setting(2.5e-4, minimum=0, exclusive_minimum=True, flag="--lr", sweepable=True)
    anneal_lr: bool = setting(True, flag="--anneal-lr")
    gamma: float = setting(0.99, minimum=0, maximum=1, flag="--gamma", sweepable=True)
    gae_lambda: float = setting(0.95, minimum=0, maximum=1, flag="--gae-lambda", sweepable=True)
    num_minibatches: int = setting(4, minimum=1, doc="that divides num_envs x num_steps", flag="--num-minibatches")
    update_epochs: int = setting(4, minimum=1, flag="--update-epochs")
    clip_range: float = setting(0.2, minimum=0, exclusive_minimum=True, flag="--clip-range", sweepable=True)
    clip_value_loss: bool = setting(True)
    ent_coef: float = setting(0.01, minimum=0, flag="--ent-coef", sweepable=True)
    vf_coef: float = setting(0.5, minimum=0, flag="--vf-coef", sweepable=True)
    max_grad_norm: float = setting(0.5, minimum=0, exclusive_minimum=True, flag="--max-grad-norm", sweepable=True)
    normalize_advantages: bool = setting(True)
    auto_scale: bool = setting(True)

    @property
    def batch_size(self) -> int:
        return self.num_envs * self.num_steps

    @property
    def minibatch_size(self) -> int:
        return self.batch_size // self.num_minibatches


def nearest_divisor(n: int, target: float) -> int:
    """The divisor of ``n`` closest to ``target`` (4k itself whenever it divides n)."""
    best = 1
    for d in range(1, int(n ** 0.5) + 1):
        if n % d == 0:
            for c in (d, n // d):
                if abs(c - target) < abs(best - target) or (abs(c - target) == abs(best - target) and c > best):
                    best = c
    return best


def auto_scale_values(num_envs: int, num_steps: int, base_lr: float) -> Dict[str, object]:
    """The scaled (num_minibatches, update_epochs, learning_rate) for a batch.

    For batch = k x reference (k >= 1): minibatches = 4k (minibatch size kept),
    epochs = max(2, 4 // k), and the LR scaled inversely with the number of
    gradient steps: lr = base_lr x 16 / (minibatches x epochs). For k < 1 the
    reference values are kept.
    """
    k = (num_envs * num_steps) / REFERENCE_BATCH
    if k <= 1:
        return {
            "num_minibatches": REFERENCE_MINIBATCHES,
            "update_epochs": REFERENCE_EPOCHS,
            "learning_rate": base_lr,
        }
    mb = nearest_divisor(num_envs * num_steps, REFERENCE_MINIBATCHES * k)
    epochs = max(MIN_EPOCHS, REFERENCE_EPOCHS // int(k))
    lr = base_lr * (REFERENCE_MINIBATCHES * REFERENCE_EPOCHS) / (mb * epochs)
    return {"num_minibatches": mb, "update_epochs": epochs, "learning_rate": lr}


def auto_scale_for_batch_size(config: PPOConfig, explicit: Tuple[str, ...] = ()) -> PPOConfig:
    """Return ``config`` with minibatches, epochs and LR scaled to its batch size.

    ``explicit`` names fields the user set (in a file or a flag): those are
    never changed, and an auto-scaled LR follows the gradient steps actually
    taken (explicit minibatches/epochs included). ``config.learning_rate`` is the base LR the rule scales.
    A config with ``auto_scale=False`` is returned unchanged.
    """
    if not config.auto_scale:
        return config
    scaled = auto_scale_values(config.num_envs, config.num_steps, config.learning_rate)
    out = {k: v for k, v in scaled.items() if k not in explicit}
    if "learning_rate" not in explicit and config.batch_size > REFERENCE_BATCH:
        # LR follows the gradient steps actually taken, explicit minibatches/epochs included.
        mb = out.get("num_minibatches", config.num_minibatches)
        ep = out.get("update_epochs", config.update_epochs)
        out["learning_rate"] = config.learning_rate * (REFERENCE_MINIBATCHES * REFERENCE_EPOCHS) / (mb * ep)
    return dataclasses.replace(config, **out)
