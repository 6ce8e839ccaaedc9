//! Accounts: registration, reading and deleting users.

use diesel::prelude::*;

use super::audit::{self, Action, Changes, Subject};
use super::{not_found_as, unique_or};
use crate::auth::password;
use crate::error::{Error, FieldErrors};
use crate::models::{user, ApiToken, ListQuery, NewUser, Role, Session, Store, Total, User, UserFilter, Via};
use crate::policy::{self, Actor};
use crate::text;

/// Checks an email and password for a new account; returns the email normalised.
pub fn validate_new_account(raw_email: &str, password: &str) -> Result<String, Error> {
    let mut errors = FieldErrors::new();
    let email = text::email("email", raw_email, &mut errors);
    password::check_strength("password", password, email.as_deref(), &mut errors);
    Error::check(errors)?;
    Ok(email.unwrap_or_default())
}

/// Inserts a user whose password is already hashed. The audit record names
/// the new user as actor unless someone else (an admin, the command line) is.
pub fn create_user(
    conn: &mut PgConnection,
    email: &str,
    password_hash: &str,
    role: Role,
    via: Via,
    by: Option<&Actor>,
) -> Result<User, Error> {
    crate::db::transaction(conn, |conn| {
        let user = NewUser { email, password_hash, role }.insert(conn).map_err(|e| {
            unique_or(e, user::EMAIL_KEY, || Error::Conflict("This email is already registered.".into()))
        })?;
        let actor = by.copied().unwrap_or(Actor {
            user_id: user.id,
            role: user.role,
            via,
            fresh: true,
            personal_token: false,
        });
        let changes =
            Changes::new().field("email", None, Some(&user.email)).field("role", None, Some(user.role));
        audit::record(conn, &actor, Action::Create, Subject::user(user.id), changes)?;
        Ok(user)
    })
}

pub fn get(conn: &mut PgConnection, actor: &Actor, id: i64) -> Result<User, Error> {
    policy::view_user(actor, id)?;
    User::find(conn, id).map_err(not_found_as("user"))
}

/// Deletes an account; its sessions and tokens go with it, its stores stay
/// without an owner.
pub fn delete(conn: &mut PgConnection, actor: &Actor, id: i64) -> Result<(), Error> {
    policy::delete_user(actor, id)?;
    crate::db::transaction(conn, |conn| -> Result<(), Error> {
        let user = User::find(conn, id).map_err(not_found_as("user"))?;
        let changes =
            Changes::new().field("email", Some(&user.email), None).field("role", Some(user.role), None);
        // Recorded before the deletion: users deleting themselves cannot be
        // named as the actor afterwards, and the deletion clears the reference.
        audit::record(conn, actor, Action::Delete, Subject::user(id), changes)?;
        // Its stores stay, without an owner: a change to each of them.
        for store in Store::disown_all_of(conn, id)? {
            let changes = Changes::new().field("owner_id", Some(Some(id)), Some(None));
            audit::record(conn, actor, Action::Update, Subject::store(&store), changes)?;
        }
        User::delete(conn, id)?;
        Ok(())
    })?;
    tracing::warn!(event = "user_deleted", user_id = id, by = actor.user_id, "account deleted");
    Ok(())
}

/// What deleting some accounts takes with them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Holdings {
    pub live_sessions: i64,
    pub api_tokens: i64,
    /// Stores they own (which stay, without an owner).
    pub stores: i64,
}

/// The accounts of `ids` (by email; 404 if one is missing) and what
/// deleting them would take, in four statements however many they are.
pub fn deletion_summary(
    conn: &mut PgConnection,
    actor: &Actor,
    ids: &[i64],
) -> Result<(Vec<User>, Holdings), Error> {
    ids.iter().try_for_each(|&id| policy::delete_user(actor, id))?;
    let users = User::find_all(conn, ids)?;
    let mut distinct = ids.to_vec();
    distinct.sort_unstable();
    distinct.dedup();
    if users.len() != distinct.len() {
        return Err(Error::NotFound("user"));
    }
    let holdings = Holdings {
        live_sessions: Session::count_live_of(conn, ids)?,
        api_tokens: ApiToken::count_unrevoked_of(conn, ids)?,
        stores: Store::count_owned_by(conn, ids)?,
    };
    Ok((users, holdings))
}

/// A page of users for the admin panel.
pub fn list(
    conn: &mut PgConnection,
    actor: &Actor,
    list: &ListQuery,
    filter: UserFilter,
) -> Result<(Vec<User>, Total), Error> {
    policy::administer_users(actor)?;
    Ok(User::admin_list(conn, list, filter)?)
}

/// Changes a user's role and whether the account is active. Deactivating
/// ends the user's sessions and personal access tokens at once; a new role
/// ends the sessions, so that each login is made under the role's own rules
/// (staff and admins are never kept signed in for days). Admins cannot
/// demote or deactivate themselves, so there is always one left.
pub fn update_by_admin(
    conn: &mut PgConnection,
    actor: &Actor,
    id: i64,
    role: Role,
    active: bool,
    precondition: impl FnOnce(&User) -> Result<(), Error>,
) -> Result<User, Error> {
    policy::administer_users(actor)?;
    let (before, after) = crate::db::transaction(conn, |conn| {
        let current = User::lock(conn, id).map_err(not_found_as("user"))?;
        precondition(&current)?;
        policy::change_role_or_activity(actor, id, role != current.role || !active)?;
        let user = User::set_role_and_activity(conn, id, role, active)?;
        if !active || role != current.role {
            Session::revoke_all_of(conn, id, None)?;
        }
        if !active {
            ApiToken::revoke_all_of(conn, id)?;
        }
        let changes = Changes::new().field("role", Some(current.role), Some(user.role)).field(
            "is_active",
            Some(current.is_active),
            Some(user.is_active),
        );
        if !changes.is_empty() {
            audit::record(conn, actor, Action::Update, Subject::user(id), changes)?;
        }
        Ok::<_, Error>((current, user))
    })?;
    if before.role != after.role {
        tracing::warn!(
            event = "role_changed",
            user_id = id,
            by = actor.user_id,
            from = %before.role,
            to = %after.role,
            "role changed"
        );
    }
    if before.is_active != after.is_active {
        let event = if after.is_active { "user_reactivated" } else { "user_deactivated" };
        tracing::warn!(event, user_id = id, by = actor.user_id, "account activity changed");
    }
    Ok(after)
}
