//! The OpenAPI 3.1 document (served at `/v1/openapi.json`, printed by `faos
//! openapi`): generated from the handlers' `#[utoipa::path]` attributes by
//! the same router that serves them, so the two cannot disagree. This module
//! adds what is common to every operation: the two security schemes and the
//! error responses.

use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, ClientCredentials, Flow, HttpAuthScheme, HttpBuilder, OAuth2, Scopes,
    SecurityScheme,
};
use utoipa::openapi::{ContentBuilder, OpenApi as Document, Ref, RefOr, ResponseBuilder};
use utoipa::{Modify, OpenApi};

use crate::api::error::ErrorBody;

/// The document's fixed parts; paths come from the router.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "FAOS API",
        description = "Create AI agents, talk to them, chain them into workflows and hear about everything through webhooks.\n\nEvery response is JSON: `{\"data\": …, \"meta\": {\"request_id\", \"timestamp\"}}`, or `{\"error\": {\"code\", \"message\", \"param\"}, \"meta\": {\"request_id\"}}`. Lists are cursor-paginated (`limit`, `cursor`, `order`).\n\nAuthenticate with `Authorization: Bearer sk_live_…` (or `sk_test_…` for the sandbox data set). `?api_key=` also works but is not recommended: URLs end up in logs.",
        version = env!("CARGO_PKG_VERSION"),
        license(name = "Apache-2.0"),
    ),
    modifiers(&CommonParts),
    components(schemas(ErrorBody)),
    tags(
        (name = "Agents", description = "Agents and their templates."),
        (name = "Messages", description = "Conversations with agents."),
                (name = "Workflows", description = "Workflows and their runs."),
                (name = "Webhooks", description = "Webhook endpoints, deliveries and events."),
        (name = "Access", description = "API keys and OAuth 2.0 clients. Only secret keys (`sk_…`) may manage them."),
        (name = "Operations", description = "Health probes; no authentication."),
    )
)]
pub struct ApiDoc;

/// The whole document: the router's paths plus the common parts.
pub fn document() -> Document {
    let (_, document) = crate::api::routes().split_for_parts();
    with_object_names(with_error_responses(document))
}

/// The `object` field of each resource, which serde adds (`#[serde(tag =
/// "object")]`) and utoipa does not see.
const OBJECT_NAMES: &[(&str, &str)] = &[
    ("Agent", "agent"),
    ("Message", "message"),
    ("Template", "template"),
    ("ModelInfo", "model"),
    ("AnswerView", "answer"),
    ("AgentUsage", "usage"),
    ("Workflow", "workflow"),
    ("Run", "run"),
    ("Event", "event"),
    ("Endpoint", "webhook"),
    ("Delivery", "delivery"),
    ("ApiKey", "api_key"),
    ("OAuthClient", "oauth_client"),
];

fn with_object_names(mut document: Document) -> Document {
    use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
    let Some(components) = document.components.as_mut() else {
        return document;
    };
    for (name, object) in OBJECT_NAMES {
        if let Some(RefOr::T(Schema::Object(schema))) = components.schemas.get_mut(*name) {
            let property = ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some([*object]))
                .build();
            schema
                .properties
                .insert("object".into(), RefOr::T(Schema::Object(property)));
            schema.required.insert(0, "object".into());
        }
    }
    document
}

struct CommonParts;

impl Modify for CommonParts {
    fn modify(&self, openapi: &mut Document) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A secret key (`sk_live_…`, `sk_test_…`: every scope), a restricted key (`rk_live_…`, `rk_test_…`: its scopes) or an OAuth access token (`at_live_…`, `at_test_…`: its scopes). Scopes: agents:read agents:write messages:read messages:write workflows:read workflows:write webhooks:read webhooks:write. Operations list the scope they need; those listing none need a secret key.",
                    ))
                    .build(),
            ),
        );
        // Tokens from this flow are sent as `bearer`; operations list their
        // scopes there.
        components.add_security_scheme(
            "oauth2",
            SecurityScheme::OAuth2(OAuth2::with_description(
                [Flow::ClientCredentials(ClientCredentials::new(
                    "/v1/oauth/token",
                    Scopes::from_iter(crate::access::SCOPES.iter().map(|scope| {
                        (*scope, "The API scope of the same name.")
                    })),
                ))],
                "OAuth 2.0 client credentials (RFC 6749 §4.4): access tokens (`at_live_…`) carry the scopes granted; send them as `Authorization: Bearer`.",
            )),
        );
        components.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Query(ApiKeyValue::with_description(
                "api_key",
                "The secret key as a query parameter. Not recommended: URLs are often logged.",
            ))),
        );
        components.responses.insert(
            "Error".to_string(),
            RefOr::T(
                ResponseBuilder::new()
                    .description("An error; see `error.code`.")
                    .content(
                        "application/json",
                        ContentBuilder::new()
                            .schema(Some(Ref::from_schema_name("ErrorBody")))
                            .build(),
                    )
                    .build(),
            ),
        );
    }
}

/// Adds the contract's error responses every operation can give.
fn with_error_responses(mut document: Document) -> Document {
    for (path, item) in document.paths.paths.iter_mut() {
        let has_id = path.contains('{');
        for operation in [
            &mut item.get,
            &mut item.post,
            &mut item.patch,
            &mut item.put,
            &mut item.delete,
        ]
        .into_iter()
        .flatten()
        {
            add_errors(operation, has_id);
        }
    }
    document
}

fn add_errors(operation: &mut Operation, has_id: bool) {
    let authenticated = operation
        .security
        .as_ref()
        .is_some_and(|list| list.iter().any(|req| *req != Default::default()));
    let mut codes = vec!["500"];
    if authenticated {
        codes.extend(["400", "401", "403", "429", "503"]);
    }
    if has_id {
        codes.push("404");
    }
    if operation.request_body.is_some() {
        codes.push("413");
    }
    for code in codes {
        operation
            .responses
            .responses
            .entry(code.to_string())
            .or_insert_with(|| RefOr::Ref(Ref::new("#/components/responses/Error")));
    }
}
