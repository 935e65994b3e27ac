"""scripts/run_workflow.py against a small fake ComfyUI (tests/helpers/fake_comfy.py) on loopback."""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import run_workflow

from helpers.fake_comfy import PNG, FakeComfy, serving

ROOT = Path(__file__).resolve().parents[2]
PAINTED = ROOT / "workflows" / "api" / "erase_painted_area.json"
SECRET = "sk-THIS-MUST-NEVER-LEAVE-THE-ENVIRONMENT"


@pytest.fixture
def comfy(monkeypatch):
    monkeypatch.setattr(run_workflow, "POLL_SECONDS", 0.01)
    monkeypatch.setenv("VOLC_SECRETKEY", SECRET)  # a runner must never pick up, send or print this
    monkeypatch.setenv("VOLC_ACCESSKEY", "AKLT" + SECRET)
    with serving(FakeComfy()) as fake:
        yield fake
    assert not any(SECRET.encode() in raw for raw in fake.raw)


def run(fake: FakeComfy, tmp_path: Path, *extra: str, workflow: Path = PAINTED) -> int:
    return run_workflow.main([str(workflow), "--server", fake.url, "--out", str(tmp_path / "out"), *extra])


def test_success_uploads_queues_follows_and_downloads(comfy, tmp_path, capsys):
    code = run(comfy, tmp_path, "--set", "2.seed=7", "--set", "2.quality=H", "--set", "4.filename_prefix=123")
    out, err = capsys.readouterr()
    assert code == 0, err
    [upload] = comfy.uploads
    assert upload["filename"] == "coffee_painted.png" and upload["overwrite"] == "true" and upload["type"] == "input"
    assert upload["data"] == (ROOT / "workflows" / "inputs" / "coffee_painted.png").read_bytes()
    [sent] = comfy.prompts
    uuid.UUID(sent["client_id"])
    prompt = sent["prompt"]
    assert prompt["1"]["inputs"]["image"] == "up_coffee_painted.png"  # the name the server returned
    assert prompt["2"]["inputs"]["seed"] == 7 and prompt["2"]["inputs"]["quality"] == "H"
    assert prompt["4"]["inputs"]["filename_prefix"] == "123"  # a text input stays text
    assert prompt["2"]["inputs"]["mask"] == ["1", 1] and comfy.history_calls == 3
    assert comfy.views == [{"filename": "painted_00001_.png", "subfolder": "volc_erase", "type": "output"}]
    assert (tmp_path / "out" / "painted_00001_.png").read_bytes() == PNG
    assert json.loads((tmp_path / "out" / "text_5.txt").read_text())[0]["status"] == "ok"
    assert "done in" in out and "2 file(s)" in out and SECRET not in out + err


def test_previews_and_explicit_images(comfy, tmp_path, capsys):
    mine = tmp_path / "mine.png"
    mine.write_bytes(b"my picture")
    assert run(comfy, tmp_path, "--image", f"1={mine}", "--previews") == 0
    assert [u["data"] for u in comfy.uploads] == [b"my picture"]
    assert comfy.prompts[0]["prompt"]["1"]["inputs"]["image"] == "up_mine.png"
    assert {v["type"] for v in comfy.views} == {"output", "temp"}


def test_validation_error_is_printed_readably(comfy, tmp_path, capsys):
    comfy.reject = {"error": {"type": "prompt_outputs_failed_validation", "message": "Prompt outputs failed validation",
                              "details": "", "extra_info": {}},
                    "node_errors": {"2": {"errors": [{"type": "value_bigger_than_max",
                                                      "message": "Value bigger than max of 50",
                                                      "details": "steps, 60 > 50", "extra_info": {}}],
                                          "dependent_outputs": ["4"], "class_type": "VolcengineInpaintErase"}}}
    assert run(comfy, tmp_path, "--set", "2.steps=60") == 1
    err = capsys.readouterr().err.splitlines()
    assert err == ["error: prompt rejected: Prompt outputs failed validation",
                   "  node 2 (VolcengineInpaintErase): Value bigger than max of 50: steps, 60 > 50"]
    assert comfy.history_calls == 0 and not comfy.views


