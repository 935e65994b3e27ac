"""Bad and odd inputs through the nodes, as ComfyUI or a headless API client would pass them.

Every case ends in one of two ways:
- a documented fix-up (sizes, dtypes, ranks, NaN, channels handled as the README says), checked on the output, often
  by comparing with the same run on the clean equivalent input (the stand-in's fill is deterministic per seed);
- an InputError whose text names the input and whose hint says what to do, raised before any request is sent.
Nothing may crash with an unrelated TypeError / ValueError / IndexError / KeyError from deep inside.
"""
from __future__ import annotations

import asyncio
import json
import math
import re

import numpy as np
import pytest
import torch
import volc_pack
from volc_pack.utils.api.client import LogoInfo
from volc_pack.utils.api.errors import InputError

ERASE = volc_pack.NODE_CLASS_MAPPINGS["VolcengineInpaintErase"]
SUBJECT = volc_pack.NODE_CLASS_MAPPINGS["VolcengineSubjectMask"]
LOGO = volc_pack.NODE_CLASS_MAPPINGS["VolcengineLogoInfo"]
DEFAULTS = {name: spec[1]["default"] for name, spec in ERASE.INPUT_TYPES()["required"].items()
            if len(spec) > 1 and "default" in spec[1]}
NAN, INF = float("nan"), float("inf")


# --- inputs ------------------------------------------------------------------------------------------------------

def photo(height: int = 64, width: int = 64, batch: int = 1, channels: int = 3, seed: int = 0) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    base = np.stack([xx / max(width, 1), yy / max(height, 1), 0.5 + 0.3 * np.sin(xx / 5.0)], -1)
    rgb = np.clip(base[None] + rng.normal(0, 0.04, (batch, height, width, 3)), 0, 1).astype(np.float32)
    if channels == 1:
        return torch.from_numpy(rgb.mean(-1, keepdims=True))
    extra = [rng.random((batch, height, width, 1), dtype=np.float32) for _ in range(max(0, channels - 3))]
    return torch.from_numpy(np.concatenate([rgb[..., :channels], *extra], -1))


def box(height: int = 64, width: int = 64, y0: int = 20, y1: int = 40, x0: int = 20, x1: int = 40,
        batch: int = 1, value: float = 1.0, background: float = 0.0) -> torch.Tensor:
    mask = torch.full((batch, height, width), background)
    mask[:, y0:y1, x0:x1] = value
    return mask


def erase(image, mask, **overrides):
    return asyncio.run(ERASE().erase(image, mask, **{**DEFAULTS, **overrides}))


def segment(image, **overrides):
    return asyncio.run(SUBJECT().segment(image, **{"refine_mask": "none", "grow": 0, "timeout": 30.0, **overrides}))


def assert_input_error(exc: BaseException, names: str) -> None:
    """An InputError (not any ValueError) whose message names the input and whose hint says what to do."""
    assert type(exc) is InputError, f"{type(exc).__name__}: {exc}"
    assert re.search(names, exc.message), f"{names!r} not named in {exc.message!r}"
    assert exc.hint and len(exc.hint.split()) >= 3, f"no usable hint in {exc!r}"
    assert exc.hint in str(exc) and "\n" not in str(exc)


def expect_input_error(call, names: str, standin) -> InputError:
    with pytest.raises(Exception) as info:
        call()
    assert_input_error(info.value, names)
    assert standin.count() == 0, "no request may be sent for invalid input"
    return info.value


def requests(standin):
    return [r for r in standin.requests if r.req_key == "i2i_inpainting"]


# --- invalid tensors: clear errors naming the input, before any request --------------------------------------------

