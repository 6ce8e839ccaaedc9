//! `Idempotency-Key` on the API's writes. A client that sends a `POST`,
//! `PUT`, `PATCH` or `DELETE` with a key of its choosing (at most 255
//! printable characters) may send it again, after a timeout or a cut
//! connection, without doing the work twice: the first answer (status, the
//! headers that matter, body) is kept in PostgreSQL for 24 hours per
//! account and key, and any instance replays it with `Idempotent-Replayed:
//! true`. The same key with another request (method, path, query or body)
//! is 422; while the first is still running, 409.
//!
//! A request goes through three places: the API's layer arms the key
//! ([`arm`]) once it knows the account; the key is claimed ([`claim`]) with
//! the request's fingerprint where the body is read (or by the layer, for a
//! request without one), before the handler does anything; and the answer
//! is kept ([`keep`]) as it leaves. Answers of 500 and above are not kept:
//! the key is let go, and a retry runs again. So is the key of a request
//! whose instance died before answering, two minutes after it was claimed;
//! and an answer that could not be kept (the database stopped answering
//! just then) leaves the key to be taken again after those two minutes.

use std::sync::Mutex;

use rocket::http::{Header, Method, Status};
use rocket::outcome::Outcome;
use rocket::{Request, Response};
use sha2::{Digest, Sha256};

use super::problem::Problem;
use crate::db::Db;
use crate::models::api_bookkeeping::{Claim, IdempotencyKey, KeptAnswer};

pub const HEADER: &str = "Idempotency-Key";
pub const REPLAYED: &str = "Idempotent-Replayed";
pub const MAX_KEY_CHARS: usize = 255;
/// How long an answer is kept.
pub const KEPT_HOURS: i64 = 24;
/// A claim this old without an answer is taken to be abandoned.
const ABANDONED_AFTER_SECS: i64 = 120;
/// A larger answer is not kept (none of the API's writes answers near it).
const MAX_KEPT_BODY: usize = 1 << 20;
/// The headers kept with an answer; the rate-limit headers are the
/// replay's own.
const KEPT_HEADERS: [&str; 7] =
    ["Content-Type", "Location", "ETag", "Last-Modified", "Link", "Cache-Control", "Retry-After"];

/// Where a request's key stands.
enum Stage {
    /// Sent by `user_id` with `key`, not yet claimed.
    Armed { user_id: i64, key: String },
    /// Claimed by this request: its answer is to be kept.
    Claimed { user_id: i64, key: String },
    /// Answered before: this is the answer to replay.
    Replay(KeptAnswer),
}

struct Slot(Mutex<Option<Stage>>);

fn slot<'r>(request: &'r Request<'_>) -> &'r Slot {
    request.local_cache(|| Slot(Mutex::new(None)))
}

fn with_stage<T>(request: &Request<'_>, f: impl FnOnce(&mut Option<Stage>) -> T) -> T {
    let mut stage = slot(request).0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    f(&mut stage)
}

fn is_write(method: Method) -> bool {
    matches!(method, Method::Post | Method::Put | Method::Patch | Method::Delete)
}

/// What a request's `Idempotency-Key` header holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    /// None (or the request is no write): nothing to do.
    Absent,
    /// A key, taken: the request is armed.
    Taken,
    /// Not a key (empty, too long, not printable ASCII, or sent twice).
    Invalid,
}

/// Takes the request's key, if it is a write sent with one by `user_id`.
pub fn arm(request: &Request<'_>, user_id: i64) -> Key {
    if !is_write(request.method()) {
        return Key::Absent;
    }
    let mut keys = request.headers().get(HEADER);
    let Some(key) = keys.next() else { return Key::Absent };
    let valid = keys.next().is_none()
        && (1..=MAX_KEY_CHARS).contains(&key.len())
        && key.bytes().all(|b| (0x20..0x7f).contains(&b));
    if !valid {
        return Key::Invalid;
    }
    with_stage(request, |stage| *stage = Some(Stage::Armed { user_id, key: key.to_owned() }));
    Key::Taken
}

/// The answer to a request whose key is [`Key::Invalid`].
pub fn invalid_key() -> Problem {
    Problem::new(
        Status::BadRequest,
        "invalid_idempotency_key",
        format!("Send one {HEADER} of 1 to {MAX_KEY_CHARS} printable ASCII characters."),
    )
}

