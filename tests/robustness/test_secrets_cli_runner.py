"""No credential leaks through the CLI (output, files, PNG metadata) or the headless runner."""
from __future__ import annotations

import asyncio
import erase as erase_cli
import gc
import json
import numpy as np
import pytest
import traceback
import warnings
from PIL import Image
from pathlib import Path
from volc_pack.utils.api import errors
from volc_pack.utils.standin import Fault, STANDIN_ACCESS_KEY
from helpers.fake_comfy import FakeComfy, serving
from helpers.secrets import (ACCESS_KEY, DEFAULTS, ERASE, ROOT, SECRET_KEY, Secrets, TOKEN, box, check_logs, photo,
                             prepare)


# --- the CLI: stdout, stderr, every output file and PNG metadata ---------------------------------------------------

def painted_png(path: Path, seed: int = 0) -> Path:
    """An RGBA picture whose transparent square is the area to erase (LoadImage's rule)."""
    rng = np.random.default_rng(seed)
    rgba = np.concatenate([rng.integers(0, 256, (96, 96, 3), dtype=np.uint8), np.full((96, 96, 1), 255, np.uint8)],
                          -1)
    rgba[30:60, 30:60, 3] = 0
    Image.fromarray(rgba, "RGBA").save(path)
    return path


def check_outputs(secrets: Secrets, out: Path) -> list[Path]:
    files = sorted(p for p in out.rglob("*") if p.is_file()) if out.exists() else []
    for path in files:
        secrets.check(f"{path.name}", path.read_bytes())
        if path.suffix == ".png":
            with Image.open(path) as image:
                image.load()
                secrets.check(f"{path.name} metadata", repr(image.info) + repr(getattr(image, "text", {})))
                assert getattr(image, "text", {}) == {}, f"{path.name} carries text chunks"
    return files


CLI_PATHS = {
    # id: (environment, faults, extra arguments, exit code)
    "success-two-variants-after-retry": ("good", [Fault("error", code=50429)], ["--variants", "2"], 0),
    "success-one-variant-kept-original": ("good", [Fault("error", code=50411)],
                                          ["--variants", "2", "--on-item-error", "return original"], 0),
    "two-files-one-fails": ("good", [Fault("error", code=50411)], ["@second"], 1),
    "unknown-access-key": ("bad", [], [], 1),
    "wrong-secret-key": ("good+bad-secret", [], [], 1),
    "access-denied": ("good", [Fault("gateway", code="AccessDenied")], [], 1),
    "connection-reset": ("good", [Fault("reset")], [], 1),
    "truncated-json": ("good", [Fault("truncated_json")], [], 1),
    "half-key-pair": ("bad-access-key-only", [], [], 1),
    "echoing-gateway": ("bad+echo-gateway", [], [], 1),
    "output-folder-is-a-file": ("good", [], ["@out-is-file"], 1),
    "missing-input-file": ("good", [], ["@missing"], 1),
}


@pytest.mark.parametrize("path", list(CLI_PATHS))
def test_cli_never_exposes_credentials(standin_env, monkeypatch, tmp_path, capsys, all_logs, path):
    kind, faults, extra, exit_code = CLI_PATHS[path]
    cleanup: list = []
    secrets = prepare(kind, standin_env, monkeypatch, cleanup)
    standin_env.inject(*faults)
    images = [painted_png(tmp_path / "photo.png")]
    out = tmp_path / "out"
    if "@second" in extra:
        images.append(painted_png(tmp_path / "second.png", seed=1))
    if "@missing" in extra:
        images.append(tmp_path / "missing.png")
    if "@out-is-file" in extra:
        out.write_text("not a folder")
    argv = [*map(str, images), "--out", str(out), *[a for a in extra if not a.startswith("@")]]
    try:
        with warnings.catch_warnings():
            # An unwritable --out fails after the CLI created its coroutines: Python warns they were never awaited.
            warnings.filterwarnings("ignore", "coroutine .* was never awaited", RuntimeWarning)
            code = erase_cli.main(argv)
            gc.collect()
    finally:
        for close in cleanup:
            close()
    stdout, stderr = capsys.readouterr()
    assert code == exit_code, stderr
    secrets.check("stdout", stdout)
    secrets.check("stderr", stderr)
    check_logs(secrets, all_logs)
    files = check_outputs(secrets, out) if out.is_dir() else []
    if out.is_file():
        secrets.check("the --out file", out.read_bytes())
    if exit_code == 0:
        assert "report.json" in {p.name for p in files} and any(p.suffix == ".png" for p in files)
        report = json.loads((out / "report.json").read_text())
        assert all(item["status"] in ("ok", "partial") for entry in report for item in entry["items"])
        if "return original" in extra:  # the report quotes the service's error: still nothing secret in it
            assert "50411" in (out / "report.json").read_text()
    else:
        assert len(stderr.strip().splitlines()) == 1 and stderr.startswith("error: ")


