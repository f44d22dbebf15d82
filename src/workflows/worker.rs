//! The workflow service: runs are rows first (status `queued`), then
//! claimed by a worker loop in every `faos serve` process with a lease it
//! renews while the run executes (CONTRACT §7, ARCHITECTURE "outbox"). A
//! process that dies leaves its runs to be claimed again when their leases
//! expire; their recorded steps are not repeated. Cancels reach the
//! executing process directly or through the run's row.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::{Notify, Semaphore, watch};
use tokio_util::sync::CancellationToken;

use super::definition::{self, Definition};
use super::executor::{Failure, MAX_DEPTH, RunContext};
use super::template::Templates;
use super::types::{Run, RunStatus};
use crate::access::Tenant;
use crate::clock;
use crate::conversations::Conversations;
use crate::error::{Error, Result};
use crate::ids::{self, IdKind, new_id};
use crate::net::http_client::guarded_client;
use crate::net::url_guard::UrlGuard;
use crate::store::{ClaimedRun, Store};

/// How often an idle worker looks for claimable runs: for runs whose
/// owner died (expired leases). Queued runs wake it at once: the store
/// signals them (on PostgreSQL also those queued on other nodes).
const POLL: Duration = Duration::from_millis(250);
/// Bound on one `http` step request when the step sets no timeout.
const HTTP_TIMEOUT: Duration = Duration::from_secs(60);

/// Settings of the workflow service.
#[derive(Debug, Clone, Copy)]
pub struct WorkflowSettings {
    /// How long a claimed run's lease lasts without renewal.
    pub lease: Duration,
    /// Runs executed at once by this process.
    pub concurrency: usize,
}

/// Workflows: definitions, runs and the worker that executes them.
pub struct Workflows {
    pub(super) store: Arc<dyn Store>,
    pub(super) templates: Templates,
    pub(super) guard: Arc<UrlGuard>,
    pub(super) http: reqwest::Client,
    /// Set once the conversation service exists (agent steps use it).
    pub(super) conversations: OnceLock<Arc<Conversations>>,
    settings: WorkflowSettings,
    /// This process's lease owner name.
    owner: String,
    running: Mutex<HashMap<String, CancellationToken>>,
    wake: Notify,
    /// Counts finished runs, so waiters wake when any run ends.
    finished: watch::Sender<u64>,
}

impl Workflows {
    /// Builds the service; call [`Workflows::work`] to execute runs.
    pub fn new(
        store: Arc<dyn Store>,
        guard: Arc<UrlGuard>,
        settings: WorkflowSettings,
    ) -> Arc<Self> {
        Arc::new(Workflows {
            store,
            templates: Templates::default(),
            http: guarded_client(guard.clone(), HTTP_TIMEOUT),
            guard,
            conversations: OnceLock::new(),
            settings,
            owner: format!("worker_{}", ids::random_alphanumeric(16)),
            running: Mutex::new(HashMap::new()),
            wake: Notify::new(),
            finished: watch::channel(0).0,
        })
    }

    /// Lets agent steps reach the conversation service.
    pub fn connect(&self, conversations: Arc<Conversations>) {
        let _ = self.conversations.set(conversations);
    }

    /// Checks a stored definition again (it passed when it was saved).
    pub(super) fn parse(&self, definition: &Value) -> Result<Definition> {
        let none = |v: &Value| (!v.is_null()).then(|| v.clone());
        definition::check(
            none(&definition["input_schema"]).as_ref(),
            &definition["steps"],
            none(&definition["output"]).as_ref(),
            &self.templates,
            &self.guard,
        )
        .map(|checked| checked.definition)
    }

    /// Queues a run of `workflow_id`'s current version and wakes the worker.
    pub(super) async fn enqueue(
        &self,
        tenant: &Tenant,
        workflow_id: &str,
        version: u32,
        input: Value,
    ) -> Result<Run> {
        let run = Run {
            id: new_id(IdKind::Run),
            workflow_id: workflow_id.to_string(),
            workflow_version: version,
            parent_run_id: None,
            status: RunStatus::Queued,
            input,
            output: None,
            error: None,
            steps: Vec::new(),
            created_at: clock::now_ms(),
            started_at: None,
            finished_at: None,
        };
        // The store signals the queued run to the workers.
        self.store.insert_run(tenant, &run, None).await?;
        Ok(run)
    }

    /// Waits up to `wait` for the run to end; returns it as it is then.
    pub(super) async fn wait_for(
        &self,
        tenant: &Tenant,
        run_id: &str,
        wait: Duration,
    ) -> Result<Run> {
        let deadline = tokio::time::Instant::now() + wait;
        let mut finished = self.finished.subscribe();
        loop {
            let run = self
                .store
                .get_run(tenant, run_id)
                .await?
                .ok_or_else(|| Error::not_found("run", run_id, "id"))?;
            if run.status.is_final() || tokio::time::Instant::now() >= deadline {
                return Ok(run);
            }
            // Another process may finish it: look again at least every POLL.
            let _ = tokio::time::timeout_at(
                deadline.min(tokio::time::Instant::now() + POLL),
                finished.changed(),
            )
            .await;
        }
    }

