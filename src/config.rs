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

/// Secrets printed in documentation, which the release profile refuses:
/// ours above, and the example key of Rocket's configuration guide.
const PUBLISHED_SECRETS: [&str; 3] =
    [DEBUG_JWT_SECRET, DEBUG_SECRET_KEY, "hPRYyVRiMyxpw5sBB1XeCMN1kFsDCqKvBi2QJxBVHQk="];

/// Below this estimate a secret is too guessable to sign or encrypt with.
const MIN_SECRET_BITS: f64 = 128.0;

/// What is wrong with a release secret, if anything: published, or of too
/// little entropy by the frequency of its characters (32 × `a` has none,
/// `openssl rand -base64 32` about 230 bits).
fn weak_secret(secret: &str) -> Option<&'static str> {
    if PUBLISHED_SECRETS.contains(&secret) {
        return Some("is a published example value");
    }
    let mut counts = std::collections::HashMap::new();
    for c in secret.chars() {
        *counts.entry(c).or_insert(0usize) += 1;
    }
    let length = secret.chars().count() as f64;
    let per_character: f64 = counts
        .values()
        .map(|&n| {
            let p = n as f64 / length;
            -p * p.log2()
        })
        .sum();
    (per_character * length < MIN_SECRET_BITS).then_some("is too predictable")
}

