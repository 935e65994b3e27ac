"""The Settings > Volcengine routes served by aiohttp's test server (real HTTP, no ComfyUI), for tests/api."""
from __future__ import annotations

import asyncio
import json

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from volc_pack.utils.api import credential_routes
from volc_pack.utils.api import credential_store as store
from volc_pack.utils.api.credential_routes import CHECK_ROUTE, ROUTE
from volc_pack.utils.standin import STANDIN_SECRET_KEY

AK = "AKLTEXAMPLEaccessKEY0123WXYZ"
SK = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA=="
TOKEN = "STStoken-" + "t" * 200
SECRETS = (SK, TOKEN, STANDIN_SECRET_KEY, "wrong-secret-for-the-standin")
# Every handler, as (method, path, body): what a rebinding or cross-site page would try.
EVERY_ROUTE = [("GET", ROUTE, None), ("POST", ROUTE, {"access_key": "AKLTattackerKEY666", "secret_key": "attacker"}),
               ("DELETE", ROUTE, None), ("POST", CHECK_ROUTE, {})]


class Session:
    """A client for one test app; remembers every response body so tests can assert none leaks a secret."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.bodies: list[str] = []

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.client.server.port}"

    async def call(self, method: str, path: str = ROUTE, **kwargs) -> tuple[int, dict]:
        response = await self.client.request(method, path, **kwargs)
        text = await response.text()
        self.bodies.append(text)
        assert response.headers.get("Cache-Control") == "no-store"
        return response.status, json.loads(text)

    async def save(self, body, **kwargs) -> tuple[int, dict]:
        return await self.call("POST", json=body, **kwargs)


def serve(scenario, tmp_path, **options):
    """Serve the routes with an isolated environment/home, run `scenario(session, path)`, check no body leaked a
    secret or a server path (the store path, the temporary home)."""
    path = store.default_store_path(tmp_path / "user")
    options.setdefault("environ", {})
    options.setdefault("home", tmp_path / "home")

    async def main():
        routes = web.RouteTableDef()
        credential_routes.register(routes, path, **options)
        app = web.Application()
        app.add_routes(routes)
        async with TestClient(TestServer(app)) as client:
            session = Session(client)
            result = await scenario(session, path)
            for body in session.bodies:
                for secret in SECRETS:
                    assert secret not in body
                assert AK not in body and AK[:-4] not in body
                assert str(tmp_path) not in body and json.dumps(str(tmp_path))[1:-1] not in body
            return result

    return asyncio.run(main())
