//! SQLite queries for organizations, API keys and server settings.

use async_trait::async_trait;
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use super::{SqliteStore, keyset, mode_from_row, tenant_args};
use crate::access::Tenant;
use crate::clock;
use crate::error::Result;
use crate::ids::{self, IdKind, new_id};
use crate::store::{AccessStore, ApiKeyRecord, Keyed, Organization, PageRequest};

const CURSOR_SECRET: &str = "cursor_secret";

#[async_trait]
impl AccessStore for SqliteStore {
    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn server_secret(&self) -> Result<Vec<u8>> {
        sqlx::query("INSERT OR IGNORE INTO server_settings (name, value) VALUES (?, ?)")
            .bind(CURSOR_SECRET)
            .bind(ids::random_bytes::<32>().to_vec())
            .execute(&self.pool)
            .await?;
        let row = sqlx::query("SELECT value FROM server_settings WHERE name = ?")
            .bind(CURSOR_SECRET)
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get("value")?)
    }

    async fn bootstrap(
        &self,
        name: &str,
        keys: &[ApiKeyRecord],
        org_id: &str,
    ) -> Result<Option<Organization>> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        // First start: no key at all (an organization may exist already,
        // made by `faos orgs set-plan`); the keys go to the one named `name`.
        let count: i64 = sqlx::query("SELECT COUNT(*) AS n FROM api_keys")
            .fetch_one(&mut *tx)
            .await?
            .try_get("n")?;
        if count > 0 {
            return Ok(None);
        }
        let org = ensure_org(&mut tx, org_id, name, "starter").await?;
        for key in keys {
            let key = ApiKeyRecord {
                org_id: org.id.clone(),
                ..key.clone()
            };
            insert_key(&mut *tx, &key).await?;
        }
        tx.commit().await?;
        Ok(Some(org))
    }

    async fn ensure_organization(&self, name: &str, plan: &str) -> Result<Organization> {
        let mut connection = self.pool.acquire().await?;
        ensure_org(&mut connection, &new_id(IdKind::Organization), name, plan).await
    }

    async fn set_plan(
        &self,
        org_id: &str,
        plan: &str,
        per_minute: Option<i64>,
        per_day: Option<i64>,
    ) -> Result<()> {
        sqlx::query("UPDATE organizations SET plan = ?, per_minute = ?, per_day = ? WHERE id = ?")
            .bind(plan)
            .bind(per_minute)
            .bind(per_day)
            .bind(org_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn insert_api_key(&self, key: &ApiKeyRecord) -> Result<()> {
        insert_key(&self.pool, key).await
    }

    async fn find_api_key(&self, hash: &[u8]) -> Result<Option<ApiKeyRecord>> {
        let row = sqlx::query(
            "SELECT id, org_id, mode, name, secret_hash, redacted, scopes, created_at, expires_at, revoked_at, client_id, metadata
             FROM api_keys WHERE secret_hash = ?",
        )
        .bind(hash)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| key_from_row(&row)).transpose()
    }

    async fn list_api_keys(
        &self,
        tenant: &Tenant,
        page: PageRequest,
    ) -> Result<Vec<Keyed<ApiKeyRecord>>> {
        let (org_id, mode) = tenant_args(tenant);
        let (tail, bound) = keyset(page, "rowid");
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {KEY_COLUMNS} FROM api_keys WHERE org_id = ? AND mode = ? AND client_id IS NULL AND {tail}"
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
                    item: key_from_row(row)?,
                })
            })
            .collect()
    }

    async fn revoke_api_key(&self, tenant: &Tenant, id: &str) -> Result<Option<ApiKeyRecord>> {
        let (org_id, mode) = tenant_args(tenant);
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ? AND org_id = ? AND mode = ? AND client_id IS NULL
             RETURNING {KEY_COLUMNS}"
        )))
        .bind(clock::now_ms())
        .bind(id)
        .bind(org_id)
        .bind(mode)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| key_from_row(&row)).transpose()
    }
}

const KEY_COLUMNS: &str = "rowid AS position, id, org_id, mode, name, secret_hash, redacted, scopes, created_at, expires_at, revoked_at, client_id, metadata";

/// The organization named `name`, created with `id` on `plan` if missing.
async fn ensure_org(
    connection: &mut sqlx::SqliteConnection,
    id: &str,
    name: &str,
    plan: &str,
) -> Result<Organization> {
    sqlx::query(
        "INSERT INTO organizations (id, name, plan, created_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (name) DO NOTHING",
    )
    .bind(id)
    .bind(name)
    .bind(plan)
    .bind(clock::now_ms())
    .execute(&mut *connection)
    .await?;
    let row = sqlx::query("SELECT id, name, plan, created_at FROM organizations WHERE name = ?")
        .bind(name)
        .fetch_one(&mut *connection)
        .await?;
    Ok(Organization {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        plan: row.try_get("plan")?,
        created_at: row.try_get("created_at")?,
    })
}

async fn insert_key<'e, E: sqlx::SqliteExecutor<'e>>(
    executor: E,
    key: &ApiKeyRecord,
) -> Result<()> {
    let scopes = key.scopes.as_ref().map(serde_json::to_string).transpose()?;
    sqlx::query(
        "INSERT INTO api_keys (id, org_id, mode, name, secret_hash, redacted, scopes, created_at, expires_at, revoked_at, client_id, metadata)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&key.id)
    .bind(&key.org_id)
    .bind(key.mode.as_str())
    .bind(&key.name)
    .bind(&key.secret_hash)
    .bind(&key.redacted)
    .bind(scopes)
    .bind(key.created_at)
    .bind(key.expires_at)
    .bind(key.revoked_at)
    .bind(&key.client_id)
    .bind(serde_json::to_string(&key.metadata)?)
    .execute(executor)
    .await?;
    Ok(())
}

fn key_from_row(row: &SqliteRow) -> Result<ApiKeyRecord> {
    let scopes: Option<String> = row.try_get("scopes")?;
    let metadata: String = row.try_get("metadata")?;
    Ok(ApiKeyRecord {
        id: row.try_get("id")?,
        org_id: row.try_get("org_id")?,
        mode: mode_from_row(row)?,
        name: row.try_get("name")?,
        secret_hash: row.try_get("secret_hash")?,
        redacted: row.try_get("redacted")?,
        scopes: scopes.map(|s| serde_json::from_str(&s)).transpose()?,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
        revoked_at: row.try_get("revoked_at")?,
        client_id: row.try_get("client_id")?,
        metadata: serde_json::from_str(&metadata)?,
    })
}
