//! Argon2id password hashes. Hashing and verifying take tens of milliseconds
//! of CPU on purpose, so callers run them on a blocking thread.

use std::sync::OnceLock;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::error::{Error, FieldErrors};

pub const MIN_LENGTH: usize = 10;
/// Long enough for any passphrase, short enough that hashing stays cheap.
pub const MAX_LENGTH: usize = 128;

/// OWASP's recommended argon2id parameters: 19 MiB, 2 passes, 1 lane.
fn hasher() -> Argon2<'static> {
    let params = Params::new(19_456, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

pub fn hash(password: &str) -> Result<String, Error> {
    let salt = SaltString::generate(&mut OsRng);
    hasher()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| Error::Internal(format!("password hashing failed: {e}")))
}

/// Whether `password` matches `hash`. A malformed hash matches nothing.
pub fn verify(password: &str, hash: &str) -> bool {
    match PasswordHash::new(hash) {
        Ok(parsed) => hasher().verify_password(password.as_bytes(), &parsed).is_ok(),
        Err(_) => false,
    }
}

/// Verifies against a hash of nothing in particular, so that a login for an
/// unknown email costs as much time as one with a wrong password.
pub fn verify_against_dummy(password: &str) {
    static DUMMY: OnceLock<String> = OnceLock::new();
    let dummy = DUMMY.get_or_init(|| hash("not the password of anyone").unwrap_or_default());
    let _ = verify(password, dummy);
}

/// Refuses passwords that are too short, too long, or among the first that an
/// attacker would try.
pub fn check_strength(field: &str, password: &str, email: Option<&str>, errors: &mut FieldErrors) {
    const COMMON: &[&str] = &[
        "password",
        "password1",
        "password12",
        "password123",
        "password1234",
        "1234567890",
        "12345678910",
        "0123456789",
        "qwertyuiop",
        "qwertyuiop1",
        "iloveyou123",
        "letmein123",
        "welcome123",
        "administrator",
        "passw0rd123",
        "abcdefghij",
        "abc1234567",
        "1q2w3e4r5t",
    ];
    let length = password.chars().count();
    let message = if length < MIN_LENGTH {
        Some(format!("must be at least {MIN_LENGTH} characters"))
    } else if length > MAX_LENGTH {
        Some(format!("must be at most {MAX_LENGTH} characters"))
    } else if password.chars().any(char::is_control) {
        Some("must not contain control characters".to_owned())
    } else if COMMON.contains(&password.to_lowercase().as_str())
        || password.chars().all(|c| password.starts_with(c))
        || email.is_some_and(|email| password.eq_ignore_ascii_case(email))
    {
        Some("is too easy to guess".to_owned())
    } else {
        None
    };
    if let Some(message) = message {
        errors.insert(field.to_owned(), message);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_only() {
        let hash = hash("correct horse battery").unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify("correct horse battery", &hash));
        assert!(!verify("correct horse battery!", &hash));
        assert!(!verify("anything", "not a hash"));
    }

    #[test]
    fn weak_passwords_are_refused() {
        let check = |password: &str| {
            let mut errors = FieldErrors::new();
            check_strength("password", password, Some("ann@example.org"), &mut errors);
            errors.remove("password")
        };
        assert_eq!(check("short"), Some("must be at least 10 characters".to_owned()));
        assert_eq!(check(&"x".repeat(129)), Some("must be at most 128 characters".to_owned()));
        assert_eq!(check("Password123"), Some("is too easy to guess".to_owned()));
        assert_eq!(check("aaaaaaaaaaaa"), Some("is too easy to guess".to_owned()));
        assert_eq!(check("ann@example.org"), Some("is too easy to guess".to_owned()));
        assert_eq!(check("tulip-harbour-71"), None);
    }
}
