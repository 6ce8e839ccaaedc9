//! `GET /api/events`: the live changes of the catalogue as Server-Sent Events.

use std::sync::Arc;
use std::time::Duration;

use rocket::http::Status;
use rocket::request::{self, FromRequest, Request};
use rocket::response::stream::{Event, EventStream};
use rocket::response::{self as rocket_response, Responder};
use rocket::tokio::sync::broadcast::error::RecvError;
use rocket::{get, routes, Route, Shutdown, State};
use serde::Serialize;
use utoipa::ToSchema;

use super::guards::QueryParams;
use super::problem::Problem;
use crate::config::AppConfig;
use crate::db::DbOnDemand;
use crate::error::{Error, FieldErrors};
use crate::events::{Hub, Published, Refusal};
use crate::request::ClientAddress;
use crate::services::events::{self as history, StreamStart};
use crate::views::EventView;

pub fn routes() -> Vec<Route> {
    routes![events]
}

/// How long a browser waits before it reconnects a dropped stream.
const RETRY_ADVICE: Duration = Duration::from_secs(2);
/// How long a client turned away for lack of room should wait.
const FULL_RETRY_SECONDS: u64 = 10;

/// Sent instead of events a client can no longer get: it resumed from an id
/// older than the history, or fell too far behind while connected. The
/// client should reload what it shows; the stream goes on from `last_event_id`.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Resync)]
pub struct ResyncView {
    /// `too_old` or `fell_behind`.
    #[schema(example = "too_old")]
    pub reason: &'static str,
    /// The stream is current up to this event once the client has reloaded.
    pub last_event_id: i64,
}

/// The `Last-Event-ID` header, which a browser sends when it reconnects.
pub struct LastEventId(Option<String>);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for LastEventId {
    type Error = std::convert::Infallible;

    async fn from_request(request: &'r Request<'_>) -> request::Outcome<Self, Self::Error> {
        request::Outcome::Success(LastEventId(request.headers().get_one("Last-Event-ID").map(str::to_owned)))
    }
}

fn event_id(raw: &str) -> Option<i64> {
    raw.trim().parse::<i64>().ok().filter(|&id| id >= 0 && !raw.trim().starts_with('+'))
}

/// Reads `store_id` and where to resume from; the header wins over the query.
fn stream_request(params: &QueryParams, header: &LastEventId) -> Result<(Option<i64>, Option<i64>), Error> {
    let mut errors = FieldErrors::new();
    let store_id = params.single("store_id", &mut errors).and_then(|raw| {
        let id = event_id(raw).filter(|&id| id > 0);
        if id.is_none() {
            errors.insert("store_id".into(), "must be a positive integer id".into());
        }
        id
    });
    let query = params.single("last_event_id", &mut errors).map(|raw| (raw.to_owned(), "last_event_id"));
    let resume = header.0.clone().map(|raw| (raw, "Last-Event-ID")).or(query).and_then(|(raw, name)| {
        let id = event_id(&raw);
        if id.is_none() {
            errors.insert(name.into(), "must be an event id (a non-negative integer)".into());
        }
        id
    });
    Error::check(errors)?;
    Ok((store_id, resume))
}

fn sse(event: &Published) -> Event {
    Event::data(event.data.clone()).event(event.kind.as_str()).id(event.id.to_string())
}

fn resync(reason: &'static str, position: i64) -> Event {
    Event::json(&ResyncView { reason, last_event_id: position }).event("resync").id(position.to_string())
}

