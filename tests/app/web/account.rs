//! Account pages: register, log in and out, password, sessions, API tokens.

use storefront::models::Role;

use crate::harness::{csrf_of, TestApp, PASSWORD};

#[rocket::async_test]
async fn a_visitor_registers_and_is_logged_in() {
    let app = TestApp::new().await;
    let browser = app.browser();
    let token = browser.csrf("/account/register").await;

    let reply = browser
        .post(
            "/account/register",
            &[("csrf_token", &token), ("email", "ann@example.org"), ("password", "tulip-harbour-71")],
        )
        .await;

    assert_eq!(reply.status, 303, "{}", reply.text);
    assert_eq!(reply.header("location"), Some("/account"));
    let account = browser.get("/account").await;
    assert_eq!(account.status, 200);
    assert!(account.text.contains("ann@example.org") && account.text.contains("member"));
    assert_eq!(account.header("cache-control"), Some("no-store"));
    assert!(account.text.contains("Welcome! Your account is ready."));
}

#[rocket::async_test]
async fn registration_errors_are_shown_with_the_form() {
    let app = TestApp::new().await;
    app.insert_user("taken@example.org", Role::Member);
    let browser = app.browser();
    let token = browser.csrf("/account/register").await;

    let weak = browser
        .post(
            "/account/register",
            &[("csrf_token", &token), ("email", "bob@example.org"), ("password", "short")],
        )
        .await;
    assert_eq!(weak.status, 422);
    assert!(weak.text.contains("Password must be at least 12 characters"));
    assert!(weak.text.contains("value=\"bob@example.org\""));
    let taken = browser
        .post(
            "/account/register",
            &[("csrf_token", &token), ("email", "taken@example.org"), ("password", "tulip-harbour-71")],
        )
        .await;
    assert_eq!(taken.status, 422);
    assert!(taken.text.contains("This email is already registered."));
}

#[rocket::async_test]
async fn login_failures_look_alike_and_success_goes_back_where_asked() {
    let app = TestApp::new().await;
    app.insert_user("ann@example.org", Role::Member);
    let browser = app.browser();
    let token = browser.csrf("/account/login").await;

    let wrong = browser
        .post(
            "/account/login",
            &[("csrf_token", &token), ("email", "ann@example.org"), ("password", "nope-nope-nope")],
        )
        .await;
    let unknown = browser
        .post(
            "/account/login",
            &[("csrf_token", &token), ("email", "zed@example.org"), ("password", "nope-nope-nope")],
        )
        .await;
    assert_eq!((wrong.status, unknown.status), (401, 401));
    assert!(
        wrong.text.contains("Invalid email or password.")
            && unknown.text.contains("Invalid email or password.")
    );

    let ok = browser
        .post(
            "/account/login",
            &[
                ("csrf_token", &token),
                ("email", "ann@example.org"),
                ("password", PASSWORD),
                ("next", "/account/tokens"),
            ],
        )
        .await;
    assert_eq!(ok.header("location"), Some("/account/tokens"));
    let elsewhere = app.browser();
    let token = elsewhere.csrf("/account/login").await;
    let offsite = elsewhere
        .post(
            "/account/login",
            &[
                ("csrf_token", &token),
                ("email", "ann@example.org"),
                ("password", PASSWORD),
                ("next", "//evil.example/"),
            ],
        )
        .await;
    assert_eq!(offsite.header("location"), Some("/account"));
}

#[rocket::async_test]
async fn anonymous_visitors_are_sent_to_log_in_and_back() {
    let app = TestApp::new().await;
    app.insert_user("ann@example.org", Role::Member);
    let browser = app.browser();

    let reply = browser.get("/account/tokens").await;

    assert_eq!(reply.status, 303);
    assert_eq!(reply.header("location"), Some("/account/login?next=%2Faccount%2Ftokens"));
    let form = browser.get("/account/login?next=/account/tokens").await;
    assert!(form.text.contains("name=\"next\" value=\"&#x2F;account&#x2F;tokens\""), "{}", form.text);
}

