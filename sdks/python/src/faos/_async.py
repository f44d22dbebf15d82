"""The asyncio client, :class:`AsyncFaos`: a thin driver over the sans-IO
core (``_core.py``) and the operation builders (``_api.py``), like the
blocking one in ``_sync.py``."""

from __future__ import annotations

import asyncio
from typing import (
    Any,
    Dict,
    Generic,
    AsyncGenerator,
    AsyncIterator,
    Awaitable,
    Generator,
    List,
    Literal,
    Mapping,
    Optional,
    Sequence,
    TypeVar,
    Union,
    overload,
)

import httpx

from . import _api as api
from . import webhooks as _webhooks
from ._base import make_engine
from ._core import (
    DEFAULT_MAX_RETRIES,
    Call,
    Engine,
    HttpRequest,
    HttpResponse,
    OAuthClientCredentials,
    Outcome,
    PageData,
    RequestOptions,
    Send,
    TransportFailure,
    options,
    page_call,
)
from ._errors import APIConnectionError
from ._models import (
    Agent,
    AgentUsage,
    Answer,
    ApiKey,
    Deleted,
    Delivery,
    Event,
    FaosModel,
    Message,
    Model,
    OAuthClient,
    OAuthToken,
    Run,
    Template,
    Tool,
    Webhook,
    Workflow,
)
from ._streaming import SSEDecoder, StreamEvent, StreamSession
from ._types import NOT_GIVEN, NotGiven, TimeoutTypes

T = TypeVar("T")
M = TypeVar("M", bound=FaosModel)

ToolParam = Union[Tool, Mapping[str, Any]]
Order = Literal["asc", "desc"]
Timeout = Union[TimeoutTypes, NotGiven]


class AsyncPage(Generic[M]):
    """One page of a list. ``data`` holds its objects; ``async for`` over the
    page yields every object of this page and the pages after it, fetching
    them as needed."""

    def __init__(self, client: "AsyncFaos", call: "Call[PageData[M]]", page: PageData[M]) -> None:
        self._client = client
        self._call = call
        self.data: List[M] = page.data
        self.has_more = page.has_more
        self.next_cursor = page.next_cursor
        self.request_id = page.request_id

    def has_next_page(self) -> bool:
        return self.has_more and self.next_cursor is not None

    async def next_page(self) -> "AsyncPage[M]":
        """The next page (``StopAsyncIteration`` if there is none)."""
        if not self.has_next_page() or self.next_cursor is None:
            raise StopAsyncIteration("no more pages")
        call = page_call(self._call, self.next_cursor)
        return AsyncPage(self._client, call, await self._client._request(call))

    async def iter_pages(self) -> AsyncIterator["AsyncPage[M]"]:
        page = self
        while True:
            yield page
            if not page.has_next_page():
                return
            page = await page.next_page()

    async def auto_paging_iter(self) -> AsyncIterator[M]:
        async for page in self.iter_pages():
            for item in page.data:
                yield item

    def __aiter__(self) -> AsyncIterator[M]:
        return self.auto_paging_iter()

    def __repr__(self) -> str:
        return f"AsyncPage(data={self.data!r}, has_more={self.has_more!r}, next_cursor={self.next_cursor!r})"


class AsyncPageRequest(Generic[M]):
    """What an async list method returns: ``await`` it for the first
    :class:`AsyncPage`, or ``async for`` over it for every object."""

    def __init__(self, client: "AsyncFaos", call: "Call[PageData[M]]") -> None:
        self._client = client
        self._call = call

    async def _first(self) -> AsyncPage[M]:
        return AsyncPage(self._client, self._call, await self._client._request(self._call))

    def __await__(self) -> Generator[Any, None, AsyncPage[M]]:
        return self._first().__await__()

    async def _items(self) -> AsyncIterator[M]:
        page = await self._first()
        async for item in page:
            yield item

    def __aiter__(self) -> AsyncIterator[M]:
        return self._items()


