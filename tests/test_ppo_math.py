"""PPO building blocks against plain-NumPy references."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jitrl.ppo import distributions, importance
from jitrl.ppo.config import PPOConfig, auto_scale_for_batch_size
from jitrl.ppo.losses import gae, ppo_loss


def np_gae(rewards, values, dones, last_value, gamma, lam):
    T = rewards.shape[0]
    adv = np.zeros_like(rewards)
    last = np.zeros_like(last_value)
    for t in reversed(range(T)):
        next_v = last_value if t == T - 1 else values[t + 1]
        nd = 1.0 - dones[t]
        delta = rewards[t] + gamma * next_v * nd - values[t]
        last = delta + gamma * lam * nd * last
        adv[t] = last
    return adv, adv + values


def test_gae_matches_numpy():
    rng = np.random.default_rng(0)
    T, N = 37, 5
    r = rng.normal(size=(T, N)).astype(np.float32)
    v = rng.normal(size=(T, N)).astype(np.float32)
    d = (rng.random((T, N)) < 0.15).astype(np.float32)
    lv = rng.normal(size=(N,)).astype(np.float32)
    adv, ret = gae(jnp.asarray(r), jnp.asarray(v), jnp.asarray(d), jnp.asarray(lv), 0.97, 0.9)
    adv_np, ret_np = np_gae(r.astype(np.float64), v, d, lv, 0.97, 0.9)
    np.testing.assert_allclose(np.asarray(adv), adv_np, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(np.asarray(ret), ret_np, rtol=1e-5, atol=1e-5)


def np_log_softmax(x):
    m = np.max(x, axis=-1, keepdims=True)
    z = x - m
    return z - np.log(np.sum(np.exp(z), axis=-1, keepdims=True))


def test_clipped_loss_matches_numpy():
    rng = np.random.default_rng(1)
    B, A = 64, 6
    logits = rng.normal(size=(B, A))
    mask = rng.random((B, A)) < 0.7
    mask[:, 0] = True
    actions = np.array([rng.choice(np.flatnonzero(m)) for m in mask])
    old_lp = np_log_softmax(np.where(mask, logits + rng.normal(scale=0.3, size=(B, A)), -np.inf))[np.arange(B), actions]
    values = rng.normal(size=B)
    old_values = values + rng.normal(scale=0.5, size=B)
    adv = rng.normal(size=B)
    targets = rng.normal(size=B)
    clip, vf, ent = 0.2, 0.5, 0.01

    masked = np.where(mask, logits, -np.inf)
    lp_all = np_log_softmax(masked)
    lp = lp_all[np.arange(B), actions]
    ratio = np.exp(lp - old_lp)
    a = (adv - adv.mean()) / (adv.std() + 1e-8)
    pg = -np.mean(np.minimum(ratio * a, np.clip(ratio, 1 - clip, 1 + clip) * a))
    v_clip = old_values + np.clip(values - old_values, -clip, clip)
    vl = 0.5 * np.mean(np.maximum((values - targets) ** 2, (v_clip - targets) ** 2))
    p = np.exp(lp_all)
    entropy = np.mean(-np.sum(np.where(mask, p * np.where(mask, lp_all, 0), 0), axis=-1))
    total = pg + vf * vl - ent * entropy

    f32 = lambda x: jnp.asarray(x, jnp.float32)  # noqa: E731
    got, stats = ppo_loss(
        distributions.masked_logits(f32(logits), jnp.asarray(mask)), f32(values), jnp.asarray(actions),
        f32(old_lp), f32(old_values), f32(adv), f32(targets), clip, vf, ent,
    )
    np.testing.assert_allclose(float(stats["policy_loss"]), pg, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(float(stats["value_loss"]), vl, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(float(stats["entropy"]), entropy, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(float(got), total, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(float(stats["clip_frac"]), np.mean(np.abs(ratio - 1) > clip), atol=1e-6)
    # gradients of a masked action's logit are exactly zero: it carries no probability
    g = jax.grad(lambda lg: ppo_loss(distributions.masked_logits(lg, jnp.asarray(mask)), f32(values),
                                     jnp.asarray(actions), f32(old_lp), f32(old_values), f32(adv), f32(targets),
                                     clip, vf, ent)[0])(f32(logits))
    assert np.all(np.isfinite(np.asarray(g)))
    assert np.all(np.asarray(g)[~mask] == 0.0)


def test_masked_action_never_sampled_and_frequencies_match():
    """10^5 draws: masked actions never appear; the others follow softmax.

    Each unmasked action's count is Binomial(n, p); we allow 5 standard deviations
    (sqrt(n p (1-p))), a false-failure chance below 1e-5 per action.
    """
    n = 100_000
    logits = jnp.array([0.3, -1.0, 2.0, 0.0, 1.0, -0.5, 0.7, 0.1], jnp.float32)
    mask = jnp.array([True, False, True, False, True, True, False, True])
    ml = distributions.masked_logits(jnp.broadcast_to(logits, (n, 8)), jnp.broadcast_to(mask, (n, 8)))
    a = np.asarray(distributions.sample(jax.random.PRNGKey(3), ml))
    counts = np.bincount(a, minlength=8)
    assert counts[~np.asarray(mask)].sum() == 0
    p = np.exp(np_log_softmax(np.where(np.asarray(mask), np.asarray(logits, np.float64), -np.inf)))
    sd = np.sqrt(n * p * (1 - p))
    assert np.all(np.abs(counts - n * p) <= 5 * sd + 1e-9)
    # an extreme mask: a single legal action is always chosen
    one = distributions.masked_logits(jnp.zeros((1000, 8)), jnp.arange(8)[None] == 5)
    assert np.all(np.asarray(distributions.sample(jax.random.PRNGKey(4), one)) == 5)


def test_masked_entropy_and_log_prob_ignore_masked():
    lg = distributions.masked_logits(jnp.zeros((1, 4)), jnp.array([[True, True, False, False]]))
    assert np.isclose(float(distributions.entropy(lg)[0]), np.log(2.0))
    assert np.isclose(float(distributions.log_prob(lg, jnp.array([1]))[0]), np.log(0.5))


@pytest.mark.parametrize(
    "num_envs, mb, epochs, lr",
    [
        (64, 4, 4, 2.5e-4),  # k = 0.25 < 1: reference values
        (256, 4, 4, 2.5e-4),  # k = 1
        (1024, 16, 2, 2.5e-4 * 16 / 32),  # k = 4: 4 // 4 = 1 -> floor 2
        (2048, 32, 2, 6.25e-5),  # k = 8 (the README's example)
        (8192, 128, 2, 2.5e-4 * 16 / 256),  # k = 32
    ],
)
def test_auto_scale_table(num_envs, mb, epochs, lr):
    cfg = auto_scale_for_batch_size(PPOConfig(num_envs=num_envs, num_steps=128, learning_rate=2.5e-4))
    assert (cfg.num_minibatches, cfg.update_epochs) == (mb, epochs)
    assert cfg.learning_rate == pytest.approx(lr, rel=1e-12)
    assert cfg.minibatch_size == (8192 if num_envs >= 256 else num_envs * 128 // 4)


def test_auto_scale_respects_explicit_and_switch():
    cfg = PPOConfig(num_envs=2048, num_steps=128, learning_rate=1e-3, update_epochs=3)
    out = auto_scale_for_batch_size(cfg, explicit=("learning_rate", "update_epochs"))
    assert (out.num_minibatches, out.update_epochs, out.learning_rate) == (32, 3, 1e-3)
    off = auto_scale_for_batch_size(PPOConfig(num_envs=2048, auto_scale=False))
    assert (off.num_minibatches, off.update_epochs, off.learning_rate) == (4, 4, 2.5e-4)


def test_importance_neutral_policy_weights_are_one():
    log_gamma = jnp.log(jnp.array([[0.5, 2.0, 0.0, 1.5]]))
    fused = importance.fused_logits(jnp.zeros((1, 4)), log_gamma)
    for a in (0, 1, 3):
        assert abs(float(importance.step_log_weight(log_gamma, fused, jnp.array([a]))[0])) < 1e-6
    assert float(importance.expected_ess_ratio(log_gamma, fused)[0]) == pytest.approx(1.0, abs=1e-6)
