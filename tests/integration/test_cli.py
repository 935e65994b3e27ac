"""scripts/erase.py: the node's code path from the command line, against the stand-in."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

ROOT = Path(__file__).resolve().parents[2]
import erase as cli  # noqa: E402

INPUTS = ROOT / "workflows" / "inputs"


def test_erases_the_bundled_example_and_writes_pngs_and_report(standin_env, tmp_path, capsys):
    code = cli.main([str(INPUTS / "coffee.png"), "--mask", str(INPUTS / "coffee_mask.png"), "--out", str(tmp_path),
                     "--variants", "2", "--seed", "3"])
    assert code == 0
    outputs = sorted(tmp_path.glob("coffee_v*.png"))
    assert [p.name for p in outputs] == ["coffee_v1.png", "coffee_v2.png"]
    before = np.asarray(Image.open(INPUTS / "coffee.png").convert("RGB"))
    mask = np.asarray(Image.open(INPUTS / "coffee_mask.png")) > 127
    for path in outputs:
        after = np.asarray(Image.open(path))
        assert after.shape == before.shape
        # Beyond the service's dilation (15 px) and the feather (8 px) every pixel must be untouched.
        near = Image.open(INPUTS / "coffee_mask.png").filter(ImageFilter.MaxFilter(2 * 24 + 1))
        far = np.asarray(near) == 0
        assert np.array_equal(after[far], before[far])
        assert np.abs(after[mask].astype(int) - before[mask]).mean() > 10
    report = json.loads((tmp_path / "report.json").read_text())
    assert report[0]["outputs"] == [str(p) for p in outputs]
    assert [v["seed"] for v in report[0]["items"][0]["variants"]] == [3, 4]
    assert "report.json" in capsys.readouterr().out


def test_transparency_in_the_image_is_the_mask_like_loadimage(standin_env, tmp_path):
    assert cli.main([str(INPUTS / "coffee_painted.png"), "--out", str(tmp_path)]) == 0
    (request,) = [r for r in standin_env.requests if r.req_key == "i2i_inpainting"]
    region = json.loads((tmp_path / "report.json").read_text())[0]["items"][0]["region"]
    x0, y0, x1, y1 = region
    assert x0 <= 318 and x1 >= 430 and y0 <= 52 and y1 >= 332  # the painted spoon is inside what was sent


def test_failures_exit_1_with_one_clear_first_line(standin_env, tmp_path, capsys, monkeypatch):
    assert cli.main([str(tmp_path / "missing.png"), "--out", str(tmp_path)]) == 1
    assert "does not exist" in capsys.readouterr().err
    monkeypatch.setenv("VOLC_SECRETKEY", "wrong-secret-EXAMPLE")
    assert cli.main([str(INPUTS / "coffee_painted.png"), "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    # What is wrong and what to do on the first line; the gateway's words, code and request id indented below.
    assert err[0] == "error: The secret key does not match access key …0000: fix VOLC_SECRETKEY."
    assert len(err) == 2 and err[1].startswith("       Gateway said:") and "request id" in err[1]
    assert "wrong-secret-EXAMPLE" not in "\n".join(err)


def test_standin_flag_needs_no_credentials(tmp_path, monkeypatch):
    for name in ("VOLC_ACCESSKEY", "VOLC_SECRETKEY", "VOLC_SESSION_TOKEN", "VOLC_VISUAL_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert cli.main([str(INPUTS / "coffee_painted.png"), "--out", str(tmp_path / "out"), "--stand-in"]) == 0
    assert (tmp_path / "out" / "coffee_painted_v1.png").is_file()
