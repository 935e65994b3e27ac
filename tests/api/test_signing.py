"""The signer against the official SDK's published vectors and, when installed, the SDK itself."""
from __future__ import annotations

import random
import re
import string
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import quote

import pytest

from volc_pack.utils.api.signing import canonical_query, parse_authorization, sign_request, verify_request

VECTORS = (Path(__file__).resolve().parents[1] / "fixtures" / "sigv4-vectors.txt").read_text(encoding="utf-8")
PINNED = datetime(2024, 3, 14, 11, 15, 38, tzinfo=timezone.utc)


def _vectors():
    for block in VECTORS.split("\nVECTOR ")[1:]:
        def field(name, block=block):
            match = re.search(rf"^{name}\s*: (.*)$", block, re.M)
            return match.group(1).strip() if match else None
        yield pytest.param({
            "url": field("Request URL").split()[0], "body": field(r"Body \(exact bytes\)").encode(),
            "ak": field("AK"), "sk": field("SK"), "token": field("Session token"),
            "authorization": field("Authorization"), "sha": field("X-Content-Sha256"),
        }, id="vector" + block.split(":", 1)[0])


def test_fixture_has_six_vectors():
    assert len(list(_vectors())) == 6


@pytest.mark.parametrize("vector", list(_vectors()))
def test_reproduces_sdk_vector(vector):
    headers = sign_request("POST", vector["url"], {"Content-Type": "application/json"}, vector["body"],
                           vector["ak"], vector["sk"], session_token=vector["token"], now=PINNED)
    assert headers["Authorization"] == vector["authorization"]
    assert headers["X-Content-Sha256"] == vector["sha"]
    assert headers["X-Date"] == "20240314T111538Z"
    assert ("X-Security-Token" in headers) == bool(vector["token"])


def test_verify_accepts_own_signature_and_rejects_tampering():
    url = "http://127.0.0.1:8443/?Action=CVProcess&Version=2022-08-31"
    body = b'{"req_key":"saliency_seg"}'
    headers = sign_request("POST", url, {"Content-Type": "application/json"}, body, "AK1", "SK1")
    auth = parse_authorization(headers["Authorization"])
    query = "Action=CVProcess&Version=2022-08-31"
    assert verify_request("POST", "/", query, headers, body, auth, "SK1")
    assert not verify_request("POST", "/", query, headers, body + b" ", auth, "SK1")
    assert not verify_request("POST", "/", query, headers, body, auth, "SK2")
    assert not verify_request("POST", "/", "Action=Img2ImgInpainting&Version=2022-08-31", headers, body, auth, "SK1")


def test_parse_authorization_rejects_malformed():
    assert parse_authorization("Bearer abc") is None
    assert parse_authorization("HMAC-SHA256 Credential=a/b/c, SignedHeaders=x, Signature=y") is None


def test_canonical_query_escapes_like_sdk():
    assert canonical_query("b=a%20b&a=x%2Fy&c=~-_.") == "a=x%2Fy&b=a%20b&c=~-_."


def _random_text(rng, size):
    alphabet = string.ascii_letters + string.digits + " /+=&?%-_.~中文é😀"
    return "".join(rng.choice(alphabet) for _ in range(size))


def test_matches_official_sdk_on_random_requests():
    pytest.importorskip("volcengine", reason="install the test extra: pip install volcengine==1.0.229")
    from volcengine.Credentials import Credentials as SdkCredentials
    from volcengine.auth.SignerV4 import SignerV4
    from volcengine.base.Request import Request

    rng = random.Random(20261123)
    for i in range(300):
        host = rng.choice(["visual.volcengineapi.com", "visual.volcengineapi.com:443", "127.0.0.1:8080",
                           "example.com:80", "h.example:8443"])
        params = {_random_text(rng, rng.randint(1, 6)): _random_text(rng, rng.randint(0, 8))
                  for _ in range(rng.randint(1, 4))}
        body = _random_text(rng, rng.randint(0, 60)).encode("utf-8")
        ak, sk = "AK" + _random_text(rng, 10), _random_text(rng, 30)
        token = _random_text(rng, 12) if i % 3 == 0 else None
        region, service = rng.choice([("cn-north-1", "cv"), ("cn-beijing", "iam")])

        request = Request()
        request.method, request.path, request.host, request.body = "POST", "/", host, body
        request.query = dict(params)
        request.headers = {"Host": host, "Content-Type": "application/json"}
        sdk_credentials = SdkCredentials(ak, sk, service, region, token or "")
        # The SDK reads the time itself; pin ours to the date it stamped.
        SignerV4.sign(request, sdk_credentials)
        now = datetime.strptime(request.headers["X-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
        query = "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in params.items())
        ours = sign_request("POST", f"http://{host}/?{query}", {"Content-Type": "application/json"}, body, ak, sk,
                            region=region, service=service, session_token=token, now=now)
        assert ours["Authorization"] == request.headers["Authorization"], (host, params, body)
        assert ours.get("X-Security-Token") == request.headers.get("X-Security-Token")
