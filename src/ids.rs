//! Prefixed, opaque resource ids (CONTRACT §2): `agt_`, `msg_`, `key_`,
//! `org_`, … followed by a ULID in lower case, so ids sort by creation time
//! and carry 80 bits of randomness.

/// The prefix of each kind of id.
#[derive(Debug, Clone, Copy)]
pub enum IdKind {
    Agent,
    Message,
    ApiKey,
    Organization,
    Workflow,
    Run,
    Event,
    Endpoint,
    Delivery,
    OAuthClient,
    AccessToken,
}

impl IdKind {
    /// The prefix, including the trailing underscore.
    pub fn prefix(self) -> &'static str {
        match self {
            IdKind::Agent => "agt_",
            IdKind::Message => "msg_",
            IdKind::ApiKey => "key_",
            IdKind::Organization => "org_",
            IdKind::Workflow => "wf_",
            IdKind::Run => "run_",
            IdKind::Event => "evt_",
            IdKind::Endpoint => "whk_",
            IdKind::Delivery => "dlv_",
            IdKind::OAuthClient => "cli_",
            IdKind::AccessToken => "tok_",
        }
    }
}

/// A new id of the given kind, e.g. `agt_01jd9…`.
pub fn new_id(kind: IdKind) -> String {
    format!(
        "{}{}",
        kind.prefix(),
        ulid::Ulid::generate().to_string().to_lowercase()
    )
}

/// Random bytes from the operating system's CSPRNG.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    getrandom::fill(&mut buf).expect("the operating system's random source failed");
    buf
}

/// A random string of `len` characters from `[0-9A-Za-z]` (≈5.95 bits each),
/// drawn without modulo bias.
pub fn random_alphanumeric(len: usize) -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut out = String::with_capacity(len);
    while out.len() < len {
        for byte in random_bytes::<64>() {
            // 248 = 62 * 4: bytes at or above it would bias the result.
            if byte < 248 && out.len() < len {
                out.push(ALPHABET[(byte % 62) as usize] as char);
            }
        }
    }
    out
}