INVALID_TENSORS = {
    # id: (image, mask, words the message must contain)
    "mask-aspect-mismatch": (photo(100, 200), box(100, 100), r"mask.*100x100.*image.*200x100.*aspect"),
    "mask-batch-larger-than-image-batch": (photo(), box(batch=2), r"mask batch has 2.*image batch has 1"),
    "mask-batch-3-for-image-batch-2": (photo(batch=2), box(batch=3), r"mask batch has 3.*image batch has 2"),
    "loadimage-64px-placeholder-same-aspect": (photo(256, 256), torch.zeros((1, 64, 64)),
                                               r"mask.*64x64 placeholder.*image is 256x256"),
    "mask-5d": (photo(), torch.zeros((1, 1, 1, 64, 64)), r"^mask has shape \(1, 1, 1, 64, 64\)"),
    "mask-4d-channel-dim": (photo(), torch.zeros((1, 1, 64, 64)), r"^mask has shape \(1, 1, 64, 64\)"),
    "mask-1d": (photo(), torch.ones(64), r"^mask has shape \(64,\)"),
    "mask-0d-scalar": (photo(), torch.tensor(1.0), r"^mask has shape \(\)"),
    "mask-empty-batch": (photo(), torch.zeros((0, 64, 64)), r"^mask has shape \(0, 64, 64\)"),
    "mask-numpy-array": (photo(), np.ones((1, 64, 64), np.float32), r"^mask is a ndarray, not a tensor"),
    "mask-none": (photo(), None, r"^mask is a NoneType"),
    "image-2-channels": (photo(channels=2), box(), r"^image has shape \(1, 64, 64, 2\)"),
    "image-5-channels": (photo(channels=5), box(), r"^image has shape \(1, 64, 64, 5\)"),
    "image-3d-no-batch": (photo()[0], box(), r"^image has shape \(64, 64, 3\)"),
    "image-5d": (photo()[None], box(), r"^image has shape \(1, 1, 64, 64, 3\)"),
    "image-channels-first": (photo().permute(0, 3, 1, 2), box(), r"^image has shape \(1, 3, 64, 64\)"),
    "image-empty-batch": (torch.zeros((0, 64, 64, 3)), box(), r"^image has shape \(0, 64, 64, 3\)"),
    "image-zero-width": (torch.zeros((1, 64, 0, 3)), box(64, 0), r"^image has shape \(1, 64, 0, 3\)"),
    "image-numpy-array": (photo().numpy(), box(), r"^image is a ndarray, not a tensor"),
}


@pytest.mark.parametrize("case", sorted(INVALID_TENSORS))
def test_invalid_tensor_is_an_input_error_naming_it(standin_env, case):
    image, mask, names = INVALID_TENSORS[case]
    expect_input_error(lambda: erase(image, mask), names, standin_env)


@pytest.mark.parametrize("masks,names", [
    pytest.param(torch.full((1, 64, 64), NAN), r"mask for image 1 of 1 is empty", id="all-nan-mask"),
    pytest.param(torch.cat([box(), torch.zeros((1, 64, 64))]), r"mask for image 2 of 2 is empty",
                 id="second-of-two-empty"),
    pytest.param(torch.full((1, 64, 64), 0.49), r"mask for image 1 of 1 is empty", id="soft-mask-below-half"),
])
def test_empty_mask_with_on_empty_mask_error_stops_before_any_request(standin_env, masks, names):
    error = expect_input_error(lambda: erase(photo(batch=masks.shape[0]), masks, on_empty_mask="error"), names,
                               standin_env)
    assert "on_empty_mask" in error.hint


# --- widget values from headless clients (no UI clamping) --------------------------------------------------------

INVALID_WIDGETS = {
    # id: (widget, value sent by the client)
    "steps-as-string": ("steps", "30"),
    "strength-as-string": ("strength", "0.5"),
    "context-as-string": ("context", "2"),
    "mask_grow-as-string": ("mask_grow", "5"),
    "variants-as-bool": ("variants", True),
    "seed-as-bool": ("seed", False),
    "variants-negative": ("variants", -1),
    "variants-zero": ("variants", 0),
    "variants-five": ("variants", 5),
    "quality-lowercase": ("quality", "h"),
    "quality-none": ("quality", None),
    "quality-number": ("quality", 2),
    "strength-nan": ("strength", NAN),
    "scale-inf": ("scale", INF),
    "context-nan": ("context", NAN),
    "context-below-one": ("context", 0.5),
    "feather-nan": ("feather", NAN),
    "feather-negative": ("feather", -3),
    "seed-above-int32": ("seed", 2**31),
    "seed-below-minus-one": ("seed", -2),
    "dilate_size-above-100": ("dilate_size", 101),
    "mask_grow-below-minus-512": ("mask_grow", -513),
    "timeout-as-string": ("timeout", "60"),
    "timeout-as-bool": ("timeout", True),
    "timeout-nan": ("timeout", NAN),
    "timeout-zero": ("timeout", 0),
    "timeout-above-600": ("timeout", 601),
    "on_item_error-unknown": ("on_item_error", "skip"),
    "on_ghost_face-none": ("on_ghost_face", None),
    "on_empty_mask-unknown": ("on_empty_mask", "ignore"),
    "logo_info-dict": ("logo_info", {"add_logo": True, "position": 0}),
    "logo_info-string": ("logo_info", "bottom-right"),
    "logo_info-tuple-from-the-logo-node": ("logo_info", (LogoInfo(True),)),
}


