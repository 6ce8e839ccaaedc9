//! The web session: a private cookie naming a `sessions` row, checked on
//! every request, so that logging out or deactivation holds everywhere.

use rocket::http::{Cookie, CookieJar, SameSite, Status};
use rocket::outcome::Outcome;
use rocket::request::{self, FromRequest, Request};

use super::headers::Personal;
use crate::db::Db;
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

/// Resolves the session cookie once per request.
async fn resolve<'r>(request: &'r Request<'_>) -> &'r Option<WebUser> {
    request
        .local_cache_async(async {
            let id: i64 = request.cookies().get_private(SESSION_COOKIE)?.value().parse().ok()?;
            let db = request.guard::<Db>().await.succeeded()?;
            let found = db.run(move |conn| sessions::authenticate_web(conn, id)).await.ok();
            found.map(|(user, session)| WebUser { user, session })
        })
        .await
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for WebUser {
    type Error = ();

    async fn from_request(request: &'r Request<'_>) -> request::Outcome<Self, ()> {
        match resolve(request).await {
            Some(user) => {
                request.local_cache(|| Personal(true));
                Outcome::Success(user.clone())
            }
            None => Outcome::Error((Status::Unauthorized, ())),
        }
    }
}

/// The signed-in visitor if there is one; never fails.
pub struct MaybeUser(pub Option<WebUser>);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for MaybeUser {
    type Error = std::convert::Infallible;

    async fn from_request(request: &'r Request<'_>) -> request::Outcome<Self, Self::Error> {
        let user = resolve(request).await.clone();
        if user.is_some() {
            request.local_cache(|| Personal(true));
        }
        Outcome::Success(MaybeUser(user))
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
