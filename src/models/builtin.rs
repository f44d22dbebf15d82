//! The builtin models: offline, instant and deterministic, so FAOS works
//! with nothing configured and tests need no network.
//!
//! - `builtin/echo` answers with the user's message, unchanged.
//! - `builtin/assistant` answers from the agent's instructions: it reads the
//!   `- topic words: answer` lines of the instructions and replies with the
//!   answer whose topic words best match the message (ties go to the first
//!   line). Asked to "repeat" or "what did I say", it quotes the user's
//!   previous message, which shows it sees the conversation so far. With no
//!   match it says what it received and which topics it knows.
//!
//! Both use tools the same way: a message saying "use the NAME tool" calls
//! the tool NAME with the first JSON object in the message as arguments (or
//! `{}`); a message asking for the time or date calls `current_time` when
//! the agent has it. After tool results, the answer reports them.
//!
//! With a delta sink the answer is streamed word by word. Usage is
//! estimated at four characters a token.

use async_trait::async_trait;
use serde_json::{Value, json};

use super::{
    DeltaSink, ModelError, ModelProvider, ModelReply, ModelRequest, StopReason, ToolCall, ToolSpec,
    Turn, Usage, estimate_tokens,
};

/// The builtin variants, as named after `builtin/`.
pub const VARIANTS: &[&str] = &["assistant", "echo"];

/// The builtin provider.
pub struct BuiltinModel;

#[async_trait]
impl ModelProvider for BuiltinModel {
    async fn complete(
        &self,
        request: &ModelRequest<'_>,
        sink: Option<DeltaSink<'_>>,
    ) -> Result<ModelReply, ModelError> {
        let (content, tool_calls) = answer(request);
        if let Some(sink) = sink {
            for piece in content.split_inclusive(' ') {
                sink(piece);
            }
        }
        let prompt = &request.prompt;
        let input_tokens = estimate_tokens(prompt.instructions)
            + prompt
                .turns
                .iter()
                .map(|t| estimate_tokens(t.text()))
                .sum::<u64>();
        Ok(ModelReply {
            usage: Usage {
                input_tokens,
                output_tokens: estimate_tokens(&content).max(1),
            },
            stop_reason: if tool_calls.is_empty() {
                StopReason::EndTurn
            } else {
                StopReason::ToolUse
            },
            content,
            tool_calls,
        })
    }
}

fn answer(request: &ModelRequest<'_>) -> (String, Vec<ToolCall>) {
    let prompt = &request.prompt;
    let results: Vec<&Turn> = prompt
        .turns
        .iter()
        .rev()
        .take_while(|t| matches!(t, Turn::ToolResult { .. }))
        .collect();
    if !results.is_empty() {
        let lines: Vec<String> = results
            .into_iter()
            .rev()
            .filter_map(|t| match t {
                Turn::ToolResult {
                    name,
                    content,
                    is_error: false,
                    ..
                } => Some(format!("The {name} tool returned: {content}")),
                Turn::ToolResult { name, content, .. } => {
                    Some(format!("The {name} tool failed: {content}"))
                }
                _ => None,
            })
            .collect();
        return (lines.join("\n"), Vec::new());
    }
    let users: Vec<&str> = prompt
        .turns
        .iter()
        .filter_map(|t| match t {
            Turn::User { content } => Some(content.as_str()),
            _ => None,
        })
        .collect();
    let last = users.last().copied().unwrap_or_default();
    let rounds = prompt
        .turns
        .iter()
        .filter(|t| matches!(t, Turn::Assistant { .. }))
        .count();
    if prompt.tools_allowed
        && let Some(call) = tool_call(last, prompt.tools, rounds)
    {
        return (String::new(), vec![call]);
    }
    let content = match request.model {
        "echo" => last.to_string(),
        _ => assistant_reply(prompt.instructions, &users),
    };
    (content, Vec::new())
}

/// The tool call a message asks for, if any.
fn tool_call(message: &str, tools: &[ToolSpec], round: usize) -> Option<ToolCall> {
    let lower = message.to_lowercase();
    let named = tools
        .iter()
        .find(|t| lower.contains(&format!("use the {} tool", t.name.to_lowercase())));
    let wants_time = lower.contains("time") || lower.contains("date");
    let tool = named.or_else(|| {
        tools
            .iter()
            .find(|t| t.name == "current_time" && wants_time)
    })?;
    let arguments = first_json_object(message).unwrap_or_else(|| json!({}));
    Some(ToolCall {
        id: format!("call_builtin_{round}"),
        name: tool.name.clone(),
        arguments,
    })
}

fn first_json_object(text: &str) -> Option<Value> {
    let start = text.find('{')?;
    let mut stream = serde_json::Deserializer::from_str(&text[start..]).into_iter::<Value>();
    stream.next()?.ok().filter(Value::is_object)
}

