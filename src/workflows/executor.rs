//! Executing a run's steps. Each step execution is recorded as it starts
//! and ends (`run_steps`, keyed by its path), so a run claimed again after
//! a crash skips every step already recorded as done and runs the one that
//! was in flight again (at-least-once). Values flow through a scope:
//! `input`, the outputs of the steps so far, and `item` inside `map`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use futures_util::future::{BoxFuture, join_all};
use futures_util::stream::{self, StreamExt, TryStreamExt};
use serde_json::{Map, Value, json};
use tokio_util::sync::CancellationToken;

use super::definition::{Definition, Kind, OnError, Step};
use super::types::{StepRun, StepStatus};
use super::worker::Workflows;
use crate::access::Tenant;
use crate::clock;
use crate::conversations::{OnBusy, SendMessage};
use crate::ids;
use crate::net::http_client::error_reason;

/// Most bytes of an `http` step's response body kept as its output.
const MAX_BODY_BYTES: usize = 256 * 1024;
/// Deepest nesting of `workflow` steps.
pub const MAX_DEPTH: u32 = 8;
/// How long a cancelled step's nested work may take to record its end.
const CANCEL_GRACE: Duration = Duration::from_secs(5);

/// Why a run (or a step) did not succeed.
#[derive(Debug, Clone)]
pub enum Failure {
    Cancelled,
    Failed(String),
}

/// Everything one run's execution shares.
pub struct RunContext {
    pub tenant: Tenant,
    pub run_id: String,
    pub input: Value,
    pub cancel: CancellationToken,
    pub depth: u32,
    /// Steps recorded by earlier executions of this run, by path.
    recorded: HashMap<String, StepRun>,
    seq: AtomicI64,
}

impl RunContext {
    /// A context for a run whose earlier step records are `recorded`.
    pub fn new(
        tenant: Tenant,
        run_id: String,
        input: Value,
        cancel: CancellationToken,
        depth: u32,
        recorded: Vec<StepRun>,
    ) -> Self {
        let seq = recorded.iter().map(|s| s.seq).max().unwrap_or(0);
        RunContext {
            tenant,
            run_id,
            input,
            cancel,
            depth,
            recorded: recorded.into_iter().map(|s| (s.path.clone(), s)).collect(),
            seq: AtomicI64::new(seq),
        }
    }
}

/// The values templates see.
#[derive(Clone)]
struct Scope {
    outputs: Map<String, Value>,
    item: Option<Value>,
}

impl Scope {
    fn context(&self, input: &Value) -> Value {
        let steps: Map<String, Value> = self
            .outputs
            .iter()
            .map(|(id, output)| (id.clone(), json!({"output": output})))
            .collect();
        let mut context = json!({"input": input, "steps": steps});
        if let Some(item) = &self.item {
            context["item"] = item.clone();
        }
        context
    }
}

impl Workflows {
    /// Runs a definition's steps, then renders its output.
    pub(super) async fn execute(
        &self,
        run: &RunContext,
        definition: &Definition,
    ) -> Result<Value, Failure> {
        let mut scope = Scope {
            outputs: Map::new(),
            item: None,
        };
        let last = self
            .sequence(run, &definition.steps, "", &mut scope)
            .await?;
        match &definition.output {
            None => Ok(last),
            Some(template) => self
                .templates
                .render(template, &scope.context(&run.input))
                .map_err(|reason| {
                    Failure::Failed(format!("the output could not be rendered: {reason}"))
                }),
        }
    }

