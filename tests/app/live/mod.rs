//! Live updates over real sockets: the application served on a port of its
//! own (a second instance beside the test's local client, on the same
//! database), read by a minimal Server-Sent Events client.

mod cache;
mod cluster;
mod stream;

use std::time::{Duration, Instant};

use diesel::Connection;
use rocket::figment::Figment;
use rocket::tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use rocket::tokio::net::TcpStream;
use rocket::tokio::time::timeout;
use serde_json::Value;

use crate::harness::TestApp;

/// The application listening on a loopback port, until dropped.
pub struct Server {
    pub port: u16,
    database_url: String,
    shutdown: rocket::Shutdown,
    /// The instance's read cache, for what a failing test reports.
    pub cache: Option<std::sync::Arc<storefront::cache::ReadCache>>,
    /// The instance's hub: how far its listener has published.
    pub hub: Option<std::sync::Arc<storefront::events::Hub>>,
}

impl Server {
    /// Serves the database of `app`, with configuration of the test's own.
    pub async fn start(app: &TestApp, configure: impl FnOnce(Figment) -> Figment) -> Server {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let figment = storefront::figment()
            .merge(("databases.main.url", app.url()))
            .merge(("databases.main.pool_size", 4))
            .merge(("databases.main.timeout", 3))
            .merge(("seed_demo_data", false))
            .merge(("log_level", "off"))
            .merge(("address", "127.0.0.1"))
            .merge(("port", port))
            .merge(("shutdown.ctrlc", false))
            .merge(("shutdown.grace", 1))
            .merge(("shutdown.mercy", 1));
        let rocket = storefront::rocket(configure(figment)).ignite().await.expect("the server ignites");
        let shutdown = rocket.shutdown();
        let cache = rocket.state::<std::sync::Arc<storefront::cache::ReadCache>>().cloned();
        let hub = rocket.state::<std::sync::Arc<storefront::events::Hub>>().cloned();
        rocket::tokio::spawn(rocket.launch());
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).await.is_err() {
            assert!(started.elapsed() < Duration::from_secs(10), "the server did not start");
            rocket::tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Server { port, database_url: app.url(), shutdown, cache, hub }
    }

    /// Opens `GET path` as an event stream, once every event committed so
    /// far is numbered: a new stream starts after them, so the test's
    /// earlier changes are not part of it.
    pub async fn stream(&self, path: &str, headers: &[(&str, &str)]) -> EventStream {
        let url = self.database_url.clone();
        rocket::tokio::task::spawn_blocking(move || crate::harness::wait_until_numbered(&url))
            .await
            .expect("waited");
        EventStream::open(self.port, path, headers).await
    }

    /// Opens `GET path` as an event stream and reads its opening message, so
    /// that what comes next is what happens from now on.
    pub async fn follow(&self, path: &str) -> EventStream {
        let mut stream = self.stream(path, &[]).await;
        assert_eq!(stream.status, 200, "{}", stream.body);
        stream.next_message(Duration::from_secs(5)).await.expect("the opening message");
        stream
    }

