"""Loading, validating and resolving run configs from spec files and flags.

Precedence, lowest first: schema default < auto-scaling < spec file (an
``extends:`` parent first, then the child) < CLI flag. Auto-scaling never
overrides a value set in a file or a flag. Every problem is collected and
raised together as one :class:`ConfigError` whose lines each name the file
(or flag), the field, the value and what is allowed.
"""
from __future__ import annotations

import dataclasses
import math
import os
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

import yaml

from jitrl.common.files import stamped_name
from jitrl.config import schema
from jitrl.config.criteria import validate_criteria
from jitrl.config.errors import ConfigError
from jitrl.config.sections import SECTION_TYPES, ResolvedConfig
from jitrl.envs.registry import UnknownEnvError, make
from jitrl.networks import network_names
from jitrl.ppo.config import AUTO_SCALED, auto_scale_for_batch_size

#: nested sections whose children are flattened to ``<section>.<child>``
_NESTED = ("network",)
#: a ``ppo:`` sub-mapping (the earlier trainer's agent configs group PPO keys so):
#: its children are top-level PPO keys
_PPO_GROUP = "ppo"
#: top-level keys that are not section fields: key -> ``validate(value) -> [problem, ...]``
#: (``extends`` is read by :func:`read_spec` itself)
EXTRA_KEYS: Dict[str, Optional[Callable[[Any], List[str]]]] = {"extends": None, "validation": validate_criteria}


# ---------------------------------------------------------------------------
# reading spec files
# ---------------------------------------------------------------------------
def _flatten(doc: Mapping[str, Any], where: str, problems: List[str]) -> Dict[str, Any]:
    flat: Dict[str, Any] = {}
    for key, value in doc.items():
        key = str(key)
        if key == "env":
            if isinstance(value, str):
                flat["env.name"] = value
            elif isinstance(value, dict):
                for sub, v in value.items():
                    if sub not in ("name", "params"):
                        problems.append(f"{where}: env.{sub}: unknown key; allowed: env.name, env.params")
                    else:
                        flat[f"env.{sub}"] = v
            else:
                problems.append(f"{where}: env: {value!r} -- a name or a mapping with name and params")
        elif key in _NESTED:
            if not isinstance(value, dict):
                problems.append(f"{where}: {key}: {value!r} -- a mapping")
                continue
            for sub, v in value.items():
                if sub == "policy":  # the earlier trainer's configs name the SB3 policy class; no meaning here
                    continue
                flat[f"{key}.{sub}"] = v
        elif key == _PPO_GROUP and isinstance(value, dict):
            flat.update({str(k): v for k, v in value.items()})
        else:
            flat[key] = value
    return flat