    /// Runs steps in order; returns the last output (`null` for none).
    fn sequence<'a>(
        &'a self,
        run: &'a RunContext,
        steps: &'a [Step],
        prefix: &'a str,
        scope: &'a mut Scope,
    ) -> BoxFuture<'a, Result<Value, Failure>> {
        Box::pin(async move {
            let mut last = Value::Null;
            for step in steps {
                let path = format!("{prefix}{}", step.id);
                last = self.step(run, step, &path, scope).await?;
                scope.outputs.insert(step.id.clone(), last.clone());
            }
            Ok(last)
        })
    }

    /// Runs one step with its `when`, retries, timeout and `on_error`,
    /// recording each attempt.
    async fn step(
        &self,
        run: &RunContext,
        step: &Step,
        path: &str,
        scope: &mut Scope,
    ) -> Result<Value, Failure> {
        let previous = run.recorded.get(path);
        if let Some(done) = previous {
            let finished = matches!(done.status, StepStatus::Succeeded | StepStatus::Skipped)
                || (done.status == StepStatus::Failed && step.on_error == OnError::Continue);
            if finished {
                return Ok(done.output.clone().unwrap_or(Value::Null));
            }
        }
        let mut record = StepRun {
            path: path.to_string(),
            id: step.id.clone(),
            kind: step.kind.name().to_string(),
            status: StepStatus::Running,
            attempts: previous.map_or(0, |p| p.attempts),
            input: None,
            output: None,
            error: None,
            started_at: clock::now_ms(),
            finished_at: None,
            seq: previous.map_or_else(|| run.seq.fetch_add(1, Ordering::SeqCst) + 1, |p| p.seq),
        };
        let context = scope.context(&run.input);
        if let Some(when) = &step.when {
            match self.templates.truthy(when, &context) {
                Ok(true) => {}
                Ok(false) => {
                    record.status = StepStatus::Skipped;
                    record.finished_at = Some(clock::now_ms());
                    self.record(run, &record).await;
                    return Ok(Value::Null);
                }
                Err(reason) => {
                    return self
                        .fail(
                            run,
                            step,
                            record,
                            format!("'when' could not be evaluated: {reason}"),
                        )
                        .await;
                }
            }
        }
        let mut attempt = 0;
        loop {
            attempt += 1;
            record.attempts += 1;
            record.status = StepStatus::Running;
            record.error = None;
            self.record(run, &record).await;
            let outcome = {
                let work = bounded(
                    step.timeout,
                    self.kind(run, step, path, scope, &context, &mut record.input),
                );
                tokio::pin!(work);
                tokio::select! {
                    outcome = &mut work => outcome,
                    _ = run.cancel.cancelled() => {
                        // Nested steps and sub-runs see the same cancel: give
                        // them a moment to record it before this step stops.
                        if step.kind.has_nested_work() {
                            let _ = tokio::time::timeout(CANCEL_GRACE, &mut work).await;
                        }
                        Err(Failure::Cancelled)
                    }
                }
            };
            match outcome {
                Ok(output) => {
                    record.status = StepStatus::Succeeded;
                    record.output = Some(output.clone());
                    record.finished_at = Some(clock::now_ms());
                    self.record(run, &record).await;
                    return Ok(output);
                }
                Err(Failure::Cancelled) => {
                    record.status = StepStatus::Cancelled;
                    record.error = Some("the run was cancelled".into());
                    record.finished_at = Some(clock::now_ms());
                    self.record(run, &record).await;
                    return Err(Failure::Cancelled);
                }
                Err(Failure::Failed(reason)) if attempt < step.retry.max_attempts => {
                    record.error = Some(reason);
                    self.record(run, &record).await;
                    let backoff = jittered(
                        step.retry
                            .backoff
                            .saturating_mul(2u32.saturating_pow(attempt - 1)),
                    );
                    tokio::select! {
                        _ = run.cancel.cancelled() => return Err(Failure::Cancelled),
                        _ = tokio::time::sleep(backoff) => {}
                    }
                }
                Err(Failure::Failed(reason)) => return self.fail(run, step, record, reason).await,
            }
        }
    }

    async fn fail(
        &self,
        run: &RunContext,
        step: &Step,
        mut record: StepRun,
        reason: String,
    ) -> Result<Value, Failure> {
        record.status = StepStatus::Failed;
        record.error = Some(reason.clone());
        record.finished_at = Some(clock::now_ms());
        self.record(run, &record).await;
        match step.on_error {
            OnError::Continue => Ok(Value::Null),
            OnError::Fail => Err(Failure::Failed(format!(
                "step '{}' failed: {reason}",
                record.path
            ))),
        }
    }

    async fn record(&self, run: &RunContext, step: &StepRun) {
        if let Err(err) = self.store.upsert_step(&run.tenant, &run.run_id, step).await {
            tracing::error!(run = %run.run_id, step = %step.path, error = %err, "could not record a step");
        }
    }

    fn render(&self, value: &Value, context: &Value) -> Result<Value, Failure> {
        self.templates
            .render(value, context)
            .map_err(Failure::Failed)
    }

    /// What the step's type does; `input` receives the rendered parameters.
    async fn kind(
        &self,
        run: &RunContext,
        step: &Step,
        path: &str,
        scope: &mut Scope,
        context: &Value,
        input: &mut Option<Value>,
    ) -> Result<Value, Failure> {
        match &step.kind {
            Kind::Transform { value } => self.render(value, context),
            Kind::Wait { seconds } => {
                let rendered = self.render(seconds, context)?;
                *input = Some(json!({"seconds": rendered}));
                let seconds = rendered
                    .as_f64()
                    .filter(|s| (0.0..=super::definition::MAX_WAIT_SECONDS).contains(s))
                    .ok_or_else(|| {
                        Failure::Failed(format!(
                            "'seconds' must be a number from 0 to 86400, got {rendered}"
                        ))
                    })?;
                tokio::time::sleep(Duration::from_secs_f64(seconds)).await;
                Ok(Value::Null)
            }
            Kind::Http {
                method,
                url,
                headers,
                body,
            } => {
                let url = self.render(url, context)?;
                let headers = self.render(&Value::Object(headers.clone()), context)?;
                let body = body.as_ref().map(|b| self.render(b, context)).transpose()?;
                *input =
                    Some(json!({"method": method, "url": url, "headers": headers, "body": body}));
                self.http(
                    method,
                    url.as_str().unwrap_or_default(),
                    &headers,
                    body.as_ref(),
                )
                .await
            }
            Kind::Agent {
                agent_id,
                message,
                conversation_id,
            } => {
                let message = self.render(message, context)?;
                let message = match message {
                    Value::String(text) => text,
                    other => other.to_string(),
                };
                let conversation = match conversation_id {
                    Some(template) => match self.render(template, context)? {
                        Value::String(text) => text,
                        other => other.to_string(),
                    },
                    None => format!("{}/{path}", run.run_id),
                };
                *input = Some(
                    json!({"agent_id": agent_id, "message": message, "conversation_id": conversation}),
                );
                self.agent(run, agent_id, message, conversation).await
            }
            Kind::Workflow {
                workflow_id,
                input: template,
            } => {
                let child_input = self.render(template, context)?;
                *input = Some(json!({"workflow_id": workflow_id, "input": child_input}));
                Box::pin(self.run_child(run, workflow_id, child_input)).await
            }
            Kind::Branch {
                condition,
                then,
                otherwise,
            } => {
                let taken = self
                    .templates
                    .truthy(condition, context)
                    .map_err(Failure::Failed)?;
                *input = Some(json!({"if": taken}));
                let (steps, side) = if taken {
                    (then, "then")
                } else {
                    (otherwise, "else")
                };
                self.sequence(run, steps, &format!("{path}/{side}/"), scope)
                    .await
            }
            Kind::Parallel { branches } => {
                let lanes = branches.iter().enumerate().map(|(i, steps)| {
                    let mut lane = scope.clone();
                    async move {
                        let output = self
                            .sequence(run, steps, &format!("{path}/{i}/"), &mut lane)
                            .await;
                        output.map(|o| (o, lane.outputs))
                    }
                });
                let mut outputs = Vec::with_capacity(branches.len());
                for result in join_all(lanes).await {
                    let (output, lane_outputs) = result?;
                    outputs.push(output);
                    scope.outputs.extend(lane_outputs);
                }
                Ok(Value::Array(outputs))
            }
            Kind::Map {
                items,
                concurrency,
                steps,
            } => {
                let items = match self.render(items, context)? {
                    Value::Array(items) => items,
                    other => {
                        return Err(Failure::Failed(format!(
                            "'items' must render to a list, got {other}"
                        )));
                    }
                };
                *input = Some(json!({"items": items.len()}));
                let base = scope.clone();
                let outputs: Vec<Value> = stream::iter(items.into_iter().enumerate())
                    .map(|(i, item)| {
                        let mut lane = Scope {
                            item: Some(item),
                            ..base.clone()
                        };
                        async move {
                            self.sequence(run, steps, &format!("{path}/{i}/"), &mut lane)
                                .await
                        }
                    })
                    .buffered(*concurrency)
                    .try_collect()
                    .await?;
                Ok(Value::Array(outputs))
            }
        }
    }

    async fn http(
        &self,
        method: &str,
        url: &str,
        headers: &Value,
        body: Option<&Value>,
    ) -> Result<Value, Failure> {
        self.guard.check_url(url).map_err(Failure::Failed)?;
        let method: reqwest::Method = method.parse().unwrap_or(reqwest::Method::GET);
        let mut request = self.http.request(method, url);
        for (name, value) in headers.as_object().into_iter().flatten() {
            request = request.header(name.as_str(), value.as_str().unwrap_or_default());
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(|err| {
            Failure::Failed(format!("the HTTP call failed: {}", error_reason(&err)))
        })?;
        let status = response.status();
        let response_headers: Map<String, Value> = response
            .headers()
            .iter()
            .map(|(name, value)| {
                (
                    name.to_string(),
                    Value::String(value.to_str().unwrap_or_default().to_string()),
                )
            })
            .collect();
        let bytes = response.bytes().await.map_err(|err| {
            Failure::Failed(format!(
                "reading the HTTP response failed: {}",
                error_reason(&err)
            ))
        })?;
        let bytes = &bytes[..bytes.len().min(MAX_BODY_BYTES)];
        let body = serde_json::from_slice::<Value>(bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(bytes).into_owned()));
        if status.is_client_error() || status.is_server_error() {
            let snippet: String = body.to_string().chars().take(200).collect();
            return Err(Failure::Failed(format!(
                "the server answered HTTP {}: {snippet}",
                status.as_u16()
            )));
        }
        Ok(json!({"status": status.as_u16(), "headers": response_headers, "body": body}))
    }

    async fn agent(
        &self,
        run: &RunContext,
        agent_id: &str,
        message: String,
        conversation_id: String,
    ) -> Result<Value, Failure> {
        let conversations = self.conversations.get().ok_or_else(|| {
            Failure::Failed("agents are not available to workflows in this process".into())
        })?;
        let request = SendMessage {
            content: Some(message),
            conversation_id: Some(conversation_id),
            stream: None,
            on_busy: Some(OnBusy::Enqueue),
            metadata: None,
        };
        let (started, _) = conversations
            .send_nested(&run.tenant, agent_id, request, run.depth + 1)
            .await
            .map_err(|err| {
                Failure::Failed(format!(
                    "the agent could not answer: {}",
                    err.public_message()
                ))
            })?;
        // Dropped before the answer ends (the run was cancelled or the
        // step timed out): the answer is stopped too.
        let mut stop = StopUnlessDone {
            conversations,
            answer_id: &started.answer_id,
            finished: false,
        };
        let reply = started.done.await;
        stop.finished = true;
        let reply = reply
            .map_err(|err| Failure::Failed(format!("the agent's answer stopped: {err}")))?
            .map_err(|err| {
                Failure::Failed(format!(
                    "the agent could not answer: {}",
                    err.public_message()
                ))
            })?;
        Ok(Value::String(reply.content))
    }
}

/// Stops an agent step's answer when the step stops waiting for it.
struct StopUnlessDone<'a> {
    conversations: &'a crate::conversations::Conversations,
    answer_id: &'a str,
    finished: bool,
}

impl Drop for StopUnlessDone<'_> {
    fn drop(&mut self) {
        if !self.finished {
            self.conversations.stop(self.answer_id);
        }
    }
}

/// Runs `work`, failing it after `timeout` when one is set.
async fn bounded<F: std::future::Future<Output = Result<Value, Failure>>>(
    timeout: Option<Duration>,
    work: F,
) -> Result<Value, Failure> {
    match timeout {
        None => work.await,
        Some(limit) => tokio::time::timeout(limit, work).await.unwrap_or_else(|_| {
            Err(Failure::Failed(format!(
                "the step timed out after {} s",
                limit.as_secs_f64()
            )))
        }),
    }
}

/// `delay` ±20 %.
fn jittered(delay: Duration) -> Duration {
    let fraction = 0.8 + 0.4 * f64::from(ids::random_bytes::<1>()[0]) / 255.0;
    delay.mul_f64(fraction)
}
