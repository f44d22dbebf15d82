"""Message streams, sans-IO: a Server-Sent Events decoder, the typed
events, and the session that tracks an answer's position so a dropped
connection resumes with ``Last-Event-ID`` at
``GET /v1/agents/{id}/messages/{answer_id}/stream`` (docs/API.md,
Streaming)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Dict, List, Optional

from ._core import Call, RequestOptions, parse_stream, path
from ._errors import StreamInterruptedError, error_from_event
from ._models import Message, ToolCall

__all__ = [
    "ServerSentEvent",
    "SSEDecoder",
    "StreamEvent",
    "AnswerStartedEvent",
    "MessageDeltaEvent",
    "ToolCallStartedEvent",
    "ToolCallCompletedEvent",
    "MessageCompletedEvent",
    "StreamSession",
]


@dataclass
class ServerSentEvent:
    event: str
    data: str
    id: Optional[str] = None
    retry: Optional[int] = None


class SSEDecoder:
    """Incremental ``text/event-stream`` decoder (the WHATWG rules)."""

    def __init__(self) -> None:
        self._buffer = ""
        self._pending = b""
        self._event = ""
        self._data: List[str] = []
        self._id: Optional[str] = None
        self._retry: Optional[int] = None

    def feed(self, chunk: bytes) -> List[ServerSentEvent]:
        data = self._pending + chunk
        try:
            text = data.decode("utf-8")
            self._pending = b""
        except UnicodeDecodeError as err:
            # Keep an incomplete multi-byte character for the next chunk.
            if err.start >= len(data) - 3:
                text = data[: err.start].decode("utf-8")
                self._pending = data[err.start :]
            else:
                text = data.decode("utf-8", "replace")
                self._pending = b""
        self._buffer += text
        events: List[ServerSentEvent] = []
        while True:
            index = _line_end(self._buffer)
            if index is None:
                break
            end, after = index
            line = self._buffer[:end]
            self._buffer = self._buffer[after:]
            event = self._line(line)
            if event is not None:
                events.append(event)
        return events

    def _line(self, line: str) -> Optional[ServerSentEvent]:
        if line == "":
            if not self._data and not self._event:
                return None
            event = ServerSentEvent(
                event=self._event or "message",
                data="\n".join(self._data),
                id=self._id,
                retry=self._retry,
            )
            self._event = ""
            self._data = []
            return event
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        elif name == "id":
            if "\0" not in value:
                self._id = value
        elif name == "retry":
            if value.isdigit():
                self._retry = int(value)
        return None


def _line_end(buffer: str) -> Optional[tuple]:  # type: ignore[type-arg]
    for i, ch in enumerate(buffer):
        if ch == "\n":
            return i, i + 1
        if ch == "\r":
            if i + 1 < len(buffer):
                return (i, i + 2) if buffer[i + 1] == "\n" else (i, i + 1)
            return None  # wait: a "\n" may follow
    return None


class StreamEvent:
    """One event of an answer's stream. ``event`` is its type, ``id`` its
    number in the stream, ``data`` its decoded JSON. Subclasses give typed
    access to the known types."""

    def __init__(self, event: str, id: Optional[str], data: Any) -> None:
        self.event = event
        self.id = id
        self.data = data

    @property
    def type(self) -> str:
        return self.event

    def __repr__(self) -> str:
        return f"{type(self).__name__}(event={self.event!r}, id={self.id!r}, data={self.data!r})"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, StreamEvent)
            and (self.event, self.id, self.data) == (other.event, other.id, other.data)
        )

    __hash__ = None  # type: ignore[assignment]


class AnswerStartedEvent(StreamEvent):
    """``answer.started``: ``answer_id`` is also the final message's id."""

    @property
    def answer_id(self) -> str:
        return str(self.data["id"])

    @property
    def agent_id(self) -> str:
        return str(self.data["agent_id"])

    @property
    def conversation_id(self) -> str:
        return str(self.data["conversation_id"])

    @property
    def user_message(self) -> Optional[Message]:
        raw = self.data.get("user_message")
        return Message.from_dict(raw) if isinstance(raw, dict) else None


class MessageDeltaEvent(StreamEvent):
    """``message.delta``: a piece of the answer's text."""

    @property
    def delta(self) -> str:
        return str(self.data.get("delta", ""))


