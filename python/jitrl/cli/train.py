"""``scripts/train_purejaxrl.py``: parse flags, resolve the config, train (one
run, or the stages of a curriculum).

Exit codes: 0 done (or early-stopped by a monitor), 1 stopped on NaN/inf,
2 bad flag/config (one line per problem, no traceback), 130 Ctrl-C (saved).
"""
from __future__ import annotations

import argparse
import os
import sys
from typing import Dict, List, Optional

from jitrl.common import launch
from jitrl.cli.common import CleanParser, add_spec_flags, guarded, print_problems, spec_flags
from jitrl.config import ConfigError, describe, resolve
from jitrl.config import schema
from jitrl.training import CONFIG_FILE, Trainer, distributed
from jitrl.training.resume import RESUMABLE, resumable_flags
from jitrl.training.runlog import read_metrics
from jitrl.workflow import learning_report
from jitrl.workflow.curriculum import STATE_FILE, run_curriculum
from jitrl.workflow.monitoring import ess_callbacks

#: exit status of each stop reason (anything else: 0)
EXIT_CODES = {"nan": 1, "interrupted": 130}


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
    g = p.add_argument_group("multi-process training (jax.distributed): start one process per host (or per GPU) "
                             "with the same flags, each with its --process-id; or set JAX_COORDINATOR_ADDRESS, "
                             "JAX_NUM_PROCESSES, JAX_PROCESS_ID")
    g.add_argument("--coordinator-address", metavar="HOST:PORT", help="process 0's address and a free port")
    g.add_argument("--num-processes", type=int, metavar="N")
    g.add_argument("--process-id", type=int, metavar="I", help="0 .. N-1; process 0 writes the run directory")
    g.add_argument("--heartbeat-timeout", type=int, metavar="S",
                   help="seconds of silence after which a process counts as dead (default 60)")
    add_spec_flags(p, defaults=True)
    return p


def flag_values(ns: argparse.Namespace) -> Dict[str, str]:
    out = spec_flags(ns)
    if ns.no_auto_scale:
        out["auto_scale"] = "false"
    return out


def resolve_from_args(ns: argparse.Namespace):
    flags = flag_values(ns)
    if ns.resume:
        fixed = sorted(k for k in flags if k not in RESUMABLE or k in ("checkpoint_dir", "run_name"))
        if fixed or ns.config:
            given = ", ".join([schema.FIELDS_BY_KEY[k].flag or k for k in fixed] + (["--config"] if ns.config else []))
            raise ConfigError([f"--resume: {given} -- a resumed run keeps the settings it was trained with; with "
                               f"--resume only {', '.join(resumable_flags())} may be given (e.g. a larger "
                               f"--total-timesteps trains on)"])
        run_dir = ns.resume.rstrip("/")
        path = os.path.join(run_dir, CONFIG_FILE)
        if not os.path.isfile(path):
            raise ConfigError([f"--resume: {ns.resume!r} -- not a run directory (no config.yaml in it)"])
        cfg = resolve(path, flags)
        run = cfg.run.__class__(**{**cfg.run.__dict__, "checkpoint_dir": os.path.dirname(run_dir) or ".",
                                   "run_name": os.path.basename(run_dir)})
        return cfg.replace(run=run)
    return resolve(ns.config, flags)


def check_launch_flags(ns: argparse.Namespace) -> None:
    """The launch flags take effect before jitrl is imported (scripts/train_purejaxrl.py sets
    their variables, :mod:`jitrl.common.launch` reads them); here they must agree with that."""
    given = [flag for flag in launch.FLAGS if getattr(ns, flag[2:].replace("-", "_")) is not None]
    if given and not distributed.is_multiprocess() and (ns.num_processes or 1) > 1:
        raise ConfigError([f"{given[0]}: given, but jax.distributed was not started -- the launch flags are read "
                           f"before jitrl is imported: run scripts/train_purejaxrl.py, or set "
                           f"{', '.join(launch.FLAGS.values())} yourself"])


def _is_curriculum_dir(path: Optional[str]) -> bool:
    return bool(path) and os.path.isfile(os.path.join(path, STATE_FILE))


@guarded
def main(argv: Optional[List[str]] = None) -> int:
    ns = build_parser().parse_args(argv)
    if ns.curriculum or _is_curriculum_dir(ns.resume):
        return curriculum_main(ns, flag_values(ns))
    run_dir, training = ns.resume, False
    try:
        check_launch_flags(ns)
        cfg = resolve_from_args(ns)
        if not ns.quiet:
            print(describe(cfg), flush=True)
        prior = read_metrics(os.path.join(cfg.run.checkpoint_dir, cfg.run.run_name)) if ns.resume else []
        trainer = Trainer(cfg, quiet=ns.quiet, callbacks=ess_callbacks(cfg, prior))
        run_dir = trainer.run_dir
        if not ns.quiet:
            print(f"Run directory: {trainer.run_dir}  (TensorBoard: tensorboard --logdir {trainer.run_dir})",
                  flush=True)
        training = True
        result = trainer.run(resume=bool(ns.resume))
        training = False
        learning_report.report_at_end(cfg, trainer.env, trainer.env_params, trainer.run_dir, result.stop_reason,
                                      say=(lambda _: None) if ns.quiet else (lambda t: print(t, flush=True)))
    except ConfigError as exc:
        return print_problems(exc)
    except Exception as exc:  # noqa: BLE001
        if training and distributed.is_multiprocess():  # a lost process: one line, no wait in jax's shutdown barrier
            distributed.exit_lost_process(exc, run_dir)
        if isinstance(exc, ValueError):  # e.g. devices not dividing num_envs
            return print_problems(ConfigError([str(exc)]))
        raise
    return EXIT_CODES.get(result.stop_reason, 0)


def curriculum_main(ns: argparse.Namespace, flags: Dict[str, str]) -> int:
    """``train_purejaxrl.py --curriculum FILE [--stage all|N] [--resume DIR]`` (flags: spec keys -> text)."""
    try:
        res = run_curriculum(ns.curriculum, stage=ns.stage, flags=flags, resume_dir=ns.resume,
                             quiet=ns.quiet, log=(lambda *_: None) if ns.quiet else print)
    except ConfigError as exc:
        return print_problems(exc)
    if not ns.quiet:
        for st in res.stages:
            print(f"  stage {st['index']} {st['name']}: {st['status']}"
                  + (f" ({st['stop_reason']})" if st["stop_reason"] else "") + (f" -> {st['run_dir']}" if st["run_dir"] else ""))
    return res.exit_code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
