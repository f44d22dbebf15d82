"""The sans-IO core, without a server: SSE decoding, retry decisions,
error parsing, models, and that the sync and async surfaces match."""

from __future__ import annotations

import inspect
from typing import Any, List, cast

import pytest

import faos
from faos import _async, _sync
from faos._core import Call, Engine, HttpResponse, Send, Sleep, ApiKeyAuth, TransportFailure, parse_object, retry_delay
from faos._errors import error_from_response, parse_retry_after
from faos._models import Agent, HttpTool, Message, Run, WorkflowTool
from faos._streaming import SSEDecoder, StreamSession


def test_sse_decoder_handles_any_chunking() -> None:
    raw = (
        b": keep-alive\n\nid: 1\nevent: answer.started\ndata: {\"id\":\"msg_1\"}\n\n"
        b"id: 2\r\nevent: message.delta\r\ndata: {\"delta\":\"h\xc3\xa9\"}\r\n\r\n"
        b"id: 3\nevent: multi\ndata: a\ndata: b\n\n"
    )
    for size in (1, 2, 3, 7, len(raw)):
        decoder = SSEDecoder()
        events = []
        for i in range(0, len(raw), size):
            events.extend(decoder.feed(raw[i : i + size]))
        assert [(e.id, e.event, e.data) for e in events] == [
            ("1", "answer.started", '{"id":"msg_1"}'),
            ("2", "message.delta", '{"delta":"hé"}'),
            ("3", "multi", "a\nb"),
        ], size


def test_stream_session_skips_seen_events_and_limits_reconnects() -> None:
    session = StreamSession("agt_1")
    decoder = SSEDecoder()
    (started,) = decoder.feed(b'id: 1\nevent: answer.started\ndata: {"id":"msg_9","agent_id":"agt_1","conversation_id":"c"}\n\n')
    assert session.accept(started) is not None and session.answer_id == "msg_9"
    assert session.accept(started) is None  # a repeat is dropped
    call = session.resume_call()
    assert call.path == "/agents/agt_1/messages/msg_9/stream"
    assert call.options.extra_headers == {"Last-Event-ID": "1"}
    delays = [session.on_drop(None) for _ in range(StreamSession.MAX_RECONNECTS)]
    assert delays[0] == 0.0 and delays == sorted(delays)
    with pytest.raises(faos.StreamInterruptedError):
        session.on_drop(None)


