//! PostgreSQL queries for idempotency keys. A key is claimed by inserting
//! its row (the primary key makes one concurrent insert win, on any node);
//! a stored key is judged under a row lock (`FOR UPDATE`), so of several
//! requests taking over an expired or abandoned key exactly one does.

use async_trait::async_trait;
use sqlx::Row;

use super::PostgresStore;
use crate::clock;
use crate::error::{Error, Result};
use crate::store::shared::{StoredIdempotency, idempotency_state};
use crate::store::{IdempotencyState, IdempotencyStore};

/// Rounds of insert-then-read before giving up (a row deleted between the
/// two needs another round; more than a few means something is wrong).
const ROUNDS: usize = 5;

#[async_trait]
impl IdempotencyStore for PostgresStore {
    async fn begin_idempotent(
        &self,
        principal: &str,
        key: &str,
        fingerprint: &[u8],
        expired_before: i64,
        stale_before: i64,
    ) -> Result<IdempotencyState> {
        for _ in 0..ROUNDS {
            let now = clock::now_ms();
            let mut tx = self.pool.begin().await?;
            let inserted = sqlx::query(
                "INSERT INTO idempotency_keys (principal, key, fingerprint, status, created_at, updated_at)
                 VALUES ($1, $2, $3, 'in_progress', $4, $5)
                 ON CONFLICT (principal, key) DO NOTHING",
            )
            .bind(principal)
            .bind(key)
            .bind(fingerprint)
            .bind(now)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            if inserted.rows_affected() == 1 {
                tx.commit().await?;
                return Ok(IdempotencyState::Claimed);
            }
            let row = sqlx::query(
                "SELECT fingerprint, status, response_status, content_type, response_body, created_at, updated_at
                 FROM idempotency_keys WHERE principal = $1 AND key = $2 FOR UPDATE",
            )
            .bind(principal)
            .bind(key)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(row) = row else {
                // Released meanwhile: try to insert again.
                continue;
            };
            let stored = StoredIdempotency {
                fingerprint: row.try_get("fingerprint")?,
                status: row.try_get("status")?,
                response_status: row.try_get("response_status")?,
                content_type: row.try_get("content_type")?,
                response_body: row.try_get("response_body")?,
                created_at: row.try_get("created_at")?,
                updated_at: row.try_get("updated_at")?,
            };
            if let Some(state) =
                idempotency_state(Some(stored), fingerprint, expired_before, stale_before)
            {
                return Ok(state);
            }
            sqlx::query(
                "UPDATE idempotency_keys SET fingerprint = $1, status = 'in_progress', response_status = NULL,
                        content_type = NULL, response_body = NULL, created_at = $2, updated_at = $3
                 WHERE principal = $4 AND key = $5",
            )
            .bind(fingerprint)
            .bind(now)
            .bind(now)
            .bind(principal)
            .bind(key)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            return Ok(IdempotencyState::Claimed);
        }
        Err(Error::Internal(anyhow::anyhow!(
            "idempotency key kept changing while it was being claimed"
        )))
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
            "UPDATE idempotency_keys SET status = 'done', response_status = $1, content_type = $2, response_body = $3,
                    updated_at = $4
             WHERE principal = $5 AND key = $6",
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
        sqlx::query(
            "DELETE FROM idempotency_keys WHERE principal = $1 AND key = $2 AND status = 'in_progress'",
        )
        .bind(principal)
        .bind(key)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn prune_idempotent(&self, before: i64) -> Result<u64> {
        let done = sqlx::query("DELETE FROM idempotency_keys WHERE created_at < $1")
            .bind(before)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }
}
