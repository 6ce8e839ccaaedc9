//! Login throttling after OWASP's device-cookie scheme: a client that logged
//! in before shows its device token and answers only for its own failures;
//! everyone else shares a capped allowance per account and per address.

use serde_json::{json, Value};
use storefront::models::Role;

use crate::harness::{Reply, TestApp, PASSWORD};

/// Behind a proxy that names the client in `X-Real-IP`.
async fn behind_proxy(
    configure: impl FnOnce(rocket::figment::Figment) -> rocket::figment::Figment,
) -> TestApp {
    TestApp::configured(|f| configure(f.merge(("ip_header", "X-Real-IP")))).await
}

async fn login_from(app: &TestApp, address: &str, body: Value) -> Reply {
    app.post("/api/login").header("X-Real-IP", address).json(body).send().await
}

fn retry_after(reply: &Reply) -> u64 {
    reply.header("retry-after").and_then(|value| value.parse().ok()).unwrap_or_default()
}

#[rocket::async_test]
async fn an_attacker_failing_on_purpose_does_not_lock_the_owners_device_out() {
    let app = behind_proxy(|f| f).await;
    let ann = app.user(Role::Member).await;
    let first = login_from(&app, "192.0.2.1", json!({"email": ann.email, "password": PASSWORD})).await;
    let device_token = first.json()["device_token"].as_str().unwrap().to_owned();
    assert_eq!(first.header("cache-control"), Some("no-store"));

    // Forty wrong passwords from forty addresses: ten are tried, then refused.
    let mut statuses = Vec::new();
    for n in 0..40 {
        let reply =
            login_from(&app, &format!("198.51.100.{n}"), json!({"email": ann.email, "password": "wrong"}))
                .await;
        if reply.status == 429 {
            assert_eq!(reply.json()["code"], "too_many_attempts");
            assert!((800..=900).contains(&retry_after(&reply)), "{:?}", reply.header("retry-after"));
        }
        statuses.push(reply.status);
    }
    assert_eq!(statuses.iter().filter(|&&s| s == 401).count(), 10, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|&&s| s == 429).count(), 30);

    // The owner's device logs in, from any address, and gets a new token.
    let with_device = json!({"email": ann.email, "password": PASSWORD, "device_token": device_token});
    let owner = login_from(&app, "203.0.113.9", with_device).await;
    assert_eq!(owner.status, 200, "{}", owner.text);
    assert!(owner.json()["device_token"].as_str().is_some_and(|token| token != device_token));
    // A client it never vouched for is refused like the attacker.
    let stranger = login_from(&app, "192.0.2.1", json!({"email": ann.email, "password": PASSWORD})).await;
    assert_eq!(stranger.status, 429);
    // Nobody else's account is affected.
    let bob = app.user(Role::Member).await;
    assert_eq!(
        login_from(&app, "198.51.100.1", json!({"email": bob.email, "password": PASSWORD})).await.status,
        200
    );
}

#[rocket::async_test]
async fn a_distributed_attack_is_capped_at_100_failures_an_hour() {
    // Windows so wide that only the hourly cap is left to stop it.
    let app = behind_proxy(|f| {
        f.merge(("login_failures_per_account", 10_000)).merge(("login_failures_per_client", 10_000))
    })
    .await;
    let ann = app.user(Role::Member).await;
    let mut statuses = Vec::new();
    for n in 0..110 {
        let address = format!("10.{}.{}.1", n / 200, n % 200);
        let reply =
            login_from(&app, &address, json!({"email": ann.email, "password": format!("guess-{n}")})).await;
        statuses.push(reply.status);
        if reply.status == 429 {
            assert!((3500..=3600).contains(&retry_after(&reply)), "{:?}", reply.header("retry-after"));
        }
    }
    assert_eq!(statuses[..100].iter().filter(|&&s| s == 401).count(), 100, "{statuses:?}");
    assert!(statuses[100..].iter().all(|&s| s == 429), "{statuses:?}");
    assert_eq!(app.count("login_failures"), 100);
}

#[rocket::async_test]
async fn a_device_that_fails_too_often_is_refused_alone() {
    let app = behind_proxy(|f| f).await;
    let ann = app.user(Role::Member).await;
    let token_of = |reply: Reply| reply.json()["device_token"].as_str().unwrap().to_owned();
    let laptop = token_of(app.login(&ann.email, PASSWORD).await);
    let phone = token_of(app.login(&ann.email, PASSWORD).await);

    for _ in 0..10 {
        let wrong = json!({"email": ann.email, "password": "wrong", "device_token": laptop});
        assert_eq!(login_from(&app, "192.0.2.7", wrong).await.status, 401);
    }
    let right = json!({"email": ann.email, "password": PASSWORD, "device_token": laptop});
    assert_eq!(login_from(&app, "192.0.2.7", right).await.status, 429);
    // The other device, and clients without one, are untouched.
    let right = json!({"email": ann.email, "password": PASSWORD, "device_token": phone});
    assert_eq!(login_from(&app, "192.0.2.7", right).await.status, 200);
    let plain = json!({"email": ann.email, "password": PASSWORD});
    assert_eq!(login_from(&app, "192.0.2.8", plain).await.status, 200);
}

