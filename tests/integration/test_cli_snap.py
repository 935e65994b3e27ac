"""scripts/erase.py --snap-to-objects: a rough stroke erases the complete object it touches, against the stand-in."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

import erase as cli
from volc_pack.utils.imaging.masks import grow

INPUTS = Path(__file__).resolve().parents[2] / "workflows" / "inputs"
SCRIBBLE = INPUTS / "desk_scribble.png"  # the desk with a quick stroke over part of the mug (transparent = painted)
MUG = (196, 52, 48)


def run(out: Path, *flags: str) -> tuple[np.ndarray, dict]:
    assert cli.main([str(SCRIBBLE), "--out", str(out), *flags]) == 0
    result = np.asarray(Image.open(out / "desk_scribble_v1.png").convert("RGB")).astype(int)
    return result, json.loads((out / "report.json").read_text())[0]


def test_snap_to_objects_erases_the_whole_object_the_stroke_touches(standin_env, tmp_path):
    with Image.open(SCRIBBLE) as im:
        before = np.asarray(im.convert("RGB")).astype(int)
        stroke = np.asarray(im.getchannel("A")) < 128
    mug = (np.abs(before - MUG) < 2).all(axis=-1)
    beyond_stroke = mug & ~grow(stroke, 30)  # the part of the mug the stroke and the service's dilation miss
    assert beyond_stroke.sum() > 0.3 * mug.sum()

    plain, _ = run(tmp_path / "plain")
    snapped, report = run(tmp_path / "snap", "--snap-to-objects")

    def repainted(after: np.ndarray) -> float:
        return float((np.abs(after - before).max(axis=-1) > 40)[beyond_stroke].mean())

    assert repainted(plain) < 0.05 and repainted(snapped) > 0.95
    far = ~grow(mug, 45)
    assert np.array_equal(snapped[far], before[far])  # nothing else was touched
    assert len(report["snap"]["selected"]) == 1 and report["snap"]["touched"][0]["selected"]
    entity_calls = [r for r in standin_env.requests if r.req_key == "entity_seg"]
    assert len(entity_calls) == 1 and set(entity_calls[0].params) == {"req_key", "max_entity", "return_format"}
