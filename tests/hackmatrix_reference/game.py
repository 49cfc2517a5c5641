"""HeadlessGame.swift: reset / step / valid actions around a :class:`GameState`."""
from __future__ import annotations

from typing import Optional

from . import generation, observation, rules
from .rng import RandomRng, Rng
from .state import Fixes, GameState, from_description


class HeadlessGame:
    """HeadlessGame: ``reset() -> obs``, ``step(action) -> (obs, reward, done, info)``.

    ``rng``: any :class:`Rng` (default ``RandomRng(seed)``); it may be swapped
    between steps (``game.rng = ...``). ``state``: the :class:`GameState`.
    """

    def __init__(self, seed: Optional[int] = None, rng: Optional[Rng] = None,
                 options: Optional[Fixes] = None, state: Optional[GameState] = None):
        self.rng = rng if rng is not None else RandomRng(seed)
        self.options = options
        self.state = state if state is not None else generation.new_game(self.rng, options)
        self.last_result: Optional[rules.ActionResult] = None

    @classmethod
    def from_description(cls, desc, rng: Optional[Rng] = None, seed: Optional[int] = None,
                         options: Optional[Fixes] = None) -> "HeadlessGame":
        """HeadlessGame.setState, generalised (see state.from_description)."""
        rng = rng if rng is not None else RandomRng(seed)
        return cls(rng=rng, options=options, state=from_description(desc, options))

    def reset(self) -> observation.GameObservation:
        """HeadlessGame.reset: a new GameState()."""
        self.state = generation.new_game(self.rng, self.options)
        return observation.build(self.state)

    def step(self, action: int):
        """HeadlessGame.step. done: invalid action (Swift ends the episode, reward
        0), victory, or death. info as HeadlessGame.buildInfoDict."""
        result = rules.try_execute_action(self.state, action, self.rng)
        self.last_result = result
        info = {}
        done = False
        if not result.success:
            info["invalid_action"] = True
            done = True
        if result.stage_advanced:
            info["stage_complete"] = True
            done = result.game_won
        if result.player_died:
            info["death"] = True
            done = True
        info["reward_breakdown"] = result.reward.info()
        return observation.build(self.state), result.reward.total, done, info

    def valid_actions(self):
        """HeadlessGame.getValidActions (as indices)."""
        return rules.get_valid_actions(self.state)

    def action_mask(self):
        """getValidActions as 28 booleans."""
        return rules.action_mask(self.state)

    def observation(self) -> observation.GameObservation:
        """ObservationBuilder.build of the current state."""
        return observation.build(self.state)
