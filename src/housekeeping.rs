//! Deletes what has ended, on every instance every few minutes: sessions
//! that are revoked, expired or idle too long, login failures no limit
//! looks at any more, passkey ceremonies nobody finished, idempotent API
//! answers a day old, API request counts of hours gone by, imports a week
//! old (with their files), and finished webhook deliveries a month old. The deletes are idempotent, so instances
//! need not take turns.

use std::time::Duration;

use chrono::Utc;
use rocket::fairing::AdHoc;
use rocket::tokio::time::{interval, MissedTickBehavior};

use crate::config::AppConfig;
use crate::db::DbPool;
use crate::error::Error;
use crate::models::api_bookkeeping::{ApiUsage, IdempotencyKey};
use crate::models::import::Import;
use crate::models::second_factor::PasskeyCeremony;
use crate::models::webhook::WebhookDelivery;
use crate::models::{LoginFailure, Session};

const EVERY: Duration = Duration::from_secs(600);

/// What one sweep deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Swept {
    pub sessions: usize,
    pub login_failures: usize,
    pub imports: usize,
    pub passkey_ceremonies: usize,
    pub idempotency_keys: usize,
    pub api_usage: usize,
    pub webhook_deliveries: usize,
}

/// How long a finished webhook delivery (with its attempts) is kept.
pub const WEBHOOK_DELIVERIES_KEPT_DAYS: i64 = 30;

/// How long an import (its file and preview) is kept.
pub const IMPORTS_KEPT_DAYS: i64 = 7;

/// One sweep. Failures are kept as long as the longer of the login window
/// and the hourly cap looks back.
pub fn sweep(conn: &mut diesel::PgConnection, config: &AppConfig) -> Result<Swept, Error> {
    let kept = chrono::Duration::minutes(config.login_window_minutes).max(chrono::Duration::hours(1));
    let sessions = Session::delete_ended(conn)?;
    let login_failures = LoginFailure::delete_before(conn, Utc::now() - kept)?;
    let imports = Import::delete_before(conn, Utc::now() - chrono::Duration::days(IMPORTS_KEPT_DAYS))?;
    let passkey_ceremonies = PasskeyCeremony::delete_expired(conn)?;
    let idempotency_keys = IdempotencyKey::delete_before(
        conn,
        Utc::now() - chrono::Duration::hours(crate::api::IDEMPOTENT_ANSWERS_KEPT_HOURS),
    )?;
    let api_usage = ApiUsage::delete_before(conn, Utc::now() - chrono::Duration::hours(2))?;
    let webhook_deliveries = WebhookDelivery::delete_finished_before(
        conn,
        Utc::now() - chrono::Duration::days(WEBHOOK_DELIVERIES_KEPT_DAYS),
    )?;
    Ok(Swept {
        sessions,
        login_failures,
        imports,
        passkey_ceremonies,
        idempotency_keys,
        api_usage,
        webhook_deliveries,
    })
}

/// Sweeps at launch and then every ten minutes, until shutdown.
pub fn stage() -> AdHoc {
    AdHoc::on_liftoff("Housekeeping", |rocket| {
        Box::pin(async move {
            let (Some(pool), Some(config)) =
                (DbPool::pool(rocket).cloned(), rocket.state::<AppConfig>().cloned())
            else {
                return;
            };
            let mut shutdown = rocket.shutdown();
            let budget = Duration::from_secs(config.database_budget_seconds);
            rocket::tokio::spawn(async move {
                let mut ticks = interval(EVERY);
                ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
                loop {
                    rocket::tokio::select! {
                        _ = ticks.tick() => {}
                        _ = &mut shutdown => return,
                    }
                    let config = config.clone();
                    match crate::db::in_background(&pool, budget, move |conn| sweep(conn, &config)).await {
                        Ok(swept) => tracing::debug!(
                            sessions = swept.sessions,
                            login_failures = swept.login_failures,
                            imports = swept.imports,
                            passkey_ceremonies = swept.passkey_ceremonies,
                            idempotency_keys = swept.idempotency_keys,
                            api_usage = swept.api_usage,
                            webhook_deliveries = swept.webhook_deliveries,
                            "housekeeping"
                        ),
                        Err(error) => tracing::warn!("housekeeping failed: {error}"),
                    }
                }
            });
        })
    })
}
