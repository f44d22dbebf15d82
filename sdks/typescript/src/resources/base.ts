import type { APIClient, RequestOptions, QueryValue } from "../core.js";
import { unwrap } from "../core.js";

/** Encodes one path segment. */
export const seg = (value: string): string => encodeURIComponent(value);

/** Base of every resource: JSON calls that unwrap the `{data, meta}` envelope. */
export abstract class APIResource {
  constructor(protected readonly client: APIClient) {}

  protected async _get<T>(path: string, query?: Record<string, QueryValue>, options?: RequestOptions): Promise<T> {
    return unwrap<T>(await this.client.request({ method: "GET", path, query, options }));
  }

  protected async _post<T>(path: string, body: unknown, options?: RequestOptions): Promise<T> {
    return unwrap<T>(await this.client.request({ method: "POST", path, body: body ?? {}, options }));
  }

  protected async _patch<T>(path: string, body: unknown, options?: RequestOptions): Promise<T> {
    return unwrap<T>(await this.client.request({ method: "PATCH", path, body: body ?? {}, options }));
  }

  protected async _delete<T>(path: string, options?: RequestOptions): Promise<T> {
    return unwrap<T>(await this.client.request({ method: "DELETE", path, options }));
  }
}
