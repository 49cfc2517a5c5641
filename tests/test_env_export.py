"""jitrl envs used by other JAX RL libraries: the gymnax and Jumanji exports,
driven as a generic consumer of each library would drive them.

Truths: the jitrl env itself (same key -> same trajectory as ``env.step``), the
libraries' own spaces, specs and wrappers (gymnax's ``LogWrapper`` episode
returns against a hand sum of the rewards; Jumanji's ``AutoResetWrapper`` and
its smoke check), and a toy env whose termination and truncation times are
known exactly.
"""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import struct
from gymnax.environments import environment as gx_env
from gymnax.environments import spaces
from gymnax.wrappers.purerl import FlattenObservationWrapper, LogWrapper

import jitrl
from jitrl.envs import to_gymnax
from jitrl.envs.base import Environment


@struct.dataclass
class _CParams:
    limit: int = 5  # truncation after this many steps
    goal: int = 3  # action 1 taken this many times terminates


@struct.dataclass
class _CState:
    t: jax.Array
    hits: jax.Array


class Countdown(Environment):
    """Terminates when action 1 has been taken ``goal`` times, truncates at
    ``limit`` steps; action 2 is illegal once ``hits >= 1``; reward 1 per hit."""

    name = "countdown-export-test"

    @property
    def default_params(self):
        return _CParams()

    def num_actions(self, params=None):
        return 3

    def observation_shape(self, params=None):
        return (2,)

    def observation_bounds(self, params=None):
        return 0.0, 10.0

    def get_obs(self, state, params=None):
        return jnp.stack([state.t, state.hits]).astype(jnp.float32)

    def action_mask(self, state, params=None):
        return jnp.array([True, True, False]) | (state.hits < 1)

    def reset_env(self, key, params):
        s = _CState(jnp.zeros((), jnp.int32), jnp.zeros((), jnp.int32))
        return self.get_obs(s), s

    def step_env(self, key, state, action, params):
        hit = action == 1
        s = _CState(state.t + 1, state.hits + hit.astype(jnp.int32))
        term = s.hits >= params.goal
        trunc = (s.t >= params.limit) & ~term
        return self.get_obs(s), s, hit.astype(jnp.float32), term, trunc, {"hits": s.hits.astype(jnp.float32)}


# ----------------------------------------------------------------------------------- gymnax
def test_gymnax_export_is_a_gymnax_env_with_spaces_and_signatures():
    env, params = jitrl.make("hackmatrix", api="gymnax")
    assert isinstance(env, gx_env.Environment)
    assert env.name == "hackmatrix" and env.num_actions == 28
    assert isinstance(env.action_space(params), spaces.Discrete) and env.action_space(params).n == 28
    box = env.observation_space(params)
    assert isinstance(box, spaces.Box) and box.shape == jitrl.make("hackmatrix")[0].observation_shape()
    assert env.default_params == params

    keys = jax.random.split(jax.random.PRNGKey(0), 16)
    obs, state = jax.jit(jax.vmap(env.reset, in_axes=(0, None)))(keys, params)
    acts = jax.vmap(env.action_space(params).sample)(jax.random.split(jax.random.PRNGKey(1), 16))
    assert bool(jnp.all(jax.vmap(env.action_space(params).contains)(acts)))
    obs2, state2, reward, term, trunc, info = jax.jit(jax.vmap(env.step, in_axes=(0, 0, 0, None)))(
        keys, state, acts, params)
    assert obs2.shape == (16,) + box.shape and reward.shape == (16,)
    assert term.dtype == bool and trunc.dtype == bool
    assert bool(jnp.all(jax.vmap(box.contains)(obs2)))
    for k in ("terminated", "truncated", "final_observation", "action_mask"):
        assert k in info
    assert info["action_mask"].shape == (16, 28)


