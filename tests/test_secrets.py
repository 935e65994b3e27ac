"""No credential ever leaves the environment: not in logs (every logger at DEBUG, httpx/httpcore too), exception text,
repr or traceback, the node's report, the CLI's output and files (PNG metadata included), or run_workflow's error
printing, on success and on every failure path. And no node has an input a key could be typed into.

Distinctive fake credentials make any fragment (6 characters) findable. The stand-in only accepts its own public key
pair, so success paths use that pair plus a distinctive VOLC_SESSION_TOKEN; failure paths use distinctive AK/SK.
"""
from __future__ import annotations

import asyncio
import gc
import json
import logging
import re
import socket
import threading
import traceback
import warnings
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
import torch
import volc_pack
from PIL import Image
from volc_pack.nodes import common as node_common
from volc_pack.utils import errors
from volc_pack.utils.sandbox import SANDBOX_ACCESS_KEY, SANDBOX_SECRET_KEY, Fault

ROOT = Path(__file__).resolve().parent.parent
import erase as erase_cli

# Random-looking, so that any 6-character fragment found anywhere can only have come from these values.
ACCESS_KEY = "AKLTq7RzXw4Vb9Kp2Jd8TnM"  # fake; short of the real-key pattern on purpose
SECRET_KEY = "Sx9Qv2Lm7Np4Rt6Wy8HbZc3F"
TOKEN = "STSq4Jf3Kd8Ls2Pq9Vx5Mz7Cn1Gh"
FRAGMENT = 6

ERASE = volc_pack.NODE_CLASS_MAPPINGS["VolcengineInpaintErase"]
SUBJECT = volc_pack.NODE_CLASS_MAPPINGS["VolcengineSubjectMask"]
DEFAULTS = {name: spec[1]["default"] for name, spec in ERASE.INPUT_TYPES()["required"].items()
            if len(spec) > 1 and "default" in spec[1]}
LOGGERS = ("", "httpx", "httpcore", "httpcore.connection", "httpcore.http11", "hpack", "h11", "asyncio",
           "volc_pack", "volc_pack.utils.client", "volc_pack.utils.credentials", "volc_pack.nodes")


# --- the leak detector -------------------------------------------------------------------------------------------

class Secrets:
    """The values that must not appear. Distinctive ones are searched by every 6-character fragment; the
    stand-in's public pair (plain words such as 'secret' and 'EXAMPLE') only as whole strings."""

    def __init__(self, **values: str | None) -> None:
        self.values = {name: value for name, value in values.items() if value}

    def _fragments(self, value: str) -> list[str]:
        if value in (SANDBOX_ACCESS_KEY, SANDBOX_SECRET_KEY):
            return [value]
        return [value[i:i + FRAGMENT] for i in range(len(value) - FRAGMENT + 1)]

    def found_in(self, text: str) -> list[str]:
        return [name for name, value in self.values.items() if any(f in text for f in self._fragments(value))]

    def check(self, where: str, text: str | bytes) -> None:
        if isinstance(text, bytes):
            text = text.decode("latin-1")
        leaked = self.found_in(text)
        assert not leaked, f"{', '.join(leaked)} leaked into {where}"


def test_the_leak_detector_finds_fragments_and_whole_public_keys():
    secrets = Secrets(access_key=ACCESS_KEY, secret_key=SANDBOX_SECRET_KEY, token=TOKEN)
    assert secrets.found_in(f"x {ACCESS_KEY[5:12]} y") == ["access_key"]
    assert secrets.found_in(f"Credential={SANDBOX_SECRET_KEY}") == ["secret_key"]
    assert secrets.found_in(TOKEN.lower()) == []  # case matters: fragments are exact
    assert secrets.found_in(f"key ending …{ACCESS_KEY[-4:]}, the secret of this access key") == []


def rendered_exception(exc: BaseException) -> str:
    """Everything a host could show of an exception: str, repr, args, attributes, the formatted traceback (as
    ComfyUI's history stores it) and the same for every exception chained to it, shown or not."""
    parts, seen, current = ["".join(traceback.format_exception(exc))], set(), exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        parts += [str(current), repr(current), repr(current.args), repr(getattr(current, "__dict__", {}))]
        current = current.__cause__ or current.__context__
    return "\n".join(parts)


