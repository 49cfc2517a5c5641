"""Run configuration: spec files, flags, validation, auto-scaling and sources.

Modules: ``sections`` (the frozen dataclasses a run is resolved into),
``schema`` (every spec key, read from the section dataclasses' field
declarations), ``conditions`` (the ``{metric, op, value, window}`` condition),
``criteria`` (a spec's ``validation:`` criteria), ``loader`` (reading,
validating and resolving), ``errors``.
"""
from jitrl.config.errors import ConfigError
from jitrl.config.loader import describe, flat_values, load_saved, read_spec, resolve, to_yaml
from jitrl.config.sections import EnvSpec, ResolvedConfig, RunConfig, SpecMeta

__all__ = [
    "ConfigError", "EnvSpec", "ResolvedConfig", "RunConfig", "SpecMeta",
    "describe", "flat_values", "load_saved", "read_spec", "resolve", "to_yaml",
]