def test_gymnax_step_is_the_jitrl_trajectory_and_its_mask():
    native, params = jitrl.make("hackmatrix")
    env, _ = jitrl.make("hackmatrix", api="gymnax")
    key = jax.random.PRNGKey(3)
    o_n, s_n = jax.jit(native.reset)(key, params)  # both jitted: XLA may fold x / 13 into x * (1 / 13)
    o_g, s_g = env.reset(key, params)
    np.testing.assert_array_equal(np.asarray(o_n), np.asarray(o_g))
    step_n = jax.jit(native.step)
    mask_g, mask_n = jax.jit(env.action_mask), jax.jit(native.action_mask)
    for t in range(25):
        k = jax.random.fold_in(key, t)
        mask = np.asarray(mask_g(s_g, params))
        a = int(np.flatnonzero(mask)[t % mask.sum()])  # a legal action, deterministic
        o_n, s_n, r_n, te_n, tr_n, _ = step_n(k, s_n, a, params)
        o_g, s_g, r_g, te_g, tr_g, info = env.step(k, s_g, a, params)
        np.testing.assert_array_equal(np.asarray(o_n), np.asarray(o_g))
        assert float(r_n) == float(r_g) and bool(te_n) == bool(te_g) and bool(tr_n) == bool(tr_g)
        # the mask in info is the mask of the state just returned
        np.testing.assert_array_equal(np.asarray(info["action_mask"]), np.asarray(mask_n(s_n, params)))


def test_gymnax_truncation_termination_and_raw_step_agree():
    native = Countdown()
    env = to_gymnax(native)
    p = native.default_params
    _, s = env.reset(jax.random.PRNGKey(0), p)
    # five 0-actions: truncated at t = 5 (step), and step_env + is_truncated say the same
    for t in range(5):
        _, s_raw, _, term_raw, _ = env.step_env(jax.random.PRNGKey(t), s, 0, p)
        obs, s, r, term, trunc, info = env.step(jax.random.PRNGKey(t), s, 0, p)
        assert bool(trunc) == (t == 4) == bool(env.is_truncated(s_raw, p)) and not bool(term) and not bool(term_raw)
    assert float(obs[0]) == 0.0  # auto-reset: the new episode's first observation
    np.testing.assert_array_equal(np.asarray(info["final_observation"]), [5.0, 0.0])
    # three hits terminate (not truncate)
    for t in range(3):
        obs, s, r, term, trunc, info = env.step(jax.random.PRNGKey(t), s, 1, p)
    assert bool(term) and not bool(trunc) and float(r) == 1.0
    # action 2 is masked once a hit happened
    _, s, *_ = env.step(jax.random.PRNGKey(9), s, 1, p)
    np.testing.assert_array_equal(np.asarray(env.action_mask(s, p)), [True, True, False])


def test_gymnax_wrappers_log_episode_returns():
    """gymnax's own LogWrapper (over its FlattenObservationWrapper) on the export: the
    returned episode returns equal the hand sum of the rewards of each episode."""
    env, params = jitrl.make("hackmatrix", api="gymnax", max_steps=12)
    wrapped = LogWrapper(FlattenObservationWrapper(env))
    n, steps = 8, 40
    obs, st = jax.vmap(wrapped.reset, in_axes=(0, None))(jax.random.split(jax.random.PRNGKey(0), n), params)

    def body(carry, k):
        st, ret = carry
        ka, ks = jax.random.split(k)
        mask = jax.vmap(lambda s: env.action_mask(s.env_state, params))(st)
        a = jax.random.categorical(ka, jnp.where(mask, 0.0, -jnp.inf))
        obs, st, r, te, tr, info = jax.vmap(wrapped.step, in_axes=(0, 0, 0, None))(jax.random.split(ks, n), st, a, params)
        done = te | tr
        ret = ret + r
        out = (done, ret, info["returned_episode_returns"], info["legal"])
        return (st, jnp.where(done, 0.0, ret)), out

    _, (done, ret, logged, legal) = jax.jit(lambda c: jax.lax.scan(body, c, jax.random.split(jax.random.PRNGKey(1), steps)))(
        (st, jnp.zeros((n,))))
    done, ret, logged = map(np.asarray, (done, ret, logged))
    assert done.sum() >= n  # max_steps 12: every env finishes at least one episode in 40 steps
    np.testing.assert_allclose(logged[done], ret[done], rtol=1e-6, atol=1e-6)
    assert float(np.min(np.asarray(legal))) == 1.0  # masked sampling from the exported mask is always legal


