"""``n_proposals = k`` (issue 9, item 4): the rollout's SIR acting distribution
(``jitrl.ppo.acting.RateFusedSIR``). Its extended action (k candidates, selected
slot) has the log-probability, gradient, sampling law and expected ESS of the
enumerated truth, computed in float64 numpy from ``P`` and ``q`` alone; PPO trains
with it, and the log-probabilities the learner recomputes equal the rollout's."""
import itertools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jitrl
from jitrl.envs.contract import ActionLaw
from jitrl.networks import NetworkConfig, make_network
from jitrl.ppo.acting import RateFused, RateFusedSIR, make_acting, policy
from jitrl.ppo.config import PPOConfig
from jitrl.ppo.learner import PPOProgram
from jitrl.ppo.state import HParams

LOG_RATES = np.array([0.3, -np.inf, -1.2, 1.0, 0.0])  # one infeasible event
POLICY = np.array([0.9, 0.4, -0.8, -0.5, 0.6])


def _laws():
    fused = np.where(np.isfinite(LOG_RATES), POLICY + LOG_RATES, -np.inf)
    P = np.exp(fused - np.logaddexp.reduce(fused))
    q = np.exp(LOG_RATES - np.logaddexp.reduce(LOG_RATES))
    return P, q


def _enumerate(k):
    """{(a_1..a_k, slot): probability} over every feasible candidate tuple, float64:
    prod_i P(a_i) * r_slot / sum_j r_j with r = q / P."""
    P, q = _laws()
    feas = [a for a in range(len(P)) if P[a] > 0]
    out = {}
    for cand in itertools.product(feas, repeat=k):
        r = np.array([q[a] / P[a] for a in cand])
        for s in range(k):
            out[cand + (s,)] = np.prod(P[list(cand)]) * r[s] / r.sum()
    return out


def _logits(acting, pol=POLICY):
    return acting.logits(jnp.asarray(pol, jnp.float32), ActionLaw(log_rates=jnp.asarray(LOG_RATES, jnp.float32)))


