"""OAuth 2.0 client credentials: tokens fetched on first use, refreshed
before expiry and after a 401 — against a mock token server, and against
the live server when it has the OAuth endpoints."""

from __future__ import annotations

import base64
from typing import Iterator, List
from urllib.parse import parse_qs

import httpx
import pytest

import faos
from faos import AsyncFaos, Faos, OAuthClientCredentials

from .conftest import Server, agent_json


class FakeAuthServer:
    """Issues numbered tokens; accepts only the newest one."""

    def __init__(self, expires_in: int = 3600) -> None:
        self.expires_in = expires_in
        self.issued = 0
        self.requests: List[httpx.Request] = []
        self.revoked: set = set()  # type: ignore[type-arg]

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.path == "/v1/oauth/token":
            auth = request.headers.get("authorization", "")
            if auth != "Basic " + base64.b64encode(b"cid:csecret").decode():
                return httpx.Response(401, json={"error": "invalid_client", "error_description": "bad client"})
            form = parse_qs(request.content.decode())
            assert form["grant_type"] == ["client_credentials"]
            self.issued += 1
            return httpx.Response(
                200,
                headers={"Cache-Control": "no-store"},
                json={
                    "access_token": f"tok{self.issued}",
                    "token_type": "Bearer",
                    "expires_in": self.expires_in,
                    "scope": form.get("scope", ["agents:read"])[0],
                },
            )
        if request.headers.get("authorization") != f"Bearer tok{self.issued}" or f"tok{self.issued}" in self.revoked:
            return httpx.Response(401, json={"error": {"code": "unauthenticated", "message": "expired"}, "meta": {"request_id": "req_1"}})
        return httpx.Response(200, json={"data": agent_json(), "meta": {"request_id": "req_2"}})

    def api_calls(self) -> List[httpx.Request]:
        return [r for r in self.requests if r.url.path != "/v1/oauth/token"]

    def token_calls(self) -> List[httpx.Request]:
        return [r for r in self.requests if r.url.path == "/v1/oauth/token"]


def make(fake: FakeAuthServer, **kw: object) -> Faos:
    http = httpx.Client(transport=httpx.MockTransport(fake.handler))
    return Faos(client_id="cid", client_secret="csecret", base_url="http://faos.test/v1", http_client=http, **kw)  # type: ignore[arg-type]


def test_token_fetched_on_first_use_and_reused() -> None:
    fake = FakeAuthServer()
    c = make(fake, scope="agents:read")
    assert not fake.requests  # nothing until the first call
    c.agents.get("agt_local")
    c.agents.get("agt_local")
    assert len(fake.token_calls()) == 1
    token_call = fake.token_calls()[0]
    assert token_call.headers["content-type"] == "application/x-www-form-urlencoded"
    assert parse_qs(token_call.content.decode()) == {"grant_type": ["client_credentials"], "scope": ["agents:read"]}
    assert "idempotency-key" not in token_call.headers
    assert all(r.headers["authorization"] == "Bearer tok1" for r in fake.api_calls())


def test_token_refreshed_shortly_before_expiry() -> None:
    fake = FakeAuthServer(expires_in=600)
    c = make(fake)
    now = [1000.0]
    c._engine.clock = lambda: now[0]
    c.agents.get("agt_local")
    now[0] += 600 - 29  # inside the 30 s refresh margin
    c.agents.get("agt_local")
    assert fake.issued == 2
    assert fake.api_calls()[-1].headers["authorization"] == "Bearer tok2"
    now[0] += 100
    c.agents.get("agt_local")
    assert fake.issued == 2


def test_token_refreshed_after_a_401() -> None:
    fake = FakeAuthServer()
    c = make(fake)
    c.agents.get("agt_local")
    fake.revoked.add("tok1")
    c.agents.get("agt_local")  # 401 → new token → retried once
    assert fake.issued == 2
    assert [r.headers["authorization"] for r in fake.api_calls()] == ["Bearer tok1", "Bearer tok1", "Bearer tok2"]


