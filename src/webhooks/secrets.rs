//! Sealing webhook secrets at rest. With a master key (`FAOS_SECRET_KEY`,
//! any string; its SHA-256 is the key) secrets are stored encrypted with
//! XChaCha20-Poly1305 (random 24-byte nonce) as `enc:v1:<base64(nonce ‖
//! ciphertext)>`; without one they are stored as given, and the server says
//! so at start.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use sha2::{Digest, Sha256};

use crate::ids;

const PREFIX: &str = "enc:v1:";

/// Seals and opens secrets.
#[derive(Clone)]
pub struct SecretBox {
    cipher: Option<XChaCha20Poly1305>,
}

impl SecretBox {
    /// A box for `master_key`; `None` or empty stores secrets as given.
    pub fn new(master_key: Option<&str>) -> Self {
        let cipher = master_key
            .filter(|k| !k.is_empty())
            .map(|k| XChaCha20Poly1305::new(&Sha256::digest(k.as_bytes())));
        SecretBox { cipher }
    }

    /// Whether secrets are encrypted at rest.
    pub fn encrypts(&self) -> bool {
        self.cipher.is_some()
    }

    /// The stored form of a secret.
    pub fn seal(&self, secret: &str) -> String {
        match &self.cipher {
            None => secret.to_string(),
            Some(cipher) => {
                let nonce = ids::random_bytes::<24>();
                let sealed = cipher
                    .encrypt(
                        &XNonce::try_from(&nonce[..]).expect("24 bytes"),
                        secret.as_bytes(),
                    )
                    .expect("XChaCha20-Poly1305 encrypts any message");
                let mut raw = nonce.to_vec();
                raw.extend(sealed);
                format!("{PREFIX}{}", STANDARD.encode(raw))
            }
        }
    }

    /// The secret of a stored form.
    ///
    /// Errors: an encrypted secret without the master key, or with another.
    pub fn open(&self, stored: &str) -> Result<String, String> {
        let Some(encoded) = stored.strip_prefix(PREFIX) else {
            return Ok(stored.to_string());
        };
        let cipher = self
            .cipher
            .as_ref()
            .ok_or("a webhook secret is encrypted but FAOS_SECRET_KEY is not set")?;
        let raw = STANDARD
            .decode(encoded)
            .map_err(|_| "a stored webhook secret is damaged")?;
        if raw.len() < 24 {
            return Err("a stored webhook secret is damaged".into());
        }
        let (nonce, sealed) = raw.split_at(24);
        let plain = cipher
            .decrypt(&XNonce::try_from(nonce).expect("24 bytes"), sealed)
            .map_err(
                |_| "a webhook secret does not open with FAOS_SECRET_KEY (was the key changed?)",
            )?;
        String::from_utf8(plain).map_err(|_| "a stored webhook secret is damaged".to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seals_and_opens() {
        let sealed_box = SecretBox::new(Some("master"));
        let stored = sealed_box.seal("whsec_abc");
        assert!(stored.starts_with(PREFIX) && !stored.contains("whsec_abc"));
        assert_eq!(sealed_box.open(&stored).unwrap(), "whsec_abc");
        assert!(SecretBox::new(Some("other")).open(&stored).is_err());
        assert!(SecretBox::new(None).open(&stored).is_err());
        assert_eq!(SecretBox::new(None).seal("whsec_x"), "whsec_x");
    }
}
