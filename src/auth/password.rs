//! Argon2id password hashes. Hashing and verifying take tens of milliseconds
//! of CPU and 19 MiB on purpose, so callers run them on the password
//! workers (`auth::workers`), a few at a time.

use std::cell::RefCell;
use std::sync::OnceLock;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};

use crate::error::{Error, FieldErrors};

pub const MIN_LENGTH: usize = 12;
/// Long enough for any passphrase, short enough that hashing stays cheap.
pub const MAX_LENGTH: usize = 128;

/// OWASP's recommended argon2id parameters: 19 MiB, 2 passes, 1 lane.
fn params() -> Params {
    Params::new(19_456, 2, 1, None).unwrap_or_default()
}

/// Stored hashes asking for more memory than this are not trusted.
const MAX_MEMORY_KIB: u32 = 65_536;

thread_local! {
    /// The memory argon2 works in, kept by each thread that hashes, so that
    /// every hash on it reuses the same 19 MiB instead of allocating it anew
    /// (allocators keep such blocks around per thread, and memory piled up).
    static MEMORY: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// The raw argon2 output of `password` and `salt` into `out`.
fn compute(argon2: &Argon2<'_>, blocks: usize, password: &[u8], salt: &[u8], out: &mut [u8]) -> bool {
    MEMORY.with(|memory| {
        let mut memory = memory.borrow_mut();
        if memory.len() < blocks {
            memory.resize(blocks, Block::default());
        }
        argon2.hash_password_into_with_memory(password, salt, out, &mut memory[..blocks]).is_ok()
    })
}

pub fn hash(password: &str) -> Result<String, Error> {
    let failed = |why: &dyn std::fmt::Display| Error::Internal(format!("password hashing failed: {why}"));
    let salt = SaltString::generate(&mut OsRng);
    let mut salt_bytes = [0u8; 64];
    let salt_bytes = salt.as_salt().decode_b64(&mut salt_bytes).map_err(|e| failed(&e))?;
    let params = params();
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    if !compute(&argon2, params.block_count(), password.as_bytes(), salt_bytes, &mut out) {
        return Err(failed(&"argon2 refused its input"));
    }
    let hash = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|e| failed(&e))?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out).map_err(|e| failed(&e))?),
    };
    Ok(hash.to_string())
}

/// Whether `password` matches `hash`. A malformed hash, or one asking for
/// more than [`MAX_MEMORY_KIB`], matches nothing.
pub fn verify(password: &str, hash: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(hash) else { return false };
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else { return false };
    let (Ok(algorithm), Ok(params)) = (Algorithm::try_from(parsed.algorithm), Params::try_from(&parsed))
    else {
        return false;
    };
    let version = match parsed.version.map(Version::try_from).transpose() {
        Ok(version) => version.unwrap_or_default(),
        Err(_) => return false,
    };
    if params.m_cost() > MAX_MEMORY_KIB {
        return false;
    }
    let mut salt_bytes = [0u8; 64];
    let Ok(salt_bytes) = salt.decode_b64(&mut salt_bytes) else { return false };
    let mut out = vec![0u8; expected.len()];
    let argon2 = Argon2::new(algorithm, version, params.clone());
    // `Output` compares in constant time.
    compute(&argon2, params.block_count(), password.as_bytes(), salt_bytes, &mut out)
        && Output::new(&out).is_ok_and(|computed| computed == expected)
}

/// Verifies against a hash of nothing in particular, so that a login for an
/// unknown email costs as much time as one with a wrong password.
pub fn verify_against_dummy(password: &str) {
    static DUMMY: OnceLock<String> = OnceLock::new();
    let dummy = DUMMY.get_or_init(|| hash("not the password of anyone").unwrap_or_default());
    let _ = verify(password, dummy);
}

/// Refuses passwords that are too short or too long, that contain the name
/// of the account's email address, or that zxcvbn rates as guessable in
/// fewer than 10^10 tries (score 3): it knows the 30,000 most common
/// passwords of real breaches, words, names, keyboard walks, dates,
/// sequences and repeats, and weighs the email as a known input.
pub fn check_strength(field: &str, password: &str, email: Option<&str>, errors: &mut FieldErrors) {
    let length = password.chars().count();
    let email_name = email.and_then(|email| email.split('@').next()).filter(|name| name.chars().count() >= 3);
    let message = if length < MIN_LENGTH {
        Some(format!("must be at least {MIN_LENGTH} characters"))
    } else if length > MAX_LENGTH {
        Some(format!("must be at most {MAX_LENGTH} characters"))
    } else if password.chars().any(char::is_control) {
        Some("must not contain control characters".to_owned())
    } else if email_name.is_some_and(|name| password.to_lowercase().contains(&name.to_lowercase())) {
        Some("must not contain the name of your email address".to_owned())
    } else if zxcvbn::zxcvbn(password, &email.into_iter().chain(email_name).collect::<Vec<_>>()).score()
        < zxcvbn::Score::Three
    {
        Some("is too easy to guess: use a few unrelated words, or add more characters".to_owned())
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
    fn hashes_agree_with_the_argon2_crates_own() {
        use argon2::password_hash::{PasswordHasher, PasswordVerifier};
        let salt = SaltString::generate(&mut OsRng);
        let theirs = Argon2::new(Algorithm::Argon2id, Version::V0x13, params())
            .hash_password(b"tulip-harbour-71", &salt)
            .unwrap()
            .to_string();
        assert!(verify("tulip-harbour-71", &theirs));
        assert!(!verify("tulip-harbour-72", &theirs));
        let ours = hash("tulip-harbour-71").unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(Argon2::default().verify_password(b"tulip-harbour-71", &parsed).is_ok());
    }

    #[test]
    fn hashes_asking_for_too_much_memory_match_nothing() {
        use argon2::password_hash::PasswordHasher;
        let salt = SaltString::generate(&mut OsRng);
        let greedy = Params::new(MAX_MEMORY_KIB + 8, 1, 1, None).unwrap();
        let hash = Argon2::new(Algorithm::Argon2id, Version::V0x13, greedy)
            .hash_password(b"tulip-harbour-71", &salt)
            .unwrap()
            .to_string();
        assert!(!verify("tulip-harbour-71", &hash));
    }

    #[test]
    fn weak_passwords_are_refused() {
        let check = |password: &str| {
            let mut errors = FieldErrors::new();
            check_strength("password", password, Some("annabel@example.org"), &mut errors);
            errors.remove("password")
        };
        let guessable =
            Some("is too easy to guess: use a few unrelated words, or add more characters".to_owned());
        assert_eq!(check("short"), Some("must be at least 12 characters".to_owned()));
        assert_eq!(check("tulip-hrbr1"), Some("must be at least 12 characters".to_owned()));
        assert_eq!(check(&"x".repeat(129)), Some("must be at most 128 characters".to_owned()));
        for common in
            ["qwerty123456", "1q2w3e4r5t6y", "password12345", "Password1234", "aaaaaaaaaaaa", "123456789012"]
        {
            assert_eq!(check(common), guessable, "{common}");
        }
        assert_eq!(
            check("annabel-2026!"),
            Some("must not contain the name of your email address".to_owned())
        );
        assert_eq!(
            check("annabel@example.org"),
            Some("must not contain the name of your email address".to_owned())
        );
        for strong in ["tulip-harbour-71", "another-pass-42", "brand-new-pass-9", "quiet-lantern-harbour-58"]
        {
            assert_eq!(check(strong), None, "{strong}");
        }
    }
}
