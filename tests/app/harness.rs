//! The test harness: each test gets its own database, cloned from a template
//! that is migrated once, and the real application on top of it through
//! Rocket's local client. The database is dropped when the test ends.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use diesel::connection::{set_default_instrumentation, Instrumentation, InstrumentationEvent};
use diesel::prelude::*;
use rocket::figment::Figment;
use rocket::http::{Header, Method};
use rocket::local::asynchronous::Client;
use serde_json::Value;
use sha2::{Digest, Sha256};
use storefront::models::Role;

pub const PASSWORD: &str = "correct-horse-battery";

/// The PostgreSQL server of the tests, as `(base, query)` for
/// `{base}/{database}?{query}...`: `TEST_DATABASE_SERVER` if set, else the
/// one at 127.0.0.1:5432; and when nothing usable answers there, a private
/// cluster as `cargo run` makes one (left running for the next run).
fn server() -> &'static (String, String) {
    static SERVER: OnceLock<(String, String)> = OnceLock::new();
    SERVER.get_or_init(|| {
        if let Ok(url) = std::env::var("TEST_DATABASE_SERVER") {
            return (url, String::new());
        }
        let default = "postgres://postgres@127.0.0.1:5432";
        let resolved = storefront::local_postgres::resolve(&format!("{default}/postgres"), false)
            .unwrap_or_else(|why| panic!("no PostgreSQL for the tests: {why}"));
        match resolved.local {
            None => (default.to_owned(), String::new()),
            Some(local) => {
                eprintln!("{}", resolved.said.unwrap_or_default());
                let url = local.url("postgres");
                let query = url.split_once('?').map_or("", |(_, query)| query);
                ("postgres://postgres@".to_owned(), format!("{query}&"))
            }
        }
    })
}

fn maintenance() -> PgConnection {
    PgConnection::establish(&TestApp::database_url("postgres"))
        .expect("PostgreSQL must be running for the tests")
}

/// The migrated template, named after the migrations it holds so that a
/// change to them makes a new one.
fn template() -> &'static str {
    static TEMPLATE: OnceLock<String> = OnceLock::new();
    TEMPLATE.get_or_init(|| {
        let mut hasher = Sha256::new();
        let mut entries: Vec<_> = walk("migrations");
        entries.sort();
        for path in entries {
            hasher.update(path.as_bytes());
            hasher.update(std::fs::read(&path).expect("readable migration"));
        }
        let digest: String = hasher.finalize()[..6].iter().map(|b| format!("{b:02x}")).collect();
        let name = format!("storefront_test_template_{digest}");
        let mut conn = maintenance();
        // Test processes may start together: one builds, the others wait.
        diesel::sql_query("SELECT pg_advisory_lock(4242)").execute(&mut conn).expect("lock");
        let exists: bool = diesel::select(diesel::dsl::sql::<diesel::sql_types::Bool>(&format!(
            "EXISTS (SELECT 1 FROM pg_database WHERE datname = '{name}')"
        )))
        .get_result(&mut conn)
        .expect("query pg_database");
        if !exists {
            diesel::sql_query(format!("CREATE DATABASE {name}")).execute(&mut conn).expect("create template");
            let mut template =
                PgConnection::establish(&TestApp::database_url(&name)).expect("connect to template");
            storefront::db::migrate(&mut template).expect("migrate template");
        }
        diesel::sql_query("SELECT pg_advisory_unlock(4242)").execute(&mut conn).expect("unlock");
        name
    })
}

fn walk(dir: &str) -> Vec<String> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).expect("migrations folder").flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(walk(&path.to_string_lossy()));
        } else {
            files.push(path.to_string_lossy().into_owned());
        }
    }
    files
}

/// Counts the SQL statements each test database receives.
#[derive(Default)]
struct QueryCounter {
    database: Option<String>,
}

fn query_counts() -> &'static Mutex<HashMap<String, usize>> {
    static COUNTS: OnceLock<Mutex<HashMap<String, usize>>> = OnceLock::new();
    COUNTS.get_or_init(Default::default)
}

