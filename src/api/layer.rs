//! What every API route goes through before and after its handler: the
//! client's rate-limit budget ([`super::limits`]) and idempotent retries
//! ([`super::idempotency`]). Routes are wrapped as they are mounted
//! ([`wrap`]); a response fairing adds the budget's headers and keeps
//! idempotent answers; a task adds each instance's count of reads to the
//! shared one.

use std::sync::Arc;
use std::time::Duration;

use rocket::data::Data;
use rocket::fairing::{AdHoc, Fairing, Info, Kind};
use rocket::http::Header;
use rocket::route::{self, Handler, Route};
use rocket::tokio::time::{interval, MissedTickBehavior};
use rocket::{Request, Response};

use super::guards;
use super::idempotency::{self, Key};
use super::limits::{self, ReadCounts, Standing};
use crate::config::AppConfig;
use crate::db::DbPool;

/// A route's handler behind the budget and idempotency checks.
#[derive(Clone)]
struct Layered(Box<dyn Handler>);

/// Wraps each of `routes` in the API's layer.
pub fn wrap(routes: Vec<Route>) -> Vec<Route> {
    routes
        .into_iter()
        .map(|mut route| {
            let inner = std::mem::replace(&mut route.handler, Box::new(Unreachable));
            route.handler = Box::new(Layered(inner));
            route
        })
        .collect()
}

/// Stands in for a handler while it is moved into its wrapper.
#[derive(Clone)]
struct Unreachable;

#[rocket::async_trait]
impl Handler for Unreachable {
    async fn handle<'r>(&self, _: &'r Request<'_>, data: Data<'r>) -> route::Outcome<'r> {
        route::Outcome::Forward((data, rocket::http::Status::NotFound))
    }
}

/// Where the client stands against its budget, as this request counted.
struct Noted(Option<Standing>);

#[rocket::async_trait]
impl Handler for Layered {
    async fn handle<'r>(&self, request: &'r Request<'_>, data: Data<'r>) -> route::Outcome<'r> {
        let Some(user_id) = guards::client_id(request).await else {
            return self.0.handle(request, data).await;
        };
        match limits::count(request, user_id).await {
            Ok(standing) => {
                let refusal = standing.as_ref().filter(|s| s.refused).map(|s| s.refusal(now()));
                request.local_cache(|| Noted(standing));
                if let Some(problem) = refusal {
                    return route::Outcome::from(request, problem);
                }
            }
            Err(problem) => return route::Outcome::from(request, problem),
        }
        let mut data = data;
        match idempotency::arm(request, user_id) {
            Key::Invalid => return route::Outcome::from(request, idempotency::invalid_key()),
            // Without a body, the request is whole already: claim its key now;
            // with one, where the body is read.
            Key::Taken if data.peek(1).await.is_empty() && data.peek_complete() => {
                if let Err(problem) = idempotency::claim(request, &[]).await {
                    return match idempotency::replayed(request) {
                        Some(answer) => route::Outcome::Success(answer),
                        None => route::Outcome::from(request, problem),
                    };
                }
            }
            Key::Taken | Key::Absent => {}
        }
        let outcome = self.0.handle(request, data).await;
        match idempotency::replayed(request) {
            Some(answer) => route::Outcome::Success(answer),
            None => outcome,
        }
    }
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Adds the budget's headers to every answer of `/api` that counted, and
/// keeps the answers of idempotent writes.
struct Bookkeeping;

#[rocket::async_trait]
impl Fairing for Bookkeeping {
    fn info(&self) -> Info {
        Info { name: "API budgets and idempotent answers", kind: Kind::Response }
    }

    async fn on_response<'r>(&self, request: &'r Request<'_>, response: &mut Response<'r>) {
        if let Some(standing) = &request.local_cache(|| Noted(None)).0 {
            for (name, value) in standing.headers(now()) {
                response.set_header(Header::new(name, value));
            }
        }
        idempotency::keep(request, response).await;
    }
}

/// The layer's state, fairing and read-count task.
pub fn stage() -> AdHoc {
    AdHoc::on_ignite("API layer", |rocket| async {
        let counts = Arc::new(ReadCounts::default());
        rocket.manage(counts).attach(Bookkeeping).attach(AdHoc::on_liftoff("API read counts", |rocket| {
            Box::pin(async move {
                let (Some(pool), Some(counts), Some(config)) = (
                    DbPool::pool(rocket).cloned(),
                    rocket.state::<Arc<ReadCounts>>().cloned(),
                    rocket.state::<AppConfig>(),
                ) else {
                    return;
                };
                let budget = Duration::from_secs(config.database_budget_seconds);
                let mut shutdown = rocket.shutdown();
                rocket::tokio::spawn(async move {
                    let mut ticks = interval(limits::SYNC_EVERY);
                    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
                    loop {
                        // A last count as the instance stops.
                        let last = rocket::tokio::select! {
                            _ = ticks.tick() => false,
                            _ = &mut shutdown => true,
                        };
                        let counts = counts.clone();
                        let synced =
                            crate::db::in_background(&pool, budget, move |conn| counts.sync(conn)).await;
                        if let Err(error) = synced {
                            tracing::warn!("read counts not shared: {error}");
                        }
                        if last {
                            return;
                        }
                    }
                });
            })
        }))
    })
}
