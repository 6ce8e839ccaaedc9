//! `GET /pictures/<digest>.<jpg|png>`: the bytes of a picture's size, at an
//! address named by their SHA-256, so that they never change there. Kept in
//! memory once read (a picture asked for twice costs no query), and cached
//! by browsers and proxies for a year.

use std::sync::Arc;

use rocket::http::{ContentType, Status};
use rocket::response::{self, Responder};
use rocket::{get, routes, Request, Route, State};

use crate::cache::{Key, ReadCache, Representation, Scope};
use crate::db::Db;
use crate::error::Error;
use crate::pictures::store;

pub fn routes() -> Vec<Route> {
    routes![picture]
}

/// Picture bytes kept in memory. Nothing there ever goes out of date: an
/// address names its content, and only room makes an entry go.
pub struct PictureCache(ReadCache);

impl PictureCache {
    pub fn new(budget: usize) -> PictureCache {
        let cache = ReadCache::new(budget);
        cache.resume();
        PictureCache(cache)
    }
}

/// No store's changes drop a picture.
const NO_STORE: Scope = Scope::Store(0);

const FOREVER: &str = "public, max-age=31536000, immutable";

/// The digest and media type a file name such as `3f1b….jpg` stands for.
fn named(file: &str) -> Option<(&str, ContentType)> {
    let (digest, extension) = file.split_once('.')?;
    let valid =
        digest.len() == 64 && digest.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    let content_type = match extension {
        "jpg" => ContentType::JPEG,
        "png" => ContentType::PNG,
        _ => return None,
    };
    valid.then_some((digest, content_type))
}

pub struct Picture(Arc<Representation>);

impl<'r> Responder<'r, 'static> for Picture {
    fn respond_to(self, request: &'r Request<'_>) -> response::Result<'static> {
        Ok(crate::api::respond::tagged_response(request, Status::Ok, &self.0))
    }
}

#[get("/pictures/<file>")]
async fn picture(db: Db, cache: &State<PictureCache>, file: &str) -> Result<Picture, Status> {
    let (digest, content_type) = named(file).ok_or(Status::NotFound)?;
    let key = Key::Address(file.into());
    if let Some(kept) = cache.0.get(&key) {
        return Ok(Picture(kept));
    }
    let ticket = cache.0.ticket();
    let wanted = digest.to_owned();
    // A replica may not have the newest pictures yet: the primary is asked
    // for what it does not have.
    let mut found = db.read(move |conn| store::configured().fetch(conn, &wanted)).await.map_err(status_of)?;
    if found.is_none() {
        let wanted = digest.to_owned();
        found = db.run(move |conn| store::configured().fetch(conn, &wanted)).await.map_err(status_of)?;
    }
    let bytes = found.filter(|kept| kept.content_type == content_type.to_string()).ok_or(Status::NotFound)?;
    // The digest names the bytes already: no need to hash them again.
    let representation = Arc::new(Representation {
        body: bytes.bytes.into(),
        content_type,
        etag: format!("\"{digest}\""),
        headers: vec![("Cache-Control", FOREVER.to_owned())],
        position_at: None,
    });
    if let Some(ticket) = ticket {
        cache.0.insert(ticket, key, NO_STORE, Arc::clone(&representation));
    }
    Ok(Picture(representation))
}

fn status_of(error: Error) -> Status {
    match error {
        Error::Unavailable | Error::Busy { .. } => Status::ServiceUnavailable,
        _ => Status::InternalServerError,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_digests_with_a_known_extension_are_names() {
        let digest = "3f1b34a5a23635fd59e7143294e3873df5d14d2d526e627685ee8c80cd3bfa80";
        assert_eq!(
            named(&format!("{digest}.jpg")).map(|(d, ct)| (d.len(), ct)),
            Some((64, ContentType::JPEG))
        );
        assert_eq!(named(&format!("{digest}.png")).map(|(_, ct)| ct), Some(ContentType::PNG));
        assert!(named(&format!("{digest}.svg")).is_none());
        assert!(named(&format!("{}.jpg", digest.to_uppercase())).is_none());
        assert!(named(&format!("{}.jpg", &digest[1..])).is_none());
        assert!(named("../../etc/passwd").is_none());
    }
}
