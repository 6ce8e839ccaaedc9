//! The account's two-step sign-in (`/account/two-step`): add an
//! authenticator app from a QR code drawn by the server (its secret waits
//! in a private cookie until a code from the app confirms it), add a
//! passkey (the browser's part is `static/passkeys.js`), remove either,
//! and make new recovery codes, which are shown once.

use rocket::form::FromForm;
use rocket::http::{Cookie, CookieJar, SameSite, Status};
use rocket::response::{Flash, Redirect};
use rocket::serde::json::Json;
use rocket::{get, post, routes, Route, State};
use rocket_dyn_templates::Template;
use serde::Serialize;

use super::csrf::{CheckedForm, ConfirmForm, CsrfProtected};
use super::error::{FormRefusal, PageError, SentBack};
use super::layout::Layout;
use super::session::WebUser;
use crate::auth::passkeys::RelyingParty;
use crate::auth::totp;
use crate::config::AppConfig;
use crate::db::Db;
use crate::error::{Error, FieldErrors};
use crate::models::Via;
use crate::request::SiteUrl;
use crate::services::two_step;

pub fn routes() -> Vec<Route> {
    routes![overview, app_page, add_app, passkey_options, add_passkey, remove, recovery_codes]
}

/// Where the page is.
pub const PAGE: &str = "/account/two-step";
/// The cookie holding the secret of an app being added.
const SECRET_COOKIE: &str = "two_step_secret";
/// The cookie holding the id of the passkey ceremony under way.
const PASSKEY_COOKIE: &str = "passkey_ceremony";

/// Keeps, for the browser at `path`, which passkey ceremony it is in.
pub fn keep_ceremony(cookies: &CookieJar<'_>, path: &'static str, id: i64, secure: bool) {
    let cookie = Cookie::build((PASSKEY_COOKIE, id.to_string()))
        .path(path)
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Strict)
        .max_age(rocket::time::Duration::minutes(two_step::CEREMONY_MINUTES));
    cookies.add_private(cookie);
}

/// The passkey ceremony the browser is in, if any.
pub fn ceremony(cookies: &CookieJar<'_>) -> Option<i64> {
    cookies.get_private(PASSKEY_COOKIE)?.value().parse().ok()
}

/// Forgets the ceremony, which has ended.
pub fn end_ceremony(cookies: &CookieJar<'_>, path: &'static str) {
    cookies.remove_private(Cookie::build(PASSKEY_COOKIE).path(path));
}

#[derive(Serialize)]
struct FactorView {
    id: i64,
    name: String,
    added: String,
    last_used: Option<String>,
}

#[derive(Serialize)]
struct TwoStepPage {
    layout: Layout,
    title: &'static str,
    apps: Vec<FactorView>,
    passkeys: Vec<FactorView>,
    recovery_codes_left: i64,
    /// New recovery codes, shown this once.
    new_codes: Vec<String>,
    /// Staff must have a second step here.
    required: bool,
    /// The passkey form as sent back, and what was wrong with it.
    passkey_name: String,
    errors: FieldErrors,
}

async fn overview_page(
    db: &Db,
    user: &WebUser,
    layout: Layout,
    config: &AppConfig,
    new_codes: Vec<String>,
) -> Result<Template, PageError> {
    overview_with(db, user, layout, config, new_codes, String::new(), FieldErrors::new()).await
}

async fn overview_with(
    db: &Db,
    user: &WebUser,
    layout: Layout,
    config: &AppConfig,
    new_codes: Vec<String>,
    passkey_name: String,
    errors: FieldErrors,
) -> Result<Template, PageError> {
    let user_id = user.user.id;
    let overview = db.run(move |conn| two_step::overview(conn, user_id)).await?;
    let when = |at: chrono::DateTime<chrono::Utc>| at.format("%Y-%m-%d %H:%M UTC").to_string();
    let views = |factors: Vec<two_step::Factor>| -> Vec<FactorView> {
        factors
            .into_iter()
            .map(|factor| FactorView {
                id: factor.id,
                name: factor.name,
                added: when(factor.added),
                last_used: factor.last_used.map(when),
            })
            .collect()
    };
    let page = TwoStepPage {
        layout,
        title: "Two-step sign-in",
        apps: views(overview.apps),
        passkeys: views(overview.passkeys),
        recovery_codes_left: overview.recovery_codes_left,
        new_codes,
        required: config.staff_two_step_required() && user.user.role != crate::models::Role::Member,
        passkey_name,
        errors,
    };
    Ok(Template::render("account/two_step.html", page))
}

#[get("/two-step")]
async fn overview(
    db: Db,
    user: WebUser,
    layout: Layout,
    config: &State<AppConfig>,
) -> Result<Template, PageError> {
    overview_page(&db, &user, layout, config, Vec::new()).await
}

