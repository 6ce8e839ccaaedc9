//! Personal access tokens: `sfp_` and 43 random characters. The secret is
//! shown once; the database keeps its SHA-256 and a prefix to recognise it.

use sha2::{Digest, Sha256};

pub const SCHEME: &str = "sfp_";
const PREFIX_CHARS: usize = 12;

/// A freshly generated token: the secret to show once, and what to store.
pub struct GeneratedToken {
    pub secret: String,
    pub prefix: String,
    pub hash: Vec<u8>,
}

pub fn generate() -> GeneratedToken {
    let secret = format!("{SCHEME}{}", super::random_token(32));
    let prefix = secret[..PREFIX_CHARS].to_owned();
    let hash = hash(&secret);
    GeneratedToken { secret, prefix, hash }
}

pub fn hash(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// Whether a bearer credential is a personal access token rather than a JWT.
pub fn is_personal_token(credential: &str) -> bool {
    credential.starts_with(SCHEME)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_unique_and_stored_only_as_a_hash() {
        let a = generate();
        let b = generate();
        assert_ne!(a.secret, b.secret);
        assert_eq!(a.secret.len(), 4 + 43);
        assert!(a.secret.starts_with(&a.prefix) && is_personal_token(&a.secret));
        assert_eq!(a.hash, hash(&a.secret));
        assert_eq!(a.hash.len(), 32);
    }
}
