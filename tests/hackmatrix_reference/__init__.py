"""Plain-Python reference of the Swift HackMatrix game (ext/hack-matrix/HackMatrix/*.swift).

A line-by-line port for differential tests of ``jitrl.envs.hackmatrix``. The
Swift code is the truth; where it has an evident bug the port keeps the bug
and marks it ``# SWIFT-BUG:`` (opt-in fixes: :class:`state.Fixes`, all off by
default). No jax, no numpy, no capacity limits.

Modules
-------
* ``constants``: Constants.swift, Program.swift (costs, spawn costs, action
  indices), Enemy.swift (HP, speed), directions (up = row + 1).
* ``rng``: the injectable rng (:class:`rng.RandomRng`, :class:`rng.ScriptedRng`,
  :class:`rng.RecordingRng`) and the site table :data:`rng.SITES`.
* ``state``: Cell/Block/Grid, Enemy, Transmission, Player, Snapshot,
  GameState (+ snapshot save/restore, kill bookkeeping), ``canonical()``,
  :func:`state.from_description` / :func:`state.describe`.
* ``pathfinding``: Pathfinding.swift (findNextMove, findPath, findDistance).
* ``generation``: GameState.init, initializeStage, placeBlocksWithValidation,
  placeResources, spawnRandomTransmissions and the empty-cell search,
  GridValidator.swift.
* ``rules``: tryExecuteAction, line of fire / moves, siphon, the enemy turn,
  completeStage, getValidActions (the action mask).
* ``programs``: canExecuteProgram / isProgramApplicable / executeProgram.
* ``rewards``: RewardCalculator.swift.
* ``observation``: ObservationBuilder.swift (plain dataclasses).
* ``game``: HeadlessGame.swift (reset, step, valid actions).

Quick use::

    from tests.hackmatrix_reference import HeadlessGame, ScriptedRng, from_description
    g = HeadlessGame(seed=0)                      # HeadlessGame() + reset
    obs, reward, done, info = g.step(g.valid_actions()[0])
    g = HeadlessGame.from_description({"player": {"row": 0, "col": 0}, ...},
                                      rng=ScriptedRng(lambda site, cands: cands[0]))

Random draws: site labels
-------------------------
Every Swift random draw goes through one :class:`rng.Rng` with a site label
(``rng.randint(site, lo, hi)``, ``rng.choice(site, candidates)``,
``rng.shuffle(site, items)``, ``rng.coin(site)``, ``rng.uniform(site)``):

============================  ==========  =====================================================
site                          kind        Swift origin
============================  ==========  =====================================================
init.player_corner            choice      GameState.init: getCornerPositions().randomElement()
                                          (candidates (0,0), (0,5), (5,0), (5,5))
init.bonus                    choice      GameState.init: StartingBonus.allCases.randomElement()
                                          ("credits10", "energy11", "dataSiphon1")
stage.exit_corner             choice      initializeStage: availableCorners.randomElement()
stage.block_count             randint     placeBlocksWithValidation: Int.random(in: 5...11), once
stage.block.row / .col        randint     placeBlocksWithValidation: Int.random(in: 0..<6) x2
                                          per candidate cell (all attempts)
stage.block.is_data           coin        placeBlocksWithValidation: Bool.random()
stage.block.question_roll     uniform     placeBlocksWithValidation: Double.random(in: 0..<1) < 0.1
stage.block.points            randint     placeBlocksWithValidation: Int.random(in: 1...9)
stage.block.program           choice      placeBlocksWithValidation: availablePrograms.randomElement()
stage.resource.amount_roll    uniform     placeResources: Double.random (<.45: 1, <.9: 2, else 3)
stage.resource.is_credits     coin        placeResources: Bool.random() (True: credits)
spawn.lof.row / .col          randint     findEmptyCellOutOfLineOfFire: Int.random(in: 0..<6) x2,
                                          up to 100 tries
spawn.any.row / .col          randint     findEmptyCell: Int.random(in: 0..<6) x2, up to 100 tries
transmission.type             choice      Transmission.init: EnemyType.allCases.randomElement()
                                          (drawn after the cell)
enemy.order                   shuffle     executeEnemyStepWithCapture: enemies.shuffled(), each
                                          sub-step (0, and 1 when a virus exists)
path.tiebreak                 choice      Pathfinding.selectBestMove: randomElement() (always a
                                          single candidate, so never forwarded)
poly.type                     choice      executeProgram(.poly): otherTypes.randomElement()
warp.target                   choice      executeProgram(.warp): targets.randomElement()
                                          (candidates (row, col, is_enemy): enemies, then transmissions)
============================  ==========  =====================================================

Draws with a single candidate (and shuffles of <= 1 item) are answered
without asking the implementation (``forward_trivial=True`` to change that).

Building states and driving the rng
-----------------------------------
``from_description(dict)`` sets up any board (see its docstring); ``describe``
is its inverse; ``GameState.canonical()`` is an order- and id-free hashable
summary for comparisons. ``ScriptedRng(callback)`` makes every choice through
``callback(site, candidates)``; ``ScriptedRng.from_list([(site, value), ...],
fallback=RandomRng(0))`` replays answers; ``RecordingRng(inner)`` logs them.
"""
from .constants import ACTION_SIPHON, DIRECTIONS, ENEMY_TYPES, NUM_ACTIONS, PROGRAMS, action_index, action_name
from .game import HeadlessGame
from .generation import new_game
from .observation import build as build_observation
from .rng import SITES, Perm, RandomRng, RecordingRng, Rng, ScriptedRng
from .rules import action_mask, get_valid_actions, try_execute_action
from .state import Fixes, GameState, SwiftHang, describe, from_description

__all__ = [
    "ACTION_SIPHON", "DIRECTIONS", "ENEMY_TYPES", "NUM_ACTIONS", "PROGRAMS", "action_index",
    "action_name", "HeadlessGame", "new_game", "build_observation", "SITES", "RandomRng",
    "RecordingRng", "Rng", "ScriptedRng", "Perm", "action_mask", "get_valid_actions",
    "try_execute_action", "Fixes", "GameState", "SwiftHang", "describe", "from_description",
]
