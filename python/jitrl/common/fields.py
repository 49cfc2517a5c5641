"""A config field declared once.

Every key a spec file or a flag may set is one field of the frozen dataclass
that receives it (``PPOConfig``, ``NetworkConfig``, the run sections),
declared with :func:`setting`::

    gamma: float = setting(0.99, minimum=0, maximum=1, flag="--gamma", sweepable=True)

The field's annotation is its type; ``setting`` records the default, the
range or choices, the command-line flag and whether the value is
*sweepable* (carried as a traced array, so one compiled program can
``vmap`` over several values). Everything else is derived from these
declarations: the spec schema and its messages (:mod:`jitrl.config.schema`),
the command-line flags, ``HParams`` (:mod:`jitrl.ppo.state`) and the table in
``docs/config.md``.
"""
from __future__ import annotations

import dataclasses
import typing
from typing import Any, Callable, Dict, Optional, Tuple

#: key of a field's :class:`Setting` in its ``dataclasses.field`` metadata
METADATA_KEY = "jitrl.setting"

#: kinds of value a setting holds (read from the annotation unless given)
KINDS = ("int", "float", "bool", "str", "optional_str", "int_list", "mapping")


@dataclasses.dataclass(frozen=True)
class Setting:
    """What a field allows. ``minimum``/``maximum`` bound numbers
    (``exclusive_minimum``: ``> minimum``); ``choices`` lists the allowed values;
    ``check`` is any other rule, described in ``doc``. ``doc`` follows the
    range derived from the kind and bounds (e.g. ``"(updates)"``), or is the
    whole description where nothing is derived. ``key`` is the spec key when
    it is not the section's prefix + the attribute name; ``kind`` overrides the
    kind read from the annotation."""

    default: Any
    minimum: Optional[float] = None
    maximum: Optional[float] = None
    exclusive_minimum: bool = False
    choices: Optional[Tuple[Any, ...]] = None
    check: Optional[Callable[[Any], bool]] = None
    doc: str = ""
    flag: Optional[str] = None
    key: Optional[str] = None
    kind: Optional[str] = None
    sweepable: bool = False

    def accepts(self, value: Any) -> bool:
        """Whether an already type-converted value is allowed."""
        if self.minimum is not None and (value <= self.minimum if self.exclusive_minimum else value < self.minimum):
            return False
        if self.maximum is not None and value > self.maximum:
            return False
        if self.choices is not None and value not in self.choices:
            return False
        return self.check is None or bool(self.check(value))

    def allowed(self, kind: str) -> str:
        """What is allowed, in words: the derived range, then ``doc``."""
        return " ".join(p for p in (self._derived(kind), self.doc) if p)

    def _derived(self, kind: str) -> str:
        if kind == "bool":
            return "true or false"
        if self.choices is not None:
            names = [str(c) for c in self.choices]
            return " or ".join(names) if len(names) == 2 else "one of " + ", ".join(names)
        if kind not in ("int", "float") or (self.minimum is None and self.maximum is None):
            return ""
        noun = "an integer" if kind == "int" else "a float"
        lo, hi = (None if x is None else (str(int(x)) if x == int(x) else f"{x:g}")
                  for x in (self.minimum, self.maximum))
        if lo is not None and hi is not None:
            return f"{noun} in [{lo}, {hi}]"
        if lo is not None:
            return f"{noun} {'>' if self.exclusive_minimum else '>='} {lo}"
        return f"{noun} <= {hi}"


def setting(default: Any, **kw: Any) -> Any:
    """A dataclass field with its :class:`Setting` (see the module docstring).
    Settings are static configuration, never traced pytree leaves, so the
    field is also marked ``pytree_node=False`` for ``flax.struct`` dataclasses."""
    return dataclasses.field(default=default, metadata={METADATA_KEY: Setting(default, **kw), "pytree_node": False})


def setting_of(f: dataclasses.Field) -> Optional[Setting]:
    return f.metadata.get(METADATA_KEY)


def kind_of(cls: type, f: dataclasses.Field) -> str:
    """The field's kind: its setting's ``kind``, else read from the annotation."""
    s = setting_of(f)
    if s is not None and s.kind is not None:
        if s.kind not in KINDS:
            raise TypeError(f"{cls.__name__}.{f.name}: kind {s.kind!r}; allowed: {', '.join(KINDS)}")
        return s.kind
    hint = typing.get_type_hints(cls)[f.name]
    simple: Dict[Any, str] = {int: "int", float: "float", bool: "bool", str: "str",
                              Optional[str]: "optional_str", Tuple[int, ...]: "int_list"}
    if hint not in simple:
        raise TypeError(f"{cls.__name__}.{f.name}: annotation {hint!r} has no setting kind; give kind=")
    return simple[hint]


def settings(cls: type) -> Tuple[dataclasses.Field, ...]:
    """The fields of ``cls`` that are declared with :func:`setting`, in order."""
    return tuple(f for f in dataclasses.fields(cls) if setting_of(f) is not None)


def sweepable_names(cls: type) -> Tuple[str, ...]:
    """Names of the fields of ``cls`` declared ``sweepable``, in declaration order."""
    names = tuple(f.name for f in settings(cls) if setting_of(f).sweepable)
    for f in settings(cls):
        if setting_of(f).sweepable and kind_of(cls, f) != "float":
            raise TypeError(f"{cls.__name__}.{f.name}: only float settings can be sweepable (traced)")
    return names
