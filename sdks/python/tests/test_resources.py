"""Every resource through the blocking client, against a live server."""

from __future__ import annotations

import time

import pytest

import faos
from faos import (
    Agent,
    BuiltinTool,
    Faos,
    NotFoundError,
    UnauthenticatedError,
)

from .conftest import Server, unique, wait_until


def test_agents_crud(client: Faos) -> None:
    agent = client.agents.create(
        name="Support", template="customer-service", metadata={"team": "a"}, tools=[{"type": "builtin", "name": "current_time"}]
    )
    assert isinstance(agent, Agent)
    assert agent.id.startswith("agt_") and agent.object == "agent"
    assert agent.template == "customer-service"
    assert agent.instructions  # filled by the template
    assert agent.model.startswith("builtin/")
    assert agent.metadata == {"team": "a"}
    assert agent.tools == [BuiltinTool(name="current_time")]

    got = client.agents.get(agent.id)
    assert got.id == agent.id and got.name == "Support"

    updated = client.agents.update(agent.id, name="Support 2", metadata={"team": None, "tier": "gold"})
    assert updated.name == "Support 2"
    assert updated.metadata == {"tier": "gold"}
    assert updated.template == "customer-service"

    cleared = client.agents.update(agent.id, metadata=None)
    assert cleared.metadata == {}

    deleted = client.agents.delete(agent.id)
    assert deleted.deleted is True and deleted.id == agent.id and deleted.object == "agent"
    with pytest.raises(NotFoundError):
        client.agents.get(agent.id)


def test_agent_with_model_instances_as_tools(client: Faos) -> None:
    agent = client.agents.create(name="Tools", model="builtin/echo", tools=[BuiltinTool(name="current_time")], max_steps=3)
    assert agent.max_steps == 3
    assert isinstance(agent.tools[0], BuiltinTool)
    assert agent.to_dict()["tools"] == [{"type": "builtin", "name": "current_time"}]


def test_pagination_across_pages(client: Faos) -> None:
    created = [client.agents.create(name=unique("page"), model="builtin/echo").id for _ in range(5)]
    page = client.agents.list(limit=2)
    assert len(page.data) == 2
    assert page.has_more and page.next_cursor
    assert page.request_id and page.request_id.startswith("req_")
    # Newest first: the first page is the last two created.
    assert [a.id for a in page.data] == created[::-1][:2]

    seen = [a.id for a in page]  # iterating a page walks every page
    assert len(seen) == len(set(seen))
    assert set(created) <= set(seen)

    pages = list(page.iter_pages())
    assert all(len(p.data) <= 2 for p in pages)
    assert len(pages) >= 3
    assert not pages[-1].has_more and pages[-1].next_cursor is None

    asc = client.agents.list(limit=2, order="asc")
    first_ids = [a.id for a in asc.data]
    second = asc.next_page()
    assert not set(first_ids) & {a.id for a in second.data}


def test_messages_and_history(client: Faos) -> None:
    agent = client.agents.create(name="Echo", model="builtin/echo")
    conversation = unique("conv")
    reply = client.agents.messages.create(agent.id, content="hello there", conversation_id=conversation)
    assert reply.role == "assistant" and reply.content == "hello there"
    assert reply.conversation_id == conversation and reply.agent_id == agent.id
    assert reply.usage is not None and reply.usage.output_tokens >= 1
    assert reply.stop_reason == "end_turn"
    for i in range(2):
        client.agents.messages.create(agent.id, content=f"message {i}", conversation_id=conversation)

    page = client.agents.messages.list(agent.id, conversation_id=conversation, limit=2, order="asc")
    everything = list(page)
    assert [m.role for m in everything] == ["user", "assistant"] * 3
    assert everything[0].content == "hello there"
    assert everything[0].usage is None and everything[0].stop_reason is None

    default = client.agents.messages.create(agent.id, content="to default")
    assert default.conversation_id == "default"
    assert [m.content for m in client.agents.messages.list(agent.id, limit=10).data][:1] == ["to default"]

    usage = client.agents.usage(agent.id)
    assert usage.agent_id == agent.id and usage.output_tokens > 0
    assert usage.by_model and usage.by_model[0].model == "builtin/echo"
    assert usage.by_day and usage.by_day[0].date


def test_cancel_with_nothing_running_is_a_conflict(client: Faos) -> None:
    agent = client.agents.create(name="Idle", model="builtin/echo")
    with pytest.raises(faos.ConflictError) as info:
        client.agents.conversations.cancel(agent.id, "nothing-here")
    assert info.value.status == 409


def test_templates_and_models(client: Faos) -> None:
    templates = client.templates.list()
    ids = {t.id for t in templates}
    assert "customer-service" in ids
    first = templates.data[0]
    assert first.object == "template" and first.instructions and first.model
    models = {m.id: m for m in client.models.list()}
    assert "builtin/assistant" in models and "builtin/echo" in models
    assert models["builtin/echo"].provider == "builtin"
    assert models["builtin/echo"].context_window > 0


STEPS = [
    {"id": "shout", "type": "transform", "value": "{{ input.text | upper }}"},
    {"id": "count", "type": "transform", "value": "{{ input.text | length }}"},
]


