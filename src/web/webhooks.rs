//! The account's webhook endpoints (`/account/webhooks`): register one
//! (its secret is shown once, on the next page), see its deliveries and
//! their attempts, send one again, rotate the secret, stop or start it, and
//! delete it. The same service as `/api/webhooks`.

use chrono::{DateTime, Utc};
use rocket::form::FromForm;
use rocket::http::{Cookie, CookieJar, SameSite};
use rocket::response::{Flash, Redirect};
use rocket::{get, post, routes, Route, State};
use rocket_dyn_templates::Template;
use serde::Serialize;

use super::csrf::{CheckedForm, ConfirmForm, CsrfProtected};
use super::error::{FormRefusal, PageError, SentBack};
use super::layout::Layout;
use super::session::WebUser;
use crate::config::AppConfig;
use crate::db::Db;
use crate::error::{Error, FieldErrors};
use crate::models::webhook::WebhookEndpoint;
use crate::models::{EventKind, Via};
use crate::services::stores;
use crate::services::webhooks::{self, EndpointInput};
use crate::webhooks::client;

pub fn routes() -> Vec<Route> {
    routes![list, create, show, set_enabled, rotate, delete, redeliver]
}

const PAGE: &str = "/account/webhooks";
/// Carries a new secret from the form that made it to the one page that shows it.
const SECRET_COOKIE: &str = "webhook_secret";
/// Deliveries an endpoint's page shows.
const LOGGED: i64 = 20;

