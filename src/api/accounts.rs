//! Registration, login, token refresh and logout, and users.

use rocket::{delete, get, post, routes, Route, State};
use utoipa::ToSchema;

use super::guards::{ApiUser, BodyReader, JsonBody, RefreshClaims, RefreshRequest};
use super::problem::Problem;
use super::respond::{ApiJson, NoContent};
use crate::auth::jwt::TokenKeys;
use crate::config::AppConfig;
use crate::db::{Db, DbOnDemand};
use crate::error::Error;
use crate::flows;
use crate::models::{SessionKind, Via};
use crate::request::{ClientAddress, Id, UserAgent};
use crate::services::{accounts, sessions};
use crate::views::{TokenPairView, UserView};

pub fn routes() -> Vec<Route> {
    routes![register, login, logout, refresh, get_me, get_user, delete_user]
}

/// An email and a password.
#[derive(Debug, ToSchema)]
pub struct Credentials {
    #[schema(example = "ann@example.org", min_length = 3, max_length = 254)]
    pub email: String,
    /// 12 to 128 characters, not a common password.
    #[schema(example = "tulip-harbour-71", min_length = 1, max_length = 128)]
    pub password: String,
}

impl Credentials {
    fn take(reader: &mut BodyReader) -> Credentials {
        let email = reader.required_string("email");
        let password = reader.required_string("password");
        Credentials { email: email.unwrap_or_default(), password: password.unwrap_or_default() }
    }

    fn read(body: JsonBody) -> Result<Credentials, Error> {
        let mut reader: BodyReader = body.reader();
        let credentials = Credentials::take(&mut reader);
        reader.finish()?;
        Ok(credentials)
    }
}

/// Far longer than any device token this app issues.
const DEVICE_TOKEN_MAX: usize = 1000;
/// The longest second-step code read.
const CODE_MAX: usize = 32;

/// An email and a password, and the device token of an earlier login.
#[derive(Debug, ToSchema)]
pub struct LoginRequest {
    #[schema(example = "ann@example.org", min_length = 3, max_length = 254)]
    pub email: String,
    #[schema(example = "tulip-harbour-71", min_length = 1, max_length = 128)]
    pub password: String,
    /// The `device_token` of this client's last successful login, if any.
    /// Failures from a client that shows one are counted for it alone, so
    /// others failing on the account do not lock it out.
    #[schema(max_length = 1000)]
    pub device_token: Option<String>,
    /// For an account that signs in in two steps: a current code of its
    /// authenticator app, or one of its unused recovery codes (passkeys
    /// sign in on the web only). Without it, such an account's login
    /// answers `401` with `two_step_required`.
    #[schema(example = "492039", max_length = 32)]
    pub code: Option<String>,
}

impl LoginRequest {
    fn read(body: JsonBody) -> Result<LoginRequest, Error> {
        let mut reader: BodyReader = body.reader();
        let Credentials { email, password } = Credentials::take(&mut reader);
        let device_token = reader.nullable_string("device_token").flatten();
        let code = reader.nullable_string("code").flatten();
        reader.finish()?;
        if code.as_ref().is_some_and(|code| code.chars().count() > CODE_MAX) {
            return Err(Error::invalid("code", format!("must be at most {CODE_MAX} characters")));
        }
        if device_token.as_ref().is_some_and(|token| token.chars().count() > DEVICE_TOKEN_MAX) {
            return Err(Error::invalid(
                "device_token",
                format!("must be at most {DEVICE_TOKEN_MAX} characters"),
            ));
        }
        Ok(LoginRequest { email, password, device_token, code })
    }
}

/// Register a member account.
///
/// Nobody becomes staff or admin by registering.
#[utoipa::path(post, path = "/api/register", tag = "accounts",
    request_body(content = Credentials, content_type = "application/json"),
    responses(
        (status = 201, description = "The new account", body = UserView,
            headers(("Location" = String, description = "The account's URL"), ("ETag" = String))),
        (status = 409, description = "The email is already registered"),
    ))]
#[post("/register", data = "<body>")]
async fn register(db: DbOnDemand<'_>, body: JsonBody) -> Result<ApiJson<UserView>, Problem> {
    let Credentials { email, password } = Credentials::read(body)?;
    let user = flows::register(&db, &email, password, Via::Api).await?;
    let location = format!("/api/user/{}", user.id);
    Ok(ApiJson::created(UserView::from(user), location))
}

/// Log in and receive a fresh access token, a refresh token and a device token.
///
/// An unknown email and a wrong password get the same answer. A client that
/// sends the `device_token` of its last login may fail 10 times in 15 minutes
/// before it must wait, whatever others do. Clients without one share, per
/// account, 10 failures in 15 minutes (and at most 100 an hour), and 30 per
/// client address; past that they get 429 until the window has moved on.
///
/// An account with an authenticator app signs in in two steps: without
/// `code` its login answers 401 `two_step_required`, with a wrong one 401
/// `invalid_two_step_code` (counted like a wrong password). Staff and admins
/// who must have a second step and have none get 403
/// `two_step_enrolment_required`; their personal access tokens keep working.
#[utoipa::path(post, path = "/api/login", tag = "accounts",
    request_body(content = LoginRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "Tokens for the new session", body = TokenPairView, headers(("ETag" = String))),
        (status = 401, description = "Invalid email or password, or the second step missing or wrong",
            headers(("WWW-Authenticate" = String))),
        (status = 403, description = "Staff must add a second step first"),
        (status = 429, description = "Too many failed attempts",
            headers(("Retry-After" = String, description = "Seconds to wait"))),
    ))]