def test_persistent_401_is_raised_after_one_refresh() -> None:
    fake = FakeAuthServer()
    c = make(fake)
    c.agents.get("agt_local")
    fake.revoked.update({"tok1", "tok2", "tok3"})
    with pytest.raises(faos.UnauthenticatedError):
        c.agents.get("agt_local")
    assert fake.issued == 2


def test_bad_client_credentials_raise_oauth_error() -> None:
    fake = FakeAuthServer()
    http = httpx.Client(transport=httpx.MockTransport(fake.handler))
    c = Faos(client_id="cid", client_secret="wrong", base_url="http://faos.test/v1", http_client=http)
    with pytest.raises(faos.OAuthError) as info:
        c.agents.list()
    assert info.value.status == 401 and info.value.code == "invalid_client" and info.value.message == "bad client"


@pytest.mark.anyio
async def test_async_oauth_refresh() -> None:
    fake = FakeAuthServer()
    http = httpx.AsyncClient(transport=httpx.MockTransport(fake.handler))
    async with AsyncFaos(oauth=OAuthClientCredentials("cid", "csecret"), base_url="http://faos.test/v1", http_client=http) as c:
        await c.agents.get("agt_local")
        fake.revoked.add("tok1")
        await c.agents.get("agt_local")
    assert fake.issued == 2


# ------------------------------------------------------------------ live server


@pytest.fixture
def oauth_server(server: Server) -> Iterator[Server]:
    if not server.has_path("/v1/oauth/token"):
        pytest.skip("this faos binary has no /v1/oauth/token yet (OpenAPI document lacks it)")
    yield server


def test_live_oauth_client_credentials(oauth_server: Server, client: Faos) -> None:
    created = client.oauth.clients.create(
        name="sdk test", scopes=["agents:read", "agents:write"], metadata={"team": "ci"}
    )
    assert created.client_id and created.client_secret and created.object == "oauth_client"
    assert created.metadata == {"team": "ci"}
    listed = {c.id: c for c in client.oauth.clients.list(limit=100)}
    assert listed[created.id].metadata == {"team": "ci"}
    token = client.oauth.token(client_id=created.client_id, client_secret=created.client_secret)
    assert token.access_token and token.token_type.lower() == "bearer"
    assert token.expires_in and token.expires_in > 0

    with Faos(
        client_id=created.client_id, client_secret=created.client_secret, base_url=oauth_server.base_url
    ) as oauth_client:
        agent = oauth_client.agents.create(name="Made with OAuth", model="builtin/echo")
        assert oauth_client.agents.get(agent.id).id == agent.id
        with pytest.raises(faos.PermissionDeniedError):
            oauth_client.webhooks.list()
        # A revoked token is replaced on the next 401.
        engine_auth = oauth_client._engine.auth
        assert isinstance(engine_auth, OAuthClientCredentials)
        current = engine_auth._token
        assert current
        client.oauth.revoke(current, client_id=created.client_id, client_secret=created.client_secret)
        assert oauth_client.agents.get(agent.id).id == agent.id
        assert engine_auth._token != current

    scoped = client.oauth.token(client_id=created.client_id, client_secret=created.client_secret, scope="agents:read")
    assert scoped.scope == "agents:read"
    with pytest.raises(faos.OAuthError) as info:
        client.oauth.token(client_id=created.client_id, client_secret="wrong")
    assert info.value.status == 401 and info.value.code == "invalid_client"

    assert client.oauth.clients.delete(created.id).deleted is True
    with pytest.raises(faos.OAuthError):
        client.oauth.token(client_id=created.client_id, client_secret=created.client_secret)


@pytest.mark.anyio
async def test_live_oauth_async(oauth_server: Server) -> None:
    async with AsyncFaos(api_key=oauth_server.test_key, base_url=oauth_server.base_url) as admin:
        created = await admin.oauth.clients.create(name="async sdk", scopes=["agents:read"])
        assert created.client_id and created.client_secret
        async with AsyncFaos(
            client_id=created.client_id, client_secret=created.client_secret, base_url=oauth_server.base_url
        ) as c:
            page = await c.agents.list(limit=1)
            assert page.request_id
