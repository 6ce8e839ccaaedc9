//! `Idempotency-Key`: a write sent again with its key is answered as the
//! first time without being done again, on any instance; the same key with
//! another request is 422, while the first runs 409, and a key whose
//! request was abandoned is taken again.

use serde_json::json;
use storefront::models::Role;

use crate::harness::{join_all, Call, TestApp};

/// `POST /api/stores` of `name` with `token` and `key`.
fn create_store<'a>(instance: &'a TestApp, token: &str, key: &str, name: &str) -> Call<'a> {
    instance.post("/api/stores").bearer(token).header("Idempotency-Key", key).json(json!({"name": name}))
}

fn sql(app: &TestApp, statement: &str) {
    diesel::RunQueryDsl::execute(diesel::sql_query(statement), &mut app.conn()).unwrap();
}

#[rocket::async_test]
async fn a_retried_write_is_answered_again_not_done_again_on_any_instance() {
    let app = TestApp::new().await;
    let ann = app.user(Role::Member).await;
    let other = TestApp::launch_on(app.database.clone(), &app.url(), |f| f).await;
    let create = |instance, key, name| create_store(instance, &ann.access, key, name);

    let first = create(&app, "k-1", "Corner").send().await;
    assert_eq!(first.status, 201, "{}", first.text);
    assert_eq!(first.header("idempotent-replayed"), None);
    // Sent again, to the other instance: the same answer, marked, and one store.
    let again = create(&other, "k-1", "Corner").send().await;
    assert_eq!((again.status, again.text.as_str()), (201, first.text.as_str()));
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.header("location"), first.header("location"));
    assert_eq!(again.header("content-type"), Some("application/json"));
    assert_eq!(app.count("stores"), 1);
    // The same key with another request is refused; another key is another request.
    let reused = create(&app, "k-1", "Elsewhere").send().await;
    assert_eq!(reused.problem(422)["code"], "idempotency_key_reused");
    let conflict = create(&app, "k-2", "Corner").send().await;
    assert_eq!(conflict.problem(409)["code"], "conflict", "a store of that name exists: not a replay");
    assert_eq!(create(&app, "k-2", "Corner").send().await.header("idempotent-replayed"), Some("true"));
    // Keys are each account's own.
    let bob = app.user(Role::Member).await;
    let bobs = app
        .post("/api/stores")
        .bearer(&bob.access)
        .header("Idempotency-Key", "k-1")
        .json(json!({"name": "Bob's"}))
        .send()
        .await;
    assert_eq!(bobs.status, 201, "{}", bobs.text);

    // A delete, which has no body, retried: 204 again rather than 404.
    let store = first.json()["id"].as_i64().unwrap();
    let delete =
        || app.delete(&format!("/api/stores/{store}")).bearer(&ann.access).header("Idempotency-Key", "d-1");
    assert_eq!(delete().send().await.status, 204);
    let retried = delete().send().await;
    assert_eq!((retried.status, retried.header("idempotent-replayed")), (204, Some("true")));
    assert_eq!(app.delete(&format!("/api/stores/{store}")).bearer(&ann.access).send().await.status, 404);

    // A key that is not one.
    let long = "x".repeat(256);
    let bad = create(&app, &long, "Long").send().await;
    assert_eq!(bad.problem(400)["code"], "invalid_idempotency_key");
    std::mem::forget(other);
}

#[rocket::async_test]
async fn a_key_whose_request_runs_is_refused_until_it_answers_or_is_abandoned() {
    let app = TestApp::new().await;
    let ann = app.user(Role::Member).await;
    let create = || {
        app.post("/api/stores")
            .bearer(&ann.access)
            .header("Idempotency-Key", "slow")
            .json(json!({"name": "Slow"}))
    };
    assert_eq!(create().send().await.status, 201);
    // As if the first were still running on some instance.
    sql(&app, "UPDATE idempotency_keys SET status = NULL, headers = NULL, body = NULL");
    let running = create().send().await;
    assert_eq!(running.problem(409)["code"], "idempotency_key_in_use");
    assert_eq!(running.header("retry-after"), Some("1"));
    // Its instance died two minutes ago: the key is taken again, and the
    // request runs (the store exists now, so it is a conflict this time).
    sql(&app, "UPDATE idempotency_keys SET claimed_at = now() - interval '3 minutes'");
    let again = create().send().await;
    assert_eq!(again.problem(409)["code"], "conflict");
    assert_eq!(again.header("idempotent-replayed"), None);
    assert_eq!(create().send().await.header("idempotent-replayed"), Some("true"));
    // A day later the key is free again.
    sql(&app, "UPDATE idempotency_keys SET claimed_at = now() - interval '25 hours'");
    assert_eq!(create().send().await.header("idempotent-replayed"), None);
}

#[rocket::async_test]
async fn the_same_key_sent_at_once_to_two_instances_does_the_work_once() {
    let app = TestApp::new().await;
    let ann = app.user(Role::Member).await;
    let other = TestApp::launch_on(app.database.clone(), &app.url(), |f| f).await;
    for round in 0..5 {
        let key = format!("race-{round}");
        let name = format!("Raced {round}");
        let replies = join_all([&app, &other, &app, &other].map(|instance| {
            instance
                .post("/api/stores")
                .bearer(&ann.access)
                .header("Idempotency-Key", &key)
                .json(json!({"name": name}))
                .send()
        }))
        .await;
        let created: Vec<_> = replies.iter().filter(|r| r.status == 201).collect();
        assert!(!created.is_empty(), "{:?}", replies.iter().map(|r| &r.text).collect::<Vec<_>>());
        assert!(created.iter().all(|r| r.text == created[0].text), "every 201 is the one answer");
        let fresh = created.iter().filter(|r| r.header("idempotent-replayed").is_none()).count();
        assert_eq!(fresh, 1, "done once");
        for reply in replies.iter().filter(|r| r.status != 201) {
            assert_eq!(reply.problem(409)["code"], "idempotency_key_in_use", "{}", reply.text);
        }
    }
    assert_eq!(app.count("stores"), 5);
    std::mem::forget(other);
}
