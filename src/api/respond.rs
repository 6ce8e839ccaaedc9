//! Successful API responses: JSON with a strong `ETag`, `304` on a matching
//! `If-None-Match`, `Location` on creation and the paging headers of lists;
//! single-resource reads by way of the read cache.

use std::sync::Arc;

use diesel::PgConnection;
use rocket::http::{ContentType, Header, Method, Status};
use rocket::request::Request;
use rocket::response::{self, Responder, Response};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::problem::Problem;
use crate::cache::{Key, ReadCache, Representation};
use crate::db::Db;
use crate::error::Error;
use crate::models::Total;

/// The strong entity tag of a representation: a hash of its JSON bytes.
pub fn etag_of<T: Serialize>(value: &T) -> Result<String, Error> {
    let bytes =
        serde_json::to_vec(value).map_err(|e| Error::Internal(format!("serialization failed: {e}")))?;
    Ok(etag_of_bytes(&bytes))
}

fn etag_of_bytes(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("\"{hex}\"")
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
    headers: Vec<Header<'static>>,
    /// The path and query of the next page, made absolute in `Link`.
    next: Option<String>,
}

impl<T: Serialize> ApiJson<T> {
    pub fn ok(value: T) -> ApiJson<T> {
        ApiJson { value, status: Status::Ok, headers: Vec::new(), next: None }
    }

    /// 201 with the new resource's address.
    pub fn created(value: T, location: String) -> ApiJson<T> {
        ApiJson {
            value,
            status: Status::Created,
            headers: vec![Header::new("Location", location)],
            next: None,
        }
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
            Header::new("X-Total-Count", total.count.to_string()),
            Header::new("X-Total-Count-Approximate", total.approximate.to_string()),
        ];
        ApiJson { value, status: Status::Ok, headers, next }
    }
}

impl<'r, T: Serialize> Responder<'r, 'static> for ApiJson<T> {
    fn respond_to(self, request: &'r Request<'_>) -> response::Result<'static> {
        let body = match serde_json::to_vec(&self.value) {
            Ok(body) => body,
            Err(e) => return Problem::internal(&format!("serialization failed: {e}")).respond_to(request),
        };
        let etag = etag_of_bytes(&body);
        let mut headers = self.headers;
        if let Some(next) = self.next {
            let url = format!("{}{next}", crate::request::site_url(request));
            headers.push(Header::new("Link", format!("<{url}>; rel=\"next\"")));
        }
        Ok(json_response(request, self.status, headers, body, etag))
    }
}

/// The response of a JSON body with its entity tag, or `304` when the
/// request already has it.
fn json_response<B>(
    request: &Request<'_>,
    status: Status,
    headers: Vec<Header<'static>>,
    body: B,
    etag: String,
) -> Response<'static>
where
    B: AsRef<[u8]> + Send + Unpin + 'static,
{
    let mut response = Response::build();
    for header in headers {
        response.header(header);
    }
    let is_read = matches!(request.method(), Method::Get | Method::Head);
    let not_modified = is_read
        && request.headers().get_one("If-None-Match").is_some_and(|header| header_lists(header, &etag, true));
    response.header(Header::new("ETag", etag));
    if not_modified {
        return response.status(Status::NotModified).finalize();
    }
    let length = body.as_ref().len();
    response.status(status).header(ContentType::JSON).sized_body(length, std::io::Cursor::new(body));
    response.finalize()
}

/// A single resource as the read cache has it, or as just read (and then
/// offered to the cache).
pub struct Cached(Arc<Representation>);

impl Cached {
    /// The representation of `key`: from the cache when it holds one, else
    /// from `load`, which gives the store the resource belongs to and how
    /// the API shows it.
    pub async fn read<T, F>(db: &Db, key: Key, load: F) -> Result<Cached, Error>
    where
        F: FnOnce(&mut PgConnection) -> Result<(i64, T), Error> + Send + 'static,
        T: Serialize,
    {
        let cache = db.cache_for_reading().await;
        if let Some(hit) = cache.and_then(|cache| cache.get(key)) {
            return Ok(Cached(hit));
        }
        let ticket = cache.and_then(ReadCache::ticket);
        let (store_id, representation) = db
            .run(move |conn| {
                let (store_id, value) = load(conn)?;
                let body = serde_json::to_vec(&value)
                    .map_err(|e| Error::Internal(format!("serialization failed: {e}")))?;
                let etag = etag_of_bytes(&body);
                Ok((store_id, Arc::new(Representation { body: body.into(), etag })))
            })
            .await?;
        if let (Some(cache), Some(ticket)) = (cache, ticket) {
            cache.insert(ticket, key, store_id, Arc::clone(&representation));
        }
        Ok(Cached(representation))
    }
}

impl<'r> Responder<'r, 'static> for Cached {
    fn respond_to(self, request: &'r Request<'_>) -> response::Result<'static> {
        let Representation { body, etag } = &*self.0;
        Ok(json_response(request, Status::Ok, Vec::new(), Arc::clone(body), etag.clone()))
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
