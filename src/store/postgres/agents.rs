//! PostgreSQL queries for agents. Every statement is scoped by
//! (org_id, mode); an update locks its row (`FOR UPDATE`) for the
//! read-change-write.

use async_trait::async_trait;
use sqlx::Row;
use sqlx::postgres::PgRow;

use super::events::record;
use super::{PostgresStore, keyset, tenant_args};
use crate::access::Tenant;
use crate::agents::Agent;
use crate::error::Result;
use crate::store::{AgentStore, Keyed, PageRequest};

const COLUMNS: &str = "position, id, name, template, instructions, model, tools, max_steps, metadata, created_at, updated_at";

#[async_trait]
impl AgentStore for PostgresStore {
    async fn insert_agent(&self, tenant: &Tenant, agent: &Agent) -> Result<()> {
        let (org_id, mode) = tenant_args(tenant);
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO agents (id, org_id, mode, name, template, instructions, model, tools, max_steps, metadata, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(&agent.id)
        .bind(org_id)
        .bind(mode)
        .bind(&agent.name)
        .bind(&agent.template)
        .bind(&agent.instructions)
        .bind(&agent.model)
        .bind(serde_json::to_string(&agent.tools)?)
        .bind(agent.max_steps as i64)
        .bind(serde_json::to_string(&agent.metadata)?)
        .bind(agent.created_at)
        .bind(agent.updated_at)
        .execute(&mut *tx)
        .await?;
        let wanted = record(&mut *tx, tenant, "agent.created", agent, None)
            .await?
            .wanted;
        tx.commit().await?;
        self.signal_events(wanted);
        Ok(())
    }

    async fn get_agent(&self, tenant: &Tenant, id: &str) -> Result<Option<Agent>> {
        let (org_id, mode) = tenant_args(tenant);
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM agents WHERE id = $1 AND org_id = $2 AND mode = $3"
        )))
        .bind(id)
        .bind(org_id)
        .bind(mode)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| agent_from_row(&row).map(|k| k.item))
            .transpose()
    }

    async fn list_agents(&self, tenant: &Tenant, page: PageRequest) -> Result<Vec<Keyed<Agent>>> {
        let (org_id, mode) = tenant_args(tenant);
        let (tail, bound) = keyset(page, "position", 3);
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM agents WHERE org_id = $1 AND mode = $2 AND {tail}"
        )))
        .bind(org_id)
        .bind(mode)
        .bind(bound)
        .bind(page.limit as i64)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(agent_from_row).collect()
    }

    async fn update_agent(
        &self,
        tenant: &Tenant,
        id: &str,
        change: Box<dyn FnOnce(Agent) -> Result<Agent> + Send>,
    ) -> Result<Option<Agent>> {
        let (org_id, mode) = tenant_args(tenant);
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM agents WHERE id = $1 AND org_id = $2 AND mode = $3 FOR UPDATE"
        )))
        .bind(id)
        .bind(org_id)
        .bind(mode)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let agent = change(agent_from_row(&row)?.item)?;
        sqlx::query(
            "UPDATE agents SET name = $1, instructions = $2, model = $3, tools = $4, max_steps = $5, metadata = $6,
                    updated_at = $7
             WHERE id = $8 AND org_id = $9 AND mode = $10",
        )
        .bind(&agent.name)
        .bind(&agent.instructions)
        .bind(&agent.model)
        .bind(serde_json::to_string(&agent.tools)?)
        .bind(agent.max_steps as i64)
        .bind(serde_json::to_string(&agent.metadata)?)
        .bind(agent.updated_at)
        .bind(id)
        .bind(org_id)
        .bind(mode)
        .execute(&mut *tx)
        .await?;
        let wanted = record(&mut *tx, tenant, "agent.updated", &agent, None)
            .await?
            .wanted;
        tx.commit().await?;
        self.signal_events(wanted);
        Ok(Some(agent))
    }

    async fn delete_agent(&self, tenant: &Tenant, id: &str) -> Result<bool> {
        let (org_id, mode) = tenant_args(tenant);
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "DELETE FROM agents WHERE id = $1 AND org_id = $2 AND mode = $3 RETURNING {COLUMNS}"
        )))
        .bind(id)
        .bind(org_id)
        .bind(mode)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else { return Ok(false) };
        let wanted = record(
            &mut *tx,
            tenant,
            "agent.deleted",
            &agent_from_row(&row)?.item,
            None,
        )
        .await?
        .wanted;
        tx.commit().await?;
        self.signal_events(wanted);
        Ok(true)
    }
}

fn agent_from_row(row: &PgRow) -> Result<Keyed<Agent>> {
    let tools: String = row.try_get("tools")?;
    let metadata: String = row.try_get("metadata")?;
    let max_steps: i64 = row.try_get("max_steps")?;
    Ok(Keyed {
        position: row.try_get("position")?,
        item: Agent {
            id: row.try_get("id")?,
            name: row.try_get("name")?,
            template: row.try_get("template")?,
            instructions: row.try_get("instructions")?,
            model: row.try_get("model")?,
            tools: serde_json::from_str(&tools)?,
            max_steps: max_steps as u32,
            metadata: serde_json::from_str(&metadata)?,
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
        },
    })
}
