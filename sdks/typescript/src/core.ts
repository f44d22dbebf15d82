/** The HTTP core: authentication, envelopes, retries, idempotency and timeouts. */

import { randomUUID } from "node:crypto";

import {
  APIConnectionError,
  APIConnectionTimeoutError,
  APIError,
  APIUserAbortError,
  errorFromResponse,
} from "./errors.js";
import type { TokenProvider } from "./oauth.js";
import { VERSION } from "./version.js";

/** Default API base URL, used when neither `baseURL` nor `FAOS_BASE_URL` is set. */
export const DEFAULT_BASE_URL = "http://127.0.0.1:8080/v1";
/** Default timeout of one attempt, in milliseconds (10 minutes: model answers can be slow). */
export const DEFAULT_TIMEOUT = 10 * 60 * 1000;
/** Default number of retries after the first attempt. */
export const DEFAULT_MAX_RETRIES = 2;
/** Longest `Retry-After` the SDK waits for by default, in milliseconds. */
export const DEFAULT_MAX_RETRY_DELAY = 60 * 1000;

/** The `fetch` function the SDK calls (the global one unless you pass another). */
export type Fetch = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

/** Options of every method, passed as its last argument. */
export interface RequestOptions {
  /** Timeout of each attempt, in milliseconds (for streams: until the response starts). */
  timeout?: number;
  /** Retries after the first attempt on 429, 5xx and network errors. */
  maxRetries?: number;
  /** `Idempotency-Key` of a POST; by default one is generated per call and reused by its retries. */
  idempotencyKey?: string;
  /** Aborts the request. */
  signal?: AbortSignal;
  /** Extra request headers. */
  headers?: Record<string, string>;
}

/** The `meta` of a single-object answer. */
export interface ResponseMeta {
  request_id: string;
  timestamp: string;
  [key: string]: unknown;
}

/** The `meta` of a list answer. */
export interface ListMeta extends ResponseMeta {
  has_more: boolean;
  next_cursor: string | null;
}

/** Query values: undefined ones are left out. */
export type QueryValue = string | number | boolean | null | undefined;

/** One HTTP call, as the resources describe it. */
export interface APIRequest {
  method: "GET" | "POST" | "PATCH" | "PUT" | "DELETE";
  /** Path under the base URL, starting with `/`. */
  path: string;
  /** An absolute URL that replaces base URL and path (e.g. an OAuth token URL elsewhere). */
  url?: string | undefined;
  query?: Record<string, QueryValue> | undefined;
  /** JSON body. */
  body?: unknown;
  /** Form-encoded body (OAuth endpoints). */
  form?: Record<string, string | undefined>;
  /** Answer is a `text/event-stream`: resolve as soon as the headers arrive. */
  stream?: boolean;
  /** `bearer` (default: the API key or OAuth token), `none`, or explicit headers only. */
  auth?: "bearer" | "none";
  headers?: Record<string, string>;
  options?: RequestOptions | undefined;
}

/** A finished HTTP exchange. */
export interface APIResponse {
  response: Response;
  /** The parsed JSON body (`undefined` for streams and empty bodies). */
  body: unknown;
  /** The `X-Request-Id` header. */
  requestId: string | undefined;
}

/** Settings of an {@link APIClient}. */
export interface CoreOptions {
  baseURL: string;
  apiKey: string | undefined;
  tokenProvider: TokenProvider | undefined;
  timeout: number;
  maxRetries: number;
  maxRetryDelay: number;
  fetch: Fetch;
  defaultHeaders: Record<string, string>;
}

const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new APIUserAbortError("Request was aborted"));
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(new APIUserAbortError("Request was aborted"));
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });

/** Statuses retried: rate limited, and server or gateway failures. */
function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status === 500 || status === 502 || status === 503 || status === 504;
}

/**
 * The wait before retry `attempt` (0-based): the server's `retry-after-ms`
 * or `Retry-After` (seconds or an HTTP date) when given, else exponential
 * backoff with jitter from 0.5 s, at most 8 s. `null` when the server asks
 * for longer than `maxDelay`.
 */
