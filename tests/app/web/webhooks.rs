//! The account's webhook pages: an endpoint registered from the form shows
//! its secret once, then its deliveries as they are made; it is stopped,
//! started, its secret rotated, a delivery sent again, and it is deleted;
//! nobody else sees it.

use storefront::models::Role;

use crate::harness::{csrf_of, Reply, TestApp, PASSWORD};

/// A page's text with the slashes Tera escapes put back.
fn unescaped(reply: &Reply) -> String {
    reply.text.replace("&#x2F;", "/")
}

#[rocket::async_test]
async fn an_endpoint_is_managed_from_the_account_pages() {
    let app = TestApp::configured(|f| f.merge(("webhooks_allow_http", true))).await;
    let ann = app.user(Role::Member).await;
    let store = app.store(&ann, "Ann's").await;
    let browser = app.browser();
    browser.login(&ann.email, PASSWORD).await;
    let page = browser.get("/account/webhooks").await;
    assert_eq!(page.status, 200);
    assert!(page.text.contains("<option value=\"") && page.text.contains("Ann&#x27;s"), "{}", page.text);
    let token = csrf_of(&page.text);

    // Refused with the reason, what was typed kept.
    let refused = browser
        .post(
            "/account/webhooks",
            &[("csrf_token", &token), ("url", "http://10.1.2.3/hook"), ("store_id", "")],
        )
        .await;
    assert_eq!(refused.status, 422);
    assert!(refused.text.contains("must not point at a private address"), "{}", refused.text);
    assert!(unescaped(&refused).contains("value=\"http://10.1.2.3/hook\""));

    // Made: its page shows the secret once.
    let store_id = store.to_string();
    let made = browser
        .post(
            "/account/webhooks",
            &[
                ("csrf_token", &token),
                ("url", "http://hooks.example.org/storefront"),
                ("description", "Stock sync"),
                ("kinds", "item.created"),
                ("kinds", "item.updated"),
                ("store_id", &store_id),
            ],
        )
        .await;
    assert_eq!(made.status, 303, "{}", made.text);
    let location = made.header("location").unwrap().to_owned();
    let shown = browser.get(&location).await;
    assert!(shown.text.contains("whsec_"), "{}", shown.text);
    assert!(
        shown.text.contains("item.created, item.updated") && shown.text.contains(&format!("store {store}"))
    );
    let again = browser.get(&location).await;
    assert!(!again.text.contains("whsec_"), "shown once");
    assert!(again.text.contains("Nothing yet"));
    let listed = browser.get("/account/webhooks").await;
    assert!(
        unescaped(&listed).contains("http://hooks.example.org/storefront")
            && listed.text.contains("Stock sync")
    );

    // Its deliveries show as changes are made.
    app.item(&ann, store, "Kettle", "12.00").await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let log = loop {
        let log = browser.get(&location).await;
        if log.text.contains("msg_") || std::time::Instant::now() > deadline {
            break log;
        }
        rocket::tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert!(log.text.contains("pending"), "{}", log.text);
    let token = csrf_of(&log.text);
    let delivery = log.text.split("/deliveries/").nth(1).unwrap().split('/').next().unwrap().to_owned();
    let resent =
        browser.post(&format!("{location}/deliveries/{delivery}/redeliver"), &[("csrf_token", &token)]).await;
    assert_eq!(resent.status, 303);
    assert_eq!(app.count("webhook_deliveries"), 2);

    // Stopped and started; a new secret, shown once; deleted.
    assert_eq!(browser.post(&format!("{location}/enabled"), &[("csrf_token", &token)]).await.status, 303);
    assert!(browser.get(&location).await.text.contains("stopped: Disabled by its owner."));
    let started =
        browser.post(&format!("{location}/enabled"), &[("csrf_token", &token), ("enabled", "true")]).await;
    assert_eq!(started.status, 303);
    assert!(browser.get(&location).await.text.contains("<dd>sending"));
    assert_eq!(browser.post(&format!("{location}/rotate"), &[("csrf_token", &token)]).await.status, 303);
    let rotated = browser.get(&location).await;
    assert!(rotated.text.contains("whsec_") && rotated.text.contains("still signs beside the new one"));

    let bob = app.user(Role::Member).await;
    let other = app.browser();
    other.login(&bob.email, PASSWORD).await;
    assert_eq!(other.get(&location).await.status, 404);
    let their_token = other.csrf("/account/webhooks").await;
    assert_eq!(other.post(&format!("{location}/delete"), &[("csrf_token", &their_token)]).await.status, 404);

    let deleted = browser.post(&format!("{location}/delete"), &[("csrf_token", &token)]).await;
    assert_eq!((deleted.status, deleted.header("location")), (303, Some("/account/webhooks")));
    assert_eq!(app.count("webhook_endpoints"), 0);
}
