"""Every operation of the API as a sans-IO :class:`~faos._core.Call`
builder. The sync and async resources are thin shells over these: the
paths, bodies, queries and parsers are defined here once."""

from __future__ import annotations

from typing import Any, Mapping, Optional

from . import _models as m
from ._core import (
    Call,
    PageData,
    RequestOptions,
    basic_authorization,
    body,
    parse_none,
    parse_object,
    parse_page,
    parse_plain,
    parse_stream,
    path,
)
from ._types import NotGiven, TimeoutTypes

Params = Mapping[str, Any]


def _list(p: str, model: Any, query: Params, opts: RequestOptions) -> "Call[PageData[Any]]":
    return Call("GET", p, parse_page(model), query=dict(query), options=opts)


def _with_timeout_for_wait(opts: RequestOptions, wait: Any) -> RequestOptions:
    """A run with ``wait`` may take that long before answering: unless a
    timeout was chosen, give the request ``wait`` + 30 s."""
    if isinstance(wait, (int, float)) and not isinstance(wait, bool) and isinstance(opts.timeout, NotGiven):
        timeout: TimeoutTypes = float(wait) + 30.0
        return RequestOptions(
            idempotency_key=opts.idempotency_key,
            timeout=timeout,
            max_retries=opts.max_retries,
            extra_headers=opts.extra_headers,
        )
    return opts


# ------------------------------------------------------------------ agents


def agents_create(params: Params, opts: RequestOptions) -> "Call[m.Agent]":
    return Call("POST", "/agents", parse_object(m.Agent), json=body(params), options=opts)


def agents_list(query: Params, opts: RequestOptions) -> "Call[PageData[m.Agent]]":
    return _list("/agents", m.Agent, query, opts)


def agents_get(agent_id: str, opts: RequestOptions) -> "Call[m.Agent]":
    return Call("GET", path("/agents/{}", agent_id), parse_object(m.Agent), options=opts)


def agents_update(agent_id: str, params: Params, opts: RequestOptions) -> "Call[m.Agent]":
    return Call("PATCH", path("/agents/{}", agent_id), parse_object(m.Agent), json=body(params), options=opts)


def agents_delete(agent_id: str, opts: RequestOptions) -> "Call[m.Deleted]":
    return Call("DELETE", path("/agents/{}", agent_id), parse_object(m.Deleted), options=opts)


def agents_usage(agent_id: str, opts: RequestOptions) -> "Call[m.AgentUsage]":
    return Call("GET", path("/agents/{}/usage", agent_id), parse_object(m.AgentUsage), options=opts)


def messages_create(agent_id: str, params: Params, opts: RequestOptions) -> "Call[m.Message]":
    return Call(
        "POST",
        path("/agents/{}/messages", agent_id),
        parse_object(m.Message),
        json=body(params),
        options=opts,
    )


def messages_create_stream(agent_id: str, params: Params, opts: RequestOptions) -> "Call[Any]":
    data = body(params)
    data["stream"] = True
    return Call(
        "POST",
        path("/agents/{}/messages", agent_id),
        parse_stream,
        json=data,
        options=opts,
        stream=True,
        accept="text/event-stream",
    )


def messages_list(agent_id: str, query: Params, opts: RequestOptions) -> "Call[PageData[m.Message]]":
    return _list(path("/agents/{}/messages", agent_id), m.Message, query, opts)


def conversations_cancel(agent_id: str, conversation_id: str, opts: RequestOptions) -> "Call[m.Answer]":
    return Call(
        "POST",
        path("/agents/{}/conversations/{}/cancel", agent_id, conversation_id),
        parse_object(m.Answer),
        options=opts,
    )


def templates_list(query: Params, opts: RequestOptions) -> "Call[PageData[m.Template]]":
    return _list("/templates", m.Template, query, opts)


def models_list(query: Params, opts: RequestOptions) -> "Call[PageData[m.Model]]":
    return _list("/models", m.Model, query, opts)


# ------------------------------------------------------------------ workflows


def workflows_create(params: Params, opts: RequestOptions) -> "Call[m.Workflow]":
    return Call("POST", "/workflows", parse_object(m.Workflow), json=body(params), options=opts)


def workflows_list(query: Params, opts: RequestOptions) -> "Call[PageData[m.Workflow]]":
    return _list("/workflows", m.Workflow, query, opts)


def workflows_get(workflow_id: str, opts: RequestOptions) -> "Call[m.Workflow]":
    return Call("GET", path("/workflows/{}", workflow_id), parse_object(m.Workflow), options=opts)


def workflows_update(workflow_id: str, params: Params, opts: RequestOptions) -> "Call[m.Workflow]":
    return Call(
        "PATCH", path("/workflows/{}", workflow_id), parse_object(m.Workflow), json=body(params), options=opts
    )


def workflows_delete(workflow_id: str, opts: RequestOptions) -> "Call[m.Deleted]":
    return Call("DELETE", path("/workflows/{}", workflow_id), parse_object(m.Deleted), options=opts)


def workflows_run(workflow_id: str, params: Params, opts: RequestOptions) -> "Call[m.Run]":
    return Call(
        "POST",
        path("/workflows/{}/run", workflow_id),
        parse_object(m.Run),
        json=body(params),
        options=_with_timeout_for_wait(opts, params.get("wait")),
    )


