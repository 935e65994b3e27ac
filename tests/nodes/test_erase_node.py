"""The eraser node as ComfyUI sees it: mappings, schema, and full runs against the stand-in over real HTTP."""
from __future__ import annotations

import asyncio
import json
import sys
import threading
import types

import numpy as np
import pytest
import torch

import volc_pack
from volc_pack.utils.api.errors import ContentReviewError, GhostFaceError, InputError
from volc_pack.utils.standin import Fault

NODE = volc_pack.NODE_CLASS_MAPPINGS["VolcengineInpaintErase"]
DEFAULTS = {name: spec[1]["default"] for name, spec in NODE.INPUT_TYPES()["required"].items()
            if len(spec) > 1 and "default" in spec[1]}


def photo(height: int, width: int, batch: int = 1, channels: int = 3, seed: int = 0) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    base = np.stack([xx / max(width, 1), yy / max(height, 1), 0.5 + 0.3 * np.sin(xx / 7.0)], -1)
    images = np.clip(base[None] + rng.normal(0, 0.03, (batch, height, width, 3)), 0, 1).astype(np.float32)
    if channels == 1:
        images = images.mean(-1, keepdims=True)
    elif channels == 4:
        images = np.concatenate([images, np.ones_like(images[..., :1])], -1)
    return torch.from_numpy(images)


def box_mask(height: int, width: int, y0: int, y1: int, x0: int, x1: int, batch: int = 1) -> torch.Tensor:
    mask = torch.zeros((batch, height, width))
    mask[:, y0:y1, x0:x1] = 1.0
    return mask


def run(image, mask, **overrides):
    kwargs = {**DEFAULTS, **overrides}
    return asyncio.run(NODE().erase(image, mask, **kwargs))


def inpaint_requests(standin):
    return [r for r in standin.requests if r.req_key == "i2i_inpainting"]


# --- schema -------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(volc_pack.NODE_CLASS_MAPPINGS))
def test_every_node_is_documented_and_every_widget_is_sane(name):
    cls = volc_pack.NODE_CLASS_MAPPINGS[name]
    assert name in volc_pack.NODE_DISPLAY_NAME_MAPPINGS and cls.DESCRIPTION and cls.CATEGORY.startswith("Volcengine")
    assert len(cls.OUTPUT_TOOLTIPS) == len(cls.RETURN_TYPES) == len(getattr(cls, "RETURN_NAMES", cls.RETURN_TYPES))
    assert callable(getattr(cls, cls.FUNCTION))
    spec = cls.INPUT_TYPES()
    for section in ("required", "optional"):
        for input_name, (kind, *rest) in spec.get(section, {}).items():
            options = rest[0] if rest else {}
            assert options.get("tooltip"), f"{name}.{input_name} has no tooltip"
            if kind in ("INT", "FLOAT"):
                assert options["min"] <= options["default"] <= options["max"], input_name
            elif isinstance(kind, list):
                assert options["default"] in kind, input_name
    for secretish in ("key", "secret", "token", "password", "credential"):
        assert not any(secretish in n.lower() for s in spec.values() for n in s), "no credential input, ever"


def test_eraser_widgets_mirror_the_api_defaults_and_ranges():
    required = NODE.INPUT_TYPES()["required"]
    assert DEFAULTS["steps"] == 30 and DEFAULTS["strength"] == 0.8 and DEFAULTS["scale"] == 7.0
    assert DEFAULTS["seed"] == 0 and DEFAULTS["dilate_size"] == 15 and DEFAULTS["quality"] == "M"
    assert DEFAULTS["return_url"] is False and DEFAULTS["variants"] == 1
    assert (required["strength"][1]["min"], required["strength"][1]["max"]) == (0.1, 1.0)
    assert (required["scale"][1]["min"], required["scale"][1]["max"]) == (1.0, 20.0)
    assert required["seed"][1]["min"] == -1 and required["seed"][1]["control_after_generate"]
    assert required["quality"][0] == ["H", "M", "L"] and (1, 4) == (required["variants"][1]["min"],
                                                                   required["variants"][1]["max"])
    assert NODE.INPUT_TYPES()["optional"]["logo_info"][0] == "VOLC_LOGO_INFO"


