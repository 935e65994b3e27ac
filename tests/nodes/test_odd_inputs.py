"""Odd but usable inputs through the nodes: each documented fix-up (sizes, dtypes, ranks, NaN, channels handled as
the README says) is checked on the output, often by comparing with the same run on the clean equivalent input (the
stand-in's fill is deterministic per seed)."""
from __future__ import annotations

import json
import math

import pytest
import torch
from volc_pack.utils.api.errors import InputError

from helpers.node_inputs import INF, NAN, assert_input_error, box, erase, inpaint_requests, photo, segment

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
    first, second = inpaint_requests(standin_env)
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
    (request,) = inpaint_requests(standin_env)
    picture, sent_mask = request.images
    assert (sent_mask.width, sent_mask.height) == (picture.width, picture.height)


def test_mask_aspect_within_one_percent_is_accepted(standin_env):
    images, _, report = erase(photo(100, 200), box(100, 199, 40, 60, 80, 120))
    assert images.shape == (1, 100, 200, 3) and json.loads(report)[0]["status"] == "ok"
    assert len(inpaint_requests(standin_env)) == 1


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
    assert len(inpaint_requests(standin_env)) == 1


def test_full_mask_replaces_the_whole_image(standin_env):
    image = photo(100, 120)
    images, paste_mask, report = erase(image, torch.ones((1, 100, 120)))
    item = json.loads(report)[0]
    # the whole image is needed, so it is padded up to sides that are multiples of 64
    assert item["region"] == [0, 0, 120, 100] and item["sent_size"] == [128, 128]
    assert paste_mask.min() == 1 and (images - image).abs().mean() > 0.02
    assert len(inpaint_requests(standin_env)) == 1


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
    (request,) = inpaint_requests(standin_env)
    assert min(request.images[0].width, request.images[0].height) >= 64


@pytest.mark.parametrize("height,width", [pytest.param(1, 1, id="1x1"), pytest.param(16, 16, id="16x16"),
                                          pytest.param(1, 300, id="1x300-line")])
def test_tiny_images_are_scaled_up_to_the_api_minimum_and_back(standin_env, height, width):
    image = photo(height, width)
    images, paste_mask, report = erase(image, torch.ones((1, height, width)))
    assert images.shape == (1, height, width, 3) and torch.isfinite(images).all()
    assert paste_mask.shape == (1, height, width) and paste_mask.min() == 1
    (request,) = inpaint_requests(standin_env)
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
    (request,) = inpaint_requests(standin_env)
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
