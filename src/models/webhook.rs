//! Webhook endpoints, their deliveries (one per event and endpoint, made by
//! the event sequencer as it numbers the event) and every attempt at one.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Double};

use crate::schema::{webhook_attempts, webhook_deliveries, webhook_endpoints};

/// An endpoint. Its secrets never leave the server but once, when made;
/// `Debug` leaves them out.
#[derive(Clone, Queryable, Selectable, QueryableByName)]
#[diesel(table_name = webhook_endpoints, check_for_backend(diesel::pg::Pg))]
pub struct WebhookEndpoint {
    pub id: i64,
    pub owner_id: i64,
    pub url: String,
    pub description: String,
    pub kinds: Vec<String>,
    pub store_id: Option<i64>,
    pub secret: String,
    pub previous_secret: Option<String>,
    pub previous_secret_until: Option<DateTime<Utc>>,
    pub enabled: bool,
    pub disabled_reason: Option<String>,
    pub failing_since: Option<DateTime<Utc>>,
    pub leased_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl std::fmt::Debug for WebhookEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookEndpoint")
            .field("id", &self.id)
            .field("owner_id", &self.owner_id)
            .field("url", &self.url)
            .field("enabled", &self.enabled)
            .finish_non_exhaustive()
    }
}

impl WebhookEndpoint {
    /// The secrets that sign a delivery now: the current one, and the
    /// previous one while it overlaps.
    pub fn signing_secrets(&self, now: DateTime<Utc>) -> Vec<&str> {
        let mut secrets = vec![self.secret.as_str()];
        if let (Some(previous), Some(until)) = (&self.previous_secret, self.previous_secret_until) {
            if until > now {
                secrets.push(previous);
            }
        }
        secrets
    }
}

#[derive(Insertable)]
#[diesel(table_name = webhook_endpoints)]
pub struct NewWebhookEndpoint<'a> {
    pub owner_id: i64,
    pub url: &'a str,
    pub description: &'a str,
    pub kinds: &'a [String],
    pub store_id: Option<i64>,
    pub secret: &'a str,
}

impl NewWebhookEndpoint<'_> {
    pub fn insert(&self, conn: &mut PgConnection) -> QueryResult<WebhookEndpoint> {
        diesel::insert_into(webhook_endpoints::table)
            .values(self)
            .returning(WebhookEndpoint::as_returning())
            .get_result(conn)
    }
}

/// Changes to an endpoint; `None` leaves a field as it is.
#[derive(AsChangeset, Default)]
#[diesel(table_name = webhook_endpoints)]
pub struct WebhookEndpointChanges {
    pub url: Option<String>,
    pub description: Option<String>,
    pub kinds: Option<Vec<String>>,
    pub store_id: Option<Option<i64>>,
    pub enabled: Option<bool>,
    pub disabled_reason: Option<Option<String>>,
    pub failing_since: Option<Option<DateTime<Utc>>>,
    pub secret: Option<String>,
    pub previous_secret: Option<Option<String>>,
    pub previous_secret_until: Option<Option<DateTime<Utc>>>,
}

impl WebhookEndpoint {
    pub fn find(conn: &mut PgConnection, id: i64) -> QueryResult<WebhookEndpoint> {
        webhook_endpoints::table.find(id).select(WebhookEndpoint::as_select()).get_result(conn)
    }

    pub fn lock(conn: &mut PgConnection, id: i64) -> QueryResult<WebhookEndpoint> {
        webhook_endpoints::table.find(id).select(WebhookEndpoint::as_select()).for_update().get_result(conn)
    }

    /// An account's endpoints, oldest first.
    pub fn of_owner(conn: &mut PgConnection, owner_id: i64, limit: i64) -> QueryResult<Vec<WebhookEndpoint>> {
        webhook_endpoints::table
            .filter(webhook_endpoints::owner_id.eq(owner_id))
            .order(webhook_endpoints::id.asc())
            .limit(limit)
            .select(WebhookEndpoint::as_select())
            .load(conn)
    }

    pub fn count_of_owner(conn: &mut PgConnection, owner_id: i64) -> QueryResult<i64> {
        webhook_endpoints::table.filter(webhook_endpoints::owner_id.eq(owner_id)).count().get_result(conn)
    }

    pub fn update(
        conn: &mut PgConnection,
        id: i64,
        changes: &WebhookEndpointChanges,
    ) -> QueryResult<WebhookEndpoint> {
        diesel::update(webhook_endpoints::table.find(id))
            .set((changes, webhook_endpoints::updated_at.eq(diesel::dsl::now)))
            .returning(WebhookEndpoint::as_returning())
            .get_result(conn)
    }

