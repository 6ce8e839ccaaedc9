//! Who may use the panel, and how.

use storefront::models::Role;

use crate::harness::{TestApp, PASSWORD};

#[rocket::async_test]
async fn anonymous_visitors_log_in_first_and_come_back() {
    let app = TestApp::new().await;
    let browser = app.browser();
    let reply = browser.get("/admin/stores").await;
    assert_eq!(reply.status, 303);
    assert_eq!(reply.header("location"), Some("/account/login?next=%2Fadmin%2Fstores"));

    app.insert_user("staff@example.org", Role::Staff);
    let token = browser.csrf("/account/login?next=/admin/stores").await;
    let login = browser
        .post(
            "/account/login",
            &[
                ("csrf_token", &token),
                ("email", "staff@example.org"),
                ("password", PASSWORD),
                ("next", "/admin/stores"),
            ],
        )
        .await;
    assert_eq!(login.header("location"), Some("/admin/stores"));
    assert_eq!(browser.get("/admin/stores").await.status, 200);
}

#[rocket::async_test]
async fn members_see_their_stores_and_staff_are_kept_out_of_users() {
    let app = TestApp::new().await;
    for (role, dashboard, users) in
        [(Role::Member, 303, 403), (Role::Staff, 200, 403), (Role::Admin, 200, 200)]
    {
        let email = format!("{}-{}@example.org", role, storefront::auth::random_token(4).to_lowercase());
        app.insert_user(&email, role);
        let browser = app.browser();
        browser.login(&email, PASSWORD).await;
        let front = browser.get("/admin").await;
        assert_eq!(front.status, dashboard, "{role} on the dashboard");
        if dashboard == 303 {
            assert_eq!(front.header("location"), Some("/admin/stores"), "members go to their stores");
        }
        for path in ["/admin/stores", "/admin/items", "/admin/tags"] {
            let page = browser.get(path).await;
            assert_eq!(page.status, 200, "{role} on {path}");
            let link = page.text.contains(r#"<a href="/admin/users">Users</a>"#);
            assert_eq!(link, users == 200, "{role} shown a Users link on {path}");
            let dashboard_link = page.text.contains(r#"<a href="/admin">Dashboard</a>"#);
            assert_eq!(dashboard_link, role != Role::Member, "{role} shown a Dashboard link on {path}");
        }
        assert_eq!(browser.get("/admin/users").await.status, users, "{role} on users");
        assert_eq!(
            browser.get("/admin/users/1").await.status,
            if users == 200 { 200 } else { 403 },
            "{role}"
        );
    }
}

#[rocket::async_test]
async fn a_bearer_token_does_not_open_the_panel() {
    let app = TestApp::new().await;
    let admin = app.user(Role::Admin).await;
    let reply =
        app.browser().get_with("/admin", &[("Authorization", &format!("Bearer {}", admin.access))]).await;
    assert_eq!(reply.status, 303);
}

#[rocket::async_test]
async fn panel_pages_are_never_cached_and_carry_the_csp() {
    let app = TestApp::new().await;
    app.insert_user("staff@example.org", Role::Staff);
    let browser = app.browser();
    browser.login("staff@example.org", PASSWORD).await;
    let page = browser.get("/admin").await;
    assert_eq!(page.header("cache-control"), Some("no-store"));
    assert!(page.header("content-security-policy").unwrap().contains("frame-ancestors 'none'"));
    assert_eq!(page.count("<h1"), 1);
}
