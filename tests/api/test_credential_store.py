"""The settings panel's key store: shape checks, private atomic file, load/delete, and a status that never leaks."""
from __future__ import annotations

import json
import logging
import os
import stat
from pathlib import Path

import pytest
from volc_pack.utils.api import credential_store as store
from volc_pack.utils.api.credentials import resolve_credentials
from volc_pack.utils.api.errors import CredentialsError

AK = "AKLTEXAMPLEaccessKEY0123WXYZ"
SK = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA=="
TOKEN = "STStoken-" + "t" * 300
posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def creds(**overrides) -> store.StoredCredentials:
    return store.validate({"access_key": AK, "secret_key": SK, **overrides})


# --- validation ---------------------------------------------------------------------------------------------------

def test_validate_accepts_a_pair_and_drops_surrounding_whitespace():
    got = store.validate({"access_key": f"  {AK}\n", "secret_key": f"\t{SK} ", "session_token": ""})
    assert (got.access_key, got.secret_key, got.session_token) == (AK, SK, None)
    assert store.validate({"access_key": AK, "secret_key": SK, "session_token": TOKEN}).session_token == TOKEN


def test_validate_accepts_the_length_limits_exactly():
    got = store.validate({"access_key": "A" * 128, "secret_key": "s" * 256, "session_token": "t" * 4096})
    assert len(got.access_key) == 128 and len(got.secret_key) == 256 and len(got.session_token) == 4096


@pytest.mark.parametrize("data, field, words", [
    ({"secret_key": SK}, "access_key", "access key must be text"),
    ({"access_key": "   ", "secret_key": SK}, "access_key", "access key is empty"),
    ({"access_key": "A" * 129, "secret_key": SK}, "access_key", "too long (129 characters; at most 128)"),
    ({"access_key": "AKLT abc", "secret_key": SK}, "access_key", "printable ASCII characters without spaces"),
    ({"access_key": "AKLTé", "secret_key": SK}, "access_key", "printable ASCII"),
    ({"access_key": "AK\x00LT", "secret_key": SK}, "access_key", "printable ASCII"),
    ({"access_key": 12345, "secret_key": SK}, "access_key", "must be text"),
    ({"access_key": AK}, "secret_key", "secret key must be text"),
    ({"access_key": AK, "secret_key": ""}, "secret_key", "secret key is empty"),
    ({"access_key": AK, "secret_key": "s" * 257}, "secret_key", "at most 256"),
    ({"access_key": AK, "secret_key": "sec ret"}, "secret_key", "without spaces"),
    ({"access_key": AK, "secret_key": SK, "session_token": "t" * 4097}, "session_token", "at most 4096"),
    ({"access_key": AK, "secret_key": SK, "session_token": ["x"]}, "session_token", "must be text"),
    ({"access_key": AK, "secret_key": SK, "region": "cn-north-1"}, "region", "Unknown field 'region'"),
])
def test_validate_names_the_bad_field_without_echoing_values(data, field, words):
    with pytest.raises(store.StoreValidationError) as info:
        store.validate(data)
    assert info.value.field == field
    assert words in info.value.message
    for value in (AK, SK, "sec ret", "AKLT abc"):
        assert value not in info.value.message


@pytest.mark.parametrize("data", [None, [AK, SK], "AK:SK", 3])
def test_validate_wants_an_object(data):
    with pytest.raises(store.StoreValidationError, match="JSON object"):
        store.validate(data)


def test_stored_credentials_repr_hides_the_secret():
    text = repr(creds(session_token=TOKEN)) + str(creds())
    assert SK not in text and AK not in text and TOKEN not in text and "WXYZ" in text


# --- saving --------------------------------------------------------------------------------------------------------

@posix_only
def test_save_writes_an_owner_only_file_in_an_owner_only_directory(tmp_path):
    path = store.default_store_path(tmp_path / "user")
    old_umask = os.umask(0)  # even with a permissive umask nothing may be group/world readable
    try:
        store.save(path, creds(session_token=TOKEN))
    finally:
        os.umask(old_umask)
    assert mode(path) == 0o600
    assert mode(path.parent) == 0o700
    assert json.loads(path.read_text()) == {"access_key": AK, "secret_key": SK, "session_token": TOKEN}


