//! PostgreSQL queries for OAuth clients and their access tokens (which live in
//! `api_keys` with a `client_id`).

use async_trait::async_trait;
use sqlx::Row;
use sqlx::postgres::PgRow;

use super::{PostgresStore, keyset, mode_from_row};
use crate::access::Tenant;
use crate::error::Result;
use crate::store::shared::tenant_args;
use crate::store::{Keyed, OAuthClientRecord, OAuthStore, PageRequest};

const CLIENT_COLUMNS: &str =
    "position, id, org_id, mode, name, secret_hash, scopes, created_at, metadata";

#[async_trait]
impl OAuthStore for PostgresStore {
    async fn insert_oauth_client(&self, record: &OAuthClientRecord) -> Result<()> {
        sqlx::query(
            "INSERT INTO oauth_clients (id, org_id, mode, name, secret_hash, scopes, created_at, metadata)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&record.id)
        .bind(&record.org_id)
        .bind(record.mode.as_str())
        .bind(&record.name)
        .bind(&record.secret_hash)
        .bind(serde_json::to_string(&record.scopes)?)
        .bind(record.created_at)
        .bind(serde_json::to_string(&record.metadata)?)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn find_oauth_client(&self, id: &str) -> Result<Option<OAuthClientRecord>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {CLIENT_COLUMNS} FROM oauth_clients WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| client_from_row(&row)).transpose()
    }

    async fn list_oauth_clients(
        &self,
        tenant: &Tenant,
        page: PageRequest,
    ) -> Result<Vec<Keyed<OAuthClientRecord>>> {
        let (org_id, mode) = tenant_args(tenant);
        let (tail, bound) = keyset(page, "position", 3);
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {CLIENT_COLUMNS} FROM oauth_clients WHERE org_id = $1 AND mode = $2 AND {tail}"
        )))
        .bind(org_id)
        .bind(mode)
        .bind(bound)
        .bind(page.limit as i64)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(Keyed {
                    position: row.try_get("position")?,
                    item: client_from_row(row)?,
                })
            })
            .collect()
    }

    async fn delete_oauth_client(&self, tenant: &Tenant, id: &str) -> Result<bool> {
        let (org_id, mode) = tenant_args(tenant);
        let done =
            sqlx::query("DELETE FROM oauth_clients WHERE id = $1 AND org_id = $2 AND mode = $3")
                .bind(id)
                .bind(org_id)
                .bind(mode)
                .execute(&self.pool)
                .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn revoke_token(&self, client_id: &str, hash: &[u8], now_ms: i64) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $1)
             WHERE secret_hash = $2 AND client_id = $3",
        )
        .bind(now_ms)
        .bind(hash)
        .bind(client_id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn prune_tokens(&self, before: i64) -> Result<u64> {
        let done =
            sqlx::query("DELETE FROM api_keys WHERE client_id IS NOT NULL AND expires_at < $1")
                .bind(before)
                .execute(&self.pool)
                .await?;
        Ok(done.rows_affected())
    }
}

fn client_from_row(row: &PgRow) -> Result<OAuthClientRecord> {
    let scopes: String = row.try_get("scopes")?;
    let metadata: String = row.try_get("metadata")?;
    Ok(OAuthClientRecord {
        id: row.try_get("id")?,
        org_id: row.try_get("org_id")?,
        mode: mode_from_row(row)?,
        name: row.try_get("name")?,
        secret_hash: row.try_get("secret_hash")?,
        scopes: serde_json::from_str(&scopes)?,
        created_at: row.try_get("created_at")?,
        metadata: serde_json::from_str(&metadata)?,
    })
}
