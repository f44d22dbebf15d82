//! Who is calling, and what they may touch: modes, tenancy scopes, API
//! scopes and secret keys (CONTRACT §3).

pub mod api_keys;
pub mod keys;
pub mod leases;
pub mod limiter;
pub mod oauth;
pub mod rate_limits;

use serde::{Deserialize, Serialize};

/// Live or test (sandbox): two fully separate data sets of one organization.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Live,
    Test,
}

impl Mode {
    /// `"live"` or `"test"`, as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Live => "live",
            Mode::Test => "test",
        }
    }

    /// Parses `"live"` or `"test"`.
    pub fn parse(value: &str) -> Option<Mode> {
        match value {
            "live" => Some(Mode::Live),
            "test" => Some(Mode::Test),
            _ => None,
        }
    }
}

/// The tenancy every stored resource belongs to, and every store call takes:
/// one organization in one mode. There is no lookup by bare id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    pub org_id: String,
    pub mode: Mode,
}

/// Every scope of the contract (CONTRACT §3).
pub const SCOPES: &[&str] = &[
    "agents:read",
    "agents:write",
    "messages:read",
    "messages:write",
    "workflows:read",
    "workflows:write",
    "webhooks:read",
    "webhooks:write",
];

/// Checks a list of scopes given in a request body: known and non-empty;
/// duplicates dropped, order kept.
///
/// Errors: `400` naming `scopes` or `scopes[i]`.
pub fn checked_scopes(scopes: Option<Vec<String>>) -> crate::error::Result<Vec<String>> {
    let scopes = scopes
        .ok_or_else(|| crate::error::Error::invalid("scopes", "The 'scopes' field is required"))?;
    if scopes.is_empty() {
        return Err(crate::error::Error::invalid(
            "scopes",
            "at least one scope is required",
        ));
    }
    let mut checked: Vec<String> = Vec::new();
    for (index, scope) in scopes.into_iter().enumerate() {
        if !SCOPES.contains(&scope.as_str()) {
            return Err(crate::error::Error::invalid(
                format!("scopes[{index}]"),
                format!("unknown scope '{scope}'; known: {}", SCOPES.join(", ")),
            ));
        }
        if !checked.contains(&scope) {
            checked.push(scope);
        }
    }
    Ok(checked)
}

/// The permissions of the contract: `<resource>:read` and `<resource>:write`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    AgentsRead,
    AgentsWrite,
    MessagesRead,
    MessagesWrite,
    WorkflowsRead,
    WorkflowsWrite,
    WebhooksRead,
    WebhooksWrite,
}

impl Permission {
    /// The scope string, e.g. `agents:read`.
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::AgentsRead => "agents:read",
            Permission::AgentsWrite => "agents:write",
            Permission::MessagesRead => "messages:read",
            Permission::MessagesWrite => "messages:write",
            Permission::WorkflowsRead => "workflows:read",
            Permission::WorkflowsWrite => "workflows:write",
            Permission::WebhooksRead => "webhooks:read",
            Permission::WebhooksWrite => "webhooks:write",
        }
    }
}

/// An authenticated caller: its tenant and what its credentials allow.
#[derive(Debug, Clone)]
pub struct Caller {
    pub tenant: Tenant,
    /// The `key_…` id of the API key (or access token) used.
    pub key_id: String,
    /// `None` means every scope (an unrestricted secret key).
    pub scopes: Option<Vec<String>>,
    /// For an OAuth access token, the `cli_…` client it was issued to.
    pub client_id: Option<String>,
}

impl Caller {
    /// Who owns idempotency keys: the OAuth client for a token (its tokens
    /// come and go), else the API key.
    pub fn principal(&self) -> &str {
        self.client_id.as_deref().unwrap_or(&self.key_id)
    }

    /// `403 permission_denied` unless the caller uses a secret key
    /// (`sk_…`, every scope): `what` names what it wanted to do.
    pub fn require_secret_key(&self, what: &str) -> crate::error::Result<()> {
        if self.scopes.is_some() {
            return Err(crate::error::Error::PermissionDenied(format!(
                "Only secret keys (sk_…) can {what}; these credentials are restricted."
            )));
        }
        Ok(())
    }

    /// Whether the credentials carry `permission`.
    pub fn may(&self, permission: Permission) -> bool {
        self.require(permission).is_ok()
    }

    /// `Ok` when the credentials carry `permission`, else `403
    /// permission_denied` naming the missing scope.
    pub fn require(&self, permission: Permission) -> crate::error::Result<()> {
        match &self.scopes {
            None => Ok(()),
            Some(scopes) if scopes.iter().any(|s| s == permission.as_str()) => Ok(()),
            Some(_) => Err(crate::error::Error::PermissionDenied(format!(
                "This key lacks the '{}' scope required for this request.",
                permission.as_str()
            ))),
        }
    }
}
