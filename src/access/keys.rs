//! API keys: secret keys `sk_live_…` / `sk_test_…` (every scope) and
//! restricted keys `rk_live_…` / `rk_test_…` (the scopes they were made
//! with); OAuth access tokens `at_…` and client secrets `cs_…` are made the
//! same way. Each is a prefix and 40 random alphanumerics (≈238 bits).
//! Only the SHA-256 of a secret is stored; it is shown once, when made.
//! Verification compares digests in constant time.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::access::Mode;
use crate::ids;

/// Characters of randomness after the prefix.
const SECRET_CHARS: usize = 40;

/// A freshly made key: the secret to show once, and what to store.
pub struct NewSecret {
    /// The full secret, e.g. `sk_live_3hF…`. Never stored or logged.
    pub secret: String,
    /// SHA-256 of `secret`.
    pub hash: [u8; 32],
    /// The first characters of the secret followed by its last four, for
    /// people to recognise a key in listings: `sk_live_…Wx9z`.
    pub redacted: String,
}

/// What a secret is for; each kind has its own prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretKind {
    /// `sk_`: an unrestricted secret key.
    SecretKey,
    /// `rk_`: a restricted key.
    RestrictedKey,
    /// `at_`: an OAuth access token (a short-lived restricted credential).
    AccessToken,
    /// `cs_`: an OAuth client secret; not a bearer credential.
    ClientSecret,
}

impl SecretKind {
    fn prefix(self) -> &'static str {
        match self {
            SecretKind::SecretKey => "sk",
            SecretKind::RestrictedKey => "rk",
            SecretKind::AccessToken => "at",
            SecretKind::ClientSecret => "cs",
        }
    }
}

/// Makes a new secret of `kind` for `mode`, e.g. `sk_live_…`.
pub fn generate(kind: SecretKind, mode: Mode) -> NewSecret {
    let kind = kind.prefix();
    let secret = format!(
        "{kind}_{}_{}",
        mode.as_str(),
        ids::random_alphanumeric(SECRET_CHARS)
    );
    let hash = hash(&secret);
    let redacted = format!("{kind}_{}_…{}", mode.as_str(), &secret[secret.len() - 4..]);
    NewSecret {
        secret,
        hash,
        redacted,
    }
}

/// SHA-256 of a presented secret.
pub fn hash(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// Constant-time equality of two stored digests.
pub fn digests_equal(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

/// The mode a bearer credential's prefix claims (`sk_`, `rk_` or `at_`),
/// if it has one of those.
pub fn mode_of(secret: &str) -> Option<Mode> {
    let rest = secret
        .strip_prefix("sk_")
        .or_else(|| secret.strip_prefix("rk_"))
        .or_else(|| secret.strip_prefix("at_"))?;
    if rest.starts_with("live_") {
        Some(Mode::Live)
    } else if rest.starts_with("test_") {
        Some(Mode::Test)
    } else {
        None
    }
}
