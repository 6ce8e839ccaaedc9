//! CSRF protection for every form: a token bound to the session (or, before
//! login, to a private cookie of this browser) that each form echoes back,
//! plus a same-origin check of `Origin` (or `Referer`). A failed check is
//! 403 and changes nothing.

use rocket::data::{Data, FromData, Outcome as DataOutcome};
use rocket::form::{Form, FromForm};
use rocket::http::{Cookie, SameSite, Status};
use rocket::outcome::Outcome;
use rocket::request::{self, FromRequest, Request};
use subtle::ConstantTimeEq;

use super::session::{csrf_cookie, resolve, secure, Visitor};

/// The token forms on this page must carry. When the session cannot be
/// looked up (an outage) the page is that status, not a form that would be
/// refused.
pub struct CsrfToken(pub String);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for CsrfToken {
    type Error = ();

    async fn from_request(request: &'r Request<'_>) -> request::Outcome<Self, Self::Error> {
        match expected_token(request, true).await {
            Ok(token) => Outcome::Success(CsrfToken(token.unwrap_or_default())),
            Err(status) => Outcome::Error((status, ())),
        }
    }
}

/// The token this browser's forms must carry: its session's, or before login
/// the one in its anonymous cookie (made on first use when `create` is set).
/// `Err` when the session could not be looked up (an outage).
async fn expected_token(request: &Request<'_>, create: bool) -> Result<Option<String>, Status> {
    match resolve(request).await {
        Visitor::SignedIn(user) => return Ok(user.session.csrf_token.clone()),
        Visitor::Unknown(status) => return Err(*status),
        Visitor::Anonymous => {}
    }
    let cookies = request.cookies();
    let name = csrf_cookie(secure(request));
    if let Some(cookie) = cookies.get_private(name) {
        return Ok(Some(cookie.value().to_owned()));
    }
    if !create {
        return Ok(None);
    }
    let token = crate::auth::random_token(32);
    let cookie = Cookie::build((name, token.clone())).http_only(true).same_site(SameSite::Lax).path("/");
    cookies.add_private(cookie);
    Ok(Some(token))
}

/// Forms that carry a `csrf_token` field.
pub trait CsrfProtected {
    fn csrf_token(&self) -> &str;
}

/// A form that passed the CSRF checks.
pub struct CheckedForm<T>(pub T);

/// Whether `Origin` (or, without it, `Referer`) names this very site; `None`
/// when the request has neither.
fn claimed_same_origin(request: &Request<'_>) -> Option<bool> {
    let host = request.headers().get_one("Host").unwrap_or_default();
    let claimed = request.headers().get_one("Origin").or_else(|| request.headers().get_one("Referer"))?;
    let authority = claimed.split_once("://").map(|(_, rest)| rest.split('/').next().unwrap_or_default());
    Some(authority.is_some_and(|authority| !host.is_empty() && authority.eq_ignore_ascii_case(host)))
}

/// Whether the request may come from this site. A request with neither
/// header comes from no browser page, and the token decides.
fn same_origin(request: &Request<'_>) -> bool {
    claimed_same_origin(request).unwrap_or(true)
}

/// Whether the request says it comes from a page of this very site, for
/// what is accepted without a token.
pub(super) fn stated_same_origin(request: &Request<'_>) -> bool {
    claimed_same_origin(request) == Some(true)
}

/// A security line for a refused form (the tokens themselves are never written).
pub(super) fn refused(request: &Request<'_>, reason: &'static str) {
    tracing::warn!(
        event = "csrf_refused",
        reason,
        request_id = %crate::logging::request_id(request),
        path = %request.uri().path(),
        client = request.client_ip().map(|ip| ip.to_string()),
        "form refused"
    );
}

#[rocket::async_trait]
impl<'r, T: FromForm<'r> + CsrfProtected + Send + 'r> FromData<'r> for CheckedForm<T> {
    type Error = ();

    async fn from_data(request: &'r Request<'_>, data: Data<'r>) -> DataOutcome<'r, Self, ()> {
        if !same_origin(request) {
            refused(request, "cross-origin");
            return Outcome::Error((Status::Forbidden, ()));
        }
        let form = match Form::<T>::from_data(request, data).await {
            Outcome::Success(form) => form.into_inner(),
            Outcome::Error((status, _)) => return Outcome::Error((status, ())),
            Outcome::Forward(forward) => return Outcome::Forward(forward),
        };
        let expected = match expected_token(request, false).await {
            Ok(expected) => expected.unwrap_or_default(),
            Err(status) => return Outcome::Error((status, ())),
        };
        let given = form.csrf_token();
        if expected.is_empty() || !bool::from(given.as_bytes().ct_eq(expected.as_bytes())) {
            refused(request, if given.is_empty() { "missing token" } else { "wrong token" });
            return Outcome::Error((Status::Forbidden, ()));
        }
        Outcome::Success(CheckedForm(form))
    }
}

/// Forms with nothing but their CSRF token (a logout, a delete, a revoke).
#[derive(FromForm)]
pub struct ConfirmForm {
    #[field(default = String::new())]
    pub csrf_token: String,
}

impl CsrfProtected for ConfirmForm {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}
