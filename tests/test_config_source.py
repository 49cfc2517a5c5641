"""One source of truth for config: each field is declared once (type, default,
range, flag, sweepable) and the schema, the flags, HParams and docs/config.md
are derived from the declarations."""
import dataclasses
import os
from typing import Optional, Tuple

import pytest

from jitrl.cli import config_table
from jitrl.cli.train import build_parser
from jitrl.common.fields import kind_of, setting, setting_of, settings, sweepable_names
from jitrl.config import schema
from jitrl.networks import NetworkConfig
from jitrl.ppo.config import PPOConfig
from jitrl.ppo.state import HParams

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCS = os.path.join(ROOT, "docs", "config.md")


def test_committed_docs_table_is_current(tmp_path, capsys):
    assert config_table.main(["--check", "--out", DOCS]) == 0, "docs/config.md is stale: python scripts/config_table.py"
    stale = tmp_path / "config.md"
    stale.write_text(open(DOCS).read().replace("| `gamma` | float | `0.99` |", "| `gamma` | float | `0.98` |"))
    assert config_table.main(["--check", "--out", str(stale)]) == 1
    assert "is stale" in capsys.readouterr().err
    # every spec key has its row, with its flag
    text = open(DOCS).read()
    for f in schema.FIELDS:
        assert f"| `{f.key}` |" in text and (f.flag is None or f"`{f.flag}`" in text), f.key


def test_hparams_are_the_sweepable_settings():
    # the seven float hyperparameters a sweep may vary inside one program, in PPOConfig's order
    expected = ("learning_rate", "gamma", "gae_lambda", "clip_range", "ent_coef", "vf_coef", "max_grad_norm")
    assert tuple(HParams.__dataclass_fields__) == expected
    assert tuple(f.key for f in schema.FIELDS if f.sweepable) == expected
    h = HParams.from_config(PPOConfig(gamma=0.9, ent_coef=0.05))
    assert float(h.gamma) == pytest.approx(0.9) and float(h.ent_coef) == pytest.approx(0.05)
    rows = HParams.rows([PPOConfig(gamma=0.9), PPOConfig(gamma=0.8)])
    assert rows.gamma.shape == (2,) and rows.gamma.dtype.name == "float32"


def test_schema_defaults_are_the_dataclass_defaults():
    """The schema is read from the section dataclasses: their defaults and its agree field for field."""
    by_key = schema.FIELDS_BY_KEY
    for cls, prefix in ((PPOConfig, ""), (NetworkConfig, "network.")):
        inst = cls()
        for f in dataclasses.fields(cls):
            key = setting_of(f).key or prefix + f.name
            assert by_key[key].default == getattr(inst, f.name) and by_key[key].attr == f.name, key
    assert by_key["network.activation_fn"].attr == "activation"  # a setting may name its own spec key


def test_every_flag_comes_from_the_schema():
    p = build_parser()
    for f in schema.FIELDS:
        if f.flag:
            ns = p.parse_args([f.flag, "1"])
            assert getattr(ns, "set:" + f.key) == "1", f.flag
    flagged = {a.dest[4:] for a in p._actions if a.dest.startswith("set:")}
    assert flagged == {f.key for f in schema.FIELDS if f.flag}


@dataclasses.dataclass(frozen=True)
class _Toy:
    rate: float = setting(0.5, minimum=0, maximum=1, flag="--rate", sweepable=True)
    steps: int = setting(3, minimum=1, doc="(updates)")
    width: float = setting(1.0, minimum=0, exclusive_minimum=True)
    act: str = setting("tanh", choices=("tanh", "relu", "gelu"))
    mode: str = setting("a", choices=("a", "b"))
    label: Optional[str] = setting(None, doc="a name")
    arch: Tuple[int, ...] = setting((8,), check=lambda v: len(v) > 0, doc="widths")
    plain: int = 0  # not a setting


def test_a_declaration_gives_kind_range_words_and_checks():
    fields = {f.name: f for f in settings(_Toy)}
    assert "plain" not in fields and sweepable_names(_Toy) == ("rate",)
    kinds = {n: kind_of(_Toy, f) for n, f in fields.items()}
    assert kinds == {"rate": "float", "steps": "int", "width": "float", "act": "str", "mode": "str",
                     "label": "optional_str", "arch": "int_list"}
    words = {n: setting_of(f).allowed(kinds[n]) for n, f in fields.items()}
    assert words == {"rate": "a float in [0, 1]", "steps": "an integer >= 1 (updates)", "width": "a float > 0",
                     "act": "one of tanh, relu, gelu", "mode": "a or b", "label": "a name", "arch": "widths"}
    s = {n: setting_of(f) for n, f in fields.items()}
    assert s["rate"].accepts(1.0) and not s["rate"].accepts(1.5) and not s["rate"].accepts(-0.1)
    assert not s["width"].accepts(0.0) and s["width"].accepts(1e-9)
    assert s["act"].accepts("relu") and not s["act"].accepts("elu")
    assert s["arch"].accepts((4,)) and not s["arch"].accepts(())


def test_only_float_settings_may_be_sweepable():
    @dataclasses.dataclass(frozen=True)
    class Bad:
        n: int = setting(1, sweepable=True)

    with pytest.raises(TypeError, match="only float settings can be sweepable"):
        sweepable_names(Bad)