    pub fn delete(conn: &mut PgConnection, id: i64) -> QueryResult<usize> {
        diesel::delete(webhook_endpoints::table.find(id)).execute(conn)
    }

    /// Takes an enabled endpoint whose next delivery is due and which no
    /// worker holds, for `lease_secs`: while it holds it, no other worker
    /// of any instance takes it.
    pub fn claim_due(conn: &mut PgConnection, lease_secs: f64) -> QueryResult<Option<WebhookEndpoint>> {
        diesel::sql_query(
            "UPDATE webhook_endpoints SET leased_until = now() + make_interval(secs => $1) \
             WHERE id = ( \
                 SELECT e.id FROM webhook_endpoints e \
                 CROSS JOIN LATERAL ( \
                     SELECT d.next_attempt_at FROM webhook_deliveries d \
                     WHERE d.endpoint_id = e.id AND d.state = 'pending' ORDER BY d.id LIMIT 1 \
                 ) head \
                 WHERE e.enabled AND (e.leased_until IS NULL OR e.leased_until < now()) \
                     AND head.next_attempt_at <= now() \
                 ORDER BY head.next_attempt_at, e.id \
                 LIMIT 1 FOR UPDATE OF e SKIP LOCKED) \
             RETURNING *",
        )
        .bind::<Double, _>(lease_secs)
        .get_result(conn)
        .optional()
    }

    /// Lets the endpoint go, for any worker to take when its next delivery is due.
    pub fn release(conn: &mut PgConnection, id: i64) -> QueryResult<usize> {
        diesel::update(webhook_endpoints::table.find(id))
            .set(webhook_endpoints::leased_until.eq(None::<DateTime<Utc>>))
            .execute(conn)
    }

    /// Notes how the endpoint's last attempt went: a success ends its
    /// failing stretch; a failure starts one, or disables the endpoint once
    /// it has lasted `disable_after`.
    pub fn attempted(
        conn: &mut PgConnection,
        id: i64,
        succeeded: bool,
        disable_after: chrono::Duration,
    ) -> QueryResult<()> {
        if succeeded {
            diesel::update(
                webhook_endpoints::table.find(id).filter(webhook_endpoints::failing_since.is_not_null()),
            )
            .set(webhook_endpoints::failing_since.eq(None::<DateTime<Utc>>))
            .execute(conn)?;
            return Ok(());
        }
        diesel::update(webhook_endpoints::table.find(id).filter(webhook_endpoints::failing_since.is_null()))
            .set(webhook_endpoints::failing_since.eq(diesel::dsl::now))
            .execute(conn)?;
        let hours = disable_after.num_hours();
        diesel::update(
            webhook_endpoints::table
                .find(id)
                .filter(webhook_endpoints::enabled.eq(true))
                .filter(webhook_endpoints::failing_since.le(Utc::now() - disable_after)),
        )
        .set((
            webhook_endpoints::enabled.eq(false),
            webhook_endpoints::disabled_reason.eq(Some(format!(
                "Disabled after every attempt failed for {hours} hours: fix the endpoint, then enable it."
            ))),
            webhook_endpoints::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)?;
        Ok(())
    }
}

/// Where a delivery stands.
pub const PENDING: &str = "pending";
pub const DELIVERED: &str = "delivered";
pub const FAILED: &str = "failed";

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = webhook_deliveries, check_for_backend(diesel::pg::Pg))]
pub struct WebhookDelivery {
    pub id: i64,
    pub endpoint_id: i64,
    pub event_id: i64,
    pub body: Option<String>,
    pub state: String,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

impl WebhookDelivery {
    /// The endpoint's next delivery, if it is due.
    pub fn next_due(conn: &mut PgConnection, endpoint_id: i64) -> QueryResult<Option<WebhookDelivery>> {
        let next: Option<WebhookDelivery> = webhook_deliveries::table
            .filter(webhook_deliveries::endpoint_id.eq(endpoint_id))
            .filter(webhook_deliveries::state.eq(PENDING))
            .order(webhook_deliveries::id.asc())
            .select(WebhookDelivery::as_select())
            .first(conn)
            .optional()?;
        Ok(next.filter(|delivery| delivery.next_attempt_at <= Utc::now()))
    }

