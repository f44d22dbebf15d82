//! SQLite queries for workflow runs and their steps. Claiming is one
//! `UPDATE … RETURNING` statement, atomic under SQLite's single writer.

use async_trait::async_trait;
use serde_json::Value;
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use super::events::record;
use super::{SqliteStore, corrupt, keyset, mode_from_row, tenant_args};
use crate::access::Tenant;
use crate::clock;
use crate::error::Result;
use crate::store::shared::json_text;
use crate::store::{ClaimedRun, Keyed, PageRequest, RunStore};
use crate::workflows::{Run, RunStatus, StepRun, StepStatus};

const COLUMNS: &str = "position, id, org_id, mode, workflow_id, version, parent_run_id, status, input, output, error, created_at, started_at, finished_at";

#[async_trait]
impl RunStore for SqliteStore {
    async fn insert_run(
        &self,
        tenant: &Tenant,
        run: &Run,
        lease: Option<(&str, i64)>,
    ) -> Result<()> {
        let (org_id, mode) = tenant_args(tenant);
        let mut tx = self.pool.begin().await?;
        let mut wanted = false;
        sqlx::query(
            "INSERT INTO runs (id, org_id, mode, workflow_id, version, parent_run_id, status, input, lease_owner, lease_until,
                               claims, created_at, started_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&run.id)
        .bind(org_id)
        .bind(mode)
        .bind(&run.workflow_id)
        .bind(run.workflow_version as i64)
        .bind(&run.parent_run_id)
        .bind(run.status.as_str())
        .bind(run.input.to_string())
        .bind(lease.map(|(owner, _)| owner))
        .bind(lease.map(|(_, until)| until))
        .bind(i64::from(lease.is_some()))
        .bind(run.created_at)
        .bind(run.started_at)
        .execute(&mut *tx)
        .await?;
        if lease.is_some() {
            wanted = record(&mut *tx, tenant, "workflow.run.started", run, None)
                .await?
                .wanted;
        }
        tx.commit().await?;
        self.signal_events(wanted);
        if lease.is_none() {
            self.runs_signal.notify_one();
        }
        Ok(())
    }

