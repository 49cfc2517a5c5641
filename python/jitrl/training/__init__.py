"""The host side of training: the chunked loop, checkpoints, logs, devices."""
from jitrl.training.trainer import CONFIG_FILE, Trainer, TrainResult, seed_hparams, train

__all__ = ["CONFIG_FILE", "Trainer", "TrainResult", "seed_hparams", "train"]
