"""BOOLEAN widgets take real booleans only (0/1 at most): a headless client's "false", "yes" or 2 is an InputError
naming the widget, through the node, through an API-format workflow run in-process, and through ComfyUI's own
validation, where the on-prompt check sees the value before ComfyUI's bool() turns "false" into True."""
from __future__ import annotations

import asyncio
import copy
import json
from pathlib import Path

import pytest
from helpers.node_inputs import LOGO, box, erase, expect_input_error, inpaint_requests, photo
from offline_workflow import core_nodes, execute
from volc_pack.nodes.prompt_check import HIDDEN, mark_invalid_booleans, problems
from volc_pack.utils.api.errors import InputError
from volc_pack.utils.validate import flag

import volc_pack

MAPPINGS = volc_pack.NODE_CLASS_MAPPINGS
PAINTED = Path(__file__).resolve().parents[2] / "workflows" / "api" / "erase_painted_area.json"
ERASER_FLAGS = ("return_url", "crop_to_mask", "paste_back")
NOT_BOOLEANS = ["false", "False", "true", "yes", "no", "0", "", 2, -1, 0.0, 1.0, None, {"x": 1}]
LOGO_DEFAULTS = {"add_logo": True, "position": "bottom-right", "language": "Chinese", "opacity": 0.3,
                 "logo_text_content": ""}


def boolean_widgets() -> list[tuple[str, str]]:
    """(node, widget) for every BOOLEAN widget of every node of the pack."""
    found = []
    for node, cls in MAPPINGS.items():
        for section in ("required", "optional"):
            found += [(node, name) for name, spec in cls.INPUT_TYPES().get(section, {}).items()
                      if spec[0] == "BOOLEAN"]
    return found


def test_the_known_boolean_widgets_are_all_covered():
    assert sorted(boolean_widgets()) == sorted([("VolcengineInpaintErase", n) for n in ERASER_FLAGS]
                                               + [("VolcengineLogoInfo", "add_logo")])


@pytest.mark.parametrize("value", NOT_BOOLEANS, ids=repr)
def test_flag_refuses_anything_but_a_boolean(value):
    with pytest.raises(InputError) as info:
        flag("paste_back", value)
    assert info.value.message == f"paste_back is {value!r}, not true or false." and "JSON boolean" in info.value.hint


def test_flag_accepts_booleans_and_zero_one():
    assert [flag("x", v) for v in (True, False, 1, 0)] == [True, False, True, False]


# --- through the nodes ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("widget", ERASER_FLAGS)
@pytest.mark.parametrize("value", ["false", "yes", 2, None], ids=repr)
def test_the_eraser_refuses_a_non_boolean(standin_env, widget, value):
    expect_input_error(lambda: erase(photo(), box(), **{widget: value}), rf"^{widget} is ", standin_env)


@pytest.mark.parametrize("value", ["false", "no", 2, 0.0], ids=repr)
def test_the_logo_node_refuses_a_non_boolean(value):
    with pytest.raises(InputError, match=r"^add_logo is "):
        LOGO().build(**{**LOGO_DEFAULTS, "add_logo": value})


def test_zero_and_one_mean_false_and_true(standin_env):
    assert LOGO().build(**{**LOGO_DEFAULTS, "add_logo": 0})[0].add_logo is False
    assert LOGO().build(**{**LOGO_DEFAULTS, "add_logo": 1})[0].add_logo is True
    erase(photo(), box(), return_url=0)
    erase(photo(), box(), return_url=1)
    assert [r.params["return_url"] for r in inpaint_requests(standin_env)] == [False, True]


# --- an API-format workflow run in-process (no ComfyUI validation in between) -------------------------------------

def test_an_api_workflow_with_a_text_false_fails_naming_the_widget(standin_env):
    prompt = json.loads(PAINTED.read_text(encoding="utf-8"))
    prompt["2"]["inputs"]["crop_to_mask"] = "false"
    expect_input_error(lambda: asyncio.run(execute(prompt, core_nodes())), r"^crop_to_mask is 'false'", standin_env)


