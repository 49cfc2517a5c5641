"""Loading, validating and resolving run configs from spec files and flags.

Precedence, lowest first: schema default < auto-scaling < spec file (an
``extends:`` parent first, then the child) < CLI flag. Auto-scaling never
overrides a value set in a file or a flag. Every problem is collected and
raised together as one :class:`ConfigError` whose lines each name the file
(or flag), the field, the value and what is allowed.
"""
from __future__ import annotations

import dataclasses
import datetime as _dt
import os
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple

import yaml

from jitrl.config import schema
from jitrl.config.sections import SECTION_TYPES, EnvSpec, ResolvedConfig
from jitrl.ppo.config import AUTO_SCALED, auto_scale_for_batch_size

#: nested sections whose children are flattened to ``<section>.<child>``
_NESTED = ("network",)
#: seed-002 style ``ppo:`` sub-mapping: its children are top-level PPO keys
_PPO_GROUP = "ppo"


class ConfigError(Exception):
    """One or more config problems; ``str()`` gives one line per problem."""

    def __init__(self, problems: Iterable[str]):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


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
                if sub == "policy":  # seed 002 names the SB3 policy class; it has no meaning here
                    continue
                flat[f"{key}.{sub}"] = v
        elif key == _PPO_GROUP and isinstance(value, dict):
            flat.update({str(k): v for k, v in value.items()})
        else:
            flat[key] = value
    return flat


def unknown_keys(mapping: Mapping[str, Any], allowed: Iterable[str], at: str) -> List[str]:
    """One ``<at><key>: unknown key; allowed: ...`` problem per key of ``mapping``
    not in ``allowed`` (``at`` ends with the separator, e.g. ``"file: "`` or ``"stages[0]."``)."""
    allowed = list(allowed)
    return [f"{at}{k}: unknown key; allowed: {', '.join(allowed)}" for k in mapping if k not in allowed]


def read_yaml_mapping(path: str, what: str) -> Dict[str, Any]:
    """The top-level mapping of a YAML file (empty file: ``{}``); a missing file,
    bad YAML (with its line and column) or another top-level type raises a
    one-line ConfigError naming the file; ``what`` says what the file must hold."""
    if not os.path.isfile(path):
        raise ConfigError([f"{path}: file not found"])
    try:
        with open(path) as fh:
            doc = yaml.safe_load(fh)
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
    apath = os.path.abspath(path)
    if apath in _seen:
        raise ConfigError([f"{path}: extends: circular reference ({' -> '.join(_seen + (apath,))})"])
    doc = read_yaml_mapping(path, "a mapping of field: value")
    problems: List[str] = []
    flat = _flatten(doc, path, problems)
    values: Dict[str, Any] = {}
    origin: Dict[str, str] = {}
    parent = flat.pop("extends", None)
    if parent is not None:
        if not isinstance(parent, str):
            problems.append(f"{path}: extends: {parent!r} -- a path to another spec file")
        else:
            ppath = parent if os.path.isabs(parent) else os.path.join(os.path.dirname(path), parent)
            try:
                values, origin = read_spec(ppath, _seen + (apath,))
            except ConfigError as exc:
                problems.extend(exc.problems)
    for key, value in flat.items():
        if key not in schema.FIELDS_BY_KEY and key not in schema.EXTRA_KEYS:
            allowed = sorted(set(schema.FIELDS_BY_KEY) | set(schema.EXTRA_KEYS))
            problems.append(f"{path}: {key}: unknown key; allowed: {', '.join(allowed)}")
            continue
        if key == "env.params" and isinstance(value, dict) and isinstance(values.get(key), dict):
            value = {**values[key], **value}  # a child's env params refine its parent's
        values[key] = value
        origin[key] = f"file:{path}"
    if problems:
        raise ConfigError(problems)
    return values, origin


