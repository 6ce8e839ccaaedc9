//! The operator's log: flows run against the binary with known secrets,
//! then its whole output is read back. Every request has a line with the
//! promised fields, security events have lines of their own, and no secret
//! appears anywhere.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::Process;
use crate::harness::csrf_of;
use crate::live::Response;

const PASSWORD: &str = "orchid-lantern-meadow-93";
const QUERY_SECRET: &str = "QuerySecret-7f3a9c";

/// A browser's cookies, kept from `Set-Cookie` and sent back.
#[derive(Default)]
struct Jar(BTreeMap<String, String>);

impl Jar {
    fn keep(&mut self, response: &Response) {
        for (name, value) in &response.headers {
            if name != "set-cookie" {
                continue;
            }
            let pair = value.split(';').next().unwrap_or_default();
            if let Some((key, val)) = pair.split_once('=') {
                if val.is_empty() || value.contains("Max-Age=0") {
                    self.0.remove(key);
                } else {
                    self.0.insert(key.to_owned(), val.to_owned());
                }
            }
        }
    }

    fn header(&self) -> String {
        self.0.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }
}

fn form(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(k, v)| format!("{k}={}", rocket::http::RawStr::new(v).percent_encode()))
        .collect::<Vec<_>>()
        .join("&")
}

async fn get(process: &Process, jar: &mut Jar, path: &str) -> Response {
    let cookie = jar.header();
    let response = process.request("GET", path, &[("Cookie", &cookie)], "").await;
    jar.keep(&response);
    response
}

async fn post_form(process: &Process, jar: &mut Jar, path: &str, fields: &[(&str, &str)]) -> Response {
    let cookie = jar.header();
    let headers = [
        ("Cookie", cookie.as_str()),
        ("Origin", "http://127.0.0.1"),
        ("Content-Type", "application/x-www-form-urlencoded"),
    ];
    let response = process.request("POST", path, &headers, &form(fields)).await;
    jar.keep(&response);
    response
}

async fn post_json(process: &Process, path: &str, bearer: Option<&str>, body: Value) -> Response {
    let authorization = bearer.map(|token| format!("Bearer {token}"));
    let mut headers = vec![("Content-Type", "application/json"), ("X-Real-IP", "203.0.113.77")];
    if let Some(value) = &authorization {
        headers.push(("Authorization", value));
    }
    process.request("POST", path, &headers, &body.to_string()).await
}

fn lines(output: &str) -> Vec<Value> {
    output.lines().filter_map(|line| serde_json::from_str::<Value>(line).ok()).collect()
}