def test_retry_delay() -> None:
    assert retry_delay(0, {"retry-after": "2"}) == 2.0
    assert retry_delay(0, {"retry-after-ms": "250"}) == 0.25
    assert retry_delay(0, {"retry-after": "120"}) is None
    assert retry_delay(0, {}, rand=lambda: 0.0) == 0.5
    assert retry_delay(3, {}, rand=lambda: 0.0) == 4.0
    assert retry_delay(10, {}, rand=lambda: 0.0) == 8.0
    assert 0.375 <= retry_delay(0, {}) <= 0.5  # type: ignore[operator]
    assert parse_retry_after({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, now=1445412470.0) == 10.0


def test_engine_flow_is_sans_io() -> None:
    engine = Engine(base_url="http://x/v1/", auth=ApiKeyAuth("sk_test_1"), timeout=5.0, max_retries=1)
    flow = engine.execute(Call("POST", "/agents", parse_object(Agent), json={"name": "a"}))
    action = next(flow)
    assert isinstance(action, Send)
    request = action.request
    assert request.url == "http://x/v1/agents" and request.headers["Authorization"] == "Bearer sk_test_1"
    key = request.headers["Idempotency-Key"]
    action = flow.send(TransportFailure(OSError("reset")))
    assert isinstance(action, Sleep)
    action = flow.send(None)
    assert isinstance(action, Send) and action.request.headers["Idempotency-Key"] == key
    body = b'{"data":{"id":"agt_1","name":"a","instructions":"","model":"builtin/echo","created_at":"t","updated_at":"t"}}'
    with pytest.raises(StopIteration) as stop:
        flow.send(HttpResponse(201, {}, body))
    assert stop.value.value.id == "agt_1"


def test_query_building() -> None:
    engine = Engine(base_url="http://x/v1", auth=ApiKeyAuth("k"), timeout=5.0, max_retries=0)
    request = engine.build(
        Call("GET", "/events", parse_object(Agent), query={"type": "agent.created", "limit": 5, "cursor": None, "x": True}),
        "Bearer k",
        None,
    )
    assert request.params == [("type", "agent.created"), ("limit", "5"), ("x", "true")]
    assert "Idempotency-Key" not in request.headers and request.content is None


def test_error_parsing() -> None:
    err = error_from_response(
        400,
        {"X-Request-Id": "req_1"},
        b'{"error":{"code":"invalid_request","message":"bad","param":"name"},"meta":{"request_id":"req_1"}}',
    )
    assert isinstance(err, faos.InvalidRequestError)
    assert (err.status, err.code, err.message, err.param, err.request_id) == (400, "invalid_request", "bad", "name", "req_1")
    for code, cls in [
        ("unauthenticated", faos.UnauthenticatedError),
        ("permission_denied", faos.PermissionDeniedError),
        ("not_found", faos.NotFoundError),
        ("method_not_allowed", faos.MethodNotAllowedError),
        ("conflict", faos.ConflictError),
        ("payload_too_large", faos.PayloadTooLargeError),
        ("idempotency_key_reused", faos.IdempotencyKeyReusedError),
        ("rate_limit_exceeded", faos.RateLimitError),
        ("internal_error", faos.InternalServerError),
        ("model_error", faos.ModelError),
        ("unavailable", faos.UnavailableError),
    ]:
        body = ('{"error":{"code":"%s","message":"m"}}' % code).encode()
        got = error_from_response(cls.default_status or 0, {}, body)
        assert type(got) is cls and got.code == code
        by_status = error_from_response(cls.default_status or 0, {}, b"")
        assert type(by_status) is cls
    odd = error_from_response(418, {}, b"teapot")
    assert type(odd) is faos.APIError and odd.code == "http_418" and odd.message == "teapot"


def test_models_parse_and_round_trip() -> None:
    data: Any = {
        "object": "agent",
        "id": "agt_1",
        "name": "n",
        "template": None,
        "instructions": "i",
        "model": "builtin/echo",
        "tools": [
            {"type": "http", "name": "h", "description": "d", "method": "GET", "url": "https://e/x", "parameters": {}},
            {"type": "workflow", "workflow_id": "wf_1"},
            {"type": "future", "name": "x"},
        ],
        "max_steps": 4,
        "metadata": {"a": "b"},
        "created_at": "t",
        "updated_at": "t",
        "new_field": 1,
    }
    agent = Agent.from_dict(data)
    assert isinstance(agent.tools[0], HttpTool) and isinstance(agent.tools[1], WorkflowTool)
    assert cast(Any, agent.tools[2]) == {"type": "future", "name": "x"}  # unknown types stay JSON
    assert agent["new_field"] == 1
    assert agent.to_dict() == data
    message = Message.from_dict(
        {"id": "m", "agent_id": "a", "conversation_id": "c", "role": "assistant", "content": "x", "created_at": "t",
         "usage": {"input_tokens": 1, "output_tokens": 2}, "tool_calls": [{"id": "c1", "name": "n", "arguments": {"a": 1}}]}
    )  # fmt: skip
    assert message.usage is not None and message.usage.output_tokens == 2
    assert message.tool_calls is not None and message.tool_calls[0].arguments == {"a": 1}
    assert Run.from_dict({"id": "r", "workflow_id": "w", "workflow_version": 1, "status": "failed", "created_at": "t"}).finished


def _public_methods(cls: type) -> List[str]:
    return [n for n, v in vars(cls).items() if not n.startswith("_") and callable(v)]


def test_sync_and_async_surfaces_match() -> None:
    pairs = [
        (getattr(_sync, name), getattr(_async, "Async" + name))
        for name in [
            "Agents", "Messages", "Conversations", "Templates", "Models", "Workflows", "Runs",
            "Webhooks", "Deliveries", "Events", "ApiKeys", "OAuthClients", "OAuth",
        ]
    ]  # fmt: skip
    for sync_cls, async_cls in pairs:
        assert _public_methods(sync_cls) == _public_methods(async_cls), sync_cls
        for name in _public_methods(sync_cls):
            s = inspect.signature(getattr(sync_cls, name))
            a = inspect.signature(getattr(async_cls, name))
            assert list(s.parameters) == list(a.parameters), (sync_cls, name)
            for p in s.parameters:
                assert s.parameters[p].default == a.parameters[p].default, (sync_cls, name, p)
    client = faos.Faos(api_key="k")
    aclient = faos.AsyncFaos(api_key="k")
    for attr in ["agents", "templates", "models", "workflows", "runs", "webhooks", "events", "api_keys", "oauth"]:
        assert hasattr(client, attr) and hasattr(aclient, attr)
    assert hasattr(client.agents, "messages") and hasattr(aclient.agents, "messages")
    assert hasattr(client.webhooks, "deliveries") and hasattr(client.oauth, "clients")