export function retryDelay(headers: Headers | undefined, attempt: number, maxDelay: number): number | null {
  const ms = headers?.get("retry-after-ms");
  if (ms) {
    const value = Number(ms);
    if (Number.isFinite(value) && value >= 0) return value <= maxDelay ? value : null;
  }
  const after = headers?.get("retry-after");
  if (after) {
    let value = Number(after) * 1000;
    if (!Number.isFinite(value)) value = Date.parse(after) - Date.now();
    if (Number.isFinite(value)) {
      value = Math.max(0, value);
      return value <= maxDelay ? value : null;
    }
  }
  const base = Math.min(500 * 2 ** attempt, 8000);
  return base * (1 - Math.random() * 0.25);
}

/** Low-level client: every resource goes through {@link APIClient.request}. */
export class APIClient {
  readonly baseURL: string;
  readonly timeout: number;
  readonly maxRetries: number;
  readonly maxRetryDelay: number;
  protected readonly apiKey: string | undefined;
  protected readonly tokenProvider: TokenProvider | undefined;
  protected readonly fetchImpl: Fetch;
  protected readonly defaultHeaders: Record<string, string>;

  constructor(options: CoreOptions) {
    this.baseURL = options.baseURL.replace(/\/+$/, "");
    this.apiKey = options.apiKey;
    this.tokenProvider = options.tokenProvider;
    this.timeout = options.timeout;
    this.maxRetries = options.maxRetries;
    this.maxRetryDelay = options.maxRetryDelay;
    this.fetchImpl = options.fetch;
    this.defaultHeaders = options.defaultHeaders;
  }

  /** The absolute URL of `path` with `query`. */
  buildURL(path: string, query?: Record<string, QueryValue>): string {
    const url = new URL(this.baseURL + path);
    if (query) {
      for (const [key, value] of Object.entries(query)) {
        if (value === undefined || value === null) continue;
        url.searchParams.set(key, String(value));
      }
    }
    return url.toString();
  }

  /**
   * Sends a request with retries (429, 5xx, network errors, and a 409 saying
   * an earlier attempt with the same `Idempotency-Key` is still running;
   * honouring `Retry-After`), one `Idempotency-Key` per POST reused by its retries,
   * a timeout per attempt, and OAuth token refresh on a 401.
   */
  async request(req: APIRequest): Promise<APIResponse> {
    const options = req.options ?? {};
    const maxRetries = options.maxRetries ?? this.maxRetries;
    const timeout = options.timeout ?? this.timeout;
    const idempotencyKey =
      req.method === "POST" ? (options.idempotencyKey ?? `faos-ts-${randomUUID()}`) : undefined;
    const url = req.url ?? this.buildURL(req.path, req.query);
    let refreshedToken = false;

    for (let attempt = 0; ; attempt++) {
      const headers = await this.headersFor(req, idempotencyKey, attempt);
      const controller = new AbortController();
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        controller.abort();
      }, timeout);
      const onUserAbort = () => controller.abort();
      options.signal?.addEventListener("abort", onUserAbort, { once: true });
      const cleanup = () => {
        clearTimeout(timer);
        options.signal?.removeEventListener("abort", onUserAbort);
      };
      if (options.signal?.aborted) {
        cleanup();
        throw new APIUserAbortError("Request was aborted");
      }

      let response: Response;
      try {
        response = await this.fetchImpl(url, {
          method: req.method,
          headers,
          body: this.encodeBody(req),
          signal: controller.signal,
        });
      } catch (cause) {
        cleanup();
        if (options.signal?.aborted) throw new APIUserAbortError("Request was aborted", { cause });
        if (attempt < maxRetries) {
          await sleep(retryDelay(undefined, attempt, this.maxRetryDelay) ?? 0, options.signal);
          continue;
        }
        if (timedOut) throw new APIConnectionTimeoutError(`Request timed out after ${timeout} ms`, { cause });
        throw new APIConnectionError(`Connection error: ${describe(cause)}`, { cause });
      }

      const requestId = response.headers.get("x-request-id") ?? undefined;
      if (response.ok && req.stream) {
        // The stream outlives this call: stop the timeout, keep the user's abort wired.
        clearTimeout(timer);
        return { response, body: undefined, requestId };
      }