class ToolCallStartedEvent(StreamEvent):
    """``tool_call.started``."""

    @property
    def message_id(self) -> str:
        return str(self.data.get("message_id", ""))

    @property
    def tool_call(self) -> ToolCall:
        return ToolCall.from_dict(self.data.get("tool_call") or {})


class ToolCallCompletedEvent(StreamEvent):
    """``tool_call.completed``: ``message`` is the stored tool message."""

    @property
    def message(self) -> Message:
        return Message.from_dict(self.data.get("message") or {})


class MessageCompletedEvent(StreamEvent):
    """``message.completed``: the stored final message; the stream ends."""

    @property
    def message(self) -> Message:
        return Message.from_dict(self.data)


EVENT_TYPES: Dict[str, type] = {
    "answer.started": AnswerStartedEvent,
    "message.delta": MessageDeltaEvent,
    "tool_call.started": ToolCallStartedEvent,
    "tool_call.completed": ToolCallCompletedEvent,
    "message.completed": MessageCompletedEvent,
}


class StreamSession:
    """Where a stream is: its answer, the last event seen, whether it ended,
    and how to resume it. Shared by the sync and async streams."""

    #: Reconnections tried in a row without receiving an event.
    MAX_RECONNECTS = 5

    def __init__(
        self,
        agent_id: str,
        *,
        answer_id: Optional[str] = None,
        last_event_id: Optional[str] = None,
        options: RequestOptions = RequestOptions(),
        request_id: Optional[str] = None,
    ) -> None:
        self.agent_id = agent_id
        self.answer_id = answer_id
        self.last_event_id = last_event_id
        self.options = options
        self.request_id = request_id
        self.done = False
        self.final_message: Optional[Message] = None
        self.reconnects = 0
        self.failures_in_a_row = 0

    def accept(self, sse: ServerSentEvent) -> Optional[StreamEvent]:
        """The typed event for ``sse`` (``None`` for one already seen).
        Raises the :class:`~faos.APIError` of an ``error`` event."""
        if sse.id is not None and self.last_event_id is not None:
            if sse.id.isdigit() and self.last_event_id.isdigit() and int(sse.id) <= int(self.last_event_id):
                return None
        if sse.id is not None:
            self.last_event_id = sse.id
        self.failures_in_a_row = 0
        try:
            data: Any = json.loads(sse.data) if sse.data else None
        except ValueError:
            data = sse.data
        if sse.event == "error":
            self.done = True
            raise error_from_event(data, request_id=self.request_id)
        cls = EVENT_TYPES.get(sse.event, StreamEvent)
        event: StreamEvent = cls(sse.event, sse.id, data)
        if isinstance(event, AnswerStartedEvent) and isinstance(data, dict) and "id" in data:
            self.answer_id = event.answer_id
        if isinstance(event, MessageCompletedEvent):
            self.done = True
            self.final_message = event.message
            if self.answer_id is None:
                self.answer_id = self.final_message.id
        return event

    def on_drop(self, error: Optional[BaseException]) -> float:
        """Called when the connection ends before the answer did: the
        seconds to wait before resuming. Raises
        :class:`~faos.StreamInterruptedError` when it cannot resume."""
        why = f": {error}" if error is not None else " before the answer ended"
        if self.answer_id is None:
            raise StreamInterruptedError(f"The stream broke before the answer started{why}")
        if self.failures_in_a_row >= self.MAX_RECONNECTS:
            raise StreamInterruptedError(
                f"The stream of answer {self.answer_id} could not be resumed after "
                f"{self.failures_in_a_row} attempts{why}"
            )
        delay = 0.0 if self.failures_in_a_row == 0 else min(0.5 * 2 ** (self.failures_in_a_row - 1), 8.0)
        self.failures_in_a_row += 1
        self.reconnects += 1
        return delay

    def resume_call(self) -> "Call[Any]":
        """``GET /agents/{id}/messages/{answer_id}/stream`` after the last event."""
        assert self.answer_id is not None
        headers = dict(self.options.extra_headers or {})
        if self.last_event_id is not None:
            headers["Last-Event-ID"] = self.last_event_id
        return Call(
            "GET",
            path("/agents/{}/messages/{}/stream", self.agent_id, self.answer_id),
            parse_stream,
            options=RequestOptions(
                timeout=self.options.timeout,
                max_retries=self.options.max_retries,
                extra_headers=headers,
            ),
            stream=True,
            accept="text/event-stream",
        )
