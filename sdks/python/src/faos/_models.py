"""Typed models of every object the API returns (CONTRACT §7). Field names
are the API's own. Timestamps are RFC 3339 strings as sent. Fields the
server adds later are kept in :meth:`FaosModel.to_dict` and readable with
``model["field"]``."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import (
    Any,
    ClassVar,
    Dict,
    List,
    Literal,
    Mapping,
    Optional,
    Type,
    TypeVar,
    Union,
    get_args,
    get_origin,
    get_type_hints,
)

__all__ = [
    "FaosModel",
    "Agent",
    "BuiltinTool",
    "HttpTool",
    "WorkflowTool",
    "Tool",
    "Template",
    "Model",
    "Usage",
    "ToolCall",
    "ContextReport",
    "Message",
    "Answer",
    "AgentUsage",
    "DayUsage",
    "ModelUsage",
    "Workflow",
    "Run",
    "StepRun",
    "Webhook",
    "Delivery",
    "Event",
    "ApiKey",
    "OAuthClient",
    "OAuthToken",
    "Deleted",
]

M = TypeVar("M", bound="FaosModel")

_HINTS: Dict[type, Dict[str, Any]] = {}


class FaosModel:
    """Base of the models. ``from_dict`` builds one from the API's JSON;
    ``to_dict`` gives the JSON back (unknown fields included)."""

    #: For members of a union told apart by ``type`` (tools): their ``type``.
    _type_tag: ClassVar[Optional[str]] = None

    @classmethod
    def from_dict(cls: Type[M], data: Mapping[str, Any]) -> M:
        if not dataclasses.is_dataclass(cls):
            raise TypeError(f"{cls.__name__} is not a model")
        hints = _HINTS.get(cls)
        if hints is None:
            hints = get_type_hints(cls)
            _HINTS[cls] = hints
        kwargs: Dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            if f.name in data:
                kwargs[f.name] = _convert(hints[f.name], data[f.name])
            elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                kwargs[f.name] = None
        obj = cls(**kwargs)
        object.__setattr__(obj, "_raw", dict(data))
        return obj

    def to_dict(self) -> Dict[str, Any]:
        raw: Dict[str, Any] = dict(getattr(self, "_raw", {}))
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            # ``None`` fields the server did not send stay out (``name=None``
            # is not the same as no ``name`` in a request body).
            if value is not None or f.name in raw:
                raw[f.name] = _unconvert(value)
        return raw

    def __getitem__(self, key: str) -> Any:
        """Any field of the JSON object, including ones this SDK does not know."""
        raw: Dict[str, Any] = getattr(self, "_raw", {})
        if key in raw:
            return raw[key]
        if key in {f.name for f in dataclasses.fields(self)}:  # type: ignore[arg-type]
            return getattr(self, key)
        raise KeyError(key)


def _unconvert(value: Any) -> Any:
    if isinstance(value, FaosModel):
        return value.to_dict()
    if isinstance(value, list):
        return [_unconvert(v) for v in value]
    if isinstance(value, dict):
        return {k: _unconvert(v) for k, v in value.items()}
    return value


def _convert(tp: Any, value: Any) -> Any:
    if value is None or tp is Any:
        return value
    origin = get_origin(tp)
    if origin is Union:
        members = [a for a in get_args(tp) if a is not type(None)]
        if len(members) == 1:
            return _convert(members[0], value)
        if isinstance(value, Mapping):
            for member in members:
                if (
                    isinstance(member, type)
                    and issubclass(member, FaosModel)
                    and member._type_tag is not None
                    and value.get("type") == member._type_tag
                ):
                    return member.from_dict(value)
        return value
    if origin in (list, List):
        (item,) = get_args(tp) or (Any,)
        return [_convert(item, v) for v in value] if isinstance(value, list) else value
    if origin in (dict, Dict):
        args = get_args(tp)
        item = args[1] if len(args) == 2 else Any
        return {k: _convert(item, v) for k, v in value.items()} if isinstance(value, dict) else value
    if origin is Literal:
        return value
    if isinstance(tp, type) and issubclass(tp, FaosModel) and isinstance(value, Mapping):
        return tp.from_dict(value)
    return value


# ---------------------------------------------------------------- agents


@dataclass
class BuiltinTool(FaosModel):
    """``{"type": "builtin", "name": "current_time"}``."""

    _type_tag: ClassVar[Optional[str]] = "builtin"
    name: str
    type: Literal["builtin"] = "builtin"


@dataclass
class HttpTool(FaosModel):
    """An HTTP call the model may make: arguments fill ``{placeholders}`` in
    ``url`` and form the JSON body (or query string for GET/DELETE)."""

    _type_tag: ClassVar[Optional[str]] = "http"
    name: str
    description: str
    method: str
    url: str
    parameters: Dict[str, Any] = field(default_factory=dict)
    type: Literal["http"] = "http"


@dataclass
class WorkflowTool(FaosModel):
    """Runs a workflow with the model's arguments as its input."""

    _type_tag: ClassVar[Optional[str]] = "workflow"
    workflow_id: str
    name: Optional[str] = None
    description: Optional[str] = None
    type: Literal["workflow"] = "workflow"


