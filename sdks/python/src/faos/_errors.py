"""Exceptions. Every API error is an :class:`APIError` carrying ``status``,
``code``, ``message``, ``param`` and ``request_id``, with one subclass per
error code of the contract (CONTRACT §2)."""

from __future__ import annotations

import email.utils
import json
import time
from typing import Any, ClassVar, Dict, Mapping, Optional, Type

__all__ = [
    "FaosError",
    "APIError",
    "InvalidRequestError",
    "UnauthenticatedError",
    "AuthenticationError",
    "PermissionDeniedError",
    "NotFoundError",
    "MethodNotAllowedError",
    "ConflictError",
    "PayloadTooLargeError",
    "IdempotencyKeyReusedError",
    "RateLimitError",
    "InternalServerError",
    "ModelError",
    "UnavailableError",
    "OAuthError",
    "APIConnectionError",
    "APITimeoutError",
    "StreamInterruptedError",
    "WebhookVerificationError",
    "parse_retry_after",
]


class FaosError(Exception):
    """Base of every exception this SDK raises."""


class APIError(FaosError):
    """The server answered with an error.

    Attributes: ``status`` (HTTP status; for an ``error`` event of a stream,
    the status its code has), ``code`` (e.g. ``not_found``), ``message``,
    ``param`` (the request field at fault, or ``None``), ``request_id``
    (``req_…``), ``headers`` (the response headers, lower-case names) and
    ``body`` (the decoded JSON body, or ``None``)."""

    #: The contract error code this class stands for (``None`` on the base).
    default_code: ClassVar[Optional[str]] = None
    #: The HTTP status of that code.
    default_status: ClassVar[Optional[int]] = None

    def __init__(
        self,
        message: str,
        *,
        status: int,
        code: str,
        param: Optional[str] = None,
        request_id: Optional[str] = None,
        headers: Optional[Mapping[str, str]] = None,
        body: Any = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.param = param
        self.request_id = request_id
        self.headers: Dict[str, str] = {k.lower(): v for k, v in (headers or {}).items()}
        self.body = body

    def __str__(self) -> str:
        parts = [f"{self.status} {self.code}: {self.message}"]
        if self.param:
            parts.append(f"param={self.param}")
        if self.request_id:
            parts.append(f"request_id={self.request_id}")
        return " ".join(parts)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status={self.status!r}, code={self.code!r}, "
            f"message={self.message!r}, param={self.param!r}, request_id={self.request_id!r})"
        )


class InvalidRequestError(APIError):
    """400 ``invalid_request``: a malformed body or parameter (``param`` names it)."""

    default_code = "invalid_request"
    default_status = 400


class UnauthenticatedError(APIError):
    """401 ``unauthenticated``: no credentials, or unknown, revoked or expired ones."""

    default_code = "unauthenticated"
    default_status = 401


#: Another name for :class:`UnauthenticatedError`.
AuthenticationError = UnauthenticatedError


class PermissionDeniedError(APIError):
    """403 ``permission_denied``: valid credentials that lack the scope."""

    default_code = "permission_denied"
    default_status = 403


class NotFoundError(APIError):
    """404 ``not_found``."""

    default_code = "not_found"
    default_status = 404


class MethodNotAllowedError(APIError):
    """405 ``method_not_allowed``."""

    default_code = "method_not_allowed"
    default_status = 405


class ConflictError(APIError):
    """409 ``conflict``: a state conflict, or an idempotency key in use."""

    default_code = "conflict"
    default_status = 409


class PayloadTooLargeError(APIError):
    """413 ``payload_too_large``."""

    default_code = "payload_too_large"
    default_status = 413


class IdempotencyKeyReusedError(APIError):
    """422 ``idempotency_key_reused``: the same key with a different request."""

    default_code = "idempotency_key_reused"
    default_status = 422


class RateLimitError(APIError):
    """429 ``rate_limit_exceeded``. ``retry_after`` is the server's
    ``Retry-After`` in seconds (or ``None``)."""

    default_code = "rate_limit_exceeded"
    default_status = 429

    @property
    def retry_after(self) -> Optional[float]:
        return parse_retry_after(self.headers)


class InternalServerError(APIError):
    """500 ``internal_error``."""

    default_code = "internal_error"
    default_status = 500


class ModelError(APIError):
    """502 ``model_error``: the model provider failed or timed out."""

    default_code = "model_error"
    default_status = 502


class UnavailableError(APIError):
    """503 ``unavailable``: database down, or the server is shutting down."""

    default_code = "unavailable"
    default_status = 503


class OAuthError(APIError):
    """An OAuth 2.0 error answer of the token or revocation endpoint
    (RFC 6749 §5.2: ``code`` is its ``error``, e.g. ``invalid_client``)."""


