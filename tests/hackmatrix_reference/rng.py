"""One injectable source for every random draw of the Swift game.

Every draw names its *site* (a label from :data:`SITES`) and its *candidates*.
Implementations:

* :class:`RandomRng` ``(seed)``: the default, backed by ``random.Random(seed)``.
* :class:`ScriptedRng` ``(callback)``: the oracle a differential test drives;
  ``callback(site, candidates) -> chosen`` (see :meth:`Rng.draw` for what
  ``candidates`` and ``chosen`` are for each kind of draw).
  :meth:`ScriptedRng.from_list` replays a list of ``(site, value)`` answers.
* :class:`RecordingRng` ``(inner)``: wraps another rng and logs
  ``(site, candidates, chosen)``; its log can be replayed with
  ``ScriptedRng.from_list(rec.answers())``.

Draws whose candidates have one element (or none, for ``shuffle``) decide
nothing and are not forwarded to the implementation (Swift's pathfinding,
for one, always calls ``randomElement()`` on a one-element set). Pass
``forward_trivial=True`` to forward them anyway.
"""
from __future__ import annotations

import random
from typing import Any, Callable, List, Optional, Sequence, Tuple

#: Every site label, with its Swift origin (file: function, call).
SITES = {
    "init.player_corner": "GameState.swift: init(), grid.getCornerPositions().randomElement()",
    "init.bonus": "GameState.swift: init(), StartingBonus.allCases.randomElement()",
    "stage.exit_corner": "GameState.swift: initializeStage(), availableCorners.randomElement()",
    "stage.block_count": "GameState.swift: placeBlocksWithValidation(), Int.random(in: 5...11)",
    "stage.block.row": "GameState.swift: placeBlocksWithValidation(), Int.random(in: 0..<6) (row)",
    "stage.block.col": "GameState.swift: placeBlocksWithValidation(), Int.random(in: 0..<6) (col)",
    "stage.block.is_data": "GameState.swift: placeBlocksWithValidation(), Bool.random()",
    "stage.block.question_roll": "GameState.swift: placeBlocksWithValidation(), Double.random(in: 0..<1) < 0.1",
    "stage.block.points": "GameState.swift: placeBlocksWithValidation(), Int.random(in: 1...9)",
    "stage.block.program": "GameState.swift: placeBlocksWithValidation(), availablePrograms.randomElement()",
    "stage.resource.amount_roll": "GameState.swift: placeResources(), Double.random(in: 0..<1) (<0.45: 1, <0.9: 2, else 3)",
    "stage.resource.is_credits": "GameState.swift: placeResources(), Bool.random() (credits vs energy)",
    "spawn.lof.row": "GameState.swift: findEmptyCellOutOfLineOfFire(), Int.random(in: 0..<6) (row)",
    "spawn.lof.col": "GameState.swift: findEmptyCellOutOfLineOfFire(), Int.random(in: 0..<6) (col)",
    "spawn.any.row": "GameState.swift: findEmptyCell(), Int.random(in: 0..<6) (row)",
    "spawn.any.col": "GameState.swift: findEmptyCell(), Int.random(in: 0..<6) (col)",
    "transmission.type": "Enemy.swift: Transmission.init, EnemyType.allCases.randomElement()",
    "enemy.order": "GameState.swift: executeEnemyStepWithCapture(), enemies.shuffled() (every sub-step)",
    "path.tiebreak": "Pathfinding.swift: selectBestMove(), randomElement() (always one candidate: see pathfinding.py)",
    "poly.type": "GameState.swift: executeProgram(.poly), otherTypes.randomElement()",
    "warp.target": "GameState.swift: executeProgram(.warp), targets.randomElement()",
}

KINDS = ("randint", "choice", "shuffle", "coin", "uniform")


class Perm(tuple):
    """A shuffle answer given as positions: ``Perm((2, 0, 1))`` means
    ``[items[2], items[0], items[1]]`` (what :meth:`RecordingRng.answers` gives
    for shuffles, so that a replay does not depend on object identity)."""


