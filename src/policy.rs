//! Who may do what: every authorization rule of the application, in one place.
//! Services call these before they change anything; surfaces never decide.

use crate::error::{AuthFailure, Error};
use crate::models::{Role, Store, Via};

/// The authenticated user behind a request, as the services see them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Actor {
    pub user_id: i64,
    pub role: Role,
    pub via: Via,
    /// Whether the credentials come from a login just now (not a refresh or
    /// a personal access token). Destructive actions on one's own things need it.
    pub fresh: bool,
    /// Whether they are a personal access token, which can never be fresh.
    pub personal_token: bool,
}

impl Actor {
    pub fn is_staff(&self) -> bool {
        is_staff(self.role)
    }

    pub fn is_admin(&self) -> bool {
        is_admin(self.role)
    }

    fn owns(&self, store: &Store) -> bool {
        store.owner_id == Some(self.user_id)
    }
}

/// Staff and admins: the admin panel is theirs.
pub fn is_staff(role: Role) -> bool {
    matches!(role, Role::Staff | Role::Admin)
}

/// Admins: the users section is theirs.
pub fn is_admin(role: Role) -> bool {
    role == Role::Admin
}

/// Any signed-in user may open a store and becomes its owner.
pub fn create_store(_actor: &Actor) -> Result<(), Error> {
    Ok(())
}

/// Renaming a store, and creating, changing or deleting its items and tags:
/// its owner, or staff.
pub fn manage_store(actor: &Actor, store: &Store) -> Result<(), Error> {
    if actor.is_staff() || actor.owns(store) {
        Ok(())
    } else {
        Err(Error::Forbidden)
    }
}

/// A webhook endpoint for one store's events: its owner, or an admin.
/// (Without a store, an owner's endpoint gets their own stores' events and
/// an admin's every store's.)
pub fn watch_store(actor: &Actor, store: &Store) -> Result<(), Error> {
    if actor.is_admin() || actor.owns(store) {
        Ok(())
    } else {
        Err(Error::Forbidden)
    }
}

/// A webhook endpoint is managed by the account that registered it, or an
/// admin; to anyone else it does not exist.
pub fn manage_webhook(actor: &Actor, owner_id: i64) -> Result<(), Error> {
    if actor.is_admin() || actor.user_id == owner_id {
        Ok(())
    } else {
        Err(Error::NotFound("webhook endpoint"))
    }
}

/// Deleting a store: staff, or its owner with a fresh login.
pub fn delete_store(actor: &Actor, store: &Store) -> Result<(), Error> {
    if actor.is_staff() {
        Ok(())
    } else if actor.owns(store) {
        require_fresh(actor)
    } else {
        Err(Error::Forbidden)
    }
}

/// Seeing an account: its owner, or an admin.
pub fn view_user(actor: &Actor, user_id: i64) -> Result<(), Error> {
    if actor.is_admin() || actor.user_id == user_id {
        Ok(())
    } else {
        Err(Error::Forbidden)
    }
}

/// Deleting an account: an admin, or its owner with a fresh login.
pub fn delete_user(actor: &Actor, user_id: i64) -> Result<(), Error> {
    if actor.is_admin() && actor.via != Via::Api {
        // The admin panel: a signed-in session whose forms carry CSRF tokens.
        Ok(())
    } else if actor.is_admin() || actor.user_id == user_id {
        // A bearer token may have been copied; only a login just now proves
        // that its holder knows the password.
        require_fresh(actor)
    } else {
        Err(Error::Forbidden)
    }
}

/// The admin panel deletes other accounts only: one's own goes from the
/// account page, with a fresh login.
pub fn delete_user_in_admin_panel(actor: &Actor, user_id: i64) -> Result<(), Error> {
    if user_id == actor.user_id {
        return Err(Error::Conflict("You cannot delete your own account here.".into()));
    }
    delete_user(actor, user_id)
}

/// Changing an account's role or whether it is active (given what changes):
/// admins, on accounts other than their own, so that an admin always remains.
pub fn change_role_or_activity(actor: &Actor, user_id: i64, changes_anything: bool) -> Result<(), Error> {
    administer_users(actor)?;
    if user_id == actor.user_id && changes_anything {
        return Err(Error::invalid(
            "role",
            "cannot be changed on your own account, nor can you deactivate it",
        ));
    }
    Ok(())
}

/// Listing users, changing roles, deactivating: admins only.
pub fn administer_users(actor: &Actor) -> Result<(), Error> {
    if actor.is_admin() {
        Ok(())
    } else {
        Err(Error::Forbidden)
    }
}

/// The admin panel: staff manage everything there; members, as "Your
/// stores", the stores they own with their items and tags.
pub fn use_admin_panel(_actor: &Actor) -> Result<(), Error> {
    Ok(())
}

