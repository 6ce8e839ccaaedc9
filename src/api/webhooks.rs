//! Webhook endpoints of the signed-in account, and their delivery logs.

use chrono::{DateTime, Utc};
use rocket::{delete, get, patch, post, routes, Route, State};
use serde::Serialize;
use utoipa::ToSchema;

use super::guards::{ApiUser, JsonBody, QueryParams};
use super::pagination;
use super::problem::Problem;
use super::respond::{ApiJson, NoContent};
use crate::config::AppConfig;
use crate::db::Db;
use crate::error::{Error, FieldErrors};
use crate::models::webhook::{WebhookAttempt, WebhookDelivery, WebhookEndpoint};
use crate::request::Id;
use crate::services::webhooks::{self, EndpointInput};
use crate::webhooks::client;

pub fn routes() -> Vec<Route> {
    routes![
        list_endpoints,
        create_endpoint,
        get_endpoint,
        update_endpoint,
        delete_endpoint,
        rotate_secret,
        list_deliveries,
        redeliver
    ]
}

/// A webhook endpoint.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookEndpointView {
    pub id: i64,
    /// Where deliveries are sent (`POST`).
    #[schema(example = "https://hooks.example.org/storefront")]
    pub url: String,
    pub description: String,
    /// The kinds of event sent; empty: every kind.
    #[schema(example = json!(["item.created", "item.updated"]))]
    pub kinds: Vec<String>,
    /// Only this store's events, if set.
    pub store_id: Option<i64>,
    /// Whether deliveries are made. An endpoint whose every attempt failed
    /// for five days is disabled, and says why in `disabled_reason`.
    pub enabled: bool,
    pub disabled_reason: Option<String>,
    /// Since when every attempt has failed, if they have.
    pub failing_since: Option<DateTime<Utc>>,
    /// When the previous secret stops signing, after a rotation.
    pub previous_secret_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The signing secret (`whsec_…`): only in the answer that made it.
    #[schema(example = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwMfKQ9r8GKYqr")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

impl WebhookEndpointView {
    fn of(endpoint: WebhookEndpoint, secret: Option<String>) -> WebhookEndpointView {
        let now = Utc::now();
        WebhookEndpointView {
            id: endpoint.id,
            url: endpoint.url,
            description: endpoint.description,
            kinds: endpoint.kinds,
            store_id: endpoint.store_id,
            enabled: endpoint.enabled,
            disabled_reason: endpoint.disabled_reason,
            failing_since: endpoint.failing_since,
            previous_secret_until: endpoint.previous_secret_until.filter(|until| *until > now),
            created_at: endpoint.created_at,
            updated_at: endpoint.updated_at,
            secret,
        }
    }
}

/// An endpoint, as registered or changed.
#[derive(Debug, ToSchema)]
#[allow(dead_code)] // Only its schema is used: bodies are read field by field.
pub struct WebhookEndpointInput {
    /// An `https://` URL of a public host (required to register).
    #[schema(example = "https://hooks.example.org/storefront", max_length = 2000, pattern = "^https://")]
    url: Option<String>,
    #[schema(max_length = 500)]
    description: Option<String>,
    /// Kinds of event (`store.created`, `item.updated`, ...); empty or left
    /// out: every kind.
    kinds: Option<Vec<String>>,
    /// Only this store's events (yours, or any for an admin); `null`: all
    /// of yours.
    #[schema(minimum = 1)]
    store_id: Option<i64>,
    /// `false` stops deliveries; `true` starts them again.
    enabled: Option<bool>,
}

fn read_input(body: JsonBody) -> Result<EndpointInput, Error> {
    let mut reader = body.reader();
    let input = EndpointInput {
        url: reader.string("url"),
        description: reader.string("description"),
        kinds: reader.strings("kinds"),
        store_id: reader.nullable_id("store_id"),
        enabled: reader.boolean("enabled"),
    };
    reader.finish()?;
    Ok(input)
}

/// Your webhook endpoints, oldest first.
#[utoipa::path(get, path = "/api/webhooks", tag = "webhooks", security(("bearer" = [])),
    responses(
        (status = 200, description = "Your endpoints (at most 20)", body = [WebhookEndpointView]),
        (status = 401, description = "No valid token"),
    ))]
#[get("/webhooks")]
async fn list_endpoints(db: Db, user: ApiUser) -> Result<ApiJson<Vec<WebhookEndpointView>>, Problem> {
    let endpoints = db.run(move |conn| webhooks::list(conn, &user.actor)).await?;
    Ok(ApiJson::ok(endpoints.into_iter().map(|e| WebhookEndpointView::of(e, None)).collect()))
}