#[derive(Debug, Clone, Deserialize)]
pub struct AppConfig {
    /// Signs API tokens (HS256). `ROCKET_JWT_SECRET`.
    #[serde(default)]
    pub jwt_secret: String,
    #[serde(default = "defaults::access_token_minutes")]
    pub access_token_minutes: i64,
    #[serde(default = "defaults::refresh_token_days")]
    pub refresh_token_days: i64,
    /// Failed logins allowed in the window from clients without a device
    /// token, per account and per client address; past either, such clients
    /// are refused (429) until the window has moved on. Clients with a
    /// device token of the account are not affected.
    #[serde(default = "defaults::login_failures_per_account")]
    pub login_failures_per_account: i64,
    #[serde(default = "defaults::login_failures_per_client")]
    pub login_failures_per_client: i64,
    /// Failed logins allowed in the window from one device token.
    #[serde(default = "defaults::login_failures_per_device")]
    pub login_failures_per_device: i64,
    /// Failed logins an account may receive from clients without a device
    /// token in any hour, however many addresses they come from.
    #[serde(default = "defaults::login_failures_per_account_hour")]
    pub login_failures_per_account_hour: i64,
    #[serde(default = "defaults::login_window_minutes")]
    pub login_window_minutes: i64,
    /// How long a device token (given at each successful login) vouches for
    /// its client.
    #[serde(default = "defaults::device_token_days")]
    pub device_token_days: i64,
    /// Web sessions end after this many minutes without a request...
    #[serde(default = "defaults::session_idle_minutes")]
    pub session_idle_minutes: i32,
    /// ...and this many hours after login, whatever happens.
    #[serde(default = "defaults::session_hours")]
    pub session_hours: i64,
    /// A member who ticks "keep me signed in" stays signed in this many days
    /// (staff and admins never do).
    #[serde(default = "defaults::remember_days")]
    pub remember_days: i64,
    /// How long a request may wait for the database before answering 503.
    #[serde(default = "defaults::database_budget_seconds")]
    pub database_budget_seconds: u64,
    /// Mark cookies `Secure` (served over HTTPS, directly or behind a proxy).
    #[serde(default)]
    pub secure_cookies: bool,
    /// `required`: staff and admins add an authenticator app before they
    /// may use the panel or log in to the API; `optional`: whoever wants one.
    #[serde(default)]
    pub staff_two_step: TwoStep,
    /// Fill an empty database with demo data at launch (debug profile).
    #[serde(default)]
    pub seed_demo_data: bool,
    /// Open event streams (`GET /api/events`) one instance serves at most;
    /// each holds a socket, so the open-files limit must be above it.
    #[serde(default = "defaults::events_max_streams")]
    pub events_max_streams: usize,
    /// Open event streams one client address may hold on one instance, so
    /// that no client takes every place.
    #[serde(default = "defaults::events_max_streams_per_client")]
    pub events_max_streams_per_client: usize,
    /// Seconds between heartbeat comments on an idle event stream. A
    /// response body in Rocket learns that its client has gone only when it
    /// writes, so this is also how soon a closed stream gives its place back.
    #[serde(default = "defaults::events_heartbeat_seconds")]
    pub events_heartbeat_seconds: u64,
    /// How long events are kept for clients that resume with `Last-Event-ID`.
    #[serde(default = "defaults::events_history_hours")]
    pub events_history_hours: u64,
    /// A client that resumes further back than this many events, or falls
    /// this far behind, is told to reload (`resync`) instead.
    #[serde(default = "defaults::events_backlog")]
    pub events_backlog: usize,
    /// Bytes of reads kept in memory (single resources, the API's lists and
    /// anonymous visitors' pages), kept correct by the live events; `0`
    /// turns it off.
    #[serde(default = "defaults::read_cache_bytes")]
    pub read_cache_bytes: usize,
    /// Origins of frontends that may call the API from a browser
    /// (`https://app.example.org`): a list, or one string separated by
    /// commas or spaces. Empty (the default): no cross-origin calls.
    #[serde(default, deserialize_with = "list")]
    pub cors_origins: Vec<String>,
    /// The address clients reach this site at (`https://shop.example.org`),
    /// for absolute links such as the API's `Link` headers. Unset: the
    /// request's `Host`, over HTTPS when `secure_cookies` is on.
    #[serde(default)]
    pub public_url: Option<String>,
    /// The currency of every price, as an ISO 4217 code (`EUR`, `USD`):
    /// how pages write prices. The API gives the bare decimal.
    #[serde(default = "defaults::currency")]
    pub currency: String,
    /// Connection URLs of streaming replicas of the database (hot standbys)
    /// that may answer reads: a list, or one string separated by commas or
    /// spaces. Empty (the default): the primary answers everything.
    #[serde(default, deserialize_with = "list")]
    pub replica_urls: Vec<String>,
    /// A replica further behind the primary than this many milliseconds
    /// is not read from until it catches up.
    #[serde(default = "defaults::replica_max_lag_ms")]
    pub replica_max_lag_ms: u64,
    /// Requests an API client (an account with a bearer token) may make in
    /// an hour: writes (`POST`, `PUT`, `PATCH`, `DELETE`) and reads, each
    /// counted apart. `0` leaves that kind unlimited.
    #[serde(default = "defaults::api_writes_per_hour")]
    pub api_writes_per_hour: i64,
    #[serde(default = "defaults::api_reads_per_hour")]
    pub api_reads_per_hour: i64,
    /// Webhook endpoints may be plain `http://` URLs (for tests and closed
    /// networks); otherwise only `https://`.
    #[serde(default)]
    pub webhooks_allow_http: bool,
    /// Deliveries may go to loopback, private and link-local addresses
    /// (for tests); otherwise they are refused, however the name resolves.
    #[serde(default)]
    pub webhooks_allow_private: bool,
    /// Delivery workers of each instance.
    #[serde(default = "defaults::webhook_workers")]
    pub webhook_workers: usize,
    /// The time limit of one delivery attempt.
    #[serde(default = "defaults::webhook_timeout_seconds")]
    pub webhook_timeout_seconds: u64,
    /// An endpoint whose every attempt has failed for this long is disabled.
    #[serde(default = "defaults::webhooks_disable_after_hours")]
    pub webhooks_disable_after_hours: i64,
}

/// Checks the allow-list: each entry an origin as browsers send it
/// (`https://app.example.org`, with a port if not the default), no `*`, no
/// path.
fn check_origins(origins: &[String]) -> Result<(), String> {
    for origin in origins {
        let rest = origin.strip_prefix("https://").or_else(|| origin.strip_prefix("http://"));
        let valid = rest.is_some_and(|host| {
            !host.is_empty() && !host.contains(['/', '*', ' ', '?', '#']) && !host.ends_with(':')
        });
        if !valid {
            return Err(format!(
                "cors_origins: {origin:?} is not an origin; list each as scheme://host[:port], \
                 for example https://app.example.org (never *)"
            ));
        }
    }
    Ok(())
}

