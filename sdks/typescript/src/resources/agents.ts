import type { APIClient, RequestOptions } from "../core.js";
import { list, type PagePromise, type PageParams } from "../pagination.js";
import { MessageStream, openResume, type StreamOptions } from "../streaming.js";
import type {
  Agent,
  AgentCreateParams,
  AgentUpdateParams,
  AgentUsage,
  Answer,
  DeletedObject,
  Message,
  MessageCreateParams,
  MessageListParams,
} from "../types.js";
import { APIResource, seg } from "./base.js";
import { unwrap } from "../core.js";

/** `/v1/agents/{id}/messages`: talk to an agent and read its conversations. */
export class Messages extends APIResource {
  /**
   * Sends a message and returns the agent's stored reply. With
   * `stream: true`, returns a {@link MessageStream} of the answer's events
   * instead (it resumes by itself after a dropped connection).
   */
  create(agentId: string, params: MessageCreateParams & { stream: true }, options?: StreamOptions): Promise<MessageStream>;
  create(agentId: string, params: MessageCreateParams & { stream?: false | undefined }, options?: RequestOptions): Promise<Message>;
  create(agentId: string, params: MessageCreateParams, options?: StreamOptions): Promise<Message | MessageStream>;
  async create(agentId: string, params: MessageCreateParams, options?: StreamOptions): Promise<Message | MessageStream> {
    const path = `/agents/${seg(agentId)}/messages`;
    if (params.stream) {
      const res = await this.client.request({ method: "POST", path, body: params, stream: true, options });
      return new MessageStream(this.client, agentId, res.response, options, { requestId: res.requestId });
    }
    return unwrap<Message>(await this.client.request({ method: "POST", path, body: params, options }));
  }

  /** Sends a message with `stream: true` and returns its {@link MessageStream}. */
  stream(agentId: string, params: Omit<MessageCreateParams, "stream">, options?: StreamOptions): Promise<MessageStream> {
    return this.create(agentId, { ...params, stream: true }, options);
  }

  /** A conversation's history (`conversation_id`, default `default`), newest first by default. */
  list(agentId: string, params?: MessageListParams, options?: RequestOptions): PagePromise<Message> {
    return list<Message>(this.client, `/agents/${seg(agentId)}/messages`, params, options);
  }

  /**
   * Reopens the stream of answer `answerId` (the `answer.started` id, which
   * is also the final message's id), replaying the events after
   * `lastEventId` (all of them without it), then following the answer live.
   */
  async resumeStream(
    agentId: string,
    answerId: string,
    params: { lastEventId?: string | number } = {},
    options?: StreamOptions,
  ): Promise<MessageStream> {
    const last = params.lastEventId === undefined ? undefined : String(params.lastEventId);
    const response = await openResume(this.client, agentId, answerId, last, options);
    return new MessageStream(this.client, agentId, response, options, {
      answerId,
      lastEventId: last,
      requestId: response.headers.get("x-request-id") ?? undefined,
    });
  }
}

/** `/v1/agents/{id}/conversations/{conversation_id}`. */
export class Conversations extends APIResource {
  /** Stops the answer in progress in a conversation; answers once it has stopped (`409` when nothing is answering). */
  cancel(agentId: string, conversationId: string, options?: RequestOptions): Promise<Answer> {
    return this._post<Answer>(`/agents/${seg(agentId)}/conversations/${seg(conversationId)}/cancel`, {}, options);
  }
}

/** `/v1/agents`. */
export class Agents extends APIResource {
  readonly messages: Messages;
  readonly conversations: Conversations;

  constructor(client: APIClient) {
    super(client);
    this.messages = new Messages(client);
    this.conversations = new Conversations(client);
  }

  /** Creates an agent; a `template` fills the fields left out. */
  create(params: AgentCreateParams, options?: RequestOptions): Promise<Agent> {
    return this._post<Agent>("/agents", params, options);
  }

  /** Lists agents: `await` for a page, `for await` for every agent. */
  list(params?: PageParams, options?: RequestOptions): PagePromise<Agent> {
    return list<Agent>(this.client, "/agents", params, options);
  }

  get(agentId: string, options?: RequestOptions): Promise<Agent> {
    return this._get<Agent>(`/agents/${seg(agentId)}`, undefined, options);
  }

  /** Changes only the fields given (`metadata` merges; a `null` value removes a key). */
  update(agentId: string, params: AgentUpdateParams, options?: RequestOptions): Promise<Agent> {
    return this._patch<Agent>(`/agents/${seg(agentId)}`, params, options);
  }

  /** Deletes an agent and its conversations. */
  delete(agentId: string, options?: RequestOptions): Promise<DeletedObject> {
    return this._delete<DeletedObject>(`/agents/${seg(agentId)}`, options);
  }

  /** Token usage of an agent: in total, per UTC day and per model. */
  usage(agentId: string, options?: RequestOptions): Promise<AgentUsage> {
    return this._get<AgentUsage>(`/agents/${seg(agentId)}/usage`, undefined, options);
  }
}
