//! Several instances on one database acting as one: a client reads its own
//! writes through any of them, writers never queue on a lock, and the
//! events of all of them are numbered once, in order, by whichever
//! instance holds the sequencer's role, also across a takeover.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use serde_json::{json, Value};
use storefront::models::Role;

use super::{Message, Server};
use crate::harness::{join_all, TestApp};

const WAIT: Duration = Duration::from_secs(10);

fn price_of(value: &Value) -> Option<f64> {
    value["price"].as_f64()
}

/// A client changes an item's price through one instance, then reads it
/// through the other at once, with the same token: the item and the
/// store's list. The other instance holds the old version in its cache
/// each time (an anonymous read just before the change fills it).
#[rocket::async_test]
async fn a_client_reads_its_own_writes_through_the_other_instance() {
    let app = TestApp::new().await;
    let (a, b) = (Server::start(&app, |f| f).await, Server::start(&app, |f| f).await);
    let owner = app.user(Role::Member).await;
    let store = app.store(&owner, "Shop").await;
    let item = app.item(&owner, store, "Kettle", "1.00").await;
    let bearer = format!("Bearer {}", owner.access);
    let auth = [("Authorization", bearer.as_str()), ("Content-Type", "application/json")];
    let (path, list) = (format!("/api/items/{item}"), format!("/api/items?store_id={store}"));

    let mut stale = Vec::new();
    for round in 1..=100 {
        for path in [&path, &list] {
            assert_eq!(b.request("GET", path, &[], "").await.status, 200);
        }
        let price = f64::from(round) + 0.5;
        let body = json!({ "price": format!("{price:.2}") }).to_string();
        let put = a.request("PUT", &path, &auth, &body).await;
        assert_eq!(put.status, 200, "{}", put.body);
        let read = b.request("GET", &path, &auth, "").await;
        assert_eq!(read.status, 200);
        if price_of(&read.json()) != Some(price) {
            stale.push(format!("round {round}: item {}", read.body));
        }
        let listed = b.request("GET", &list, &auth, "").await;
        if price_of(&listed.json()[0]) != Some(price) {
            stale.push(format!("round {round}: list {}", listed.body));
        }
    }
    assert!(stale.is_empty(), "{} stale reads: {:?}", stale.len(), &stale[..stale.len().min(3)]);
}

/// Samples `pg_stat_activity` for connections of requests (every backend of
/// this database but the sequencer's and listeners' own) waiting on an
/// advisory or object lock. The sequencer's commit may wait for
/// PostgreSQL's lock on `NOTIFY`, which every database of the server shares
/// (other tests' sequencers run beside this one): once per batch, and
/// never in a request's way.
struct LockWaitSampler {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<(usize, Vec<String>)>,
}

impl LockWaitSampler {
    fn start(url: String) -> LockWaitSampler {
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut conn = PgConnection::establish(&url).expect("connect");
            let (mut samples, mut waits) = (0, Vec::new());
            while !stopped.load(Ordering::SeqCst) {
                #[derive(QueryableByName)]
                struct Waiting {
                    #[diesel(sql_type = Text)]
                    what: String,
                }
                let found: Vec<Waiting> = diesel::sql_query(
                    "SELECT wait_event || ' ' || coalesce(application_name, '') || ' ' || left(query, 80) AS what \
                     FROM pg_stat_activity WHERE datname = current_database() \
                     AND application_name NOT LIKE 'storefront-event-%' \
                     AND wait_event_type = 'Lock' AND wait_event IN ('advisory', 'object')",
                )
                .load(&mut conn)
                .expect("sample");
                samples += 1;
                waits.extend(found.into_iter().map(|w| w.what));
                std::thread::sleep(Duration::from_millis(1));
            }
            (samples, waits)
        });
        LockWaitSampler { stop, thread }
    }

    fn finish(self) -> (usize, Vec<String>) {
        self.stop.store(true, Ordering::SeqCst);
        self.thread.join().expect("the sampler")
    }
}

/// Reads `count` events of `stream`, failing when one is late.
async fn events(stream: &mut super::EventStream, count: usize) -> Vec<Message> {
    let mut seen = Vec::new();
    while seen.len() < count {
        let event = stream.next_event(WAIT).await;
        seen.push(event.unwrap_or_else(|| panic!("only {} of {count} events", seen.len())));
    }
    seen
}

fn assert_consecutive(events: &[Message]) {
    for pair in events.windows(2) {
        assert_eq!(pair[1].id(), pair[0].id() + 1, "ids without gaps: {:?} then {:?}", pair[0], pair[1]);
    }
}

