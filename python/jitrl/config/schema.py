"""The spec-file schema: every key a spec or a flag may set, read from the
field declarations of the section dataclasses (:data:`jitrl.config.sections.SECTIONS`).

One :class:`Field` per key, derived, never written here: ``key`` is the dotted
path in a YAML spec (``network.net_arch``: the section's prefix and the
attribute, unless the setting names its own key); ``section`` and ``attr`` say
which dataclass field receives it; ``kind``, ``default``, ``allowed``, ``flag``
and ``sweepable`` come from its :class:`~jitrl.common.fields.Setting`.
Validation returns messages of the form ``<where>: <field>: <value> -- <what is
allowed>``; it never raises on a bad value. ``scripts/config_table.py`` renders the
table of ``docs/config.md`` from :data:`FIELDS`.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple

from jitrl.common.fields import Setting, kind_of, setting_of, settings
from jitrl.config.sections import SECTIONS


@dataclasses.dataclass(frozen=True)
class Field:
    key: str
    section: str
    attr: str
    kind: str  # int | float | bool | str | optional_str | int_list | mapping
    default: Any
    allowed: str
    setting: Setting
    flag: Optional[str] = None  # CLI flag that sets it, e.g. "--lr"
    sweepable: bool = False


def _fields() -> Tuple[Field, ...]:
    out = []
    for section, cls, prefix in SECTIONS:
        for f in settings(cls):
            s = setting_of(f)
            kind = kind_of(cls, f)
            default = dict(s.default) if kind == "mapping" else s.default
            out.append(Field(key=s.key or prefix + f.name, section=section, attr=f.name, kind=kind,
                             default=default, allowed=s.allowed(kind), setting=s, flag=s.flag,
                             sweepable=s.sweepable))
    return tuple(out)


FIELDS: Tuple[Field, ...] = _fields()
FIELDS_BY_KEY: Dict[str, Field] = {f.key: f for f in FIELDS}


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
    return None if field.setting.accepts(value) else field.allowed


def format_value(value: Any) -> str:
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, tuple):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return str(value)


def unknown_keys(mapping: Mapping[str, Any], allowed: Iterable[str], at: str) -> List[str]:
    """One ``<at><key>: unknown key; allowed: ...`` problem per key of ``mapping``
    not in ``allowed`` (``at`` ends with the separator, e.g. ``"file: "`` or ``"stages[0]."``)."""
    allowed = list(allowed)
    return [f"{at}{k}: unknown key; allowed: {', '.join(allowed)}" for k in mapping if k not in allowed]
