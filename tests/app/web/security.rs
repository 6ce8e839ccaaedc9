//! CSRF: every state-changing form refuses a missing or foreign token and a
//! cross-origin `Origin`, with 403 and nothing changed.

use storefront::models::Role;

use crate::harness::{Browser, TestApp, PASSWORD};

/// The account forms, with fields that would otherwise succeed.
fn forms(session: i64, token_id: i64) -> Vec<(String, Vec<(&'static str, &'static str)>)> {
    vec![
        ("/account/login".into(), vec![("email", "ann@example.org"), ("password", PASSWORD)]),
        ("/account/register".into(), vec![("email", "new@example.org"), ("password", "tulip-harbour-71")]),
        ("/account/logout".into(), vec![]),
        (
            "/account/password".into(),
            vec![("current_password", PASSWORD), ("new_password", "brand-new-pass-9")],
        ),
        (format!("/account/sessions/{session}/end"), vec![]),
        ("/account/tokens".into(), vec![("name", "sneaky")]),
        (format!("/account/tokens/{token_id}/revoke"), vec![]),
    ]
}

async fn signed_in(app: &TestApp) -> (Browser<'_>, String, i64, i64) {
    let ann = app.insert_user("ann@example.org", Role::Member);
    let browser = app.browser();
    browser.login("ann@example.org", PASSWORD).await;
    let token = browser.csrf("/account").await;
    let (api_token, _) =
        storefront::services::sessions::create_personal_token(&mut app.conn(), ann, "kept", None).unwrap();
    let session: i64 = {
        use diesel::prelude::*;
        use storefront::schema::sessions;
        sessions::table.select(sessions::id).first(&mut app.conn()).unwrap()
    };
    (browser, token, session, api_token.id)
}

fn state(app: &TestApp) -> (i64, i64, i64) {
    (
        app.count("users"),
        app.count("sessions WHERE revoked_at IS NULL"),
        app.count("api_tokens WHERE revoked_at IS NULL"),
    )
}

#[rocket::async_test]
async fn forms_without_the_token_are_refused() {
    let app = TestApp::new().await;
    let (browser, _, session, token_id) = signed_in(&app).await;
    let before = state(&app);
    for (path, fields) in forms(session, token_id) {
        let reply = browser.post(&path, &fields).await;
        assert_eq!(reply.status, 403, "{path}");
        assert!(reply.text.contains("<h1>Not allowed</h1>"), "{path}");
    }
    assert_eq!(state(&app), before);
}

#[rocket::async_test]
async fn forms_with_another_sessions_token_are_refused() {
    let app = TestApp::new().await;
    let (browser, _, session, token_id) = signed_in(&app).await;
    let stranger = app.browser();
    app.insert_user("eve@example.org", Role::Member);
    stranger.login("eve@example.org", PASSWORD).await;
    let foreign = stranger.csrf("/account").await;
    let before = state(&app);
    for (path, mut fields) in forms(session, token_id) {
        fields.push(("csrf_token", &foreign));
        assert_eq!(browser.post(&path, &fields).await.status, 403, "{path}");
    }
    assert_eq!(state(&app), before);
}

#[rocket::async_test]
async fn forms_from_another_origin_are_refused_even_with_the_token() {
    let app = TestApp::new().await;
    let (browser, token, session, token_id) = signed_in(&app).await;
    let before = state(&app);
    for (path, mut fields) in forms(session, token_id) {
        fields.push(("csrf_token", &token));
        for origin in ["http://evil.example", "null", "https://localhost:8000.evil.example"] {
            let reply = browser.post_from(&path, &fields, Some(origin)).await;
            assert_eq!(reply.status, 403, "{path} from {origin}");
        }
    }
    assert_eq!(state(&app), before);
}

#[rocket::async_test]
async fn nothing_changes_on_get() {
    let app = TestApp::new().await;
    let (browser, _, session, token_id) = signed_in(&app).await;
    let before = state(&app);
    for (path, _) in forms(session, token_id) {
        let reply = browser.get(&path).await;
        assert_ne!(reply.status, 303, "{path}");
    }
    assert_eq!(state(&app), before);
    assert_eq!(browser.get("/account").await.status, 200);
}
