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


def test_cells_board_layout_reads_the_trailing_board_by_name():
    from jitrl.networks.cells import BoardLayout, board_layout
    from jitrl.envs.hackmatrix import observation

    env, params = jitrl.make("hackmatrix")
    lay = board_layout(env, params)
    assert lay.channels == tuple(observation.CHANNELS) and lay.board_size + 0 <= observation.OBS_SIZE
    # a synthetic layout: 3 global features then a 2 x 3 board of 2 channels, entry value = its index
    toy = BoardLayout(rows=2, cols=3, channels=("a", "b"))
    obs = jnp.arange(3 + 12, dtype=jnp.float32)[None]
    assert toy.globals(obs).tolist() == [[0, 1, 2]]
    b = toy.board(obs)
    assert b.shape == (1, 2, 3, 2) and float(b[0, 1, 2, toy.channel("b")]) == 3 + (1 * 3 + 2) * 2 + 1
    with pytest.raises(ValueError, match="board channel 'c' not in the observation; channels: a, b"):
        toy.channel("c")


def test_cells_shapes_and_clear_error_without_a_board():
    env, params = jitrl.make("hackmatrix")
    net = make_network(env, params, NetworkConfig(kind="cells", net_arch=(8, 8)))
    obs = jnp.zeros((5,) + env.observation_shape(params))
    p = net.init(jax.random.PRNGKey(0), obs[:1])
    logits, value = net.apply(p, obs)
    assert logits.shape == (5, env.num_actions(params)) and value.shape == (5,)
    cp, cpp = jitrl.make("CartPole-v1")
    with pytest.raises(ValueError, match="network.kind: 'cells' needs a board observation; 'CartPole-v1'"):
        make_network(cp, cpp, NetworkConfig(kind="cells"))


def test_cells_trains_on_a_tiny_hackmatrix_run_and_acts_legally():
    import numpy as np
    from toys import ppo_program

    env, params = jitrl.make("hackmatrix")
    _, prog, rs = ppo_program(env, params, NetworkConfig(kind="cells", net_arch=(8, 8)), 3, num_envs=16,
                              num_steps=8, num_minibatches=2, update_epochs=2, learning_rate=1e-3)
    p0 = rs.params
    rs, m = jax.jit(lambda rs: prog.run_chunk(rs, 3))(rs)
    assert np.all(np.isfinite(np.asarray(m["total_loss"])))
    np.testing.assert_array_equal(np.asarray(m["legal"]), 1.0)  # the mask is respected: every action legal
    moved = jax.tree_util.tree_map(lambda a, b: float(jnp.abs(a - b).max()), p0, rs.params)
    assert max(jax.tree_util.tree_leaves(moved)) > 0
