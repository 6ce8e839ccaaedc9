//! The read cache over two real instances on one database: a change made
//! through one is never read back stale from it, and never from the other
//! once the other has received the event. The probe is a change made in
//! SQL behind the application's back (no event): an instance that still
//! answers the old value answered from its cache.

use std::time::{Duration, Instant};

use diesel::prelude::*;
use serde_json::{json, Value};
use storefront::models::Role;

use super::Server;
use crate::harness::{TestApp, TestUser};

const WAIT: Duration = Duration::from_secs(10);

async fn get(server: &Server, path: &str) -> Value {
    let reply = server.request("GET", path, &[], "").await;
    assert_eq!(reply.status, 200, "GET {path}: {}", reply.body);
    reply.json()
}

async fn put(server: &Server, user: &TestUser, path: &str, body: Value) -> Value {
    let bearer = format!("Bearer {}", user.access);
    let headers = [("Authorization", bearer.as_str()), ("Content-Type", "application/json")];
    let reply = server.request("PUT", path, &headers, &body.to_string()).await;
    assert_eq!(reply.status, 200, "PUT {path}: {}", reply.body);
    reply.json()
}

/// Changes an item's description in SQL, without an event.
fn describe_behind_the_back(app: &TestApp, item: i64, description: &str) {
    diesel::sql_query("UPDATE items SET description = $1 WHERE id = $2")
        .bind::<diesel::sql_types::Text, _>(description)
        .bind::<diesel::sql_types::BigInt, _>(item)
        .execute(&mut app.conn())
        .expect("update behind the back");
}