#[rocket::async_test]
async fn concurrent_writers_never_wait_on_a_lock_and_each_change_arrives_once_in_order() {
    const WRITERS: usize = 32;
    const EACH: usize = 5;
    let app = TestApp::new().await;
    let bigger_pool = |f: rocket::figment::Figment| f.merge(("databases.main.pool_size", 8));
    let (a, b) = (Server::start(&app, bigger_pool).await, Server::start(&app, bigger_pool).await);
    let owner = app.user(Role::Member).await;
    let store = app.store(&owner, "Busy").await;
    let mut stream = b.follow("/api/events").await;
    let bearer = format!("Bearer {}", owner.access);

    let sampler = LockWaitSampler::start(app.url());
    let writers = (0..WRITERS).map(|writer| {
        let (server, bearer) = (if writer % 2 == 0 { &a } else { &b }, bearer.as_str());
        async move {
            let mut ids = Vec::new();
            for n in 0..EACH {
                let body = json!({"name": format!("Item {writer}-{n}"), "price": "1.00", "store_id": store});
                let headers = [("Authorization", bearer), ("Content-Type", "application/json")];
                let reply = server.request("POST", "/api/items", &headers, &body.to_string()).await;
                assert_eq!(reply.status, 201, "{}", reply.body);
                ids.push(reply.json()["id"].as_i64().expect("an id"));
            }
            ids
        }
    });
    let mut created: Vec<i64> = join_all(writers).await.into_iter().flatten().collect();
    let (samples, waits) = sampler.finish();
    assert!(samples >= 10, "pg_stat_activity sampled {samples} times only");
    assert!(
        waits.is_empty(),
        "{} samples of {samples} found lock waits: {:?}",
        waits.len(),
        &waits[..3.min(waits.len())]
    );

    let seen = events(&mut stream, WRITERS * EACH).await;
    assert_consecutive(&seen);
    assert!(seen.iter().all(|event| event.name() == "item.created"));
    let mut announced: Vec<i64> = seen.iter().map(|e| e.json()["entity_id"].as_i64().unwrap()).collect();
    announced.sort_unstable();
    created.sort_unstable();
    assert_eq!(announced, created, "every item announced exactly once");
    assert!(stream.next_event(Duration::from_millis(300)).await.is_none(), "and nothing more");
}

/// The backend holding the sequencer's role in this database, if any.
fn sequencer_holder(conn: &mut PgConnection) -> Option<(i32, String)> {
    #[derive(QueryableByName)]
    struct Holder {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        pid: i32,
        #[diesel(sql_type = Text)]
        application_name: String,
    }
    diesel::sql_query(
        "SELECT l.pid, a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid \
         WHERE l.locktype = 'advisory' AND l.granted AND l.classid = 0 AND l.objid = $1 AND l.objsubid = 1 \
         AND a.datname = current_database()",
    )
    .bind::<BigInt, _>(storefront::events::sequencer::LOCK)
    .get_result::<Holder>(conn)
    .optional()
    .expect("the holder")
    .map(|holder| (holder.pid, holder.application_name))
}

#[rocket::async_test]
async fn when_the_sequencer_loses_its_connection_another_takes_over_without_gap_or_repeat() {
    const EVENTS: i64 = 200;
    let app = TestApp::new().await;
    let (a, b) = (Server::start(&app, |f| f).await, Server::start(&app, |f| f).await);
    let owner = app.user(Role::Member).await;
    let store = app.store(&owner, "Shop").await;
    let mut stream = b.follow("/api/events").await;
    let mut conn = app.conn();
    let (holder, name) = sequencer_holder(&mut conn).expect("a sequencer");
    assert!(name.starts_with("storefront-event-sequencer-"), "{name}");

    // One change after another, each its own transaction, while the
    // holder's connection is cut a quarter of the way through.
    let url = app.url();
    let writer = std::thread::spawn(move || {
        let mut conn = PgConnection::establish(&url).unwrap();
        for n in 1..=EVENTS {
            diesel::sql_query(
                "INSERT INTO events (kind, entity_id, store_id, object) \
                 VALUES ('item.updated', $1, $2, jsonb_build_object('n', $1))",
            )
            .bind::<BigInt, _>(n)
            .bind::<BigInt, _>(store)
            .execute(&mut conn)
            .unwrap();
            std::thread::sleep(Duration::from_millis(3));
        }
    });
    rocket::tokio::time::sleep(Duration::from_millis(150)).await;
    diesel::sql_query("SELECT pg_terminate_backend($1)")
        .bind::<diesel::sql_types::Integer, _>(holder)
        .execute(&mut conn)
        .unwrap();
    let cut = Instant::now();
    let successor = loop {
        match sequencer_holder(&mut conn) {
            Some((pid, name)) if pid != holder => break name,
            _ => {}
        }
        assert!(cut.elapsed() < Duration::from_secs(5), "nobody took over within 5 s");
        std::thread::sleep(Duration::from_millis(10));
    };
    assert!(successor.starts_with("storefront-event-sequencer-"), "{successor}");
    writer.join().unwrap();

    let seen = events(&mut stream, EVENTS as usize).await;
    assert_consecutive(&seen);
    let entities: Vec<i64> = seen.iter().map(|event| event.json()["entity_id"].as_i64().unwrap()).collect();
    assert_eq!(entities, (1..=EVENTS).collect::<Vec<_>>(), "all of them, once, in the order they committed");
    assert!(stream.next_event(Duration::from_millis(300)).await.is_none(), "and nothing more");

    // A client that saw the first half resumes across the takeover, on the
    // other instance.
    let half = seen[EVENTS as usize / 2 - 1].id().to_string();
    let mut resumed = a.stream("/api/events", &[("Last-Event-ID", &half)]).await;
    resumed.next_message(WAIT).await.expect("the opening message");
    let rest = events(&mut resumed, EVENTS as usize / 2).await;
    let entities: Vec<i64> = rest.iter().map(|event| event.json()["entity_id"].as_i64().unwrap()).collect();
    assert_eq!(entities, (EVENTS / 2 + 1..=EVENTS).collect::<Vec<_>>());
    assert_eq!(rest[0].id(), seen[EVENTS as usize / 2].id());
}

