/** Cursor pagination (CONTRACT §4): pages, and iterators over every item. */

import type { APIClient, APIResponse, ListMeta, QueryValue, RequestOptions } from "./core.js";
import { APIError } from "./errors.js";

/** Query parameters every list method takes. */
export interface PageParams {
  /** Page size, 1–100 (server default 20). */
  limit?: number;
  /** `meta.next_cursor` of the previous page. */
  cursor?: string;
  /** `desc` (newest first, the default) or `asc`. */
  order?: "asc" | "desc";
}

type Fetcher<T> = (query: Record<string, QueryValue>) => Promise<{ data: T[]; meta: ListMeta; res: APIResponse }>;

/** One page of a list. Iterate it with `for await` to walk this page and every later one. */
export class Page<T> implements AsyncIterable<T> {
  /** The items of this page. */
  readonly data: T[];
  /** The list answer's `meta`: `request_id`, `timestamp`, `has_more`, `next_cursor`. */
  readonly meta: ListMeta;
  /** The HTTP response of this page. */
  readonly response: Response;

  constructor(
    private readonly fetcher: Fetcher<T>,
    private readonly query: Record<string, QueryValue>,
    data: T[],
    meta: ListMeta,
    response: Response,
  ) {
    this.data = data;
    this.meta = meta;
    this.response = response;
  }

  /** Whether the list goes on after this page. */
  get has_more(): boolean {
    return this.meta.has_more;
  }

  /** The cursor of the next page, or `null` on the last page. */
  get next_cursor(): string | null {
    return this.meta.next_cursor ?? null;
  }

  hasNextPage(): boolean {
    return this.meta.has_more && !!this.meta.next_cursor;
  }

  /** Fetches the next page (same filters, limit and order). Throws on the last page. */
  async getNextPage(): Promise<Page<T>> {
    if (!this.hasNextPage()) throw new Error("No next page: check hasNextPage() first");
    return fetchPage(this.fetcher, { ...this.query, cursor: this.meta.next_cursor });
  }

  /** This page and every later one. */
  async *iterPages(): AsyncGenerator<Page<T>, void, undefined> {
    let page: Page<T> = this;
    yield page;
    while (page.hasNextPage()) {
      page = await page.getNextPage();
      yield page;
    }
  }

  /** Every item of this page and of every later page. */
  async *[Symbol.asyncIterator](): AsyncGenerator<T, void, undefined> {
    for await (const page of this.iterPages()) {
      for (const item of page.data) yield item;
    }
  }
}

async function fetchPage<T>(fetcher: Fetcher<T>, query: Record<string, QueryValue>): Promise<Page<T>> {
  const { data, meta, res } = await fetcher(query);
  return new Page(fetcher, query, data, meta, res.response);
}

/**
 * What list methods return: `await` it for the first {@link Page}, or
 * iterate it with `for await` for every item across all pages.
 */
export class PagePromise<T> implements Promise<Page<T>>, AsyncIterable<T> {
  private promise: Promise<Page<T>> | undefined;
  readonly [Symbol.toStringTag] = "PagePromise";

  constructor(
    private readonly fetcher: Fetcher<T>,
    private readonly query: Record<string, QueryValue>,
  ) {}

  private first(): Promise<Page<T>> {
    this.promise ??= fetchPage(this.fetcher, this.query);
    return this.promise;
  }

  then<R1 = Page<T>, R2 = never>(
    onfulfilled?: ((value: Page<T>) => R1 | PromiseLike<R1>) | null,
    onrejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    return this.first().then(onfulfilled, onrejected);
  }

  catch<R = never>(onrejected?: ((reason: unknown) => R | PromiseLike<R>) | null): Promise<Page<T> | R> {
    return this.first().catch(onrejected);
  }

  finally(onfinally?: (() => void) | null): Promise<Page<T>> {
    return this.first().finally(onfinally);
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<T, void, undefined> {
    const page = await this.first();
    yield* page;
  }
}

/** Builds the list method of a resource. */
export function list<T>(
  client: APIClient,
  path: string,
  params: object | undefined,
  options: RequestOptions | undefined,
): PagePromise<T> {
  const fetcher: Fetcher<T> = async (query) => {
    const res = await client.request({ method: "GET", path, query, options });
    const body = res.body as { data?: T[]; meta?: ListMeta } | undefined;
    if (!body || !Array.isArray(body.data) || !body.meta) {
      throw new APIError({
        status: res.response.status,
        code: "invalid_response",
        message: "The server's answer is not a FAOS list",
        requestId: res.requestId,
        headers: res.response.headers,
        body: res.body,
      });
    }
    return { data: body.data, meta: body.meta, res };
  };
  return new PagePromise(fetcher, { ...(params as Record<string, QueryValue> | undefined) });
}
