//! Webhooks: events pushed to the endpoints that want them, signed as the
//! Standard Webhooks specification says.
//!
//! The event sequencer makes one delivery per event and endpoint as it
//! numbers the event (`events::sequencer`), so deliveries exist exactly
//! once and in event order. Every instance runs a few workers. A worker
//! takes an endpoint whose next delivery is due, with `FOR UPDATE SKIP
//! LOCKED` and a lease, so that no other worker of any instance takes it
//! meanwhile, and sends its deliveries one at a time, in order, for up to
//! half a minute; then lets it go. A delivery that fails is retried with
//! growing delays for about three days ([`RETRY_AFTER_SECS`]), the
//! endpoint's later deliveries waiting behind it, and then fails for good;
//! an endpoint whose every attempt has failed for `webhooks_disable_after_hours`
//! is disabled. Workers wake when events are numbered, and otherwise look
//! once a second for retries that have come due.

pub mod address;
pub mod client;
pub mod signature;

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use diesel::prelude::*;
use rocket::fairing::AdHoc;

use crate::config::AppConfig;
use crate::db::DbPool;
use crate::error::Error;
use crate::events::hub::Hub;
use crate::models::event::StoredEvent;
use crate::models::webhook::{NewWebhookAttempt, Outcome, WebhookDelivery, WebhookEndpoint};
use crate::schema::events;
use crate::views::EventView;

/// The waits before each retry of a failed delivery: after the first
/// attempt, 5 seconds, 5 and 30 minutes, 2, 5, 10, 14, 20 and 20 hours;
/// about three days in all, ten attempts.
pub const RETRY_AFTER_SECS: [i64; 9] = [5, 300, 1800, 7200, 18_000, 36_000, 50_400, 72_000, 72_000];
/// How long a worker holds an endpoint at most: longer than it works on
/// one ([`WORK_FOR`]) plus an attempt's time limit and the database's.
const LEASE: Duration = Duration::from_secs(90);
/// How long a worker keeps taking an endpoint's deliveries before letting
/// others have a turn.
const WORK_FOR: Duration = Duration::from_secs(30);
/// How often idle workers look for retries come due.
const IDLE_LOOK: Duration = Duration::from_secs(1);

/// What workers need, from the configuration.
#[derive(Debug, Clone)]
struct Settings {
    rules: client::Rules,
    disable_after: chrono::Duration,
    budget: Duration,
}

/// Starts this instance's delivery workers.
pub fn stage() -> AdHoc {
    AdHoc::on_liftoff("Webhook workers", |rocket| {
        Box::pin(async move {
            let (Some(pool), Some(config)) = (DbPool::pool(rocket).cloned(), rocket.state::<AppConfig>())
            else {
                return;
            };
            let settings = Arc::new(Settings {
                rules: client::Rules::of(config),
                disable_after: chrono::Duration::hours(config.webhooks_disable_after_hours),
                budget: Duration::from_secs(config.database_budget_seconds),
            });
            let hub = rocket.state::<Arc<Hub>>().cloned();
            for _ in 0..config.webhook_workers {
                let worker = Worker { pool: pool.clone(), settings: settings.clone() };
                let wake = hub.as_ref().map(|hub| hub.subscribe());
                rocket::tokio::spawn(worker.run(wake, rocket.shutdown()));
            }
        })
    })
}

struct Worker {
    pool: crate::db::BackgroundPool,
    settings: Arc<Settings>,
}

