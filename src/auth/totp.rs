//! Time-based one-time passwords (RFC 6238) as authenticator apps compute
//! them: HMAC-SHA-1 over 30-second steps, six digits. A code is taken one
//! step early or late (clocks drift), and never twice: each accepted step
//! is remembered, and only later steps pass after it.

use hmac::{Hmac, Mac};
use sha1::Sha1;

/// Seconds a code lasts.
pub const STEP_SECONDS: i64 = 30;
/// The bytes of a secret (160 bits, as RFC 4226 recommends).
pub const SECRET_BYTES: usize = 20;

/// A new random secret, from the operating system's generator.
pub fn new_secret() -> Vec<u8> {
    use argon2::password_hash::rand_core::{OsRng, RngCore};
    let mut secret = vec![0u8; SECRET_BYTES];
    OsRng.fill_bytes(&mut secret);
    secret
}

/// The step of a moment (seconds since 1970).
pub fn step_of(unix_seconds: i64) -> i64 {
    unix_seconds.div_euclid(STEP_SECONDS)
}

/// The six-digit code of `step` (RFC 4226's HOTP with the step as counter).
pub fn code_at(secret: &[u8], step: i64) -> u32 {
    let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(secret) else { return 0 };
    mac.update(&step.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = usize::from(digest[19] & 0x0f);
    let binary = u32::from_be_bytes([
        digest[offset] & 0x7f,
        digest[offset + 1],
        digest[offset + 2],
        digest[offset + 3],
    ]);
    binary % 1_000_000
}

/// The step whose code `typed` is, among the steps around `now` that come
/// after `last_used`; `None` when it is none of them.
pub fn verify(secret: &[u8], typed: &str, unix_seconds: i64, last_used: Option<i64>) -> Option<i64> {
    let digits: String = typed.chars().filter(|c| !c.is_whitespace() && *c != '-').collect();
    if digits.len() != 6 || !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let typed: u32 = digits.parse().ok()?;
    let now = step_of(unix_seconds);
    (now - 1..=now + 1)
        .filter(|step| last_used.is_none_or(|last| *step > last))
        .find(|&step| constant_time_eq(code_at(secret, step), typed))
}

fn constant_time_eq(a: u32, b: u32) -> bool {
    use subtle::ConstantTimeEq;
    a.to_be_bytes().ct_eq(&b.to_be_bytes()).into()
}

/// `bytes` in RFC 4648 base32 without padding, as authenticator apps take secrets.
pub fn base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    for chunk in bytes.chunks(5) {
        let mut buffer = [0u8; 5];
        buffer[..chunk.len()].copy_from_slice(chunk);
        let bits = buffer.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
        let symbols = (chunk.len() * 8).div_ceil(5);
        for n in 0..symbols {
            let index = (bits >> (35 - n * 5)) & 0x1f;
            out.push(char::from(ALPHABET[usize::try_from(index).unwrap_or(0)]));
        }
    }
    out
}

/// The `otpauth://` address an app scans to add the account.
pub fn uri(secret: &[u8], account: &str, issuer: &str) -> String {
    let encode = |text: &str| rocket::http::RawStr::new(text).percent_encode().to_string();
    format!(
        "otpauth://totp/{}:{}?secret={}&issuer={}&algorithm=SHA1&digits=6&period={STEP_SECONDS}",
        encode(issuer),
        encode(account),
        base32(secret),
        encode(issuer)
    )
}

/// `text` as a QR code, drawn as an SVG image by the server.
pub fn qr_svg(text: &str) -> String {
    match qrcode::QrCode::new(text.as_bytes()) {
        Ok(code) => {
            code.render::<qrcode::render::svg::Color<'_>>().min_dimensions(200, 200).quiet_zone(true).build()
        }
        Err(_) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238's test secret for SHA-1 and its codes (the last six digits
    /// of its eight-digit values).
    #[test]
    fn codes_match_the_rfc_test_vectors() {
        let secret = b"12345678901234567890";
        for (time, code) in [
            (59, 287_082),
            (1_111_111_109, 81_804),
            (1_111_111_111, 50_471),
            (1_234_567_890, 5_924),
            (2_000_000_000, 279_037),
            (20_000_000_000, 353_130),
        ] {
            assert_eq!(code_at(secret, step_of(time)), code, "at {time}");
        }
    }

    #[test]
    fn a_code_passes_once_within_a_step_of_now() {
        let secret = b"12345678901234567890";
        let now = 1_111_111_111;
        assert_eq!(verify(secret, "050471", now, None), Some(step_of(now)));
        assert_eq!(verify(secret, "050 471", now, None), Some(step_of(now)), "as apps group the digits");
        assert_eq!(verify(secret, "050471", now + 30, None), Some(step_of(now)), "a step late");
        assert_eq!(verify(secret, "050471", now + 60, None), None, "two steps late");
        assert_eq!(verify(secret, "050471", now, Some(step_of(now))), None, "used already");
        assert_eq!(verify(secret, "050472", now, None), None);
        assert_eq!(verify(secret, "50471", now, None), None);
        assert_eq!(verify(secret, "abcdef", now, None), None);
    }

    #[test]
    fn secrets_are_written_in_base32() {
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI");
        assert_eq!(base32(b"12345678901234567890"), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        let uri = uri(b"12345678901234567890", "ann@example.org", "Storefront");
        assert_eq!(
            uri,
            "otpauth://totp/Storefront:ann@example.org?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Storefront&algorithm=SHA1&digits=6&period=30"
        );
        assert!(qr_svg(&uri).starts_with("<?xml"));
        assert_eq!(new_secret().len(), SECRET_BYTES);
    }
}
