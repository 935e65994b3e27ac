"""scripts/erase.py on folders: pairing masks, skipping done images, the report, bad inputs; against the stand-in."""
from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

import erase as cli
from helpers.folders import outputs, photo_folder, square, write_mask, write_photo

REPORT_FIELDS = {"status", "outputs", "seeds", "request_ids", "retries", "seconds", "error"}


def inpaints(standin) -> int:
    return standin.count("i2i_inpainting")


def lines(out) -> list[dict]:
    return [json.loads(line) for line in (out / "report.jsonl").read_text().splitlines()]


def region_holds(entry: dict, index: int) -> bool:
    x0, y0, x1, y1 = entry["items"][0]["region"]
    rows, cols = square(index)
    return x0 <= cols.start and x1 >= cols.stop and y0 <= rows.start and y1 >= rows.stop


def test_a_folder_with_a_folder_of_masks_pairs_them_by_stem(standin_env, tmp_path, capsys):
    photos, masks = photo_folder(tmp_path, 3)
    (photos / "p001.png").rename(photos / "p001.jpg")  # any format; the stem is what pairs
    write_photo(photos / "p001.jpg", 1)
    (photos / "notes.txt").write_text("not an image")
    out = tmp_path / "out"
    assert cli.main([str(photos), "--mask", str(masks), "--out", str(out)]) == 0, capsys.readouterr().err
    assert [p.name for p in outputs(out)] == ["p000_v1.png", "p001_v1.png", "p002_v1.png"]
    entries = {e["input"]: e for e in lines(out)}
    for i in range(3):
        entry = next(e for path, e in entries.items() if f"p{i:03d}." in path)
        assert entry["mask"] == str(masks / f"p{i:03d}.png") and region_holds(entry, i)
    assert inpaints(standin_env) == 3
    assert "3 erased" in capsys.readouterr().out


def test_without_a_mask_file_the_image_uses_its_transparency_else_it_is_reported_and_the_rest_go_on(
        standin_env, tmp_path, capsys):
    photos, masks = photo_folder(tmp_path, 2)
    write_photo(photos / "painted.png", 5, painted=True)
    write_photo(photos / "plain.jpg", 6)
    out = tmp_path / "out"
    assert cli.main([str(photos), "--mask", str(masks), "--out", str(out)]) == 1
    stdout, stderr = capsys.readouterr()
    assert [p.name for p in outputs(out)] == ["p000_v1.png", "p001_v1.png", "painted_v1.png"]
    by_name = {e["input"].rsplit("/", 1)[-1]: e for e in lines(out)}
    assert by_name["painted.png"]["mask"] == "alpha" and region_holds(by_name["painted.png"], 5)
    plain = by_name["plain.jpg"]
    assert plain["status"] == "no_mask" and plain["outputs"] == [] and str(masks / "plain.png") in plain["error"]
    assert inpaints(standin_env) == 3
    assert stderr.count("\n") == 1 and stderr.startswith("error: 1 of 4 images") and "plain.jpg" in stderr
    assert "1 without a mask" in stdout


def test_one_mask_for_all_or_one_per_image_in_order(standin_env, tmp_path):
    a, b = write_photo(tmp_path / "a.png", 0), write_photo(tmp_path / "b.png", 1)
    m0, m1 = write_mask(tmp_path / "m0.png", 0), write_mask(tmp_path / "m1.png", 1)
    assert cli.main([str(a), str(b), "--mask", str(m1), "--out", str(tmp_path / "one")]) == 0
    assert all(region_holds(e, 1) for e in lines(tmp_path / "one"))
    assert cli.main([str(a), str(b), "--mask", str(m1), "--mask", str(m0), "--out", str(tmp_path / "each")]) == 0
    entries = sorted(lines(tmp_path / "each"), key=lambda e: e["index"])
    assert region_holds(entries[0], 1) and region_holds(entries[1], 0)


def test_sub_folders_only_with_recursive_and_mirrored_in_the_output(standin_env, tmp_path, capsys):
    write_photo(tmp_path / "in" / "top.png", 0, painted=True)
    write_photo(tmp_path / "in" / "day1" / "top.png", 1, painted=True)  # same name, other folder: no collision
    out = tmp_path / "out"
    assert cli.main([str(tmp_path / "in"), "--out", str(out)]) == 0
    assert [p.relative_to(out).as_posix() for p in outputs(out)] == ["top_v1.png"]
    assert cli.main([str(tmp_path / "in"), "--out", str(out), "--recursive"]) == 0
    assert [p.relative_to(out).as_posix() for p in outputs(out)] == ["day1/top_v1.png", "top_v1.png"]
    assert inpaints(standin_env) == 2 and "1 skipped" in capsys.readouterr().out


def test_a_rerun_calls_only_for_missing_outputs_and_overwrite_redoes_all(standin_env, tmp_path, capsys):
    photos, masks = photo_folder(tmp_path, 3)
    argv = [str(photos), "--mask", str(masks), "--out", str(tmp_path / "out"), "--variants", "2"]
    assert cli.main(argv) == 0 and inpaints(standin_env) == 6
    first = (tmp_path / "out" / "p001_v1.png").read_bytes()
    standin_env.clear()
    assert cli.main(argv) == 0 and inpaints(standin_env) == 0
    assert "0 erased, 3 skipped (outputs exist)" in capsys.readouterr().out
    (tmp_path / "out" / "p002_v2.png").unlink()  # one variant missing: that image is redone
    assert cli.main(argv) == 0 and inpaints(standin_env) == 2
    assert "1 erased, 2 skipped" in capsys.readouterr().out
    standin_env.clear()
    assert cli.main([*argv, "--overwrite"]) == 0 and inpaints(standin_env) == 6
    assert (tmp_path / "out" / "p001_v1.png").read_bytes() == first  # same seeds, same results
    statuses = [e["status"] for e in lines(tmp_path / "out")]
    assert statuses.count("skipped") == 5 and statuses.count("ok") == 3 + 1 + 3


