//! Public pages from memory, for visitors who are not signed in.
//!
//! The home page, `/items`, `/search` and the pages of stores, items and
//! tags look the same to every visitor without a session: once rendered,
//! such a page is kept in the instance's read cache under the address it
//! was asked for, dropped by the events of the store it shows (by any event
//! for a page across stores), and sent again without the database or the
//! templates while nothing it shows has changed (see [`crate::cache`]).
//! Anyone with a session cookie or a bearer token, and anyone with a flash
//! message to see, gets a page rendered for them alone, and never one that
//! is kept.

use std::sync::Arc;

use rocket::http::{ContentType, Status};
use rocket::outcome::Outcome;
use rocket::request::{self, FromRequest, Request};
use rocket::response::{self, Redirect, Responder};
use rocket::{Orbit, Rocket};
use serde::Serialize;

use super::error::PageError;
use super::layout::Layout;
use super::paging::Paging;
use crate::cache::{Key, ReadCache, Representation, Scope, Ticket};
use crate::error::Error;

/// A request for a public page: the page as kept, or what rendering it needs.
pub enum Visit<'r> {
    Remembered(Arc<Representation>),
    New(Layout, Render<'r>),
}

/// Renders a page, and keeps it when it may be kept.
pub struct Render<'r> {
    rocket: &'r Rocket<Orbit>,
    keep: Option<Keep>,
}

/// Leave to keep a page: taken before its data was read.
struct Keep {
    cache: Arc<ReadCache>,
    ticket: Ticket,
    key: Key,
}

/// What a public page answers.
pub enum Page {
    Shown(Status, Arc<Representation>),
    /// A page number past the end of a list: its last page (this address)
    /// instead.
    PastEnd(String),
}

/// The page kept for this request, or leave to keep the one rendered for
/// it (`None` when it must not be kept or the cache is not in use).
fn remembered(request: &Request<'_>) -> Result<Arc<Representation>, Option<Keep>> {
    let anonymous = !crate::db::carries_credentials(request) && request.cookies().get("_flash").is_none();
    let cache = request.rocket().state::<Arc<ReadCache>>().filter(|_| anonymous).ok_or(None)?;
    let key = Key::Address(format!("{}{}", crate::request::site_url(request), request.uri()).into());
    if let Some(page) = cache.get(&key) {
        return Ok(page);
    }
    Err(cache.ticket().map(|ticket| Keep { cache: Arc::clone(cache), ticket, key }))
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Visit<'r> {
    type Error = std::convert::Infallible;

    async fn from_request(request: &'r Request<'_>) -> request::Outcome<Self, Self::Error> {
        match remembered(request) {
            Ok(page) => Outcome::Success(Visit::Remembered(page)),
            Err(keep) => match request.guard::<Layout>().await {
                Outcome::Success(layout) => {
                    Outcome::Success(Visit::New(layout, Render { rocket: request.rocket(), keep }))
                }
                Outcome::Error((status, never)) => Outcome::Error((status, never)),
                Outcome::Forward(status) => Outcome::Forward(status),
            },
        }
    }
}

impl<'r> Visit<'r> {
    /// The layout and renderer of a page to render, or the kept page.
    pub fn render(self) -> Result<(Layout, Render<'r>), Page> {
        match self {
            Visit::Remembered(page) => Err(Page::Shown(Status::Ok, page)),
            Visit::New(layout, render) => Ok((layout, render)),
        }
    }
}

impl Render<'_> {
    /// `template` rendered with `context`; a `200` is kept as showing `scope`.
    pub fn page(
        self,
        status: Status,
        scope: Scope,
        template: &str,
        context: impl Serialize,
    ) -> Result<Page, PageError> {
        let html = rocket_dyn_templates::Template::show(self.rocket, template.to_owned(), context)
            .ok_or_else(|| Error::Internal(format!("the template {template} did not render")))?;
        let page = Arc::new(Representation::new(html.into_bytes(), ContentType::HTML, Vec::new()));
        if let (Some(Keep { cache, ticket, key }), Status::Ok) = (self.keep, status) {
            cache.insert(ticket, key, scope, Arc::clone(&page));
        }
        Ok(Page::Shown(status, page))
    }

    /// A page of a list, rendered with the context `context` makes of its
    /// paging, or a redirect to the last page when past the end.
    pub fn listing<C: Serialize>(
        self,
        scope: Scope,
        paging: Paging,
        template: &str,
        context: impl FnOnce(Paging) -> C,
    ) -> Result<Page, PageError> {
        match paging.past_end() {
            Some(last) => Ok(Page::PastEnd(last.to_owned())),
            None => self.page(Status::Ok, scope, template, context(paging)),
        }
    }
}

impl<'r> Responder<'r, 'static> for Page {
    fn respond_to(self, request: &'r Request<'_>) -> response::Result<'static> {
        match self {
            Page::Shown(status, page) => Ok(crate::api::respond::tagged_response(request, status, &page)),
            Page::PastEnd(last) => Redirect::to(last).respond_to(request),
        }
    }
}