@pytest.mark.parametrize("case", sorted(INVALID_WIDGETS))
def test_invalid_widget_value_is_an_input_error_naming_the_widget(standin_env, case):
    widget, value = INVALID_WIDGETS[case]
    expect_input_error(lambda: erase(photo(), box(), **{widget: value}), rf"^{widget}\b", standin_env)


FIXED_WIDGETS = {
    "ghost_face_retries-negative": ("ghost_face_retries", -1, (
        "regression: the error names 'ghost_retries' (EraseSettings field), not the widget 'ghost_face_retries'")),
    "ghost_face_retries-fractional": ("ghost_face_retries", 1.5, (
        "regression: TypeError from range() in _call_variant (floats pass validate)")),
    "variants-fractional": ("variants", 2.5, "regression: TypeError from np.empty in _BatchRun (floats pass validate)"),
    "steps-fractional": ("steps", 12.5, (
        "regression: a fractional steps passes validate and is sent; the service answers 50200 (InputRejectedError)")),
    "seed-fractional": ("seed", 3.5, "regression: a fractional seed is sent; the service answers 50200"),
    "dilate_size-fractional": ("dilate_size", 7.5,
                               "regression: a fractional dilate_size is sent; the service answers 50200"),
    "on_item_error-list": ("on_item_error", ["error"], "regression: TypeError unhashable list in the FALLBACKS lookup"),
}


@pytest.mark.parametrize("case", sorted(FIXED_WIDGETS))
def test_invalid_widget_value_once_buggy(standin_env, case):
    widget, value, _ = FIXED_WIDGETS[case]
    expect_input_error(lambda: erase(photo(), box(), **{widget: value}), rf"^{widget}\b", standin_env)


def test_integer_widgets_given_as_whole_floats_and_floats_as_ints_are_accepted(standin_env):
    """JSON clients often send 1 for 1.0 (or 7.0 for 7): a number in range is used as is."""
    images, _, report = erase(photo(), box(), strength=1, scale=7, context=2)
    (request,) = requests(standin_env)
    assert request.params["strength"] == 1 and request.params["scale"] == 7
    assert images.shape == (1, 64, 64, 3) and json.loads(report)[0]["status"] == "ok"


# --- the subject-mask and logo nodes -----------------------------------------------------------------------------

@pytest.mark.parametrize("options,names", [
    pytest.param({"refine_mask": "super"}, r"^refine_mask\b", id="refine_mask-unknown"),
    pytest.param({"grow": 513}, r"^grow\b", id="grow-above-512"),
    pytest.param({"timeout": 1.0}, r"^timeout\b", id="timeout-below-min"),
    pytest.param({"timeout": "30"}, r"^timeout\b", id="timeout-as-string"),
    pytest.param({"image": photo(channels=2)}, r"^image has shape", id="image-2-channels"),
    pytest.param({"image": photo()[0]}, r"^image has shape", id="image-3d"),
    pytest.param({"image": photo().numpy()}, r"^image is a ndarray", id="image-numpy"),
])
def test_subject_mask_invalid_input_is_named(standin_env, options, names):
    image = options.pop("image", photo(128, 128))
    expect_input_error(lambda: segment(image, **options), names, standin_env)


@pytest.mark.parametrize("options,names", [
    pytest.param({"grow": "abc"}, r"^grow\b", id="grow-not-a-number"),
    pytest.param({"grow": NAN}, r"^grow\b", id="grow-nan"),
    pytest.param({"refine_mask": ["none"]}, r"^refine_mask\b", id="refine_mask-list"),
])
def test_subject_mask_invalid_input_once_buggy(standin_env, options, names):
    expect_input_error(lambda: segment(photo(128, 128), **options), names, standin_env)


