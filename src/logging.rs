//! What the application tells its operator: `tracing` lines on standard
//! output, JSON in release and readable text in debug, at the level of the
//! `log` setting. One line per request (time, request id, method, path with
//! secret query values redacted, status, duration, user and client), and
//! security events on lines of their own (`event = "login_failed"`, ...).
//!
//! Nothing here ever writes a password, a token, a cookie or a session id:
//! secrets are kept out by construction (no header or body is logged, query
//! values with secret-sounding names are replaced), and Rocket's own log,
//! which prints request URLs verbatim, is off unless `ROCKET_LOG_LEVEL` asks
//! for it (see `crate::figment`).

use std::time::Instant;

use rocket::fairing::{Fairing, Info, Kind};
use rocket::figment::Figment;
use rocket::http::{Header, Status};
use rocket::{Data, Request, Response};
use sha2::{Digest, Sha256};
use tracing::Level;

/// The header a trusted proxy passes its request id in, echoed in every response.
pub const REQUEST_ID_HEADER: &str = "X-Request-Id";

/// Query parameters whose values are never written out, by part of their name.
const SECRET_PARAMETERS: [&str; 9] =
    ["token", "password", "secret", "key", "session", "auth", "code", "jwt", "signature"];

/// Installs the subscriber for this process. Settings: `log` (`off`,
/// `error`, `warn`, `info`, `debug`, `trace`; default `info`) and
/// `log_format` (`json` or `text`; default `json` in release).
pub fn init(figment: &Figment) -> Result<(), String> {
    let level: String = figment.extract_inner("log").unwrap_or_else(|_| "info".to_owned());
    let release = figment.profile() == rocket::Config::RELEASE_PROFILE;
    let format: String =
        figment.extract_inner("log_format").unwrap_or_else(|_| if release { "json" } else { "text" }.into());
    let level = match level.to_ascii_lowercase().as_str() {
        "off" => return Ok(()),
        "error" => Level::ERROR,
        "warn" => Level::WARN,
        "info" => Level::INFO,
        "debug" => Level::DEBUG,
        "trace" => Level::TRACE,
        other => {
            return Err(format!("log must be one of off, error, warn, info, debug, trace (not {other:?})"))
        }
    };
    let builder = tracing_subscriber::fmt().with_max_level(level).with_ansi(false).with_target(false);
    let installed = match format.as_str() {
        "json" => builder.json().flatten_event(true).with_current_span(false).try_init(),
        "text" => builder.try_init(),
        other => return Err(format!("log_format must be json or text (not {other:?})")),
    };
    installed.map_err(|e| format!("cannot install the logger: {e}"))
}

/// A short stable digest of something that identifies a person but must not
/// be written out as typed (what was entered as an email at a failed login
/// can be a password typed in the wrong field).
pub fn fingerprint(text: &str) -> String {
    Sha256::digest(text.as_bytes())[..6].iter().map(|b| format!("{b:02x}")).collect()
}

/// The path and query of a request, each secret query value replaced, by
/// its parameter's name and by the shape of what it holds: a JWT or a
/// personal access token is replaced wherever it stands (a path segment, a
/// search term, a parameter of any name).
pub fn redacted_uri(request: &Request<'_>) -> String {
    redact_token_shapes(&redacted_by_name(request))
}

/// Replaces what looks like a token: a JWT (`eyJ…` with three dotted parts)
/// or a personal access token (`sfp_` and its random part), from where it
/// starts to the end of its run of token characters.
pub fn redact_token_shapes(text: &str) -> String {
    let is_token_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while !rest.is_empty() {
        let start = rest.find(is_token_char).unwrap_or(rest.len());
        out.push_str(&rest[..start]);
        rest = &rest[start..];
        let end = rest.find(|c: char| !is_token_char(c)).unwrap_or(rest.len());
        let run = &rest[..end];
        let jwt = run.find("eyJ").filter(|&at| run[at..].matches('.').count() >= 2);
        let personal = run
            .find(crate::auth::personal_token::SCHEME)
            .filter(|&at| run.len() - at >= crate::auth::personal_token::SCHEME.len() + 20);
        match jwt.into_iter().chain(personal).min() {
            Some(at) => {
                out.push_str(&run[..at]);
                out.push_str("[redacted]");
            }
            None => out.push_str(run),
        }
        rest = &rest[end..];
    }
    out
}

