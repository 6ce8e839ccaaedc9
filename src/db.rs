//! The connection pool, a request guard that never waits forever, embedded
//! migrations, and creating the database on first run.

use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel::prelude::*;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use rocket::fairing::AdHoc;
use rocket::http::Status;
use rocket::request::{FromRequest, Outcome, Request};
use rocket::tokio::time::timeout_at;
use rocket::{Build, Orbit, Rocket};
use rocket_sync_db_pools::database;

use crate::config::AppConfig;
use crate::error::Error;

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// Any fixed number shared by every instance: migrations run under this
/// advisory lock, so instances starting together take turns.
const MIGRATION_LOCK: i64 = 0x5354_4f52_4546_524e;

#[database("main")]
pub struct DbPool(PgConnection);

/// The pooled connection of one request, shared by every guard and the
/// handler of that request (so a request never holds two). Getting it and
/// every `run` on it share one deadline, the database budget from the first
/// time the request needed the database: a database that is down or frozen
/// gives `Error::Unavailable` (503) within the budget, however many steps
/// the request takes, instead of a request that hangs.
#[derive(Clone)]
pub struct Db {
    connection: Arc<DbPool>,
    deadline: Instant,
}

/// When the request's time with the database is up.
struct Deadline(Instant);

fn deadline_of(request: &Request<'_>) -> Instant {
    request.local_cache(|| Deadline(Instant::now() + budget_of(request.rocket()))).0
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Db {
    type Error = Error;

    async fn from_request(request: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        let cached: &Option<Db> = request
            .local_cache_async(async {
                let deadline = deadline_of(request);
                match timeout_at(deadline.into(), DbPool::get_one(request.rocket())).await {
                    Ok(Some(connection)) => Some(Db { connection: Arc::new(connection), deadline }),
                    _ => None,
                }
            })
            .await;
        match cached {
            Some(db) => Outcome::Success(db.clone()),
            None => Outcome::Error((Status::ServiceUnavailable, Error::Unavailable)),
        }
    }
}

/// Takes a connection when asked rather than for the whole request: for a
/// handler that must give it back before it ends (a stream that stays open),
/// or hold none while it waits on something else. Every connection it takes
/// shares the request's deadline, like [`Db`].
pub struct DbOnDemand<'r> {
    rocket: &'r Rocket<Orbit>,
    deadline: Instant,
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for DbOnDemand<'r> {
    type Error = std::convert::Infallible;

    async fn from_request(request: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        Outcome::Success(DbOnDemand { rocket: request.rocket(), deadline: deadline_of(request) })
    }
}

impl DbOnDemand<'_> {
    /// A connection of the pool, until the request's deadline.
    pub async fn connect(&self) -> Result<Db, Error> {
        match timeout_at(self.deadline.into(), DbPool::get_one(self.rocket)).await {
            Ok(Some(connection)) => Ok(Db { connection: Arc::new(connection), deadline: self.deadline }),
            _ => Err(Error::Unavailable),
        }
    }
}

/// Where a service that waits on something else between its database steps
/// (a password hash) gets its connection: a request that already holds one
/// ([`Db`]) uses it; one that does not ([`DbOnDemand`]) takes one per step,
/// so that it holds none while it waits.
#[rocket::async_trait]
pub trait Connect: Sync {
    async fn connection(&self) -> Result<Db, Error>;
}

#[rocket::async_trait]
impl Connect for Db {
    async fn connection(&self) -> Result<Db, Error> {
        Ok(self.clone())
    }
}

#[rocket::async_trait]
impl Connect for DbOnDemand<'_> {
    async fn connection(&self) -> Result<Db, Error> {
        self.connect().await
    }
}

fn budget_of<P: rocket::Phase>(rocket: &Rocket<P>) -> Duration {
    let seconds = rocket.state::<AppConfig>().map(|config| config.database_budget_seconds).unwrap_or(5);
    Duration::from_secs(seconds)
}

impl Db {
    /// Runs `work` on a blocking thread with this request's connection, if
    /// the request's deadline allows.
    pub async fn run<T, F>(&self, work: F) -> Result<T, Error>
    where
        F: FnOnce(&mut PgConnection) -> Result<T, Error> + Send + 'static,
        T: Send + 'static,
    {
        match timeout_at(self.deadline.into(), self.connection.run(work)).await {
            Ok(result) => result,
            Err(_) => {
                tracing::warn!("the database did not answer within the request's budget");
                Err(Error::Unavailable)
            }
        }
    }
}

/// Attaches the pool, runs pending migrations at launch and then, where
/// configured, loads demo data into an empty database.
pub fn stage() -> AdHoc {
    AdHoc::on_ignite("Database", |rocket| async {
        rocket
            .attach(DbPool::fairing())
            .attach(AdHoc::try_on_ignite("Migrations", run_migrations))
            .attach(crate::demo::stage())
    })
}

async fn run_migrations(rocket: Rocket<Build>) -> Result<Rocket<Build>, Rocket<Build>> {
    let Some(pool) = DbPool::get_one(&rocket).await else {
        tracing::error!("no database connection for migrations");
        return Err(rocket);
    };
    let outcome = pool.run(migrate).await;
    match outcome {
        Ok(applied) => {
            if applied > 0 {
                tracing::info!("applied {applied} migration(s)");
            }
            Ok(rocket)
        }
        Err(e) => {
            tracing::error!("migrations failed: {e}");
            Err(rocket)
        }
    }
}

