/**
 * Streamed answers (`"stream": true`): an async iterator of the answer's
 * events that resumes by itself, through
 * `GET /v1/agents/{id}/messages/{answer_id}/stream` with `Last-Event-ID`,
 * when the connection drops before the answer ends.
 */

import type { APIClient, RequestOptions } from "./core.js";
import { retryDelay } from "./core.js";
import { APIConnectionError, APIError, APIUserAbortError, errorFromStreamEvent } from "./errors.js";
import { readServerSentEvents } from "./sse.js";
import type { Message, ToolCall } from "./types.js";

/** `answer.started`: the answer's id (its final message will carry it) and the stored user message. */
export interface AnswerStartedEvent {
  event: "answer.started";
  id: string | undefined;
  data: { id: string; agent_id: string; conversation_id: string; user_message: Message; [key: string]: unknown };
}
/** `message.delta`: a piece of the answer's text. */
export interface MessageDeltaEvent {
  event: "message.delta";
  id: string | undefined;
  data: { delta: string };
}
/** `tool_call.started`: the model called one of the agent's tools. */
export interface ToolCallStartedEvent {
  event: "tool_call.started";
  id: string | undefined;
  data: { message_id: string; tool_call: ToolCall; [key: string]: unknown };
}
/** `tool_call.completed`: the stored `tool` message with the call's result. */
export interface ToolCallCompletedEvent {
  event: "tool_call.completed";
  id: string | undefined;
  data: { message: Message; [key: string]: unknown };
}
/** `message.completed`: the stored final message; the last event of a stream. */
export interface MessageCompletedEvent {
  event: "message.completed";
  id: string | undefined;
  data: Message;
}

/**
 * An event of a streamed answer. An `error` event is not yielded: the
 * iterator throws it as an {@link APIError} subclass (e.g. `ModelError`).
 */
export type MessageStreamEvent =
  | AnswerStartedEvent
  | MessageDeltaEvent
  | ToolCallStartedEvent
  | ToolCallCompletedEvent
  | MessageCompletedEvent;

/** Options of a stream. */
export interface StreamOptions extends RequestOptions {
  /** Reconnections allowed after the connection drops (default: the client's `maxRetries`, at least 2). */
  maxReconnects?: number;
}

/**
 * A streamed answer. Iterate it once with `for await`; or call
 * {@link MessageStream.finalMessage} to consume it and get the stored reply.
 */
export class MessageStream implements AsyncIterable<MessageStreamEvent> {
  /** The answer's id (`answer.started`'s `id`; the final message's id), once known. */
  answerId: string | undefined;
  /** The id of the last event received: what a resume sends as `Last-Event-ID`. */
  lastEventId: string | undefined;
  /** How many times the stream was resumed after a dropped connection. */
  reconnects = 0;
  /** The request id of the response that opened the stream. */
  readonly requestId: string | undefined;

  private consumed = false;
  private completed: Message | undefined;
  private readonly controller = new AbortController();

  constructor(
    private readonly client: APIClient,
    private readonly agentId: string,
    private response: Response,
    private readonly options: StreamOptions = {},
    init: { answerId?: string | undefined; lastEventId?: string | undefined; requestId?: string | undefined } = {},
  ) {
    this.answerId = init.answerId;
    this.lastEventId = init.lastEventId;
    this.requestId = init.requestId;
    options.signal?.addEventListener("abort", () => this.controller.abort(), { once: true });
  }

  /** Stops reading; the answer itself goes on on the server and is stored. */
  abort(): void {
    this.controller.abort();
    void this.response.body?.cancel().catch(() => undefined);
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<MessageStreamEvent, void, undefined> {
    if (this.consumed) throw new Error("A MessageStream can be iterated only once");
    this.consumed = true;
    const maxReconnects = this.options.maxReconnects ?? Math.max(this.client.maxRetries, 2);
    let failures = 0;
    for (;;) {
      let lastError: unknown;
      let progressed = false;
      const body = this.response.body;
      if (body) {
        try {
          for await (const sse of readServerSentEvents(body)) {
            if (this.controller.signal.aborted) throw new APIUserAbortError("Stream was aborted");
            if (sse.id !== undefined) this.lastEventId = sse.id;
            progressed = true;
            let data: unknown;
            try {
              data = JSON.parse(sse.data);
            } catch {
              data = sse.data;
            }
            if (sse.event === "error") throw errorFromStreamEvent(data, this.requestId);
            const event = { event: sse.event, id: sse.id, data } as MessageStreamEvent;
            if (event.event === "answer.started") this.answerId = event.data.id;
            if (event.event === "message.completed") {
              this.completed = event.data;
              yield event;
              return;
            }
            yield event;
          }
        } catch (error) {
          if (error instanceof APIError || error instanceof APIUserAbortError) throw error;
          if (this.controller.signal.aborted) throw new APIUserAbortError("Stream was aborted", { cause: error });
          lastError = error;
        }
      }
      if (this.controller.signal.aborted) throw new APIUserAbortError("Stream was aborted");
      // The connection ended before the answer did: resume after the last event seen.
      if (this.answerId === undefined) {
        throw new APIConnectionError("The stream ended before the answer started; it cannot be resumed", {
          cause: lastError,
        });
      }
      if (progressed) failures = 0;
      if (failures >= maxReconnects) {
        throw new APIConnectionError(
          `The stream of answer ${this.answerId} dropped and could not be resumed after ${failures} attempts`,
          { cause: lastError },
        );
      }
      const delay = retryDelay(undefined, failures, this.client.maxRetryDelay) ?? 0;
      failures++;
      await new Promise((resolve) => setTimeout(resolve, delay));
      this.response = await openResume(this.client, this.agentId, this.answerId, this.lastEventId, {
        ...this.options,
        signal: this.controller.signal,
      });
      this.reconnects++;
    }
  }

  /** Reads the stream to its end and returns the stored final message. */
  async finalMessage(): Promise<Message> {
    if (!this.consumed) {
      for await (const event of this) void event;
    }
    if (!this.completed) throw new APIConnectionError("The stream ended without message.completed");
    return this.completed;
  }
}

/** Opens `GET /agents/{id}/messages/{answer_id}/stream` after `lastEventId`. */
export async function openResume(
  client: APIClient,
  agentId: string,
  answerId: string,
  lastEventId: string | undefined,
  options: RequestOptions | undefined,
): Promise<Response> {
  const res = await client.request({
    method: "GET",
    path: `/agents/${encodeURIComponent(agentId)}/messages/${encodeURIComponent(answerId)}/stream`,
    stream: true,
    headers: lastEventId !== undefined ? { "Last-Event-ID": lastEventId } : {},
    options,
  });
  return res.response;
}