/// A list, or one string of its entries separated by commas or spaces.
fn list<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Listed {
        One(String),
        Many(Vec<String>),
    }
    let listed = match Listed::deserialize(deserializer)? {
        Listed::One(text) => text.split([',', ' ']).map(str::to_owned).collect(),
        Listed::Many(list) => list,
    };
    Ok(listed.into_iter().map(|o| o.trim().to_owned()).filter(|o| !o.is_empty()).collect())
}

/// Whether staff must sign in in two steps.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TwoStep {
    #[default]
    Optional,
    Required,
}

impl AppConfig {
    /// Whether staff and admins must have a second step.
    pub fn staff_two_step_required(&self) -> bool {
        self.staff_two_step == TwoStep::Required
    }
}

mod defaults {
    pub fn currency() -> String {
        "EUR".to_owned()
    }

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
    pub fn login_failures_per_device() -> i64 {
        10
    }
    pub fn login_failures_per_account_hour() -> i64 {
        100
    }
    pub fn login_window_minutes() -> i64 {
        15
    }
    pub fn device_token_days() -> i64 {
        365
    }
    pub fn session_idle_minutes() -> i32 {
        30
    }
    pub fn session_hours() -> i64 {
        12
    }
    pub fn remember_days() -> i64 {
        30
    }
    pub fn database_budget_seconds() -> u64 {
        5
    }
    pub fn events_max_streams() -> usize {
        1000
    }
    pub fn events_max_streams_per_client() -> usize {
        20
    }
    pub fn events_heartbeat_seconds() -> u64 {
        2
    }
    pub fn events_history_hours() -> u64 {
        24
    }
    pub fn events_backlog() -> usize {
        1000
    }
    pub fn read_cache_bytes() -> usize {
        32 * 1024 * 1024
    }

    pub fn replica_max_lag_ms() -> u64 {
        3000
    }

