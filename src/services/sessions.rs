//! Logins and the credentials they lead to. Every request's credentials are
//! checked here against the database, so that logging out, deactivation,
//! deletion and password changes hold at once on every instance.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;

use crate::auth::jwt::{Claims, TokenKeys, TokenType};
use crate::auth::personal_token;
use crate::config::AppConfig;
use crate::error::{AuthFailure, Error, SecondStep};
use crate::models::{
    ApiToken, Attempter, FailureCounts, FormDraft, LoginFailure, NewApiToken, NewSession, Role, Session,
    SessionKind, User,
};

/// Live sessions an account may have, web and API together; a login beyond
/// them ends the oldest.
pub const MAX_SESSIONS_PER_ACCOUNT: i64 = 50;

/// A signed-in user and the login or token they proved it with.
#[derive(Debug, Clone)]
pub struct Authenticated {
    pub user: User,
    pub credential: Credential,
    pub fresh: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    Session(i64),
    PersonalToken(i64),
}

/// Where a login attempt comes from, for throttling and the sessions list.
#[derive(Debug, Clone)]
pub struct LoginAttempt {
    pub email: String,
    pub password: String,
    /// The client's address as the deployment trusts it, or `"unknown"`.
    pub client: String,
    pub user_agent: Option<String>,
    pub kind: SessionKind,
    /// The device token this client got at an earlier login, if any.
    pub device_token: Option<String>,
    /// "Keep me signed in": honoured for members' web sessions only.
    pub remember: bool,
    /// The second step of an account that has one: a code of its
    /// authenticator app, one of its recovery codes, or a passkey.
    pub second_step: Option<crate::services::two_step::Proof>,
}

/// A successful login: the session, and a new device token for the client
/// to show next time.
#[derive(Debug, Clone)]
pub struct LoggedIn {
    pub user: User,
    pub session: Session,
    pub device_token: String,
}

/// Whether an attempt must wait, and how many seconds, given the failures
/// counted against it. A client with a device token of the account answers
/// only for its own failures; every other client shares the account's
/// allowance (and its address's), so that guessing stays capped however many
/// addresses it comes from, while the owner's devices keep working.
pub fn throttle(
    config: &AppConfig,
    counts: &FailureCounts,
    trusted: bool,
    now: DateTime<Utc>,
) -> Option<u64> {
    let window = Duration::minutes(config.login_window_minutes);
    let limits = if trusted {
        vec![(counts.device, config.login_failures_per_device, window)]
    } else {
        vec![
            (counts.account, config.login_failures_per_account, window),
            (counts.account_hour, config.login_failures_per_account_hour, Duration::hours(1)),
            (counts.client, config.login_failures_per_client, window),
        ]
    };
    limits
        .into_iter()
        .filter(|(tally, limit, _)| tally.count >= *limit)
        .map(|(tally, _, span)| {
            let oldest = tally.oldest.unwrap_or(now);
            (oldest + span - now).num_seconds().max(1) as u64
        })
        .max()
}

/// Who a login attempt names, once its email is normalised.
#[derive(Debug, Clone)]
pub struct Claimant {
    /// The key failures are counted under: the email as typed, lower-case,
    /// without control characters (PostgreSQL refuses NUL) and bounded.
    pub account: String,
    /// Whether such an email can belong to anyone (else it is not looked up).
    pub may_exist: bool,
    pub client: String,
    /// A genuine, unexpired device token: its user, id and when it was issued.
    pub device: Option<DeviceToken>,
}

#[derive(Debug, Clone)]
pub struct DeviceToken {
    pub user_id: i64,
    pub id: String,
    pub issued_at: DateTime<Utc>,
}

