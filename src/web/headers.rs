//! Security headers on every HTML page, and `Cache-Control: no-store` on
//! pages shown to a signed-in user.

use rocket::fairing::{Fairing, Info, Kind};
use rocket::http::{ContentType, Header};
use rocket::{Request, Response};

pub struct SecurityHeaders;

/// Set by the session guard when a page is rendered for a signed-in user.
pub struct Personal(pub bool);

const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   form-action 'self'; base-uri 'none'; object-src 'none'; frame-ancestors 'none'";
/// Swagger UI sets inline styles; it gets the same policy with those allowed.
const DOCS_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
                        img-src 'self' data:; base-uri 'none'; object-src 'none'; frame-ancestors 'none'";

#[rocket::async_trait]
impl Fairing for SecurityHeaders {
    fn info(&self) -> Info {
        Info { name: "Security headers", kind: Kind::Response }
    }

    async fn on_response<'r>(&self, request: &'r Request<'_>, response: &mut Response<'r>) {
        response.set_header(Header::new("X-Content-Type-Options", "nosniff"));
        response.set_header(Header::new("Referrer-Policy", "same-origin"));
        if response.content_type() == Some(ContentType::HTML) {
            let docs = request.uri().path().starts_with("/api/docs");
            response.set_header(Header::new("Content-Security-Policy", if docs { DOCS_CSP } else { CSP }));
            response.set_header(Header::new("X-Frame-Options", "DENY"));
        }
        if request.local_cache(|| Personal(false)).0 {
            response.set_header(Header::new("Cache-Control", "no-store"));
        }
    }
}