/// Register an endpoint. Each event of your stores (with `store_id`, of that
/// store; an admin's endpoint, of any store) of the kinds chosen is `POST`ed
/// to it as the event stream shows it, signed as the Standard Webhooks
/// specification says: `webhook-id`, `webhook-timestamp`, and
/// `webhook-signature` = `v1,` + base64 of HMAC-SHA256 of
/// `id.timestamp.body` under the secret's key. A 2xx answer within 10
/// seconds delivers; otherwise it is retried for about three days. The
/// secret is in this answer only.
#[utoipa::path(post, path = "/api/webhooks", tag = "webhooks", security(("bearer" = [])),
    request_body(content = WebhookEndpointInput, content_type = "application/json"),
    responses(
        (status = 201, description = "The endpoint, with its secret", body = WebhookEndpointView,
            headers(("Location" = String, description = "The endpoint"))),
        (status = 401, description = "No valid token"),
        (status = 403, description = "`store_id` is not your store"),
        (status = 409, description = "You have 20 endpoints already"),
    ))]
#[post("/webhooks", data = "<body>")]
async fn create_endpoint(
    db: Db,
    user: ApiUser,
    config: &State<AppConfig>,
    body: JsonBody,
) -> Result<ApiJson<WebhookEndpointView>, Problem> {
    let input = read_input(body)?;
    let rules = client::Rules::of(config);
    let (endpoint, secret) = db.run(move |conn| webhooks::create(conn, &user.actor, &rules, input)).await?;
    let location = format!("/api/webhooks/{}", endpoint.id);
    Ok(ApiJson::created(WebhookEndpointView::of(endpoint, Some(secret)), location))
}

/// One of your endpoints.
#[utoipa::path(get, path = "/api/webhooks/{id}", tag = "webhooks", security(("bearer" = [])),
    params(("id" = i64, Path, minimum = 1, description = "Endpoint id")),
    responses(
        (status = 200, description = "The endpoint", body = WebhookEndpointView),
        (status = 401, description = "No valid token"),
        (status = 404, description = "No endpoint of yours has this id"),
    ))]
#[get("/webhooks/<id>")]
async fn get_endpoint(db: Db, user: ApiUser, id: Id) -> Result<ApiJson<WebhookEndpointView>, Problem> {
    let endpoint = db.run(move |conn| webhooks::get(conn, &user.actor, id.0)).await?;
    Ok(ApiJson::ok(WebhookEndpointView::of(endpoint, None)))
}

/// Change an endpoint: any of its fields. Enabling a disabled endpoint
/// starts its deliveries again where they stopped.
#[utoipa::path(patch, path = "/api/webhooks/{id}", tag = "webhooks", security(("bearer" = [])),
    params(("id" = i64, Path, minimum = 1, description = "Endpoint id")),
    request_body(content = WebhookEndpointInput, content_type = "application/json"),
    responses(
        (status = 200, description = "The endpoint", body = WebhookEndpointView),
        (status = 401, description = "No valid token"),
        (status = 403, description = "`store_id` is not your store"),
        (status = 404, description = "No endpoint of yours has this id"),
    ))]
#[patch("/webhooks/<id>", data = "<body>")]
async fn update_endpoint(
    db: Db,
    user: ApiUser,
    config: &State<AppConfig>,
    id: Id,
    body: JsonBody,
) -> Result<ApiJson<WebhookEndpointView>, Problem> {
    let input = read_input(body)?;
    let rules = client::Rules::of(config);
    let endpoint = db.run(move |conn| webhooks::update(conn, &user.actor, &rules, id.0, input)).await?;
    Ok(ApiJson::ok(WebhookEndpointView::of(endpoint, None)))
}

/// Delete an endpoint, with its deliveries.
#[utoipa::path(delete, path = "/api/webhooks/{id}", tag = "webhooks", security(("bearer" = [])),
    params(("id" = i64, Path, minimum = 1, description = "Endpoint id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "No valid token"),
        (status = 404, description = "No endpoint of yours has this id"),
    ))]
#[delete("/webhooks/<id>")]
async fn delete_endpoint(db: Db, user: ApiUser, id: Id) -> Result<NoContent, Problem> {
    db.run(move |conn| webhooks::delete(conn, &user.actor, id.0)).await?;
    Ok(NoContent)
}

/// A new signing secret, in this answer only. For a day both the old and
/// the new one sign each delivery (two signatures in `webhook-signature`),
/// so the receiver can change over without missing any.
#[utoipa::path(post, path = "/api/webhooks/{id}/rotate-secret", tag = "webhooks", security(("bearer" = [])),
    params(("id" = i64, Path, minimum = 1, description = "Endpoint id")),
    responses(
        (status = 200, description = "The endpoint, with its new secret", body = WebhookEndpointView),
        (status = 401, description = "No valid token"),
        (status = 404, description = "No endpoint of yours has this id"),
    ))]
#[post("/webhooks/<id>/rotate-secret")]
async fn rotate_secret(db: Db, user: ApiUser, id: Id) -> Result<ApiJson<WebhookEndpointView>, Problem> {
    let (endpoint, secret) = db.run(move |conn| webhooks::rotate_secret(conn, &user.actor, id.0)).await?;
    Ok(ApiJson::ok(WebhookEndpointView::of(endpoint, Some(secret))))
}