class AsyncMessageStream:
    """An answer streamed as events (an async iterator of
    :class:`~faos.StreamEvent`). A dropped connection is resumed at the
    stream endpoint with ``Last-Event-ID``, so every event arrives once.
    An ``error`` event raises its :class:`~faos.APIError`. Use as an async
    context manager, or call :meth:`close`, to release the connection."""

    def __init__(self, client: "AsyncFaos", session: StreamSession, response: Optional[httpx.Response]) -> None:
        self._client = client
        self._session = session
        self._response = response
        self._iterator = self._events()

    @property
    def answer_id(self) -> Optional[str]:
        return self._session.answer_id

    @property
    def last_event_id(self) -> Optional[str]:
        return self._session.last_event_id

    @property
    def reconnects(self) -> int:
        """How many times the stream was resumed after a drop."""
        return self._session.reconnects

    async def _events(self) -> AsyncGenerator[StreamEvent, None]:
        session = self._session
        while not session.done:
            error: Optional[BaseException] = None
            try:
                response = self._response
                if response is None:
                    opened: httpx.Response = await self._client._request(session.resume_call())
                    self._response = response = opened
                decoder = SSEDecoder()
                async for chunk in response.aiter_bytes():
                    for sse in decoder.feed(chunk):
                        event = session.accept(sse)
                        if event is not None:
                            yield event
                        if session.done:
                            return
            except (httpx.TransportError, APIConnectionError) as err:
                error = err
            finally:
                if self._response is not None:
                    await self._response.aclose()
                    self._response = None
            if not session.done:
                await asyncio.sleep(session.on_drop(error))

    def __aiter__(self) -> AsyncIterator[StreamEvent]:
        return self

    async def __anext__(self) -> StreamEvent:
        return await self._iterator.__anext__()

    async def final_message(self) -> Message:
        """Reads the rest of the stream; the stored final message."""
        async for _ in self:
            pass
        if self._session.final_message is None:
            raise APIConnectionError("The stream ended without a final message")
        return self._session.final_message

    async def close(self) -> None:
        await self._iterator.aclose()
        if self._response is not None:
            await self._response.aclose()
            self._response = None

    async def __aenter__(self) -> "AsyncMessageStream":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


class _Resource:
    def __init__(self, client: "AsyncFaos") -> None:
        self._client = client

    def _page(self, call: "Call[PageData[M]]") -> AsyncPageRequest[M]:
        return AsyncPageRequest(self._client, call)