impl Worker {
    async fn db<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut PgConnection) -> Result<T, Error> + Send + 'static,
    ) -> Result<T, Error> {
        crate::db::in_background(&self.pool, self.settings.budget, work).await
    }

    async fn run(
        self,
        mut wake: Option<rocket::tokio::sync::broadcast::Receiver<Arc<crate::events::hub::Published>>>,
        mut shutdown: rocket::Shutdown,
    ) {
        loop {
            let lease = LEASE.as_secs_f64();
            match self.db(move |conn| Ok(WebhookEndpoint::claim_due(conn, lease)?)).await {
                Ok(Some(endpoint)) => {
                    self.work_on(endpoint).await;
                    continue;
                }
                Ok(None) => {}
                Err(error) => tracing::warn!("webhook worker: {error}"),
            }
            let woken = async {
                match wake.as_mut() {
                    Some(wake) => {
                        let _ = wake.recv().await;
                    }
                    None => std::future::pending().await,
                }
            };
            rocket::tokio::select! {
                _ = woken => {}
                _ = rocket::tokio::time::sleep(IDLE_LOOK) => {}
                _ = &mut shutdown => return,
            }
        }
    }

    /// Sends the endpoint's due deliveries in order, until one fails or
    /// its turn is over; then lets the endpoint go.
    async fn work_on(&self, endpoint: WebhookEndpoint) {
        let started = Instant::now();
        let id = endpoint.id;
        while started.elapsed() < WORK_FOR {
            let next = match self.db(move |conn| next_with_body(conn, id)).await {
                Ok(Some(next)) => next,
                Ok(None) => break,
                Err(error) => {
                    tracing::warn!(endpoint = id, "webhook worker: {error}");
                    break;
                }
            };
            if !self.deliver(&endpoint, next).await {
                break;
            }
        }
        if let Err(error) = self.db(move |conn| Ok(WebhookEndpoint::release(conn, id)?)).await {
            tracing::warn!(endpoint = id, "webhook worker: {error}");
        }
    }

    /// One attempt at `delivery`, recorded; whether it was delivered.
    async fn deliver(&self, endpoint: &WebhookEndpoint, (delivery, body): (WebhookDelivery, String)) -> bool {
        let message = format!("msg_{}", delivery.event_id);
        let now = Utc::now();
        let timestamp = now.timestamp();
        let signed = signature::header(&endpoint.signing_secrets(now), &message, timestamp, body.as_bytes());
        let headers = [
            ("webhook-id", message),
            ("webhook-timestamp", timestamp.to_string()),
            ("webhook-signature", signed),
        ];
        let attempt = client::send(&endpoint.url, &headers, body.into_bytes(), &self.settings.rules).await;
        let delivered = attempt.delivered();
        let outcome = if delivered {
            Outcome::Delivered
        } else {
            match RETRY_AFTER_SECS.get(usize::try_from(delivery.attempts).unwrap_or(usize::MAX)) {
                Some(wait) => Outcome::RetryAt(Utc::now() + chrono::Duration::seconds(*wait)),
                None => Outcome::Failed,
            }
        };
        tracing::info!(
            event = "webhook_attempt",
            endpoint = endpoint.id,
            delivery = delivery.id,
            status = attempt.status,
            error = attempt.error.as_deref(),
            duration_ms = attempt.duration.as_millis() as u64,
            "webhook attempt"
        );
        let (endpoint_id, disable_after) = (endpoint.id, self.settings.disable_after);
        let recorded = self
            .db(move |conn| {
                crate::db::transaction(conn, |conn| {
                    let record = NewWebhookAttempt {
                        delivery_id: delivery.id,
                        duration_ms: i32::try_from(attempt.duration.as_millis()).unwrap_or(i32::MAX),
                        status: attempt.status.map(i32::from),
                        error: attempt.error.as_deref(),
                        response: &attempt.response,
                    };
                    WebhookDelivery::attempted(conn, delivery.id, &record, outcome)?;
                    WebhookEndpoint::attempted(conn, endpoint_id, delivered, disable_after)?;
                    Ok(())
                })
            })
            .await;
        if let Err(error) = recorded {
            tracing::warn!(endpoint = endpoint_id, "a webhook attempt could not be recorded: {error}");
            return false;
        }
        delivered
    }
}

/// The endpoint's next due delivery and what it sends: the event as the
/// stream shows it, rendered and kept at the first attempt. A delivery
/// whose event is no longer kept fails at once, and the next is taken.
fn next_with_body(
    conn: &mut PgConnection,
    endpoint_id: i64,
) -> Result<Option<(WebhookDelivery, String)>, Error> {
    loop {
        let Some(delivery) = WebhookDelivery::next_due(conn, endpoint_id)? else { return Ok(None) };
        if let Some(body) = delivery.body.clone() {
            return Ok(Some((delivery, body)));
        }
        let event: Option<StoredEvent> = events::table
            .filter(events::id.eq(delivery.event_id))
            .select(StoredEvent::as_select())
            .first(conn)
            .optional()?;
        match event {
            Some(event) => {
                let body = serde_json::to_string(&EventView::from(event))
                    .map_err(|e| Error::Internal(format!("an event could not be written: {e}")))?;
                WebhookDelivery::set_body(conn, delivery.id, &body)?;
                return Ok(Some((delivery, body)));
            }
            None => {
                let record = NewWebhookAttempt {
                    delivery_id: delivery.id,
                    duration_ms: 0,
                    status: None,
                    error: Some("the event is no longer kept"),
                    response: "",
                };
                WebhookDelivery::attempted(conn, delivery.id, &record, Outcome::Failed)?;
            }
        }
    }
}
