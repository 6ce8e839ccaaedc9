//! The connection pool, a request guard that never waits forever, embedded
//! migrations, and creating the database on first run.

use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel::prelude::*;
use diesel::r2d2::ConnectionManager;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use rocket::fairing::AdHoc;
use rocket::http::Status;
use rocket::request::{FromRequest, Outcome, Request};
use rocket::tokio::time::timeout_at;
use rocket::{Build, Orbit, Rocket};
use rocket_sync_db_pools::database;

use crate::cache::{self, ReadCache};
use crate::config::AppConfig;
use crate::error::Error;

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// Any fixed number shared by every instance: migrations run under this
/// advisory lock, so instances starting together take turns.
const MIGRATION_LOCK: i64 = 0x5354_4f52_4546_524e;

#[database("main")]
pub struct DbPool(Pg);

/// A PostgreSQL connection as the pool keeps it. `rocket_sync_db_pools`
/// configures and owns the pool (`databases.main`); requests reach the same
/// pool directly (see [`Db`]), so that taking a connection, the work and
/// giving it back are one blocking hand-off.
pub struct Pg(PgConnection);

impl std::ops::Deref for Pg {
    type Target = PgConnection;
    fn deref(&self) -> &PgConnection {
        &self.0
    }
}

impl std::ops::DerefMut for Pg {
    fn deref_mut(&mut self) -> &mut PgConnection {
        &mut self.0
    }
}

/// Makes and checks the pool's connections. A connection is checked at
/// checkout without a query: whatever the server already sent is read, and
/// a server that has closed the connection (a restart, `pg_terminate_backend`)
/// has sent its goodbye, so the connection is discarded before a request
/// uses it. One that breaks during a request is discarded when it returns.
pub struct PgManager(ConnectionManager<PgConnection>);

type PgPool = rocket_sync_db_pools::r2d2::Pool<PgManager>;

impl rocket_sync_db_pools::r2d2::ManageConnection for PgManager {
    type Connection = Pg;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<Pg, Self::Error> {
        self.0.connect().map(Pg)
    }

    fn is_valid(&self, conn: &mut Pg) -> Result<(), Self::Error> {
        // Pool connections never LISTEN: nothing but the server's goodbye can
        // be waiting. The first read takes its message (libpq files it as a
        // notice), the second meets the closed socket and fails.
        for _ in 0..2 {
            for pending in conn.0.notifications_iter() {
                pending.map_err(diesel::r2d2::Error::QueryError)?;
            }
        }
        Ok(())
    }

    fn has_broken(&self, conn: &mut Pg) -> bool {
        self.0.has_broken(&mut conn.0)
    }
}

/// Where the pool `rocket_sync_db_pools` builds is also kept for [`Db`].
struct PoolSlot(std::sync::OnceLock<PgPool>);

impl rocket_sync_db_pools::Poolable for Pg {
    type Manager = PgManager;
    type Error = std::convert::Infallible;

    fn pool(db_name: &str, rocket: &Rocket<Build>) -> rocket_sync_db_pools::PoolResult<Self> {
        let config = rocket_sync_db_pools::Config::from(db_name, rocket)?;
        let pool = rocket_sync_db_pools::r2d2::Pool::builder()
            .max_size(config.pool_size)
            .connection_timeout(Duration::from_secs(config.timeout.into()))
            .build(PgManager(ConnectionManager::new(&config.url)))?;
        if let Some(slot) = rocket.state::<PoolSlot>() {
            let _ = slot.0.set(pool.clone());
        }
        Ok(pool)
    }
}

/// The database of one request. Every `run` takes a connection of the pool,
/// does its work and gives the connection back in one blocking task, and
/// all of them share one deadline: the database budget from the first time
/// the request needed the database. A database that is down or frozen gives
/// `Error::Unavailable` (503) within the budget, however many steps the
/// request takes, instead of a request that hangs. What a step changed is
/// dropped from the read cache before the step returns.
#[derive(Clone)]
pub struct Db {
    pool: PgPool,
    deadline: Instant,
    cache: Option<Arc<ReadCache>>,
}

