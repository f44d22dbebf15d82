"""The sans-IO core shared by :class:`faos.Faos` and :class:`faos.AsyncFaos`.

Everything that decides anything lives here: building requests, the
``Idempotency-Key`` of each logical POST, authentication (API key, or OAuth
2.0 client credentials fetched and refreshed as needed), parsing answers,
mapping errors, and whether and when to retry. It performs no I/O: a
request's life is a generator that yields :class:`Send` and :class:`Sleep`
actions and is sent their outcomes. The sync and async clients each run it
with a small driver (``_sync.py`` and ``_async.py``)."""

from __future__ import annotations

import base64
import json
import random
import time
import uuid
from dataclasses import dataclass, field, replace
from typing import (
    Any,
    Callable,
    Dict,
    Generator,
    Generic,
    List,
    Mapping,
    Optional,
    Sequence,
    Tuple,
    Type,
    TypeVar,
    Union,
)
from urllib.parse import quote

from ._errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    FaosError,
    error_from_response,
    parse_retry_after,
)
from ._models import FaosModel
from ._types import NOT_GIVEN, NotGiven, TimeoutTypes
from ._version import __version__

T = TypeVar("T")
M = TypeVar("M", bound=FaosModel)

DEFAULT_BASE_URL = "http://127.0.0.1:8080/v1"
DEFAULT_TIMEOUT = 120.0
DEFAULT_MAX_RETRIES = 2
#: A ``Retry-After`` longer than this is not waited for: the error is raised.
MAX_RETRY_AFTER = 60.0
INITIAL_BACKOFF = 0.5
MAX_BACKOFF = 8.0
#: Statuses retried (with the same ``Idempotency-Key`` for POSTs).
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


# ------------------------------------------------------------------ wire types


@dataclass
class HttpRequest:
    """A request, ready for a driver to send."""

    method: str
    url: str
    headers: Dict[str, str]
    params: List[Tuple[str, Any]] = field(default_factory=list)
    content: Optional[bytes] = None
    timeout: TimeoutTypes = None
    stream: bool = False


@dataclass
class HttpResponse:
    """An answer as the core sees it. For a streamed request that
    succeeded, ``content`` is empty and ``stream`` is the driver's open
    response (the body is read by the stream, not here)."""

    status: int
    headers: Dict[str, str]
    content: bytes = b""
    stream: Any = None

    def json(self) -> Any:
        return json.loads(self.content.decode("utf-8")) if self.content else None


@dataclass
class TransportFailure:
    """A request that got no answer: ``error`` is the driver's exception."""

    error: BaseException
    timeout: bool = False


Outcome = Union[HttpResponse, TransportFailure]


@dataclass
class Send:
    """Action: send ``request`` and send back its :data:`Outcome`."""

    request: HttpRequest


@dataclass
class Sleep:
    """Action: wait ``seconds``, then send back ``None``."""

    seconds: float


Action = Union[Send, Sleep]
#: The life of one logical request.
Flow = Generator[Action, Optional[Outcome], T]


@dataclass(frozen=True)
class RequestOptions:
    """Per-call options: ``idempotency_key`` (POST), ``timeout``, ``max_retries``,
    ``extra_headers``."""

    idempotency_key: Optional[str] = None
    timeout: Union[TimeoutTypes, NotGiven] = NOT_GIVEN
    max_retries: Optional[int] = None
    extra_headers: Optional[Mapping[str, str]] = None


@dataclass(frozen=True)
class Call(Generic[T]):
    """One API operation: what to send and how to read the answer."""

    method: str
    path: str
    parse: Callable[[HttpResponse], T]
    query: Optional[Mapping[str, Any]] = None
    json: Any = NOT_GIVEN
    form: Optional[Mapping[str, str]] = None
    options: RequestOptions = RequestOptions()
    #: Send the client's credentials (``False`` for OAuth token endpoints).
    authenticate: bool = True
    #: Explicit ``Authorization`` header (OAuth client authentication).
    authorization: Optional[str] = None
    #: Send an ``Idempotency-Key`` (POSTs of the API).
    idempotent: bool = True
    stream: bool = False
    accept: str = "application/json"


# ------------------------------------------------------------------ parsing


@dataclass
class PageData(Generic[M]):
    """One page of a list answer."""

    data: List[M]
    has_more: bool
    next_cursor: Optional[str]
    request_id: Optional[str]


def _envelope(response: HttpResponse) -> Dict[str, Any]:
    try:
        body = response.json()
    except ValueError as err:
        raise FaosError(f"The server's answer is not JSON (HTTP {response.status})") from err
    if not isinstance(body, dict) or "data" not in body:
        raise FaosError(f"The server's answer has no 'data' (HTTP {response.status})")
    return body


def parse_object(model: Type[M]) -> Callable[[HttpResponse], M]:
    """Reads ``{"data": {…}}`` as one ``model``."""

    def parse(response: HttpResponse) -> M:
        return model.from_dict(_envelope(response)["data"])

    return parse


