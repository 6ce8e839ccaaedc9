//! What every page's `base` layout shows: who is signed in, the CSRF token
//! for the logout form, and the flash message of the last action.

use rocket::outcome::Outcome;
use rocket::request::{self, FlashMessage, FromRequest, Request};
use serde::Serialize;
use std::sync::Arc;

use super::csrf::CsrfToken;
use super::session::MaybeUser;
use crate::events::Hub;
use crate::policy;

#[derive(Debug, Serialize)]
pub struct Layout {
    pub user: Option<Badge>,
    pub csrf_token: String,
    pub flash: Option<FlashView>,
    /// The newest event this instance had published when the page was
    /// asked for: its data includes every change up to there, so its live
    /// updates start after it.
    pub events_after: Option<i64>,
}

#[derive(Debug, Serialize)]
pub struct Badge {
    pub id: i64,
    pub email: String,
    pub is_staff: bool,
    pub is_admin: bool,
}

#[derive(Debug, Serialize)]
pub struct FlashView {
    /// `success` or `error`.
    pub kind: String,
    pub message: String,
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Layout {
    type Error = std::convert::Infallible;

    async fn from_request(request: &'r Request<'_>) -> request::Outcome<Self, Self::Error> {
        let MaybeUser(user) = request.guard::<MaybeUser>().await.succeeded().unwrap_or(MaybeUser(None));
        let CsrfToken(csrf_token) =
            request.guard::<CsrfToken>().await.succeeded().unwrap_or(CsrfToken(String::new()));
        let flash = request
            .guard::<Option<FlashMessage<'_>>>()
            .await
            .succeeded()
            .flatten()
            .map(|f| FlashView { kind: f.kind().to_owned(), message: f.message().to_owned() });
        let user = user.map(|u| Badge {
            id: u.user.id,
            is_staff: policy::is_staff(u.user.role),
            is_admin: policy::is_admin(u.user.role),
            email: u.user.email,
        });
        let events_after = request.rocket().state::<Arc<Hub>>().and_then(|hub| hub.newest());
        Outcome::Success(Layout { user, csrf_token, flash, events_after })
    }
}
