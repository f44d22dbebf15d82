//! Fitting a conversation into the model's context window. Tokens are
//! estimated (four characters a token plus a little per message); a quarter
//! of the window, at most 4,096 tokens, is kept free for the answer. When
//! the history does not fit, whole exchanges are dropped oldest first: an
//! exchange starts at a user message and holds the assistant and tool
//! messages after it, so tool calls never lose their results and the history
//! always starts with a user message. The instructions are always kept.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{Error, Result};
use crate::models::{ToolSpec, Turn, estimate_tokens};

/// Tokens counted for each message besides its text.
const PER_MESSAGE_TOKENS: u64 = 4;
/// Most tokens kept free for the answer.
const MAX_ANSWER_RESERVE: u64 = 4_096;

/// How the history was trimmed for an answer, recorded on its message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ContextReport {
    /// The model's context window, in tokens.
    pub window: u64,
    /// Messages of the conversation left out, oldest first.
    pub dropped_messages: u64,
}

/// The turns to send, and what was left out.
pub struct Fitted<'a> {
    pub turns: &'a [Turn],
    pub report: Option<ContextReport>,
}

/// Drops the oldest exchanges until instructions, tools and history fit
/// `window`.
///
/// Errors: `400 invalid_request` (`param: content`) when even the latest
/// exchange alone does not fit.
pub fn fit<'a>(
    instructions: &str,
    tools: &[ToolSpec],
    turns: &'a [Turn],
    window: u64,
) -> Result<Fitted<'a>> {
    let reserve = (window / 4).min(MAX_ANSWER_RESERVE);
    let tool_tokens: u64 = tools
        .iter()
        .map(|t| {
            estimate_tokens(&t.name)
                + estimate_tokens(&t.description)
                + estimate_tokens(&t.parameters.to_string())
        })
        .sum();
    let budget = window.saturating_sub(reserve + estimate_tokens(instructions) + tool_tokens);
    let cost = |turn: &Turn| estimate_tokens(turn.text()) + PER_MESSAGE_TOKENS;
    let mut total: u64 = turns.iter().map(cost).sum();
    if total <= budget {
        return Ok(Fitted {
            turns,
            report: None,
        });
    }
    let starts: Vec<usize> = turns
        .iter()
        .enumerate()
        .filter(|(i, t)| *i > 0 && matches!(t, Turn::User { .. }))
        .map(|(i, _)| i)
        .collect();
    let mut from = 0;
    for start in starts {
        total -= turns[from..start].iter().map(cost).sum::<u64>();
        from = start;
        if total <= budget {
            return Ok(Fitted {
                turns: &turns[from..],
                report: Some(ContextReport {
                    window,
                    dropped_messages: from as u64,
                }),
            });
        }
    }
    Err(Error::invalid(
        "content",
        format!(
            "The message and the answer in progress do not fit the model's context window of {window} tokens."
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::ToolCall;

    fn user(text: &str) -> Turn {
        Turn::User {
            content: text.into(),
        }
    }

    #[test]
    fn keeps_everything_that_fits() {
        let turns = vec![user("hi"), user("there")];
        let fitted = fit("be nice", &[], &turns, 1000).unwrap();
        assert_eq!(fitted.turns.len(), 2);
        assert!(fitted.report.is_none());
    }

    #[test]
    fn drops_whole_exchanges_oldest_first() {
        let long = "x".repeat(400);
        let turns = vec![
            user(&long),
            Turn::Assistant {
                content: String::new(),
                tool_calls: vec![ToolCall {
                    id: "1".into(),
                    name: "t".into(),
                    arguments: serde_json::json!({}),
                }],
            },
            Turn::ToolResult {
                call_id: "1".into(),
                name: "t".into(),
                content: long.clone(),
                is_error: false,
            },
            user("second"),
            Turn::Assistant {
                content: "ok".into(),
                tool_calls: vec![],
            },
            user("third"),
        ];
        let fitted = fit("", &[], &turns, 200).unwrap();
        assert!(matches!(fitted.turns[0], Turn::User { .. }));
        assert_eq!(fitted.turns.len(), 3);
        assert_eq!(
            fitted.report,
            Some(ContextReport {
                window: 200,
                dropped_messages: 3
            })
        );
        assert!(fit("", &[], &[user(&"y".repeat(4000))], 200).is_err());
    }
}
