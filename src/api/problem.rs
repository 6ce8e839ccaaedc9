//! RFC 9457 problem details: the body of every error under `/api`, whether it
//! comes from a handler, a guard or Rocket itself (through the catchers).

use rocket::http::{ContentType, Header, Method, Status};
use rocket::request::Request;
use rocket::response::{self, Responder, Response};
use rocket::{catch, catchers, Catcher};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{AuthFailure, Error, FieldErrors, SecondStep};

/// Seconds a client should wait before retrying when the database is away.
const UNAVAILABLE_RETRY_SECONDS: u64 = 5;

/// An error response: `application/problem+json`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// Always `about:blank`: the status and `code` say what happened.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The HTTP status phrase.
    pub title: &'static str,
    pub status: u16,
    /// What went wrong, for a person.
    pub detail: String,
    /// A stable machine-readable reason.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<&'static str>,
    /// On 422: each invalid field and what is wrong with it.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<std::collections::BTreeMap<String, String>>)]
    pub errors: Option<FieldErrors>,
    /// On 500: quote it when reporting the problem.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    #[serde(skip)]
    headers: Vec<(&'static str, String)>,
    /// On 500: what went wrong, for the log only.
    #[serde(skip)]
    cause: Option<String>,
}

impl Problem {
    pub fn new(status: Status, code: &'static str, detail: impl Into<String>) -> Problem {
        Problem {
            kind: "about:blank",
            title: status.reason().unwrap_or("Error"),
            status: status.code,
            detail: detail.into(),
            code: Some(code),
            errors: None,
            request_id: None,
            headers: Vec::new(),
            cause: None,
        }
    }

    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Problem {
        self.headers.push((name, value.into()));
        self
    }

    pub fn status(&self) -> Status {
        Status::new(self.status)
    }

    pub fn unauthenticated(why: AuthFailure) -> Problem {
        let (status, error) = match why {
            AuthFailure::Required | AuthFailure::InvalidCredentials => (Status::Unauthorized, None),
            // The credential is genuine but can never do this (RFC 6750).
            AuthFailure::FreshLoginRequired => (Status::Forbidden, Some("insufficient_scope")),
            AuthFailure::InvalidToken
            | AuthFailure::Expired
            | AuthFailure::Revoked
            | AuthFailure::FreshRequired => (Status::Unauthorized, Some("invalid_token")),
        };
        let challenge = match error {
            None => "Bearer realm=\"storefront\"".to_owned(),
            Some(error) => format!(
                "Bearer realm=\"storefront\", error=\"{error}\", error_description=\"{}\"",
                why.message()
            ),
        };
        Problem::new(status, why.code(), why.message()).with_header("WWW-Authenticate", challenge)
    }

    pub fn invalid(errors: FieldErrors) -> Problem {
        let mut problem =
            Problem::new(Status::UnprocessableEntity, "validation_failed", "Some fields are not valid.");
        problem.errors = Some(errors);
        problem
    }

    pub fn unavailable() -> Problem {
        Problem::new(
            Status::ServiceUnavailable,
            "unavailable",
            "The service is temporarily unavailable. Try again shortly.",
        )
        .with_header("Retry-After", UNAVAILABLE_RETRY_SECONDS.to_string())
    }

    /// A 500 whose cause is logged under the request's id and never shown.
    pub fn internal(cause: &str) -> Problem {
        let mut problem = Problem::new(Status::InternalServerError, "internal_error", "");
        problem.cause = Some(cause.to_owned());
        problem
    }
}

