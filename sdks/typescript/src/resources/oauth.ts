import type { APIClient, RequestOptions } from "../core.js";
import { list, type PagePromise, type PageParams } from "../pagination.js";
import { basicAuth, scopeParam } from "../oauth.js";
import type { DeletedObject, OAuthClient, OAuthClientCreateParams, TokenResponse } from "../types.js";
import { APIResource, seg } from "./base.js";

/**
 * `/v1/oauth/clients`: OAuth 2.0 clients (client credentials grant), managed
 * with a secret key. A client's `id` (`cli_…`) is its OAuth `client_id`.
 */
export class OAuthClients extends APIResource {
  /** Creates a client; the answer carries its `client_secret`, shown only here, and its `id` is the `client_id`. */
  create(params: OAuthClientCreateParams, options?: RequestOptions): Promise<OAuthClient> {
    return this._post<OAuthClient>("/oauth/clients", params, options);
  }

  list(params?: PageParams, options?: RequestOptions): PagePromise<OAuthClient> {
    return list<OAuthClient>(this.client, "/oauth/clients", params, options);
  }

  /** Deletes a client; its tokens stop working. */
  delete(clientId: string, options?: RequestOptions): Promise<DeletedObject> {
    return this._delete<DeletedObject>(`/oauth/clients/${seg(clientId)}`, options);
  }
}

/** Parameters of the token and revocation endpoints: the client's credentials. */
export interface OAuthClientAuth {
  client_id: string;
  client_secret: string;
  /** `basic` (HTTP Basic, the default) or `body` (form fields). */
  client_auth?: "basic" | "body";
}

/** OAuth 2.0: clients, and the token and revocation endpoints (RFC 6749 §4.4, RFC 7009). */
export class OAuth extends APIResource {
  readonly clients: OAuthClients;

  constructor(client: APIClient) {
    super(client);
    this.clients = new OAuthClients(client);
  }

  /** `POST /v1/oauth/token` with `grant_type=client_credentials`: a new access token. */
  async token(params: OAuthClientAuth & { scope?: string | string[] }, options?: RequestOptions): Promise<TokenResponse> {
    const res = await this.client.request({
      method: "POST",
      path: "/oauth/token",
      auth: "none",
      ...credentials(params, { grant_type: "client_credentials", scope: scopeParam(params.scope) }),
      options: { maxRetries: 2, ...options },
    });
    return res.body as TokenResponse;
  }

  /** `POST /v1/oauth/revoke` (RFC 7009): revokes an access token. */
  async revoke(
    params: OAuthClientAuth & { token: string; token_type_hint?: string },
    options?: RequestOptions,
  ): Promise<void> {
    await this.client.request({
      method: "POST",
      path: "/oauth/revoke",
      auth: "none",
      ...credentials(params, { token: params.token, token_type_hint: params.token_type_hint }),
      options,
    });
  }
}

function credentials(
  auth: OAuthClientAuth,
  form: Record<string, string | undefined>,
): { form: Record<string, string | undefined>; headers: Record<string, string> } {
  if (auth.client_auth === "body") {
    return { form: { ...form, client_id: auth.client_id, client_secret: auth.client_secret }, headers: {} };
  }
  return { form, headers: { Authorization: basicAuth(auth.client_id, auth.client_secret) } };
}