impl Instrumentation for QueryCounter {
    fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
        match event {
            InstrumentationEvent::StartEstablishConnection { url, .. } => {
                // The event listener's and sequencer's connections work in the
                // background on their own schedule; what requests cost is
                // counted without them.
                if url.contains("application_name=storefront-event-") {
                    return;
                }
                let name = url.rsplit('/').next().unwrap_or("").split('?').next().unwrap_or("");
                self.database = Some(name.to_owned());
            }
            InstrumentationEvent::StartQuery { .. } => {
                if let Some(database) = &self.database {
                    if let Ok(mut counts) = query_counts().lock() {
                        *counts.entry(database.clone()).or_default() += 1;
                    }
                }
            }
            _ => {}
        }
    }
}

fn install_query_counter() {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        set_default_instrumentation(|| Some(Box::new(QueryCounter::default()))).expect("instrumentation");
    });
}

/// The application on a database of its own.
pub struct TestApp {
    pub client: Client,
    pub database: String,
}

impl TestApp {
    pub async fn new() -> TestApp {
        TestApp::configured(|figment| figment).await
    }

    /// With configuration of the test's own merged over the defaults.
    pub async fn configured(configure: impl FnOnce(Figment) -> Figment) -> TestApp {
        let database = TestApp::create_database();
        let url = TestApp::database_url(&database);
        TestApp::launch_on(database, &url, configure).await
    }

    /// A fresh database, named for the caller to use.
    pub fn create_database() -> String {
        install_query_counter();
        let template = template();
        let database = format!(
            "storefront_test_{}",
            storefront::auth::random_token(9).to_lowercase().replace(['-', '_'], "x")
        );
        diesel::sql_query(format!("CREATE DATABASE {database} TEMPLATE {template}"))
            .execute(&mut maintenance())
            .expect("create test database");
        database
    }

    pub async fn launch_on(
        database: String,
        url: &str,
        configure: impl FnOnce(Figment) -> Figment,
    ) -> TestApp {
        TestApp::assembled(database, url, configure, |rocket| rocket).await
    }

    /// The application with routes or fairings of the test's own added.
    pub async fn extended(
        configure: impl FnOnce(Figment) -> Figment,
        extend: impl FnOnce(rocket::Rocket<rocket::Build>) -> rocket::Rocket<rocket::Build>,
    ) -> TestApp {
        let database = TestApp::create_database();
        let url = TestApp::database_url(&database);
        TestApp::assembled(database, &url, configure, extend).await
    }

    async fn assembled(
        database: String,
        url: &str,
        configure: impl FnOnce(Figment) -> Figment,
        extend: impl FnOnce(rocket::Rocket<rocket::Build>) -> rocket::Rocket<rocket::Build>,
    ) -> TestApp {
        let figment = storefront::figment()
            .merge(("databases.main.url", url))
            .merge(("databases.main.pool_size", 6))
            .merge(("databases.main.timeout", 3))
            .merge(("seed_demo_data", false))
            // Webhook workers look for work every second: tests that count
            // statements run without them, and webhook tests ask for some.
            .merge(("webhook_workers", 0))
            .merge(("log_level", "off"));
        let rocket = extend(storefront::rocket(configure(figment)));
        let client = Client::untracked(rocket).await.expect("the app launches");
        TestApp { client, database }
    }

    pub fn url(&self) -> String {
        TestApp::database_url(&self.database)
    }

    /// Without TLS: on loopback it only costs time, and it keeps OpenSSL's
    /// teardown at exit clear of connection threads still running (the test
    /// process once crashed at exit after every test had passed).
    pub fn database_url(name: &str) -> String {
        format!("{}/{name}?{}connect_timeout=5&sslmode=disable", server().0, server().1)
    }

    pub fn drop_database(name: &str) {
        let statement = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
        // In a thread of its own, to keep an async test's runtime free.
        let _ = std::thread::spawn(move || diesel::sql_query(statement).execute(&mut maintenance())).join();
    }

    /// A direct connection, to arrange and inspect what the API cannot.
    pub fn conn(&self) -> PgConnection {
        PgConnection::establish(&self.url()).expect("connect to test database")
    }

    /// How many SQL statements the app has sent to this test's database.
    pub fn queries(&self) -> usize {
        query_counts().lock().map(|c| c.get(&self.database).copied().unwrap_or(0)).unwrap_or(0)
    }

