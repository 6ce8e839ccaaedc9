//! The admin panel at `/admin`, for staff (users: admins only), and for
//! members as "Your stores": the same pages, showing them only the stores
//! they own with their items and tags (the services refuse the rest). Lists with
//! search, sorting, filters and pages; forms with inline errors; delete
//! confirmations that say what goes with an object; bulk delete; per-object
//! history; optimistic locking. Everything goes through the same services as
//! the API, so the same rules and audit records apply.

mod bulk;
mod dashboard;
pub mod export;
mod imports;
mod items;
mod listing;
mod pictures;
mod resource;
mod search;
mod stores;
mod tags;
mod urls;
mod users;
mod views;

use rocket::fairing::AdHoc;
use rocket::http::Status;
use rocket::outcome::Outcome;
use rocket::request::{self, FromRequest, Request};

use self::urls::{Section, DASHBOARD};
use crate::config::AppConfig;
use crate::db::Db;
use crate::models::Via;
use crate::policy::{self, Actor};
use crate::services::two_step;
use crate::web::WebUser;

pub fn stage() -> AdHoc {
    AdHoc::on_ignite("Admin panel", |rocket| async {
        rocket
            .mount(DASHBOARD, dashboard::routes())
            .mount(Section::Stores.list(), stores::routes())
            .mount(Section::Items.list(), items::routes())
            .mount(Section::Items.list(), pictures::routes())
            .mount(Section::Items.list(), bulk::routes())
            .mount(imports::IMPORTS, imports::routes())
            .mount(search::SEARCH, search::routes())
            .mount(Section::Tags.list(), tags::routes())
            .mount(Section::Users.list(), users::routes())
            .mount(Section::Users.list(), users::extra_routes())
    })
}

/// A signed-in user of the panel: staff see everything, members the stores
/// they own ("Your stores"). Anonymous visitors are sent to log in (401).
pub struct PanelUser {
    pub user: WebUser,
    pub actor: Actor,
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for PanelUser {
    type Error = ();

    async fn from_request(request: &'r Request<'_>) -> request::Outcome<Self, ()> {
        let user = match request.guard::<WebUser>().await {
            Outcome::Success(user) => user,
            Outcome::Error(e) => return Outcome::Error(e),
            Outcome::Forward(f) => return Outcome::Forward(f),
        };
        let actor = user.actor(Via::Admin);
        if policy::use_admin_panel(&actor).is_err() {
            return Outcome::Error((Status::Forbidden, ()));
        }
        // Staff who must sign in in two steps add theirs before anything else.
        let required = request.rocket().state::<AppConfig>().is_some_and(AppConfig::staff_two_step_required);
        if required && actor.is_staff() {
            let Outcome::Success(db) = request.guard::<Db>().await else {
                return Outcome::Error((Status::ServiceUnavailable, ()));
            };
            let user_id = actor.user_id;
            match db.run(move |conn| two_step::enrolled(conn, user_id)).await {
                Ok(true) => {}
                Ok(false) => {
                    request.local_cache(|| EnrolFirst(true));
                    return Outcome::Error((Status::Forbidden, ()));
                }
                Err(_) => return Outcome::Error((Status::ServiceUnavailable, ())),
            }
        }
        Outcome::Success(PanelUser { user, actor })
    }
}

/// Set on a request refused because its staff member has no second step
/// yet: the 403 page then sends them to add one.
pub struct EnrolFirst(pub bool);

/// An admin: the users section is theirs alone.
pub struct AdminOnly {
    pub user: WebUser,
    pub actor: Actor,
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for AdminOnly {
    type Error = ();

    async fn from_request(request: &'r Request<'_>) -> request::Outcome<Self, ()> {
        match request.guard::<PanelUser>().await {
            Outcome::Success(panel) if panel.actor.is_admin() => {
                Outcome::Success(AdminOnly { user: panel.user, actor: panel.actor })
            }
            Outcome::Success(_) => Outcome::Error((Status::Forbidden, ())),
            Outcome::Error(e) => Outcome::Error(e),
            Outcome::Forward(f) => Outcome::Forward(f),
        }
    }
}
