"""``HackMatrix``: the jitrl environment wiring state, rules, rewards and observation.

Auto-reset follows ``Environment.transition``; ``next_state`` is specialised so
that one board generation per step serves both a stage change and a new
episode (a finished env's new stage-1 game and a continuing env's next stage go
through the same ``generation.new_stage`` call, which is the costly part of a
reset). The action's legality is read from the mask the env returned for the
state (``law``), not computed again.

Deliberate differences from the Swift harness (``HeadlessGame``), kept because
they are the env contract rather than the game: an illegal action is a no-op
that earns the step reward (Swift ends the episode with reward 0; agents here
are masked), and the episode is truncated at ``max_steps`` (Swift never
truncates). An episode is also truncated, with the info flag ``overflow``,
when a fixed capacity would otherwise change the game (an UNDO deeper than
``state.HISTORY_LEN``, an enemy beyond ``MAX_ENEMIES``).
"""
from __future__ import annotations

from typing import Any, Dict, Tuple

import chex
import jax
import jax.numpy as jnp
import numpy as np

from jitrl.envs.base import Environment, Pending
from jitrl.envs.contract import EPISODE, Metric
from jitrl.envs.hackmatrix import generation, observation, rewards, rules
from jitrl.envs.hackmatrix.state import (
    ACTION_NAMES, NUM_ACTIONS, NUM_STAGES, EnvParams, EnvState, select_state, wrap_game,
)


class HackMatrix(Environment):
    name = "hackmatrix"
    default_network = "mlp"
    metrics = tuple(Metric(k) for k in ("stage", "score", "hp", "enemies", "legal", "overflow")
                    + rewards.TERMS) + tuple(
        Metric(k, EPISODE) for k in ("highest_stage", "won", "died", "programs_used", "siphons_used",
                                     "episode_steps"))

    @property
    def default_params(self) -> EnvParams:
        return EnvParams()

    def num_actions(self, params: Any = None) -> int:
        return NUM_ACTIONS

    def observation_shape(self, params: Any = None) -> Tuple[int, ...]:
        return (observation.OBS_SIZE,)

    def action_names(self, params: Any = None) -> Tuple[str, ...]:
        return ACTION_NAMES

    # ------------------------------------------------------------ core
    def get_obs(self, state: EnvState, params: Any = None) -> chex.Array:
        return observation.get_obs(state)

    def action_mask(self, state: EnvState, params: Any = None) -> chex.Array:
        return rules.action_mask(state, params)

    def reset_env(self, key: chex.PRNGKey, params: EnvParams):
        state = wrap_game(generation.initial_game(key, params))
        return self.get_obs(state), state

    def _core(self, key, state, action, params, mask=None):
        """transition + rewards + info, without the next board."""
        after, ev = rules.transition(key, state, action, params, mask)
        terms = rewards.reward_terms(state, after, jnp.asarray(action, jnp.int32), ev, params)
        reward = sum(terms.values())
        terminated = ev["died"] | ev["won"]
        # a capacity limit reached (an UNDO past the stored snapshots, or an
        # enemy with no slot) ends the episode, reported, never played on wrong
        truncated = ~terminated & ((after.steps >= params.max_steps) | ev["overflow"])
        g = after.game
        f = lambda x: jnp.asarray(x, jnp.float32)
        info: Dict[str, Any] = dict(terms)
        info.update(
            stage=f(g.stage), score=f(g.score), hp=f(g.player_hp),
            enemies=f(jnp.sum(g.enemy_alive)), legal=f(ev["legal"]),
            highest_stage=f(after.highest_stage), won=f(ev["won"]), died=f(ev["died"]),
            programs_used=f(after.programs_used), siphons_used=f(after.siphons_used),
            episode_steps=f(after.steps), stage_completed=f(ev["stage_completed"]),
            overflow=f(ev["overflow"]),
        )
        needs_board = ev["stage_completed"] & ~ev["won"]
        return after, needs_board, reward, terminated, truncated, info

    def step_env(self, key, state, action, params):
        k_core, k_board = jax.random.split(key)
        after, needs_board, reward, terminated, truncated, info = self._core(
            k_core, state, action, params)
        after = select_state(needs_board, rules.advance_board(k_board, after, params), after)
        return self.get_obs(after), after, reward, terminated, truncated, info

    def step_pending(self, key, state, action, params, law=None) -> Pending:
        k_core, k_board, k_reset = jax.random.split(key, 3)
        after, needs_board, reward, terminated, truncated, info = self._core(
            k_core, state, action, params, None if law is None else law.mask)
        return Pending(self.get_obs(after), after, reward, terminated, truncated, info, k_reset,
                       carry=(k_board, needs_board))

    def next_state(self, pending: Pending, done, params):
        """One board generation for a finished env's new stage-1 game and a
        continuing env's next stage (see the module docstring)."""
        k_board, needs_board = pending.carry
        after = pending.state
        # a new episode's stage-1 game without its board (initial_game = these + new_stage)
        fresh = wrap_game(generation.initial_player(pending.reset_key, params), history=after.history)
        base = select_state(done, fresh, after)
        laid = rules.advance_board(k_board, base, params)
        nxt = select_state(done | needs_board, laid, after)
        return self.get_obs(nxt), nxt

    # ------------------------------------------------------------ viewing
    def render_text(self, state: EnvState, params: Any = None) -> str:
        from jitrl.envs.hackmatrix import render
        last = int(np.asarray(state.last_action))
        name = ACTION_NAMES[last] if last >= 0 else None
        return render.render_text(state, params, last_action_name=name)

    def render_rgb(self, state: EnvState, params: Any = None):
        from jitrl.envs.hackmatrix import render
        return render.render_rgb(state, params)

    def episode_summary(self, infos, final_state: EnvState, params: Any = None) -> Dict[str, Any]:
        ret = float(sum(sum(float(np.asarray(i[k])) for k in rewards.TERMS) for i in infos))
        won = bool(np.asarray(final_state.won))
        dead = bool(np.asarray(final_state.dead))
        cause = "victory" if won else ("death" if dead else "truncation")
        return dict(
            steps=int(np.asarray(final_state.steps)),
            ret=ret,
            highest_stage=int(np.asarray(final_state.highest_stage)),
            won=won,
            programs_used=int(np.asarray(final_state.programs_used)),
            siphons_used=int(np.asarray(final_state.siphons_used)),
            score=int(np.asarray(final_state.game.score)),
            cause=cause,
        )


assert NUM_STAGES == 8