def test_workflows_and_runs(client: Faos) -> None:
    wf = client.workflows.create(
        name="Shout",
        description="upper-cases",
        input_schema={"type": "object", "required": ["text"], "properties": {"text": {"type": "string"}}},
        steps=STEPS,
        output={"loud": "{{ steps.shout.output }}", "n": "{{ steps.count.output }}"},
        metadata={"k": "v"},
    )
    assert wf.id.startswith("wf_") and wf.version == 1 and wf.steps[0]["id"] == "shout"
    assert client.workflows.get(wf.id).name == "Shout"
    assert wf.id in {w.id for w in client.workflows.list(limit=100)}

    run = client.workflows.run(wf.id, input={"text": "hi"}, wait=20)
    assert run.status == "succeeded" and run.finished
    assert run.output == {"loud": "HI", "n": 2}
    assert [s.path for s in run.steps] == ["shout", "count"]
    assert run.steps[0].status == "succeeded" and run.steps[0].output == "HI"

    queued = client.workflows.run(wf.id, input={"text": "later"})
    assert queued.status in ("queued", "running", "succeeded")
    done = wait_until(lambda: (r := client.runs.get(queued.id)).finished and r)
    assert done.output == {"loud": "LATER", "n": 5}

    runs = [r.id for r in client.runs.list(wf.id, limit=1)]
    assert set(runs) == {run.id, queued.id}

    with pytest.raises(faos.InvalidRequestError) as info:
        client.workflows.run(wf.id, input={})
    assert info.value.param is not None and info.value.param.startswith("input")

    updated = client.workflows.update(wf.id, name="Shout 2", description=None, steps=STEPS[:1], output=None)
    assert updated.name == "Shout 2" and updated.description is None and updated.version == 2
    assert client.workflows.delete(wf.id).deleted is True
    with pytest.raises(NotFoundError):
        client.workflows.get(wf.id)
    assert client.runs.get(run.id).id == run.id  # runs stay readable


def test_cancel_run(client: Faos) -> None:
    wf = client.workflows.create(name="Slow", steps=[{"id": "pause", "type": "wait", "seconds": 60}])
    run = client.workflows.run(wf.id, input={})
    cancelled = client.runs.cancel(run.id)
    assert cancelled.id == run.id and cancelled.status == "cancelled"

    fast = client.workflows.create(name="Fast", steps=[{"id": "a", "type": "transform", "value": 1}])
    finished = client.workflows.run(fast.id, input={}, wait=10)
    assert finished.status == "succeeded" and finished.output == 1
    with pytest.raises(faos.ConflictError) as info:
        client.runs.cancel(finished.id)
    assert info.value.status == 409 and info.value.request_id


def test_events(client: Faos) -> None:
    agent = client.agents.create(name=unique("evt"), model="builtin/echo")
    page = client.events.list(type="agent.created", limit=5)
    match = [e for e in page.data if isinstance(e.data, dict) and e.data.get("id") == agent.id]
    assert match, "the agent.created event is listed"
    event = client.events.get(match[0].id)
    assert event.type == "agent.created" and event.object == "event" and event.id.startswith("evt_")
    assert event.data["name"] == agent.name


def test_api_keys(client: Faos, server: Server) -> None:
    key = client.api_keys.create(name="reader", scopes=["agents:read"], metadata={"team": "support"})
    assert key.id.startswith("key_") and key.secret and key.secret.startswith("rk_test_")
    assert key.scopes == ["agents:read"] and key.mode == "test"
    assert key.metadata == {"team": "support"}
    listed = {k.id: k for k in client.api_keys.list(limit=100)}
    assert key.id in listed and listed[key.id].secret is None
    assert listed[key.id].metadata == {"team": "support"}

    with Faos(api_key=key.secret, base_url=server.base_url) as restricted:
        restricted.agents.list(limit=1)
        with pytest.raises(faos.PermissionDeniedError) as info:
            restricted.agents.create(name="nope")
        assert info.value.status == 403 and info.value.code == "permission_denied"

        revoked = client.api_keys.revoke(key.id)
        assert revoked.revoked_at is not None
        with pytest.raises(UnauthenticatedError):
            restricted.agents.list(limit=1)


def test_live_and_test_modes_are_separate(client: Faos, server: Server) -> None:
    agent = client.agents.create(name="Sandbox only", model="builtin/echo")
    with Faos(api_key=server.live_key, base_url=server.base_url) as live:
        with pytest.raises(NotFoundError):
            live.agents.get(agent.id)


def test_idempotency_key_replays(client: Faos) -> None:
    key = unique("idem")
    first = client.agents.create(name="Once", model="builtin/echo", idempotency_key=key)
    second = client.agents.create(name="Once", model="builtin/echo", idempotency_key=key)
    assert first.id == second.id
    with pytest.raises(faos.IdempotencyKeyReusedError) as info:
        client.agents.create(name="Different", model="builtin/echo", idempotency_key=key)
    assert info.value.status == 422


def test_base_url_and_key_from_environment(server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAOS_BASE_URL", server.base_url)
    monkeypatch.setenv("FAOS_API_KEY", server.test_key)
    with Faos() as c:
        assert c.base_url == server.base_url
        c.agents.list(limit=1)
    monkeypatch.delenv("FAOS_BASE_URL")
    monkeypatch.delenv("FAOS_API_KEY")
    assert Faos(api_key="sk_test_x").base_url == "http://127.0.0.1:8080/v1"
    with pytest.raises(faos.FaosError):
        Faos()


def test_timeout_is_configurable(server: Server) -> None:
    wf_client = Faos(api_key=server.test_key, base_url=server.base_url, max_retries=0)
    wf = wf_client.workflows.create(name="Pause", steps=[{"id": "p", "type": "wait", "seconds": 5}])
    started = time.monotonic()
    with pytest.raises(faos.APITimeoutError):
        wf_client.workflows.run(wf.id, input={}, wait=5, timeout=0.5)
    assert time.monotonic() - started < 4
    wf_client.close()