#[rocket::async_test]
async fn the_log_has_a_line_per_request_and_per_security_event_and_no_secret() {
    let process = Process::start(&[
        ("ROCKET_LOG_FORMAT", "json"),
        ("ROCKET_IP_HEADER", "X-Real-IP"),
        ("ROCKET_LOGIN_FAILURES_PER_ACCOUNT", "3"),
    ])
    .await;
    let email = "logged@example.org";
    let mut secrets: Vec<String> = vec![PASSWORD.into(), QUERY_SECRET.into()];

    // The API: register, fail, log in, read, refresh, replay, log out.
    let registered =
        post_json(&process, "/api/register", None, json!({"email": email, "password": PASSWORD})).await;
    assert_eq!(registered.status, 201, "{}", registered.body);
    let user_id = registered.json()["id"].as_i64().unwrap();
    let wrong = json!({"email": email, "password": "not-my-password-4711"});
    secrets.push("not-my-password-4711".into());
    assert_eq!(post_json(&process, "/api/login", None, wrong).await.status, 401);
    let tokens =
        post_json(&process, "/api/login", None, json!({"email": email, "password": PASSWORD})).await.json();
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    secrets.extend([access.clone(), refresh.clone(), tokens["device_token"].as_str().unwrap().to_owned()]);
    let path = format!("/api/user/{user_id}?access_token={QUERY_SECRET}&limit=5");
    let traced = [
        ("Authorization", format!("Bearer {access}")),
        ("X-Request-Id", "trace-4242".into()),
        ("X-Real-IP", "203.0.113.77".into()),
    ];
    let headers: Vec<(&str, &str)> = traced.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let read = process.request("GET", &path, &headers, "").await;
    assert_eq!(read.status, 200, "{}", read.body);
    assert_eq!(read.header("x-request-id"), Some("trace-4242"));
    let rotated = post_json(&process, "/api/refresh", Some(&refresh), json!({})).await;
    assert_eq!(rotated.status, 200, "{}", rotated.body);
    secrets.push(rotated.json()["refresh_token"].as_str().unwrap().to_owned());
    secrets.push(rotated.json()["access_token"].as_str().unwrap().to_owned());
    assert_eq!(post_json(&process, "/api/refresh", Some(&refresh), json!({})).await.status, 401);
    let bogus = "eyJhbGciOiJIUzI1NiJ9.e30.c2lnbmF0dXJlLXRoYXQtaXMtd3Jvbmc";
    secrets.push(bogus.into());
    assert_eq!(
        process
            .request(
                "GET",
                &format!("/api/user/{user_id}"),
                &[("Authorization", &format!("Bearer {bogus}"))],
                ""
            )
            .await
            .status,
        401
    );

    // The pages: log in, make a personal token, a forged form, log out.
    let mut jar = Jar::default();
    let page = get(&process, &mut jar, "/account/login").await;
    let anonymous_csrf = csrf_of(&page.body);
    let fields = [("csrf_token", anonymous_csrf.as_str()), ("email", email), ("password", PASSWORD)];
    let logged_in = post_form(&process, &mut jar, "/account/login", &fields).await;
    assert_eq!(logged_in.status, 303, "{}", logged_in.body);
    let csrf = csrf_of(&get(&process, &mut jar, "/account/tokens").await.body);
    let created = post_form(
        &process,
        &mut jar,
        "/account/tokens",
        &[("csrf_token", &csrf), ("name", "backup"), ("expires_in_days", "30")],
    )
    .await;
    assert_eq!(created.status, 303, "{}", created.body);
    let shown = get(&process, &mut jar, "/account/tokens").await.body;
    let personal = shown
        .split("value=\"")
        .find(|part| part.starts_with("sfp_"))
        .and_then(|part| part.split('"').next())
        .map(str::to_owned);
    let personal = personal.unwrap_or_else(|| panic!("a new token on the page: {shown}"));
    assert_eq!(
        process
            .request(
                "GET",
                &format!("/api/user/{user_id}"),
                &[("Authorization", &format!("Bearer {personal}"))],
                ""
            )
            .await
            .status,
        200
    );
    let forged =
        post_form(&process, &mut jar, "/account/logout", &[("csrf_token", "forged-token-value")]).await;
    assert_eq!(forged.status, 403);
    secrets.extend(jar.0.values().cloned());
    assert!(jar.0.len() >= 3, "csrf, session and device cookies: {:?}", jar.0.keys());
    assert_eq!(post_form(&process, &mut jar, "/account/logout", &[("csrf_token", &csrf)]).await.status, 303);
    secrets.extend([anonymous_csrf, csrf, personal]);

    // Three failures without a device throttle the account.
    for _ in 0..3 {
        post_json(&process, "/api/login", None, json!({"email": email, "password": "not-my-password-4711"}))
            .await;
    }
    assert_eq!(
        post_json(&process, "/api/login", None, json!({"email": email, "password": PASSWORD})).await.status,
        429
    );

    rocket::tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let output = process.output();
    for secret in &secrets {
        assert!(
            !secret.is_empty() && !output.contains(secret.as_str()),
            "{secret:?} is in the log:\n{output}"
        );
    }
    let lines = lines(&output);
    assert!(lines.len() > 20, "JSON lines expected:\n{output}");

    let requests: Vec<&Value> = lines.iter().filter(|line| line["message"] == "request").collect();
    let traced =
        requests.iter().find(|line| line["request_id"] == "trace-4242").expect("the traced request's line");
    assert_eq!(traced["method"], "GET");
    assert_eq!(traced["path"], format!("/api/user/{user_id}?access_token=[redacted]&limit=5"));
    assert_eq!(traced["status"], 200);
    assert_eq!(traced["user_id"], user_id);
    assert_eq!(traced["client"], "203.0.113.77");
    assert_eq!(traced["level"], "INFO");
    assert!(
        traced["duration_ms"].as_f64().is_some()
            && traced["timestamp"].as_str().is_some_and(|t| t.starts_with("20")),
        "{traced}"
    );
    // Every request has its line, with an id of its own when no proxy gave one.
    assert!(requests.iter().all(|line| line["request_id"].as_str().is_some_and(|id| !id.is_empty())));
    assert!(requests.iter().any(|line| line["path"] == "/account/tokens" && line["user_id"] == user_id));

    let events: Vec<&str> = lines.iter().filter_map(|line| line["event"].as_str()).collect();
    for expected in [
        "login_failed",
        "login_throttled",
        "refresh_token_replayed",
        "unauthorized",
        "forbidden",
        "csrf_refused",
    ] {
        assert!(events.contains(&expected), "{expected} in {events:?}");
    }
    let failed = lines.iter().find(|line| line["event"] == "login_failed").unwrap();
    assert_eq!(failed["user_id"], user_id);
    assert_eq!(failed["client"], "203.0.113.77");
    // What was typed as the email is fingerprinted, never written.
    assert!(!output.contains(email), "the email is in the log");
    // Rocket's own lines (which print URLs verbatim) are off.
    assert!(!output.contains("Rocket has launched") && !output.contains("Matched:"), "{output}");
}

#[rocket::async_test]
async fn debug_builds_log_readable_lines_at_the_configured_level() {
    let process = Process::start(&[("ROCKET_LOG_FORMAT", "text"), ("ROCKET_LOG", "warn")]).await;
    assert_eq!(process.request("GET", "/api/stores", &[], "").await.status, 200);
    assert_eq!(process.request("GET", "/api/user/1", &[], "").await.status, 401);
    rocket::tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let output = process.output();
    // At warn, the 200 has no line and the refusal has.
    assert!(!output.contains("path=/api/stores"), "{output}");
    assert!(output.contains("WARN") && output.contains("unauthorized"), "{output}");
    assert!(lines(&output).is_empty(), "text, not JSON: {output}");
}
