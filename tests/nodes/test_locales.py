"""locales/<lang>/nodeDefs.json stays complete: ComfyUI serves it at GET /i18n and the front end shows these strings
for node names, descriptions, inputs and outputs (format: {node: {display_name, description, inputs: {input: {name,
tooltip}}, outputs: {"<slot>": {name, tooltip}}}}, as in the front end's own locales)."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import volc_pack

LOCALES = Path(__file__).resolve().parents[2] / "locales"
LANGS = sorted(p.name for p in LOCALES.iterdir() if (p / "nodeDefs.json").is_file())
CJK = re.compile(r"[\u4e00-\u9fff]")


def node_defs(lang: str) -> dict:
    return json.loads((LOCALES / lang / "nodeDefs.json").read_text(encoding="utf-8"))


def expected_inputs(cls: type) -> dict[str, bool]:
    """Input name -> whether the English has a tooltip; a control_after_generate widget adds its own entry."""
    names: dict[str, bool] = {}
    for section in ("required", "optional"):
        for name, (_, *rest) in cls.INPUT_TYPES().get(section, {}).items():
            options = rest[0] if rest else {}
            names[name] = bool(options.get("tooltip"))
            if options.get("control_after_generate"):
                names["control_after_generate"] = False
    return names


def test_chinese_is_present():
    assert "zh" in LANGS


@pytest.mark.parametrize("lang", LANGS)
def test_every_node_has_exactly_its_entries(lang):
    defs = node_defs(lang)
    assert set(defs) == set(volc_pack.NODE_CLASS_MAPPINGS), "a node is missing or a stale one is left"
    for node, cls in volc_pack.NODE_CLASS_MAPPINGS.items():
        entry = defs[node]
        assert entry["display_name"].strip() and entry["description"].strip(), node
        wanted = expected_inputs(cls)
        assert set(entry["inputs"]) == set(wanted), f"{node}: inputs differ from INPUT_TYPES"
        for name, has_tooltip in wanted.items():
            assert entry["inputs"][name]["name"].strip(), f"{node}.{name}"
            assert bool(entry["inputs"][name].get("tooltip", "").strip()) or not has_tooltip, f"{node}.{name} tooltip"
        slots = {str(i) for i in range(len(cls.RETURN_TYPES))}
        assert set(entry["outputs"]) == slots, f"{node}: outputs differ from RETURN_TYPES"
        for slot in slots:
            assert entry["outputs"][slot]["name"].strip() and entry["outputs"][slot]["tooltip"].strip(), (node, slot)


def test_chinese_strings_are_translated():
    """Every visible string carries Chinese text (a copied English tooltip would pass the completeness test)."""
    def strings(value):
        if isinstance(value, dict):
            for item in value.values():
                yield from strings(item)
        else:
            yield value

    untranslated = [s for s in strings(node_defs("zh")) if not CJK.search(s)]
    assert untranslated == []


def test_only_files_comfyui_reads():
    # ComfyUI merges main.json, nodeDefs.json, commands.json and settings.json per language folder.
    for lang in LANGS:
        assert {p.name for p in (LOCALES / lang).iterdir()} <= {"main.json", "nodeDefs.json", "commands.json",
                                                                  "settings.json"}