class AsyncMessages(_Resource):
    """``/v1/agents/{id}/messages``."""

    @overload
    async def create(
        self,
        agent_id: str,
        *,
        content: str,
        conversation_id: Union[str, NotGiven] = NOT_GIVEN,
        stream: Literal[False] = False,
        on_busy: Union[Literal["reject", "enqueue"], NotGiven] = NOT_GIVEN,
        metadata: Union[Mapping[str, str], NotGiven] = NOT_GIVEN,
        idempotency_key: Optional[str] = None,
        timeout: Timeout = NOT_GIVEN,
    ) -> Message: ...

    @overload
    async def create(
        self,
        agent_id: str,
        *,
        content: str,
        conversation_id: Union[str, NotGiven] = NOT_GIVEN,
        stream: Literal[True],
        on_busy: Union[Literal["reject", "enqueue"], NotGiven] = NOT_GIVEN,
        metadata: Union[Mapping[str, str], NotGiven] = NOT_GIVEN,
        idempotency_key: Optional[str] = None,
        timeout: Timeout = NOT_GIVEN,
    ) -> AsyncMessageStream: ...

    @overload
    async def create(
        self,
        agent_id: str,
        *,
        content: str,
        conversation_id: Union[str, NotGiven] = NOT_GIVEN,
        stream: bool,
        on_busy: Union[Literal["reject", "enqueue"], NotGiven] = NOT_GIVEN,
        metadata: Union[Mapping[str, str], NotGiven] = NOT_GIVEN,
        idempotency_key: Optional[str] = None,
        timeout: Timeout = NOT_GIVEN,
    ) -> Union[Message, AsyncMessageStream]: ...

    async def create(
        self,
        agent_id: str,
        *,
        content: str,
        conversation_id: Union[str, NotGiven] = NOT_GIVEN,
        stream: bool = False,
        on_busy: Union[Literal["reject", "enqueue"], NotGiven] = NOT_GIVEN,
        metadata: Union[Mapping[str, str], NotGiven] = NOT_GIVEN,
        idempotency_key: Optional[str] = None,
        timeout: Timeout = NOT_GIVEN,
    ) -> Union[Message, AsyncMessageStream]:
        """Sends a message; the agent's reply (or, with ``stream=True``, a
        :class:`AsyncMessageStream` of the answer's events)."""
        params = dict(content=content, conversation_id=conversation_id, on_busy=on_busy, metadata=metadata)
        opts = options(idempotency_key, timeout)
        if stream:
            response: httpx.Response = await self._client._request(
                api.messages_create_stream(agent_id, params, opts)
            )
            session = StreamSession(agent_id, options=opts, request_id=response.headers.get("x-request-id"))
            return AsyncMessageStream(self._client, session, response)
        return await self._client._request(api.messages_create(agent_id, params, opts))

    def list(
        self,
        agent_id: str,
        *,
        conversation_id: Union[str, NotGiven] = NOT_GIVEN,
        limit: Union[int, NotGiven] = NOT_GIVEN,
        cursor: Union[str, NotGiven] = NOT_GIVEN,
        order: Union[Order, NotGiven] = NOT_GIVEN,
        timeout: Timeout = NOT_GIVEN,
    ) -> AsyncPageRequest[Message]:
        """A conversation's history (``default`` when ``conversation_id`` is left out)."""
        query = dict(conversation_id=conversation_id, limit=limit, cursor=cursor, order=order)
        return self._page(api.messages_list(agent_id, query, options(timeout=timeout)))

    def stream(
        self,
        agent_id: str,
        answer_id: str,
        *,
        last_event_id: Union[str, int, None] = None,
        timeout: Timeout = NOT_GIVEN,
    ) -> AsyncMessageStream:
        """Resumes an answer's stream after ``last_event_id`` (from the start without it)."""
        session = StreamSession(
            agent_id,
            answer_id=answer_id,
            last_event_id=None if last_event_id is None else str(last_event_id),
            options=options(timeout=timeout),
        )
        return AsyncMessageStream(self._client, session, None)


class AsyncConversations(_Resource):
    """``/v1/agents/{id}/conversations``."""

    async def cancel(self, agent_id: str, conversation_id: str, *, timeout: Timeout = NOT_GIVEN) -> Answer:
        """Stops the answer in progress in a conversation."""
        return await self._client._request(api.conversations_cancel(agent_id, conversation_id, options(timeout=timeout)))


