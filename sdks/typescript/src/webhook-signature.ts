/**
 * Standard Webhooks signature verification (https://www.standardwebhooks.com):
 * headers `webhook-id`, `webhook-timestamp`, `webhook-signature`
 * (`v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, several
 * space-separated during a secret rotation), secrets `whsec_<base64>`.
 */

import { createHmac, timingSafeEqual } from "node:crypto";

import { WebhookVerificationError } from "./errors.js";

/** Default tolerance between the delivery's timestamp and now, in seconds. */
export const DEFAULT_TOLERANCE_SECONDS = 5 * 60;

/** Request headers in any common shape: a `Headers`, or Node's / Express's header object. */
export type WebhookHeaders =
  | Headers
  | Record<string, string | string[] | undefined>
  | { get(name: string): string | null };

/** Options of {@link verifyWebhook}. */
export interface VerifyOptions {
  /** Largest allowed distance between `webhook-timestamp` and now, in seconds (default 300). */
  toleranceSeconds?: number;
  /** The current time, in Unix seconds (for tests). */
  now?: number;
}

function header(headers: WebhookHeaders, name: string): string | undefined {
  if (typeof (headers as { get?: unknown }).get === "function") {
    return (headers as { get(name: string): string | null }).get(name) ?? undefined;
  }
  const record = headers as Record<string, string | string[] | undefined>;
  let value = record[name];
  if (value === undefined) {
    const key = Object.keys(record).find((k) => k.toLowerCase() === name);
    value = key === undefined ? undefined : record[key];
  }
  return Array.isArray(value) ? value.join(" ") : value;
}

function secretBytes(secret: string): Buffer {
  const raw = secret.startsWith("whsec_") ? secret.slice("whsec_".length) : secret;
  const bytes = Buffer.from(raw, "base64");
  if (bytes.length === 0) throw new WebhookVerificationError("The webhook secret is empty or not base64");
  return bytes;
}

function payloadBytes(payload: string | Uint8Array): Buffer {
  return typeof payload === "string" ? Buffer.from(payload, "utf8") : Buffer.from(payload);
}

/** The `v1,<base64>` signature of a delivery (what the server sends). */
export function signWebhook(
  payload: string | Uint8Array,
  secret: string,
  id: string,
  timestamp: number | string,
): string {
  const mac = createHmac("sha256", secretBytes(secret));
  mac.update(`${id}.${timestamp}.`);
  mac.update(payloadBytes(payload));
  return `v1,${mac.digest("base64")}`;
}

/**
 * Verifies a webhook delivery and returns its parsed body (the event).
 *
 * Pass the raw body exactly as received (a string or bytes, not re-serialized
 * JSON), the request headers, and the endpoint's `whsec_…` secret (or a list
 * of secrets, e.g. old and new during a rotation). Throws
 * {@link WebhookVerificationError} when a header is missing, the timestamp is
 * older or newer than the tolerance (replay protection), or no signature
 * matches. Signatures are compared with `crypto.timingSafeEqual`.
 */
export function verifyWebhook<T = unknown>(
  payload: string | Uint8Array,
  headers: WebhookHeaders,
  secret: string | readonly string[],
  options: VerifyOptions = {},
): T {
  const id = header(headers, "webhook-id");
  const timestamp = header(headers, "webhook-timestamp");
  const signatures = header(headers, "webhook-signature");
  if (!id || !timestamp || !signatures) {
    throw new WebhookVerificationError(
      "Missing webhook-id, webhook-timestamp or webhook-signature header",
    );
  }
  if (!/^\d+$/.test(timestamp.trim())) {
    throw new WebhookVerificationError("Invalid webhook-timestamp header");
  }
  const sent = Number(timestamp.trim());
  const now = options.now ?? Math.floor(Date.now() / 1000);
  const tolerance = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  if (sent < now - tolerance) throw new WebhookVerificationError("Webhook timestamp is too old");
  if (sent > now + tolerance) throw new WebhookVerificationError("Webhook timestamp is too new");

  const body = payloadBytes(payload);
  const secrets = typeof secret === "string" ? [secret] : secret;
  if (secrets.length === 0) throw new WebhookVerificationError("No webhook secret given");
  const expected = secrets.map((s) => {
    const mac = createHmac("sha256", secretBytes(s));
    mac.update(`${id}.${timestamp.trim()}.`);
    mac.update(body);
    return mac.digest();
  });

  let matched = false;
  for (const part of signatures.split(" ")) {
    const comma = part.indexOf(",");
    if (comma === -1 || part.slice(0, comma) !== "v1") continue;
    const given = Buffer.from(part.slice(comma + 1), "base64");
    for (const digest of expected) {
      // Compare every candidate (no early exit) in constant time.
      if (given.length === digest.length && timingSafeEqual(given, digest)) matched = true;
    }
  }
  if (!matched) throw new WebhookVerificationError("No matching webhook signature found");

  try {
    return JSON.parse(body.toString("utf8")) as T;
  } catch (cause) {
    throw new WebhookVerificationError("The webhook payload is not JSON", { cause });
  }
}

/** The webhook helpers as one namespace: `webhooks.verify(payload, headers, secret)`. */
export const webhooks = {
  verify: verifyWebhook,
  sign: signWebhook,
} as const;