/// Each change's event records who made it and, once numbered, a position
/// of the primary's WAL past the change: where a replica must have replayed
/// to before it may serve that client. A client's position is that of its
/// newest change, the current one while that change waits for its number,
/// and nothing for a client that changed nothing.
#[rocket::async_test]
async fn each_event_records_its_author_and_a_wal_position_past_its_change() {
    use storefront::models::{EventKind, Horizon, NewEvent};
    use storefront::replicas::primary_position;

    let app = TestApp::new().await;
    let _sequencer = Server::start(&app, |f| f).await;
    let (writer, reader) = (app.user(Role::Member).await, app.user(Role::Member).await);
    let mut conn = app.conn();
    let before = primary_position(&mut conn).expect("the primary's position");
    let store = app.store(&writer, "Shop").await;
    app.wait_until_numbered();
    let after = primary_position(&mut conn).expect("the primary's position");

    let (actor, lsn): (Option<i64>, Option<i64>) = storefront::schema::events::table
        .filter(storefront::schema::events::entity_id.eq(store))
        .select((storefront::schema::events::actor_id, storefront::schema::events::lsn))
        .get_result(&mut conn)
        .expect("the store's event");
    assert_eq!(actor, Some(writer.id));
    let lsn = lsn.expect("a numbered event has a position");
    assert!(before < lsn && lsn <= after, "{before} < {lsn} <= {after}");

    let horizon = Horizon::now(&mut conn, Some(writer.id)).expect("the writer's horizon");
    assert_eq!(horizon.written, lsn, "the writer's newest change");
    assert_eq!(Horizon::now(&mut conn, Some(reader.id)).expect("horizon").written, 0, "nothing written");
    let everyone = Horizon::now(&mut conn, None).expect("horizon").written;
    assert!(everyone >= after, "an unknown client: everything so far ({everyone} >= {after})");

    // A change that waits for its number: the position of the moment.
    conn.transaction::<(), diesel::result::Error, _>(|conn| {
        let event = NewEvent {
            kind: EventKind::StoreUpdated,
            entity_id: store,
            store_id: store,
            object: None,
            actor_id: Some(reader.id),
        };
        event.insert(conn)?;
        let now = primary_position(conn)?;
        let written = Horizon::now(conn, Some(reader.id))?.written;
        assert!(written >= now && written > lsn, "pending: {written} >= {now}");
        Err(diesel::result::Error::RollbackTransaction)
    })
    .expect_err("rolled back");
}

/// Replicas that cannot serve (one that does not answer, one that is not a
/// replica at all: the primary itself) are skipped by their checks: every
/// read is answered, by the primary.
#[rocket::async_test]
async fn replicas_that_cannot_serve_are_skipped_and_the_primary_answers() {
    let app = TestApp::new().await;
    let not_a_replica = app.url();
    let server = Server::start(&app, |f| {
        f.merge(("replica_urls", vec!["postgres://postgres@127.0.0.1:9/nothing".to_owned(), not_a_replica]))
            .merge(("read_cache_bytes", 0))
    })
    .await;
    let owner = app.user(Role::Member).await;
    let store = app.store(&owner, "Shop").await;
    let item = app.item(&owner, store, "Kettle", "1.00").await;
    rocket::tokio::time::sleep(Duration::from_millis(600)).await;
    let bearer = format!("Bearer {}", owner.access);
    for round in 0..20 {
        let headers: &[(&str, &str)] =
            if round % 2 == 0 { &[] } else { &[("Authorization", bearer.as_str())] };
        let listed = server.request("GET", &format!("/api/items?store_id={store}"), headers, "").await;
        assert_eq!(listed.status, 200, "{}", listed.body);
        assert_eq!(listed.json()[0]["id"], json!(item));
        let page = server.request("GET", &format!("/stores/{store}"), headers, "").await;
        assert_eq!(page.status, 200);
        assert!(page.body.contains("Kettle"));
    }
}
