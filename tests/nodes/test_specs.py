"""The widget-spec table (utils/specs.py): the nodes' INPUT_TYPES stay exactly as saved workflows know them, and
the validation, the dataclass defaults and the CLI options all follow the one table."""
from __future__ import annotations

import ast
import json
import re
from dataclasses import replace
from pathlib import Path

import pytest

import erase as cli
import volc_pack
from volc_pack.utils.api.client import InpaintOptions, LogoInfo
from volc_pack.utils.api.errors import InputError
from volc_pack.utils.erase import EraseSettings
from volc_pack.utils.specs import ERASE, LOGO_INFO

FROZEN = ast.literal_eval((Path(__file__).resolve().parents[1] / "fixtures" / "input_types.txt").read_text("utf-8"))

# widget name -> (EraseSettings field, InpaintOptions field): where the node puts each widget's value
SETTINGS_FIELD = {"variants": "variants", "mask_grow": "mask_grow", "feather": "feather", "crop_to_mask": "crop",
                  "context": "context", "paste_back": "paste_back", "ghost_face_retries": "ghost_retries",
                  "on_ghost_face": "on_ghost_face", "on_item_error": "on_item_error", "on_empty_mask": "on_empty_mask"}
OPTIONS_FIELD = ("seed", "steps", "strength", "scale", "dilate_size", "quality", "return_url")


@pytest.mark.parametrize("node", sorted(FROZEN))
def test_input_types_are_exactly_the_frozen_ones(node):
    actual = volc_pack.NODE_CLASS_MAPPINGS[node].INPUT_TYPES()
    assert actual == FROZEN[node]  # values, and tuples stay tuples, lists stay lists
    assert json.dumps(actual) == json.dumps(FROZEN[node])  # and the key order the UI lays widgets out in


def test_every_node_is_frozen():
    assert set(FROZEN) == set(volc_pack.NODE_CLASS_MAPPINGS)


def test_dataclass_defaults_are_the_widget_defaults():
    settings, options = EraseSettings(), InpaintOptions()
    for name, spec in ERASE.items():
        default = spec.choices[spec.default] if spec.choices else spec.default
        if name in SETTINGS_FIELD:
            assert getattr(settings, SETTINGS_FIELD[name]) == default, name
        elif name in OPTIONS_FIELD:
            assert getattr(options, name) == default, name
    logo = LogoInfo()
    for name, spec in LOGO_INFO.items():
        assert getattr(logo, name) == (spec.choices[spec.default] if spec.choices else spec.default), name


def _with(name: str, value) -> EraseSettings:
    if name in OPTIONS_FIELD:
        return EraseSettings(options=replace(InpaintOptions(), **{name: value}))
    return EraseSettings(**{SETTINGS_FIELD[name]: value})


@pytest.mark.parametrize("name", [n for n, s in ERASE.items() if s.type in ("INT", "FLOAT") and n != "timeout"])
def test_validation_uses_the_table_range_and_names_the_widget(name):
    spec = ERASE[name]
    _with(name, spec.min).validate()
    _with(name, spec.max).validate()
    for outside in (spec.min - 1, spec.max + 1):
        message = f"{name} is {outside!r}, outside {spec.min:g}..{spec.max:g}."
        with pytest.raises(InputError, match="^" + re.escape(message)):
            _with(name, outside).validate()


@pytest.mark.parametrize("name", ["on_ghost_face", "on_item_error", "on_empty_mask"])
def test_fallback_settings_accept_only_the_mapped_values(name):
    for value in ERASE[name].values:
        _with(name, value).validate()
    with pytest.raises(InputError, match=rf"^{name} is 'return original'\."):
        _with(name, "return original").validate()  # the widget label, not what the pipeline takes


def test_cli_defaults_are_the_node_defaults():
    args = cli.parse_args(["in.png", "--out", "out"])
    assert cli.node_kwargs(args) == {name: spec.default for name, spec in ERASE.items()}


def test_cli_keeps_its_flags_and_maps_switches_to_widgets():
    args = cli.parse_args(["in.png", "--out", "o", "--variants", "3", "--seed", "-1", "--steps", "9", "--strength",
                           "0.5", "--scale", "2.5", "--dilate-size", "4", "--quality", "H", "--return-url",
                           "--mask-grow", "-3", "--feather", "0", "--no-crop", "--context", "3", "--no-paste-back",
                           "--ghost-face-retries", "0", "--on-ghost-face", "return original", "--on-item-error",
                           "return original", "--on-empty-mask", "error", "--timeout", "30"])
    assert cli.node_kwargs(args) == dict(
        seed=-1, variants=3, steps=9, strength=0.5, scale=2.5, dilate_size=4, quality="H", return_url=True,
        mask_grow=-3, feather=0, crop_to_mask=False, context=3.0, paste_back=False, ghost_face_retries=0,
        on_ghost_face="return original", on_item_error="return original", on_empty_mask="error", timeout=30.0)


def test_cli_out_of_range_value_exits_1_naming_the_option(standin_env, tmp_path, capsys):
    image = Path(__file__).resolve().parents[2] / "workflows" / "inputs" / "coffee_painted.png"
    assert cli.main([str(image), "--out", str(tmp_path), "--variants", "5"]) == 1
    assert "variants is 5, outside 1..4" in capsys.readouterr().err
    assert not standin_env.requests  # checked before any call


def test_readme_widget_table_matches_the_specs():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text("utf-8")
    rows = dict(re.findall(r"^\| (\w+) \| ([^|]*\|[^|]*)\|", readme, re.MULTILINE))
    for name, spec in ERASE.items():
        default, limits = (cell.strip() for cell in rows[name].split("|"))
        if spec.type == "CHOICE":
            assert (default, limits) == (spec.default, " / ".join(spec.labels)), name
        elif spec.type == "BOOLEAN":
            assert (default, limits) == (str(spec.default).lower(), ""), name
        else:
            assert float(default) == spec.default, name
            if name != "seed":  # written -1 … 2³¹-1 there
                low, high = limits.removesuffix(" s").split("–")
                assert (float(low), float(high)) == (spec.min, spec.max), name