#[post("/login", data = "<body>")]
async fn login(
    db: DbOnDemand<'_>,
    config: &State<AppConfig>,
    keys: &State<TokenKeys>,
    client: ClientAddress,
    user_agent: UserAgent,
    body: JsonBody,
) -> Result<ApiJson<TokenPairView>, Problem> {
    let LoginRequest { email, password, device_token, code } = LoginRequest::read(body)?;
    let attempt = sessions::LoginAttempt {
        email,
        password,
        client: client.0,
        user_agent: user_agent.0,
        kind: SessionKind::Api,
        device_token,
        remember: false,
        second_step: code.map(crate::services::two_step::Proof::Code),
    };
    let logged_in = flows::login(&db, config, keys, attempt).await?;
    let (access_token, refresh_token) = sessions::tokens_for(keys, &logged_in.session, true)?;
    Ok(ApiJson::ok(TokenPairView {
        access_token,
        refresh_token,
        token_type: "Bearer",
        expires_in: keys.access_lifetime.num_seconds(),
        device_token: Some(logged_in.device_token),
        user: UserView::from(logged_in.user),
    }))
}

/// Log out: revoke the session behind the access token, refresh token
/// included (or the personal access token used).
#[utoipa::path(post, path = "/api/logout", tag = "accounts", security(("bearer" = [])),
    responses(
        (status = 204, description = "Logged out"),
        (status = 401, description = "No valid token"),
    ))]
#[post("/logout")]
async fn logout(db: Db, user: ApiUser) -> Result<NoContent, Problem> {
    let user_id = user.actor.user_id;
    db.run(move |conn| sessions::logout(conn, user.credential, user_id)).await?;
    Ok(NoContent)
}

/// Exchange a refresh token for a new (not fresh) access token and a new
/// refresh token. Send it as `Authorization: Bearer <refresh token>`, or
/// without that header as the JSON body `{"refresh_token": "..."}`. Each
/// refresh token works once: presenting a used one revokes the whole session.
#[utoipa::path(post, path = "/api/refresh", tag = "accounts", security(("bearer" = [])),
    request_body(content = Option<RefreshRequest>, content_type = "application/json",
        description = "Only when the token is not in `Authorization`"),
    responses(
        (status = 200, description = "New tokens", body = TokenPairView, headers(("ETag" = String))),
        (status = 401, description = "Not a valid, current refresh token"),
    ))]
#[post("/refresh", data = "<claims>")]
async fn refresh(
    db: Db,
    keys: &State<TokenKeys>,
    claims: RefreshClaims,
) -> Result<ApiJson<TokenPairView>, Problem> {
    let (user, session) = db.run(move |conn| sessions::refresh(conn, &claims.0)).await?;
    let (access_token, refresh_token) = sessions::tokens_for(keys, &session, false)?;
    Ok(ApiJson::ok(TokenPairView {
        access_token,
        refresh_token,
        token_type: "Bearer",
        expires_in: keys.access_lifetime.num_seconds(),
        device_token: None,
        user: UserView::from(user),
    }))
}

/// Your own account: whose token this is.
#[utoipa::path(get, path = "/api/user/me", tag = "users", security(("bearer" = [])),
    responses(
        (status = 200, description = "Your account", body = UserView, headers(("ETag" = String))),
        (status = 304, description = "Not modified since the given ETag"),
        (status = 401, description = "No valid token"),
    ))]
#[get("/user/me")]
async fn get_me(db: Db, user: ApiUser) -> Result<ApiJson<UserView>, Problem> {
    let found = db.run(move |conn| accounts::get(conn, &user.actor, user.actor.user_id)).await?;
    Ok(ApiJson::ok(UserView::from(found)))
}

/// A user's account: yours, or anyone's for an admin.
#[utoipa::path(get, path = "/api/user/{id}", tag = "users", security(("bearer" = [])),
    params(("id" = i64, Path, minimum = 1, description = "User id")),
    responses(
        (status = 200, description = "The account", body = UserView, headers(("ETag" = String))),
        (status = 304, description = "Not modified since the given ETag"),
        (status = 401, description = "No valid token"),
        (status = 403, description = "Not your account"),
        (status = 404, description = "No such user"),
    ))]
#[get("/user/<id>")]
async fn get_user(db: Db, user: ApiUser, id: Id) -> Result<ApiJson<UserView>, Problem> {
    let found = db.run(move |conn| accounts::get(conn, &user.actor, id.0)).await?;
    Ok(ApiJson::ok(UserView::from(found)))
}

/// Delete an account: your own with a fresh token, or anyone's as an admin.
/// Its stores stay, without an owner.
#[utoipa::path(delete, path = "/api/user/{id}", tag = "users", security(("bearer" = [])),
    params(("id" = i64, Path, minimum = 1, description = "User id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "No valid token, or not a fresh one"),
        (status = 403, description = "Not your account, or your own with a personal access token"),
        (status = 404, description = "No such user"),
    ))]
#[delete("/user/<id>")]
async fn delete_user(db: Db, user: ApiUser, id: Id) -> Result<NoContent, Problem> {
    db.run(move |conn| accounts::delete(conn, &user.actor, id.0)).await?;
    Ok(NoContent)
}
