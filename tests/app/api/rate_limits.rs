//! Hourly budgets of API clients: every answer to a request with a bearer
//! token says where its account stands, counting down; past the budget,
//! 429 with `Retry-After`. Writes hold exactly across instances; reads are
//! shared between instances every two seconds.

use serde_json::json;
use storefront::models::Role;

use crate::harness::{Call, Reply, TestApp};

fn create_store<'a>(instance: &'a TestApp, token: &str, name: &str) -> Call<'a> {
    instance.post("/api/stores").bearer(token).json(json!({"name": name}))
}

async fn own_account(instance: &TestApp, token: &str) -> Reply {
    instance.get("/api/user/me").bearer(token).send().await
}

fn standing(reply: &Reply) -> (Option<&str>, Option<&str>, Option<&str>) {
    (
        reply.header("x-ratelimit-limit"),
        reply.header("x-ratelimit-remaining"),
        reply.header("x-ratelimit-used"),
    )
}

#[rocket::async_test]
async fn writes_count_down_to_a_429_on_every_instance() {
    let budget = |f: rocket::figment::Figment| f.merge(("api_writes_per_hour", 3));
    let app = TestApp::configured(budget).await;
    let other = TestApp::launch_on(app.database.clone(), &app.url(), budget).await;
    let ann = app.user(Role::Member).await;
    let create = |instance, name| create_store(instance, &ann.access, name);
    let first = create(&app, "One").send().await;
    assert_eq!(first.status, 201);
    assert_eq!(standing(&first), (Some("3"), Some("2"), Some("1")));
    assert_eq!(first.header("x-ratelimit-resource"), Some("writes"));
    assert_eq!(first.header("ratelimit-policy"), Some("\"writes\";q=3;w=3600"));
    let reset: i64 = first.header("x-ratelimit-reset").unwrap().parse().unwrap();
    let now = chrono::Utc::now().timestamp();
    assert!(reset > now && reset <= now + 3600 && reset % 3600 == 0, "the end of this hour");
    let seconds = reset - now;
    let ratelimit = first.header("ratelimit").unwrap();
    assert!(ratelimit.starts_with("\"writes\";r=2;t="), "{ratelimit}");
    let t: i64 = ratelimit.rsplit("t=").next().unwrap().parse().unwrap();
    assert!((seconds - 2..=seconds).contains(&t), "{t} vs {seconds}");

    // A refused write counts too: the budget is for requests, not successes.
    assert_eq!(create(&other, "One").send().await.status, 409);
    let third = create(&other, "Three").send().await;
    assert_eq!((third.status, standing(&third)), (201, (Some("3"), Some("0"), Some("3"))));
    for instance in [&app, &other] {
        let over = create(instance, "Four").send().await;
        assert_eq!(over.problem(429)["code"], "rate_limited");
        let retry_after: i64 = over.header("retry-after").unwrap().parse().unwrap();
        assert!((1..=3600).contains(&retry_after));
        assert_eq!(standing(&over), (Some("3"), Some("0"), Some("3")));
    }
    assert_eq!(app.count("stores"), 2);
    // Reads have a budget of their own; other accounts too; nothing is
    // counted, or said, without a token.
    let read = app.get("/api/stores").bearer(&ann.access).send().await;
    assert_eq!((read.status, read.header("x-ratelimit-resource")), (200, Some("reads")));
    let bob = app.user(Role::Member).await;
    let bobs = app.post("/api/stores").bearer(&bob.access).json(json!({"name": "Bob's"})).send().await;
    assert_eq!((bobs.status, bobs.header("x-ratelimit-remaining")), (201, Some("2")));
    let anonymous = app.get("/api/stores").send().await;
    assert_eq!((anonymous.status, anonymous.header("x-ratelimit-limit")), (200, None));
    std::mem::forget(other);
}

#[rocket::async_test]
async fn reads_are_shared_between_instances_within_seconds() {
    let budget = |f: rocket::figment::Figment| f.merge(("api_reads_per_hour", 3));
    let app = TestApp::configured(budget).await;
    let other = TestApp::launch_on(app.database.clone(), &app.url(), budget).await;
    let ann = app.user(Role::Member).await;
    let read = |instance| own_account(instance, &ann.access);
    for remaining in ["2", "1", "0"] {
        assert_eq!(read(&app).await.header("x-ratelimit-remaining"), Some(remaining));
    }
    assert_eq!(read(&app).await.problem(429)["code"], "rate_limited");
    // The other instance has not heard of them yet: it serves one read...
    let unheard = read(&other).await;
    assert_eq!((unheard.status, unheard.header("x-ratelimit-remaining")), (200, Some("2")));
    // ... and once it has shared its count (within two seconds), it knows
    // of all four, and refuses.
    rocket::tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    let over = read(&other).await;
    assert_eq!(over.problem(429)["code"], "rate_limited");
    assert_eq!(over.header("x-ratelimit-remaining"), Some("0"));
    assert_eq!(over.header("x-ratelimit-used"), Some("3"));
    rocket::tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    let served: i64 = diesel::RunQueryDsl::get_result::<i64>(
        diesel::dsl::sql::<diesel::sql_types::BigInt>("SELECT used FROM api_usage WHERE kind = 'read'"),
        &mut app.conn(),
    )
    .unwrap();
    assert_eq!(served, 4, "one read past the budget, served before the instances had shared their counts");
    std::mem::forget(other);
}
