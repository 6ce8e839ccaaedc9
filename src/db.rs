//! The connection pool, a request guard that never waits forever, embedded
//! migrations, and creating the database on first run.

use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU8, Ordering};
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
use crate::events::Hub;
use crate::logging::Notes;
use crate::models::Horizon;
use crate::replicas::{self, Replicas};

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// Any fixed number shared by every instance: migrations run under this
/// advisory lock, so instances starting together take turns.
const MIGRATION_LOCK: i64 = 0x5354_4f52_4546_524e;

#[database("main")]
pub struct DbPool(Pg);

diesel::define_sql_function! {
    /// The id of the server process of this connection.
    fn pg_backend_pid() -> diesel::sql_types::Integer;
}

/// A PostgreSQL connection as the pool keeps it, with the id of its server
/// process (to cancel what it runs). `rocket_sync_db_pools` configures and
/// owns the pool (`databases.main`); requests reach the same pool directly
/// (see [`Db`]), so that taking a connection, the work and giving it back
/// are one blocking hand-off.
pub struct Pg {
    conn: PgConnection,
    backend_pid: i32,
}

impl std::ops::Deref for Pg {
    type Target = PgConnection;
    fn deref(&self) -> &PgConnection {
        &self.conn
    }
}

impl std::ops::DerefMut for Pg {
    fn deref_mut(&mut self) -> &mut PgConnection {
        &mut self.conn
    }
}

/// Makes and checks the pool's connections. A connection is checked at
/// checkout without a query: whatever the server already sent is read, and
/// a server that has closed the connection (a restart, `pg_terminate_backend`)
/// has sent its goodbye, so the connection is discarded before a request
/// uses it. One that breaks during a request is discarded when it returns.
pub struct PgManager(ConnectionManager<PgConnection>);

pub(crate) type PgPool = rocket_sync_db_pools::r2d2::Pool<PgManager>;

/// The pool as background tasks (housekeeping, webhook workers, shared
/// counts) take it at liftoff: `DbPool::pool(rocket)`.
pub type BackgroundPool = rocket_sync_db_pools::ConnectionPool<DbPool, Pg>;

/// A background task's work on a connection of `pool`, within `budget`
/// from taking the connection to its end: a database that is down or
/// frozen is `Error::Unavailable`, as for requests.
pub async fn in_background<T: Send + 'static>(
    pool: &BackgroundPool,
    budget: Duration,
    work: impl FnOnce(&mut PgConnection) -> Result<T, Error> + Send + 'static,
) -> Result<T, Error> {
    rocket::tokio::time::timeout(budget, async {
        let connection = pool.get().await.ok_or(Error::Unavailable)?;
        connection.run(move |conn| work(conn)).await
    })
    .await
    .unwrap_or(Err(Error::Unavailable))
}

impl rocket_sync_db_pools::r2d2::ManageConnection for PgManager {
    type Connection = Pg;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<Pg, Self::Error> {
        let mut conn = self.0.connect()?;
        let backend_pid = diesel::select(pg_backend_pid())
            .get_result(&mut conn)
            .map_err(diesel::r2d2::Error::QueryError)?;
        Ok(Pg { conn, backend_pid })
    }

    fn is_valid(&self, conn: &mut Pg) -> Result<(), Self::Error> {
        // Pool connections never LISTEN: nothing but the server's goodbye can
        // be waiting. The first read takes its message (libpq files it as a
        // notice), the second meets the closed socket and fails.
        for _ in 0..2 {
            for pending in conn.conn.notifications_iter() {
                pending.map_err(diesel::r2d2::Error::QueryError)?;
            }
        }
        Ok(())
    }

    fn has_broken(&self, conn: &mut Pg) -> bool {
        self.0.has_broken(&mut conn.conn)
    }
}

