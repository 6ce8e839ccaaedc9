//! Two-step sign-in: an account adds authenticator apps (TOTP) and
//! passkeys (WebAuthn), and with its first gets ten single-use recovery
//! codes, kept hashed and shown once. A login of such an account asks for
//! the second step after the password and before any session exists (see
//! `sessions::finish_login`). Admins can take another account's second
//! step away, for one who lost their phone.

use chrono::{Duration, Utc};
use diesel::PgConnection;
use sha2::{Digest, Sha256};

use super::audit::{self, Action, Changes, Subject};
use crate::auth::passkeys::{self, RelyingParty};
use crate::auth::totp;
use crate::error::{Error, FieldErrors};
use crate::models::second_factor::{
    NewSecondFactor, PasskeyCeremony, RecoveryCode, SecondFactor, APP, PASSKEY, REGISTER, SIGN_IN,
};
use crate::models::User;
use crate::policy::{self, Actor};
use crate::text;

/// Recovery codes an account gets at a time.
pub const RECOVERY_CODES: usize = 10;
/// Authenticator apps an account may have; and passkeys.
pub const MAX_APPS: usize = 5;
pub const MAX_PASSKEYS: usize = 10;
/// How long a passkey ceremony may take.
pub const CEREMONY_MINUTES: i64 = 5;
/// What recovery codes are made of: no letters that read as others.
const CODE_ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";

/// An authenticator app or passkey, as the account page lists it.
#[derive(Debug, Clone)]
pub struct Factor {
    pub id: i64,
    pub name: String,
    pub added: chrono::DateTime<chrono::Utc>,
    pub last_used: Option<chrono::DateTime<chrono::Utc>>,
}

/// Where an account's second step stands.
#[derive(Debug, Clone)]
pub struct Overview {
    pub apps: Vec<Factor>,
    pub passkeys: Vec<Factor>,
    pub recovery_codes_left: i64,
}

pub fn overview(conn: &mut PgConnection, user_id: i64) -> Result<Overview, Error> {
    let (mut apps, mut passkeys) = (Vec::new(), Vec::new());
    for factor in SecondFactor::of_user(conn, user_id, false)? {
        let list = if factor.kind == PASSKEY { &mut passkeys } else { &mut apps };
        list.push(Factor {
            id: factor.id,
            name: factor.name,
            added: factor.created_at,
            last_used: factor.last_used_at,
        });
    }
    Ok(Overview { apps, passkeys, recovery_codes_left: RecoveryCode::left(conn, user_id)? })
}

/// Whether logging in to the account takes a second step.
pub fn enrolled(conn: &mut PgConnection, user_id: i64) -> Result<bool, Error> {
    Ok(SecondFactor::any_of(conn, user_id)?)
}

/// What the audit log calls how many of a kind an account has.
fn counted(kind: &str) -> &'static str {
    if kind == PASSKEY {
        "passkeys"
    } else {
        "authenticator_apps"
    }
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

/// A name for a new app or passkey: as typed, or `fallback`.
fn factor_name(name: &str, fallback: &str, errors: &mut FieldErrors) -> String {
    let name = if name.trim().is_empty() { fallback } else { name };
    text::required_line("name", name, text::TOKEN_NAME_MAX, errors).unwrap_or_default()
}

/// Adds `factor` to the actor's account, within the limit of its kind,
/// audited. The account's first second step comes with new recovery
/// codes, returned to be shown once.
fn add_factor(
    conn: &mut PgConnection,
    actor: &Actor,
    factor: NewSecondFactor<'_>,
) -> Result<Option<Vec<String>>, Error> {
    crate::db::transaction(conn, |conn| {
        let all = SecondFactor::of_user(conn, actor.user_id, true)?;
        let same = all.iter().filter(|f| f.kind == factor.kind).count();
        let (limit, what) = if factor.kind == PASSKEY {
            (MAX_PASSKEYS, "passkeys")
        } else {
            (MAX_APPS, "authenticator apps")
        };
        if same >= limit {
            return Err(Error::Conflict(format!("An account has at most {limit} {what}.")));
        }
        let added = factor.insert(conn).map_err(|error| match error {
            diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _) => {
                Error::Conflict("That passkey is already added to an account.".into())
            }
            other => other.into(),
        })?;
        audited(
            conn,
            actor,
            actor.user_id,
            counted(&added.kind),
            &same.to_string(),
            &(same + 1).to_string(),
        )?;
        if all.is_empty() {
            return Ok(Some(replace_recovery_codes(conn, actor.user_id)?));
        }
        Ok(None)
    })
}