impl From<Error> for Problem {
    fn from(error: Error) -> Problem {
        match error {
            Error::NotFound(what) => {
                Problem::new(Status::NotFound, "not_found", format!("The {what} does not exist."))
            }
            Error::Invalid(errors) => Problem::invalid(errors),
            Error::Conflict(why) => Problem::new(Status::Conflict, "conflict", why),
            Error::Forbidden => Problem::new(Status::Forbidden, "forbidden", "You may not do this."),
            Error::Unauthenticated(why) => Problem::unauthenticated(why),
            Error::SecondStep(SecondStep::Needed { .. }) => Problem::new(
                Status::Unauthorized,
                "two_step_required",
                "This account signs in in two steps: send `code` with the password, a code of its \
                 authenticator app or one of its recovery codes.",
            )
            .with_header("WWW-Authenticate", "Bearer realm=\"storefront\"".to_owned()),
            Error::SecondStep(SecondStep::WrongCode) => Problem::new(
                Status::Unauthorized,
                "invalid_two_step_code",
                "The code is neither a current code of the account's authenticator app nor an unused \
                 recovery code.",
            )
            .with_header("WWW-Authenticate", "Bearer realm=\"storefront\"".to_owned()),
            Error::SecondStep(SecondStep::EnrolFirst) => Problem::new(
                Status::Forbidden,
                "two_step_enrolment_required",
                "Staff sign in in two steps: add an authenticator app or a passkey on the account \
                 page (/account/two-step) first. Personal access tokens keep working.",
            ),
            Error::StaleVersion => Problem::new(
                Status::PreconditionFailed,
                "precondition_failed",
                "The resource has changed since you read it. Fetch it again and retry.",
            ),
            Error::Throttled { retry_after_secs } => Problem::new(
                Status::TooManyRequests,
                "too_many_attempts",
                "Too many failed attempts. Try again later.",
            )
            .with_header("Retry-After", retry_after_secs.to_string()),
            Error::Unavailable => Problem::unavailable(),
            Error::OutcomeUnknown => Problem::new(
                Status::ServiceUnavailable,
                "outcome_unknown",
                "The database stopped answering after the change was sent to be committed: it may \
                 have been applied. Read the resource (or the list) before sending the change again.",
            )
            .with_header("Retry-After", UNAVAILABLE_RETRY_SECONDS.to_string()),
            Error::Busy { retry_after_secs } => Problem::new(
                Status::ServiceUnavailable,
                "busy",
                "The server is handling as many sign-ins as it can. Try again in a moment.",
            )
            .with_header("Retry-After", retry_after_secs.to_string()),
            Error::Internal(cause) => Problem::internal(&cause),
        }
    }
}

impl<'r> Responder<'r, 'static> for Problem {
    fn respond_to(mut self, request: &'r Request<'_>) -> response::Result<'static> {
        if let Some(cause) = self.cause.take() {
            let request_id = crate::logging::request_id(request).to_owned();
            tracing::error!(request_id = %request_id, cause = %cause, "request failed");
            self.detail =
                format!("Something went wrong on our side. Quote request id {request_id} if you report it.");
            self.request_id = Some(request_id);
        }
        let body = serde_json::to_string(&self).map_err(|_| Status::InternalServerError)?;
        let mut response = Response::build();
        response
            .status(self.status())
            .header(ContentType::new("application", "problem+json"))
            .header(Header::new("Cache-Control", "no-store"));
        for (name, value) in self.headers {
            response.header(Header::new(name, value));
        }
        if request.method() != Method::Head {
            response.sized_body(body.len(), std::io::Cursor::new(body));
        }
        Ok(response.finalize())
    }
}

/// The problem a guard failed with, kept for the catcher that renders it.
struct Stashed(Option<Problem>);

/// Keeps `problem` for the catcher and returns its status, for guards:
/// `Outcome::Error((stash(request, problem), ()))`.
pub fn stash(request: &Request<'_>, problem: Problem) -> Status {
    let status = problem.status();
    request.local_cache(|| Stashed(Some(problem)));
    status
}

/// The JSON catchers of `/api`: nothing there ever answers with HTML.
pub fn catchers() -> Vec<Catcher> {
    catchers![not_found, default]
}

#[catch(404)]
fn not_found(request: &Request<'_>) -> Problem {
    if let Some(problem) = stashed(request) {
        return problem;
    }
    if allowed_methods(request).is_empty() {
        let detail = format!("Nothing is at {}.", request.uri().path());
        Problem::new(Status::NotFound, "not_found", detail)
    } else {
        method_not_allowed(request)
    }
}

fn method_not_allowed(request: &Request<'_>) -> Problem {
    let allowed: Vec<&str> = allowed_methods(request).iter().map(|m| m.as_str()).collect();
    let list = allowed.join(", ");
    let detail = format!("This method is not allowed here; use {list}.");
    Problem::new(Status::MethodNotAllowed, "method_not_allowed", detail).with_header("Allow", list)
}

#[catch(default)]
fn default(status: Status, request: &Request<'_>) -> Problem {
    if let Some(problem) = stashed(request) {
        return problem;
    }
    match status.code {
        // Rocket answers a method it does not know (QUERY, say) with 400 before
        // routing; nothing else reaches here as a bare 400 (JSON errors are
        // stashed), so where the path has routes this is a wrong method.
        400 if !allowed_methods(request).is_empty() => method_not_allowed(request),
        400 => Problem::new(status, "bad_request", "The request is malformed."),
        401 => Problem::unauthenticated(AuthFailure::Required),
        413 => Problem::new(status, "payload_too_large", "The request body is too large."),
        415 => Problem::new(status, "unsupported_media_type", "Send the body as application/json."),
        // `DELETE /api/user/me`: `/user/<id>` refused `me` as an id, but the
        // path is another route's, which does not take this method.
        422 if is_other_routes_path(request) => method_not_allowed(request),
        422 => Problem::new(
            status,
            "invalid_parameter",
            "A path or query parameter is not valid: ids are positive integers.",
        ),
        503 => Problem::unavailable(),
        500..=599 => {
            let path = crate::logging::redacted_uri(request);
            Problem::internal(&format!("unhandled {status} for {} {path}", request.method()))
        }
        _ => Problem::new(status, "error", status.reason().unwrap_or("The request failed.")),
    }
}

