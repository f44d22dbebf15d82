"""Verifying webhook deliveries (Standard Webhooks).

A delivery is a ``POST`` whose body is an :class:`~faos.Event` and whose
headers are ``webhook-id`` (the event id: deduplicate on it),
``webhook-timestamp`` (Unix seconds) and ``webhook-signature`` (one or more
space-separated ``v1,<base64 HMAC-SHA256>`` of ``"{id}.{timestamp}.{body}"``
keyed with the base64-decoded part of the endpoint's ``whsec_`` secret).

    from faos import webhooks

    event = webhooks.verify(request_body_bytes, request_headers, "whsec_…")
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from typing import Mapping, Optional, Sequence, Union

from ._errors import WebhookVerificationError
from ._models import Event

__all__ = ["verify", "sign", "DEFAULT_TOLERANCE", "WebhookVerificationError"]

#: Seconds a timestamp may differ from now (either way) and still verify.
DEFAULT_TOLERANCE = 300


def _key(secret: str) -> bytes:
    raw = secret[len("whsec_") :] if secret.startswith("whsec_") else secret
    try:
        return base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError) as err:
        raise WebhookVerificationError("The webhook secret is not a whsec_ base64 secret") from err


def _bytes(payload: Union[bytes, bytearray, str]) -> bytes:
    return payload.encode("utf-8") if isinstance(payload, str) else bytes(payload)


def sign(secret: str, msg_id: str, timestamp: int, payload: Union[bytes, bytearray, str]) -> str:
    """The ``v1,<base64>`` signature of one message (as the server makes it)."""
    message = f"{msg_id}.{timestamp}.".encode("utf-8") + _bytes(payload)
    digest = hmac.new(_key(secret), message, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def _header(headers: Mapping[str, str], name: str) -> str:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    raise WebhookVerificationError(f"Missing the {name} header")


def verify(
    payload: Union[bytes, bytearray, str],
    headers: Mapping[str, str],
    secret: Union[str, Sequence[str]],
    *,
    tolerance: int = DEFAULT_TOLERANCE,
    now: Optional[float] = None,
) -> Event:
    """Checks a delivery and returns its event.

    ``payload`` is the raw request body (verify before parsing it),
    ``headers`` the request headers (any case), ``secret`` the endpoint's
    ``whsec_…`` secret (or several, e.g. across a rotation). Raises
    :class:`~faos.WebhookVerificationError` when a header is missing, the
    timestamp is more than ``tolerance`` seconds from now (replays), or no
    signature matches."""
    msg_id = _header(headers, "webhook-id")
    timestamp_text = _header(headers, "webhook-timestamp")
    signatures = _header(headers, "webhook-signature")
    try:
        timestamp = int(timestamp_text.strip())
    except ValueError as err:
        raise WebhookVerificationError("Invalid webhook-timestamp header") from err
    current = time.time() if now is None else now
    if timestamp < current - tolerance:
        raise WebhookVerificationError("The webhook timestamp is too old")
    if timestamp > current + tolerance:
        raise WebhookVerificationError("The webhook timestamp is too new")
    body = _bytes(payload)
    secrets = [secret] if isinstance(secret, str) else list(secret)
    if not secrets:
        raise WebhookVerificationError("No webhook secret given")
    expected = [sign(s, msg_id, timestamp, body).split(",", 1)[1] for s in secrets]
    for candidate in signatures.split():
        version, _, value = candidate.partition(",")
        if version != "v1":
            continue
        if any(hmac.compare_digest(value.encode("ascii", "replace"), e.encode("ascii")) for e in expected):
            try:
                data = json.loads(body.decode("utf-8"))
            except (ValueError, UnicodeDecodeError) as err:
                raise WebhookVerificationError("The webhook body is not JSON") from err
            if not isinstance(data, dict):
                raise WebhookVerificationError("The webhook body is not a JSON object")
            return Event.from_dict(data)
    raise WebhookVerificationError("No matching webhook signature")
