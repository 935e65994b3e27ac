"""The bundled workflows: UI and API format, checked against the node schemas, then run offline.

Core node schemas come from tests/fixtures/core_object_info.json, a subset of what `GET /object_info` of a real
ComfyUI 0.3.64 (commit a125cd84) returned; ours come from the pack's NODE_CLASS_MAPPINGS. The offline run drives our
node classes against the stand-in endpoint, with the few core nodes replaced by
minimal equivalents (scripts/offline_workflow.py).
"""
from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import numpy as np
import offline_workflow
import pytest
import torch
import volc_pack
from PIL import Image
from volc_pack.utils.imaging.masks import grow

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / "workflows"
INPUTS = WORKFLOWS / "inputs"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
CORE = json.loads((FIXTURES / "core_object_info.json").read_text(encoding="utf-8"))
UI_FILES = sorted(WORKFLOWS.glob("*.json"))
NAMES = [p.stem for p in UI_FILES]
VIRTUAL = {"Note", "MarkdownNote"}  # front-end-only nodes: never sent to the server
WIDGET_KINDS = {"INT", "FLOAT", "STRING", "BOOLEAN"}
CONTROL_VALUES = {"fixed", "increment", "decrement", "randomize"}
CREDENTIAL_LIKE = re.compile(r"AKLT[A-Za-z0-9]{8,}|secret_?key\"?\s*[:=]|access_?key\"?\s*[:=]", re.IGNORECASE)


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def ui(name: str) -> dict:
    return load(WORKFLOWS / f"{name}.json")


def api(name: str) -> dict:
    return load(WORKFLOWS / "api" / f"{name}.json")


# --- schemas ------------------------------------------------------------------------------------------------------

def schema(node_type: str) -> dict | None:
    """{"inputs": {name: (kind, options, optional)} in front-end order, "outputs": [type, ...]} or None."""
    if node_type in CORE:
        info = CORE[node_type]
        spec, order, outputs = info["input"], info["input_order"], info["output"]
    elif node_type in volc_pack.NODE_CLASS_MAPPINGS:
        cls = volc_pack.NODE_CLASS_MAPPINGS[node_type]
        spec = cls.INPUT_TYPES()
        order, outputs = {k: list(v) for k, v in spec.items()}, list(cls.RETURN_TYPES)
    else:
        return None
    inputs = {}
    for section in ("required", "optional"):
        for name in order.get(section, []):
            kind, *rest = spec[section][name]
            inputs[name] = (kind, rest[0] if rest else {}, section == "optional")
    return {"inputs": inputs, "outputs": outputs}


def is_widget(kind, options: dict) -> bool:
    return isinstance(kind, list) or (kind in WIDGET_KINDS and not options.get("forceInput"))


def value_problem(node_type: str, name: str, value, kind, options: dict) -> str | None:
    """Why a widget value would not pass ComfyUI's validation (or the node's own checks), or None."""
    where = f"{node_type}.{name}={value!r}"
    if isinstance(kind, list):
        if options.get("image_upload"):  # the option list is the server's input/ folder: ours ship in inputs/
            return None if (INPUTS / str(value)).is_file() else f"{where}: not in workflows/inputs/"
        return None if value in kind else f"{where}: not one of {kind}"
    if kind == "BOOLEAN":
        return None if isinstance(value, bool) else f"{where}: not a boolean"
    if kind == "STRING":
        return None if isinstance(value, str) else f"{where}: not a string"
    numeric = int if kind == "INT" else (int, float)
    if isinstance(value, bool) or not isinstance(value, numeric):
        return f"{where}: not {kind}"
    if not options.get("min", value) <= value <= options.get("max", value):
        return f"{where}: outside {options.get('min')}..{options.get('max')}"
    return None


def ui_widget_values(node: dict, spec: dict) -> tuple[dict, list[str]]:
    """Map widgets_values to input names the way the front end serialises them: widget inputs in order, plus a
    control value after each control_after_generate widget and the upload button's value after an image_upload."""
    values, problems = list(node.get("widgets_values") or []), []
    named = {}
    for name, (kind, options, _) in spec["inputs"].items():
        if not is_widget(kind, options):
            continue
        if not values:
            problems.append(f"node {node['id']}: widgets_values ends before {name}")
            break
        named[name] = values.pop(0)
        if options.get("control_after_generate"):
            control = values.pop(0) if values else None
            if control not in CONTROL_VALUES:
                problems.append(f"node {node['id']}: control_after_generate value {control!r}")
        if options.get("image_upload") and (values.pop(0) if values else None) != "image":
            problems.append(f"node {node['id']}: the upload widget value is not 'image'")
    if values:
        problems.append(f"node {node['id']}: {len(values)} widget value(s) too many")
    return named, problems