impl Claimant {
    pub fn of(attempt: &LoginAttempt, keys: &TokenKeys) -> Claimant {
        let typed = crate::text::normalize(&attempt.email).to_lowercase();
        let account: String = typed.chars().filter(|c| !c.is_control()).take(254).collect();
        let device = attempt
            .device_token
            .as_deref()
            .and_then(|token| keys.verify(token, TokenType::Device).ok())
            .and_then(|claims| {
                let (user_id, issued_at) = (claims.user_id().ok()?, claims.issued_at());
                Some(DeviceToken { user_id, id: claims.jti, issued_at })
            });
        Claimant { may_exist: account == typed, account, client: attempt.client.clone(), device }
    }
}

/// The first step of a login: the account the email names, and the device
/// token's id if it vouches for that account. Refuses the attempt when too
/// many failures are counted against it (see [`throttle`]).
pub fn check_login(
    conn: &mut PgConnection,
    config: &AppConfig,
    claimant: &Claimant,
) -> Result<(Option<User>, Option<String>), Error> {
    let key = &claimant.account;
    let user = if claimant.may_exist { User::find_by_email(conn, key)? } else { None };
    // It vouches for this account only, and only if it was given since the
    // password last changed: a device that knew an old password is no
    // device of the owner's.
    let device = claimant
        .device
        .clone()
        .filter(|device| {
            user.as_ref()
                .is_some_and(|user| user.id == device.user_id && check_user(user, device.issued_at).is_ok())
        })
        .map(|device| device.id);
    let who = Attempter { account: key, client: &claimant.client, device: device.as_deref() };
    let now = Utc::now();
    let window = Duration::minutes(config.login_window_minutes);
    let counts = LoginFailure::count(conn, who, now - window, now - Duration::hours(1))?;
    if let Some(retry_after_secs) = throttle(config, &counts, device.is_some(), now) {
        tracing::warn!(
            event = "login_throttled",
            user_id = user.as_ref().map(|user| user.id),
            account = %crate::logging::fingerprint(key),
            client = %claimant.client,
            trusted_device = device.is_some(),
            retry_after_secs,
            "login refused: too many failures"
        );
        return Err(Error::Throttled { retry_after_secs });
    }
    Ok((user, device))
}

/// The session a login opens.
#[derive(Debug, Clone)]
pub struct Opening {
    pub kind: SessionKind,
    pub user_agent: Option<String>,
    pub remember: bool,
    /// The second step, for an account that has one.
    pub second_step: Option<crate::services::two_step::Proof>,
}

/// The last step of a login: opens the session when the password was
/// `verified` for an active `user`, else records the failure (401).
pub fn finish_login(
    conn: &mut PgConnection,
    config: &AppConfig,
    claimant: &Claimant,
    (user, device): (Option<User>, Option<String>),
    verified: bool,
    opening: Opening,
) -> Result<(User, Session), Error> {
    let user_agent =
        opening.user_agent.map(|ua| ua.chars().filter(|c| !c.is_control()).take(200).collect::<String>());
    // Forms of web sessions echo this token; API sessions have no forms.
    let csrf_token = (opening.kind == SessionKind::Web).then(|| crate::auth::random_token(32));
    let opened = match user {
        Some(user) if verified => crate::db::transaction(conn, |conn| {
            // Before any session exists: the second step of an account
            // that has one; staff who must have one and have none may
            // not use the API until they add one (on the web).
            if crate::services::two_step::enrolled(conn, user.id)? {
                let Some(proof) = &opening.second_step else {
                    return Err(Error::SecondStep(SecondStep::Needed { user_id: user.id }));
                };
                if !crate::services::two_step::accept(conn, user.id, proof, Utc::now().timestamp())? {
                    return Err(Error::SecondStep(SecondStep::WrongCode));
                }
            } else if opening.kind == SessionKind::Api
                && config.staff_two_step_required()
                && user.role != Role::Member
            {
                return Err(Error::SecondStep(SecondStep::EnrolFirst));
            }
            if let Some(device) = &device {
                LoginFailure::forget_device(conn, device)?;
            }
            let now = Utc::now();
            let (expires_at, idle_minutes) = match opening.kind {
                SessionKind::Api => (now + Duration::days(config.refresh_token_days), None),
                SessionKind::Web if opening.remember && user.role == Role::Member => {
                    (now + Duration::days(config.remember_days), None)
                }
                SessionKind::Web => {
                    (now + Duration::hours(config.session_hours), Some(config.session_idle_minutes))
                }
            };
            let family = crate::auth::random_token(16);
            let session = NewSession {
                user_id: user.id,
                kind: opening.kind,
                expires_at,
                refresh_family: &family,
                user_agent: user_agent.as_deref(),
                csrf_token: csrf_token.as_deref(),
                idle_minutes,
            }
            .insert(conn)?;
            // However many logins, an account holds a bounded number of
            // sessions (and so of drafts, one per session): the oldest end.
            Session::revoke_all_but_newest(conn, user.id, MAX_SESSIONS_PER_ACCOUNT)?;
            Ok((user, session))
        }),
        _ => {
            let account = &claimant.account;
            let who = Attempter { account, client: &claimant.client, device: device.as_deref() };
            LoginFailure::record(conn, who)?;
            tracing::warn!(
                event = "login_failed",
                user_id = user.as_ref().map(|user| user.id),
                account = %crate::logging::fingerprint(account),
                client = %claimant.client,
                trusted_device = device.is_some(),
                "login failed"
            );
            Err(Error::Unauthenticated(AuthFailure::InvalidCredentials))
        }
    };
    // A wrong second step counts against the account like a wrong password.
    if let Err(Error::SecondStep(SecondStep::WrongCode)) = &opened {
        let account = &claimant.account;
        LoginFailure::record(
            conn,
            Attempter { account, client: &claimant.client, device: device.as_deref() },
        )?;
        tracing::warn!(
            event = "second_step_failed",
            account = %crate::logging::fingerprint(account),
            client = %claimant.client,
            "login failed at its second step"
        );
    }
    opened
}

