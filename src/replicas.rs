//! Streaming replicas (hot standbys) of the database, for reads.
//!
//! Each replica has a bounded pool of its own, and is watched from this
//! instance by a thread of its own: every [`CHECK_EVERY`] it asks the
//! replica how far it has replayed the primary's WAL
//! (`pg_last_wal_replay_lsn()`), while one more thread samples how far the
//! primary has written (`pg_current_wal_insert_lsn()`). A replica's lag is
//! the age of the oldest sample it has not replayed yet. One that lags more
//! than the configured bound, does not answer, or was last heard of too
//! long ago is skipped until a check finds it well again; requests never
//! wait on a check.
//!
//! Which reads a replica may serve is for [`crate::db::Db::read`] to say:
//! only one that has replayed past a WAL position the read requires (the
//! reader's own last change, and whatever this instance has announced),
//! checked on the replica itself before the read.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable};

use crate::db::{with_parameter, PgPool};

/// How often the primary's position is sampled and each replica checked.
const CHECK_EVERY: Duration = Duration::from_millis(20);
/// How long a replica whose check fails waits before it is tried again.
const RETRY_EVERY: Duration = Duration::from_millis(500);
/// A replica not heard of for this long is skipped, whatever it said last
/// (its check hangs: the server or the network froze).
const SILENCE: Duration = Duration::from_secs(1);
/// How long a read waits for a connection of a replica's pool before it
/// goes to the primary instead.
pub const CHECKOUT: Duration = Duration::from_millis(250);

/// The replicas of this instance, and what it knows of them.
pub struct Replicas {
    replicas: Vec<Replica>,
    max_lag: Duration,
    /// The primary's WAL position at recent instants, oldest first, kept
    /// for a little longer than `max_lag`.
    samples: Mutex<VecDeque<(Instant, i64)>>,
    /// Where the next read starts looking, so reads spread over replicas.
    turn: AtomicUsize,
    /// The instant the `*_ms` fields count from.
    epoch: Instant,
}

/// One replica: its pool and the outcome of its last check.
pub struct Replica {
    /// The URL without its password, for logs.
    pub name: String,
    pub(crate) pool: PgPool,
    url: String,
    replayed: AtomicI64,
    usable: AtomicBool,
    /// Milliseconds from the epoch to the last check that got an answer.
    heard_ms: AtomicU64,
    lag_ms: AtomicU64,
}

impl Replicas {
    /// Replicas at `urls`, each with a pool of up to `pool_size`
    /// connections, skipped while more than `max_lag` behind.
    pub fn new(urls: &[String], pool_size: u32, max_lag: Duration) -> Replicas {
        let replicas = urls
            .iter()
            .map(|url| Replica {
                name: crate::db::redact(url),
                pool: crate::db::replica_pool(url, pool_size),
                url: with_parameter(
                    &with_parameter(url, "connect_timeout", "2"),
                    "application_name",
                    "storefront-replica-check",
                ),
                replayed: AtomicI64::new(0),
                usable: AtomicBool::new(false),
                heard_ms: AtomicU64::new(0),
                lag_ms: AtomicU64::new(0),
            })
            .collect();
        Replicas {
            replicas,
            max_lag,
            samples: Mutex::new(VecDeque::new()),
            turn: AtomicUsize::new(0),
            epoch: Instant::now(),
        }
    }

    /// The replicas' URLs without passwords.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.replicas.iter().map(|replica| replica.name.as_str())
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// The replica a read that requires WAL position `required` should try:
    /// one known to have replayed past it (in turn, when several have),
    /// else the furthest of the usable ones, which may have got there since
    /// its last check; `None` when none is usable. The read itself checks.
    pub fn choose(&self, required: i64) -> Option<&Replica> {
        let now = self.now_ms();
        let silence = u64::try_from(SILENCE.as_millis()).unwrap_or(u64::MAX);
        let count = self.replicas.len();
        let start = self.turn.fetch_add(1, Ordering::Relaxed);
        let mut furthest: Option<&Replica> = None;
        for offset in 0..count {
            let replica = &self.replicas[(start + offset) % count];
            let heard = replica.heard_ms.load(Ordering::Acquire);
            if !replica.usable.load(Ordering::Acquire) || now.saturating_sub(heard) > silence {
                continue;
            }
            let replayed = replica.replayed.load(Ordering::Acquire);
            if replayed >= required {
                return Some(replica);
            }
            if furthest.is_none_or(|best| best.replayed.load(Ordering::Acquire) < replayed) {
                furthest = Some(replica);
            }
        }
        furthest
    }