LOGO_OK = {"add_logo": True, "position": "top-left", "language": "English", "opacity": 0.5,
           "logo_text_content": "AI"}


@pytest.mark.parametrize("options,names", [
    pytest.param({"position": "center"}, r"^position\b", id="position-unknown"),
    pytest.param({"language": "French"}, r"^language\b", id="language-unknown"),
    pytest.param({"opacity": NAN}, r"^opacity\b", id="opacity-nan"),
    pytest.param({"opacity": 1.5}, r"^opacity\b", id="opacity-above-1"),
    pytest.param({"opacity": "abc"}, r"^opacity\b", id="opacity-not-a-number"),
    pytest.param({"opacity": None}, r"^opacity\b", id="opacity-none"),
])
def test_logo_info_invalid_input_is_named(options, names):
    with pytest.raises(Exception) as info:
        LOGO().build(**{**LOGO_OK, **options})
    assert_input_error(info.value, names)


def test_logo_text_none_is_no_custom_text_or_an_error():
    try:
        (logo,) = LOGO().build(**{**LOGO_OK, "logo_text_content": None})
    except InputError as exc:
        assert_input_error(exc, r"^logo_text_content\b")
    else:
        assert logo.logo_text_content == "" and "logo_text_content" not in logo.to_json()


# --- documented fix-ups: equivalent inputs give the identical result ---------------------------------------------

def _strided_mask() -> torch.Tensor:
    wide = torch.zeros((1, 64, 128))
    wide[:, 20:40, 40:80] = 1.0
    return wide[:, :, ::2]  # non-contiguous view of the reference box


def _nan_outside() -> torch.Tensor:
    return box(background=NAN)


EQUIVALENT = {
    # id: (image, mask, reference image, reference mask) - the reference is the clean float32 [B,H,W,3] / [B,H,W]
    "mask-0-255-scale": (photo(), box(value=255.0), photo(), box()),
    "mask-below-zero-outside": (photo(), box(background=-3.0), photo(), box()),
    "mask-inf-inside-minus-inf-outside": (photo(), box(value=INF, background=-INF), photo(), box()),
    "mask-nan-outside-the-box": (photo(), _nan_outside(), photo(), box()),
    "mask-soft-above-half": (photo(), box(value=0.6, background=0.4), photo(), box()),
    "mask-2d-hw": (photo(), box()[0], photo(), box()),
    "mask-bool": (photo(), box().bool(), photo(), box()),
    "mask-uint8-0-1": (photo(), box().to(torch.uint8), photo(), box()),
    "mask-non-contiguous": (photo(), _strided_mask(), photo(), box()),
    "mask-float64": (photo(), box().double(), photo(), box()),
    "image-float64": (photo().double(), box(), photo(), box()),
    "image-float16": (photo().half(), box(), photo().half().float(), box()),
    "image-bfloat16": (photo().bfloat16(), box(), photo().bfloat16().float(), box()),
    "image-non-contiguous": (photo(64, 128)[:, :, ::2], box(), photo(64, 128)[:, :, ::2].contiguous(), box()),
    "image-rgba": (photo(channels=4), box(), photo(channels=4)[..., :3].contiguous(), box()),
    "image-greyscale-1-channel": (photo(channels=1), box(), photo(channels=1).expand(-1, -1, -1, 3).contiguous(),
                                  box()),
    "image-out-of-range-values": (photo() * 3 - 1, box(), (photo() * 3 - 1).clamp(0, 1), box()),
}


@pytest.mark.parametrize("case", sorted(EQUIVALENT))
def test_odd_input_gives_the_same_result_as_its_clean_equivalent(standin_env, case):
    image, mask, ref_image, ref_mask = EQUIVALENT[case]
    images, paste_mask, report = erase(image, mask, seed=11)
    expected_images, expected_mask, expected_report = erase(ref_image, ref_mask, seed=11)
    assert images.dtype == torch.float32 and images.shape == expected_images.shape
    assert torch.equal(images, expected_images)
    assert torch.equal(paste_mask, expected_mask)
    assert json.loads(report)[0]["region"] == json.loads(expected_report)[0]["region"]
    first, second = requests(standin_env)
    assert first.images == second.images  # the very same picture and mask went over the wire