/// When the request's time with the database is up.
struct Deadline(Instant);

fn deadline_of(request: &Request<'_>) -> Instant {
    request.local_cache(|| Deadline(Instant::now() + budget_of(request.rocket()))).0
}

fn pool_of<P: rocket::Phase>(rocket: &Rocket<P>) -> Result<PgPool, Error> {
    rocket
        .state::<PoolSlot>()
        .and_then(|slot| slot.0.get().cloned())
        .ok_or_else(|| Error::Internal("the database pool is not set up".into()))
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Db {
    type Error = Error;

    async fn from_request(request: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        match pool_of(request.rocket()) {
            Ok(pool) => Outcome::Success(Db::new(pool, request.rocket(), deadline_of(request))),
            Err(error) => Outcome::Error((Status::InternalServerError, error)),
        }
    }
}

/// The same as [`Db`], for handlers that want to say they hold no
/// connection between their steps (a stream that stays open, a login that
/// waits for a password hash). Every `Db` now takes a connection only for
/// the length of one `run`; this type remains as the name of that intent.
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
    /// The request's database, until its deadline.
    pub async fn connect(&self) -> Result<Db, Error> {
        Ok(Db::new(pool_of(self.rocket)?, self.rocket, self.deadline))
    }
}

/// Where a service that waits on something else between its database steps
/// (a password hash) gets its database from: [`Db`] or [`DbOnDemand`].
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
    fn new(pool: PgPool, rocket: &Rocket<Orbit>, deadline: Instant) -> Db {
        Db { pool, deadline, cache: rocket.state::<Arc<ReadCache>>().cloned() }
    }

    /// The instance's read cache.
    pub fn cache(&self) -> Option<&ReadCache> {
        self.cache.as_deref()
    }

    /// Runs `work` with a connection of the pool on a blocking thread, if
    /// the request's deadline allows: taking the connection, the work and
    /// giving it back are one hand-off. Stores the work changed are dropped
    /// from the read cache when it ends, whatever its outcome.
    pub async fn run<T, F>(&self, work: F) -> Result<T, Error>
    where
        F: FnOnce(&mut PgConnection) -> Result<T, Error> + Send + 'static,
        T: Send + 'static,
    {
        let Some(remaining) = self.deadline.checked_duration_since(Instant::now()) else {
            return Err(Error::Unavailable);
        };
        let (pool, cache) = (self.pool.clone(), self.cache.clone());
        let job = rocket::tokio::task::spawn_blocking(move || {
            let _forget = ForgetChanges(cache);
            let mut conn = pool.get_timeout(remaining).map_err(|_| Error::Unavailable)?;
            work(&mut conn)
        });
        match timeout_at(self.deadline.into(), job).await {
            Ok(Ok(result)) => result,
            Ok(Err(join)) => match join.try_into_panic() {
                Ok(panic) => std::panic::resume_unwind(panic),
                Err(_) => Err(Error::Internal("a database task was cancelled".into())),
            },
            Err(_) => {
                tracing::warn!("the database did not answer within the request's budget");
                Err(Error::Unavailable)
            }
        }
    }
}

/// Drops the stores a blocking task changed from the read cache when the
/// task ends, even by a panic.
struct ForgetChanges(Option<Arc<ReadCache>>);

impl Drop for ForgetChanges {
    fn drop(&mut self) {
        cache::forget_changes(self.0.as_deref());
    }
}

/// Attaches the pool and runs pending migrations at launch.
pub fn stage() -> AdHoc {
    AdHoc::on_ignite("Database", |rocket| async {
        rocket
            .manage(PoolSlot(std::sync::OnceLock::new()))
            .attach(DbPool::fairing())
            .attach(AdHoc::try_on_ignite("Migrations", run_migrations))
    })
}

async fn run_migrations(rocket: Rocket<Build>) -> Result<Rocket<Build>, Rocket<Build>> {
    let Some(pool) = DbPool::get_one(&rocket).await else {
        tracing::error!("no database connection for migrations");
        return Err(rocket);
    };
    let outcome = pool.run(|conn| migrate(conn)).await;
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