class AsyncAgents(_Resource):
    """``/v1/agents``."""

    def __init__(self, client: "AsyncFaos") -> None:
        super().__init__(client)
        self.messages = AsyncMessages(client)
        self.conversations = AsyncConversations(client)

    async def create(
        self,
        *,
        name: str,
        template: Union[str, NotGiven] = NOT_GIVEN,
        instructions: Union[str, NotGiven] = NOT_GIVEN,
        model: Union[str, NotGiven] = NOT_GIVEN,
        tools: Union[Sequence[ToolParam], NotGiven] = NOT_GIVEN,
        max_steps: Union[int, NotGiven] = NOT_GIVEN,
        metadata: Union[Mapping[str, str], NotGiven] = NOT_GIVEN,
        idempotency_key: Optional[str] = None,
        timeout: Timeout = NOT_GIVEN,
    ) -> Agent:
        params = dict(
            name=name,
            template=template,
            instructions=instructions,
            model=model,
            tools=tools,
            max_steps=max_steps,
            metadata=metadata,
        )
        return await self._client._request(api.agents_create(params, options(idempotency_key, timeout)))

    def list(
        self,
        *,
        limit: Union[int, NotGiven] = NOT_GIVEN,
        cursor: Union[str, NotGiven] = NOT_GIVEN,
        order: Union[Order, NotGiven] = NOT_GIVEN,
        timeout: Timeout = NOT_GIVEN,
    ) -> AsyncPageRequest[Agent]:
        return self._page(api.agents_list(dict(limit=limit, cursor=cursor, order=order), options(timeout=timeout)))

    async def get(self, agent_id: str, *, timeout: Timeout = NOT_GIVEN) -> Agent:
        return await self._client._request(api.agents_get(agent_id, options(timeout=timeout)))

    async def update(
        self,
        agent_id: str,
        *,
        name: Union[str, NotGiven] = NOT_GIVEN,
        instructions: Union[str, NotGiven] = NOT_GIVEN,
        model: Union[str, NotGiven] = NOT_GIVEN,
        tools: Union[Sequence[ToolParam], NotGiven] = NOT_GIVEN,
        max_steps: Union[int, NotGiven] = NOT_GIVEN,
        metadata: Union[Mapping[str, Optional[str]], None, NotGiven] = NOT_GIVEN,
        timeout: Timeout = NOT_GIVEN,
    ) -> Agent:
        """Changes only the fields given. ``metadata`` is a JSON Merge Patch:
        a key set to ``None`` is removed; ``metadata=None`` removes all."""
        params = dict(
            name=name, instructions=instructions, model=model, tools=tools, max_steps=max_steps, metadata=metadata
        )
        return await self._client._request(api.agents_update(agent_id, params, options(timeout=timeout)))

    async def delete(self, agent_id: str, *, timeout: Timeout = NOT_GIVEN) -> Deleted:
        return await self._client._request(api.agents_delete(agent_id, options(timeout=timeout)))

    async def usage(self, agent_id: str, *, timeout: Timeout = NOT_GIVEN) -> AgentUsage:
        """Token usage, in total, per UTC day and per model."""
        return await self._client._request(api.agents_usage(agent_id, options(timeout=timeout)))


class AsyncTemplates(_Resource):
    """``/v1/templates``."""

    def list(self, *, timeout: Timeout = NOT_GIVEN) -> AsyncPageRequest[Template]:
        return self._page(api.templates_list({}, options(timeout=timeout)))


class AsyncModels(_Resource):
    """``/v1/models``."""

    def list(self, *, timeout: Timeout = NOT_GIVEN) -> AsyncPageRequest[Model]:
        return self._page(api.models_list({}, options(timeout=timeout)))