    /// A browser of its own: it keeps its cookies between requests.
    pub fn browser(&self) -> Browser<'_> {
        Browser { app: self, cookies: std::cell::RefCell::new(std::collections::BTreeMap::new()) }
    }

    pub fn request(&self, method: Method, path: &str) -> Call<'_> {
        Call {
            app: self,
            method,
            path: path.to_owned(),
            headers: Vec::new(),
            cookies: Vec::new(),
            body: None,
        }
    }

    pub fn get(&self, path: &str) -> Call<'_> {
        self.request(Method::Get, path)
    }

    pub fn post(&self, path: &str) -> Call<'_> {
        self.request(Method::Post, path)
    }

    pub fn put(&self, path: &str) -> Call<'_> {
        self.request(Method::Put, path)
    }

    pub fn delete(&self, path: &str) -> Call<'_> {
        self.request(Method::Delete, path)
    }

    /// A user with the given role and a fresh login.
    pub async fn user(&self, role: Role) -> TestUser {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let email = format!("{}{n}@example.org", role.as_str());
        let id = self.insert_user(&email, role);
        let login = self.login(&email, PASSWORD).await;
        assert_eq!(login.status, 200, "login of {email}: {}", login.text);
        let body = login.json();
        TestUser {
            id,
            email,
            access: body["access_token"].as_str().unwrap_or_default().to_owned(),
            refresh: body["refresh_token"].as_str().unwrap_or_default().to_owned(),
        }
    }

    /// Inserts a user with [`PASSWORD`] straight into the database.
    pub fn insert_user(&self, email: &str, role: Role) -> i64 {
        static HASH: OnceLock<String> = OnceLock::new();
        let hash = HASH.get_or_init(|| storefront::auth::password::hash(PASSWORD).expect("hash"));
        let mut conn = self.conn();
        storefront::models::NewUser { email, password_hash: hash, role }
            .insert(&mut conn)
            .expect("insert user")
            .id
    }

    pub async fn login(&self, email: &str, password: &str) -> Reply {
        self.post("/api/login").json(serde_json::json!({"email": email, "password": password})).send().await
    }

    /// Creates a store as `owner` and returns its id.
    pub async fn store(&self, owner: &TestUser, name: &str) -> i64 {
        let reply = self
            .post("/api/stores")
            .bearer(&owner.access)
            .json(serde_json::json!({"name": name}))
            .send()
            .await;
        assert_eq!(reply.status, 201, "{}", reply.text);
        reply.json()["id"].as_i64().unwrap_or_default()
    }

    pub async fn item(&self, owner: &TestUser, store_id: i64, name: &str, price: &str) -> i64 {
        let body = serde_json::json!({"name": name, "price": price, "store_id": store_id});
        let reply = self.post("/api/items").bearer(&owner.access).json(body).send().await;
        assert_eq!(reply.status, 201, "{}", reply.text);
        reply.json()["id"].as_i64().unwrap_or_default()
    }

    pub async fn tag(&self, owner: &TestUser, store_id: i64, name: &str) -> i64 {
        let reply = self
            .post(&format!("/api/stores/{store_id}/tags"))
            .bearer(&owner.access)
            .json(serde_json::json!({"name": name}))
            .send()
            .await;
        assert_eq!(reply.status, 201, "{}", reply.text);
        reply.json()["id"].as_i64().unwrap_or_default()
    }

    pub async fn link(&self, owner: &TestUser, item_id: i64, tag_ids: &[i64]) {
        let reply = self
            .post(&format!("/api/items/{item_id}/tags"))
            .bearer(&owner.access)
            .json(serde_json::json!({"tag_ids": tag_ids}))
            .send()
            .await;
        assert_eq!(reply.status, 200, "{}", reply.text);
    }

    /// Fills a store with `count` items straight in SQL ("Crate n", priced
    /// n mod 1000), and analyzes the table so that the planner's estimates
    /// see them: a catalogue too large to make through the API.
    pub fn bulk_items(&self, store: i64, count: i64) {
        let mut conn = self.conn();
        diesel::sql_query(
            "INSERT INTO items (store_id, name, price) \
             SELECT $1, 'Crate ' || n, n % 1000 FROM generate_series(1, $2) AS n",
        )
        .bind::<diesel::sql_types::BigInt, _>(store)
        .bind::<diesel::sql_types::BigInt, _>(count)
        .execute(&mut conn)
        .expect("insert items");
        diesel::sql_query("ANALYZE items").execute(&mut conn).expect("analyze items");
    }

    /// Counts rows of a table, for cascade checks.
    /// Waits until the sequencer has numbered every event committed so far.
    pub fn wait_until_numbered(&self) {
        wait_until_numbered(&self.url());
    }

    pub fn count(&self, table: &str) -> i64 {
        #[derive(QueryableByName)]
        struct Count {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        diesel::sql_query(format!("SELECT count(*) AS n FROM {table}"))
            .get_result::<Count>(&mut self.conn())
            .expect("count rows")
            .n
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        TestApp::drop_database(&self.database);
    }
}

