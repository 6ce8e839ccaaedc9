//! Security headers on every response: no framing anywhere, a CSP for pages
//! (and a closed one for everything else), a charset on text, and how each
//! response may be cached: `no-store` for whatever carries credentials or is
//! shown to a signed-in user, revalidation by `ETag` for public API reads.

use rocket::fairing::{Fairing, Info, Kind};
use rocket::http::{ContentType, Cookie, Header, Method, Status};
use rocket::{Request, Response};

pub struct SecurityHeaders;

/// Set by the session guard when a page is rendered for a signed-in user.
pub struct Personal(pub bool);

const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   form-action 'self'; base-uri 'none'; object-src 'none'; frame-ancestors 'none'";
/// Swagger UI sets inline styles; it gets the same policy with those allowed.
const DOCS_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
                        img-src 'self' data:; form-action 'self'; base-uri 'none'; object-src 'none'; \
                        frame-ancestors 'none'";
/// What is not a page (JSON, CSS, scripts) runs nothing and is framed nowhere.
const CLOSED_CSP: &str = "default-src 'none'; frame-ancestors 'none'";

/// A year of HTTPS only, for this host (its subdomains may be other sites).
const HSTS: &str = "max-age=31536000";

/// API routes whose answers carry tokens or an account even without a bearer token.
const CREDENTIAL_PATHS: [&str; 3] = ["/api/login", "/api/refresh", "/api/register"];

fn cache_policy(request: &Request<'_>, response: &Response<'_>) -> Option<&'static str> {
    let path = request.uri().path();
    let api = path.starts_with("/api/") && !path.starts_with("/api/docs");
    let credentials = request.headers().contains("Authorization")
        || CREDENTIAL_PATHS.iter().any(|credential| path == *credential);
    if request.local_cache(|| Personal(false)).0 || (api && credentials) {
        Some("no-store")
    } else if api && matches!(request.method(), Method::Get | Method::Head) && response.status().code < 400 {
        // Anyone may keep a public read, but must ask again with its ETag.
        Some("no-cache")
    } else {
        None
    }
}

#[rocket::async_trait]
impl Fairing for SecurityHeaders {
    fn info(&self) -> Info {
        Info { name: "Security headers", kind: Kind::Response }
    }

    async fn on_response<'r>(&self, request: &'r Request<'_>, response: &mut Response<'r>) {
        response.set_header(Header::new("X-Content-Type-Options", "nosniff"));
        response.set_header(Header::new("Referrer-Policy", "same-origin"));
        response.set_header(Header::new("X-Frame-Options", "DENY"));
        let content_type = response.content_type();
        let policy = match &content_type {
            Some(ct) if ct.is_html() && request.uri().path().starts_with("/api/docs") => DOCS_CSP,
            Some(ct) if ct.is_html() => CSP,
            _ => CLOSED_CSP,
        };
        response.set_header(Header::new("Content-Security-Policy", policy));
        // Text says its charset; an event stream is UTF-8 by definition.
        if let Some(ct) = content_type {
            let media = ct.media_type();
            if media.top() == "text" && media.param("charset").is_none() && media.sub() != "event-stream" {
                response.set_header(
                    ContentType::new(media.top().to_string(), media.sub().to_string())
                        .with_params(("charset", "utf-8")),
                );
            }
        }
        if let Some(policy) = cache_policy(request, response) {
            response.set_header(Header::new("Cache-Control", policy));
        }
        if response.status() == Status::ServiceUnavailable && !response.headers().contains("Retry-After") {
            response.set_header(Header::new("Retry-After", OUTAGE_RETRY_SECONDS.to_string()));
        }
        if super::session::secure(request) {
            // Served over HTTPS: browsers are to come back only that way.
            response.set_header(Header::new("Strict-Transport-Security", HSTS));
            secure_every_cookie(response);
        }
    }
}

/// Seconds a browser is told to wait when a page meets an outage.
const OUTAGE_RETRY_SECONDS: u64 = 5;

/// Marks every cookie of the response `Secure`, Rocket's own (flash
/// messages) included: over HTTPS, none may travel in clear text.
fn secure_every_cookie(response: &mut Response<'_>) {
    let cookies: Vec<String> = response.headers().get("Set-Cookie").map(str::to_owned).collect();
    if cookies.is_empty() {
        return;
    }
    response.remove_header("Set-Cookie");
    for raw in cookies {
        let secured = match Cookie::parse(raw.clone()) {
            Ok(mut cookie) if cookie.secure() != Some(true) => {
                cookie.set_secure(true);
                cookie.to_string()
            }
            _ => raw,
        };
        response.adjoin_header(Header::new("Set-Cookie", secured));
    }
}