/// The request's fingerprint: its method, path and query as sent, and its
/// body in `parts` (each part's length first, so that parts cannot run into
/// each other).
fn fingerprint(request: &Request<'_>, parts: &[&[u8]]) -> String {
    let mut hash = Sha256::new();
    hash.update(request.method().as_str().as_bytes());
    hash.update(b"\n");
    hash.update(request.uri().to_string().as_bytes());
    for part in parts {
        hash.update(b"\n");
        hash.update((part.len() as u64).to_be_bytes());
        hash.update(part);
    }
    hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether the request carries a key not yet claimed.
pub fn armed(request: &Request<'_>) -> bool {
    with_stage(request, |stage| matches!(stage, Some(Stage::Armed { .. })))
}

/// Claims the request's key, if it carries one, with its body in `parts`:
/// `Ok` to go on; else the problem to answer with (for a key answered
/// before, a placeholder: the layer replays the answer instead).
pub async fn claim(request: &Request<'_>, parts: &[&[u8]]) -> Result<(), Problem> {
    let Some((user_id, key)) = with_stage(request, |stage| match stage {
        Some(Stage::Armed { user_id, key }) => Some((*user_id, key.clone())),
        _ => None,
    }) else {
        return Ok(());
    };
    let fingerprint = fingerprint(request, parts);
    let Outcome::Success(db) = request.guard::<Db>().await else {
        return Err(Problem::from(crate::error::Error::Unavailable));
    };
    let kept = key.clone();
    let claim = db
        .run(move |conn| {
            Ok(IdempotencyKey::claim(conn, user_id, &kept, &fingerprint, ABANDONED_AFTER_SECS, KEPT_HOURS)?)
        })
        .await?;
    match claim {
        Claim::Claimed => {
            with_stage(request, |stage| *stage = Some(Stage::Claimed { user_id, key }));
            Ok(())
        }
        Claim::Answered(answer) => {
            with_stage(request, |stage| *stage = Some(Stage::Replay(answer)));
            Err(Problem::new(Status::Conflict, "idempotent_replay", "Answered before."))
        }
        Claim::Running => Err(Problem::new(
            Status::Conflict,
            "idempotency_key_in_use",
            format!("A request with this {HEADER} is still running: send it again once it has answered."),
        )
        .with_header("Retry-After", "1".to_owned())),
        Claim::OtherRequest => Err(Problem::new(
            Status::UnprocessableEntity,
            "idempotency_key_reused",
            format!(
                "This {HEADER} was sent with another request (method, path or body) in the last \
                 {KEPT_HOURS} hours: use a new key for a new request."
            ),
        )),
    }
}

/// The answer to replay, when the request's key was answered before.
pub fn replayed(request: &Request<'_>) -> Option<Response<'static>> {
    let answer = with_stage(request, |stage| match stage.take() {
        Some(Stage::Replay(answer)) => Some(answer),
        other => {
            *stage = other;
            None
        }
    })?;
    let mut response = Response::build();
    response.status(Status::from_code(answer.status).unwrap_or(Status::InternalServerError));
    for (name, value) in answer.headers {
        response.header(Header::new(name, value));
    }
    response.header(Header::new(REPLAYED, "true"));
    if request.method() != Method::Head {
        response.sized_body(answer.body.len(), std::io::Cursor::new(answer.body));
    }
    Some(response.finalize())
}

/// Keeps the answer of a request that claimed its key, as it leaves; an
/// answer of 500 or more lets the key go instead.
pub async fn keep(request: &Request<'_>, response: &mut Response<'_>) {
    let Some((user_id, key)) = with_stage(request, |stage| match stage.take() {
        Some(Stage::Claimed { user_id, key }) => Some((user_id, key)),
        other => {
            *stage = other;
            None
        }
    }) else {
        return;
    };
    let Outcome::Success(db) = request.guard::<Db>().await else { return };
    let status = response.status().code;
    let body = if status < 500 { response.body_mut().to_bytes().await.ok() } else { None };
    let answer = match body {
        Some(body) => {
            response.set_sized_body(body.len(), std::io::Cursor::new(body.clone()));
            (body.len() <= MAX_KEPT_BODY).then(|| KeptAnswer {
                status,
                headers: KEPT_HEADERS
                    .iter()
                    .filter_map(|name| {
                        Some(((*name).to_owned(), response.headers().get_one(name)?.to_owned()))
                    })
                    .collect(),
                body,
            })
        }
        None => None,
    };
    let kept = db
        .run(move |conn| {
            Ok(match &answer {
                Some(answer) => IdempotencyKey::answer(conn, user_id, &key, answer)?,
                None => IdempotencyKey::release(conn, user_id, &key)?,
            })
        })
        .await;
    if let Err(error) = kept {
        tracing::warn!("an idempotent answer could not be kept: {error}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_tell_requests_apart() {
        let client = rocket::local::blocking::Client::debug_with(Vec::new()).unwrap();
        let post = client.post("/api/items?x=1");
        let other = client.post("/api/items?x=2");
        let put = client.put("/api/items?x=1");
        let a = fingerprint(post.inner(), &[b"{\"a\":1}"]);
        assert_eq!(a, fingerprint(post.inner(), &[b"{\"a\":1}"]));
        assert_ne!(a, fingerprint(post.inner(), &[b"{\"a\":2}"]));
        assert_ne!(a, fingerprint(other.inner(), &[b"{\"a\":1}"]));
        assert_ne!(a, fingerprint(put.inner(), &[b"{\"a\":1}"]));
        assert_ne!(fingerprint(post.inner(), &[b"ab", b"c"]), fingerprint(post.inner(), &[b"a", b"bc"]));
    }
}