/// Adds an authenticator app holding `secret`, once `code` shows that it
/// does; the account's new recovery codes if it is its first second step.
pub fn add_app(
    conn: &mut PgConnection,
    actor: &Actor,
    name: &str,
    secret: &[u8],
    code: &str,
    unix_seconds: i64,
) -> Result<Option<Vec<String>>, Error> {
    let mut errors = FieldErrors::new();
    let name = factor_name(name, "Authenticator app", &mut errors);
    let step = totp::verify(secret, code, unix_seconds, None);
    if step.is_none() {
        errors.insert(
            "code".into(),
            "That is not the app's code: type the six digits it shows now (and check its clock).".into(),
        );
    }
    Error::check(errors)?;
    let factor = NewSecondFactor {
        user_id: actor.user_id,
        kind: APP,
        name: &name,
        secret: Some(secret),
        last_step: step,
        passkey: None,
        credential_id: None,
    };
    add_factor(conn, actor, factor)
}

/// A passkey refused, as a problem with the form's `passkey` field.
fn refused(refusal: passkeys::Refusal) -> Error {
    Error::invalid("passkey", refusal.0)
}

/// A passkey ceremony begun: its id, and the options for the browser.
#[derive(Debug, Clone)]
pub struct Ceremony {
    pub id: i64,
    pub options: serde_json::Value,
}

fn ceremony_expiry() -> chrono::DateTime<Utc> {
    Utc::now() + Duration::minutes(CEREMONY_MINUTES)
}

/// The passkeys of an account, as webauthn-rs reads them, with their rows.
fn passkeys_of(factors: Vec<SecondFactor>) -> Vec<(SecondFactor, webauthn_rs::prelude::Passkey)> {
    factors
        .into_iter()
        .filter_map(|factor| {
            // A credential this version cannot read is left out, not fatal.
            let passkey = passkeys::restored(factor.passkey.as_ref()?).ok()?;
            Some((factor, passkey))
        })
        .collect()
}

/// Begins adding a passkey to the actor's account (`email`).
pub fn start_passkey(
    conn: &mut PgConnection,
    actor: &Actor,
    email: &str,
    party: &RelyingParty,
) -> Result<Ceremony, Error> {
    let existing = passkeys_of(SecondFactor::of_user(conn, actor.user_id, false)?);
    if existing.len() >= MAX_PASSKEYS {
        return Err(Error::Conflict(format!("An account has at most {MAX_PASSKEYS} passkeys.")));
    }
    let existing: Vec<_> = existing.into_iter().map(|(_, passkey)| passkey).collect();
    let started = party.start_registration(actor.user_id, email, &existing).map_err(refused)?;
    let id = PasskeyCeremony::begin(conn, actor.user_id, REGISTER, &started.state, ceremony_expiry())?;
    Ok(Ceremony { id, options: started.options })
}

/// Ends adding a passkey: `answer` is the browser's to ceremony `ceremony`;
/// the account's new recovery codes if it is its first second step.
pub fn add_passkey(
    conn: &mut PgConnection,
    actor: &Actor,
    party: &RelyingParty,
    ceremony: i64,
    name: &str,
    answer: &str,
) -> Result<Option<Vec<String>>, Error> {
    let mut errors = FieldErrors::new();
    let name = factor_name(name, "Passkey", &mut errors);
    Error::check(errors)?;
    let Some(state) = PasskeyCeremony::take(conn, ceremony, actor.user_id, REGISTER)? else {
        return Err(Error::invalid(
            "passkey",
            format!("Adding a passkey must take less than {CEREMONY_MINUTES} minutes: try again."),
        ));
    };
    let passkey = party.finish_registration(answer, &state).map_err(refused)?;
    let (stored, credential_id) =
        (passkeys::stored(&passkey).map_err(refused)?, passkeys::credential_id(&passkey));
    let factor = NewSecondFactor {
        user_id: actor.user_id,
        kind: PASSKEY,
        name: &name,
        secret: None,
        last_step: None,
        passkey: Some(&stored),
        credential_id: Some(&credential_id),
    };
    add_factor(conn, actor, factor)
}

/// What an account whose password was right can finish signing in with.
#[derive(Debug, Clone)]
pub struct Offered {
    pub apps: bool,
    pub passkeys: bool,
    /// A passkey sign-in begun, where the account has passkeys and the site
    /// is a relying party.
    pub ceremony: Option<Ceremony>,
}

/// What account `user_id` can finish signing in with; with its passkeys,
/// a sign-in ceremony begun for `party`.
pub fn offer(conn: &mut PgConnection, user_id: i64, party: Option<&RelyingParty>) -> Result<Offered, Error> {
    let factors = SecondFactor::of_user(conn, user_id, false)?;
    let apps = factors.iter().any(|factor| factor.kind == APP);
    let passkeys: Vec<_> = passkeys_of(factors).into_iter().map(|(_, passkey)| passkey).collect();
    let ceremony = match party {
        Some(party) if !passkeys.is_empty() => {
            let started = party.start_sign_in(&passkeys).map_err(refused)?;
            let id = PasskeyCeremony::begin(conn, user_id, SIGN_IN, &started.state, ceremony_expiry())?;
            Some(Ceremony { id, options: started.options })
        }
        _ => None,
    };
    Ok(Offered { apps, passkeys: !passkeys.is_empty(), ceremony })
}