def test_random_seed_forces_a_rerun_and_fixed_seed_does_not():
    changed = NODE.IS_CHANGED(seed=-1)
    assert changed != changed  # NaN
    assert NODE.IS_CHANGED(seed=5) == NODE.IS_CHANGED(seed=5)


# --- runs against the stand-in ---------------------------------------------------------------------------------

def test_erases_inside_the_mask_and_keeps_every_other_pixel_bit_exact(standin_env):
    image = photo(300, 400)
    images, paste_mask, report = run(image, box_mask(300, 400, 100, 160, 150, 230), feather=6)
    assert images.shape == (1, 300, 400, 3) and images.dtype == torch.float32
    outside = paste_mask[0] == 0
    assert torch.equal(images[0][outside], image[0][outside])
    inside = box_mask(300, 400, 100, 160, 150, 230)[0].bool()
    assert (images[0][inside] - image[0][inside]).abs().mean() > 0.02
    assert paste_mask[0][inside].min() == 1.0  # the whole mask (and the service's dilation) is taken
    item = json.loads(report)[0]
    assert item["status"] == "ok" and item["variants"][0]["request_ids"][0]


def test_variants_have_distinct_seeds_and_distinct_results(standin_env):
    images, _, report = run(photo(128, 128), box_mask(128, 128, 40, 80, 40, 80), variants=4, seed=10)
    seeds = sorted(r.params["seed"] for r in inpaint_requests(standin_env))
    assert seeds == [10, 11, 12, 13] and images.shape[0] == 4
    assert all(not torch.equal(images[0], images[k]) for k in range(1, 4))
    assert [v["seed"] for v in json.loads(report)[0]["variants"]] == [10, 11, 12, 13]


def test_every_option_reaches_the_api(standin_env):
    from volc_pack.nodes.logo_node import VolcengineLogoInfo

    (logo,) = VolcengineLogoInfo().build(True, "top-left", "English", 0.6, "AI")
    run(photo(100, 100), box_mask(100, 100, 30, 60, 30, 60), steps=20, strength=0.5, scale=9.5, dilate_size=5,
        quality="H", return_url=True, logo_info=logo, seed=77)
    (request,) = inpaint_requests(standin_env)
    assert {k: request.params[k] for k in ("steps", "strength", "scale", "dilate_size", "quality", "return_url",
                                           "seed")} == {"steps": 20, "strength": 0.5, "scale": 9.5,
                                                        "dilate_size": 5, "quality": "H", "return_url": True,
                                                        "seed": 77}
    assert request.params["logo_info"] == {"add_logo": True, "position": 2, "language": 1, "opacity": 0.6,
                                           "logo_text_content": "AI"}


def test_one_mask_is_broadcast_over_a_batch_and_equal_batches_pair_up(standin_env):
    images, _, _ = run(photo(96, 96, batch=2), box_mask(96, 96, 20, 40, 20, 40))
    assert images.shape[0] == 2 and len(inpaint_requests(standin_env)) == 2
    standin_env.clear()
    masks = torch.cat([box_mask(400, 400, 10, 30, 10, 30), box_mask(400, 400, 300, 340, 300, 340)])
    _, paste_mask, report = run(photo(400, 400, batch=2), masks)
    regions = [item["region"] for item in json.loads(report)]
    assert regions[0] != regions[1] and paste_mask[0][20, 20] == 1 and paste_mask[1][20, 20] == 0
    assert paste_mask[1][320, 320] == 1 and paste_mask[0][320, 320] == 0


def test_batch_mismatch_is_an_error_naming_both_sizes(standin_env):
    with pytest.raises(InputError, match="3.*2|2.*3"):
        run(photo(64, 64, batch=3), box_mask(64, 64, 10, 20, 10, 20, batch=2))
    assert not standin_env.requests


def test_empty_mask_returns_the_original_without_calling_the_api(standin_env):
    image = photo(80, 90)
    images, _, report = run(image, torch.zeros((1, 80, 90)), variants=2)
    assert torch.equal(images[0], image[0]) and torch.equal(images[1], image[0])
    assert json.loads(report)[0]["status"] == "skipped" and not standin_env.requests
    with pytest.raises(InputError, match="empty"):
        run(image, torch.zeros((1, 80, 90)), on_empty_mask="error")


