//! `GET /api/events` over a real socket: a second instance serves the
//! stream, while changes are made through the test's local client (another
//! instance on the same database) or through the served one itself.

use std::time::Duration;

use diesel::prelude::*;
use serde_json::json;
use storefront::error::Error;
use storefront::models::{Role, Via};
use storefront::policy::Actor;
use storefront::services::stores;

use super::{Message, Server};
use crate::harness::TestApp;

const WAIT: Duration = Duration::from_secs(5);

#[rocket::async_test]
async fn a_change_through_one_instance_reaches_a_stream_of_another() {
    let app = TestApp::new().await;
    let server = Server::start(&app, |f| f).await;
    let mut stream = server.stream("/api/events", &[]).await;
    assert_eq!(stream.status, 200);
    assert_eq!(stream.header("content-type"), Some("text/event-stream"));
    assert_eq!(stream.header("x-accel-buffering"), Some("no"));
    let opening = stream.next_message(WAIT).await.expect("the opening message");
    assert_eq!(opening.retry, Some(2000));
    assert_eq!(opening.id(), 0);

    let ann = app.user(Role::Member).await;
    let store = app.store(&ann, "Corner Books").await;

    let event = stream.next_event(WAIT).await.expect("an event");
    assert_eq!(event.name(), "store.created");
    let data = event.json();
    assert_eq!(data["id"], event.id());
    assert_eq!(data["kind"], "store.created");
    assert_eq!(data["entity_id"], store);
    assert_eq!(data["store_id"], store);
    assert_eq!(data["object"]["name"], "Corner Books");
    assert_eq!(data["object"]["owner_id"], ann.id);
    let api = app.get(&format!("/api/stores/{store}")).send().await.json();
    assert_eq!(data["object"], api, "the object as the API shows it");

    // And a change through the instance that serves the stream.
    let auth = format!("Bearer {}", ann.access);
    let body = json!({"name": "Dune", "price": "9.99", "store_id": store}).to_string();
    let created = server
        .request(
            "POST",
            "/api/items",
            &[("Authorization", &auth), ("Content-Type", "application/json")],
            &body,
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.header("location"), Some(format!("/api/items/{}", created.json()["id"]).as_str()));
    let event = stream.next_event(WAIT).await.expect("an event");
    assert_eq!(event.name(), "item.created");
    assert_eq!(event.json()["object"], created.json());
}

/// A staff member acting outside any request, as the command line does.
fn staff_actor(app: &TestApp) -> Actor {
    let id = app.insert_user(&format!("actor{}@example.org", rand_suffix()), Role::Staff);
    Actor { user_id: id, role: Role::Staff, via: Via::Cli, fresh: true, personal_token: false }
}

fn rand_suffix() -> String {
    storefront::auth::random_token(6).to_lowercase().replace(['-', '_'], "x")
}

#[rocket::async_test]
async fn events_are_published_at_commit_and_never_for_a_rollback() {
    let app = TestApp::new().await;
    let server = Server::start(&app, |f| f).await;
    let mut stream = server.follow("/api/events").await;
    let actor = staff_actor(&app);

    let mut conn = app.conn();
    let rolled_back = conn.transaction::<(), Error, _>(|conn| {
        stores::create(conn, &actor, "Ghost")?;
        Err(Error::Conflict("changed my mind".into()))
    });
    assert!(rolled_back.is_err());
    let (committing, commit) = std::sync::mpsc::channel::<()>();
    let url = app.url();
    let writer = std::thread::spawn(move || {
        let mut conn = diesel::PgConnection::establish(&url).unwrap();
        conn.transaction::<_, Error, _>(|conn| {
            let store = stores::create(conn, &actor, "Late")?;
            let _ = commit.recv();
            Ok(store.id)
        })
    });

    assert!(stream.next_event(Duration::from_millis(600)).await.is_none(), "nothing before the commit");
    committing.send(()).unwrap();
    let late = writer.join().unwrap().unwrap();
    let event = stream.next_event(WAIT).await.expect("the event of the commit");
    assert_eq!((event.name(), event.json()["entity_id"].as_i64()), ("store.created", Some(late)));
    assert!(stream.next_event(Duration::from_millis(500)).await.is_none(), "none for the rollback");
    assert_eq!(app.count("events"), 1);
}