/// A pool of a streaming replica's connections: up to `size`, opened when
/// reads need them, each checkout waiting at most [`replicas::CHECKOUT`].
/// Building it does not connect, so a replica that is down when the
/// instance starts delays nothing.
pub(crate) fn replica_pool(url: &str, size: u32) -> PgPool {
    let url = with_parameter(&with_parameter(url, "connect_timeout", "2"), "application_name", "storefront");
    rocket_sync_db_pools::r2d2::Pool::builder()
        .max_size(size.max(1))
        .min_idle(Some(0))
        .connection_timeout(replicas::CHECKOUT)
        .build_unchecked(PgManager(ConnectionManager::new(url)))
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
    budget: Duration,
    cache: Option<Arc<ReadCache>>,
    canceller: Option<Arc<Canceller>>,
    hub: Option<Arc<Hub>>,
    replicas: Option<Arc<Replicas>>,
    reader: Arc<Reader>,
}

/// Who reads, as far as the read cache and the replicas are concerned.
struct Reader {
    /// The request carries credentials (a bearer token or a session
    /// cookie): its client may have written, through any instance.
    credentialed: bool,
    /// The request's notes: who its client is, once authenticated, and
    /// how many reads replicas answered.
    notes: Arc<Notes>,
    /// Who the credentials name before they are checked (a signed token's
    /// or session cookie's user).
    claimed: Option<i64>,
    /// Where the events and the client's changes stand, asked of the
    /// primary at most once per request.
    standing: rocket::tokio::sync::OnceCell<Horizon>,
    /// Whether the cache may answer this request, once asked.
    may_use_cache: rocket::tokio::sync::OnceCell<bool>,
}

/// How long a credentialed read waits for this instance's listener to catch
/// up with the database before it reads the database instead.
const CATCH_UP: Duration = Duration::from_millis(50);

/// Whether a request carries credentials: a bearer token (or any
/// `Authorization`) or a session cookie, valid or not.
pub(crate) fn carries_credentials(request: &Request<'_>) -> bool {
    request.headers().contains("Authorization")
        || [true, false]
            .into_iter()
            .any(|secure| request.cookies().get(crate::web::session::session_cookie(secure)).is_some())
}

/// Who a request's credentials name, as far as they tell without the
/// database: the user of a bearer access token whose signature holds, or
/// of the session cookie (encrypted and signed). Only ever used to choose
/// where to read, never to allow anything: naming someone else's id only
/// makes the reads wait for that user's changes.
fn claimed_client(request: &Request<'_>) -> Option<i64> {
    crate::api::guards::claimed_user(request).or_else(|| crate::web::session::cookie_owner(request))
}

struct ClaimedClient(Option<i64>);

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
            Ok(pool) => {
                Outcome::Success(Db::new(pool, request.rocket(), deadline_of(request), Reader::of(request)))
            }
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
    request: &'r Request<'r>,
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for DbOnDemand<'r> {
    type Error = std::convert::Infallible;

    async fn from_request(request: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        Outcome::Success(DbOnDemand { rocket: request.rocket(), deadline: deadline_of(request), request })
    }
}

