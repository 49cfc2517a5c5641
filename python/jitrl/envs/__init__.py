"""Jittable environments behind one gymnax-compatible API."""
from jitrl.envs.base import Environment
from jitrl.envs.registry import UnknownEnvError, make, register, registered_names


def to_gymnax(env: Environment):
    """``env`` as a ``gymnax.environments.environment.Environment`` (see
    :mod:`jitrl.envs.gymnax_export`; imported on first use because gymnax's
    spaces import gymnasium, ~2 s)."""
    from jitrl.envs.gymnax_export import to_gymnax as export

    return export(env)


def to_jumanji(env: Environment, params=None):
    """``env`` as a ``jumanji.Environment`` (see :mod:`jitrl.envs.jumanji_export`;
    needs the ``jumanji`` extra)."""
    from jitrl.envs.jumanji_export import to_jumanji as export

    return export(env, params)


__all__ = ["Environment", "make", "register", "registered_names", "UnknownEnvError", "to_gymnax", "to_jumanji"]
