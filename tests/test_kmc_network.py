"""The per-site lattice networks (``lattice-conv``, ``lattice-local``): one
parameter set on any lattice size, logits in the env's action order (checked by
translation equivariance on the periodic lattice), near-neutral initial policy,
and how far a site's logits reach (5 x 5 sites for two 3 x 3 convolutions, the
site alone for the local actor)."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jitrl
from jitrl.networks import NetworkConfig, make_network
from jitrl.ppo import importance


def _random_obs(env, p, key, n_steps=60):
    _, s = env.reset(key, p)
    def body(st, k):
        ka, ks = jax.random.split(k)
        a = jax.random.categorical(ka, env.log_rates(st, p))
        return env.step_env(ks, st, a, p)[1], None
    s, _ = jax.lax.scan(body, s, jax.random.split(key, n_steps))
    return env.get_obs(s, p), s


KINDS = ("lattice-conv", "lattice-local")


@pytest.mark.parametrize("kind", KINDS)
def test_one_parameter_set_runs_on_all_sizes(kind):
    env8, p8 = jitrl.make("kmc-tio2", lattice_size=(8, 8, 5))
    net = make_network(env8, p8, NetworkConfig(kind=kind, net_arch=(16, 16)))
    obs8, _ = _random_obs(env8, p8, jax.random.PRNGKey(0))
    params = net.init(jax.random.PRNGKey(1), obs8[None])
    for size in [(8, 8, 5), (20, 20, 10), (50, 50, 20)]:
        env, p = jitrl.make("kmc-tio2", lattice_size=size)
        obs, s = _random_obs(env, p, jax.random.PRNGKey(2))
        logits, value = net.apply(params, jnp.stack([obs, obs]))
        assert logits.shape == (2, env.num_actions(p)) and value.shape == (2,)
        assert np.all(np.isfinite(np.asarray(logits))) and np.all(np.isfinite(np.asarray(value)))
        # near-neutral at init: the fused proposal is almost Gamma / Z
        fused = importance.fused_logits(logits[0], env.log_rates(s, p))
        assert float(importance.expected_ess_ratio(env.log_rates(s, p), fused)) > 0.99


@pytest.mark.parametrize("kind", KINDS)
def test_logits_follow_the_action_layout(kind):
    """Rolling the lattice by (di, dj) rolls the [nx, ny, 7] logits the same way
    (circular convolutions and per-site layers are exactly translation-equivariant);
    the value is invariant. A wrong flatten order would break this."""
    env, p = jitrl.make("kmc-tio2", lattice_size=(7, 9, 4), temperature=400.0)
    net = make_network(env, p, NetworkConfig(kind=kind, net_arch=(16, 16)))
    obs, _ = _random_obs(env, p, jax.random.PRNGKey(3), n_steps=120)
    params = net.init(jax.random.PRNGKey(4), obs[None])
    # make the policy head large so the logits carry structure
    params = jax.tree_util.tree_map(lambda x: x, params)
    params["params"]["policy_head"]["kernel"] = params["params"]["policy_head"]["kernel"] * 300.0
    rolled = jnp.roll(obs, (2, 5), axis=(0, 1))
    lg, v = net.apply(params, jnp.stack([obs, rolled]))
    a = np.asarray(lg[0]).reshape(7, 9, 7)
    b = np.asarray(lg[1]).reshape(7, 9, 7)
    assert np.std(a) > 0.05
    np.testing.assert_allclose(np.roll(a, (2, 5), axis=(0, 1)), b, atol=1e-4)
    np.testing.assert_allclose(float(v[0]), float(v[1]), atol=1e-4)
    # a site's 7 logits depend only on its 5 x 5 neighbourhood (two 3 x 3 convs):
    # changing a far column leaves them unchanged
    far = obs.at[6, 8].set(obs[6, 8] + 1.0)
    lf = np.asarray(net.apply(params, far[None])[0][0]).reshape(7, 9, 7)
    np.testing.assert_allclose(lf[2, 3], a[2, 3], atol=1e-6)
    assert np.abs(lf[6, 8] - a[6, 8]).max() > 1e-4
    # the local actor: a site's logits read its own observation only, so changing a
    # lateral neighbour's observation leaves every other site's logits bit for bit
    # unchanged (the convolution's neighbours move)
    near = obs.at[2, 4].set(obs[2, 4] + 1.0)
    ln = np.asarray(net.apply(params, near[None])[0][0]).reshape(7, 9, 7)
    others = np.ones((7, 9), bool)
    others[2, 4] = False
    assert np.abs(ln[2, 4] - a[2, 4]).max() > 1e-4
    if kind == "lattice-local":
        np.testing.assert_array_equal(ln[others], a[others])
    else:
        assert np.abs(ln[2, 3] - a[2, 3]).max() > 1e-4
