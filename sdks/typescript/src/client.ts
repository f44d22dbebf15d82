/** The FAOS client: `new Faos({ apiKey, baseURL })`. */

import {
  APIClient,
  DEFAULT_BASE_URL,
  DEFAULT_MAX_RETRIES,
  DEFAULT_MAX_RETRY_DELAY,
  DEFAULT_TIMEOUT,
  type Fetch,
} from "./core.js";
import { FaosError } from "./errors.js";
import { TokenProvider, basicAuth, scopeParam, type OAuthClientCredentials, type OAuthToken } from "./oauth.js";
import { Agents } from "./resources/agents.js";
import { ApiKeys, Models, Templates } from "./resources/misc.js";
import { OAuth } from "./resources/oauth.js";
import { Events, Webhooks } from "./resources/webhooks.js";
import { Runs, Workflows } from "./resources/workflows.js";

/** Options of {@link Faos}. */
export interface ClientOptions {
  /** A secret or restricted key (`sk_live_…`, `sk_test_…`, `rk_…`). Default: `FAOS_API_KEY`. */
  apiKey?: string | undefined;
  /** OAuth 2.0 client credentials, instead of `apiKey`: tokens are fetched on first use and refreshed before they expire. */
  oauth?: OAuthClientCredentials | undefined;
  /** API base URL, including `/v1`. Default: `FAOS_BASE_URL`, else `http://127.0.0.1:8080/v1`. */
  baseURL?: string | undefined;
  /** Timeout of one attempt, in milliseconds (default 10 minutes). */
  timeout?: number | undefined;
  /** Retries on 429, 5xx and network errors (default 2). */
  maxRetries?: number | undefined;
  /** Longest `Retry-After` to wait for, in milliseconds (default 60 s); a longer one throws at once. */
  maxRetryDelay?: number | undefined;
  /** A `fetch` implementation (default: the global one). */
  fetch?: Fetch | undefined;
  /** Headers sent with every request. */
  defaultHeaders?: Record<string, string> | undefined;
}

function env(name: string): string | undefined {
  const value = typeof process !== "undefined" ? process.env[name] : undefined;
  return value === undefined || value === "" ? undefined : value;
}

/**
 * The FAOS API client.
 *
 * ```ts
 * import { Faos } from "@faos/sdk";
 * const client = new Faos({ apiKey: process.env.FAOS_API_KEY });
 * const agent = await client.agents.create({ name: "Support", template: "customer-service" });
 * ```
 */
export class Faos extends APIClient {
  readonly agents: Agents;
  readonly workflows: Workflows;
  readonly runs: Runs;
  readonly webhooks: Webhooks;
  readonly events: Events;
  readonly apiKeys: ApiKeys;
  readonly templates: Templates;
  readonly models: Models;
  readonly oauth: OAuth;

  constructor(options: ClientOptions = {}) {
    const baseURL = options.baseURL ?? env("FAOS_BASE_URL") ?? DEFAULT_BASE_URL;
    const apiKey = options.apiKey ?? (options.oauth ? undefined : env("FAOS_API_KEY"));
    if (options.apiKey !== undefined && options.oauth !== undefined) {
      throw new FaosError("Pass either apiKey or oauth, not both");
    }
    const fetchImpl = options.fetch ?? (globalThis.fetch?.bind(globalThis) as Fetch | undefined);
    if (!fetchImpl) throw new FaosError("No global fetch: use Node 20 or later, or pass `fetch`");
    let tokenProvider: TokenProvider | undefined;
    let fetchToken: (() => Promise<OAuthToken>) | undefined;
    if (options.oauth) {
      tokenProvider = new TokenProvider(() => fetchToken!(), options.oauth.refreshMargin);
    }
    super({
      baseURL,
      apiKey,
      tokenProvider,
      timeout: options.timeout ?? DEFAULT_TIMEOUT,
      maxRetries: options.maxRetries ?? DEFAULT_MAX_RETRIES,
      maxRetryDelay: options.maxRetryDelay ?? DEFAULT_MAX_RETRY_DELAY,
      fetch: fetchImpl,
      defaultHeaders: options.defaultHeaders ?? {},
    });
    if (options.oauth) {
      const oauth = options.oauth;
      fetchToken = () => this.fetchOAuthToken(oauth);
    }
    this.agents = new Agents(this);
    this.runs = new Runs(this);
    this.workflows = new Workflows(this, this.runs);
    this.webhooks = new Webhooks(this);
    this.events = new Events(this);
    this.apiKeys = new ApiKeys(this);
    this.templates = new Templates(this);
    this.models = new Models(this);
    this.oauth = new OAuth(this);
  }

  private async fetchOAuthToken(credentials: OAuthClientCredentials): Promise<OAuthToken> {
    const form: Record<string, string | undefined> = {
      grant_type: "client_credentials",
      scope: scopeParam(credentials.scope),
    };
    const headers: Record<string, string> = {};
    if (credentials.clientAuth === "body") {
      form["client_id"] = credentials.clientId;
      form["client_secret"] = credentials.clientSecret;
    } else {
      headers["Authorization"] = basicAuth(credentials.clientId, credentials.clientSecret);
    }
    const res = await this.request({
      method: "POST",
      path: "/oauth/token",
      url: credentials.tokenURL,
      auth: "none",
      form,
      headers,
    });
    return res.body as OAuthToken;
  }
}

export default Faos;