/// Applies pending migrations under an advisory lock; returns how many ran.
pub fn migrate(conn: &mut PgConnection) -> Result<usize, String> {
    diesel::sql_query(format!("SELECT pg_advisory_lock({MIGRATION_LOCK})"))
        .execute(conn)
        .map_err(|e| e.to_string())?;
    let result =
        conn.run_pending_migrations(MIGRATIONS).map(|applied| applied.len()).map_err(|e| e.to_string());
    let unlocked = diesel::sql_query(format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})")).execute(conn);
    let applied = result?;
    unlocked.map_err(|e| e.to_string())?;
    Ok(applied)
}

/// What stops the app from using its database at all.
#[derive(Debug)]
pub enum SetupError {
    /// Nothing answers, or it refuses us: the operator must act.
    Unreachable(String),
    Other(String),
}

impl std::fmt::Display for SetupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SetupError::Unreachable(why) | SetupError::Other(why) => f.write_str(why),
        }
    }
}

/// Connects to the database at `url`, creating it first if the server is
/// there but the database is not. Returns whether it was created.
pub fn ensure_database(url: &str) -> Result<bool, SetupError> {
    match PgConnection::establish(url) {
        Ok(_) => Ok(false),
        Err(ConnectionError::BadConnection(message)) if message.contains("does not exist") => {
            let (server_url, name) = split_database_url(url).ok_or_else(|| {
                SetupError::Other(format!("cannot read the database name in {}", redact(url)))
            })?;
            let mut conn =
                PgConnection::establish(&server_url).map_err(|e| SetupError::Unreachable(e.to_string()))?;
            let quoted = format!("\"{}\"", name.replace('"', "\"\""));
            diesel::sql_query(format!("CREATE DATABASE {quoted}"))
                .execute(&mut conn)
                .map_err(|e| SetupError::Other(format!("cannot create database {name}: {e}")))?;
            Ok(true)
        }
        Err(e) => Err(SetupError::Unreachable(e.to_string().trim().to_owned())),
    }
}

/// Splits `postgres://host/name?opts` into the URL of the server's
/// `postgres` database (same options) and `name`.
pub fn split_database_url(url: &str) -> Option<(String, String)> {
    let scheme_end = url.find("://")? + 3;
    let (base, query) = match url.find('?') {
        Some(at) => (&url[..at], &url[at..]),
        None => (url, ""),
    };
    let slash = scheme_end + base[scheme_end..].find('/')?;
    let name = &base[slash + 1..];
    if name.is_empty() {
        return None;
    }
    let name = percent_decode(name)?;
    Some((format!("{}/postgres{query}", &base[..slash]), name))
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The URL without its password, for messages.
pub fn redact(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|at| at + 3) else {
        return url.to_owned();
    };
    let authority_end = url[scheme_end..].find(['/', '?']).map_or(url.len(), |at| scheme_end + at);
    let userinfo = url[scheme_end..authority_end].rfind('@').map(|at| &url[scheme_end..scheme_end + at]);
    match userinfo.and_then(|info| info.split_once(':')) {
        Some((user, _password)) => {
            let rest = &url[scheme_end + userinfo.map_or(0, str::len) + 1..];
            format!("{}{user}:***@{rest}", &url[..scheme_end])
        }
        None => url.to_owned(),
    }
}

/// Adds a connect timeout to a URL that has none, so that an unreachable
/// server fails fast instead of hanging for the operating system's limit.
pub fn with_connect_timeout(url: &str) -> String {
    with_parameter(url, "connect_timeout", "5")
}

/// Adds `key=value` to the query of a connection URL that does not set `key`.
pub fn with_parameter(url: &str, key: &str, value: &str) -> String {
    let query = url.split_once('?').map_or("", |(_, query)| query);
    if query.split('&').any(|pair| pair.split('=').next() == Some(key)) {
        url.to_owned()
    } else if url.contains('?') {
        format!("{url}&{key}={value}")
    } else {
        format!("{url}?{key}={value}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_the_database_name_off_the_url() {
        assert_eq!(
            split_database_url("postgres://postgres@127.0.0.1:5432/storefront?connect_timeout=5"),
            Some((
                "postgres://postgres@127.0.0.1:5432/postgres?connect_timeout=5".to_owned(),
                "storefront".to_owned()
            ))
        );
        assert_eq!(
            split_database_url("postgres://localhost/my%20db"),
            Some(("postgres://localhost/postgres".to_owned(), "my db".to_owned()))
        );
        assert_eq!(split_database_url("postgres://localhost"), None);
        assert_eq!(split_database_url("postgres://localhost/"), None);
    }

    #[test]
    fn redacts_passwords() {
        assert_eq!(redact("postgres://ann:secret@db:5432/x"), "postgres://ann:***@db:5432/x");
        assert_eq!(redact("postgres://db/x"), "postgres://db/x");
        assert_eq!(redact("postgres://ann@db/x"), "postgres://ann@db/x");
    }

    #[test]
    fn adds_a_connect_timeout_once() {
        assert_eq!(with_connect_timeout("postgres://db/x"), "postgres://db/x?connect_timeout=5");
        assert_eq!(with_connect_timeout("postgres://db/x?a=b"), "postgres://db/x?a=b&connect_timeout=5");
        assert_eq!(
            with_connect_timeout("postgres://db/x?connect_timeout=2"),
            "postgres://db/x?connect_timeout=2"
        );
    }
}