    /// Stops a run: queued ones at once, running ones through their worker.
    pub(super) async fn cancel(&self, tenant: &Tenant, run_id: &str) -> Result<Run> {
        let status = self
            .store
            .request_run_cancel(tenant, run_id)
            .await?
            .ok_or_else(|| Error::not_found("run", run_id, "id"))?;
        if status.is_final() && status != RunStatus::Cancelled {
            return Err(Error::Conflict {
                message: format!(
                    "The run '{run_id}' has already ended ({}).",
                    status.as_str()
                ),
                param: Some("id".into()),
            });
        }
        if let Some(token) = self.running.lock().expect("run registry").get(run_id) {
            token.cancel();
        }
        self.wait_for(tenant, run_id, Duration::from_secs(10)).await
    }

    /// The worker loop: claims runs while it has free slots, executes each
    /// in its own task. Runs forever; ends with the process.
    pub async fn work(self: Arc<Self>) {
        let slots = Arc::new(Semaphore::new(self.settings.concurrency));
        let queued = self.store.run_signal();
        loop {
            let free = slots.available_permits();
            if free > 0 {
                let lease_until = clock::now_ms() + self.settings.lease.as_millis() as i64;
                match self
                    .store
                    .claim_runs(&self.owner, lease_until, free as u32)
                    .await
                {
                    Ok(claimed) => {
                        let any = !claimed.is_empty();
                        for claimed in claimed {
                            let permit = slots
                                .clone()
                                .acquire_owned()
                                .await
                                .expect("the semaphore stays open");
                            let service = self.clone();
                            tokio::spawn(async move {
                                service.execute_claimed(claimed).await;
                                drop(permit);
                                // A slot is free: look for more work now.
                                service.wake.notify_one();
                            });
                        }
                        if any {
                            continue;
                        }
                    }
                    Err(err) => tracing::warn!(error = %err, "could not claim workflow runs"),
                }
            }
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = queued.notified() => {}
                _ = tokio::time::sleep(POLL) => {}
            }
        }
    }

    async fn execute_claimed(self: &Arc<Self>, claimed: ClaimedRun) {
        let ClaimedRun { tenant, run } = claimed;
        let cancel = CancellationToken::new();
        self.running
            .lock()
            .expect("run registry")
            .insert(run.id.clone(), cancel.clone());
        let heartbeat = tokio::spawn(self.clone().heartbeat(
            tenant.clone(),
            run.id.clone(),
            cancel.clone(),
        ));
        let outcome = self.execute_run(&tenant, &run, cancel, 0).await;
        heartbeat.abort();
        self.running.lock().expect("run registry").remove(&run.id);
        self.finish(&tenant, &run.id, outcome).await;
    }

    /// Executes a run's version with its recorded steps.
    async fn execute_run(
        &self,
        tenant: &Tenant,
        run: &Run,
        cancel: CancellationToken,
        depth: u32,
    ) -> std::result::Result<Value, Failure> {
        let stored = self
            .store
            .workflow_version(tenant, &run.workflow_id, run.workflow_version)
            .await
            .map_err(|e| {
                Failure::Failed(format!(
                    "the workflow could not be read: {}",
                    e.public_message()
                ))
            })?
            .ok_or_else(|| Failure::Failed("the workflow version no longer exists".into()))?;
        let definition = self.parse(&stored).map_err(|e| {
            Failure::Failed(format!(
                "the stored definition is invalid: {}",
                e.public_message()
            ))
        })?;
        let recorded = self.store.step_runs(tenant, &run.id).await.map_err(|e| {
            Failure::Failed(format!(
                "the run's steps could not be read: {}",
                e.public_message()
            ))
        })?;
        if !recorded.is_empty() {
            // Resumed: sub-runs the dead process left running are abandoned.
            self.store
                .abandon_children(tenant, &run.id)
                .await
                .map_err(|e| {
                    Failure::Failed(format!(
                        "the run's sub-runs could not be closed: {}",
                        e.public_message()
                    ))
                })?;
        }
        let context = RunContext::new(
            tenant.clone(),
            run.id.clone(),
            run.input.clone(),
            cancel,
            depth,
            recorded,
        );
        self.execute(&context, &definition).await
    }

    async fn finish(
        &self,
        tenant: &Tenant,
        run_id: &str,
        outcome: std::result::Result<Value, Failure>,
    ) {
        let (status, output, error) = match &outcome {
            Ok(output) => (RunStatus::Succeeded, Some(output), None),
            Err(Failure::Cancelled) => (RunStatus::Cancelled, None, Some("the run was cancelled")),
            Err(Failure::Failed(reason)) => (RunStatus::Failed, None, Some(reason.as_str())),
        };
        if let Err(err) = self
            .store
            .finish_run(tenant, run_id, &self.owner, status, output, error)
            .await
        {
            tracing::error!(run = %run_id, error = %err, "could not record the end of a run");
        } else {
            tracing::debug!(run = %run_id, status = status.as_str(), "run finished");
        }
        self.finished.send_modify(|n| *n += 1);
    }

    /// Renews a run's lease; cancels the run when a cancel was asked or the
    /// lease was lost to another process.
    async fn heartbeat(self: Arc<Self>, tenant: Tenant, run_id: String, cancel: CancellationToken) {
        let every = self.settings.lease / 3;
        loop {
            tokio::time::sleep(every).await;
            let lease_until = clock::now_ms() + self.settings.lease.as_millis() as i64;
            match self
                .store
                .renew_run(&tenant, &run_id, &self.owner, lease_until)
                .await
            {
                Ok(Some(false)) => {}
                Ok(Some(true)) | Ok(None) => cancel.cancel(),
                Err(err) => {
                    tracing::warn!(run = %run_id, error = %err, "could not renew a run's lease")
                }
            }
        }
    }

    /// Runs a sub-workflow inside the step that calls it, as a child run
    /// owned by this process; returns its output.
    pub(super) async fn run_child(
        &self,
        parent: &RunContext,
        workflow_id: &str,
        input: Value,
    ) -> std::result::Result<Value, Failure> {
        if parent.depth + 1 >= MAX_DEPTH {
            return Err(Failure::Failed(format!(
                "workflows nest deeper than {MAX_DEPTH}"
            )));
        }
        let inline = Inline {
            parent_run_id: Some(parent.run_id.clone()),
            cancel: parent.cancel.child_token(),
            depth: parent.depth + 1,
        };
        let (run_id, outcome) = self
            .run_inline(&parent.tenant, workflow_id, input, inline)
            .await?;
        outcome.map_err(|failure| match failure {
            Failure::Cancelled => Failure::Cancelled,
            Failure::Failed(reason) => {
                Failure::Failed(format!("the sub-run {run_id} failed: {reason}"))
            }
        })
    }

    /// Runs the current version of a workflow in the calling task (not in a
    /// worker slot, so callers that wait for it cannot starve the worker),
    /// as a run owned by this process. Returns the run's id and outcome.
    async fn run_inline(
        &self,
        tenant: &Tenant,
        workflow_id: &str,
        input: Value,
        inline: Inline,
    ) -> std::result::Result<(String, std::result::Result<Value, Failure>), Failure> {
        let workflow = self
            .store
            .get_workflow(tenant, workflow_id)
            .await
            .map_err(|e| Failure::Failed(e.public_message()))?
            .ok_or_else(|| Failure::Failed(format!("the workflow {workflow_id} does not exist")))?;
        super::check_input(workflow.input_schema.as_ref(), &input)
            .map_err(|e| Failure::Failed(e.public_message()))?;
        let now = clock::now_ms();
        let run = Run {
            id: new_id(IdKind::Run),
            workflow_id: workflow.id.clone(),
            workflow_version: workflow.version,
            parent_run_id: inline.parent_run_id,
            status: RunStatus::Running,
            input,
            output: None,
            error: None,
            steps: Vec::new(),
            created_at: now,
            started_at: Some(now),
            finished_at: None,
        };
        let lease_until = now + self.settings.lease.as_millis() as i64;
        self.store
            .insert_run(tenant, &run, Some((&self.owner, lease_until)))
            .await
            .map_err(|e| Failure::Failed(e.public_message()))?;
        let outcome = Box::pin(self.execute_run(tenant, &run, inline.cancel, inline.depth)).await;
        self.finish(tenant, &run.id, outcome.clone()).await;
        Ok((run.id, outcome))
    }

    /// Runs a workflow for an agent's `workflow` tool, in the calling task,
    /// `depth` agents and workflows deep.
    pub(super) async fn run_for_tool(
        &self,
        tenant: &Tenant,
        workflow_id: &str,
        input: Value,
        depth: u32,
    ) -> std::result::Result<Value, String> {
        if depth >= MAX_DEPTH {
            return Err(format!(
                "Agents and workflows call each other more than {MAX_DEPTH} deep; the workflow {workflow_id} was not run."
            ));
        }
        let inline = Inline {
            parent_run_id: None,
            cancel: CancellationToken::new(),
            depth,
        };
        match self.run_inline(tenant, workflow_id, input, inline).await {
            Ok((_, Ok(output))) => Ok(output),
            Ok((run_id, Err(Failure::Cancelled))) => {
                Err(format!("The run {run_id} of {workflow_id} was cancelled."))
            }
            Ok((run_id, Err(Failure::Failed(reason)))) => Err(format!(
                "The run {run_id} of {workflow_id} failed: {reason}"
            )),
            Err(Failure::Failed(reason)) => Err(reason),
            Err(Failure::Cancelled) => Err("The run was cancelled.".into()),
        }
    }
}

/// Where an inline run hangs: its parent run, cancel token and depth.
struct Inline {
    parent_run_id: Option<String>,
    cancel: CancellationToken,
    depth: u32,
}
