//! Webhooks: endpoints get their events signed as the Standard Webhooks
//! specification says, in order, retried after failures and timeouts,
//! once each however many instances deliver, redelivered on demand,
//! disabled after failing too long; and never to an address inside the
//! network unless a setting allows it.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rocket::tokio::io::{AsyncReadExt, AsyncWriteExt};
use rocket::tokio::net::TcpListener;
use serde_json::{json, Value};
use storefront::models::Role;
use storefront::webhooks::signature;

use crate::harness::{TestApp, TestUser};

/// How the receiver answers a request.
#[derive(Debug, Clone)]
enum Answer {
    Status(u16),
    /// Answers after this long.
    Slow(Duration),
    Redirect(String),
}

/// A request the receiver took.
#[derive(Debug, Clone)]
struct Received {
    headers: HashMap<String, String>,
    body: String,
}

/// An HTTP receiver on loopback: answers as planned (then 200), and keeps
/// what it was sent.
struct Receiver {
    url: String,
    received: Arc<Mutex<Vec<Received>>>,
    plan: Arc<Mutex<VecDeque<Answer>>>,
}

impl Receiver {
    async fn start() -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://127.0.0.1:{}/hook", listener.local_addr().unwrap().port());
        let received = Arc::new(Mutex::new(Vec::new()));
        let plan = Arc::new(Mutex::new(VecDeque::new()));
        let (kept, planned) = (received.clone(), plan.clone());
        rocket::tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let (kept, planned) = (kept.clone(), planned.clone());
                rocket::tokio::spawn(async move {
                    let Some(request) = read_request(&mut socket).await else { return };
                    kept.lock().unwrap().push(request);
                    let answer = planned.lock().unwrap().pop_front().unwrap_or(Answer::Status(200));
                    let head = match answer {
                        Answer::Status(status) => format!("HTTP/1.1 {status} X\r\n"),
                        Answer::Slow(wait) => {
                            rocket::tokio::time::sleep(wait).await;
                            "HTTP/1.1 200 OK\r\n".to_owned()
                        }
                        Answer::Redirect(to) => format!("HTTP/1.1 302 Found\r\nLocation: {to}\r\n"),
                    };
                    let body = "thanks";
                    let reply =
                        format!("{head}Content-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
                    let _ = socket.write_all(reply.as_bytes()).await;
                });
            }
        });
        Receiver { url, received, plan }
    }

    fn plan(&self, answers: &[Answer]) {
        self.plan.lock().unwrap().extend(answers.iter().cloned());
    }

    fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// Waits until it has taken `count` requests (at most `within`).
    async fn wait_for(&self, count: usize, within: Duration) -> Vec<Received> {
        let deadline = Instant::now() + within;
        while self.received.lock().unwrap().len() < count && Instant::now() < deadline {
            rocket::tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.received()
    }
}

async fn read_request(socket: &mut rocket::tokio::net::TcpStream) -> Option<Received> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..n]);
        if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    let headers: HashMap<String, String> = head
        .lines()
        .skip(1)
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_lowercase(), value.trim().to_owned()))
        .collect();
    let length: usize = headers.get("content-length").and_then(|l| l.parse().ok()).unwrap_or(0);
    while buffer.len() < head_end + length {
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        buffer.extend_from_slice(&chunk[..n]);
    }
    let body = String::from_utf8_lossy(&buffer[head_end..(head_end + length).min(buffer.len())]).into_owned();
    Some(Received { headers, body })
}

fn open(f: rocket::figment::Figment) -> rocket::figment::Figment {
    f.merge(("webhook_workers", 2))
        .merge(("webhooks_allow_http", true))
        .merge(("webhooks_allow_private", true))
        .merge(("webhook_timeout_seconds", 1))
}

async fn register(app: &TestApp, user: &TestUser, body: Value) -> crate::harness::Reply {
    app.post("/api/webhooks").bearer(&user.access).json(body).send().await
}

/// As if every delivery's wait before its retry had passed.
fn retry_now(app: &TestApp) {
    diesel::RunQueryDsl::execute(
        diesel::sql_query("UPDATE webhook_deliveries SET next_attempt_at = now() WHERE state = 'pending'"),
        &mut app.conn(),
    )
    .unwrap();
}

