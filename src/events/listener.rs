//! One listening connection per instance: `LISTEN storefront_events`, then
//! read every event committed since the last one published, in id order, and
//! hand it to the hub. The connection is this thread's own, outside the
//! request pool. When it breaks (the database restarted, the backend was
//! terminated) the thread reconnects with backoff and catches up from the
//! table, so an outage of the listener loses nothing. The read cache is
//! only used while the listener is connected, and each event drops what the
//! cache holds of its store before anyone else hears of it.

use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use diesel::prelude::*;

use super::hub::{Hub, Published};
use crate::cache::ReadCache;
use crate::models::{Horizon, StoredEvent};

pub const CHANNEL: &str = "storefront_events";
/// Where instances tell the sequencer that they committed changes.
pub const WRITES_CHANNEL: &str = "storefront_writes";

/// How often the connection is asked for notifications. Diesel's
/// `notifications_iter` does not wait on the socket, so this is the most a
/// notification waits before it is seen.
const POLL_EVERY: Duration = Duration::from_millis(2);
/// Reads the table even without a notification now and then: a check that
/// the connection still answers.
const CHECK_EVERY: Duration = Duration::from_secs(5);
const PRUNE_EVERY: Duration = Duration::from_secs(600);
/// Events read per query while catching up.
const BATCH: i64 = 500;
pub(super) const FIRST_RETRY: Duration = Duration::from_millis(100);
const LAST_RETRY: Duration = Duration::from_secs(5);

/// Starts the listener thread. It ends soon after the hub is dropped.
pub fn spawn(url: String, hub: Weak<Hub>, cache: Arc<ReadCache>, history: Duration) -> std::io::Result<()> {
    let followed = Followed { hub, cache };
    std::thread::Builder::new().name("event-listener".into()).spawn(move || run(&url, &followed, history))?;
    Ok(())
}

/// What the listener keeps up to date.
struct Followed {
    hub: Weak<Hub>,
    cache: Arc<ReadCache>,
}

fn run(url: &str, followed: &Followed, history: Duration) {
    keep_connected("event listener", url, &followed.hub, |conn, retry| {
        let outcome = listen(conn, followed, history, retry);
        // From here events may be missed until the next connection has
        // caught up: the cache is not used meanwhile.
        followed.cache.suspend();
        outcome
    });
}

/// Runs `session` on a connection of its own to `url`, connecting again
/// with backoff whenever the connection fails, until `session` returns `Ok`
/// or `alive` is gone. `session` resets the backoff (`retry`) once it is
/// under way; `what` names the thread in the log.
pub(super) fn keep_connected(
    what: &str,
    url: &str,
    alive: &Weak<Hub>,
    mut session: impl FnMut(&mut PgConnection, &mut Duration) -> QueryResult<()>,
) {
    let mut retry = FIRST_RETRY;
    while alive.strong_count() > 0 {
        let outcome = PgConnection::establish(url)
            .map_err(|e| e.to_string())
            .and_then(|mut conn| session(&mut conn, &mut retry).map_err(|e| e.to_string()));
        match outcome {
            Ok(()) => return,
            Err(why) => tracing::warn!("{what}: {}; reconnecting in {retry:?}", why.trim()),
        }
        sleep_unless_dropped(alive, jittered(retry));
        retry = (retry * 2).min(LAST_RETRY);
    }
}

/// Listens until the connection fails (`Err`) or the hub is gone (`Ok`).
fn listen(
    conn: &mut PgConnection,
    followed: &Followed,
    history: Duration,
    retry: &mut Duration,
) -> QueryResult<()> {
    let (hub, cache) = (&followed.hub, &*followed.cache);
    // Listen first, then read: whatever commits in between is in both, and
    // the hub's position keeps it from being published twice.
    diesel::sql_query(format!("LISTEN {CHANNEL}")).execute(conn)?;
    match hub.upgrade() {
        Some(hub) if hub.newest().is_none() => {
            let Horizon { newest, written, .. } = Horizon::now(conn, None)?;
            hub.start_after(newest, written)
        }
        Some(hub) => publish_new(conn, &hub, cache)?,
        None => return Ok(()),
    }
    // From here on no event goes unseen: the cache may be used, from empty.
    cache.resume();
    *retry = FIRST_RETRY;
    let (mut checked, mut pruned) = (Instant::now(), None::<Instant>);
    loop {
        let Some(hub) = hub.upgrade() else { return Ok(()) };
        // Changes committed through this instance: one wake-up for all of
        // them, from this connection, outside any request's transaction.
        if hub.take_writes() {
            diesel::sql_query(format!("NOTIFY {WRITES_CHANNEL}")).execute(conn)?;
        }
        let mut notified = false;
        for notification in conn.notifications_iter() {
            notification?;
            notified = true;
        }
        if notified || checked.elapsed() >= CHECK_EVERY {
            publish_new(conn, &hub, cache)?;
            checked = Instant::now();
        }
        if pruned.is_none_or(|at| at.elapsed() >= PRUNE_EVERY) {
            let before = chrono::Utc::now() - history;
            StoredEvent::prune(conn, before)?;
            pruned = Some(Instant::now());
        }
        drop(hub);
        if !notified {
            std::thread::sleep(POLL_EVERY);
        }
    }
}

/// Publishes every event after the hub's newest, in order, each once the
/// cache has dropped what it holds of the event's store.
fn publish_new(conn: &mut PgConnection, hub: &Hub, cache: &ReadCache) -> QueryResult<()> {
    loop {
        let after = hub.newest().unwrap_or(0);
        let events = StoredEvent::after(conn, after, None, BATCH)?;
        let full = events.len() as i64 == BATCH;
        for event in events {
            cache.forget_stores([event.store_id]);
            hub.publish(Published::from(event));
        }
        if !full {
            return Ok(());
        }
    }
}

pub(super) fn sleep_unless_dropped(hub: &Weak<Hub>, total: Duration) {
    let until = Instant::now() + total;
    while hub.strong_count() > 0 && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(50).min(until.saturating_duration_since(Instant::now())));
    }
}

/// `delay` give or take a quarter, so instances that lost the database
/// together do not all come back in the same instant.
pub(super) fn jittered(delay: Duration) -> Duration {
    use std::hash::{BuildHasher, RandomState};
    let random = RandomState::new().hash_one(Instant::now()) % 1000;
    delay.mul_f64(0.75 + random as f64 / 2000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_within_a_quarter() {
        for _ in 0..100 {
            let delay = jittered(Duration::from_millis(1000));
            assert!(delay >= Duration::from_millis(750) && delay <= Duration::from_millis(1250), "{delay:?}");
        }
    }
}
