//! OAuth 2.0 client credentials over HTTP (CONTRACT §3): `/v1/oauth/clients`
//! (managed with a secret key, enveloped like every resource), and the
//! RFC endpoints `/v1/oauth/token` (RFC 6749 §4.4) and `/v1/oauth/revoke`
//! (RFC 7009), which take form-encoded bodies, authenticate the client by
//! HTTP Basic (§2.3.1) or form fields, and answer the RFCs' plain JSON.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::access::Caller;
use crate::access::oauth::{
    self, ClientCredentials, CreateOAuthClient, OAuthClient, OAuthError, OAuthErrorCode,
    TokenResponse,
};
use crate::api::envelope::{Deleted, Envelope, ListEnvelope, Page, Reply};
use crate::api::extract::{JsonBody, PathParams, QueryParams};
use crate::api::pagination::PageParams;
use crate::app::AppState;
use crate::error::Result;

/// List this organization's OAuth clients in this mode (never their
/// secrets). Secret keys only.
#[utoipa::path(
    get, path = "/v1/oauth/clients", tag = "Access", operation_id = "listOAuthClients",
    params(PageParams),
    responses((status = 200, description = "A page of clients.", body = ListEnvelope<OAuthClient>)),
    security(("bearer" = []), ("api_key" = []))
)]
pub async fn list_clients(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(params): QueryParams<PageParams>,
) -> Result<Page<OAuthClient>> {
    let list = format!(
        "oauth_clients\n{}\n{}",
        caller.tenant.org_id,
        caller.tenant.mode.as_str()
    );
    let (request, limit) = state.cursors.request(&list, &params)?;
    let rows = oauth::list(state.store.as_ref(), &caller, request).await?;
    Ok(state.cursors.page(&list, request, limit, rows))
}

/// Create an OAuth client whose tokens carry at most `scopes`. The answer
/// holds its `client_secret`, shown this once. Secret keys only.
#[utoipa::path(
    post, path = "/v1/oauth/clients", tag = "Access", operation_id = "createOAuthClient",
    request_body = CreateOAuthClient,
    responses((status = 201, description = "The new client, with its secret.", body = Envelope<OAuthClient>)),
    security(("bearer" = []), ("api_key" = []))
)]
pub async fn create_client(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(input): JsonBody<CreateOAuthClient>,
) -> Result<Reply<OAuthClient>> {
    Ok(Reply::created(oauth::create(state.store.as_ref(), &caller, input).await?).showing_secret())
}

/// Delete an OAuth client; its tokens stop working at once on this server
/// and within 5 s on every server sharing the database. Secret keys only.
#[utoipa::path(
    delete, path = "/v1/oauth/clients/{id}", tag = "Access", operation_id = "deleteOAuthClient",
    params(("id" = String, Path, description = "The client's id, `cli_…`.")),
    responses((status = 200, description = "The client was deleted.", body = Envelope<Deleted>)),
    security(("bearer" = []), ("api_key" = []))
)]
pub async fn delete_client(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
) -> Result<Reply<Deleted>> {
    oauth::delete(state.store.as_ref(), &caller, &id).await?;
    state.keys.invalidate_all();
    Ok(Reply::ok(Deleted {
        id,
        object: "oauth_client",
        deleted: true,
    }))
}

/// The form of `POST /v1/oauth/token` (`application/x-www-form-urlencoded`).
#[derive(Debug, Deserialize, ToSchema)]
pub struct TokenRequest {
    /// Must be `client_credentials`.
    #[schema(required = true, value_type = String)]
    grant_type: Option<String>,
    /// Space-separated scopes, a subset of the client's; all of them when
    /// left out.
    scope: Option<String>,
    /// The client's id, when not sent with HTTP Basic.
    client_id: Option<String>,
    /// The client's secret, when not sent with HTTP Basic.
    client_secret: Option<String>,
}

/// The form of `POST /v1/oauth/revoke` (`application/x-www-form-urlencoded`).
#[derive(Debug, Deserialize, ToSchema)]
pub struct RevokeRequest {
    /// The access token to revoke.
    #[schema(required = true, value_type = String)]
    token: Option<String>,
    /// `access_token` (the only kind there is); not needed.
    #[serde(rename = "token_type_hint")]
    _token_type_hint: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
}

/// An RFC 6749 §5.2 error: not the usual envelope.
#[derive(Debug, Serialize, ToSchema)]
pub struct OAuthErrorBody {
    /// `invalid_request`, `invalid_client`, `invalid_scope` or
    /// `unsupported_grant_type`.
    pub error: String,
    pub error_description: String,
}

