/**
 * Errors thrown by the SDK.
 *
 * Every error the API answers becomes an {@link APIError} subclass chosen by
 * the contract's `error.code` (falling back to the HTTP status), carrying
 * `status`, `code`, `message`, `param` and `requestId`.
 */

/** Base class of every error this SDK throws. */
export class FaosError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The body of an API error: `{"error": {code, message, param?}, "meta": {request_id}}`. */
export interface ErrorBody {
  error: { code: string; message: string; param?: string | null };
  meta?: { request_id?: string; [key: string]: unknown };
}

/** An error answered by the API (any non-2xx status), or an `error` stream event. */
export class APIError extends FaosError {
  /** HTTP status (for a stream `error` event: the status its code maps to). */
  readonly status: number;
  /** The contract's error code, e.g. `not_found`. */
  readonly code: string;
  /** The request parameter at fault, e.g. `name` or `metadata.team`, when the API names one. */
  readonly param: string | undefined;
  /** The request id (`X-Request-Id` / `meta.request_id`), to quote when reporting a problem. */
  readonly requestId: string | undefined;
  /** The response headers (empty for stream events). */
  readonly headers: Headers;
  /** The parsed error body, when there was one. */
  readonly body: unknown;

  constructor(init: {
    status: number;
    code: string;
    message: string;
    param?: string | null | undefined;
    requestId?: string | undefined;
    headers?: Headers | undefined;
    body?: unknown;
  }) {
    super(init.message);
    this.status = init.status;
    this.code = init.code;
    this.param = init.param ?? undefined;
    this.requestId = init.requestId;
    this.headers = init.headers ?? new Headers();
    this.body = init.body;
  }
}

/** `400 invalid_request`: a malformed body or parameter; `param` names it. */
export class InvalidRequestError extends APIError {}
/** `401 unauthenticated`: no credentials, or unknown / revoked / expired ones. */
export class UnauthenticatedError extends APIError {}
/** `403 permission_denied`: valid credentials without the needed scope. */
export class PermissionDeniedError extends APIError {}
/** `404 not_found`: no such resource for this caller. */
export class NotFoundError extends APIError {}
/** `405 method_not_allowed`. */
export class MethodNotAllowedError extends APIError {}
/** `409 conflict`: a state conflict (busy conversation, finished run, idempotency key in use). */
export class ConflictError extends APIError {}
/** `413 payload_too_large`. */
export class PayloadTooLargeError extends APIError {}
/** `422 idempotency_key_reused`: the same `Idempotency-Key` with a different request. */
export class IdempotencyKeyReusedError extends APIError {}
/** `429 rate_limit_exceeded`. `retryAfter` is the server's `Retry-After`, in seconds. */
export class RateLimitError extends APIError {
  get retryAfter(): number | undefined {
    const value = this.headers.get("retry-after");
    if (value === null) return undefined;
    const seconds = Number(value);
    return Number.isFinite(seconds) ? seconds : undefined;
  }
}
/** `500 internal_error`. */
export class InternalError extends APIError {}
/** `502 model_error`: the model provider failed or timed out. */
export class ModelError extends APIError {}
/** `503 unavailable`: database down, server shutting down. */
export class UnavailableError extends APIError {}

/**
 * An OAuth 2.0 token or revocation endpoint refused the request; `code` is
 * the RFC 6749 §5.2 error (`invalid_client`, `invalid_scope`, …).
 */
export class OAuthError extends APIError {}

/** The request never got an answer: connection refused or reset, DNS failure, aborted stream. */
export class APIConnectionError extends FaosError {}
/** The request took longer than the configured timeout. */
export class APIConnectionTimeoutError extends APIConnectionError {}
/** The caller aborted the request through its `signal`. */
export class APIUserAbortError extends FaosError {}
/** A webhook delivery failed verification (bad or missing signature, stale timestamp). */
export class WebhookVerificationError extends FaosError {}

type APIErrorClass = new (init: ConstructorParameters<typeof APIError>[0]) => APIError;

/** The error class of each contract error code. */
export const ERROR_CLASSES: Readonly<Record<string, APIErrorClass>> = {
  invalid_request: InvalidRequestError,
  unauthenticated: UnauthenticatedError,
  permission_denied: PermissionDeniedError,
  not_found: NotFoundError,
  method_not_allowed: MethodNotAllowedError,
  conflict: ConflictError,
  payload_too_large: PayloadTooLargeError,
  idempotency_key_reused: IdempotencyKeyReusedError,
  rate_limit_exceeded: RateLimitError,
  internal_error: InternalError,
  model_error: ModelError,
  unavailable: UnavailableError,
};

const STATUS_CODES: Readonly<Record<number, string>> = {
  400: "invalid_request",
  401: "unauthenticated",
  403: "permission_denied",
  404: "not_found",
  405: "method_not_allowed",
  409: "conflict",
  413: "payload_too_large",
  422: "idempotency_key_reused",
  429: "rate_limit_exceeded",
  500: "internal_error",
  502: "model_error",
  503: "unavailable",
};

const CODE_STATUSES: Readonly<Record<string, number>> = Object.fromEntries(
  Object.entries(STATUS_CODES).map(([status, code]) => [code, Number(status)]),
);

function isErrorBody(body: unknown): body is ErrorBody {
  if (typeof body !== "object" || body === null) return false;
  const error = (body as { error?: unknown }).error;
  return (
    typeof error === "object" &&
    error !== null &&
    typeof (error as { code?: unknown }).code === "string"
  );
}

function isOAuthErrorBody(body: unknown): body is { error: string; error_description?: string } {
  return typeof body === "object" && body !== null && typeof (body as { error?: unknown }).error === "string";
}

/** Builds the error for a non-2xx answer. */
export function errorFromResponse(status: number, headers: Headers, body: unknown, text: string): APIError {
  const requestId = headers.get("x-request-id") ?? undefined;
  if (isErrorBody(body)) {
    const { code, message, param } = body.error;
    const Class = ERROR_CLASSES[code] ?? classForStatus(status);
    return new Class({
      status,
      code,
      message: String(message ?? code),
      param,
      requestId: body.meta?.request_id ?? requestId,
      headers,
      body,
    });
  }
  if (isOAuthErrorBody(body)) {
    // RFC 6749 §5.2 / RFC 7009: {"error": "invalid_client", "error_description": "…"}
    return new OAuthError({
      status,
      code: body.error,
      message: body.error_description ?? body.error,
      requestId,
      headers,
      body,
    });
  }
  const code = STATUS_CODES[status] ?? (status >= 500 ? "internal_error" : "invalid_request");
  const Class = classForStatus(status);
  const snippet = text.trim().slice(0, 200);
  return new Class({
    status,
    code,
    message: snippet ? `HTTP ${status}: ${snippet}` : `HTTP ${status}`,
    requestId,
    headers,
    body,
  });
}

/** Builds the error for a stream's `error` event (`{"error": {code, message}}`). */
export function errorFromStreamEvent(data: unknown, requestId?: string): APIError {
  const error =
    isErrorBody(data) ? data.error : { code: "internal_error", message: "The stream reported an error" };
  const Class = ERROR_CLASSES[error.code] ?? APIError;
  return new Class({
    status: CODE_STATUSES[error.code] ?? 500,
    code: error.code,
    message: String(error.message ?? error.code),
    param: error.param,
    requestId,
    body: data,
  });
}

function classForStatus(status: number): APIErrorClass {
  const code = STATUS_CODES[status];
  if (code !== undefined) return ERROR_CLASSES[code] ?? APIError;
  if (status === 401) return UnauthenticatedError;
  if (status >= 500) return InternalError;
  return APIError;
}