def parse_page(model: Type[M]) -> Callable[[HttpResponse], PageData[M]]:
    """Reads ``{"data": […], "meta": {has_more, next_cursor}}``."""

    def parse(response: HttpResponse) -> PageData[M]:
        body = _envelope(response)
        meta = body.get("meta") or {}
        return PageData(
            data=[model.from_dict(item) for item in body["data"]],
            has_more=bool(meta.get("has_more", False)),
            next_cursor=meta.get("next_cursor"),
            request_id=meta.get("request_id") or response.headers.get("x-request-id"),
        )

    return parse


def parse_plain(model: Type[M]) -> Callable[[HttpResponse], M]:
    """Reads a plain JSON object (OAuth endpoints answer RFC 6749 JSON)."""

    def parse(response: HttpResponse) -> M:
        body = response.json()
        if isinstance(body, dict) and "data" in body and isinstance(body["data"], dict):
            body = body["data"]
        return model.from_dict(body)

    return parse


def parse_none(response: HttpResponse) -> None:
    return None


def parse_stream(response: HttpResponse) -> Any:
    return response.stream


def path(template: str, *ids: str) -> str:
    """``template`` with each ``{}`` replaced by an id, percent-encoded."""
    for value in ids:
        if not isinstance(value, str) or value == "":
            raise ValueError(f"expected a non-empty id string, got {value!r}")
    return template.format(*(quote(value, safe="") for value in ids))


def page_call(call: "Call[PageData[M]]", cursor: str) -> "Call[PageData[M]]":
    """The call of the page after ``call``'s, at ``cursor``."""
    query = dict(call.query or {})
    query["cursor"] = cursor
    return replace(call, query=query)


# ------------------------------------------------------------------ auth


class ApiKeyAuth:
    def __init__(self, api_key: str) -> None:
        self.api_key = api_key

    def authorization(self, now: float) -> Flow[str]:
        return f"Bearer {self.api_key}"
        yield  # pragma: no cover  (makes this a generator)

    def invalidate(self) -> bool:
        return False


class OAuthClientCredentials:
    """OAuth 2.0 client credentials (RFC 6749 §4.4). The token is fetched on
    first use and fetched again shortly before it expires, or after a 401."""

    #: Refresh this many seconds before expiry (at most a tenth of the lifetime).
    REFRESH_MARGIN = 30.0

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        *,
        scope: Optional[str] = None,
        token_url: Optional[str] = None,
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.scope = scope
        self.token_url = token_url
        self._token: Optional[str] = None
        self._refresh_at: float = 0.0
        self._engine: Optional["Engine"] = None

    def basic_authorization(self) -> str:
        return basic_authorization(self.client_id, self.client_secret)

    def token_call(self) -> "Call[Any]":
        from ._models import OAuthToken

        form = {"grant_type": "client_credentials"}
        if self.scope:
            form["scope"] = self.scope
        return Call(
            "POST",
            self.token_url or "/oauth/token",
            parse_plain(OAuthToken),
            form=form,
            authenticate=False,
            authorization=self.basic_authorization(),
            idempotent=False,
        )

    def authorization(self, now: float) -> Flow[str]:
        if self._token is None or now >= self._refresh_at:
            assert self._engine is not None
            token = yield from self._engine.execute(self.token_call())
            lifetime = float(token.expires_in) if token.expires_in else 3600.0
            margin = min(self.REFRESH_MARGIN, lifetime / 10.0)
            self._token = token.access_token
            self._refresh_at = now + lifetime - margin
        return f"Bearer {self._token}"

    def invalidate(self) -> bool:
        """Forgets the token (after a 401); ``True`` if there was one."""
        had = self._token is not None
        self._token = None
        return had


def basic_authorization(client_id: str, client_secret: str) -> str:
    """HTTP Basic credentials as RFC 6749 §2.3.1 says (form-encoded parts)."""
    from urllib.parse import quote_plus

    raw = f"{quote_plus(client_id)}:{quote_plus(client_secret)}".encode("utf-8")
    return "Basic " + base64.b64encode(raw).decode("ascii")


Auth = Union[ApiKeyAuth, OAuthClientCredentials]


# ------------------------------------------------------------------ engine


def retry_delay(attempt: int, headers: Mapping[str, str], rand: Callable[[], float] = random.random) -> Optional[float]:
    """Seconds before retry number ``attempt + 1``: the server's
    ``Retry-After`` when it gives one (``None`` — do not retry — when that
    is longer than :data:`MAX_RETRY_AFTER`), else exponential backoff from
    0.5 s with up to 25 % jitter."""
    after = parse_retry_after(headers)
    if after is not None:
        return after if after <= MAX_RETRY_AFTER else None
    base = min(INITIAL_BACKOFF * (2.0 ** attempt), MAX_BACKOFF)
    return base * (1.0 - 0.25 * rand())


