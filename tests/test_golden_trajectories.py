"""Bitwise anchor: a few PPO updates of CartPole, hackmatrix and kmc-tio2 from a
fixed seed give exactly the recorded per-update metrics and final runner state.

The recorded values (``tests/golden/trajectories.json``) were produced by
``python tests/test_golden_trajectories.py --record`` on the commit named in the
file. A refactor must leave them unchanged; a change that is *meant* to change
behaviour (new game rules, a different sampler) re-records them in the same
commit and says why in its message.

The final ``RunnerState`` (parameters, optimiser moments, env states,
observations, episode trackers, RNG key) depends on every transition of the
run, so equal hashes mean equal trajectories; the metrics are compared as exact
float64 values (``float.hex``).

XLA:CPU compiles for the host's instruction set, and a different vector width
may reorder float reductions. The file records the CPU flags it was made on:
on a machine with other flags the comparison falls back to a relative
tolerance of 1e-4 on the metrics (the hashes are then not comparable) and says
so in the skip/assert message.
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile

import jax
import numpy as np
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
GOLDEN = os.path.join(HERE, "golden", "trajectories.json")

#: name -> flags of ``jitrl.config.resolve`` (tiny, a few updates each)
CASES = {
    "cartpole": {
        "env.name": "CartPole-v1", "num_envs": "8", "num_steps": "32", "total_timesteps": str(8 * 32 * 4),
        "num_minibatches": "2", "update_epochs": "2", "auto_scale": "false", "network.net_arch": "32,32",
    },
    "hackmatrix": {
        "env.name": "hackmatrix", "num_envs": "8", "num_steps": "32", "total_timesteps": str(8 * 32 * 3),
        "num_minibatches": "2", "update_epochs": "2", "auto_scale": "false", "network.net_arch": "32,32",
        "learning_rate": "1e-3",
    },
    "kmc": {
        "env.name": "kmc-tio2", "num_envs": "4", "num_steps": "16", "total_timesteps": str(4 * 16 * 3),
        "num_minibatches": "2", "update_epochs": "2", "auto_scale": "false", "network.net_arch": "8,8",
        "learning_rate": "1e-3",
    },
}
ENV_PARAMS = {"kmc": {"lattice_size": [4, 4, 3], "max_steps": 24, "E_d_Ti": 0.5, "E_d_O": 0.5}}
TIMING = ("sps", "elapsed_s")


def cpu_flags() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    keep = sorted(f for f in flags if f.startswith(("avx", "sse", "fma", "amx")))
                    return " ".join(keep)
    except OSError:
        pass
    return "unknown"


def _hash(tree) -> str:
    h = hashlib.sha256()
    for leaf in jax.tree_util.tree_leaves(tree):
        a = np.ascontiguousarray(np.asarray(leaf))
        h.update(str(a.dtype).encode() + str(a.shape).encode())
        h.update(a.tobytes())
    return h.hexdigest()


def run_case(name: str, out_dir: str) -> dict:
    from jitrl.config import resolve
    from jitrl.training import Trainer

    flags = dict(CASES[name], checkpoint_dir=out_dir, run_name=name, log_interval="1",
                 checkpoint_interval="1000", replay_steps="0")
    cfg = resolve(None, flags)
    if name in ENV_PARAMS:
        cfg = cfg.replace(env=cfg.env.__class__(name=cfg.env.name, params=tuple(sorted(ENV_PARAMS[name].items()))))
    res = Trainer(cfg, quiet=True).run()
    assert res.stop_reason == "done", res.stop_reason
    metrics = []
    for rec in res.records:
        row = {}
        for k, v in sorted(rec.items()):
            if k in TIMING:
                continue
            if isinstance(v, float):
                row[k] = float(v).hex()
            elif isinstance(v, list):
                row[k] = [None if x is None else float(x).hex() for x in v]
            else:
                row[k] = v
        metrics.append(row)
    st = res.state
    state_hashes = {f: _hash(getattr(st, f)) for f in ("params", "opt_state", "env_state", "obs", "episodes", "key")}
    return {"metrics": metrics, "state": state_hashes}


def _load():
    with open(GOLDEN) as fh:
        return json.load(fh)


def _close(a, b) -> bool:
    if isinstance(a, list):
        return len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b))
    if isinstance(a, str) and isinstance(b, str) and a.startswith(("0x", "-0x", "inf", "-inf", "nan")):
        x, y = float.fromhex(a), float.fromhex(b)
        return (np.isnan(x) and np.isnan(y)) or abs(x - y) <= 1e-4 * max(1.0, abs(x), abs(y))
    return a == b


@pytest.mark.parametrize("name", sorted(CASES))
def test_bitwise_equal_to_recorded(name, tmp_path):
    golden = _load()
    got = run_case(name, str(tmp_path))
    want = golden["cases"][name]
    assert [sorted(r) for r in got["metrics"]] == [sorted(r) for r in want["metrics"]], "metric names changed"
    if golden["cpu_flags"] == cpu_flags():
        for i, (g, w) in enumerate(zip(got["metrics"], want["metrics"])):
            diff = {k: (g[k], w[k]) for k in w if g[k] != w[k]}
            assert not diff, f"{name}: update {i + 1} metrics differ (got, recorded): {diff}"
        assert got["state"] == want["state"], f"{name}: final runner state differs"
    else:  # another instruction set: float reductions may be ordered differently
        for i, (g, w) in enumerate(zip(got["metrics"], want["metrics"])):
            diff = {k: (g[k], w[k]) for k in w if not _close(g[k], w[k])}
            assert not diff, f"{name}: update {i + 1} metrics differ beyond 1e-4 on a CPU with other flags: {diff}"


def record() -> None:
    import subprocess

    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                            cwd=HERE).stdout.strip()
    out = {"recorded_on_commit": commit, "cpu_flags": cpu_flags(), "cases": {}}
    with tempfile.TemporaryDirectory() as d:
        for name in sorted(CASES):
            out["cases"][name] = run_case(name, d)
            print(f"recorded {name}")
    os.makedirs(os.path.dirname(GOLDEN), exist_ok=True)
    with open(GOLDEN, "w") as fh:
        json.dump(out, fh, indent=1, sort_keys=True)
        fh.write("\n")
    print(f"wrote {GOLDEN}")


if __name__ == "__main__":
    if "--record" in sys.argv:
        record()
    else:
        print(__doc__)