fn verify(received: &Received, secret: &str) -> Value {
    let id = &received.headers["webhook-id"];
    let timestamp: i64 = received.headers["webhook-timestamp"].parse().unwrap();
    assert!((chrono::Utc::now().timestamp() - timestamp).abs() < 60, "a current timestamp");
    let expected = signature::sign(secret, id, timestamp, received.body.as_bytes()).unwrap();
    let signatures: Vec<&str> = received.headers["webhook-signature"].split(' ').collect();
    assert!(signatures.contains(&expected.as_str()), "{signatures:?} signed with the secret");
    assert_eq!(received.headers["content-type"], "application/json");
    serde_json::from_str(&received.body).unwrap()
}

#[rocket::async_test]
async fn events_are_delivered_signed_in_order_and_redelivered_on_demand() {
    let app = TestApp::configured(open).await;
    let receiver = Receiver::start().await;
    let ann = app.user(Role::Member).await;
    let store = app.store(&ann, "Ann's").await;
    let made =
        register(&app, &ann, json!({"url": receiver.url, "kinds": ["item.created", "item.updated"]})).await;
    assert_eq!(made.status, 201, "{}", made.text);
    let endpoint = made.json();
    let secret = endpoint["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"));
    let id = endpoint["id"].as_i64().unwrap();
    let shown = app.get(&format!("/api/webhooks/{id}")).bearer(&ann.access).send().await;
    assert_eq!(shown.json()["secret"], Value::Null, "the secret is shown once");

    let mut items = Vec::new();
    for n in 0..5 {
        items.push(app.item(&ann, store, &format!("Thing {n}"), "1.00").await);
    }
    // A tag is not a kind this endpoint wants, nor another account's store.
    app.tag(&ann, store, "Sale").await;
    let bob = app.user(Role::Member).await;
    let bobs = app.store(&bob, "Bob's").await;
    app.item(&bob, bobs, "Not Ann's", "2.00").await;
    let got = receiver.wait_for(5, Duration::from_secs(10)).await;
    rocket::tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.received().len(), 5, "only the kinds and stores wanted");
    let events: Vec<Value> = got.iter().map(|r| verify(r, &secret)).collect();
    let entities: Vec<i64> = events.iter().map(|e| e["entity_id"].as_i64().unwrap()).collect();
    assert_eq!(entities, items, "in the order of the events");
    for (event, received) in events.iter().zip(&got) {
        assert_eq!(event["kind"], "item.created");
        assert_eq!(received.headers["webhook-id"], format!("msg_{}", event["id"]));
        assert_eq!(event["object"]["store"]["id"], store);
    }

    // The log says what happened; a delivery is sent again on demand, with its id.
    let log = app.get(&format!("/api/webhooks/{id}/deliveries")).bearer(&ann.access).send().await;
    assert_eq!(log.status, 200, "{}", log.text);
    let log = log.json();
    assert_eq!(log.as_array().unwrap().len(), 5);
    assert_eq!(log[0]["state"], "delivered");
    assert_eq!(log[0]["attempts"][0]["status"], 200);
    assert_eq!(log[0]["attempts"][0]["response"], "thanks");
    let oldest = log[4]["id"].as_i64().unwrap();
    let again = app
        .post(&format!("/api/webhooks/{id}/deliveries/{oldest}/redeliver"))
        .bearer(&ann.access)
        .send()
        .await;
    assert_eq!(again.status, 202, "{}", again.text);
    let got = receiver.wait_for(6, Duration::from_secs(10)).await;
    assert_eq!(got[5].headers["webhook-id"], got[0].headers["webhook-id"]);
    assert_eq!(got[5].body, got[0].body);

    // Rotated: both secrets sign for a day.
    let rotated = app.post(&format!("/api/webhooks/{id}/rotate-secret")).bearer(&ann.access).send().await;
    let new_secret = rotated.json()["secret"].as_str().unwrap().to_owned();
    assert_ne!(new_secret, secret);
    app.item(&ann, store, "After the rotation", "1.00").await;
    let got = receiver.wait_for(7, Duration::from_secs(10)).await;
    verify(&got[6], &secret);
    verify(&got[6], &new_secret);
    assert_eq!(got[6].headers["webhook-signature"].split(' ').count(), 2);

    // Nobody else sees it.
    let others = app.get(&format!("/api/webhooks/{id}")).bearer(&bob.access).send().await;
    assert_eq!(others.problem(404)["code"], "not_found");
    let theirs = register(&app, &bob, json!({"url": receiver.url, "store_id": store})).await;
    assert_eq!(theirs.problem(403)["code"], "forbidden");
}

