//! Signing deliveries as the Standard Webhooks specification says: each
//! carries `webhook-id`, `webhook-timestamp` and `webhook-signature`, the
//! last being `v1,` and the base64 HMAC-SHA256 of `id.timestamp.body` under
//! the endpoint's secret (`whsec_` and the key's base64). While a rotated
//! secret overlaps the new one, both sign, separated by a space.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// What every secret starts with.
pub const PREFIX: &str = "whsec_";
/// Random bytes in a secret.
const KEY_BYTES: usize = 32;

/// A new secret, to show once.
pub fn new_secret() -> String {
    use argon2::password_hash::rand_core::{OsRng, RngCore};
    let mut key = [0u8; KEY_BYTES];
    OsRng.fill_bytes(&mut key);
    format!("{PREFIX}{}", STANDARD.encode(key))
}

/// The key a secret holds, if it is one.
fn key_of(secret: &str) -> Option<Vec<u8>> {
    STANDARD.decode(secret.strip_prefix(PREFIX)?).ok().filter(|key| !key.is_empty())
}

/// `v1,<signature>` of the message `id` sent at `timestamp` (Unix seconds)
/// with `body`, under `secret`.
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> Option<String> {
    let mut mac = Hmac::<Sha256>::new_from_slice(&key_of(secret)?).ok()?;
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    Some(format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes())))
}

/// The `webhook-signature` header: a signature under each of `secrets`.
pub fn header(secrets: &[&str], id: &str, timestamp: i64, body: &[u8]) -> String {
    secrets.iter().filter_map(|secret| sign(secret, id, timestamp, body)).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the Standard Webhooks specification's reference
    /// libraries: this secret, message and time give this signature.
    #[test]
    fn signs_as_the_specification_s_reference_libraries_do() {
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body).as_deref(),
            Some("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
        );
    }

    #[test]
    fn secrets_are_random_and_both_of_two_sign_while_they_overlap() {
        let (a, b) = (new_secret(), new_secret());
        assert!(a.starts_with(PREFIX) && a.len() == PREFIX.len() + 44);
        assert_ne!(a, b);
        let both = header(&[&a, &b], "msg_1", 1, b"{}");
        let parts: Vec<_> = both.split(' ').collect();
        assert_eq!(parts, [sign(&a, "msg_1", 1, b"{}").unwrap(), sign(&b, "msg_1", 1, b"{}").unwrap()]);
        assert_eq!(sign("not a secret", "msg_1", 1, b"{}"), None);
    }
}
