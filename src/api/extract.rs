//! Request extractors that fail with the contract's errors: [`JsonBody`]
//! (a JSON object body), [`PathParams`] and [`QueryParams`] (typed query
//! parameters). Both
//! name the offending field in `param` as a path (`tools[0].url`).

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::app::AppState;
use crate::error::Error;

/// A request body parsed from a JSON object into `T`.
///
/// Errors: `413 payload_too_large` over the body limit; `400
/// invalid_request` for an empty body, invalid JSON, a non-object, a value
/// of the wrong type (`param` names it) or an unknown field (`param` names
/// it).
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for JsonBody<T> {
    type Rejection = Error;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Error> {
        let bytes =
            Bytes::from_request(req, state)
                .await
                .map_err(|rejection: BytesRejection| {
                    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                        Error::PayloadTooLarge(format!(
                            "The request body is larger than the limit of {} bytes.",
                            state.max_body_bytes
                        ))
                    } else {
                        Error::invalid_body(format!("could not read the request body: {rejection}"))
                    }
                })?;
        parse_json(&bytes).map(JsonBody)
    }
}

/// Parses a JSON object body into `T`, with the errors of [`JsonBody`].
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(Error::invalid_body(
            "The request body is empty; send a JSON object with Content-Type: application/json",
        ));
    }
    let value: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|err| Error::invalid_body(format!("The request body is not valid JSON: {err}")))?;
    if !value.is_object() {
        return Err(Error::invalid_body(
            "The request body must be a JSON object",
        ));
    }
    if let Some(param) = nul_at(&value, "") {
        return Err(Error::invalid(&param, NUL_MESSAGE));
    }
    serde_path_to_error::deserialize(value).map_err(|err| field_error(&err))
}

/// Text may not hold U+0000: no database stores it in text, and no
/// legitimate request needs it.
const NUL_MESSAGE: &str = "text may not contain the NUL character (\\u0000)";

/// The path (`param` form) of the first string or key holding U+0000.
fn nul_at(value: &serde_json::Value, path: &str) -> Option<String> {
    use serde_json::Value;
    match value {
        Value::String(text) if text.contains('\0') => Some(path.to_string()),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| nul_at(item, &format!("{path}[{i}]"))),
        Value::Object(fields) => fields.iter().find_map(|(key, item)| {
            let at = if path.is_empty() {
                key.clone()
            } else {
                format!("{path}.{key}")
            };
            if key.contains('\0') {
                Some(at)
            } else {
                nul_at(item, &at)
            }
        }),
        _ => None,
    }
}

/// Path parameters. A path segment that cannot be an id (invalid UTF-8 once
/// decoded) names no resource: `404 not_found` with `param: id`, as any
/// unknown id.
pub struct PathParams<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for PathParams<T> {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Error> {
        let not_found = || Error::NotFound {
            message: "No resource has the id given in the URL.".into(),
            param: Some("id".into()),
        };
        let raw = axum::extract::RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|_| not_found())?;
        if raw.iter().any(|(_, value)| value.contains('\0')) {
            return Err(not_found());
        }
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(value)| PathParams(value))
            .map_err(|_| not_found())
    }
}

/// Typed query parameters; unknown ones (such as `api_key`) are ignored.
///
/// Errors: `400 invalid_request` naming the parameter that does not parse.
pub struct QueryParams<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for QueryParams<T> {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Error> {
        let query = parts.uri.query().unwrap_or_default();
        if let Some((name, _)) = url::form_urlencoded::parse(query.as_bytes())
            .find(|(name, value)| name.contains('\0') || value.contains('\0'))
        {
            return Err(Error::invalid(name.into_owned(), NUL_MESSAGE));
        }
        let deserializer =
            serde_urlencoded::Deserializer::new(url::form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(deserializer)
            .map(QueryParams)
            .map_err(|err| field_error(&err))
    }
}

/// Maps a deserialization error at a path to `400` with that path as
/// `param`; an unknown or repeated field is named itself.
fn field_error<E: std::fmt::Display>(err: &serde_path_to_error::Error<E>) -> Error {
    let path = err.path().to_string();
    let inner = err.inner().to_string();
    let base = if path == "." { String::new() } else { path };
    if let Some(field) = inner
        .strip_prefix("unknown field `")
        .and_then(|rest| rest.split('`').next())
    {
        // The path already ends with the unknown field's name.
        let param = if base.is_empty() {
            field.to_string()
        } else {
            base
        };
        return Error::invalid(
            param.clone(),
            format!("Received unknown parameter: {param}"),
        );
    }
    if let Some(field) = inner
        .strip_prefix("duplicate field `")
        .and_then(|rest| rest.split('`').next())
    {
        let param = if base.is_empty() {
            field.to_string()
        } else {
            format!("{base}.{field}")
        };
        return Error::invalid(
            param.clone(),
            format!("The parameter '{param}' was given more than once"),
        );
    }
    let message = inner
        .split(" at line ")
        .next()
        .unwrap_or(&inner)
        .to_string();
    if base.is_empty() {
        Error::invalid_body(format!("Invalid request: {message}"))
    } else {
        Error::invalid(
            base.clone(),
            format!("Invalid value for '{base}': {message}"),
        )
    }
}
