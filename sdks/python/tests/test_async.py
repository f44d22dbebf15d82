"""The asyncio client, :class:`faos.AsyncFaos`, over every resource."""

from __future__ import annotations

import json
import time
from typing import AsyncIterator, Callable, Dict, List, Tuple

import httpx
import pytest

import faos
from faos import AsyncFaos, AsyncMessageStream, MessageCompletedEvent, MessageDeltaEvent, webhooks

from .conftest import LocalServer, Received, Responder, Server, agent_json, envelope, unique

pytestmark = pytest.mark.anyio


@pytest.fixture
async def aclient(server: Server) -> AsyncIterator[AsyncFaos]:
    async with AsyncFaos(api_key=server.test_key, base_url=server.base_url) as c:
        yield c


async def test_agents_and_pagination(aclient: AsyncFaos) -> None:
    agent = await aclient.agents.create(name="Async", template="sales-assistant", metadata={"x": "1"})
    assert agent.template == "sales-assistant"
    assert (await aclient.agents.get(agent.id)).name == "Async"
    assert (await aclient.agents.update(agent.id, name="Async 2")).name == "Async 2"
    created = [(await aclient.agents.create(name=unique("ap"), model="builtin/echo")).id for _ in range(3)]

    page = await aclient.agents.list(limit=2)
    assert len(page.data) == 2 and page.has_more
    seen = [a.id async for a in page]
    assert len(seen) == len(set(seen)) and set(created) <= set(seen)
    # Without await: iterate everything directly.
    direct = [a.id async for a in aclient.agents.list(limit=2)]
    assert set(created) <= set(direct)
    nxt = await page.next_page()
    assert not {a.id for a in page.data} & {a.id for a in nxt.data}
    pages = [p async for p in page.iter_pages()]
    assert len(pages) >= 2

    assert (await aclient.agents.delete(agent.id)).deleted
    with pytest.raises(faos.NotFoundError) as info:
        await aclient.agents.get(agent.id)
    assert info.value.request_id


async def test_messages_streaming_and_usage(aclient: AsyncFaos) -> None:
    agent = await aclient.agents.create(name="Async echo", model="builtin/echo")
    conv = unique("ac")
    reply = await aclient.agents.messages.create(agent.id, content="ping pong", conversation_id=conv)
    assert reply.content == "ping pong"
    stream = await aclient.agents.messages.create(agent.id, content="a b c d", conversation_id=conv, stream=True)
    assert isinstance(stream, AsyncMessageStream)
    events = [e async for e in stream]
    assert "".join(e.delta for e in events if isinstance(e, MessageDeltaEvent)) == "a b c d"
    assert isinstance(events[-1], MessageCompletedEvent)
    assert stream.answer_id is not None
    replay = [e async for e in aclient.agents.messages.stream(agent.id, stream.answer_id, last_event_id=1)]
    assert replay == events[1:]
    async with await aclient.agents.messages.create(agent.id, content="final", stream=True) as s2:
        assert (await s2.final_message()).content == "final"
    history = [m.content async for m in aclient.agents.messages.list(agent.id, conversation_id=conv, limit=1)]
    assert history == ["a b c d", "a b c d", "ping pong", "ping pong"]
    usage = await aclient.agents.usage(agent.id)
    assert usage.input_tokens > 0
    with pytest.raises(faos.ConflictError):
        await aclient.agents.conversations.cancel(agent.id, conv)


class AsyncDroppingStream(httpx.AsyncByteStream):
    def __init__(self, inner: httpx.AsyncByteStream, after: int) -> None:
        self.inner = inner
        self.after = after

    async def __aiter__(self) -> AsyncIterator[bytes]:
        buffer = b""
        async for chunk in self.inner:
            buffer += chunk
            while b"\n\n" in buffer:
                event, buffer = buffer.split(b"\n\n", 1)
                yield event + b"\n\n"
                if not event.startswith(b":"):
                    self.after -= 1
                if self.after <= 0:
                    raise httpx.ReadError("connection dropped (test)")
        yield buffer

    async def aclose(self) -> None:
        await self.inner.aclose()


