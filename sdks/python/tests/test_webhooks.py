"""Webhook endpoints, deliveries, and signature verification — including a
real delivery from the server to a receiver in the test."""

from __future__ import annotations

import base64
import json
import time
from typing import Callable, Dict, Tuple

import pytest

import faos
from faos import Faos, WebhookVerificationError, webhooks

from .conftest import LocalServer, Received, Responder, wait_until

SECRET = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()


def ok(request: Received, count: int) -> Tuple[int, Dict[str, str], bytes]:
    return 200, {}, b"ok"


def signed(body: bytes, *, secret: str = SECRET, ts: int = 0, msg_id: str = "evt_1") -> Dict[str, str]:
    ts = ts or int(time.time())
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(ts),
        "webhook-signature": webhooks.sign(secret, msg_id, ts, body),
    }


BODY = json.dumps({"id": "evt_1", "object": "event", "type": "agent.created", "created_at": "x", "data": {"id": "agt_1"}}).encode()


def test_verify_accepts_a_good_signature() -> None:
    event = webhooks.verify(BODY, signed(BODY), SECRET)
    assert event.id == "evt_1" and event.type == "agent.created" and event.data == {"id": "agt_1"}
    # Header names in any case, the body as text, several signatures, several secrets.
    headers = {k.upper(): v for k, v in signed(BODY).items()}
    headers["WEBHOOK-SIGNATURE"] = "v1,bm90IGl0 " + headers["WEBHOOK-SIGNATURE"]
    assert webhooks.verify(BODY.decode(), headers, ["whsec_" + base64.b64encode(b"other").decode(), SECRET]).id == "evt_1"


def test_verify_rejects_tampering_and_wrong_secrets() -> None:
    headers = signed(BODY)
    with pytest.raises(WebhookVerificationError):
        webhooks.verify(BODY.replace(b"agt_1", b"agt_2"), headers, SECRET)
    with pytest.raises(WebhookVerificationError):
        webhooks.verify(BODY, headers, "whsec_" + base64.b64encode(b"wrong").decode())
    with pytest.raises(WebhookVerificationError):
        webhooks.verify(BODY, {**headers, "webhook-id": "evt_2"}, SECRET)
    with pytest.raises(WebhookVerificationError):
        webhooks.verify(BODY, {**headers, "webhook-signature": "v2," + headers["webhook-signature"][3:]}, SECRET)


def test_verify_rejects_old_and_future_timestamps() -> None:
    old = int(time.time()) - 301
    with pytest.raises(WebhookVerificationError, match="too old"):
        webhooks.verify(BODY, signed(BODY, ts=old), SECRET)
    with pytest.raises(WebhookVerificationError, match="too new"):
        webhooks.verify(BODY, signed(BODY, ts=int(time.time()) + 600), SECRET)
    assert webhooks.verify(BODY, signed(BODY, ts=old), SECRET, tolerance=600).id == "evt_1"


def test_verify_rejects_missing_headers() -> None:
    headers = signed(BODY)
    for name in list(headers):
        partial = {k: v for k, v in headers.items() if k != name}
        with pytest.raises(WebhookVerificationError, match="Missing"):
            webhooks.verify(BODY, partial, SECRET)
    with pytest.raises(WebhookVerificationError):
        webhooks.verify(BODY, {**headers, "webhook-timestamp": "soon"}, SECRET)


def test_endpoints_crud(client: Faos) -> None:
    endpoint = client.webhooks.create(url="https://example.com/hook", events=["agent.*"], description="d", metadata={"a": "b"})
    assert endpoint.id.startswith("whk_") and endpoint.object == "webhook"
    assert endpoint.secret and endpoint.secret.startswith("whsec_")
    assert endpoint.events == ["agent.*"] and endpoint.enabled is True
    got = client.webhooks.get(endpoint.id)
    assert got.secret is None and got.url == "https://example.com/hook"
    assert endpoint.id in {w.id for w in client.webhooks.list(limit=100)}
    updated = client.webhooks.update(endpoint.id, enabled=False, description=None, events=["*"])
    assert updated.enabled is False and updated.description is None and updated.events == ["*"]
    rotated = client.webhooks.rotate_secret(endpoint.id)
    assert rotated.secret and rotated.secret != endpoint.secret
    assert client.webhooks.delete(endpoint.id).deleted is True
    with pytest.raises(faos.NotFoundError):
        client.webhooks.get(endpoint.id)