/// A signed-in user of the test.
#[derive(Debug, Clone)]
pub struct TestUser {
    pub id: i64,
    pub email: String,
    pub access: String,
    pub refresh: String,
}

/// A request being built.
pub struct Call<'a> {
    app: &'a TestApp,
    method: Method,
    path: String,
    headers: Vec<(String, String)>,
    cookies: Vec<(String, String)>,
    body: Option<Vec<u8>>,
}

impl Call<'_> {
    pub fn bearer(self, token: &str) -> Self {
        self.header("Authorization", &format!("Bearer {token}"))
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// A cookie as the server set it (still percent-encoded).
    pub fn cookie(mut self, name: &str, value: &str) -> Self {
        let decoded = percent_decode(value);
        self.cookies.push((name.to_owned(), decoded));
        self
    }

    pub fn json(self, body: Value) -> Self {
        self.raw(Some("application/json"), &body.to_string())
    }

    /// A body sent as is, with the given content type (or none).
    pub fn raw(mut self, content_type: Option<&str>, body: &str) -> Self {
        if let Some(content_type) = content_type {
            self = self.header("Content-Type", content_type);
        }
        self.body = Some(body.as_bytes().to_vec());
        self
    }

    /// A body of bytes, with the given content type.
    pub fn bytes(mut self, content_type: &str, body: Vec<u8>) -> Self {
        self = self.header("Content-Type", content_type);
        self.body = Some(body);
        self
    }

    pub async fn send(self) -> Reply {
        let mut request = self.app.client.req(self.method, self.path.clone());
        for (name, value) in self.headers {
            request = request.header(Header::new(name, value));
        }
        for (name, value) in self.cookies {
            request = request.cookie(rocket::http::Cookie::new(name, value));
        }
        if let Some(body) = self.body {
            request = request.body(body);
        }
        let response = request.dispatch().await;
        let status = response.status();
        let headers = response
            .headers()
            .iter()
            .map(|h| (h.name().as_str().to_lowercase(), h.value().to_owned()))
            .collect();
        let bytes = response.into_bytes().await.unwrap_or_default();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        Reply { status: status.code, headers, text, bytes }
    }
}

/// A response, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub text: String,
    pub bytes: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or(Value::Null)
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_lowercase();
        self.headers.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_str())
    }

    /// The path and query of the next page, from `Link: <url>; rel="next"`,
    /// whose URL must be absolute (the in-process client sends no `Host`,
    /// so the site is `http://localhost`).
    pub fn next_page(&self) -> Option<String> {
        let header = self.header("link")?;
        assert!(header.starts_with('<') && header.ends_with(">; rel=\"next\""), "{header}");
        let url = header.trim_start_matches('<').split('>').next().unwrap_or_default();
        let path = url.strip_prefix("http://localhost").unwrap_or_else(|| panic!("not absolute: {url}"));
        Some(path.to_owned())
    }

    /// Asserts an RFC 9457 problem with this status, and returns it.
    pub fn problem(&self, status: u16) -> Value {
        assert_eq!(self.status, status, "body: {}", self.text);
        assert_eq!(self.header("content-type"), Some("application/problem+json"), "{}", self.text);
        let body = self.json();
        assert_eq!(body["status"], status);
        assert_eq!(body["type"], "about:blank");
        assert!(body["title"].is_string() && body["detail"].is_string(), "{body}");
        body
    }
}

