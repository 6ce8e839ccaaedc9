//! Webhook endpoints: store owners register them for their stores' events
//! and admins for any store's. Each gets a secret, shown once, that signs
//! its deliveries; rotating it keeps the old one signing beside the new for
//! a day. The delivery log shows every attempt, and any delivery can be
//! sent again.

use chrono::{Duration, Utc};
use diesel::PgConnection;

use super::not_found_as;
use crate::error::{Error, FieldErrors};
use crate::models::webhook::{
    NewWebhookEndpoint, WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEndpointChanges,
};
use crate::models::{EventKind, Store};
use crate::policy::{self, Actor};
use crate::text;
use crate::webhooks::{client, signature};

/// Endpoints an account may have.
pub const MAX_ENDPOINTS: i64 = 20;
/// How long a rotated secret keeps signing beside its successor.
pub const SECRET_OVERLAP_HOURS: i64 = 24;
const DESCRIPTION_MAX: usize = 500;

/// What a request says of an endpoint; `None` leaves a field as it is (or,
/// creating one, takes its default).
#[derive(Debug, Clone, Default)]
pub struct EndpointInput {
    pub url: Option<String>,
    pub description: Option<String>,
    pub kinds: Option<Vec<String>>,
    pub store_id: Option<Option<i64>>,
    pub enabled: Option<bool>,
}

/// Checks `input`, and the store it names against the actor.
fn checked(
    conn: &mut PgConnection,
    actor: &Actor,
    rules: &client::Rules,
    input: EndpointInput,
    creating: bool,
) -> Result<WebhookEndpointChanges, Error> {
    let mut errors = FieldErrors::new();
    let url = match input.url {
        Some(url) => match client::check_url(url.trim(), rules) {
            Ok(url) => Some(url.to_string()),
            Err(why) => {
                errors.insert("url".into(), why);
                None
            }
        },
        None if creating => {
            errors.insert("url".into(), "is required".into());
            None
        }
        None => None,
    };
    let description = input.description.map(|description| {
        text::optional_paragraphs("description", &description, DESCRIPTION_MAX, &mut errors)
            .unwrap_or_default()
    });
    let kinds = input.kinds.map(|kinds| {
        let mut known: Vec<String> = Vec::new();
        for kind in kinds {
            if !EventKind::ALL.iter().any(|k| k.as_str() == kind) {
                let names: Vec<&str> = EventKind::ALL.iter().map(|k| k.as_str()).collect();
                errors.insert(
                    "kinds".into(),
                    format!("{kind:?} is not a kind of event; the kinds are {}", names.join(", ")),
                );
            } else if !known.contains(&kind) {
                known.push(kind);
            }
        }
        known
    });
    Error::check(errors)?;
    if let Some(Some(store_id)) = input.store_id {
        let store = Store::find(conn, store_id).map_err(|error| match error {
            diesel::result::Error::NotFound => Error::invalid("store_id", "is not a store"),
            other => other.into(),
        })?;
        policy::watch_store(actor, &store)?;
    }
    let enabled = input.enabled;
    Ok(WebhookEndpointChanges {
        url,
        description,
        kinds,
        store_id: input.store_id,
        enabled,
        // Enabled again by hand: a fresh start; disabled by hand: said so.
        disabled_reason: enabled.map(|on| (!on).then(|| "Disabled by its owner.".to_owned())),
        failing_since: enabled.filter(|on| *on).map(|_| None),
        ..WebhookEndpointChanges::default()
    })
}

/// Registers an endpoint for the actor: it and its secret, shown this once.
pub fn create(
    conn: &mut PgConnection,
    actor: &Actor,
    rules: &client::Rules,
    input: EndpointInput,
) -> Result<(WebhookEndpoint, String), Error> {
    let changes = checked(conn, actor, rules, input, true)?;
    crate::db::transaction(conn, |conn| {
        if WebhookEndpoint::count_of_owner(conn, actor.user_id)? >= MAX_ENDPOINTS {
            return Err(Error::Conflict(format!(
                "An account has at most {MAX_ENDPOINTS} webhook endpoints."
            )));
        }
        let secret = signature::new_secret();
        let endpoint = NewWebhookEndpoint {
            owner_id: actor.user_id,
            url: changes.url.as_deref().unwrap_or_default(),
            description: changes.description.as_deref().unwrap_or_default(),
            kinds: changes.kinds.as_deref().unwrap_or_default(),
            store_id: changes.store_id.flatten(),
            secret: &secret,
        }
        .insert(conn)?;
        let endpoint = match changes.enabled {
            Some(false) => WebhookEndpoint::update(
                conn,
                endpoint.id,
                &WebhookEndpointChanges {
                    enabled: Some(false),
                    disabled_reason: changes.disabled_reason.clone(),
                    ..Default::default()
                },
            )?,
            _ => endpoint,
        };
        Ok((endpoint, secret))
    })
}