def test_loadimage_empty_64px_mask_is_recognised_and_explained(standin_env):
    with pytest.raises(InputError, match="(?i)alpha|mask editor"):
        run(photo(200, 300), torch.zeros((1, 64, 64)))
    assert not standin_env.requests


def test_ghost_face_is_retried_with_new_seeds_then_succeeds(standin_env):
    standin_env.inject(Fault("ghost_face", times=2))
    _, _, report = run(photo(96, 96), box_mask(96, 96, 30, 60, 30, 60), seed=5, ghost_face_retries=2)
    seeds = [r.params["seed"] for r in inpaint_requests(standin_env)]
    assert len(seeds) == 3 and len(set(seeds)) == 3 and seeds[0] == 5
    variant = json.loads(report)[0]["variants"][0]
    assert variant["status"] == "ok" and variant["seeds"] == seeds


def test_ghost_face_after_all_retries_errors_or_returns_the_original(standin_env):
    image, mask = photo(96, 96), box_mask(96, 96, 30, 60, 30, 60)
    standin_env.inject(Fault("ghost_face", times=10))
    with pytest.raises(GhostFaceError):
        run(image, mask, ghost_face_retries=1)
    assert len(inpaint_requests(standin_env)) == 2
    standin_env.clear()
    standin_env.inject(Fault("ghost_face", times=1))  # variant 2 fails once more than allowed: 0 retries
    images, _, report = run(image, mask, variants=2, ghost_face_retries=0, on_ghost_face="return original")
    statuses = sorted(v["status"] for v in json.loads(report)[0]["variants"])
    assert statuses == ["ok", "original"]
    kept = [k for k, v in enumerate(json.loads(report)[0]["variants"]) if v["status"] == "original"][0]
    assert torch.equal(images[kept], image[0])


def test_a_failing_item_is_reported_and_the_others_kept_when_chosen(standin_env):
    standin_env.inject(Fault("error", code=50411))
    masks = torch.cat([box_mask(96, 96, 10, 30, 10, 30), box_mask(96, 96, 50, 90, 50, 90)])
    images, _, report = run(photo(96, 96, batch=2), masks, on_item_error="return original")
    items = json.loads(report)
    assert sorted(i["status"] for i in items) == ["ok", "partial"]
    failed = next(i for i in items if i["status"] == "partial")["variants"][0]
    assert failed["error_type"] == "ContentReviewError" and "50411" in failed["error"]


def test_when_every_call_fails_the_cause_is_raised_even_with_fallback(standin_env):
    standin_env.inject(Fault("error", code=50411, times=2))
    with pytest.raises(ContentReviewError):
        run(photo(64, 64, batch=2), box_mask(64, 64, 10, 30, 10, 30), on_item_error="return original")
    assert len(inpaint_requests(standin_env)) == 2


def test_cancel_in_comfyui_stops_waiting_within_a_second(standin_env, monkeypatch):
    class InterruptProcessingException(Exception):
        pass

    pressed = threading.Event()

    def throw_exception_if_processing_interrupted():
        if pressed.is_set():
            raise InterruptProcessingException()

    comfy = types.ModuleType("comfy")
    comfy.model_management = types.ModuleType("comfy.model_management")
    comfy.model_management.throw_exception_if_processing_interrupted = throw_exception_if_processing_interrupted
    monkeypatch.setitem(sys.modules, "comfy", comfy)
    monkeypatch.setitem(sys.modules, "comfy.model_management", comfy.model_management)
    standin_env.inject(Fault("latency", seconds=5, times=4))
    threading.Timer(0.3, pressed.set).start()
    import time

    started = time.monotonic()
    with pytest.raises(InterruptProcessingException):
        run(photo(64, 64), box_mask(64, 64, 10, 30, 10, 30), variants=4)
    assert time.monotonic() - started < 4  # far below the 5 s the four calls would otherwise wait


@pytest.mark.parametrize("channels", [1, 4])
def test_greyscale_and_rgba_inputs_give_rgb_outputs(standin_env, channels):
    image = photo(70, 90, channels=channels)
    images, paste_mask, _ = run(image, box_mask(70, 90, 20, 40, 20, 40))
    assert images.shape == (1, 70, 90, 3)
    expected = image[0].expand(70, 90, 3) if channels == 1 else image[0][..., :3]
    outside = paste_mask[0] == 0
    assert torch.equal(images[0][outside], expected[outside])