class AsyncWorkflows(_Resource):
    """``/v1/workflows``."""

    async def create(
        self,
        *,
        name: str,
        steps: Sequence[Mapping[str, Any]],
        description: Union[str, NotGiven] = NOT_GIVEN,
        input_schema: Union[Mapping[str, Any], NotGiven] = NOT_GIVEN,
        output: Union[Any, NotGiven] = NOT_GIVEN,
        metadata: Union[Mapping[str, str], NotGiven] = NOT_GIVEN,
        idempotency_key: Optional[str] = None,
        timeout: Timeout = NOT_GIVEN,
    ) -> Workflow:
        params = dict(
            name=name,
            steps=steps,
            description=description,
            input_schema=input_schema,
            output=output,
            metadata=metadata,
        )
        return await self._client._request(api.workflows_create(params, options(idempotency_key, timeout)))

    def list(
        self,
        *,
        limit: Union[int, NotGiven] = NOT_GIVEN,
        cursor: Union[str, NotGiven] = NOT_GIVEN,
        order: Union[Order, NotGiven] = NOT_GIVEN,
        timeout: Timeout = NOT_GIVEN,
    ) -> AsyncPageRequest[Workflow]:
        return self._page(api.workflows_list(dict(limit=limit, cursor=cursor, order=order), options(timeout=timeout)))

    async def get(self, workflow_id: str, *, timeout: Timeout = NOT_GIVEN) -> Workflow:
        return await self._client._request(api.workflows_get(workflow_id, options(timeout=timeout)))

    async def update(
        self,
        workflow_id: str,
        *,
        name: Union[str, NotGiven] = NOT_GIVEN,
        description: Union[str, None, NotGiven] = NOT_GIVEN,
        input_schema: Union[Mapping[str, Any], None, NotGiven] = NOT_GIVEN,
        steps: Union[Sequence[Mapping[str, Any]], NotGiven] = NOT_GIVEN,
        output: Union[Any, None, NotGiven] = NOT_GIVEN,
        metadata: Union[Mapping[str, Optional[str]], None, NotGiven] = NOT_GIVEN,
        timeout: Timeout = NOT_GIVEN,
    ) -> Workflow:
        """Changes only the fields given; ``None`` removes ``description``,
        ``input_schema`` or ``output``."""
        params = dict(
            name=name,
            description=description,
            input_schema=input_schema,
            steps=steps,
            output=output,
            metadata=metadata,
        )
        return await self._client._request(api.workflows_update(workflow_id, params, options(timeout=timeout)))

    async def delete(self, workflow_id: str, *, timeout: Timeout = NOT_GIVEN) -> Deleted:
        return await self._client._request(api.workflows_delete(workflow_id, options(timeout=timeout)))

    async def run(
        self,
        workflow_id: str,
        *,
        input: Union[Mapping[str, Any], NotGiven] = NOT_GIVEN,
        wait: Union[float, NotGiven] = NOT_GIVEN,
        idempotency_key: Optional[str] = None,
        timeout: Timeout = NOT_GIVEN,
    ) -> Run:
        """Starts a run (``queued``); with ``wait`` (seconds, ≤ 60) the
        finished run if it ends in time."""
        params = dict(input=input, wait=wait)
        return await self._client._request(api.workflows_run(workflow_id, params, options(idempotency_key, timeout)))


class AsyncRuns(_Resource):
    """``/v1/runs`` and ``/v1/workflows/{id}/runs``."""

    def list(
        self,
        workflow_id: str,
        *,
        limit: Union[int, NotGiven] = NOT_GIVEN,
        cursor: Union[str, NotGiven] = NOT_GIVEN,
        order: Union[Order, NotGiven] = NOT_GIVEN,
        timeout: Timeout = NOT_GIVEN,
    ) -> AsyncPageRequest[Run]:
        """The runs of a workflow."""
        query = dict(limit=limit, cursor=cursor, order=order)
        return self._page(api.runs_list(workflow_id, query, options(timeout=timeout)))

    async def get(self, run_id: str, *, timeout: Timeout = NOT_GIVEN) -> Run:
        return await self._client._request(api.runs_get(run_id, options(timeout=timeout)))

    async def cancel(self, run_id: str, *, timeout: Timeout = NOT_GIVEN) -> Run:
        return await self._client._request(api.runs_cancel(run_id, options(timeout=timeout)))


class AsyncDeliveries(_Resource):
    """``/v1/webhooks/{id}/deliveries``."""

    def list(
        self,
        webhook_id: str,
        *,
        limit: Union[int, NotGiven] = NOT_GIVEN,
        cursor: Union[str, NotGiven] = NOT_GIVEN,
        order: Union[Order, NotGiven] = NOT_GIVEN,
        timeout: Timeout = NOT_GIVEN,
    ) -> AsyncPageRequest[Delivery]:
        query = dict(limit=limit, cursor=cursor, order=order)
        return self._page(api.deliveries_list(webhook_id, query, options(timeout=timeout)))

    async def retry(self, webhook_id: str, delivery_id: str, *, timeout: Timeout = NOT_GIVEN) -> Delivery:
        """Makes a delivery due now."""
        return await self._client._request(api.deliveries_retry(webhook_id, delivery_id, options(timeout=timeout)))


