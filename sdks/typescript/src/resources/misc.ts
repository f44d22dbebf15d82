import type { RequestOptions } from "../core.js";
import { list, type PagePromise, type PageParams } from "../pagination.js";
import type { ApiKey, ApiKeyCreateParams, ModelInfo, Template } from "../types.js";
import { APIResource, seg } from "./base.js";

/** `/v1/api_keys`: restricted keys. Only secret keys (`sk_…`) may manage keys. */
export class ApiKeys extends APIResource {
  /** Creates a key; the answer carries its `secret`, shown only here. */
  create(params: ApiKeyCreateParams, options?: RequestOptions): Promise<ApiKey> {
    return this._post<ApiKey>("/api_keys", params, options);
  }

  list(params?: PageParams, options?: RequestOptions): PagePromise<ApiKey> {
    return list<ApiKey>(this.client, "/api_keys", params, options);
  }

  /** Revokes a key. */
  revoke(keyId: string, options?: RequestOptions): Promise<ApiKey> {
    return this._delete<ApiKey>(`/api_keys/${seg(keyId)}`, options);
  }

  /** The same as {@link ApiKeys.revoke}. */
  delete(keyId: string, options?: RequestOptions): Promise<ApiKey> {
    return this.revoke(keyId, options);
  }
}

/** `/v1/templates`: the built-in agent templates. */
export class Templates extends APIResource {
  list(params?: PageParams, options?: RequestOptions): PagePromise<Template> {
    return list<Template>(this.client, "/templates", params, options);
  }
}

/** `/v1/models`: the models this server offers. */
export class Models extends APIResource {
  list(params?: PageParams, options?: RequestOptions): PagePromise<ModelInfo> {
    return list<ModelInfo>(this.client, "/models", params, options);
  }
}
