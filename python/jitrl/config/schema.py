"""The spec-file schema: every key a spec or a flag may set, its type, its
allowed values and its default.

One :class:`Field` per key. ``key`` is the dotted path in a YAML spec
(``network.net_arch``); ``section`` and ``attr`` say which frozen config
dataclass receives it (see :mod:`jitrl.config.sections`). Validation returns
messages of the form ``<where>: <field>: <value> -- <what is allowed>``;
it never raises on a bad value.

Sections other modules add (e.g. ``validation`` criteria) are registered with
:func:`register_extra_key`: the loader keeps their raw value for the module
that owns them and reports them as unknown otherwise.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Callable, Dict, Optional, Tuple

from jitrl.networks.registry import ACTIVATIONS

Checker = Callable[[Any], Optional[str]]  # returns None when valid, else what is allowed


@dataclasses.dataclass(frozen=True)
class Field:
    key: str
    section: str
    attr: str
    kind: str  # int | float | bool | str | optional_str | int_list | mapping
    default: Any
    allowed: str
    check: Optional[Callable[[Any], bool]] = None
    flag: Optional[str] = None  # CLI flag that sets it, e.g. "--lr"
    help: str = ""


def _pos_int(v):
    return v >= 1


def _nonneg(v):
    return v >= 0


def _unit(v):
    return 0.0 <= v <= 1.0


def _pos(v):
    return v > 0


FIELDS: Tuple[Field, ...] = (
    # -- identification (seed 002) -------------------------------------------
    Field("agent_id", "meta", "agent_id", "optional_str", None, "a name, e.g. ppo_agent"),
    Field("name", "meta", "name", "optional_str", None, "a display name"),
    Field("algorithm", "meta", "algorithm", "str", "PPO", "PPO or MaskablePPO",
          lambda v: v in ("PPO", "MaskablePPO")),
    Field("version", "meta", "version", "int", 1, "an integer >= 1", _pos_int),
    Field("sweep_variant", "meta", "sweep_variant", "optional_str", None, "a variant name or null"),
    Field("description", "meta", "description", "optional_str", None, "free text"),
    # -- environment ------------------------------------------------------------
    Field("env.name", "env", "name", "str", "hackmatrix",
          "a registered env (hackmatrix, kmc-tio2) or a gymnax name (CartPole-v1, ...)", flag="--env"),
    Field("env.params", "env", "params", "mapping", {},
          "a mapping of env parameter names to values"),
    # -- PPO ----------------------------------------------------------------------
    Field("num_envs", "ppo", "num_envs", "int", 2048, "an integer >= 1", _pos_int, "--num-envs"),
    Field("num_steps", "ppo", "num_steps", "int", 128, "an integer >= 1", _pos_int, "--num-steps"),
    Field("learning_rate", "ppo", "learning_rate", "float", 2.5e-4, "a float > 0", _pos, "--lr"),
    Field("anneal_lr", "ppo", "anneal_lr", "bool", True, "true or false", flag="--anneal-lr"),
    Field("gamma", "ppo", "gamma", "float", 0.99, "a float in [0, 1]", _unit, "--gamma"),
    Field("gae_lambda", "ppo", "gae_lambda", "float", 0.95, "a float in [0, 1]", _unit, "--gae-lambda"),
    Field("num_minibatches", "ppo", "num_minibatches", "int", 4,
          "an integer >= 1 that divides num_envs x num_steps", _pos_int, "--num-minibatches"),
    Field("update_epochs", "ppo", "update_epochs", "int", 4, "an integer >= 1", _pos_int, "--update-epochs"),
    Field("clip_range", "ppo", "clip_range", "float", 0.2, "a float > 0", _pos, "--clip-range"),
    Field("clip_value_loss", "ppo", "clip_value_loss", "bool", True, "true or false"),
    Field("ent_coef", "ppo", "ent_coef", "float", 0.01, "a float >= 0", _nonneg, "--ent-coef"),
    Field("vf_coef", "ppo", "vf_coef", "float", 0.5, "a float >= 0", _nonneg, "--vf-coef"),
    Field("max_grad_norm", "ppo", "max_grad_norm", "float", 0.5, "a float > 0", _pos, "--max-grad-norm"),
    Field("normalize_advantages", "ppo", "normalize_advantages", "bool", True, "true or false"),
    Field("auto_scale", "ppo", "auto_scale", "bool", True, "true or false"),
    # -- network ----------------------------------------------------------------------
    Field("network.kind", "network", "kind", "str", "auto",
          "auto (the env's default) or a registered network name", flag="--network"),
    Field("network.net_arch", "network", "net_arch", "int_list", (64, 64),
          "a list of positive integers, e.g. [256, 256]", lambda v: len(v) >= 1 and all(x >= 1 for x in v)),
    Field("network.activation_fn", "network", "activation", "str", "tanh",
          "one of " + ", ".join(ACTIVATIONS), lambda v: v in ACTIVATIONS),
    # -- the run ----------------------------------------------------------------------
    Field("total_timesteps", "run", "total_timesteps", "int", 100_000_000, "an integer >= 1",
          _pos_int, "--total-timesteps"),
    Field("seed", "run", "seed", "int", 0, "an integer >= 0", _nonneg, "--seed"),
    Field("num_seeds", "run", "num_seeds", "int", 1, "an integer >= 1", _pos_int, "--num-seeds"),
    Field("log_interval", "run", "log_interval", "int", 10, "an integer >= 1 (updates)", _pos_int, "--log-interval"),
    Field("checkpoint_interval", "run", "checkpoint_interval", "int", 50,
          "an integer >= 1 (updates; rounded up to a multiple of log_interval)", _pos_int, "--checkpoint-interval"),
    Field("keep_checkpoints", "run", "keep_checkpoints", "int", 3, "an integer >= 1", _pos_int),
    Field("checkpoint_dir", "run", "checkpoint_dir", "str", "checkpoints", "a directory path", flag="--checkpoint-dir"),
    Field("run_name", "run", "run_name", "optional_str", None, "a directory name (default: <env>_<date>)",
          lambda v: v is None or ("/" not in v and v not in ("", ".", "..")), "--run-name"),
    # -- monitoring and workflow (issue 5; seed 000 names) ------------------------------
    Field("ess_threshold", "run", "ess_threshold", "float", 0.0,
          "a float >= 0 (0 = off): stop when the mean ESS ratio (at most 1) stays below it for "
          "ess_patience logs", _nonneg, "--ess-threshold"),
    Field("ess_patience", "run", "ess_patience", "int", 10, "an integer >= 1 (consecutive logs)",
          _pos_int, "--ess-patience"),
    Field("smoke_timesteps", "run", "smoke_timesteps", "int", 0,
          "an integer >= 0 (env steps per seed of a --mode smoke run; 0 = 5 updates)", _nonneg),
    Field("replay_steps", "run", "replay_steps", "int", 200,
          "an integer >= 0 (steps of the final-policy replay GIF written to the run and TensorBoard "
          "when the env renders; 0 = none)", _nonneg, "--replay-steps"),
)

FIELDS_BY_KEY: Dict[str, Field] = {f.key: f for f in FIELDS}
FLAGS: Dict[str, Field] = {f.flag: f for f in FIELDS if f.flag}

#: Top-level keys owned by other modules (validated there): key -> owner description.
EXTRA_KEYS: Dict[str, str] = {"extends": "the loader"}
#: key -> ``validate(value) -> [problem, ...]`` (each "<field>: <value> -- <allowed>"),
#: called by the loader for every extra key a spec sets.
EXTRA_VALIDATORS: Dict[str, Callable[[Any], list]] = {}


def register_extra_key(key: str, owner: str, validate: Optional[Callable[[Any], list]] = None) -> None:
    EXTRA_KEYS[key] = owner
    if validate is not None:
        EXTRA_VALIDATORS[key] = validate


def _type_name(kind: str) -> str:
    return {
        "int": "an integer",
        "float": "a number",
        "bool": "true or false",
        "str": "a string",
        "optional_str": "a string or null",
        "int_list": "a list of integers",
        "mapping": "a mapping",
    }[kind]


def coerce(field: Field, value: Any, from_text: bool = False) -> Tuple[Any, Optional[str]]:
    """Convert ``value`` to the field's type. Returns (value, None) or (None, problem).

    ``from_text`` is for CLI flags: "1e-4", "true", "256,256" are parsed.
    """
    k = field.kind
    try:
        if k == "int":
            if from_text:
                f = float(value)
                if f != int(f):
                    raise ValueError
                return int(f), None
            if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value:
                raise ValueError
            return int(value), None
        if k == "float":
            if from_text:
                return float(value), None
            if isinstance(value, bool):
                raise ValueError
            if isinstance(value, str):  # YAML reads 1e-4 (no dot) as a string
                return float(value), None
            if not isinstance(value, (int, float)):
                raise ValueError
            return float(value), None
        if k == "bool":
            if from_text:
                low = str(value).lower()
                if low in ("1", "true", "yes", "on"):
                    return True, None
                if low in ("0", "false", "no", "off"):
                    return False, None
                raise ValueError
            if not isinstance(value, bool):
                raise ValueError
            return value, None
        if k == "str":
            if not isinstance(value, str) or not value:
                raise ValueError
            return value, None
        if k == "optional_str":
            if value is None or (from_text and str(value).lower() in ("null", "none")):
                return None, None
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return str(value), None
            if not isinstance(value, str):
                raise ValueError
            return value, None
        if k == "int_list":
            if from_text:
                value = [p for p in str(value).replace(" ", "").split(",") if p]
                return tuple(int(p) for p in value), None
            if not isinstance(value, (list, tuple)) or any(isinstance(x, bool) or not isinstance(x, int) for x in value):
                raise ValueError
            return tuple(value), None
        if k == "mapping":
            if not isinstance(value, dict):
                raise ValueError
            return dict(value), None
    except (TypeError, ValueError):
        return None, f"{_type_name(k)}; allowed: {field.allowed}"
    raise AssertionError(k)


def check(field: Field, value: Any) -> Optional[str]:
    """None when ``value`` (already coerced) is allowed, else the allowed text."""
    if field.check is not None and not field.check(value):
        return field.allowed
    return None


def format_value(value: Any) -> str:
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, tuple):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return str(value)
