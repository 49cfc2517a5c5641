"""Run configuration: spec files, flags, validation, auto-scaling and sources."""
from jitrl.config.loader import ConfigError, describe, flat_values, load_saved, read_spec, resolve, to_yaml
from jitrl.config.sections import EnvSpec, ResolvedConfig, RunConfig, SpecMeta

__all__ = [
    "ConfigError", "EnvSpec", "ResolvedConfig", "RunConfig", "SpecMeta",
    "describe", "flat_values", "load_saved", "read_spec", "resolve", "to_yaml",
]

# Spec keys owned by the workflow package (``validation:``) are registered on import.
import jitrl.workflow.registration  # noqa: E402,F401