/// Removes one of the actor's apps or passkeys; the last takes the
/// recovery codes with it. Staff who must have a second step keep their
/// last one.
pub fn remove(
    conn: &mut PgConnection,
    actor: &Actor,
    id: i64,
    staff_must_have_one: bool,
) -> Result<(), Error> {
    crate::db::transaction(conn, |conn| {
        let all = SecondFactor::of_user(conn, actor.user_id, true)?;
        let Some(removed) = all.iter().find(|factor| factor.id == id) else {
            return Err(Error::NotFound("second step"));
        };
        if all.len() == 1 && staff_must_have_one && actor.is_staff() {
            return Err(Error::Conflict(
                "Staff sign in in two steps: add another authenticator app or passkey before removing this one."
                    .into(),
            ));
        }
        SecondFactor::delete(conn, actor.user_id, id)?;
        if all.len() == 1 {
            RecoveryCode::delete_all(conn, actor.user_id)?;
        }
        let same = all.iter().filter(|factor| factor.kind == removed.kind).count();
        audited(
            conn,
            actor,
            actor.user_id,
            counted(&removed.kind),
            &same.to_string(),
            &(same - 1).to_string(),
        )
    })
}

/// New recovery codes for an account with a second step, replacing the old.
pub fn new_recovery_codes(conn: &mut PgConnection, actor: &Actor) -> Result<Vec<String>, Error> {
    crate::db::transaction(conn, |conn| {
        if !enrolled(conn, actor.user_id)? {
            return Err(Error::Conflict("Add an authenticator app or a passkey first.".into()));
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

/// What a login offers as its second step.
#[derive(Clone)]
pub enum Proof {
    /// A code of one of the account's apps, or one of its recovery codes.
    Code(String),
    /// A passkey's `answer` (the browser's JSON) to sign-in ceremony `ceremony`.
    Passkey { party: RelyingParty, ceremony: i64, answer: String },
}

impl std::fmt::Debug for Proof {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Proof::Code(_) => "Proof::Code(..)",
            Proof::Passkey { .. } => "Proof::Passkey(..)",
        })
    }
}

/// Takes `proof` as the account's second step: a code of one of its apps
/// (not used before), one of its unused recovery codes (used up), or a
/// passkey of its answering the challenge it was sent (once).
pub fn accept(
    conn: &mut PgConnection,
    user_id: i64,
    proof: &Proof,
    unix_seconds: i64,
) -> Result<bool, Error> {
    let factors = SecondFactor::of_user(conn, user_id, true)?;
    let typed = match proof {
        Proof::Code(typed) => typed,
        Proof::Passkey { party, ceremony, answer } => {
            let Some(state) = PasskeyCeremony::take(conn, *ceremony, user_id, SIGN_IN)? else {
                return Ok(false);
            };
            let Ok(result) = party.finish_sign_in(answer, &state) else {
                return Ok(false);
            };
            for (factor, mut passkey) in passkeys_of(factors) {
                if passkey.cred_id() == result.cred_id() {
                    passkey.update_credential(&result);
                    let kept = passkeys::stored(&passkey).map_err(refused)?;
                    SecondFactor::passkey_used(conn, factor.id, &kept)?;
                    return Ok(true);
                }
            }
            return Ok(false);
        }
    };
    for app in factors.iter().filter(|factor| factor.kind == APP) {
        let Some(secret) = &app.secret else { continue };
        if let Some(step) = totp::verify(secret, typed, unix_seconds, app.last_step) {
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

/// An admin takes away another account's second step (its apps, passkeys
/// and recovery codes), audited; its owner signs in with the password
/// alone until adding one again.
pub fn reset(conn: &mut PgConnection, actor: &Actor, user_id: i64) -> Result<User, Error> {
    policy::administer_users(actor)?;
    crate::db::transaction(conn, |conn| {
        let user = User::lock(conn, user_id).map_err(super::not_found_as("user"))?;
        let all = SecondFactor::of_user(conn, user_id, true)?;
        SecondFactor::delete_all(conn, user_id)?;
        RecoveryCode::delete_all(conn, user_id)?;
        let mut changes = Changes::new();
        for kind in [APP, PASSKEY] {
            let had = all.iter().filter(|factor| factor.kind == kind).count();
            if had > 0 {
                changes = changes.field(counted(kind), Some(had.to_string().as_str()), Some("0"));
            }
        }
        audit::record(conn, actor, Action::Update, Subject::user(user_id), changes)?;
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
