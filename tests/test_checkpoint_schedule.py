"""Time-based checkpoints (--checkpoint-minutes) beside the update interval."""
import os

from jitrl.config import resolve
from jitrl.training import Trainer
from jitrl.training.schedule import CheckpointSchedule


def _cfg(tmp_path, name, minutes):
    return resolve(None, {
        "env.name": "CartPole-v1", "num_envs": "4", "num_steps": "8", "total_timesteps": str(4 * 8 * 6),
        "log_interval": "1", "checkpoint_interval": "100", "keep_checkpoints": "10", "auto_scale": "false",
        "checkpoint_dir": str(tmp_path), "run_name": name, "checkpoint_minutes": str(minutes)})


def _steps(run_dir):
    return sorted(int(d) for d in os.listdir(os.path.join(run_dir, "checkpoints")) if d.isdigit())


def test_checkpoint_minutes_saves_when_wall_time_passes(tmp_path):
    now = [0.0]
    t = Trainer(_cfg(tmp_path, "timed", 1.0), quiet=True)
    t.schedule.clock = lambda: now[0]

    def forty_seconds_per_chunk(rec):
        now[0] += 40.0

    t.callbacks.append(forty_seconds_per_chunk)
    res = t.run()
    # 40 s a chunk, 60 s between saves, the clock restarting at each save: 80 s -> 2, 160 s -> 4, the end -> 6
    assert res.stop_reason == "done" and _steps(res.run_dir) == [2, 4, 6]


def test_schedule_rounds_interval_and_takes_fractional_minutes():
    now = [0.0]
    s = CheckpointSchedule(interval=5, log_interval=2, num_updates=100, minutes=0.01, clock=lambda: now[0])
    assert [u for u in range(1, 13) if s.due(u)] == [6, 12]  # 5 rounded up to a multiple of 2
    now[0] = 0.59
    assert not s.due(1)
    now[0] = 0.6  # 0.01 minutes
    assert s.due(1)
    s.saved()
    assert not s.due(1) and s.due(100)
    off = CheckpointSchedule(interval=5, log_interval=2, num_updates=100, minutes=0, clock=lambda: now[0])
    now[0] = 1e9  # off (the default): wall time never makes a save due
    assert [u for u in range(1, 13) if off.due(u)] == [6, 12]
