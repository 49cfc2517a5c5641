"""``scripts/train_purejaxrl.py``: parse flags, resolve the config, train.

Exit codes: 0 done (or early-stopped by a monitor), 1 stopped on NaN/inf,
2 bad flag/config (one line per problem, no traceback), 130 Ctrl-C (saved).
"""
from __future__ import annotations

import argparse
import os
import sys
from typing import Dict, List, Optional

from jitrl.config import ConfigError, describe, load_saved, resolve
from jitrl.config import schema


class CleanParser(argparse.ArgumentParser):
    """argparse that reports a bad flag in one line and exits 2 (no usage dump)."""

    def error(self, message: str):  # noqa: D401
        sys.stderr.write(f"{self.prog}: error: {message} (see --help)\n")
        sys.exit(2)


def build_parser() -> CleanParser:
    p = CleanParser(
        prog="train_purejaxrl.py",
        description="Train PPO end to end in one jitted program (jitrl).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--config", metavar="SPEC.yaml", help="hyperparameter spec file (flags override it)")
    p.add_argument("--resume", metavar="RUN_DIR", help="continue the run in RUN_DIR from its last checkpoint")
    p.add_argument("--no-auto-scale", action="store_true",
                   help="keep minibatches/epochs/LR as given instead of scaling them to the batch size")
    p.add_argument("--quiet", action="store_true", help="no progress bar or log lines")
    p.add_argument("--curriculum", metavar="FILE",
                   help="train the stages of a curriculum file in order, each from the previous stage's final "
                        "parameters (flags apply to every stage; --resume CURRICULUM_DIR continues one)")
    p.add_argument("--stage", default="all", help="with --curriculum: all, or one stage number")
    for f in schema.FIELDS:
        if f.flag:
            p.add_argument(f.flag, dest="set:" + f.key, metavar=f.kind.upper().replace("OPTIONAL_", ""),
                           help=f"{f.key}: {f.allowed} (default {schema.format_value(f.default)})")
    return p


def flag_values(ns: argparse.Namespace) -> Dict[str, str]:
    out = {k[4:]: v for k, v in vars(ns).items() if k.startswith("set:") and v is not None}
    if ns.no_auto_scale:
        out["auto_scale"] = "false"
    return out


def resolve_from_args(ns: argparse.Namespace):
    flags = flag_values(ns)
    if ns.resume:
        if flags or ns.config:
            given = ", ".join(sorted(schema.FIELDS_BY_KEY[k].flag or k for k in flags) + (["--config"] if ns.config else []))
            raise ConfigError([f"--resume: {given} -- a resumed run keeps its saved config.yaml; pass only --resume RUN_DIR"])
        run_dir = ns.resume.rstrip("/")
        path = os.path.join(run_dir, "config.yaml")
        if not os.path.isfile(path):
            raise ConfigError([f"--resume: {ns.resume!r} -- not a run directory (no config.yaml in it)"])
        cfg = load_saved(path)
        run = cfg.run.__class__(**{**cfg.run.__dict__, "checkpoint_dir": os.path.dirname(run_dir) or ".",
                                   "run_name": os.path.basename(run_dir)})
        return cfg.replace(run=run)
    return resolve(ns.config, flags)


def _is_curriculum_dir(path: Optional[str]) -> bool:
    return bool(path) and os.path.isfile(os.path.join(path, "curriculum_state.json"))


def main(argv: Optional[List[str]] = None) -> int:
    ns = build_parser().parse_args(argv)
    if ns.curriculum or _is_curriculum_dir(ns.resume):
        from jitrl.workflow.curriculum import main_from_args

        return main_from_args(ns, flag_values(ns))
    try:
        cfg = resolve_from_args(ns)
    except ConfigError as exc:
        for line in exc.problems:
            sys.stderr.write(f"error: {line}\n")
        return 2
    from jitrl.training import Trainer

    if not ns.quiet:
        print(describe(cfg), flush=True)
    try:
        from jitrl.training.runlog import read_metrics
        from jitrl.workflow.monitoring import ess_callbacks

        prior = read_metrics(os.path.join(cfg.run.checkpoint_dir, cfg.run.run_name)) if ns.resume else []
        trainer = Trainer(cfg, quiet=ns.quiet, callbacks=ess_callbacks(cfg, prior))
        if not ns.quiet:
            print(f"Run directory: {trainer.run_dir}  (TensorBoard: tensorboard --logdir {trainer.run_dir})",
                  flush=True)
        result = trainer.run(resume=bool(ns.resume))
    except ConfigError as exc:
        for line in exc.problems:
            sys.stderr.write(f"error: {line}\n")
        return 2
    except ValueError as exc:  # e.g. devices not dividing num_envs
        sys.stderr.write(f"error: {exc}\n")
        return 2
    return {"nan": 1, "interrupted": 130}.get(result.stop_reason, 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