@posix_only
def test_save_tightens_a_loose_existing_directory_and_file(tmp_path):
    path = tmp_path / "volcengine" / "credentials.json"
    path.parent.mkdir(mode=0o755)
    os.chmod(path.parent, 0o755)
    path.write_text("{}")
    os.chmod(path, 0o644)
    store.save(path, creds())
    assert mode(path) == 0o600 and mode(path.parent) == 0o700


def test_saved_file_is_what_the_credentials_chain_reads(tmp_path):
    path = store.default_store_path(tmp_path / "user")
    store.save(path, creds(session_token=TOKEN))
    found = resolve_credentials(environ={}, home=tmp_path / "home", stored=path)
    assert (found.access_key, found.secret_key, found.session_token, found.source) == (
        AK, SK, TOKEN, "ComfyUI settings")


def test_save_replaces_the_previous_pair(tmp_path):
    path = tmp_path / "c.json"
    store.save(path, creds())
    store.save(path, store.validate({"access_key": "AKLTsecondKEY9999", "secret_key": "other"}))
    assert store.load(path).access_key == "AKLTsecondKEY9999"
    assert [p.name for p in tmp_path.iterdir()] == ["c.json"]


@pytest.mark.parametrize("broken", ["fsync", "replace"])
def test_a_failed_write_leaves_the_old_file_intact_and_no_temp_file(tmp_path, monkeypatch, broken):
    path = tmp_path / "volcengine" / "credentials.json"
    store.save(path, creds())
    before = path.read_bytes()

    def fail(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(store.os, broken, fail)
    with pytest.raises(OSError):
        store.save(path, store.validate({"access_key": "AKLTnewKEY00000", "secret_key": "new-secret"}))
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == ["credentials.json"]


def test_the_temp_file_is_in_the_same_directory_so_the_rename_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "volcengine" / "credentials.json"
    seen = []
    real_replace = os.replace

    def spy(src, dst):
        seen.append((Path(src), Path(dst)))
        assert stat.S_IMODE(os.stat(src).st_mode) == 0o600 or os.name != "posix"
        real_replace(src, dst)

    monkeypatch.setattr(store.os, "replace", spy)
    store.save(path, creds())
    assert len(seen) == 1 and seen[0][0].parent == path.parent and seen[0][1] == path


def test_default_store_path_is_beside_not_inside_the_users_own_folder(tmp_path):
    # ComfyUI's /userdata API serves <user dir>/<user>/..., e.g. <user dir>/default/; user ids carry a uuid suffix.
    path = store.default_store_path(tmp_path)
    assert path == tmp_path / "volcengine" / "credentials.json"
    assert "default" not in path.parts


# --- load / delete ---------------------------------------------------------------------------------------------------

def test_load_and_delete(tmp_path):
    path = tmp_path / "c.json"
    assert store.load(path) is None
    assert store.delete(path) is False
    store.save(path, creds())
    assert store.load(path).secret_key == SK
    assert store.delete(path) is True
    assert not path.exists() and store.load(path) is None


@pytest.mark.parametrize("content", ["not json", json.dumps({"access_key": AK}), json.dumps([AK, SK]),
                                     json.dumps({"access_key": "has space " + AK, "secret_key": SK})])
def test_load_reports_a_malformed_file_without_its_content(tmp_path, content):
    path = tmp_path / "c.json"
    path.write_text(content)
    with pytest.raises(CredentialsError) as info:
        store.load(path)
    assert str(path) in str(info.value)
    assert AK not in str(info.value) and SK not in str(info.value)


# --- status ----------------------------------------------------------------------------------------------------------

def assert_no_key_material(obj):
    text = json.dumps(obj, ensure_ascii=False)
    for secret in (SK, TOKEN, AK, AK[:-4], "STANDINsecret"):
        assert secret not in text


def test_status_when_nothing_is_configured(tmp_path):
    got = store.status({}, tmp_path, tmp_path / "c.json")
    assert got["configured"] is False and got["source"] is None and got["key_hint"] is None
    assert got["stored"] is False and "No Volcengine credentials found" in got["error"]


def test_status_of_a_stored_pair_shows_only_the_last_four_characters(tmp_path):
    path = tmp_path / "c.json"
    store.save(path, creds(session_token=TOKEN))
    got = store.status({}, tmp_path / "home", path)
    assert got["configured"] is True and got["source"] == "ComfyUI settings"
    assert got["key_hint"] == "…WXYZ" and got["stored_key_hint"] == "…WXYZ"
    assert got["session_token"] is True and got["shadowed"] is False and got["error"] is None
    if os.name == "posix":
        assert got["stored_private"] is True
    assert_no_key_material(got)


def test_status_says_the_environment_shadows_the_stored_pair(tmp_path):
    path = tmp_path / "c.json"
    store.save(path, creds())
    env = {"VOLC_ACCESSKEY": "AKLTfromENVIRONMENT7777", "VOLC_SECRETKEY": "STANDINsecret"}
    got = store.status(env, tmp_path, path)
    assert (got["source"], got["key_hint"], got["stored_key_hint"], got["shadowed"]) == (
        "environment", "…7777", "…WXYZ", True)
    assert "AKLTfromENVIRONMENT" not in json.dumps(got, ensure_ascii=False)
    assert_no_key_material(got)


def test_status_names_a_volc_file_as_the_source(tmp_path):
    volc = tmp_path / ".volc"
    volc.mkdir()
    (volc / "credentials").write_text(f"[default]\naccess_key_id = {AK}\nsecret_access_key = {SK}\n")
    got = store.status({}, tmp_path, tmp_path / "missing.json")
    assert got["source"] == "~/.volc/credentials" and got["key_hint"] == "…WXYZ" and got["stored"] is False
    assert_no_key_material(got)


def test_status_reports_a_broken_stored_file(tmp_path):
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"access_key": AK}))
    got = store.status({}, tmp_path, path)
    assert got["configured"] is False and got["stored"] is True
    assert got["error"] == "The Settings > Volcengine file lacks 'access_key' or 'secret_key'."
    assert str(tmp_path) not in json.dumps(got)
    assert_no_key_material(got)


