//! Request and data guards of the API: bearer authentication, JSON bodies
//! (415, 413, 400 and 422 before a handler runs) and query parameters.

use std::collections::BTreeMap;

use rocket::data::{self, Data, FromData, ToByteUnit};
use rocket::http::Status;
use rocket::outcome::Outcome;
use rocket::request::{self, FromRequest, Request};
use serde_json::value::RawValue;

use super::problem::{stash, Problem};
use crate::auth::jwt::{Claims, TokenKeys, TokenType};
use crate::auth::personal_token;
use crate::db::Db;
use crate::error::{AuthFailure, Error, FieldErrors};
use crate::models::Via;
use crate::policy::Actor;
use crate::services::sessions::{self, Credential};

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
    let value = values.next().ok_or(Error::Unauthenticated(AuthFailure::Required))?;
    if values.next().is_some() {
        return Err(Error::Unauthenticated(AuthFailure::InvalidToken));
    }
    match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() => {
            Ok(token.trim())
        }
        _ => Err(Error::Unauthenticated(AuthFailure::InvalidToken)),
    }
}

/// The user a bearer access token names, if its signature holds (expired
/// or revoked, it may name them still): who the client is, for where it
/// may read (see `Db::read`), before anything checks more.
pub(crate) fn claimed_user(request: &Request<'_>) -> Option<i64> {
    let token = bearer(request).ok()?;
    if personal_token::is_personal_token(token) {
        return None;
    }
    keys(request).ok()?.verify(token, TokenType::Access).ok()?.sub.parse().ok()
}

fn keys<'r>(request: &'r Request<'_>) -> Result<&'r TokenKeys, Error> {
    request.rocket().state::<TokenKeys>().ok_or_else(|| Error::Internal("token keys are not managed".into()))
}

async fn authenticate(request: &Request<'_>) -> Result<ApiUser, Error> {
    let token = bearer(request)?.to_owned();
    let db = match request.guard::<Db>().await {
        Outcome::Success(db) => db,
        _ => return Err(Error::Unavailable),
    };
    let authenticated = if personal_token::is_personal_token(&token) {
        db.run(move |conn| sessions::authenticate_personal_token(conn, &token)).await?
    } else {
        let claims = keys(request)?.verify(&token, TokenType::Access)?;
        db.run(move |conn| sessions::authenticate_access(conn, &claims)).await?
    };
    let user = &authenticated.user;
    Ok(ApiUser {
        actor: Actor {
            user_id: user.id,
            role: user.role,
            via: Via::Api,
            fresh: authenticated.fresh,
            personal_token: matches!(authenticated.credential, Credential::PersonalToken(_)),
        },
        credential: authenticated.credential,
    })
}

/// The request's authentication, done once however many ask.
struct Authenticated(Result<ApiUser, Error>);

async fn authenticated<'r>(request: &'r Request<'_>) -> &'r Result<ApiUser, Error> {
    &request.local_cache_async(async { Authenticated(authenticate(request).await) }).await.0
}