fn redacted_by_name(request: &Request<'_>) -> String {
    let uri = request.uri();
    let mut line = uri.path().to_string();
    if let Some(query) = uri.query() {
        let pairs: Vec<String> = query
            .raw_segments()
            .map(|segment| {
                let raw = segment.as_str();
                let (name, value) = raw.split_once('=').unwrap_or((raw, ""));
                let decoded = rocket::http::RawStr::new(name).url_decode_lossy().to_ascii_lowercase();
                if !value.is_empty() && SECRET_PARAMETERS.iter().any(|secret| decoded.contains(secret)) {
                    format!("{name}=[redacted]")
                } else {
                    raw.to_owned()
                }
            })
            .collect();
        line.push('?');
        line.push_str(&pairs.join("&"));
    }
    line
}

/// What the request line says of a request, filled in as it is handled.
struct RequestFacts {
    id: String,
    started: Instant,
}

/// What a request's log line tells beyond the request itself, noted while
/// it is served.
#[derive(Default)]
pub struct Notes {
    /// The signed-in user, once a guard has established it.
    pub user: std::sync::OnceLock<i64>,
    /// Reads a streaming replica answered, and reads that could have gone
    /// to one but went to the primary (none was far enough, or usable).
    pub replica_reads: std::sync::atomic::AtomicU32,
    pub primary_reads: std::sync::atomic::AtomicU32,
}

struct RequestNotes(std::sync::Arc<Notes>);

/// This request's notes, shared with what serves it (its database).
pub fn notes(request: &Request<'_>) -> std::sync::Arc<Notes> {
    std::sync::Arc::clone(&request.local_cache(|| RequestNotes(Default::default())).0)
}

/// Notes who made the request, for its log line.
pub fn note_user(request: &Request<'_>, user_id: i64) {
    let _ = notes(request).user.set(user_id);
}

/// This request's id: the trusted proxy's, or one made for it.
pub fn request_id<'r>(request: &'r Request<'_>) -> &'r str {
    &facts(request).id
}

fn facts<'r>(request: &'r Request<'_>) -> &'r RequestFacts {
    request.local_cache(|| RequestFacts { id: new_request_id(request), started: Instant::now() })
}

/// A proxy's id is taken only where a proxy is configured (`ip_header`),
/// and only when it is short and plain; any other gets one of ours.
fn new_request_id(request: &Request<'_>) -> String {
    let behind_proxy = request.rocket().config().ip_header.is_some();
    let proxied = request.headers().get_one(REQUEST_ID_HEADER).filter(|id| {
        behind_proxy
            && (1..=64).contains(&id.len())
            && id.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
    });
    proxied.map_or_else(|| crate::auth::random_token(12), str::to_owned)
}

/// Writes the request line and the 401/403 security lines, and returns the
/// request id in `X-Request-Id`.
pub struct RequestLog;

#[rocket::async_trait]
impl Fairing for RequestLog {
    fn info(&self) -> Info {
        Info { name: "Request log", kind: Kind::Request | Kind::Response }
    }

    async fn on_request(&self, request: &mut Request<'_>, _: &mut Data<'_>) {
        facts(request);
    }