/// Runs the futures concurrently on this task and collects their outputs in order.
pub async fn join_all<F: std::future::Future>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output> {
    let handles: Vec<_> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = handles.iter().map(|_| None).collect();
    let mut pending: Vec<_> = handles.into_iter().enumerate().collect();
    std::future::poll_fn(|cx| {
        pending.retain_mut(|(index, future)| match future.as_mut().poll(cx) {
            std::task::Poll::Ready(output) => {
                outputs[*index] = Some(output);
                false
            }
            std::task::Poll::Pending => true,
        });
        if pending.is_empty() {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    outputs.into_iter().flatten().collect()
}

/// A visitor's browser: it sends back the cookies it was given, sends
/// forms url-encoded, and reads the CSRF token out of pages.
pub struct Browser<'a> {
    app: &'a TestApp,
    cookies: std::cell::RefCell<std::collections::BTreeMap<String, String>>,
}

pub const HOST: &str = "localhost:8000";

impl Browser<'_> {
    fn call(&self, method: Method, path: &str) -> Call<'_> {
        let mut call = self.app.request(method, path).header("Host", HOST);
        for (name, value) in self.cookies.borrow().iter() {
            call = call.cookie(name, value);
        }
        call
    }

    fn keep_cookies(&self, reply: &Reply) {
        for (name, value) in &reply.headers {
            if name != "set-cookie" {
                continue;
            }
            let pair = value.split(';').next().unwrap_or_default();
            if let Some((key, val)) = pair.split_once('=') {
                let removed = value.contains("Max-Age=0") || value.contains("1970");
                if removed || val.is_empty() {
                    self.cookies.borrow_mut().remove(key);
                } else {
                    self.cookies.borrow_mut().insert(key.to_owned(), val.to_owned());
                }
            }
        }
    }

    pub async fn get(&self, path: &str) -> Reply {
        let reply = self.call(Method::Get, path).send().await;
        self.keep_cookies(&reply);
        reply
    }

    /// A GET with extra headers.
    pub async fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> Reply {
        let mut call = self.call(Method::Get, path);
        for (name, value) in headers {
            call = call.header(name, value);
        }
        let reply = call.send().await;
        self.keep_cookies(&reply);
        reply
    }

    /// Submits a form as a browser on this site would.
    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Reply {
        self.post_from(path, fields, Some(&format!("http://{HOST}"))).await
    }

    /// Submits a form claiming to come from `origin` (`None`: no header).
    pub async fn post_from(&self, path: &str, fields: &[(&str, &str)], origin: Option<&str>) -> Reply {
        let body = fields
            .iter()
            .map(|(k, v)| format!("{}={}", form_encode(k), form_encode(v)))
            .collect::<Vec<_>>()
            .join("&");
        let mut call = self.call(Method::Post, path).raw(Some("application/x-www-form-urlencoded"), &body);
        if let Some(origin) = origin {
            call = call.header("Origin", origin);
        }
        let reply = call.send().await;
        self.keep_cookies(&reply);
        reply
    }

    /// Submits a `multipart/form-data` form from this site: text fields,
    /// then files as `(field, file name, bytes)`.
    pub async fn post_multipart(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        files: &[(&str, &str, &[u8])],
    ) -> Reply {
        const BOUNDARY: &str = "browser-boundary-51d2";
        let mut body = Vec::new();
        for (name, value) in fields {
            body.extend_from_slice(
                format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
                    .as_bytes(),
            );
        }
        for (name, file_name, bytes) in files {
            body.extend_from_slice(
                format!(
                    "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{file_name}\"\r\n\
                     Content-Type: application/octet-stream\r\n\r\n"
                )
                .as_bytes(),
            );
            body.extend_from_slice(bytes);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
        let reply = self
            .call(Method::Post, path)
            .bytes(&format!("multipart/form-data; boundary={BOUNDARY}"), body)
            .header("Origin", &format!("http://{HOST}"))
            .send()
            .await;
        self.keep_cookies(&reply);
        reply
    }

    /// The CSRF token of the forms on `path`.
    pub async fn csrf(&self, path: &str) -> String {
        let page = self.get(path).await;
        csrf_of(&page.text)
    }

    /// Logs in through the login form; asserts it worked.
    pub async fn login(&self, email: &str, password: &str) {
        let token = self.csrf("/account/login").await;
        let reply = self
            .post("/account/login", &[("csrf_token", &token), ("email", email), ("password", password)])
            .await;
        assert_eq!(reply.status, 303, "login of {email}: {}", reply.text);
    }
}

/// The first `csrf_token` value in an HTML page.
pub fn csrf_of(html: &str) -> String {
    let marker = "name=\"csrf_token\" value=\"";
    html.split(marker).nth(1).and_then(|rest| rest.split('"').next()).unwrap_or_default().to_owned()
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match (bytes[i], text.get(i + 1..i + 3).and_then(|hex| u8::from_str_radix(hex, 16).ok())) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn form_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            b' ' => "+".to_owned(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

impl Reply {
    /// How many times `needle` occurs in the body.
    pub fn count(&self, needle: &str) -> usize {
        self.text.matches(needle).count()
    }
}

/// A TCP relay to PostgreSQL that can stop relaying, like a frozen server.
pub struct FreezableRelay {
    pub port: u16,
    pub frozen: Arc<AtomicBool>,
    /// Bytes that freeze the relay when a client sends them, before the
    /// server gets them.
    trigger: Arc<std::sync::Mutex<Option<Vec<u8>>>>,
}

impl FreezableRelay {
    pub fn start() -> FreezableRelay {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let frozen = Arc::new(AtomicBool::new(false));
        let trigger = Arc::new(std::sync::Mutex::new(None));
        let (flag, watched) = (frozen.clone(), trigger.clone());
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let Some(server) = Upstream::connect() else {
                    continue;
                };
                let (client_in, server_out) =
                    (Upstream::Tcp(client.try_clone().unwrap()), server.try_clone());
                let upstream = (client_in, server_out, Some(watched.clone()));
                for (from, to, trigger) in [upstream, (server, Upstream::Tcp(client), None)] {
                    let flag = flag.clone();
                    std::thread::spawn(move || pump(from, to, flag, trigger));
                }
            }
        });
        FreezableRelay { port, frozen, trigger }
    }

    /// Freezes the relay as soon as a client sends `text` (a statement), so
    /// that the server does not get it until the relay is thawed.
    pub fn freeze_when_sent(&self, text: &str) {
        *self.trigger.lock().unwrap() = Some(text.as_bytes().to_vec());
    }
}