class AsyncWebhooks(_Resource):
    """``/v1/webhooks`` (endpoints), with ``deliveries``."""

    def __init__(self, client: "AsyncFaos") -> None:
        super().__init__(client)
        self.deliveries = AsyncDeliveries(client)

    async def create(
        self,
        *,
        url: str,
        events: Union[Sequence[str], NotGiven] = NOT_GIVEN,
        description: Union[str, NotGiven] = NOT_GIVEN,
        enabled: Union[bool, NotGiven] = NOT_GIVEN,
        metadata: Union[Mapping[str, str], NotGiven] = NOT_GIVEN,
        idempotency_key: Optional[str] = None,
        timeout: Timeout = NOT_GIVEN,
    ) -> Webhook:
        """Registers an endpoint; the answer carries its ``whsec_`` secret, once."""
        params = dict(url=url, events=events, description=description, enabled=enabled, metadata=metadata)
        return await self._client._request(api.webhooks_create(params, options(idempotency_key, timeout)))

    def list(
        self,
        *,
        limit: Union[int, NotGiven] = NOT_GIVEN,
        cursor: Union[str, NotGiven] = NOT_GIVEN,
        order: Union[Order, NotGiven] = NOT_GIVEN,
        timeout: Timeout = NOT_GIVEN,
    ) -> AsyncPageRequest[Webhook]:
        return self._page(api.webhooks_list(dict(limit=limit, cursor=cursor, order=order), options(timeout=timeout)))

    async def get(self, webhook_id: str, *, timeout: Timeout = NOT_GIVEN) -> Webhook:
        return await self._client._request(api.webhooks_get(webhook_id, options(timeout=timeout)))

    async def update(
        self,
        webhook_id: str,
        *,
        url: Union[str, NotGiven] = NOT_GIVEN,
        events: Union[Sequence[str], NotGiven] = NOT_GIVEN,
        description: Union[str, None, NotGiven] = NOT_GIVEN,
        enabled: Union[bool, NotGiven] = NOT_GIVEN,
        metadata: Union[Mapping[str, Optional[str]], None, NotGiven] = NOT_GIVEN,
        timeout: Timeout = NOT_GIVEN,
    ) -> Webhook:
        params = dict(url=url, events=events, description=description, enabled=enabled, metadata=metadata)
        return await self._client._request(api.webhooks_update(webhook_id, params, options(timeout=timeout)))

    async def delete(self, webhook_id: str, *, timeout: Timeout = NOT_GIVEN) -> Deleted:
        return await self._client._request(api.webhooks_delete(webhook_id, options(timeout=timeout)))

    async def rotate_secret(self, webhook_id: str, *, timeout: Timeout = NOT_GIVEN) -> Webhook:
        """A new secret (in the answer); the old one keeps signing for 24 h."""
        return await self._client._request(api.webhooks_rotate_secret(webhook_id, options(timeout=timeout)))

    async def test(self, webhook_id: str, *, timeout: Timeout = NOT_GIVEN) -> Event:
        """Sends a ``webhook.test`` event to this endpoint only."""
        return await self._client._request(api.webhooks_test(webhook_id, options(timeout=timeout)))

    #: :func:`faos.webhooks.verify`, for convenience.
    verify = staticmethod(_webhooks.verify)