def runs_list(workflow_id: str, query: Params, opts: RequestOptions) -> "Call[PageData[m.Run]]":
    return _list(path("/workflows/{}/runs", workflow_id), m.Run, query, opts)


def runs_get(run_id: str, opts: RequestOptions) -> "Call[m.Run]":
    return Call("GET", path("/runs/{}", run_id), parse_object(m.Run), options=opts)


def runs_cancel(run_id: str, opts: RequestOptions) -> "Call[m.Run]":
    return Call("POST", path("/runs/{}/cancel", run_id), parse_object(m.Run), options=opts)


# ------------------------------------------------------------------ webhooks


def webhooks_create(params: Params, opts: RequestOptions) -> "Call[m.Webhook]":
    return Call("POST", "/webhooks", parse_object(m.Webhook), json=body(params), options=opts)


def webhooks_list(query: Params, opts: RequestOptions) -> "Call[PageData[m.Webhook]]":
    return _list("/webhooks", m.Webhook, query, opts)


def webhooks_get(webhook_id: str, opts: RequestOptions) -> "Call[m.Webhook]":
    return Call("GET", path("/webhooks/{}", webhook_id), parse_object(m.Webhook), options=opts)


def webhooks_update(webhook_id: str, params: Params, opts: RequestOptions) -> "Call[m.Webhook]":
    return Call(
        "PATCH", path("/webhooks/{}", webhook_id), parse_object(m.Webhook), json=body(params), options=opts
    )


def webhooks_delete(webhook_id: str, opts: RequestOptions) -> "Call[m.Deleted]":
    return Call("DELETE", path("/webhooks/{}", webhook_id), parse_object(m.Deleted), options=opts)


def webhooks_rotate_secret(webhook_id: str, opts: RequestOptions) -> "Call[m.Webhook]":
    return Call("POST", path("/webhooks/{}/rotate_secret", webhook_id), parse_object(m.Webhook), options=opts)


def webhooks_test(webhook_id: str, opts: RequestOptions) -> "Call[m.Event]":
    return Call("POST", path("/webhooks/{}/test", webhook_id), parse_object(m.Event), options=opts)


def deliveries_list(webhook_id: str, query: Params, opts: RequestOptions) -> "Call[PageData[m.Delivery]]":
    return _list(path("/webhooks/{}/deliveries", webhook_id), m.Delivery, query, opts)


def deliveries_retry(webhook_id: str, delivery_id: str, opts: RequestOptions) -> "Call[m.Delivery]":
    return Call(
        "POST",
        path("/webhooks/{}/deliveries/{}/retry", webhook_id, delivery_id),
        parse_object(m.Delivery),
        options=opts,
    )


def events_list(query: Params, opts: RequestOptions) -> "Call[PageData[m.Event]]":
    return _list("/events", m.Event, query, opts)


def events_get(event_id: str, opts: RequestOptions) -> "Call[m.Event]":
    return Call("GET", path("/events/{}", event_id), parse_object(m.Event), options=opts)


# ------------------------------------------------------------------ access


def api_keys_create(params: Params, opts: RequestOptions) -> "Call[m.ApiKey]":
    return Call("POST", "/api_keys", parse_object(m.ApiKey), json=body(params), options=opts)


def api_keys_list(query: Params, opts: RequestOptions) -> "Call[PageData[m.ApiKey]]":
    return _list("/api_keys", m.ApiKey, query, opts)


def api_keys_revoke(key_id: str, opts: RequestOptions) -> "Call[m.ApiKey]":
    return Call("DELETE", path("/api_keys/{}", key_id), parse_object(m.ApiKey), options=opts)


def oauth_clients_create(params: Params, opts: RequestOptions) -> "Call[m.OAuthClient]":
    return Call("POST", "/oauth/clients", parse_object(m.OAuthClient), json=body(params), options=opts)


def oauth_clients_list(query: Params, opts: RequestOptions) -> "Call[PageData[m.OAuthClient]]":
    return _list("/oauth/clients", m.OAuthClient, query, opts)


def oauth_clients_delete(client_id: str, opts: RequestOptions) -> "Call[m.Deleted]":
    return Call("DELETE", path("/oauth/clients/{}", client_id), parse_object(m.Deleted), options=opts)


def oauth_token(
    client_id: str, client_secret: str, scope: Optional[str], opts: RequestOptions
) -> "Call[m.OAuthToken]":
    form = {"grant_type": "client_credentials"}
    if scope:
        form["scope"] = scope
    return Call(
        "POST",
        "/oauth/token",
        parse_plain(m.OAuthToken),
        form=form,
        options=opts,
        authenticate=False,
        authorization=basic_authorization(client_id, client_secret),
        idempotent=False,
    )


def oauth_revoke(
    token: str,
    client_id: str,
    client_secret: str,
    token_type_hint: Optional[str],
    opts: RequestOptions,
) -> "Call[None]":
    form = {"token": token}
    if token_type_hint:
        form["token_type_hint"] = token_type_hint
    return Call(
        "POST",
        "/oauth/revoke",
        parse_none,
        form=form,
        options=opts,
        authenticate=False,
        authorization=basic_authorization(client_id, client_secret),
        idempotent=False,
    )
