"""What every command line shares: a parser that reports a bad flag in one line,
the spec-override flags (derived from the schema), and printing problems."""
from __future__ import annotations

import argparse
import errno
import functools
import os
import sys
from typing import Any, Callable, Dict, Iterable, List, Optional

import yaml

from jitrl.config import ConfigError, schema

#: exit status of a bad flag, spec, config value or path
USAGE = 2
#: exit status of a file system fault during a run (disk full, folder made read-only): sysexits' EX_IOERR
IO_ERROR = 74
#: exit status of a Ctrl-C (128 + SIGINT)
INTERRUPTED = 130


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


def env_param_overrides(items: Iterable[str]) -> Dict[str, Any]:
    """``{name: value}`` of repeated ``--env-param NAME=VALUE`` flags (YAML values);
    ConfigError naming the bad item otherwise."""
    over: Dict[str, Any] = {}
    for item in items:
        name, eq, text = item.partition("=")
        if not eq or not name:
            raise ConfigError([f"--env-param: {item!r}; allowed: NAME=VALUE"])
        over[name] = yaml.safe_load(text)
    return over


def print_problems(exc: ConfigError) -> int:
    """Every problem on its own ``error:`` line on stderr; returns the usage exit status."""
    for line in exc.problems:
        sys.stderr.write(f"error: {line}\n")
    return USAGE


def guarded(main: Callable[[Optional[List[str]]], int]) -> Callable[[Optional[List[str]]], int]:
    """Every command's ``main``: the one place a problem becomes one line and an exit
    status, never a traceback. ConfigError (and a ValueError the config could not
    foresee, e.g. devices not dividing num_envs) -> its lines, exit 2; a file-system
    fault (disk full, permission) -> one line, exit 74; Ctrl-C -> one line, exit 130."""

    @functools.wraps(main)
    def wrapper(argv: Optional[List[str]] = None) -> int:
        try:
            return main(argv)
        except ConfigError as exc:
            return print_problems(exc)
        except ValueError as exc:
            return print_problems(ConfigError([str(exc)]))
        except OSError as exc:
            where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
            why = exc.strerror or errno.errorcode.get(exc.errno or 0, "") or str(exc)
            sys.stderr.write(f"error: {where}{why}\n")
            return IO_ERROR
        except KeyboardInterrupt as exc:
            sys.stderr.write(f"{str(exc) or 'interrupted (Ctrl-C)'}\n")
            return INTERRUPTED

    wrapper._jitrl_guarded = True  # type: ignore[attr-defined]
    return wrapper


def exit_with(code: int) -> None:
    """End a command's process with ``code`` (the ``__main__`` of every script).

    After a Ctrl-C (``code == INTERRUPTED``) the process ends at once with ``os._exit``, its
    streams flushed first: XLA may still be working for the run -- a compile abandoned by
    Ctrl-C in its worker thread, a dispatched computation -- and the interpreter's teardown
    would run into it (a SIGSEGV or a C++ ``terminate`` after "interrupted" was printed).
    Nothing is lost: every file a run keeps is closed before ``main`` returns."""
    if code == INTERRUPTED:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)