/// A delivery: one event for one endpoint.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryView {
    pub id: i64,
    pub event_id: i64,
    /// Its `webhook-id`, the same on every attempt and redelivery.
    #[schema(example = "msg_1042")]
    pub message_id: String,
    /// `pending` (with `next_attempt_at`), `delivered` or `failed` (every
    /// attempt failed, for about three days).
    #[schema(example = "delivered")]
    pub state: String,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// Every attempt, oldest first.
    pub attempts: Vec<AttemptView>,
}

/// One attempt at a delivery.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttemptView {
    pub at: DateTime<Utc>,
    pub duration_ms: i32,
    /// The answer's status, when one came.
    pub status: Option<i32>,
    /// Why it failed, when it did (a timeout, a refused address, a redirect).
    pub error: Option<String>,
    /// The answer's first kilobyte.
    pub response: String,
}

impl DeliveryView {
    fn of((delivery, attempts): (WebhookDelivery, Vec<WebhookAttempt>)) -> DeliveryView {
        let pending = delivery.state == crate::models::webhook::PENDING;
        DeliveryView {
            id: delivery.id,
            event_id: delivery.event_id,
            message_id: format!("msg_{}", delivery.event_id),
            next_attempt_at: pending.then_some(delivery.next_attempt_at),
            state: delivery.state,
            created_at: delivery.created_at,
            finished_at: delivery.finished_at,
            attempts: attempts
                .into_iter()
                .map(|attempt| AttemptView {
                    at: attempt.at,
                    duration_ms: attempt.duration_ms,
                    status: attempt.status,
                    error: attempt.error,
                    response: attempt.response,
                })
                .collect(),
        }
    }
}

/// An endpoint's deliveries, newest first, with their attempts. Kept for 30 days.
#[utoipa::path(get, path = "/api/webhooks/{id}/deliveries", tag = "webhooks", security(("bearer" = [])),
    params(
        ("id" = i64, Path, minimum = 1, description = "Endpoint id"),
        ("before" = Option<i64>, Query, minimum = 1, description = "Only deliveries older than this one"),
        ("limit" = Option<i64>, Query, minimum = 1, maximum = 200, description = "At most this many (default 20)"),
    ),
    responses(
        (status = 200, description = "Deliveries", body = [DeliveryView]),
        (status = 401, description = "No valid token"),
        (status = 404, description = "No endpoint of yours has this id"),
    ))]
#[get("/webhooks/<id>/deliveries")]
async fn list_deliveries(
    db: Db,
    user: ApiUser,
    id: Id,
    params: QueryParams,
) -> Result<ApiJson<Vec<DeliveryView>>, Problem> {
    let mut errors = FieldErrors::new();
    let before = params.single("before", &mut errors).and_then(|raw| {
        let id = raw.parse::<i64>().ok().filter(|id| *id > 0);
        if id.is_none() {
            errors.insert("before".into(), "must be a positive integer id".into());
        }
        id
    });
    let limit = match params.single("limit", &mut errors) {
        None => 20,
        Some(raw) => pagination::limit(Some(raw), &mut errors),
    };
    Error::check(errors)?;
    let logged = db.run(move |conn| webhooks::deliveries(conn, &user.actor, id.0, before, limit)).await?;
    Ok(ApiJson::ok(logged.into_iter().map(DeliveryView::of).collect()))
}

/// The id of a delivery made again.
#[derive(Debug, Serialize, ToSchema)]
pub struct RedeliveryView {
    /// The new delivery, at the end of the endpoint's queue.
    pub id: i64,
}

/// Send a delivery again (whatever became of it), after the endpoint's
/// others; with the same `webhook-id`.
#[utoipa::path(post, path = "/api/webhooks/{id}/deliveries/{delivery_id}/redeliver", tag = "webhooks",
    security(("bearer" = [])),
    params(
        ("id" = i64, Path, minimum = 1, description = "Endpoint id"),
        ("delivery_id" = i64, Path, minimum = 1, description = "Delivery id"),
    ),
    responses(
        (status = 202, description = "Queued", body = RedeliveryView),
        (status = 401, description = "No valid token"),
        (status = 404, description = "No such endpoint of yours, or no such delivery of it"),
    ))]
#[post("/webhooks/<id>/deliveries/<delivery_id>/redeliver")]
async fn redeliver(
    db: Db,
    user: ApiUser,
    id: Id,
    delivery_id: Id,
) -> Result<ApiJson<RedeliveryView>, Problem> {
    let made = db.run(move |conn| webhooks::redeliver(conn, &user.actor, id.0, delivery_id.0)).await?;
    Ok(ApiJson::ok(RedeliveryView { id: made }).with_status(rocket::http::Status::Accepted))
}
