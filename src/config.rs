//! Application settings beyond Rocket's own, read from the same Figment:
//! `Rocket.toml` for defaults per profile, `ROCKET_*` variables for
//! everything else, and only the environment for secrets.

use rocket::figment::Figment;
use serde::Deserialize;

/// The JWT secret that `Rocket.toml` gives the debug profile. Published in
/// the repository, so the release profile refuses it.
pub const DEBUG_JWT_SECRET: &str = "debug-only-jwt-secret-0123456789abcdef-not-for-production";
/// Likewise for the cookie key of the debug profile.
pub const DEBUG_SECRET_KEY: &str = "da98fe6f98f3b72a3914cec3bc8cb0c7d042cb8a6c6fc621ac4d300e5467c59a";

pub const MIN_JWT_SECRET_BYTES: usize = 32;

#[derive(Debug, Clone, Deserialize)]
pub struct AppConfig {
    /// Signs API tokens (HS256). `ROCKET_JWT_SECRET`.
    #[serde(default)]
    pub jwt_secret: String,
    #[serde(default = "defaults::access_token_minutes")]
    pub access_token_minutes: i64,
    #[serde(default = "defaults::refresh_token_days")]
    pub refresh_token_days: i64,
    /// Failed logins allowed per account, and per client address, in the window.
    #[serde(default = "defaults::login_failures_per_account")]
    pub login_failures_per_account: i64,
    #[serde(default = "defaults::login_failures_per_client")]
    pub login_failures_per_client: i64,
    #[serde(default = "defaults::login_window_minutes")]
    pub login_window_minutes: i64,
    /// How long a request may wait for the database before answering 503.
    #[serde(default = "defaults::database_budget_seconds")]
    pub database_budget_seconds: u64,
    /// Mark cookies `Secure` (served over HTTPS, directly or behind a proxy).
    #[serde(default)]
    pub secure_cookies: bool,
    /// Fill an empty database with demo data at launch (debug profile).
    #[serde(default)]
    pub seed_demo_data: bool,
    /// Open event streams (`GET /api/events`) one instance serves at most;
    /// each holds a socket, so the open-files limit must be above it.
    #[serde(default = "defaults::events_max_streams")]
    pub events_max_streams: usize,
    /// Seconds between heartbeat comments on an idle event stream.
    #[serde(default = "defaults::events_heartbeat_seconds")]
    pub events_heartbeat_seconds: u64,
    /// How long events are kept for clients that resume with `Last-Event-ID`.
    #[serde(default = "defaults::events_history_hours")]
    pub events_history_hours: u64,
    /// A client that resumes further back than this many events, or falls
    /// this far behind, is told to reload (`resync`) instead.
    #[serde(default = "defaults::events_backlog")]
    pub events_backlog: usize,
}

mod defaults {
    pub fn access_token_minutes() -> i64 {
        15
    }
    pub fn refresh_token_days() -> i64 {
        30
    }
    pub fn login_failures_per_account() -> i64 {
        10
    }
    pub fn login_failures_per_client() -> i64 {
        30
    }
    pub fn login_window_minutes() -> i64 {
        15
    }
    pub fn database_budget_seconds() -> u64 {
        5
    }
    pub fn events_max_streams() -> usize {
        1000
    }
    pub fn events_heartbeat_seconds() -> u64 {
        15
    }
    pub fn events_history_hours() -> u64 {
        24
    }
    pub fn events_backlog() -> usize {
        1000
    }
}

impl AppConfig {
    /// Reads the settings and checks the secrets. In the release profile a
    /// missing, short or published secret is an error, not a warning.
    pub fn from_figment(figment: &Figment) -> Result<AppConfig, String> {
        let config: AppConfig = figment.extract().map_err(|e| format!("invalid configuration: {e}"))?;
        if config.jwt_secret.len() < MIN_JWT_SECRET_BYTES {
            return Err(format!(
                "ROCKET_JWT_SECRET must be set to at least {MIN_JWT_SECRET_BYTES} bytes \
                 (for example: export ROCKET_JWT_SECRET=$(openssl rand -base64 48))"
            ));
        }
        if figment.profile() == rocket::Config::RELEASE_PROFILE {
            if config.jwt_secret == DEBUG_JWT_SECRET {
                return Err("ROCKET_JWT_SECRET is the published debug value; set a secret of your own \
                            (openssl rand -base64 48)"
                    .into());
            }
            let secret_key: Option<String> = figment.extract_inner("secret_key").ok();
            match secret_key.as_deref() {
                None | Some("") => {
                    return Err("ROCKET_SECRET_KEY must be set in the release profile \
                                (openssl rand -base64 32)"
                        .into())
                }
                Some(DEBUG_SECRET_KEY) => {
                    return Err("ROCKET_SECRET_KEY is the published debug value; set a key of your own \
                                (openssl rand -base64 32)"
                        .into())
                }
                Some(_) => {}
            }
        }
        if config.access_token_minutes < 1 || config.refresh_token_days < 1 {
            return Err("token lifetimes must be positive".into());
        }
        if config.events_heartbeat_seconds < 1 || config.events_backlog < 1 {
            return Err("events_heartbeat_seconds and events_backlog must be positive".into());
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rocket::figment::providers::Serialized;

    fn figment(profile: &str, values: &[(&str, &str)]) -> Figment {
        let mut figment = Figment::new().select(profile);
        for (key, value) in values {
            figment = figment.merge(Serialized::default(key, value));
        }
        figment
    }

    #[test]
    fn debug_accepts_the_debug_secret() {
        let config = AppConfig::from_figment(&figment("debug", &[("jwt_secret", DEBUG_JWT_SECRET)]));
        assert_eq!(config.unwrap().access_token_minutes, 15);
    }

    #[test]
    fn a_short_or_missing_jwt_secret_is_refused_everywhere() {
        assert!(AppConfig::from_figment(&figment("debug", &[])).is_err());
        assert!(AppConfig::from_figment(&figment("debug", &[("jwt_secret", "short")])).is_err());
    }

    #[test]
    fn release_refuses_published_or_missing_secrets() {
        let own_jwt = "an-operator-chosen-secret-of-at-least-32-bytes";
        let own_key = "hPRYyVRiMyxpw5sBB1XeCMN1kFsDCqKvBi2QJxBVHQk=";
        let cases = [
            (vec![("jwt_secret", DEBUG_JWT_SECRET), ("secret_key", own_key)], false),
            (vec![("jwt_secret", own_jwt)], false),
            (vec![("jwt_secret", own_jwt), ("secret_key", DEBUG_SECRET_KEY)], false),
            (vec![("jwt_secret", own_jwt), ("secret_key", own_key)], true),
        ];
        for (values, ok) in cases {
            assert_eq!(AppConfig::from_figment(&figment("release", &values)).is_ok(), ok, "{values:?}");
        }
    }
}
