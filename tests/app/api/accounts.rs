//! Registration, login with throttling, logout, and users.

use serde_json::json;
use storefront::models::Role;

use crate::harness::{TestApp, PASSWORD};

#[rocket::async_test]
async fn registration_creates_a_member_and_never_shows_the_hash() {
    let app = TestApp::new().await;

    let reply = app
        .post("/api/register")
        .json(json!({"email": " Ann@Example.org ", "password": "tulip-harbour-71"}))
        .send()
        .await;

    assert_eq!(reply.status, 201, "{}", reply.text);
    let user = reply.json();
    assert_eq!(user["email"], "Ann@Example.org");
    assert_eq!(user["role"], "member");
    assert_eq!(user["is_active"], true);
    assert_eq!(reply.header("location"), Some(format!("/api/user/{}", user["id"]).as_str()));
    assert!(!reply.text.contains("argon2") && !reply.text.contains("password"), "{}", reply.text);
    let login = app.login("ann@example.org", "tulip-harbour-71").await;
    assert_eq!(login.status, 200, "{}", login.text);
}

#[rocket::async_test]
async fn nobody_becomes_admin_by_registering() {
    let app = TestApp::new().await;
    let reply = app
        .post("/api/register")
        .json(json!({"email": "eve@example.org", "password": "tulip-harbour-71", "role": "admin"}))
        .send()
        .await;
    assert_eq!(reply.problem(422)["errors"]["role"], "is not a known field");
    assert_eq!(app.count("users"), 0);
    // The first account is a member like any other.
    let first = app
        .post("/api/register")
        .json(json!({"email": "eve@example.org", "password": "tulip-harbour-71"}))
        .send()
        .await;
    assert_eq!(first.json()["role"], "member");
}

#[rocket::async_test]
async fn duplicate_and_invalid_registrations_are_refused() {
    let app = TestApp::new().await;
    app.post("/api/register")
        .json(json!({"email": "ann@example.org", "password": "tulip-harbour-71"}))
        .send()
        .await;

    let duplicate = app
        .post("/api/register")
        .json(json!({"email": "ANN@example.org", "password": "another-pass-42"}))
        .send()
        .await;
    assert_eq!(duplicate.problem(409)["detail"], "This email is already registered.");
    let cases = [
        (
            json!({"email": "not-an-email", "password": "tulip-harbour-71"}),
            "email",
            "must be an email address",
        ),
        (
            json!({"email": "bob@example.org", "password": "short"}),
            "password",
            "must be at least 12 characters",
        ),
        (
            json!({"email": "bob@example.org", "password": "qwerty123456"}),
            "password",
            "is too easy to guess: use a few unrelated words, or add more characters",
        ),
        (
            json!({"email": "bob@example.org", "password": "bob-of-the-valley-9"}),
            "password",
            "must not contain the name of your email address",
        ),
        (
            json!({"email": "bob@example.org", "password": "x".repeat(10_000)}),
            "password",
            "must be at most 128 characters",
        ),
        (json!({"email": "bob@example.org"}), "password", "is required"),
        (
            json!({"email": "b\u{0}b@example.org", "password": "tulip-harbour-71"}),
            "email",
            "must not contain control or invisible characters",
        ),
        (
            json!({"email": "b\u{FEFF}b@example.org", "password": "tulip-harbour-71"}),
            "email",
            "must not contain control or invisible characters",
        ),
        (
            json!({"email": "b\u{200E}b@example.org", "password": "tulip-harbour-71"}),
            "email",
            "must not contain control or invisible characters",
        ),
        (
            json!({"email": "b\u{E0062}b@example.org", "password": "tulip-harbour-71"}),
            "email",
            "must not contain control or invisible characters",
        ),
    ];
    for (body, field, message) in cases {
        let reply = app.post("/api/register").json(body.clone()).send().await;
        assert_eq!(reply.problem(422)["errors"][field], message, "{body}");
    }
    assert_eq!(app.count("users"), 1);
}

#[rocket::async_test]
async fn login_answers_alike_for_unknown_email_and_wrong_password() {
    let app = TestApp::new().await;
    let ann = app.user(Role::Member).await;

    let wrong_password = app.login(&ann.email, "not-the-password").await;
    let unknown_email = app.login("nobody@example.org", "not-the-password").await;

    assert_eq!(wrong_password.problem(401), unknown_email.problem(401));
    assert_eq!(wrong_password.json()["code"], "invalid_credentials");
    assert_eq!(wrong_password.header("www-authenticate"), unknown_email.header("www-authenticate"));
    let ok = app.login(&ann.email, PASSWORD).await.json();
    assert_eq!(ok["token_type"], "Bearer");
    assert_eq!(ok["expires_in"], 900);
    assert!(ok["access_token"].is_string() && ok["refresh_token"].is_string());
}

#[rocket::async_test]
async fn deactivated_accounts_cannot_log_in() {
    let app = TestApp::new().await;
    let ann = app.user(Role::Member).await;
    use diesel::prelude::*;
    use storefront::schema::users;
    diesel::update(users::table.find(ann.id))
        .set(users::is_active.eq(false))
        .execute(&mut app.conn())
        .unwrap();

    assert_eq!(app.login(&ann.email, PASSWORD).await.problem(401)["code"], "invalid_credentials");
}