def check_ui(workflow: dict) -> list[str]:
    problems: list[str] = []
    nodes = {n["id"]: n for n in workflow["nodes"]}
    if workflow.get("version") != 0.4 or len(nodes) != len(workflow["nodes"]):
        problems.append("not a version 0.4 graph with unique node ids")
    if workflow.get("last_node_id", 0) < max(nodes) or workflow.get("last_link_id", 0) < max(
            (lk[0] for lk in workflow["links"]), default=0):
        problems.append("last_node_id / last_link_id below the ids in use")
    for node in nodes.values():
        spec = schema(node["type"])
        if spec is None:
            if node["type"] not in VIRTUAL or node.get("inputs") or node.get("outputs"):
                problems.append(f"node {node['id']}: unknown type {node['type']}")
            continue
        sockets = [(n, k, opt) for n, (k, o, opt) in spec["inputs"].items() if not is_widget(k, o)]
        if [(s["name"], s["type"]) for s in node["inputs"]] != [(n, k) for n, k, _ in sockets]:
            problems.append(f"node {node['id']}: input slots differ from {node['type']}'s schema")
        for socket, (name, _, optional) in zip(node["inputs"], sockets, strict=False):
            if socket.get("link") is None and not optional:
                problems.append(f"node {node['id']}: required input {name} is not connected")
        if [o["type"] for o in node["outputs"]] != spec["outputs"]:
            problems.append(f"node {node['id']}: output slots differ from {node['type']}'s schema")
        named, widget_problems = ui_widget_values(node, spec)
        problems += widget_problems
        problems += [p for name, value in named.items()
                     if (p := value_problem(node["type"], name, value, *spec["inputs"][name][:2]))]
    for link_id, src, src_slot, dst, dst_slot, kind in workflow["links"]:
        if src not in nodes or dst not in nodes:
            problems.append(f"link {link_id}: joins a missing node")
            continue
        out, into = nodes[src]["outputs"][src_slot], nodes[dst]["inputs"][dst_slot]
        if not (out["type"] == kind and into["type"] in (kind, "*")):
            problems.append(f"link {link_id}: {out['type']} -> {into['type']} (link says {kind})")
        if link_id not in (out.get("links") or []) or into.get("link") != link_id:
            problems.append(f"link {link_id}: not recorded on both ends")
    return problems


def check_api(prompt: dict) -> list[str]:
    problems: list[str] = []
    for node_id, node in prompt.items():
        spec = schema(node["class_type"])
        if spec is None:
            problems.append(f"node {node_id}: unknown class_type {node['class_type']}")
            continue
        for name, (kind, options, optional) in spec["inputs"].items():
            value = node["inputs"].get(name)
            if value is None:
                if not optional:
                    problems.append(f"node {node_id}: required input {name} is missing")
            elif not is_widget(kind, options):
                src = prompt.get(value[0]) if isinstance(value, list) and len(value) == 2 else None
                src_spec = schema(src["class_type"]) if src else None
                if src_spec is None or not isinstance(value[1], int) or value[1] >= len(src_spec["outputs"]):
                    problems.append(f"node {node_id}: input {name} links to nothing ({value!r})")
                elif kind not in (src_spec["outputs"][value[1]], "*"):
                    problems.append(f"node {node_id}: input {name} is {kind}, fed {src_spec['outputs'][value[1]]}")
            elif problem := value_problem(node["class_type"], name, value, kind, options):
                problems.append(problem)
        problems += [f"node {node_id}: unknown input {n}" for n in node["inputs"] if n not in spec["inputs"]]
    return problems


def ui_as_api(workflow: dict) -> dict:
    """The UI graph reduced to what the front end's API export holds: class, widget values by name, links."""
    links = {lk[0]: lk for lk in workflow["links"]}
    out = {}
    for node in workflow["nodes"]:
        spec = schema(node["type"])
        if spec is None:
            continue
        inputs, _ = ui_widget_values(node, spec)
        for socket in node["inputs"]:
            if socket.get("link") is not None:
                link = links[socket["link"]]
                inputs[socket["name"]] = [str(link[1]), link[2]]
        out[str(node["id"])] = {"class_type": node["type"], "inputs": inputs}
    return out


# --- static checks --------------------------------------------------------------------------------------------------

