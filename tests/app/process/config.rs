//! The binary carries the shipped `Rocket.toml` as its own base layer: run
//! from an empty folder with only its secrets in the environment, it keeps
//! the settings that make it safe, and the debug profile still starts. A
//! file in the working folder, or the one `ROCKET_CONFIG` names, and then the
//! environment, override the shipped settings; the start says which file
//! was read.

use diesel::prelude::*;
use diesel::sql_types::BigInt;
use serde_json::{json, Value};

use super::{Process, JWT_SECRET, SECRET_KEY};

const RELEASE: [(&str, &str); 3] =
    [("ROCKET_PROFILE", "release"), ("ROCKET_JWT_SECRET", JWT_SECRET), ("ROCKET_SECRET_KEY", SECRET_KEY)];

/// The line the binary writes at start about its configuration.
fn configuration_line(process: &Process) -> Value {
    let output = process.output();
    output
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .find(|line| line["message"].as_str().is_some_and(|m| m.starts_with("configuration")))
        .unwrap_or_else(|| panic!("a configuration line at start:\n{output}"))
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    count: i64,
}

/// Connections the binary holds open to its database.
fn connections(process: &Process) -> i64 {
    diesel::sql_query(
        "SELECT count(*) AS count FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .get_result::<Count>(&mut process.app.conn())
    .map(|row| row.count)
    .expect("pg_stat_activity")
}

#[rocket::async_test]
async fn the_release_binary_from_an_empty_folder_keeps_the_shipped_settings() {
    let process = Process::start_bare(&RELEASE, &[]).await;
    assert!(!process.dir.join("Rocket.toml").exists());

    let said = configuration_line(&process);
    assert_eq!(said["profile"], "release", "{said}");
    assert_eq!(said["file"], "none", "{said}");
    assert_eq!(said["secure_cookies"], true, "{said}");
    assert_eq!(said["ip_header"], "none", "{said}");
    assert_eq!(said["json_limit"], "64KiB", "{said}");
    assert_eq!(said["pool_size"], "Some(16)", "{said}");
    // The pool opens its 16 connections at launch (Rocket's default: 8 here).
    assert!(connections(&process) >= 16, "{} connections", connections(&process));

    // Cookies are Secure, and `__Host-` wherever their path allows.
    let page = process.request("GET", "/account/login", &[], "").await;
    assert_eq!(page.status, 200, "{}", process.output());
    assert_eq!(page.header("strict-transport-security"), Some("max-age=31536000"));
    let cookies: Vec<&str> =
        page.headers.iter().filter(|(name, _)| name == "set-cookie").map(|(_, v)| v.as_str()).collect();
    assert_eq!(cookies.len(), 1, "{cookies:?}");
    assert!(cookies[0].starts_with("__Host-storefront_csrf="), "{}", cookies[0]);
    assert!(cookies[0].contains("; Secure") && cookies[0].contains("HttpOnly"), "{}", cookies[0]);

    // `X-Real-IP` is only a header: the address logged is the socket's.
    let forged = [("Content-Type", "application/json"), ("X-Real-IP", "203.0.113.9")];
    let wrong = json!({"email": "nobody@example.org", "password": "not-the-password-4711"}).to_string();
    let refused = process.request("POST", "/api/login", &forged, &wrong).await;
    assert_eq!(refused.status, 401, "{}", refused.body);
    // Over the JSON limit of 64 KiB: 413, as JSON.
    let padding = "x".repeat(65 * 1024);
    let big = json!({"email": "nobody@example.org", "password": padding}).to_string();
    let too_big = process.request("POST", "/api/login", &forged, &big).await;
    assert_eq!(too_big.status, 413, "{}", too_big.body);
    assert_eq!(too_big.json()["status"], 413);
    let small = json!({"email": "nobody@example.org", "password": "x".repeat(60 * 1024)}).to_string();
    assert_eq!(process.request("POST", "/api/login", &forged, &small).await.status, 401);

    rocket::tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let output = process.output();
    assert!(!output.contains("203.0.113.9"), "a forged address in the log:\n{output}");
    let lines: Vec<Value> = output.lines().filter_map(|line| serde_json::from_str(line).ok()).collect();
    let logins: Vec<&Value> =
        lines.iter().filter(|line| line["message"] == "request" && line["path"] == "/api/login").collect();
    assert_eq!(logins.len(), 3, "{output}");
    assert!(logins.iter().all(|line| line["client"] == "127.0.0.1"), "{logins:?}");
}

#[rocket::async_test]
async fn the_debug_profile_starts_from_an_empty_folder_with_its_throwaway_secrets() {
    let process = Process::start_bare(&[("ROCKET_LOG_FORMAT", "json")], &[]).await;
    let said = configuration_line(&process);
    assert_eq!((said["profile"].as_str(), said["file"].as_str()), (Some("debug"), Some("none")), "{said}");
    assert_eq!(said["secure_cookies"], false, "{said}");
    let home = process.request("GET", "/", &[], "").await;
    assert_eq!(home.status, 200, "{}", process.output());
    assert_eq!(home.header("strict-transport-security"), None);
    // The debug profile fills an empty database with the demo.
    assert!(process.output().contains("Demo admin"), "{}", process.output());
    assert!(process.app.count("stores") > 0);
}

/// A login whose JSON body is `bytes` long, give or take a few.
async fn login_of_size(process: &Process, bytes: usize) -> u16 {
    let body = json!({"email": "nobody@example.org", "password": "y".repeat(bytes)}).to_string();
    process.request("POST", "/api/login", &[("Content-Type", "application/json")], &body).await.status
}

#[rocket::async_test]
async fn a_file_in_the_working_folder_overrides_the_shipped_settings_and_the_environment_overrides_it() {
    let file = "[default.limits]\njson = \"1 KiB\"\nform = \"1 KiB\"\n[release]\nsecure_cookies = false\n";
    let mut env = RELEASE.to_vec();
    env.push(("ROCKET_LIMITS", "{json=\"2 KiB\"}"));
    let process = Process::start_bare(&env, &[("Rocket.toml", file)]).await;
    let said = configuration_line(&process);
    let expected = std::fs::canonicalize(process.dir.join("Rocket.toml")).unwrap();
    assert_eq!(said["file"], expected.display().to_string(), "{said}");
    assert_eq!(said["secure_cookies"], false, "the file's: {said}");
    assert_eq!(said["form_limit"], "1KiB", "the file's: {said}");
    assert_eq!(said["json_limit"], "2KiB", "the environment's over the file's: {said}");
    assert_eq!(login_of_size(&process, 1500).await, 401);
    assert_eq!(login_of_size(&process, 3000).await, 413);
    // What neither says stays as shipped.
    assert_eq!((said["pool_size"].as_str(), said["ip_header"].as_str()), (Some("Some(16)"), Some("none")));
    let page = process.request("GET", "/account/login", &[], "").await;
    let cookie = page.header("set-cookie").unwrap_or_default();
    assert!(cookie.starts_with("storefront_csrf=") && !cookie.contains("Secure"), "{cookie}");
}

#[rocket::async_test]
async fn rocket_config_names_the_file_and_a_missing_one_stops_the_start() {
    let file = "[default.limits]\njson = \"1 KiB\"\n";
    let mut env = RELEASE.to_vec();
    env.push(("ROCKET_CONFIG", "settings.toml"));
    let process = Process::start_bare(&env, &[("settings.toml", file)]).await;
    let said = configuration_line(&process);
    assert!(said["file"].as_str().unwrap().ends_with("/settings.toml"), "{said}");
    assert_eq!(login_of_size(&process, 2000).await, 413);

    // A file that is named but missing is an error, not silently nothing.
    let mut env = RELEASE.to_vec();
    env.push(("ROCKET_CONFIG", "nowhere/storefront.toml"));
    let mut process = Process::spawn_bare(&env, &[]).await;
    let status = process.exit_status(std::time::Duration::from_secs(20)).await;
    assert_eq!(status.and_then(|s| s.code()), Some(1), "{}", process.output());
    assert!(process.output().contains("nowhere/storefront.toml"), "{}", process.output());
}