# ---------------------------------------------------------------------------
# resolving
# ---------------------------------------------------------------------------
def _check_env(name: str, params: Dict[str, Any], where: str) -> List[str]:
    """Problems with the env name or its parameter overrides (constructs the env)."""
    from jitrl.envs.registry import UnknownEnvError, make

    try:
        make(name, **params)
    except UnknownEnvError as exc:
        return [f"{where}: {exc}"]
    except (TypeError, ValueError) as exc:
        return [f"{where}: env.params: {exc}"]
    return []


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
    flags = dict(flags or {})
    problems: List[str] = []
    raw: Dict[str, Any] = {}
    origin: Dict[str, str] = {}
    if spec_path is not None:
        raw, origin = read_spec(spec_path)

    values: Dict[str, Any] = {f.key: f.default for f in schema.FIELDS}
    sources: Dict[str, str] = {f.key: "default" for f in schema.FIELDS}
    extras: Dict[str, Any] = {}

    def put(key: str, value: Any, src: str, where: str, from_text: bool) -> None:
        field = schema.FIELDS_BY_KEY.get(key)
        if field is None:
            validate = schema.EXTRA_VALIDATORS.get(key)
            bad = validate(value) if validate is not None else []
            problems.extend(f"{where}: {line}" for line in bad)
            if not bad:
                extras[key] = value
                sources[key] = src
            return
        label = field.flag if (src == "flag" and field.flag) else key
        coerced, why = schema.coerce(field, value, from_text=from_text)
        if why is None:
            why = schema.check(field, coerced)
        if why is not None:
            problems.append(f"{where}: {label}: {value!r} -- {why}")
            return
        values[key] = coerced
        sources[key] = src

    for key, value in raw.items():
        put(key, value, origin[key], origin[key][5:], from_text=False)
    for key, value in flags.items():
        if key not in schema.FIELDS_BY_KEY:
            problems.append(f"flag: {key}: unknown setting")
            continue
        put(key, value, "flag", "flag", from_text=flags_from_text and isinstance(value, str))

    if problems:
        raise ConfigError(problems)

    # -- env ------------------------------------------------------------------------
    env_params = dict(values["env.params"])
    if check_env:
        where = (origin.get("env.name") or origin.get("env.params") or "config").replace("file:", "")
        problems += _check_env(values["env.name"], env_params, where)

    # -- sections ---------------------------------------------------------------------
    by_section: Dict[str, Dict[str, Any]] = {s: {} for s in SECTION_TYPES}
    for f in schema.FIELDS:
        by_section[f.section][f.attr] = values[f.key]
    by_section["env"]["params"] = tuple(sorted(env_params.items()))
    built = {s: SECTION_TYPES[s](**kw) for s, kw in by_section.items()}

    # -- auto-scaling (never over a file or flag value) --------------------------------
    ppo = built["ppo"]
    explicit = tuple(k for k in AUTO_SCALED if sources[k] != "default")
    scaled = auto_scale_for_batch_size(ppo, explicit=explicit)
    for k in AUTO_SCALED:
        if getattr(scaled, k) != getattr(ppo, k):
            sources[k] = "auto-scale"
    built["ppo"] = scaled

    if scaled.batch_size % scaled.num_minibatches:
        where = sources["num_minibatches"].replace("file:", "")
        problems.append(
            f"{where}: num_minibatches: {scaled.num_minibatches} -- must divide the batch "
            f"num_envs x num_steps = {scaled.num_envs} x {scaled.num_steps} = {scaled.batch_size}"
        )
    if check_env and not problems:
        from jitrl.networks.registry import network_names

        kind = built["network"].kind
        if kind != "auto" and kind not in network_names():
            where = sources["network.kind"].replace("file:", "")
            problems.append(f"{where}: network.kind: {kind!r} -- one of auto, {', '.join(network_names())}")
    if problems:
        raise ConfigError(problems)

    run = built["run"]
    if run.run_name is None:
        stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        run = dataclasses.replace(run, run_name=f"{values['env.name']}_{stamp}")
        built["run"] = run
    return ResolvedConfig(
        meta=built["meta"],
        env=built["env"],
        ppo=built["ppo"],
        network=built["network"],
        run=run,
        sources=tuple(sorted(sources.items())),
        extras=tuple(sorted(extras.items())),
    )


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
