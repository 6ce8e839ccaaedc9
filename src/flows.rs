//! The three things that hash or verify a password between database steps:
//! registering, logging in and changing one's password. Each database step
//! is a synchronous service function; the hashing runs on `auth`'s password
//! workers, off the async threads and a few at a time. The surfaces call
//! these as they call the services; nothing below them calls these.

use crate::auth::jwt::TokenKeys;
use crate::auth::password;
use crate::config::AppConfig;
use crate::db::Connect;
use crate::error::{Error, FieldErrors};
use crate::models::{Role, User, Via};
use crate::services::accounts;
use crate::services::sessions::{self, Claimant, LoggedIn, LoginAttempt, Opening};

/// Hashes on a password worker.
pub async fn hash_password(password: String) -> Result<String, Error> {
    crate::auth::workers::passwords().run(move || password::hash(&password)).await?
}

/// Registers a member: validation, hashing, insertion. Registration never
/// grants more than `member`.
pub async fn register(db: &impl Connect, raw_email: &str, password: String, via: Via) -> Result<User, Error> {
    let email = accounts::validate_new_account(raw_email, &password)?;
    let hash = hash_password(password).await?;
    db.connection()
        .await?
        .run(move |conn| accounts::create_user(conn, &email, &hash, Role::Member, via, None))
        .await
}

/// Verifies an email and password and opens a session. The answer and the
/// time it takes are the same for an unknown email and a wrong password;
/// repeated failures are refused for a while (see [`sessions::throttle`]).
pub async fn login(
    db: &impl Connect,
    config: &AppConfig,
    keys: &TokenKeys,
    attempt: LoginAttempt,
) -> Result<LoggedIn, Error> {
    let claimant = Claimant::of(&attempt, keys);
    let (limits, checked) = (config.clone(), claimant.clone());
    let found =
        db.connection().await?.run(move |conn| sessions::check_login(conn, &limits, &checked)).await?;

    let (password, candidate) = (attempt.password, found.0.clone());
    let verified = crate::auth::workers::passwords()
        .run(move || match &candidate {
            Some(user) => password::verify(&password, user.password_hash()) && user.is_active,
            None => {
                password::verify_against_dummy(&password);
                false
            }
        })
        .await?;

    let LoginAttempt { kind, user_agent, remember, second_step, .. } = attempt;
    let opening = Opening { kind, user_agent, remember, second_step };
    let config = config.clone();
    let (user, session) = db
        .connection()
        .await?
        .run(move |conn| sessions::finish_login(conn, &config, &claimant, found, verified, opening))
        .await?;
    let device_token = keys.device_token(user.id)?;
    Ok(LoggedIn { user, session, device_token })
}

/// The second step of a web login whose password was right a moment ago
/// (`user_id`, as the pending-login cookie says): the code, throttled like
/// passwords, then the session.
pub async fn second_step(
    db: &impl Connect,
    config: &AppConfig,
    keys: &TokenKeys,
    user_id: i64,
    attempt: LoginAttempt,
) -> Result<LoggedIn, Error> {
    let claimant = Claimant::of(&attempt, keys);
    let LoginAttempt { kind, user_agent, remember, second_step, .. } = attempt;
    let opening = Opening { kind, user_agent, remember, second_step };
    let config = config.clone();
    let (user, session) = db
        .connection()
        .await?
        .run(move |conn| {
            let found = sessions::check_login(conn, &config, &claimant)?;
            // The password was verified for this account, which must still be active.
            let verified = found.0.as_ref().is_some_and(|user| user.id == user_id && user.is_active);
            sessions::finish_login(conn, &config, &claimant, found, verified, opening)
        })
        .await?;
    let device_token = keys.device_token(user.id)?;
    Ok(LoggedIn { user, session, device_token })
}

/// Changes the password after checking the current one; ends every other
/// session and every personal access token made before.
pub async fn change_password(
    db: &impl Connect,
    user: &User,
    keep_session: i64,
    current: String,
    new: String,
) -> Result<(), Error> {
    let mut errors = FieldErrors::new();
    password::check_strength("new_password", &new, Some(&user.email), &mut errors);
    Error::check(errors)?;
    let hash = user.password_hash().to_owned();
    let verified = crate::auth::workers::passwords().run(move || password::verify(&current, &hash)).await?;
    if !verified {
        return Err(Error::invalid("current_password", "That is not your current password."));
    }
    let new_hash = hash_password(new).await?;
    let user_id = user.id;
    db.connection()
        .await?
        .run(move |conn| sessions::set_password(conn, user_id, &new_hash, keep_session))
        .await
}
