"""``KMCTiO2``: rejection-free (BKL) lattice KMC of TiO2 thin-film growth whose
event choice a policy steers (SwarmThinkers); see ``physics`` for the rates,
``rewards`` for the reward, ``observation`` for the observation.

The env itself never samples the event: its action law carries the physical
log-rates, and the trainer's rate-fused acting distribution draws the action
from ``softmax(policy_logits + log_rates)`` and reweights it (see
``jitrl.ppo.acting`` and ``jitrl.ppo.importance``). ``step_env`` applies the event and advances the clock
by ``dt = -ln(u) / Z`` (Z of the state before the event, independent of the
policy). With a neutral policy this is plain BKL KMC.
"""
from __future__ import annotations

from typing import Any, Dict, Optional, Sequence, Tuple

import chex
import jax
import jax.numpy as jnp
import numpy as np

from jitrl.envs.base import Environment
from jitrl.envs.contract import EPISODE, ActionLaw, Metric
from jitrl.envs.kmc import constants as C
from jitrl.envs.kmc import observation, physics, render, rewards, sampling
from jitrl.envs.kmc import state as state_mod
from jitrl.envs.kmc.state import EnvParams, EnvState

#: ``rate_update="auto"`` picks the local refresh: measured faster than a full
#: recompute at every size from 8x8x5 up (see PARAMETERS.md).
RATE_UPDATES = ("auto", "full", "local")
#: ``morphology``: the seeds' reward (steered growth, not physical);
#: ``rare-event``: per step ``log w_t`` (added by the trainer) plus ``rare_lambda *
#: 1[observable < threshold]`` when the film reaches ``target_coverage`` (see PARAMETERS.md).
OBJECTIVES = ("morphology", "rare-event")
OBSERVABLES = ("roughness", "o_ti_ratio")


