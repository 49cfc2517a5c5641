"""The learner's speed paths compute the same update as the plain path: a minibatch
differentiated in chunks gives the whole-minibatch loss, statistics and gradient
(up to float32 rounding of the sums' order)."""
import jax
import jax.numpy as jnp
import numpy as np

from jitrl.config import resolve
from jitrl.envs.contract import ActionLaw
from jitrl.ppo import learner
from jitrl.training.program import build_program


def _program(tmp_path, env="hackmatrix"):
    cfg = resolve(None, {"env.name": env, "num_envs": "8", "num_steps": "16", "total_timesteps": str(8 * 16 * 2),
                         "auto_scale": "false", "num_minibatches": "2", "network.net_arch": "16,16",
                         "checkpoint_dir": str(tmp_path), "run_name": "t"})
    _, _, _, prog = build_program(cfg)
    return cfg, prog


def _minibatch(prog, params, n):
    """A synthetic minibatch: sparse 0/1 observations of the env's width, random legal
    masks holding each row's action, log-probs and values near the network's, spread
    advantages."""
    k = jax.random.split(jax.random.PRNGKey(1), 6)
    obs = (jax.random.uniform(k[0], (n,) + prog.env.observation_shape()) < 0.1).astype(jnp.float32)
    a = prog.env.num_actions()
    action = jax.random.randint(k[1], (n,), 0, a)
    mask = (jax.random.uniform(k[2], (n, a)) < 0.5) | (jnp.arange(a) == action[:, None])
    logits, value = prog.network.apply(params, obs)
    logp = jax.nn.log_softmax(jnp.where(mask, logits, -jnp.inf))[jnp.arange(n), action]
    traj = learner.Transition(obs=obs, action=action, log_prob=logp + 0.1 * jax.random.normal(k[3], (n,)),
                              value=value + 0.3 * jax.random.normal(k[4], (n,)), reward=jnp.zeros((n,)),
                              done=jnp.zeros((n,), bool), law=ActionLaw(mask=mask))
    adv = jax.random.normal(k[5], (n,)) * 2.0 + 0.5
    return traj, adv, value + adv


def test_grad_chunks_rule():
    assert learner.grad_chunks(8192) == 1  # HackMatrix's auto-scaled minibatch: whole
    assert learner.grad_chunks(65536) == 32  # CartPole 2048 x 128 / 4: 32 chunks of 2048 rows
    assert learner.grad_chunks(3 * 8192) == 12


def test_chunked_gradient_equals_whole(tmp_path, monkeypatch):
    # hackmatrix: a masked action law, so the chunks carry masks too
    cfg, prog = _program(tmp_path)
    hp = learner.HParams.from_config(cfg.ppo)
    params = prog.network.init(jax.random.PRNGKey(0), jnp.zeros((1,) + prog.env.observation_shape(), jnp.float32))
    mb = _minibatch(prog, params, 64)
    whole = jax.jit(prog.loss_and_grad)(params, mb, hp)
    monkeypatch.setattr(learner, "GRAD_CHUNK_ROWS", 8)  # 64 rows > 4 x 8: 8 chunks of 8 rows
    assert learner.grad_chunks(64) == 8
    chunked = jax.jit(prog.loss_and_grad)(params, mb, hp)
    (lw, sw), gw = whole
    (lc, sc), gc = chunked
    # float32 sums of 64 terms in another order: relative error ~ 64 * 6e-8
    np.testing.assert_allclose(float(lc), float(lw), rtol=1e-5, atol=1e-7)
    assert sorted(sw) == sorted(sc)
    for k in sw:
        np.testing.assert_allclose(float(sc[k]), float(sw[k]), rtol=1e-5, atol=1e-7, err_msg=k)
    for a, b in zip(jax.tree_util.tree_leaves(gc), jax.tree_util.tree_leaves(gw)):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-4, atol=1e-7)
    assert float(jnp.max(jnp.abs(jax.tree_util.tree_leaves(gw)[0]))) > 0  # a gradient that can differ


def test_phases_bench_accounts_for_an_update():
    from jitrl.workflow.bench import format_table, run_case

    out = run_case({"case": "phases", "env": "CartPole-v1", "num_envs": 4, "num_steps": 4, "train_repeats": 1,
                    "flags": {"auto_scale": "false", "num_minibatches": "2", "update_epochs": "2",
                              "network.net_arch": "8"}})
    assert set(out["phases_ms"]) == {"rollout", "gae", "shuffle", "gather", "minibatch", "forward_backward",
                                     "optimizer"}
    assert out["phase_calls"]["minibatch"] == 4 and out["phase_calls"]["shuffle"] == 2
    assert all(v > 0 for v in out["phases_ms"].values())
    assert out["sps"] == 16 / out["seconds"]
    assert "phases alone" in format_table([out])