    /// Waits until every event committed so far is numbered and this
    /// instance has published it, with its cache in use.
    pub async fn caught_up(&self) {
        let url = self.database_url.clone();
        let newest = rocket::tokio::task::spawn_blocking(move || {
            crate::harness::wait_until_numbered(&url);
            let mut conn = diesel::PgConnection::establish(&url).expect("connect");
            storefront::models::Horizon::now(&mut conn, None).expect("the horizon").newest
        })
        .await
        .expect("waited");
        let hub = self.hub.as_ref().expect("a hub");
        assert!(hub.reached(newest, Duration::from_secs(10)).await, "the listener reaches event {newest}");
        let started = Instant::now();
        while self.cache.as_ref().is_some_and(|cache| cache.ticket().is_none()) {
            assert!(started.elapsed() < Duration::from_secs(10), "the cache is not in use");
            rocket::tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Sends a request and reads the whole response.
    pub async fn request(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Response {
        http(self.port, method, path, headers, body).await
    }

    pub fn shut_down(&self) {
        self.shutdown.clone().notify();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shutdown.clone().notify();
    }
}

/// Sends one HTTP/1.0 request to a loopback port and reads the whole response.
pub async fn http(port: u16, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Response {
    let mut socket = TcpStream::connect(("127.0.0.1", port)).await.expect("connect");
    let mut request = format!("{method} {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    socket.write_all(request.as_bytes()).await.expect("send");
    let mut raw = String::new();
    timeout(Duration::from_secs(10), socket.read_to_string(&mut raw))
        .await
        .expect("a response within 10 s")
        .expect("read");
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let (status, headers) = parse_head(head);
    Response { status, headers, body: body.to_owned() }
}

fn parse_head(head: &str) -> (u16, Vec<(String, String)>) {
    let mut lines = head.lines();
    let status =
        lines.next().and_then(|line| line.split(' ').nth(1)).and_then(|s| s.parse().ok()).unwrap_or(0);
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_lowercase(), value.trim().to_owned()))
        .collect();
    (status, headers)
}

pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

/// One message of a stream: an event, or a comment (a heartbeat).
#[derive(Debug, Clone, Default)]
pub struct Message {
    pub id: Option<String>,
    pub event: Option<String>,
    pub data: String,
    pub retry: Option<u64>,
    pub comment: bool,
}

impl Message {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.data).unwrap_or(Value::Null)
    }

    pub fn id(&self) -> i64 {
        self.id.as_deref().and_then(|id| id.parse().ok()).unwrap_or(-1)
    }

    pub fn name(&self) -> &str {
        self.event.as_deref().unwrap_or("")
    }
}

/// A Server-Sent Events client over HTTP/1.0, so that the body is the raw stream.
pub struct EventStream {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    reader: BufReader<TcpStream>,
    /// The body, when the response was not a stream.
    pub body: String,
}

impl EventStream {
    async fn open(port: u16, path: &str, headers: &[(&str, &str)]) -> EventStream {
        let mut socket = TcpStream::connect(("127.0.0.1", port)).await.expect("connect");
        let mut request = format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n");
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str("\r\n");
        socket.write_all(request.as_bytes()).await.expect("send");
        let mut reader = BufReader::new(socket);
        let mut head = String::new();
        loop {
            let mut line = String::new();
            let n = timeout(Duration::from_secs(10), reader.read_line(&mut line))
                .await
                .expect("response head within 10 s")
                .expect("read");
            if n == 0 || line == "\r\n" {
                break;
            }
            head.push_str(&line);
        }
        let (status, headers) = parse_head(&head);
        let mut stream = EventStream { status, headers, reader, body: String::new() };
        if !stream.header("content-type").is_some_and(|ct| ct.starts_with("text/event-stream")) {
            let _ = timeout(Duration::from_secs(5), stream.reader.read_to_string(&mut stream.body)).await;
        }
        stream
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// The next message, comments included; `None` when the stream ended or
    /// nothing came within `wait`.
    pub async fn next_message(&mut self, wait: Duration) -> Option<Message> {
        let deadline = Instant::now() + wait;
        let mut message = Message::default();
        let mut started = false;
        loop {
            let mut line = String::new();
            let left = deadline.saturating_duration_since(Instant::now());
            match timeout(left, self.reader.read_line(&mut line)).await {
                Ok(Ok(0)) | Ok(Err(_)) | Err(_) => return None,
                Ok(Ok(_)) => {}
            }
            let line = line.trim_end_matches(['\r', '\n']);
            if line.is_empty() {
                if started {
                    return Some(message);
                }
                continue;
            }
            let (field, value) = line.split_once(':').unwrap_or((line, ""));
            // A comment (a heartbeat) stands alone, with no blank line after it.
            if field.is_empty() && !started {
                return Some(Message { comment: true, ..Message::default() });
            }
            started = true;
            let value = value.strip_prefix(' ').unwrap_or(value);
            match field {
                "" => message.comment = true,
                "id" => message.id = Some(value.to_owned()),
                "event" => message.event = Some(value.to_owned()),
                "retry" => message.retry = value.parse().ok(),
                "data" => {
                    if !message.data.is_empty() {
                        message.data.push('\n');
                    }
                    message.data.push_str(value);
                }
                _ => {}
            }
        }
    }

    /// The next named event, skipping heartbeats and bare `id:`/`retry:` messages.
    pub async fn next_event(&mut self, wait: Duration) -> Option<Message> {
        let deadline = Instant::now() + wait;
        loop {
            let message = self.next_message(deadline.saturating_duration_since(Instant::now())).await?;
            if message.event.is_some() {
                return Some(message);
            }
        }
    }

    /// Every named event that arrives within `wait`.
    pub async fn events_within(&mut self, wait: Duration) -> Vec<Message> {
        let deadline = Instant::now() + wait;
        let mut events = Vec::new();
        while let Some(message) = self.next_event(deadline.saturating_duration_since(Instant::now())).await {
            events.push(message);
        }
        events
    }

    /// Whether the server closed the stream within `wait`.
    pub async fn ends_within(&mut self, wait: Duration) -> bool {
        let deadline = Instant::now() + wait;
        loop {
            let mut line = String::new();
            match timeout(
                deadline.saturating_duration_since(Instant::now()),
                self.reader.read_line(&mut line),
            )
            .await
            {
                Ok(Ok(0)) | Ok(Err(_)) => return true,
                Ok(Ok(_)) => continue,
                Err(_) => return false,
            }
        }
    }
}
