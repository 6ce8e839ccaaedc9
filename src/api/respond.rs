//! Successful API responses: JSON with a strong `ETag`, `304` on a matching
//! `If-None-Match`, `Location` on creation and the paging headers of lists;
//! reads of single resources and of lists by way of the read cache.

use std::sync::Arc;

use diesel::PgConnection;
use rocket::http::{ContentType, Header, Method, Status};
use rocket::request::Request;
use rocket::response::{self, Responder, Response};
use serde::Serialize;

use super::problem::Problem;
use crate::cache::{etag_of_bytes, Key, ReadCache, Representation, Scope};
use crate::db::Db;
use crate::error::Error;
use crate::models::Total;

/// The strong entity tag of a representation: a hash of its JSON bytes.
pub fn etag_of<T: Serialize>(value: &T) -> Result<String, Error> {
    let bytes =
        serde_json::to_vec(value).map_err(|e| Error::Internal(format!("serialization failed: {e}")))?;
    Ok(etag_of_bytes(&bytes))
}

/// Whether an `If-None-Match` / `If-Match` header value lists `etag`.
/// `weak` compares as `If-None-Match` does (ignoring `W/`).
pub fn header_lists(header: &str, etag: &str, weak: bool) -> bool {
    header.split(',').map(str::trim).any(|candidate| {
        if candidate == "*" {
            return true;
        }
        match candidate.strip_prefix("W/") {
            Some(weak_tag) => weak && weak_tag == etag,
            None => candidate == etag,
        }
    })
}

/// A JSON body and the headers that go with it.
pub struct ApiJson<T> {
    value: T,
    status: Status,
    headers: Vec<(&'static str, String)>,
    /// The path and query of the next page, made absolute in `Link`.
    next: Option<String>,
}

impl<T: Serialize> ApiJson<T> {
    pub fn ok(value: T) -> ApiJson<T> {
        ApiJson { value, status: Status::Ok, headers: Vec::new(), next: None }
    }

    /// 201 with the new resource's address.
    pub fn created(value: T, location: String) -> ApiJson<T> {
        ApiJson { value, status: Status::Created, headers: vec![("Location", location)], next: None }
    }

    /// A page of a list: `X-Total-Count`, and `Link` to the next page if any
    /// (`next` is its path and query).
    pub fn page(value: T, total: i64, next: Option<String>) -> ApiJson<T> {
        ApiJson::estimated_page(value, Total { count: total, approximate: false }, next)
    }

    /// Like [`ApiJson::page`], saying with `X-Total-Count-Approximate`
    /// whether the total is an estimate.
    pub fn estimated_page(value: T, total: Total, next: Option<String>) -> ApiJson<T> {
        let headers = vec![
            ("X-Total-Count", total.count.to_string()),
            ("X-Total-Count-Approximate", total.approximate.to_string()),
        ];
        ApiJson { value, status: Status::Ok, headers, next }
    }

    /// The response as the read cache keeps it, its `Link` on `site_url`.
    /// With another status than 200 (202, say).
    pub fn with_status(mut self, status: Status) -> ApiJson<T> {
        self.status = status;
        self
    }

    /// Adds a header.
    pub fn with_header(mut self, name: &'static str, value: String) -> ApiJson<T> {
        self.headers.push((name, value));
        self
    }

    pub fn representation(self, site_url: &str) -> Result<Representation, Error> {
        let body = serde_json::to_vec(&self.value)
            .map_err(|e| Error::Internal(format!("serialization failed: {e}")))?;
        let mut headers = self.headers;
        if let Some(next) = self.next {
            headers.push(("Link", format!("<{site_url}{next}>; rel=\"next\"")));
        }
        Ok(Representation::new(body, ContentType::JSON, headers))
    }
}

impl<'r, T: Serialize> Responder<'r, 'static> for ApiJson<T> {
    fn respond_to(self, request: &'r Request<'_>) -> response::Result<'static> {
        let status = self.status;
        match self.representation(&crate::request::site_url(request)) {
            Ok(representation) => Ok(tagged_response(request, status, &representation)),
            Err(error) => Problem::from(error).respond_to(request),
        }
    }
}