class APIConnectionError(FaosError):
    """The request could not be sent or its answer not read (after retries)."""

    def __init__(self, message: str = "Connection error.") -> None:
        super().__init__(message)
        self.message = message


class APITimeoutError(APIConnectionError):
    """The request timed out (after retries)."""

    def __init__(self, message: str = "Request timed out.") -> None:
        super().__init__(message)


class StreamInterruptedError(APIConnectionError):
    """A message stream broke and could not be resumed."""


class WebhookVerificationError(FaosError):
    """A webhook request failed verification: a missing header, a bad or
    unknown signature, or a timestamp outside the tolerance."""


ERRORS_BY_CODE: Dict[str, Type[APIError]] = {
    cls.default_code: cls
    for cls in (
        InvalidRequestError,
        UnauthenticatedError,
        PermissionDeniedError,
        NotFoundError,
        MethodNotAllowedError,
        ConflictError,
        PayloadTooLargeError,
        IdempotencyKeyReusedError,
        RateLimitError,
        InternalServerError,
        ModelError,
        UnavailableError,
    )
    if cls.default_code is not None
}
ERRORS_BY_STATUS: Dict[int, Type[APIError]] = {
    cls.default_status: cls for cls in ERRORS_BY_CODE.values() if cls.default_status is not None
}


def error_class(code: Optional[str], status: Optional[int]) -> Type[APIError]:
    """The exception class of an error code (else of a status)."""
    if code is not None and code in ERRORS_BY_CODE:
        return ERRORS_BY_CODE[code]
    if status is not None and status in ERRORS_BY_STATUS:
        return ERRORS_BY_STATUS[status]
    if status is not None and status >= 500:
        return InternalServerError
    return APIError


def error_from_response(status: int, headers: Mapping[str, str], content: bytes) -> APIError:
    """The exception for an error answer: the contract's envelope
    ``{"error": {code, message, param?}, "meta": {request_id}}`` when the
    body is one, else built from the status alone."""
    lower = {k.lower(): v for k, v in headers.items()}
    body: Any = None
    try:
        body = json.loads(content.decode("utf-8")) if content else None
    except (ValueError, UnicodeDecodeError):
        body = None
    request_id = lower.get("x-request-id")
    code: Optional[str] = None
    message: Optional[str] = None
    param: Optional[str] = None
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):
            code = _str_or_none(error.get("code"))
            message = _str_or_none(error.get("message"))
            param = _str_or_none(error.get("param"))
        elif isinstance(error, str):
            # RFC 6749 §5.2 (OAuth endpoints): {"error": "invalid_client", "error_description": …}
            message = _str_or_none(body.get("error_description")) or error
            return OAuthError(
                message,
                status=status,
                code=error,
                request_id=request_id,
                headers=lower,
                body=body,
            )
        meta = body.get("meta")
        if isinstance(meta, dict) and request_id is None:
            request_id = _str_or_none(meta.get("request_id"))
    cls = error_class(code, status)
    if code is None:
        code = cls.default_code or f"http_{status}"
    if message is None:
        text = content.decode("utf-8", "replace").strip() if content else ""
        message = text[:500] or f"HTTP {status}"
    return cls(
        message,
        status=status,
        code=code,
        param=param,
        request_id=request_id,
        headers=lower,
        body=body,
    )


def error_from_event(data: Any, *, request_id: Optional[str] = None) -> APIError:
    """The exception for a stream's ``error`` event ``{"error": {code, message}}``."""
    error = data.get("error") if isinstance(data, dict) else None
    code = "internal_error"
    message = "The stream reported an error"
    param: Optional[str] = None
    if isinstance(error, dict):
        code = _str_or_none(error.get("code")) or code
        message = _str_or_none(error.get("message")) or message
        param = _str_or_none(error.get("param"))
    cls = error_class(code, None)
    status = cls.default_status or 500
    return cls(message, status=status, code=code, param=param, request_id=request_id, body=data)


def parse_retry_after(headers: Mapping[str, str], now: Optional[float] = None) -> Optional[float]:
    """Seconds to wait from ``retry-after-ms`` or ``Retry-After`` (seconds or
    an HTTP date), or ``None``."""
    lower = {k.lower(): v for k, v in headers.items()}
    ms = lower.get("retry-after-ms")
    if ms is not None:
        try:
            return max(float(ms) / 1000.0, 0.0)
        except ValueError:
            pass
    value = lower.get("retry-after")
    if value is None:
        return None
    value = value.strip()
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return max(when.timestamp() - (time.time() if now is None else now), 0.0)


def _str_or_none(value: Any) -> Optional[str]:
    return value if isinstance(value, str) else None
