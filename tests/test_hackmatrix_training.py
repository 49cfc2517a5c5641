"""PPO on HackMatrix beats a uniformly random masked policy (short CPU run).

Setting: 256 envs x 32 steps, 40 updates (~328k env steps), MLP 64-64, LR 1e-3,
4 epochs x 4 minibatches (no auto-scaling). Measured on the 2-core CPU (seed 0,
~94 s with compile): random masked policy -3.07 mean episode return (1535
episodes), PPO over its last 5 updates -0.60 (766 episodes). At LR 2.5e-4 and
30 updates PPO had only reached -2.9, so the LR is part of the setting. The random masked policy's mean
episode return is estimated on 256 envs x 256 steps (thousands of episodes; its
standard error is ~0.05), and PPO must beat it by a margin of 0.5, ~10 standard
errors of either estimate, so a fluke cannot pass or fail it.
"""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jitrl
from jitrl.networks import NetworkConfig
from toys import ppo_program

N_ENVS, N_STEPS, N_UPDATES = 256, 32, 40


def random_policy_mean_return(env, params, n_envs=256, n_steps=256):
    keys = jax.random.split(jax.random.PRNGKey(123), n_envs)
    _, st = jax.vmap(env.reset, in_axes=(0, None))(keys, params)

    def one(carry, k):
        st, ret = carry
        k1, k2 = jax.random.split(k)
        m = env.action_mask(st, params)
        a = jax.random.categorical(k1, jnp.where(m, 0.0, -1e9))
        _, st, r, te, tr, _ = env.step(k2, st, a, params)
        ret = ret + r
        done = te | tr
        return (st, jnp.where(done, 0.0, ret)), (jnp.where(done, ret, 0.0), done)

    def body(carry, k):
        return jax.vmap(one)(carry, jax.random.split(k, n_envs))

    _, (rets, dones) = jax.jit(lambda c: jax.lax.scan(body, c, jax.random.split(jax.random.PRNGKey(7), n_steps)))(
        (st, jnp.zeros((n_envs,))))
    return float(rets.sum() / dones.sum()), int(dones.sum())


@pytest.mark.slow
def test_ppo_beats_random_masked_policy():
    env, params = jitrl.make("hackmatrix")
    rand_ret, rand_eps = random_policy_mean_return(env, params)
    cfg, prog, rs = ppo_program(env, params, NetworkConfig(net_arch=(64, 64)), N_UPDATES, num_envs=N_ENVS,
                                num_steps=N_STEPS, num_minibatches=4, update_epochs=4, learning_rate=1e-3)
    rs, m = jax.jit(lambda rs: prog.run_chunk(rs, N_UPDATES))(rs)
    ret = np.asarray(m["mean_episode_return"])
    eps = np.asarray(m["episodes"])
    last = slice(N_UPDATES - 5, N_UPDATES)
    ppo_ret = float((ret[last] * eps[last]).sum() / max(eps[last].sum(), 1))
    msg = f"random {rand_ret:.3f} ({rand_eps} eps) vs PPO last-5 {ppo_ret:.3f} ({eps[last].sum()} eps); curve {np.round(ret, 2)}"
    print(msg)
    assert ppo_ret > rand_ret + 0.5, msg