    pub fn api_writes_per_hour() -> i64 {
        5000
    }
    pub fn api_reads_per_hour() -> i64 {
        50000
    }
    pub fn webhook_workers() -> usize {
        4
    }
    pub fn webhook_timeout_seconds() -> u64 {
        10
    }
    pub fn webhooks_disable_after_hours() -> i64 {
        120
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
            if let Some(why) = weak_secret(&config.jwt_secret) {
                return Err(format!(
                    "ROCKET_JWT_SECRET {why}; set a secret of your own (openssl rand -base64 48)"
                ));
            }
            let secret_key: Option<String> = figment.extract_inner("secret_key").ok();
            match secret_key.as_deref() {
                None | Some("") => {
                    return Err("ROCKET_SECRET_KEY must be set in the release profile \
                                (openssl rand -base64 32)"
                        .into())
                }
                Some(key) => {
                    if let Some(why) = weak_secret(key) {
                        return Err(format!(
                            "ROCKET_SECRET_KEY {why}; set a key of your own (openssl rand -base64 32)"
                        ));
                    }
                }
            }
        }
        let lifetimes = [
            config.access_token_minutes,
            config.refresh_token_days,
            config.device_token_days,
            config.session_idle_minutes.into(),
            config.session_hours,
            config.remember_days,
            config.login_window_minutes,
        ];
        if lifetimes.iter().any(|&lifetime| lifetime < 1) {
            return Err("token and session lifetimes and the login window must be positive".into());
        }
        if config.events_heartbeat_seconds < 1 || config.events_backlog < 1 {
            return Err("events_heartbeat_seconds and events_backlog must be positive".into());
        }
        check_origins(&config.cors_origins)?;
        if config.webhook_timeout_seconds < 1 || config.webhooks_disable_after_hours < 1 {
            return Err("webhook_timeout_seconds and webhooks_disable_after_hours must be positive".into());
        }
        if config.api_writes_per_hour < 0 || config.api_reads_per_hour < 0 {
            return Err("api_writes_per_hour and api_reads_per_hour must be 0 (unlimited) or more".into());
        }
        if !config.replica_urls.is_empty() && config.replica_max_lag_ms == 0 {
            return Err("replica_max_lag_ms must be positive".into());
        }
        if let Some(url) = config.replica_urls.iter().find(|url| !url.contains("://")) {
            return Err(format!(
                "replica_urls: {:?} is not a connection URL (postgres://user@host:port/database)",
                crate::db::redact(url)
            ));
        }
        if crate::price::Money::new(&config.currency).is_none() {
            return Err(format!(
                "currency: {:?} is not a currency code; use three capital letters such as EUR or USD",
                config.currency
            ));
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
    fn cors_origins_are_exact_origins() {
        let listed = |value: &str| {
            AppConfig::from_figment(&figment(
                "debug",
                &[("jwt_secret", DEBUG_JWT_SECRET), ("cors_origins", value)],
            ))
        };
        let config = listed("https://app.example.org, http://localhost:5173").unwrap();
        assert_eq!(config.cors_origins, ["https://app.example.org", "http://localhost:5173"]);
        assert!(listed("").unwrap().cors_origins.is_empty());
        for bad in ["*", "https://*.example.org", "app.example.org", "https://app.example.org/", "https://"] {
            assert!(listed(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn replicas_are_connection_urls_with_a_positive_bound() {
        let with = |values: &[(&str, &str)]| {
            let mut all = vec![("jwt_secret", DEBUG_JWT_SECRET)];
            all.extend_from_slice(values);
            AppConfig::from_figment(&figment("debug", &all))
        };
        let none = with(&[]).unwrap();
        assert!(none.replica_urls.is_empty());
        assert_eq!(none.replica_max_lag_ms, 3000);
        let two = with(&[("replica_urls", "postgres://r1/shop, postgres://u:pw@r2:5433/shop")]).unwrap();
        assert_eq!(two.replica_urls, ["postgres://r1/shop", "postgres://u:pw@r2:5433/shop"]);
        let refused = with(&[("replica_urls", "r1.example.org")]).unwrap_err();
        assert!(refused.contains("not a connection URL"), "{refused}");
        assert!(with(&[("replica_urls", "postgres://r1/shop"), ("replica_max_lag_ms", "0")]).is_err());
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
        let own_jwt = "Kq0v7Xc2Lr9TnWm4Zb8Yd1Hs6Gf3Jp5Ae0Ui7Ox2Vw9Rt4Ny";
        let own_key = "Tq8Rz3Vb1Xn6Mc4Lk9Jh2Gf7Ds5Ap0Qw8Er3Ty6Ui1Oo=";
        let rockets_example = "hPRYyVRiMyxpw5sBB1XeCMN1kFsDCqKvBi2QJxBVHQk=";
        let (all_a, all_zeros) = ("a".repeat(32), "0".repeat(64));
        let cases = [
            (vec![("jwt_secret", DEBUG_JWT_SECRET), ("secret_key", own_key)], false),
            (vec![("jwt_secret", own_jwt)], false),
            (vec![("jwt_secret", own_jwt), ("secret_key", DEBUG_SECRET_KEY)], false),
            (vec![("jwt_secret", own_jwt), ("secret_key", rockets_example)], false),
            (vec![("jwt_secret", all_a.as_str()), ("secret_key", own_key)], false),
            (vec![("jwt_secret", "abababababababababababababababab"), ("secret_key", own_key)], false),
            (vec![("jwt_secret", own_jwt), ("secret_key", all_zeros.as_str())], false),
            (vec![("jwt_secret", own_jwt), ("secret_key", own_key)], true),
        ];
        for (values, ok) in cases {
            assert_eq!(AppConfig::from_figment(&figment("release", &values)).is_ok(), ok, "{values:?}");
        }
    }
}