def check_logs(secrets: Secrets, caplog) -> None:
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    for record in caplog.records:
        secrets.check(f"log record of {record.name}", formatter.format(record) + repr(record.__dict__))
    secrets.check("captured log text", caplog.text)


@pytest.fixture
def all_logs(caplog):
    for name in LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name or None)
    return caplog


# --- environments --------------------------------------------------------------------------------------------------

@pytest.fixture
def good_env(sandbox_env, monkeypatch):
    """The stand-in's key pair (accepted) with a distinctive session token."""
    monkeypatch.setenv("VOLC_SESSION_TOKEN", TOKEN)
    return Secrets(access_key=SANDBOX_ACCESS_KEY, secret_key=SANDBOX_SECRET_KEY, token=TOKEN)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class EchoingServer:
    """A hostile or buggy endpoint that quotes back everything it received, credentials included."""

    def __init__(self, shape: str) -> None:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                # Credentials first: the client keeps only the first 200 characters of a server message.
                echo = (f"ak={ACCESS_KEY} sk={SECRET_KEY} token={TOKEN} "
                        f"X-Security-Token={self.headers.get('X-Security-Token')} "
                        f"Authorization={self.headers.get('Authorization')}")
                if outer.shape == "gateway":
                    body = {"ResponseMetadata": {"RequestId": "echo-1", "Error": {"Code": "InvalidAccessKey",
                                                                                "Message": echo}}}
                    status = 401
                else:
                    body = {"code": 50200, "message": echo, "request_id": "echo-2", "data": None}
                    status = 400
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.shape = shape
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# --- the erase node, through success and every failure path --------------------------------------------------------

def photo(height: int = 96, width: int = 96, batch: int = 1) -> torch.Tensor:
    rng = np.random.default_rng(3)
    return torch.from_numpy(rng.random((batch, height, width, 3), dtype=np.float32))


def box(batch: int = 1) -> torch.Tensor:
    mask = torch.zeros((batch, 96, 96))
    mask[:, 30:60, 30:60] = 1.0
    return mask


NODE_PATHS = {
    # id: (environment, faults, node options, expected exception or None, batch)
    "success": ("good", [], {}, None, 1),
    "success-after-rate-limit-retry": ("good", [Fault("error", code=50429)], {}, None, 1),
    "success-after-ghost-face-new-seed": ("good", [Fault("ghost_face")], {}, None, 1),
    "success-return-url": ("good", [], {"return_url": True}, None, 1),
    "one-item-failed-kept-original": ("good", [Fault("error", code=50411)], {"on_item_error": "return original"},
                                      None, 2),
    "unknown-access-key": ("bad", [], {}, errors.GatewayAuthError, 1),
    "wrong-secret-key": ("good+bad-secret", [], {}, errors.GatewayAuthError, 1),
    "access-denied": ("good", [Fault("gateway", code="AccessDenied")], {}, errors.GatewayAuthError, 1),
    "invalid-timestamp": ("good", [Fault("gateway", code="InvalidTimestamp")], {}, errors.GatewayAuthError, 1),
    "internal-error-twice": ("good", [Fault("error", code=50500, times=2)], {}, errors.ServiceError, 1),
    "ghost-face-always": ("good", [Fault("ghost_face", times=3)], {}, errors.GhostFaceError, 1),
    "connection-reset": ("good", [Fault("reset")], {}, errors.NetworkError, 1),
    "truncated-json": ("good", [Fault("truncated_json")], {}, errors.ServiceError, 1),
    "bad-base64": ("good", [Fault("bad_base64")], {}, errors.ServiceError, 1),
    "expired-url": ("good", [Fault("expired_url")], {"return_url": True}, errors.ServiceError, 1),
    "read-timeout": ("good", [Fault("latency", seconds=3)], {"timeout": 0.4}, errors.RequestTimeoutError, 1),
    "connect-refused": ("bad+closed-port", [], {}, errors.ConnectFailedError, 1),
    "half-key-pair": ("bad-access-key-only", [], {}, errors.CredentialsError, 1),
    "plain-http-endpoint": ("bad+http-endpoint", [], {}, errors.InputError, 1),
    "echoing-gateway": ("bad+echo-gateway", [], {}, errors.GatewayAuthError, 1),
    "echoing-service": ("bad+echo-service", [], {}, errors.InputRejectedError, 1),
}


