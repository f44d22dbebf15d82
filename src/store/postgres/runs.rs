//! PostgreSQL queries for workflow runs and their steps. Claiming locks the
//! oldest claimable rows with `FOR UPDATE SKIP LOCKED` and leases them in
//! the same statement, so workers on several nodes claim disjoint runs, and
//! a run whose lease expired (its node died) is claimed again.

use async_trait::async_trait;
use serde_json::Value;
use sqlx::Row;
use sqlx::postgres::PgRow;

use super::events::record;
use super::{PostgresStore, RUNS_CHANNEL, corrupt, keyset, mode_from_row, notify, tenant_args};
use crate::access::Tenant;
use crate::clock;
use crate::error::Result;
use crate::store::shared::json_text;
use crate::store::{ClaimedRun, Keyed, PageRequest, RunStore};
use crate::workflows::{Run, RunStatus, StepRun, StepStatus};

const COLUMNS: &str = "position, id, org_id, mode, workflow_id, version, parent_run_id, status, input, output, error, created_at, started_at, finished_at";

#[async_trait]
impl RunStore for PostgresStore {
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
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
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
        } else {
            notify(&mut *tx, RUNS_CHANNEL, &self.schema).await?;
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
            "SELECT {COLUMNS} FROM runs WHERE id = $1 AND org_id = $2 AND mode = $3"
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
        let (tail, bound) = keyset(page, "position", 4);
        let sql = format!(
            "SELECT {COLUMNS} FROM runs WHERE workflow_id = $1 AND org_id = $2 AND mode = $3 AND {tail}"
        );
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
        let mut tx = self.pool.begin().await?;
        let mut wanted = false;
        // Rows another node is claiming right now are skipped, not waited
        // for; the row lock also re-checks the status, so a run cancelled
        // or claimed meanwhile is not taken.
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE runs SET status = 'running', lease_owner = $1, lease_until = $2, claims = claims + 1,
                    started_at = COALESCE(started_at, $3)
             WHERE id IN (SELECT id FROM runs
                          WHERE (status = 'queued' OR (status = 'running' AND lease_until < $4)) AND parent_run_id IS NULL
                          ORDER BY position LIMIT $5
                          FOR UPDATE SKIP LOCKED)
             RETURNING {COLUMNS}, claims"
        )))
        .bind(owner)
        .bind(lease_until)
        .bind(now)
        .bind(now)
        .bind(limit as i64)
        .fetch_all(&mut *tx)
        .await?;
        let mut keyed = Vec::with_capacity(rows.len());
        for row in &rows {
            let tenant = Tenant {
                org_id: row.try_get("org_id")?,
                mode: mode_from_row(row)?,
            };
            let first = row.try_get::<i64, _>("claims")? == 1;
            keyed.push((run_from_row(row)?, tenant, first));
        }
        // Oldest first, as claimed.
        keyed.sort_by_key(|(run, _, _)| run.position);
        let mut claimed = Vec::with_capacity(keyed.len());
        for (run, tenant, first) in keyed {
            if first {
                wanted |= record(&mut *tx, &tenant, "workflow.run.started", &run.item, None)
                    .await?
                    .wanted;
            }
            claimed.push(ClaimedRun {
                tenant,
                run: run.item,
            });
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
            "UPDATE runs SET lease_until = $1
             WHERE id = $2 AND org_id = $3 AND mode = $4 AND lease_owner = $5 AND status = 'running'
             RETURNING cancel_requested",
        )
        .bind(lease_until)
        .bind(id)
        .bind(org_id)
        .bind(mode)
        .bind(owner)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| Ok(row.try_get::<bool, _>("cancel_requested")?))
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
            "UPDATE runs SET status = $1, output = $2, error = $3, finished_at = $4, lease_until = NULL
             WHERE id = $5 AND org_id = $6 AND mode = $7 AND lease_owner = $8 AND status = 'running'
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
                "UPDATE run_steps SET status = 'cancelled', error = 'still running when its run ended', finished_at = $1
                 WHERE run_id = $2 AND status = 'running'",
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
        let mut tx = self.pool.begin().await?;
        let cancelled = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE runs SET status = 'cancelled', finished_at = $1, error = 'cancelled before it started'
             WHERE id = $2 AND org_id = $3 AND mode = $4 AND status = 'queued'
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
            "UPDATE runs SET cancel_requested = TRUE WHERE id = $1 AND org_id = $2 AND mode = $3 RETURNING status",
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
            "UPDATE runs SET status = 'failed', error = 'interrupted: its parent run was resumed', finished_at = $1,
                    lease_until = NULL
             WHERE parent_run_id = $2 AND org_id = $3 AND mode = $4 AND status = 'running'",
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
             WHERE s.run_id = $1 AND r.org_id = $2 AND r.mode = $3 ORDER BY s.seq",
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
            "INSERT INTO run_steps (run_id, path, step_id, type, seq, status, attempts, input, output, error, started_at,
                                    finished_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
             ON CONFLICT (run_id, path) DO UPDATE SET status = EXCLUDED.status, attempts = EXCLUDED.attempts,
                 input = EXCLUDED.input, output = EXCLUDED.output, error = EXCLUDED.error,
                 started_at = EXCLUDED.started_at, finished_at = EXCLUDED.finished_at",
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
async fn steps_in(tx: &mut sqlx::PgConnection, run_id: &str) -> Result<Vec<StepRun>> {
    let rows = sqlx::query("SELECT * FROM run_steps WHERE run_id = $1 ORDER BY seq")
        .bind(run_id)
        .fetch_all(&mut *tx)
        .await?;
    rows.iter().map(step_from_row).collect()
}

fn status_from(text: &str) -> Result<RunStatus> {
    RunStatus::parse(text).ok_or_else(|| corrupt("run status", text))
}

fn json_column(row: &PgRow, name: &str) -> Result<Option<Value>> {
    json_text(row.try_get(name)?)
}

fn run_from_row(row: &PgRow) -> Result<Keyed<Run>> {
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

fn step_from_row(row: &PgRow) -> Result<StepRun> {
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
