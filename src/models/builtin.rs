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
//! Usage is estimated at four characters a token.

use async_trait::async_trait;

use super::{ModelProvider, ModelReply, ModelRequest, Role, StopReason, Usage, estimate_tokens};

/// The builtin variants, as named after `builtin/`.
pub const VARIANTS: &[&str] = &["assistant", "echo"];

/// The builtin provider.
pub struct BuiltinModel;

#[async_trait]
impl ModelProvider for BuiltinModel {
    async fn complete(&self, request: &ModelRequest<'_>) -> Result<ModelReply, String> {
        let users: Vec<&str> = request
            .turns
            .iter()
            .filter(|t| t.role == Role::User)
            .map(|t| t.content.as_str())
            .collect();
        let last = users.last().copied().unwrap_or_default();
        let content = match request.model {
            "echo" => last.to_string(),
            _ => assistant_reply(request.instructions, &users),
        };
        let input_tokens = estimate_tokens(request.instructions)
            + request
                .turns
                .iter()
                .map(|t| estimate_tokens(&t.content))
                .sum::<u64>();
        let output_tokens = estimate_tokens(&content);
        Ok(ModelReply {
            content,
            usage: Usage {
                input_tokens,
                output_tokens,
            },
            stop_reason: StopReason::EndTurn,
        })
    }
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
    use crate::models::Turn;

    fn ask(model: &str, instructions: &str, said: &[&str]) -> ModelReply {
        let turns: Vec<Turn> = said
            .iter()
            .map(|s| Turn {
                role: Role::User,
                content: s.to_string(),
            })
            .collect();
        let request = ModelRequest {
            model,
            instructions,
            turns: &turns,
        };
        block_on(BuiltinModel.complete(&request)).unwrap()
    }

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    const FAQ: &str = "Be nice.\n\nKnowledge:\n- refund return: Refunds take 5 days.\n- shipping delivery: Shipping takes 3 days.";

    #[test]
    fn answers_from_knowledge_lines() {
        let reply = ask("assistant", FAQ, &["How long does a refund take?"]);
        assert_eq!(reply.content, "Refunds take 5 days.");
        assert_eq!(reply.stop_reason, StopReason::EndTurn);
        assert!(reply.usage.input_tokens > 0 && reply.usage.output_tokens > 0);
    }

    #[test]
    fn lists_topics_when_nothing_matches() {
        let reply = ask("assistant", FAQ, &["Hello there"]);
        assert_eq!(
            reply.content,
            "I received your message: \"Hello there\". I can help with: refund, shipping."
        );
    }

    #[test]
    fn quotes_the_previous_message() {
        let reply = ask("assistant", FAQ, &["My order is 42", "Please repeat that"]);
        assert_eq!(reply.content, "Earlier you said: \"My order is 42\"");
    }

    #[test]
    fn echo_returns_the_message() {
        assert_eq!(ask("echo", FAQ, &["ping"]).content, "ping");
    }
}
