//! Every error under /api is problem+json: Rocket's own, bad bodies, bad
//! parameters, an unreachable or frozen database, and bugs.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use serde_json::json;
use storefront::models::Role;

use crate::harness::{FreezableRelay, TestApp, PASSWORD};

#[rocket::async_test]
async fn unknown_routes_are_json_404_even_for_browsers() {
    let app = TestApp::new().await;
    let reply = app.get("/api/nothing/here").header("Accept", "text/html").send().await;
    assert_eq!(reply.problem(404)["code"], "not_found");
}

#[rocket::async_test]
async fn a_wrong_method_is_405_with_allow() {
    let app = TestApp::new().await;
    let cases = [
        ("/api/stores", "GET, HEAD, POST"),
        ("/api/stores/1", "DELETE, GET, HEAD, PUT"),
        ("/api/login", "POST"),
        ("/api/items/1/tags", "POST"),
        ("/api/tags/1", "DELETE, GET, HEAD"),
        ("/api/user/me", "GET, HEAD"),
        ("/api/user/7", "DELETE, GET, HEAD"),
    ];
    for (path, allow) in cases {
        let reply = app.request(rocket::http::Method::Patch, path).send().await;
        assert_eq!(reply.problem(405)["code"], "method_not_allowed", "{path}");
        assert_eq!(reply.header("allow"), Some(allow), "{path}");
    }
    let reply = app.put("/api/stores").send().await;
    assert_eq!(reply.header("allow"), Some("GET, HEAD, POST"));
    // `me` is no id, and no method but GET is at `/api/user/me`.
    let ann = app.user(storefront::models::Role::Member).await;
    let reply = app.delete("/api/user/me").bearer(&ann.access).send().await;
    assert_eq!(reply.problem(405)["code"], "method_not_allowed");
    assert_eq!(reply.header("allow"), Some("GET, HEAD"));
    let reply = app.delete("/api/user/abc").bearer(&ann.access).send().await;
    assert_eq!(reply.problem(422)["code"], "invalid_parameter");
}