#: A tool declaration of an agent.
Tool = Union[BuiltinTool, HttpTool, WorkflowTool]


@dataclass
class Agent(FaosModel):
    id: str
    name: str
    instructions: str
    model: str
    created_at: str
    updated_at: str
    template: Optional[str] = None
    tools: List[Tool] = field(default_factory=list)
    max_steps: int = 10
    metadata: Dict[str, str] = field(default_factory=dict)
    object: str = "agent"


@dataclass
class Template(FaosModel):
    id: str
    name: str
    description: str
    instructions: str
    model: str
    object: str = "template"


@dataclass
class Model(FaosModel):
    """A model an agent may use (``GET /v1/models``)."""

    id: str
    provider: str
    context_window: int
    object: str = "model"


@dataclass
class Usage(FaosModel):
    input_tokens: int
    output_tokens: int


@dataclass
class ToolCall(FaosModel):
    id: str
    name: str
    arguments: Dict[str, Any] = field(default_factory=dict)


@dataclass
class ContextReport(FaosModel):
    window: int
    dropped_messages: int


@dataclass
class Message(FaosModel):
    id: str
    agent_id: str
    conversation_id: str
    role: str
    content: str
    created_at: str
    metadata: Dict[str, str] = field(default_factory=dict)
    usage: Optional[Usage] = None
    stop_reason: Optional[str] = None
    tool_calls: Optional[List[ToolCall]] = None
    tool_call_id: Optional[str] = None
    tool_name: Optional[str] = None
    is_error: Optional[bool] = None
    model: Optional[str] = None
    context: Optional[ContextReport] = None
    object: str = "message"


@dataclass
class Answer(FaosModel):
    """An agent's answer, as cancelling it reports it."""

    id: str
    agent_id: str
    conversation_id: str
    status: str
    created_at: str
    object: str = "answer"


@dataclass
class DayUsage(FaosModel):
    date: str
    input_tokens: int
    output_tokens: int


@dataclass
class ModelUsage(FaosModel):
    model: str
    input_tokens: int
    output_tokens: int


@dataclass
class AgentUsage(FaosModel):
    agent_id: str
    input_tokens: int
    output_tokens: int
    by_day: List[DayUsage] = field(default_factory=list)
    by_model: List[ModelUsage] = field(default_factory=list)
    object: str = "usage"


# ---------------------------------------------------------------- workflows


@dataclass
class Workflow(FaosModel):
    id: str
    name: str
    version: int
    created_at: str
    updated_at: str
    description: Optional[str] = None
    input_schema: Optional[Dict[str, Any]] = None
    #: The step definitions, as given (see the contract's workflow format).
    steps: List[Dict[str, Any]] = field(default_factory=list)
    output: Any = None
    metadata: Dict[str, str] = field(default_factory=dict)
    object: str = "workflow"