# --- run_workflow.py: the server's error messages come from our nodes ----------------------------------------------

def node_failure(monkeypatch, standin) -> BaseException:
    """A real failure of the erase node with distinctive credentials, as ComfyUI would catch it."""
    monkeypatch.setenv("VOLC_ACCESSKEY", STANDIN_ACCESS_KEY)
    monkeypatch.setenv("VOLC_SECRETKEY", SECRET_KEY)
    monkeypatch.setenv("VOLC_SESSION_TOKEN", TOKEN)
    try:
        asyncio.run(ERASE().erase(photo(), box(), **DEFAULTS))
    except errors.VolcError as exc:
        return exc
    raise AssertionError("the node should have failed")


def run_against(entry: dict, tmp_path: Path, run_workflow_module) -> tuple[int, list[bytes]]:
    """run_workflow.py on the bundled workflow against a fake ComfyUI whose history holds `entry`; (exit code,
    every request ComfyUI received)."""
    with serving(FakeComfy(history=entry, polls=0)) as comfy:
        code = run_workflow_module.main([str(ROOT / "workflows" / "api" / "erase_painted_area.json"), "--server",
                                         comfy.url, "--out", str(tmp_path / "out")])
    return code, comfy.raw


def comfy_error_entry(exc: BaseException) -> dict:
    """The history entry ComfyUI writes for a node that raised `exc` (execution.py's execution_error)."""
    return {"prompt": [], "outputs": {}, "status": {"status_str": "error", "completed": False, "messages": [
        ["execution_start", {"prompt_id": "p-1"}],
        ["execution_error", {"prompt_id": "p-1", "node_id": "2", "node_type": "VolcengineInpaintErase",
                             "executed": ["1"], "exception_message": str(exc),
                             "exception_type": f"{type(exc).__module__}.{type(exc).__name__}",
                             "traceback": traceback.format_tb(exc.__traceback__),
                             "current_inputs": {k: [repr(v)] for k, v in DEFAULTS.items()}}]]}}


@pytest.fixture
def run_workflow_module():
    script = ROOT / "scripts" / "run_workflow.py"
    if not script.is_file():
        pytest.skip("scripts/run_workflow.py does not exist yet")
    import run_workflow

    return run_workflow


@pytest.mark.parametrize("failure", ["wrong-secret-key", "access-denied", "half-key-pair"])
def test_run_workflow_prints_node_errors_without_credentials(standin_env, monkeypatch, tmp_path, capsys, all_logs,
                                                             run_workflow_module, failure):
    monkeypatch.setattr(run_workflow_module, "POLL_SECONDS", 0.01)
    if failure == "access-denied":
        standin_env.inject(Fault("gateway", code="AccessDenied"))
    if failure == "half-key-pair":
        monkeypatch.setenv("VOLC_ACCESSKEY", ACCESS_KEY)
        monkeypatch.delenv("VOLC_SECRETKEY")
        with pytest.raises(errors.CredentialsError) as info:
            asyncio.run(ERASE().erase(photo(), box(), **DEFAULTS))
        exc = info.value
    else:
        exc = node_failure(monkeypatch, standin_env)
    secrets = Secrets(access_key=ACCESS_KEY if failure == "half-key-pair" else STANDIN_ACCESS_KEY,
                      secret_key=SECRET_KEY, token=TOKEN)
    entry = comfy_error_entry(exc)
    secrets.check("what ComfyUI would store in /history", json.dumps(entry))
    code, received = run_against(entry, tmp_path, run_workflow_module)
    stdout, stderr = capsys.readouterr()
    assert code == 1 and type(exc).__name__ in stderr
    for where, text in (("stdout", stdout), ("stderr", stderr), *(("request to ComfyUI", r) for r in received)):
        secrets.check(where, text)
    check_outputs(secrets, tmp_path / "out")
    check_logs(secrets, all_logs)


def test_run_workflow_saves_a_real_report_without_credentials(good_env, monkeypatch, tmp_path, capsys, all_logs,
                                                              run_workflow_module):
    monkeypatch.setattr(run_workflow_module, "POLL_SECONDS", 0.01)
    _, _, report = asyncio.run(ERASE().erase(photo(), box(), **DEFAULTS))
    entry = {"prompt": [], "status": {"status_str": "success", "completed": True, "messages": []},
             "outputs": {"4": {"images": [{"filename": "erased_00001_.png", "subfolder": "", "type": "output"}]},
                         "5": {"text": [report]}}}
    code, _ = run_against(entry, tmp_path, run_workflow_module)
    stdout, stderr = capsys.readouterr()
    assert code == 0, stderr
    good_env.check("stdout", stdout + stderr)
    files = check_outputs(good_env, tmp_path / "out")
    assert {p.name for p in files} == {"erased_00001_.png", "text_5.txt"}
    check_logs(good_env, all_logs)