#[rocket::async_test]
async fn failures_are_retried_in_order_and_a_long_failing_endpoint_is_disabled() {
    let app = TestApp::configured(open).await;
    let receiver = Receiver::start().await;
    let ann = app.user(Role::Member).await;
    let store = app.store(&ann, "Ann's").await;
    let id = register(&app, &ann, json!({"url": receiver.url, "store_id": store})).await.json()["id"]
        .as_i64()
        .unwrap();
    receiver.plan(&[Answer::Status(500), Answer::Slow(Duration::from_secs(3))]);
    let first = app.item(&ann, store, "First", "1.00").await;
    receiver.wait_for(1, Duration::from_secs(10)).await;
    // The next event waits behind the failed one.
    let second = app.item(&ann, store, "Second", "1.00").await;
    rocket::tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(receiver.received().len(), 1, "nothing overtakes a delivery being retried");
    retry_now(&app);
    receiver.wait_for(2, Duration::from_secs(10)).await; // the slow answer: a timeout
    rocket::tokio::time::sleep(Duration::from_millis(1500)).await;
    retry_now(&app);
    let got = receiver.wait_for(4, Duration::from_secs(10)).await;
    let entities: Vec<i64> = got
        .iter()
        .map(|r| serde_json::from_str::<Value>(&r.body).unwrap()["entity_id"].as_i64().unwrap())
        .collect();
    assert_eq!(entities, [first, first, first, second]);

    let log = app.get(&format!("/api/webhooks/{id}/deliveries")).bearer(&ann.access).send().await.json();
    let attempts = &log[1]["attempts"];
    assert_eq!(attempts.as_array().unwrap().len(), 3);
    assert_eq!((attempts[0]["status"].clone(), attempts[0]["error"].clone()), (json!(500), Value::Null));
    assert_eq!(attempts[1]["status"], Value::Null);
    assert_eq!(attempts[1]["error"], "no answer within 1 seconds");
    assert_eq!(attempts[2]["status"], 200);
    assert_eq!(log[1]["state"], "delivered");

    // Failing for five days on end: the next failure disables the endpoint.
    receiver.plan(&[Answer::Status(503)]);
    diesel::RunQueryDsl::execute(
        diesel::sql_query("UPDATE webhook_endpoints SET failing_since = now() - interval '121 hours'"),
        &mut app.conn(),
    )
    .unwrap();
    app.item(&ann, store, "Third", "1.00").await;
    receiver.wait_for(5, Duration::from_secs(10)).await;
    rocket::tokio::time::sleep(Duration::from_millis(500)).await;
    let endpoint = app.get(&format!("/api/webhooks/{id}")).bearer(&ann.access).send().await.json();
    assert_eq!(endpoint["enabled"], false);
    assert!(endpoint["disabled_reason"].as_str().unwrap().starts_with("Disabled after every attempt failed"));
    // Enabled again, it carries on where it stopped.
    let enabled = app
        .request(rocket::http::Method::Patch, &format!("/api/webhooks/{id}"))
        .bearer(&ann.access)
        .json(json!({"enabled": true}))
        .send()
        .await;
    assert_eq!((enabled.status, enabled.json()["failing_since"].clone()), (200, Value::Null));
    retry_now(&app);
    let got = receiver.wait_for(6, Duration::from_secs(10)).await;
    assert_eq!(got[5].body, got[4].body);
}