fn when(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

#[derive(Serialize)]
struct EndpointRow {
    id: i64,
    url: String,
    description: String,
    kinds: String,
    store: String,
    enabled: bool,
    disabled_reason: Option<String>,
    failing_since: Option<String>,
}

fn row(endpoint: WebhookEndpoint) -> EndpointRow {
    EndpointRow {
        id: endpoint.id,
        url: endpoint.url,
        description: endpoint.description,
        kinds: if endpoint.kinds.is_empty() { "every kind".to_owned() } else { endpoint.kinds.join(", ") },
        store: endpoint.store_id.map_or_else(|| "all of yours".to_owned(), |id| format!("store {id}")),
        enabled: endpoint.enabled,
        disabled_reason: endpoint.disabled_reason,
        failing_since: endpoint.failing_since.map(when),
    }
}

#[derive(Serialize)]
struct Choice {
    value: String,
    label: String,
    selected: bool,
}

#[derive(Serialize)]
struct ListPage {
    layout: Layout,
    title: &'static str,
    endpoints: Vec<EndpointRow>,
    kinds: Vec<Choice>,
    stores: Vec<Choice>,
    url: String,
    description: String,
    errors: FieldErrors,
}

/// What the registration form sent.
#[derive(FromForm, Default)]
struct EndpointForm {
    #[field(default = String::new())]
    csrf_token: String,
    #[field(default = String::new())]
    url: String,
    #[field(default = String::new())]
    description: String,
    #[field(default = Vec::new())]
    kinds: Vec<String>,
    /// A store's id, or empty for all of the account's.
    #[field(default = String::new())]
    store_id: String,
}

impl CsrfProtected for EndpointForm {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

async fn list_page(
    db: &Db,
    user: &WebUser,
    layout: Layout,
    form: EndpointForm,
    errors: FieldErrors,
) -> Result<Template, PageError> {
    let actor = user.actor(Via::Web);
    let owner = user.user.id;
    let (endpoints, owned) = db
        .run(move |conn| Ok((webhooks::list(conn, &actor)?, stores::owned_by(conn, owner, 100)?.0)))
        .await?;
    let mut store_choices = vec![Choice {
        value: String::new(),
        label: "All of my stores".into(),
        selected: form.store_id.is_empty(),
    }];
    store_choices.extend(owned.into_iter().map(|(store, _)| Choice {
        selected: form.store_id == store.id.to_string(),
        value: store.id.to_string(),
        label: store.name,
    }));
    let page = ListPage {
        layout,
        title: "Webhooks",
        endpoints: endpoints.into_iter().map(row).collect(),
        kinds: EventKind::ALL
            .iter()
            .map(|kind| Choice {
                value: kind.as_str().to_owned(),
                label: kind.as_str().to_owned(),
                selected: form.kinds.iter().any(|k| k == kind.as_str()),
            })
            .collect(),
        stores: store_choices,
        url: form.url,
        description: form.description,
        errors,
    };
    Ok(Template::render("account/webhooks.html", page))
}

#[get("/webhooks")]
async fn list(db: Db, user: WebUser, layout: Layout) -> Result<Template, PageError> {
    list_page(&db, &user, layout, <EndpointForm as Default>::default(), FieldErrors::new()).await
}

fn keep_secret(cookies: &CookieJar<'_>, id: i64, secret: String, secure: bool) {
    let cookie = Cookie::build((SECRET_COOKIE, secret))
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(secure)
        .path(format!("{PAGE}/{id}"))
        .max_age(rocket::time::Duration::minutes(5));
    cookies.add_private(cookie);
}

/// Registers an endpoint; its page shows the secret, this once.
#[post("/webhooks", data = "<form>")]
async fn create(
    db: Db,
    user: WebUser,
    layout: Layout,
    cookies: &CookieJar<'_>,
    config: &State<AppConfig>,
    form: CheckedForm<EndpointForm>,
) -> Result<Result<Redirect, SentBack>, PageError> {
    let form = form.0;
    let store_id = match form.store_id.trim() {
        "" => Ok(None),
        raw => {
            raw.parse::<i64>().map(Some).map_err(|_| Error::invalid("store_id", "Choose one of your stores."))
        }
    };
    let input = store_id.map(|store_id| EndpointInput {
        url: Some(form.url.clone()),
        description: Some(form.description.clone()),
        kinds: Some(form.kinds.clone()),
        store_id: Some(store_id),
        enabled: None,
    });
    let actor = user.actor(Via::Web);
    let rules = client::Rules::of(config);
    let made = match input {
        Ok(input) => db.run(move |conn| webhooks::create(conn, &actor, &rules, input)).await,
        Err(error) => Err(error),
    };
    match made {
        Ok((endpoint, secret)) => {
            keep_secret(cookies, endpoint.id, secret, config.secure_cookies);
            Ok(Ok(Redirect::to(format!("{PAGE}/{}", endpoint.id))))
        }
        Err(error) => {
            let mut refusal = FormRefusal::of(error, "url")?;
            // The service words it for the API's field; the page says "URL".
            if let Some(why) = refusal.errors.get_mut("url").filter(|why| why.starts_with(char::is_lowercase))
            {
                *why = format!("The URL {why}");
            }
            let page = list_page(&db, &user, layout, form, refusal.errors.clone()).await?;
            Ok(Err(refusal.send_back(page)))
        }
    }
}

#[derive(Serialize)]
struct AttemptRow {
    at: String,
    duration_ms: i32,
    status: Option<i32>,
    error: Option<String>,
    response: String,
}

#[derive(Serialize)]
struct DeliveryRow {
    id: i64,
    event_id: i64,
    state: String,
    next_attempt_at: Option<String>,
    created_at: String,
    attempts: Vec<AttemptRow>,
}

#[derive(Serialize)]
struct EndpointPage {
    layout: Layout,
    title: String,
    endpoint: EndpointRow,
    /// The secret, shown this once after it was made.
    secret: Option<String>,
    previous_secret_until: Option<String>,
    deliveries: Vec<DeliveryRow>,
}

#[get("/webhooks/<id>")]
async fn show(
    db: Db,
    user: WebUser,
    layout: Layout,
    cookies: &CookieJar<'_>,
    id: i64,
) -> Result<Template, PageError> {
    let actor = user.actor(Via::Web);
    let (endpoint, logged) = db
        .run(move |conn| {
            Ok((webhooks::get(conn, &actor, id)?, webhooks::deliveries(conn, &actor, id, None, LOGGED)?))
        })
        .await?;
    let secret = cookies.get_private(SECRET_COOKIE).map(|cookie| cookie.value().to_owned());
    if secret.is_some() {
        cookies.remove_private(Cookie::build(SECRET_COOKIE).path(format!("{PAGE}/{id}")));
    }
    let now = Utc::now();
    let page = EndpointPage {
        layout,
        title: format!("Webhook {}", endpoint.id),
        previous_secret_until: endpoint.previous_secret_until.filter(|until| *until > now).map(when),
        endpoint: row(endpoint),
        secret,
        deliveries: logged
            .into_iter()
            .map(|(delivery, attempts)| DeliveryRow {
                id: delivery.id,
                event_id: delivery.event_id,
                next_attempt_at: (delivery.state == crate::models::webhook::PENDING)
                    .then(|| when(delivery.next_attempt_at)),
                state: delivery.state,
                created_at: when(delivery.created_at),
                attempts: attempts
                    .into_iter()
                    .map(|attempt| AttemptRow {
                        at: when(attempt.at),
                        duration_ms: attempt.duration_ms,
                        status: attempt.status,
                        error: attempt.error,
                        response: attempt.response,
                    })
                    .collect(),
            })
            .collect(),
    };
    Ok(Template::render("account/webhook.html", page))
}

#[derive(FromForm)]
struct EnabledForm {
    #[field(default = String::new())]
    csrf_token: String,
    #[field(default = false)]
    enabled: bool,
}

impl CsrfProtected for EnabledForm {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

/// Stops or starts deliveries.
#[post("/webhooks/<id>/enabled", data = "<form>")]
async fn set_enabled(
    db: Db,
    user: WebUser,
    config: &State<AppConfig>,
    id: i64,
    form: CheckedForm<EnabledForm>,
) -> Result<Flash<Redirect>, PageError> {
    let (actor, rules, enabled) = (user.actor(Via::Web), client::Rules::of(config), form.0.enabled);
    let input = EndpointInput { enabled: Some(enabled), ..EndpointInput::default() };
    db.run(move |conn| webhooks::update(conn, &actor, &rules, id, input)).await?;
    let said = if enabled { "Deliveries start again where they stopped." } else { "Deliveries are stopped." };
    Ok(Flash::success(Redirect::to(format!("{PAGE}/{id}")), said))
}

/// A new secret, shown once on the endpoint's page.
#[post("/webhooks/<id>/rotate", data = "<_form>")]
async fn rotate(
    db: Db,
    user: WebUser,
    cookies: &CookieJar<'_>,
    config: &State<AppConfig>,
    id: i64,
    _form: CheckedForm<ConfirmForm>,
) -> Result<Redirect, PageError> {
    let actor = user.actor(Via::Web);
    let (_, secret) = db.run(move |conn| webhooks::rotate_secret(conn, &actor, id)).await?;
    keep_secret(cookies, id, secret, config.secure_cookies);
    Ok(Redirect::to(format!("{PAGE}/{id}")))
}

#[post("/webhooks/<id>/delete", data = "<_form>")]
async fn delete(
    db: Db,
    user: WebUser,
    id: i64,
    _form: CheckedForm<ConfirmForm>,
) -> Result<Flash<Redirect>, PageError> {
    let actor = user.actor(Via::Web);
    db.run(move |conn| webhooks::delete(conn, &actor, id)).await?;
    Ok(Flash::success(Redirect::to(PAGE), "The webhook endpoint is deleted."))
}

#[post("/webhooks/<id>/deliveries/<delivery_id>/redeliver", data = "<_form>")]
async fn redeliver(
    db: Db,
    user: WebUser,
    id: i64,
    delivery_id: i64,
    _form: CheckedForm<ConfirmForm>,
) -> Result<Flash<Redirect>, PageError> {
    let actor = user.actor(Via::Web);
    db.run(move |conn| webhooks::redeliver(conn, &actor, id, delivery_id)).await?;
    Ok(Flash::success(Redirect::to(format!("{PAGE}/{id}")), "It is sent again, after the endpoint's others."))
}
