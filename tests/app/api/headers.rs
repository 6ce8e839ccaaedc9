//! Headers on every response: how it may be cached, framing, the CSP and the
//! charset of text.

use storefront::models::Role;

use crate::harness::TestApp;

#[rocket::async_test]
async fn responses_with_credentials_are_never_stored_and_public_reads_revalidate() {
    let app = TestApp::new().await;
    let ann = app.user(Role::Member).await;

    let login = app.login(&ann.email, crate::harness::PASSWORD).await;
    let refresh = app.post("/api/refresh").bearer(&ann.refresh).send().await;
    let own = app.get(&format!("/api/user/{}", ann.id)).bearer(&ann.access).send().await;
    let authenticated_read = app.get("/api/stores").bearer(&ann.access).send().await;
    let refused = app.post("/api/stores").send().await;
    let public_read = app.get("/api/stores").send().await;
    let not_modified = app
        .get("/api/stores")
        .header("If-None-Match", public_read.header("etag").unwrap_or_default())
        .send()
        .await;

    for (name, reply, status) in [
        ("login", &login, 200),
        ("refresh", &refresh, 200),
        ("own account", &own, 200),
        ("read with a token", &authenticated_read, 200),
    ] {
        assert_eq!(reply.status, status, "{name}: {}", reply.text);
        assert_eq!(reply.header("cache-control"), Some("no-store"), "{name}");
    }
    assert_eq!(refused.status, 401);
    assert_eq!(public_read.header("cache-control"), Some("no-cache"));
    assert_eq!(not_modified.status, 304);
    assert_eq!(not_modified.header("cache-control"), Some("no-cache"));
}

#[rocket::async_test]
async fn nothing_may_be_framed_and_text_says_its_charset() {
    let app = TestApp::new().await;

    let json = app.get("/api/stores").send().await;
    let page = app.get("/").send().await;
    let docs = app.get("/api/docs/").send().await;
    let stylesheet = app.get("/static/style.css").send().await;

    for (name, reply) in [("json", &json), ("page", &page), ("docs", &docs), ("stylesheet", &stylesheet)] {
        assert_eq!(reply.status, 200, "{name}");
        assert_eq!(reply.header("x-frame-options"), Some("DENY"), "{name}");
        let csp = reply.header("content-security-policy").unwrap_or_default();
        assert!(csp.contains("frame-ancestors 'none'"), "{name}: {csp}");
    }
    assert_eq!(json.header("content-security-policy"), Some("default-src 'none'; frame-ancestors 'none'"));
    assert!(docs.header("content-security-policy").unwrap_or_default().contains("form-action 'self'"));
    assert_eq!(docs.header("content-type"), Some("text/html; charset=utf-8"));
    assert_eq!(stylesheet.header("content-type"), Some("text/css; charset=utf-8"));
    assert_eq!(page.header("content-type"), Some("text/html; charset=utf-8"));
}