def test_the_bundled_set_is_complete():
    assert set(NAMES) == {"erase_painted_area", "erase_subject", "erase_background", "erase_four_variants",
                          "erase_by_scribble", "erase_clutter"}
    assert sorted(p.stem for p in (WORKFLOWS / "api").glob("*.json")) == sorted(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_ui_workflow_is_valid(name):
    workflow = ui(name)
    assert {"nodes", "links", "version", "last_node_id", "last_link_id"} <= set(workflow)
    assert check_ui(workflow) == []


@pytest.mark.parametrize("name", NAMES)
def test_api_workflow_is_valid_and_matches_its_ui_twin(name):
    prompt = api(name)
    assert check_api(prompt) == []
    stripped = {k: {"class_type": v["class_type"], "inputs": v["inputs"]} for k, v in prompt.items()}
    assert ui_as_api(ui(name)) == stripped


@pytest.mark.parametrize("name", NAMES)
def test_thumbnail_is_a_small_real_jpeg(name):
    with Image.open(WORKFLOWS / f"{name}.jpg") as thumb:
        assert thumb.format == "JPEG" and 128 <= thumb.width <= 512 and thumb.height >= 96
        pixels = np.asarray(thumb.convert("L"), np.float32)
    assert pixels.std() > 20  # a photo, not a flat placeholder


def test_no_workflow_holds_anything_credential_like():
    for path in [*UI_FILES, *(WORKFLOWS / "api").glob("*.json")]:
        text = path.read_text(encoding="utf-8")
        assert not CREDENTIAL_LIKE.search(text), path


BREAKAGES = {
    "seed out of range": lambda w: _eraser(w)["widgets_values"].__setitem__(0, -5),
    "bad control value": lambda w: _eraser(w)["widgets_values"].__setitem__(1, "sometimes"),
    "unknown combo": lambda w: _eraser(w)["widgets_values"].__setitem__(7, "XL"),
    "float as INT": lambda w: _eraser(w)["widgets_values"].__setitem__(2, 1.5),
    "missing widget value": lambda w: _eraser(w)["widgets_values"].pop(),
    "wrong link type": lambda w: w["links"][0].__setitem__(5, "MASK"),
    "unknown node": lambda w: w["nodes"][0].__setitem__("type", "LoadImageFromSomePack"),
    "missing input file": lambda w: w["nodes"][0]["widgets_values"].__setitem__(0, "nope.png"),
}


def _eraser(workflow: dict) -> dict:
    return next(n for n in workflow["nodes"] if n["type"] == "VolcengineInpaintErase")


@pytest.mark.parametrize("breakage", sorted(BREAKAGES))
def test_the_checks_catch_a_broken_workflow(breakage):
    workflow = copy.deepcopy(ui("erase_painted_area"))
    BREAKAGES[breakage](workflow)
    assert check_ui(workflow)


def test_the_api_checks_catch_a_broken_prompt():
    prompt = api("erase_painted_area")
    for mutate in (lambda p: p["2"]["inputs"].__setitem__("mask", ["1", 0]),  # IMAGE into MASK
                   lambda p: p["2"]["inputs"].__setitem__("quality", "XL"),
                   lambda p: p["2"]["inputs"].pop("steps"),
                   lambda p: p["4"]["inputs"].__setitem__("images", ["9", 0])):
        broken = copy.deepcopy(prompt)
        mutate(broken)
        assert check_api(broken), mutate
    twin = copy.deepcopy(prompt)
    twin["2"]["inputs"]["seed"] = 43
    assert ui_as_api(ui("erase_painted_area")) != {k: {"class_type": v["class_type"], "inputs": v["inputs"]}
                                                    for k, v in twin.items()}


# --- offline run: our nodes against the stand-in, core nodes replaced by minimal equivalents ------------------------

def run_offline(name: str) -> tuple[dict, dict, dict]:
    """(prompt, what each output node received by node id, every node's results by node id)."""
    prompt, seen = api(name), {}
    return prompt, seen, offline_workflow.run_offline(prompt, seen)


def seeds(report: str) -> list[int]:
    return [variant["seed"] for variant in json.loads(report)[0]["variants"]]


def assert_erased_within(original: torch.Tensor, erased: torch.Tensor, paste_mask: torch.Tensor) -> None:
    assert erased.shape[1:] == original.shape[1:] == (400, 600, 3)
    outside = (paste_mask <= 0)[..., None].expand_as(erased)
    assert torch.equal(erased[outside], original.expand_as(erased)[outside])  # bit-identical outside the mask
    assert (erased != original).any(dim=-1).sum() > 1000  # and something was really repainted


def test_painted_area_erases_the_spoon_only(standin_env):
    _prompt, seen, results = run_offline("erase_painted_area")
    original, spoon = results["1"]
    erased, paste_mask, report = results["2"]
    assert spoon.shape == (1, 400, 600) and 0.01 < float(spoon.mean()) < 0.2
    assert torch.equal(seen["3"], erased) and torch.equal(seen["4"], erased) and seen["5"] == report
    assert_erased_within(original, erased, paste_mask)
    assert float(paste_mask[spoon > 0.5].min()) > 0  # the whole painted area is covered
    assert seeds(report) == [42] and standin_env.count("i2i_inpainting") == 1


@pytest.mark.parametrize("name, slot", [("erase_subject", 0), ("erase_background", 1)])
def test_subject_workflows_erase_the_chosen_side(standin_env, name, slot):
    _, seen, results = run_offline(name)
    original = results["1"][0]
    subject, background, _ = results["2"]
    assert subject.shape == (1, 400, 600) and 0.02 < float(subject.mean()) < 0.9
    assert torch.equal(subject + background, torch.ones_like(subject))  # exact inverses
    assert torch.equal(seen["3"], results["2"][slot])  # the preview shows what gets erased
    erased, paste_mask, _ = results["4"]
    assert torch.equal(seen["5"], erased)
    assert_erased_within(original, erased, paste_mask)
    chosen = results["2"][slot] > 0.5
    assert float(paste_mask[chosen].min()) > 0 and float(paste_mask[~chosen].mean()) < 0.5
    assert standin_env.count("saliency_seg") == 1 and standin_env.count("i2i_inpainting") == 1


def test_four_variants_are_distinct_and_tiled(standin_env):
    _, seen, results = run_offline("erase_four_variants")
    original = results["1"][0]
    variants, paste_masks, report = results["2"]
    assert variants.shape == (4, 400, 600, 3) and torch.equal(seen["3"], variants)
    for k in range(4):
        assert_erased_within(original, variants[k:k + 1], paste_masks[k:k + 1])
        for j in range(k):
            assert not torch.equal(variants[k], variants[j]), (j, k)
    grid = seen["11"]
    assert grid.shape == (1, 808, 1208, 3)
    assert torch.equal(grid[0, 408:, 608:], variants[3]) and torch.equal(grid[0, :400, :600], variants[0])
    assert seeds(report) == [42, 43, 44, 45] and standin_env.count("i2i_inpainting") == 4


TABLE = (222, 206, 180)


def colour_mask(image: torch.Tensor, rgb: tuple[int, int, int], exact: bool = True) -> np.ndarray:
    """Where the picture has this colour (the drawn objects of desk.png are flat); not exact: nearer to it than to
    the table, so the anti-aliased outline counts too."""
    pixels = image[0].numpy() * 255
    near = np.linalg.norm(pixels - np.array(rgb), axis=-1)
    return near < 2 if exact else near < np.linalg.norm(pixels - np.array(TABLE), axis=-1)


def test_scribble_erases_the_whole_mug_it_touches(standin_env):
    _, seen, results = run_offline("erase_by_scribble")
    original, stroke = results["1"]
    selected, entities, report = results["2"]
    mug = colour_mask(original, (196, 52, 48))
    hit = selected[0].numpy() > 0.5
    scribble = stroke[0].numpy() > 0.5
    assert (scribble & mug).sum() < 0.3 * mug.sum()  # the stroke covers a small part of the mug ...
    outline = colour_mask(original, (196, 52, 48), exact=False)
    assert hit[mug].all() and not (hit & ~grow(outline, 2)).any()  # ... and the mask is all of it, nothing else
    item = json.loads(report)[0]
    assert torch.equal(seen["3"], selected) and len(item["selected"]) == 1
    assert entities.shape[0] == item["entities"] >= 5
    erased, paste_mask, _ = results["4"]
    assert torch.equal(seen["5"], erased)
    assert_erased_within(original, erased, paste_mask)
    assert float(paste_mask[0][torch.from_numpy(mug)].min()) > 0
    assert standin_env.count("entity_seg") == 1 and standin_env.count("i2i_inpainting") == 1


def test_clutter_erases_all_but_the_largest_object(standin_env):
    _, seen, results = run_offline("erase_clutter")
    original = results["1"][0]
    selected, entities, report = results["2"]
    laptop = colour_mask(original, (70, 76, 86)) | colour_mask(original, (52, 57, 66))
    item = json.loads(report)[0]
    assert item["selected"] == list(range(2, item["entities"] + 1)) and item["entities"] >= 5
    assert torch.equal(selected[0], torch.clamp(entities[1:].sum(dim=0), 0, 1))  # every entity but the first
    assert (entities[0].numpy() > 0.5)[laptop].mean() > 0.99  # the first, largest one is the laptop
    hit = selected[0].numpy() > 0.5
    for colour in [(196, 52, 48), (60, 140, 210), (250, 212, 60), (40, 150, 110), (240, 170, 40)]:
        assert hit[colour_mask(original, colour)].all(), colour
    erased, paste_mask, _ = results["4"]
    assert torch.equal(seen["3"], selected) and torch.equal(seen["5"], erased)
    assert_erased_within(original, erased, paste_mask)
    inner = torch.from_numpy(grow(laptop, -40))  # the kept laptop, away from the seams of its neighbours
    assert torch.equal(erased[0][inner], original[0][inner])