class AsyncEvents(_Resource):
    """``/v1/events``."""

    def list(
        self,
        *,
        type: Union[str, NotGiven] = NOT_GIVEN,
        limit: Union[int, NotGiven] = NOT_GIVEN,
        cursor: Union[str, NotGiven] = NOT_GIVEN,
        order: Union[Order, NotGiven] = NOT_GIVEN,
        timeout: Timeout = NOT_GIVEN,
    ) -> AsyncPageRequest[Event]:
        query = dict(type=type, limit=limit, cursor=cursor, order=order)
        return self._page(api.events_list(query, options(timeout=timeout)))

    async def get(self, event_id: str, *, timeout: Timeout = NOT_GIVEN) -> Event:
        return await self._client._request(api.events_get(event_id, options(timeout=timeout)))


class AsyncApiKeys(_Resource):
    """``/v1/api_keys`` (needs a secret key)."""

    async def create(
        self,
        *,
        scopes: Sequence[str],
        name: Union[str, NotGiven] = NOT_GIVEN,
        expires_at: Union[str, NotGiven] = NOT_GIVEN,
        metadata: Union[Mapping[str, str], NotGiven] = NOT_GIVEN,
        idempotency_key: Optional[str] = None,
        timeout: Timeout = NOT_GIVEN,
    ) -> ApiKey:
        """A restricted key with ``scopes``; its ``secret`` is in the answer, once."""
        params = dict(name=name, scopes=scopes, expires_at=expires_at, metadata=metadata)
        return await self._client._request(api.api_keys_create(params, options(idempotency_key, timeout)))

    def list(
        self,
        *,
        limit: Union[int, NotGiven] = NOT_GIVEN,
        cursor: Union[str, NotGiven] = NOT_GIVEN,
        order: Union[Order, NotGiven] = NOT_GIVEN,
        timeout: Timeout = NOT_GIVEN,
    ) -> AsyncPageRequest[ApiKey]:
        return self._page(api.api_keys_list(dict(limit=limit, cursor=cursor, order=order), options(timeout=timeout)))

    async def revoke(self, key_id: str, *, timeout: Timeout = NOT_GIVEN) -> ApiKey:
        return await self._client._request(api.api_keys_revoke(key_id, options(timeout=timeout)))


class AsyncOAuthClients(_Resource):
    """``/v1/oauth/clients`` (needs a secret key)."""

    async def create(
        self,
        *,
        name: str,
        scopes: Sequence[str],
        metadata: Union[Mapping[str, str], NotGiven] = NOT_GIVEN,
        idempotency_key: Optional[str] = None,
        timeout: Timeout = NOT_GIVEN,
    ) -> OAuthClient:
        """A client; its ``client_secret`` is in the answer, once."""
        params = dict(name=name, scopes=scopes, metadata=metadata)
        return await self._client._request(api.oauth_clients_create(params, options(idempotency_key, timeout)))

    def list(
        self,
        *,
        limit: Union[int, NotGiven] = NOT_GIVEN,
        cursor: Union[str, NotGiven] = NOT_GIVEN,
        order: Union[Order, NotGiven] = NOT_GIVEN,
        timeout: Timeout = NOT_GIVEN,
    ) -> AsyncPageRequest[OAuthClient]:
        query = dict(limit=limit, cursor=cursor, order=order)
        return self._page(api.oauth_clients_list(query, options(timeout=timeout)))

    async def delete(self, client_id: str, *, timeout: Timeout = NOT_GIVEN) -> Deleted:
        """Deletes a client; its tokens stop working."""
        return await self._client._request(api.oauth_clients_delete(client_id, options(timeout=timeout)))