#[rocket::async_test]
async fn the_session_cookie_is_not_a_bearer_token_and_vice_versa() {
    let app = TestApp::new().await;
    let ann = app.user(Role::Member).await;
    let browser = app.browser();
    browser.login(&ann.email, PASSWORD).await;

    let api = browser.get(&format!("/api/user/{}", ann.id)).await;
    assert_eq!(api.problem(401)["code"], "authorization_required");
    let page =
        app.browser().get_with("/account", &[("Authorization", &format!("Bearer {}", ann.access))]).await;
    assert_eq!(page.status, 303);
}

#[rocket::async_test]
async fn logging_out_ends_the_session_on_the_server() {
    let app = TestApp::new().await;
    app.insert_user("ann@example.org", Role::Member);
    let browser = app.browser();
    browser.login("ann@example.org", PASSWORD).await;
    let token = browser.csrf("/account").await;

    let reply = browser.post("/account/logout", &[("csrf_token", &token)]).await;

    assert_eq!(reply.status, 303);
    assert_eq!(browser.get("/account").await.status, 303);
    assert_eq!(app.count("sessions WHERE revoked_at IS NULL"), 0);
}

#[rocket::async_test]
async fn changing_the_password_ends_other_sessions_and_tokens() {
    let app = TestApp::new().await;
    let ann = app.user(Role::Member).await;
    let here = app.browser();
    let there = app.browser();
    here.login(&ann.email, PASSWORD).await;
    there.login(&ann.email, PASSWORD).await;
    let (_, pat) =
        storefront::services::sessions::create_personal_token(&mut app.conn(), ann.id, "ci", None).unwrap();
    let token = here.csrf("/account/password").await;

    let wrong = here
        .post(
            "/account/password",
            &[
                ("csrf_token", &token),
                ("current_password", "not-it-at-all"),
                ("new_password", "brand-new-pass-9"),
            ],
        )
        .await;
    assert_eq!(wrong.status, 422);
    assert!(wrong.text.contains("That is not your current password."));

    let changed = here
        .post(
            "/account/password",
            &[("csrf_token", &token), ("current_password", PASSWORD), ("new_password", "brand-new-pass-9")],
        )
        .await;
    assert_eq!(changed.status, 303, "{}", changed.text);
    assert_eq!(here.get("/account").await.status, 200);
    assert_eq!(there.get("/account").await.status, 303);
    let api = app.get(&format!("/api/user/{}", ann.id));
    assert_eq!(api.bearer(&pat).send().await.problem(401)["code"], "token_revoked");
    let old_jwt = app.get(&format!("/api/user/{}", ann.id)).bearer(&ann.access).send().await;
    assert_eq!(old_jwt.status, 401);
    assert_eq!(app.login(&ann.email, "brand-new-pass-9").await.status, 200);
}

#[rocket::async_test]
async fn sessions_are_listed_and_can_be_ended() {
    let app = TestApp::new().await;
    let ann = app.user(Role::Member).await;
    let browser = app.browser();
    browser.login(&ann.email, PASSWORD).await;

    let page = browser.get("/account/sessions").await;
    assert_eq!(page.status, 200);
    assert!(page.text.contains("Browser (this one)") && page.text.contains("API"));
    let api_session: i64 = {
        use diesel::prelude::*;
        use storefront::schema::sessions;
        sessions::table.filter(sessions::kind.eq("api")).select(sessions::id).first(&mut app.conn()).unwrap()
    };
    let token = csrf_of(&page.text);

    let ended =
        browser.post(&format!("/account/sessions/{api_session}/end"), &[("csrf_token", &token)]).await;

    assert_eq!(ended.status, 303);
    let revoked = app.get(&format!("/api/user/{}", ann.id)).bearer(&ann.access).send().await;
    assert_eq!(revoked.problem(401)["code"], "token_revoked");
}

