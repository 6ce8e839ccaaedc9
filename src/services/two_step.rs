//! Two-step sign-in: an account adds authenticator apps (TOTP), and with
//! its first gets ten single-use recovery codes, kept hashed and shown once.
//! A login of such an account asks for a code after the password and
//! before any session exists (see `sessions::finish_login`). Admins can
//! take another account's second step away, for one who lost their phone.

use diesel::PgConnection;
use sha2::{Digest, Sha256};

use super::audit::{self, Action, Changes, Subject};
use crate::auth::totp;
use crate::error::{Error, FieldErrors};
use crate::models::second_factor::{NewSecondFactor, RecoveryCode, SecondFactor};
use crate::models::User;
use crate::policy::{self, Actor};
use crate::text;

/// Recovery codes an account gets at a time.
pub const RECOVERY_CODES: usize = 10;
/// Authenticator apps an account may have.
pub const MAX_APPS: usize = 5;
/// What recovery codes are made of: no letters that read as others.
const CODE_ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";

/// An authenticator app, as the account page lists it.
#[derive(Debug, Clone)]
pub struct App {
    pub id: i64,
    pub name: String,
    pub added: chrono::DateTime<chrono::Utc>,
    pub last_used: Option<chrono::DateTime<chrono::Utc>>,
}

/// Where an account's second step stands.
#[derive(Debug, Clone)]
pub struct Overview {
    pub apps: Vec<App>,
    pub recovery_codes_left: i64,
}

pub fn overview(conn: &mut PgConnection, user_id: i64) -> Result<Overview, Error> {
    let apps = SecondFactor::of_user(conn, user_id, false)?
        .into_iter()
        .map(|f| App { id: f.id, name: f.name, added: f.created_at, last_used: f.last_used_at })
        .collect();
    Ok(Overview { apps, recovery_codes_left: RecoveryCode::left(conn, user_id)? })
}

/// Whether logging in to the account takes a second step.
pub fn enrolled(conn: &mut PgConnection, user_id: i64) -> Result<bool, Error> {
    Ok(SecondFactor::any_of(conn, user_id)?)
}

fn audited(
    conn: &mut PgConnection,
    actor: &Actor,
    user_id: i64,
    what: &str,
    from: &str,
    to: &str,
) -> Result<(), Error> {
    audit::record(
        conn,
        actor,
        Action::Update,
        Subject::user(user_id),
        Changes::new().field(what, Some(from), Some(to)),
    )
}

/// Adds an authenticator app holding `secret`, once `code` shows that it
/// does. The account's first app comes with new recovery codes, returned
/// to be shown once.
pub fn add_app(
    conn: &mut PgConnection,
    actor: &Actor,
    name: &str,
    secret: &[u8],
    code: &str,
    unix_seconds: i64,
) -> Result<Option<Vec<String>>, Error> {
    let mut errors = FieldErrors::new();
    let name = if name.trim().is_empty() { "Authenticator app".to_owned() } else { name.to_owned() };
    let name = text::required_line("name", &name, text::TOKEN_NAME_MAX, &mut errors);
    let step = totp::verify(secret, code, unix_seconds, None);
    if step.is_none() {
        errors.insert(
            "code".into(),
            "That is not the app's code: type the six digits it shows now (and check its clock).".into(),
        );
    }
    Error::check(errors)?;
    crate::db::transaction(conn, |conn| {
        let apps = SecondFactor::of_user(conn, actor.user_id, true)?;
        if apps.len() >= MAX_APPS {
            return Err(Error::Conflict(format!("An account has at most {MAX_APPS} authenticator apps.")));
        }
        NewSecondFactor {
            user_id: actor.user_id,
            kind: "totp",
            name: name.as_deref().unwrap_or_default(),
            secret,
            last_step: step,
        }
        .insert(conn)?;
        audited(
            conn,
            actor,
            actor.user_id,
            "authenticator_apps",
            &apps.len().to_string(),
            &(apps.len() + 1).to_string(),
        )?;
        if apps.is_empty() {
            return Ok(Some(replace_recovery_codes(conn, actor.user_id)?));
        }
        Ok(None)
    })
}