    async fn get_run(&self, tenant: &Tenant, id: &str) -> Result<Option<Run>> {
        let (org_id, mode) = tenant_args(tenant);
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM runs WHERE id = ? AND org_id = ? AND mode = ?"
        )))
        .bind(id)
        .bind(org_id)
        .bind(mode)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let mut run = run_from_row(&row)?.item;
        run.steps = self.step_runs(tenant, id).await?;
        Ok(Some(run))
    }

    async fn list_runs(
        &self,
        tenant: &Tenant,
        workflow_id: &str,
        page: PageRequest,
    ) -> Result<Vec<Keyed<Run>>> {
        let (org_id, mode) = tenant_args(tenant);
        let (tail, bound) = keyset(page, "position");
        let sql = format!("SELECT position, id, org_id, mode, workflow_id, version, parent_run_id, status, input, output, error, created_at,
                    started_at, finished_at
             FROM runs WHERE workflow_id = ? AND org_id = ? AND mode = ? AND {tail}");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(workflow_id)
            .bind(org_id)
            .bind(mode)
            .bind(bound)
            .bind(page.limit as i64)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(run_from_row).collect()
    }

    async fn claim_runs(
        &self,
        owner: &str,
        lease_until: i64,
        limit: u32,
    ) -> Result<Vec<ClaimedRun>> {
        let now = clock::now_ms();
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE runs SET status = 'running', lease_owner = ?, lease_until = ?, claims = claims + 1,
                    started_at = COALESCE(started_at, ?)
             WHERE id IN (SELECT id FROM runs
                          WHERE (status = 'queued' OR (status = 'running' AND lease_until < ?)) AND parent_run_id IS NULL
                          ORDER BY position LIMIT ?)
             RETURNING {COLUMNS}, claims"
        )))
        .bind(owner)
        .bind(lease_until)
        .bind(now)
        .bind(now)
        .bind(limit as i64)
        .fetch_all(&mut *tx)
        .await?;
        let mut claimed = Vec::with_capacity(rows.len());
        let mut wanted = false;
        for row in &rows {
            let tenant = Tenant {
                org_id: row.try_get("org_id")?,
                mode: mode_from_row(row)?,
            };
            let run = run_from_row(row)?.item;
            if row.try_get::<i64, _>("claims")? == 1 {
                wanted |= record(&mut *tx, &tenant, "workflow.run.started", &run, None)
                    .await?
                    .wanted;
            }
            claimed.push(ClaimedRun { tenant, run });
        }
        tx.commit().await?;
        self.signal_events(wanted);
        Ok(claimed)
    }

    async fn renew_run(
        &self,
        tenant: &Tenant,
        id: &str,
        owner: &str,
        lease_until: i64,
    ) -> Result<Option<bool>> {
        let (org_id, mode) = tenant_args(tenant);
        let row = sqlx::query(
            "UPDATE runs SET lease_until = ? WHERE id = ? AND org_id = ? AND mode = ? AND lease_owner = ? AND status = 'running'
             RETURNING cancel_requested",
        )
        .bind(lease_until)
        .bind(id)
        .bind(org_id)
        .bind(mode)
        .bind(owner)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| Ok(row.try_get::<i64, _>("cancel_requested")? != 0))
            .transpose()
    }

    async fn finish_run(
        &self,
        tenant: &Tenant,
        id: &str,
        owner: &str,
        status: RunStatus,
        output: Option<&Value>,
        error: Option<&str>,
    ) -> Result<()> {
        let (org_id, mode) = tenant_args(tenant);
        let mut tx = self.pool.begin().await?;
        let mut wanted = false;
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE runs SET status = ?, output = ?, error = ?, finished_at = ?, lease_until = NULL
             WHERE id = ? AND org_id = ? AND mode = ? AND lease_owner = ? AND status = 'running'
             RETURNING {COLUMNS}"
        )))
        .bind(status.as_str())
        .bind(output.map(Value::to_string))
        .bind(error)
        .bind(clock::now_ms())
        .bind(id)
        .bind(org_id)
        .bind(mode)
        .bind(owner)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(row) = row {
            // Steps a stopped container or a timeout left behind end with the run.
            sqlx::query(
                "UPDATE run_steps SET status = 'cancelled', error = 'still running when its run ended', finished_at = ?
                 WHERE run_id = ? AND status = 'running'",
            )
            .bind(clock::now_ms())
            .bind(id)
            .execute(&mut *tx)
            .await?;
            let mut run = run_from_row(&row)?.item;
            run.steps = steps_in(&mut tx, id).await?;
            wanted = record(
                &mut *tx,
                tenant,
                &format!("workflow.run.{}", status.as_str()),
                &run,
                None,
            )
            .await?
            .wanted;
        }
        tx.commit().await?;
        self.signal_events(wanted);
        Ok(())
    }

    async fn request_run_cancel(&self, tenant: &Tenant, id: &str) -> Result<Option<RunStatus>> {
        let (org_id, mode) = tenant_args(tenant);
        let now = clock::now_ms();
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let cancelled = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE runs SET status = 'cancelled', finished_at = ?, error = 'cancelled before it started'
             WHERE id = ? AND org_id = ? AND mode = ? AND status = 'queued'
             RETURNING {COLUMNS}"
        )))
        .bind(now)
        .bind(id)
        .bind(org_id)
        .bind(mode)
        .fetch_optional(&mut *tx)
        .await?;
        let mut wanted = false;
        if let Some(row) = &cancelled {
            wanted = record(
                &mut *tx,
                tenant,
                "workflow.run.cancelled",
                &run_from_row(row)?.item,
                None,
            )
            .await?
            .wanted;
        }
        let row = sqlx::query(
            "UPDATE runs SET cancel_requested = 1 WHERE id = ? AND org_id = ? AND mode = ? RETURNING status",
        )
        .bind(id)
        .bind(org_id)
        .bind(mode)
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        self.signal_events(wanted);
        row.map(|row| status_from(&row.try_get::<String, _>("status")?))
            .transpose()
    }

    async fn abandon_children(&self, tenant: &Tenant, parent_id: &str) -> Result<u64> {
        let (org_id, mode) = tenant_args(tenant);
        let done = sqlx::query(
            "UPDATE runs SET status = 'failed', error = 'interrupted: its parent run was resumed', finished_at = ?,
                    lease_until = NULL
             WHERE parent_run_id = ? AND org_id = ? AND mode = ? AND status = 'running'",
        )
        .bind(clock::now_ms())
        .bind(parent_id)
        .bind(org_id)
        .bind(mode)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    async fn step_runs(&self, tenant: &Tenant, run_id: &str) -> Result<Vec<StepRun>> {
        let (org_id, mode) = tenant_args(tenant);
        let rows = sqlx::query(
            "SELECT s.* FROM run_steps s JOIN runs r ON r.id = s.run_id
             WHERE s.run_id = ? AND r.org_id = ? AND r.mode = ? ORDER BY s.seq",
        )
        .bind(run_id)
        .bind(org_id)
        .bind(mode)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(step_from_row).collect()
    }

    async fn upsert_step(&self, _tenant: &Tenant, run_id: &str, step: &StepRun) -> Result<()> {
        sqlx::query(
            "INSERT INTO run_steps (run_id, path, step_id, type, seq, status, attempts, input, output, error, started_at, finished_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (run_id, path) DO UPDATE SET status = excluded.status, attempts = excluded.attempts,
                 input = excluded.input, output = excluded.output, error = excluded.error,
                 started_at = excluded.started_at, finished_at = excluded.finished_at",
        )
        .bind(run_id)
        .bind(&step.path)
        .bind(&step.id)
        .bind(&step.kind)
        .bind(step.seq)
        .bind(step.status.as_str())
        .bind(step.attempts as i64)
        .bind(step.input.as_ref().map(Value::to_string))
        .bind(step.output.as_ref().map(Value::to_string))
        .bind(&step.error)
        .bind(step.started_at)
        .bind(step.finished_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    fn run_signal(&self) -> std::sync::Arc<tokio::sync::Notify> {
        self.runs_signal.clone()
    }
}

/// A run's steps, inside a transaction.
async fn steps_in(tx: &mut sqlx::SqliteConnection, run_id: &str) -> Result<Vec<StepRun>> {
    let rows = sqlx::query("SELECT * FROM run_steps WHERE run_id = ? ORDER BY seq")
        .bind(run_id)
        .fetch_all(&mut *tx)
        .await?;
    rows.iter().map(step_from_row).collect()
}

fn status_from(text: &str) -> Result<RunStatus> {
    RunStatus::parse(text).ok_or_else(|| corrupt("run status", text))
}

fn json_column(row: &SqliteRow, name: &str) -> Result<Option<Value>> {
    json_text(row.try_get(name)?)
}

fn run_from_row(row: &SqliteRow) -> Result<Keyed<Run>> {
    Ok(Keyed {
        position: row.try_get("position")?,
        item: Run {
            id: row.try_get("id")?,
            workflow_id: row.try_get("workflow_id")?,
            workflow_version: row.try_get::<i64, _>("version")? as u32,
            parent_run_id: row.try_get("parent_run_id")?,
            status: status_from(&row.try_get::<String, _>("status")?)?,
            input: json_column(row, "input")?.unwrap_or(Value::Null),
            output: json_column(row, "output")?,
            error: row.try_get("error")?,
            steps: Vec::new(),
            created_at: row.try_get("created_at")?,
            started_at: row.try_get("started_at")?,
            finished_at: row.try_get("finished_at")?,
        },
    })
}

fn step_from_row(row: &SqliteRow) -> Result<StepRun> {
    let status: String = row.try_get("status")?;
    Ok(StepRun {
        path: row.try_get("path")?,
        id: row.try_get("step_id")?,
        kind: row.try_get("type")?,
        status: StepStatus::parse(&status).ok_or_else(|| corrupt("step status", &status))?,
        attempts: row.try_get::<i64, _>("attempts")? as u32,
        input: json_column(row, "input")?,
        output: json_column(row, "output")?,
        error: row.try_get("error")?,
        started_at: row.try_get("started_at")?,
        finished_at: row.try_get("finished_at")?,
        seq: row.try_get("seq")?,
    })
}