#[rocket::async_test]
async fn a_token_created_on_the_account_page_works_against_the_api_at_once() {
    let app = TestApp::new().await;
    app.insert_user("ann@example.org", Role::Member);
    let browser = app.browser();
    browser.login("ann@example.org", PASSWORD).await;
    let token = browser.csrf("/account/tokens").await;

    let created = browser
        .post(
            "/account/tokens",
            &[("csrf_token", &token), ("name", "backup script"), ("expires_in_days", "30")],
        )
        .await;

    assert_eq!(created.status, 303, "{}", created.text);
    assert_eq!(created.header("location"), Some("/account/tokens"));
    let created = browser.get("/account/tokens").await;
    let secret = created.text.split("value=\"sfp_").nth(1).unwrap().split('"').next().unwrap();
    let secret = format!("sfp_{secret}");
    assert!(
        created.text.contains("curl -H &#x27;Authorization: Bearer sfp_")
            || created.text.contains("curl -H 'Authorization: Bearer sfp_")
    );
    assert!(created.text.contains("backup script") && created.text.contains(&secret[..12]));
    let store = app
        .post("/api/stores")
        .bearer(&secret)
        .json(serde_json::json!({"name": "Made by token"}))
        .send()
        .await;
    assert_eq!(store.status, 201);

    let list = browser.get("/account/tokens").await;
    assert!(!list.text.contains(&secret), "the secret is shown only once");
    let id: i64 = {
        use diesel::prelude::*;
        use storefront::schema::api_tokens;
        api_tokens::table.select(api_tokens::id).first(&mut app.conn()).unwrap()
    };
    let revoked =
        browser.post(&format!("/account/tokens/{id}/revoke"), &[("csrf_token", &csrf_of(&list.text))]).await;
    assert_eq!(revoked.status, 303);
    let refused = app.get("/api/stores").bearer(&secret).send().await;
    assert_eq!(refused.status, 200, "reads stay public");
    let write =
        app.post("/api/stores").bearer(&secret).json(serde_json::json!({"name": "Again"})).send().await;
    assert_eq!(write.problem(401)["code"], "token_revoked");
}

#[rocket::async_test]
async fn the_login_throttle_is_shared_with_the_api() {
    let app = TestApp::new().await;
    app.insert_user("ann@example.org", Role::Member);
    for _ in 0..10 {
        assert_eq!(app.login("ann@example.org", "wrong-password").await.status, 401);
    }
    let browser = app.browser();
    let token = browser.csrf("/account/login").await;

    let reply = browser
        .post(
            "/account/login",
            &[("csrf_token", &token), ("email", "ann@example.org"), ("password", PASSWORD)],
        )
        .await;

    assert_eq!(reply.status, 429);
    assert!(reply.text.contains("Too many failed attempts."));
}

#[rocket::async_test]
async fn any_next_the_login_page_carries_leads_to_a_valid_address() {
    let app = TestApp::new().await;
    let member = app.user(Role::Member).await;
    for (next, location) in [
        ("/search?q=\u{e4}", "/search?q=%C3%A4"),
        ("/search?q=a b", "/search?q=a%20b"),
        ("/search?q=a\tb\u{7f}", "/search?q=a%09b%7F"),
        ("https://evil.example/", "/account"),
    ] {
        let browser = app.browser();
        let token = browser.csrf("/account/login").await;
        let fields = [
            ("csrf_token", token.as_str()),
            ("email", member.email.as_str()),
            ("password", PASSWORD),
            ("next", next),
        ];
        let reply = browser.post("/account/login", &fields).await;
        assert_eq!((reply.status, reply.header("location")), (303, Some(location)), "{next:?}");
    }
    // The login page itself, asked with such a next, is a page, not a 500.
    let page = app.browser().get("/account/login?next=/search?q=%C3%A4").await;
    assert_eq!(page.status, 200);
}
