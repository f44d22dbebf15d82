"""Streaming messages (SSE), and resuming a dropped stream with Last-Event-ID."""

from __future__ import annotations

from typing import Iterator, List

import httpx
import pytest

import faos
from faos import (
    AnswerStartedEvent,
    Faos,
    MessageCompletedEvent,
    MessageDeltaEvent,
    MessageStream,
    StreamEvent,
)

from .conftest import Server, unique

TEXT = "the quick brown fox jumps over the lazy dog again and again"


class DroppingStream(httpx.SyncByteStream):
    """Passes a streamed body through until ``after`` complete events, then
    fails as a dropped connection would."""

    def __init__(self, inner: httpx.SyncByteStream, after: int) -> None:
        self.inner = inner
        self.after = after

    def __iter__(self) -> Iterator[bytes]:
        buffer = b""
        for chunk in self.inner:
            buffer += chunk
            while b"\n\n" in buffer:
                event, buffer = buffer.split(b"\n\n", 1)
                yield event + b"\n\n"
                if not event.startswith(b":"):
                    self.after -= 1
                if self.after <= 0:
                    raise httpx.ReadError("connection dropped (test)")
        yield buffer

    def close(self) -> None:
        self.inner.close()


class DropOnceTransport(httpx.BaseTransport):
    def __init__(self, after: int) -> None:
        self.inner = httpx.HTTPTransport()
        self.after = after
        self.dropped = 0
        self.requests: List[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        response = self.inner.handle_request(request)
        if self.dropped == 0 and response.headers.get("content-type", "").startswith("text/event-stream"):
            self.dropped += 1
            assert isinstance(response.stream, httpx.SyncByteStream)
            return httpx.Response(
                response.status_code,
                headers=response.headers,
                stream=DroppingStream(response.stream, self.after),
                extensions=response.extensions,
            )
        return response

    def close(self) -> None:
        self.inner.close()


def test_stream_events(client: Faos) -> None:
    agent = client.agents.create(name="Streamer", model="builtin/echo")
    conv = unique("s")
    stream = client.agents.messages.create(agent.id, content=TEXT, conversation_id=conv, stream=True)
    assert isinstance(stream, MessageStream)
    events: List[StreamEvent] = list(stream)
    assert isinstance(events[0], AnswerStartedEvent)
    started = events[0]
    assert started.agent_id == agent.id and started.conversation_id == conv
    assert started.user_message is not None and started.user_message.content == TEXT
    deltas = [e for e in events if isinstance(e, MessageDeltaEvent)]
    assert len(deltas) > 3
    assert "".join(d.delta for d in deltas) == TEXT
    last = events[-1]
    assert isinstance(last, MessageCompletedEvent)
    assert last.message.content == TEXT and last.message.id == started.answer_id
    assert [int(e.id or 0) for e in events] == list(range(1, len(events) + 1))
    assert stream.answer_id == started.answer_id
    # The answer is stored like any other.
    history = client.agents.messages.list(agent.id, conversation_id=conv).data
    assert history[0].id == started.answer_id


def test_final_message_helper(client: Faos) -> None:
    agent = client.agents.create(name="Streamer", model="builtin/echo")
    with client.agents.messages.create(agent.id, content="just this", stream=True) as stream:
        message = stream.final_message()
    assert message.content == "just this" and message.role == "assistant"


def test_dropped_stream_resumes_with_last_event_id(server: Server) -> None:
    transport = DropOnceTransport(after=4)
    with Faos(api_key=server.test_key, base_url=server.base_url, http_client=httpx.Client(transport=transport)) as c:
        agent = c.agents.create(name="Resumer", model="builtin/echo")
        stream = c.agents.messages.create(agent.id, content=TEXT, stream=True)
        events = list(stream)
    assert stream.reconnects == 1
    ids = [int(e.id or 0) for e in events]
    assert ids == list(range(1, len(events) + 1)), "every event exactly once"
    assert "".join(e.delta for e in events if isinstance(e, MessageDeltaEvent)) == TEXT
    assert isinstance(events[-1], MessageCompletedEvent)
    resume = transport.requests[-1]
    assert resume.method == "GET"
    assert resume.url.path == f"/v1/agents/{agent.id}/messages/{stream.answer_id}/stream"
    assert resume.headers["last-event-id"] == "4"


def test_explicit_resume(client: Faos) -> None:
    agent = client.agents.create(name="Replay", model="builtin/echo")
    first = client.agents.messages.create(agent.id, content="one two three", stream=True)
    events = list(first)
    assert first.answer_id is not None
    replay = list(client.agents.messages.stream(agent.id, first.answer_id, last_event_id=2))
    assert replay == events[2:]
    assert list(client.agents.messages.stream(agent.id, first.answer_id)) == events


def test_stream_errors_before_it_starts_are_raised(client: Faos) -> None:
    with pytest.raises(faos.NotFoundError):
        client.agents.messages.create("agt_missing", content="hi", stream=True)
    agent = client.agents.create(name="Replay", model="builtin/echo")
    with pytest.raises(faos.InvalidRequestError) as info:
        list(client.agents.messages.stream(agent.id, "msg_x", last_event_id="nope"))
    assert info.value.param == "Last-Event-ID"


def test_error_event_raises() -> None:
    body = (
        b'id: 1\nevent: answer.started\ndata: {"id":"msg_1","agent_id":"agt_1","conversation_id":"default"}\n\n'
        b'id: 2\nevent: message.delta\ndata: {"delta":"par"}\n\n'
        b'id: 3\nevent: error\ndata: {"error":{"code":"model_error","message":"provider down"}}\n\n'
    )

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body)

    http = httpx.Client(transport=httpx.MockTransport(handler))
    with Faos(api_key="sk_test_x", base_url="http://faos.test/v1", http_client=http) as c:
        stream = c.agents.messages.create("agt_1", content="hi", stream=True)
        got = []
        with pytest.raises(faos.ModelError) as info:
            for event in stream:
                got.append(event)
    assert [e.event for e in got] == ["answer.started", "message.delta"]
    assert info.value.status == 502 and info.value.message == "provider down"


def test_drop_before_answer_started_cannot_resume() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=b": keep-alive\n\n")

    http = httpx.Client(transport=httpx.MockTransport(handler))
    with Faos(api_key="sk_test_x", base_url="http://faos.test/v1", http_client=http) as c:
        stream = c.agents.messages.create("agt_1", content="hi", stream=True)
        with pytest.raises(faos.StreamInterruptedError):
            list(stream)
