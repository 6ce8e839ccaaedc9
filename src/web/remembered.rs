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
//!
//! A page says which event its data is current up to, where its live
//! updates start. A kept page is current up to whatever this instance had
//! published when it was found in the cache (an event of what it shows
//! would have dropped it), so that number is written into it as it is sent:
//! however long a quiet store's page stays in memory, its visitors resume
//! from a recent event, never from one the history no longer holds.

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
use crate::events::Hub;

/// A request for a public page: the page as kept, or what rendering it needs.
pub enum Visit<'r> {
    /// The kept page, and the event it is current up to.
    Remembered(Arc<Representation>, Option<i64>),
    New(Layout, Render<'r>),
}

/// Renders a page, and keeps it when it may be kept.
pub struct Render<'r> {
    rocket: &'r Rocket<Orbit>,
    keep: Option<Keep>,
    /// The event the page's data is current up to, as its layout says.
    events_after: Option<i64>,
}

/// Leave to keep a page: taken before its data was read.
struct Keep {
    cache: Arc<ReadCache>,
    ticket: Ticket,
    key: Key,
}

/// What a public page answers.
pub enum Page {
    /// A page, and the event its data is current up to when it was kept.
    Shown(Status, Arc<Representation>, Option<i64>),
    /// A page number past the end of a list: its last page (this address)
    /// instead.
    PastEnd(String),
}

/// The page kept for this request, or leave to keep the one rendered for
/// it (`None` when it must not be kept or the cache is not in use).
fn remembered(request: &Request<'_>) -> Result<(Arc<Representation>, Option<i64>), Option<Keep>> {
    let anonymous = !crate::db::carries_credentials(request) && request.cookies().get("_flash").is_none();
    let cache = request.rocket().state::<Arc<ReadCache>>().filter(|_| anonymous).ok_or(None)?;
    let key = Key::address(&crate::request::site_url(request), request.uri());
    // Read before the cache: what the cache still holds then is current up
    // to at least this event.
    let newest = request.rocket().state::<Arc<Hub>>().and_then(|hub| hub.newest());
    if let Some(page) = cache.get(&key) {
        return Ok((page, newest));
    }
    Err(cache.ticket().map(|ticket| Keep { cache: Arc::clone(cache), ticket, key }))
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Visit<'r> {
    type Error = std::convert::Infallible;

    async fn from_request(request: &'r Request<'_>) -> request::Outcome<Self, Self::Error> {
        match remembered(request) {
            Ok((page, newest)) => Outcome::Success(Visit::Remembered(page, newest)),
            Err(keep) => match request.guard::<Layout>().await {
                Outcome::Success(layout) => {
                    let events_after = layout.events_after;
                    Outcome::Success(Visit::New(
                        layout,
                        Render { rocket: request.rocket(), keep, events_after },
                    ))
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
            Visit::Remembered(page, newest) => Err(Page::Shown(Status::Ok, page, newest)),
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
        if let (Some(Keep { cache, ticket, key }), Status::Ok) = (self.keep, status) {
            // Sent as it will be sent again: the same bytes and entity tag.
            let kept = Arc::new(to_keep(&html, self.events_after));
            cache.insert(ticket, key, scope, Arc::clone(&kept));
            return Ok(Page::Shown(status, kept, self.events_after));
        }
        let page = Representation::new(html.into_bytes(), ContentType::HTML, Vec::new());
        Ok(Page::Shown(status, Arc::new(page), None))
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

/// What the layout writes of the page's event position.
const POSITION: &str = "data-events-after=\"";

/// `html` as it is kept: without the number of the event it is current up
/// to (`events_after`), whose place it remembers.
fn to_keep(html: &str, events_after: Option<i64>) -> Representation {
    let written = events_after.map(|id| format!("{POSITION}{id}\""));
    match written.as_deref().and_then(|written| html.find(written).map(|at| (at, written))) {
        Some((at, written)) => {
            let place = at + POSITION.len();
            let mut body = html.as_bytes()[..place].to_vec();
            body.extend_from_slice(&html.as_bytes()[at + written.len() - 1..]);
            let mut page = Representation::new(body, ContentType::HTML, Vec::new());
            page.position_at = Some(place);
            page
        }
        None => Representation::new(html.as_bytes().to_vec(), ContentType::HTML, Vec::new()),
    }
}

/// A kept page with `position` written in, and its entity tag to match.
fn with_position(page: &Representation, position: i64) -> Option<Representation> {
    let place = page.position_at?;
    let number = position.to_string();
    let mut body = Vec::with_capacity(page.body.len() + number.len());
    body.extend_from_slice(&page.body[..place]);
    body.extend_from_slice(number.as_bytes());
    body.extend_from_slice(&page.body[place..]);
    Some(Representation {
        body: body.into(),
        content_type: page.content_type.clone(),
        etag: format!("\"{}-{number}\"", page.etag.trim_matches('"')),
        headers: page.headers.clone(),
        position_at: None,
    })
}

impl<'r> Responder<'r, 'static> for Page {
    fn respond_to(self, request: &'r Request<'_>) -> response::Result<'static> {
        match self {
            Page::Shown(status, page, position) => {
                let written = position.and_then(|position| with_position(&page, position));
                let page = written.as_ref().unwrap_or(&page);
                Ok(crate::api::respond::tagged_response(request, status, page))
            }
            Page::PastEnd(last) => Redirect::to(last).respond_to(request),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kept_page_is_sent_with_the_position_of_its_sending() {
        let html = r#"<body data-events-after="41"><p>41 items</p></body>"#;
        let kept = to_keep(html, Some(41));
        assert_eq!(&*kept.body, br#"<body data-events-after=""><p>41 items</p></body>"#);
        let sent = with_position(&kept, 1207).expect("a position to write");
        assert_eq!(&*sent.body, br#"<body data-events-after="1207"><p>41 items</p></body>"#);
        assert_ne!(sent.etag, with_position(&kept, 1208).unwrap().etag);
        let plain = to_keep("<body><p>no live updates</p></body>", Some(41));
        assert!(plain.position_at.is_none() && with_position(&plain, 7).is_none());
    }
}
