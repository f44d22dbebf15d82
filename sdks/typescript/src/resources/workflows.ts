import type { APIClient, RequestOptions } from "../core.js";
import { list, type PagePromise, type PageParams } from "../pagination.js";
import type {
  DeletedObject,
  Run,
  Workflow,
  WorkflowCreateParams,
  WorkflowRunParams,
  WorkflowUpdateParams,
} from "../types.js";
import { APIResource, seg } from "./base.js";

/** `/v1/runs`: workflow runs. */
export class Runs extends APIResource {
  get(runId: string, options?: RequestOptions): Promise<Run> {
    return this._get<Run>(`/runs/${seg(runId)}`, undefined, options);
  }

  /** Cancels a queued or running run; answers the run once stopped (`409` when it had already ended). */
  cancel(runId: string, options?: RequestOptions): Promise<Run> {
    return this._post<Run>(`/runs/${seg(runId)}/cancel`, {}, options);
  }

  /** The runs of a workflow (`GET /v1/workflows/{id}/runs`). */
  list(workflowId: string, params?: PageParams, options?: RequestOptions): PagePromise<Run> {
    return list<Run>(this.client, `/workflows/${seg(workflowId)}/runs`, params, options);
  }

  /**
   * Polls a run until it has ended (`succeeded`, `failed` or `cancelled`)
   * and returns it. `timeout` (ms, default 60 s) bounds the wait.
   */
  async poll(runId: string, params: { interval?: number; timeout?: number } = {}, options?: RequestOptions): Promise<Run> {
    const interval = params.interval ?? 500;
    const deadline = Date.now() + (params.timeout ?? 60_000);
    for (;;) {
      const run = await this.get(runId, options);
      if (run.status === "succeeded" || run.status === "failed" || run.status === "cancelled") return run;
      if (Date.now() + interval > deadline) throw new Error(`Run ${runId} is still ${run.status}`);
      await new Promise((resolve) => setTimeout(resolve, interval));
    }
  }
}

/** `/v1/workflows`. */
export class Workflows extends APIResource {
  constructor(
    client: APIClient,
    private readonly runs: Runs,
  ) {
    super(client);
  }

  create(params: WorkflowCreateParams, options?: RequestOptions): Promise<Workflow> {
    return this._post<Workflow>("/workflows", params, options);
  }

  list(params?: PageParams, options?: RequestOptions): PagePromise<Workflow> {
    return list<Workflow>(this.client, "/workflows", params, options);
  }

  get(workflowId: string, options?: RequestOptions): Promise<Workflow> {
    return this._get<Workflow>(`/workflows/${seg(workflowId)}`, undefined, options);
  }

  update(workflowId: string, params: WorkflowUpdateParams, options?: RequestOptions): Promise<Workflow> {
    return this._patch<Workflow>(`/workflows/${seg(workflowId)}`, params, options);
  }

  delete(workflowId: string, options?: RequestOptions): Promise<DeletedObject> {
    return this._delete<DeletedObject>(`/workflows/${seg(workflowId)}`, options);
  }

  /**
   * Starts a run. Answers the queued run at once, or with `wait` (seconds,
   * at most 60) the finished run if it ends in time.
   */
  run(workflowId: string, params: WorkflowRunParams = {}, options?: RequestOptions): Promise<Run> {
    return this._post<Run>(`/workflows/${seg(workflowId)}/run`, params, options);
  }

  /** The runs of a workflow; the same as `client.runs.list(workflowId)`. */
  listRuns(workflowId: string, params?: PageParams, options?: RequestOptions): PagePromise<Run> {
    return this.runs.list(workflowId, params, options);
  }
}
