"""Finding the service's watermark in the result's corner (utils/imaging/logo.py), with the stand-in's stamp."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image
from volc_pack.utils.imaging import logo
from volc_pack.utils.imaging.regions import Box, FitPlan
from volc_pack.utils.standin.variations import mark_box, stamp_logo

WIDTH, HEIGHT = 320, 256
MASK = np.zeros((HEIGHT, WIDTH), bool)
MASK[100:150, 120:200] = True
RADIUS = 15 + 8 + 6


def picture(noise: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32)
    base = np.stack([xx / WIDTH, yy / HEIGHT, 0.5 + 0.3 * np.sin(xx / 5.0)], -1)
    return (np.clip(base + rng.normal(0, noise, base.shape), 0, 1) * 255 + 0.5).astype(np.uint8)


def served(sent: np.ndarray, settings: dict | None, drift=(0, 0, 0), near_mask: int = 0) -> np.ndarray:
    """What a service answers: the sent picture, changed near the mask, shifted, stamped, through JPEG q92."""
    out = sent.astype(np.int16) + np.array(drift, np.int16)
    if near_mask:  # everything within near_mask px of the mask repainted dark
        yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH]
        ys, xs = np.nonzero(MASK)
        dx = np.maximum(np.maximum(xs.min() - xx, xx - xs.max()), 0)
        dy = np.maximum(np.maximum(ys.min() - yy, yy - ys.max()), 0)
        out[np.hypot(dx, dy) <= near_mask] = 40
    image = Image.fromarray(np.clip(out, 0, 255).astype(np.uint8))
    if settings is not None:
        stamp_logo(image, {"add_logo": True, **settings})
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=92)
    return np.asarray(Image.open(buffer).convert("RGB"))


@pytest.mark.parametrize("position", [0, 1, 2, 3])
@pytest.mark.parametrize("noise", [0.0, 0.04])
def test_the_mark_is_found_in_each_corner_on_smooth_and_noisy_pictures(position, noise):
    sent = picture(noise)
    settings = {"position": position, "language": 1, "opacity": 0.3}
    result = served(sent, settings, drift=(4, -3, 5))
    block = logo.find_mark(result, logo.probe(sent, MASK, position, RADIUS), np.array([4, -3, 5], np.float32))
    x0, y0, x1, y1 = mark_box(WIDTH, HEIGHT, settings)
    assert block is not None
    assert block.x0 <= x0 and block.y0 <= y0 and block.x1 >= x1 and block.y1 >= y1  # all of the mark...
    slack = 2 * (logo.BLOCK_MARGIN + logo.NEIGHBOURHOOD) + 2
    assert block.width <= x1 - x0 + slack and block.height <= y1 - y0 + slack  # ...and little else


@pytest.mark.parametrize("noise", [0.0, 0.04])
def test_no_mark_is_found_where_there_is_none(noise):
    sent = picture(noise, seed=5)
    for position in range(4):
        probe = logo.probe(sent, MASK, position, RADIUS)
        assert logo.find_mark(served(sent, None, drift=(4, -3, 5)), probe, np.array([4, -3, 5], np.float32)) is None
        assert logo.find_mark(served(sent, None, near_mask=RADIUS - 8), probe) is None  # near the mask


def test_an_invisible_mark_is_not_found():
    sent = picture(0.01)
    result = served(sent, {"position": 0, "opacity": 0.0})
    assert logo.find_mark(result, logo.probe(sent, MASK, 0, RADIUS)) is None


def test_a_small_picture_is_searched_whole():
    sent = picture(0.01)[:64, :128]
    probe = logo.probe(sent, np.zeros((64, 128), bool), 2, RADIUS)
    assert probe.window == Box(0, 0, 128, 64)
    settings = {"position": 2, "opacity": 0.5}
    block = logo.find_mark(served(sent, settings), probe)
    x0, y0, x1, y1 = mark_box(128, 64, settings)
    assert block is not None and block.x0 <= x0 and block.y0 <= y0 and block.x1 >= x1 and block.y1 >= y1


def test_reach_corner_and_sides():
    box = Box(100, 100, 200, 200)
    assert [logo.reach_corner(box, p, 500, 400) for p in range(4)] == [
        Box(100, 100, 500, 400), Box(0, 100, 200, 400), Box(0, 0, 200, 200), Box(100, 0, 500, 200)]
    assert [logo.on_right_bottom(p) for p in range(4)] == [(True, True), (False, True), (False, False), (True, False)]


def test_to_crop_undoes_scale_and_padding():
    plan = FitPlan(src_w=200, src_h=50, scaled_w=100, scaled_h=25, send_w=128, send_h=64, pad_x=28, pad_y=39,
                   pad_left=28, pad_top=39)
    assert logo.to_crop(Box(100, 50, 128, 64), plan) == Box(144, 22, 200, 50)
    assert logo.to_crop(Box(0, 0, 28, 39), plan) is None  # only padding


def test_block_weights_are_one_on_the_block_and_soft_around_it():
    weights = logo.block_weights(Box(10, 10, 20, 15), (40, 40))
    assert (weights[10:15, 10:20] == 1).all() and 0 < weights[12, 21] < 1
    assert weights[12, 20 + logo.BLOCK_FEATHER + 1] == 0 and weights[:5].max() == 0


def test_keep_mark_extends_the_weights_only_by_a_found_block():
    sent = picture(0.01)
    plan = FitPlan(WIDTH, HEIGHT, WIDTH, HEIGHT, WIDTH, HEIGHT, 0, 0)
    probe = logo.probe(sent, MASK, 3, RADIUS)
    weights = np.zeros((HEIGHT, WIDTH), np.float32)
    same, note = logo.keep_mark(served(sent, None), probe, None, plan, Box(1000, 0, 1320, 256), weights)
    assert same is weights and note == "no watermark found in the top-right corner of the result"
    settings = {"position": 3, "opacity": 0.4}
    grown, note = logo.keep_mark(served(sent, settings), probe, None, plan, Box(1000, 0, 1320, 256), weights)
    x0, y0, x1, y1 = mark_box(WIDTH, HEIGHT, settings)
    assert (grown[y0:y1, x0:x1] == 1).all() and grown[:, :WIDTH // 2].max() == 0
    assert note.startswith("watermark kept in the top-right corner at [")
    assert int(note.split("[")[1].split(",")[0]) >= 1000 + x0 - logo.BLOCK_MARGIN - logo.NEIGHBOURHOOD  # crop offset


@pytest.mark.parametrize("grain", [0.06, 0.12])
def test_grainy_texture_beside_the_mark_does_not_widen_its_block(grain):
    sent = picture(0.01, seed=2).astype(np.float32)
    rng = np.random.default_rng(9)
    sent[150:215, 170:300] += rng.normal(0, grain * 255, (65, 130, 3))  # heavy grain above the mark
    sent = np.clip(sent, 0, 255).astype(np.uint8)
    settings = {"position": 0, "language": 1, "opacity": 0.3}
    block = logo.find_mark(served(sent, settings), logo.probe(sent, MASK, 0, RADIUS))
    x0, y0, x1, y1 = mark_box(WIDTH, HEIGHT, settings)
    assert block is not None and block.x0 <= x0 and block.y0 <= y0 and block.x1 >= x1 and block.y1 >= y1
    assert block.y0 >= y0 - 2 * (logo.BLOCK_MARGIN + logo.NEIGHBOURHOOD)