    /// Keeps the body to send, rendered at the first attempt.
    pub fn set_body(conn: &mut PgConnection, id: i64, body: &str) -> QueryResult<usize> {
        diesel::update(webhook_deliveries::table.find(id))
            .set(webhook_deliveries::body.eq(body))
            .execute(conn)
    }

    /// Records an attempt and what follows: delivered, failed for good, or
    /// pending until `retry_at`.
    pub fn attempted(
        conn: &mut PgConnection,
        id: i64,
        attempt: &NewWebhookAttempt<'_>,
        outcome: Outcome,
    ) -> QueryResult<()> {
        diesel::insert_into(webhook_attempts::table).values(attempt).execute(conn)?;
        let target = webhook_deliveries::table.find(id);
        let attempts = webhook_deliveries::attempts.eq(webhook_deliveries::attempts + 1);
        match outcome {
            Outcome::Delivered | Outcome::Failed => {
                let state = if outcome == Outcome::Delivered { DELIVERED } else { FAILED };
                diesel::update(target)
                    .set((
                        attempts,
                        webhook_deliveries::state.eq(state),
                        webhook_deliveries::finished_at.eq(diesel::dsl::now),
                    ))
                    .execute(conn)?;
            }
            Outcome::RetryAt(at) => {
                diesel::update(target)
                    .set((attempts, webhook_deliveries::next_attempt_at.eq(at)))
                    .execute(conn)?;
            }
        }
        Ok(())
    }

    /// An endpoint's deliveries, newest first, before `before` (an id).
    pub fn of_endpoint(
        conn: &mut PgConnection,
        endpoint_id: i64,
        before: Option<i64>,
        limit: i64,
    ) -> QueryResult<Vec<WebhookDelivery>> {
        let mut query = webhook_deliveries::table
            .filter(webhook_deliveries::endpoint_id.eq(endpoint_id))
            .order(webhook_deliveries::id.desc())
            .limit(limit)
            .select(WebhookDelivery::as_select())
            .into_boxed();
        if let Some(before) = before {
            query = query.filter(webhook_deliveries::id.lt(before));
        }
        query.load(conn)
    }

    /// Sends delivery `id` of the endpoint again, as a new delivery at the
    /// end of its queue (with the same message id, so that the receiver
    /// can tell); its id, or `None` if there is no such delivery.
    pub fn redeliver(conn: &mut PgConnection, endpoint_id: i64, id: i64) -> QueryResult<Option<i64>> {
        #[derive(QueryableByName)]
        struct Made {
            #[diesel(sql_type = BigInt)]
            id: i64,
        }
        let made: Option<Made> = diesel::sql_query(
            "INSERT INTO webhook_deliveries (endpoint_id, event_id, body) \
             SELECT endpoint_id, event_id, body FROM webhook_deliveries WHERE id = $1 AND endpoint_id = $2 \
             RETURNING id",
        )
        .bind::<BigInt, _>(id)
        .bind::<BigInt, _>(endpoint_id)
        .get_result(conn)
        .optional()?;
        Ok(made.map(|made| made.id))
    }

    /// Forgets finished deliveries made before `before`.
    pub fn delete_finished_before(conn: &mut PgConnection, before: DateTime<Utc>) -> QueryResult<usize> {
        diesel::delete(
            webhook_deliveries::table
                .filter(webhook_deliveries::created_at.lt(before))
                .filter(webhook_deliveries::state.ne(PENDING)),
        )
        .execute(conn)
    }
}

/// What follows an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Delivered,
    RetryAt(DateTime<Utc>),
    Failed,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = webhook_attempts, check_for_backend(diesel::pg::Pg))]
pub struct WebhookAttempt {
    pub id: i64,
    pub delivery_id: i64,
    pub at: DateTime<Utc>,
    pub duration_ms: i32,
    pub status: Option<i32>,
    pub error: Option<String>,
    pub response: String,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = webhook_attempts)]
pub struct NewWebhookAttempt<'a> {
    pub delivery_id: i64,
    pub duration_ms: i32,
    pub status: Option<i32>,
    pub error: Option<&'a str>,
    pub response: &'a str,
}

impl WebhookAttempt {
    /// The attempts at these deliveries, oldest first.
    pub fn of_deliveries(conn: &mut PgConnection, ids: &[i64]) -> QueryResult<Vec<WebhookAttempt>> {
        webhook_attempts::table
            .filter(webhook_attempts::delivery_id.eq_any(ids))
            .order(webhook_attempts::id.asc())
            .select(WebhookAttempt::as_select())
            .load(conn)
    }
}