#[derive(Serialize)]
struct AppPage {
    layout: Layout,
    title: &'static str,
    qr_svg: String,
    secret: String,
    name: String,
    errors: FieldErrors,
}

fn app_page_of(layout: Layout, secret: &[u8], email: &str, name: String, errors: FieldErrors) -> Template {
    let uri = totp::uri(secret, email, "Storefront");
    let page = AppPage {
        layout,
        title: "Add an authenticator app",
        qr_svg: totp::qr_svg(&uri),
        secret: totp::base32(secret),
        name,
        errors,
    };
    Template::render("account/two_step_app.html", page)
}

fn secret_cookie(cookies: &CookieJar<'_>) -> Option<Vec<u8>> {
    let cookie = cookies.get_private(SECRET_COOKIE)?;
    let bytes: Vec<u8> = (0..cookie.value().len())
        .step_by(2)
        .filter_map(|n| u8::from_str_radix(cookie.value().get(n..n + 2)?, 16).ok())
        .collect();
    (bytes.len() == totp::SECRET_BYTES).then_some(bytes)
}

/// The QR code of a new secret (kept for ten minutes, until a code confirms it).
#[get("/two-step/app")]
fn app_page(user: WebUser, layout: Layout, cookies: &CookieJar<'_>, config: &State<AppConfig>) -> Template {
    let secret = secret_cookie(cookies).unwrap_or_else(|| {
        let secret = totp::new_secret();
        let hex: String = secret.iter().map(|b| format!("{b:02x}")).collect();
        let cookie = Cookie::build((SECRET_COOKIE, hex))
            .path(PAGE)
            .http_only(true)
            .secure(config.secure_cookies)
            .same_site(SameSite::Strict)
            .max_age(rocket::time::Duration::minutes(10));
        cookies.add_private(cookie);
        secret
    });
    app_page_of(layout, &secret, &user.user.email, String::new(), FieldErrors::new())
}

#[derive(FromForm)]
struct AppForm {
    #[field(default = String::new())]
    csrf_token: String,
    #[field(default = String::new())]
    name: String,
    #[field(default = String::new())]
    code: String,
}

