"""When a run writes a checkpoint: every ``checkpoint_interval`` updates
(rounded up to a multiple of ``log_interval``, the host only sees chunk
boundaries), at the end, and -- when ``checkpoint_minutes`` is set -- also
whenever that much wall time has passed since the last save (as the original
HackMatrix trainer did), so a slow run never loses more than that much work.
"""
from __future__ import annotations

import time
from typing import Callable


class CheckpointSchedule:
    """``due(update)`` after each chunk; ``saved()`` after each checkpoint.
    ``clock`` (seconds, monotonic) is injectable for tests."""

    def __init__(self, interval: int, log_interval: int, num_updates: int, minutes: float = 0.0,
                 clock: Callable[[], float] = time.monotonic):
        self.every = -(-interval // log_interval) * log_interval
        self.num_updates = num_updates
        self.seconds = 60.0 * minutes
        self.clock = clock
        self._last = clock()

    def start(self) -> None:
        """The wall-time interval counts from the start of training (after compiling)."""
        self._last = self.clock()

    def due(self, update: int) -> bool:
        if update % self.every == 0 or update >= self.num_updates:
            return True
        return self.seconds > 0 and self.clock() - self._last >= self.seconds

    def saved(self) -> None:
        self._last = self.clock()
