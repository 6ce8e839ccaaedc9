//! Live updates. Every committed change to a store, item, tag or link is a
//! row of `events`, written by the audit hook in the change's transaction
//! and numbered after it commits, in the order rows become visible, by the
//! cluster's one [`sequencer`]. Each instance runs one [`listener`] on a
//! connection of its own, which learns of newly numbered rows through
//! PostgreSQL `LISTEN/NOTIFY` and publishes them, in order, to the
//! instance's [`Hub`]; `GET /api/events` streams them from there, and
//! replays from the table what a resuming client missed. Nothing lives only
//! in one process: any instance can serve any client from any position.
//! The same events keep the instance's [`ReadCache`] correct.

pub mod hub;
pub mod listener;
pub mod sequencer;

use std::sync::Arc;
use std::time::Duration;

use rocket::fairing::AdHoc;

pub use hub::{Hub, Published, Refusal, StreamSlot};

use crate::cache::ReadCache;
use crate::config::AppConfig;

/// Manages the hub and the read cache, and starts the listener once the
/// server is up.
pub fn stage() -> AdHoc {
    AdHoc::on_ignite("Live events", |rocket| async {
        let (backlog, max_streams, per_client, cache_bytes) =
            rocket.state::<AppConfig>().map_or((1000, 1000, 20, 0), |config| {
                let per_client = config.events_max_streams_per_client;
                (config.events_backlog, config.events_max_streams, per_client, config.read_cache_bytes)
            });
        rocket
            .manage(Arc::new(Hub::new(backlog, max_streams, per_client)))
            .manage(Arc::new(ReadCache::new(cache_bytes)))
            .attach(AdHoc::on_liftoff("Event listener", |rocket| {
                Box::pin(async move {
                    let (Some(hub), Some(cache), Some(config)) = (
                        rocket.state::<Arc<Hub>>(),
                        rocket.state::<Arc<ReadCache>>(),
                        rocket.state::<AppConfig>(),
                    ) else {
                        return;
                    };
                    let url = match rocket.figment().extract_inner::<String>("databases.main.url") {
                        Ok(url) => url,
                        Err(e) => {
                            tracing::error!("event listener: no database URL: {e}");
                            return;
                        }
                    };
                    let port = rocket.config().port;
                    let history = Duration::from_secs(config.events_history_hours * 3600);
                    let listening = listener::spawn(
                        own_connection_url(&url, "listener", port),
                        Arc::downgrade(hub),
                        Arc::clone(cache),
                        history,
                    );
                    if let Err(e) = listening {
                        tracing::error!("event listener: cannot start its thread: {e}");
                    }
                    let numbering =
                        sequencer::spawn(own_connection_url(&url, "sequencer", port), Arc::downgrade(hub));
                    if let Err(e) = numbering {
                        tracing::error!("event sequencer: cannot start its thread: {e}");
                    }
                })
            }))
    })
}

/// The pool's URL for a connection of the listener's or the sequencer's
/// (`role`), named so that it (and the instance, by its port) is
/// recognisable among the server's connections, with keepalives so that a
/// vanished server is noticed, and so that the server notices a vanished
/// sequencer and frees its lock.
fn own_connection_url(url: &str, role: &str, port: u16) -> String {
    let mut url = url.to_owned();
    let name = format!("storefront-event-{role}-{port}");
    for (key, value) in [
        ("application_name", name.as_str()),
        ("keepalives_idle", "10"),
        ("keepalives_interval", "5"),
        ("keepalives_count", "3"),
    ] {
        url = crate::db::with_parameter(&url, key, value);
    }
    url
}
