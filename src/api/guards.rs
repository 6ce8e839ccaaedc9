//! Request and data guards of the API: bearer authentication, JSON bodies
//! (415, 413, 400 and 422 before a handler runs) and path ids.

use std::collections::BTreeMap;

use rocket::data::{self, Data, FromData, ToByteUnit};
use rocket::http::Status;
use rocket::outcome::Outcome;
use rocket::request::{self, FromParam, FromRequest, Request};
use serde_json::value::RawValue;

use super::problem::{stash, Problem};
use crate::auth::jwt::{Claims, TokenKeys, TokenType};
use crate::auth::personal_token;
use crate::db::Db;
use crate::error::{AuthFailure, Error, FieldErrors};
use crate::models::Via;
use crate::policy::Actor;
use crate::services::sessions::{self, Credential};

/// A positive database id in a path. Anything else is a 422.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Id(pub i64);

impl<'a> FromParam<'a> for Id {
    type Error = &'a str;

    fn from_param(param: &'a str) -> Result<Self, Self::Error> {
        match param.parse::<i64>() {
            Ok(id) if id > 0 && !param.starts_with('+') => Ok(Id(id)),
            _ => Err(param),
        }
    }
}

/// The signed-in user of an API request, from an access token or a personal
/// access token in `Authorization: Bearer`. Cookies and query strings are
/// never looked at.
#[derive(Debug, Clone)]
pub struct ApiUser {
    pub actor: Actor,
    pub credential: Credential,
}

fn bearer<'r>(request: &'r Request<'_>) -> Result<&'r str, Error> {
    let mut values = request.headers().get("Authorization");
    let value = values
        .next()
        .ok_or(Error::Unauthenticated(AuthFailure::Required))?;
    if values.next().is_some() {
        return Err(Error::Unauthenticated(AuthFailure::InvalidToken));
    }
    match value.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(token.trim())
        }
        _ => Err(Error::Unauthenticated(AuthFailure::InvalidToken)),
    }
}

fn keys<'r>(request: &'r Request<'_>) -> Result<&'r TokenKeys, Error> {
    request
        .rocket()
        .state::<TokenKeys>()
        .ok_or_else(|| Error::Internal("token keys are not managed".into()))
}

