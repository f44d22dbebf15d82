/** OAuth 2.0 client credentials (RFC 6749 §4.4): fetching, caching and refreshing access tokens. */

/** Client credentials for `new Faos({ oauth: … })`. */
export interface OAuthClientCredentials {
  /** The OAuth client's id (from `client.oauth.clients.create`). */
  clientId: string;
  /** The OAuth client's secret, shown once at creation. */
  clientSecret: string;
  /** Scopes to ask for (space-separated string or a list); by default all the client has. */
  scope?: string | string[];
  /** Token endpoint; default `<baseURL>/oauth/token`. */
  tokenURL?: string;
  /** How the client authenticates to the token endpoint: HTTP Basic (default) or form fields. */
  clientAuth?: "basic" | "body";
  /** Refresh this many milliseconds before the token expires (default: 60 s, or a tenth of a short token's life). */
  refreshMargin?: number;
}

/** The token endpoint's answer (RFC 6749 §5.1), not wrapped in the API's envelope. */
export interface OAuthToken {
  access_token: string;
  token_type: string;
  expires_in?: number;
  scope?: string;
  [key: string]: unknown;
}

/**
 * Holds one access token: fetched on first use, refreshed shortly before it
 * expires, dropped on `invalidate()` (after a 401). Concurrent callers share
 * one token request.
 */
export class TokenProvider {
  private current: { token: string; expiresAt: number; refreshAt: number } | undefined;
  private pending: Promise<string> | undefined;

  constructor(
    private readonly fetchToken: () => Promise<OAuthToken>,
    private readonly refreshMargin?: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** A valid access token, fetching a new one when there is none or it is about to expire. */
  async token(): Promise<string> {
    const current = this.current;
    if (current && this.now() < current.refreshAt) return current.token;
    this.pending ??= this.refresh().finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  /** Forgets the cached token; the next call fetches a new one. */
  invalidate(): void {
    this.current = undefined;
  }

  private async refresh(): Promise<string> {
    const issued = this.now();
    const answer = await this.fetchToken();
    if (typeof answer.access_token !== "string" || answer.access_token === "") {
      throw new TypeError("The token endpoint answered no access_token");
    }
    const lifetime =
      typeof answer.expires_in === "number" && answer.expires_in > 0 ? answer.expires_in * 1000 : 3600 * 1000;
    const margin = this.refreshMargin ?? Math.min(60_000, lifetime / 10);
    this.current = {
      token: answer.access_token,
      expiresAt: issued + lifetime,
      refreshAt: issued + Math.max(0, lifetime - margin),
    };
    return answer.access_token;
  }
}

/** `application/x-www-form-urlencoded` encoding of a client id or secret, as RFC 6749 §2.3.1 wants for HTTP Basic. */
export function basicAuth(clientId: string, clientSecret: string): string {
  const encode = (value: string) => encodeURIComponent(value).replace(/%20/g, "+");
  return "Basic " + Buffer.from(`${encode(clientId)}:${encode(clientSecret)}`).toString("base64");
}

/** The `scope` parameter: a list joined with spaces. */
export function scopeParam(scope: string | string[] | undefined): string | undefined {
  if (scope === undefined) return undefined;
  return Array.isArray(scope) ? scope.join(" ") : scope;
}
