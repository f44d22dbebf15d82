//! `metadata`: the free-form labels every user-created resource carries
//! (CONTRACT §2): at most 50 keys of at most 40 characters, string values of
//! at most 500 characters. Updates follow JSON Merge Patch (RFC 7396): a key
//! set to `null` is removed, other keys are set, `"metadata": null` clears all.

use std::collections::BTreeMap;

use crate::error::{Error, Result};

/// Validated metadata, ordered by key.
pub type Metadata = BTreeMap<String, String>;

/// [`Metadata`] as the OpenAPI document shows it: a schema named
/// `Metadata` (fields use it as their `value_type`), not the Rust map's name.
#[derive(utoipa::ToSchema)]
#[schema(
    as = Metadata,
    description = "Free-form labels: at most 50 keys of at most 40 characters, string values of at most 500 characters."
)]
pub struct MetadataSchema(pub BTreeMap<String, String>);

/// Most keys one object may carry.
pub const MAX_KEYS: usize = 50;
/// Longest key, in characters.
pub const MAX_KEY_CHARS: usize = 40;
/// Longest value, in characters.
pub const MAX_VALUE_CHARS: usize = 500;

/// Checks metadata given on create. Errors name `metadata` or `metadata.<key>`.
pub fn validate(metadata: Metadata) -> Result<Metadata> {
    check_limits(&metadata)?;
    Ok(metadata)
}

/// Applies a merge patch (RFC 7396) to `current`, then checks the result.
/// `None` (JSON `null` for the whole field) clears every key.
pub fn merge(
    mut current: Metadata,
    patch: Option<BTreeMap<String, Option<String>>>,
) -> Result<Metadata> {
    match patch {
        None => current.clear(),
        Some(changes) => {
            for (key, value) in changes {
                match value {
                    Some(value) => {
                        current.insert(key, value);
                    }
                    None => {
                        current.remove(&key);
                    }
                }
            }
        }
    }
    check_limits(&current)?;
    Ok(current)
}

fn check_limits(metadata: &Metadata) -> Result<()> {
    if metadata.len() > MAX_KEYS {
        return Err(Error::invalid(
            "metadata",
            format!("metadata can have at most {MAX_KEYS} keys"),
        ));
    }
    for (key, value) in metadata {
        if key.is_empty() || key.chars().count() > MAX_KEY_CHARS {
            // An empty key has no name to point at.
            let param = if key.is_empty() {
                "metadata".to_string()
            } else {
                format!("metadata.{key}")
            };
            return Err(Error::invalid(
                param,
                format!("metadata keys must be 1 to {MAX_KEY_CHARS} characters"),
            ));
        }
        if value.chars().count() > MAX_VALUE_CHARS {
            return Err(Error::invalid(
                format!("metadata.{key}"),
                format!("metadata values must be at most {MAX_VALUE_CHARS} characters"),
            ));
        }
    }
    Ok(())
}