fn revoked() -> Error {
    Error::Unauthenticated(AuthFailure::Revoked)
}

/// Whether the user may still use credentials issued at `issued_at`.
fn check_user(user: &User, issued_at: chrono::DateTime<Utc>) -> Result<(), Error> {
    // Tokens carry whole seconds, so compare at that precision.
    if !user.is_active || issued_at.timestamp() < user.tokens_valid_after.timestamp() {
        return Err(revoked());
    }
    Ok(())
}

/// A session or user that is gone has revoked the credential; any other
/// failure (an outage) stays what it is.
fn gone_is_revoked(error: diesel::result::Error) -> Error {
    match error {
        diesel::result::Error::NotFound => revoked(),
        other => other.into(),
    }
}

fn load_session(conn: &mut PgConnection, claims: &Claims) -> Result<(User, Session), Error> {
    let (session, user) = Session::find_with_user(conn, claims.sid).map_err(gone_is_revoked)?;
    if session.user_id != claims.user_id()? || session.kind != SessionKind::Api {
        return Err(Error::Unauthenticated(AuthFailure::InvalidToken));
    }
    if !session.is_live(Utc::now()) {
        return Err(revoked());
    }
    check_user(&user, claims.issued_at())?;
    Ok((user, session))
}

/// The user behind a verified access token, if its session still holds.
pub fn authenticate_access(conn: &mut PgConnection, claims: &Claims) -> Result<Authenticated, Error> {
    let (user, session) = load_session(conn, claims)?;
    Session::touch(conn, &session)?;
    Ok(Authenticated { user, credential: Credential::Session(session.id), fresh: claims.fresh })
}

/// The user behind a personal access token. Such tokens are never fresh.
pub fn authenticate_personal_token(conn: &mut PgConnection, secret: &str) -> Result<Authenticated, Error> {
    let invalid = || Error::Unauthenticated(AuthFailure::InvalidToken);
    let token = ApiToken::find_by_hash(conn, &personal_token::hash(secret))?.ok_or_else(invalid)?;
    let now = Utc::now();
    if !token.is_live(now) {
        return Err(if token.revoked_at.is_none() {
            Error::Unauthenticated(AuthFailure::Expired)
        } else {
            revoked()
        });
    }
    let user = User::find(conn, token.user_id).map_err(gone_is_revoked)?;
    check_user(&user, token.created_at)?;
    ApiToken::touch(conn, &token)?;
    Ok(Authenticated { user, credential: Credential::PersonalToken(token.id), fresh: false })
}

