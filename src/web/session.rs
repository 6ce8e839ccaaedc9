//! The web session: a private cookie naming a `sessions` row, checked on
//! every request, so that logging out or deactivation holds everywhere.

use rocket::http::{Cookie, CookieJar, SameSite, Status};
use rocket::outcome::Outcome;
use rocket::request::{self, FromRequest, Request};

use super::headers::Personal;
use crate::config::AppConfig;
use crate::db::Db;
use crate::error::Error;
use crate::models::{Session, User, Via};
use crate::policy::Actor;
use crate::services::sessions;

/// The session cookie's name. With secure cookies on it is `__Host-`
/// prefixed, so browsers accept it only over HTTPS, for this host alone
/// (no `Domain`), on `/`.
pub fn session_cookie(secure: bool) -> &'static str {
    if secure {
        "__Host-storefront_session"
    } else {
        "storefront_session"
    }
}

/// The device token of this browser's last login (see `flows::login`).
pub fn device_cookie(secure: bool) -> &'static str {
    if secure {
        "__Host-storefront_device"
    } else {
        "storefront_device"
    }
}

/// The cookie holding the CSRF token of a browser not signed in.
pub fn csrf_cookie(secure: bool) -> &'static str {
    if secure {
        "__Host-storefront_csrf"
    } else {
        "storefront_csrf"
    }
}

/// The cookie carrying a new personal token to the page that shows it once.
/// It is scoped to that page's path, so it cannot be `__Host-`; `__Secure-`
/// still keeps browsers from taking it over plain HTTP.
pub fn new_token_cookie(secure: bool) -> &'static str {
    if secure {
        "__Secure-storefront_new_token"
    } else {
        "storefront_new_token"
    }
}

/// Whether this deployment serves over HTTPS (`secure_cookies`).
pub(super) fn secure(request: &Request<'_>) -> bool {
    request.rocket().state::<AppConfig>().is_some_and(|config| config.secure_cookies)
}

/// A signed-in visitor. As a guard it fails with 401, which the catcher turns
/// into a redirect to the login page.
#[derive(Debug, Clone)]
pub struct WebUser {
    pub user: User,
    pub session: Session,
}

/// For this long after logging in, a web session counts as a fresh login:
/// enough to delete one's own store (the policy asks a bearer token the
/// same). Later, the page sends its user to log in again first.
pub const FRESH_LOGIN_MINUTES: i64 = 15;

impl WebUser {
    pub fn actor(&self, via: Via) -> Actor {
        let age = chrono::Utc::now() - self.session.created_at;
        let fresh = age < chrono::Duration::minutes(FRESH_LOGIN_MINUTES);
        Actor { user_id: self.user.id, role: self.user.role, via, fresh, personal_token: false }
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
            let Some((id, _)) = cookie_session(request) else {
                return Visitor::Anonymous;
            };
            let db = match request.guard::<Db>().await {
                Outcome::Success(db) => db,
                _ => return Visitor::Unknown(Status::ServiceUnavailable),
            };
            match db.run(move |conn| sessions::authenticate_web(conn, id)).await {
                Ok((user, session)) => {
                    crate::logging::note_user(request, user.id);
                    Visitor::SignedIn(Box::new(WebUser { user, session }))
                }
                Err(Error::Unauthenticated(_)) => Visitor::Anonymous,
                Err(Error::Unavailable) => Visitor::Unknown(Status::ServiceUnavailable),
                Err(other) => {
                    tracing::error!(request_id = %crate::logging::request_id(request), "session lookup failed: {other}");
                    Visitor::Unknown(Status::InternalServerError)
                }
            }
        })
        .await
}

/// The session the cookie names, and the account it was opened for: the
/// cookie's value is `session.user`, encrypted and signed with the secret key.
fn cookie_session(request: &Request<'_>) -> Option<(i64, Option<i64>)> {
    let cookie = request.cookies().get_private(session_cookie(secure(request)))?;
    let (session, user) = match cookie.value().split_once('.') {
        Some((session, user)) => (session.parse().ok()?, user.parse().ok()),
        None => (cookie.value().parse().ok()?, None),
    };
    Some((session, user))
}

/// The account whose session this browser's cookie names, whether or not
/// the session still holds: who typed a form sent after it ended.
pub(crate) fn cookie_owner(request: &Request<'_>) -> Option<i64> {
    cookie_session(request).and_then(|(_, user)| user)
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

fn expiry(at: chrono::DateTime<chrono::Utc>) -> Option<rocket::time::OffsetDateTime> {
    rocket::time::OffsetDateTime::from_unix_timestamp(at.timestamp()).ok()
}

/// Remembers the session in this browser: until the browser closes, or for
/// a session that lasts days ("keep me signed in"), until it expires.
pub fn set_cookie(cookies: &CookieJar<'_>, session: &Session, secure: bool) {
    let value = format!("{}.{}", session.id, session.user_id);
    let mut cookie = Cookie::build((session_cookie(secure), value))
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .path("/");
    cookie = match session.idle_minutes {
        None => cookie.expires(expiry(session.expires_at)),
        // Said explicitly: Rocket would otherwise keep it for a week.
        Some(_) => cookie.expires(None::<rocket::time::OffsetDateTime>),
    };
    cookies.add_private(cookie);
}

pub fn clear_cookie(cookies: &CookieJar<'_>, secure: bool) {
    cookies.remove_private(Cookie::build(session_cookie(secure)).path("/"));
}

/// The device token this browser was given at its last login, if any.
pub fn device_token(cookies: &CookieJar<'_>, secure: bool) -> Option<String> {
    cookies.get_private(device_cookie(secure)).map(|cookie| cookie.value().to_owned())
}

/// Keeps the device token of a login; it outlives sessions and logouts.
pub fn set_device_cookie(cookies: &CookieJar<'_>, token: String, days: i64, secure: bool) {
    let cookie = Cookie::build((device_cookie(secure), token))
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(secure)
        .path("/")
        .max_age(rocket::time::Duration::days(days));
    cookies.add_private(cookie);
}