#[rocket::async_test]
async fn two_instances_deliver_each_event_once() {
    let app = TestApp::configured(open).await;
    let other = TestApp::launch_on(app.database.clone(), &app.url(), open).await;
    let receiver = Receiver::start().await;
    let admin = app.user(Role::Admin).await;
    let made = register(&app, &admin, json!({"url": receiver.url})).await;
    assert_eq!(made.status, 201);
    let ann = app.user(Role::Member).await;
    let store = app.store(&ann, "Ann's").await;
    for n in 0..30 {
        let instance = if n % 2 == 0 { &app } else { &other };
        instance.item(&ann, store, &format!("Thing {n}"), "1.00").await;
    }
    // The store's creation and thirty items: an admin's endpoint gets every store's.
    let got = receiver.wait_for(31, Duration::from_secs(20)).await;
    rocket::tokio::time::sleep(Duration::from_millis(1000)).await;
    let ids: Vec<String> = receiver.received().iter().map(|r| r.headers["webhook-id"].clone()).collect();
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!((got.len(), ids.len(), unique.len()), (31, 31, 31), "each once");
    let numbers: Vec<i64> = ids.iter().map(|id| id.trim_start_matches("msg_").parse().unwrap()).collect();
    assert!(numbers.windows(2).all(|w| w[0] < w[1]), "in order: {numbers:?}");
    std::mem::forget(other);
}

#[rocket::async_test]
async fn deliveries_never_reach_into_the_network() {
    let app = TestApp::configured(|f| {
        f.merge(("webhook_workers", 2))
            .merge(("webhooks_allow_http", true))
            .merge(("webhook_timeout_seconds", 2))
    })
    .await;
    let receiver = Receiver::start().await;
    let ann = app.user(Role::Member).await;
    for (url, why) in [
        ("http://127.0.0.1:9/hook", "must not point at a loopback address"),
        ("http://10.0.0.7/hook", "must not point at a private address"),
        ("http://192.168.1.20/hook", "must not point at a private address"),
        ("http://169.254.169.254/latest/meta-data", "must not point at a cloud metadata address"),
        ("http://[::1]/hook", "must not point at a loopback address"),
        ("http://[fe80::1]/hook", "must not point at a link-local address"),
        ("ftp://example.org/hook", "must be an https:// URL"),
    ] {
        let refused = register(&app, &ann, json!({"url": url})).await;
        assert_eq!(refused.problem(422)["errors"]["url"], why, "{url}");
    }
    // A name that resolves to loopback passes registration, and is refused
    // when it is resolved, at each delivery.
    let port = receiver.url.split(':').nth(2).unwrap().split('/').next().unwrap().to_owned();
    let by_name = register(&app, &ann, json!({"url": format!("http://localhost:{port}/hook")})).await;
    assert_eq!(by_name.status, 201, "{}", by_name.text);
    let id = by_name.json()["id"].as_i64().unwrap();
    app.store(&ann, "Ann's").await;
    let deadline = Instant::now() + Duration::from_secs(10);
    let log = loop {
        let log = app.get(&format!("/api/webhooks/{id}/deliveries")).bearer(&ann.access).send().await.json();
        if log[0]["attempts"].as_array().is_some_and(|a| !a.is_empty()) || Instant::now() > deadline {
            break log;
        }
        rocket::tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let error = log[0]["attempts"][0]["error"].as_str().unwrap_or_else(|| panic!("{log}")).to_owned();
    assert!(error.starts_with("refused: localhost resolves to a loopback address"), "{error}");
    assert_eq!(log[0]["state"], "pending", "retried later, in case the name changes");
    assert!(receiver.received().is_empty());

    // Where private addresses are allowed (tests), a redirect is still not
    // followed: not into the network, nor anywhere.
    let open_app = TestApp::configured(open).await;
    let inside = Receiver::start().await;
    receiver.plan(&[Answer::Redirect(inside.url.clone())]);
    let ann = open_app.user(Role::Member).await;
    let id = register(&open_app, &ann, json!({"url": receiver.url})).await.json()["id"].as_i64().unwrap();
    open_app.store(&ann, "Ann's").await;
    receiver.wait_for(1, Duration::from_secs(10)).await;
    rocket::tokio::time::sleep(Duration::from_millis(500)).await;
    let log = open_app.get(&format!("/api/webhooks/{id}/deliveries")).bearer(&ann.access).send().await.json();
    assert_eq!(log[0]["attempts"][0]["status"], 302);
    assert_eq!(log[0]["attempts"][0]["error"], "redirects are not followed");
    assert!(inside.received().is_empty(), "the redirect's target got nothing");
}