@dataclass
class StepRun(FaosModel):
    """One step execution of a run."""

    path: str
    id: str
    type: str
    status: str
    attempts: int
    started_at: str
    input: Any = None
    output: Any = None
    error: Optional[str] = None
    finished_at: Optional[str] = None


@dataclass
class Run(FaosModel):
    id: str
    workflow_id: str
    workflow_version: int
    status: str
    created_at: str
    input: Any = None
    output: Any = None
    error: Optional[str] = None
    parent_run_id: Optional[str] = None
    steps: List[StepRun] = field(default_factory=list)
    started_at: Optional[str] = None
    finished_at: Optional[str] = None
    object: str = "run"

    #: Statuses after which a run never changes.
    FINISHED: ClassVar[frozenset] = frozenset({"succeeded", "failed", "cancelled"})  # type: ignore[type-arg]

    @property
    def finished(self) -> bool:
        return self.status in self.FINISHED


# ---------------------------------------------------------------- webhooks


@dataclass
class Webhook(FaosModel):
    """A webhook endpoint. ``secret`` (``whsec_…``) is only in the answers
    of create and rotate_secret."""

    id: str
    url: str
    created_at: str
    updated_at: str
    events: List[str] = field(default_factory=list)
    enabled: bool = True
    disabled_reason: Optional[str] = None
    description: Optional[str] = None
    metadata: Dict[str, str] = field(default_factory=dict)
    secret: Optional[str] = None
    object: str = "webhook"


@dataclass
class Delivery(FaosModel):
    id: str
    webhook_id: str
    event_id: str
    event_type: str
    status: str
    attempts: int
    created_at: str
    updated_at: str
    next_attempt_at: Optional[str] = None
    response_status: Optional[int] = None
    response_body: Optional[str] = None
    latency_ms: Optional[int] = None
    error: Optional[str] = None
    object: str = "delivery"


@dataclass
class Event(FaosModel):
    """An event; ``data`` is the object it is about, as the API returns it."""

    id: str
    type: str
    created_at: str
    data: Any = None
    object: str = "event"


# ---------------------------------------------------------------- access


@dataclass
class ApiKey(FaosModel):
    """An API key. ``secret`` is only in the creation answer."""

    id: str
    created_at: str
    redacted: str = ""
    name: Optional[str] = None
    mode: Optional[str] = None
    scopes: Optional[List[str]] = None
    secret: Optional[str] = None
    expires_at: Optional[str] = None
    revoked_at: Optional[str] = None
    metadata: Dict[str, str] = field(default_factory=dict)
    object: str = "api_key"


@dataclass
class OAuthClient(FaosModel):
    """An OAuth 2.0 client. ``id`` (``cli_…``) is its OAuth ``client_id``;
    ``client_secret`` is only in the creation answer."""

    id: str
    name: Optional[str] = None
    mode: Optional[str] = None
    scopes: Optional[List[str]] = None
    client_secret: Optional[str] = None
    created_at: Optional[str] = None
    metadata: Dict[str, str] = field(default_factory=dict)
    object: str = "oauth_client"

    @property
    def client_id(self) -> str:
        """The ``client_id`` to authenticate with (the client's ``id``)."""
        raw: Dict[str, Any] = getattr(self, "_raw", {})
        value = raw.get("client_id")
        return value if isinstance(value, str) else self.id


@dataclass
class OAuthToken(FaosModel):
    """An RFC 6749 access token answer."""

    access_token: str
    token_type: str = "Bearer"
    expires_in: Optional[int] = None
    scope: Optional[str] = None


@dataclass
class Deleted(FaosModel):
    """The answer of a DELETE: ``{id, object, deleted: true}``."""

    id: str
    object: str
    deleted: bool = True
