"""Error mapping (live server) and retries (a scripted local server)."""

from __future__ import annotations

import json
import time
from typing import Callable, Dict, Tuple

import httpx
import pytest

import faos
from faos import Faos
from faos._core import Call, parse_object
from faos._models import Agent

from .conftest import LocalServer, Received, Responder, Server, agent_json, envelope


def test_not_found_carries_everything(client: Faos) -> None:
    with pytest.raises(faos.NotFoundError) as info:
        client.agents.get("agt_doesnotexist")
    err = info.value
    assert isinstance(err, faos.APIError)
    assert err.status == 404 and err.code == "not_found"
    assert err.message and err.param == "id"
    assert err.request_id and err.request_id.startswith("req_")
    assert err.headers["x-request-id"] == err.request_id
    assert "404 not_found" in str(err)


def test_invalid_request_names_the_param(client: Faos) -> None:
    with pytest.raises(faos.InvalidRequestError) as info:
        client.agents.create(name="x", model="nope/none")
    assert info.value.status == 400 and info.value.param == "model"
    with pytest.raises(faos.InvalidRequestError) as info:
        client.agents.list(limit=1000)
    assert info.value.param == "limit"
    with pytest.raises(faos.InvalidRequestError) as info:
        client.agents.list(cursor="garbage")
    assert info.value.param == "cursor"


def test_unauthenticated(server: Server) -> None:
    with Faos(api_key="sk_test_wrong", base_url=server.base_url) as bad:
        with pytest.raises(faos.UnauthenticatedError) as info:
            bad.agents.list()
    assert info.value.status == 401 and info.value.code == "unauthenticated"
    assert faos.AuthenticationError is faos.UnauthenticatedError


def test_payload_too_large(client: Faos) -> None:
    with pytest.raises(faos.PayloadTooLargeError) as info:
        client.agents.create(name="big", instructions="x" * (2 * 1024 * 1024))
    assert info.value.status == 413


def test_method_not_allowed(client: Faos) -> None:
    with pytest.raises(faos.MethodNotAllowedError) as info:
        client._request(Call("PUT", "/agents", parse_object(Agent)))
    assert info.value.status == 405


# ------------------------------------------------------------------ retries


def scripted(*answers: Tuple[int, Dict[str, str], bytes]) -> Responder:
    def respond(request: Received, count: int) -> Tuple[int, Dict[str, str], bytes]:
        return answers[min(count, len(answers)) - 1]

    return respond


OK = (201, {"Content-Type": "application/json"}, envelope(agent_json()))


def error_body(code: str, message: str = "m") -> bytes:
    return json.dumps({"error": {"code": code, "message": message}, "meta": {"request_id": "req_x"}}).encode()


def test_retry_on_429_honours_retry_after_and_reuses_the_idempotency_key(
    local_server: Callable[[Responder], LocalServer],
) -> None:
    local = local_server(
        scripted((429, {"Retry-After": "1", "X-Request-Id": "req_x"}, error_body("rate_limit_exceeded")), OK)
    )
    with Faos(api_key="sk_test_x", base_url=local.url + "/v1") as c:
        started = time.monotonic()
        agent = c.agents.create(name="Local")
        elapsed = time.monotonic() - started
    assert agent.id == "agt_local"
    assert elapsed >= 0.9, "waited for Retry-After"
    assert len(local.received) == 2
    first, second = local.received
    assert first.path == second.path == "/v1/agents"
    key = first.headers["idempotency-key"]
    assert key and second.headers["idempotency-key"] == key
    assert first.headers["authorization"] == "Bearer sk_test_x"
    assert json.loads(first.body) == {"name": "Local"}


def test_user_idempotency_key_is_sent(local_server: Callable[[Responder], LocalServer]) -> None:
    local = local_server(scripted((503, {"Retry-After": "0"}, error_body("unavailable")), OK))
    with Faos(api_key="sk_test_x", base_url=local.url + "/v1") as c:
        c.agents.create(name="Local", idempotency_key="mine-1")
    assert [r.headers["idempotency-key"] for r in local.received] == ["mine-1", "mine-1"]


def test_each_logical_post_gets_its_own_key(local_server: Callable[[Responder], LocalServer]) -> None:
    local = local_server(scripted(OK))
    with Faos(api_key="sk_test_x", base_url=local.url + "/v1") as c:
        c.agents.create(name="A")
        c.agents.create(name="B")
        c.agents.get("agt_local")
    keys = [r.headers.get("idempotency-key") for r in local.received]
    assert keys[0] and keys[1] and keys[0] != keys[1] and keys[2] is None