async fn authenticate(request: &Request<'_>) -> Result<ApiUser, Error> {
    let token = bearer(request)?.to_owned();
    let db = match request.guard::<Db>().await {
        Outcome::Success(db) => db,
        _ => return Err(Error::Unavailable),
    };
    let authenticated = if personal_token::is_personal_token(&token) {
        db.run(move |conn| sessions::authenticate_personal_token(conn, &token))
            .await?
    } else {
        let claims = keys(request)?.verify(&token, TokenType::Access)?;
        db.run(move |conn| sessions::authenticate_access(conn, &claims))
            .await?
    };
    let user = &authenticated.user;
    Ok(ApiUser {
        actor: Actor {
            user_id: user.id,
            role: user.role,
            via: Via::Api,
            fresh: authenticated.fresh,
        },
        credential: authenticated.credential,
    })
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for ApiUser {
    type Error = ();

    async fn from_request(request: &'r Request<'_>) -> request::Outcome<Self, ()> {
        match authenticate(request).await {
            Ok(user) => Outcome::Success(user),
            Err(error) => Outcome::Error((stash(request, error.into()), ())),
        }
    }
}

/// The verified claims of a refresh token in `Authorization: Bearer`. Whether
/// its session still holds is for the refresh itself to check.
pub struct RefreshClaims(pub Claims);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for RefreshClaims {
    type Error = ();

    async fn from_request(request: &'r Request<'_>) -> request::Outcome<Self, ()> {
        let verified =
            bearer(request).and_then(|token| keys(request)?.verify(token, TokenType::Refresh));
        match verified {
            Ok(claims) => Outcome::Success(RefreshClaims(claims)),
            Err(error) => Outcome::Error((stash(request, error.into()), ())),
        }
    }
}

/// The client's address as the deployment trusts it (`ip_header` in
/// `Rocket.toml` names the proxy's header; by default none is trusted).
pub struct ClientAddress(pub String);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for ClientAddress {
    type Error = std::convert::Infallible;

    async fn from_request(request: &'r Request<'_>) -> request::Outcome<Self, Self::Error> {
        let address = request
            .client_ip()
            .map_or_else(|| "unknown".to_owned(), |ip| ip.to_string());
        Outcome::Success(ClientAddress(address))
    }
}

/// The `User-Agent` header, if any.
pub struct UserAgent(pub Option<String>);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for UserAgent {
    type Error = std::convert::Infallible;

    async fn from_request(request: &'r Request<'_>) -> request::Outcome<Self, Self::Error> {
        Outcome::Success(UserAgent(
            request.headers().get_one("User-Agent").map(str::to_owned),
        ))
    }
}

/// A JSON object body, with each member's raw text kept so that numbers such
/// as prices are read exactly. Answers 415 for another content type, 413
/// past the `json` limit, 400 for malformed JSON and 422 for anything but an
/// object.
pub struct JsonBody(BTreeMap<String, Box<RawValue>>);

#[rocket::async_trait]
impl<'r> FromData<'r> for JsonBody {
    type Error = ();

    async fn from_data(request: &'r Request<'_>, data: Data<'r>) -> data::Outcome<'r, Self, ()> {
        match read_json_object(request, data).await {
            Ok(body) => Outcome::Success(body),
            Err(problem) => Outcome::Error((stash(request, problem), ())),
        }
    }
}

async fn read_json_object(request: &Request<'_>, data: Data<'_>) -> Result<JsonBody, Problem> {
    let is_json = request.content_type().is_some_and(|ct| {
        let media = ct.media_type();
        media.top() == "application"
            && (media.sub() == "json" || media.sub().as_str().ends_with("+json"))
    });
    if !is_json {
        return Err(Problem::new(
            Status::UnsupportedMediaType,
            "unsupported_media_type",
            "Send the body as application/json.",
        ));
    }
    let limit = request.limits().get("json").unwrap_or(64.kibibytes());
    let text = data.open(limit).into_string().await.map_err(|_| {
        Problem::new(
            Status::BadRequest,
            "malformed_json",
            "The body is not valid UTF-8 text.",
        )
    })?;
    if !text.is_complete() {
        return Err(Problem::new(
            Status::PayloadTooLarge,
            "payload_too_large",
            format!("The body is larger than {limit}."),
        ));
    }
    serde_json::from_str::<BTreeMap<String, Box<RawValue>>>(&text)
        .map(JsonBody)
        .map_err(|e| {
            if e.is_data() {
                Problem::invalid(FieldErrors::from([(
                    "body".to_owned(),
                    "must be a JSON object".to_owned(),
                )]))
            } else {
                Problem::new(
                    Status::BadRequest,
                    "malformed_json",
                    format!("The body is not valid JSON: {e}."),
                )
            }
        })
}

impl JsonBody {
    pub fn reader(self) -> BodyReader {
        BodyReader {
            fields: self.0,
            errors: FieldErrors::new(),
        }
    }
}

/// Takes typed members out of a JSON object, collecting a message per bad
/// field so that one 422 names them all.
pub struct BodyReader {
    fields: BTreeMap<String, Box<RawValue>>,
    errors: FieldErrors,
}

impl BodyReader {
    fn take(&mut self, name: &str) -> Option<Box<RawValue>> {
        self.fields.remove(name)
    }

    fn fail<T>(&mut self, name: &str, message: &str) -> Option<T> {
        self.errors.insert(name.to_owned(), message.to_owned());
        None
    }

    /// An optional string member; `null` counts as absent.
    pub fn string(&mut self, name: &str) -> Option<String> {
        let raw = self.take(name)?;
        match serde_json::from_str::<Option<String>>(raw.get()) {
            Ok(value) => value,
            Err(_) => self.fail(name, "must be a string"),
        }
    }

    /// A required string member.
    pub fn required_string(&mut self, name: &str) -> Option<String> {
        if !self.fields.contains_key(name) {
            return self.fail(name, "is required");
        }
        match self.string(name) {
            Some(value) => Some(value),
            None if self.errors.contains_key(name) => None,
            None => self.fail(name, "must be a string"),
        }
    }

    /// A string that may be `null` to clear it: absent → `None`, `null` →
    /// `Some(None)`.
    pub fn nullable_string(&mut self, name: &str) -> Option<Option<String>> {
        let raw = self.take(name)?;
        match serde_json::from_str::<Option<String>>(raw.get()) {
            Ok(value) => Some(value),
            Err(_) => self.fail(name, "must be a string or null"),
        }
    }

    /// A decimal given as a JSON number or a string, returned as its exact
    /// text for `Price::parse`.
    pub fn decimal_text(&mut self, name: &str) -> Option<String> {
        let raw = self.take(name)?;
        let text = raw.get();
        if text.starts_with('"') {
            match serde_json::from_str::<String>(text) {
                Ok(value) => Some(value),
                Err(_) => self.fail(name, "must be a number or a decimal string"),
            }
        } else if text.starts_with(|c: char| c == '-' || c.is_ascii_digit()) {
            Some(text.to_owned())
        } else {
            self.fail(name, "must be a number or a decimal string")
        }
    }

    /// A required decimal, see [`BodyReader::decimal_text`].
    pub fn required_decimal_text(&mut self, name: &str) -> Option<String> {
        if !self.fields.contains_key(name) {
            return self.fail(name, "is required");
        }
        self.decimal_text(name)
    }

    /// A required positive integer id.
    pub fn required_id(&mut self, name: &str) -> Option<i64> {
        let Some(raw) = self.take(name) else {
            return self.fail(name, "is required");
        };
        match serde_json::from_str::<i64>(raw.get()) {
            Ok(id) if id > 0 => Some(id),
            _ => self.fail(name, "must be a positive integer id"),
        }
    }

    /// A required array of positive integer ids.
    pub fn required_ids(&mut self, name: &str) -> Option<Vec<i64>> {
        let Some(raw) = self.take(name) else {
            return self.fail(name, "is required");
        };
        match serde_json::from_str::<Vec<i64>>(raw.get()) {
            Ok(ids) if ids.iter().all(|&id| id > 0) => Some(ids),
            _ => self.fail(name, "must be an array of positive integer ids"),
        }
    }

    /// Fails with every collected error, and one for each member nobody asked for.
    pub fn finish(mut self) -> Result<(), Error> {
        for name in std::mem::take(&mut self.fields).into_keys() {
            let name: String = name.chars().filter(|c| !c.is_control()).take(100).collect();
            self.errors.insert(name, "is not a known field".to_owned());
        }
        Error::check(self.errors)
    }
}