#[rocket::async_test]
async fn bodies_must_be_json_objects_of_bounded_size() {
    let app = TestApp::new().await;
    let ann = app.user(Role::Member).await;
    let post = |content_type: Option<&'static str>, body: String| {
        app.post("/api/stores").bearer(&ann.access).raw(content_type, &body).send()
    };

    assert_eq!(post(None, r#"{"name":"x"}"#.into()).await.problem(415)["code"], "unsupported_media_type");
    assert_eq!(
        post(Some("text/plain"), r#"{"name":"x"}"#.into()).await.problem(415)["code"],
        "unsupported_media_type"
    );
    assert_eq!(post(Some("application/x-www-form-urlencoded"), "name=x".into()).await.status, 415);
    assert_eq!(
        post(Some("application/json"), "{\"name\":".into()).await.problem(400)["code"],
        "malformed_json"
    );
    assert_eq!(post(Some("application/json"), "".into()).await.problem(400)["code"], "malformed_json");
    let lone_surrogate = post(Some("application/json"), "{\"name\": \"\\ud800\"}".into()).await;
    assert_eq!(lone_surrogate.problem(422)["errors"]["name"], "must be a string");
    let not_object = post(Some("application/json"), "[1,2]".into()).await;
    assert_eq!(not_object.problem(422)["errors"]["body"], "must be a JSON object");
    let huge = format!("{{\"name\":\"{}\"}}", "x".repeat(70 * 1024));
    assert_eq!(post(Some("application/json"), huge).await.problem(413)["code"], "payload_too_large");
    assert_eq!(post(Some("application/merge-patch+json"), r#"{"name":"ok"}"#.into()).await.status, 201);
    assert_eq!(app.count("stores"), 1);
}

#[rocket::async_test]
async fn hostile_ids_are_4xx() {
    let app = TestApp::new().await;
    for id in ["abc", "0", "-1", "1.5", "99999999999999999999", "%00", "+1"] {
        let reply = app.get(&format!("/api/stores/{id}")).send().await;
        assert_eq!(reply.problem(422)["code"], "invalid_parameter", "{id}");
    }
    for id in ["2147483648", "9223372036854775807"] {
        assert_eq!(
            app.get(&format!("/api/items/{id}")).send().await.problem(404)["code"],
            "not_found",
            "{id}"
        );
    }
}

#[rocket::async_test]
async fn a_bug_is_an_opaque_500_with_a_request_id() {
    let app = TestApp::new().await;
    use diesel::prelude::*;
    diesel::sql_query("ALTER TABLE stores RENAME COLUMN version TO secret_column_name")
        .execute(&mut app.conn())
        .unwrap();

    let reply = app.get("/api/stores").send().await;

    let problem = reply.problem(500);
    assert_eq!(problem["code"], "internal_error");
    let request_id = problem["request_id"].as_str().unwrap();
    assert!(problem["detail"].as_str().unwrap().contains(request_id));
    assert!(!reply.text.contains("secret_column_name") && !reply.text.contains("version"), "{}", reply.text);
}

#[rocket::async_test]
async fn an_unreachable_database_is_a_prompt_503_with_retry_after() {
    let app =
        TestApp::configured(|f| f.merge(("database_budget_seconds", 2)).merge(("databases.main.timeout", 1)))
            .await;
    assert_eq!(app.get("/api/stores").send().await.status, 200);
    use diesel::prelude::*;
    let mut admin = diesel::PgConnection::establish(&app.url().replace(&app.database, "postgres")).unwrap();
    diesel::sql_query(format!("ALTER DATABASE {} ALLOW_CONNECTIONS false", app.database))
        .execute(&mut admin)
        .unwrap();
    diesel::sql_query(format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{}'",
        app.database
    ))
    .execute(&mut admin)
    .unwrap();

    let started = Instant::now();
    let reply = app.get("/api/stores").send().await;

    assert!(started.elapsed() < Duration::from_secs(4), "took {:?}", started.elapsed());
    assert_eq!(reply.problem(503)["code"], "unavailable");
    assert_eq!(reply.header("retry-after"), Some("5"));
    diesel::sql_query(format!("ALTER DATABASE {} ALLOW_CONNECTIONS true", app.database))
        .execute(&mut admin)
        .unwrap();
    let mut recovered = 0;
    for _ in 0..20 {
        recovered = app.get("/api/stores").send().await.status;
        if recovered == 200 {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(recovered, 200, "the pool reconnects once the database is back");
}

#[rocket::async_test]
async fn a_frozen_database_is_a_503_within_the_budget_not_a_hang() {
    let relay = FreezableRelay::start();
    let database = TestApp::create_database();
    let url = format!("postgres://postgres@127.0.0.1:{}/{database}?connect_timeout=2", relay.port);
    let app = TestApp::launch_on(database, &url, |f| f.merge(("database_budget_seconds", 1))).await;
    assert_eq!(app.get("/api/stores").send().await.status, 200);

    relay.frozen.store(true, Ordering::SeqCst);
    let started = Instant::now();
    let read = app.get("/api/stores").send().await;
    let write = app
        .post("/api/register")
        .json(json!({"email": "a@example.org", "password": "tulip-harbour-71"}))
        .send()
        .await;
    let elapsed = started.elapsed();
    relay.frozen.store(false, Ordering::SeqCst);

    assert_eq!(read.problem(503)["code"], "unavailable");
    assert_eq!(write.problem(503)["code"], "unavailable");
    assert!(elapsed < Duration::from_secs(5), "took {elapsed:?}");
}

/// The application on a database reached through a relay that can freeze
/// (in plain text, so that it can see what is sent).
async fn behind_a_relay() -> (TestApp, FreezableRelay) {
    let relay = FreezableRelay::start();
    let database = TestApp::create_database();
    let url =
        format!("postgres://postgres@127.0.0.1:{}/{database}?connect_timeout=2&sslmode=disable", relay.port);
    let app = TestApp::launch_on(database, &url, |f| f.merge(("database_budget_seconds", 1))).await;
    (app, relay)
}

#[rocket::async_test]
async fn an_outage_is_a_503_for_a_valid_token_not_a_revoked_one() {
    let (app, relay) = behind_a_relay().await;
    let ann = app.user(Role::Member).await;

    relay.frozen.store(true, Ordering::SeqCst);
    let reply = app.get(&format!("/api/user/{}", ann.id)).bearer(&ann.access).send().await;
    relay.frozen.store(false, Ordering::SeqCst);

    assert_eq!(reply.problem(503)["code"], "unavailable");
    assert_eq!(app.get(&format!("/api/user/{}", ann.id)).bearer(&ann.access).send().await.status, 200);
}

#[rocket::async_test]
async fn an_outage_is_a_503_page_for_signed_in_staff_not_the_login_page() {
    let (app, relay) = behind_a_relay().await;
    app.insert_user("staff@example.org", Role::Staff);
    let browser = app.browser();
    browser.login("staff@example.org", PASSWORD).await;
    let token = browser.csrf("/admin/stores/new").await;

    relay.frozen.store(true, Ordering::SeqCst);
    let panel = browser.get("/admin").await;
    let account = browser.get("/account").await;
    let form = browser.post("/admin/stores", &[("csrf_token", &token), ("name", "Outage")]).await;
    relay.frozen.store(false, Ordering::SeqCst);

    for (name, reply) in [("admin", &panel), ("account", &account), ("form", &form)] {
        assert_eq!(reply.status, 503, "{name}: {}", reply.header("location").unwrap_or_default());
        assert!(reply.text.contains("Temporarily unavailable"), "{name}");
    }
    assert_eq!(browser.get("/admin").await.status, 200, "signed in still, once the database is back");
}

/// Transactions of the app's database still open (running, or waiting for
/// the app in the middle of one), after waiting up to five seconds for none.
fn open_transactions_after_waiting(app: &TestApp) -> i64 {
    use diesel::prelude::*;
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut conn = app.conn();
    let started = Instant::now();
    loop {
        let open: Count = diesel::sql_query(
            "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() \
             AND pid <> pg_backend_pid() AND xact_start IS NOT NULL",
        )
        .get_result(&mut conn)
        .unwrap();
        if open.n == 0 || started.elapsed() > Duration::from_secs(5) {
            return open.n;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[rocket::async_test]
async fn a_create_cut_off_before_its_commit_is_a_503_and_is_never_made_afterwards() {
    let (app, relay) = behind_a_relay().await;
    let ann = app.user(Role::Member).await;
    let store = app.store(&ann, "Shop").await;
    let events_before = app.count("events");

    // The database stops answering while the insert is on its way.
    relay.freeze_when_sent("INSERT INTO \"items\"");
    let body = json!({"name": "Kettle", "price": "20.00", "store_id": store});
    let reply = app.post("/api/items").bearer(&ann.access).json(body).send().await;
    assert_eq!(reply.problem(503)["code"], "unavailable");
    assert_eq!(reply.header("retry-after"), Some("5"));

    // It answers again and carries out the insert; the transaction is
    // rolled back instead of committed, since nobody waits for it.
    relay.frozen.store(false, Ordering::SeqCst);
    assert_eq!(open_transactions_after_waiting(&app), 0);
    assert_eq!(app.count("items"), 0, "a 503 hid a commit");
    assert_eq!(app.count("events"), events_before);
    // And the app goes on as before.
    let body = json!({"name": "Kettle", "price": "20.00", "store_id": store});
    assert_eq!(app.post("/api/items").bearer(&ann.access).json(body).send().await.status, 201);
}

#[rocket::async_test]
async fn a_commit_left_unconfirmed_is_a_distinct_503_that_says_it_may_have_been_applied() {
    let (app, relay) = behind_a_relay().await;
    let ann = app.user(Role::Member).await;
    let store = app.store(&ann, "Shop").await;
    // The sequencer's own commit, numbering the store's event, is not the
    // one this test is about.
    app.wait_until_numbered();

    relay.freeze_when_sent("COMMIT");
    let body = json!({"name": "Kettle", "price": "20.00", "store_id": store});
    let reply = app.post("/api/items").bearer(&ann.access).json(body).send().await;
    let problem = reply.problem(503);
    assert_eq!(problem["code"], "outcome_unknown");
    assert!(problem["detail"].as_str().unwrap().contains("may have been applied"), "{problem}");
    assert_eq!(reply.header("retry-after"), Some("5"));

    // Indeed: once the database answers, the commit it was sent is made.
    relay.frozen.store(false, Ordering::SeqCst);
    assert_eq!(open_transactions_after_waiting(&app), 0);
    assert_eq!(app.count("items"), 1);
}