def test_retries_5xx_then_gives_up(local_server: Callable[[Responder], LocalServer]) -> None:
    local = local_server(scripted((500, {"Retry-After": "0"}, error_body("internal_error"))))
    with Faos(api_key="sk_test_x", base_url=local.url + "/v1", max_retries=3) as c:
        with pytest.raises(faos.InternalServerError) as info:
            c.agents.get("agt_local")
    assert len(local.received) == 4
    assert info.value.status == 500 and info.value.request_id == "req_x"


def test_no_retry_on_4xx(local_server: Callable[[Responder], LocalServer]) -> None:
    local = local_server(scripted((404, {}, error_body("not_found"))))
    with Faos(api_key="sk_test_x", base_url=local.url + "/v1") as c:
        with pytest.raises(faos.NotFoundError):
            c.agents.get("agt_local")
    assert len(local.received) == 1


def test_long_retry_after_is_not_waited_for(local_server: Callable[[Responder], LocalServer]) -> None:
    local = local_server(scripted((429, {"Retry-After": "3600"}, error_body("rate_limit_exceeded"))))
    with Faos(api_key="sk_test_x", base_url=local.url + "/v1") as c:
        with pytest.raises(faos.RateLimitError) as info:
            c.agents.list()
    assert info.value.retry_after == 3600
    assert len(local.received) == 1


def test_unknown_error_shapes_map_by_status(local_server: Callable[[Responder], LocalServer]) -> None:
    local = local_server(scripted((502, {}, b"<html>bad gateway</html>")))
    with Faos(api_key="sk_test_x", base_url=local.url + "/v1", max_retries=0) as c:
        with pytest.raises(faos.ModelError) as info:
            c.agents.list()
    assert info.value.code == "model_error" and "bad gateway" in info.value.message


def test_network_errors_are_retried_then_raised() -> None:
    from .conftest import free_port

    port = free_port()  # nothing listens here
    with Faos(api_key="sk_test_x", base_url=f"http://127.0.0.1:{port}/v1", max_retries=2) as c:
        started = time.monotonic()
        with pytest.raises(faos.APIConnectionError):
            c.agents.list()
        assert time.monotonic() - started >= 0.5  # two backoffs


def test_network_error_retry_succeeds() -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if len(calls) == 1:
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(200, json={"data": agent_json(), "meta": {"request_id": "req_1"}})

    http = httpx.Client(transport=httpx.MockTransport(handler))
    with Faos(api_key="sk_test_x", base_url="http://faos.test/v1", http_client=http) as c:
        assert c.agents.update("agt_local", name="x").id == "agt_local"
    assert len(calls) == 2 and calls[0].method == "PATCH"
    assert "idempotency-key" not in calls[0].headers  # only POSTs carry one


def test_live_rate_limit_maps_to_rate_limit_error(server: Server) -> None:
    """A real 429 from the server (an organization limited to 2 requests a
    minute), when this server enforces rate limits."""
    import subprocess
    import uuid

    org = f"rl-{uuid.uuid4().hex[:8]}"
    key = subprocess.run(
        [server.bin, "keys", "create", "--database", server.database, "--org", org, "--mode", "test"],
        check=True, capture_output=True, text=True, timeout=60,
    ).stdout.strip()  # fmt: skip
    subprocess.run(
        [server.bin, "orgs", "set-plan", "--database", server.database, "--org", org, "--plan", "enterprise",
         "--per-minute", "2", "--per-day", "1000"],
        check=True, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    probe = httpx.get(server.base_url + "/agents", headers={"Authorization": f"Bearer {key}"})
    if "x-ratelimit-limit" not in probe.headers:
        pytest.skip("this faos binary does not enforce rate limits yet (no X-RateLimit-Limit header)")
    with Faos(api_key=key, base_url=server.base_url, max_retries=0) as c:
        with pytest.raises(faos.RateLimitError) as info:
            for _ in range(5):
                c.agents.list(limit=1)
    err = info.value
    assert err.status == 429 and err.code == "rate_limit_exceeded" and err.request_id
    assert err.retry_after is not None and err.retry_after >= 0