#[rocket::async_test]
async fn a_device_token_vouches_only_for_its_own_account_and_only_when_genuine() {
    let app = behind_proxy(|f| f).await;
    let ann = app.user(Role::Member).await;
    let bob = app.user(Role::Member).await;
    let bobs_device =
        app.login(&bob.email, PASSWORD).await.json()["device_token"].as_str().unwrap().to_owned();
    let access = ann.access.clone();

    // Bob's device, an access token, junk and nothing are all "no device"
    // for Ann: they share her ten failures.
    let too_long = json!({"email": ann.email, "password": PASSWORD, "device_token": "x".repeat(1001)});
    let refused = login_from(&app, "192.0.2.99", too_long).await;
    assert_eq!(refused.problem(422)["errors"]["device_token"], "must be at most 1000 characters");
    for (n, token) in [bobs_device, access, "x".repeat(1000)].into_iter().enumerate() {
        for _ in 0..3 {
            let wrong = json!({"email": ann.email, "password": "wrong", "device_token": token});
            assert_eq!(login_from(&app, &format!("192.0.2.{n}"), wrong).await.status, 401);
        }
    }
    let wrong = json!({"email": ann.email, "password": "wrong", "device_token": ""});
    assert_eq!(login_from(&app, "192.0.2.9", wrong).await.status, 401);
    let right = json!({"email": ann.email, "password": PASSWORD, "device_token": null});
    assert_eq!(login_from(&app, "192.0.2.9", right).await.status, 429, "ten failures without a device");
    let not_a_string = json!({"email": ann.email, "password": "wrong", "device_token": 7});
    assert_eq!(
        login_from(&app, "192.0.2.9", not_a_string).await.problem(422)["errors"]["device_token"],
        "must be a string or null"
    );
}

#[rocket::async_test]
async fn behind_a_configured_proxy_each_client_address_has_its_own_allowance() {
    let app = behind_proxy(|f| f.merge(("login_failures_per_client", 5))).await;
    let ann = app.user(Role::Member).await;
    for n in 0..5 {
        let reply = login_from(
            &app,
            "192.0.2.50",
            json!({"email": format!("guess{n}@example.org"), "password": "wrong"}),
        )
        .await;
        assert_eq!(reply.status, 401);
    }
    let blocked = login_from(&app, "192.0.2.50", json!({"email": ann.email, "password": PASSWORD})).await;
    assert_eq!(blocked.status, 429);
    // Another visitor behind the same proxy is not blocked by them.
    let neighbour = login_from(&app, "192.0.2.51", json!({"email": ann.email, "password": PASSWORD})).await;
    assert_eq!(neighbour.status, 200, "{}", neighbour.text);
}

#[rocket::async_test]
async fn after_a_password_change_earlier_device_tokens_count_as_no_device() {
    let app = behind_proxy(|f| f).await;
    let ann = app.user(Role::Member).await;
    let token_of = |reply: Reply| reply.json()["device_token"].as_str().unwrap().to_owned();
    let before =
        token_of(login_from(&app, "192.0.2.1", json!({"email": ann.email, "password": PASSWORD})).await);

    // Tokens carry whole seconds: the change comes in a later one.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let new_password = "saffron-kettle-harbour-42";
    let browser = app.browser();
    browser.login(&ann.email, PASSWORD).await;
    let token = browser.csrf("/account/password").await;
    let fields =
        [("csrf_token", token.as_str()), ("current_password", PASSWORD), ("new_password", new_password)];
    assert_eq!(browser.post("/account/password", &fields).await.status, 303);
    let after =
        token_of(login_from(&app, "192.0.2.1", json!({"email": ann.email, "password": new_password})).await);

    // Someone else fails ten times: clients without a device are refused.
    for n in 0..10 {
        let wrong = json!({"email": ann.email, "password": "wrong"});
        assert_eq!(login_from(&app, &format!("198.51.100.{n}"), wrong).await.status, 401);
    }
    // The device that knew the old password is no device of the owner's now...
    let old_device = json!({"email": ann.email, "password": new_password, "device_token": before});
    assert_eq!(login_from(&app, "192.0.2.1", old_device).await.status, 429);
    // ...while the one given since the change still vouches.
    let new_device = json!({"email": ann.email, "password": new_password, "device_token": after});
    assert_eq!(login_from(&app, "192.0.2.1", new_device).await.status, 200);
}