impl DbOnDemand<'_> {
    /// The request's database, until its deadline.
    pub async fn connect(&self) -> Result<Db, Error> {
        Ok(Db::new(pool_of(self.rocket)?, self.rocket, self.deadline, Reader::of(self.request)))
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

impl Reader {
    fn of(request: &Request<'_>) -> Reader {
        let credentialed = carries_credentials(request);
        let claimed = credentialed.then(|| request.local_cache(|| ClaimedClient(claimed_client(request))).0);
        Reader {
            credentialed,
            notes: crate::logging::notes(request),
            claimed: claimed.flatten(),
            standing: Default::default(),
            may_use_cache: Default::default(),
        }
    }
}

impl Db {
    fn new(pool: PgPool, rocket: &Rocket<Orbit>, deadline: Instant, reader: Reader) -> Db {
        Db {
            pool,
            deadline,
            budget: budget_of(rocket),
            cache: rocket.state::<Arc<ReadCache>>().cloned(),
            canceller: rocket.state::<Arc<Canceller>>().cloned(),
            hub: rocket.state::<Arc<Hub>>().cloned(),
            replicas: rocket.state::<Arc<Replicas>>().cloned(),
            reader: Arc::new(reader),
        }
    }

    /// The same database with a whole budget from now: for a request that
    /// spent a long time on other work (a picture prepared by a worker)
    /// between its database steps, which is not time with the database.
    pub fn with_fresh_budget(&self) -> Db {
        Db { deadline: Instant::now() + self.budget, ..self.clone() }
    }

    /// The instance's read cache, if it may answer this request.
    ///
    /// A visitor without credentials cannot have written anything: the
    /// cache answers, and is at most as late as this instance's listener
    /// (a few milliseconds). A request with credentials may come from a
    /// client that has just written through another instance: the cache
    /// answers only once this instance's listener has published every event
    /// committed before the request began (one statement asks the database
    /// how far they reach; the listener gets [`CATCH_UP`] to get there),
    /// so no client ever reads back less than its own writes. Asked once
    /// per request.
    pub async fn cache_for_reading(&self) -> Option<&ReadCache> {
        let cache = self.cache.as_deref().filter(|cache| cache.ticket().is_some())?;
        if !self.reader.credentialed {
            return Some(cache);
        }
        let allowed = *self.reader.may_use_cache.get_or_init(|| self.caught_up()).await;
        allowed.then_some(cache)
    }

    /// Whether this instance has published every event committed as of now.
    async fn caught_up(&self) -> bool {
        let Some(hub) = self.hub.clone() else { return false };
        match self.standing().await {
            // Committed changes still waiting for their number: whose they
            // are is unknown, so none is trusted to be in the cache yet.
            Ok(Horizon { pending: true, .. }) | Err(_) => false,
            Ok(Horizon { newest, pending: false, .. }) => hub.reached(newest, CATCH_UP).await,
        }
    }

    /// Where the events and this request's client stand, asked of the
    /// primary once per request.
    async fn standing(&self) -> Result<Horizon, Error> {
        let standing = self.reader.standing.get_or_try_init(|| {
            // Authenticated by now if the route checks credentials at all
            // (guards run before handlers), else as the credentials claim;
            // an unknown client (a personal token the route does not check)
            // is taken to have written last of all.
            let client = self.reader.notes.user.get().copied().or(self.reader.claimed);
            self.run(move |conn| Ok(Horizon::now(conn, client)?))
        });
        standing.await.copied()
    }

    /// The primary's WAL position a replica must have replayed before it
    /// may answer a read of this request: whatever this instance has
    /// announced (its streams, pages and cache show nothing older), and,
    /// for a client with credentials, its own last change.
    async fn required_wal(&self) -> Result<i64, Error> {
        let announced = self.hub.as_ref().map_or(0, |hub| hub.announced_wal());
        if !self.reader.credentialed {
            return Ok(announced);
        }
        Ok(announced.max(self.standing().await?.written))
    }

    /// Runs `work`, which only reads, on a streaming replica that has
    /// replayed everything [`Db::required_wal`] asks for (checked on the
    /// replica, in the same session, before `work` runs), or else on the
    /// primary. A replica that fails or does not answer in time is skipped
    /// from then on and the primary answers instead: a replica's trouble
    /// never becomes the request's. Without replicas, the same as `run`.
    ///
    /// For reads of what events announce (stores, items, tags and their
    /// links): the requirement is proven through them. Accounts, sessions
    /// and anything a read then writes stay with [`Db::run`].
    pub async fn read<T, F>(&self, work: F) -> Result<T, Error>
    where
        F: Fn(&mut PgConnection) -> Result<T, Error> + Send + Sync + 'static,
        T: Send + 'static,
    {
        let Some(replicas) = self.replicas.clone() else { return self.run(work).await };
        let required = self.required_wal().await?;
        let Some(replica) = replicas.choose(required) else { return self.on_primary(work).await };
        let work = Arc::new(work);
        let attempt = Arc::clone(&work);
        let Some(remaining) = self.deadline.checked_duration_since(Instant::now()) else {
            return Err(Error::Unavailable);
        };
        // Half the request's budget at most, so the primary keeps the rest.
        let deadline = Instant::now() + remaining / 2;
        let outcome = self
            .run_in(replica.pool.clone(), deadline, replicas::CHECKOUT, None, move |conn| {
                match replicas::replay_position(conn)? {
                    Some(replayed) if replayed >= required => Ok(Ok(attempt(conn))),
                    replayed => Ok(Err(replayed)),
                }
            })
            .await;
        match outcome {
            Ok(Ok(Ok(value))) => {
                self.reader.notes.replica_reads.fetch_add(1, Ordering::Relaxed);
                return Ok(value);
            }
            // What the data says (not found, forbidden): the same on the
            // primary, which the replica has caught up with.
            Ok(Ok(Err(error))) if !matches!(error, Error::Unavailable | Error::Internal(_)) => {
                return Err(error)
            }
            Ok(Err(Some(replayed))) => replica.note_replayed(replayed),
            Ok(Err(None)) => replica.set_down("it is not a streaming replica"),
            Ok(Ok(Err(error))) | Err(error) => {
                let state = replica.pool.state();
                let busy = state.idle_connections == 0 && state.connections >= replica.pool.max_size();
                if !busy {
                    replica.set_down(&error.to_string());
                }
            }
        }
        self.on_primary(move |conn| work(conn)).await
    }

    /// `run`, for a read no replica could take.
    async fn on_primary<T, F>(&self, work: F) -> Result<T, Error>
    where
        F: FnOnce(&mut PgConnection) -> Result<T, Error> + Send + 'static,
        T: Send + 'static,
    {
        self.reader.notes.primary_reads.fetch_add(1, Ordering::Relaxed);
        self.run(work).await
    }

    /// Runs `work` with a connection of the pool on a blocking thread, if
    /// the request's deadline allows: taking the connection, the work and
    /// giving it back are one hand-off. Stores the work changed are dropped
    /// from the read cache when it ends, whatever its outcome.
    ///
    /// When the deadline passes first, the answer is `Error::Unavailable`
    /// and the work may no longer commit (see [`transaction`]): its running
    /// statement is cancelled, and a transaction it reaches the end of is
    /// rolled back. If a commit had already been sent, the answer is
    /// `Error::OutcomeUnknown`: the change may have been applied.
    pub async fn run<T, F>(&self, work: F) -> Result<T, Error>
    where
        F: FnOnce(&mut PgConnection) -> Result<T, Error> + Send + 'static,
        T: Send + 'static,
    {
        let canceller = self.canceller.clone();
        self.run_in(self.pool.clone(), self.deadline, Duration::MAX, canceller, work).await
    }

    /// `run` on a connection of `pool`, by `deadline`, waiting at most
    /// `checkout` for the connection; `canceller` cancels abandoned work
    /// (on the primary).
    async fn run_in<T, F>(
        &self,
        pool: PgPool,
        deadline: Instant,
        checkout: Duration,
        canceller: Option<Arc<Canceller>>,
        work: F,
    ) -> Result<T, Error>
    where
        F: FnOnce(&mut PgConnection) -> Result<T, Error> + Send + 'static,
        T: Send + 'static,
    {
        let Some(remaining) = deadline.checked_duration_since(Instant::now()) else {
            return Err(Error::Unavailable);
        };
        let remaining = remaining.min(checkout);
        let (cache, hub) = (self.cache.clone(), self.hub.clone());
        let gate = Arc::new(CommitGate::default());
        let task_gate = gate.clone();
        let job = rocket::tokio::task::spawn_blocking(move || {
            let _forget = ForgetChanges { cache, hub };
            let mut conn = pool.get_timeout(remaining).map_err(|_| Error::Unavailable)?;
            task_gate.backend_pid.store(conn.backend_pid, Ordering::SeqCst);
            let result = {
                let _gate = GateOfThisThread::enter(task_gate.clone());
                work(&mut conn)
            };
            task_gate.finished.store(true, Ordering::SeqCst);
            result
        });
        match timeout_at(deadline.into(), job).await {
            Ok(Ok(result)) => result,
            Ok(Err(join)) => match join.try_into_panic() {
                Ok(panic) => std::panic::resume_unwind(panic),
                Err(_) => Err(Error::Internal("a database task was cancelled".into())),
            },
            Err(_) => {
                let committing = gate.abandon();
                if let Some(canceller) = &canceller {
                    canceller.cancel(gate);
                }
                if committing {
                    tracing::error!("the database did not confirm a commit within the request's budget");
                    Err(Error::OutcomeUnknown)
                } else {
                    tracing::warn!("the database did not answer within the request's budget");
                    Err(Error::Unavailable)
                }
            }
        }
    }
}

/// Where the work of one [`Db::run`] stands, shared by the blocking task and
/// the request that waits for it: whether a commit may still be sent, and
/// whether one has been.
#[derive(Default)]
struct CommitGate {
    state: AtomicU8,
    backend_pid: AtomicI32,
    finished: AtomicBool,
}

const RUNNING: u8 = 0;
const COMMITTING: u8 = 1;
const ABANDONED: u8 = 2;

impl CommitGate {
    /// Called just before a commit is sent: whether the request still waits.
    fn may_commit(&self) -> bool {
        match self.state.compare_exchange(RUNNING, COMMITTING, Ordering::SeqCst, Ordering::SeqCst) {
            Ok(_) => true,
            Err(state) => state == COMMITTING,
        }
    }

    /// The request has stopped waiting: no commit may follow. Returns
    /// whether one had been sent already.
    fn abandon(&self) -> bool {
        self.state.swap(ABANDONED, Ordering::SeqCst) == COMMITTING
    }
}

thread_local! {
    /// The gate of the [`Db::run`] this blocking thread is working for.
    static GATE: std::cell::RefCell<Option<Arc<CommitGate>>> = const { std::cell::RefCell::new(None) };
}

/// Sets this thread's gate for one [`Db::run`], and clears it when dropped,
/// even by a panic: blocking threads are reused for other work.
struct GateOfThisThread;

impl GateOfThisThread {
    fn enter(gate: Arc<CommitGate>) -> GateOfThisThread {
        GATE.with(|slot| *slot.borrow_mut() = Some(gate));
        GateOfThisThread
    }
}

impl Drop for GateOfThisThread {
    fn drop(&mut self) {
        GATE.with(|slot| *slot.borrow_mut() = None);
    }
}

/// Runs `work` in a transaction, like `conn.transaction`, that commits only
/// while its request still waits for the answer: once the request's
/// database budget is spent (and it has answered 503), the transaction is
/// rolled back instead, so that a 503 never hides a change made later. A
/// commit whose acknowledgement is lost with the connection is
/// `Error::OutcomeUnknown`. Outside requests (commands, tests) it is a plain
/// transaction.
pub fn transaction<T>(
    conn: &mut PgConnection,
    work: impl FnOnce(&mut PgConnection) -> Result<T, Error>,
) -> Result<T, Error> {
    use diesel::connection::{AnsiTransactionManager, TransactionManager};
    let nested = AnsiTransactionManager::transaction_manager_status_mut(conn).transaction_depth()?.is_some();
    if nested {
        return conn.transaction(work);
    }
    AnsiTransactionManager::begin_transaction(conn)?;
    let value = match work(conn) {
        Ok(value) => value,
        Err(error) => {
            return match AnsiTransactionManager::rollback_transaction(conn) {
                Ok(()) | Err(diesel::result::Error::BrokenTransactionManager) => Err(error),
                Err(rollback) => Err(rollback.into()),
            }
        }
    };
    let open = GATE.with(|slot| slot.borrow().as_ref().is_none_or(|gate| gate.may_commit()));
    if !open {
        let _ = AnsiTransactionManager::rollback_transaction(conn);
        return Err(Error::Unavailable);
    }
    match AnsiTransactionManager::commit_transaction(conn) {
        Ok(()) => Ok(value),
        Err(error) if crate::error::is_connection_loss(&error) => Err(Error::OutcomeUnknown),
        Err(error) => Err(error.into()),
    }
}

/// Cancels what an abandoned request's connection is still running, from a
/// connection of its own, a few at a time: the server stops working for an
/// answer nobody waits for, and lets go of its locks.
pub struct Canceller {
    url: String,
    permits: Arc<rocket::tokio::sync::Semaphore>,
}

/// Cancellations under way at once; past them, the gate alone keeps an
/// abandoned request from committing.
const CANCELLATIONS: usize = 2;

impl Canceller {
    fn new(url: String) -> Canceller {
        Canceller { url, permits: Arc::new(rocket::tokio::sync::Semaphore::new(CANCELLATIONS)) }
    }

    fn cancel(&self, gate: Arc<CommitGate>) {
        let Ok(permit) = self.permits.clone().try_acquire_owned() else { return };
        let url = self.url.clone();
        rocket::tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let pid = gate.backend_pid.load(Ordering::SeqCst);
            let Ok(mut conn) = PgConnection::establish(&url) else { return };
            // Once the work is over, the connection may serve another request.
            if pid != 0 && !gate.finished.load(Ordering::SeqCst) {
                let cancelled = diesel::sql_query("SELECT pg_cancel_backend($1)")
                    .bind::<diesel::sql_types::Integer, _>(pid)
                    .execute(&mut conn);
                if let Err(error) = cancelled {
                    tracing::warn!("cancelling an abandoned statement failed: {error}");
                }
            }
        });
    }
}

