/** A Server-Sent Events parser (the WHATWG event-stream format) over a byte stream. */

/** One dispatched server-sent event. */
export interface ServerSentEvent {
  /** `event:` field; `message` when the server sent none. */
  event: string;
  /** `data:` lines joined with `\n`. */
  data: string;
  /** `id:` field of this event, or the last one seen before it. */
  id: string | undefined;
  /** `retry:` field, in milliseconds, when given. */
  retry: number | undefined;
}

/** Incremental event-stream decoder: feed it text, take out whole events. */
export class SSEDecoder {
  private buffer = "";
  private eventType = "";
  private dataLines: string[] = [];
  private lastEventId: string | undefined;
  private retry: number | undefined;
  private sawData = false;
  private pendingCR = false;

  /** Feeds a chunk of text; returns the events it completed. */
  push(chunk: string): ServerSentEvent[] {
    const events: ServerSentEvent[] = [];
    let text = chunk;
    if (this.pendingCR) {
      // A CR at the end of the previous chunk already ended its line.
      if (text.startsWith("\n")) text = text.slice(1);
      this.pendingCR = false;
    }
    this.buffer += text;
    let start = 0;
    for (let i = 0; i < this.buffer.length; i++) {
      const ch = this.buffer.charCodeAt(i);
      if (ch !== 10 && ch !== 13) continue;
      const line = this.buffer.slice(start, i);
      if (ch === 13) {
        if (i + 1 < this.buffer.length) {
          if (this.buffer.charCodeAt(i + 1) === 10) i++;
        } else {
          this.pendingCR = true;
        }
      }
      start = i + 1;
      const event = this.line(line);
      if (event) events.push(event);
    }
    this.buffer = this.buffer.slice(start);
    return events;
  }

  /** Ends the stream: an unterminated last event is dropped, as the spec says. */
  end(): ServerSentEvent[] {
    this.buffer = "";
    this.dataLines = [];
    this.eventType = "";
    this.sawData = false;
    return [];
  }

  private line(line: string): ServerSentEvent | undefined {
    if (line === "") return this.dispatch();
    if (line.startsWith(":")) return undefined;
    const colon = line.indexOf(":");
    let field: string;
    let value: string;
    if (colon === -1) {
      field = line;
      value = "";
    } else {
      field = line.slice(0, colon);
      value = line.slice(colon + 1);
      if (value.startsWith(" ")) value = value.slice(1);
    }
    switch (field) {
      case "event":
        this.eventType = value;
        break;
      case "data":
        this.dataLines.push(value);
        this.sawData = true;
        break;
      case "id":
        if (!value.includes("\0")) this.lastEventId = value;
        break;
      case "retry":
        if (/^\d+$/.test(value)) this.retry = Number(value);
        break;
      default:
        break;
    }
    return undefined;
  }

  private dispatch(): ServerSentEvent | undefined {
    if (!this.sawData) {
      this.eventType = "";
      return undefined;
    }
    const event: ServerSentEvent = {
      event: this.eventType || "message",
      data: this.dataLines.join("\n"),
      id: this.lastEventId,
      retry: this.retry,
    };
    this.eventType = "";
    this.dataLines = [];
    this.sawData = false;
    return event;
  }
}

/** Decodes a response body into server-sent events. */
export async function* readServerSentEvents(
  body: ReadableStream<Uint8Array>,
): AsyncGenerator<ServerSentEvent, void, undefined> {
  const reader = body.getReader();
  const decoder = new TextDecoder("utf-8");
  const sse = new SSEDecoder();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      for (const event of sse.push(decoder.decode(value, { stream: true }))) yield event;
    }
    for (const event of sse.push(decoder.decode())) yield event;
    sse.end();
  } finally {
    try {
      await reader.cancel();
    } catch {
      // already closed or errored
    }
    reader.releaseLock();
  }
}
