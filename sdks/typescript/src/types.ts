/**
 * The API's objects and request bodies, with the API's own JSON field
 * names. Most are aliases of the types generated from the server's OpenAPI
 * document (`src/generated/openapi.ts`).
 */

import type { components, operations, paths } from "./generated/openapi.js";
import type { PageParams } from "./pagination.js";

export type { components, operations, paths };

type Schemas = components["schemas"];

/** An agent. */
export type Agent = Schemas["Agent"];
/** A built-in agent template. */
export type Template = Schemas["Template"];
/** A model the server offers (`GET /v1/models`). */
export type ModelInfo = Schemas["ModelInfo"];
/** An agent's token usage. */
export type AgentUsage = Schemas["AgentUsage"];
export type DayUsage = Schemas["DayUsage"];
export type ModelUsage = Schemas["ModelUsage"];
/** A stored message of a conversation. */
export type Message = Schemas["Message"];
export type Role = Schemas["Role"];
export type StopReason = Schemas["StopReason"];
export type Usage = Schemas["Usage"];
export type ToolCall = Schemas["ToolCall"];
export type ToolDeclaration = Schemas["ToolDeclaration"];
export type ContextReport = Schemas["ContextReport"];
/** An answer of an agent, as `conversations.cancel` reports it. */
export type Answer = Schemas["AnswerView"];
/** A workflow definition. */
export type Workflow = Schemas["Workflow"];
/** A run of a workflow. */
export type Run = Schemas["Run"];
export type RunStatus = Schemas["RunStatus"];
export type StepRun = Schemas["StepRun"];
export type StepStatus = Schemas["StepStatus"];
/** A webhook endpoint (`object: "webhook"`). */
export type WebhookEndpoint = Schemas["Endpoint"];
/** One event on its way to one endpoint. */
export type Delivery = Schemas["Delivery"];
export type DeliveryStatus = Schemas["DeliveryStatus"];
/** Something that happened, as webhooks deliver it. */
export type Event = Schemas["Event"];
/** An API key (its `secret` only in the answer that creates it). */
export type ApiKey = Schemas["ApiKey"];
export type Mode = Schemas["Mode"];
/** The answer of a `DELETE`: `{id, object, deleted: true}`. */
export type DeletedObject = Schemas["Deleted"];
/** `metadata`: up to 50 string keys with string values. */
export type Metadata = Record<string, string>;

/** Body of `client.agents.create`. */
export type AgentCreateParams = Schemas["CreateAgent"];
/** Body of `client.agents.update`. */
export type AgentUpdateParams = Schemas["UpdateAgent"];
/** Body of `client.agents.messages.create`. */
export type MessageCreateParams = Schemas["SendMessage"];
/** Query of `client.agents.messages.list`. */
export interface MessageListParams extends PageParams {
  /** The conversation; left out, `default`. */
  conversation_id?: string;
}
/** Body of `client.workflows.create`. */
export type WorkflowCreateParams = Schemas["CreateWorkflow"];
/**
 * Body of `client.workflows.update`. `output` is widened to any JSON value:
 * the OpenAPI document types it as an object, but the server (like
 * `CreateWorkflow`) also takes a template string such as
 * `"{{ steps.a.output }}"`.
 */
export type WorkflowUpdateParams = Omit<Schemas["UpdateWorkflow"], "output"> & { output?: unknown };
/** Body of `client.workflows.run`. */
export type WorkflowRunParams = Schemas["StartRun"];
/** Body of `client.webhooks.create`. */
export type WebhookCreateParams = Schemas["CreateEndpoint"];
/** Body of `client.webhooks.update`. */
export type WebhookUpdateParams = Schemas["UpdateEndpoint"];
/** Query of `client.events.list`. */
export interface EventListParams extends PageParams {
  /** Only events of this type, e.g. `agent.created`. */
  type?: string;
}
/** Body of `client.apiKeys.create`. */
export type ApiKeyCreateParams = Schemas["CreateApiKey"];

/** An OAuth 2.0 client: its `id` (`cli_…`) is the OAuth `client_id`; `client_secret` only in the answer that creates it. */
export type OAuthClient = Schemas["OAuthClient"] & {
  /**
   * The same as `id`. The server sends it (docs/API.md documents it) but the
   * OpenAPI document's `OAuthClient` schema does not list it yet.
   */
  client_id?: string;
};
/** Body of `client.oauth.clients.create`. */
export type OAuthClientCreateParams = Schemas["CreateOAuthClient"];
/** The token endpoint's answer (RFC 6749 §5.1). */
export type TokenResponse = Schemas["TokenResponse"];
/** An OAuth endpoint's error (RFC 6749 §5.2). */
export type OAuthErrorBody = Schemas["OAuthErrorBody"];