/// The actor's endpoint `id` (an admin's: anyone's).
pub fn get(conn: &mut PgConnection, actor: &Actor, id: i64) -> Result<WebhookEndpoint, Error> {
    let endpoint = WebhookEndpoint::find(conn, id).map_err(not_found_as("webhook endpoint"))?;
    policy::manage_webhook(actor, endpoint.owner_id)?;
    Ok(endpoint)
}

/// The actor's own endpoints.
pub fn list(conn: &mut PgConnection, actor: &Actor) -> Result<Vec<WebhookEndpoint>, Error> {
    Ok(WebhookEndpoint::of_owner(conn, actor.user_id, MAX_ENDPOINTS)?)
}

pub fn update(
    conn: &mut PgConnection,
    actor: &Actor,
    rules: &client::Rules,
    id: i64,
    input: EndpointInput,
) -> Result<WebhookEndpoint, Error> {
    let changes = checked(conn, actor, rules, input, false)?;
    crate::db::transaction(conn, |conn| {
        let endpoint = WebhookEndpoint::lock(conn, id).map_err(not_found_as("webhook endpoint"))?;
        policy::manage_webhook(actor, endpoint.owner_id)?;
        Ok(WebhookEndpoint::update(conn, id, &changes)?)
    })
}

pub fn delete(conn: &mut PgConnection, actor: &Actor, id: i64) -> Result<(), Error> {
    crate::db::transaction(conn, |conn| {
        let endpoint = WebhookEndpoint::lock(conn, id).map_err(not_found_as("webhook endpoint"))?;
        policy::manage_webhook(actor, endpoint.owner_id)?;
        WebhookEndpoint::delete(conn, id)?;
        Ok(())
    })
}

/// A new secret for the endpoint, shown this once; the old one signs beside
/// it for [`SECRET_OVERLAP_HOURS`].
pub fn rotate_secret(
    conn: &mut PgConnection,
    actor: &Actor,
    id: i64,
) -> Result<(WebhookEndpoint, String), Error> {
    crate::db::transaction(conn, |conn| {
        let endpoint = WebhookEndpoint::lock(conn, id).map_err(not_found_as("webhook endpoint"))?;
        policy::manage_webhook(actor, endpoint.owner_id)?;
        let secret = signature::new_secret();
        let changes = WebhookEndpointChanges {
            secret: Some(secret.clone()),
            previous_secret: Some(Some(endpoint.secret)),
            previous_secret_until: Some(Some(Utc::now() + Duration::hours(SECRET_OVERLAP_HOURS))),
            ..Default::default()
        };
        Ok((WebhookEndpoint::update(conn, id, &changes)?, secret))
    })
}

/// A delivery and its attempts, oldest first.
pub type Logged = (WebhookDelivery, Vec<WebhookAttempt>);

/// The endpoint's deliveries, newest first, before delivery `before`.
pub fn deliveries(
    conn: &mut PgConnection,
    actor: &Actor,
    id: i64,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<Logged>, Error> {
    get(conn, actor, id)?;
    let deliveries = WebhookDelivery::of_endpoint(conn, id, before, limit)?;
    let ids: Vec<i64> = deliveries.iter().map(|delivery| delivery.id).collect();
    let mut attempts = WebhookAttempt::of_deliveries(conn, &ids)?;
    Ok(deliveries
        .into_iter()
        .map(|delivery| {
            let (mine, rest) = attempts.drain(..).partition(|attempt| attempt.delivery_id == delivery.id);
            attempts = rest;
            (delivery, mine)
        })
        .collect())
}

/// Sends delivery `delivery_id` of the endpoint again; the new delivery's id.
pub fn redeliver(conn: &mut PgConnection, actor: &Actor, id: i64, delivery_id: i64) -> Result<i64, Error> {
    get(conn, actor, id)?;
    WebhookDelivery::redeliver(conn, id, delivery_id)?.ok_or(Error::NotFound("delivery"))
}