/// The response of a representation with its entity tag, or `304` when
/// the request already has it.
pub fn tagged_response(
    request: &Request<'_>,
    status: Status,
    representation: &Representation,
) -> Response<'static> {
    let Representation { body, content_type, etag, headers, .. } = representation;
    let mut response = Response::build();
    for (name, value) in headers {
        response.header(Header::new(*name, value.clone()));
    }
    let is_read = matches!(request.method(), Method::Get | Method::Head);
    let not_modified = is_read
        && request.headers().get_one("If-None-Match").is_some_and(|header| header_lists(header, etag, true));
    response.header(Header::new("ETag", etag.clone()));
    if not_modified {
        return response.status(Status::NotModified).finalize();
    }
    response
        .status(status)
        .header(content_type.clone())
        .sized_body(body.len(), std::io::Cursor::new(Arc::clone(body)));
    response.finalize()
}

/// A resource or a list as the read cache has it, or as just read (and
/// then offered to the cache).
pub struct Cached(pub Arc<Representation>);

impl Cached {
    /// What `key` names: from the read cache when it may answer this
    /// request and holds it, else what `fill` reads, offered to the cache
    /// with the scope `fill` gives (the cache declines it if a change raced
    /// the read). Only successes are kept.
    pub async fn or_fill<F>(db: &Db, key: Key, fill: F) -> Result<Cached, Error>
    where
        F: std::future::Future<Output = Result<(Scope, Representation), Error>>,
    {
        let cache = db.cache_for_reading().await;
        if let Some(hit) = cache.and_then(|cache| cache.get(&key)) {
            return Ok(Cached(hit));
        }
        let ticket = cache.and_then(ReadCache::ticket);
        let (scope, representation) = fill.await?;
        let representation = Arc::new(representation);
        if let (Some(cache), Some(ticket)) = (cache, ticket) {
            cache.insert(ticket, key, scope, Arc::clone(&representation));
        }
        Ok(Cached(representation))
    }

    /// A single resource: `load` gives the store it belongs to and how the
    /// API shows it.
    pub async fn read<T, F>(db: &Db, key: Key, load: F) -> Result<Cached, Error>
    where
        F: Fn(&mut PgConnection) -> Result<(i64, T), Error> + Send + Sync + 'static,
        T: Serialize,
    {
        let read = db.read(move |conn| {
            let (store_id, value) = load(conn)?;
            let body = serde_json::to_vec(&value)
                .map_err(|e| Error::Internal(format!("serialization failed: {e}")))?;
            Ok((Scope::Store(store_id), Representation::new(body, ContentType::JSON, Vec::new())))
        });
        Cached::or_fill(db, key, read).await
    }
}

impl<'r> Responder<'r, 'static> for Cached {
    fn respond_to(self, request: &'r Request<'_>) -> response::Result<'static> {
        Ok(tagged_response(request, Status::Ok, &self.0))
    }
}

/// `204 No Content`.
pub struct NoContent;

impl<'r> Responder<'r, 'static> for NoContent {
    fn respond_to(self, _: &'r Request<'_>) -> response::Result<'static> {
        Ok(Response::build().status(Status::NoContent).finalize())
    }
}

/// `If-Match` of a request, checked against the current representation.
pub struct IfMatch(pub Option<String>);

#[rocket::async_trait]
impl<'r> rocket::request::FromRequest<'r> for IfMatch {
    type Error = std::convert::Infallible;

    async fn from_request(request: &'r Request<'_>) -> rocket::request::Outcome<Self, Self::Error> {
        rocket::outcome::Outcome::Success(IfMatch(request.headers().get_one("If-Match").map(str::to_owned)))
    }
}

impl IfMatch {
    /// `Err(StaleVersion)` when the header is present and does not list the
    /// entity tag of `current`.
    pub fn check<T: Serialize>(&self, current: &T) -> Result<(), Error> {
        match &self.0 {
            Some(header) if !header_lists(header, &etag_of(current)?, false) => Err(Error::StaleVersion),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entity_tags_are_strong_hashes_of_the_body() {
        let a = etag_of(&serde_json::json!({"id": 1})).unwrap();
        let b = etag_of(&serde_json::json!({"id": 2})).unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), 34);
        assert!(a.starts_with('"') && a.ends_with('"'));
    }

    #[test]
    fn header_lists_compares_strongly_unless_asked() {
        let tag = "\"abc\"";
        assert!(header_lists("\"abc\"", tag, false));
        assert!(header_lists("\"x\", \"abc\"", tag, false));
        assert!(header_lists("*", tag, false));
        assert!(!header_lists("W/\"abc\"", tag, false));
        assert!(header_lists("W/\"abc\"", tag, true));
        assert!(!header_lists("\"abd\"", tag, true));
    }
}
