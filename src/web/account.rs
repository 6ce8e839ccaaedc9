//! Account pages: register, log in and out, password, sessions and personal
//! access tokens. Every form is CSRF-checked; nothing changes on GET.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use rocket::form::FromForm;
use rocket::http::{Cookie, CookieJar, SameSite, Status};
use rocket::response::{Flash, Redirect};
use rocket::{get, post, routes, Route, State};
use rocket_dyn_templates::Template;
use serde::Serialize;

use super::csrf::{CheckedForm, ConfirmForm, CsrfProtected};
use super::error::{FormRefusal, PageError, SentBack};
use super::layout::Layout;
use super::resume::{self, Draft, SealedDraft};
use super::session::{self, MaybeUser, WebUser};
use super::two_step;
use crate::auth::jwt::TokenKeys;
use crate::auth::passkeys::RelyingParty;
use crate::config::AppConfig;
use crate::db::Db;
use crate::error::{Error, SecondStep};
use crate::flows;
use crate::models::{Session, SessionKind, Via};
use crate::request::{ClientAddress, SiteUrl, UserAgent};
use crate::services::two_step::Proof;
use crate::services::{sessions, stores};

pub fn routes() -> Vec<Route> {
    routes![
        overview,
        show_login,
        login,
        register_page,
        register,
        logout,
        password_page,
        change_password,
        sessions_page,
        end_session,
        tokens_page,
        create_token,
        revoke_token
    ]
}

type Errors = BTreeMap<String, String>;

