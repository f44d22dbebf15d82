"""The blocking client, :class:`Faos`: a thin driver over the sans-IO core
(``_core.py``) and the operation builders (``_api.py``)."""

from __future__ import annotations

import time
from typing import (
    Any,
    Dict,
    Generator,
    Generic,
    Iterator,
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
    TransportFailure,
    options,
    page_call,
    run_sync,
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


class SyncPage(Generic[M]):
    """One page of a list. ``data`` holds its objects; iterating the page
    yields every object of this page and the pages after it, fetching them
    as needed."""

    def __init__(self, client: "Faos", call: "Call[PageData[M]]", page: PageData[M]) -> None:
        self._client = client
        self._call = call
        self.data: List[M] = page.data
        self.has_more = page.has_more
        self.next_cursor = page.next_cursor
        self.request_id = page.request_id

    def has_next_page(self) -> bool:
        return self.has_more and self.next_cursor is not None

    def next_page(self) -> "SyncPage[M]":
        """The next page (``StopIteration`` if there is none)."""
        if not self.has_next_page() or self.next_cursor is None:
            raise StopIteration("no more pages")
        call = page_call(self._call, self.next_cursor)
        return SyncPage(self._client, call, self._client._request(call))

    def iter_pages(self) -> Iterator["SyncPage[M]"]:
        page = self
        while True:
            yield page
            if not page.has_next_page():
                return
            page = page.next_page()

    def auto_paging_iter(self) -> Iterator[M]:
        for page in self.iter_pages():
            yield from page.data

    def __iter__(self) -> Iterator[M]:
        return self.auto_paging_iter()

    def __repr__(self) -> str:
        return f"SyncPage(data={self.data!r}, has_more={self.has_more!r}, next_cursor={self.next_cursor!r})"


class MessageStream:
    """An answer streamed as events (an iterator of
    :class:`~faos.StreamEvent`). A dropped connection is resumed at the
    stream endpoint with ``Last-Event-ID``, so every event arrives once.
    An ``error`` event raises its :class:`~faos.APIError`. Use as a context
    manager, or call :meth:`close`, to release the connection early."""

    def __init__(self, client: "Faos", session: StreamSession, response: Optional[httpx.Response]) -> None:
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

    def _events(self) -> Generator[StreamEvent, None, None]:
        session = self._session
        while not session.done:
            error: Optional[BaseException] = None
            try:
                response = self._response
                if response is None:
                    opened: httpx.Response = self._client._request(session.resume_call())
                    self._response = response = opened
                decoder = SSEDecoder()
                for chunk in response.iter_bytes():
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
                    self._response.close()
                    self._response = None
            if not session.done:
                time.sleep(session.on_drop(error))

    def __iter__(self) -> Iterator[StreamEvent]:
        return self

    def __next__(self) -> StreamEvent:
        return next(self._iterator)

    def final_message(self) -> Message:
        """Reads the rest of the stream; the stored final message."""
        for _ in self:
            pass
        if self._session.final_message is None:
            raise APIConnectionError("The stream ended without a final message")
        return self._session.final_message

    def close(self) -> None:
        self._iterator.close()
        if self._response is not None:
            self._response.close()
            self._response = None

    def __enter__(self) -> "MessageStream":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Resource:
    def __init__(self, client: "Faos") -> None:
        self._client = client

    def _page(self, call: "Call[PageData[M]]") -> SyncPage[M]:
        return SyncPage(self._client, call, self._client._request(call))


class Messages(_Resource):
    """``/v1/agents/{id}/messages``."""

    @overload
    def create(
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
    def create(
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
    ) -> MessageStream: ...

    @overload
    def create(
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
    ) -> Union[Message, MessageStream]: ...

    def create(
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
    ) -> Union[Message, MessageStream]:
        """Sends a message; the agent's reply (or, with ``stream=True``, a
        :class:`MessageStream` of the answer's events)."""
        params = dict(content=content, conversation_id=conversation_id, on_busy=on_busy, metadata=metadata)
        opts = options(idempotency_key, timeout)
        if stream:
            response: httpx.Response = self._client._request(api.messages_create_stream(agent_id, params, opts))
            session = StreamSession(agent_id, options=opts, request_id=response.headers.get("x-request-id"))
            return MessageStream(self._client, session, response)
        return self._client._request(api.messages_create(agent_id, params, opts))

    def list(
        self,
        agent_id: str,
        *,
        conversation_id: Union[str, NotGiven] = NOT_GIVEN,
        limit: Union[int, NotGiven] = NOT_GIVEN,
        cursor: Union[str, NotGiven] = NOT_GIVEN,
        order: Union[Order, NotGiven] = NOT_GIVEN,
        timeout: Timeout = NOT_GIVEN,
    ) -> SyncPage[Message]:
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
    ) -> MessageStream:
        """Resumes an answer's stream after ``last_event_id`` (from the start without it)."""
        session = StreamSession(
            agent_id,
            answer_id=answer_id,
            last_event_id=None if last_event_id is None else str(last_event_id),
            options=options(timeout=timeout),
        )
        return MessageStream(self._client, session, None)


class Conversations(_Resource):
    """``/v1/agents/{id}/conversations``."""

    def cancel(self, agent_id: str, conversation_id: str, *, timeout: Timeout = NOT_GIVEN) -> Answer:
        """Stops the answer in progress in a conversation."""
        return self._client._request(api.conversations_cancel(agent_id, conversation_id, options(timeout=timeout)))


class Agents(_Resource):
    """``/v1/agents``."""

    def __init__(self, client: "Faos") -> None:
        super().__init__(client)
        self.messages = Messages(client)
        self.conversations = Conversations(client)

    def create(
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
        return self._client._request(api.agents_create(params, options(idempotency_key, timeout)))

    def list(
        self,
        *,
        limit: Union[int, NotGiven] = NOT_GIVEN,
        cursor: Union[str, NotGiven] = NOT_GIVEN,
        order: Union[Order, NotGiven] = NOT_GIVEN,
        timeout: Timeout = NOT_GIVEN,
    ) -> SyncPage[Agent]:
        return self._page(api.agents_list(dict(limit=limit, cursor=cursor, order=order), options(timeout=timeout)))

    def get(self, agent_id: str, *, timeout: Timeout = NOT_GIVEN) -> Agent:
        return self._client._request(api.agents_get(agent_id, options(timeout=timeout)))

    def update(
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
        return self._client._request(api.agents_update(agent_id, params, options(timeout=timeout)))

    def delete(self, agent_id: str, *, timeout: Timeout = NOT_GIVEN) -> Deleted:
        return self._client._request(api.agents_delete(agent_id, options(timeout=timeout)))

    def usage(self, agent_id: str, *, timeout: Timeout = NOT_GIVEN) -> AgentUsage:
        """Token usage, in total, per UTC day and per model."""
        return self._client._request(api.agents_usage(agent_id, options(timeout=timeout)))


class Templates(_Resource):
    """``/v1/templates``."""

    def list(self, *, timeout: Timeout = NOT_GIVEN) -> SyncPage[Template]:
        return self._page(api.templates_list({}, options(timeout=timeout)))


class Models(_Resource):
    """``/v1/models``."""

    def list(self, *, timeout: Timeout = NOT_GIVEN) -> SyncPage[Model]:
        return self._page(api.models_list({}, options(timeout=timeout)))


class Workflows(_Resource):
    """``/v1/workflows``."""

    def create(
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
        return self._client._request(api.workflows_create(params, options(idempotency_key, timeout)))

    def list(
        self,
        *,
        limit: Union[int, NotGiven] = NOT_GIVEN,
        cursor: Union[str, NotGiven] = NOT_GIVEN,
        order: Union[Order, NotGiven] = NOT_GIVEN,
        timeout: Timeout = NOT_GIVEN,
    ) -> SyncPage[Workflow]:
        return self._page(api.workflows_list(dict(limit=limit, cursor=cursor, order=order), options(timeout=timeout)))

    def get(self, workflow_id: str, *, timeout: Timeout = NOT_GIVEN) -> Workflow:
        return self._client._request(api.workflows_get(workflow_id, options(timeout=timeout)))

    def update(
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
        return self._client._request(api.workflows_update(workflow_id, params, options(timeout=timeout)))

    def delete(self, workflow_id: str, *, timeout: Timeout = NOT_GIVEN) -> Deleted:
        return self._client._request(api.workflows_delete(workflow_id, options(timeout=timeout)))

    def run(
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
        return self._client._request(api.workflows_run(workflow_id, params, options(idempotency_key, timeout)))


class Runs(_Resource):
    """``/v1/runs`` and ``/v1/workflows/{id}/runs``."""

    def list(
        self,
        workflow_id: str,
        *,
        limit: Union[int, NotGiven] = NOT_GIVEN,
        cursor: Union[str, NotGiven] = NOT_GIVEN,
        order: Union[Order, NotGiven] = NOT_GIVEN,
        timeout: Timeout = NOT_GIVEN,
    ) -> SyncPage[Run]:
        """The runs of a workflow."""
        query = dict(limit=limit, cursor=cursor, order=order)
        return self._page(api.runs_list(workflow_id, query, options(timeout=timeout)))

    def get(self, run_id: str, *, timeout: Timeout = NOT_GIVEN) -> Run:
        return self._client._request(api.runs_get(run_id, options(timeout=timeout)))

    def cancel(self, run_id: str, *, timeout: Timeout = NOT_GIVEN) -> Run:
        return self._client._request(api.runs_cancel(run_id, options(timeout=timeout)))


class Deliveries(_Resource):
    """``/v1/webhooks/{id}/deliveries``."""

    def list(
        self,
        webhook_id: str,
        *,
        limit: Union[int, NotGiven] = NOT_GIVEN,
        cursor: Union[str, NotGiven] = NOT_GIVEN,
        order: Union[Order, NotGiven] = NOT_GIVEN,
        timeout: Timeout = NOT_GIVEN,
    ) -> SyncPage[Delivery]:
        query = dict(limit=limit, cursor=cursor, order=order)
        return self._page(api.deliveries_list(webhook_id, query, options(timeout=timeout)))

    def retry(self, webhook_id: str, delivery_id: str, *, timeout: Timeout = NOT_GIVEN) -> Delivery:
        """Makes a delivery due now."""
        return self._client._request(api.deliveries_retry(webhook_id, delivery_id, options(timeout=timeout)))


class Webhooks(_Resource):
    """``/v1/webhooks`` (endpoints), with ``deliveries``."""

    def __init__(self, client: "Faos") -> None:
        super().__init__(client)
        self.deliveries = Deliveries(client)

    def create(
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
        return self._client._request(api.webhooks_create(params, options(idempotency_key, timeout)))

    def list(
        self,
        *,
        limit: Union[int, NotGiven] = NOT_GIVEN,
        cursor: Union[str, NotGiven] = NOT_GIVEN,
        order: Union[Order, NotGiven] = NOT_GIVEN,
        timeout: Timeout = NOT_GIVEN,
    ) -> SyncPage[Webhook]:
        return self._page(api.webhooks_list(dict(limit=limit, cursor=cursor, order=order), options(timeout=timeout)))

    def get(self, webhook_id: str, *, timeout: Timeout = NOT_GIVEN) -> Webhook:
        return self._client._request(api.webhooks_get(webhook_id, options(timeout=timeout)))

    def update(
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
        return self._client._request(api.webhooks_update(webhook_id, params, options(timeout=timeout)))

    def delete(self, webhook_id: str, *, timeout: Timeout = NOT_GIVEN) -> Deleted:
        return self._client._request(api.webhooks_delete(webhook_id, options(timeout=timeout)))

    def rotate_secret(self, webhook_id: str, *, timeout: Timeout = NOT_GIVEN) -> Webhook:
        """A new secret (in the answer); the old one keeps signing for 24 h."""
        return self._client._request(api.webhooks_rotate_secret(webhook_id, options(timeout=timeout)))

    def test(self, webhook_id: str, *, timeout: Timeout = NOT_GIVEN) -> Event:
        """Sends a ``webhook.test`` event to this endpoint only."""
        return self._client._request(api.webhooks_test(webhook_id, options(timeout=timeout)))

    #: :func:`faos.webhooks.verify`, for convenience.
    verify = staticmethod(_webhooks.verify)


class Events(_Resource):
    """``/v1/events``."""

    def list(
        self,
        *,
        type: Union[str, NotGiven] = NOT_GIVEN,
        limit: Union[int, NotGiven] = NOT_GIVEN,
        cursor: Union[str, NotGiven] = NOT_GIVEN,
        order: Union[Order, NotGiven] = NOT_GIVEN,
        timeout: Timeout = NOT_GIVEN,
    ) -> SyncPage[Event]:
        query = dict(type=type, limit=limit, cursor=cursor, order=order)
        return self._page(api.events_list(query, options(timeout=timeout)))

    def get(self, event_id: str, *, timeout: Timeout = NOT_GIVEN) -> Event:
        return self._client._request(api.events_get(event_id, options(timeout=timeout)))


class ApiKeys(_Resource):
    """``/v1/api_keys`` (needs a secret key)."""

    def create(
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
        return self._client._request(api.api_keys_create(params, options(idempotency_key, timeout)))

    def list(
        self,
        *,
        limit: Union[int, NotGiven] = NOT_GIVEN,
        cursor: Union[str, NotGiven] = NOT_GIVEN,
        order: Union[Order, NotGiven] = NOT_GIVEN,
        timeout: Timeout = NOT_GIVEN,
    ) -> SyncPage[ApiKey]:
        return self._page(api.api_keys_list(dict(limit=limit, cursor=cursor, order=order), options(timeout=timeout)))

    def revoke(self, key_id: str, *, timeout: Timeout = NOT_GIVEN) -> ApiKey:
        return self._client._request(api.api_keys_revoke(key_id, options(timeout=timeout)))


class OAuthClients(_Resource):
    """``/v1/oauth/clients`` (needs a secret key)."""

    def create(
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
        return self._client._request(api.oauth_clients_create(params, options(idempotency_key, timeout)))

    def list(
        self,
        *,
        limit: Union[int, NotGiven] = NOT_GIVEN,
        cursor: Union[str, NotGiven] = NOT_GIVEN,
        order: Union[Order, NotGiven] = NOT_GIVEN,
        timeout: Timeout = NOT_GIVEN,
    ) -> SyncPage[OAuthClient]:
        query = dict(limit=limit, cursor=cursor, order=order)
        return self._page(api.oauth_clients_list(query, options(timeout=timeout)))

    def delete(self, client_id: str, *, timeout: Timeout = NOT_GIVEN) -> Deleted:
        """Deletes a client; its tokens stop working."""
        return self._client._request(api.oauth_clients_delete(client_id, options(timeout=timeout)))


class OAuth(_Resource):
    """OAuth 2.0: ``clients``, and the token and revocation endpoints."""

    def __init__(self, client: "Faos") -> None:
        super().__init__(client)
        self.clients = OAuthClients(client)

    def token(
        self,
        *,
        client_id: str,
        client_secret: str,
        scope: Optional[str] = None,
        timeout: Timeout = NOT_GIVEN,
    ) -> OAuthToken:
        """``POST /v1/oauth/token`` (client credentials, HTTP Basic)."""
        return self._client._request(api.oauth_token(client_id, client_secret, scope, options(timeout=timeout)))

    def revoke(
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
        self._client._request(call)


class Faos:
    """The FAOS API client (blocking).

    ``Faos(api_key="sk_live_…")`` or, with OAuth 2.0 client credentials,
    ``Faos(client_id=…, client_secret=…, scope=…)``. ``base_url`` defaults to
    ``FAOS_BASE_URL`` or ``http://127.0.0.1:8080/v1``; ``api_key`` to
    ``FAOS_API_KEY``. ``timeout`` (seconds or :class:`httpx.Timeout`) and
    ``max_retries`` (retries of 429, 5xx and network errors) apply to every
    request; most methods take their own ``timeout`` too."""

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
        http_client: Optional[httpx.Client] = None,
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
        self._http = http_client or httpx.Client()
        self.agents = Agents(self)
        self.templates = Templates(self)
        self.models = Models(self)
        self.workflows = Workflows(self)
        self.runs = Runs(self)
        self.webhooks = Webhooks(self)
        self.events = Events(self)
        self.api_keys = ApiKeys(self)
        self.oauth = OAuth(self)

    @property
    def base_url(self) -> str:
        return self._engine.base_url

    @property
    def max_retries(self) -> int:
        return self._engine.max_retries

    def _request(self, call: "Call[T]") -> T:
        return run_sync(self._engine.execute(call), self._send, time.sleep)

    def _send(self, request: HttpRequest) -> Outcome:
        http_request = self._http.build_request(
            request.method,
            request.url,
            headers=request.headers,
            params=request.params,
            content=request.content,
            timeout=request.timeout,
        )
        try:
            response = self._http.send(http_request, stream=request.stream)
        except httpx.TimeoutException as err:
            return TransportFailure(err, timeout=True)
        except httpx.TransportError as err:
            return TransportFailure(err)
        headers: Dict[str, str] = {k.lower(): v for k, v in response.headers.items()}
        if request.stream and response.status_code < 400:
            return HttpResponse(response.status_code, headers, stream=response)
        try:
            content = response.read()
        except httpx.TimeoutException as err:
            return TransportFailure(err, timeout=True)
        except httpx.TransportError as err:
            return TransportFailure(err)
        finally:
            response.close()
        return HttpResponse(response.status_code, headers, content)

    def close(self) -> None:
        """Closes the HTTP connections (unless an ``http_client`` was given)."""
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> "Faos":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["Faos", "SyncPage", "MessageStream", "RequestOptions"]