/// Whose stores the panel shows: everyone's to staff (`None`), their own to
/// members.
pub fn panel_scope(actor: &Actor) -> Option<i64> {
    (!actor.is_staff()).then_some(actor.user_id)
}

/// Opening a store's page in the panel (or that of one of its items or
/// tags): whoever may manage the store.
pub fn open_in_panel(actor: &Actor, store: &Store) -> Result<(), Error> {
    manage_store(actor, store)
}

pub fn require_fresh(actor: &Actor) -> Result<(), Error> {
    if actor.fresh {
        Ok(())
    } else if actor.personal_token {
        Err(Error::Unauthenticated(AuthFailure::FreshLoginRequired))
    } else {
        Err(Error::Unauthenticated(AuthFailure::FreshRequired))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    fn actor(user_id: i64, role: Role, fresh: bool) -> Actor {
        Actor { user_id, role, via: Via::Api, fresh, personal_token: false }
    }

    fn store_owned_by(owner: Option<i64>) -> Store {
        Store {
            id: 1,
            name: "S".into(),
            owner_id: owner,
            version: 1,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    #[test]
    fn stores_are_managed_by_their_owner_and_staff() {
        let store = store_owned_by(Some(1));
        assert!(manage_store(&actor(1, Role::Member, false), &store).is_ok());
        assert!(matches!(manage_store(&actor(2, Role::Member, true), &store), Err(Error::Forbidden)));
        assert!(manage_store(&actor(3, Role::Staff, false), &store).is_ok());
        assert!(manage_store(&actor(4, Role::Admin, false), &store).is_ok());
        let orphan = store_owned_by(None);
        assert!(matches!(manage_store(&actor(1, Role::Member, true), &orphan), Err(Error::Forbidden)));
    }

    #[test]
    fn owners_need_a_fresh_login_to_delete_a_store() {
        let store = store_owned_by(Some(1));
        assert!(matches!(
            delete_store(&actor(1, Role::Member, false), &store),
            Err(Error::Unauthenticated(AuthFailure::FreshRequired))
        ));
        assert!(delete_store(&actor(1, Role::Member, true), &store).is_ok());
        assert!(delete_store(&actor(3, Role::Staff, false), &store).is_ok());
        assert!(matches!(delete_store(&actor(2, Role::Member, true), &store), Err(Error::Forbidden)));
    }

    #[test]
    fn accounts_are_seen_by_their_owner_and_admins() {
        assert!(view_user(&actor(1, Role::Member, false), 1).is_ok());
        assert!(matches!(view_user(&actor(1, Role::Staff, false), 2), Err(Error::Forbidden)));
        assert!(view_user(&actor(1, Role::Admin, false), 2).is_ok());
        assert!(delete_user(&actor(1, Role::Member, true), 1).is_ok());
        assert!(matches!(
            delete_user(&actor(1, Role::Member, false), 1),
            Err(Error::Unauthenticated(AuthFailure::FreshRequired))
        ));
        assert!(matches!(delete_user(&actor(1, Role::Staff, true), 2), Err(Error::Forbidden)));
        assert!(delete_user(&actor(1, Role::Admin, true), 2).is_ok());
        assert!(matches!(
            delete_user(&actor(1, Role::Admin, false), 2),
            Err(Error::Unauthenticated(AuthFailure::FreshRequired))
        ));
        let in_the_panel = Actor { via: Via::Admin, ..actor(1, Role::Admin, false) };
        assert!(delete_user(&in_the_panel, 2).is_ok());
    }

    #[test]
    fn admins_keep_their_own_account_in_the_admin_panel() {
        let admin = Actor { via: Via::Admin, ..actor(1, Role::Admin, false) };
        assert!(delete_user_in_admin_panel(&admin, 2).is_ok());
        assert!(matches!(delete_user_in_admin_panel(&admin, 1), Err(Error::Conflict(_))));
        assert!(change_role_or_activity(&admin, 2, true).is_ok());
        assert!(change_role_or_activity(&admin, 1, false).is_ok());
        assert!(matches!(change_role_or_activity(&admin, 1, true), Err(Error::Invalid(_))));
        assert!(matches!(
            change_role_or_activity(&actor(3, Role::Staff, true), 2, true),
            Err(Error::Forbidden)
        ));
    }

    #[test]
    fn the_admin_panel_is_for_staff_and_its_users_section_for_admins() {
        assert_eq!([Role::Member, Role::Staff, Role::Admin].map(is_staff), [false, true, true]);
        assert_eq!([Role::Member, Role::Staff, Role::Admin].map(is_admin), [false, false, true]);
    }
}
