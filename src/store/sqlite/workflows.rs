//! SQLite queries for workflows and their versions. Every statement is
//! scoped by (org_id, mode); deleted workflows are hidden, not removed, so
//! the versions their runs use remain.

use async_trait::async_trait;
use serde_json::Value;
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use super::events::record;
use super::{SqliteStore, keyset, tenant_args};
use crate::access::Tenant;
use crate::clock;
use crate::error::Result;
use crate::store::shared::definition_parts;
use crate::store::{Keyed, PageRequest, WorkflowChangeLock, WorkflowStore};
use crate::workflows::Workflow;

const COLUMNS: &str =
    "position, id, name, description, version, definition, metadata, created_at, updated_at";

#[async_trait]
impl WorkflowStore for SqliteStore {
    async fn lock_workflow_changes(&self, _tenant: &Tenant) -> Result<WorkflowChangeLock> {
        let held = self.workflow_changes.clone().lock_owned().await;
        Ok(WorkflowChangeLock(Box::new(held)))
    }

    async fn insert_workflow(&self, tenant: &Tenant, workflow: &Workflow) -> Result<()> {
        let (org_id, mode) = tenant_args(tenant);
        let definition = workflow.definition().to_string();
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO workflows (id, org_id, mode, name, description, version, definition, metadata, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&workflow.id)
        .bind(org_id)
        .bind(mode)
        .bind(&workflow.name)
        .bind(&workflow.description)
        .bind(workflow.version as i64)
        .bind(&definition)
        .bind(serde_json::to_string(&workflow.metadata)?)
        .bind(workflow.created_at)
        .bind(workflow.updated_at)
        .execute(&mut *tx)
        .await?;
        insert_version(&mut tx, &workflow.id, workflow.version, &definition).await?;
        let wanted = record(&mut *tx, tenant, "workflow.created", workflow, None)
            .await?
            .wanted;
        tx.commit().await?;
        self.signal_events(wanted);
        Ok(())
    }

    async fn get_workflow(&self, tenant: &Tenant, id: &str) -> Result<Option<Workflow>> {
        let (org_id, mode) = tenant_args(tenant);
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM workflows WHERE id = ? AND org_id = ? AND mode = ? AND deleted = 0"
        )))
        .bind(id)
        .bind(org_id)
        .bind(mode)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| workflow_from_row(&row).map(|k| k.item))
            .transpose()
    }

    async fn list_workflows(
        &self,
        tenant: &Tenant,
        page: PageRequest,
    ) -> Result<Vec<Keyed<Workflow>>> {
        let (org_id, mode) = tenant_args(tenant);
        let (tail, bound) = keyset(page, "position");
        let sql = format!("SELECT position, id, name, description, version, definition, metadata, created_at, updated_at FROM workflows
             WHERE org_id = ? AND mode = ? AND deleted = 0 AND {tail}");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(org_id)
            .bind(mode)
            .bind(bound)
            .bind(page.limit as i64)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(workflow_from_row).collect()
    }

    async fn update_workflow(
        &self,
        tenant: &Tenant,
        id: &str,
        change: Box<dyn FnOnce(Workflow) -> Result<Workflow> + Send>,
    ) -> Result<Option<Workflow>> {
        let (org_id, mode) = tenant_args(tenant);
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM workflows WHERE id = ? AND org_id = ? AND mode = ? AND deleted = 0"
        )))
        .bind(id)
        .bind(org_id)
        .bind(mode)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let before = workflow_from_row(&row)?.item;
        let old_version = before.version;
        let workflow = change(before)?;
        let definition = workflow.definition().to_string();
        sqlx::query(
            "UPDATE workflows SET name = ?, description = ?, version = ?, definition = ?, metadata = ?, updated_at = ?
             WHERE id = ? AND org_id = ? AND mode = ?",
        )
        .bind(&workflow.name)
        .bind(&workflow.description)
        .bind(workflow.version as i64)
        .bind(&definition)
        .bind(serde_json::to_string(&workflow.metadata)?)
        .bind(workflow.updated_at)
        .bind(id)
        .bind(org_id)
        .bind(mode)
        .execute(&mut *tx)
        .await?;
        if workflow.version != old_version {
            insert_version(&mut tx, id, workflow.version, &definition).await?;
        }
        let wanted = record(&mut *tx, tenant, "workflow.updated", &workflow, None)
            .await?
            .wanted;
        tx.commit().await?;
        self.signal_events(wanted);
        Ok(Some(workflow))
    }

    async fn delete_workflow(&self, tenant: &Tenant, id: &str) -> Result<bool> {
        let (org_id, mode) = tenant_args(tenant);
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE workflows SET deleted = 1, updated_at = ? WHERE id = ? AND org_id = ? AND mode = ? AND deleted = 0
             RETURNING {COLUMNS}"
        )))
        .bind(clock::now_ms())
        .bind(id)
        .bind(org_id)
        .bind(mode)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else { return Ok(false) };
        let wanted = record(
            &mut *tx,
            tenant,
            "workflow.deleted",
            &workflow_from_row(&row)?.item,
            None,
        )
        .await?
        .wanted;
        tx.commit().await?;
        self.signal_events(wanted);
        Ok(true)
    }

    async fn workflow_version(
        &self,
        tenant: &Tenant,
        id: &str,
        version: u32,
    ) -> Result<Option<Value>> {
        let (org_id, mode) = tenant_args(tenant);
        let row = sqlx::query(
            "SELECT v.definition FROM workflow_versions v JOIN workflows w ON w.id = v.workflow_id
             WHERE v.workflow_id = ? AND v.version = ? AND w.org_id = ? AND w.mode = ?",
        )
        .bind(id)
        .bind(version as i64)
        .bind(org_id)
        .bind(mode)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(serde_json::from_str(
                &row.try_get::<String, _>("definition")?,
            )?)
        })
        .transpose()
    }
}

async fn insert_version(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    id: &str,
    version: u32,
    definition: &str,
) -> Result<()> {
    sqlx::query("INSERT INTO workflow_versions (workflow_id, version, definition, created_at) VALUES (?, ?, ?, ?)")
        .bind(id)
        .bind(version as i64)
        .bind(definition)
        .bind(clock::now_ms())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

fn workflow_from_row(row: &SqliteRow) -> Result<Keyed<Workflow>> {
    let definition: Value = serde_json::from_str(&row.try_get::<String, _>("definition")?)?;
    let metadata: String = row.try_get("metadata")?;
    let (input_schema, steps, output) = definition_parts(&definition);
    Ok(Keyed {
        position: row.try_get("position")?,
        item: Workflow {
            id: row.try_get("id")?,
            name: row.try_get("name")?,
            description: row.try_get("description")?,
            version: row.try_get::<i64, _>("version")? as u32,
            input_schema,
            steps,
            output,
            metadata: serde_json::from_str(&metadata)?,
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
        },
    })
}
