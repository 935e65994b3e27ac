"""scripts/run_workflow.py --images DIR: one prompt per image, a bounded queue, outputs saved per image and skipped
when they exist; against the fake ComfyUI (tests/helpers/fake_comfy.py)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import run_workflow

from helpers.fake_comfy import PNG, FakeComfy, serving
from helpers.folders import write_photo

ROOT = Path(__file__).resolve().parents[2]
PAINTED = ROOT / "workflows" / "api" / "erase_painted_area.json"


@pytest.fixture
def comfy(monkeypatch):
    monkeypatch.setattr(run_workflow, "POLL_SECONDS", 0.01)
    fake = FakeComfy(polls=2)
    fake.numbered = True
    with serving(fake):
        yield fake


def folder(tmp_path: Path, names: list[str]) -> Path:
    for i, name in enumerate(names):
        write_photo(tmp_path / "photos" / name, i, painted=name.endswith(".png"))
    return tmp_path / "photos"


def run(comfy: FakeComfy, tmp_path: Path, *extra: str, workflow: Path = PAINTED) -> int:
    return run_workflow.main([str(workflow), "--server", comfy.url, "--out", str(tmp_path / "out"),
                              "--images", str(tmp_path / "photos"), *extra])


def test_each_image_is_one_prompt_with_at_most_n_queued_and_its_own_output_folder(comfy, tmp_path, capsys):
    names = ["a.png", "b.jpg", "c.png", "d.webp", "e.png"]
    folder(tmp_path, names)
    assert run(comfy, tmp_path, "--concurrency", "2") == 0, capsys.readouterr().err
    assert comfy.max_open == 2 and len(comfy.prompts) == 5
    assert sorted(u["filename"] for u in comfy.uploads) == sorted(names)
    assert sorted(p["prompt"]["1"]["inputs"]["image"] for p in comfy.prompts) == sorted(f"up_{n}" for n in names)
    out = tmp_path / "out"
    for name in names:
        [saved] = list((out / Path(name).stem).iterdir())
        assert saved.read_bytes() == PNG
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temporary folder left
    assert "5 images: 5 done, 0 skipped (outputs exist), 0 failed" in capsys.readouterr().out


def test_a_rerun_queues_only_the_images_without_outputs(comfy, tmp_path, capsys):
    folder(tmp_path, ["a.png", "b.png", "c.png"])
    assert run(comfy, tmp_path) == 0
    assert run(comfy, tmp_path) == 0 and len(comfy.prompts) == 3
    for path in (tmp_path / "out" / "b").iterdir():
        path.unlink()
    (tmp_path / "out" / "b").rmdir()
    assert run(comfy, tmp_path) == 0 and len(comfy.prompts) == 4
    assert comfy.prompts[-1]["prompt"]["1"]["inputs"]["image"] == "up_b.png"
    assert "3 images: 1 done, 2 skipped (outputs exist)" in capsys.readouterr().out
    assert run(comfy, tmp_path, "--overwrite") == 0 and len(comfy.prompts) == 7


def test_a_failed_prompt_is_reported_and_the_others_are_saved(comfy, tmp_path, capsys):
    folder(tmp_path, ["a.png", "b.png", "c.png"])
    comfy.failing = {"up_b.png"}
    assert run(comfy, tmp_path) == 1
    out, err = capsys.readouterr()
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a", "c"]
    assert err.count("\n") == 1 and "1 of 3 images failed" in err and "b.png" in err and "it broke" in err
    assert "failed: b.png" in out


def test_a_workflow_with_several_load_image_nodes_needs_image_node(comfy, tmp_path, capsys):
    folder(tmp_path, ["a.png"])
    prompt = json.loads(PAINTED.read_text())
    prompt["9"] = {"class_type": "LoadImage", "inputs": {"image": "other.png"}}
    workflow = tmp_path / "two_loads.json"
    workflow.write_text(json.dumps(prompt))
    assert run(comfy, tmp_path, workflow=workflow) == 1
    assert "--images needs --image-node NODE_ID: the workflow has 2 LoadImage nodes (1, 9)" in capsys.readouterr().err
    assert not comfy.prompts and not comfy.uploads
    assert run(comfy, tmp_path, "--image-node", "1", workflow=workflow) == 0
    assert comfy.prompts[0]["prompt"]["1"]["inputs"]["image"] == "up_a.png"
    assert comfy.prompts[0]["prompt"]["9"]["inputs"]["image"] == "other.png"


def test_ctrl_c_cancels_every_queued_prompt(comfy, tmp_path, monkeypatch, capsys):
    folder(tmp_path, ["a.png", "b.png", "c.png"])
    comfy.never = True

    def interrupted(_seconds: float) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(run_workflow.time, "sleep", interrupted)
    assert run(comfy, tmp_path, "--concurrency", "2") == 130
    assert comfy.posts == [("/queue", {"delete": ["p-1"]}), ("/interrupt", {"prompt_id": "p-1"}),
                           ("/queue", {"delete": ["p-2"]}), ("/interrupt", {"prompt_id": "p-2"})]
    assert capsys.readouterr().err.count("sent POST /interrupt") == 2
