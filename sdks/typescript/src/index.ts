/**
 * `@faos/sdk`: the official TypeScript SDK of the FAOS API.
 *
 * ```ts
 * import { Faos } from "@faos/sdk";
 * const client = new Faos({ apiKey: process.env.FAOS_API_KEY });
 * for await (const agent of client.agents.list()) console.log(agent.name);
 * ```
 */

export { Faos, Faos as default, type ClientOptions } from "./client.js";
export {
  APIClient,
  DEFAULT_BASE_URL,
  DEFAULT_MAX_RETRIES,
  DEFAULT_TIMEOUT,
  type APIRequest,
  type APIResponse,
  type Fetch,
  type ListMeta,
  type RequestOptions,
  type ResponseMeta,
} from "./core.js";
export * from "./errors.js";
export { Page, PagePromise, type PageParams } from "./pagination.js";
export {
  MessageStream,
  type AnswerStartedEvent,
  type MessageCompletedEvent,
  type MessageDeltaEvent,
  type MessageStreamEvent,
  type StreamOptions,
  type ToolCallCompletedEvent,
  type ToolCallStartedEvent,
} from "./streaming.js";
export { SSEDecoder, type ServerSentEvent } from "./sse.js";
export { TokenProvider, type OAuthClientCredentials, type OAuthToken } from "./oauth.js";
export {
  DEFAULT_TOLERANCE_SECONDS,
  signWebhook,
  verifyWebhook,
  webhooks,
  type VerifyOptions,
  type WebhookHeaders,
} from "./webhook-signature.js";
export { Agents, Conversations, Messages } from "./resources/agents.js";
export { Runs, Workflows } from "./resources/workflows.js";
export { Deliveries, Events, Webhooks } from "./resources/webhooks.js";
export { ApiKeys, Models, Templates } from "./resources/misc.js";
export { OAuth, OAuthClients, type OAuthClientAuth } from "./resources/oauth.js";
export * from "./types.js";
export { VERSION } from "./version.js";