/// Rotates a refresh token: returns the user and the session's new refresh
/// generation. Presenting any but the newest generation revokes the session,
/// since it means the chain was copied.
pub fn refresh(conn: &mut PgConnection, claims: &Claims) -> Result<(User, Session), Error> {
    let (user, session) = load_session(conn, claims)?;
    if session.refresh_family.is_empty() {
        return Err(revoked());
    }
    if !Session::advance_refresh(conn, session.id, claims.gen)? {
        Session::revoke(conn, session.id)?;
        tracing::warn!(
            event = "refresh_token_replayed",
            user_id = user.id,
            "a used refresh token was presented again; its session is revoked"
        );
        return Err(revoked());
    }
    let session = Session::find(conn, session.id)?;
    Ok((user, session))
}

/// Ends the login behind the credential (or revokes the personal token).
pub fn logout(conn: &mut PgConnection, credential: Credential, user_id: i64) -> Result<(), Error> {
    match credential {
        Credential::Session(id) => Session::revoke(conn, id)?,
        Credential::PersonalToken(id) => usize::from(ApiToken::revoke(conn, user_id, id)?),
    };
    Ok(())
}

/// Issues the access and refresh tokens of a session.
pub fn tokens_for(keys: &TokenKeys, session: &Session, fresh: bool) -> Result<(String, String), Error> {
    let access = keys.access_token(session.user_id, session.id, fresh)?;
    let refresh = keys.refresh_token(session.user_id, session.id, session.refresh_generation)?;
    Ok((access, refresh))
}

/// Creates a personal access token for the user. The secret is returned
/// once and only its hash is kept.
pub fn create_personal_token(
    conn: &mut PgConnection,
    user_id: i64,
    raw_name: &str,
    expires_at: Option<chrono::DateTime<Utc>>,
) -> Result<(ApiToken, String), Error> {
    let mut errors = crate::error::FieldErrors::new();
    let name = crate::text::required_line("name", raw_name, crate::text::TOKEN_NAME_MAX, &mut errors);
    Error::check(errors)?;
    let generated = personal_token::generate();
    let token = NewApiToken {
        user_id,
        name: &name.unwrap_or_default(),
        token_hash: &generated.hash,
        prefix: &generated.prefix,
        expires_at,
    }
    .insert(conn)?;
    Ok((token, generated.secret))
}

/// The user's personal access tokens, live, expired and revoked.
pub fn personal_tokens(conn: &mut PgConnection, user_id: i64) -> Result<Vec<ApiToken>, Error> {
    Ok(ApiToken::of_user(conn, user_id)?)
}

/// Revokes one of the user's own personal access tokens. Returns whether it
/// was still live.
pub fn revoke_personal_token(conn: &mut PgConnection, user_id: i64, token_id: i64) -> Result<bool, Error> {
    Ok(ApiToken::revoke(conn, user_id, token_id)?)
}

/// The user behind a web session cookie, if the session still holds.
pub fn authenticate_web(conn: &mut PgConnection, session_id: i64) -> Result<(User, Session), Error> {
    let (session, user) = Session::find_with_user(conn, session_id).map_err(gone_is_revoked)?;
    if session.kind != SessionKind::Web || !session.is_live(Utc::now()) {
        return Err(revoked());
    }
    // A password change revokes the other sessions row by row; the one that
    // made the change goes on, so only deactivation is checked here. A role
    // change ends the sessions too; and whatever happened, only members may
    // have a session without an idle limit.
    let kept_signed_in = session.idle_minutes.is_none() && user.role != Role::Member;
    if !user.is_active || kept_signed_in {
        return Err(revoked());
    }
    Session::touch(conn, &session)?;
    Ok((user, session))
}

