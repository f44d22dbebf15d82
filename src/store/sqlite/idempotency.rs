//! SQLite queries for idempotency keys. Claiming is one transaction under
//! SQLite's single writer, so of many concurrent requests with one key
//! exactly one claims it.

use async_trait::async_trait;
use sqlx::Row;

use super::SqliteStore;
use crate::clock;
use crate::error::Result;
use crate::store::shared::{StoredIdempotency, idempotency_state};
use crate::store::{IdempotencyState, IdempotencyStore};

#[async_trait]
impl IdempotencyStore for SqliteStore {
    async fn begin_idempotent(
        &self,
        principal: &str,
        key: &str,
        fingerprint: &[u8],
        expired_before: i64,
        stale_before: i64,
    ) -> Result<IdempotencyState> {
        let now = clock::now_ms();
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let row = sqlx::query(
            "SELECT fingerprint, status, response_status, content_type, response_body, created_at, updated_at
             FROM idempotency_keys WHERE principal = ? AND key = ?",
        )
        .bind(principal)
        .bind(key)
        .fetch_optional(&mut *tx)
        .await?;
        let stored = row
            .map(|row| -> Result<StoredIdempotency> {
                Ok(StoredIdempotency {
                    fingerprint: row.try_get("fingerprint")?,
                    status: row.try_get("status")?,
                    response_status: row.try_get("response_status")?,
                    content_type: row.try_get("content_type")?,
                    response_body: row.try_get("response_body")?,
                    created_at: row.try_get("created_at")?,
                    updated_at: row.try_get("updated_at")?,
                })
            })
            .transpose()?;
        let state = idempotency_state(stored, fingerprint, expired_before, stale_before);
        if let Some(state) = state {
            return Ok(state);
        }
        sqlx::query(
            "INSERT INTO idempotency_keys (principal, key, fingerprint, status, created_at, updated_at)
             VALUES (?, ?, ?, 'in_progress', ?, ?)
             ON CONFLICT (principal, key) DO UPDATE SET fingerprint = excluded.fingerprint, status = 'in_progress',
                 response_status = NULL, content_type = NULL, response_body = NULL,
                 created_at = excluded.created_at, updated_at = excluded.updated_at",
        )
        .bind(principal)
        .bind(key)
        .bind(fingerprint)
        .bind(now)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(IdempotencyState::Claimed)
    }

    async fn complete_idempotent(
        &self,
        principal: &str,
        key: &str,
        status: u16,
        content_type: Option<&str>,
        body: &[u8],
    ) -> Result<()> {
        sqlx::query(
            "UPDATE idempotency_keys SET status = 'done', response_status = ?, content_type = ?, response_body = ?, updated_at = ?
             WHERE principal = ? AND key = ?",
        )
        .bind(i64::from(status))
        .bind(content_type)
        .bind(body)
        .bind(clock::now_ms())
        .bind(principal)
        .bind(key)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn release_idempotent(&self, principal: &str, key: &str) -> Result<()> {
        sqlx::query("DELETE FROM idempotency_keys WHERE principal = ? AND key = ? AND status = 'in_progress'")
            .bind(principal)
            .bind(key)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn prune_idempotent(&self, before: i64) -> Result<u64> {
        let done = sqlx::query("DELETE FROM idempotency_keys WHERE created_at < ?")
            .bind(before)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }
}