def prepare(kind: str, sandbox, monkeypatch, cleanup: list) -> Secrets:
    monkeypatch.setattr(node_common, "TIMEOUT_MIN", 0.1)  # lets "read-timeout" wait 0.4 s, not 5
    monkeypatch.setenv("VOLC_SESSION_TOKEN", TOKEN)
    if kind.startswith("good"):
        secret = SECRET_KEY if kind == "good+bad-secret" else SANDBOX_SECRET_KEY
        monkeypatch.setenv("VOLC_SECRETKEY", secret)
        return Secrets(access_key=SANDBOX_ACCESS_KEY, secret_key=secret, token=TOKEN)
    monkeypatch.setenv("VOLC_ACCESSKEY", ACCESS_KEY)
    if kind == "bad-access-key-only":
        monkeypatch.delenv("VOLC_SECRETKEY")
    else:
        monkeypatch.setenv("VOLC_SECRETKEY", SECRET_KEY)
    if kind == "bad+closed-port":
        monkeypatch.setenv("VOLC_VISUAL_ENDPOINT", f"http://127.0.0.1:{closed_port()}")
    elif kind == "bad+http-endpoint":
        monkeypatch.setenv("VOLC_VISUAL_ENDPOINT", "http://example.com")
    elif kind.startswith("bad+echo-"):
        server = EchoingServer(kind.removeprefix("bad+echo-"))
        cleanup.append(server.close)
        monkeypatch.setenv("VOLC_VISUAL_ENDPOINT", server.endpoint)
    return Secrets(access_key=ACCESS_KEY, secret_key=SECRET_KEY, token=TOKEN)


@pytest.mark.parametrize("path", list(NODE_PATHS))
def test_erase_node_never_exposes_credentials(sandbox_env, monkeypatch, all_logs, path):
    kind, faults, options, expected, batch = NODE_PATHS[path]
    cleanup: list = []
    secrets = prepare(kind, sandbox_env, monkeypatch, cleanup)
    sandbox_env.inject(*faults)
    try:
        call = ERASE().erase(photo(batch=batch), box(batch), **{**DEFAULTS, **options})
        if expected is None:
            _, _, report = asyncio.run(call)
            secrets.check("the report", report)
            assert json.loads(report)[0]["variants"][0]["request_ids"][0]
        else:
            with pytest.raises(expected) as info:
                asyncio.run(call)
            secrets.check("the exception", rendered_exception(info.value))
    finally:
        for close in cleanup:
            close()
    check_logs(secrets, all_logs)
    if kind.startswith("good") and expected is None:
        assert all(r.has_session_token for r in sandbox_env.requests)  # the token really was in play
        assert any(r.name.startswith("httpx") for r in all_logs.records)  # and the logs really were captured
    if path == "unknown-access-key":
        assert f"…{ACCESS_KEY[-4:]}" in str(info.value)  # the key is named by its last 4 characters only


def test_subject_mask_node_never_exposes_credentials(sandbox_env, monkeypatch, all_logs):
    secrets = prepare("good", sandbox_env, monkeypatch, [])
    sandbox_env.inject(Fault("error", code=50429))
    _, _, report = asyncio.run(SUBJECT().segment(photo(160, 160), "none", 0, 30.0))
    secrets.check("the subject report", report)
    bad = prepare("bad", sandbox_env, monkeypatch, [])
    with pytest.raises(errors.GatewayAuthError) as info:
        asyncio.run(SUBJECT().segment(photo(160, 160), "none", 0, 30.0))
    bad.check("the subject-mask exception", rendered_exception(info.value))
    check_logs(secrets, all_logs)
    check_logs(bad, all_logs)


