//! Storefront: stores, their items and tags, served from one Rocket
//! application and one PostgreSQL database as public pages (`web`), an admin
//! panel (`admin`) and a JSON API under `/api` (`api`), all three on the same
//! models and service layer.
//!
//! [`rocket`] builds the application from a [`Figment`]; `main` and the
//! tests build exactly the same one, each with its own configuration.

pub mod admin;
pub mod api;
pub mod assets;
pub mod auth;
pub mod cache;
pub mod cli;
pub mod config;
pub mod db;
pub mod demo;
pub mod error;
pub mod events;
// Used by `build.rs` to name the embedded static files; tested here.
#[cfg(test)]
mod fingerprint;
pub mod flows;
pub mod housekeeping;
pub mod local_postgres;
pub mod logging;
pub mod models;
pub mod pictures;
pub mod policy;
pub mod price;
pub mod replicas;
pub mod request;
pub mod schema;
pub mod services;
pub mod spreadsheet;
pub mod text;
pub mod views;
pub mod web;
pub mod webhooks;

use rocket::fairing::AdHoc;
use rocket::figment::Figment;
use rocket::{Build, Rocket};

use crate::auth::jwt::TokenKeys;
use crate::config::AppConfig;

/// Where the database is when nothing says otherwise.
pub const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/storefront";

/// The project's `Rocket.toml`, compiled in: every setting the binary needs
/// to be safe (secure cookies in release, no trusted address header, body
/// limits, the pool size) holds wherever the binary runs, with or without a
/// file beside it.
const SHIPPED_CONFIG: &str = include_str!("../Rocket.toml");

/// Rocket's configuration in layers, each overriding the one before:
/// Rocket's defaults, the shipped `Rocket.toml`, a configuration file (see
/// [`config_file`]), `ROCKET_*` variables, and `DATABASE_URL` for the
/// database.
pub fn figment() -> Figment {
    figment_with_file(config_file().as_deref())
}

/// The configuration file read over the shipped one: `ROCKET_CONFIG` if set,
/// otherwise `Rocket.toml` in the working folder if there is one.
pub fn config_file() -> Option<std::path::PathBuf> {
    match std::env::var_os("ROCKET_CONFIG") {
        Some(path) => Some(path.into()),
        None => Some(std::path::PathBuf::from("Rocket.toml")).filter(|path| path.is_file()),
    }
}

fn figment_with_file(file: Option<&std::path::Path>) -> Figment {
    use rocket::figment::providers::{Env, Format, Toml};
    use rocket::figment::Profile;

    let mut figment = Figment::from(rocket::Config::default()).merge(Toml::string(SHIPPED_CONFIG).nested());
    if let Some(file) = file {
        figment = figment.merge(Toml::file_exact(file).nested());
    }
    let mut figment = figment
        .merge(Env::prefixed("ROCKET_").ignore(&["PROFILE"]).global())
        .select(Profile::from_env_or("ROCKET_PROFILE", rocket::Config::DEFAULT_PROFILE));
    if figment.find_value("databases.main.url").is_err() {
        figment = figment.merge(("databases.main.url", DEFAULT_DATABASE_URL));
    }
    if let Ok(url) = std::env::var("DATABASE_URL") {
        figment = figment.merge(("databases.main.url", url));
    }
    // Rocket's own log prints request URLs verbatim; the application's
    // (`logging`) replaces it unless it is asked for by name.
    if std::env::var_os("ROCKET_LOG_LEVEL").is_none() {
        figment = figment.merge(("log_level", "off"));
    }
    if let Ok(url) = figment.extract_inner::<String>("databases.main.url") {
        figment = figment.merge(("databases.main.url", db::with_connect_timeout(&url)));
    }
    figment
}

/// The whole application, ready to launch.
pub fn rocket(figment: Figment) -> Rocket<Build> {
    rocket::custom(figment)
        .attach(logging::RequestLog)
        .attach(AdHoc::try_on_ignite("Configuration", |rocket| async {
            match AppConfig::from_figment(rocket.figment()) {
                Ok(config) => Ok(rocket.manage(TokenKeys::new(&config)).manage(config)),
                Err(why) => {
                    tracing::error!("{why}");
                    Err(rocket)
                }
            }
        }))
        .attach(db::stage())
        // Ignite fairings attached while igniting run after every fairing
        // attached here: this one attaches the demo data's, so that it runs
        // after the pool and the migrations that `db::stage` attaches.
        .attach(AdHoc::on_ignite("Demo data", |rocket| async { rocket.attach(demo::stage()) }))
        .attach(events::stage())
        .attach(housekeeping::stage())
        .attach(webhooks::stage())
        .attach(api::stage())
        .attach(web::stage())
        .attach(admin::stage())
        .attach(AdHoc::on_liftoff("Announce", |rocket| {
            Box::pin(async move {
                let config = rocket.config();
                tracing::info!(address = %config.address, port = config.port, "listening");
            })
        }))
}