    /// Starts the threads that keep watch, one per replica and one on the
    /// primary at `primary_url`. They end soon after `replicas` is dropped.
    pub fn watch(replicas: &Arc<Replicas>, primary_url: String) -> std::io::Result<()> {
        let alive = Arc::downgrade(replicas);
        std::thread::Builder::new()
            .name("replica-primary-sampler".into())
            .spawn(move || sample_primary(&primary_url, &alive))?;
        for index in 0..replicas.replicas.len() {
            let alive = Arc::downgrade(replicas);
            std::thread::Builder::new()
                .name(format!("replica-check-{index}"))
                .spawn(move || check_replica(index, &alive))?;
        }
        Ok(())
    }

    fn record_sample(&self, wal: i64) {
        let now = Instant::now();
        let keep = self.max_lag + Duration::from_secs(1);
        let mut samples = self.samples.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        samples.push_back((now, wal));
        while samples.front().is_some_and(|(at, _)| now.duration_since(*at) > keep) {
            samples.pop_front();
        }
    }

    fn lag_of(&self, replayed: i64) -> Duration {
        let samples = self.samples.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        lag(&samples, replayed, Instant::now())
    }
}

impl Replica {
    /// A read found this replica not answering: skipped until its next
    /// check gets an answer.
    pub fn set_down(&self, why: &str) {
        if self.usable.swap(false, Ordering::AcqRel) {
            tracing::warn!(replica = %self.name, "replica skipped: {why}");
        }
    }

    /// A read found this replica at `replayed`.
    pub fn note_replayed(&self, replayed: i64) {
        self.replayed.fetch_max(replayed, Ordering::AcqRel);
    }
}

/// How far behind a replica that has replayed up to `replayed` is, given
/// the primary's positions at recent instants (oldest first): the age of
/// the oldest position it has not reached. Zero when it has all of them.
pub fn lag(samples: &VecDeque<(Instant, i64)>, replayed: i64, now: Instant) -> Duration {
    samples
        .iter()
        .find(|(_, wal)| *wal > replayed)
        .map_or(Duration::ZERO, |(at, _)| now.saturating_duration_since(*at))
}

#[derive(QueryableByName)]
struct Position {
    #[diesel(sql_type = Nullable<BigInt>)]
    wal: Option<i64>,
}

/// How far the primary has written (bytes from `0/0`).
pub fn primary_position(conn: &mut PgConnection) -> QueryResult<i64> {
    let position: Position =
        diesel::sql_query("SELECT (pg_current_wal_insert_lsn() - '0/0'::pg_lsn)::bigint AS wal")
            .get_result(conn)?;
    Ok(position.wal.unwrap_or(0))
}

/// How far a replica has replayed the primary's WAL; `None` on a server
/// that is not replaying (a primary, or a promoted replica).
pub fn replay_position(conn: &mut PgConnection) -> QueryResult<Option<i64>> {
    let position: Position =
        diesel::sql_query("SELECT (pg_last_wal_replay_lsn() - '0/0'::pg_lsn)::bigint AS wal")
            .get_result(conn)?;
    Ok(position.wal)
}

fn sample_primary(url: &str, alive: &Weak<Replicas>) {
    let mut conn: Option<PgConnection> = None;
    while let Some(replicas) = alive.upgrade() {
        let sampled = match conn.as_mut() {
            Some(open) => primary_position(open).map_err(|e| e.to_string()),
            None => PgConnection::establish(url).map_err(|e| e.to_string()).and_then(|mut open| {
                let wal = primary_position(&mut open).map_err(|e| e.to_string());
                conn = Some(open);
                wal
            }),
        };
        drop(replicas);
        let pause = match sampled {
            Ok(wal) => {
                if let Some(replicas) = alive.upgrade() {
                    replicas.record_sample(wal);
                }
                CHECK_EVERY
            }
            Err(why) => {
                conn = None;
                tracing::debug!("replica lag: the primary's position is unknown: {}", why.trim());
                RETRY_EVERY
            }
        };
        std::thread::sleep(pause);
    }
}

/// What one check of a replica found.
enum Finding {
    Replayed(i64),
    NotReplaying,
    Silent(String),
}