/// The account an API request's bearer token names, for its rate-limit
/// budget and idempotency keys: for a read with an access token, its
/// subject by the signature alone (no database read); otherwise the
/// account authentication finds (which the handler's guard then reuses).
/// `None` without a usable token.
pub(crate) async fn client_id(request: &Request<'_>) -> Option<i64> {
    let token = bearer(request).ok()?;
    let write = super::limits::Budget::of(request.method()) == super::limits::Budget::Writes;
    if write || personal_token::is_personal_token(token) {
        return authenticated(request).await.as_ref().ok().map(|user| user.actor.user_id);
    }
    claimed_user(request)
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for ApiUser {
    type Error = ();

    async fn from_request(request: &'r Request<'_>) -> request::Outcome<Self, ()> {
        match authenticated(request).await {
            Ok(user) => {
                crate::logging::note_user(request, user.actor.user_id);
                Outcome::Success(user.clone())
            }
            Err(error) => Outcome::Error((stash(request, error.clone().into()), ())),
        }
    }
}

/// The verified claims of a refresh token, from `Authorization: Bearer` or,
/// without that header, from a JSON body `{"refresh_token": "..."}`. Whether
/// its session still holds is for the refresh itself to check.
pub struct RefreshClaims(pub Claims);

#[rocket::async_trait]
impl<'r> FromData<'r> for RefreshClaims {
    type Error = ();

    async fn from_data(request: &'r Request<'_>, data: Data<'r>) -> data::Outcome<'r, Self, ()> {
        let token = if request.headers().contains("Authorization") || request.content_type().is_none() {
            bearer(request).map(str::to_owned).map_err(Problem::from)
        } else {
            RefreshRequest::read(request, data).await.map(|body| body.refresh_token)
        };
        let token = match token {
            Ok(token) => token,
            Err(problem) => return Outcome::Error((stash(request, problem), ())),
        };
        match keys(request).and_then(|keys| keys.verify(&token, TokenType::Refresh)) {
            Ok(claims) => Outcome::Success(RefreshClaims(claims)),
            Err(error) => Outcome::Error((stash(request, error.into()), ())),
        }
    }
}

/// A refresh token sent in the body rather than in `Authorization`.
#[derive(Debug, utoipa::ToSchema)]
pub struct RefreshRequest {
    /// The `refresh_token` of the last login or refresh.
    pub refresh_token: String,
}

impl RefreshRequest {
    async fn read(request: &Request<'_>, data: Data<'_>) -> Result<RefreshRequest, Problem> {
        let mut reader = read_json_object(request, data).await?.0.reader();
        let token = reader.required_string("refresh_token");
        reader.finish().map_err(Problem::from)?;
        Ok(RefreshRequest { refresh_token: token.unwrap_or_default() })
    }
}

/// The query string's parameters, percent-decoded. An empty value is a
/// value (`limit=` is not a number); a parameter given twice where one is
/// expected is an error rather than a silent pick.
pub struct QueryParams(BTreeMap<String, Vec<String>>);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for QueryParams {
    type Error = std::convert::Infallible;

    async fn from_request(request: &'r Request<'_>) -> request::Outcome<Self, Self::Error> {
        let mut params: BTreeMap<String, Vec<String>> = BTreeMap::new();
        if let Some(query) = request.uri().query() {
            for (name, value) in query.segments() {
                params.entry(name.to_owned()).or_default().push(value.to_owned());
            }
        }
        Outcome::Success(QueryParams(params))
    }
}

impl QueryParams {
    /// A parameter that may be given once.
    pub fn single(&self, name: &str, errors: &mut FieldErrors) -> Option<&str> {
        match self.0.get(name).map(Vec::as_slice) {
            None | Some([]) => None,
            Some([value]) => Some(value),
            Some(_) => {
                errors.insert(name.to_owned(), "must be given at most once".to_owned());
                None
            }
        }
    }

    /// Every value of a repeatable parameter.
    pub fn all(&self, name: &str) -> &[String] {
        self.0.get(name).map_or(&[], Vec::as_slice)
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
        let read = match read_json_object(request, data).await {
            Ok((body, text)) => super::idempotency::claim(request, &[text.as_bytes()]).await.map(|()| body),
            Err(problem) => Err(problem),
        };
        match read {
            Ok(body) => Outcome::Success(body),
            Err(problem) => Outcome::Error((stash(request, problem), ())),
        }
    }
}

/// The body as an object, and as the text it came as.
async fn read_json_object(request: &Request<'_>, data: Data<'_>) -> Result<(JsonBody, String), Problem> {
    let is_json = request.content_type().is_some_and(|ct| {
        let media = ct.media_type();
        media.top() == "application" && (media.sub() == "json" || media.sub().as_str().ends_with("+json"))
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
        Problem::new(Status::BadRequest, "malformed_json", "The body is not valid UTF-8 text.")
    })?;
    if !text.is_complete() {
        return Err(Problem::new(
            Status::PayloadTooLarge,
            "payload_too_large",
            format!("The body is larger than {limit}."),
        ));
    }
    let text = text.into_inner();
    let body = serde_json::from_str::<BTreeMap<String, Box<RawValue>>>(&text).map(JsonBody).map_err(|e| {
        if e.is_data() {
            Problem::invalid(FieldErrors::from([("body".to_owned(), "must be a JSON object".to_owned())]))
        } else {
            Problem::new(Status::BadRequest, "malformed_json", format!("The body is not valid JSON: {e}."))
        }
    })?;
    Ok((body, text))
}

impl JsonBody {
    pub fn reader(self) -> BodyReader {
        BodyReader { fields: self.0, errors: FieldErrors::new() }
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

    /// An optional string member.
    pub fn string(&mut self, name: &str) -> Option<String> {
        let raw = self.take(name)?;
        match serde_json::from_str::<String>(raw.get()) {
            Ok(value) => Some(value),
            Err(_) => self.fail(name, "must be a string"),
        }
    }

    /// A required string member.
    pub fn required_string(&mut self, name: &str) -> Option<String> {
        if !self.fields.contains_key(name) {
            return self.fail(name, "is required");
        }
        self.string(name)
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
    /// text for `Price::parse`. Strings must be plain decimals (`12.50`).
    pub fn decimal_text(&mut self, name: &str) -> Option<String> {
        let raw = self.take(name)?;
        let text = raw.get();
        if text.starts_with('"') {
            match serde_json::from_str::<String>(text) {
                Ok(value) if is_plain_decimal(&value) => Some(value),
                Ok(value) => {
                    // Say what is wrong with the amount when there is something.
                    let message = match crate::price::Price::parse(&value) {
                        Err(why) => why.0,
                        Ok(_) => "must be written as a plain decimal such as 12.50",
                    };
                    self.fail(name, message)
                }
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
        match positive_integer(&raw) {
            Some(id) => Some(id),
            None => self.fail(name, "must be a positive integer id"),
        }
    }

    /// A required array of positive integer ids.
    pub fn required_ids(&mut self, name: &str) -> Option<Vec<i64>> {
        let Some(raw) = self.take(name) else {
            return self.fail(name, "is required");
        };
        let ids = serde_json::from_str::<Vec<Box<RawValue>>>(raw.get())
            .ok()
            .and_then(|values| values.iter().map(|v| positive_integer(v)).collect::<Option<Vec<i64>>>());
        match ids {
            Some(ids) => Some(ids),
            None => self.fail(name, "must be an array of positive integer ids"),
        }
    }

    /// An optional id that may be `null` (`Some(None)`).
    pub fn nullable_id(&mut self, name: &str) -> Option<Option<i64>> {
        let raw = self.take(name)?;
        if raw.get() == "null" {
            return Some(None);
        }
        match positive_integer(&raw) {
            Some(id) => Some(Some(id)),
            None => self.fail(name, "must be a positive integer id or null"),
        }
    }

    /// An optional array of strings.
    pub fn strings(&mut self, name: &str) -> Option<Vec<String>> {
        let raw = self.take(name)?;
        match serde_json::from_str::<Vec<String>>(raw.get()) {
            Ok(values) => Some(values),
            Err(_) => self.fail(name, "must be an array of strings"),
        }
    }

    /// An optional boolean.
    pub fn boolean(&mut self, name: &str) -> Option<bool> {
        let raw = self.take(name)?;
        match serde_json::from_str::<bool>(raw.get()) {
            Ok(value) => Some(value),
            Err(_) => self.fail(name, "must be true or false"),
        }
    }

    /// An optional integer of 0 or more (a place in a list).
    pub fn index(&mut self, name: &str) -> Option<i64> {
        let raw = self.take(name)?;
        match integer(&raw).filter(|&value| value >= 0) {
            Some(value) => Some(value),
            None => self.fail(name, "must be an integer of 0 or more"),
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

/// A JSON number that is a positive integer. As in JSON Schema, `7.0` is
/// the integer 7; fractions, and values past the range of ids, are not.
fn positive_integer(raw: &RawValue) -> Option<i64> {
    integer(raw).filter(|&id| id > 0)
}

/// A JSON number that is an integer (`7.0` and `7e0` included).
fn integer(raw: &RawValue) -> Option<i64> {
    let text = raw.get();
    let integer = match text.parse::<i64>() {
        Ok(value) => Some(value),
        Err(_) => match text.split_once('.') {
            Some((whole, zeros)) if !zeros.is_empty() && zeros.bytes().all(|b| b == b'0') => {
                whole.parse().ok()
            }
            // Exponent notation (`1e3`): exact as a float up to 2^53.
            _ if text.contains(['e', 'E']) => text
                .parse::<f64>()
                .ok()
                .filter(|v| v.fract() == 0.0 && v.abs() < 9_007_199_254_740_992.0)
                .map(|v| v as i64),
            _ => None,
        },
    };
    integer
}

/// `0`, `12`, `12.5`, `12.50`: at most ten whole digits without leading
/// zeros and two decimals. The form of prices as text (JSON strings, query
/// parameters); JSON numbers may use any notation.
pub fn is_plain_decimal(text: &str) -> bool {
    let (whole, fraction) = match text.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (text, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    digits(whole)
        && whole.len() <= 10
        && (whole == "0" || !whole.starts_with('0'))
        && fraction.is_none_or(|f| digits(f) && f.len() <= 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_decimals_are_what_the_schema_pattern_says() {
        for ok in ["0", "0.5", "12", "12.50", "9999999999.99"] {
            assert!(is_plain_decimal(ok), "{ok}");
        }
        for bad in ["", "01", "1.", ".5", "1.005", "1e2", "-1", "+1", "12345678901", "1,5", " 1", "NaN"] {
            assert!(!is_plain_decimal(bad), "{bad}");
        }
    }

    #[test]
    fn json_integers_may_carry_a_zero_fraction() {
        let raw = |text: &str| serde_json::from_str::<Box<RawValue>>(text).unwrap();
        assert_eq!(positive_integer(&raw("7")), Some(7));
        assert_eq!(positive_integer(&raw("7.000")), Some(7));
        assert_eq!(positive_integer(&raw("1e2")), Some(100));
        for bad in ["0", "-7", "7.5", "\"7\"", "1.5e0", "1e300", "99999999999999999999", "true"] {
            assert_eq!(positive_integer(&raw(bad)), None, "{bad}");
        }
    }
}