impl CsrfProtected for AppForm {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

/// Adds the app once its code is right; the first app shows the account's
/// new recovery codes.
#[post("/two-step/app", data = "<form>")]
async fn add_app(
    db: Db,
    user: WebUser,
    layout: Layout,
    cookies: &CookieJar<'_>,
    config: &State<AppConfig>,
    form: CheckedForm<AppForm>,
) -> Result<Result<Template, SentBack>, PageError> {
    let AppForm { name, code, .. } = form.0;
    let Some(secret) = secret_cookie(cookies) else {
        let errors = FieldErrors::from([(
            "form".to_owned(),
            "That took too long: scan the new code below.".to_owned(),
        )]);
        return Ok(Err(SentBack::new(
            Status::UnprocessableEntity,
            app_page_of(layout, &totp::new_secret(), &user.user.email, name, errors),
        )));
    };
    let actor = user.actor(Via::Web);
    let (typed, kept) = (name.clone(), secret.clone());
    let added = db
        .run(move |conn| {
            two_step::add_app(conn, &actor, &typed, &kept, &code, chrono::Utc::now().timestamp())
        })
        .await;
    match added {
        Ok(new_codes) => {
            cookies.remove_private(Cookie::build(SECRET_COOKIE).path(PAGE));
            let page = overview_page(&db, &user, layout, config, new_codes.unwrap_or_default()).await?;
            Ok(Ok(page))
        }
        Err(error) => {
            let refusal = FormRefusal::of(error, "form")?;
            let page = app_page_of(layout, &secret, &user.user.email, name, refusal.errors.clone());
            Ok(Err(refusal.send_back(page)))
        }
    }
}

/// Why a passkey cannot be added now, for the page's script.
type Refused = (Status, Json<serde_json::Value>);

fn refused(status: Status, message: impl Into<String>) -> Refused {
    (status, Json(serde_json::json!({ "message": message.into() })))
}

/// Begins adding a passkey: the options for `navigator.credentials.create`
/// (JSON, `{"publicKey": …}`); the ceremony's id waits in a private cookie.
#[post("/two-step/passkey/options", data = "<_form>")]
async fn passkey_options(
    db: Db,
    user: WebUser,
    site: SiteUrl,
    cookies: &CookieJar<'_>,
    config: &State<AppConfig>,
    _form: CheckedForm<ConfirmForm>,
) -> Result<Json<serde_json::Value>, Refused> {
    let party = RelyingParty::at(&site.0).map_err(|why| refused(Status::UnprocessableEntity, why.0))?;
    let (actor, email) = (user.actor(Via::Web), user.user.email.clone());
    let started = db.run(move |conn| two_step::start_passkey(conn, &actor, &email, &party)).await;
    match started {
        Ok(ceremony) => {
            keep_ceremony(cookies, PAGE, ceremony.id, config.secure_cookies);
            Ok(Json(serde_json::json!({ "publicKey": ceremony.options })))
        }
        Err(Error::Conflict(why)) => Err(refused(Status::Conflict, why)),
        Err(Error::Invalid(errors)) => {
            Err(refused(Status::UnprocessableEntity, errors.into_values().next().unwrap_or_default()))
        }
        Err(other) => {
            tracing::warn!("a passkey could not be started: {other}");
            Err(refused(Status::ServiceUnavailable, "Passkeys cannot be added just now: try again shortly."))
        }
    }
}

#[derive(FromForm)]
struct PasskeyForm {
    #[field(default = String::new())]
    csrf_token: String,
    #[field(default = String::new())]
    name: String,
    /// The browser's answer, as `PublicKeyCredential.toJSON()` writes it.
    #[field(default = String::new())]
    passkey: String,
}

impl CsrfProtected for PasskeyForm {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

/// Adds the passkey the browser made; the first second step shows the
/// account's new recovery codes.
#[post("/two-step/passkey", data = "<form>")]
async fn add_passkey(
    db: Db,
    user: WebUser,
    layout: Layout,
    site: SiteUrl,
    cookies: &CookieJar<'_>,
    config: &State<AppConfig>,
    form: CheckedForm<PasskeyForm>,
) -> Result<Result<Template, SentBack>, PageError> {
    let PasskeyForm { name, passkey, .. } = form.0;
    let ceremony = ceremony(cookies);
    let actor = user.actor(Via::Web);
    let typed = name.clone();
    let added = match (RelyingParty::at(&site.0), ceremony) {
        (Err(why), _) => Err(Error::invalid("passkey", why.0)),
        (Ok(_), _) if passkey.trim().is_empty() => Err(Error::invalid(
            "passkey",
            "Adding a passkey takes a browser that makes passkeys, with JavaScript on.",
        )),
        (Ok(_), None) => Err(Error::invalid(
            "passkey",
            format!(
                "Adding a passkey must take less than {} minutes: try again.",
                two_step::CEREMONY_MINUTES
            ),
        )),
        (Ok(party), Some(ceremony)) => {
            db.run(move |conn| two_step::add_passkey(conn, &actor, &party, ceremony, &typed, &passkey)).await
        }
    };
    end_ceremony(cookies, PAGE);
    match added {
        Ok(new_codes) => {
            Ok(Ok(overview_page(&db, &user, layout, config, new_codes.unwrap_or_default()).await?))
        }
        Err(error) => {
            let refusal = FormRefusal::of(error, "passkey")?;
            let page =
                overview_with(&db, &user, layout, config, Vec::new(), name, refusal.errors.clone()).await?;
            Ok(Err(refusal.send_back(page)))
        }
    }
}

/// Removes one of the account's apps or passkeys.
#[post("/two-step/<id>/remove", data = "<_form>")]
async fn remove(
    db: Db,
    user: WebUser,
    config: &State<AppConfig>,
    id: i64,
    _form: CheckedForm<ConfirmForm>,
) -> Result<Flash<Redirect>, PageError> {
    let actor = user.actor(Via::Web);
    let required = config.staff_two_step_required();
    match db.run(move |conn| two_step::remove(conn, &actor, id, required)).await {
        Ok(()) => Ok(Flash::success(Redirect::to(PAGE), "Removed.")),
        Err(Error::Conflict(why)) => Ok(Flash::error(Redirect::to(PAGE), why)),
        Err(other) => Err(other.into()),
    }
}

/// New recovery codes, replacing the old ones, shown once.
#[post("/two-step/recovery-codes", data = "<_form>")]
async fn recovery_codes(
    db: Db,
    user: WebUser,
    layout: Layout,
    config: &State<AppConfig>,
    _form: CheckedForm<ConfirmForm>,
) -> Result<Result<Template, Flash<Redirect>>, PageError> {
    let actor = user.actor(Via::Web);
    match db.run(move |conn| two_step::new_recovery_codes(conn, &actor)).await {
        Ok(codes) => Ok(Ok(overview_page(&db, &user, layout, config, codes).await?)),
        Err(Error::Conflict(why)) => Ok(Err(Flash::error(Redirect::to(PAGE), why))),
        Err(other) => Err(other.into()),
    }
}
