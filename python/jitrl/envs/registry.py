"""Name -> environment registry, holding the shipped envs (``hackmatrix``,
``kmc-tio2``) and any a user registers. ``make`` falls through to gymnax names."""
from __future__ import annotations

import dataclasses
from typing import Any, Callable, Dict, Tuple

from jitrl.envs.base import Environment
from jitrl.envs.gymnax_adapter import GymnaxEnv, gymnax_names
from jitrl.envs.gymnax_export import to_gymnax
from jitrl.envs.hackmatrix import HackMatrix
from jitrl.envs.kmc import KMCTiO2

_REGISTRY: Dict[str, Callable[..., Environment]] = {"hackmatrix": HackMatrix, "kmc-tio2": KMCTiO2}


class UnknownEnvError(ValueError):
    pass


def register(name: str, factory: Callable[..., Environment]) -> None:
    """Register ``factory(**constructor_kwargs) -> Environment`` under ``name``."""
    _REGISTRY[name] = factory


def registered_names() -> Tuple[str, ...]:
    return tuple(sorted(_REGISTRY))


def split_overrides(env: Environment, overrides: Dict[str, Any]) -> Tuple[Dict[str, Any], Dict[str, Any]]:
    """Split ``overrides`` into (params fields, everything else)."""
    params = env.default_params
    fields = {f.name for f in dataclasses.fields(params)} if dataclasses.is_dataclass(params) else set()
    return (
        {k: v for k, v in overrides.items() if k in fields},
        {k: v for k, v in overrides.items() if k not in fields},
    )


#: what ``make(..., api=...)`` returns the env as
APIS = ("jitrl", "gymnax", "jumanji")


def make(name: str, api: str = "jitrl", **overrides: Any) -> Tuple[Any, Any]:
    """Build ``(env, params)``.

    ``api`` chooses the face of the env: ``jitrl`` (an :class:`Environment`),
    ``gymnax`` (a ``gymnax.environments.environment.Environment``, see
    :mod:`jitrl.envs.gymnax_export`) or ``jumanji`` (a ``jumanji.Environment``
    with the params fixed, see :mod:`jitrl.envs.jumanji_export`; needs the
    ``jumanji`` extra).

    Keyword overrides that name a field of the env's params dataclass replace
    that field; the rest go to the env's constructor (static settings such as
    ``lattice_size``). Names not registered here are looked up in gymnax and
    wrapped by :class:`jitrl.envs.gymnax_adapter.GymnaxEnv`.
    """
    if api not in APIS:
        raise UnknownEnvError(f"api: {api!r}; allowed: {', '.join(APIS)}")
    if name in _REGISTRY:
        factory = _REGISTRY[name]
        probe = factory()
        _, ctor = split_overrides(probe, overrides)
        env = factory(**ctor) if ctor else probe
    elif name in gymnax_names():
        env = GymnaxEnv(name)
    else:
        raise UnknownEnvError(
            f"env: unknown environment {name!r}; allowed: {', '.join(registered_names())} "
            f"or a gymnax name ({', '.join(gymnax_names()[:6])}, ...)"
        )
    param_over, ctor_over = split_overrides(env, overrides)
    if name not in _REGISTRY and ctor_over:
        raise UnknownEnvError(
            f"env: {name!r} has no parameter(s) {sorted(ctor_over)}; "
            f"allowed: {sorted(f.name for f in dataclasses.fields(env.default_params))}"
        )
    params = env.default_params
    if param_over:
        params = params.replace(**param_over)
    if api == "gymnax":
        return to_gymnax(env), params
    if api == "jumanji":
        try:  # an optional extra: imported only when asked for
            from jitrl.envs.jumanji_export import to_jumanji
        except ImportError as exc:
            raise UnknownEnvError(f"api: 'jumanji' needs the jumanji extra (pip install -e '.[jumanji]'): {exc}")
        return to_jumanji(env, params), params
    return env, params
