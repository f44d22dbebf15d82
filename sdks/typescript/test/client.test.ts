/** Client behaviour against tiny local HTTP servers: retries, idempotency keys, errors, timeouts, OAuth, SSE. */

import assert from "node:assert/strict";
import { after, describe, test } from "node:test";

import {
  APIConnectionError,
  APIConnectionTimeoutError,
  APIUserAbortError,
  ConflictError,
  DEFAULT_BASE_URL,
  ERROR_CLASSES,
  Faos,
  InternalError,
  InvalidRequestError,
  ModelError,
  NotFoundError,
  OAuthError,
  RateLimitError,
  SSEDecoder,
  TokenProvider,
  UnauthenticatedError,
  UnavailableError,
  type Agent,
} from "@faos/sdk";

import { envelope, errorBody, json, localServer, type LocalServer } from "./helpers/http.js";

const agent = (n: number): Agent => ({
  object: "agent",
  id: `agt_${n}`,
  name: `a${n}`,
  instructions: "",
  model: "builtin/echo",
  tools: [],
  max_steps: 10,
  metadata: {},
  created_at: "2026-01-01T00:00:00.000Z",
  updated_at: "2026-01-01T00:00:00.000Z",
});

const servers: LocalServer[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
});
async function serve(handler: Parameters<typeof localServer>[0]): Promise<LocalServer> {
  const s = await localServer(handler);
  servers.push(s);
  return s;
}