@pytest.mark.parametrize("files", [
    pytest.param({"config": '{"ak": "%AK%", "sk": "%SK%"'}, id="volc-config-broken-json"),
    pytest.param({"config": '{"ak": "%AK%"}'}, id="volc-config-without-sk"),
    pytest.param({"credentials": "[default]\naccess_key_id = %AK%\n"}, id="volc-credentials-without-secret"),
    pytest.param({"credentials": "[default\naccess_key_id = %AK%\nsecret_access_key = %SK%\n"},
                 id="volc-credentials-broken-ini"),
    pytest.param({"credentials": "[default]\naccess_key_id = %AK%\nsecret_access_key = %SK%\n"
                                 "session_token = %TOKEN%\n"}, id="volc-credentials-unknown-key"),
    pytest.param({"config": '{"ak": "%AK%", "sk": "%SK%"}'}, id="volc-config-unknown-key"),
])
def test_credentials_from_files_never_leak(sandbox_env, monkeypatch, tmp_path, all_logs, files):
    for name in ("VOLC_ACCESSKEY", "VOLC_SECRETKEY", "VOLC_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / ".volc").mkdir()
    for name, text in files.items():
        text = text.replace("%AK%", ACCESS_KEY).replace("%SK%", SECRET_KEY).replace("%TOKEN%", TOKEN)
        (tmp_path / ".volc" / name).write_text(text)
    with pytest.raises(errors.VolcError) as info:
        asyncio.run(ERASE().erase(photo(), box(), **DEFAULTS))
    secrets = Secrets(access_key=ACCESS_KEY, secret_key=SECRET_KEY, token=TOKEN)
    secrets.check("the exception", rendered_exception(info.value))
    check_logs(secrets, all_logs)
    assert str(tmp_path / ".volc") in str(info.value)  # the message says which file to look at


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
def test_cli_never_exposes_credentials(sandbox_env, monkeypatch, tmp_path, capsys, all_logs, path):
    kind, faults, extra, exit_code = CLI_PATHS[path]
    cleanup: list = []
    secrets = prepare(kind, sandbox_env, monkeypatch, cleanup)
    sandbox_env.inject(*faults)
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

def node_failure(monkeypatch, sandbox) -> BaseException:
    """A real failure of the erase node with distinctive credentials, as ComfyUI would catch it."""
    monkeypatch.setenv("VOLC_ACCESSKEY", SANDBOX_ACCESS_KEY)
    monkeypatch.setenv("VOLC_SECRETKEY", SECRET_KEY)
    monkeypatch.setenv("VOLC_SESSION_TOKEN", TOKEN)
    try:
        asyncio.run(ERASE().erase(photo(), box(), **DEFAULTS))
    except errors.VolcError as exc:
        return exc
    raise AssertionError("the node should have failed")


class FakeComfyUI:
    """Just enough of ComfyUI's HTTP API for run_workflow.py: upload, queue, history, view."""

    def __init__(self, entry: dict) -> None:
        self.entry, self.received = entry, []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def reply(self, body: object, kind: str = "application/json") -> None:
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                outer.received.append(self.path.encode() + self.rfile.read(int(self.headers["Content-Length"])))
                if self.path == "/upload/image":
                    return self.reply({"name": "uploaded.png", "subfolder": "", "type": "input"})
                self.reply({"prompt_id": "p-1", "number": 1, "node_errors": {}})

            def do_GET(self) -> None:
                outer.received.append(self.path.encode())
                if self.path.startswith("/history/"):
                    return self.reply({"p-1": outer.entry})
                with Image.new("RGB", (8, 8)) as image:
                    from io import BytesIO

                    buffer = BytesIO()
                    image.save(buffer, format="PNG")
                self.reply(buffer.getvalue(), "image/png")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


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
def test_run_workflow_prints_node_errors_without_credentials(sandbox_env, monkeypatch, tmp_path, capsys, all_logs,
                                                             run_workflow_module, failure):
    monkeypatch.setattr(run_workflow_module, "POLL_SECONDS", 0.01)
    if failure == "access-denied":
        sandbox_env.inject(Fault("gateway", code="AccessDenied"))
    if failure == "half-key-pair":
        monkeypatch.setenv("VOLC_ACCESSKEY", ACCESS_KEY)
        monkeypatch.delenv("VOLC_SECRETKEY")
        with pytest.raises(errors.CredentialsError) as info:
            asyncio.run(ERASE().erase(photo(), box(), **DEFAULTS))
        exc = info.value
    else:
        exc = node_failure(monkeypatch, sandbox_env)
    secrets = Secrets(access_key=ACCESS_KEY if failure == "half-key-pair" else SANDBOX_ACCESS_KEY,
                      secret_key=SECRET_KEY, token=TOKEN)
    entry = comfy_error_entry(exc)
    secrets.check("what ComfyUI would store in /history", json.dumps(entry))
    comfy = FakeComfyUI(entry)
    try:
        code = run_workflow_module.main([str(ROOT / "workflows" / "api" / "erase_painted_area.json"), "--server",
                                         comfy.url, "--out", str(tmp_path / "out")])
    finally:
        comfy.close()
    stdout, stderr = capsys.readouterr()
    assert code == 1 and type(exc).__name__ in stderr
    for where, text in (("stdout", stdout), ("stderr", stderr), *(("request to ComfyUI", r) for r in comfy.received)):
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
    comfy = FakeComfyUI(entry)
    try:
        code = run_workflow_module.main([str(ROOT / "workflows" / "api" / "erase_painted_area.json"), "--server",
                                         comfy.url, "--out", str(tmp_path / "out")])
    finally:
        comfy.close()
    stdout, stderr = capsys.readouterr()
    assert code == 0, stderr
    good_env.check("stdout", stdout + stderr)
    files = check_outputs(good_env, tmp_path / "out")
    assert {p.name for p in files} == {"erased_00001_.png", "text_5.txt"}
    check_logs(good_env, all_logs)


# --- no node has an input a credential could be typed into ----------------------------------------------------------

CREDENTIAL_WORDS = ("key", "secret", "token", "password", "passwd", "credential", "auth", "signature")
CREDENTIAL_TOKENS = {"ak", "sk", "aksk", "sts", "pwd"}


def credential_like(name: str) -> bool:
    lower = name.lower()
    words = set(re.split(r"[^a-z0-9]+|(?<=[a-z])(?=[0-9])", lower)) | set(re.findall(r"[a-z]+", lower))
    return any(word in lower for word in CREDENTIAL_WORDS) or bool(words & CREDENTIAL_TOKENS)


@pytest.mark.parametrize("name,flagged", [
    ("access_key", True), ("secretKey", True), ("VOLC_SESSION_TOKEN", True), ("ak", True), ("sk", True),
    ("volc_ak", True), ("ak_sk", True), ("api-password", True), ("credentials", True),
    ("mask", False), ("mask_grow", False), ("steps", False), ("seed", False), ("task", False), ("quality", False),
    ("logo_text_content", False), ("on_ghost_face", False),
])
def test_the_credential_name_check_itself(name, flagged):
    assert credential_like(name) is flagged


@pytest.mark.parametrize("node", sorted(volc_pack.NODE_CLASS_MAPPINGS))
def test_no_node_has_a_credential_like_input(node, monkeypatch):
    monkeypatch.setenv("VOLC_ACCESSKEY", ACCESS_KEY)
    monkeypatch.setenv("VOLC_SECRETKEY", SECRET_KEY)
    monkeypatch.setenv("VOLC_SESSION_TOKEN", TOKEN)
    cls = volc_pack.NODE_CLASS_MAPPINGS[node]
    spec = cls.INPUT_TYPES()
    names = [name for section in spec.values() for name in section]
    assert names, f"{node} declares no inputs at all"
    assert not [n for n in names if credential_like(n)], f"{node} has a credential-like input"
    # Nor may a default, a choice or a tooltip carry a credential read from the environment.
    Secrets(access_key=ACCESS_KEY, secret_key=SECRET_KEY, token=TOKEN).check(f"{node}.INPUT_TYPES()",
                                                                             json.dumps(spec, default=repr))
    for section in spec.values():
        for name, (kind, *rest) in section.items():
            assert kind != "PASSWORD" and not (kind == "STRING" and credential_like(name))