#[rocket::async_test]
async fn one_change_is_one_event_from_the_api_and_from_the_admin_panel() {
    let app = TestApp::new().await;
    let server = Server::start(&app, |f| f).await;
    let mut stream = server.stream("/api/events", &[]).await;
    let owner = app.user(Role::Member).await;
    let store = app.store(&owner, "Shop").await;
    let red = app.tag(&owner, store, "red").await;
    let blue = app.tag(&owner, store, "blue").await;
    let item = app.item(&owner, store, "Lamp", "10.00").await;
    app.link(&owner, item, &[red]).await;
    app.put(&format!("/api/items/{item}")).bearer(&owner.access).json(json!({"price": "12.00"})).send().await;

    app.insert_user("staff@example.org", Role::Staff);
    let browser = app.browser();
    browser.login("staff@example.org", crate::harness::PASSWORD).await;
    let form = browser.get(&format!("/admin/items/{item}")).await;
    let token = crate::harness::csrf_of(&form.text);
    let blue_id = blue.to_string();
    let saved = browser
        .post(
            &format!("/admin/items/{item}"),
            &[
                ("csrf_token", &token),
                ("name", "Desk lamp"),
                ("price", "14.50"),
                ("description", ""),
                ("tag_ids", &blue_id),
                ("version", "3"),
                ("action", "save"),
            ],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.text);
    let store_id = store.to_string();
    let created = browser
        .post(
            "/admin/items",
            &[
                ("csrf_token", &token),
                ("store_id", &store_id),
                ("name", "Shade"),
                ("price", "3.00"),
                ("tag_ids", &blue_id),
                ("action", "save"),
            ],
        )
        .await;
    assert_eq!(created.status, 303, "{}", created.text);
    let delete = app.delete(&format!("/api/stores/{store}")).bearer(&owner.access).send().await;
    assert_eq!(delete.status, 204);

    let events = stream.events_within(Duration::from_secs(2)).await;
    let names: Vec<&str> = events.iter().map(|e| e.name()).collect();
    assert_eq!(
        names,
        [
            "store.created",
            "tag.created",
            "tag.created",
            "item.created",
            "item.tags_changed",
            "item.updated",
            "item.updated",
            "item.created",
            "store.deleted"
        ]
    );
    let ids: Vec<i64> = events.iter().map(|e| e.id()).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids grow: {ids:?}");
    let admin_edit = events[6].json();
    assert_eq!(admin_edit["object"]["name"], "Desk lamp");
    assert_eq!(admin_edit["object"]["price"], json!(14.5));
    assert_eq!(admin_edit["object"]["tags"], json!([{"id": blue, "name": "blue"}]));
    assert_eq!(events[7].json()["object"]["tags"], json!([{"id": blue, "name": "blue"}]));
    let deleted = events[8].json();
    assert_eq!((deleted["entity_id"].as_i64(), &deleted["object"]), (Some(store), &json!(null)));
    assert_eq!(app.count("events"), 9);
}

#[rocket::async_test]
async fn a_store_filter_passes_only_that_stores_events() {
    let app = TestApp::new().await;
    let server = Server::start(&app, |f| f).await;
    let owner = app.user(Role::Member).await;
    let mine = app.store(&owner, "Mine").await;
    let theirs = app.store(&owner, "Theirs").await;
    let mut stream = server.follow(&format!("/api/events?store_id={mine}")).await;

    app.item(&owner, theirs, "Not mine", "1.00").await;
    let item = app.item(&owner, mine, "Mine too", "1.00").await;
    app.tag(&owner, theirs, "elsewhere").await;

    let events = stream.events_within(Duration::from_secs(1)).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].json()["entity_id"], item);
    assert_eq!(events[0].json()["store_id"], mine);
}