/// Reads until `done` holds, for at most [`WAIT`].
async fn read_until(server: &Server, path: &str, done: impl Fn(&Value) -> bool) -> Value {
    let started = Instant::now();
    loop {
        let value = get(server, path).await;
        if done(&value) {
            return value;
        }
        assert!(started.elapsed() < WAIT, "still {value} after {WAIT:?}");
        rocket::tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Waits until `server` answers `item` (of `owner`) from its cache: its
/// listener is connected. Leaves the item's description as `settled`, and
/// the cache holding an older one (a probe).
async fn wait_until_cached(app: &TestApp, server: &Server, owner: &TestUser, item: i64, settled: &str) {
    let path = format!("/api/items/{item}");
    let started = Instant::now();
    for round in 0.. {
        let probe = format!("probe {round}");
        describe_behind_the_back(app, item, &probe);
        let first = get(server, &path).await;
        describe_behind_the_back(app, item, settled);
        if get(server, &path).await["description"] == probe {
            return;
        }
        if first["description"] != probe {
            // Answered from the cache, with what a read made as the listener
            // came back stored: `settled`. A change through the server drops it.
            put(server, owner, &path, json!({"description": settled})).await;
        }
        if started.elapsed() >= WAIT {
            panic!(
                "the cache of port {} unused after {round} rounds: {:?}; its listener: {}",
                server.port,
                server.cache,
                listener_activity(app, server.port)
            );
        }
        rocket::tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// What the server's listener connection is doing, to tell a slow
/// reconnection from a connection that is busy or gone.
fn listener_activity(app: &TestApp, port: u16) -> String {
    #[derive(QueryableByName, Debug)]
    #[allow(dead_code)] // read through `Debug`
    struct Activity {
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
        state: Option<String>,
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
        wait_event: Option<String>,
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
        query: Option<String>,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        connections: i64,
    }
    let activity: QueryResult<Vec<Activity>> = diesel::sql_query(
        "SELECT a.state, a.wait_event, a.query, (SELECT count(*) FROM pg_stat_activity) AS connections \
         FROM (SELECT 1) AS one LEFT JOIN pg_stat_activity a ON a.application_name = $1",
    )
    .bind::<diesel::sql_types::Text, _>(format!("storefront-event-listener-{port}"))
    .load(&mut app.conn());
    format!("{activity:?}")
}

struct Catalogue {
    owner: TestUser,
    store: i64,
    item: i64,
    tag: i64,
}

async fn catalogue(app: &TestApp) -> Catalogue {
    let owner = app.user(Role::Member).await;
    let store = app.store(&owner, "Corner shop").await;
    let item = app.item(&owner, store, "Tea", "3.00").await;
    let tag = app.tag(&owner, store, "hot").await;
    app.link(&owner, item, &[tag]).await;
    Catalogue { owner, store, item, tag }
}

#[rocket::async_test]
async fn repeated_reads_and_revalidations_cost_no_statement() {
    let app = TestApp::new().await;
    let server = Server::start(&app, |f| f).await;
    let shop = catalogue(&app).await;
    wait_until_cached(&app, &server, &shop.owner, shop.item, "settled").await;
    // No event still on its way drops what is read from here on.
    server.caught_up().await;
    let path = format!("/api/items/{}", shop.item);
    let first = server.request("GET", &path, &[], "").await;
    let etag = first.header("etag").expect("an ETag").to_owned();

    let before = app.queries();
    for _ in 0..5 {
        let again = server.request("GET", &path, &[], "").await;
        assert_eq!((again.status, again.body.as_str()), (200, first.body.as_str()));
        assert_eq!(again.header("etag"), Some(etag.as_str()));
        let revalidated = server.request("GET", &path, &[("If-None-Match", &etag)], "").await;
        assert_eq!((revalidated.status, revalidated.body.as_str()), (304, ""));
        assert_eq!(revalidated.header("etag"), Some(etag.as_str()));
    }
    for path in [format!("/api/stores/{}", shop.store), format!("/api/tags/{}", shop.tag)] {
        get(&server, &path).await;
    }
    let filled = app.queries();
    assert_eq!(filled - before, 2, "only the first store and tag reads reach the database");
    for path in [format!("/api/stores/{}", shop.store), format!("/api/tags/{}", shop.tag)] {
        get(&server, &path).await;
    }
    assert_eq!(app.queries(), filled);
    // A missing resource is not cached: each read asks.
    let missing = server.request("GET", "/api/items/999999", &[], "").await;
    assert_eq!(missing.status, 404);
    assert_eq!(app.queries(), filled + 1);
}

#[rocket::async_test]
async fn the_instance_that_made_a_change_never_answers_the_old_version() {
    let app = TestApp::new().await;
    let a = Server::start(&app, |f| f).await;
    let shop = catalogue(&app).await;
    wait_until_cached(&app, &a, &shop.owner, shop.item, "settled").await;
    let (item, store, tag) = (
        format!("/api/items/{}", shop.item),
        format!("/api/stores/{}", shop.store),
        format!("/api/tags/{}", shop.tag),
    );
    get(&a, &store).await;
    get(&a, &tag).await;

    for round in 0..20 {
        let name = format!("Tea no. {round}");
        let changed = put(&a, &shop.owner, &item, json!({"name": name})).await;
        let read = get(&a, &item).await;
        assert_eq!(
            (&read["name"], &read["version"]),
            (&changed["name"], &changed["version"]),
            "round {round}"
        );
    }
    // A store's new name shows on its items and tags at once.
    put(&a, &shop.owner, &store, json!({"name": "Bigger shop"})).await;
    assert_eq!(get(&a, &store).await["name"], "Bigger shop");
    assert_eq!(get(&a, &item).await["store"]["name"], "Bigger shop");
    assert_eq!(get(&a, &tag).await["store"]["name"], "Bigger shop");
    // Linking changes the tag's count, and deleting ends the item.
    let other = app.item(&shop.owner, shop.store, "Coffee", "4.00").await;
    assert_eq!(get(&a, &tag).await["item_count"], 1);
    let bearer = format!("Bearer {}", shop.owner.access);
    let headers = [("Authorization", bearer.as_str()), ("Content-Type", "application/json")];
    let link = json!({"tag_ids": [shop.tag]}).to_string();
    let linked = a.request("POST", &format!("/api/items/{other}/tags"), &headers, &link).await;
    assert_eq!(linked.status, 200, "{}", linked.body);
    assert_eq!(get(&a, &tag).await["item_count"], 2);
    assert_eq!(get(&a, &item).await["tags"][0]["name"], "hot");
    let unlinked = a.request("DELETE", &format!("{item}/tags/{}", shop.tag), &headers, "").await;
    assert_eq!(unlinked.status, 204, "{}", unlinked.body);
    assert_eq!(get(&a, &item).await["tags"], json!([]));
    assert_eq!(get(&a, &tag).await["item_count"], 1);
    let deleted = a.request("DELETE", &item, &headers, "").await;
    assert_eq!(deleted.status, 204, "{}", deleted.body);
    assert_eq!(a.request("GET", &item, &[], "").await.status, 404);
}

#[rocket::async_test]
async fn another_instance_never_answers_the_old_version_once_it_has_the_event() {
    let app = TestApp::new().await;
    let a = Server::start(&app, |f| f).await;
    let b = Server::start(&app, |f| f).await;
    let shop = catalogue(&app).await;
    wait_until_cached(&app, &b, &shop.owner, shop.item, "settled").await;
    let item = format!("/api/items/{}", shop.item);
    let mut events = b.follow(&format!("/api/events?store_id={}", shop.store)).await;

    // B hammers the item meanwhile, so that a read racing each change is
    // always in flight.
    let port = b.port;
    let path = item.clone();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let hammering = {
        let stop = stop.clone();
        rocket::tokio::spawn(async move {
            let mut reads = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let reply = super::http(port, "GET", &path, &[], "").await;
                assert_eq!(reply.status, 200);
                reads += 1;
            }
            reads
        })
    };
    let mut etag = b.request("GET", &item, &[], "").await.header("etag").unwrap().to_owned();
    for round in 0..25 {
        let changed = put(&a, &shop.owner, &item, json!({"price": format!("{}.50", round + 3)})).await;
        let event = events.next_event(WAIT).await.expect("the event reaches B");
        assert_eq!(event.name(), "item.updated");
        assert_eq!(event.json()["object"]["version"], changed["version"]);
        let read = b.request("GET", &item, &[], "").await;
        assert_eq!(read.json()["version"], changed["version"], "round {round}: B answered an old version");
        // A revalidation with the old tag is not told "not modified".
        let revalidated = b.request("GET", &item, &[("If-None-Match", &etag)], "").await;
        assert_eq!(revalidated.status, 200, "round {round}");
        assert_eq!(revalidated.json()["version"], changed["version"]);
        etag = read.header("etag").unwrap().to_owned();
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    assert!(hammering.await.unwrap() > 25);
}

#[rocket::async_test]
async fn without_its_listener_an_instance_reads_the_database_and_starts_afresh() {
    let app = TestApp::new().await;
    let b = Server::start(&app, |f| f).await;
    let shop = catalogue(&app).await;
    let item = format!("/api/items/{}", shop.item);
    wait_until_cached(&app, &b, &shop.owner, shop.item, "before the outage").await;
    // The cache holds a probe value; the database says otherwise.
    assert!(get(&b, &item).await["description"].as_str().unwrap().starts_with("probe"));

    // Hold the listener off: its catching up waits for this lock.
    let mut blocker = app.conn();
    diesel::sql_query("BEGIN").execute(&mut blocker).unwrap();
    diesel::sql_query("LOCK TABLE events IN ACCESS EXCLUSIVE MODE").execute(&mut blocker).unwrap();
    let terminated: Vec<TerminatedBackend> = diesel::sql_query(format!(
        "SELECT pg_terminate_backend(pid) AS terminated FROM pg_stat_activity \
         WHERE datname = current_database() AND application_name = 'storefront-event-listener-{}'",
        b.port
    ))
    .load(&mut app.conn())
    .unwrap();
    assert_eq!(terminated.len(), 1);
    assert!(terminated[0].terminated);

    read_until(&b, &item, |value| value["description"] == "before the outage").await;
    for round in 0..5 {
        let description = format!("while nobody listens {round}");
        describe_behind_the_back(&app, shop.item, &description);
        assert_eq!(get(&b, &item).await["description"], description, "a read while disconnected was cached");
    }

    diesel::sql_query("COMMIT").execute(&mut blocker).unwrap();
    wait_until_cached(&app, &b, &shop.owner, shop.item, "after the outage").await;
    // What the cache held before the outage is gone.
    assert!(get(&b, &item).await["description"].as_str().unwrap().starts_with("probe"));
    describe_behind_the_back(&app, shop.item, "fresh");
    let store = format!("/api/stores/{}", shop.store);
    get(&b, &store).await;
    put(&b, &shop.owner, &store, json!({"name": "Renamed"})).await;
    assert_eq!(get(&b, &item).await["description"], "fresh");
}

#[derive(QueryableByName)]
struct TerminatedBackend {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    terminated: bool,
}

#[rocket::async_test]
async fn the_cache_keeps_to_its_budget_and_can_be_turned_off() {
    let app = TestApp::new().await;
    let owner = app.user(Role::Member).await;
    let store = app.store(&owner, "Shop").await;
    let mut items = Vec::new();
    for n in 0..4 {
        items.push(app.item(&owner, store, &format!("Item {n}"), "1.00").await);
    }
    let size = app.get(&format!("/api/items/{}", items[0])).send().await.text.len();
    // Room for two items with their book-keeping, not three.
    let budget = (size + 34 + 160) * 5 / 2;
    let small = Server::start(&app, |f| f.merge(("read_cache_bytes", budget))).await;
    let off = Server::start(&app, |f| f.merge(("read_cache_bytes", 0))).await;
    wait_until_cached(&app, &small, &owner, items[3], "x").await;
    for &item in &items[..3] {
        get(&small, &format!("/api/items/{item}")).await;
    }
    for &item in &items {
        describe_behind_the_back(&app, item, "changed");
    }
    let mut descriptions = Vec::new();
    for item in [items[2], items[1], items[0], items[3]] {
        descriptions.push(get(&small, &format!("/api/items/{item}")).await["description"].clone());
    }
    // The two read last were kept; the older ones made room for them.
    assert_eq!(descriptions, [Value::Null, Value::Null, json!("changed"), json!("changed")]);

    let path = format!("/api/items/{}", items[0]);
    for round in 0..3 {
        get(&off, &path).await;
        describe_behind_the_back(&app, items[0], &format!("off {round}"));
        assert_eq!(get(&off, &path).await["description"], format!("off {round}"));
    }
}

/// Renames, in SQL and without an event, the store and the item: what
/// still shows the old names comes from memory.
fn rename_behind_the_back(app: &TestApp, shop: &Catalogue) {
    let mut conn = app.conn();
    diesel::sql_query("UPDATE items SET name = 'Tea (renamed)' WHERE id = $1")
        .bind::<diesel::sql_types::BigInt, _>(shop.item)
        .execute(&mut conn)
        .expect("rename the item");
    diesel::sql_query("UPDATE stores SET name = 'Corner shop (renamed)' WHERE id = $1")
        .bind::<diesel::sql_types::BigInt, _>(shop.store)
        .execute(&mut conn)
        .expect("rename the store");
}

/// Reads `path` anonymously until its body contains `text`.
async fn read_text_until(server: &Server, path: &str, text: &str) {
    let started = Instant::now();
    loop {
        let reply = server.request("GET", path, &[], "").await;
        assert_eq!(reply.status, 200, "GET {path}");
        if reply.body.contains(text) {
            return;
        }
        assert!(started.elapsed() < WAIT, "GET {path} without {text:?} after {WAIT:?}");
        rocket::tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[rocket::async_test]
async fn lists_and_public_pages_come_from_memory_until_an_event_of_what_they_show() {
    let app = TestApp::new().await;
    let (a, b) = (Server::start(&app, |f| f).await, Server::start(&app, |f| f).await);
    let shop = catalogue(&app).await;
    let elsewhere = app.store(&shop.owner, "Elsewhere").await;
    b.caught_up().await;
    let of_the_store = [
        format!("/api/items?store_id={}", shop.store),
        format!("/api/items?store_id={}&sort=-price&limit=1", shop.store),
        format!("/api/stores/{}/tags", shop.store),
        format!("/stores/{}", shop.store),
        format!("/items/{}", shop.item),
        format!("/tags/{}", shop.tag),
    ];
    let across_stores = [
        "/api/items".to_owned(),
        "/api/stores".to_owned(),
        "/".to_owned(),
        "/items".to_owned(),
        "/search?q=tea".to_owned(),
    ];
    let mut first = std::collections::HashMap::new();
    for path in of_the_store.iter().chain(&across_stores) {
        let reply = b.request("GET", path, &[], "").await;
        assert_eq!(reply.status, 200, "GET {path}");
        assert!(reply.body.contains("Corner shop"), "GET {path}: {}", reply.body);
        first.insert(path.clone(), reply);
    }

    rename_behind_the_back(&app, &shop);
    let before = app.queries();
    for path in of_the_store.iter().chain(&across_stores) {
        let again = b.request("GET", path, &[], "").await;
        assert_eq!((again.status, &again.body), (200, &first[path].body), "GET {path} from memory");
        let etag = first[path].header("etag").expect("an ETag");
        let revalidated = b.request("GET", path, &[("If-None-Match", etag)], "").await;
        assert_eq!((revalidated.status, revalidated.body.as_str()), (304, ""), "GET {path}");
    }
    assert_eq!(app.queries(), before, "answered without the database");
    // Whoever is signed in (or says so) gets pages read for them alone.
    for path in [format!("/stores/{}", shop.store), "/".to_owned()] {
        let page = b.request("GET", &path, &[("Cookie", "storefront_session=whoever")], "").await;
        assert!(page.body.contains("(renamed)"), "GET {path} with a session cookie");
    }

    // A change to another store, made through another instance, drops
    // what shows every store within its one event, and only that.
    app.item(&shop.owner, elsewhere, "Kettle", "30.00").await;
    for path in &across_stores {
        read_text_until(&b, path, "(renamed)").await;
    }
    // The rest is kept; a kept page says it is current up to the newest
    // event (none since of what it shows), where its live updates resume.
    let newest = b.hub.as_ref().and_then(|hub| hub.newest()).expect("the listener's position");
    for path in &of_the_store {
        let kept = b.request("GET", path, &[], "").await;
        assert!(kept.body.contains("Corner shop") && !kept.body.contains("(renamed)"), "GET {path} kept");
        if path.starts_with("/api") {
            assert_eq!(kept.body, first[path].body, "GET {path} kept");
        } else {
            assert!(
                kept.body.contains(&format!("data-events-after=\"{newest}\"")),
                "GET {path}: {}",
                kept.body
            );
        }
    }
    // A change to the store drops what shows it.
    put(&a, &shop.owner, &format!("/api/items/{}", shop.item), json!({"price": "3.50"})).await;
    for path in &of_the_store {
        read_text_until(&b, path, "(renamed)").await;
    }
    read_text_until(&b, &of_the_store[0], "\"price\":3.50").await;
}
