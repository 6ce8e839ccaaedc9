//! The web session: a private cookie naming a `sessions` row, checked on
//! every request, so that logging out or deactivation holds everywhere.

use rocket::http::{Cookie, CookieJar, SameSite, Status};
use rocket::outcome::Outcome;
use rocket::request::{self, FromRequest, Request};

use super::headers::Personal;
use crate::db::Db;
use crate::error::Error;
use crate::models::{Session, User, Via};
use crate::policy::Actor;
use crate::services::sessions;

pub const SESSION_COOKIE: &str = "storefront_session";

/// A signed-in visitor. As a guard it fails with 401, which the catcher turns
/// into a redirect to the login page.
#[derive(Debug, Clone)]
pub struct WebUser {
    pub user: User,
    pub session: Session,
}

impl WebUser {
    pub fn actor(&self, via: Via) -> Actor {
        Actor { user_id: self.user.id, role: self.user.role, via, fresh: false }
    }
}

/// Who sent a request, by its session cookie.
#[derive(Debug, Clone)]
pub(super) enum Visitor {
    /// No cookie, or one whose session has ended.
    Anonymous,
    SignedIn(Box<WebUser>),
    /// The database could not tell (an outage is 503): never taken for
    /// "not signed in", which would send staff to the login page.
    Unknown(Status),
}

/// Resolves the session cookie once per request.
pub(super) async fn resolve<'r>(request: &'r Request<'_>) -> &'r Visitor {
    request
        .local_cache_async(async {
            let Some(id) =
                request.cookies().get_private(SESSION_COOKIE).and_then(|cookie| cookie.value().parse().ok())
            else {
                return Visitor::Anonymous;
            };
            let db = match request.guard::<Db>().await {
                Outcome::Success(db) => db,
                _ => return Visitor::Unknown(Status::ServiceUnavailable),
            };
            match db.run(move |conn| sessions::authenticate_web(conn, id)).await {
                Ok((user, session)) => Visitor::SignedIn(Box::new(WebUser { user, session })),
                Err(Error::Unauthenticated(_)) => Visitor::Anonymous,
                Err(Error::Unavailable) => Visitor::Unknown(Status::ServiceUnavailable),
                Err(other) => {
                    log::error!("session lookup failed: {other}");
                    Visitor::Unknown(Status::InternalServerError)
                }
            }
        })
        .await
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for WebUser {
    type Error = ();

    async fn from_request(request: &'r Request<'_>) -> request::Outcome<Self, ()> {
        match resolve(request).await {
            Visitor::SignedIn(user) => {
                request.local_cache(|| Personal(true));
                Outcome::Success(WebUser::clone(user))
            }
            Visitor::Anonymous => Outcome::Error((Status::Unauthorized, ())),
            Visitor::Unknown(status) => Outcome::Error((*status, ())),
        }
    }
}

/// The signed-in visitor if there is one; never fails.
pub struct MaybeUser(pub Option<WebUser>);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for MaybeUser {
    type Error = std::convert::Infallible;

    async fn from_request(request: &'r Request<'_>) -> request::Outcome<Self, Self::Error> {
        match resolve(request).await {
            Visitor::SignedIn(user) => {
                request.local_cache(|| Personal(true));
                Outcome::Success(MaybeUser(Some(WebUser::clone(user))))
            }
            // A page that only shows who is signed in goes on without it;
            // its own reads meet the same outage and say so.
            Visitor::Anonymous | Visitor::Unknown(_) => Outcome::Success(MaybeUser(None)),
        }
    }
}

/// Remembers the session in this browser.
pub fn set_cookie(cookies: &CookieJar<'_>, session: &Session, secure: bool) {
    let cookie = Cookie::build((SESSION_COOKIE, session.id.to_string()))
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .path("/")
        .expires(rocket::time::OffsetDateTime::from_unix_timestamp(session.expires_at.timestamp()).ok());
    cookies.add_private(cookie);
}

pub fn clear_cookie(cookies: &CookieJar<'_>) {
    cookies.remove_private(Cookie::build(SESSION_COOKIE).path("/"));
}
