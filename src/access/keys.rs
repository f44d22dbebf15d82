//! API keys: secret keys `sk_live_…` / `sk_test_…` (every scope) and
//! restricted keys `rk_live_…` / `rk_test_…` (the scopes they were made
//! with), followed by 40 random alphanumerics (≈238 bits). Only the SHA-256 of a key is stored; a key is
//! shown once, when it is made. Verification compares digests in constant
//! time.

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

/// Makes a new key for `mode`: a secret key (`sk_`), or a restricted one
/// (`rk_`).
pub fn generate(mode: Mode, restricted: bool) -> NewSecret {
    let kind = if restricted { "rk" } else { "sk" };
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

/// The mode a key's prefix claims, if it has a known prefix.
pub fn mode_of(secret: &str) -> Option<Mode> {
    let rest = secret
        .strip_prefix("sk_")
        .or_else(|| secret.strip_prefix("rk_"))?;
    if rest.starts_with("live_") {
        Some(Mode::Live)
    } else if rest.starts_with("test_") {
        Some(Mode::Test)
    } else {
        None
    }
}
