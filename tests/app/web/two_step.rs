//! Two-step sign-in: adding an authenticator app (with a known secret and
//! clock), logging in on the web and through the API with a code or a
//! recovery code, each code once, wrong codes throttled like passwords,
//! staff made to add one, and admins resetting a lost one.

use serde_json::{json, Value};
use storefront::auth::totp;
use storefront::models::Role;

use crate::harness::{csrf_of, Browser, TestApp, PASSWORD};

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// The code of `secret` `steps` steps from now, six digits.
fn code(secret: &[u8], steps: i64) -> String {
    format!("{:06}", totp::code_at(secret, totp::step_of(now()) + steps))
}

/// Reads base32 back into bytes.
fn unbase32(text: &str) -> Vec<u8> {
    let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut bits = 0u64;
    let mut count = 0;
    let mut out = Vec::new();
    for c in text.chars() {
        bits = (bits << 5) | alphabet.find(c).unwrap() as u64;
        count += 5;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
        }
    }
    out
}

/// Adds an app through the account pages; its secret, the recovery codes
/// shown and the code that confirmed it.
async fn add_app(browser: &Browser<'_>) -> (Vec<u8>, Vec<String>, String) {
    let page = browser.get("/account/two-step/app").await;
    assert_eq!(page.status, 200);
    assert!(page.text.contains("<svg"), "a QR code drawn by the server");
    let key =
        page.text.split("<code class=\"secret\">").nth(1).unwrap().split('<').next().unwrap().to_owned();
    let secret = unbase32(&key);
    assert_eq!(secret.len(), 20);
    let token = csrf_of(&page.text);
    let wrong = browser
        .post("/account/two-step/app", &[("csrf_token", &token), ("name", "Phone"), ("code", "000000")])
        .await;
    assert_eq!(wrong.status, 422);
    assert!(wrong.text.contains("That is not the app"), "{}", wrong.text);
    assert!(wrong.text.contains(&key), "the same key, still to confirm");
    let confirming = code(&secret, 0);
    let added = browser
        .post("/account/two-step/app", &[("csrf_token", &token), ("name", "Phone"), ("code", &confirming)])
        .await;
    assert_eq!(added.status, 200, "{}", added.text);
    (secret, recovery_codes_on(&added.text), confirming)
}

/// The recovery codes a page shows.
pub(super) fn recovery_codes_on(page: &str) -> Vec<String> {
    page.split("<li><code>").skip(1).map(|rest| rest.split('<').next().unwrap().to_owned()).collect()
}

pub(super) async fn logout(browser: &Browser<'_>) {
    let token = browser.csrf("/account").await;
    assert_eq!(browser.post("/account/logout", &[("csrf_token", &token)]).await.status, 303);
}

/// The password step of a web login: the page asking for the second.
async fn password_step(browser: &Browser<'_>, email: &str) -> String {
    let token = browser.csrf("/account/login").await;
    let reply = browser
        .post("/account/login", &[("csrf_token", &token), ("email", email), ("password", PASSWORD)])
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert!(reply.text.contains("signs in in two steps"), "{}", reply.text);
    assert!(reply.header("set-cookie").is_none_or(|c| !c.contains("storefront_session")), "no session yet");
    csrf_of(&reply.text)
}

async fn second_step(browser: &Browser<'_>, token: &str, email: &str, typed: &str) -> crate::harness::Reply {
    browser.post("/account/login", &[("csrf_token", token), ("email", email), ("code", typed)]).await
}

#[rocket::async_test]
async fn an_app_and_recovery_codes_make_logins_two_steps_on_the_web_and_in_the_api() {
    let app = TestApp::new().await;
    let ann = app.user(Role::Member).await;
    let (_, pat) =
        storefront::services::sessions::create_personal_token(&mut app.conn(), ann.id, "script", None)
            .unwrap();
    let browser = app.browser();
    browser.login(&ann.email, PASSWORD).await;
    let (secret, codes, confirming) = add_app(&browser).await;
    assert_eq!(codes.len(), 10);
    assert!(codes.iter().all(|c| c.len() == 11 && c.as_bytes()[5] == b'-'), "{codes:?}");
    let page = browser.get("/account/two-step").await;
    assert!(
        page.text.contains("10 unused recovery codes left.") && !page.text.contains(&codes[0]),
        "shown once"
    );
    logout(&browser).await;

    // The web: the password, then a code (of the next step: this one is used).
    let token = password_step(&browser, &ann.email).await;
    let wrong = second_step(&browser, &token, &ann.email, "123456").await;
    assert_eq!(wrong.status, 401);
    assert!(wrong.text.contains("That code is not right"), "{}", wrong.text);
    let reused = second_step(&browser, &token, &ann.email, &confirming).await;
    assert_eq!(reused.status, 401, "the enrolment's code, once only");
    let right = second_step(&browser, &token, &ann.email, &code(&secret, 1)).await;
    assert_eq!((right.status, right.header("location")), (303, Some("/account")), "{}", right.text);
    assert_eq!(browser.get("/account/two-step").await.status, 200);
    logout(&browser).await;
    // A recovery code, once.
    let token = password_step(&browser, &ann.email).await;
    assert_eq!(second_step(&browser, &token, &ann.email, &codes[0].to_uppercase()).await.status, 303);
    logout(&browser).await;
    let token = password_step(&browser, &ann.email).await;
    assert_eq!(second_step(&browser, &token, &ann.email, &codes[0]).await.status, 401);
    // The second step without the password first is nothing.
    let stranger = app.browser();
    let token = stranger.csrf("/account/login").await;
    let skipped = second_step(&stranger, &token, &ann.email, &codes[1]).await;
    assert_eq!(skipped.status, 401);
    assert!(skipped.text.contains("must follow the password"), "{}", skipped.text);

    // The API: `code` with the password.
    let login = |body: Value| app.post("/api/login").json(body).send();
    let missing = login(json!({"email": ann.email, "password": PASSWORD})).await;
    assert_eq!(missing.problem(401)["code"], "two_step_required");
    let wrong = login(json!({"email": ann.email, "password": PASSWORD, "code": "999999"})).await;
    assert_eq!(wrong.problem(401)["code"], "invalid_two_step_code");
    let wrong_password =
        login(json!({"email": ann.email, "password": "not it at all", "code": codes[2]})).await;
    assert_eq!(wrong_password.status, 401, "a code never stands in for the password");
    let ok = login(json!({"email": ann.email, "password": PASSWORD, "code": codes[2]})).await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    // Personal access tokens keep working.
    assert_eq!(app.get(&format!("/api/user/{}", ann.id)).bearer(&pat).send().await.status, 200);
    assert!(app.count("audit_log") > 0);
}