class KMCTiO2(Environment):
    """TiO2 thin-film growth on an ``nx x ny x nz`` solid-on-solid lattice.

    Static (constructor) settings: ``lattice_size=(nx, ny, nz)``,
    ``rate_update`` (``auto`` = ``local``, ``full``: how the cached rates are
    refreshed after an event; identical results), ``deposition_rate`` (seed
    000's name: sets the default ``F_Ti`` to it and ``F_O`` to twice it).

    ``n_proposals`` (the users' SB3 KMC trainer's option): unset, ``"all"`` or
    ``nx*ny*7`` = the full fused proposal (the default); ``k`` in ``1 .. nx*ny*7 - 1``
    = k proposals per event by sampling-importance-resampling with the averaged
    weight, unbiased for every k: the trainer's acting distribution
    (``jitrl.ppo.acting.RateFusedSIR``) reads ``self.n_proposals`` (None for the
    full set). ``n_swarm`` (a random subset of agents) is accepted only as the full
    set (``nx*ny``): its proposal marginal is intractable.

    Under ``morphology`` a window-limit end before ``max_steps`` is a termination
    charged for the events left (``rewards.window_charge``), so ending at the box
    top never pays; under ``rare-event`` it is a truncation.

    ``objective`` (``morphology``: the seeds' reward, steered growth, not physical;
    ``rare-event``: ``log w_t`` per step plus ``rare_lambda * 1[observable <
    threshold]`` at ``target_coverage``), ``observable``, ``moving_window``: see
    PARAMETERS.md.
    """

    name = "kmc-tio2"
    default_network = "lattice-conv"
    #: TensorBoard tags are the seed documents' names (``morphology/*``, ``reward/*``).
    metrics = (
        Metric("roughness", tag="morphology/roughness_mean"),
        Metric("coverage", tag="morphology/coverage_mean"),
        Metric("o_ti_ratio", tag="morphology/o_ti_ratio_mean"),
        Metric("sim_time", tag="morphology/sim_time_mean"),
        Metric("reward_roughness", tag="reward/roughness"),
        Metric("reward_coverage", tag="reward/coverage"),
        Metric("reward_ratio", tag="reward/ratio"),
        Metric("reward_window", tag="reward/window_limit_charge"),
        Metric("deposition", tag="morphology/deposition_rate_per_event"),
        Metric("n_deposited"),
        Metric("roughness", EPISODE, tag="morphology/final_roughness_mean", hparam=True),
        Metric("coverage", EPISODE, tag="morphology/final_coverage_mean"),
        Metric("o_ti_ratio", EPISODE, tag="morphology/final_o_ti_ratio_mean"),
        Metric("sim_time", EPISODE, tag="morphology/final_sim_time_mean"),
        Metric("n_deposited", EPISODE, tag="morphology/final_deposited_mean"),
        Metric("rare_event", EPISODE, tag="morphology/final_rare_event_mean"),
        Metric("window_limit", tag="morphology/window_limit_per_event"),
    )
    #: episode-final observables the rate-fused acting distribution also reports as
    #: self-normalised weighted (physical) estimates, ``<name>_weighted`` +- ``_se``.
    weighted_observables = ("roughness", "coverage", "o_ti_ratio", "rare_event")

    def __init__(
        self,
        lattice_size: Sequence[int] = C.DEFAULT_LATTICE,
        rate_update: str = "auto",
        deposition_rate: Optional[float] = None,
        n_swarm: Optional[int] = None,
        n_proposals: Optional[Any] = None,
        objective: str = "morphology",
        observable: str = "roughness",
        moving_window: bool = True,
    ):
        size = tuple(int(v) for v in lattice_size)
        if len(size) != 3 or min(size[:2]) < 3 or size[2] < 1:
            raise ValueError(
                f"lattice_size: expected (nx, ny, nz) with nx, ny >= 3 (periodic, 4 distinct "
                f"neighbours) and nz >= 1, got {lattice_size!r}"
            )
        if rate_update not in RATE_UPDATES:
            raise ValueError(f"rate_update: {rate_update!r}; allowed: {', '.join(RATE_UPDATES)}")
        nx, ny, nz = size
        if n_swarm is not None and int(n_swarm) != nx * ny:
            raise ValueError(
                f"n_swarm={n_swarm}: not supported. kmc-tio2 scores every surface site ({nx * ny} agents) "
                "exactly; a random subset of agents would make P(event) depend on the subset, whose "
                "marginal is intractable, so the importance weights would be biased. Leave it unset "
                f"(or {nx * ny})."
            )
        n_all = nx * ny * C.NUM_EVENTS
        if n_proposals is None or n_proposals == "all":
            n_proposals = n_all
        if isinstance(n_proposals, bool) or not isinstance(n_proposals, (int, np.integer)) \
                or not 1 <= int(n_proposals) <= n_all:
            raise ValueError(
                f"n_proposals: {n_proposals!r}; allowed: 'all' (or unset, or {n_all}: the full fused "
                f"proposal over every event) or an integer k in 1..{n_all - 1} (k candidates per event, "
                "sampling-importance-resampling with the averaged weight)"
            )
        #: None: the full fused proposal; k: SIR with k candidates (read by ``make_acting``)
        self.n_proposals = None if int(n_proposals) == n_all else int(n_proposals)
        if objective not in OBJECTIVES:
            raise ValueError(f"objective: {objective!r}; allowed: {', '.join(OBJECTIVES)}")
        if observable not in OBSERVABLES:
            raise ValueError(f"observable: {observable!r}; allowed: {', '.join(OBSERVABLES)}")
        self.objective, self.observable = objective, observable
        #: False keeps the absolute frame (the window never moves: a reference for
        #: tests, exact as long as nz exceeds every height reached)
        self.moving_window = bool(moving_window)
        #: rare-event: the trainer adds each step's log w_t to the reward
        self.log_weight_reward = objective == "rare-event"
        if deposition_rate is not None and not float(deposition_rate) > 0:
            raise ValueError(f"deposition_rate: must be > 0, got {deposition_rate}")
        if 2 * nx * ny * nz * nz >= 2**31:
            raise ValueError(
                f"lattice_size {size}: the exact int32 running sums of h and h^2 need 2 nx ny nz^2 < 2^31"
            )
        self.lattice_size = size
        self.deposition_rate = None if deposition_rate is None else float(deposition_rate)
        if rate_update == "auto":
            rate_update = "local"
        self.rate_update = rate_update

    # ---- sizes ----------------------------------------------------------
    @property
    def default_params(self) -> EnvParams:
        p = EnvParams()
        if self.deposition_rate is not None:
            p = p.replace(F_Ti=self.deposition_rate, F_O=2.0 * self.deposition_rate)
        return p

    def num_actions(self, params: Any = None) -> int:
        nx, ny, _ = self.lattice_size
        return nx * ny * C.NUM_EVENTS

    def observation_shape(self, params: Any = None) -> Tuple[int, ...]:
        nx, ny, _ = self.lattice_size
        return (nx, ny, observation.NUM_FEATURES)

    # ---- dynamics ---------------------------------------------------------
    def _state(self, h_abs: jax.Array, obits: jax.Array, params: EnvParams, offset: Any = 0) -> EnvState:
        """A consistent state for the packed lattice (absolute heights, O-bit rings,
        window floor ``offset``): cached column and row sums, log Z, running sums,
        histogram, atom counts of the window; time and step 0. O(nx ny nz)."""
        nx, ny, nz = self.lattice_size
        off = jnp.asarray(offset, jnp.int32)
        col_rates = physics.full_col_log_rates(h_abs, obits, params, nz, off)
        row_rates = physics.full_row_log_rates(col_rates)
        h = h_abs - off
        n_atoms = jnp.sum(h).astype(jnp.int32)
        st = EnvState(
            abs_heights=h_abs,
            obits=obits,
            col_log_rates=col_rates,
            log_z=physics.log_z_from_rows(row_rates),
            row_log_rates=row_rates,
            height_hist=physics.height_histogram(h, nz),
            sum_h=n_atoms,
            sum_h2=jnp.sum(h * h).astype(jnp.int32),
            n_ti=n_atoms,
            n_o=jnp.zeros((), jnp.int32),
            n_deposited=n_atoms,
            time=jnp.zeros((), jnp.float32),
            step=jnp.zeros((), jnp.int32),
            time_lo=jnp.zeros((), jnp.float32),
            offset=off,
            nz=nz,
        )
        n_o = jnp.sum(st.species == C.O).astype(jnp.int32)  # the window's sites (stale ring bits ignored)
        return st.replace(n_ti=n_atoms - n_o, n_o=n_o)

    def _initial_state(self, params: EnvParams) -> EnvState:
        nx, ny, nz = self.lattice_size
        w = state_mod.num_bit_words(nz)
        return self._state(jnp.zeros((nx, ny), jnp.int32), jnp.zeros((w, nx, ny), jnp.int32), params)

    def state_from_lattice(self, heights: Any, species: Any, params: EnvParams) -> EnvState:
        """A consistent state (cached rates, atom counts; time and step 0) for a
        given film: ``heights int[nx, ny]``, ``species int[nx, ny, nz]`` (solid-on-solid)."""
        h = jnp.asarray(heights, jnp.int32)
        sp = jnp.asarray(species, jnp.int8)
        chex.assert_shape(sp, self.lattice_size)
        chex.assert_shape(h, self.lattice_size[:2])
        return self._state(h, state_mod.pack_o_bits(h, sp), params)

    def reset_env(self, key: chex.PRNGKey, params: EnvParams) -> Tuple[jax.Array, EnvState]:
        state = self._initial_state(params)  # a bare substrate: deterministic
        return self.get_obs(state, params), state

    def _transition(self, key: chex.PRNGKey, state: EnvState, action: jax.Array, params: EnvParams):
        """The raw event: (new state, reward, terminated, truncated, info) without the observation."""
        nx, ny, nz = self.lattice_size
        n_act = nx * ny * C.NUM_EVENTS
        chex.assert_shape(state.col_log_rates, (nx, ny))
        action = jnp.asarray(action, jnp.int32)
        in_range = (action >= 0) & (action < n_act)
        ci, cj, ev = physics.decode_action(jnp.clip(action, 0, n_act - 1), ny)
        off = state.offset
        src_rates = physics.site_log_rates(state.abs_heights, state.obits, ci, cj, params, nz, off)
        valid = in_range & jnp.isfinite(src_rates[ev])
        log_z = state.log_z
        dt = physics.residence_time(key, log_z)
        heights, obits, d_ti, d_o, dep, removes, adds, ci, cj, ti, tj, hs, ht = physics.apply_event(
            state.abs_heights, state.obits, jnp.clip(action, 0, n_act - 1), valid
        )
        hs, ht = hs - off, ht - off  # window heights before the event
        if self.rate_update == "local":
            # O(1) columns, then the O(ny) sums of the <= 6 rows holding them, then log Z
            # over the nx row sums: O(nx + ny) per event instead of O(nx ny)
            col_rates = physics.local_update(state.col_log_rates, heights, obits, ci, cj, ti, tj, params, nz, off)
            row_rates = physics.row_update(state.row_log_rates, col_rates, physics.changed_rows(ci, ti, nx))
        else:
            col_rates = physics.full_col_log_rates(heights, obits, params, nz, off)
            row_rates = physics.full_row_log_rates(col_rates)
        hist = physics.hist_update(state.height_hist, hs, ht, removes, adds)
        # exact integer running sums: the source loses an atom at height hs, the target
        # gains one on top of height ht (read before the event)
        rm = removes.astype(jnp.int32)
        ad = adds.astype(jnp.int32)
        sum_h = state.sum_h - rm + ad
        sum_h2 = state.sum_h2 - rm * (2 * hs - 1) + ad * (2 * ht + 1)
        # the window's limits: a column reaching the top of the box, or one emptied
        # below the floor of a moved window (its top atom's species is not kept), ends
        # the episode (reported in info["window_limit"]); nothing is silently capped.
        window_limit = (adds & (ht + 1 >= nz)) | (removes & (hs <= 1) & (state.offset > 0))
        # moving window: once every column is above WINDOW_KEEP, the window's floor
        # moves up one level (offset + 1; the lattice is not rewritten). Rates depend on
        # height differences and same-level species only, no column is at the floor or
        # the top when it moves, so the cached rates and log Z are unchanged.
        # (min and max height from the incrementally kept histogram: O(nz), not O(nx ny))
        h_min, h_max = physics.hist_min_max(hist)
        shift = (h_min > physics.WINDOW_KEEP) & (h_max < nz) & self.moving_window
        sh = shift.astype(jnp.int32)
        hist = jnp.where(shift, jnp.concatenate([hist[1:], jnp.zeros((1,), jnp.int32)]), hist)
        sum_h2 = sum_h2 - sh * (2 * sum_h - nx * ny)
        sum_h = sum_h - sh * nx * ny
        t_hi, t_lo = physics.clock_add(state.time, state.time_lo, dt)
        new = state.replace(
            abs_heights=heights,
            obits=obits,
            col_log_rates=col_rates,
            log_z=physics.log_z_from_rows(row_rates),
            row_log_rates=row_rates,
            height_hist=hist,
            sum_h=sum_h,
            sum_h2=sum_h2,
            n_ti=state.n_ti + d_ti,
            n_o=state.n_o + d_o,
            n_deposited=state.n_deposited + dep,
            time=jnp.minimum(t_hi, physics.MAX_DT).astype(jnp.float32),
            time_lo=t_lo.astype(jnp.float32),
            step=state.step + 1,
            offset=state.offset + sh,
        )
        reward, info = rewards.step_reward(new, params, self.observable)
        if self.objective == "rare-event":
            reached = new.n_deposited >= jnp.ceil(params.target_coverage * nx * ny).astype(jnp.int32)
            terminated = reached & jnp.logical_not(window_limit)
            reward = jnp.where(terminated, params.rare_lambda * info["rare_event"], 0.0).astype(jnp.float32)
            charge = jnp.zeros((), jnp.float32)
        else:
            # a window-limit end before max_steps is a termination (no bootstrap from a
            # state the box cannot continue) charged for every event left: ending at the
            # box top never pays (rewards.window_charge, PARAMETERS.md "Episode ends")
            left = jnp.maximum(params.max_steps - new.step, 0)
            terminated = window_limit & (left > 0)
            charge = jnp.where(terminated, left.astype(jnp.float32) * rewards.window_charge(info, params, nz), 0.0)
            reward = (reward + charge).astype(jnp.float32)
        truncated = jnp.logical_not(terminated) & ((new.step >= params.max_steps) | window_limit)
        info.update(
            reward_window=charge.astype(jnp.float32),
            sim_time=(new.time + new.time_lo).astype(jnp.float32),
            dt=dt.astype(jnp.float32),
            log_z=log_z.astype(jnp.float32),
            deposition=dep.astype(jnp.float32),
            n_deposited=new.n_deposited.astype(jnp.float32),
            invalid_action=jnp.logical_not(valid).astype(jnp.float32),
            window_limit=window_limit.astype(jnp.float32),
        )
        return new, reward, terminated, truncated, info

    def step_env(self, key: chex.PRNGKey, state: EnvState, action: jax.Array, params: EnvParams):
        new, reward, terminated, truncated, info = self._transition(key, state, action, params)
        return self.get_obs(new, params), new, reward, terminated, truncated, info

    # ---- rate interface ------------------------------------------------------
    def log_rates(self, state: EnvState, params: Any = None) -> jax.Array:
        """All ``nx * ny * 7`` log-rates, computed from the packed lattice (rolls,
        O(7 nx ny) without exps; the per-event values are not cached)."""
        if params is None:
            params = self.default_params
        return physics.full_log_rates(state.abs_heights, state.obits, params, self.lattice_size[2],
                                      state.offset)[0].reshape(-1)

    def action_mask(self, state: EnvState, params: Any = None) -> jax.Array:
        return jnp.isfinite(self.log_rates(state, params))

    def action_law(self, state: EnvState, params: Any = None) -> ActionLaw:
        """The log-rates alone (their ``-inf`` entries are the mask)."""
        return ActionLaw(log_rates=self.log_rates(state, params))

    def ess_penalty(self, params: EnvParams):
        """The seed objective's ``-ess_weight * max(0, ess_target - ess)`` (see ``rewards``);
        none under ``objective: rare-event`` (its ``log w_t`` reward is the KL term)."""
        if self.objective == "rare-event":
            return 0.0, 0.0
        return params.ess_weight, params.ess_target

    def sample_physical(self, key: chex.PRNGKey, state: EnvState, params: Any = None) -> jax.Array:
        """Plain BKL: one action with probability ``Gamma_a / Z`` (the neutral
        policy's law) from the cached row and column sums, O(nx + ny + 7)."""
        if params is None:
            params = self.default_params
        return sampling.sample_physical(key, state, params)

    def get_obs(self, state: EnvState, params: Any = None) -> jax.Array:
        if params is None:
            params = self.default_params
        return observation.observe(state, params)

    # ---- viewing ---------------------------------------------------------------
    def action_names(self, params: Any = None) -> Tuple[str, ...]:
        nx, ny, _ = self.lattice_size
        return tuple(f"({i},{j}) {e}" for i in range(nx) for j in range(ny) for e in C.EVENT_NAMES)

    def render_text(self, state: EnvState, params: Any = None, color: bool = True) -> str:
        return render.render_text(state, color=color)

    def render_rgb(self, state: EnvState, params: Any = None, scale: int = 16) -> np.ndarray:
        return render.render_rgb(state, scale=scale)

    def episode_summary(self, infos: Any, final_state: EnvState, params: Any = None) -> Dict[str, Any]:
        nz = self.lattice_size[2]
        h = np.asarray(final_state.heights)
        full = bool(np.all(h >= nz))
        return {
            "events": int(np.asarray(final_state.step)),
            "deposited": int(np.asarray(final_state.n_deposited)),
            "n_Ti": int(np.asarray(final_state.n_ti)),
            "n_O": int(np.asarray(final_state.n_o)),
            "roughness": float(np.sqrt(np.mean((h - h.mean()) ** 2))),
            "coverage": float(h.mean() / nz),
            "sim_time_s": float(np.asarray(final_state.time)),
            "end": "full lattice (terminated)" if full else "max_steps (truncated)",
        }
