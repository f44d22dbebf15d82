"""Client configuration shared by :class:`faos.Faos` and :class:`faos.AsyncFaos`."""

from __future__ import annotations

import os
from typing import Mapping, Optional, Union

import httpx

from ._core import (
    DEFAULT_BASE_URL,
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
    ApiKeyAuth,
    Auth,
    Engine,
    OAuthClientCredentials,
)
from ._errors import FaosError
from ._types import NOT_GIVEN, NotGiven, TimeoutTypes


def make_engine(
    *,
    api_key: Optional[str],
    base_url: Optional[str],
    client_id: Optional[str],
    client_secret: Optional[str],
    scope: Optional[str],
    oauth: Optional[OAuthClientCredentials],
    timeout: Union[TimeoutTypes, NotGiven],
    max_retries: int,
    default_headers: Optional[Mapping[str, str]],
) -> Engine:
    """The engine for the given settings. Left out: ``base_url`` from
    ``FAOS_BASE_URL`` (else ``http://127.0.0.1:8080/v1``), ``api_key`` from
    ``FAOS_API_KEY``, OAuth client credentials from ``FAOS_CLIENT_ID`` and
    ``FAOS_CLIENT_SECRET``."""
    url = base_url or os.environ.get("FAOS_BASE_URL") or DEFAULT_BASE_URL
    auth: Auth
    if oauth is not None:
        auth = oauth
    elif client_id is not None or client_secret is not None:
        if not client_id or not client_secret:
            raise FaosError("OAuth needs both client_id and client_secret")
        auth = OAuthClientCredentials(client_id, client_secret, scope=scope)
    elif api_key:
        auth = ApiKeyAuth(api_key)
    elif os.environ.get("FAOS_API_KEY"):
        auth = ApiKeyAuth(os.environ["FAOS_API_KEY"])
    elif os.environ.get("FAOS_CLIENT_ID") and os.environ.get("FAOS_CLIENT_SECRET"):
        auth = OAuthClientCredentials(
            os.environ["FAOS_CLIENT_ID"], os.environ["FAOS_CLIENT_SECRET"], scope=scope
        )
    else:
        raise FaosError(
            "No credentials: pass api_key= (or set FAOS_API_KEY), or client_id= and client_secret= for OAuth"
        )
    resolved: TimeoutTypes = (
        httpx.Timeout(DEFAULT_TIMEOUT, connect=10.0) if isinstance(timeout, NotGiven) else timeout
    )
    if max_retries < 0:
        raise FaosError("max_retries must be 0 or more")
    return Engine(
        base_url=url,
        auth=auth,
        timeout=resolved,
        max_retries=max_retries,
        default_headers=default_headers,
    )


__all__ = ["make_engine", "DEFAULT_MAX_RETRIES", "NOT_GIVEN"]