fn check_replica(index: usize, alive: &Weak<Replicas>) {
    let Some(url) = alive.upgrade().map(|replicas| replicas.replicas[index].url.clone()) else { return };
    let mut conn: Option<PgConnection> = None;
    loop {
        if conn.is_none() {
            conn = PgConnection::establish(&url).ok();
        }
        let finding = match conn.as_mut().map(replay_position) {
            Some(Ok(Some(replayed))) => Finding::Replayed(replayed),
            Some(Ok(None)) => Finding::NotReplaying,
            Some(Err(e)) => Finding::Silent(e.to_string()),
            None => Finding::Silent("it does not accept connections".into()),
        };
        let Some(replicas) = alive.upgrade() else { return };
        let replica = &replicas.replicas[index];
        let was_usable = replica.usable.load(Ordering::Acquire);
        let pause = match finding {
            Finding::Replayed(replayed) => {
                replica.note_replayed(replayed);
                replica.heard_ms.store(replicas.now_ms(), Ordering::Release);
                let lag = replicas.lag_of(replayed);
                replica.lag_ms.store(u64::try_from(lag.as_millis()).unwrap_or(u64::MAX), Ordering::Release);
                let usable = lag <= replicas.max_lag;
                replica.usable.store(usable, Ordering::Release);
                match (was_usable, usable) {
                    (false, true) => tracing::info!(replica = %replica.name, "replica in use"),
                    (true, false) => tracing::warn!(
                        replica = %replica.name,
                        lag_ms = lag.as_millis() as u64,
                        "replica skipped: it lags more than replica_max_lag_ms"
                    ),
                    _ => {}
                }
                CHECK_EVERY
            }
            Finding::NotReplaying => {
                replica.usable.store(false, Ordering::Release);
                if was_usable || replica.heard_ms.load(Ordering::Acquire) == 0 {
                    tracing::error!(replica = %replica.name, "replica skipped: it is not a streaming replica");
                }
                replica.heard_ms.store(replicas.now_ms().max(1), Ordering::Release);
                RETRY_EVERY
            }
            Finding::Silent(why) => {
                conn = None;
                replica.set_down(why.trim());
                RETRY_EVERY
            }
        };
        drop(replicas);
        std::thread::sleep(pause);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lag_is_the_age_of_the_oldest_position_not_replayed() {
        let now = Instant::now();
        let samples: VecDeque<_> =
            [(now - Duration::from_millis(300), 100), (now - Duration::from_millis(200), 200), (now, 300)]
                .into_iter()
                .collect();
        assert_eq!(lag(&samples, 300, now), Duration::ZERO, "caught up");
        assert_eq!(lag(&samples, 250, now), Duration::ZERO, "only the position sampled just now is missing");
        assert_eq!(lag(&samples, 150, now), Duration::from_millis(200));
        assert_eq!(lag(&samples, 100, now), Duration::from_millis(200));
        assert_eq!(lag(&samples, 99, now), Duration::from_millis(300));
        assert_eq!(lag(&VecDeque::new(), 0, now), Duration::ZERO, "nothing known of the primary");
    }

    fn replicas(count: usize) -> Replicas {
        let urls: Vec<String> = (0..count).map(|i| format!("postgres://127.0.0.1:1/replica{i}")).collect();
        Replicas::new(&urls, 1, Duration::from_secs(3))
    }

    fn set(replicas: &Replicas, index: usize, usable: bool, replayed: i64) {
        let replica = &replicas.replicas[index];
        replica.usable.store(usable, Ordering::Release);
        replica.replayed.store(replayed, Ordering::Release);
        replica.heard_ms.store(replicas.now_ms(), Ordering::Release);
    }

    #[test]
    fn a_read_goes_to_a_replica_known_to_be_far_enough_in_turn() {
        let replicas = replicas(3);
        assert!(replicas.choose(0).is_none(), "none checked yet");
        set(&replicas, 0, true, 500);
        set(&replicas, 1, false, 900);
        set(&replicas, 2, true, 800);
        let names: Vec<String> = (0..4).map(|_| replicas.choose(400).unwrap().name.clone()).collect();
        assert!(
            names.iter().all(|name| name.ends_with("replica0") || name.ends_with("replica2")),
            "{names:?}"
        );
        assert!(
            names.iter().any(|name| name.ends_with("replica0"))
                && names.iter().any(|name| name.ends_with("replica2"))
        );
        for _ in 0..3 {
            assert!(replicas.choose(700).unwrap().name.ends_with("replica2"), "the only one far enough");
            assert!(replicas.choose(1000).unwrap().name.ends_with("replica2"), "the furthest usable one");
        }
    }

    #[test]
    fn a_replica_not_heard_of_lately_or_set_down_is_skipped() {
        let replicas = replicas(1);
        set(&replicas, 0, true, 10);
        assert!(replicas.choose(5).is_some());
        replicas.replicas[0].set_down("test");
        assert!(replicas.choose(5).is_none());
        set(&replicas, 0, true, 10);
        replicas.replicas[0].heard_ms.store(0, Ordering::Release);
        let long_ago = replicas.now_ms();
        if long_ago <= SILENCE.as_millis() as u64 {
            std::thread::sleep(SILENCE + Duration::from_millis(50));
        }
        assert!(replicas.choose(5).is_none(), "silent for longer than {SILENCE:?}");
    }
}