/// The test server, over TCP, or over the Unix socket of a private cluster.
enum Upstream {
    Tcp(TcpStream),
    Unix(std::os::unix::net::UnixStream),
}

impl Upstream {
    fn connect() -> Option<Upstream> {
        let query = &server().1;
        match query.split('&').find_map(|pair| pair.strip_prefix("host=")) {
            Some(folder) => {
                let folder = folder.replace("%20", " ");
                std::os::unix::net::UnixStream::connect(format!("{folder}/.s.PGSQL.5432"))
                    .ok()
                    .map(Upstream::Unix)
            }
            None => TcpStream::connect("127.0.0.1:5432").ok().map(Upstream::Tcp),
        }
    }

    fn try_clone(&self) -> Upstream {
        match self {
            Upstream::Tcp(stream) => Upstream::Tcp(stream.try_clone().unwrap()),
            Upstream::Unix(stream) => Upstream::Unix(stream.try_clone().unwrap()),
        }
    }
}

impl Read for Upstream {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Upstream::Tcp(stream) => stream.read(buffer),
            Upstream::Unix(stream) => stream.read(buffer),
        }
    }
}

impl Write for Upstream {
    fn write(&mut self, buffer: &[u8]) -> std::io::Result<usize> {
        match self {
            Upstream::Tcp(stream) => stream.write(buffer),
            Upstream::Unix(stream) => stream.write(buffer),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Upstream::Tcp(stream) => stream.flush(),
            Upstream::Unix(stream) => stream.flush(),
        }
    }
}

fn pump(
    mut from: Upstream,
    mut to: Upstream,
    frozen: Arc<AtomicBool>,
    trigger: Option<Arc<std::sync::Mutex<Option<Vec<u8>>>>>,
) {
    let mut buffer = [0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buffer) {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if let Some(trigger) = &trigger {
            let mut pattern = trigger.lock().unwrap();
            let sent =
                pattern.as_ref().is_some_and(|p| buffer[..n].windows(p.len()).any(|w| w == p.as_slice()));
            if sent {
                *pattern = None;
                frozen.store(true, Ordering::SeqCst);
            }
        }
        while frozen.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(20));
        }
        if to.write_all(&buffer[..n]).is_err() {
            return;
        }
    }
}

/// Waits (at most ten seconds) until the sequencer has numbered every event
/// committed so far in the database at `url`: a stream opened then starts
/// after them, and `max(id)` is the newest.
pub fn wait_until_numbered(url: &str) {
    let mut conn = PgConnection::establish(url).expect("connect");
    let started = std::time::Instant::now();
    loop {
        let pending: bool = diesel::dsl::sql::<diesel::sql_types::Bool>(
            "SELECT EXISTS (SELECT 1 FROM events WHERE id IS NULL)",
        )
        .get_result(&mut conn)
        .expect("unnumbered events");
        if !pending {
            return;
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(10), "events still unnumbered after 10 s");
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
}
