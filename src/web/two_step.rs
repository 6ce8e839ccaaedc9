//! The account's two-step sign-in (`/account/two-step`): add an
//! authenticator app from a QR code drawn by the server (its secret waits
//! in a private cookie until a code from the app confirms it), remove one,
//! and make new recovery codes, which are shown once.

use rocket::form::FromForm;
use rocket::http::{Cookie, CookieJar, SameSite, Status};
use rocket::response::{Flash, Redirect};
use rocket::{get, post, routes, Route, State};
use rocket_dyn_templates::Template;
use serde::Serialize;

use super::csrf::{CheckedForm, ConfirmForm, CsrfProtected};
use super::error::{FormRefusal, PageError, SentBack};
use super::layout::Layout;
use super::session::WebUser;
use crate::auth::totp;
use crate::config::AppConfig;
use crate::db::Db;
use crate::error::{Error, FieldErrors};
use crate::models::Via;
use crate::services::two_step;

pub fn routes() -> Vec<Route> {
    routes![overview, app_page, add_app, remove_app, recovery_codes]
}

/// Where the page is.
pub const PAGE: &str = "/account/two-step";
/// The cookie holding the secret of an app being added.
const SECRET_COOKIE: &str = "two_step_secret";

#[derive(Serialize)]
struct AppView {
    id: i64,
    name: String,
    added: String,
    last_used: Option<String>,
}

#[derive(Serialize)]
struct TwoStepPage {
    layout: Layout,
    title: &'static str,
    apps: Vec<AppView>,
    recovery_codes_left: i64,
    /// New recovery codes, shown this once.
    new_codes: Vec<String>,
    /// Staff must have a second step here.
    required: bool,
}

async fn overview_page(
    db: &Db,
    user: &WebUser,
    layout: Layout,
    config: &AppConfig,
    new_codes: Vec<String>,
) -> Result<Template, PageError> {
    let user_id = user.user.id;
    let overview = db.run(move |conn| two_step::overview(conn, user_id)).await?;
    let when = |at: chrono::DateTime<chrono::Utc>| at.format("%Y-%m-%d %H:%M UTC").to_string();
    let page = TwoStepPage {
        layout,
        title: "Two-step sign-in",
        apps: overview
            .apps
            .into_iter()
            .map(|app| AppView {
                id: app.id,
                name: app.name,
                added: when(app.added),
                last_used: app.last_used.map(when),
            })
            .collect(),
        recovery_codes_left: overview.recovery_codes_left,
        new_codes,
        required: config.staff_two_step_required() && user.user.role != crate::models::Role::Member,
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

#[post("/two-step/<id>/remove", data = "<_form>")]
async fn remove_app(
    db: Db,
    user: WebUser,
    config: &State<AppConfig>,
    id: i64,
    _form: CheckedForm<ConfirmForm>,
) -> Result<Flash<Redirect>, PageError> {
    let actor = user.actor(Via::Web);
    let required = config.staff_two_step_required();
    match db.run(move |conn| two_step::remove_app(conn, &actor, id, required)).await {
        Ok(()) => Ok(Flash::success(Redirect::to(PAGE), "Authenticator app removed.")),
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