/// Removes one of the actor's apps; the last takes the recovery codes with
/// it. Staff who must have a second step keep their last one.
pub fn remove_app(
    conn: &mut PgConnection,
    actor: &Actor,
    id: i64,
    staff_must_have_one: bool,
) -> Result<(), Error> {
    crate::db::transaction(conn, |conn| {
        let apps = SecondFactor::of_user(conn, actor.user_id, true)?;
        if !apps.iter().any(|app| app.id == id) {
            return Err(Error::NotFound("authenticator app"));
        }
        if apps.len() == 1 && staff_must_have_one && actor.is_staff() {
            return Err(Error::Conflict(
                "Staff sign in in two steps: add another authenticator app before removing this one.".into(),
            ));
        }
        SecondFactor::delete(conn, actor.user_id, id)?;
        if apps.len() == 1 {
            RecoveryCode::delete_all(conn, actor.user_id)?;
        }
        audited(
            conn,
            actor,
            actor.user_id,
            "authenticator_apps",
            &apps.len().to_string(),
            &(apps.len() - 1).to_string(),
        )
    })
}

/// New recovery codes for an account with a second step, replacing the old.
pub fn new_recovery_codes(conn: &mut PgConnection, actor: &Actor) -> Result<Vec<String>, Error> {
    crate::db::transaction(conn, |conn| {
        if !enrolled(conn, actor.user_id)? {
            return Err(Error::Conflict("Add an authenticator app first.".into()));
        }
        let codes = replace_recovery_codes(conn, actor.user_id)?;
        audited(conn, actor, actor.user_id, "recovery_codes", "old", "new")?;
        Ok(codes)
    })
}

fn replace_recovery_codes(conn: &mut PgConnection, user_id: i64) -> Result<Vec<String>, Error> {
    let codes: Vec<String> = (0..RECOVERY_CODES).map(|_| recovery_code()).collect();
    let hashes: Vec<String> = codes.iter().map(|code| code_hash(code)).collect();
    RecoveryCode::replace(conn, user_id, &hashes)?;
    Ok(codes)
}

/// A new recovery code: ten characters, shown as `abcde-fghjk`.
fn recovery_code() -> String {
    use argon2::password_hash::rand_core::{OsRng, RngCore};
    let mut code = String::with_capacity(11);
    while code.len() < 11 {
        let mut byte = [0u8; 1];
        OsRng.fill_bytes(&mut byte);
        // Only bytes below a multiple of the alphabet's size: no bias.
        let limit = 256 - 256 % CODE_ALPHABET.len();
        if usize::from(byte[0]) < limit {
            if code.len() == 5 {
                code.push('-');
            }
            code.push(char::from(CODE_ALPHABET[usize::from(byte[0]) % CODE_ALPHABET.len()]));
        }
    }
    code
}

/// A recovery code as kept: SHA-256 of its characters, lower case, without
/// separators. Codes are random enough that a fast hash is no weakness.
fn code_hash(typed: &str) -> String {
    let normalized: String =
        typed.chars().filter(|c| c.is_ascii_alphanumeric()).map(|c| c.to_ascii_lowercase()).collect();
    Sha256::digest(normalized.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// Takes `typed` as the account's second step: a code of one of its apps
/// (not used before), or one of its unused recovery codes (used up).
pub fn accept(conn: &mut PgConnection, user_id: i64, typed: &str, unix_seconds: i64) -> Result<bool, Error> {
    for app in SecondFactor::of_user(conn, user_id, true)? {
        if let Some(step) = totp::verify(&app.secret, typed, unix_seconds, app.last_step) {
            SecondFactor::used(conn, app.id, step)?;
            return Ok(true);
        }
    }
    let letters = typed.chars().filter(char::is_ascii_alphanumeric).count();
    if letters == 10 {
        return Ok(RecoveryCode::take(conn, user_id, &code_hash(typed))?);
    }
    Ok(false)
}

/// An admin takes away another account's second step (its apps and
/// recovery codes), audited; its owner signs in with the password alone
/// until adding an app again.
pub fn reset(conn: &mut PgConnection, actor: &Actor, user_id: i64) -> Result<User, Error> {
    policy::administer_users(actor)?;
    crate::db::transaction(conn, |conn| {
        let user = User::lock(conn, user_id).map_err(super::not_found_as("user"))?;
        let apps = SecondFactor::of_user(conn, user_id, true)?;
        SecondFactor::delete_all(conn, user_id)?;
        RecoveryCode::delete_all(conn, user_id)?;
        audited(conn, actor, user_id, "authenticator_apps", &apps.len().to_string(), "0")?;
        Ok(user)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovery_codes_are_random_and_read_the_same_however_typed() {
        let code = recovery_code();
        assert_eq!(code.len(), 11);
        assert_eq!(code.as_bytes()[5], b'-');
        assert!(code.chars().filter(|c| *c != '-').all(|c| CODE_ALPHABET.contains(&(c as u8))));
        assert_ne!(recovery_code(), code);
        assert_eq!(code_hash("abcde-fghjk"), code_hash(" ABCDE FGHJK "));
        assert_ne!(code_hash("abcde-fghjk"), code_hash("abcde-fghjm"));
    }
}
