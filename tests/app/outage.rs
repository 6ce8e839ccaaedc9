//! An outage is reported as an outage on every surface. PostgreSQL backends
//! terminated in the middle of a request give a 503 (problem+json under
//! `/api`, a page with `Retry-After` elsewhere), never a 500, a revoked token
//! or the login page; the next requests succeed; a write that was refused is
//! not half made. One database budget bounds the whole request.

use std::time::{Duration, Instant};

use diesel::prelude::*;
use serde_json::json;
use storefront::models::Role;

use crate::harness::{Reply, TestApp, PASSWORD};

/// Holds `table` locked, so that the next statement of the app touching it
/// waits, then terminates every backend of the app's database while one is
/// waiting, and lets go. Each termination is waited for (the timeout
/// argument), so that the backends are gone, as after a restart.
async fn terminated_while_waiting_on<F: std::future::Future<Output = Reply>>(
    app: &TestApp,
    table: &'static str,
    request: F,
) -> Reply {
    let database = app.database.clone();
    let mut blocker = app.conn();
    diesel::sql_query("BEGIN").execute(&mut blocker).unwrap();
    diesel::sql_query(format!("LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")).execute(&mut blocker).unwrap();
    let killer = rocket::tokio::task::spawn_blocking(move || {
        let mut conn = PgConnection::establish(&TestApp::database_url("postgres")).unwrap();
        let started = Instant::now();
        let waiting = format!(
            "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = '{database}' AND wait_event_type = 'Lock'"
        );
        #[derive(QueryableByName)]
        struct Count {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let found = loop {
            let count: Count = diesel::sql_query(&waiting).get_result(&mut conn).unwrap();
            if count.n > 0 || started.elapsed() > Duration::from_secs(5) {
                break count.n > 0;
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        assert!(found, "a request waits on the lock");
        diesel::sql_query(format!(
            "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity \
             WHERE datname = '{database}' AND pid <> pg_backend_pid() AND wait_event_type = 'Lock'"
        ))
        .execute(&mut conn)
        .unwrap();
        // The application's other connections go too, as in a restart.
        diesel::sql_query(format!(
            "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE datname = '{database}' \
             AND pid <> pg_backend_pid() AND state = 'idle'"
        ))
        .execute(&mut conn)
        .unwrap();
    });
    let reply = request.await;
    killer.await.unwrap();
    diesel::sql_query("COMMIT").execute(&mut blocker).unwrap();
    reply
}

fn assert_unavailable_page(reply: &Reply, what: &str) {
    assert_eq!(reply.status, 503, "{what}: {:?} {}", reply.header("location"), reply.text);
    assert_eq!(reply.header("retry-after"), Some("5"), "{what}");
    assert!(reply.header("content-type").is_some_and(|ct| ct.starts_with("text/html")), "{what}");
    assert!(reply.text.contains("Temporarily unavailable"), "{what}");
}

#[rocket::async_test]
async fn api_requests_whose_backend_is_terminated_get_503_and_then_succeed() {
    let app = TestApp::new().await;
    let ann = app.user(Role::Member).await;
    let me = format!("/api/user/{}", ann.id);

    // The token's session is being looked up when the backend goes.
    let lookup = terminated_while_waiting_on(&app, "sessions", app.get(&me).bearer(&ann.access).send()).await;
    assert_eq!(lookup.problem(503)["code"], "unavailable");
    assert_eq!(lookup.header("retry-after"), Some("5"));
    assert_eq!(app.get(&me).bearer(&ann.access).send().await.status, 200, "the token still holds");

    // A read, and a write that is refused and not made.
    let read = terminated_while_waiting_on(&app, "stores", app.get("/api/stores").send()).await;
    assert_eq!(read.problem(503)["code"], "unavailable");
    let create = app.post("/api/stores").bearer(&ann.access).json(json!({"name": "Mid-request"}));
    let write = terminated_while_waiting_on(&app, "stores", create.send()).await;
    assert_eq!(write.problem(503)["code"], "unavailable");
    assert_eq!(app.count("stores"), 0);
    let again = app.post("/api/stores").bearer(&ann.access).json(json!({"name": "Mid-request"})).send().await;
    assert_eq!(again.status, 201, "{}", again.text);
    assert_eq!(app.get("/api/stores").send().await.status, 200);
}

#[rocket::async_test]
async fn public_and_account_pages_whose_backend_is_terminated_are_503_pages() {
    let app = TestApp::new().await;
    app.insert_user("member@example.org", Role::Member);
    let browser = app.browser();
    browser.login("member@example.org", PASSWORD).await;

    let home = terminated_while_waiting_on(&app, "stores", browser.get("/")).await;
    assert_unavailable_page(&home, "home");
    let sessions = terminated_while_waiting_on(&app, "sessions", browser.get("/account/sessions")).await;
    assert_unavailable_page(&sessions, "account");
    assert_eq!(browser.get("/").await.status, 200);
    assert_eq!(browser.get("/account/sessions").await.status, 200, "still signed in");
}

#[rocket::async_test]
async fn admin_pages_and_forms_whose_backend_is_terminated_are_503_pages() {
    let app = TestApp::new().await;
    app.insert_user("staff@example.org", Role::Staff);
    let browser = app.browser();
    browser.login("staff@example.org", PASSWORD).await;
    let token = browser.csrf("/admin/stores/new").await;

    let signed_in = terminated_while_waiting_on(&app, "sessions", browser.get("/admin/stores")).await;
    assert_unavailable_page(&signed_in, "session lookup");
    let list = terminated_while_waiting_on(&app, "stores", browser.get("/admin/stores")).await;
    assert_unavailable_page(&list, "list");
    let fields = [("csrf_token", token.as_str()), ("name", "Half made")];
    let form = browser.post("/admin/stores", &fields);
    let saved = terminated_while_waiting_on(&app, "stores", form).await;
    assert_unavailable_page(&saved, "form");
    assert_eq!(app.count("stores"), 0);

    assert_eq!(browser.get("/admin/stores").await.status, 200, "still signed in");
    let retried = browser.post("/admin/stores", &[("csrf_token", &token), ("name", "Half made")]).await;
    assert_eq!(retried.status, 303, "{}", retried.text);
    assert_eq!(app.count("stores"), 1);
}

#[rocket::get("/steps/<count>")]
async fn steps(db: storefront::db::Db, count: u32) -> Result<&'static str, storefront::api::Problem> {
    for _ in 0..count {
        db.run(|conn| Ok(diesel::sql_query("SELECT pg_sleep(0.4)").execute(conn)?)).await?;
    }
    Ok("done")
}

#[rocket::async_test]
async fn one_budget_bounds_the_whole_request_not_each_step() {
    let app = TestApp::extended(
        |f| f.merge(("database_budget_seconds", 1)),
        |rocket| rocket.mount("/probe", rocket::routes![steps]),
    )
    .await;
    let one = app.get("/probe/steps/1").send().await;
    assert_eq!((one.status, one.text.as_str()), (200, "done"));

    // Each step is well within the budget; all four are not.
    let started = Instant::now();
    let four = app.get("/probe/steps/4").send().await;
    let elapsed = started.elapsed();
    assert_eq!(four.status, 503);
    assert!(elapsed < Duration::from_millis(1300), "took {elapsed:?}");
}

#[rocket::async_test]
async fn connections_whose_backends_were_terminated_while_idle_are_never_used() {
    let app = TestApp::new().await;
    let ann = app.user(Role::Member).await;
    // Fill the pool with idle connections: a burst of concurrent reads.
    let reads = (0..12).map(|_| app.get("/api/stores").send());
    assert!(crate::harness::join_all(reads).await.iter().all(|reply| reply.status == 200));

    let mut admin = PgConnection::establish(&TestApp::database_url("postgres")).unwrap();
    let terminate = format!(
        "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE datname = '{}' AND pid <> pg_backend_pid()",
        app.database
    );
    diesel::sql_query(&terminate).execute(&mut admin).unwrap();
    std::thread::sleep(Duration::from_millis(100));

    // Every dead connection is noticed at checkout, without a query, and
    // replaced: not one request fails.
    let mut statuses = Vec::new();
    for _ in 0..20 {
        statuses.push(app.get("/api/stores").send().await.status);
        statuses.push(app.get(&format!("/api/user/{}", ann.id)).bearer(&ann.access).send().await.status);
    }
    assert!(statuses.iter().all(|&status| status == 200), "{statuses:?}");
    let concurrent = (0..12).map(|_| app.get("/api/stores").send());
    assert!(crate::harness::join_all(concurrent).await.iter().all(|reply| reply.status == 200));
}