def test_each_image_gets_one_report_line_and_report_json_lists_this_run(standin_env, tmp_path, capsys):
    photos, masks = photo_folder(tmp_path, 3)
    out = tmp_path / "out"
    assert cli.main([str(photos), "--mask", str(masks), "--out", str(out), "--variants", "2", "--seed", "5"]) == 0
    entries = lines(out)
    assert len(entries) == 3 and all(REPORT_FIELDS <= set(e) for e in entries)
    recorded = {r.request_id for r in standin_env.requests}
    for entry in entries:
        assert entry["status"] == "ok" and entry["error"] is None and entry["seeds"] == [5, 6]
        assert len(entry["request_ids"]) == 2 and set(entry["request_ids"]) <= recorded
        assert entry["retries"] == [] and entry["seconds"] > 0
        assert all(Image.open(p).size == (96, 72) for p in entry["outputs"])
    summary = json.loads((out / "report.json").read_text())
    assert [e["input"] for e in summary] == sorted(str(p) for p in photos.iterdir())
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")]  # no temporary file left behind
    assert "report.json" in capsys.readouterr().out


def test_results_are_the_node_s_paste_back_outside_the_mask_untouched(standin_env, tmp_path):
    photos, masks = photo_folder(tmp_path, 1)
    assert cli.main([str(photos), "--mask", str(masks), "--out", str(tmp_path / "out"), "--feather", "0",
                     "--dilate-size", "0"]) == 0
    before = np.asarray(Image.open(photos / "p000.png").convert("RGB"))
    after = np.asarray(Image.open(tmp_path / "out" / "p000_v1.png"))
    near = np.zeros(before.shape[:2], bool)
    rows, cols = square(0)
    near[rows.start - 3:rows.stop + 3, cols.start - 3:cols.stop + 3] = True
    assert np.array_equal(after[~near], before[~near]) and not np.array_equal(after[near], before[near])


def test_an_output_folder_inside_the_input_folder_is_never_read_as_input(standin_env, tmp_path):
    photos, masks = photo_folder(tmp_path, 2)
    argv = [str(photos), "--mask", str(masks), "--out", str(photos / "erased"), "--recursive"]
    assert cli.main(argv) == 0 and cli.main(argv) == 0
    assert inpaints(standin_env) == 2 and len(outputs(photos / "erased")) == 2


def test_an_unreadable_image_fails_alone(standin_env, tmp_path, capsys):
    photos, masks = photo_folder(tmp_path, 2)
    (photos / "p001.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    assert cli.main([str(photos), "--mask", str(masks), "--out", str(tmp_path / "out")]) == 1
    assert [p.name for p in outputs(tmp_path / "out")] == ["p000_v1.png"]
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "p001.png" in err and "cannot read" in err


@pytest.mark.parametrize("case, message", [
    ("collision", "would both be written as p000_v1.png"),
    ("mask count", "give one --mask, or one per image (3)"),
    ("empty folder", "holds no PNG, JPEG or WebP images (it has sub-folders: add --recursive"),
    ("missing mask", "does not exist"),
    ("two mask folders", "give one mask folder"),
])
def test_inputs_that_cannot_be_planned_fail_before_any_call(standin_env, tmp_path, capsys, case, message):
    photos, masks = photo_folder(tmp_path, 3)
    argv = [str(photos), "--out", str(tmp_path / "out")]
    if case == "collision":
        write_photo(photos / "p000.webp", 0)
    elif case == "mask count":
        argv += ["--mask", str(masks / "p000.png"), "--mask", str(masks / "p001.png")]
    elif case == "empty folder":
        argv = [str(tmp_path), "--out", str(tmp_path / "out")]
    elif case == "missing mask":
        argv += ["--mask", str(tmp_path / "nowhere")]
    else:
        argv += ["--mask", str(masks), "--mask", str(masks)]
    assert cli.main(argv) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err
    assert inpaints(standin_env) == 0


def test_shards_split_one_folder_without_overlap_into_one_output_folder(standin_env, tmp_path, capsys):
    photos, masks = photo_folder(tmp_path, 7)
    out = tmp_path / "out"
    for k in (1, 2, 3):
        assert cli.main([str(photos), "--mask", str(masks), "--out", str(out), "--shard", f"{k}/3"]) == 0
    assert inpaints(standin_env) == 7 and len(outputs(out)) == 7
    shares = [[e["input"] for e in json.loads((out / f"report-{k}of3.json").read_text())] for k in (1, 2, 3)]
    assert [len(s) for s in shares] == [3, 2, 2] and len(set(sum(shares, []))) == 7
    assert len(lines(out)) == 7  # every shard appended to the one report.jsonl
    with pytest.raises(SystemExit):
        cli.parse_args([str(photos), "--out", str(out), "--shard", "4/3"])
    assert "expected K/N with 1 <= K <= N" in capsys.readouterr().err