@posix_only
def test_status_warns_when_the_file_became_readable_by_others(tmp_path):
    path = tmp_path / "c.json"
    store.save(path, creds())
    os.chmod(path, 0o644)
    assert store.status({}, tmp_path, path)["stored_private"] is False


def test_status_without_a_settings_file_leaves_that_place_out(tmp_path):
    got = store.status({}, tmp_path / "home", None)
    assert got["stored"] is False and "ComfyUI's settings" not in got["error"]


@posix_only
def test_the_nodes_do_not_read_a_pair_through_a_symlinked_folder(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "volcengine").symlink_to(elsewhere, target_is_directory=True)
    path = tmp_path / "volcengine" / "credentials.json"
    (elsewhere / "credentials.json").write_text(json.dumps({"access_key": AK, "secret_key": SK}))
    with pytest.raises(CredentialsError, match="symbolic link") as info:
        resolve_credentials(environ={}, home=tmp_path / "home", stored=path)
    assert "real folder" in str(info.value)
    for action in (store.load, store.delete, lambda p: store.save(p, creds())):
        with pytest.raises(CredentialsError, match="symbolic link"):
            action(path)
    assert (elsewhere / "credentials.json").exists()


def test_nothing_secret_is_logged(tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    path = tmp_path / "c.json"
    store.save(path, creds(session_token=TOKEN))
    store.load(path)
    store.status({}, tmp_path, path)
    store.delete(path)
    assert "…WXYZ" in caplog.text  # it did log, with the hint only
    for secret in (SK, TOKEN, AK):
        assert secret not in caplog.text
