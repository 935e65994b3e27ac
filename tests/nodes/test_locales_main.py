"""locales/<lang>/main.json and settings.json: what the front end shows besides node definitions (the Settings >
Volcengine panel, node status lines, category and template-folder names). ComfyUI merges every language folder into
GET /i18n; the frontend's vue-i18n compiles these strings, and web/volcengine_i18n.js fills their {placeholders}."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from volc_pack.nodes import status_text

LOCALES = Path(__file__).resolve().parents[2] / "locales"
CJK = re.compile(r"[\u4e00-\u9fff]")
PLACEHOLDER = re.compile(r"\{(\w+)\}")


def load(lang: str, name: str) -> dict:
    return json.loads((LOCALES / lang / name).read_text(encoding="utf-8"))


def leaves(value, path=()):
    if isinstance(value, dict):
        for key, item in value.items():
            yield from leaves(item, (*path, key))
    else:
        yield path, value


@pytest.mark.parametrize("name", ["main.json", "settings.json"])
def test_chinese_has_exactly_the_english_keys_and_placeholders(name):
    en, zh = dict(leaves(load("en", name))), dict(leaves(load("zh", name)))
    assert set(en) == set(zh)
    for path, text in en.items():
        assert isinstance(text, str) and text.strip(), path
        assert set(PLACEHOLDER.findall(text)) == set(PLACEHOLDER.findall(zh[path])), path


@pytest.mark.parametrize("name", ["main.json", "settings.json"])
def test_chinese_strings_are_translated(name):
    untranslated = [path for path, text in leaves(load("zh", name)) if not CJK.search(text)]
    assert untranslated == []


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_strings_compile_in_vue_i18n(lang):
    # vue-i18n treats | as a plural separator, @ as a linked message and braces as placeholders: plain text only.
    for name in ("main.json", "settings.json"):
        for path, text in leaves(load(lang, name)):
            assert "|" not in text and "@" not in text, path
            assert re.sub(PLACEHOLDER, "", text).count("{") == re.sub(PLACEHOLDER, "", text).count("}") == 0, path


def test_files_are_sorted_for_easy_merges():
    for lang in ("en", "zh"):
        for path in (LOCALES / lang).glob("*.json"):
            data = json.loads(path.read_text(encoding="utf-8"))
            assert path.read_text(encoding="utf-8") == json.dumps(data, ensure_ascii=False, indent=2,
                                                                  sort_keys=True) + "\n", f"{path}: not sorted"


def test_status_lines_come_from_the_english_file():
    assert status_text.progress(0, 4) == "Sending 4 calls…"
    assert status_text.progress(0, 1) == "Sending 1 call…"
    assert status_text.progress(3, 4) == "3/4 results ready"
    assert status_text.skipped([0], 1, 1, 1).startswith("Nothing is painted:")
    assert status_text.skipped([1, 2], 3, 3, 3) == "3/3 results ready. Nothing is painted on image(s) 2, 3: returned " \
                                                   "unchanged."
    en = load("en", "main.json")["volcengine"]["status"]
    assert status_text.templates() == en


def test_settings_panel_outcomes_cover_every_check_outcome():
    from volc_pack.utils.api import credential_check as routes

    outcomes = {routes.OK, routes.KEY_NOT_FOUND, routes.SIGNATURE_WRONG, routes.NO_PERMISSION, routes.NETWORK,
                routes.NOT_CONFIGURED}
    for lang in ("en", "zh"):
        # "other" shows the server's own sentence; every known outcome has a sentence of its own.
        assert set(load(lang, "main.json")["volcengine"]["settings"]["outcome"]) == outcomes
