"""SwarmThinkers importance weights on the KMC env: a neutral policy is plain
BKL (w = 1, ESS = 1); for any policy the reweighted expectation over the fused
proposal equals the physical expectation (exactly by enumeration, and by Monte
Carlo through the trainer's sampler)."""
import math

import jax
import jax.numpy as jnp
import numpy as np

import jitrl
from jitrl.envs.kmc.state import EnvParams
from jitrl.networks import NetworkConfig, make_network
from jitrl.ppo import distributions, importance, rollout
from jitrl.ppo.config import PPOConfig
from jitrl.ppo.learner import PPOProgram
from jitrl.ppo.state import HParams

from kmc_reference import random_state


def _state(env, params, heights, species):
    return env.state_from_lattice(heights, species, params)


def test_neutral_policy_is_plain_kmc_through_the_rollout():
    """With all policy logits equal the trainer's rollout has every log w = 0 and
    batch / episode ESS = 1 (up to float32 rounding of log-softmax)."""
    env, p = jitrl.make("kmc-tio2", lattice_size=(5, 5, 3), max_steps=12, temperature=400.0)
    net = make_network(env, p, NetworkConfig(net_arch=(8,)))
    cfg = PPOConfig(num_envs=16, num_steps=40, num_minibatches=2, update_epochs=1, auto_scale=False)
    prog = PPOProgram(env, p, net, cfg, num_updates=1)
    rs = prog.init(jax.random.PRNGKey(0), HParams.from_config(cfg))
    # neutral: zero the policy head, so logits are exactly 0 for every event
    params = jax.tree_util.tree_map(lambda x: x, rs.params)
    head = params["params"]["policy_head"]
    params["params"]["policy_head"] = {k: jnp.zeros_like(v) for k, v in head.items()}
    rs = rs.replace(params=params)
    rs2, traj, _, metrics = jax.jit(lambda r: rollout.collect(env, p, net, prog.acting, cfg.num_steps, r))(rs)
    log_w = jax.vmap(jax.vmap(importance.step_log_weight))(
        traj.law.log_rates, importance.fused_logits(jnp.zeros_like(traj.law.log_rates), traj.law.log_rates), traj.action
    )
    assert float(jnp.max(jnp.abs(log_w))) < 1e-5
    assert abs(float(metrics["ess"]) - 1.0) < 1e-5
    assert float(metrics["episodes"]) > 0 and abs(float(metrics["ess_trajectory"]) - 1.0) < 1e-4
    assert abs(float(metrics["ess_expected"]) - 1.0) < 1e-5
    assert abs(float(metrics["reward_ess"])) < 1e-6
    assert float(jnp.max(jnp.abs(rs2.episodes.log_weight))) < 1e-4
    for k in [m.logged_name for m in env.metrics if m.reduce == "step"]:
        assert k in metrics and np.isfinite(float(metrics[k]))


def test_reweighted_expectation_equals_physical_expectation():
    """sum_a P(a) w(a) f(a) = sum_a (Gamma_a / Z) f(a) for a random policy, with
    f(a) = roughness after event a (all events enumerated); and the Monte Carlo
    mean of w f over 100k draws from P agrees within 4 standard errors."""
    p = EnvParams(temperature=450.0)
    env, _ = jitrl.make("kmc-tio2", lattice_size=(4, 4, 3))
    hs, sp = random_state(np.random.default_rng(3), 4, 4, 3, fill=0.8)
    s = _state(env, p, hs, sp)
    n_a = env.num_actions(p)
    log_gamma = env.log_rates(s, p)
    policy = 1.5 * jax.random.normal(jax.random.PRNGKey(1), (n_a,))
    fused = importance.fused_logits(policy, log_gamma)
    feas = np.asarray(jnp.isfinite(log_gamma))
    acts = jnp.arange(n_a)
    _, s_next, _, _, _, info = jax.vmap(env.step_env, in_axes=(None, None, 0, None))(jax.random.PRNGKey(0), s, acts, p)
    f = np.asarray(info["roughness"], np.float64)
    log_w = np.asarray(jax.vmap(lambda a: importance.step_log_weight(log_gamma, fused, a))(acts), np.float64)
    P = np.exp(np.asarray(distributions.log_softmax(fused), np.float64))
    q = np.exp(np.asarray(importance.physical_log_probs(log_gamma), np.float64))
    assert np.isclose(P.sum(), 1, atol=1e-5) and np.isclose(q.sum(), 1, atol=1e-5)
    w = np.exp(log_w)
    assert np.std(w[feas]) > 0.1  # the policy is far from neutral: a non-trivial check
    lhs = np.sum(P[feas] * w[feas] * f[feas])
    rhs = np.sum(q[feas] * f[feas])
    assert abs(lhs - rhs) < 1e-4 * abs(rhs), (lhs, rhs)
    # ESS ratio of the fused proposal: 1 / sum q^2 / P
    np.testing.assert_allclose(float(importance.expected_ess_ratio(log_gamma, fused)), 1 / np.sum(q[feas] ** 2 / P[feas]), rtol=1e-4)
    # Monte Carlo through the trainer's sampler
    n = 100_000
    a = np.asarray(distributions.sample(jax.random.PRNGKey(2), jnp.broadcast_to(fused, (n, n_a))))
    assert feas[a].all()
    wf = w[a] * f[a]
    assert abs(wf.mean() - rhs) < 4 * wf.std() / math.sqrt(n), (wf.mean(), rhs)