#[rocket::async_test]
async fn resuming_with_last_event_id_neither_skips_nor_repeats() {
    let app = TestApp::new().await;
    let server = Server::start(&app, |f| f).await;
    let owner = app.user(Role::Member).await;
    let store = app.store(&owner, "Shop").await;
    let mut first = server.follow("/api/events").await;
    app.item(&owner, store, "One", "1.00").await;
    let seen = first.next_event(WAIT).await.expect("an event");
    drop(first);

    let two = app.item(&owner, store, "Two", "2.00").await;
    let three = app.item(&owner, store, "Three", "3.00").await;
    let last = seen.id().to_string();
    let mut resumed = server.stream("/api/events", &[("Last-Event-ID", &last)]).await;
    let opening = resumed.next_message(WAIT).await.expect("the opening message");
    let replayed = resumed.events_within(Duration::from_secs(1)).await;
    let entities: Vec<i64> = replayed.iter().map(|e| e.json()["entity_id"].as_i64().unwrap()).collect();
    assert_eq!(entities, [two, three]);
    assert_eq!(replayed[0].id(), seen.id() + 1);
    assert_eq!(opening.id(), replayed[1].id(), "the opening id is where the history ends");

    // A browser's first connection cannot send the header: the query does
    // the same, and the header of a reconnection wins over it.
    let mut by_query = server.stream(&format!("/api/events?last_event_id={last}"), &[]).await;
    assert_eq!(by_query.events_within(Duration::from_secs(1)).await.len(), 2);
    let newest = replayed[1].id().to_string();
    let mut both =
        server.stream(&format!("/api/events?last_event_id={last}"), &[("Last-Event-ID", &newest)]).await;
    assert!(both.events_within(Duration::from_millis(500)).await.is_empty());
    let four = app.item(&owner, store, "Four", "4.00").await;
    let live = both.next_event(WAIT).await.expect("the live event");
    assert_eq!(live.json()["entity_id"], four);
}

#[rocket::async_test]
async fn transactions_that_commit_out_of_order_are_resumed_in_commit_order() {
    let app = TestApp::new().await;
    let server = Server::start(&app, |f| f).await;
    let actor = staff_actor(&app);
    let mut stream = server.follow("/api/events").await;

    // The first transaction writes its change, then waits; a second one
    // starts later, writes and commits first.
    let (release, wait) = std::sync::mpsc::channel::<()>();
    let url = app.url();
    let first = std::thread::spawn(move || {
        let mut conn = diesel::PgConnection::establish(&url).unwrap();
        conn.transaction::<_, Error, _>(|conn| {
            let store = stores::create(conn, &actor, "Started first")?;
            let _ = wait.recv();
            Ok(store.id)
        })
    });
    std::thread::sleep(Duration::from_millis(200));
    let second = stores::create(&mut app.conn(), &actor, "Committed first").unwrap();
    let seen = stream.next_event(WAIT).await.expect("the first commit");
    assert_eq!(seen.json()["entity_id"], second.id);
    drop(stream);

    release.send(()).unwrap();
    let first = first.join().unwrap().unwrap();
    let last = seen.id().to_string();
    let mut resumed = server.stream("/api/events", &[("Last-Event-ID", &last)]).await;
    let missed = resumed.next_event(WAIT).await.expect("the later commit, not skipped");
    assert_eq!(missed.json()["entity_id"], first);
    assert!(missed.id() > seen.id());
}

#[rocket::async_test]
async fn an_id_the_history_no_longer_reaches_gets_one_resync() {
    let app = TestApp::new().await;
    let server = Server::start(&app, |f| f).await;
    let owner = app.user(Role::Member).await;
    let store = app.store(&owner, "Shop").await;
    for n in 0..3 {
        app.item(&owner, store, &format!("Item {n}"), "1.00").await;
    }
    app.wait_until_numbered();
    let newest: i64 = diesel::dsl::sql::<diesel::sql_types::BigInt>("SELECT max(id) FROM events")
        .get_result(&mut app.conn())
        .unwrap();
    diesel::sql_query("DELETE FROM events WHERE id < (SELECT max(id) FROM events) - 1")
        .execute(&mut app.conn())
        .unwrap();

    for too_old in ["1".to_owned(), (newest + 5).to_string()] {
        let mut stream = server.stream("/api/events", &[("Last-Event-ID", &too_old)]).await;
        let events = stream.events_within(Duration::from_millis(500)).await;
        assert_eq!(events.len(), 1, "{too_old}: {events:?}");
        assert_eq!(events[0].name(), "resync");
        assert_eq!(events[0].json(), json!({"reason": "too_old", "last_event_id": newest}));
        assert_eq!(events[0].id(), newest);
    }
    let reachable = (newest - 2).to_string();
    let mut stream = server.stream("/api/events", &[("Last-Event-ID", &reachable)]).await;
    let events = stream.events_within(Duration::from_millis(500)).await;
    assert_eq!(events.iter().map(Message::id).collect::<Vec<_>>(), [newest - 1, newest]);
}

