//! A short digest of a file's contents, for URLs that change when the file
//! does (`style.3f2a9c1b0d4e.css`). Shared with `build.rs`, which names the
//! embedded static files with it; not a security measure.

/// 64-bit FNV-1a of `bytes`, as 12 hex digits.
pub fn fingerprint(bytes: &[u8]) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &byte in bytes {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{:012x}", hash >> 16)
}

/// `name` with the fingerprint before its extension: `live.js` → `live.<digest>.js`.
pub fn fingerprinted_name(name: &str, bytes: &[u8]) -> String {
    let digest = fingerprint(bytes);
    match name.rsplit_once('.') {
        Some((stem, extension)) if !stem.is_empty() && !stem.ends_with('/') => {
            format!("{stem}.{digest}.{extension}")
        }
        _ => format!("{name}.{digest}"),
    }
}