#[rocket::async_test]
async fn repeated_failures_are_throttled_per_account_whatever_the_claimed_address() {
    let app = TestApp::new().await;
    let ann = app.user(Role::Member).await;

    for n in 0..10 {
        let forged = format!("10.0.0.{n}");
        let reply = app
            .post("/api/login")
            .header("X-Real-IP", &forged)
            .header("X-Forwarded-For", &forged)
            .json(json!({"email": ann.email, "password": "wrong-password"}))
            .send()
            .await;
        assert_eq!(reply.status, 401, "attempt {n}");
    }
    let throttled = app
        .post("/api/login")
        .header("X-Real-IP", "10.9.9.9")
        .json(json!({"email": ann.email, "password": PASSWORD}))
        .send()
        .await;

    assert_eq!(throttled.problem(429)["code"], "too_many_attempts");
    let retry_after: u64 = throttled.header("retry-after").unwrap().parse().unwrap();
    assert!((800..=900).contains(&retry_after), "{retry_after}");
    // Another account is not locked out by Ann's attacker.
    let bob = app.user(Role::Member).await;
    assert_eq!(app.login(&bob.email, PASSWORD).await.status, 200);
}

#[rocket::async_test]
async fn repeated_failures_are_throttled_per_client_across_accounts() {
    let app = TestApp::configured(|f| f.merge(("login_failures_per_client", 5))).await;
    for n in 0..5 {
        let reply = app.login(&format!("guess{n}@example.org"), "wrong-password").await;
        assert_eq!(reply.status, 401);
    }
    let reply = app.login("guess-next@example.org", "wrong-password").await;
    assert_eq!(reply.problem(429)["code"], "too_many_attempts");
}

#[rocket::async_test]
async fn users_see_themselves_and_admins_see_everyone() {
    let app = TestApp::new().await;
    let ann = app.user(Role::Member).await;
    let bob = app.user(Role::Member).await;
    let staff = app.user(Role::Staff).await;
    let admin = app.user(Role::Admin).await;
    let path = format!("/api/user/{}", ann.id);

    let own = app.get(&path).bearer(&ann.access).send().await;
    assert_eq!(own.status, 200);
    let body = own.json();
    assert_eq!(body["email"], ann.email.as_str());
    assert_eq!(
        body.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["created_at", "email", "id", "is_active", "role"]
    );
    assert_eq!(app.get(&path).send().await.problem(401)["code"], "authorization_required");
    assert_eq!(app.get(&path).bearer(&bob.access).send().await.problem(403)["code"], "forbidden");
    assert_eq!(app.get(&path).bearer(&staff.access).send().await.status, 403);
    assert_eq!(app.get(&path).bearer(&admin.access).send().await.status, 200);
    assert_eq!(
        app.get("/api/user/999999").bearer(&admin.access).send().await.problem(404)["detail"],
        "The user does not exist."
    );
    assert_eq!(app.get("/api/user/999999").bearer(&ann.access).send().await.status, 403);
}

#[rocket::async_test]
async fn accounts_are_deleted_by_their_owner_with_a_fresh_token_or_by_an_admin() {
    let app = TestApp::new().await;
    let ann = app.user(Role::Member).await;
    let bob = app.user(Role::Member).await;
    let staff = app.user(Role::Staff).await;
    let admin = app.user(Role::Admin).await;
    let store = app.store(&ann, "Ann's").await;

    assert_eq!(app.delete(&format!("/api/user/{}", ann.id)).bearer(&bob.access).send().await.status, 403);
    assert_eq!(app.delete(&format!("/api/user/{}", ann.id)).bearer(&staff.access).send().await.status, 403);
    let refreshed = app.post("/api/refresh").bearer(&ann.refresh).send().await.json();
    let stale = refreshed["access_token"].as_str().unwrap();
    let not_fresh = app.delete(&format!("/api/user/{}", ann.id)).bearer(stale).send().await;
    assert_eq!(not_fresh.problem(401)["code"], "fresh_token_required");

    let gone = app.delete(&format!("/api/user/{}", ann.id)).bearer(&ann.access).send().await;
    assert_eq!(gone.status, 204, "{}", gone.text);
    assert_eq!(
        app.get(&format!("/api/stores/{store}")).send().await.json()["owner_id"],
        serde_json::Value::Null
    );
    assert_eq!(
        app.get(&format!("/api/user/{}", bob.id)).bearer(&ann.access).send().await.problem(401)["code"],
        "token_revoked"
    );

    let refreshed = app.post("/api/refresh").bearer(&admin.refresh).send().await.json();
    let stale = refreshed["access_token"].as_str().unwrap();
    let not_fresh = app.delete(&format!("/api/user/{}", bob.id)).bearer(stale).send().await;
    assert_eq!(not_fresh.problem(401)["code"], "fresh_token_required", "admins need a fresh login too");
    assert_eq!(app.delete(&format!("/api/user/{}", bob.id)).bearer(&admin.access).send().await.status, 204);
    assert_eq!(app.delete(&format!("/api/user/{}", bob.id)).bearer(&admin.access).send().await.status, 404);
    assert_eq!(app.count("sessions"), 2);
}

