//! SQLite queries for conversation messages. Every statement is scoped by
//! (org_id, mode) as well as by agent and conversation.

use async_trait::async_trait;
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use super::{SqliteStore, page_bounds, tenant_args};
use crate::access::Tenant;
use crate::conversations::Message;
use crate::error::{Error, Result};
use crate::models::{Role, StopReason, Usage};
use crate::store::{Keyed, MessageStore, PageRequest};

#[async_trait]
impl MessageStore for SqliteStore {
    async fn insert_message(&self, tenant: &Tenant, message: &Message) -> Result<()> {
        let (org_id, mode) = tenant_args(tenant);
        let stop_reason = message
            .stop_reason
            .map(|r| serde_json::to_value(r).map(|v| v.as_str().unwrap_or_default().to_string()))
            .transpose()?;
        sqlx::query(
            "INSERT INTO messages (id, org_id, mode, agent_id, conversation_id, role, content, input_tokens, output_tokens, stop_reason, metadata, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&message.id)
        .bind(org_id)
        .bind(mode)
        .bind(&message.agent_id)
        .bind(&message.conversation_id)
        .bind(message.role.as_str())
        .bind(&message.content)
        .bind(message.usage.map(|u| u.input_tokens as i64))
        .bind(message.usage.map(|u| u.output_tokens as i64))
        .bind(stop_reason)
        .bind(serde_json::to_string(&message.metadata)?)
        .bind(message.created_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn list_messages(
        &self,
        tenant: &Tenant,
        agent_id: &str,
        conversation_id: &str,
        page: PageRequest,
    ) -> Result<Vec<Keyed<Message>>> {
        let (org_id, mode) = tenant_args(tenant);
        let (descending, bound) = page_bounds(page);
        let sql = if descending {
            "SELECT * FROM messages WHERE agent_id = ? AND conversation_id = ? AND org_id = ? AND mode = ?
             AND position < ? ORDER BY position DESC LIMIT ?"
        } else {
            "SELECT * FROM messages WHERE agent_id = ? AND conversation_id = ? AND org_id = ? AND mode = ?
             AND position > ? ORDER BY position ASC LIMIT ?"
        };
        let rows = sqlx::query(sql)
            .bind(agent_id)
            .bind(conversation_id)
            .bind(org_id)
            .bind(mode)
            .bind(bound)
            .bind(page.limit as i64)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(message_from_row).collect()
    }

    async fn conversation(
        &self,
        tenant: &Tenant,
        agent_id: &str,
        conversation_id: &str,
    ) -> Result<Vec<Message>> {
        let (org_id, mode) = tenant_args(tenant);
        let rows = sqlx::query(
            "SELECT * FROM messages WHERE agent_id = ? AND conversation_id = ? AND org_id = ? AND mode = ?
             ORDER BY position ASC",
        )
        .bind(agent_id)
        .bind(conversation_id)
        .bind(org_id)
        .bind(mode)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| message_from_row(row).map(|k| k.item))
            .collect()
    }
}

fn message_from_row(row: &SqliteRow) -> Result<Keyed<Message>> {
    let role: String = row.try_get("role")?;
    let stop_reason: Option<String> = row.try_get("stop_reason")?;
    let input_tokens: Option<i64> = row.try_get("input_tokens")?;
    let output_tokens: Option<i64> = row.try_get("output_tokens")?;
    let metadata: String = row.try_get("metadata")?;
    let role: Role = serde_json::from_value(serde_json::Value::String(role))
        .map_err(|err| Error::Internal(anyhow::anyhow!("bad role in the database: {err}")))?;
    let stop_reason: Option<StopReason> = stop_reason
        .map(|r| serde_json::from_value(serde_json::Value::String(r)))
        .transpose()?;
    let usage = match (input_tokens, output_tokens) {
        (Some(input), Some(output)) => Some(Usage {
            input_tokens: input as u64,
            output_tokens: output as u64,
        }),
        _ => None,
    };
    Ok(Keyed {
        position: row.try_get("position")?,
        item: Message {
            id: row.try_get("id")?,
            agent_id: row.try_get("agent_id")?,
            conversation_id: row.try_get("conversation_id")?,
            role,
            content: row.try_get("content")?,
            usage,
            stop_reason,
            metadata: serde_json::from_str(&metadata)?,
            created_at: row.try_get("created_at")?,
        },
    })
}