#[rocket::async_test]
async fn wrong_codes_are_throttled_like_passwords() {
    let app = TestApp::configured(|f| f.merge(("login_failures_per_account", 3))).await;
    let ann = app.user(Role::Member).await;
    let browser = app.browser();
    browser.login(&ann.email, PASSWORD).await;
    let (secret, ..) = add_app(&browser).await;
    for _ in 0..3 {
        let wrong = app
            .post("/api/login")
            .json(json!({"email": ann.email, "password": PASSWORD, "code": "000000"}))
            .send()
            .await;
        assert_eq!(wrong.status, 401);
    }
    let right = app
        .post("/api/login")
        .json(json!({"email": ann.email, "password": PASSWORD, "code": code(&secret, 1)}))
        .send()
        .await;
    assert_eq!(right.problem(429)["code"], "too_many_attempts");
}

#[rocket::async_test]
async fn staff_add_a_second_step_before_using_the_panel_when_it_is_required() {
    let app = TestApp::configured(|f| f.merge(("staff_two_step", "required"))).await;
    app.insert_user("staff@example.org", Role::Staff);
    let member = app.user(Role::Member).await;
    let api =
        app.post("/api/login").json(json!({"email": "staff@example.org", "password": PASSWORD})).send().await;
    assert_eq!(api.problem(403)["code"], "two_step_enrolment_required");

    let browser = app.browser();
    browser.login("staff@example.org", PASSWORD).await;
    let sent = browser.get("/admin/items").await;
    assert_eq!((sent.status, sent.header("location")), (303, Some("/account/two-step")));
    let page = browser.get("/account/two-step").await;
    assert!(
        page.text.contains("add an authenticator app or a passkey to use the admin panel"),
        "{}",
        page.text
    );
    let (secret, ..) = add_app(&browser).await;
    assert_eq!(browser.get("/admin/items").await.status, 200);
    // The last app stays while staff must have one.
    let page = browser.get("/account/two-step").await;
    let id = page.text.split("/account/two-step/").nth(1).unwrap().split('/').next().unwrap().to_owned();
    let removed = browser
        .post(&format!("/account/two-step/{id}/remove"), &[("csrf_token", &csrf_of(&page.text))])
        .await;
    assert_eq!(removed.status, 303);
    assert!(browser
        .get("/account/two-step")
        .await
        .text
        .contains("add another authenticator app or passkey before removing"));
    let api = app
        .post("/api/login")
        .json(json!({"email": "staff@example.org", "password": PASSWORD, "code": code(&secret, 1)}))
        .send()
        .await;
    assert_eq!(api.status, 200, "{}", api.text);
    // Members are not asked.
    let members = app.browser();
    members.login(&member.email, PASSWORD).await;
    assert_eq!(members.get("/admin/stores").await.status, 200);
}

#[rocket::async_test]
async fn admins_reset_a_lost_second_step() {
    let app = TestApp::new().await;
    let ann = app.user(Role::Member).await;
    let browser = app.browser();
    browser.login(&ann.email, PASSWORD).await;
    add_app(&browser).await;
    app.insert_user("admin@example.org", Role::Admin);
    let admin = app.browser();
    admin.login("admin@example.org", PASSWORD).await;
    let page = admin.get(&format!("/admin/users/{}", ann.id)).await;
    assert!(page.text.contains("Reset two-step sign-in"), "{}", page.text);
    let reset = admin
        .post(&format!("/admin/users/{}/two-step/reset", ann.id), &[("csrf_token", &csrf_of(&page.text))])
        .await;
    assert_eq!(reset.status, 303);
    let history = admin.get(&format!("/admin/users/{}/history", ann.id)).await;
    assert!(
        history.text.contains("authenticator apps") && history.text.contains("admin@example.org"),
        "{}",
        history.text
    );
    let login = app.post("/api/login").json(json!({"email": ann.email, "password": PASSWORD})).send().await;
    assert_eq!(login.status, 200, "the password alone again");
    // Nobody else resets anyone's.
    let other = app.browser();
    let member = app.user(Role::Member).await;
    other.login(&member.email, PASSWORD).await;
    let token = other.csrf("/account").await;
    assert_eq!(
        other
            .post(&format!("/admin/users/{}/two-step/reset", ann.id), &[("csrf_token", &token)])
            .await
            .status,
        403
    );
}
