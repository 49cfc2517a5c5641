#!/usr/bin/env python
"""The scripted HackMatrix baselines of ``jitrl.workflow.scripted`` on the plain-Python port of the
Swift game (``tests/hackmatrix_reference``: the Swift game is the truth), with Swift's own rewards
(RewardCalculator, term by term). Run from the repository root:

    python tests/hackmatrix_reference_baselines.py --episodes 2000

Same policies as the jitted ones (BFS to the exit over cells without a block, the legal move
whose target is nearest; ``siphoner``: siphon where the cross holds >= 2 unsiphoned blocks;
``programmer``: first legal program but WAIT, UNDO, RESET), same seeds for every policy (the
reference's rng is seeded per episode; the policies' different actions draw differently after
the first step, so boards are shared at stage 1 only).
"""
import argparse
import collections
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from tests.hackmatrix_reference import HeadlessGame  # noqa: E402
from tests.toys import grid_bfs as bfs  # noqa: E402
from tests.hackmatrix_reference.constants import (  # noqa: E402
    ACTION_SIPHON, DIRECTION_OFFSET, DIRECTIONS, GRID_SIZE, action_name)

SKIP = ("wait", "undo", "reset")
POLICIES = {"random (masked)": None, "exit-seeker": (False, False), "siphoner": (True, False),
            "programmer": (False, True), "siphon-programmer": (True, True)}


def scripted_action(obs, mask, siphons, programs, min_blocks=2):
    blocked = np.array([[c.block is not None for c in row] for row in obs.cells])
    siphoned = np.array([[c.block is not None and c.block.is_siphoned for c in row] for row in obs.cells])
    ex = [(c.row, c.col) for row in obs.cells for c in row if c.is_exit][0]
    d = bfs(blocked, ex)
    pr, pc = obs.player_row, obs.player_col
    if programs:
        for a in range(ACTION_SIPHON + 1, len(mask)):
            if mask[a] and action_name(a) not in SKIP:
                return a
    if siphons and mask[ACTION_SIPHON]:
        cross = [(pr + dy, pc + dx) for dy, dx in ((0, 0), (1, 0), (-1, 0), (0, 1), (0, -1))]
        n = sum(1 for y, x in cross if 0 <= y < GRID_SIZE and 0 <= x < GRID_SIZE and blocked[y, x]
                and not siphoned[y, x])
        if n >= min_blocks:
            return ACTION_SIPHON
    best, best_score = None, None
    for i, name in enumerate(DIRECTIONS):
        if not mask[i]:
            continue
        dy, dx = DIRECTION_OFFSET[name]
        y, x = pr + dy, pc + dx
        score = d[pr, pc] + 1 if blocked[y, x] else d[y, x]
        if best is None or score < best_score:
            best, best_score = i, score
    if best is not None:
        return best
    return int(np.argmax(mask))


def play(policy, seed, max_steps, rng):
    g = HeadlessGame(seed=seed)
    obs = g.observation()
    ret, terms, steps, counts = 0.0, collections.Counter(), 0, collections.Counter()
    cause = "truncation"
    for _ in range(max_steps):
        mask = g.action_mask()
        if policy is None:
            a = int(rng.choice(np.flatnonzero(mask)))
        else:
            a = scripted_action(obs, mask, *policy)
        obs, r, done, info = g.step(a)
        steps += 1
        counts[action_name(a)] += 1
        ret += r
        terms.update(info["reward_breakdown"])
        if done:
            cause = "death" if info.get("death") else ("stage 8 cleared" if info.get("stage_complete") else "invalid")
            break
    return dict(ret=ret, terms=terms, steps=steps, counts=counts, cause=cause, stage=obs.stage)


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--episodes", type=int, default=2000)
    p.add_argument("--max-steps", type=int, default=250)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    rows = {}
    for name, pol in POLICIES.items():
        rng = np.random.default_rng(a.seed)
        eps = [play(pol, a.seed * 100003 + i, a.max_steps, rng) for i in range(a.episodes)]
        rows[name] = eps
    se = lambda x: (np.mean(x), np.std(x, ddof=1) / np.sqrt(len(x)))
    cols = list(rows)
    print("| figure | " + " | ".join(cols) + " |")
    print("| --- |" + " --- |" * len(cols))

    def line(label, f):
        print(f"| {label} | " + " | ".join("%.3f ± %.3f" % se([f(e) for e in rows[c]]) for c in cols) + " |")

    line("return", lambda e: e["ret"])
    line("highest stage (stage when it ended)", lambda e: e["stage"])
    line("episode length", lambda e: e["steps"])
    line("siphons used", lambda e: e["counts"]["siphon"])
    line("programs used", lambda e: sum(v for k, v in e["counts"].items() if k not in DIRECTIONS and k != "siphon"))
    for c in ("death", "stage 8 cleared", "truncation", "invalid"):
        print(f"| {c} | " + " | ".join(str(sum(e['cause'] == c for e in rows[k])) for k in cols) + " |")
    keys = sorted({k for c in cols for e in rows[c] for k in e["terms"]})
    for k in keys:
        line(f"reward: {k}", lambda e, k=k: e["terms"][k])


if __name__ == "__main__":
    main()