@pytest.mark.parametrize("k", [1, 2, 3])
def test_extended_log_prob_equals_enumerated_probability(k):
    acting = RateFusedSIR(k)
    table = _enumerate(k)
    assert abs(sum(table.values()) - 1.0) < 1e-12  # a law over the extended actions
    acts = jnp.asarray(list(table), jnp.int32)
    lp = np.asarray(jax.vmap(lambda a: acting.log_prob(_logits(acting), a))(acts), np.float64)
    np.testing.assert_allclose(lp, np.log(np.array(list(table.values()))), atol=2e-6)
    # the gradient PPO takes: d log-prob / d policy logits, against central differences
    # of the float64 enumerated log-probability
    P, q = _laws()
    for a in list(table)[:: max(1, len(table) // 6)]:
        g = np.asarray(jax.grad(lambda x: acting.log_prob(_logits(acting, x), jnp.asarray(a)))(
            jnp.asarray(POLICY, jnp.float32)), np.float64)

        def logp(pol):
            fused = np.where(np.isfinite(LOG_RATES), pol + LOG_RATES, -np.inf)
            Pp = np.exp(fused - np.logaddexp.reduce(fused))
            cand, s = list(a[:-1]), a[-1]
            r = q[cand] / Pp[cand]
            return np.sum(np.log(Pp[cand])) + np.log(r[s] / r.sum())

        eps = 1e-6
        fd = np.array([(logp(POLICY + eps * e) - logp(POLICY - eps * e)) / (2 * eps) for e in np.eye(len(POLICY))])
        np.testing.assert_allclose(g, fd, atol=2e-5)
        assert np.abs(fd).max() > 0.05  # the policy moves it: a non-trivial check


@pytest.mark.parametrize("k", [2, 3])
def test_sampling_law_env_action_and_expected_ess_match_enumeration(k):
    acting = RateFusedSIR(k)
    table = _enumerate(k)
    n = 200_000
    logits = jnp.broadcast_to(_logits(acting), (n, 2, len(POLICY)))
    acts = np.asarray(jax.jit(acting.sample)(jax.random.PRNGKey(5), logits))
    assert acts.shape == (n, k + 1)
    # every draw's env action is its selected candidate
    env_a = np.asarray(acting.env_action(jnp.asarray(acts)))
    np.testing.assert_array_equal(env_a, acts[np.arange(n), acts[:, -1]])
    keys, counts = np.unique(acts, axis=0, return_counts=True)
    seen = {tuple(int(v) for v in row): c for row, c in zip(keys, counts)}
    assert set(seen) <= set(table)  # never an infeasible candidate
    # Pearson chi-square over the extended actions: df = cells - 1; mean df,
    # sd sqrt(2 df); bound mean + 6 sd
    cells = np.array(list(table.values()))
    obs = np.array([seen.get(a, 0) for a in table])
    chi2 = np.sum((obs - n * cells) ** 2 / (n * cells))
    df = len(cells) - 1
    assert chi2 < df + 6 * math.sqrt(2 * df), (chi2, df)
    # the averaged weight: E[w] = 1, and the closed-form expected ESS equals 1 / E[w^2]
    P, q = _laws()
    ew = ew2 = 0.0
    for a, pr in table.items():
        w = np.mean([q[c] / P[c] for c in a[:-1]])
        ew, ew2 = ew + pr * w, ew2 + pr * w * w
    assert abs(ew - 1.0) < 1e-12 and ew2 > 1.05
    law = ActionLaw(log_rates=jnp.asarray(LOG_RATES, jnp.float32))
    assert abs(float(acting.expected_ess(law, _logits(acting))) - 1.0 / ew2) < 1e-5
    lw = np.asarray(acting.step_log_weight(law, logits[:1], jnp.asarray(acts[:1])))[0]
    assert abs(lw - math.log(np.mean([q[c] / P[c] for c in acts[0, :-1]]))) < 1e-5


def test_n_proposals_selects_the_acting_distribution():
    env, p = jitrl.make("kmc-tio2", lattice_size=(4, 4, 3))
    assert type(make_acting(env, p)) is RateFused and env.n_proposals is None
    for full in ("all", 4 * 4 * 7):
        env, p = jitrl.make("kmc-tio2", lattice_size=(4, 4, 3), n_proposals=full)
        assert type(make_acting(env, p)) is RateFused
    env, p = jitrl.make("kmc-tio2", lattice_size=(4, 4, 3), n_proposals=5)
    acting = make_acting(env, p)
    assert isinstance(acting, RateFusedSIR) and acting.k == 5
    for bad in (0, 4 * 4 * 7 + 1, 2.5, "some", True):
        with pytest.raises(ValueError, match=r"n_proposals: .*; allowed: 'all'"):
            jitrl.make("kmc-tio2", lattice_size=(4, 4, 3), n_proposals=bad)


def _random_head(rs, scale, seed):
    """The runner state with the network's near-zero policy head replaced by
    random weights of standard deviation ``scale``: a fixed non-neutral policy."""
    head = rs.params["params"]["policy_head"]
    keys = jax.random.split(jax.random.PRNGKey(seed), len(head))
    new_head = {n: scale * jax.random.normal(kk, v.shape) for (n, v), kk in zip(sorted(head.items()), keys)}
    return rs.replace(params={"params": dict(rs.params["params"], policy_head=new_head)})


def test_more_proposals_raise_the_ess_of_one_policy():
    """One fixed non-neutral policy (a random policy head) on 6x6x6, episodes of 24
    events, 256 envs x 48 steps (512 episodes) through the rollout: the full set and
    k = 1, 2, 8. Per step ``E w^2 = 1 + (E_P r^2 - 1) / k``, so the expected ESS rises
    and the trajectory log-weight variance falls with k, by about 1/k while it is
    small; k = 1 has the full set's law. The variance of 512 episodes' ``log W`` has a
    relative standard error ~ sqrt(2 / 512) = 6% (normal ``log W``): full vs k = 1
    agree within 5 of those errors, and the ratios asserted (k=1/k=2 > 1.3 and
    k=2/k=8 > 2.5, against ~2 and ~4 for weights of small spread; measured 1.69 and
    3.58) sit more than 3 combined errors inside them. Prints the figures recorded in
    docs/benchmarks.md."""
    rows = {}
    for k in (None, 1, 2, 8):
        kw = {} if k is None else {"n_proposals": k}
        env, p = jitrl.make("kmc-tio2", lattice_size=(6, 6, 6), max_steps=24, temperature=400.0, **kw)
        net = make_network(env, p, NetworkConfig(net_arch=(8,)))
        cfg = PPOConfig(num_envs=256, num_steps=48, num_minibatches=1, update_epochs=1, auto_scale=False)
        prog = PPOProgram(env, p, net, cfg, num_updates=1)
        rs = _random_head(prog.init(jax.random.PRNGKey(0), HParams.from_config(cfg)), 0.3, 4)
        m = jax.jit(prog.rollout)(rs)[3]
        rows[k] = {n: float(m[n]) for n in ("ess_step", "ess_expected", "ess_trajectory", "log_w_var", "episodes")}
        print(f"n_proposals={k or 'all'}: " + ", ".join(f"{n} {v:.4g}" for n, v in rows[k].items()))
    assert all(r["episodes"] == 512 for r in rows.values())
    v = {k: r["log_w_var"] for k, r in rows.items()}
    assert v[1] > 0.1  # a non-trivial proposal
    assert abs(v[None] - v[1]) < 5 * math.sqrt(2 / 512) * max(v[None], v[1])
    assert v[1] > 1.3 * v[2] and v[2] > 2.5 * v[8]
    e = {k: r["ess_expected"] for k, r in rows.items()}
    assert e[1] < e[2] < e[8] and abs(e[None] - e[1]) < 0.02
    assert rows[8]["ess_trajectory"] > rows[1]["ess_trajectory"]


def test_ppo_trains_with_sir_proposals():
    """A few PPO updates with ``n_proposals = 4`` on a 4x4x3 lattice: the stored
    extended actions step the env with a feasible selected event, the learner's
    recomputed log-probability equals the stored one (PPO ratio exactly 1 at the
    rollout's parameters, on a non-neutral policy), and the losses stay finite."""
    k = 4
    env, p = jitrl.make("kmc-tio2", lattice_size=(4, 4, 3), n_proposals=k, max_steps=10, temperature=400.0)
    net = make_network(env, p, NetworkConfig(net_arch=(8,)))
    cfg = PPOConfig(num_envs=8, num_steps=16, num_minibatches=2, update_epochs=2, learning_rate=3e-3,
                    auto_scale=False)
    prog = PPOProgram(env, p, net, cfg, num_updates=3)
    rs = prog.init(jax.random.PRNGKey(0), HParams.from_config(cfg))
    rs = _random_head(rs, 1.0, 9)  # a non-neutral policy
    rs2, traj, _, m = jax.jit(prog.rollout)(rs)
    assert traj.action.shape == (cfg.num_steps, cfg.num_envs, k + 1)
    a = np.asarray(prog.acting.env_action(traj.action))
    assert np.all(np.take_along_axis(np.asarray(traj.law.log_rates), a[..., None], -1) > -np.inf)
    flat = jax.tree_util.tree_map(lambda x: x.reshape((cfg.batch_size,) + x.shape[2:]), traj)
    logits, _ = policy(net, prog.acting, rs.params, flat.obs, flat.law)
    recomputed = np.asarray(prog.acting.log_prob(logits, flat.action))
    np.testing.assert_allclose(recomputed, np.asarray(flat.log_prob), atol=1e-4)
    # not the full-set log-probability: the candidates and the selection count
    full = np.asarray(RateFused().log_prob(logits[:, 0], prog.acting.env_action(flat.action)))
    assert np.max(np.abs(full - recomputed)) > 0.5
    assert float(m["ess_step"]) < 0.99 and float(m["ess_expected"]) < 0.99
    rs3, ms = jax.jit(lambda r: prog.run_chunk(r, 3))(rs)
    assert np.all(np.asarray(ms["finite"]) == 1.0)
    for name in ("total_loss", "policy_loss", "value_loss", "entropy", "approx_kl"):
        assert np.all(np.isfinite(np.asarray(ms[name]))), name
    assert float(ms["approx_kl"][0]) < 0.5
    changed = jax.tree_util.tree_map(lambda x, y: float(jnp.max(jnp.abs(x - y))), rs.params, rs3.params)
    assert max(jax.tree_util.tree_leaves(changed)) > 0
