"""Credential chain order, error messages, and that nothing prints a secret."""
from __future__ import annotations

import json

import pytest

from volc_pack.utils.api.credentials import Credentials, resolve_credentials
from volc_pack.utils.api.errors import CredentialsError

AK, SK, TOKEN = "AKLTenvEXAMPLEkey9876", "env-secret-EXAMPLE-xyz", "env-token-EXAMPLE"


def _write_ini(home, ak="AKLTiniEXAMPLE1111", sk="ini-secret"):
    (home / ".volc").mkdir(exist_ok=True)
    (home / ".volc" / "credentials").write_text(f"[default]\naccess_key_id = {ak}\nsecret_access_key = {sk}\n")


def _write_config(home, ak="AKLTcfgEXAMPLE2222", sk="cfg-secret"):
    (home / ".volc").mkdir(exist_ok=True)
    (home / ".volc" / "config").write_text(json.dumps({"ak": ak, "sk": sk}))


def test_environment_wins_over_files(tmp_path):
    _write_ini(tmp_path)
    _write_config(tmp_path)
    env = {"VOLC_ACCESSKEY": AK, "VOLC_SECRETKEY": SK, "VOLC_SESSION_TOKEN": TOKEN}
    found = resolve_credentials(env, tmp_path)
    assert (found.access_key, found.secret_key, found.session_token, found.source) == (AK, SK, TOKEN, "environment")


def test_stored_file_comes_after_environment_and_before_volc_files(tmp_path):
    stored = tmp_path / "stored.json"
    stored.write_text(json.dumps({"access_key": "AKLTstoredEXAMPLE", "secret_key": "stored-secret"}))
    _write_ini(tmp_path)
    assert resolve_credentials({}, tmp_path, stored).source == "ComfyUI settings"
    assert resolve_credentials({"VOLC_ACCESSKEY": AK, "VOLC_SECRETKEY": SK}, tmp_path, stored).source == "environment"
    stored.unlink()
    assert resolve_credentials({}, tmp_path, stored).access_key == "AKLTiniEXAMPLE1111"


def test_ini_before_json_config(tmp_path):
    _write_config(tmp_path)
    assert resolve_credentials({}, tmp_path).access_key == "AKLTcfgEXAMPLE2222"
    _write_ini(tmp_path)
    found = resolve_credentials({}, tmp_path)
    assert (found.access_key, found.secret_key) == ("AKLTiniEXAMPLE1111", "ini-secret")


def test_nothing_found_says_where_it_looked_and_how_to_fix(tmp_path):
    with pytest.raises(CredentialsError) as info:
        resolve_credentials({}, tmp_path)
    text = str(info.value)
    for place in ("VOLC_ACCESSKEY", str(tmp_path / ".volc" / "credentials"), str(tmp_path / ".volc" / "config")):
        assert place in text
    assert text.split("\n")[0] == "No Volcengine key pair is set: set VOLC_ACCESSKEY and VOLC_SECRETKEY for ComfyUI."


def test_half_a_pair_in_the_environment_is_an_error_naming_the_missing_half(tmp_path):
    with pytest.raises(CredentialsError, match="VOLC_SECRETKEY is not set"):
        resolve_credentials({"VOLC_ACCESSKEY": AK}, tmp_path)


@pytest.mark.parametrize("content", ["[default]\naccess_key_id = x\n", "not an ini file at all ["])
def test_broken_ini_is_named(tmp_path, content):
    (tmp_path / ".volc").mkdir()
    (tmp_path / ".volc" / "credentials").write_text(content)
    with pytest.raises(CredentialsError, match="credentials"):
        resolve_credentials({}, tmp_path)


def test_broken_json_config_does_not_echo_its_content(tmp_path):
    (tmp_path / ".volc").mkdir()
    (tmp_path / ".volc" / "config").write_text('{"ak": "AKLTleakEXAMPLE", "sk": "leaky-secret"')
    with pytest.raises(CredentialsError) as info:
        resolve_credentials({}, tmp_path)
    assert "leaky-secret" not in str(info.value) and "AKLTleakEXAMPLE" not in str(info.value)


def test_repr_and_str_show_only_last_four_of_access_key():
    cred = Credentials(AK, SK, TOKEN, "environment")
    for text in (repr(cred), str(cred), f"{cred}", repr([cred])):
        assert SK not in text and TOKEN not in text and AK not in text
        assert "9876" in text