def test_url_guard_refuses_private_addresses(client: Faos) -> None:
    with pytest.raises(faos.InvalidRequestError) as info:
        client.webhooks.create(url="http://169.254.169.254/latest")
    assert info.value.param == "url"


def test_real_delivery_verifies(client: Faos, local_server: Callable[[Responder], LocalServer]) -> None:
    receiver = local_server(ok)
    endpoint = client.webhooks.create(url=receiver.url + "/hook", events=["agent.created"])
    assert endpoint.secret
    agent = client.agents.create(name="Delivered", model="builtin/echo")
    receiver.wait_for(lambda got: any(b'"agent.created"' in r.body and agent.id.encode() in r.body for r in got))
    request = next(r for r in receiver.received if agent.id.encode() in r.body)
    assert request.method == "POST" and request.path == "/hook"
    event = webhooks.verify(request.body, request.headers, endpoint.secret)
    assert event.type == "agent.created" and event.data["id"] == agent.id
    assert request.headers["webhook-id"] == event.id
    # The same check through the resource's shortcut; tampering fails.
    assert client.webhooks.verify(request.body, request.headers, endpoint.secret).id == event.id
    with pytest.raises(WebhookVerificationError):
        webhooks.verify(request.body + b" ", request.headers, endpoint.secret)

    deliveries = wait_until(
        lambda: [d for d in client.webhooks.deliveries.list(endpoint.id).data if d.status == "succeeded"]
    )
    delivery = deliveries[0]
    assert delivery.webhook_id == endpoint.id and delivery.event_id == event.id
    assert delivery.response_status == 200 and delivery.attempts >= 1

    retried = client.webhooks.deliveries.retry(endpoint.id, delivery.id)
    assert retried.id == delivery.id
    receiver.wait_for(lambda got: sum(1 for r in got if r.headers.get("webhook-id") == event.id) >= 2)

    test_event = client.webhooks.test(endpoint.id)
    assert test_event.type == "webhook.test"
    receiver.wait_for(lambda got: any(r.headers.get("webhook-id") == test_event.id for r in got))
    got = next(r for r in receiver.received if r.headers.get("webhook-id") == test_event.id)
    assert webhooks.verify(got.body, got.headers, endpoint.secret).type == "webhook.test"

    # After a rotation both the old and the new secret verify.
    rotated = client.webhooks.rotate_secret(endpoint.id)
    assert rotated.secret
    after = client.webhooks.test(endpoint.id)
    receiver.wait_for(lambda got: any(r.headers.get("webhook-id") == after.id for r in got))
    got = next(r for r in receiver.received if r.headers.get("webhook-id") == after.id)
    assert len(got.headers["webhook-signature"].split()) == 2
    assert webhooks.verify(got.body, got.headers, rotated.secret).id == after.id
    assert webhooks.verify(got.body, got.headers, endpoint.secret).id == after.id
    client.webhooks.delete(endpoint.id)


def test_failed_deliveries_are_retried_by_the_server(client: Faos, local_server: Callable[[Responder], LocalServer]) -> None:
    def flaky(request: Received, count: int) -> Tuple[int, Dict[str, str], bytes]:
        return (500, {}, b"nope") if count == 1 else (200, {}, b"ok")

    receiver = local_server(flaky)
    endpoint = client.webhooks.create(url=receiver.url + "/flaky", events=["workflow.created"])
    client.workflows.create(name="Hooked", steps=[{"id": "a", "type": "transform", "value": 1}])
    receiver.wait_for(lambda got: len(got) >= 2)
    first, second = receiver.received[:2]
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert endpoint.secret
    assert webhooks.verify(second.body, second.headers, endpoint.secret).type == "workflow.created"
    client.webhooks.delete(endpoint.id)