def test_nan_and_inf_pixels_are_sanitised_outside_the_mask(standin_env):
    image = photo(64, 64)
    image[0, 0, 0] = torch.tensor([NAN, INF, -INF])
    image[0, 63, 63] = torch.tensor([2.0, -1.0, NAN])
    images, _, _ = erase(image, box())
    assert torch.isfinite(images).all()
    assert images[0, 0, 0].tolist() == [0.0, 1.0, 0.0] and images[0, 63, 63].tolist() == [1.0, 0.0, 0.0]


def test_same_aspect_mask_of_another_size_is_resized(standin_env):
    image = photo(120, 160)
    images, paste_mask, report = erase(image, box(60, 80, 15, 30, 20, 40), feather=0, dilate_size=0)
    item = json.loads(report)[0]
    assert item["status"] == "ok" and images.shape == (1, 120, 160, 3)
    # The half-size box [15:30, 20:40] covers [30:60, 40:80] at full size (bilinear, cut at 0.5).
    assert paste_mask[0, 31:59, 41:79].min() == 1 and paste_mask[0].sum() <= 32 * 42
    assert paste_mask[0, :25].max() == 0 and paste_mask[0, :, :35].max() == 0
    (request,) = requests(standin_env)
    picture, sent_mask = request.images
    assert (sent_mask.width, sent_mask.height) == (picture.width, picture.height)


def test_mask_aspect_within_one_percent_is_accepted(standin_env):
    images, _, report = erase(photo(100, 200), box(100, 199, 40, 60, 80, 120))
    assert images.shape == (1, 100, 200, 3) and json.loads(report)[0]["status"] == "ok"
    assert len(requests(standin_env)) == 1


def test_loadimage_placeholder_on_a_64px_image_is_a_real_empty_mask(standin_env):
    image = photo(64, 64)
    images, paste_mask, report = erase(image, torch.zeros((1, 64, 64)))
    assert json.loads(report)[0]["status"] == "skipped" and torch.equal(images[0], image[0])
    assert paste_mask.max() == 0 and standin_env.count() == 0


@pytest.mark.parametrize("mask", [pytest.param(torch.full((1, 64, 64), NAN), id="all-nan"),
                                  pytest.param(torch.full((1, 64, 64), -1.0), id="all-negative"),
                                  pytest.param(torch.full((1, 64, 64), 0.49), id="all-just-below-half")])
def test_mask_with_nothing_to_erase_returns_the_original_without_a_call(standin_env, mask):
    image = photo()
    images, paste_mask, report = erase(image, mask, variants=2)
    assert torch.equal(images[0], image[0]) and torch.equal(images[1], image[0]) and paste_mask.max() == 0
    assert json.loads(report)[0]["status"] == "skipped" and standin_env.count() == 0


def test_empty_mask_in_a_batch_skips_only_that_image(standin_env):
    image = photo(batch=2)
    images, paste_mask, report = erase(image, torch.cat([box(), torch.zeros((1, 64, 64))]))
    items = json.loads(report)
    assert [i["status"] for i in items] == ["ok", "skipped"]
    assert torch.equal(images[1], image[1]) and paste_mask[1].max() == 0 and paste_mask[0].max() == 1
    assert len(requests(standin_env)) == 1


def test_full_mask_replaces_the_whole_image(standin_env):
    image = photo(100, 120)
    images, paste_mask, report = erase(image, torch.ones((1, 100, 120)))
    item = json.loads(report)[0]
    assert item["region"] == [0, 0, 120, 100] and item["sent_size"] == [120, 100]
    assert paste_mask.min() == 1 and (images - image).abs().mean() > 0.02
    assert len(requests(standin_env)) == 1


def test_one_pixel_mask_is_sent_with_context(standin_env):
    image = photo(512, 512)
    mask = torch.zeros((1, 512, 512))
    mask[0, 100, 200] = 1.0
    images, paste_mask, report = erase(image, mask)
    x0, y0, x1, y1 = json.loads(report)[0]["region"]
    assert x0 <= 200 < x1 and y0 <= 100 < y1 and min(x1 - x0, y1 - y0) >= 64
    assert paste_mask[0, 100, 200] == 1
    outside = paste_mask[0] == 0
    assert torch.equal(images[0][outside], image[0][outside]) and outside.float().mean() > 0.95
    (request,) = requests(standin_env)
    assert min(request.images[0].width, request.images[0].height) >= 64