/// The live changes of stores, items, tags and links, as Server-Sent Events.
///
/// Each event has an `id:` (growing in the order changes become visible), an `event:` name (the
/// kind: `store.created`, `item.updated`, `item.tags_changed`, `tag.deleted`,
/// ...) and a JSON `data:` line (an `Event`). A store's deletion takes its
/// items, tags and links with it: no separate events are sent for them.
///
/// The stream opens with a `retry:` advice and the `id:` it is current up to,
/// sends a comment as heartbeat when idle (every 2 seconds by default), and
/// never ends on its own. To resume without missing or repeating an event,
/// reconnect with `Last-Event-ID` (browsers do so by themselves) or
/// `last_event_id`. When that id is older than the kept history, or a
/// connected client falls too far behind, the stream sends one `resync`
/// event (`Resync`): reload what you show, then carry on.
#[utoipa::path(get, path = "/api/events", tag = "events",
    params(
        ("store_id" = Option<i64>, Query, minimum = 1, description = "Only the events of this store"),
        ("last_event_id" = Option<i64>, Query, minimum = 0,
            description = "Resume after this event; the `Last-Event-ID` header wins"),
        ("Last-Event-ID" = Option<String>, Header, pattern = "^[0-9]{1,18}$",
            description = "Resume after this event"),
    ),
    responses(
        (status = 200, description = "An endless stream of events; `data:` is an `Event`, or a \
            `Resync` for the event named `resync`", content_type = "text/event-stream", body = EventView),
        (status = 429, description = "This client holds as many streams as one client may \
            (`too_many_streams_from_client`)",
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 503, description = "The instance serves as many streams as it may, or the database \
            is unavailable",
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    ))]
#[get("/events")]
async fn events(
    hub: &State<Arc<Hub>>,
    config: &State<AppConfig>,
    pool: DbOnDemand<'_>,
    params: QueryParams,
    last_event_id: LastEventId,
    client: ClientAddress,
    mut shutdown: Shutdown,
) -> Result<LiveStream<impl rocket::futures::Stream<Item = Event> + Send>, Problem> {
    let (store_id, resume) = stream_request(&params, &last_event_id)?;
    let slot = hub.admit(&client.0).map_err(|refusal| {
        let problem = match refusal {
            Refusal::Full => Problem::new(
                Status::ServiceUnavailable,
                "too_many_streams",
                "This server holds as many event streams as it may. Try again shortly.",
            ),
            Refusal::ClientFull => Problem::new(
                Status::TooManyRequests,
                "too_many_streams_from_client",
                "You hold as many event streams as one client may. Close one first.",
            ),
        };
        problem.with_header("Retry-After", FULL_RETRY_SECONDS.to_string())
    })?;
    // Subscribed before reading the history: whatever commits meanwhile is
    // in one or the other, and ids tell the overlap.
    let mut live = hub.subscribe();
    let backlog = config.events_backlog;
    let db = pool.connect().await?;
    let StreamStart { mut position, replay, resync: must_resync } =
        db.read(move |conn| history::start(conn, resume, store_id, backlog)).await?;
    drop(db);
    let hub = Arc::clone(hub);
    let stream = EventStream! {
        let _slot = slot;
        yield Event::retry(RETRY_ADVICE).id(position.to_string());
        if must_resync {
            yield resync("too_old", position);
        }
        for event in replay {
            yield sse(&Published::from(event));
        }
        loop {
            rocket::tokio::select! {
                received = live.recv() => match received {
                    Ok(event) => {
                        if event.id > position && store_id.is_none_or(|id| id == event.store_id) {
                            position = event.id;
                            yield sse(&event);
                        }
                    }
                    Err(RecvError::Lagged(_)) => {
                        position = hub.newest().unwrap_or(position);
                        yield resync("fell_behind", position);
                    }
                    Err(RecvError::Closed) => break,
                },
                _ = &mut shutdown => break,
            }
        }
    };
    Ok(LiveStream(stream.heartbeat(Duration::from_secs(config.events_heartbeat_seconds))))
}

/// An event stream that proxies pass through at once instead of buffering.
pub struct LiveStream<S>(EventStream<S>);

impl<'r, S: rocket::futures::Stream<Item = Event> + Send + 'r> Responder<'r, 'r> for LiveStream<S> {
    fn respond_to(self, request: &'r Request<'_>) -> rocket_response::Result<'r> {
        let mut response = self.0.respond_to(request)?;
        response.set_raw_header("X-Accel-Buffering", "no");
        Ok(response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_ids_are_non_negative_integers() {
        assert_eq!(event_id("0"), Some(0));
        assert_eq!(event_id("41"), Some(41));
        for bad in ["", "-1", "+1", "1.5", "abc", "99999999999999999999"] {
            assert_eq!(event_id(bad), None, "{bad}");
        }
    }
}