def test_gymnax_export_of_the_rate_env():
    env, params = jitrl.make("kmc-tio2", api="gymnax", lattice_size=(4, 4, 3), max_steps=6)
    obs, s = env.reset(jax.random.PRNGKey(0), params)
    assert obs.shape == (4, 4, 22) and env.num_actions == 4 * 4 * 7
    lr = env.log_rates(s, params)
    a = int(jnp.argmax(lr))  # the fastest feasible event
    obs, s, r, te, tr, info = env.step(jax.random.PRNGKey(1), s, a, params)
    np.testing.assert_array_equal(np.asarray(info["action_mask"]), np.isfinite(np.asarray(env.log_rates(s, params))))
    assert float(info["invalid_action"]) == 0.0


def test_make_api_errors():
    with pytest.raises(jitrl.envs.UnknownEnvError, match="api: 'brax'; allowed: jitrl, gymnax, jumanji"):
        jitrl.make("hackmatrix", api="brax")
    with pytest.raises(TypeError, match="expected a jitrl Environment"):
        to_gymnax(object())


# ----------------------------------------------------------------------------------- Jumanji
def test_jumanji_export_specs_timesteps_and_auto_reset():
    import jumanji  # the dev extra installs it: a missing one fails, never skips
    from jumanji.testing.env_not_smoke import check_env_does_not_smoke, check_env_specs_does_not_smoke
    from jumanji.types import StepType
    from jumanji.wrappers import AutoResetWrapper

    from jitrl.envs import to_jumanji

    native = Countdown()
    env = to_jumanji(native)
    assert isinstance(env, jumanji.env.Environment)
    check_env_specs_does_not_smoke(env)
    check_env_does_not_smoke(env)

    state, ts = env.reset(jax.random.PRNGKey(0))
    assert int(ts.step_type) == int(StepType.FIRST) and set(ts.extras) == {"hits"}
    env.observation_spec.validate(ts.observation)
    step = jax.jit(env.step)
    # truncation at 5 steps of action 0: LAST with discount 1 (bootstrap)
    for t in range(5):
        state, ts = step(state, jnp.int32(0))
    assert bool(ts.last()) and float(ts.discount) == 1.0
    # termination by three hits: LAST with discount 0
    state, ts = env.reset(jax.random.PRNGKey(1))
    for t in range(3):
        state, ts = step(state, jnp.int32(1))
    assert bool(ts.last()) and float(ts.discount) == 0.0 and float(ts.reward) == 1.0
    np.testing.assert_array_equal(np.asarray(ts.observation.action_mask), [True, True, False])

    # Jumanji's own auto-reset wrapper, vmapped
    auto = AutoResetWrapper(env, next_obs_in_extras=True)
    states, tss = jax.vmap(auto.reset)(jax.random.split(jax.random.PRNGKey(2), 4))
    vstep = jax.jit(jax.vmap(auto.step))
    lasts = 0
    for t in range(7):
        states, tss = vstep(states, jnp.zeros((4,), jnp.int32))
        lasts += int(jnp.sum(tss.last()))
    assert lasts == 4  # each of the 4 envs truncated once (t = 5), then restarted
    np.testing.assert_array_equal(np.asarray(tss.observation.observation[:, 0]), [2.0] * 4)


def test_jumanji_export_of_hackmatrix_runs_an_episode_with_masks():
    import jumanji  # noqa: F401  (the dev extra installs it)
    from jumanji.testing.env_not_smoke import check_env_does_not_smoke

    env, params = jitrl.make("hackmatrix", api="jumanji", max_steps=30)

    def masked_random(key, observation):
        return jax.random.categorical(key, jnp.where(observation.action_mask, 0.0, -jnp.inf)).astype(jnp.int32)

    check_env_does_not_smoke(env, masked_random)