/// Get an access token with the client credentials grant (RFC 6749 §4.4).
/// The answer is the RFC's JSON, not the envelope, with `Cache-Control:
/// no-store`. Tokens are opaque (`at_live_…`); send them as `Authorization:
/// Bearer`.
#[utoipa::path(
    post, path = "/v1/oauth/token", tag = "Access", operation_id = "createOAuthToken",
    request_body(content = TokenRequest, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "A new access token.", body = TokenResponse),
        (status = 400, description = "`invalid_request`, `invalid_scope` or `unsupported_grant_type`.", body = OAuthErrorBody),
        (status = 401, description = "`invalid_client`: unknown client or wrong secret.", body = OAuthErrorBody),
    ),
    security(())
)]
pub async fn token(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let result = async {
        let form: TokenRequest = parse_form(&body)?;
        let credentials = client_credentials(&headers, form.client_id, form.client_secret)?;
        let grant_type = required("grant_type", form.grant_type)?;
        oauth::issue_token(
            state.store.as_ref(),
            &credentials,
            &grant_type,
            form.scope.as_deref(),
            state.oauth_token_ttl_seconds,
        )
        .await
    }
    .await;
    match result {
        Ok(token) => no_store((StatusCode::OK, axum::Json(token)).into_response()),
        Err(err) => oauth_error_response(err),
    }
}

/// Revoke an access token (RFC 7009). Answers `200` with an empty body for
/// any token, known or not, once the client has authenticated.
#[utoipa::path(
    post, path = "/v1/oauth/revoke", tag = "Access", operation_id = "revokeOAuthToken",
    request_body(content = RevokeRequest, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "The token no longer works (or never did)."),
        (status = 400, description = "`invalid_request`: no `token`.", body = OAuthErrorBody),
        (status = 401, description = "`invalid_client`.", body = OAuthErrorBody),
    ),
    security(())
)]
pub async fn revoke(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let result = async {
        let form: RevokeRequest = parse_form(&body)?;
        let credentials = client_credentials(&headers, form.client_id, form.client_secret)?;
        let token = required("token", form.token)?;
        oauth::revoke(state.store.as_ref(), &credentials, &token).await
    }
    .await;
    match result {
        Ok(()) => {
            state.keys.invalidate_all();
            no_store(StatusCode::OK.into_response())
        }
        Err(err) => oauth_error_response(err),
    }
}

/// Parses a form body. Empty values count as absent (RFC 6749 §3.1);
/// a repeated parameter is an error (§3.2); unknown ones are ignored.
fn parse_form<T: serde::de::DeserializeOwned>(body: &[u8]) -> std::result::Result<T, OAuthError> {
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(body)
        .filter(|(_, value)| !value.is_empty())
        .map(|(name, value)| (name.into_owned(), value.into_owned()))
        .collect();
    for (index, (name, _)) in pairs.iter().enumerate() {
        if pairs[..index].iter().any(|(earlier, _)| earlier == name) {
            return Err(invalid_request(format!(
                "the parameter '{name}' is repeated"
            )));
        }
    }
    let encoded = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&pairs)
        .finish();
    serde_urlencoded::from_str(&encoded).map_err(|err| invalid_request(err.to_string()))
}

fn required(name: &str, value: Option<String>) -> std::result::Result<String, OAuthError> {
    value.ok_or_else(|| invalid_request(format!("the parameter '{name}' is required")))
}

fn invalid_request(description: String) -> OAuthError {
    OAuthError::Protocol(OAuthErrorCode::InvalidRequest, description)
}

/// The client's credentials from HTTP Basic (RFC 6749 §2.3.1: id and secret
/// form-urlencoded, then Base64) or from the form; using both is an error.
fn client_credentials(
    headers: &HeaderMap,
    client_id: Option<String>,
    client_secret: Option<String>,
) -> std::result::Result<ClientCredentials, OAuthError> {
    let in_form = (client_id, client_secret);
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return match in_form {
            (Some(client_id), Some(client_secret)) => Ok(ClientCredentials {
                client_id,
                client_secret,
            }),
            _ => Err(OAuthError::Protocol(
                OAuthErrorCode::InvalidClient,
                "No client authentication: use HTTP Basic or client_id and client_secret.".into(),
            )),
        };
    };
    if in_form != (None, None) {
        return Err(invalid_request(
            "use one client authentication method, not HTTP Basic and form fields".into(),
        ));
    }
    let malformed = || {
        OAuthError::Protocol(
            OAuthErrorCode::InvalidClient,
            "Malformed HTTP Basic credentials.".into(),
        )
    };
    let value = value.to_str().map_err(|_| malformed())?.trim();
    let (scheme, encoded) = value.split_once(' ').ok_or_else(malformed)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(malformed());
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map_err(|_| malformed())?;
    let decoded = String::from_utf8(decoded).map_err(|_| malformed())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(malformed)?;
    let unescape = |part: &str| {
        url::form_urlencoded::parse(format!("v={part}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    Ok(ClientCredentials {
        client_id: unescape(id),
        client_secret: unescape(secret),
    })
}

/// RFC 6749 §5.1: token answers must not be cached.
fn no_store(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

/// RFC 6749 §5.2: `400`, or `401` with `WWW-Authenticate: Basic` for
/// `invalid_client`; a server failure keeps the usual envelope.
fn oauth_error_response(err: OAuthError) -> Response {
    let (code, description) = match err {
        OAuthError::Protocol(code, description) => (code, description),
        OAuthError::Server(err) => return err.into_response(),
    };
    let status = if code == OAuthErrorCode::InvalidClient {
        StatusCode::UNAUTHORIZED
    } else {
        StatusCode::BAD_REQUEST
    };
    let body = OAuthErrorBody {
        error: code.as_str().to_string(),
        error_description: description,
    };
    let mut response = no_store((status, axum::Json(body)).into_response());
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"faos\""),
        );
    }
    response
}