def test_nan_and_non_contiguous_inputs_are_sanitised(standin_env):
    image = photo(80, 160)
    image[0, 0, 0, 0] = float("nan")
    image[0, 1, 2, 1] = float("inf")
    strided = image[:, :, ::2]  # non-contiguous view, 80x80
    images, _, _ = run(strided, box_mask(80, 80, 30, 50, 30, 50))
    assert torch.isfinite(images).all() and images[0, 0, 0, 0] == 0 and images[0, 1, 1, 1] == 1


def test_out_of_range_widget_values_from_headless_clients_are_named(standin_env):
    image, mask = photo(64, 64), box_mask(64, 64, 10, 30, 10, 30)
    for name, value in [("strength", 0.0), ("scale", 25.0), ("variants", 9), ("steps", 0), ("quality", "X"),
                        ("timeout", 1.0), ("on_ghost_face", "ignore"), ("dilate_size", -1)]:
        with pytest.raises(InputError, match=name):
            run(image, mask, **{name: value})
    assert not standin_env.requests


def test_every_request_is_within_the_api_limits_whatever_the_input_size(standin_env):
    """Random sizes 16..8192 (area capped to keep the test fast), crop on and off, tiny and huge masks."""
    rng = np.random.default_rng(2026)
    sizes = [(16, 16), (8192, 64), (64, 8192), (10000, 300), (300, 10000)]
    sizes += [(int(rng.integers(16, 8193)), int(rng.integers(16, 8193))) for _ in range(40)]
    sizes = [(w, h) for w, h in sizes if w * h <= 12_000_000][:24]
    for k, (width, height) in enumerate(sizes):
        image = torch.from_numpy(rng.random((1, height, width, 3), dtype=np.float32))
        y, x = int(rng.integers(0, height)), int(rng.integers(0, width))
        mask = box_mask(height, width, y, y + max(1, height // 7), x, x + max(1, width // 9))
        images, paste_mask, _ = run(image, mask, crop_to_mask=bool(k % 2), dilate_size=int(rng.integers(0, 40)))
        assert images.shape == (1, height, width, 3)
        outside = paste_mask[0] == 0
        assert torch.equal(images[0][outside], image[0][outside])
    requests = inpaint_requests(standin_env)
    assert len(requests) == len(sizes) and all(r.http_status == 200 for r in requests)
    for r in requests:
        picture, mask = r.images
        assert 64 <= min(picture.width, picture.height) and max(picture.width, picture.height) <= 4096
        assert 4 * -(-picture.byte_size // 3) <= 5_000_000 and picture.format in ("JPEG", "PNG") and not picture.has_icc
        assert (mask.format, mask.mode, mask.has_icc) == ("PNG", "L", False)
        assert (mask.width, mask.height) == (picture.width, picture.height)


def test_progress_bar_counts_finished_calls_in_comfyui(standin_env, monkeypatch):
    updates, texts = [], []

    class ProgressBar:
        def __init__(self, total, node_id=None):
            self.node_id = node_id

        def update_absolute(self, value, total=None, preview=None):
            updates.append((value, total, self.node_id))

    class PromptServer:
        instance = types.SimpleNamespace(send_progress_text=lambda text, node_id: texts.append((text, node_id)))

    comfy = types.ModuleType("comfy")
    comfy.utils = types.SimpleNamespace(ProgressBar=ProgressBar)
    monkeypatch.setitem(sys.modules, "comfy", comfy)
    monkeypatch.setitem(sys.modules, "comfy.utils", comfy.utils)
    monkeypatch.setitem(sys.modules, "server", types.SimpleNamespace(PromptServer=PromptServer))
    masks = torch.cat([box_mask(96, 96, 10, 30, 10, 30), torch.zeros((1, 96, 96))])
    run(photo(96, 96, batch=2), masks, variants=3, unique_id="17")
    # The skipped image's 3 variants count at once; then each of the 3 calls as it finishes.
    assert sorted(updates) == [(3, 6, "17"), (4, 6, "17"), (5, 6, "17"), (6, 6, "17")]
    assert texts[-1] == ("6/6 results ready", "17")
