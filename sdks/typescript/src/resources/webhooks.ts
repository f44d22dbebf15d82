import type { APIClient, RequestOptions } from "../core.js";
import { list, type PagePromise, type PageParams } from "../pagination.js";
import type {
  DeletedObject,
  Delivery,
  Event,
  WebhookEndpoint,
  WebhookCreateParams,
  WebhookUpdateParams,
  EventListParams,
} from "../types.js";
import { verifyWebhook, type VerifyOptions, type WebhookHeaders } from "../webhook-signature.js";
import { APIResource, seg } from "./base.js";

/** `/v1/webhooks/{id}/deliveries`. */
export class Deliveries extends APIResource {
  /** Deliveries to an endpoint, with their status, attempts and last answer. */
  list(webhookId: string, params?: PageParams, options?: RequestOptions): PagePromise<Delivery> {
    return list<Delivery>(this.client, `/webhooks/${seg(webhookId)}/deliveries`, params, options);
  }

  /** Makes a delivery due now. */
  retry(webhookId: string, deliveryId: string, options?: RequestOptions): Promise<Delivery> {
    return this._post<Delivery>(`/webhooks/${seg(webhookId)}/deliveries/${seg(deliveryId)}/retry`, {}, options);
  }
}

/** `/v1/webhooks`: webhook endpoints. */
export class Webhooks extends APIResource {
  readonly deliveries: Deliveries;

  constructor(client: APIClient) {
    super(client);
    this.deliveries = new Deliveries(client);
  }

  /** Registers an endpoint; the answer carries its `whsec_…` secret, shown only here. */
  create(params: WebhookCreateParams, options?: RequestOptions): Promise<WebhookEndpoint> {
    return this._post<WebhookEndpoint>("/webhooks", params, options);
  }

  list(params?: PageParams, options?: RequestOptions): PagePromise<WebhookEndpoint> {
    return list<WebhookEndpoint>(this.client, "/webhooks", params, options);
  }

  get(webhookId: string, options?: RequestOptions): Promise<WebhookEndpoint> {
    return this._get<WebhookEndpoint>(`/webhooks/${seg(webhookId)}`, undefined, options);
  }

  update(webhookId: string, params: WebhookUpdateParams, options?: RequestOptions): Promise<WebhookEndpoint> {
    return this._patch<WebhookEndpoint>(`/webhooks/${seg(webhookId)}`, params, options);
  }

  delete(webhookId: string, options?: RequestOptions): Promise<DeletedObject> {
    return this._delete<DeletedObject>(`/webhooks/${seg(webhookId)}`, options);
  }

  /** Issues a new secret (in the answer); the old one keeps signing for 24 h. */
  rotateSecret(webhookId: string, options?: RequestOptions): Promise<WebhookEndpoint> {
    return this._post<WebhookEndpoint>(`/webhooks/${seg(webhookId)}/rotate_secret`, {}, options);
  }

  /** Sends a `webhook.test` event to this endpoint only. */
  test(webhookId: string, options?: RequestOptions): Promise<Event> {
    return this._post<Event>(`/webhooks/${seg(webhookId)}/test`, {}, options);
  }

  /** Verifies a delivery's signature and returns its event; see {@link verifyWebhook}. */
  verify<T = Event>(
    payload: string | Uint8Array,
    headers: WebhookHeaders,
    secret: string | readonly string[],
    options?: VerifyOptions,
  ): T {
    return verifyWebhook<T>(payload, headers, secret, options);
  }
}

/** `/v1/events`. */
export class Events extends APIResource {
  /** Events, newest first by default; `type` filters (e.g. `agent.created`). */
  list(params?: EventListParams, options?: RequestOptions): PagePromise<Event> {
    return list<Event>(this.client, "/events", params, options);
  }

  get(eventId: string, options?: RequestOptions): Promise<Event> {
    return this._get<Event>(`/events/${seg(eventId)}`, undefined, options);
  }
}