#[rocket::async_test]
async fn a_description_of_8000_bytes_is_saved_and_its_event_delivered() {
    let app = TestApp::new().await;
    let server = Server::start(&app, |f| f).await;
    let owner = app.user(Role::Member).await;
    let store = app.store(&owner, "Emoji").await;
    let mut stream = server.follow("/api/events").await;
    let description = "😀".repeat(2000);
    assert_eq!(description.len(), 8000);

    let body = json!({"name": "Smiles", "price": "1.00", "store_id": store, "description": description});
    let reply = app.post("/api/items").bearer(&owner.access).json(body).send().await;

    assert_eq!(reply.status, 201, "{}", reply.text);
    let event = stream.next_event(WAIT).await.expect("the event");
    assert_eq!(event.json()["object"]["description"], description);
}

#[rocket::async_test]
async fn streams_past_the_cap_are_turned_away_with_retry_after() {
    let app = TestApp::new().await;
    let server =
        Server::start(&app, |f| f.merge(("events_max_streams", 2)).merge(("events_heartbeat_seconds", 1)))
            .await;
    let mut first = server.stream("/api/events", &[]).await;
    let second = server.stream("/api/events", &[]).await;
    assert_eq!((first.status, second.status), (200, 200));

    let refused = server.stream("/api/events", &[]).await;
    assert_eq!(refused.status, 503);
    assert_eq!(refused.header("retry-after"), Some("10"));
    assert_eq!(refused.header("content-type"), Some("application/problem+json"));
    let problem: serde_json::Value = serde_json::from_str(&refused.body).unwrap();
    assert_eq!(problem["code"], "too_many_streams");

    // A client that went away is noticed at the next heartbeat at the latest.
    drop(second);
    first.next_message(WAIT).await.expect("the first stream still works");
    let mut again = None;
    for _ in 0..150 {
        let stream = server.stream("/api/events", &[]).await;
        if stream.status == 200 {
            again = Some(stream);
            break;
        }
        rocket::tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(again.is_some(), "a closed stream gives its place back");
}

#[rocket::async_test]
async fn bad_parameters_are_problems_not_streams() {
    let app = TestApp::new().await;
    let server = Server::start(&app, |f| f).await;
    for (path, header, field) in [
        ("/api/events?store_id=abc", None, "store_id"),
        ("/api/events?store_id=0", None, "store_id"),
        ("/api/events?last_event_id=-1", None, "last_event_id"),
        ("/api/events", Some("soon"), "Last-Event-ID"),
    ] {
        let headers: Vec<(&str, &str)> = header.map(|h| ("Last-Event-ID", h)).into_iter().collect();
        let reply = server.stream(path, &headers).await;
        assert_eq!(reply.status, 422, "{path}");
        let problem: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
        assert!(problem["errors"][field].is_string(), "{path}: {problem}");
    }
}

#[rocket::async_test]
async fn idle_streams_get_heartbeats_and_end_when_the_server_shuts_down() {
    let app = TestApp::new().await;
    let server = Server::start(&app, |f| f.merge(("events_heartbeat_seconds", 1))).await;
    let mut stream = server.follow("/api/events").await;

    let heartbeat = stream.next_message(Duration::from_secs(3)).await.expect("a heartbeat");
    assert!(heartbeat.comment && heartbeat.event.is_none(), "{heartbeat:?}");

    let started = std::time::Instant::now();
    server.shut_down();
    assert!(stream.ends_within(Duration::from_secs(3)).await, "the stream ends");
    assert!(started.elapsed() < Duration::from_millis(1500), "before the grace period runs out");
}

#[rocket::async_test]
async fn the_listener_reconnects_and_delivers_what_committed_meanwhile() {
    let app = TestApp::new().await;
    let server = Server::start(&app, |f| f).await;
    let owner = app.user(Role::Member).await;
    let store = app.store(&owner, "Shop").await;
    let mut stream = server.follow("/api/events").await;

    let listeners = || -> i64 {
        diesel::dsl::sql::<diesel::sql_types::BigInt>(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
             AND application_name LIKE 'storefront-event-listener%'",
        )
        .get_result(&mut app.conn())
        .unwrap()
    };
    // The server and the test's local client each run one listener.
    assert_eq!(listeners(), 2);
    diesel::sql_query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() \
         AND application_name LIKE 'storefront-event-listener%'",
    )
    .execute(&mut app.conn())
    .unwrap();
    let meanwhile = app.item(&owner, store, "While nobody listened", "1.00").await;

    let event = stream.next_event(WAIT).await.expect("the event, once the listener is back");
    assert_eq!(event.json()["entity_id"], meanwhile);
    let after = app.item(&owner, store, "And after", "1.00").await;
    let event = stream.next_event(WAIT).await.expect("and the next");
    assert_eq!(event.json()["entity_id"], after);
    let started = std::time::Instant::now();
    while listeners() < 2 && started.elapsed() < WAIT {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(listeners(), 2, "one listener each again");
}

#[rocket::async_test]
async fn a_slow_client_is_told_to_resync_and_holds_up_nobody() {
    let app = TestApp::new().await;
    let server = Server::start(&app, |f| f.merge(("events_backlog", 64))).await;
    let owner = app.user(Role::Member).await;
    let store = app.store(&owner, "Shop").await;
    let mut fast = server.follow("/api/events").await;
    let mut slow = server.follow("/api/events").await;

    // Far more than the sockets between server and client can buffer, in
    // batches the fast client keeps up with, while the slow one reads nothing.
    let (batches, per_batch) = (20, 40);
    let url = app.url();
    let writer = std::thread::spawn(move || {
        let mut conn = diesel::PgConnection::establish(&url).unwrap();
        for _ in 0..batches {
            diesel::sql_query(format!(
                "INSERT INTO events (kind, entity_id, store_id, object) \
                 SELECT 'item.updated', n, {store}, jsonb_build_object('padding', repeat('x', 16000)) \
                 FROM generate_series(1, {per_batch}) AS n"
            ))
            .execute(&mut conn)
            .unwrap();
            std::thread::sleep(Duration::from_millis(100));
        }
    });

    let mut received = 0;
    while let Some(event) = fast.next_event(Duration::from_secs(5)).await {
        assert_eq!(event.name(), "item.updated", "the fast client is never behind");
        received += 1;
        if received == batches * per_batch {
            break;
        }
    }
    writer.join().unwrap();
    assert_eq!(received, batches * per_batch, "the fast client gets every event");
    let mut names = Vec::new();
    while let Some(event) = slow.next_event(Duration::from_secs(2)).await {
        names.push(event.name().to_owned());
    }
    assert!(names.len() < batches * per_batch, "the slow client missed some: got {}", names.len());
    assert!(names.iter().any(|n| n == "resync"), "and was told to reload");
}

#[rocket::async_test]
async fn deleting_a_user_updates_the_stores_they_owned() {
    let app = TestApp::new().await;
    let server = Server::start(&app, |f| f).await;
    let owner = app.user(Role::Member).await;
    let store = app.store(&owner, "Orphan").await;
    let mut stream = server.follow("/api/events").await;

    let reply = app.delete(&format!("/api/user/{}", owner.id)).bearer(&owner.access).send().await;
    assert_eq!(reply.status, 204);

    let event = stream.next_event(WAIT).await.expect("the store's event");
    assert_eq!(event.name(), "store.updated");
    assert_eq!(event.json()["object"], app.get(&format!("/api/stores/{store}")).send().await.json());
    assert_eq!(event.json()["object"]["owner_id"], json!(null));
    assert!(stream.next_event(Duration::from_millis(300)).await.is_none(), "nothing about the user");
}

#[rocket::async_test]
async fn a_closed_stream_gives_its_place_back_within_a_heartbeat() {
    let app = TestApp::new().await;
    // A heartbeat of a second, by which the server notices a client gone
    // (the default is 2 s; the stream's place is free within one of them).
    let server =
        Server::start(&app, |f| f.merge(("events_max_streams", 1)).merge(("events_heartbeat_seconds", 1)))
            .await;
    // As browsers and proxies do: HTTP/1.1, which keeps the connection.
    let mut first = rocket::tokio::net::TcpStream::connect(("127.0.0.1", server.port)).await.unwrap();
    let request = "GET /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n";
    rocket::tokio::io::AsyncWriteExt::write_all(&mut first, request.as_bytes()).await.unwrap();
    let mut head = [0u8; 512];
    let n = rocket::tokio::io::AsyncReadExt::read(&mut first, &mut head).await.unwrap();
    assert!(String::from_utf8_lossy(&head[..n]).starts_with("HTTP/1.1 200"));
    assert_eq!(server.stream("/api/events", &[]).await.status, 503);
    drop(first);
    let started = std::time::Instant::now();
    let mut status = 0;
    while started.elapsed() < Duration::from_secs(10) {
        status = server.stream("/api/events", &[]).await.status;
        if status == 200 {
            break;
        }
        rocket::tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(status, 200, "the place is free within {:?}", started.elapsed());
    assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
}

#[rocket::async_test]
async fn one_client_holds_at_most_its_share_of_the_streams() {
    let app = TestApp::new().await;
    let server = Server::start(&app, |f| {
        f.merge(("events_max_streams", 10))
            .merge(("events_max_streams_per_client", 2))
            .merge(("ip_header", "X-Real-IP"))
    })
    .await;
    let mine = [("X-Real-IP", "198.51.100.7")];
    let first = server.stream("/api/events", &mine).await;
    let second = server.stream("/api/events", &mine).await;
    assert_eq!((first.status, second.status), (200, 200));
    let third = server.stream("/api/events", &mine).await;
    assert_eq!(third.status, 429, "{}", third.body);
    assert_eq!(third.header("retry-after"), Some("10"));
    let problem: serde_json::Value = serde_json::from_str(&third.body).unwrap();
    assert_eq!(problem["code"], "too_many_streams_from_client");
    // Others still get theirs.
    assert_eq!(server.stream("/api/events", &[("X-Real-IP", "198.51.100.8")]).await.status, 200);
}

#[rocket::async_test]
async fn pruning_keeps_the_events_of_the_history_and_always_the_newest() {
    let app = TestApp::new().await;
    let owner = app.user(Role::Member).await;
    let store = app.store(&owner, "Shop").await;
    for n in 0..4 {
        app.item(&owner, store, &format!("Item {n}"), "1.00").await;
    }
    app.wait_until_numbered();
    let mut conn = app.conn();
    let ids = || -> Vec<i64> {
        diesel::dsl::sql::<diesel::sql_types::BigInt>("SELECT id FROM events ORDER BY id")
            .load(&mut app.conn())
            .unwrap()
    };
    let all = ids();
    assert_eq!(all.len(), 5);
    // The first three happened two days ago.
    diesel::sql_query("UPDATE events SET at = now() - interval '2 days' WHERE id <= $1")
        .bind::<diesel::sql_types::BigInt, _>(all[2])
        .execute(&mut conn)
        .unwrap();
    let a_day_ago = chrono::Utc::now() - chrono::Duration::hours(24);
    assert_eq!(storefront::models::StoredEvent::prune(&mut conn, a_day_ago).unwrap(), 3);
    assert_eq!(ids(), all[3..]);
    // When all of it is older, the newest stays: the history says where it ends.
    diesel::sql_query("UPDATE events SET at = now() - interval '2 days'").execute(&mut conn).unwrap();
    assert_eq!(storefront::models::StoredEvent::prune(&mut conn, a_day_ago).unwrap(), 1);
    assert_eq!(ids(), [all[4]]);
}
