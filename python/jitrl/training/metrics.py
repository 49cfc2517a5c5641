"""Host-side reduction of a chunk's per-update metrics into one log record.

The jitted chunk returns every metric as ``[num_seeds, n_updates]`` (already
reduced inside jit to one number per update). A log record holds, for the
last update of the chunk, the mean over seeds of each metric, except:

* episode statistics (``mean_episode_return``, ``mean_episode_length``,
  ``episode_*``) are averaged over *all completed episodes of the chunk*
  (weighted by each update's episode count), so runs whose episodes are
  longer than one rollout still get a figure every log;
* ``approx_kl_max`` and ``clip_frac_max`` are the maxima over the chunk's
  updates and seeds, so "over all updates" criteria can be checked;
* ``<metric>_seeds`` lists the per-seed values of the episode return.
"""
from __future__ import annotations

import math
from typing import Any, Dict

import numpy as np

#: metrics also logged per seed row as ``<metric>_seeds`` (sweeps read each
#: variant's rows from them; ``approx_kl_max_seeds`` / ``clip_frac_max_seeds`` too)
PER_SEED = ("mean_episode_return", "mean_episode_length", "approx_kl", "clip_frac", "entropy")


#: metrics that are per-episode averages (weighted by episode counts over a chunk)
def is_episode_metric(name: str) -> bool:
    return name in ("mean_episode_return", "mean_episode_length") or name.startswith("episode_")


def chunk_record(metrics: Dict[str, Any]) -> Dict[str, Any]:
    m = {k: np.asarray(v, dtype=np.float64) for k, v in metrics.items()}
    eps = m.get("episodes")
    rec: Dict[str, Any] = {}
    for k, v in m.items():
        if k in ("finite",):
            continue
        if is_episode_metric(k) and eps is not None:
            w = eps
            tot = w.sum(axis=-1)
            per_seed = np.where(tot > 0, (v * w).sum(axis=-1) / np.maximum(tot, 1), np.nan)
            rec[k] = float(np.nanmean(per_seed)) if np.any(tot > 0) else float("nan")
            if k in PER_SEED:
                rec[k + "_seeds"] = [None if math.isnan(x) else float(x) for x in per_seed]
        elif k == "episodes":
            rec[k] = float(v.sum(axis=-1).mean())
        else:
            rec[k] = float(v[..., -1].mean())
            if k in PER_SEED and v.ndim == 2:
                rec[k + "_seeds"] = [float(x) for x in v[:, -1]]
    for k in ("approx_kl", "clip_frac"):
        if k in m:
            rec[k + "_max"] = float(m[k].max())
            if m[k].ndim == 2:
                rec[k + "_max_seeds"] = [float(x) for x in m[k].max(axis=-1)]
    return rec


def first_nonfinite(metrics: Dict[str, Any]):
    """(seed, update offset) of the first update whose loss/params went non-finite, or None."""
    fin = np.asarray(metrics["finite"])
    bad = np.argwhere(fin < 0.5)
    if bad.size == 0:
        return None
    # earliest update over all seeds
    i = int(np.argmin(bad[:, -1]))
    return int(bad[i, 0]), int(bad[i, -1])
