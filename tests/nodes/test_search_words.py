"""People find the nodes by the words they would type, in the English and the Chinese UI.

ComfyUI's node search (frontend 1.27, NodeSearchService) is Fuse.js over two keys only: the node id (`name`) and the
display name (English from NODE_DISPLAY_NAME_MAPPINGS, or the translation from locales/zh/nodeDefs.json in the Chinese
UI). Fuse's defaults (threshold 0.3, location 0, distance 100) reject an exact match that starts later than 30
characters into the text, so a word counts only if it starts within the first 30. This test applies that rule; the
browser check (scripts/browser_check.js) runs the real search box."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import volc_pack

LOCALES = Path(__file__).resolve().parents[2] / "locales"
FUSE_REACH = 30  # threshold 0.3 x distance 100: the last start index of an exact match that still scores <= 0.3

# word -> the node it must find
WORDS = {
    "消除": "VolcengineInpaintErase", "去除": "VolcengineInpaintErase", "擦除": "VolcengineInpaintErase",
    "erase": "VolcengineInpaintErase", "remove": "VolcengineInpaintErase", "inpaint": "VolcengineInpaintErase",
    "watermark": "VolcengineInpaintErase", "水印": "VolcengineInpaintErase", "抠图": "VolcengineSubjectMask",
}


def display_names(lang: str) -> dict[str, str]:
    if lang == "en":
        return dict(volc_pack.NODE_DISPLAY_NAME_MAPPINGS)
    defs = json.loads((LOCALES / lang / "nodeDefs.json").read_text(encoding="utf-8"))
    return {node: entry["display_name"] for node, entry in defs.items()}


def found(word: str, node: str, display: str) -> bool:
    return any(0 <= text.lower().find(word.lower()) <= FUSE_REACH for text in (node, display))


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("word", sorted(WORDS))
def test_word_finds_its_node(lang, word):
    names = display_names(lang)
    assert found(word, WORDS[word], names[WORDS[word]]), f"{word!r} does not find {names[WORDS[word]]!r}"


def test_the_rule_matches_what_the_old_names_did():
    # The observation: "消除" found nothing in the English UI with the old name (it starts at index 31).
    assert not found("消除", "VolcengineInpaintErase", "Volcengine Inpainting Erase (涂抹消除)")
    assert found("erase", "VolcengineInpaintErase", "Volcengine Inpainting Erase (涂抹消除)")


def test_one_category_for_all_nodes_and_it_is_translated():
    categories = {cls.CATEGORY for cls in volc_pack.NODE_CLASS_MAPPINGS.values()}
    assert categories == {"Volcengine"}
    for lang in ("en", "zh"):
        main = json.loads((LOCALES / lang / "main.json").read_text(encoding="utf-8"))
        assert main["nodeCategories"]["Volcengine"].strip()