fn stashed(request: &Request<'_>) -> Option<Problem> {
    request.local_cache(|| Stashed(None)).0.clone()
}

/// The methods that have a route for the request's path: Rocket answers a
/// wrong method with 404, and this turns it into 405 with `Allow`.
fn allowed_methods(request: &Request<'_>) -> Vec<Method> {
    let path: Vec<&str> = request.uri().path().segments().collect();
    let matching: Vec<_> =
        request.rocket().routes().filter(|route| path_matches(route.uri.path(), &path)).collect();
    // As in routing, a route naming a segment outright (`/user/me`) comes
    // before one taking any value there (`/user/<id>`).
    let best = matching.iter().map(|route| static_segments(route.uri.path())).max().unwrap_or(0);
    let mut methods: Vec<Method> = matching
        .iter()
        .filter(|route| static_segments(route.uri.path()) == best)
        .map(|route| route.method)
        .collect();
    if methods.contains(&Method::Get) {
        methods.push(Method::Head);
    }
    methods.sort_by_key(|m| m.as_str());
    methods.dedup();
    methods
}

/// Whether the path belongs to routes (of other methods) that name it more
/// exactly than the one that refused its parameter.
fn is_other_routes_path(request: &Request<'_>) -> bool {
    let allowed = allowed_methods(request);
    !allowed.is_empty() && !allowed.contains(&request.method())
}

fn static_segments(route_path: &str) -> usize {
    route_path.split('/').filter(|s| !s.is_empty() && !s.starts_with('<')).count()
}

fn path_matches(route_path: &str, request: &[&str]) -> bool {
    let pattern: Vec<&str> = route_path.split('/').filter(|s| !s.is_empty()).collect();
    let mut i = 0;
    for segment in &pattern {
        if segment.starts_with('<') && segment.ends_with("..>") {
            return true;
        }
        match request.get(i) {
            Some(actual) if segment.starts_with('<') || segment == actual => i += 1,
            _ => return false,
        }
    }
    i == request.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_patterns_match_whole_paths() {
        assert!(path_matches("/api/stores/<id>", &["api", "stores", "7"]));
        assert!(!path_matches("/api/stores/<id>", &["api", "stores"]));
        assert!(!path_matches("/api/stores/<id>", &["api", "stores", "7", "tags"]));
        assert!(path_matches("/api/docs/<tail..>", &["api", "docs", "a", "b"]));
        assert!(path_matches("/api/stores", &["api", "stores"]));
        assert!(!path_matches("/api/stores", &["api", "items"]));
        assert_eq!((static_segments("/api/user/me"), static_segments("/api/user/<id>")), (3, 2));
    }

    #[test]
    fn errors_map_to_statuses_once() {
        let cases = [
            (Error::NotFound("store"), 404),
            (Error::invalid("name", "must not be empty"), 422),
            (Error::Conflict("dup".into()), 409),
            (Error::Forbidden, 403),
            (Error::Unauthenticated(AuthFailure::Expired), 401),
            (Error::Unauthenticated(AuthFailure::FreshRequired), 401),
            (Error::Unauthenticated(AuthFailure::FreshLoginRequired), 403),
            (Error::StaleVersion, 412),
            (Error::Throttled { retry_after_secs: 3 }, 429),
            (Error::Unavailable, 503),
            (Error::OutcomeUnknown, 503),
            (Error::Busy { retry_after_secs: 1 }, 503),
            (Error::Internal("boom".into()), 500),
        ];
        for (error, status) in cases {
            assert_eq!(Problem::from(error).status, status);
        }
    }

    #[rocket::get("/boom")]
    fn boom() -> Problem {
        Problem::from(Error::Internal("password_hash column broke".into()))
    }

    #[test]
    fn internal_errors_hide_their_cause_and_quote_the_request_id() {
        let rocket = rocket::build().attach(crate::logging::RequestLog).mount("/", rocket::routes![boom]);
        let client = rocket::local::blocking::Client::untracked(rocket).unwrap();
        let response = client.get("/boom").dispatch();
        assert_eq!(response.status(), Status::InternalServerError);
        let request_id = response.headers().get_one("X-Request-Id").unwrap().to_owned();
        let body: serde_json::Value = serde_json::from_str(&response.into_string().unwrap()).unwrap();
        assert!(!body.to_string().contains("password_hash"), "{body}");
        assert_eq!(body["request_id"], request_id.as_str());
        assert!(body["detail"].as_str().unwrap().contains(&request_id), "{body}");
    }
}