fn assistant_reply(instructions: &str, users: &[&str]) -> String {
    let last = users.last().copied().unwrap_or_default();
    let asked = words(last);
    if asked.iter().any(|w| w == "repeat") || last.to_lowercase().contains("what did i say") {
        return match users.len().checked_sub(2).map(|i| users[i]) {
            Some(previous) => format!("Earlier you said: \"{previous}\""),
            None => "You have not said anything before this message.".to_string(),
        };
    }
    let knowledge = knowledge(instructions);
    let best = knowledge
        .iter()
        .map(|(topics, answer)| (topics.iter().filter(|t| asked.contains(t)).count(), answer))
        .filter(|(score, _)| *score > 0)
        .fold(None::<(usize, &&str)>, |best, (score, answer)| match best {
            Some((top, _)) if top >= score => best,
            _ => Some((score, answer)),
        });
    if let Some((_, answer)) = best {
        return answer.to_string();
    }
    let topics: Vec<&str> = knowledge
        .iter()
        .filter_map(|(topics, _)| topics.first().map(String::as_str))
        .collect();
    if topics.is_empty() {
        format!("I received your message: \"{last}\"")
    } else {
        format!(
            "I received your message: \"{last}\". I can help with: {}.",
            topics.join(", ")
        )
    }
}

/// The `- topic words: answer` lines of the instructions.
fn knowledge(instructions: &str) -> Vec<(Vec<String>, &str)> {
    instructions
        .lines()
        .filter_map(|line| line.trim().strip_prefix("- "))
        .filter_map(|entry| entry.split_once(':'))
        .map(|(topics, answer)| (words(topics), answer.trim()))
        .filter(|(topics, answer)| !topics.is_empty() && !answer.is_empty())
        .collect()
}

/// Lower-case words of at least three letters.
fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().count() >= 3)
        .map(str::to_lowercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::Prompt;

    fn ask(model: &str, instructions: &str, turns: &[Turn], tools: &[ToolSpec]) -> ModelReply {
        let request = ModelRequest {
            model,
            prompt: Prompt {
                instructions,
                turns,
                tools,
                tools_allowed: true,
            },
        };
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(BuiltinModel.complete(&request, None))
            .unwrap()
    }

    fn said(messages: &[&str]) -> Vec<Turn> {
        messages
            .iter()
            .map(|s| Turn::User {
                content: s.to_string(),
            })
            .collect()
    }

    const FAQ: &str = "Be nice.\n\nKnowledge:\n- refund return: Refunds take 5 days.\n- shipping delivery: Shipping takes 3 days.";

    #[test]
    fn answers_from_knowledge_lines() {
        let reply = ask(
            "assistant",
            FAQ,
            &said(&["How long does a refund take?"]),
            &[],
        );
        assert_eq!(reply.content, "Refunds take 5 days.");
        assert_eq!(reply.stop_reason, StopReason::EndTurn);
        assert!(reply.usage.input_tokens > 0 && reply.usage.output_tokens > 0);
    }

    #[test]
    fn lists_topics_when_nothing_matches() {
        let reply = ask("assistant", FAQ, &said(&["Hello there"]), &[]);
        assert_eq!(
            reply.content,
            "I received your message: \"Hello there\". I can help with: refund, shipping."
        );
    }

    #[test]
    fn quotes_the_previous_message() {
        let reply = ask(
            "assistant",
            FAQ,
            &said(&["My order is 42", "Please repeat that"]),
            &[],
        );
        assert_eq!(reply.content, "Earlier you said: \"My order is 42\"");
    }

    #[test]
    fn echo_returns_the_message() {
        assert_eq!(ask("echo", FAQ, &said(&["ping"]), &[]).content, "ping");
    }

    #[test]
    fn calls_named_tools_then_reports_their_results() {
        let tools = [ToolSpec {
            name: "lookup".into(),
            description: String::new(),
            parameters: json!({}),
        }];
        let mut turns = said(&[r#"Please use the lookup tool with {"order": "42"} now"#]);
        let reply = ask("assistant", FAQ, &turns, &tools);
        assert_eq!(reply.stop_reason, StopReason::ToolUse);
        assert_eq!(reply.tool_calls[0].name, "lookup");
        assert_eq!(reply.tool_calls[0].arguments, json!({"order": "42"}));
        turns.push(Turn::Assistant {
            content: String::new(),
            tool_calls: reply.tool_calls.clone(),
        });
        turns.push(Turn::ToolResult {
            call_id: reply.tool_calls[0].id.clone(),
            name: "lookup".into(),
            content: "shipped".into(),
            is_error: false,
        });
        let reply = ask("assistant", FAQ, &turns, &tools);
        assert_eq!(reply.content, "The lookup tool returned: shipped");
        assert_eq!(reply.stop_reason, StopReason::EndTurn);
    }
}