class AsyncDropOnce(httpx.AsyncBaseTransport):
    def __init__(self, after: int) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.after = after
        self.dropped = False
        self.requests: List[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        response = await self.inner.handle_async_request(request)
        if not self.dropped and response.headers.get("content-type", "").startswith("text/event-stream"):
            self.dropped = True
            assert isinstance(response.stream, httpx.AsyncByteStream)
            return httpx.Response(
                response.status_code,
                headers=response.headers,
                stream=AsyncDroppingStream(response.stream, self.after),
                extensions=response.extensions,
            )
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


async def test_async_stream_resumes(server: Server) -> None:
    transport = AsyncDropOnce(after=3)
    http = httpx.AsyncClient(transport=transport)
    async with AsyncFaos(api_key=server.test_key, base_url=server.base_url, http_client=http) as c:
        agent = await c.agents.create(name="Async resumer", model="builtin/echo")
        text = "one two three four five six seven"
        stream = await c.agents.messages.create(agent.id, content=text, stream=True)
        events = [e async for e in stream]
    await http.aclose()
    assert stream.reconnects == 1
    assert [int(e.id or 0) for e in events] == list(range(1, len(events) + 1))
    assert "".join(e.delta for e in events if isinstance(e, MessageDeltaEvent)) == text
    assert transport.requests[-1].headers["last-event-id"] == "3"


async def test_workflows_runs_events_templates_models(aclient: AsyncFaos) -> None:
    wf = await aclient.workflows.create(name="Async wf", steps=[{"id": "a", "type": "transform", "value": "{{ input.n }}"}])
    run = await aclient.workflows.run(wf.id, input={"n": 7}, wait=20)
    assert run.status == "succeeded" and run.output == 7
    assert (await aclient.runs.get(run.id)).id == run.id
    assert [r.id async for r in aclient.runs.list(wf.id)] == [run.id]
    with pytest.raises(faos.ConflictError):
        await aclient.runs.cancel(run.id)
    slow = await aclient.workflows.create(name="Async slow", steps=[{"id": "w", "type": "wait", "seconds": 60}])
    queued = await aclient.workflows.run(slow.id)
    assert (await aclient.runs.cancel(queued.id)).status == "cancelled"
    assert (await aclient.workflows.update(wf.id, name="Renamed")).name == "Renamed"
    assert wf.id in [w.id async for w in aclient.workflows.list(limit=50)]
    assert (await aclient.workflows.get(wf.id)).name == "Renamed"
    assert (await aclient.workflows.delete(wf.id)).deleted

    events = await aclient.events.list(type="workflow.created", limit=10)
    mine = [e for e in events.data if isinstance(e.data, dict) and e.data.get("id") == wf.id]
    assert mine and (await aclient.events.get(mine[0].id)).type == "workflow.created"
    assert "customer-service" in [t.id async for t in aclient.templates.list()]
    assert "builtin/echo" in [m.id for m in (await aclient.models.list()).data]


async def test_webhooks_and_real_delivery(aclient: AsyncFaos, local_server: Callable[[Responder], LocalServer]) -> None:
    receiver = local_server(lambda r, n: (204, {}, b""))
    endpoint = await aclient.webhooks.create(url=receiver.url + "/async", events=["agent.deleted"])
    assert endpoint.secret
    assert (await aclient.webhooks.get(endpoint.id)).url.endswith("/async")
    assert endpoint.id in [w.id async for w in aclient.webhooks.list()]
    agent = await aclient.agents.create(name="Doomed", model="builtin/echo")
    await aclient.agents.delete(agent.id)
    deadline = time.monotonic() + 30
    while not receiver.received and time.monotonic() < deadline:
        import anyio

        await anyio.sleep(0.1)
    request = receiver.received[0]
    event = webhooks.verify(request.body, request.headers, endpoint.secret)
    assert event.type == "agent.deleted" and event.data["id"] == agent.id
    deliveries = [d async for d in aclient.webhooks.deliveries.list(endpoint.id)]
    assert deliveries and deliveries[0].event_id == event.id
    assert (await aclient.webhooks.deliveries.retry(endpoint.id, deliveries[0].id)).id == deliveries[0].id
    assert (await aclient.webhooks.test(endpoint.id)).type == "webhook.test"
    assert (await aclient.webhooks.rotate_secret(endpoint.id)).secret
    assert (await aclient.webhooks.update(endpoint.id, enabled=False)).enabled is False
    assert (await aclient.webhooks.delete(endpoint.id)).deleted


async def test_api_keys_and_errors(aclient: AsyncFaos, server: Server) -> None:
    key = await aclient.api_keys.create(scopes=["webhooks:read"], name="async")
    assert key.secret
    assert key.id in [k.id async for k in aclient.api_keys.list()]
    async with AsyncFaos(api_key=key.secret, base_url=server.base_url) as restricted:
        await restricted.webhooks.list()
        with pytest.raises(faos.PermissionDeniedError):
            await restricted.agents.list()
    assert (await aclient.api_keys.revoke(key.id)).revoked_at
    async with AsyncFaos(api_key="sk_test_nope", base_url=server.base_url) as bad:
        with pytest.raises(faos.UnauthenticatedError):
            await bad.agents.list()
    with pytest.raises(faos.InvalidRequestError) as info:
        await aclient.agents.create(name="")
    assert info.value.param == "name"


async def test_async_retry_on_429(local_server: Callable[[Responder], LocalServer]) -> None:
    def respond(request: Received, count: int) -> Tuple[int, Dict[str, str], bytes]:
        if count == 1:
            body = json.dumps({"error": {"code": "rate_limit_exceeded", "message": "slow down"}, "meta": {"request_id": "req_1"}})
            return 429, {"Retry-After": "1"}, body.encode()
        return 201, {"Content-Type": "application/json"}, envelope(agent_json())

    local = local_server(respond)
    async with AsyncFaos(api_key="sk_test_x", base_url=local.url + "/v1") as c:
        started = time.monotonic()
        assert (await c.agents.create(name="Local")).id == "agt_local"
        assert time.monotonic() - started >= 0.9
    keys = [r.headers["idempotency-key"] for r in local.received]
    assert len(keys) == 2 and keys[0] == keys[1]


async def test_async_gives_up_on_persistent_5xx(local_server: Callable[[Responder], LocalServer]) -> None:
    local = local_server(lambda r, n: (503, {"Retry-After": "0"}, b'{"error":{"code":"unavailable","message":"down"}}'))
    async with AsyncFaos(api_key="sk_test_x", base_url=local.url + "/v1", max_retries=1) as c:
        with pytest.raises(faos.UnavailableError):
            await c.agents.list()
    assert len(local.received) == 2
