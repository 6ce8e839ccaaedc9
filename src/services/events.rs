//! Reading the event history: where a new stream starts, and what a
//! resuming one missed.

use diesel::prelude::*;

use crate::error::Error;
use crate::models::StoredEvent;

/// Where a stream begins.
#[derive(Debug)]
pub struct StreamStart {
    /// The id the stream is current up to once `replay` is sent: later
    /// events come live, earlier ones are skipped.
    pub position: i64,
    /// What the client missed since the id it resumes from, in order.
    pub replay: Vec<StoredEvent>,
    /// The client resumes from an id the history no longer reaches (or never
    /// held), or missed more than the backlog: it must reload what it shows.
    pub resync: bool,
}

/// Starts a stream of the events of `store_id` (or all), after `last_seen`
/// when the client resumes. At most `backlog` events are replayed; a client
/// further behind is told to resync instead.
pub fn start(
    conn: &mut PgConnection,
    last_seen: Option<i64>,
    store_id: Option<i64>,
    backlog: usize,
) -> Result<StreamStart, Error> {
    // One snapshot for the range and the replay: an id is visible only once
    // every lower one is (the sequencer commits them in order),
    // so what it holds is every event up to its newest, and nothing later.
    conn.build_transaction().read_only().repeatable_read().run(|conn| {
        let range = StoredEvent::range(conn)?;
        let position = range.map_or(0, |range| range.newest);
        let resync = StreamStart { position, replay: Vec::new(), resync: true };
        let Some(last_seen) = last_seen else {
            return Ok(StreamStart { position, replay: Vec::new(), resync: false });
        };
        let reachable = match range {
            Some(range) => (range.oldest - 1..=range.newest).contains(&last_seen),
            None => last_seen == 0,
        };
        if !reachable {
            return Ok(resync);
        }
        let limit = i64::try_from(backlog).unwrap_or(i64::MAX - 1) + 1;
        let replay = StoredEvent::after(conn, last_seen, store_id, limit)?;
        if replay.len() > backlog {
            return Ok(resync);
        }
        Ok(StreamStart { position, replay, resync: false })
    })
}