describe("configuration", () => {
  test("baseURL defaults to FAOS_BASE_URL, then http://127.0.0.1:8080/v1", () => {
    const saved = process.env["FAOS_BASE_URL"];
    try {
      delete process.env["FAOS_BASE_URL"];
      assert.equal(new Faos({ apiKey: "sk_test_x" }).baseURL, "http://127.0.0.1:8080/v1");
      assert.equal(DEFAULT_BASE_URL, "http://127.0.0.1:8080/v1");
      process.env["FAOS_BASE_URL"] = "http://example.test:9/v1/";
      assert.equal(new Faos({ apiKey: "sk_test_x" }).baseURL, "http://example.test:9/v1");
      assert.equal(new Faos({ apiKey: "k", baseURL: "http://other/v1" }).baseURL, "http://other/v1");
    } finally {
      if (saved === undefined) delete process.env["FAOS_BASE_URL"];
      else process.env["FAOS_BASE_URL"] = saved;
    }
  });

  test("sends the API key as a Bearer token", async () => {
    const s = await serve((_req, res) => json(res, 200, envelope(agent(1))));
    const client = new Faos({ apiKey: "sk_test_abc", baseURL: `${s.url}/v1` });
    const got = await client.agents.get("agt_1");
    assert.equal(got.id, "agt_1");
    assert.equal(s.requests[0]?.headers["authorization"], "Bearer sk_test_abc");
    assert.equal(s.requests[0]?.url, "/v1/agents/agt_1");
    assert.match(String(s.requests[0]?.headers["user-agent"]), /^faos-sdk-typescript\//);
  });
});

describe("retries", () => {
  test("a 429 with Retry-After is retried after the wait, with the same Idempotency-Key", async () => {
    const s = await serve((_req, res, i) => {
      if (i === 0) json(res, 429, errorBody("rate_limit_exceeded", "Slow down"), { "retry-after": "1" });
      else json(res, 201, envelope(agent(1)));
    });
    const client = new Faos({ apiKey: "k", baseURL: `${s.url}/v1` });
    const started = Date.now();
    const created = await client.agents.create({ name: "a1" });
    const waited = Date.now() - started;
    assert.equal(created.id, "agt_1");
    assert.equal(s.requests.length, 2);
    assert.ok(waited >= 950, `waited ${waited} ms, Retry-After asked for 1 s`);
    const keys = s.requests.map((r) => r.headers["idempotency-key"]);
    assert.ok(keys[0], "the first attempt already carries an Idempotency-Key");
    assert.equal(keys[0], keys[1], "the retry reuses the key");
    assert.equal(s.requests[1]?.headers["x-faos-retry-count"], "1");
    assert.equal(s.requests[0]?.body, s.requests[1]?.body);
  });

  test("each logical POST gets its own key; a caller's own key is used as is", async () => {
    const s = await serve((_req, res) => json(res, 201, envelope(agent(1))));
    const client = new Faos({ apiKey: "k", baseURL: `${s.url}/v1` });
    await client.agents.create({ name: "a" });
    await client.agents.create({ name: "b" });
    await client.agents.create({ name: "c" }, { idempotencyKey: "my-key-1" });
    const keys = s.requests.map((r) => r.headers["idempotency-key"]);
    assert.notEqual(keys[0], keys[1]);
    assert.equal(keys[2], "my-key-1");
  });

  test("GETs carry no Idempotency-Key", async () => {
    const s = await serve((_req, res) => json(res, 200, envelope(agent(1))));
    await new Faos({ apiKey: "k", baseURL: `${s.url}/v1` }).agents.get("agt_1");
    assert.equal(s.requests[0]?.headers["idempotency-key"], undefined);
  });

  test("5xx answers are retried up to maxRetries, then thrown", async () => {
    const s = await serve((_req, res) => json(res, 503, errorBody("unavailable", "Down")));
    const client = new Faos({ apiKey: "k", baseURL: `${s.url}/v1`, maxRetries: 2 });
    await assert.rejects(client.agents.get("agt_1"), (err: unknown) => {
      assert.ok(err instanceof UnavailableError);
      assert.equal(err.status, 503);
      return true;
    });
    assert.equal(s.requests.length, 3);
  });

  test("a 500 then a success", async () => {
    const s = await serve((_req, res, i) => {
      if (i === 0) json(res, 500, errorBody("internal_error", "Oops"));
      else json(res, 200, envelope(agent(2)));
    });
    const got = await new Faos({ apiKey: "k", baseURL: `${s.url}/v1` }).agents.get("agt_2");
    assert.equal(got.id, "agt_2");
    assert.equal(s.requests.length, 2);
  });

  test("a 409 saying the same Idempotency-Key is still in progress is retried", async () => {
    const s = await serve((_req, res, i) => {
      if (i === 0) json(res, 409, errorBody("conflict", "still being processed", "Idempotency-Key"));
      else json(res, 201, envelope(agent(4)));
    });
    const client = new Faos({ apiKey: "k", baseURL: `${s.url}/v1` });
    assert.equal((await client.agents.create({ name: "a4" }, { idempotencyKey: "shared" })).id, "agt_4");
    assert.equal(s.requests.length, 2);
    assert.equal(s.requests[1]?.headers["idempotency-key"], "shared");
  });

  test("4xx answers other than 429 are not retried", async () => {
    const s = await serve((_req, res) => json(res, 409, errorBody("conflict", "Busy", "conversation_id")));
    const client = new Faos({ apiKey: "k", baseURL: `${s.url}/v1` });
    await assert.rejects(client.agents.messages.create("agt_1", { content: "hi" }), ConflictError);
    assert.equal(s.requests.length, 1);
  });

  test("maxRetries: 0 turns retries off (per client and per call)", async () => {
    const s = await serve((_req, res) =>
      json(res, 429, errorBody("rate_limit_exceeded", "Slow down"), { "retry-after": "0" }),
    );
    const client = new Faos({ apiKey: "k", baseURL: `${s.url}/v1`, maxRetries: 0 });
    await assert.rejects(client.agents.list(), (err: unknown) => {
      assert.ok(err instanceof RateLimitError);
      assert.equal(err.retryAfter, 0);
      return true;
    });
    assert.equal(s.requests.length, 1);
    const other = new Faos({ apiKey: "k", baseURL: `${s.url}/v1` });
    await assert.rejects(other.agents.list(undefined, { maxRetries: 1 }), RateLimitError);
    assert.equal(s.requests.length, 3);
  });

  test("a Retry-After longer than maxRetryDelay is not waited for", async () => {
    const s = await serve((_req, res) =>
      json(res, 429, errorBody("rate_limit_exceeded", "Slow down"), { "retry-after": "3600" }),
    );
    const client = new Faos({ apiKey: "k", baseURL: `${s.url}/v1`, maxRetryDelay: 5000 });
    const started = Date.now();
    await assert.rejects(client.agents.get("agt_1"), RateLimitError);
    assert.ok(Date.now() - started < 2000);
    assert.equal(s.requests.length, 1);
  });

  test("network errors are retried, then reported as APIConnectionError", async () => {
    const s = await serve((_req, res) => json(res, 200, envelope(agent(1))));
    const url = s.url;
    await s.close();
    servers.splice(servers.indexOf(s), 1);
    const client = new Faos({ apiKey: "k", baseURL: `${url}/v1`, maxRetries: 1 });
    await assert.rejects(client.agents.get("agt_1"), APIConnectionError);
  });

  test("a dropped connection is retried with the same Idempotency-Key", async () => {
    const s = await serve((_req, res, i) => {
      if (i === 0) res.socket?.destroy();
      else json(res, 201, envelope(agent(3)));
    });
    const client = new Faos({ apiKey: "k", baseURL: `${s.url}/v1` });
    const created = await client.agents.create({ name: "a3" });
    assert.equal(created.id, "agt_3");
    assert.equal(s.requests.length, 2);
    assert.equal(s.requests[0]?.headers["idempotency-key"], s.requests[1]?.headers["idempotency-key"]);
  });
});

describe("timeouts and aborts", () => {
  test("a slow answer times out with APIConnectionTimeoutError", async () => {
    const s = await serve((_req, res) => {
      setTimeout(() => json(res, 200, envelope(agent(1))), 1500);
    });
    const client = new Faos({ apiKey: "k", baseURL: `${s.url}/v1`, timeout: 200, maxRetries: 0 });
    await assert.rejects(client.agents.get("agt_1"), APIConnectionTimeoutError);
    // per-call timeout wins
    const got = await client.agents.get("agt_1", { timeout: 5000 });
    assert.equal(got.id, "agt_1");
  });

  test("an aborted signal rejects with APIUserAbortError", async () => {
    const s = await serve((_req, res) => {
      setTimeout(() => json(res, 200, envelope(agent(1))), 1000);
    });
    const client = new Faos({ apiKey: "k", baseURL: `${s.url}/v1` });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    await assert.rejects(client.agents.get("agt_1", { signal: controller.signal }), APIUserAbortError);
  });
});

describe("error mapping", () => {
  const cases: Array<[number, string, new (...args: never[]) => Error]> = [
    [400, "invalid_request", InvalidRequestError],
    [401, "unauthenticated", UnauthenticatedError],
    [404, "not_found", NotFoundError],
    [409, "conflict", ConflictError],
    [502, "model_error", ModelError],
  ];
  for (const [status, code, Class] of cases) {
    test(`${status} ${code} → ${Class.name}`, async () => {
      const s = await serve((_req, res) =>
        json(res, status, errorBody(code, `the ${code} message`, "name"), { "x-request-id": "req_fromheader" }),
      );
      const client = new Faos({ apiKey: "k", baseURL: `${s.url}/v1`, maxRetries: 0 });
      await assert.rejects(client.agents.get("agt_1"), (err: unknown) => {
        assert.ok(err instanceof Class, `got ${String(err)}`);
        const e = err as InvalidRequestError;
        assert.equal(e.status, status);
        assert.equal(e.code, code);
        assert.equal(e.message, `the ${code} message`);
        assert.equal(e.param, "name");
        assert.equal(e.requestId, "req_local");
        return true;
      });
    });
  }

  test("every contract error code has its class", () => {
    const codes = [
      "invalid_request", "unauthenticated", "permission_denied", "not_found", "method_not_allowed", "conflict",
      "payload_too_large", "idempotency_key_reused", "rate_limit_exceeded", "internal_error", "model_error",
      "unavailable",
    ];
    assert.deepEqual(Object.keys(ERROR_CLASSES).sort(), [...codes].sort());
    const names = new Set(Object.values(ERROR_CLASSES).map((c) => c.name));
    assert.equal(names.size, codes.length, "one class per code");
    assert.equal(ERROR_CLASSES["rate_limit_exceeded"], RateLimitError);
    assert.equal(ERROR_CLASSES["not_found"], NotFoundError);
  });

  test("a non-JSON error body still maps by status", async () => {
    const s = await serve((_req, res) => {
      res.writeHead(500, { "content-type": "text/plain" });
      res.end("upstream exploded");
    });
    const client = new Faos({ apiKey: "k", baseURL: `${s.url}/v1`, maxRetries: 0 });
    await assert.rejects(client.agents.get("agt_1"), (err: unknown) => {
      assert.ok(err instanceof InternalError);
      assert.equal(err.code, "internal_error");
      assert.match(err.message, /upstream exploded/);
      return true;
    });
  });
});

describe("pagination (local)", () => {
  test("await gives one page; for await walks every page with the cursor", async () => {
    const all = Array.from({ length: 7 }, (_, i) => agent(i));
    const s = await serve((req, res) => {
      const url = new URL(req.url, "http://x");
      const limit = Number(url.searchParams.get("limit") ?? 20);
      const start = Number(url.searchParams.get("cursor") ?? 0);
      const data = all.slice(start, start + limit);
      const next = start + limit < all.length ? String(start + limit) : null;
      json(res, 200, {
        data,
        meta: { request_id: "req_local", timestamp: "t", has_more: next !== null, next_cursor: next },
      });
    });
    const client = new Faos({ apiKey: "k", baseURL: `${s.url}/v1` });
    const page = await client.agents.list({ limit: 3 });
    assert.equal(page.data.length, 3);
    assert.equal(page.has_more, true);
    assert.equal(page.next_cursor, "3");
    const next = await page.getNextPage();
    assert.deepEqual(next.data.map((a) => a.id), ["agt_3", "agt_4", "agt_5"]);
    const ids: string[] = [];
    for await (const a of client.agents.list({ limit: 3 })) ids.push(a.id);
    assert.deepEqual(ids, all.map((a) => a.id));
    const pages: number[] = [];
    for await (const p of page.iterPages()) pages.push(p.data.length);
    assert.deepEqual(pages, [3, 3, 1]);
    assert.ok(s.requests.some((r) => r.url.includes("cursor=6") && r.url.includes("limit=3")));
  });
});

describe("OAuth token handling (local token server)", () => {
  test("fetches on first use, reuses, refreshes before expiry and after a 401", async () => {
    let issued = 0;
    const s = await serve((req, res) => {
      if (req.url === "/v1/oauth/token") {
        issued++;
        const form = new URLSearchParams(req.body);
        assert.equal(form.get("grant_type"), "client_credentials");
        assert.equal(form.get("scope"), "agents:read agents:write");
        const basic = Buffer.from(String(req.headers["authorization"]).replace(/^Basic /, ""), "base64").toString();
        assert.equal(basic, "cid_1:s3cret");
        res.writeHead(200, { "content-type": "application/json", "cache-control": "no-store" });
        res.end(
          JSON.stringify({ access_token: `tok_${issued}`, token_type: "Bearer", expires_in: 2, scope: "agents:read" }),
        );
        return;
      }
      if (req.headers["authorization"] === "Bearer tok_revoked") {
        json(res, 401, errorBody("unauthenticated", "Token revoked"));
        return;
      }
      json(res, 200, envelope(agent(1)));
    });
    const client = new Faos({
      baseURL: `${s.url}/v1`,
      oauth: { clientId: "cid_1", clientSecret: "s3cret", scope: ["agents:read", "agents:write"], refreshMargin: 1000 },
    });
    await client.agents.get("agt_1");
    await client.agents.get("agt_1");
    const calls = () => s.requests.filter((r) => r.url !== "/v1/oauth/token");
    assert.equal(issued, 1, "one token for two calls");
    assert.deepEqual(calls().map((r) => r.headers["authorization"]), ["Bearer tok_1", "Bearer tok_1"]);
    // expires_in 2 s, refreshed 1 s before expiry
    await new Promise((r) => setTimeout(r, 1100));
    await client.agents.get("agt_1");
    assert.equal(issued, 2);
    assert.equal(calls().at(-1)?.headers["authorization"], "Bearer tok_2");
    // concurrent callers share one token request
    await new Promise((r) => setTimeout(r, 1100));
    await Promise.all([client.agents.get("agt_1"), client.agents.get("agt_1"), client.agents.get("agt_1")]);
    assert.equal(issued, 3);
  });

  test("a 401 makes the client fetch a new token and try again once", async () => {
    let issued = 0;
    const s = await serve((req, res) => {
      if (req.url === "/v1/oauth/token") {
        issued++;
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ access_token: `tok_${issued}`, token_type: "Bearer", expires_in: 3600 }));
        return;
      }
      if (req.headers["authorization"] === "Bearer tok_1") json(res, 401, errorBody("unauthenticated", "revoked"));
      else json(res, 200, envelope(agent(1)));
    });
    const client = new Faos({ baseURL: `${s.url}/v1`, oauth: { clientId: "c", clientSecret: "s", clientAuth: "body" } });
    const got = await client.agents.get("agt_1");
    assert.equal(got.id, "agt_1");
    assert.equal(issued, 2);
    const tokenForm = new URLSearchParams(s.requests[0]?.body ?? "");
    assert.equal(tokenForm.get("client_id"), "c");
    assert.equal(tokenForm.get("client_secret"), "s");
    assert.equal(s.requests[0]?.headers["authorization"], undefined);
  });

  test("token endpoint errors surface as OAuthError with the RFC 6749 code", async () => {
    const s = await serve((_req, res) => {
      res.writeHead(401, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: "invalid_client", error_description: "Unknown client" }));
    });
    const client = new Faos({ baseURL: `${s.url}/v1`, oauth: { clientId: "c", clientSecret: "bad" } });
    await assert.rejects(client.agents.get("agt_1"), (err: unknown) => {
      assert.ok(err instanceof OAuthError);
      assert.equal(err.code, "invalid_client");
      assert.equal(err.status, 401);
      assert.equal(err.message, "Unknown client");
      return true;
    });
  });

  test("TokenProvider refreshes within the margin (fake clock)", async () => {
    let now = 0;
    let n = 0;
    const provider = new TokenProvider(
      async () => ({ access_token: `t${++n}`, token_type: "Bearer", expires_in: 3600 }),
      undefined,
      () => now,
    );
    assert.equal(await provider.token(), "t1");
    now = 3600_000 - 61_000;
    assert.equal(await provider.token(), "t1");
    now = 3600_000 - 59_000;
    assert.equal(await provider.token(), "t2", "refreshed 60 s before expiry");
    provider.invalidate();
    assert.equal(await provider.token(), "t3");
  });
});

describe("SSE decoder", () => {
  test("parses events split across chunks, CRLF, comments and multi-line data", () => {
    const decoder = new SSEDecoder();
    const input = ": keep-alive\r\nid: 1\r\nevent: message.delta\r\ndata: {\"delta\":\r\ndata: \"x\"}\r\n\r\nid: 2\nevent: done\ndata: a\n\n";
    const events = [];
    for (let i = 0; i < input.length; i += 3) events.push(...decoder.push(input.slice(i, i + 3)));
    assert.equal(events.length, 2);
    assert.deepEqual(events[0], { event: "message.delta", data: '{"delta":\n"x"}', id: "1", retry: undefined });
    assert.equal(events[1]?.id, "2");
    assert.equal(events[1]?.event, "done");
  });

  test("an event without data is not dispatched; id persists", () => {
    const decoder = new SSEDecoder();
    const events = decoder.push("id: 5\nevent: x\n\ndata: y\n\n");
    assert.equal(events.length, 1);
    assert.equal(events[0]?.event, "message");
    assert.equal(events[0]?.id, "5");
  });
});
