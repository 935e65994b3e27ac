"""scripts/erase.py against the stand-in's real-service variations: result sizes, the watermark flags, no seam."""
from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image
from volc_pack.utils.standin import Fault

from helpers.variations import corner_of, expected_mark, ring_steps, sky

import erase as cli

RECT = (120, 170, 150, 220)


def inputs(tmp_path, picture: np.ndarray) -> tuple[str, str]:
    image, mask = tmp_path / "in.png", tmp_path / "mask.png"
    Image.fromarray(picture).save(image)
    m = np.zeros(picture.shape[:2], np.uint8)
    y0, y1, x0, x1 = RECT
    m[y0:y1, x0:x1] = 255
    Image.fromarray(m).save(mask)
    return str(image), str(mask)


def photo_png(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:300, 0:400].astype(np.float32)
    base = np.stack([xx / 400, yy / 300, 0.5 + 0.3 * np.sin(xx / 5.0)], -1)
    return (np.clip(base + rng.normal(0, 0.04, base.shape), 0, 1) * 255 + 0.5).astype(np.uint8)


def run(tmp_path, picture: np.ndarray, *flags: str) -> tuple[int, list[dict], np.ndarray | None]:
    image, mask = inputs(tmp_path, picture)
    out = tmp_path / "out"
    code = cli.main([image, "--mask", mask, "--out", str(out), *flags])
    if code != 0:
        return code, [], None
    report = json.loads((out / "report.json").read_text())
    return code, report[0]["items"], np.asarray(Image.open(out / "in_v1.png"))


def far_from(shape, *boxes, reach: int) -> np.ndarray:
    """bool: pixels more than `reach` px (square) from every box (x0, y0, x1, y1)."""
    far = np.ones(shape[:2], bool)
    for x0, y0, x1, y1 in boxes:
        far[max(0, y0 - reach): y1 + reach, max(0, x0 - reach): x1 + reach] = False
    return far


MASK_BOX = (RECT[2], RECT[0], RECT[3], RECT[1])


def test_sent_sides_are_multiples_of_64_and_a_rounding_model_changes_nothing(standin_env, tmp_path):
    standin_env.inject(Fault("round_size_8"))
    code, items, out = run(tmp_path, photo_png())
    assert code == 0 and standin_env.pending_faults() == 0
    assert all(side % 64 == 0 for side in items[0]["sent_size"]) and "resized_result_from" not in items[0]
    far = far_from(out.shape, MASK_BOX, reach=15 + 8 + 2)
    assert np.array_equal(out[far], photo_png()[far])


def test_a_rescaled_result_is_resized_back_and_noted_in_the_report(standin_env, tmp_path):
    picture = np.asarray(Image.fromarray(photo_png()).resize((640, 500)))
    standin_env.inject(Fault("capped_size"))
    code, items, out = run(tmp_path, picture, "--context", "4")
    assert code == 0
    (note,) = items[0]["variants"][0]["notes"]
    got_w, got_h = items[0]["resized_result_from"]
    assert note == f"result {got_w}x{got_h} resized to {items[0]['sent_size'][0]}x{items[0]['sent_size'][1]}"
    assert out.shape == picture.shape


def test_a_result_of_another_shape_exits_1_with_one_line(standin_env, tmp_path, capsys):
    standin_env.inject(Fault("wild_size"))
    code, _, _ = run(tmp_path, photo_png())
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 1 and "not a resized copy" in err[0]
    assert standin_env.count("i2i_inpainting") == 1


def test_watermark_flags_put_the_mark_in_the_requested_corner(standin_env, tmp_path):
    picture = photo_png(1)
    code, items, out = run(tmp_path, picture, "--add-logo", "--logo-position", "top-left", "--logo-language",
                           "English", "--logo-opacity", "0.6", "--logo-text", "AI made this")
    assert code == 0
    (request,) = [r for r in standin_env.requests if r.req_key == "i2i_inpainting"]
    sent = {"add_logo": True, "position": 2, "language": 1, "opacity": 0.6, "logo_text_content": "AI made this"}
    assert request.params["logo_info"] == sent
    mark = expected_mark(items[0], sent)
    assert corner_of(mark, 400, 300) == 2
    x0, y0, x1, y1 = mark
    changed = np.abs(out[y0:y1, x0:x1].astype(int) - picture[y0:y1, x0:x1]).max(axis=2) > 25
    assert changed.mean() > 0.15
    far = far_from(out.shape, MASK_BOX, mark, reach=15 + 8 + 8)
    assert np.array_equal(out[far], picture[far])


def test_without_add_logo_the_other_flags_send_no_watermark(standin_env, tmp_path):
    code, _, _ = run(tmp_path, photo_png(), "--logo-position", "top-right")
    (request,) = [r for r in standin_env.requests if r.req_key == "i2i_inpainting"]
    assert code == 0 and "logo_info" not in request.params


@pytest.mark.parametrize("flags,name", [(["--logo-opacity", "1.5"], "opacity"),
                                        (["--logo-text", "x" * 201], "logo_text_content")])
def test_bad_watermark_flags_exit_1_naming_them_before_any_call(standin_env, tmp_path, capsys, flags, name):
    code, _, _ = run(tmp_path, photo_png(), "--add-logo", *flags)
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 1 and name in err[0] and not standin_env.requests


def test_no_seam_in_the_written_png_when_the_result_drifted(standin_env, tmp_path):
    picture = (sky(300, 400)[0].numpy() * 255 + 0.5).astype(np.uint8)
    standin_env.inject(Fault("seam_drift"))
    code, _, out = run(tmp_path, picture, "--feather", "0")
    assert code == 0 and standin_env.pending_faults() == 0
    steps = ring_steps(picture / 255.0, out / 255.0, RECT, 15)
    assert max(steps) < 1.2, steps
