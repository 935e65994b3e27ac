"""Bad inputs through the nodes, as ComfyUI or a headless API client would pass them: each one is an InputError
whose text names the input and whose hint says what to do, raised before any request is sent. Nothing may crash
with an unrelated TypeError / ValueError / IndexError / KeyError from deep inside."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from volc_pack.utils.api.client import LogoInfo
from volc_pack.utils.api.errors import InputError

from helpers.node_inputs import (INF, LOGO, NAN, assert_input_error, box, erase, expect_input_error, inpaint_requests,
                                 photo, segment)

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
    (request,) = inpaint_requests(standin_env)
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