def read_yaml_mapping(path: str, what: str) -> Dict[str, Any]:
    """The top-level mapping of a YAML file (empty file: ``{}``); a missing file,
    bad YAML (with its line and column) or another top-level type raises a
    one-line ConfigError naming the file; ``what`` says what the file must hold."""
    if os.path.isdir(path):
        raise ConfigError([f"{path}: a folder, not a file -- give a YAML file ({what}), e.g. {path}/<name>.yaml"])
    if not os.path.isfile(path):
        raise ConfigError([f"{path}: file not found"])
    try:
        with open(path, encoding="utf-8") as fh:
            doc = yaml.safe_load(fh)
    except UnicodeDecodeError as exc:
        raise ConfigError([f"{path}: not a UTF-8 text file (byte {exc.start}: {exc.object[exc.start:exc.start + 1]!r}) "
                           f"-- a YAML file holding {what}"]) from None
    except OSError as exc:
        raise ConfigError([f"{path}: cannot be read ({exc.strerror or exc})"]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise ConfigError([f"{path}: not valid YAML{at}: {getattr(exc, 'problem', exc)}"]) from None
    if doc is None:
        doc = {}
    if not isinstance(doc, dict):
        raise ConfigError([f"{path}: the file must hold {what}, not {type(doc).__name__}"])
    return doc


def read_spec(path: str, _seen: Tuple[str, ...] = ()) -> Tuple[Dict[str, Any], Dict[str, str]]:
    """Read one spec (following ``extends``) into flat ``{key: raw value}`` and
    ``{key: "file:<path>"}``. Raises ConfigError on unreadable files and unknown keys."""
    problems: List[str] = []
    values, origin = _read_spec(path, _seen, problems)
    if problems:
        raise ConfigError(problems)
    return values, origin


def _read_spec(path: str, _seen: Tuple[str, ...], problems: List[str]) -> Tuple[Dict[str, Any], Dict[str, str]]:
    """:func:`read_spec` appending its problems to ``problems`` (the readable keys are
    still returned, so their values can be checked and every problem reported at once)."""
    apath = os.path.abspath(path)
    if apath in _seen:
        problems.append(f"{path}: extends: circular reference ({' -> '.join(_seen + (apath,))})")
        return {}, {}
    doc = read_yaml_mapping(path, "a mapping of field: value")
    flat = _flatten(doc, path, problems)
    values: Dict[str, Any] = {}
    origin: Dict[str, str] = {}
    parent = flat.pop("extends", None)
    if parent is not None:
        if not isinstance(parent, str):
            problems.append(f"{path}: extends: {parent!r} -- a path to another spec file")
        else:
            ppath = parent if os.path.isabs(parent) else os.path.join(os.path.dirname(path), parent)
            if not os.path.exists(ppath):
                problems.append(f"{path}: extends: {parent!r} -- no such file ({ppath}); a path to another spec "
                                f"file, relative to {path}")
            else:
                try:
                    values, origin = _read_spec(ppath, _seen + (apath,), problems)
                except ConfigError as exc:
                    problems.extend(f"{line} (named by extends: in {path})" for line in exc.problems)
    for key, value in flat.items():
        if key not in schema.FIELDS_BY_KEY and key not in EXTRA_KEYS:
            allowed = sorted(set(schema.FIELDS_BY_KEY) | set(EXTRA_KEYS))
            problems.append(f"{path}: {key}: unknown key; allowed: {', '.join(allowed)}")
            continue
        if key == "env.params" and isinstance(value, dict) and isinstance(values.get(key), dict):
            value = {**values[key], **value}  # a child's env params refine its parent's
        values[key] = value
        origin[key] = f"file:{path}"
    return values, origin


# ---------------------------------------------------------------------------
# resolving: five named steps
# ---------------------------------------------------------------------------
@dataclasses.dataclass
class _Layers:
    """Values merged from defaults, the spec file and the flags, with their sources."""

    values: Dict[str, Any]
    sources: Dict[str, str]
    extras: Dict[str, Any]
    origin: Dict[str, str]  # spec key -> "file:<path>" of the file that set it


def resolve(
    spec_path: Optional[str] = None,
    flags: Optional[Mapping[str, Any]] = None,
    *,
    flags_from_text: bool = True,
    check_env: bool = True,
) -> ResolvedConfig:
    """Resolve defaults + auto-scaling + spec file + flags into a ResolvedConfig.

    ``flags`` maps spec keys (``learning_rate``, ``env.name``, ...) to values;
    with ``flags_from_text`` they are parsed from strings as CLI flags are.
    Raises :class:`ConfigError` listing every problem found.
    """
    layers = _merge_layers(spec_path, dict(flags or {}), flags_from_text)
    sections = _build_sections(layers.values)
    _auto_scale(sections, layers.sources)
    problems = _check_whole(sections, layers, check_env)
    if problems:
        raise ConfigError(problems)
    sections["run"] = _name_run(sections["run"], layers.values["env.name"])
    return ResolvedConfig(**sections, sources=tuple(sorted(layers.sources.items())),
                          extras=tuple(sorted(layers.extras.items())))


def _merge_layers(spec_path: Optional[str], flags: Dict[str, Any], flags_from_text: bool) -> _Layers:
    """Step 1: schema defaults, then the spec file (``extends`` parents first), then
    the flags; each value type-checked and range-checked (all problems raised together)."""
    problems: List[str] = []
    raw, origin = _read_spec(spec_path, (), problems) if spec_path is not None else ({}, {})
    layers = _Layers({f.key: f.default for f in schema.FIELDS}, {f.key: "default" for f in schema.FIELDS}, {},
                     origin)
    for key, value in raw.items():
        problems += _put(layers, key, value, origin[key], origin[key][5:], from_text=False)
    for key, value in flags.items():
        if key not in schema.FIELDS_BY_KEY:
            problems.append(f"flag: {key}: unknown setting")
            continue
        problems += _put(layers, key, value, "flag", "flag", from_text=flags_from_text and isinstance(value, str))
    if problems:
        raise ConfigError(problems)
    return layers


def _put(layers: _Layers, key: str, value: Any, src: str, where: str, from_text: bool) -> List[str]:
    """Set one key from one layer; the problems with its value (none when it was set)."""
    field = schema.FIELDS_BY_KEY.get(key)
    if field is None:  # an extra key: kept raw for the module that reads it
        validate = EXTRA_KEYS.get(key)
        bad = validate(value) if validate is not None else []
        if not bad:
            layers.extras[key] = value
            layers.sources[key] = src
        return [f"{where}: {line}" for line in bad]
    label = field.flag if (src == "flag" and field.flag) else key
    coerced, why = schema.coerce(field, value, from_text=from_text)
    if why is None and field.kind == "float" and not math.isfinite(coerced):
        why = f"a finite number; allowed: {field.allowed}"
    if why is None:
        why = schema.check(field, coerced)
    if why is not None:
        return [f"{where}: {label}: {value!r} -- {why}"]
    layers.values[key] = coerced
    layers.sources[key] = src
    return []


def _build_sections(values: Mapping[str, Any]) -> Dict[str, Any]:
    """Step 2: one frozen dataclass per section from the flat ``{spec key: value}``."""
    by_section: Dict[str, Dict[str, Any]] = {s: {} for s in SECTION_TYPES}
    for f in schema.FIELDS:
        by_section[f.section][f.attr] = values[f.key]
    by_section["env"]["params"] = tuple(sorted(dict(values["env.params"]).items()))
    return {s: SECTION_TYPES[s](**kw) for s, kw in by_section.items()}


def _auto_scale(sections: Dict[str, Any], sources: Dict[str, str]) -> None:
    """Step 3: scale minibatches, epochs and LR to the batch (never over a file or flag value)."""
    ppo = sections["ppo"]
    explicit = tuple(k for k in AUTO_SCALED if sources[k] != "default")
    scaled = auto_scale_for_batch_size(ppo, explicit=explicit)
    for k in AUTO_SCALED:
        if getattr(scaled, k) != getattr(ppo, k):
            sources[k] = "auto-scale"
    sections["ppo"] = scaled


def _check_whole(sections: Dict[str, Any], layers: _Layers, check_env: bool) -> List[str]:
    """Step 4: what no single value shows: the env and its parameters (built once),
    the minibatch count against the batch, the network name."""
    problems: List[str] = []
    if check_env:
        where = (layers.origin.get("env.name") or layers.origin.get("env.params") or "config").replace("file:", "")
        problems += _check_env(sections["env"].name, dict(layers.values["env.params"]), where)
    ppo = sections["ppo"]
    if ppo.batch_size % ppo.num_minibatches:
        problems.append(
            f"{_where(layers, 'num_minibatches')}: {ppo.num_minibatches} -- "
            f"must divide the batch num_envs x num_steps = {ppo.num_envs} x {ppo.num_steps} = {ppo.batch_size}"
        )
    run = sections["run"]
    if run.total_timesteps < ppo.batch_size:
        problems.append(
            f"{_where(layers, 'total_timesteps')}: {run.total_timesteps} -- "
            f"at least one batch, num_envs x num_steps = {ppo.num_envs} x {ppo.num_steps} = {ppo.batch_size}"
        )
    kind = sections["network"].kind
    if check_env and not problems and kind != "auto" and kind not in network_names():
        where = layers.sources["network.kind"].replace("file:", "")
        problems.append(f"{where}: network.kind: {kind!r} -- one of auto, {', '.join(network_names())}")
    return problems


def _where(layers: _Layers, key: str) -> str:
    """``<file or flag>: <key or flag name>`` of where a key's value came from."""
    src = layers.sources[key]
    flag = schema.FIELDS_BY_KEY[key].flag
    if src == "flag" and flag:
        return f"flag: {flag}"
    return f"{src.replace('file:', '')}: {key}"


def _check_env(name: str, params: Dict[str, Any], where: str) -> List[str]:
    """Problems with the env name or its parameter overrides (constructs the env)."""
    try:
        make(name, **params)
    except UnknownEnvError as exc:
        return [f"{where}: {exc}"]
    except (TypeError, ValueError) as exc:
        return [f"{where}: env.params: {exc}"]
    return []


def _name_run(run: Any, env_name: str) -> Any:
    """Step 5: the default run name ``<env>_<date-time>``."""
    if run.run_name is not None:
        return run
    return dataclasses.replace(run, run_name=stamped_name(env_name))


# ---------------------------------------------------------------------------
# writing and printing
# ---------------------------------------------------------------------------
def flat_values(cfg: ResolvedConfig) -> Dict[str, Any]:
    """``{spec key: value}`` of a resolved config."""
    out: Dict[str, Any] = {}
    for f in schema.FIELDS:
        section = getattr(cfg, f.section)
        v = getattr(section, f.attr)
        if f.key == "env.params":
            v = dict(cfg.env.params)
        out[f.key] = v
    return out


def yaml_scalar(v: Any) -> str:
    """``v`` as it is spelt in a spec file (one line)."""
    if isinstance(v, tuple):
        v = list(v)
    text = yaml.safe_dump(v, default_flow_style=True, width=10_000).strip()
    if text.endswith("\n...") or text.endswith("..."):
        text = text.rsplit("\n", 1)[0].strip()
    return text


def to_yaml(cfg: ResolvedConfig) -> str:
    """The resolved config as a spec file (usable with ``--config``); each value is
    followed by a comment naming its source."""
    vals = flat_values(cfg)
    lines = ["# Resolved run config written by jitrl. Each value's source follows it:",
             "# default | auto-scale | file:<spec> | flag. Usable as --config.", ""]
    groups: Dict[str, List[Tuple[str, str]]] = {}
    for f in schema.FIELDS:
        head = f.key.split(".", 1)
        if len(head) == 2:
            groups.setdefault(head[0], []).append((head[1], f.key))
            if len(groups[head[0]]) == 1:
                lines.append(f"{head[0]}:")
            lines.append(f"  {head[1]}: {yaml_scalar(vals[f.key])}  # {cfg.source(f.key)}")
        else:
            lines.append(f"{f.key}: {yaml_scalar(vals[f.key])}  # {cfg.source(f.key)}")
    for key, value in cfg.extras:
        lines.append(f"{key}: {yaml_scalar(value)}  # {cfg.source(key)}")
    return "\n".join(lines) + "\n"


def describe(cfg: ResolvedConfig) -> str:
    """A table of every value and its source, for the console."""
    vals = flat_values(cfg)
    width = max(len(k) for k in vals)
    rows = [f"  {k.ljust(width)}  {schema.format_value(v) if not isinstance(v, dict) else v}  [{cfg.source(k)}]"
            for k, v in vals.items()]
    p = cfg.ppo
    rows.append(
        f"  -> batch {p.num_envs} x {p.num_steps} = {p.batch_size}, {p.num_minibatches} minibatches of "
        f"{p.minibatch_size}, {p.update_epochs} epochs = {p.num_minibatches * p.update_epochs} gradient steps "
        f"per update, {cfg.num_updates()} updates"
    )
    return "Resolved config:\n" + "\n".join(rows)


def load_saved(path: str) -> ResolvedConfig:
    """Re-read a run's saved ``config.yaml`` (every value then counts as from that file)."""
    return resolve(path)