# --- ComfyUI's path: the on-prompt check, ComfyUI's bool() conversion, VALIDATE_INPUTS, the node -------------------

def comfy_validate(prompt: dict) -> dict[str, str]:
    """What ComfyUI 0.3.64's validate_inputs does with our nodes (execution.py): BOOLEAN widgets through bool(),
    then VALIDATE_INPUTS with the declared arguments present in the inputs. node id -> its error details."""
    errors = {}
    for node_id, node in prompt.items():
        cls = MAPPINGS.get(node["class_type"])
        if cls is None:
            continue
        for name, spec in cls.INPUT_TYPES()["required"].items():
            if spec[0] == "BOOLEAN" and not isinstance(node["inputs"].get(name), list):
                node["inputs"][name] = bool(node["inputs"][name])
        if HIDDEN in node["inputs"]:
            result = cls.VALIDATE_INPUTS(**{HIDDEN: node["inputs"][HIDDEN]})
            if result is not True:
                errors[node_id] = f"{HIDDEN} - {result}"
    return errors


def logo_prompt(value) -> dict:
    return {"7": {"class_type": "VolcengineLogoInfo", "inputs": {**LOGO_DEFAULTS, "add_logo": value}}}


@pytest.mark.parametrize("value", ["false", "yes", 2], ids=repr)
def test_comfyui_validation_fails_the_prompt_naming_the_widget(value):
    data = {"prompt": json.loads(PAINTED.read_text(encoding="utf-8")), "client_id": "headless"}
    data["prompt"]["2"]["inputs"]["paste_back"] = value
    data["prompt"]["2"]["inputs"]["return_url"] = "true"
    data["prompt"].update(logo_prompt(value))
    assert mark_invalid_booleans(data, MAPPINGS) is data
    errors = comfy_validate(data["prompt"])
    assert errors["2"] == ("invalid_inputs - return_url is 'true', not true or false. Send return_url as a JSON "
                           f"boolean, true or false (0 and 1 are accepted too). paste_back is {value!r}, not true or "
                           "false. Send paste_back as a JSON boolean, true or false (0 and 1 are accepted too).")
    assert errors["7"].startswith(f"invalid_inputs - add_logo is {value!r}, not true or false.")
    assert data["prompt"]["2"]["inputs"]["paste_back"] is True  # what bool() made of it: the node must not run
    with pytest.raises(InputError, match="add_logo is"):  # nor does it, should validation be skipped
        LOGO().build(**{**LOGO_DEFAULTS, HIDDEN: data["prompt"]["7"]["inputs"][HIDDEN]})


def test_a_valid_prompt_passes_untouched_and_a_forged_note_is_dropped():
    prompt = json.loads(PAINTED.read_text(encoding="utf-8"))
    prompt["2"]["inputs"].update(paste_back=0, return_url=1, crop_to_mask={"__value__": False})
    prompt.update(logo_prompt(False))
    prompt["7"]["inputs"][HIDDEN] = "forged by the client"
    before = copy.deepcopy(prompt)
    mark_invalid_booleans({"prompt": prompt}, MAPPINGS)
    del before["7"]["inputs"][HIDDEN]
    assert prompt == before and comfy_validate(prompt) == {}


@pytest.mark.parametrize("json_data", [None, [], {"prompt": None}, {"prompt": []}, {"prompt": {"1": None}},
                                       {"prompt": {"1": {"class_type": "VolcengineInpaintErase", "inputs": None}}},
                                       {"prompt": {"1": {"class_type": ["not", "hashable"], "inputs": {}}}},
                                       {"prompt": {"1": {"class_type": "KSampler", "inputs": {"x": "false"}}}}])
def test_the_hook_leaves_anything_else_alone(json_data):
    before = copy.deepcopy(json_data)
    assert mark_invalid_booleans(json_data, MAPPINGS) == before


def test_a_linked_boolean_is_not_judged_here():
    assert problems(MAPPINGS["VolcengineInpaintErase"], {"paste_back": ["5", 0], "crop_to_mask": True}) == []