def new_idempotency_key() -> str:
    return f"faos-py-{uuid.uuid4()}"


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class Engine:
    """Builds, authenticates, retries and parses requests, without I/O."""

    def __init__(
        self,
        *,
        base_url: str,
        auth: Auth,
        timeout: TimeoutTypes,
        max_retries: int,
        default_headers: Optional[Mapping[str, str]] = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.auth = auth
        self.timeout = timeout
        self.max_retries = max_retries
        self.default_headers = dict(default_headers or {})
        self.clock = clock
        if isinstance(auth, OAuthClientCredentials):
            auth._engine = self

    def url(self, path_or_url: str) -> str:
        if path_or_url.startswith(("http://", "https://")):
            return path_or_url
        return self.base_url + path_or_url

    def build(self, call: "Call[Any]", authorization: Optional[str], idempotency_key: Optional[str]) -> HttpRequest:
        headers: Dict[str, str] = {
            "Accept": call.accept,
            "User-Agent": f"faos-python/{__version__}",
        }
        headers.update(self.default_headers)
        content: Optional[bytes] = None
        if call.form is not None:
            from urllib.parse import urlencode

            content = urlencode(list(call.form.items())).encode("ascii")
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif not isinstance(call.json, NotGiven):
            content = json.dumps(call.json, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
            headers["Content-Type"] = "application/json"
        if authorization is not None:
            headers["Authorization"] = authorization
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        if call.options.extra_headers:
            headers.update(call.options.extra_headers)
        params: List[Tuple[str, Any]] = []
        for key, value in (call.query or {}).items():
            if value is None or isinstance(value, NotGiven):
                continue
            if isinstance(value, (list, tuple)):
                params.extend((key, _query_value(v)) for v in value)
            else:
                params.append((key, _query_value(value)))
        timeout = self.timeout if isinstance(call.options.timeout, NotGiven) else call.options.timeout
        return HttpRequest(
            method=call.method,
            url=self.url(call.path),
            headers=headers,
            params=params,
            content=content,
            timeout=timeout,
            stream=call.stream,
        )

    def execute(self, call: "Call[T]") -> Flow[T]:
        """The life of ``call``: authenticate, send, retry on 429/5xx and
        network errors (honouring ``Retry-After``), refresh an OAuth token
        once after a 401, and parse the answer or raise its error."""
        idempotency_key: Optional[str] = None
        if call.method == "POST" and call.idempotent:
            idempotency_key = call.options.idempotency_key or new_idempotency_key()
        max_retries = self.max_retries if call.options.max_retries is None else call.options.max_retries
        attempt = 0
        reauthenticated = False
        while True:
            authorization = call.authorization
            if call.authenticate:
                authorization = yield from self.auth.authorization(self.clock())
            request = self.build(call, authorization, idempotency_key)
            outcome = yield Send(request)
            assert outcome is not None
            if isinstance(outcome, TransportFailure):
                if attempt < max_retries:
                    yield Sleep(retry_delay(attempt, {}) or 0.0)
                    attempt += 1
                    continue
                if outcome.timeout:
                    raise APITimeoutError(f"Request timed out: {call.method} {request.url}") from outcome.error
                raise APIConnectionError(
                    f"Connection error: {call.method} {request.url}: {outcome.error}"
                ) from outcome.error
            response = outcome
            if response.status == 401 and call.authenticate and not reauthenticated and self.auth.invalidate():
                reauthenticated = True
                continue
            if response.status >= 400:
                if response.status in RETRY_STATUSES and attempt < max_retries:
                    delay = retry_delay(attempt, response.headers)
                    if delay is not None:
                        yield Sleep(delay)
                        attempt += 1
                        continue
                raise error_from_response(response.status, response.headers, response.content)
            return call.parse(response)


def run_sync(flow: Flow[T], send: Callable[[HttpRequest], Outcome], sleep: Callable[[float], None]) -> T:
    """Drives a flow with blocking I/O."""
    try:
        action = next(flow)
        while True:
            if isinstance(action, Send):
                action = flow.send(send(action.request))
            else:
                sleep(action.seconds)
                action = flow.send(None)
    except StopIteration as stop:
        result: T = stop.value
        return result


def body(values: Mapping[str, Any]) -> Dict[str, Any]:
    """A JSON body: the given values, models turned into their JSON."""
    out: Dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, NotGiven):
            continue
        out[key] = _to_json(value)
    return out


def _to_json(value: Any) -> Any:
    if isinstance(value, FaosModel):
        return value.to_dict()
    if isinstance(value, Mapping):
        return {k: _to_json(v) for k, v in value.items() if not isinstance(v, NotGiven)}
    if isinstance(value, (list, tuple)):
        return [_to_json(v) for v in value]
    return value


def options(
    idempotency_key: Optional[str] = None,
    timeout: Union[TimeoutTypes, NotGiven] = NOT_GIVEN,
    extra_headers: Optional[Mapping[str, str]] = None,
    max_retries: Optional[int] = None,
) -> RequestOptions:
    return RequestOptions(
        idempotency_key=idempotency_key,
        timeout=timeout,
        extra_headers=extra_headers,
        max_retries=max_retries,
    )


__all__ = [
    "APIError",
    "Call",
    "Engine",
    "HttpRequest",
    "HttpResponse",
    "PageData",
    "RequestOptions",
    "Send",
    "Sleep",
    "TransportFailure",
    "Sequence",
]
