"""HackMatrix: a jittable 6x6 grid game (clone of 868-HACK; the Swift game is the ground truth, docs/hackmatrix-rules.md).

Modules: ``state`` (dataclasses, constants), ``common`` (board queries),
``pathfinding`` (wavefront BFS), ``generation`` (stage set-up), ``rules``
(transition), ``programs`` (the 23 programs), ``rewards``, ``observation``,
``render``, ``env`` (the :class:`HackMatrix` environment).
"""
from jitrl.envs.hackmatrix.env import HackMatrix
from jitrl.envs.hackmatrix.state import EnvParams, EnvState, GameState

__all__ = ["HackMatrix", "EnvParams", "EnvState", "GameState"]
