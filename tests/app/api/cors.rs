//! Cross-origin calls: only the origins of `cors_origins`, exactly; nothing
//! at all by default.

use crate::harness::TestApp;
use rocket::http::Method;
use serde_json::json;
use storefront::models::Role;

const FRONTEND: &str = "https://app.example.org";

async fn allowing_frontend() -> TestApp {
    TestApp::configured(|figment| figment.merge(("cors_origins", [FRONTEND]))).await
}

fn preflight<'a>(app: &'a TestApp, path: &str, origin: &str) -> crate::harness::Call<'a> {
    app.request(Method::Options, path)
        .header("Origin", origin)
        .header("Access-Control-Request-Method", "POST")
        .header("Access-Control-Request-Headers", "authorization, content-type")
}

#[rocket::async_test]
async fn a_listed_origin_gets_its_preflight_answered_and_may_read_the_answers() {
    let app = allowing_frontend().await;
    let answer = preflight(&app, "/api/stores", FRONTEND).send().await;
    assert_eq!(answer.status, 204, "{}", answer.text);
    assert_eq!(answer.text, "");
    assert_eq!(answer.header("access-control-allow-origin"), Some(FRONTEND));
    assert_eq!(answer.header("vary"), Some("Origin"));
    assert_eq!(answer.header("access-control-allow-methods"), Some("GET, HEAD, POST, PUT, PATCH, DELETE"));
    let headers = answer.header("access-control-allow-headers").unwrap();
    assert!(headers.contains("Authorization") && headers.contains("Content-Type"), "{headers}");
    assert_eq!(answer.header("access-control-allow-credentials"), None);

    let ann = app.user(Role::Member).await;
    let created = app
        .post("/api/stores")
        .header("Origin", FRONTEND)
        .bearer(&ann.access)
        .json(json!({"name": "From elsewhere"}))
        .send()
        .await;
    assert_eq!(created.status, 201);
    assert_eq!(created.header("access-control-allow-origin"), Some(FRONTEND));
    let exposed = created.header("access-control-expose-headers").unwrap();
    assert!(
        exposed.contains("ETag") && exposed.contains("Link") && exposed.contains("Location"),
        "{exposed}"
    );
    // Errors carry the header too, so that the frontend can read them.
    let refused = app.post("/api/stores").header("Origin", FRONTEND).json(json!({"name": "x"})).send().await;
    assert_eq!(refused.problem(401)["code"], "authorization_required");
    assert_eq!(refused.header("access-control-allow-origin"), Some(FRONTEND));
}

#[rocket::async_test]
async fn other_origins_and_the_pages_get_nothing() {
    let app = allowing_frontend().await;
    for origin in
        ["https://evil.example", "https://app.example.org.evil.example", "http://app.example.org", "null"]
    {
        let answer = preflight(&app, "/api/stores", origin).send().await;
        assert_eq!(answer.header("access-control-allow-origin"), None, "{origin}");
        assert_eq!(answer.status, 405, "{origin}: no route answers OPTIONS");
        let read = app.get("/api/stores").header("Origin", origin).send().await;
        assert_eq!((read.status, read.header("access-control-allow-origin")), (200, None), "{origin}");
        assert_eq!(read.header("vary"), Some("Origin"), "{origin}: a cache keeps answers per origin");
    }
    // With the allow-list on, every API answer varies by origin, even one
    // asked for without any, errors included.
    for path in ["/api/stores", "/api/items/999999", "/api/nowhere"] {
        let answer = app.get(path).send().await;
        assert_eq!(answer.header("vary"), Some("Origin"), "{path}");
    }
    let page = app.get("/stores").header("Origin", FRONTEND).send().await;
    assert_eq!(page.header("access-control-allow-origin"), None, "the HTML pages are not shared");
    assert_eq!(page.header("vary"), None);
}

#[rocket::async_test]
async fn by_default_no_origin_is_allowed() {
    let app = TestApp::new().await;
    let answer = preflight(&app, "/api/stores", FRONTEND).send().await;
    assert_eq!(answer.status, 405);
    assert_eq!(answer.header("access-control-allow-origin"), None);
    let read = app.get("/api/stores").header("Origin", FRONTEND).send().await;
    assert_eq!(read.header("access-control-allow-origin"), None);
    assert_eq!(read.header("vary"), None);
}

#[rocket::async_test]
async fn next_page_links_are_absolute_at_the_public_url() {
    let app = TestApp::configured(|figment| figment.merge(("public_url", "https://shop.example.org/"))).await;
    let ann = app.user(Role::Member).await;
    for n in 0..3 {
        app.store(&ann, &format!("Store {n}")).await;
    }
    let page = app.get("/api/stores?limit=2").send().await;
    let link = page.header("link").unwrap();
    assert!(link.starts_with("<https://shop.example.org/api/stores?limit=2&cursor="), "{link}");
    let by_host = TestApp::new().await;
    let bob = by_host.user(Role::Member).await;
    for n in 0..3 {
        by_host.store(&bob, &format!("Store {n}")).await;
    }
    let page = by_host.get("/api/stores?limit=2").header("Host", "shop.local:8000").send().await;
    let link = page.header("link").unwrap();
    assert!(link.starts_with("<http://shop.local:8000/api/stores?limit=2&cursor="), "{link}");
}

#[rocket::async_test]
async fn next_page_links_keep_the_scheme_the_request_came_by() {
    // Secure cookies on, but no TLS in front: links stay on plain HTTP.
    let direct = TestApp::configured(|f| f.merge(("secure_cookies", true))).await;
    let ann = direct.user(Role::Member).await;
    for n in 0..3 {
        direct.store(&ann, &format!("Store {n}")).await;
    }
    let page = direct.get("/api/stores?limit=2").header("Host", "127.0.0.1:8000").send().await;
    assert!(page.header("link").unwrap().starts_with("<http://127.0.0.1:8000/"), "{:?}", page.header("link"));
    // A client cannot claim HTTPS by itself...
    let claimed = direct
        .get("/api/stores?limit=2")
        .header("Host", "127.0.0.1:8000")
        .header("X-Forwarded-Proto", "https")
        .send()
        .await;
    assert!(claimed.header("link").unwrap().starts_with("<http://"), "{:?}", claimed.header("link"));
    // ...a trusted proxy can.
    let proxied = TestApp::configured(|f| f.merge(("ip_header", "X-Real-IP"))).await;
    let bob = proxied.user(Role::Member).await;
    for n in 0..3 {
        proxied.store(&bob, &format!("Store {n}")).await;
    }
    let page = proxied
        .get("/api/stores?limit=2")
        .header("Host", "shop.example.org")
        .header("X-Forwarded-Proto", "https")
        .send()
        .await;
    let link = page.header("link").unwrap();
    assert!(link.starts_with("<https://shop.example.org/api/stores?limit=2&cursor="), "{link}");
}
