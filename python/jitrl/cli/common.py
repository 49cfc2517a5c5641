"""What every command line shares: a parser that reports a bad flag in one line,
the spec-override flags (derived from the schema), and printing problems."""
from __future__ import annotations

import argparse
import sys
from typing import Dict, Iterable, Optional

from jitrl.config import ConfigError, schema

#: exit status of a bad flag, spec, config value or path
USAGE = 2


class CleanParser(argparse.ArgumentParser):
    """argparse that reports a bad flag in one line and exits 2 (no usage dump)."""

    def error(self, message: str):  # noqa: D401
        sys.stderr.write(f"{self.prog}: error: {message} (see --help)\n")
        sys.exit(USAGE)


def add_spec_flags(p: argparse.ArgumentParser, skip: Iterable[str] = (), defaults: bool = False,
                   title: Optional[str] = None) -> None:
    """One flag per schema field that declares one (``--lr``, ``--num-envs``, ...),
    stored as ``set:<spec key>``; ``defaults`` adds the default to the help, ``title``
    puts them in their own help group."""
    skip = set(skip)
    g = p.add_argument_group(title) if title else p
    for f in schema.FIELDS:
        if f.flag and f.key not in skip:
            default = f" (default {schema.format_value(f.default)})" if defaults else ""
            # a bool flag alone means true (--wandb); it also takes a value (--wandb false)
            alone = {"nargs": "?", "const": "true"} if f.kind == "bool" else {}
            g.add_argument(f.flag, dest="set:" + f.key, metavar=f.kind.upper().replace("OPTIONAL_", ""),
                           help=f"{f.key}: {f.allowed}{default}", **alone)


def spec_flags(ns: argparse.Namespace) -> Dict[str, str]:
    """``{spec key: flag text}`` of the spec-override flags given."""
    return {k[4:]: v for k, v in vars(ns).items() if k.startswith("set:") and v is not None}


def print_problems(exc: ConfigError) -> int:
    """Every problem on its own ``error:`` line on stderr; returns the usage exit status."""
    for line in exc.problems:
        sys.stderr.write(f"error: {line}\n")
    return USAGE
