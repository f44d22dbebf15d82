/** Standard Webhooks verification, offline. */

import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { describe, test } from "node:test";

import { Faos, WebhookVerificationError, signWebhook, verifyWebhook, webhooks } from "@faos/sdk";

const secret = "whsec_" + Buffer.from("0123456789abcdef0123456789abcdef").toString("base64");
const body = JSON.stringify({ id: "evt_1", object: "event", type: "agent.created", data: { id: "agt_1" } });
const now = Math.floor(Date.now() / 1000);

function headers(ts: number = now, sig?: string): Record<string, string> {
  return {
    "webhook-id": "evt_1",
    "webhook-timestamp": String(ts),
    "webhook-signature": sig ?? signWebhook(body, secret, "evt_1", ts),
  };
}

describe("verifyWebhook", () => {
  test("accepts a correctly signed delivery and returns the parsed event", () => {
    const event = verifyWebhook<{ type: string }>(body, headers(), secret);
    assert.equal(event.type, "agent.created");
  });

  test("the signature is Standard Webhooks': base64 HMAC-SHA256 of id.timestamp.body keyed by the decoded secret", () => {
    const key = Buffer.from(secret.slice(6), "base64");
    const expected = createHmac("sha256", key).update(`evt_1.${now}.${body}`).digest("base64");
    assert.equal(signWebhook(body, secret, "evt_1", now), `v1,${expected}`);
  });

  test("works with Buffer payloads, Headers objects, and as webhooks.verify / client.webhooks.verify", () => {
    const h = new Headers(headers());
    assert.equal(webhooks.verify<{ id: string }>(Buffer.from(body), h, secret).id, "evt_1");
    const client = new Faos({ apiKey: "k", baseURL: "http://127.0.0.1:1/v1" });
    assert.equal(client.webhooks.verify(body, h, secret).id, "evt_1");
    // Node's IncomingHttpHeaders shape, mixed case keys
    const mixed = { "Webhook-Id": "evt_1", "Webhook-Timestamp": String(now), "Webhook-Signature": headers()["webhook-signature"] };
    assert.equal(verifyWebhook<{ id: string }>(body, mixed, secret).id, "evt_1");
  });

  test("accepts any of several space-separated signatures (secret rotation)", () => {
    const other = "whsec_" + Buffer.from("another secret of some length!!").toString("base64");
    const sig = `${signWebhook(body, other, "evt_1", now)} ${signWebhook(body, secret, "evt_1", now)}`;
    verifyWebhook(body, headers(now, sig), secret);
    verifyWebhook(body, headers(now, sig), other);
    // a list of secrets, too
    verifyWebhook(body, headers(now, signWebhook(body, other, "evt_1", now)), [secret, other]);
  });

  test("rejects a tampered body, a wrong secret and a bad signature", () => {
    assert.throws(() => verifyWebhook(body.replace("agt_1", "agt_2"), headers(), secret), WebhookVerificationError);
    const wrong = "whsec_" + Buffer.from("wrong wrong wrong wrong wrong!!!").toString("base64");
    assert.throws(() => verifyWebhook(body, headers(), wrong), WebhookVerificationError);
    assert.throws(() => verifyWebhook(body, headers(now, "v1,AAAA"), secret), WebhookVerificationError);
    assert.throws(() => verifyWebhook(body, headers(now, "v2," + headers()["webhook-signature"]?.slice(3)), secret));
  });

  test("rejects old and future timestamps (default tolerance 5 minutes)", () => {
    assert.throws(() => verifyWebhook(body, headers(now - 301), secret), /too old/);
    assert.throws(() => verifyWebhook(body, headers(now + 301), secret), /too new/);
    verifyWebhook(body, headers(now - 299), secret);
    assert.throws(
      () => verifyWebhook(body, headers(now - 20), secret, { toleranceSeconds: 10 }),
      WebhookVerificationError,
    );
  });

  test("rejects missing headers and non-numeric timestamps", () => {
    const h = headers();
    delete (h as Record<string, string | undefined>)["webhook-signature"];
    assert.throws(() => verifyWebhook(body, h, secret), /Missing/);
    assert.throws(() => verifyWebhook(body, { ...headers(), "webhook-timestamp": "soon" }, secret), /Invalid/);
  });
});
