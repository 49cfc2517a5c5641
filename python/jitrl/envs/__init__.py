"""Jittable environments behind one gymnax-compatible API."""
from jitrl.envs.base import Environment
from jitrl.envs.gymnax_export import to_gymnax
from jitrl.envs.registry import UnknownEnvError, make, register, registered_names


def to_jumanji(env: Environment, params=None):
    """``env`` as a ``jumanji.Environment`` (see :mod:`jitrl.envs.jumanji_export`;
    needs the ``jumanji`` extra, imported only when asked for)."""
    from jitrl.envs.jumanji_export import to_jumanji as export

    return export(env, params)


__all__ = ["Environment", "make", "register", "registered_names", "UnknownEnvError", "to_gymnax", "to_jumanji"]
