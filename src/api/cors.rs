//! Cross-origin calls to the API from the frontends of the allow-list
//! (`cors_origins`, `ROCKET_CORS_ORIGINS`). Only exact origins are listed,
//! never `*`, and the API takes no cookies, so no credentials are allowed.
//! An origin not on the list (and every origin, with the default empty
//! list) gets no CORS header at all: the browser then refuses the call.

use rocket::fairing::{Fairing, Info, Kind};
use rocket::http::{Header, Method, Status};
use rocket::{Request, Response};

/// What a frontend may send and read.
const ALLOW_METHODS: &str = "GET, HEAD, POST, PUT, PATCH, DELETE";
const ALLOW_HEADERS: &str = "Authorization, Content-Type, If-Match, If-None-Match, Last-Event-ID";
const EXPOSE_HEADERS: &str =
    "ETag, Link, Location, Retry-After, X-Request-Id, X-Total-Count, X-Total-Count-Approximate";
/// How long a browser may reuse a preflight's answer.
const MAX_AGE_SECONDS: &str = "600";

pub struct Cors {
    origins: Vec<String>,
}

impl Cors {
    pub fn new(origins: Vec<String>) -> Cors {
        Cors { origins }
    }

    fn allows(&self, origin: &str) -> bool {
        self.origins.iter().any(|allowed| allowed == origin)
    }
}

#[rocket::async_trait]
impl Fairing for Cors {
    fn info(&self) -> Info {
        Info { name: "CORS allow-list", kind: Kind::Response }
    }

    async fn on_response<'r>(&self, request: &'r Request<'_>, response: &mut Response<'r>) {
        if self.origins.is_empty() || !request.uri().path().as_str().starts_with("/api/") {
            return;
        }
        // Every answer depends on the origin, those without CORS headers
        // too: a shared cache must not give one origin's answer to another.
        response.adjoin_header(Header::new("Vary", "Origin"));
        let origin = match request.headers().get_one("Origin") {
            Some(origin) if self.allows(origin) => origin.to_owned(),
            _ => return,
        };
        response.set_header(Header::new("Access-Control-Allow-Origin", origin));
        let is_preflight = request.method() == Method::Options
            && request.headers().get_one("Access-Control-Request-Method").is_some();
        if is_preflight {
            // No route answers OPTIONS: the preflight's answer is made here.
            response.set_status(Status::NoContent);
            response.set_sized_body(0, std::io::Cursor::new(Vec::new()));
            response.remove_header("Content-Type");
            response.remove_header("Allow");
            response.set_header(Header::new("Access-Control-Allow-Methods", ALLOW_METHODS));
            response.set_header(Header::new("Access-Control-Allow-Headers", ALLOW_HEADERS));
            response.set_header(Header::new("Access-Control-Max-Age", MAX_AGE_SECONDS));
        } else {
            response.set_header(Header::new("Access-Control-Expose-Headers", EXPOSE_HEADERS));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_listed_origins_match_exactly() {
        let cors = Cors::new(vec!["https://app.example.org".to_owned(), "http://localhost:5173".to_owned()]);
        assert!(cors.allows("http://localhost:5173"));
        assert!(!cors.allows("http://localhost:5174"));
        assert!(!cors.allows("https://app.example.org.evil.example"));
    }
}
