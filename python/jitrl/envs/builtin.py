"""Registers the environments that ship with jitrl (imported lazily by the registry)."""
from jitrl.envs.registry import register

try:  # each env package registers itself; a missing one must not break the others
    from jitrl.envs.hackmatrix import HackMatrix

    register("hackmatrix", HackMatrix)
except ImportError as exc:  # pragma: no cover - only while an env is being built
    if "jitrl.envs.hackmatrix" not in str(exc):
        raise

try:
    from jitrl.envs.kmc import KMCTiO2

    register("kmc-tio2", KMCTiO2)
except ImportError as exc:  # pragma: no cover
    if "jitrl.envs.kmc" not in str(exc):
        raise
