"""scripts/kmc_simulate.py (issue 9, item 6): a neutral run is plain BKL (every
weight 1: weighted = unweighted, ESS 1) and writes its results and picture; a
steered run reweights (weighted != steered, ESS < 1, finite)."""
import json
import os

import jax
import numpy as np

import jitrl
from jitrl.cli.simulate import main
from jitrl.networks import NetworkConfig, make_network
from jitrl.workflow.simulate import simulate


def test_neutral_run_writes_weighted_observables(tmp_path, capsys):
    out = str(tmp_path / "sim")
    assert main(["--neutral", "--lattice", "4,4,8", "--events", "40", "--replicas", "4", "--out", out,
                 "--chunk", "20"]) == 0
    res = json.load(open(os.path.join(out, "results.json")))
    assert os.path.getsize(os.path.join(out, "heightmap.png")) > 0
    assert res["ess_trajectory"] == 1.0 and res["log_w_var"] == 0.0
    for o in res["observables"].values():
        assert o["weighted"] == o["unweighted"] and np.isfinite(o["weighted_se"])
    assert res["observables"]["n_deposited"]["unweighted"] > 0
    # a bad flag is one line naming it
    assert main(["--lattice", "4,4", "--neutral", "--out", out]) == 2
    assert "--lattice" in capsys.readouterr().err


def test_steered_run_reweights():
    env, p = jitrl.make("kmc-tio2", lattice_size=(4, 4, 8), E_d_Ti=0.5, E_d_O=0.5)
    net = make_network(env, p, NetworkConfig(net_arch=(8,)))
    params = net.init(jax.random.PRNGKey(0), env.reset(jax.random.PRNGKey(0), p)[0][None])
    # a far-from-neutral head so the weights matter
    params = jax.tree_util.tree_map(lambda x: x * 30.0, params)
    res = simulate(env, p, net, params, events=30, replicas=8, chunk=30, log=lambda *_: None)
    assert 0 < res["ess_trajectory"] < 0.99 and res["log_w_var"] > 0
    r = res["observables"]["roughness"]
    assert np.isfinite(r["weighted"]) and np.isfinite(r["weighted_se"]) and r["weighted"] != r["unweighted"]
