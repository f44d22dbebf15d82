//! PostgreSQL queries for conversation messages. Every statement is scoped
//! by (org_id, mode) as well as by agent and conversation.

use async_trait::async_trait;
use sqlx::Row;
use sqlx::postgres::PgRow;

use super::events::record;
use super::{PostgresStore, keyset, tenant_args};
use crate::access::Tenant;
use crate::conversations::Message;
use crate::error::Result;
use crate::store::shared::{enum_from, enum_text, usage_from};
use crate::store::{Keyed, MessageStore, PageRequest, UsageRow};

#[async_trait]
impl MessageStore for PostgresStore {
    async fn insert_message(&self, tenant: &Tenant, message: &Message) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        let wanted = insert_message(&mut tx, tenant, message).await?;
        tx.commit().await?;
        self.signal_events(wanted);
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
        let (tail, bound) = keyset(page, "position", 5);
        let sql = format!(
            "SELECT * FROM messages WHERE agent_id = $1 AND conversation_id = $2 AND org_id = $3 AND mode = $4
             AND {tail}"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
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
            "SELECT * FROM messages WHERE agent_id = $1 AND conversation_id = $2 AND org_id = $3 AND mode = $4
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

    async fn usage(
        &self,
        tenant: &Tenant,
        agent_id: &str,
    ) -> Result<(Vec<UsageRow>, Vec<UsageRow>)> {
        let (org_id, mode) = tenant_args(tenant);
        // SUM over BIGINT is NUMERIC here: cast back.
        let by_day = sqlx::query(
            "SELECT to_char(to_timestamp(created_at / 1000) AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS key,
                    SUM(input_tokens)::BIGINT AS input_tokens, SUM(output_tokens)::BIGINT AS output_tokens
             FROM messages WHERE agent_id = $1 AND org_id = $2 AND mode = $3 AND input_tokens IS NOT NULL
             GROUP BY 1",
        )
        .bind(agent_id)
        .bind(org_id)
        .bind(mode)
        .fetch_all(&self.pool)
        .await?;
        let by_model = sqlx::query(
            "SELECT COALESCE(model, 'unknown') AS key,
                    SUM(input_tokens)::BIGINT AS input_tokens, SUM(output_tokens)::BIGINT AS output_tokens
             FROM messages WHERE agent_id = $1 AND org_id = $2 AND mode = $3 AND input_tokens IS NOT NULL
             GROUP BY 1",
        )
        .bind(agent_id)
        .bind(org_id)
        .bind(mode)
        .fetch_all(&self.pool)
        .await?;
        // Sorted here, by bytes as SQLite does, whatever the database's
        // collation.
        let rows = |rows: Vec<PgRow>| -> Result<Vec<UsageRow>> {
            let mut rows = rows
                .iter()
                .map(|row| {
                    Ok(UsageRow {
                        key: row.try_get("key")?,
                        input_tokens: row.try_get::<i64, _>("input_tokens")? as u64,
                        output_tokens: row.try_get::<i64, _>("output_tokens")? as u64,
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            rows.sort_by(|a, b| a.key.cmp(&b.key));
            Ok(rows)
        };
        Ok((rows(by_day)?, rows(by_model)?))
    }
}

/// Inserts one message and its `message.created` event, inside `tx`.
pub(super) async fn insert_message(
    tx: &mut sqlx::PgConnection,
    tenant: &Tenant,
    message: &Message,
) -> Result<bool> {
    let (org_id, mode) = tenant_args(tenant);
    sqlx::query(
        "INSERT INTO messages (id, org_id, mode, agent_id, conversation_id, role, content, tool_calls, tool_call_id,
                               tool_name, is_error, model, input_tokens, output_tokens, stop_reason, context, metadata,
                               created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)",
    )
    .bind(&message.id)
    .bind(org_id)
    .bind(mode)
    .bind(&message.agent_id)
    .bind(&message.conversation_id)
    .bind(message.role.as_str())
    .bind(&message.content)
    .bind(message.tool_calls.as_ref().map(serde_json::to_string).transpose()?)
    .bind(&message.tool_call_id)
    .bind(&message.tool_name)
    .bind(message.is_error)
    .bind(&message.model)
    .bind(message.usage.map(|u| u.input_tokens as i64))
    .bind(message.usage.map(|u| u.output_tokens as i64))
    .bind(message.stop_reason.as_ref().map(enum_text).transpose()?)
    .bind(message.context.as_ref().map(serde_json::to_string).transpose()?)
    .bind(serde_json::to_string(&message.metadata)?)
    .bind(message.created_at)
    .execute(&mut *tx)
    .await?;
    let recorded = record(&mut *tx, tenant, "message.created", message, None).await?;
    Ok(recorded.wanted)
}

fn message_from_row(row: &PgRow) -> Result<Keyed<Message>> {
    let tool_calls: Option<String> = row.try_get("tool_calls")?;
    let context: Option<String> = row.try_get("context")?;
    let metadata: String = row.try_get("metadata")?;
    let stop_reason: Option<String> = row.try_get("stop_reason")?;
    Ok(Keyed {
        position: row.try_get("position")?,
        item: Message {
            id: row.try_get("id")?,
            agent_id: row.try_get("agent_id")?,
            conversation_id: row.try_get("conversation_id")?,
            role: enum_from(row.try_get("role")?)?,
            content: row.try_get("content")?,
            tool_calls: tool_calls.map(|t| serde_json::from_str(&t)).transpose()?,
            tool_call_id: row.try_get("tool_call_id")?,
            tool_name: row.try_get("tool_name")?,
            is_error: row.try_get("is_error")?,
            model: row.try_get("model")?,
            usage: usage_from(row.try_get("input_tokens")?, row.try_get("output_tokens")?),
            stop_reason: stop_reason.map(enum_from).transpose()?,
            context: context.map(|c| serde_json::from_str(&c)).transpose()?,
            metadata: serde_json::from_str(&metadata)?,
            created_at: row.try_get("created_at")?,
        },
    })
}
