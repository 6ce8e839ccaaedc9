//! The cluster's one sequencer: it gives committed events their ids.
//!
//! A change only inserts its event row, without an id, and commits: no lock
//! and no NOTIFY in anyone's transaction, so writes never wait for each
//! other. Every instance runs this thread on a connection of its own,
//! outside the request pool; the one that holds a session-level advisory
//! lock numbers the rows that have become visible since its last batch,
//! oldest insert first, in one statement that also sends the batch's one
//! `NOTIFY` (the newest id, never a body). It numbers when woken: an
//! instance whose requests committed changes says so on `storefront_writes`
//! from its listener's connection, at most once every few milliseconds
//! (never from a request's transaction). Once woken it stays busy for a
//! second, numbering every few milliseconds without waiting to be woken
//! again, so that under a steady stream of changes delivery does not hang on
//! the wake-ups of instances busy with requests; idle, it numbers what is
//! there once a second, for changes made by other means, and otherwise asks
//! the database nothing. Batches
//! commit one after another, so an id is visible only once every lower id
//! is: what a stream resumes from is never followed by a gap or a repeat,
//! a transaction that commits late is numbered late rather than skipped,
//! and one that rolls back leaves no row to number.
//!
//! The others try the lock every [`STANDBY_TRY`]; when the holder dies or
//! loses its connection, PostgreSQL releases its lock and one of them takes
//! over where the table says numbering stopped.

use std::sync::Weak;
use std::time::{Duration, Instant};

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Text};

use super::hub::Hub;
use super::listener::{jittered, keep_connected, sleep_unless_dropped, CHANNEL, FIRST_RETRY, WRITES_CHANNEL};

/// The advisory lock that makes its holder the sequencer.
pub const LOCK: i64 = 5_495_529;
/// How often the holder looks for a wake-up (no statement: what the
/// server has sent is read).
const POLL_EVERY: Duration = Duration::from_millis(1);
/// Batches are at least this far apart, so that many changes share one.
const BATCH_EVERY: Duration = Duration::from_millis(2);
/// Numbers what is there at least this often, woken or not.
const FALLBACK: Duration = Duration::from_secs(1);
/// How long a wake-up keeps it numbering every [`BATCH_EVERY`].
const BUSY_FOR: Duration = Duration::from_secs(1);
/// How often the others try to take over.
const STANDBY_TRY: Duration = Duration::from_millis(500);
/// Rows numbered per transaction at most.
const BATCH: i64 = 1000;

/// Starts this instance's sequencer thread. It ends soon after the hub is
/// dropped, and its lock with its connection.
pub fn spawn(url: String, alive: Weak<Hub>) -> std::io::Result<()> {
    let run =
        move || keep_connected("event sequencer", &url, &alive, |conn, retry| serve(conn, &alive, retry));
    std::thread::Builder::new().name("event-sequencer".into()).spawn(run)?;
    Ok(())
}

/// Waits for the role, then numbers events, until the connection fails
/// (`Err`) or the instance stops (`Ok`).
fn serve(conn: &mut PgConnection, alive: &Weak<Hub>, retry: &mut Duration) -> QueryResult<()> {
    // The server's side of the keepalives: a holder whose machine vanished
    // without closing its connection loses the lock within half a minute.
    diesel::sql_query("SET tcp_keepalives_idle = 10").execute(conn)?;
    diesel::sql_query("SET tcp_keepalives_interval = 5").execute(conn)?;
    diesel::sql_query("SET tcp_keepalives_count = 3").execute(conn)?;
    loop {
        if alive.strong_count() == 0 {
            return Ok(());
        }
        if try_lock(conn)? {
            break;
        }
        *retry = FIRST_RETRY;
        sleep_unless_dropped(alive, jittered(STANDBY_TRY));
    }
    tracing::info!("event sequencer: this instance numbers the cluster's events");
    *retry = FIRST_RETRY;
    // Listen first, then number: a change committed in between wakes it.
    diesel::sql_query(format!("LISTEN {WRITES_CHANNEL}")).execute(conn)?;
    let (mut woken, mut busy_until, mut last) = (true, Instant::now(), Instant::now());
    while alive.strong_count() > 0 {
        for notification in conn.notifications_iter() {
            notification?;
            woken = true;
        }
        if woken {
            busy_until = Instant::now() + BUSY_FOR;
        }
        if woken || Instant::now() < busy_until || last.elapsed() >= FALLBACK {
            woken = false;
            last = Instant::now();
            // A full batch means more are waiting: no pause before the next.
            while number_batch(conn)? == BATCH as usize {}
            std::thread::sleep(BATCH_EVERY);
        } else {
            std::thread::sleep(POLL_EVERY);
        }
    }
    Ok(())
}

#[derive(QueryableByName)]
struct Locked {
    #[diesel(sql_type = Bool)]
    locked: bool,
}

fn try_lock(conn: &mut PgConnection) -> QueryResult<bool> {
    let row: Locked = diesel::sql_query("SELECT pg_try_advisory_lock($1) AS locked")
        .bind::<BigInt, _>(LOCK)
        .get_result(conn)?;
    Ok(row.locked)
}

#[derive(QueryableByName)]
struct Batch {
    #[diesel(sql_type = BigInt)]
    numbered: i64,
}

/// Numbers the rows visible now and not numbered yet (at most [`BATCH`]),
/// after the newest id, in the order they were inserted, makes the webhook
/// deliveries of each for the endpoints that want it (owners' endpoints get
/// their own stores' events, admins' any), and wakes the instances: one
/// statement, so one round trip and one commit. Its one
/// snapshot gives both the rows and the newest id; nobody else numbers.
/// Returns how many it numbered.
pub fn number_batch(conn: &mut PgConnection) -> QueryResult<usize> {
    let batch: Batch = diesel::sql_query(
        "WITH pending AS ( \
             SELECT draft_id, row_number() OVER (ORDER BY draft_id) AS n \
             FROM events WHERE id IS NULL ORDER BY draft_id LIMIT $1 \
         ), numbered AS ( \
             UPDATE events SET id = (SELECT coalesce(max(id), 0) FROM events) + pending.n, \
                 lsn = (pg_current_wal_insert_lsn() - '0/0'::pg_lsn)::bigint \
             FROM pending WHERE events.draft_id = pending.draft_id \
             RETURNING events.id, events.kind, events.store_id, events.actor_id \
         ), fanned AS ( \
             INSERT INTO webhook_deliveries (endpoint_id, event_id) \
             SELECT w.id, n.id FROM numbered n \
             JOIN webhook_endpoints w ON w.enabled \
                 AND (cardinality(w.kinds) = 0 OR n.kind = ANY (w.kinds)) \
                 AND (w.store_id IS NULL OR w.store_id = n.store_id) \
             JOIN users u ON u.id = w.owner_id \
             WHERE u.role = 'admin' OR n.actor_id = w.owner_id \
                 OR EXISTS (SELECT 1 FROM stores s WHERE s.id = n.store_id AND s.owner_id = w.owner_id) \
             ORDER BY n.id, w.id \
             RETURNING 1 \
         ), batch AS ( \
             SELECT count(*) AS numbered, max(id) AS newest FROM numbered \
         ) \
         SELECT numbered, CASE WHEN numbered > 0 THEN pg_notify($2, newest::text)::text END AS notified \
         FROM batch",
    )
    .bind::<BigInt, _>(BATCH)
    .bind::<Text, _>(CHANNEL)
    .get_result(conn)?;
    Ok(usize::try_from(batch.numbered).unwrap_or(0))
}