#[rocket::async_test]
async fn hostile_login_input_is_refused_without_a_server_error() {
    let app = TestApp::new().await;
    for email in
        ["nul\u{0}byte@example.org".to_owned(), "x".repeat(10_000), "\u{1b}[31m@example.org".to_owned()]
    {
        let reply = app.login(&email, "whatever-password").await;
        assert_eq!(reply.problem(401)["code"], "invalid_credentials");
    }
    let missing = app.post("/api/login").json(json!({"email": "a@example.org"})).send().await;
    assert_eq!(missing.problem(422)["errors"]["password"], "is required");
    let wrong_type = app.post("/api/login").json(json!({"email": ["a"], "password": 1})).send().await;
    assert_eq!(
        wrong_type.problem(422)["errors"],
        json!({"email": "must be a string", "password": "must be a string"})
    );
}

#[rocket::async_test]
async fn an_unknown_email_costs_as_much_time_as_a_wrong_password() {
    let app = TestApp::new().await;
    let mut known = Vec::new();
    let mut unknown = Vec::new();
    for n in 0..5 {
        let user = app.insert_user(&format!("timing{n}@example.org"), Role::Member);
        assert!(user > 0);
        let started = std::time::Instant::now();
        app.login(&format!("timing{n}@example.org"), "wrong-password").await.problem(401);
        known.push(started.elapsed());
        let started = std::time::Instant::now();
        app.login(&format!("absent{n}@example.org"), "wrong-password").await.problem(401);
        unknown.push(started.elapsed());
    }
    known.sort();
    unknown.sort();
    let (known, unknown) = (known[2].as_secs_f64(), unknown[2].as_secs_f64());
    // Both verify an argon2 hash; without the dummy hash the unknown email
    // would answer in a small fraction of the time.
    assert!(
        unknown > known * 0.5 && unknown < known * 2.0,
        "median known {known:.4}s, unknown {unknown:.4}s"
    );
}

#[rocket::async_test]
async fn a_flood_of_logins_is_shed_as_busy_and_reads_go_on() {
    // Failures of unknown emails from one client: let them all be tried. The
    // flood is small: the password workers are shared by every test running.
    let app = TestApp::configured(|f| {
        f.merge(("login_failures_per_client", 10_000)).merge(("login_failures_per_account", 10_000))
    })
    .await;
    let emails: Vec<String> = (0..24).map(|n| format!("nobody{n}@example.org")).collect();
    let logins = emails.iter().map(|email| app.login(email, "wrong-password-1"));

    let (replies, read) = rocket::tokio::join!(crate::harness::join_all(logins), async {
        rocket::tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        let started = std::time::Instant::now();
        (app.get("/api/stores").send().await.status, started.elapsed())
    });

    let mut statuses: Vec<u16> = replies.iter().map(|r| r.status).collect();
    statuses.sort_unstable();
    statuses.dedup();
    assert!(statuses.iter().all(|s| [401, 503].contains(s)), "{statuses:?}");
    assert!(replies.iter().any(|r| r.status == 401), "some are answered");
    for busy in replies.iter().filter(|r| r.status == 503) {
        assert_eq!(busy.problem(503)["code"], "busy");
        assert_eq!(busy.header("retry-after"), Some("1"));
    }
    // Logins hold no database connection while they wait for a password worker.
    assert_eq!(read.0, 200);
    assert!(read.1 < std::time::Duration::from_secs(2), "the read took {:?}", read.1);
}

#[rocket::async_test]
async fn the_login_answer_names_the_user_and_me_is_your_own_account() {
    let app = TestApp::new().await;
    let ann = app.user(Role::Staff).await;
    let login = app.login(&ann.email, PASSWORD).await;
    assert_eq!(login.status, 200);
    let user = &login.json()["user"];
    assert_eq!(user["id"], ann.id);
    assert_eq!(user["email"], ann.email.as_str());
    assert_eq!(user["role"], "staff");
    assert_eq!(user["is_active"], true);
    assert!(user.get("password_hash").is_none());

    let me = app.get("/api/user/me").bearer(&ann.access).send().await;
    assert_eq!(me.status, 200, "{}", me.text);
    assert_eq!(me.json(), app.get(&format!("/api/user/{}", ann.id)).bearer(&ann.access).send().await.json());
    let etag = me.header("etag").unwrap().to_owned();
    let again = app.get("/api/user/me").bearer(&ann.access).header("If-None-Match", &etag).send().await;
    assert_eq!(again.status, 304);
    assert_eq!(app.get("/api/user/me").send().await.problem(401)["code"], "authorization_required");
    let other = app.user(Role::Member).await;
    assert_eq!(app.get("/api/user/me").bearer(&other.access).send().await.json()["id"], other.id);
}
