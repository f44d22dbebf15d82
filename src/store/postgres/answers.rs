//! PostgreSQL queries for answers (the per-conversation lock with a lease)
//! and their stream event logs. The lock is the partial unique index
//! `answers_one_running`: of concurrent starts on one conversation, on any
//! number of nodes, exactly one inserts its running answer.

use async_trait::async_trait;
use sqlx::Row;
use sqlx::postgres::PgRow;

use super::messages::insert_message;
use super::{PostgresStore, corrupt, tenant_args};
use crate::access::Tenant;
use crate::clock;
use crate::conversations::Message;
use crate::error::Result;
use crate::store::{AnswerRecord, AnswerStatus, AnswerStore, StoredEvent};

const COLUMNS: &str = "id, agent_id, conversation_id, status, cancel_requested, created_at";

#[async_trait]
impl AnswerStore for PostgresStore {
    async fn begin_answer(
        &self,
        tenant: &Tenant,
        id: &str,
        lease_until: i64,
        user_message: &Message,
    ) -> Result<bool> {
        let (org_id, mode) = tenant_args(tenant);
        let (agent_id, conversation_id) = (&user_message.agent_id, &user_message.conversation_id);
        let now = clock::now_ms();
        let mut tx = self.pool.begin().await?;
        // A concurrent start waits here on the unique index until the
        // other commits (then inserts nothing) or rolls back.
        let insert = || {
            sqlx::query(
                "INSERT INTO answers (id, org_id, mode, agent_id, conversation_id, status, lease_until, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, 'running', $6, $7, $8)
                 ON CONFLICT DO NOTHING",
            )
            .bind(id)
            .bind(org_id)
            .bind(mode)
            .bind(agent_id)
            .bind(conversation_id)
            .bind(lease_until)
            .bind(now)
            .bind(now)
        };
        let mut inserted = insert().execute(&mut *tx).await?.rows_affected() == 1;
        if !inserted {
            // The conversation is answering, unless that answer's process
            // died: its lease ran out, so it failed, and this one can start.
            let expired = sqlx::query(
                "UPDATE answers SET status = 'failed', updated_at = $1
                 WHERE agent_id = $2 AND conversation_id = $3 AND status = 'running' AND lease_until < $4",
            )
            .bind(now)
            .bind(agent_id)
            .bind(conversation_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            if expired.rows_affected() > 0 {
                inserted = insert().execute(&mut *tx).await?.rows_affected() == 1;
            }
        }
        if !inserted {
            return Ok(false);
        }
        let wanted = insert_message(&mut tx, tenant, user_message).await?;
        tx.commit().await?;
        self.signal_events(wanted);
        Ok(true)
    }

    async fn renew_answer(&self, tenant: &Tenant, id: &str, lease_until: i64) -> Result<bool> {
        let (org_id, mode) = tenant_args(tenant);
        let row = sqlx::query(
            "UPDATE answers SET lease_until = $1, updated_at = $2
             WHERE id = $3 AND org_id = $4 AND mode = $5 AND status = 'running'
             RETURNING cancel_requested",
        )
        .bind(lease_until)
        .bind(clock::now_ms())
        .bind(id)
        .bind(org_id)
        .bind(mode)
        .fetch_optional(&self.pool)
        .await?;
        Ok(match row {
            Some(row) => row.try_get::<bool, _>("cancel_requested")?,
            None => false,
        })
    }

    async fn finish_answer(
        &self,
        tenant: &Tenant,
        id: &str,
        status: AnswerStatus,
        message: Option<&Message>,
        last_event: Option<&StoredEvent>,
    ) -> Result<()> {
        let (org_id, mode) = tenant_args(tenant);
        let mut tx = self.pool.begin().await?;
        let mut wanted = false;
        if let Some(message) = message {
            wanted = insert_message(&mut tx, tenant, message).await?;
        }
        if let Some(event) = last_event {
            insert_event(&mut *tx, id, event).await?;
        }
        sqlx::query(
            "UPDATE answers SET status = $1, updated_at = $2 WHERE id = $3 AND org_id = $4 AND mode = $5",
        )
        .bind(status.as_str())
        .bind(clock::now_ms())
        .bind(id)
        .bind(org_id)
        .bind(mode)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.signal_events(wanted);
        Ok(())
    }

    async fn running_answer(
        &self,
        tenant: &Tenant,
        agent_id: &str,
        conversation_id: &str,
    ) -> Result<Option<AnswerRecord>> {
        let (org_id, mode) = tenant_args(tenant);
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM answers
             WHERE agent_id = $1 AND conversation_id = $2 AND org_id = $3 AND mode = $4 AND status = 'running'"
        )))
        .bind(agent_id)
        .bind(conversation_id)
        .bind(org_id)
        .bind(mode)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| answer_from_row(&row)).transpose()
    }

    async fn request_cancel(&self, tenant: &Tenant, id: &str) -> Result<()> {
        let (org_id, mode) = tenant_args(tenant);
        sqlx::query(
            "UPDATE answers SET cancel_requested = TRUE WHERE id = $1 AND org_id = $2 AND mode = $3",
        )
        .bind(id)
        .bind(org_id)
        .bind(mode)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn get_answer(
        &self,
        tenant: &Tenant,
        agent_id: &str,
        id: &str,
    ) -> Result<Option<AnswerRecord>> {
        let (org_id, mode) = tenant_args(tenant);
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM answers WHERE id = $1 AND agent_id = $2 AND org_id = $3 AND mode = $4"
        )))
        .bind(id)
        .bind(agent_id)
        .bind(org_id)
        .bind(mode)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| answer_from_row(&row)).transpose()
    }

    async fn append_event(&self, answer_id: &str, event: &StoredEvent) -> Result<()> {
        insert_event(&self.pool, answer_id, event).await
    }

    async fn events_after(
        &self,
        tenant: &Tenant,
        answer_id: &str,
        after: i64,
        limit: u32,
    ) -> Result<Vec<StoredEvent>> {
        let (org_id, mode) = tenant_args(tenant);
        let rows = sqlx::query(
            "SELECT e.seq, e.event, e.data FROM answer_events e JOIN answers a ON a.id = e.answer_id
             WHERE e.answer_id = $1 AND a.org_id = $2 AND a.mode = $3 AND e.seq > $4
             ORDER BY e.seq LIMIT $5",
        )
        .bind(answer_id)
        .bind(org_id)
        .bind(mode)
        .bind(after)
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(StoredEvent {
                    seq: row.try_get("seq")?,
                    event: row.try_get("event")?,
                    data: row.try_get("data")?,
                })
            })
            .collect()
    }

    async fn prune_answers(&self, before: i64) -> Result<u64> {
        let done = sqlx::query("DELETE FROM answers WHERE created_at < $1 AND status <> 'running'")
            .bind(before)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }
}

async fn insert_event<'e, E: sqlx::PgExecutor<'e>>(
    executor: E,
    answer_id: &str,
    event: &StoredEvent,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO answer_events (answer_id, seq, event, data, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(answer_id)
    .bind(event.seq)
    .bind(&event.event)
    .bind(&event.data)
    .bind(clock::now_ms())
    .execute(executor)
    .await?;
    Ok(())
}

fn answer_from_row(row: &PgRow) -> Result<AnswerRecord> {
    let status: String = row.try_get("status")?;
    Ok(AnswerRecord {
        id: row.try_get("id")?,
        agent_id: row.try_get("agent_id")?,
        conversation_id: row.try_get("conversation_id")?,
        status: AnswerStatus::parse(&status).ok_or_else(|| corrupt("answer status", &status))?,
        cancel_requested: row.try_get("cancel_requested")?,
        created_at: row.try_get("created_at")?,
    })
}
