//! Built-in agent templates (`GET /v1/templates`): starting points a create
//! request names with `template`. A template fills the fields the request
//! leaves out. Instructions end with a `Knowledge:` list of `- topic: answer`
//! lines, which real models read as context and the `builtin/assistant`
//! model answers from (see `models::builtin`).

use serde::Serialize;
use utoipa::ToSchema;

/// One template as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(tag = "object", rename = "template")]
pub struct Template {
    /// Stable identifier, e.g. `customer-service`.
    pub id: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    pub instructions: &'static str,
    /// The model agents made from this template use unless the request names
    /// one: the server's default model (`FAOS_DEFAULT_MODEL`), so one setting
    /// moves every template to a real provider.
    pub model: String,
}

struct Definition {
    id: &'static str,
    name: &'static str,
    description: &'static str,
    instructions: &'static str,
}

const DEFINITIONS: &[Definition] = &[
    Definition {
        id: "customer-service",
        name: "Customer service",
        description: "Answers customers' questions about orders, shipping, returns and accounts, politely and briefly, and hands over to a person when it cannot help.",
        instructions: "You are a friendly, concise customer service agent. Answer the customer's question in at most three sentences. Never invent order details, prices or policies: use only the knowledge below and what the customer tells you. If you cannot help, or the customer is upset or asks for a person, say that you are handing the conversation to a human colleague.\n\nKnowledge:\n- refund return money back: You can return any item within 30 days of delivery for a full refund. Start the return from your order page, and the refund reaches your original payment method within 5 business days of our receiving the item.\n- shipping delivery track package arrive: Standard shipping takes 3 to 5 business days and express takes 1 to 2. You can follow your package with the tracking link in your confirmation email.\n- password login account reset: To reset your password, choose 'Forgot password' on the sign-in page and follow the link we email you; it is valid for one hour.\n- human person agent speak talk: I am handing this conversation to a human colleague, who will reply here shortly.\n- hours open contact phone: Our support team is available Monday to Friday, 9:00 to 18:00 CET, by chat and at support@example.com.",
    },
    Definition {
        id: "sales-assistant",
        name: "Sales assistant",
        description: "Qualifies leads and answers questions about plans and pricing, then offers a demo.",
        instructions: "You are a helpful sales assistant. Learn what the prospect needs (team size, use case, timeline), answer questions about plans and pricing from the knowledge below, and offer to book a demo when there is interest. Be honest: never promise features that are not listed.\n\nKnowledge:\n- price pricing cost plan plans: We offer three plans: Starter at $29 per month, Growth at $99 per month, and Enterprise with custom pricing. Every plan starts with a 14-day free trial.\n- demo call meeting book: I would be glad to book a 30-minute demo. Which day and time suit you, and in which time zone?\n- trial free: Every plan starts with a 14-day free trial; no credit card is needed.\n- discount nonprofit education: We offer 30% off for registered nonprofits and educational institutions.",
    },
    Definition {
        id: "support-triage",
        name: "Support triage",
        description: "Classifies incoming tickets by category and urgency so they reach the right team.",
        instructions: "You triage support tickets. For each ticket, answer with one line: the category (billing, bug, feature-request, account or other), then the urgency (low, normal or urgent), then a one-sentence summary. Mark as urgent anything that blocks a customer from working or mentions data loss or a security problem.\n\nKnowledge:\n- invoice charge charged payment billing refund: billing, normal: the customer has a question about a charge or an invoice.\n- error crash broken bug fails: bug, normal: the customer reports something that does not work as expected.\n- security breach leaked hacked lost data: account, urgent: the customer reports a possible security or data-loss problem.\n- feature request wish would like: feature-request, low: the customer asks for something the product does not do yet.",
    },
    Definition {
        id: "research-assistant",
        name: "Research assistant",
        description: "Summarizes material, compares options and answers questions with sources and caveats.",
        instructions: "You are a careful research assistant. Summarize what you are given in plain language, keep the key figures, name your sources, and say clearly when something is uncertain or when the material does not answer the question. Prefer short bullet points over long paragraphs.\n\nKnowledge:\n- summary summarize summarise tldr: Send me the text or the question, and I will answer with a short summary in bullet points, the key figures, and any caveats.\n- source sources cite citation: I name the source of every claim I make, and I say so when I only have your material to go on.",
    },
    Definition {
        id: "blank",
        name: "Blank",
        description: "A general-purpose assistant with minimal instructions, to build your own on.",
        instructions: "You are a helpful, honest assistant. Answer clearly and concisely, ask one short clarifying question when a request is ambiguous, and say plainly when you do not know something rather than guessing.",
    },
];

/// Every template, with `default_model` as its model.
pub fn all(default_model: &str) -> Vec<Template> {
    DEFINITIONS
        .iter()
        .map(|d| render(d, default_model))
        .collect()
}

/// The template with this id, if there is one.
pub fn find(id: &str, default_model: &str) -> Option<Template> {
    DEFINITIONS
        .iter()
        .find(|d| d.id == id)
        .map(|d| render(d, default_model))
}

/// The ids of every template, for error messages.
pub fn ids() -> Vec<&'static str> {
    DEFINITIONS.iter().map(|d| d.id).collect()
}

fn render(d: &Definition, default_model: &str) -> Template {
    Template {
        id: d.id,
        name: d.name,
        description: d.description,
        instructions: d.instructions,
        model: default_model.to_string(),
    }
}