@pytest.mark.parametrize("height,width", [pytest.param(1, 1, id="1x1"), pytest.param(16, 16, id="16x16"),
                                          pytest.param(1, 300, id="1x300-line")])
def test_tiny_images_are_scaled_up_to_the_api_minimum_and_back(standin_env, height, width):
    image = photo(height, width)
    images, paste_mask, report = erase(image, torch.ones((1, height, width)))
    assert images.shape == (1, height, width, 3) and torch.isfinite(images).all()
    assert paste_mask.shape == (1, height, width) and paste_mask.min() == 1
    (request,) = requests(standin_env)
    picture, sent_mask = request.images
    assert min(picture.width, picture.height) >= 64 and (sent_mask.width, sent_mask.height) == \
        (picture.width, picture.height)
    assert json.loads(report)[0]["status"] == "ok"


def test_10000x300_strip_with_a_full_width_mask_fits_the_api(standin_env):
    image = photo(300, 10000)
    mask = torch.zeros((1, 300, 10000))
    mask[0, 140:160, 100:9900] = 1.0
    images, paste_mask, report = erase(image, mask, dilate_size=5, feather=4)
    assert images.shape == (1, 300, 10000, 3)
    outside = paste_mask[0] == 0
    assert torch.equal(images[0][outside], image[0][outside])
    (request,) = requests(standin_env)
    picture, sent_mask = request.images
    assert max(picture.width, picture.height) <= 4096 and min(picture.width, picture.height) >= 64
    assert 4 * -(-picture.byte_size // 3) <= 5_000_000 and sent_mask.width == picture.width
    assert json.loads(report)[0]["sent_size"] == [picture.width, picture.height]


def test_rgba_batch_with_variants_gives_rgb_outputs_in_order(standin_env):
    image = photo(64, 64, batch=2, channels=4)
    image[..., 3] = 0.0  # fully transparent: alpha is ignored for the picture
    images, paste_mask, report = erase(image, box(), variants=2, seed=3)
    assert images.shape == (4, 64, 64, 3) and paste_mask.shape == (4, 64, 64)
    for slot in range(4):
        outside = paste_mask[slot] == 0
        assert torch.equal(images[slot][outside], image[slot // 2][..., :3][outside])
    assert [v["seed"] for item in json.loads(report) for v in item["variants"]] == [3, 4, 3, 4]


def test_uint8_image_tensor_is_scaled_or_named(standin_env):
    image = (photo() * 255).round().to(torch.uint8)
    try:
        images, paste_mask, _ = erase(image, box())
    except InputError as exc:
        assert_input_error(exc, r"^image\b")
        assert standin_env.count() == 0
    else:
        outside = paste_mask[0] == 0
        assert torch.allclose(images[0][outside], image[0].float()[outside] / 255)


# --- subject mask: odd images are fitted and the masks come back at the input size -------------------------------

@pytest.mark.parametrize("image", [
    pytest.param(photo(1, 1), id="1x1"),
    pytest.param(photo(16, 16, channels=4), id="16x16-rgba"),
    pytest.param(photo(90, 120, channels=1), id="greyscale"),
    pytest.param(photo(90, 120).half(), id="float16"),
    pytest.param(photo(90, 120).bfloat16(), id="bfloat16"),
    pytest.param(photo(90, 240)[:, :, ::2], id="non-contiguous"),
    pytest.param(torch.where(photo(90, 120) > 0.9, torch.tensor(NAN), photo(90, 120)), id="nan-pixels"),
    pytest.param(photo(300, 10000), id="10000x300"),
])
def test_subject_mask_fits_odd_images_and_returns_input_sized_masks(standin_env, image):
    subject, background, report = segment(image)
    height, width = image.shape[1:3]
    assert subject.shape == background.shape == (1, height, width) and subject.dtype == torch.float32
    assert torch.isfinite(subject).all() and torch.equal(background, 1.0 - subject)
    assert 0 <= subject.min() and subject.max() <= 1
    (request,) = standin_env.requests
    sent = request.images[0]
    assert 128 <= min(sent.width, sent.height) and max(sent.width, sent.height) <= 4096
    assert json.loads(report)[0]["size"] == [width, height] and not math.isnan(json.loads(report)[0][
        "subject_fraction"])
