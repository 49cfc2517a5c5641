"""Shared by every test module: compiled programs are released as the suite goes.

XLA's CPU backend maps a few small memory regions (code, constants, data) for
every compiled executable, and jax's caches keep an executable alive as long as
its jitted function and static arguments are. One pytest process runs ~400
tests and compiles many thousands of programs; without clearing, the process
reached Linux's limit of memory mappings (``vm.max_map_count``, 65,530) near the
end of the suite and LLVM crashed (SIGSEGV) while compiling the next program --
always in ``test_workflow_runs.py``, ~90% through, never in that file alone.

``jax.clear_caches()`` drops those executables: after each module, and after any
test that leaves the process above :data:`MAX_MAPPINGS` (the module's fixtures
recompile what they still use). Measured with per-module clearing alone: a peak
of 29,522 mappings, in ``test_workflow_runs.py``.
"""
import gc
import os

import jax
import pytest

#: clear after a test once the process holds more memory mappings than this
MAX_MAPPINGS = 16_000


def _release():
    jax.clear_caches()
    gc.collect()


def _mappings() -> int:
    try:
        with open("/proc/self/maps") as fh:
            return sum(1 for _ in fh)
    except OSError:  # not Linux: no such limit to keep under
        return 0


@pytest.fixture(autouse=True, scope="module")
def _release_after_each_module():
    yield
    _release()


@pytest.fixture(autouse=True)
def _release_when_many_mapped():
    yield
    if _mappings() > MAX_MAPPINGS:
        _release()