/// When a blocking task ends, even by a panic: drops the stores it changed
/// from the read cache, and asks for the sequencer to be woken (its
/// transaction is over: the change is committed, or was rolled back).
struct ForgetChanges {
    cache: Option<Arc<ReadCache>>,
    hub: Option<Arc<Hub>>,
}

impl Drop for ForgetChanges {
    fn drop(&mut self) {
        if cache::forget_changes(self.cache.as_deref()) {
            if let Some(hub) = &self.hub {
                hub.note_write();
            }
        }
    }
}

/// Attaches the pool and runs pending migrations at launch.
pub fn stage() -> AdHoc {
    AdHoc::on_ignite("Database", |rocket| async {
        let url = rocket.figment().extract_inner::<String>("databases.main.url").unwrap_or_default();
        let rocket = rocket
            .manage(PoolSlot(std::sync::OnceLock::new()))
            .manage(Arc::new(Canceller::new(url)))
            .attach(DbPool::fairing())
            .attach(AdHoc::try_on_ignite("Migrations", run_migrations));
        match replicas_of(&rocket) {
            Some(replicas) => rocket.manage(replicas).attach(AdHoc::on_liftoff("Replica checks", |rocket| {
                Box::pin(async move {
                    let Some(replicas) = rocket.state::<Arc<Replicas>>() else { return };
                    let url =
                        rocket.figment().extract_inner::<String>("databases.main.url").unwrap_or_default();
                    let url = with_parameter(
                        &url,
                        "application_name",
                        &format!("storefront-replica-check-{}", rocket.config().port),
                    );
                    if let Err(e) = Replicas::watch(replicas, url) {
                        tracing::error!("replicas: cannot start the threads that check them: {e}");
                    }
                })
            })),
            None => rocket,
        }
    })
}

/// The replicas the configuration names, each with a pool as large as the
/// primary's.
fn replicas_of(rocket: &Rocket<Build>) -> Option<Arc<Replicas>> {
    let config = rocket.state::<AppConfig>()?;
    if config.replica_urls.is_empty() {
        return None;
    }
    let pool_size = rocket.figment().extract_inner::<u32>("databases.main.pool_size").unwrap_or(8);
    let max_lag = Duration::from_millis(config.replica_max_lag_ms);
    let replicas = Replicas::new(&config.replica_urls, pool_size, max_lag);
    let names: Vec<&str> = replicas.names().collect();
    tracing::info!("reads may go to {} replica(s): {}", names.len(), names.join(", "));
    Some(Arc::new(replicas))
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
