"""No credential ever leaves the environment: not in logs (every logger at DEBUG, httpx/httpcore too), exception text,
repr or traceback, the node's report, the CLI's output and files (PNG metadata included), or run_workflow's error
printing, on success and on every failure path. And no node has an input a key could be typed into.

Distinctive fake credentials make any fragment (6 characters) findable. The stand-in only accepts its own public key
pair, so success paths use that pair plus a distinctive VOLC_SESSION_TOKEN; failure paths use distinctive AK/SK.
"""
from __future__ import annotations

import asyncio
import json
import pytest
import re
import volc_pack
from volc_pack.utils.api import errors
from volc_pack.utils.standin import Fault, STANDIN_SECRET_KEY
from helpers.secrets import (ACCESS_KEY, DEFAULTS, ERASE, NODE_PATHS, SECRET_KEY, SUBJECT, Secrets, TOKEN, box,
                             check_logs, photo, prepare, rendered_exception)


def test_the_leak_detector_finds_fragments_and_whole_public_keys():
    secrets = Secrets(access_key=ACCESS_KEY, secret_key=STANDIN_SECRET_KEY, token=TOKEN)
    assert secrets.found_in(f"x {ACCESS_KEY[5:12]} y") == ["access_key"]
    assert secrets.found_in(f"Credential={STANDIN_SECRET_KEY}") == ["secret_key"]
    assert secrets.found_in(TOKEN.lower()) == []  # case matters: fragments are exact
    assert secrets.found_in(f"key ending …{ACCESS_KEY[-4:]}, the secret of this access key") == []


@pytest.mark.parametrize("path", list(NODE_PATHS))
def test_erase_node_never_exposes_credentials(standin_env, monkeypatch, all_logs, path):
    kind, faults, options, expected, batch = NODE_PATHS[path]
    monkeypatch.setenv("VOLC_HTTP_LOG", "1")  # httpx's per-call lines on, so they are checked too
    cleanup: list = []
    secrets = prepare(kind, standin_env, monkeypatch, cleanup)
    standin_env.inject(*faults)
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
        assert all(r.has_session_token for r in standin_env.requests)  # the token really was in play
        assert any(r.name.startswith("httpx") for r in all_logs.records)  # and the logs really were captured
    if path == "unknown-access-key":
        assert f"…{ACCESS_KEY[-4:]}" in str(info.value)  # the key is named by its last 4 characters only


def test_subject_mask_node_never_exposes_credentials(standin_env, monkeypatch, all_logs):
    secrets = prepare("good", standin_env, monkeypatch, [])
    standin_env.inject(Fault("error", code=50429))
    _, _, report = asyncio.run(SUBJECT().segment(photo(160, 160), "none", 0, 30.0))
    secrets.check("the subject report", report)
    bad = prepare("bad", standin_env, monkeypatch, [])
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
def test_credentials_from_files_never_leak(standin_env, monkeypatch, tmp_path, all_logs, files):
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
        for name, (kind, *_) in section.items():
            assert kind != "PASSWORD" and not (kind == "STRING" and credential_like(name))