    async fn on_response<'r>(&self, request: &'r Request<'_>, response: &mut Response<'r>) {
        let facts = facts(request);
        response.set_header(Header::new(REQUEST_ID_HEADER, facts.id.clone()));
        let status = response.status();
        let notes = notes(request);
        let user_id = notes.user.get().copied();
        let replica_reads = notes.replica_reads.load(std::sync::atomic::Ordering::Relaxed);
        let replica_reads = (replica_reads > 0).then_some(replica_reads);
        let primary_reads = notes.primary_reads.load(std::sync::atomic::Ordering::Relaxed);
        let primary_reads = (primary_reads > 0).then_some(primary_reads);
        let client = request.client_ip().map(|ip| ip.to_string());
        let path = redacted_uri(request);
        let duration_ms = facts.started.elapsed().as_secs_f64() * 1000.0;
        let duration_ms = (duration_ms * 100.0).round() / 100.0;
        macro_rules! request_line {
            ($level:ident) => {
                tracing::$level!(
                    request_id = %facts.id,
                    method = %request.method(),
                    path = %path,
                    status = status.code,
                    duration_ms,
                    user_id,
                    client,
                    replica_reads,
                    primary_reads,
                    "request"
                )
            };
        }
        match status.code {
            500.. if status != Status::ServiceUnavailable => request_line!(error),
            500.. => request_line!(warn),
            _ => request_line!(info),
        }
        let event = match status.code {
            401 => "unauthorized",
            403 => "forbidden",
            _ => return,
        };
        tracing::warn!(
            event,
            request_id = %facts.id,
            method = %request.method(),
            path = %path,
            user_id,
            client,
            "access refused"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rocket::local::blocking::Client;

    fn redacted(uri: &str) -> String {
        let client = Client::untracked(rocket::build()).expect("a client");
        let request = client.get(uri);
        redacted_uri(request.inner())
    }

    #[test]
    fn secret_query_values_are_redacted_and_the_rest_kept() {
        assert_eq!(redacted("/api/items?limit=5&q=tea"), "/api/items?limit=5&q=tea");
        assert_eq!(redacted("/x?token=abc.def&limit=2"), "/x?token=[redacted]&limit=2");
        assert_eq!(
            redacted("/x?access_token=1&Refresh_Token=2&password=3&api_key=4&sessionid=5"),
            "/x?access_token=[redacted]&Refresh_Token=[redacted]&password=[redacted]&api_key=[redacted]&sessionid=[redacted]"
        );
        assert_eq!(redacted("/x?%74oken=abc"), "/x?%74oken=[redacted]");
        assert_eq!(redacted("/x?token"), "/x?token");
        assert_eq!(redacted("/login?next=/account"), "/login?next=/account");
    }

    #[test]
    fn tokens_are_redacted_by_their_shape_wherever_they_stand() {
        let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl";
        let personal = "sfp_0123456789abcdefghijABCDEFGHIJ-_0123456789";
        for (uri, expected) in [
            (format!("/x?t={jwt}"), "/x?t=[redacted]".to_owned()),
            (format!("/x?bearer={personal}&limit=2"), "/x?bearer=[redacted]&limit=2".to_owned()),
            (format!("/search?q=Bearer%20{jwt}"), "/search?q=Bearer%20[redacted]".to_owned()),
            (format!("/api/items/{jwt}"), "/api/items/[redacted]".to_owned()),
            (format!("/x/{personal}/y"), "/x/[redacted]/y".to_owned()),
            (format!("/x?refresh={jwt}"), "/x?refresh=[redacted]".to_owned()),
        ] {
            assert_eq!(redacted(&uri), expected, "{uri}");
        }
        // Ordinary text stays as it is.
        for plain in ["/search?q=eyJ", "/search?q=sfp_short", "/stores/12?sort=-price", "/x?q=a.b.c"] {
            assert_eq!(redacted(plain), plain);
        }
    }

    #[test]
    fn fingerprints_are_short_and_stable() {
        assert_eq!(fingerprint("ann@example.org"), fingerprint("ann@example.org"));
        assert_ne!(fingerprint("ann@example.org"), fingerprint("bob@example.org"));
        assert_eq!(fingerprint("x").len(), 12);
    }
}
