"""Console progress within a chunk: a host callback after every update.

A chunk of ``log_interval`` updates is one jitted program, so the host loop
prints its log line only when the whole chunk has run (for the default
HackMatrix job, 10 updates: minutes). :func:`emit` puts a
``jax.debug.callback`` at the end of every update of the chunk's scan; it
hands a few scalars of that update (its number, episodes, mean episode
return, approx_kl, entropy) to the host, where :class:`Progress` prints a
line when ``progress_seconds`` have passed since the last line (the run's
first update always prints one), so the first line comes one update after
compiling.

The callback reads values the update computes anyway and returns nothing:
the program's results are unchanged (the bitwise resume and golden tests
hold). Under the seed ``vmap`` jax unrolls the callback once per seed; the
host collects an update's rows until every seed has reported, then
averages them. In a sharded program it runs once, on device 0, with the
whole (replicated) scalars; processes other than 0 print nothing.
"""
from __future__ import annotations

import math
import threading
import time
from typing import Callable, Dict, List, Optional

import jax
import jax.numpy as jnp
import numpy as np

#: per-update scalars sent to the host (those the update reports; others are skipped)
FIELDS = ("episodes", "mean_episode_return", "approx_kl", "entropy")


def emit(update: jax.Array, metrics: Dict[str, jax.Array], sink: Callable[..., None]) -> None:
    """Inside the jitted update: send ``update`` (the number of updates done) and
    :data:`FIELDS` of ``metrics`` to ``sink(update, values)`` on the host."""
    values = {k: jnp.asarray(metrics[k], jnp.float32) for k in FIELDS if k in metrics}
    jax.debug.callback(sink, update, values)


class Progress:
    """Host side: gathers each update's per-seed rows and prints progress lines.

    ``print_fn(text)`` prints a line; ``batch`` is the env steps of one seed per
    update; ``num_seeds`` the rows per update; ``every_s`` the least wall time
    between two lines (0: a line after every update that is not the chunk's last,
    whose log line follows at once)."""

    def __init__(self, print_fn: Callable[[str], None], num_updates: int, batch: int, num_seeds: int,
                 every_s: float):
        self.print_fn = print_fn
        self.num_updates = num_updates
        self.batch = batch
        self.num_seeds = num_seeds
        self.every_s = every_s
        self._lock = threading.Lock()
        self._rows: Dict[int, List[Dict[str, float]]] = {}
        self._last_line: Optional[float] = None
        self.start_chunk(0, 0)

    def start_chunk(self, first_update: int, last_update: int) -> None:
        """Called by the host loop before it runs updates ``first_update+1 .. last_update``."""
        with self._lock:
            self._chunk = (first_update, last_update)
            self._t0 = time.perf_counter()
            self._eps = 0.0  # episodes ended in the chunk so far, all seeds
            self._ret_sum = 0.0  # the sum of their returns
            self._rows.clear()

    def chunk_logged(self) -> None:
        """The chunk's log line was printed: the next progress line waits ``every_s`` from now."""
        self._last_line = time.perf_counter()

    def __call__(self, update, values) -> None:
        """The host callback (``sink`` of :func:`emit`), once per seed and update."""
        u = int(np.asarray(update))
        row = {k: float(np.asarray(v)) for k, v in values.items()}
        with self._lock:
            rows = self._rows.setdefault(u, [])
            rows.append(row)
            if len(rows) < self.num_seeds:
                return
            del self._rows[u]
            line = self._update_done(u, rows)
        if line is not None:
            self.print_fn(line)

    def _update_done(self, u: int, rows: List[Dict[str, float]]) -> Optional[str]:
        first, last = self._chunk
        eps = np.array([r.get("episodes", 0.0) for r in rows])
        ret = np.array([r.get("mean_episode_return", math.nan) for r in rows])
        self._eps += float(eps.sum())
        self._ret_sum += float(np.where(eps > 0, ret * eps, 0.0).sum())
        now = time.perf_counter()
        run_start = first == 0 and u == 1
        due = self._last_line is None or now - self._last_line >= self.every_s
        if u >= last or not (due or run_start):
            return None
        self._last_line = now
        done = u - first
        sps = done * self.batch * self.num_seeds / max(now - self._t0, 1e-9)
        tot = self._eps
        so_far = self._ret_sum / tot if tot > 0 else math.nan

        def mean(k):
            v = [r[k] for r in rows if k in r]
            return float(np.mean(v)) if v else math.nan

        return (f"  update {u}/{self.num_updates} | step {u * self.batch:,} | SPS {sps:,.0f} | "
                f"return {so_far:.2f} ({int(tot)} episodes since update {first}) | KL {mean('approx_kl'):.2g} | "
                f"entropy {mean('entropy'):.2f}")