      let text: string;
      try {
        text = await response.text();
      } catch (cause) {
        cleanup();
        if (options.signal?.aborted) throw new APIUserAbortError("Request was aborted", { cause });
        if (attempt < maxRetries) {
          await sleep(retryDelay(undefined, attempt, this.maxRetryDelay) ?? 0, options.signal);
          continue;
        }
        if (timedOut) throw new APIConnectionTimeoutError(`Request timed out after ${timeout} ms`, { cause });
        throw new APIConnectionError(`Connection error while reading the response: ${describe(cause)}`, {
          cause,
        });
      }
      cleanup();
      const body = parseJSON(text);

      if (response.ok) return { response, body, requestId };

      if (response.status === 401 && this.tokenProvider && req.auth !== "none" && !refreshedToken) {
        // The token may have been revoked or expired early: fetch a new one, once.
        this.tokenProvider.invalidate();
        refreshedToken = true;
        attempt--;
        continue;
      }

      // 409 naming the Idempotency-Key: an earlier attempt of this same POST is
      // still being processed; retrying later gets its stored answer.
      const inProgress = response.status === 409 && errorParam(body) === "Idempotency-Key";
      if ((isRetryableStatus(response.status) || inProgress) && attempt < maxRetries) {
        const delay = retryDelay(response.headers, attempt, this.maxRetryDelay);
        if (delay !== null) {
          await sleep(delay, options.signal);
          continue;
        }
      }
      throw this.makeError(response, body, text);
    }
  }

  /** Builds the error for a failed answer (overridden by OAuth calls, which answer RFC 6749 errors). */
  protected makeError(response: Response, body: unknown, text: string): APIError {
    return errorFromResponse(response.status, response.headers, body, text);
  }

  private async headersFor(req: APIRequest, idempotencyKey: string | undefined, attempt: number) {
    const headers: Record<string, string> = {
      Accept: req.stream ? "text/event-stream" : "application/json",
      "User-Agent": `faos-sdk-typescript/${VERSION} node/${process.versions.node}`,
      ...this.defaultHeaders,
    };
    if (req.body !== undefined) headers["Content-Type"] = "application/json";
    if (req.form !== undefined) headers["Content-Type"] = "application/x-www-form-urlencoded";
    if (idempotencyKey !== undefined) headers["Idempotency-Key"] = idempotencyKey;
    if (attempt > 0) headers["X-Faos-Retry-Count"] = String(attempt);
    if (req.auth !== "none") {
      const token = this.tokenProvider ? await this.tokenProvider.token() : this.apiKey;
      if (token) headers["Authorization"] = `Bearer ${token}`;
    }
    Object.assign(headers, req.headers, req.options?.headers);
    return headers;
  }

  private encodeBody(req: APIRequest): string | undefined {
    if (req.form !== undefined) {
      const params = new URLSearchParams();
      for (const [key, value] of Object.entries(req.form)) {
        if (value !== undefined) params.set(key, value);
      }
      return params.toString();
    }
    if (req.body !== undefined) return JSON.stringify(req.body);
    return undefined;
  }
}

function parseJSON(text: string): unknown {
  if (text === "") return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function errorParam(body: unknown): unknown {
  const error = (body as { error?: { param?: unknown } } | undefined)?.error;
  return typeof error === "object" && error !== null ? error.param : undefined;
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const cause = (error as { cause?: unknown }).cause;
    if (cause instanceof Error && cause.message) return `${error.message} (${cause.message})`;
    return error.message;
  }
  return String(error);
}

/** Takes `data` out of a `{data, meta}` envelope. */
export function unwrap<T>(res: APIResponse): T {
  const body = res.body as { data?: unknown } | undefined;
  if (!body || typeof body !== "object" || !("data" in body)) {
    throw new APIError({
      status: res.response.status,
      code: "invalid_response",
      message: "The server's answer is not a FAOS envelope",
      requestId: res.requestId,
      headers: res.response.headers,
      body: res.body,
    });
  }
  return body.data as T;
}
