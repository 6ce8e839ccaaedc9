//! Credentials: password hashing, signed API tokens (JWT) and personal access
//! tokens. Pure functions, keys and the password workers; the database
//! checks live in `services::sessions`, and `flows` runs the two together.

pub mod jwt;
pub mod passkeys;
pub mod password;
pub mod personal_token;
pub mod totp;
pub mod workers;

use argon2::password_hash::rand_core::{OsRng, RngCore};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

/// `bytes` random bytes from the operating system, URL-safe base64 encoded.
pub fn random_token(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    OsRng.fill_bytes(&mut buffer);
    URL_SAFE_NO_PAD.encode(buffer)
}