class Rng:
    """Base class. Subclasses implement :meth:`draw`."""

    def __init__(self, forward_trivial: bool = False):
        self.forward_trivial = forward_trivial

    # -- the one primitive -------------------------------------------------
    def draw(self, site: str, kind: str, candidates: Optional[Sequence[Any]]) -> Any:
        """Make one draw.

        * ``randint``: candidates = ``list(range(lo, hi + 1))``; return one of them.
        * ``choice``: candidates = the Swift collection, in Swift's order; return
          one element (an element equal to one of them).
        * ``shuffle``: candidates = the items; return a permutation of them (a
          list), or a :class:`Perm` of their positions.
        * ``coin``: candidates = ``(False, True)``; return a bool (``Bool.random()``).
        * ``uniform``: candidates = ``None``; return a float in [0, 1)
          (``Double.random(in: 0..<1)``).
        """
        raise NotImplementedError

    # -- typed helpers -----------------------------------------------------
    def randint(self, site: str, lo: int, hi: int) -> int:
        """``Int.random(in: lo...hi)`` (both ends included)."""
        cands = list(range(lo, hi + 1))
        if not cands:
            raise ValueError(f"{site}: empty range {lo}..{hi}")
        if len(cands) == 1 and not self.forward_trivial:
            return cands[0]
        v = self.draw(site, "randint", cands)
        if v not in cands:
            raise ValueError(f"{site}: {v!r} not in {lo}..{hi}")
        return v

    def choice(self, site: str, candidates: Sequence[Any]) -> Any:
        """``collection.randomElement()!`` (candidates must be non-empty)."""
        cands = list(candidates)
        if not cands:
            raise ValueError(f"{site}: randomElement() of an empty collection")
        if len(cands) == 1 and not self.forward_trivial:
            return cands[0]
        v = self.draw(site, "choice", cands)
        if v not in cands:
            raise ValueError(f"{site}: {v!r} not among the candidates {cands!r}")
        return v

    def shuffle(self, site: str, items: Sequence[Any]) -> List[Any]:
        """``items.shuffled()``: a new list."""
        items = list(items)
        if len(items) <= 1 and not self.forward_trivial:
            return items
        out = self.draw(site, "shuffle", items)
        out = [items[i] for i in out] if isinstance(out, Perm) else list(out)
        if len(out) != len(items) or any(sum(o is x for o in out) != 1 for x in items):
            raise ValueError(f"{site}: {out!r} is not a permutation of {items!r}")
        return out

    def coin(self, site: str) -> bool:
        """``Bool.random()``."""
        return bool(self.draw(site, "coin", (False, True)))

    def uniform(self, site: str) -> float:
        """``Double.random(in: 0..<1)``."""
        v = float(self.draw(site, "uniform", None))
        if not 0.0 <= v < 1.0:
            raise ValueError(f"{site}: {v} not in [0, 1)")
        return v


class RandomRng(Rng):
    """Default rng: Python's ``random.Random(seed)``."""

    def __init__(self, seed: Optional[int] = None, forward_trivial: bool = False):
        super().__init__(forward_trivial)
        self.random = random.Random(seed)

    def draw(self, site, kind, candidates):
        r = self.random
        if kind in ("randint", "choice"):
            return candidates[r.randrange(len(candidates))]
        if kind == "shuffle":
            out = list(candidates)
            r.shuffle(out)
            return out
        if kind == "coin":
            return r.random() < 0.5
        if kind == "uniform":
            return r.random()
        raise ValueError(kind)


class ScriptedRng(Rng):
    """Oracle rng: ``callback(site, candidates) -> chosen`` decides every draw.

    The callback sees the draw's kind through :attr:`last_kind` if it needs it
    (the site label already fixes the kind: see :data:`SITE_KINDS`).
    """

    def __init__(self, callback: Callable[[str, Any], Any], forward_trivial: bool = False):
        super().__init__(forward_trivial)
        self.callback = callback
        self.last_kind = None

    def draw(self, site, kind, candidates):
        self.last_kind = kind
        return self.callback(site, candidates)

    @classmethod
    def from_list(cls, answers: Sequence[Tuple[str, Any]], fallback: Optional[Rng] = None,
                  forward_trivial: bool = False) -> "ScriptedRng":
        """Answer draws from ``answers`` (a list of ``(site, value)``) in order; the
        site of each draw must match. When the list is used up, ``fallback``
        answers (an error when there is none). ``rng.remaining`` tells what is left."""
        queue = list(answers)

        def cb(site, candidates):
            if queue:
                want, value = queue.pop(0)
                if want != site:
                    raise AssertionError(f"scripted draw for {want!r}, but the game drew {site!r}")
                return value
            if fallback is None:
                raise AssertionError(f"no scripted answer left for {site!r} ({candidates!r})")
            return fallback.draw(site, rng.last_kind, candidates)

        rng = cls(cb, forward_trivial)
        rng.remaining = queue
        return rng


class RecordingRng(Rng):
    """Wraps ``inner`` and logs every forwarded draw as ``(site, kind, candidates, chosen)``."""

    def __init__(self, inner: Rng):
        super().__init__(inner.forward_trivial)
        self.inner = inner
        self.log: List[Tuple[str, str, Any, Any]] = []

    def draw(self, site, kind, candidates):
        v = self.inner.draw(site, kind, candidates)
        if kind == "shuffle" and not isinstance(v, Perm):
            v = Perm(next(i for i, c in enumerate(candidates) if c is o) for o in v)
        self.log.append((site, kind, None if candidates is None else list(candidates), v))
        return v

    def answers(self) -> List[Tuple[str, Any]]:
        """The log as ``ScriptedRng.from_list`` input (shuffles as :class:`Perm`)."""
        return [(s, v) for s, _, _, v in self.log]

    def sites(self) -> List[str]:
        return [s for s, _, _, _ in self.log]


#: The kind of draw each site makes.
SITE_KINDS = {
    "init.player_corner": "choice", "init.bonus": "choice", "stage.exit_corner": "choice",
    "stage.block_count": "randint", "stage.block.row": "randint", "stage.block.col": "randint",
    "stage.block.is_data": "coin", "stage.block.question_roll": "uniform",
    "stage.block.points": "randint", "stage.block.program": "choice",
    "stage.resource.amount_roll": "uniform", "stage.resource.is_credits": "coin",
    "spawn.lof.row": "randint", "spawn.lof.col": "randint",
    "spawn.any.row": "randint", "spawn.any.col": "randint",
    "transmission.type": "choice", "enemy.order": "shuffle", "path.tiebreak": "choice",
    "poly.type": "choice", "warp.target": "choice",
}
assert set(SITE_KINDS) == set(SITES)
