"""Jittable environments behind one gymnax-compatible API."""
from jitrl.envs.base import Environment
from jitrl.envs.registry import UnknownEnvError, make, register, registered_names

__all__ = ["Environment", "make", "register", "registered_names", "UnknownEnvError"]