def test_execution_error_is_its_headline_then_details_without_the_node_inputs(comfy, tmp_path, capsys):
    comfy.failure = [["execution_start", {"prompt_id": "p-1"}],
                     ["execution_error", {"prompt_id": "p-1", "node_id": "2", "node_type": "VolcengineInpaintErase",
                                          "exception_type": "/opt/ComfyUI/custom_nodes/comfyui-volcengine-inpainting"
                                                            ".utils.api.errors.CredentialsError",
                                          "exception_message": "No Volcengine key pair is set: set "
                                                               "VOLC_ACCESSKEY and VOLC_SECRETKEY for ComfyUI.\n"
                                                               "Looked in: the environment, ~/.volc/credentials.",
                                          "traceback": ["Traceback ..."],
                                          "current_inputs": {"seed": ["do-not-echo-me"]}}]]
    assert run(comfy, tmp_path) == 1
    out, err = capsys.readouterr()
    assert err.splitlines() == [("error: node 2 (VolcengineInpaintErase) failed: CredentialsError: No Volcengine "
                                 "key pair is set: set VOLC_ACCESSKEY and VOLC_SECRETKEY for ComfyUI."),
                                "       Looked in: the environment, ~/.volc/credentials."]
    assert "do-not-echo-me" not in out + err and not comfy.views


def test_interrupted_run_is_reported(comfy, tmp_path, capsys):
    comfy.failure = [["execution_interrupted", {"prompt_id": "p-1", "node_id": "2",
                                                "node_type": "VolcengineInpaintErase", "executed": ["1"]}]]
    assert run(comfy, tmp_path) == 1
    assert capsys.readouterr().err.strip() == "error: interrupted at node 2 (VolcengineInpaintErase)"


def test_ctrl_c_cancels_only_this_prompt(comfy, tmp_path, monkeypatch, capsys):
    comfy.never = True

    def interrupted(_seconds: float) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(run_workflow.time, "sleep", interrupted)
    assert run(comfy, tmp_path) == 130
    assert comfy.posts == [("/queue", {"delete": ["p-1"]}), ("/interrupt", {"prompt_id": "p-1"})]
    assert "sent POST /interrupt" in capsys.readouterr().err


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_real_ctrl_c_or_kill_interrupts_the_server_side_run(comfy, tmp_path, signum):
    comfy.never = True
    runner = subprocess.Popen([sys.executable, str(ROOT / "scripts" / "run_workflow.py"), str(PAINTED), "--server",
                               comfy.url, "--out", str(tmp_path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True)
    try:
        while "queued prompt" not in (line := runner.stdout.readline()):
            assert line, runner.stderr.read()
        runner.send_signal(signum)
        assert runner.wait(timeout=10) == 130
    finally:
        runner.kill()
    assert ("/interrupt", {"prompt_id": "p-1"}) in comfy.posts
    assert "sent POST /interrupt" in runner.stderr.read()


def test_overall_timeout_cancels_and_fails(comfy, tmp_path, capsys):
    comfy.never = True
    assert run(comfy, tmp_path, "--timeout", "0.2") == 1
    assert ("/interrupt", {"prompt_id": "p-1"}) in comfy.posts
    assert "no result after 0.2 s" in capsys.readouterr().err


@pytest.mark.parametrize("args, message", [
    (("--set", "9.seed=1"), "has no node '9'"),
    (("--set", "2.image=x"), "is connected to another node"),
    (("--set", "seed"), "expected NODE_ID.INPUT=VALUE"),
    (("--image", "1=/no/such.png"), "does not exist"),
])
def test_bad_options_fail_before_anything_is_sent(comfy, tmp_path, capsys, args, message):
    assert run(comfy, tmp_path, *args) == 1
    assert message in capsys.readouterr().err and not comfy.prompts and not comfy.uploads


def test_ui_format_is_refused_with_a_pointer_to_the_api_twin(comfy, tmp_path, capsys):
    assert run(comfy, tmp_path, workflow=ROOT / "workflows" / "Erase painted area · 涂抹消除.json") == 1
    assert "UI-format workflow" in capsys.readouterr().err and not comfy.prompts


def test_unreachable_server_is_one_readable_line(tmp_path, capsys):
    code = run_workflow.main([str(PAINTED), "--server", "http://127.0.0.1:9", "--out", str(tmp_path)])
    err = capsys.readouterr().err.strip()
    assert code == 1 and err.startswith("error: POST http://127.0.0.1:9/upload/image failed: ConnectError")
    assert "\n" not in err