/// Where to go after logging in: a path on this site only, with whatever a
/// URI may not hold as it is (spaces, control and non-ASCII characters)
/// percent-encoded, so that it always makes a valid `Location`.
fn safe_next(next: Option<&str>) -> String {
    let fallback = || "/account".to_owned();
    let Some(path) = next.filter(|path| path.starts_with('/') && !path.starts_with("//")) else {
        return fallback();
    };
    if path.contains('\\') {
        return fallback();
    }
    let mut encoded = String::with_capacity(path.len());
    for byte in path.bytes() {
        if byte.is_ascii_graphic() && !b"\"<>`{}|^".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    match rocket::http::uri::Origin::parse(&encoded) {
        Ok(_) => encoded,
        Err(_) => fallback(),
    }
}

#[derive(Serialize)]
struct OverviewPage {
    layout: Layout,
    email: String,
    role: String,
    id: i64,
    stores: Vec<OwnedStore>,
    /// How many stores the user owns, shown or not.
    store_count: i64,
}

#[derive(Serialize)]
struct OwnedStore {
    id: i64,
    name: String,
    items: i64,
}

/// How many of their stores the account page lists.
const STORES_LISTED: i64 = 20;

#[get("/")]
async fn overview(db: Db, user: WebUser, layout: Layout) -> Result<Template, PageError> {
    let WebUser { user, .. } = user;
    let owner = user.id;
    let (owned, store_count) = db.run(move |conn| stores::owned_by(conn, owner, STORES_LISTED)).await?;
    let stores = owned
        .into_iter()
        .map(|(store, items)| OwnedStore { id: store.id, name: store.name, items })
        .collect();
    Ok(Template::render(
        "account/overview.html",
        OverviewPage {
            layout,
            email: user.email,
            role: user.role.to_string(),
            id: user.id,
            stores,
            store_count,
        },
    ))
}

#[derive(Serialize)]
struct CredentialsPage {
    layout: Layout,
    email: String,
    next: String,
    errors: Errors,
    /// How long sessions last, for the "keep me signed in" box.
    remember_days: i64,
    idle_minutes: i32,
    /// What a form sent after its session ended held, carried to `next`,
    /// and the seal that binds it to the account whose session typed it.
    draft: Option<String>,
    draft_seal: Option<String>,
    /// The password was right: the page asks for the account's second step.
    second_step: bool,
    remember: bool,
    /// What the account can give as its second step: app codes, passkeys;
    /// and the options of a passkey sign-in begun, for the page's script.
    apps: bool,
    passkeys: bool,
    passkey_options: Option<String>,
}

impl CredentialsPage {
    fn new(
        layout: Layout,
        config: &AppConfig,
        email: String,
        next: String,
        errors: Errors,
    ) -> CredentialsPage {
        let (remember_days, idle_minutes) = (config.remember_days, config.session_idle_minutes);
        CredentialsPage {
            layout,
            email,
            next,
            errors,
            remember_days,
            idle_minutes,
            draft: None,
            draft_seal: None,
            second_step: false,
            remember: false,
            apps: true,
            passkeys: false,
            passkey_options: None,
        }
    }

    /// The page that asks for the second step of a login of `email`.
    fn second_step(mut self, remember: bool) -> CredentialsPage {
        self.second_step = true;
        self.remember = remember;
        self
    }

    fn carrying(mut self, sealed: Option<SealedDraft>) -> CredentialsPage {
        if let Some(SealedDraft { draft, seal }) = sealed {
            self.draft = Some(draft.as_str().to_owned());
            self.draft_seal = Some(seal);
        }
        self
    }
}

/// The login page, leading to `next`, with what a form held if it carries it there.
pub(super) fn login_page(
    layout: Layout,
    config: &AppConfig,
    next: String,
    draft: Option<SealedDraft>,
) -> Template {
    let page = CredentialsPage::new(layout, config, String::new(), next, Errors::new()).carrying(draft);
    Template::render("account/login.html", page)
}

#[get("/login?<next>")]
fn show_login(layout: Layout, config: &State<AppConfig>, next: Option<&str>) -> Template {
    login_page(layout, config, safe_next(next), None)
}

#[derive(FromForm)]
struct LoginForm {
    #[field(default = String::new())]
    csrf_token: String,
    #[field(default = String::new())]
    email: String,
    #[field(default = String::new())]
    password: String,
    next: Option<String>,
    /// "Keep me signed in" (members only).
    #[field(default = false)]
    remember: bool,
    /// What a form held when it was sent after its session ended, and its seal.
    draft: Option<String>,
    draft_seal: Option<String>,
    /// The second step, sent from the page that asks for it: a code, or a
    /// passkey's answer (JSON).
    code: Option<String>,
    passkey: Option<String>,
}

impl CsrfProtected for LoginForm {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

/// Who is logging in from this browser, as the login form and registration
/// both describe it.
struct Browser {
    client: String,
    user_agent: Option<String>,
    device_token: Option<String>,
    /// Where the browser reached the site, which passkeys are made for.
    site: String,
}

impl Browser {
    fn attempt(self, email: String, password: String, remember: bool) -> sessions::LoginAttempt {
        sessions::LoginAttempt {
            email,
            password,
            client: self.client,
            user_agent: self.user_agent,
            kind: SessionKind::Web,
            device_token: self.device_token,
            remember,
            second_step: None,
        }
    }
}

#[rocket::async_trait]
impl<'r> rocket::request::FromRequest<'r> for Browser {
    type Error = std::convert::Infallible;

    async fn from_request(request: &'r rocket::Request<'_>) -> rocket::request::Outcome<Self, Self::Error> {
        let secure = session::secure(request);
        let client = request.guard::<ClientAddress>().await.succeeded().map(|c| c.0).unwrap_or_default();
        let user_agent = request.guard::<UserAgent>().await.succeeded().and_then(|ua| ua.0);
        let device_token = session::device_token(request.cookies(), secure);
        let site = crate::request::site_url(request);
        rocket::outcome::Outcome::Success(Browser { client, user_agent, device_token, site })
    }
}

/// Opens a web session and sets its cookies, ending the browser's previous
/// one: after the password, or after the second step of an account that has
/// one (`pending` is then who the password was right for). Returns the new
/// session.
async fn start_session(
    db: &Db,
    config: &AppConfig,
    keys: &TokenKeys,
    cookies: &CookieJar<'_>,
    previous: Option<WebUser>,
    attempt: sessions::LoginAttempt,
    pending: Option<i64>,
) -> Result<Session, Error> {
    let logged_in = match pending {
        Some(user_id) => flows::second_step(db, config, keys, user_id, attempt).await?,
        None => flows::login(db, config, keys, attempt).await?,
    };
    cookies.remove_private(Cookie::build(PENDING_LOGIN).path(LOGIN));
    two_step::end_ceremony(cookies, LOGIN);
    if let Some(previous) = previous {
        let (user_id, id) = (previous.user.id, previous.session.id);
        db.run(move |conn| sessions::end_session(conn, user_id, id)).await?;
    }
    session::set_cookie(cookies, &logged_in.session, config.secure_cookies);
    session::set_device_cookie(
        cookies,
        logged_in.device_token,
        config.device_token_days,
        config.secure_cookies,
    );
    Ok(logged_in.session)
}

/// The cookie that says a login's password was right a moment ago: whose
/// account, for what email, until when. Private (encrypted and signed).
const PENDING_LOGIN: &str = "login_pending";
/// Where logging in happens, and its cookies live.
const LOGIN: &str = "/account/login";
/// How long the second step may take.
const PENDING_MINUTES: i64 = 5;

fn set_pending(cookies: &CookieJar<'_>, user_id: i64, email: &str, secure: bool) {
    let until = (Utc::now() + Duration::minutes(PENDING_MINUTES)).timestamp();
    let value = format!("{user_id}:{until}:{}", email.trim().to_lowercase());
    let cookie = Cookie::build((PENDING_LOGIN, value))
        .path(LOGIN)
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Lax)
        .max_age(rocket::time::Duration::minutes(PENDING_MINUTES));
    cookies.add_private(cookie);
}

/// The page that asks for the second step of account `user_id`'s login,
/// offering a passkey sign-in when the account has passkeys (the
/// ceremony's id waits in a private cookie).
async fn second_step_page(
    db: &Db,
    cookies: &CookieJar<'_>,
    site: &str,
    secure: bool,
    user_id: i64,
    mut page: CredentialsPage,
) -> Result<Template, Error> {
    let party = RelyingParty::at(site).ok();
    let offered = db.run(move |conn| crate::services::two_step::offer(conn, user_id, party.as_ref())).await?;
    if let Some(ceremony) = &offered.ceremony {
        two_step::keep_ceremony(cookies, LOGIN, ceremony.id, secure);
        page.passkey_options = Some(ceremony.options.to_string());
    }
    page.apps = offered.apps;
    page.passkeys = offered.passkeys;
    Ok(Template::render("account/login.html", page))
}

/// Whose password was right a moment ago for `email`, if anyone's.
fn pending(cookies: &CookieJar<'_>, email: &str) -> Option<i64> {
    let cookie = cookies.get_private(PENDING_LOGIN)?;
    let mut parts = cookie.value().splitn(3, ':');
    let user_id: i64 = parts.next()?.parse().ok()?;
    let until: i64 = parts.next()?.parse().ok()?;
    let account = parts.next()?;
    (until > Utc::now().timestamp() && account == email.trim().to_lowercase()).then_some(user_id)
}

#[allow(clippy::too_many_arguments)] // one per guard; each is needed
#[post("/login", data = "<form>")]
async fn login(
    db: Db,
    config: &State<AppConfig>,
    keys: &State<TokenKeys>,
    cookies: &CookieJar<'_>,
    current: MaybeUser,
    browser: Browser,
    layout: Layout,
    form: CheckedForm<LoginForm>,
) -> Result<Result<Flash<Redirect>, SentBack>, PageError> {
    let LoginForm { email, password, next, remember, draft, draft_seal, code, passkey, .. } = form.0;
    let next = safe_next(next.as_deref());
    let (site, secure) = (browser.site.clone(), config.secure_cookies);
    let mut attempt = browser.attempt(email.clone(), password, remember);
    let pending = match code.is_some() || passkey.is_some() {
        true => match pending(cookies, &email) {
            Some(user_id) => Some(user_id),
            None => {
                let errors = Errors::from([(
                    "form".to_owned(),
                    format!("The second step must follow the password within {PENDING_MINUTES} minutes: log in again."),
                )]);
                let page = CredentialsPage::new(layout, config, email, next, errors);
                return Ok(Err(SentBack::new(
                    Status::Unauthorized,
                    Template::render("account/login.html", page),
                )));
            }
        },
        false => None,
    };
    let passkey = passkey.filter(|answer| !answer.trim().is_empty());
    let by_passkey = passkey.is_some();
    attempt.second_step = match passkey {
        Some(answer) => {
            // Without a ceremony under way (or a site passkeys can be made
            // for) there is nothing it can answer, and it counts as wrong.
            let ceremony = two_step::ceremony(cookies).unwrap_or_default();
            RelyingParty::at(&site).ok().map(|party| Proof::Passkey { party, ceremony, answer })
        }
        None => code.map(Proof::Code),
    }
    .or(pending.map(|_| Proof::Code(String::new())));
    match start_session(&db, config, keys, cookies, current.0, attempt, pending).await {
        Ok(session) => {
            // Only the account whose session typed the draft gets it back.
            let draft = draft
                .zip(draft_seal)
                .and_then(|(draft, seal)| Draft::unseal(&draft, &seal, keys, session.user_id));
            let next = match draft {
                Some(draft) => resume::keep(&db, session.id, next, draft).await?,
                None => next,
            };
            Ok(Ok(Flash::success(Redirect::to(next), "You are logged in.")))
        }
        Err(error) => {
            // Carried on as it came: the login that succeeds opens the seal.
            let sealed = draft.as_deref().and_then(Draft::parse).zip(draft_seal);
            let sealed = sealed.map(|(draft, seal)| SealedDraft { draft, seal });
            if let Error::SecondStep(SecondStep::Needed { user_id }) = error {
                set_pending(cookies, user_id, &email, secure);
                let page = CredentialsPage::new(layout, config, email, next, Errors::new())
                    .carrying(sealed)
                    .second_step(remember);
                let page = second_step_page(&db, cookies, &site, secure, user_id, page).await?;
                return Ok(Err(SentBack::new(Status::Ok, page)));
            }
            let wrong_passkey = by_passkey && matches!(error, Error::SecondStep(SecondStep::WrongCode));
            let mut refusal = FormRefusal::of(error, "form")?;
            if wrong_passkey {
                refusal.errors = Errors::from([(
                    "form".to_owned(),
                    "That passkey did not sign in: use one added to this account, or a code.".to_owned(),
                )]);
            }
            let page =
                CredentialsPage::new(layout, config, email, next, refusal.errors.clone()).carrying(sealed);
            let page = match pending {
                Some(user_id) => {
                    second_step_page(&db, cookies, &site, secure, user_id, page.second_step(remember)).await?
                }
                None => Template::render("account/login.html", page),
            };
            Ok(Err(refusal.send_back(page)))
        }
    }
}

#[get("/register")]
fn register_page(layout: Layout, config: &State<AppConfig>) -> Template {
    let page = CredentialsPage::new(layout, config, String::new(), "/account".into(), Errors::new());
    Template::render("account/register.html", page)
}

#[allow(clippy::too_many_arguments)] // one per guard; each is needed
#[post("/register", data = "<form>")]
async fn register(
    db: Db,
    config: &State<AppConfig>,
    keys: &State<TokenKeys>,
    cookies: &CookieJar<'_>,
    current: MaybeUser,
    browser: Browser,
    layout: Layout,
    form: CheckedForm<LoginForm>,
) -> Result<Result<Flash<Redirect>, SentBack>, PageError> {
    let LoginForm { email, password, .. } = form.0;
    if let Err(error) = flows::register(&db, &email, password.clone(), Via::Web).await {
        let refusal = FormRefusal::of(error, "email")?;
        let page = CredentialsPage::new(layout, config, email, "/account".into(), refusal.errors.clone());
        return Ok(Err(refusal.send_back(Template::render("account/register.html", page))));
    }
    let attempt = browser.attempt(email, password, false);
    start_session(&db, config, keys, cookies, current.0, attempt, None).await?;
    Ok(Ok(Flash::success(Redirect::to("/account"), "Welcome! Your account is ready.")))
}

#[post("/logout", data = "<_form>")]
async fn logout(
    db: Db,
    user: WebUser,
    config: &State<AppConfig>,
    cookies: &CookieJar<'_>,
    _form: CheckedForm<ConfirmForm>,
) -> Result<Flash<Redirect>, PageError> {
    let (user_id, id) = (user.user.id, user.session.id);
    db.run(move |conn| sessions::end_session(conn, user_id, id)).await?;
    session::clear_cookie(cookies, config.secure_cookies);
    Ok(Flash::success(Redirect::to("/"), "You are logged out."))
}

#[derive(Serialize)]
struct PasswordPage {
    layout: Layout,
    errors: Errors,
}

#[get("/password")]
fn password_page(_user: WebUser, layout: Layout) -> Template {
    Template::render("account/password.html", PasswordPage { layout, errors: Errors::new() })
}

#[derive(FromForm)]
struct PasswordForm {
    #[field(default = String::new())]
    csrf_token: String,
    #[field(default = String::new())]
    current_password: String,
    #[field(default = String::new())]
    new_password: String,
}

impl CsrfProtected for PasswordForm {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

#[post("/password", data = "<form>")]
async fn change_password(
    db: Db,
    user: WebUser,
    layout: Layout,
    form: CheckedForm<PasswordForm>,
) -> Result<Result<Flash<Redirect>, SentBack>, PageError> {
    let PasswordForm { current_password, new_password, .. } = form.0;
    match flows::change_password(&db, &user.user, user.session.id, current_password, new_password).await {
        Ok(()) => Ok(Ok(Flash::success(
            Redirect::to("/account"),
            "Your password is changed. Your other sessions and API tokens have been ended.",
        ))),
        Err(error) => {
            let refusal = FormRefusal::of(error, "form")?;
            let page = PasswordPage { layout, errors: refusal.errors.clone() };
            Ok(Err(refusal.send_back(Template::render("account/password.html", page))))
        }
    }
}

#[derive(Serialize)]
struct SessionRow {
    id: i64,
    kind: String,
    user_agent: String,
    created_at: String,
    last_seen_at: String,
    current: bool,
}

#[derive(Serialize)]
struct SessionsPage {
    layout: Layout,
    sessions: Vec<SessionRow>,
}

fn when(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

#[get("/sessions")]
async fn sessions_page(db: Db, user: WebUser, layout: Layout) -> Result<Template, PageError> {
    let user_id = user.user.id;
    let rows = db.run(move |conn| sessions::live_sessions(conn, user_id)).await?;
    let sessions = rows
        .into_iter()
        .map(|s| SessionRow {
            current: s.id == user.session.id,
            id: s.id,
            kind: if s.kind == SessionKind::Web { "Browser".into() } else { "API".into() },
            user_agent: s.user_agent.unwrap_or_else(|| "unknown".into()),
            created_at: when(s.created_at),
            last_seen_at: when(s.last_seen_at),
        })
        .collect();
    Ok(Template::render("account/sessions.html", SessionsPage { layout, sessions }))
}

#[post("/sessions/<id>/end", data = "<_form>")]
async fn end_session(
    db: Db,
    user: WebUser,
    config: &State<AppConfig>,
    cookies: &CookieJar<'_>,
    id: i64,
    _form: CheckedForm<ConfirmForm>,
) -> Result<Flash<Redirect>, PageError> {
    let user_id = user.user.id;
    let ended = db.run(move |conn| sessions::end_session(conn, user_id, id)).await?;
    if id == user.session.id {
        session::clear_cookie(cookies, config.secure_cookies);
        return Ok(Flash::success(Redirect::to("/"), "This session has ended."));
    }
    Ok(if ended {
        Flash::success(Redirect::to("/account/sessions"), "The session has ended.")
    } else {
        Flash::error(Redirect::to("/account/sessions"), "That session had already ended.")
    })
}

#[derive(Serialize)]
struct TokenRow {
    id: i64,
    name: String,
    prefix: String,
    created_at: String,
    last_used_at: String,
    expires_at: String,
    state: &'static str,
}

#[derive(Serialize)]
struct CreatedToken {
    secret: String,
    curl: String,
}

#[derive(Serialize)]
struct TokensPage {
    layout: Layout,
    tokens: Vec<TokenRow>,
    created: Option<CreatedToken>,
    name: String,
    errors: Errors,
}

async fn tokens_view(
    db: &Db,
    user: &WebUser,
    layout: Layout,
    created: Option<CreatedToken>,
    name: String,
    errors: Errors,
) -> Result<Template, PageError> {
    let user_id = user.user.id;
    let rows = db.run(move |conn| sessions::personal_tokens(conn, user_id)).await?;
    let now = Utc::now();
    let tokens = rows
        .into_iter()
        .map(|t| TokenRow {
            state: if t.revoked_at.is_some() {
                "revoked"
            } else if t.is_live(now) {
                "active"
            } else {
                "expired"
            },
            id: t.id,
            name: t.name,
            prefix: t.prefix,
            created_at: when(t.created_at),
            last_used_at: t.last_used_at.map_or_else(|| "never".into(), when),
            expires_at: t.expires_at.map_or_else(|| "never".into(), when),
        })
        .collect();
    Ok(Template::render("account/tokens.html", TokensPage { layout, tokens, created, name, errors }))
}

#[get("/tokens")]
async fn tokens_page(
    db: Db,
    user: WebUser,
    layout: Layout,
    site: SiteUrl,
    cookies: &CookieJar<'_>,
    config: &State<AppConfig>,
) -> Result<Template, PageError> {
    // The new token's secret travels from its creation to this one page in
    // a cookie, so that reloading the page neither shows it again nor makes
    // another.
    let cookie_name = session::new_token_cookie(config.secure_cookies);
    let created = cookies.get_private(cookie_name).map(|cookie| {
        let secret = cookie.value().to_owned();
        let curl = format!("curl -H 'Authorization: Bearer {secret}' {}/api/user/{}", site.0, user.user.id);
        CreatedToken { secret, curl }
    });
    if created.is_some() {
        cookies.remove_private(Cookie::build(cookie_name).path("/account/tokens"));
    }
    tokens_view(&db, &user, layout, created, String::new(), Errors::new()).await
}

#[derive(FromForm)]
struct TokenForm {
    #[field(default = String::new())]
    csrf_token: String,
    #[field(default = String::new())]
    name: String,
    /// Days until it expires; 0 for never.
    #[field(default = 90)]
    expires_in_days: i64,
}

impl CsrfProtected for TokenForm {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

/// Creates a personal access token; the next page shows it, this once.
#[post("/tokens", data = "<form>")]
async fn create_token(
    db: Db,
    user: WebUser,
    layout: Layout,
    cookies: &CookieJar<'_>,
    config: &State<AppConfig>,
    form: CheckedForm<TokenForm>,
) -> Result<Result<Redirect, SentBack>, PageError> {
    let TokenForm { name, expires_in_days, .. } = form.0;
    let expires_at = match expires_in_days {
        0 => None,
        days @ 1..=3650 => Some(Utc::now() + Duration::days(days)),
        _ => {
            let errors = Errors::from([(
                "expires_in_days".to_owned(),
                "Choose one of the offered lifetimes.".to_owned(),
            )]);
            let page = tokens_view(&db, &user, layout, None, name, errors).await?;
            return Ok(Err(SentBack::new(Status::UnprocessableEntity, page)));
        }
    };
    let user_id = user.user.id;
    let typed = name.clone();
    let created =
        db.run(move |conn| sessions::create_personal_token(conn, user_id, &typed, expires_at)).await;
    match created {
        Ok((_, secret)) => {
            let cookie = Cookie::build((session::new_token_cookie(config.secure_cookies), secret))
                .http_only(true)
                .same_site(SameSite::Strict)
                .secure(config.secure_cookies)
                .path("/account/tokens")
                .max_age(rocket::time::Duration::minutes(5));
            cookies.add_private(cookie);
            Ok(Ok(Redirect::to("/account/tokens")))
        }
        Err(error) => {
            let refusal = FormRefusal::of(error, "name")?;
            let page = tokens_view(&db, &user, layout, None, name, refusal.errors.clone()).await?;
            Ok(Err(refusal.send_back(page)))
        }
    }
}

#[post("/tokens/<id>/revoke", data = "<_form>")]
async fn revoke_token(
    db: Db,
    user: WebUser,
    id: i64,
    _form: CheckedForm<ConfirmForm>,
) -> Result<Flash<Redirect>, PageError> {
    let user_id = user.user.id;
    let revoked = db.run(move |conn| sessions::revoke_personal_token(conn, user_id, id)).await?;
    Ok(if revoked {
        Flash::success(Redirect::to("/account/tokens"), "The token is revoked.")
    } else {
        Flash::error(Redirect::to("/account/tokens"), "That token was already revoked.")
    })
}

/// This site's address as the browser used it, for copy-ready examples.
#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_is_a_path_of_this_site_that_makes_a_valid_location() {
        assert_eq!(safe_next(Some("/admin/items?page=2")), "/admin/items?page=2");
        assert_eq!(safe_next(Some("/search?q=\u{e4}")), "/search?q=%C3%A4");
        assert_eq!(safe_next(Some("/search?q=a b\tc\u{7f}")), "/search?q=a%20b%09c%7F");
        assert_eq!(safe_next(Some("/x?q=\"<b>\"")), "/x?q=%22%3Cb%3E%22");
        for elsewhere in
            [None, Some(""), Some("https://evil.example/"), Some("//evil.example"), Some("/\\evil")]
        {
            assert_eq!(safe_next(elsewhere), "/account", "{elsewhere:?}");
        }
    }
}
