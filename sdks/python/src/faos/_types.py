"""Small shared types: the "not given" sentinel and request options."""

from __future__ import annotations

from typing import Any, Dict, Mapping, Optional, Union

import httpx

__all__ = ["NOT_GIVEN", "NotGiven", "Timeout", "TimeoutTypes", "omit_not_given"]

Timeout = httpx.Timeout
#: A timeout in seconds, an :class:`httpx.Timeout`, or ``None`` for no timeout.
TimeoutTypes = Union[float, httpx.Timeout, None]


class NotGiven:
    """The type of :data:`NOT_GIVEN`: a parameter left out of a request.

    It differs from ``None``, which is sent as JSON ``null`` (for example
    ``metadata=None`` on an update removes every key, as the API's JSON
    Merge Patch says)."""

    _instance: Optional["NotGiven"] = None

    def __new__(cls) -> "NotGiven":
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "NOT_GIVEN"


NOT_GIVEN = NotGiven()


def omit_not_given(values: Mapping[str, Any]) -> Dict[str, Any]:
    """The entries of ``values`` that were given (``None`` included)."""
    return {k: v for k, v in values.items() if not isinstance(v, NotGiven)}
