"""Network registry: shapes, and parameter counts against the layer arithmetic."""
import jax
import jax.numpy as jnp
import pytest

import jitrl
from jitrl.networks import NetworkConfig, make_network, network_names


def dense(i, o):
    return i * o + o


@pytest.mark.parametrize("kind, expected", [
    # two towers 4-64-64 plus policy head 64->2 and value head 64->1
    ("mlp", 2 * (dense(4, 64) + dense(64, 64)) + dense(64, 2) + dense(64, 1)),
    # one trunk feeding both heads
    ("mlp-shared", dense(4, 64) + dense(64, 64) + dense(64, 2) + dense(64, 1)),
])
def test_mlp_shapes_and_sizes(kind, expected):
    env, params = jitrl.make("CartPole-v1")
    net = make_network(env, params, NetworkConfig(kind=kind, net_arch=(64, 64)))
    p = net.init(jax.random.PRNGKey(0), jnp.zeros((1, 4)))
    assert sum(x.size for x in jax.tree_util.tree_leaves(p)) == expected
    logits, value = net.apply(p, jnp.ones((7, 4)))
    assert logits.shape == (7, 2) and value.shape == (7,)


def test_unknown_network_names_the_choices():
    env, params = jitrl.make("CartPole-v1")
    with pytest.raises(ValueError, match="network.kind: unknown network 'nope'; allowed: auto, .*mlp-shared"):
        make_network(env, params, NetworkConfig(kind="nope"))
    assert {"mlp", "mlp-shared"} <= set(network_names())
