"""Shared by every test module: compiled programs are released after each module.

XLA's CPU backend maps a few small memory regions (code, constants, data) for
every compiled executable, and jax's caches keep an executable alive as long as
its jitted function and static arguments are. One pytest process runs ~400
tests and compiles many thousands of programs; without clearing, the process
reached Linux's limit of memory mappings (``vm.max_map_count``, 65,530) near the
end of the suite and LLVM crashed (SIGSEGV) while compiling the next program --
always in ``test_workflow_runs.py``, ~90% through, never in that file alone.

``jax.clear_caches()`` after each module drops those executables (the module's
own fixtures recompile what they still use). Measured over the whole suite: a
peak of 29,522 mappings. Not all of the late growth is released by it: a second
run that also cleared after every test above 16,000 mappings peaked at 29,532
(the count kept rising over the last ~30 tests), so that check was dropped; what
else keeps those executables alive is not found yet.
"""
import gc

import jax
import pytest


@pytest.fixture(autouse=True, scope="module")
def _release_compiled_programs():
    yield
    jax.clear_caches()
    gc.collect()