class AsyncOAuth(_Resource):
    """OAuth 2.0: ``clients``, and the token and revocation endpoints."""

    def __init__(self, client: "AsyncFaos") -> None:
        super().__init__(client)
        self.clients = AsyncOAuthClients(client)

    async def token(
        self,
        *,
        client_id: str,
        client_secret: str,
        scope: Optional[str] = None,
        timeout: Timeout = NOT_GIVEN,
    ) -> OAuthToken:
        """``POST /v1/oauth/token`` (client credentials, HTTP Basic)."""
        return await self._client._request(api.oauth_token(client_id, client_secret, scope, options(timeout=timeout)))

    async def revoke(
        self,
        token: str,
        *,
        client_id: str,
        client_secret: str,
        token_type_hint: Optional[str] = None,
        timeout: Timeout = NOT_GIVEN,
    ) -> None:
        """``POST /v1/oauth/revoke`` (RFC 7009)."""
        call = api.oauth_revoke(token, client_id, client_secret, token_type_hint, options(timeout=timeout))
        await self._client._request(call)


class AsyncFaos:
    """The FAOS API client (asyncio). The same surface as :class:`faos.Faos`,
    with awaitable methods; list methods return an :class:`AsyncPageRequest`
    (``await`` it for a page, or ``async for`` over every object)."""

    def __init__(
        self,
        *,
        api_key: Optional[str] = None,
        base_url: Optional[str] = None,
        client_id: Optional[str] = None,
        client_secret: Optional[str] = None,
        scope: Optional[str] = None,
        oauth: Optional[OAuthClientCredentials] = None,
        timeout: Timeout = NOT_GIVEN,
        max_retries: int = DEFAULT_MAX_RETRIES,
        default_headers: Optional[Mapping[str, str]] = None,
        http_client: Optional[httpx.AsyncClient] = None,
    ) -> None:
        self._engine: Engine = make_engine(
            api_key=api_key,
            base_url=base_url,
            client_id=client_id,
            client_secret=client_secret,
            scope=scope,
            oauth=oauth,
            timeout=timeout,
            max_retries=max_retries,
            default_headers=default_headers,
        )
        self._owns_http = http_client is None
        self._http = http_client or httpx.AsyncClient()
        self.agents = AsyncAgents(self)
        self.templates = AsyncTemplates(self)
        self.models = AsyncModels(self)
        self.workflows = AsyncWorkflows(self)
        self.runs = AsyncRuns(self)
        self.webhooks = AsyncWebhooks(self)
        self.events = AsyncEvents(self)
        self.api_keys = AsyncApiKeys(self)
        self.oauth = AsyncOAuth(self)

    @property
    def base_url(self) -> str:
        return self._engine.base_url

    @property
    def max_retries(self) -> int:
        return self._engine.max_retries

    async def _request(self, call: "Call[T]") -> T:
        flow = self._engine.execute(call)
        try:
            action = next(flow)
            while True:
                if isinstance(action, Send):
                    action = flow.send(await self._send(action.request))
                else:
                    await asyncio.sleep(action.seconds)
                    action = flow.send(None)
        except StopIteration as stop:
            result: T = stop.value
            return result

    async def _send(self, request: HttpRequest) -> Outcome:
        http_request = self._http.build_request(
            request.method,
            request.url,
            headers=request.headers,
            params=request.params,
            content=request.content,
            timeout=request.timeout,
        )
        try:
            response = await self._http.send(http_request, stream=request.stream)
        except httpx.TimeoutException as err:
            return TransportFailure(err, timeout=True)
        except httpx.TransportError as err:
            return TransportFailure(err)
        headers: Dict[str, str] = {k.lower(): v for k, v in response.headers.items()}
        if request.stream and response.status_code < 400:
            return HttpResponse(response.status_code, headers, stream=response)
        try:
            content = await response.aread()
        except httpx.TimeoutException as err:
            return TransportFailure(err, timeout=True)
        except httpx.TransportError as err:
            return TransportFailure(err)
        finally:
            await response.aclose()
        return HttpResponse(response.status_code, headers, content)

    async def close(self) -> None:
        """Closes the HTTP connections (unless an ``http_client`` was given)."""
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> "AsyncFaos":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


__all__ = ["AsyncFaos", "AsyncPage", "AsyncPageRequest", "AsyncMessageStream"]