/// The user's sessions that still hold, newest first.
pub fn live_sessions(conn: &mut PgConnection, user_id: i64) -> Result<Vec<Session>, Error> {
    Ok(Session::live_of(conn, user_id)?)
}

/// Ends one of the user's own sessions. Returns whether it was live.
pub fn end_session(conn: &mut PgConnection, user_id: i64, session_id: i64) -> Result<bool, Error> {
    Ok(Session::revoke_of(conn, user_id, session_id)? == 1)
}

/// Keeps what a form held when it was sent after its session ended, for the
/// session its sender has just opened, to show again on the form's `page`.
pub fn keep_draft(conn: &mut PgConnection, session_id: i64, page: &str, body: &str) -> Result<(), Error> {
    FormDraft::keep(conn, session_id, page, body)?;
    Ok(())
}

/// The session's draft of the form on `page`, once.
pub fn take_draft(conn: &mut PgConnection, session_id: i64, page: &str) -> Result<Option<String>, Error> {
    Ok(FormDraft::take(conn, session_id, page)?)
}

/// Sets a new password hash (checked and made by `auth::flows`), and ends
/// every other session and every personal access token made before.
pub fn set_password(
    conn: &mut PgConnection,
    user_id: i64,
    new_hash: &str,
    keep_session: i64,
) -> Result<(), Error> {
    crate::db::transaction(conn, |conn| {
        User::set_password_hash(conn, user_id, new_hash)?;
        Session::revoke_all_of(conn, user_id, Some(keep_session))?;
        ApiToken::revoke_all_of(conn, user_id)?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use diesel::result::{DatabaseErrorKind, Error as DieselError};

    fn config() -> AppConfig {
        serde_json::from_value(serde_json::json!({"jwt_secret": "x".repeat(40)})).unwrap()
    }

    fn tally(count: i64, minutes_ago: i64, now: DateTime<Utc>) -> crate::models::Tally {
        crate::models::Tally { count, oldest: Some(now - Duration::minutes(minutes_ago)) }
    }

    #[test]
    fn a_trusted_device_answers_only_for_its_own_failures() {
        let (config, now) = (config(), Utc::now());
        // The account is under attack: every shared limit is reached.
        let attacked = FailureCounts {
            account: tally(10, 5, now),
            account_hour: tally(100, 50, now),
            client: tally(30, 5, now),
            device: tally(0, 0, now),
        };
        assert_eq!(throttle(&config, &attacked, true, now), None);
        // Ten minutes are left of the 15-minute window; the hour has 10 minutes too.
        assert_eq!(throttle(&config, &attacked, false, now), Some(600));
        let device_failed = FailureCounts { device: tally(10, 1, now), ..FailureCounts::default() };
        assert_eq!(throttle(&config, &device_failed, true, now), Some(14 * 60));
        assert_eq!(throttle(&config, &device_failed, false, now), None);
    }

    #[test]
    fn without_a_device_the_hourly_cap_holds_whatever_the_window() {
        let (config, now) = (config(), Utc::now());
        let below = FailureCounts { account_hour: tally(99, 40, now), ..FailureCounts::default() };
        assert_eq!(throttle(&config, &below, false, now), None);
        let capped = FailureCounts { account_hour: tally(100, 40, now), ..FailureCounts::default() };
        assert_eq!(throttle(&config, &capped, false, now), Some(20 * 60));
        let client = FailureCounts { client: tally(30, 14, now), ..FailureCounts::default() };
        assert_eq!(throttle(&config, &client, false, now), Some(60));
    }

    #[test]
    fn a_missing_session_revokes_but_an_outage_stays_an_outage() {
        assert!(matches!(
            gone_is_revoked(DieselError::NotFound),
            Error::Unauthenticated(AuthFailure::Revoked)
        ));
        let closed = DieselError::DatabaseError(
            DatabaseErrorKind::ClosedConnection,
            Box::new("server closed the connection unexpectedly".to_owned()),
        );
        assert!(matches!(gone_is_revoked(closed), Error::Unavailable));
    }
}
