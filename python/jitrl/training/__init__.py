"""The host side of training: the chunked loop, checkpoints, logs, devices, replays."""
from jitrl.training.program import abstract_state, build_program, seed_hparams
from jitrl.training.trainer import CONFIG_FILE, Trainer, TrainResult

__all__ = ["CONFIG_FILE", "Trainer", "TrainResult", "abstract_state", "build_program", "seed_hparams"]
