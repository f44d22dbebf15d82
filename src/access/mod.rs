//! Who is calling, and what they may touch: modes, tenancy scopes, API
//! scopes and secret keys (CONTRACT §3).

pub mod api_keys;
pub mod keys;

use serde::{Deserialize, Serialize};

/// Live or test (sandbox): two fully separate data sets of one organization.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
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
    /// The `key_…` id of the API key used.
    pub key_id: String,
    /// `None` means every scope (an unrestricted secret key).
    pub scopes: Option<Vec<String>>,
}

impl Caller {
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
